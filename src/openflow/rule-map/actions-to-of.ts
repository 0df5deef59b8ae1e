/**
 * Rule-model actions → OpenFlow / Nicira actions, encoded as OVS encodes the same ovs-ofctl
 * text (so FLOW stats replies read back as the flow that was added).
 */
import * as K from '../../packet/flow-key';
import { Match } from '../../flow/match';
import { NXM_FIELDS, type NxmField } from '../../flow/nxm';
import * as N from '../../flow/nxm';
import type { Action, CtNat, LearnAction } from '../../flow/actions';
import type { OfAction } from '../../wire/openflow/actions';
import { NX_CT_F, NX_LEARN_F, NX_NAT_F, OFPVID_PRESENT, port16to32 } from '../../wire/openflow/constants';
import { oxm } from '../../wire/openflow/oxm';
import { HEADER_OF, headerOfField } from './nxm-headers';
import { NAT_FLAG_NAMES } from './actions-from-of';

function output32(p: number, maxLen = 0): OfAction {
  return { type: 'output', port: port16to32(p), maxLen };
}

function setField(name: string, v: number | bigint): OfAction {
  return { type: 'set_field', field: oxm(name, v) };
}

function regLoad(f: NxmField, ofs: number, nbits: number, value: bigint): OfAction {
  return { type: 'nx_reg_load', ofsNbits: (ofs << 6) | (nbits - 1), dst: headerOfField(f), value };
}

/** Contiguous runs of set bits: [ofs, nbits][]. */
function runs(mask: bigint, bits: number): [number, number][] {
  const out: [number, number][] = [];
  let i = 0;
  while (i < bits) {
    if ((mask >> BigInt(i)) & 1n) {
      let j = i;
      while (j < bits && (mask >> BigInt(j)) & 1n) j++;
      out.push([i, j - i]);
      i = j;
    } else i++;
  }
  return out;
}

const OXM_NAME_OF: Record<number, string> = {
  [N.F_ETH_DST]: 'eth_dst',
  [N.F_ETH_SRC]: 'eth_src',
  [N.F_IP_SRC]: 'ipv4_src',
  [N.F_IP_DST]: 'ipv4_dst',
  [N.F_TCP_SRC]: 'tcp_src',
  [N.F_TCP_DST]: 'tcp_dst',
  [N.F_UDP_SRC]: 'udp_src',
  [N.F_UDP_DST]: 'udp_dst',
  [N.F_ARP_OP]: 'arp_op',
  [N.F_ARP_SPA]: 'arp_spa',
  [N.F_ARP_TPA]: 'arp_tpa',
  [N.F_ARP_SHA]: 'arp_sha',
  [N.F_ARP_THA]: 'arp_tha',
  [N.F_METADATA]: 'metadata',
  [N.F_TUN_ID]: 'tunnel_id',
  [N.F_IPV6_SRC]: 'ipv6_src',
  [N.F_IPV6_DST]: 'ipv6_dst',
  [N.F_IPV6_LABEL]: 'ipv6_label',
  [N.F_IP_DSCP]: 'ip_dscp',
  [N.F_IP_ECN]: 'ip_ecn',
  [N.F_PKT_MARK]: 'pkt_mark',
};


export function actionToOf(a: Action, m: Match, out: OfAction[]): void {
  switch (a.type) {
    case 'output':
      out.push(output32(a.port));
      return;
    case 'in_port':
      out.push(output32(0xfff8));
      return;
    case 'normal':
      out.push(output32(0xfffa));
      return;
    case 'flood':
      out.push(output32(0xfffb));
      return;
    case 'all':
      out.push(output32(0xfffc));
      return;
    case 'controller':
      out.push(output32(0xfffd, a.maxLen));
      return;
    case 'mod_vlan_vid': {
      // OVS encodes mod_vlan_vid the same way: push a tag first unless the match has one.
      const tagged = (m.mask[K.K_VLAN_TCI] & OFPVID_PRESENT) !== 0 && (m.value[K.K_VLAN_TCI] & OFPVID_PRESENT) !== 0;
      if (!tagged) out.push({ type: 'push_vlan', ethertype: 0x8100 });
      out.push(setField('vlan_vid', OFPVID_PRESENT | a.vid));
      return;
    }
    case 'mod_vlan_pcp':
      out.push(setField('vlan_pcp', a.pcp));
      return;
    case 'strip_vlan':
      out.push({ type: 'pop_vlan' });
      return;
    case 'push_vlan':
      out.push({ type: 'push_vlan', ethertype: a.tpid });
      return;
    case 'set_field': {
      if (a.field === 'vlan_vid') {
        out.push(setField('vlan_vid', Number(a.value) & 0x1fff));
        return;
      }
      const f = a.field;
      const full = (1n << BigInt(f.bits)) - 1n;
      const mask = a.mask === null ? full : a.mask & full;
      const name = OXM_NAME_OF[f.id];
      if (mask === full && name) {
        out.push(setField(name, a.value & full));
        return;
      }
      // reg_load carries at most 64 bits: longer runs (a 128-bit field) go in 64-bit pieces.
      for (const [ofs0, n0] of runs(mask, f.bits)) {
        for (let ofs = ofs0; ofs < ofs0 + n0; ofs += 64) {
          const nbits = Math.min(64, ofs0 + n0 - ofs);
          out.push(regLoad(f, ofs, nbits, (a.value >> BigInt(ofs)) & ((1n << BigInt(nbits)) - 1n)));
        }
      }
      return;
    }
    case 'mod_dl_src':
      out.push(setField('eth_src', a.mac));
      return;
    case 'mod_dl_dst':
      out.push(setField('eth_dst', a.mac));
      return;
    case 'mod_nw_src':
      out.push(setField('ipv4_src', a.addr >>> 0));
      return;
    case 'mod_nw_dst':
      out.push(setField('ipv4_dst', a.addr >>> 0));
      return;
    case 'mod_nw_tos':
      out.push(setField('ip_dscp', a.tos >> 2));
      return;
    case 'mod_tp_src':
      out.push(setField(m.nwProto === 17 ? 'udp_src' : 'tcp_src', a.port));
      return;
    case 'mod_tp_dst':
      out.push(setField(m.nwProto === 17 ? 'udp_dst' : 'tcp_dst', a.port));
      return;
    case 'dec_ttl':
      out.push({ type: 'dec_nw_ttl' });
      return;
    case 'load':
      out.push(regLoad(a.dst.field, a.dst.ofs, a.dst.nbits, a.value));
      return;
    case 'set_tunnel':
      out.push(regLoad(NXM_FIELDS[N.F_TUN_ID], 0, 64, a.value));
      return;
    case 'move':
      out.push({ type: 'nx_reg_move', nBits: a.dst.nbits, srcOfs: a.src.ofs, dstOfs: a.dst.ofs, src: headerOfField(a.src.field), dst: headerOfField(a.dst.field) });
      return;
    case 'resubmit':
      if (a.table === 255 && a.port >= 0 && !a.ct) out.push({ type: 'nx_resubmit', inPort: a.port });
      else out.push({ type: 'nx_resubmit', inPort: a.port < 0 ? 0xfff8 : a.port, table: a.table, ...(a.ct ? { ct: true } : {}) });
      return;
    case 'ct_clear':
      out.push({ type: 'nx_ct_clear' });
      return;
    case 'ct':
      out.push(ctToOf(a, m));
      return;
    case 'conjunction':
      out.push({ type: 'nx_conjunction', clause: a.clause - 1, nClauses: a.nClauses, id: a.id });
      return;
    case 'learn':
      out.push(learnToOf(a));
      return;
    case 'note': {
      const n = Buffer.from(a.bytes);
      const len = Math.max(16, (10 + n.length + 7) & ~7);
      out.push({ type: 'nx_note', note: Buffer.concat([n, Buffer.alloc(len - 10 - n.length)]) });
      return;
    }
    case 'set_queue':
      out.push({ type: 'set_queue', queueId: a.queue });
      return;
    case 'pop_queue':
      return; // no OpenFlow 1.3 action; it changes nothing in tvs (one queue per port)
    case 'goto_table':
    case 'write_metadata':
    case 'meter':
    case 'clear_actions':
    case 'write_actions':
      return; // instructions, see instructionsFromActions
    default: {
      // Every rule-model action must have an encoding: one without would vanish from FLOW
      // stats replies. The compiler refuses a new action type that is not handled above.
      const missing: never = a;
      throw new Error(`action ${(missing as Action).type} has no OpenFlow encoding`);
    }
  }
}


function learnToOf(a: LearnAction): OfAction {
  return {
    type: 'nx_learn', idleTimeout: a.idleTimeout, hardTimeout: a.hardTimeout, priority: a.priority, cookie: a.cookie,
    flags: (a.sendFlowRem ? NX_LEARN_F.SEND_FLOW_REM : 0) | (a.deleteLearned ? NX_LEARN_F.DELETE_LEARNED : 0),
    table: a.table, finIdleTimeout: a.finIdleTimeout, finHardTimeout: a.finHardTimeout,
    specs: a.specs.map((sp) => {
      const width = (sp.dst ?? sp.src)!.nbits;
      return {
        dst: sp.kind, nBits: width,
        srcField: sp.src === null ? null : headerOfField(sp.src.field), srcOfs: sp.src?.ofs ?? 0, value: sp.value,
        dstField: sp.dst === null ? 0 : headerOfField(sp.dst.field), dstOfs: sp.dst?.ofs ?? 0,
      };
    }),
  };
}

function natToOf(n: CtNat): OfAction {
  let flags = n.kind === 'src' ? NX_NAT_F.SRC : n.kind === 'dst' ? NX_NAT_F.DST : 0;
  for (const [b, name] of NAT_FLAG_NAMES) if (n.flags.includes(name)) flags |= b;
  // As OVS encode_NAT: each part of the range only when it was given (non-zero).
  return {
    type: 'nx_nat', flags, ipv6Min: null, ipv6Max: null,
    ipv4Min: n.addrMin ? n.addrMin >>> 0 : null,
    ipv4Max: n.addrMax ? n.addrMax >>> 0 : null,
    protoMin: n.portMin || null,
    protoMax: n.portMax || null,
  };
}

/** ct() → nx_action_conntrack, nat and exec(...) nested (set_field to ct_mark/ct_label as OVS sends it). */
function ctToOf(a: Extract<Action, { type: 'ct' }>, m: Match): OfAction {
  const nested: OfAction[] = [];
  if (a.nat) nested.push(natToOf(a.nat));
  for (const x of a.exec) {
    if (x.type === 'set_field' && x.field !== 'vlan_vid' && x.mask === null && HEADER_OF[x.field.id]) {
      const [cls, field, bytes] = HEADER_OF[x.field.id];
      const full = (1n << BigInt(x.field.bits)) - 1n;
      const v = x.value & full;
      const value = Buffer.alloc(bytes);
      for (let i = 0; i < bytes; i++) value[bytes - 1 - i] = Number((v >> BigInt(8 * i)) & 0xffn);
      nested.push({ type: 'set_field', field: { cls, field, value } });
    } else actionToOf(x, m, nested);
  }
  return {
    type: 'nx_ct',
    flags: (a.commit ? NX_CT_F.COMMIT : 0) | (a.force ? NX_CT_F.FORCE : 0),
    zoneSrc: a.zoneSrc ? headerOfField(a.zoneSrc.field) : 0,
    zoneOfsNbits: a.zoneSrc ? (a.zoneSrc.ofs << 6) | (a.zoneSrc.nbits - 1) : a.zone,
    recircTable: a.table,
    alg: 0,
    actions: nested,
  };
}


/** Rule-model actions → an OpenFlow action list (packet-in/out contexts, no instructions). */
export function actionsToOf(actions: readonly Action[], m: Match): OfAction[] {
  const out: OfAction[] = [];
  for (const a of actions) actionToOf(a, m, out);
  return out;
}
