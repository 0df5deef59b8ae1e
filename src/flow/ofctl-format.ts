/**
 * Rules → ovs-ofctl text, following OVS 3.1's `match_format` / `ofpacts_format` /
 * `ofputil_flow_stats_format` so that dumps look like a real `ovs-ofctl dump-flows` and read
 * back through ofctl-parse unchanged:
 *
 *   " cookie=0x0, duration=12.345s, table=0, n_packets=3, n_bytes=180, idle_timeout=10,
 *     priority=4,in_port="phy-br-eth1",dl_vlan=1 actions=mod_vlan_vid:101,NORMAL"
 *
 * Details kept from OVS: priority is omitted when it is the default 32768; the dl_type/nw_proto
 * pair prints as a shorthand (ip, tcp, arp, ...); vlan_tci prints as dl_vlan/dl_vlan_pcp when
 * the mask allows; registers and metadata print with C's "%#x" (so zero is "0", not "0x0");
 * port names print quoted unless they are a letter followed by letters and digits
 * (`namemap_put_name`).
 */
import * as K from '../packet/flow-key';
import { formatAddr6Words } from '../wire/ipv6';
import type { Match } from './match';
import type { Action, CtNat, LearnAction, Subfield } from './actions';
import { F_IN_PORT, F_IN_PORT_OXM, type NxmField } from './nxm';
import { OFP_DEFAULT_PRIORITY, type FlowEntry, type Rule } from './table';
import * as F from './fields';
import { OFPP_ALL, OFPP_CONTROLLER, OFPP_FLOOD, OFPP_IN_PORT, OFPP_LOCAL, OFPP_NONE, OFPP_NORMAL, OFPP_TABLE } from './ofport';

/** Port number → name, or undefined to print the number. */
export type PortNamer = (ofport: number) => string | undefined;

const RESERVED_NAMES: Record<number, string> = {
  [OFPP_IN_PORT]: 'IN_PORT',
  [OFPP_TABLE]: 'TABLE',
  [OFPP_NORMAL]: 'NORMAL',
  [OFPP_FLOOD]: 'FLOOD',
  [OFPP_ALL]: 'ALL',
  [OFPP_CONTROLLER]: 'CONTROLLER',
  [OFPP_LOCAL]: 'LOCAL',
  [OFPP_NONE]: 'NONE',
};

/** OVS `name_needs_quotes`: only a letter followed by letters/digits prints bare. */
export function formatPortName(name: string): string {
  return /^[A-Za-z][A-Za-z0-9]*$/.test(name) ? name : JSON.stringify(name);
}

export function formatPort(port: number, names?: PortNamer): string {
  const r = RESERVED_NAMES[port];
  if (r !== undefined) return r;
  const n = names?.(port);
  return n !== undefined ? formatPortName(n) : String(port);
}

/** C printf "%#x": 0 prints as "0", anything else as 0x... */
function hashX(v: number | bigint): string {
  return v === 0 || v === 0n ? '0' : '0x' + v.toString(16);
}

function hex4(v: number): string {
  return '0x' + v.toString(16).padStart(4, '0');
}

function macStr(hi: number, lo: number): string {
  const b = [hi >>> 8, hi & 0xff, lo >>> 24, (lo >>> 16) & 0xff, (lo >>> 8) & 0xff, lo & 0xff];
  return b.map((x) => x.toString(16).padStart(2, '0')).join(':');
}
export function formatMac(mac: number): string {
  return macStr(Math.floor(mac / 0x100000000), mac >>> 0);
}
export function formatIp(v: number): string {
  return `${v >>> 24}.${(v >>> 16) & 0xff}.${(v >>> 8) & 0xff}.${v & 0xff}`;
}

/** OVS ip_format_masked: a.b.c.d, a.b.c.d/len for CIDR masks, else a.b.c.d/m.m.m.m. */
function ipMasked(v: number, m: number): string {
  if (m === 0xffffffff) return formatIp(v);
  const inv = ~m >>> 0;
  if ((inv & (inv + 1)) === 0) {
    let len = 0;
    for (let x = m; x !== 0; x = (x << 1) >>> 0) len++;
    return `${formatIp(v)}/${len}`;
  }
  return `${formatIp(v)}/${formatIp(m)}`;
}

/** CIDR length of a 32-bit mask word, or -1 when its ones are not contiguous from the top. */
function cidrBits32(m: number): number {
  const inv = ~m >>> 0;
  if ((inv & (inv + 1)) !== 0) return -1;
  let len = 0;
  for (let x = m >>> 0; x !== 0; x = (x << 1) >>> 0) len++;
  return len;
}

/** OVS ipv6_format_masked over four key words at `w`: addr, addr/len (CIDR) or addr/mask; undefined when wildcarded. */
function ipv6Masked(m: Match, w: number): string | undefined {
  const v = m.value;
  const k = m.mask;
  if (!k[w] && !k[w + 1] && !k[w + 2] && !k[w + 3]) return undefined;
  const addr = formatAddr6Words(v[w], v[w + 1], v[w + 2], v[w + 3]);
  if (k[w] === 0xffffffff && k[w + 1] === 0xffffffff && k[w + 2] === 0xffffffff && k[w + 3] === 0xffffffff) return addr;
  let len = 0;
  let cidr = true;
  for (let i = 0; i < 4 && cidr; i++) {
    const b = cidrBits32(k[w + i]);
    if (b < 0 || (b > 0 && len !== 32 * i)) cidr = false;
    else len += b;
  }
  return cidr ? `${addr}/${len}` : `${addr}/${formatAddr6Words(k[w], k[w + 1], k[w + 2], k[w + 3])}`;
}

function macMasked(m: Match, hiWord: number): string | undefined {
  const mh = m.mask[hiWord];
  const ml = m.mask[hiWord + 1];
  if (mh === 0 && ml === 0) return undefined;
  const v = macStr(m.value[hiWord], m.value[hiWord + 1]);
  return mh === 0xffff && ml === 0xffffffff ? v : `${v}/${macStr(mh, ml)}`;
}

/** format_be16_masked: decimal when exact, 0xV/0xM otherwise. */
function be16Masked(v: number, m: number): string {
  return m === 0xffff ? String(v) : `0x${v.toString(16)}/0x${m.toString(16)}`;
}

/** OVS format_frag_handling: the nw_frag name for a value/mask over the ANY|LATER bits. */
function nwFragText(v: number, m: number): string | undefined {
  const any = (v & K.NW_FRAG_ANY) !== 0;
  const later = (v & K.NW_FRAG_LATER) !== 0;
  switch (m & (K.NW_FRAG_ANY | K.NW_FRAG_LATER)) {
    case K.NW_FRAG_ANY | K.NW_FRAG_LATER:
      return any ? (later ? 'later' : 'first') : later ? '<error>' : 'no';
    case K.NW_FRAG_ANY:
      return any ? 'yes' : 'no';
    case K.NW_FRAG_LATER:
      return later ? 'later' : 'not_later';
    default:
      return undefined;
  }
}

/** OVS match_format(). */
export function formatMatch(m: Match, priority: number, names?: PortNamer): string {
  const out: string[] = [];
  if (priority !== OFP_DEFAULT_PRIORITY) out.push(`priority=${priority}`);
  const val = m.value;
  const msk = m.mask;
  // OVS match_format's order: pkt_mark, conj_id, the ct_* fields, the dl_type/nw_proto
  // shorthand, registers, tunnel metadata, metadata, in_port, then the packet's own headers
  // outward in. It is not the order of the flow's text: OVS prints every flow this one way.
  if (msk[K.K_PKT_MARK]) out.push(`pkt_mark=${hashX(val[K.K_PKT_MARK])}${msk[K.K_PKT_MARK] === 0xffffffff ? '' : '/' + hashX(msk[K.K_PKT_MARK])}`);
  if (msk[K.K_CONJ_ID]) out.push(`conj_id=${val[K.K_CONJ_ID]}`);
  formatCtMatch(m, out);

  const dlType = m.dlType;
  const protoExact = m.isFull(K.K_NW_PROTO);
  const proto = val[K.K_NW_PROTO];
  let skipType = false;
  let skipProto = false;
  if (dlType >= 0) {
    skipType = true;
    if (dlType === F.ETH_TYPE_IP || dlType === F.ETH_TYPE_IPV6) {
      const v6 = dlType === F.ETH_TYPE_IPV6;
      const names4: Record<number, string> = { 1: 'icmp', 6: 'tcp', 17: 'udp', 132: 'sctp' };
      const names6: Record<number, string> = { 58: 'icmp6', 6: 'tcp6', 17: 'udp6', 132: 'sctp6' };
      const sh = protoExact ? (v6 ? names6 : names4)[proto] : undefined;
      if (sh !== undefined) {
        out.push(sh);
        skipProto = true;
      } else out.push(v6 ? 'ipv6' : 'ip');
    } else if (dlType === F.ETH_TYPE_ARP) out.push('arp');
    else if (dlType === F.ETH_TYPE_RARP) out.push('rarp');
    else skipType = false;
  }

  for (let r = 0; r < 8; r++) {
    const mm = msk[K.K_REG0 + r];
    if (mm) out.push(`reg${r}=${hashX(val[K.K_REG0 + r])}${mm === 0xffffffff ? '' : '/' + hashX(mm)}`);
  }
  // Tunnel metadata (format_flow_tunnel).
  if (msk[K.K_TUN_ID_HI] || msk[K.K_TUN_ID_LO]) {
    const v = (BigInt(val[K.K_TUN_ID_HI]) << 32n) | BigInt(val[K.K_TUN_ID_LO]);
    const mm = (BigInt(msk[K.K_TUN_ID_HI]) << 32n) | BigInt(msk[K.K_TUN_ID_LO]);
    out.push(`tun_id=${hashX(v)}${mm === 0xffffffffffffffffn ? '' : '/' + hashX(mm)}`);
  }
  if (msk[K.K_TUN_SRC]) out.push(`tun_src=${ipMasked(val[K.K_TUN_SRC], msk[K.K_TUN_SRC])}`);
  if (msk[K.K_TUN_DST]) out.push(`tun_dst=${ipMasked(val[K.K_TUN_DST], msk[K.K_TUN_DST])}`);
  if (msk[K.K_METADATA_HI] || msk[K.K_METADATA_LO]) {
    const v = (BigInt(val[K.K_METADATA_HI]) << 32n) | BigInt(val[K.K_METADATA_LO]);
    const mm = (BigInt(msk[K.K_METADATA_HI]) << 32n) | BigInt(msk[K.K_METADATA_LO]);
    out.push(`metadata=${hashX(v)}${mm === 0xffffffffffffffffn ? '' : '/' + hashX(mm)}`);
  }
  if (msk[K.K_IN_PORT]) out.push(`in_port=${formatPort(val[K.K_IN_PORT], names)}`);

  const tm = msk[K.K_VLAN_TCI];
  if (tm) {
    const tv = val[K.K_VLAN_TCI];
    const vidMask = tm & F.VLAN_VID_MASK;
    const pcpMask = tm & F.VLAN_PCP_MASK;
    const cfi = tm & F.VLAN_CFI;
    if (
      cfi && tv & F.VLAN_CFI &&
      (!vidMask || vidMask === F.VLAN_VID_MASK) &&
      (!pcpMask || pcpMask === F.VLAN_PCP_MASK) &&
      (vidMask || pcpMask)
    ) {
      if (vidMask) out.push(`dl_vlan=${tv & F.VLAN_VID_MASK}`);
      if (pcpMask) out.push(`dl_vlan_pcp=${tv >>> 13}`);
    } else if (tm === 0xffff) out.push(`vlan_tci=${hex4(tv)}`);
    else out.push(`vlan_tci=${hex4(tv)}/${hex4(tm)}`);
  }
  const src = macMasked(m, K.K_DL_SRC_HI);
  if (src) out.push(`dl_src=${src}`);
  const dst = macMasked(m, K.K_DL_DST_HI);
  if (dst) out.push(`dl_dst=${dst}`);
  if (!skipType && dlType >= 0) out.push(`dl_type=${hex4(dlType)}`);

  const isArp = dlType === F.ETH_TYPE_ARP || dlType === F.ETH_TYPE_RARP;
  if (dlType === F.ETH_TYPE_IPV6) {
    const s6 = ipv6Masked(m, K.K_IPV6_SRC);
    if (s6) out.push(`ipv6_src=${s6}`);
    const d6 = ipv6Masked(m, K.K_IPV6_DST);
    if (d6) out.push(`ipv6_dst=${d6}`);
    const lm = msk[K.K_IPV6_LABEL];
    const hex5 = (x: number): string => '0x' + x.toString(16).padStart(5, '0');
    if (lm) out.push(`ipv6_label=${hex5(val[K.K_IPV6_LABEL])}${lm === 0xfffff ? '' : '/' + hex5(lm)}`);
  }
  if (msk[K.K_NW_SRC]) out.push(`${isArp ? 'arp_spa' : 'nw_src'}=${ipMasked(val[K.K_NW_SRC], msk[K.K_NW_SRC])}`);
  if (msk[K.K_NW_DST]) out.push(`${isArp ? 'arp_tpa' : 'nw_dst'}=${ipMasked(val[K.K_NW_DST], msk[K.K_NW_DST])}`);
  if (!skipProto && msk[K.K_NW_PROTO]) out.push(`${isArp ? 'arp_op' : 'nw_proto'}=${proto}`);
  if (isArp) {
    const sha = macMasked(m, K.K_ARP_SHA_HI);
    if (sha) out.push(`arp_sha=${sha}`);
    const tha = macMasked(m, K.K_ARP_THA_HI);
    if (tha) out.push(`arp_tha=${tha}`);
  }
  if (msk[K.K_NW_TOS] & 0xfc) out.push(`nw_tos=${val[K.K_NW_TOS] & 0xfc}`);
  if (msk[K.K_NW_TOS] & 0x03) out.push(`nw_ecn=${val[K.K_NW_TOS] & 0x03}`);
  if (msk[K.K_NW_TTL]) out.push(`nw_ttl=${val[K.K_NW_TTL]}`);
  const fragText = nwFragText(val[K.K_NW_FRAG], msk[K.K_NW_FRAG]);
  if (fragText) out.push(`nw_frag=${fragText}`);
  const isIcmp = protoExact && (proto === 1 || proto === 58) && (dlType === F.ETH_TYPE_IP || dlType === F.ETH_TYPE_IPV6);
  if (msk[K.K_TP_SRC]) out.push(`${isIcmp ? 'icmp_type' : 'tp_src'}=${isIcmp ? val[K.K_TP_SRC] : be16Masked(val[K.K_TP_SRC], msk[K.K_TP_SRC])}`);
  if (msk[K.K_TP_DST]) out.push(`${isIcmp ? 'icmp_code' : 'tp_dst'}=${isIcmp ? val[K.K_TP_DST] : be16Masked(val[K.K_TP_DST], msk[K.K_TP_DST])}`);
  if (dlType === F.ETH_TYPE_IPV6) {
    // ND fields after icmp_type/code (OVS match_format, is_nd()); nd_sll/nd_tll are the ARP SHA/THA words.
    const tgt = ipv6Masked(m, K.K_ND_TARGET);
    if (tgt) out.push(`nd_target=${tgt}`);
    const sll = macMasked(m, K.K_ARP_SHA_HI);
    if (sll) out.push(`nd_sll=${sll}`);
    const tll = macMasked(m, K.K_ARP_THA_HI);
    if (tll) out.push(`nd_tll=${tll}`);
  }
  return out.join(',');
}

/** OVS ct_state: `new|trk` when every flag is matched, else `+new-inv+trk` (bit order). */
export function formatCtState(v: number, mask: number): string {
  const names = F.CT_STATE_NAMES;
  if (mask === F.CT_STATE_ALL) {
    if (v === 0) return '0';
    return names.filter((_, i) => v & (1 << i)).join('|');
  }
  let s = '';
  for (let i = 0; i < names.length; i++) if (mask & (1 << i)) s += `${v & (1 << i) ? '+' : '-'}${names[i]}`;
  return s;
}

/** OVS ds_put_hex of a 128-bit value: 0x without leading zeros, "0" for zero. */
function hex128(words: readonly number[], at: number): string {
  let v = 0n;
  for (let i = 0; i < 4; i++) v = (v << 32n) | BigInt(words[at + i] >>> 0);
  return v === 0n ? '0' : '0x' + v.toString(16);
}

/** The connection-tracking fields, in OVS match_format's order (after conj_id, before the shorthand). */
function formatCtMatch(m: Match, out: string[]): void {
  const val = m.value;
  const msk = m.mask;
  if (msk[K.K_CT_STATE]) out.push(`ct_state=${formatCtState(val[K.K_CT_STATE], msk[K.K_CT_STATE])}`);
  if (msk[K.K_CT_ZONE]) out.push(`ct_zone=${val[K.K_CT_ZONE]}`);
  const mm = msk[K.K_CT_MARK];
  if (mm) out.push(`ct_mark=${hashX(val[K.K_CT_MARK])}${mm === 0xffffffff ? '' : '/' + hashX(mm)}`);
  const L = K.K_CT_LABEL;
  if (msk[L] || msk[L + 1] || msk[L + 2] || msk[L + 3]) {
    const full = msk[L] === 0xffffffff && msk[L + 1] === 0xffffffff && msk[L + 2] === 0xffffffff && msk[L + 3] === 0xffffffff;
    out.push(`ct_label=${hex128(val, L)}${full ? '' : '/' + hex128(msk, L)}`);
  }
  if (msk[K.K_CT_NW_SRC]) out.push(`ct_nw_src=${ipMasked(val[K.K_CT_NW_SRC], msk[K.K_CT_NW_SRC])}`);
  if (msk[K.K_CT_NW_DST]) out.push(`ct_nw_dst=${ipMasked(val[K.K_CT_NW_DST], msk[K.K_CT_NW_DST])}`);
  if (msk[K.K_CT_NW_PROTO]) {
    out.push(`ct_nw_proto=${val[K.K_CT_NW_PROTO]}`);
    if (msk[K.K_CT_TP_SRC]) out.push(`ct_tp_src=${be16Masked(val[K.K_CT_TP_SRC], msk[K.K_CT_TP_SRC])}`);
    if (msk[K.K_CT_TP_DST]) out.push(`ct_tp_dst=${be16Masked(val[K.K_CT_TP_DST], msk[K.K_CT_TP_DST])}`);
  }
}

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

/** OVS ofp_print_duration with millisecond resolution: "12.345s", "3s", "0.5s". */
export function formatDuration(ms: number): string {
  const sec = Math.floor(ms / 1000);
  const frac = Math.floor(ms % 1000);
  return frac === 0 ? `${sec}s` : `${sec}.${String(frac).padStart(3, '0').replace(/0+$/, '')}s`;
}

/** A rule as `ovs-ofctl add-flow` text (no statistics). */
export function formatRule(r: Rule, names?: PortNamer): string {
  const head: string[] = [];
  if (r.cookie !== 0n) head.push(`cookie=0x${r.cookie.toString(16)}`);
  head.push(`table=${r.table}`);
  if (r.idleTimeout) head.push(`idle_timeout=${r.idleTimeout}`);
  if (r.hardTimeout) head.push(`hard_timeout=${r.hardTimeout}`);
  head.push(...r.flags);
  if (r.importance) head.push(`importance=${r.importance}`);
  const m = formatMatch(r.match, r.priority, names);
  if (m) head.push(m);
  return `${head.join(',')} actions=${formatActions(r.actions, names)}`;
}

export interface DumpOptions {
  names?: PortNamer;
  /** Print idle_age (NXST-style dumps, OVS 2.x); OVS 3.x OpenFlow dumps omit it. */
  idleAge?: boolean;
}

/** One line of `ovs-ofctl dump-flows` (OVS ofputil_flow_stats_format). */
export function formatFlowEntry(e: FlowEntry, opts: DumpOptions = {}): string {
  const r = e.rule;
  let s = ` cookie=0x${r.cookie.toString(16)}, duration=${formatDuration(e.durationMs)}, table=${r.table}, `;
  s += `n_packets=${e.nPackets}, n_bytes=${e.nBytes}, `;
  if (r.idleTimeout) s += `idle_timeout=${r.idleTimeout}, `;
  if (r.hardTimeout) s += `hard_timeout=${r.hardTimeout}, `;
  for (const f of r.flags) s += `${f} `;
  if (r.importance) s += `importance=${r.importance}, `;
  if (opts.idleAge) s += `idle_age=${Math.floor(e.idleMs / 1000)}, `;
  s += formatMatch(r.match, r.priority, opts.names);
  if (!s.endsWith(' ')) s += ' ';
  return s + `actions=${formatActions(r.actions, opts.names)}`;
}
