/**
 * Actions as OVS 3.1's ofpacts_format() prints them (learn_format, format_CT, format_NAT
 * included), so they read back through the flow parser unchanged.
 */
import { formatAddr6Words } from '../../wire/ipv6';
import type { Action, CtNat, LearnAction, Subfield } from '../actions';
import { OFPP_LOCAL } from '../ofport';
import { OFP_DEFAULT_PRIORITY } from '../table';
import { F_IN_PORT, F_IN_PORT_OXM, type NxmField } from '../nxm';
import { formatIp, formatMac, formatPort, hashX, type PortNamer } from './format-values';

function subfield(sf: Subfield): string {
  const r = sf.ofs === 0 && sf.nbits === sf.field.bits ? '[]' : sf.nbits === 1 ? `[${sf.ofs}]` : `[${sf.ofs}..${sf.ofs + sf.nbits - 1}]`;
  return sf.field.nxm + r;
}

function setFieldValue(a: Extract<Action, { type: 'set_field' }>): string {
  if (a.field === 'vlan_vid') return String(a.value);
  const f = a.field;
  const one = (v: bigint): string => {
    switch (f.style) {
      case 'mac':
        return formatMac(Number(v));
      case 'ip':
        return formatIp(Number(v));
      case 'ipv6': {
        const w = (i: number): number => Number((v >> BigInt(32 * (3 - i))) & 0xffffffffn);
        return formatAddr6Words(w(0), w(1), w(2), w(3));
      }
      case 'dec':
        return v.toString();
      default:
        return hashX(v);
    }
  };
  const full = (1n << BigInt(f.bits)) - 1n;
  return a.mask === null || a.mask === full ? one(a.value) : `${one(a.value)}/${one(a.mask)}`;
}

/** A whole-field value as OVS `mf_format` prints it (learn's `field=value` specs). */
function fieldValue(f: NxmField, v: bigint, names?: PortNamer): string {
  if (f.id === F_IN_PORT || f.id === F_IN_PORT_OXM) return formatPort(Number(v), names);
  switch (f.style) {
    case 'mac':
      return formatMac(Number(v));
    case 'ip':
      return formatIp(Number(v));
    case 'dec':
      return v.toString();
    default:
      return hashX(v);
  }
}

/** OVS learn_format(). */
export function formatLearn(a: LearnAction, names?: PortNamer): string {
  const out = [`table=${a.table}`];
  if (a.idleTimeout) out.push(`idle_timeout=${a.idleTimeout}`);
  if (a.hardTimeout) out.push(`hard_timeout=${a.hardTimeout}`);
  if (a.finIdleTimeout) out.push(`fin_idle_timeout=${a.finIdleTimeout}`);
  if (a.finHardTimeout) out.push(`fin_hard_timeout=${a.finHardTimeout}`);
  if (a.priority !== OFP_DEFAULT_PRIORITY) out.push(`priority=${a.priority}`);
  if (a.sendFlowRem) out.push('send_flow_rem');
  if (a.deleteLearned) out.push('delete_learned');
  if (a.cookie !== 0n) out.push(`cookie=0x${a.cookie.toString(16)}`);
  for (const sp of a.specs) {
    const dst = sp.dst as Subfield;
    if (sp.kind === 'output') out.push(`output:${subfield(sp.src as Subfield)}`);
    else if (sp.kind === 'load') out.push(`load:${sp.src === null ? hashX(sp.value) : subfield(sp.src)}->${subfield(dst)}`);
    else if (sp.src !== null) {
      const s = sp.src;
      // The same subfield on both sides prints once (OVS).
      out.push(s.field === dst.field && s.ofs === dst.ofs && s.nbits === dst.nbits ? subfield(s) : `${subfield(dst)}=${subfield(s)}`);
    } else if (dst.ofs === 0 && dst.nbits === dst.field.bits) out.push(`${dst.field.name}=${fieldValue(dst.field, sp.value, names)}`);
    else out.push(`${subfield(dst)}=${hashX(sp.value)}`);
  }
  return `learn(${out.join(',')})`;
}

export function formatAction(a: Action, names?: PortNamer): string {
  switch (a.type) {
    case 'learn':
      return formatLearn(a, names);
    case 'output':
      return a.port === OFPP_LOCAL ? 'LOCAL' : `output:${formatPort(a.port, names)}`;
    case 'in_port':
      return 'IN_PORT';
    case 'normal':
      return 'NORMAL';
    case 'flood':
      return 'FLOOD';
    case 'all':
      return 'ALL';
    case 'controller':
      return `CONTROLLER:${a.maxLen}`;
    case 'mod_vlan_vid':
      return `mod_vlan_vid:${a.vid}`;
    case 'mod_vlan_pcp':
      return `mod_vlan_pcp:${a.pcp}`;
    case 'strip_vlan':
      return a.spelling;
    case 'push_vlan':
      return `push_vlan:0x${a.tpid.toString(16)}`;
    case 'set_field':
      return `set_field:${setFieldValue(a)}->${a.field === 'vlan_vid' ? 'vlan_vid' : a.field.name}`;
    case 'mod_dl_src':
      return `mod_dl_src:${formatMac(a.mac)}`;
    case 'mod_dl_dst':
      return `mod_dl_dst:${formatMac(a.mac)}`;
    case 'mod_nw_src':
      return `mod_nw_src:${formatIp(a.addr)}`;
    case 'mod_nw_dst':
      return `mod_nw_dst:${formatIp(a.addr)}`;
    case 'mod_nw_tos':
      return `mod_nw_tos:${a.tos}`;
    case 'mod_tp_src':
      return `mod_tp_src:${a.port}`;
    case 'mod_tp_dst':
      return `mod_tp_dst:${a.port}`;
    case 'dec_ttl':
      // OVS format_DEC_TTL: bare when no ids were given, else the ids in parentheses.
      return a.ids === null ? 'dec_ttl' : `dec_ttl(${a.ids.join(',')})`;
    case 'set_tunnel':
      // OVS format_SET_TUNNEL: the 64-bit spelling when asked for or when the id needs it.
      return `${a.wide || a.value > 0xffffffffn ? 'set_tunnel64' : 'set_tunnel'}:${hashX(a.value)}`;
    case 'load':
      return `load:${hashX(a.value)}->${subfield(a.dst)}`;
    case 'move':
      return `move:${subfield(a.src)}->${subfield(a.dst)}`;
    case 'resubmit': {
      // OVS format_RESUBMIT: the colon form when only a port is given.
      if (a.port !== -1 && a.table === 255 && !a.ct) return `resubmit:${formatPort(a.port, names)}`;
      return `resubmit(${a.port === -1 ? '' : formatPort(a.port, names)},${a.table === 255 ? '' : a.table}${a.ct ? ',ct' : ''})`;
    }
    case 'goto_table':
      return `goto_table:${a.table}`;
    case 'write_metadata':
      return `write_metadata:${hashX(a.value)}${a.mask === 0xffffffffffffffffn ? '' : '/' + hashX(a.mask)}`;
    case 'note':
      return `note:${a.bytes.map((b) => b.toString(16).padStart(2, '0')).join('.')}`;
    case 'conjunction':
      return `conjunction(${a.id},${a.clause}/${a.nClauses})`;
    case 'meter':
      return `meter:${a.id}`;
    case 'set_queue':
      return `set_queue:${a.queue}`;
    case 'pop_queue':
      return 'pop_queue';
    case 'ct':
      return formatCt(a, names);
    case 'ct_clear':
      return 'ct_clear';
    case 'clear_actions':
      return 'clear_actions';
    case 'write_actions':
      return `write_actions(${a.actions.map((x) => formatAction(x, names)).join(',')})`;
  }
}

/** OVS format_CT: commit, force, table, zone, nat, exec — zone 0 and empty parts omitted. */
function formatCt(a: Extract<Action, { type: 'ct' }>, names?: PortNamer): string {
  const parts: string[] = [];
  if (a.commit) parts.push('commit');
  if (a.force) parts.push('force');
  if (a.table !== 255) parts.push(`table=${a.table}`);
  if (a.zoneSrc !== null) parts.push(`zone=${subfield(a.zoneSrc)}`);
  else if (a.zone !== 0) parts.push(`zone=${a.zone}`);
  if (a.nat !== null) parts.push(formatNat(a.nat));
  if (a.exec.length > 0) parts.push(`exec(${a.exec.map((x) => formatAction(x, names)).join(',')})`);
  return `ct(${parts.join(',')})`;
}

/** OVS format_NAT: `nat`, or `nat(src=A[-B][:P[-Q]][,flags])`. */
function formatNat(n: CtNat): string {
  if (n.kind === null) return 'nat';
  let r = n.kind;
  if (n.addrMin !== 0) {
    r += `=${formatIp(n.addrMin)}`;
    if (n.addrMax !== 0 && n.addrMax !== n.addrMin) r += `-${formatIp(n.addrMax)}`;
  }
  if (n.portMin !== 0) {
    r += `:${n.portMin}`;
    if (n.portMax !== 0 && n.portMax !== n.portMin) r += `-${n.portMax}`;
  }
  return `nat(${[r, ...n.flags].join(',')})`;
}

export function formatActions(actions: readonly Action[], names?: PortNamer): string {
  return actions.length === 0 ? 'drop' : actions.map((a) => formatAction(a, names)).join(',');
}
