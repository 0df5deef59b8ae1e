/**
 * OpenFlow 1.3 wire structures ↔ the one rule model of the flow tables (Match, Action,
 * FlowSpec — what ovs-ofctl text parses into). A flow added over OpenFlow is the same Rule a
 * `tvs add-flow` makes, so dump-flows, trace and FLOW stats see one set of flows.
 *
 * Decoding refuses what tvs cannot do with the OpenFlow error OVS would send (BAD_MATCH /
 * BAD_FIELD for a field the flow key lacks, BAD_ACTION / UNSUPPORTED_ORDER for an action that
 * has no place in the action set (write_actions),
 * ...), so a controller learns at once instead of seeing a flow silently mean something else.
 */
import * as K from '../packet/flow-key';
import { Match } from '../flow/match';
import { prereqOk, type Prereq } from '../flow/fields';
import { NXM_FIELDS, nxmField, type NxmField } from '../flow/nxm';
import * as N from '../flow/nxm';
import { actionSetKind, type Action, type CtNat, type LearnAction, type LearnSpec } from '../flow/actions';
import { learnMatchable } from '../flow/learn';
import type { FlowSpec } from '../flow/ofctl-parse';
import type { FlowFlag, Rule } from '../flow/table';
import {
  BAD_ACTION,
  BAD_INSTRUCTION,
  BAD_MATCH,
  ET,
  FC,
  FF,
  FLOW_MOD_FAILED,
  NX_CT_F,
  NX_LEARN_F,
  NX_NAT_F,
  OFPG_ANY,
  OFPP13_ALL,
  OFPP13_ANY,
  OFPP13_CONTROLLER,
  OFPP13_FLOOD,
  OFPP13_IN_PORT,
  OFPP13_LOCAL,
  OFPP13_NORMAL,
  OFPP13_TABLE,
  OFPTT_ALL,
  OfError,
  bytesToBig,
  headerClass,
  headerField,
  oxm,
  oxmHeader,
  oxmInfo,
  port16to32,
  port32to16,
  OXM_CLASS_BASIC,
  OXM_CLASS_NXM0,
  OXM_CLASS_NXM1,
  type FlowMod,
  type OfAction,
  type OfInstruction,
  type Oxm,
} from '../wire/openflow';

const OFPVID_PRESENT = 0x1000;
const ETH_IP = 0x0800;
const ETH_ARP = 0x0806;
const ETH_IPV6 = 0x86dd;

function badMatch(code: number, msg: string): OfError {
  return new OfError(ET.BAD_MATCH, code, msg);
}
function badAction(code: number, msg: string): OfError {
  return new OfError(ET.BAD_ACTION, code, msg);
}

// ---------------------------------------------------------------- match

function setWord(m: Match, word: number, v: number, mask: number, name: string): void {
  if (!m.set(word, (v & mask) >>> 0, mask >>> 0)) throw badMatch(BAD_MATCH.BAD_VALUE, `${name} contradicts another field of the match`);
}
function set48(m: Match, hi: number, v: bigint, mask: bigint, name: string): void {
  setWord(m, hi, Number(v >> 32n), Number(mask >> 32n), name);
  setWord(m, hi + 1, Number(v & 0xffffffffn), Number(mask & 0xffffffffn), name);
}

/** A 128-bit field (IPv6 address) over four words, most significant first. */
function set128(m: Match, w: number, v: bigint, mask: bigint, name: string): void {
  for (let i = 0; i < 4; i++) {
    const sh = BigInt(32 * (3 - i));
    setWord(m, w + i, Number((v >> sh) & 0xffffffffn), Number((mask >> sh) & 0xffffffffn), name);
  }
}
function word128(m: Match, w: number): [bigint, bigint] {
  let v = 0n;
  let mk = 0n;
  for (let i = 0; i < 4; i++) {
    v = (v << 32n) | BigInt(m.value[w + i]);
    mk = (mk << 32n) | BigInt(m.mask[w + i]);
  }
  return [v, mk];
}
const FULL128 = (1n << 128n) - 1n;

type FieldCheck = Prereq | ((m: Match) => boolean);

/** OXM → flow-key words; returns the prerequisite the field needs. */
function applyOxm(m: Match, name: string, v: bigint, mk: bigint, bits: number): FieldCheck {
  const full = (1n << BigInt(bits)) - 1n;
  const n = Number(v);
  const nm = Number(mk);
  switch (name) {
    case 'in_port': {
      const p = port32to16(n);
      if (p <= 0 || (p >= 0xff00 && p !== 0xfffe)) throw badMatch(BAD_MATCH.BAD_VALUE, `in_port ${n} is not a port a packet can arrive on`);
      setWord(m, K.K_IN_PORT, p, 0xffff, name);
      return 'none';
    }
    case 'nxm_of_in_port':
      setWord(m, K.K_IN_PORT, n, 0xffff, name);
      return 'none';
    case 'metadata':
      set48(m, K.K_METADATA_HI, v, mk, name);
      return 'none';
    // Tunnel metadata (Neutron's br-tun: OFPMatch(tunnel_id=VNI) from the native agent).
    case 'tunnel_id':
    case 'nxm_nx_tun_id':
      set48(m, K.K_TUN_ID_HI, v, mk, name);
      return 'none';
    case 'tun_src':
      setWord(m, K.K_TUN_SRC, n, nm, name);
      return 'none';
    case 'tun_dst':
      setWord(m, K.K_TUN_DST, n, nm, name);
      return 'none';
    case 'eth_dst':
    case 'nxm_of_eth_dst':
      set48(m, K.K_DL_DST_HI, v, mk, name);
      return 'none';
    case 'eth_src':
    case 'nxm_of_eth_src':
      set48(m, K.K_DL_SRC_HI, v, mk, name);
      return 'none';
    case 'eth_type':
    case 'nxm_of_eth_type':
      setWord(m, K.K_DL_TYPE, n, 0xffff, name);
      return 'none';
    case 'vlan_vid': {
      // OpenFlow 1.3: 0 = no tag, OFPVID_PRESENT|vid = that VID, 0x1000/0x1000 = any tag.
      if (mk === full) {
        if (n === 0) setWord(m, K.K_VLAN_TCI, 0, 0xffff, name);
        else if (n & OFPVID_PRESENT) setWord(m, K.K_VLAN_TCI, n, 0x1fff, name);
        else throw badMatch(BAD_MATCH.BAD_VALUE, `vlan_vid ${n} lacks OFPVID_PRESENT (0x1000)`);
      } else setWord(m, K.K_VLAN_TCI, n & 0x1fff, nm & 0x1fff, name);
      return 'none';
    }
    case 'vlan_pcp':
      if (n > 7) throw badMatch(BAD_MATCH.BAD_VALUE, `vlan_pcp ${n} > 7`);
      setWord(m, K.K_VLAN_TCI, OFPVID_PRESENT | (n << 13), OFPVID_PRESENT | 0xe000, name);
      return 'none';
    case 'vlan_tci':
      setWord(m, K.K_VLAN_TCI, n, nm, name);
      return 'none';
    case 'ip_dscp':
      if (n > 63) throw badMatch(BAD_MATCH.BAD_VALUE, `ip_dscp ${n} > 63`);
      setWord(m, K.K_NW_TOS, n << 2, 0xfc, name);
      return 'ip_any';
    case 'nw_tos':
      setWord(m, K.K_NW_TOS, n & 0xfc, 0xfc, name);
      return 'ip_any';
    case 'ip_proto':
    case 'nxm_of_ip_proto':
      setWord(m, K.K_NW_PROTO, n, 0xff, name);
      return 'ip_any';
    case 'ipv4_src':
    case 'nxm_of_ip_src':
      setWord(m, K.K_NW_SRC, n, nm, name);
      return (x) => x.dlType === ETH_IP;
    case 'ipv4_dst':
    case 'nxm_of_ip_dst':
      setWord(m, K.K_NW_DST, n, nm, name);
      return (x) => x.dlType === ETH_IP;
    case 'tcp_src':
    case 'nxm_of_tcp_src':
      setWord(m, K.K_TP_SRC, n, nm, name);
      return 'tcp';
    case 'tcp_dst':
    case 'nxm_of_tcp_dst':
      setWord(m, K.K_TP_DST, n, nm, name);
      return 'tcp';
    case 'udp_src':
    case 'nxm_of_udp_src':
      setWord(m, K.K_TP_SRC, n, nm, name);
      return 'udp';
    case 'udp_dst':
    case 'nxm_of_udp_dst':
      setWord(m, K.K_TP_DST, n, nm, name);
      return 'udp';
    case 'sctp_src':
      setWord(m, K.K_TP_SRC, n, nm, name);
      return (x) => x.nwProto === 132;
    case 'sctp_dst':
      setWord(m, K.K_TP_DST, n, nm, name);
      return (x) => x.nwProto === 132;
    case 'icmp_type':
    case 'nxm_of_icmp_type':
      setWord(m, K.K_TP_SRC, n, 0xff, name);
      return (x) => x.dlType === ETH_IP && x.nwProto === 1;
    case 'icmp_code':
    case 'nxm_of_icmp_code':
      setWord(m, K.K_TP_DST, n, 0xff, name);
      return (x) => x.dlType === ETH_IP && x.nwProto === 1;
    case 'icmpv6_type':
      setWord(m, K.K_TP_SRC, n, 0xff, name);
      return (x) => x.dlType === ETH_IPV6 && x.nwProto === 58;
    case 'icmpv6_code':
      setWord(m, K.K_TP_DST, n, 0xff, name);
      return (x) => x.dlType === ETH_IPV6 && x.nwProto === 58;
    case 'arp_op':
    case 'nxm_of_arp_op':
      if (n > 0xff) throw badMatch(BAD_MATCH.BAD_VALUE, `arp_op ${n}: tvs matches the low 8 bits of the opcode only`);
      setWord(m, K.K_NW_PROTO, n, 0xff, name);
      return 'arp';
    case 'arp_spa':
    case 'nxm_of_arp_spa':
      setWord(m, K.K_NW_SRC, n, nm, name);
      return 'arp';
    case 'arp_tpa':
    case 'nxm_of_arp_tpa':
      setWord(m, K.K_NW_DST, n, nm, name);
      return 'arp';
    case 'arp_sha':
    case 'nxm_nx_arp_sha':
      set48(m, K.K_ARP_SHA_HI, v, mk, name);
      return 'arp';
    case 'arp_tha':
    case 'nxm_nx_arp_tha':
      set48(m, K.K_ARP_THA_HI, v, mk, name);
      return 'arp';
    case 'ipv6_src':
    case 'nxm_nx_ipv6_src':
      set128(m, K.K_IPV6_SRC, v, mk, name);
      return 'ipv6';
    case 'ipv6_dst':
    case 'nxm_nx_ipv6_dst':
      set128(m, K.K_IPV6_DST, v, mk, name);
      return 'ipv6';
    case 'ipv6_label':
    case 'nxm_nx_ipv6_label':
      // 4 bytes on the wire, 20 bits of label: an unmasked TLV means the whole label.
      if (v > 0xfffffn || (mk !== full && mk > 0xfffffn)) throw badMatch(BAD_MATCH.BAD_VALUE, `ipv6_label 0x${v.toString(16)}: a flow label is 20 bits`);
      setWord(m, K.K_IPV6_LABEL, n, mk === full ? 0xfffff : nm, name);
      return 'ipv6';
    case 'nxm_nx_icmpv6_type':
      setWord(m, K.K_TP_SRC, n, 0xff, name);
      return (x) => x.dlType === ETH_IPV6 && x.nwProto === 58;
    case 'nxm_nx_icmpv6_code':
      setWord(m, K.K_TP_DST, n, 0xff, name);
      return (x) => x.dlType === ETH_IPV6 && x.nwProto === 58;
    case 'nd_target':
    case 'nxm_nx_nd_target':
      set128(m, K.K_ND_TARGET, v, mk, name);
      return 'nd';
    case 'nd_sll':
    case 'nxm_nx_nd_sll':
      set48(m, K.K_ARP_SHA_HI, v, mk, name);
      return 'nd_solicit';
    case 'nd_tll':
    case 'nxm_nx_nd_tll':
      set48(m, K.K_ARP_THA_HI, v, mk, name);
      return 'nd_advert';
    case 'ip_ecn':
    case 'nxm_nx_ip_ecn':
      if (n > 3) throw badMatch(BAD_MATCH.BAD_VALUE, `ip_ecn ${n} > 3`);
      setWord(m, K.K_NW_TOS, n, 0x03, name);
      return 'ip_any';
    case 'pkt_mark':
      setWord(m, K.K_PKT_MARK, n, nm, name);
      return 'none';
    case 'nw_ttl':
      setWord(m, K.K_NW_TTL, n, 0xff, name);
      return 'ip_any';
    case 'nw_frag':
      setWord(m, K.K_NW_FRAG, n & 3, nm & 3, name);
      return 'ip_any';
  }
  if (name === 'conj_id') {
    setWord(m, K.K_CONJ_ID, n, 0xffffffff, name);
    return 'none';
  }
  const reg = /^reg([0-7])$/.exec(name);
  if (reg) {
    setWord(m, K.K_REG0 + Number(reg[1]), n, nm, name);
    return 'none';
  }
  throw badMatch(BAD_MATCH.BAD_FIELD, `tvs cannot match on ${name}`);
}

/** OXM fields → Match. Throws OfError (BAD_MATCH/...) on fields tvs lacks, bad masks, prereqs. */
export function matchFromOxm(fields: readonly Oxm[]): Match {
  const m = new Match();
  const seen = new Set<number>();
  const checks: [string, FieldCheck][] = [];
  for (const f of fields) {
    const id = f.cls * 128 + f.field;
    const info = oxmInfo(f.cls, f.field);
    const label = info?.name ?? `OXM class 0x${f.cls.toString(16)} field ${f.field}`;
    if (info === undefined) throw badMatch(BAD_MATCH.BAD_FIELD, `tvs cannot match on ${label}`);
    if (seen.has(id)) throw badMatch(BAD_MATCH.DUP_FIELD, `${label} appears twice in the match`);
    seen.add(id);
    if (f.mask !== undefined && !info.maskable) throw badMatch(BAD_MATCH.BAD_MASK, `${label} cannot be masked`);
    const bits = info.bytes * 8;
    const v = bytesToBig(f.value);
    const mk = f.mask !== undefined ? bytesToBig(f.mask) : (1n << BigInt(bits)) - 1n;
    if ((v & ~mk) !== 0n) throw badMatch(BAD_MATCH.BAD_WILDCARDS, `${label}: value has bits set outside its mask`);
    checks.push([label, applyOxm(m, info.name, v, mk, bits)]);
  }
  for (const [label, c] of checks) {
    const ok = typeof c === 'function' ? c(m) : prereqOk(c, m);
    if (!ok) throw badMatch(BAD_MATCH.BAD_PREREQ, `${label}: its prerequisite (eth_type / ip_proto) is missing from the match`);
  }
  return m;
}

function word64(m: Match, hi: number): [bigint, bigint] {
  const v = (BigInt(m.value[hi]) << 32n) | BigInt(m.value[hi + 1]);
  const mk = (BigInt(m.mask[hi]) << 32n) | BigInt(m.mask[hi + 1]);
  return [v, mk];
}

/** One TLV, without a mask when the mask is all ones. */
function put(out: Oxm[], name: string, v: number | bigint, mk: number | bigint, full: number | bigint): void {
  if (BigInt(mk) === 0n) return;
  out.push(BigInt(mk) === BigInt(full) ? oxm(name, v) : oxm(name, v, mk));
}

/** Match → OXM fields, prerequisites first (the order OVS decodes them in). */
export function matchToOxm(m: Match): Oxm[] {
  const out: Oxm[] = [];
  const w = (i: number) => m.mask[i];
  if (w(K.K_IN_PORT)) out.push(oxm('in_port', port16to32(m.value[K.K_IN_PORT])));
  const [md, mdm] = word64(m, K.K_METADATA_HI);
  put(out, 'metadata', md, mdm, 0xffffffffffffffffn);
  const [ti, tim] = word64(m, K.K_TUN_ID_HI);
  put(out, 'tunnel_id', ti, tim, 0xffffffffffffffffn);
  put(out, 'tun_src', m.value[K.K_TUN_SRC], w(K.K_TUN_SRC), 0xffffffff);
  put(out, 'tun_dst', m.value[K.K_TUN_DST], w(K.K_TUN_DST), 0xffffffff);
  const [dd, ddm] = word64(m, K.K_DL_DST_HI);
  put(out, 'eth_dst', dd, ddm, 0xffffffffffffn);
  const [ds, dsm] = word64(m, K.K_DL_SRC_HI);
  put(out, 'eth_src', ds, dsm, 0xffffffffffffn);
  if (w(K.K_DL_TYPE)) out.push(oxm('eth_type', m.value[K.K_DL_TYPE]));
  const tv = m.value[K.K_VLAN_TCI];
  const tm = m.mask[K.K_VLAN_TCI];
  if (tm !== 0) {
    if (tm === 0xffff && tv === 0) out.push(oxm('vlan_vid', 0));
    else if ((tm & 0x1fff) === 0x1fff && (tm & 0xe000) % 0xe000 === 0 && tv & OFPVID_PRESENT) {
      out.push(oxm('vlan_vid', tv & 0x1fff));
      if (tm & 0xe000) out.push(oxm('vlan_pcp', tv >> 13));
    } else if ((tm & 0x1fff) === OFPVID_PRESENT && (tm & 0xe000) % 0xe000 === 0 && tv & OFPVID_PRESENT) {
      out.push(oxm('vlan_vid', OFPVID_PRESENT, OFPVID_PRESENT));
      if (tm & 0xe000) out.push(oxm('vlan_pcp', tv >> 13));
    } else out.push(tm === 0xffff ? oxm('vlan_tci', tv) : oxm('vlan_tci', tv, tm));
  }
  const dl = m.dlType;
  const isArp = dl === ETH_ARP || dl === 0x8035;
  const proto = m.nwProto;
  if (isArp) {
    if (w(K.K_NW_PROTO)) out.push(oxm('arp_op', m.value[K.K_NW_PROTO]));
    put(out, 'arp_spa', m.value[K.K_NW_SRC], w(K.K_NW_SRC), 0xffffffff);
    put(out, 'arp_tpa', m.value[K.K_NW_DST], w(K.K_NW_DST), 0xffffffff);
    const [sha, sham] = word64(m, K.K_ARP_SHA_HI);
    put(out, 'arp_sha', sha, sham, 0xffffffffffffn);
    const [tha, tham] = word64(m, K.K_ARP_THA_HI);
    put(out, 'arp_tha', tha, tham, 0xffffffffffffn);
  } else {
    // IP, in OVS's nxm_put_ip order: addresses, frag, dscp, ecn, ttl, label, proto, L4, ND.
    if (dl === ETH_IPV6) {
      const [s6, s6m] = word128(m, K.K_IPV6_SRC);
      put(out, 'ipv6_src', s6, s6m, FULL128);
      const [d6, d6m] = word128(m, K.K_IPV6_DST);
      put(out, 'ipv6_dst', d6, d6m, FULL128);
    } else {
      put(out, 'ipv4_src', m.value[K.K_NW_SRC], w(K.K_NW_SRC), 0xffffffff);
      put(out, 'ipv4_dst', m.value[K.K_NW_DST], w(K.K_NW_DST), 0xffffffff);
    }
    put(out, 'nw_frag', m.value[K.K_NW_FRAG], w(K.K_NW_FRAG), 3);
    if (w(K.K_NW_TOS) & 0xfc) out.push(oxm('ip_dscp', m.value[K.K_NW_TOS] >> 2));
    if (w(K.K_NW_TOS) & 0x03) out.push(oxm('ip_ecn', m.value[K.K_NW_TOS] & 3));
    if (w(K.K_NW_TTL)) out.push(oxm('nw_ttl', m.value[K.K_NW_TTL]));
    put(out, 'ipv6_label', m.value[K.K_IPV6_LABEL], w(K.K_IPV6_LABEL), 0xfffff);
    if (w(K.K_NW_PROTO)) out.push(oxm('ip_proto', m.value[K.K_NW_PROTO]));
    const l4 = proto === 6 ? 'tcp' : proto === 17 ? 'udp' : proto === 132 ? 'sctp' : proto === 1 && dl === ETH_IP ? 'icmp' : proto === 58 && dl === ETH_IPV6 ? 'icmpv6' : '';
    if (l4 === 'icmp' || l4 === 'icmpv6') {
      if (w(K.K_TP_SRC)) out.push(oxm(`${l4}_type`, m.value[K.K_TP_SRC]));
      if (w(K.K_TP_DST)) out.push(oxm(`${l4}_code`, m.value[K.K_TP_DST]));
      if (l4 === 'icmpv6') {
        const [nt, ntm] = word128(m, K.K_ND_TARGET);
        put(out, 'nd_target', nt, ntm, FULL128);
        const [sll, sllm] = word64(m, K.K_ARP_SHA_HI);
        put(out, 'nd_sll', sll, sllm, 0xffffffffffffn);
        const [tll, tllm] = word64(m, K.K_ARP_THA_HI);
        put(out, 'nd_tll', tll, tllm, 0xffffffffffffn);
      }
    } else if (l4 !== '') {
      put(out, `${l4}_src`, m.value[K.K_TP_SRC], w(K.K_TP_SRC), 0xffff);
      put(out, `${l4}_dst`, m.value[K.K_TP_DST], w(K.K_TP_DST), 0xffff);
    }
  }
  for (let r = 0; r < 8; r++) put(out, `reg${r}`, m.value[K.K_REG0 + r], w(K.K_REG0 + r), 0xffffffff);
  put(out, 'pkt_mark', m.value[K.K_PKT_MARK], w(K.K_PKT_MARK), 0xffffffff);
  put(out, 'conj_id', m.value[K.K_CONJ_ID], w(K.K_CONJ_ID), 0xffffffff);
  return out;
}

// ---------------------------------------------------------------- fields of load/move/set_field

/** NxmField id → [class, field, bytes] of its NXM/OXM header (as OVS emits them). */
const HEADER_OF: Record<number, [number, number, number]> = {
  [N.F_IN_PORT]: [OXM_CLASS_NXM0, 0, 2],
  [N.F_ETH_DST]: [OXM_CLASS_NXM0, 1, 6],
  [N.F_ETH_SRC]: [OXM_CLASS_NXM0, 2, 6],
  [N.F_ETH_TYPE]: [OXM_CLASS_NXM0, 3, 2],
  [N.F_VLAN_TCI]: [OXM_CLASS_NXM0, 4, 2],
  [N.F_IP_PROTO]: [OXM_CLASS_NXM0, 6, 1],
  [N.F_IP_SRC]: [OXM_CLASS_NXM0, 7, 4],
  [N.F_IP_DST]: [OXM_CLASS_NXM0, 8, 4],
  [N.F_TCP_SRC]: [OXM_CLASS_NXM0, 9, 2],
  [N.F_TCP_DST]: [OXM_CLASS_NXM0, 10, 2],
  [N.F_UDP_SRC]: [OXM_CLASS_NXM0, 11, 2],
  [N.F_UDP_DST]: [OXM_CLASS_NXM0, 12, 2],
  [N.F_ARP_OP]: [OXM_CLASS_NXM0, 15, 2],
  [N.F_ARP_SPA]: [OXM_CLASS_NXM0, 16, 4],
  [N.F_ARP_TPA]: [OXM_CLASS_NXM0, 17, 4],
  [N.F_ARP_SHA]: [OXM_CLASS_NXM1, 17, 6],
  [N.F_ARP_THA]: [OXM_CLASS_NXM1, 18, 6],
  [N.F_METADATA]: [OXM_CLASS_BASIC, 2, 8],
  [N.F_TUN_ID]: [OXM_CLASS_NXM1, 16, 8],
  [N.F_TUN_SRC]: [OXM_CLASS_NXM1, 31, 4],
  [N.F_TUN_DST]: [OXM_CLASS_NXM1, 32, 4],
  [N.F_IN_PORT_OXM]: [OXM_CLASS_BASIC, 0, 4],
  [N.F_VLAN_VID]: [OXM_CLASS_BASIC, 6, 2],
  [N.F_IPV6_SRC]: [OXM_CLASS_NXM1, 19, 16],
  [N.F_IPV6_DST]: [OXM_CLASS_NXM1, 20, 16],
  [N.F_IPV6_LABEL]: [OXM_CLASS_NXM1, 27, 4],
  [N.F_ND_TARGET]: [OXM_CLASS_NXM1, 23, 16],
  [N.F_ND_SLL]: [OXM_CLASS_NXM1, 24, 6],
  [N.F_ND_TLL]: [OXM_CLASS_NXM1, 25, 6],
  [N.F_IP_DSCP]: [OXM_CLASS_BASIC, 8, 1],
  [N.F_IP_ECN]: [OXM_CLASS_NXM1, 28, 1],
  [N.F_PKT_MARK]: [OXM_CLASS_NXM1, 33, 4],
  [N.F_IP_TTL]: [OXM_CLASS_NXM1, 29, 1],
  [N.F_CT_MARK]: [OXM_CLASS_NXM1, 107, 4],
  [N.F_CT_LABEL]: [OXM_CLASS_NXM1, 108, 16],
};
for (let r = 0; r < 8; r++) HEADER_OF[N.F_REG0 + r] = [OXM_CLASS_NXM1, r, 4];

/** OXM basic names whose meaning equals an NXM field of the rule model. */
const BASIC_TO_NXM: Record<string, string> = {
  eth_dst: 'eth_dst',
  eth_src: 'eth_src',
  eth_type: 'eth_type',
  ip_proto: 'nw_proto',
  ipv4_src: 'ip_src',
  ipv4_dst: 'ip_dst',
  tcp_src: 'tcp_src',
  tcp_dst: 'tcp_dst',
  udp_src: 'udp_src',
  udp_dst: 'udp_dst',
  arp_op: 'arp_op',
  arp_spa: 'arp_spa',
  arp_tpa: 'arp_tpa',
  arp_sha: 'arp_sha',
  arp_tha: 'arp_tha',
  metadata: 'metadata',
  tunnel_id: 'tun_id',
  ipv6_src: 'ipv6_src',
  ipv6_dst: 'ipv6_dst',
  ipv6_label: 'ipv6_label',
  ip_ecn: 'nw_ecn',
  nd_target: 'nd_target',
  nd_sll: 'nd_sll',
  nd_tll: 'nd_tll',
};

/** The rule-model field a TLV header names (reg_load/reg_move operands), or undefined. */
function fieldOfHeader(h: number): NxmField | undefined {
  const cls = headerClass(h);
  const fld = headerField(h);
  for (const [id, [c, f]] of Object.entries(HEADER_OF)) if (c === cls && f === fld) return NXM_FIELDS[Number(id)];
  const info = oxmInfo(cls, fld);
  if (info && cls === OXM_CLASS_BASIC && BASIC_TO_NXM[info.name]) return nxmField(BASIC_TO_NXM[info.name]);
  return undefined;
}

function headerOfField(f: NxmField): number {
  const [c, fl, bytes] = HEADER_OF[f.id];
  return oxmHeader(c, fl, false, bytes);
}

// ---------------------------------------------------------------- actions

export interface ActionContext {
  match: Match;
  /** Table the flow is in (goto_table must go forward). */
  table: number;
  /** Packet-out: output:TABLE is allowed. */
  packetOut?: boolean;
}

function outputFrom(port: number, maxLen: number, ctx: ActionContext): Action {
  switch (port >>> 0) {
    case OFPP13_IN_PORT:
      return { type: 'in_port' };
    case OFPP13_NORMAL:
      return { type: 'normal' };
    case OFPP13_FLOOD:
      return { type: 'flood' };
    case OFPP13_ALL:
      return { type: 'all' };
    case OFPP13_CONTROLLER:
      return { type: 'controller', maxLen };
    case OFPP13_LOCAL:
      return { type: 'output', port: 0xfffe };
    case OFPP13_TABLE:
      if (ctx.packetOut) return { type: 'output', port: 0xfff9 };
      break;
    case OFPP13_ANY:
      break;
    default: {
      const p = port32to16(port);
      if (p > 0 && p < 0xff00) return { type: 'output', port: p };
    }
  }
  throw badAction(BAD_ACTION.BAD_OUT_PORT, `output to port 0x${(port >>> 0).toString(16)} is not allowed here`);
}

function subfield(h: number, ofs: number, nbits: number, what: string): { field: NxmField; ofs: number; nbits: number } {
  const field = fieldOfHeader(h);
  if (!field) throw badAction(BAD_ACTION.BAD_ARGUMENT, `${what}: tvs has no field with header 0x${h.toString(16)}`);
  if (nbits < 1 || ofs + nbits > field.bits) throw badAction(BAD_ACTION.BAD_ARGUMENT, `${what}: bits ${ofs}..${ofs + nbits - 1} are outside ${field.nxm} (${field.bits} bits)`);
  return { field, ofs, nbits };
}

function checkPrereq(f: NxmField, ctx: ActionContext): void {
  if (!prereqOk(f.prereq, ctx.match)) throw badAction(BAD_ACTION.MATCH_INCONSISTENT, `${f.name}: the match does not pin down what this field needs`);
}

/** nx_action_learn → the rule model's learn (the same checks as the text form, as BAD_ARGUMENT). */
function learnFrom(a: Extract<OfAction, { type: 'nx_learn' }>, ctx: ActionContext): Action {
  if (a.flags & ~(NX_LEARN_F.SEND_FLOW_REM | NX_LEARN_F.DELETE_LEARNED)) throw badAction(BAD_ACTION.BAD_ARGUMENT, `learn: flags 0x${a.flags.toString(16)} (result_dst is not supported)`);
  if (a.table >= 255) throw badAction(BAD_ACTION.BAD_ARGUMENT, `learn: table ${a.table}`);
  const specs: LearnSpec[] = a.specs.map((sp) => {
    const src = sp.srcField === null ? null : subfield(sp.srcField, sp.srcOfs, sp.nBits, 'learn source');
    if (src) checkPrereq(src.field, ctx);
    if (sp.dst === 'output') {
      if (!src) throw badAction(BAD_ACTION.BAD_ARGUMENT, 'learn: output needs a field source');
      return { kind: 'output', dst: null, src, value: 0n };
    }
    const dst = subfield(sp.dstField, sp.dstOfs, sp.nBits, 'learn destination');
    if (!learnMatchable(dst.field) || (sp.dst === 'load' && !dst.field.writable)) throw badAction(BAD_ACTION.BAD_ARGUMENT, `learn: ${dst.field.nxm} cannot be a learn destination`);
    return { kind: sp.dst, dst, src, value: sp.srcField === null ? sp.value & ((1n << BigInt(sp.nBits)) - 1n) : 0n };
  });
  return {
    type: 'learn', table: a.table, priority: a.priority, idleTimeout: a.idleTimeout, hardTimeout: a.hardTimeout,
    finIdleTimeout: a.finIdleTimeout, finHardTimeout: a.finHardTimeout, cookie: a.cookie,
    sendFlowRem: (a.flags & NX_LEARN_F.SEND_FLOW_REM) !== 0, deleteLearned: (a.flags & NX_LEARN_F.DELETE_LEARNED) !== 0, specs,
  };
}

/** The rule model's learn → nx_action_learn. */
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

const NAT_FLAG_NAMES: [number, string][] = [
  [NX_NAT_F.PERSISTENT, 'persistent'],
  [NX_NAT_F.PROTO_HASH, 'hash'],
  [NX_NAT_F.PROTO_RANDOM, 'random'],
];

function natFrom(a: Extract<OfAction, { type: 'nx_nat' }>): CtNat {
  const kinds = a.flags & (NX_NAT_F.SRC | NX_NAT_F.DST);
  if (kinds === (NX_NAT_F.SRC | NX_NAT_F.DST)) throw badAction(BAD_ACTION.BAD_ARGUMENT, 'nat: both src and dst');
  if (a.flags & ~0x1f) throw badAction(BAD_ACTION.BAD_ARGUMENT, `nat: flags 0x${a.flags.toString(16)} has unknown bits`);
  if (a.ipv6Min !== null || a.ipv6Max !== null) throw badAction(BAD_ACTION.BAD_ARGUMENT, 'nat: IPv6 address ranges are not supported by tvs');
  const hasRange = a.ipv4Min !== null || a.ipv4Max !== null || a.protoMin !== null || a.protoMax !== null;
  if (kinds === 0 && hasRange) throw badAction(BAD_ACTION.BAD_ARGUMENT, 'nat: a range needs src or dst');
  return {
    kind: kinds === NX_NAT_F.SRC ? 'src' : kinds === NX_NAT_F.DST ? 'dst' : null,
    addrMin: a.ipv4Min ?? 0,
    addrMax: a.ipv4Max ?? 0,
    portMin: a.protoMin ?? 0,
    portMax: a.protoMax ?? 0,
    flags: NAT_FLAG_NAMES.filter(([b]) => a.flags & b).map(([, n]) => n),
  };
}

/** nx_action_conntrack → the rule model's ct() (the forms `tvs add-flow` accepts, else BAD_ARGUMENT). */
function ctFrom(a: Extract<OfAction, { type: 'nx_ct' }>, ctx: ActionContext): Action {
  if (a.flags & ~(NX_CT_F.COMMIT | NX_CT_F.FORCE)) throw badAction(BAD_ACTION.BAD_ARGUMENT, `ct: flags 0x${a.flags.toString(16)} has unknown bits`);
  if (a.alg !== 0) throw badAction(BAD_ACTION.BAD_ARGUMENT, `ct: alg ${a.alg} is not supported by tvs`);
  let zoneSrc = null;
  let zone = 0;
  if (a.zoneSrc === 0) zone = a.zoneOfsNbits;
  else {
    zoneSrc = subfield(a.zoneSrc, a.zoneOfsNbits >> 6, (a.zoneOfsNbits & 63) + 1, 'ct zone');
    if (zoneSrc.nbits !== 16 || zoneSrc.field.bits > 64) throw badAction(BAD_ACTION.BAD_ARGUMENT, `ct zone: a zone subfield must be 16 bits of a field of at most 64 bits`);
    checkPrereq(zoneSrc.field, ctx);
  }
  let nat: CtNat | null = null;
  const exec: Action[] = [];
  for (const x of a.actions) {
    if (x.type === 'nx_nat') {
      if (nat) throw badAction(BAD_ACTION.BAD_ARGUMENT, 'ct: more than one nat');
      nat = natFrom(x);
      continue;
    }
    // OVS: "ct action doesn't support nested action" other than writes to ct_mark / ct_label.
    let done: Action | null = null;
    if (x.type === 'set_field' && x.field.mask === undefined) {
      const f = fieldOfHeader(oxmHeader(x.field.cls, x.field.field, false, x.field.value.length));
      if (f && (f.id === N.F_CT_MARK || f.id === N.F_CT_LABEL)) done = { type: 'set_field', field: f, value: bytesToBig(x.field.value), mask: null };
    } else if (x.type === 'nx_reg_load') {
      const dst = subfield(x.dst, x.ofsNbits >> 6, (x.ofsNbits & 63) + 1, 'ct exec reg_load');
      if (dst.nbits < 64 && x.value >> BigInt(dst.nbits) !== 0n) throw badAction(BAD_ACTION.BAD_ARGUMENT, `reg_load: value 0x${x.value.toString(16)} does not fit in ${dst.nbits} bits`);
      if (dst.field.id === N.F_CT_MARK || dst.field.id === N.F_CT_LABEL) done = { type: 'load', value: x.value, dst };
    }
    if (!done) throw badAction(BAD_ACTION.BAD_ARGUMENT, `ct: nested ${x.type} is not allowed (only nat and writes to ct_mark / ct_label)`);
    exec.push(done);
  }
  return { type: 'ct', commit: (a.flags & NX_CT_F.COMMIT) !== 0, force: (a.flags & NX_CT_F.FORCE) !== 0, table: a.recircTable, zone, zoneSrc, nat, exec };
}

function actionFrom(a: OfAction, ctx: ActionContext): Action | null {
  switch (a.type) {
    case 'nx_ct':
      return ctFrom(a, ctx);
    case 'nx_ct_clear':
      return { type: 'ct_clear' };
    case 'nx_nat':
      throw badAction(BAD_ACTION.BAD_ARGUMENT, 'nat outside ct()');
    case 'nx_learn':
      return learnFrom(a, ctx);
    case 'output':
      return outputFrom(a.port, a.maxLen, ctx);
    case 'push_vlan':
      if (a.ethertype !== 0x8100 && a.ethertype !== 0x88a8) throw badAction(BAD_ACTION.BAD_ARGUMENT, `push_vlan ethertype 0x${a.ethertype.toString(16)}`);
      return { type: 'push_vlan', tpid: a.ethertype };
    case 'pop_vlan':
      return { type: 'strip_vlan', spelling: 'pop_vlan' };
    case 'dec_nw_ttl':
    case 'nx_dec_ttl':
      return { type: 'dec_ttl', ids: null };
    case 'set_field': {
      const info = oxmInfo(a.field.cls, a.field.field);
      const v = bytesToBig(a.field.value);
      if (info?.name === 'vlan_vid') return { type: 'set_field', field: 'vlan_vid', value: v, mask: null };
      if (info?.name === 'vlan_pcp') return { type: 'mod_vlan_pcp', pcp: Number(v & 7n) };
      if (info?.name === 'ip_dscp') return { type: 'mod_nw_tos', tos: Number(v & 63n) << 2 };
      const f = info ? (info.cls === OXM_CLASS_BASIC ? (BASIC_TO_NXM[info.name] ? nxmField(BASIC_TO_NXM[info.name]) : undefined) : fieldOfHeader(oxmHeader(info.cls, info.field, false, info.bytes))) : undefined;
      if (!f || !f.writable) throw badAction(BAD_ACTION.BAD_SET_TYPE, `set_field: tvs cannot set ${info?.name ?? 'this field'}`);
      checkPrereq(f, ctx);
      return { type: 'set_field', field: f, value: v, mask: null };
    }
    case 'nx_resubmit': {
      const table = a.table ?? 255;
      const port = a.inPort === 0xfff8 ? -1 : a.inPort;
      return { type: 'resubmit', port, table, ct: a.ct === true };
    }
    case 'nx_reg_load': {
      const ofs = a.ofsNbits >> 6;
      const nbits = (a.ofsNbits & 63) + 1;
      const dst = subfield(a.dst, ofs, nbits, 'reg_load');
      if (!dst.field.writable || dst.field.ctOnly) throw badAction(BAD_ACTION.BAD_ARGUMENT, `reg_load: ${dst.field.nxm} is ${dst.field.ctOnly ? 'written only inside ct(exec(...))' : 'read-only'}`);
      if (nbits < 64 && a.value >> BigInt(nbits) !== 0n) throw badAction(BAD_ACTION.BAD_ARGUMENT, `reg_load: value 0x${a.value.toString(16)} does not fit in ${nbits} bits`);
      checkPrereq(dst.field, ctx);
      return { type: 'load', value: a.value, dst };
    }
    case 'nx_reg_move': {
      const src = subfield(a.src, a.srcOfs, a.nBits, 'reg_move');
      const dst = subfield(a.dst, a.dstOfs, a.nBits, 'reg_move');
      if (!dst.field.writable || dst.field.ctOnly) throw badAction(BAD_ACTION.BAD_ARGUMENT, `reg_move: ${dst.field.nxm} is ${dst.field.ctOnly ? 'written only inside ct(exec(...))' : 'read-only'}`);
      checkPrereq(src.field, ctx);
      checkPrereq(dst.field, ctx);
      return { type: 'move', src, dst };
    }
    case 'nx_note':
      return { type: 'note', bytes: [...a.note] };
    case 'nx_conjunction':
      // OVS decode_NXAST_RAW_CONJUNCTION's checks.
      if (a.nClauses < 2 || a.nClauses > 64 || a.clause >= a.nClauses) {
        throw badAction(BAD_ACTION.BAD_ARGUMENT, `conjunction: clause ${a.clause + 1} of ${a.nClauses} (need 2..64 clauses, clause within them)`);
      }
      return { type: 'conjunction', id: a.id, clause: a.clause + 1, nClauses: a.nClauses };
    case 'group':
      throw badAction(BAD_ACTION.BAD_OUT_GROUP, `group ${a.groupId} does not exist (tvs has no group table)`);
    case 'set_queue':
      throw badAction(BAD_ACTION.BAD_QUEUE, `queue ${a.queueId} does not exist (tvs has no queues)`);
    case 'set_nw_ttl':
      throw badAction(BAD_ACTION.BAD_TYPE, 'set_nw_ttl is not supported by tvs');
    case 'unknown':
      if (a.actionType === 0xffff) {
        const vendor = a.body.length >= 4 ? a.body.readUInt32BE(0) : 0;
        if (vendor === 0x2320) throw badAction(BAD_ACTION.BAD_EXP_TYPE, `Nicira action subtype ${a.body.length >= 6 ? a.body.readUInt16BE(4) : '?'} is not supported by tvs`);
        throw badAction(BAD_ACTION.BAD_EXPERIMENTER, `experimenter 0x${vendor.toString(16)} actions are not supported`);
      }
      throw badAction(BAD_ACTION.BAD_TYPE, `action type ${a.actionType} is not supported by tvs`);
  }
}

/** An OpenFlow action list → rule-model actions (packet-out, apply_actions). */
export function actionsFromOf(list: readonly OfAction[], ctx: ActionContext): Action[] {
  const out: Action[] = [];
  for (const a of list) {
    const x = actionFrom(a, ctx);
    if (x) out.push(x);
  }
  return checkConjunctive(out);
}

/**
 * Instructions → the rule model's single action list, in OpenFlow's instruction order: apply,
 * clear_actions, write_actions, write_metadata, goto_table (how ovs-ofctl prints them).
 */
export function actionsFromInstructions(insts: readonly OfInstruction[], ctx: ActionContext): Action[] {
  const apply: Action[] = [];
  const set: Action[] = [];
  const tail: Action[] = [];
  let goto: Action | undefined;
  const seen = new Set<string>();
  for (const i of insts) {
    if (seen.has(i.type) && i.type !== 'unknown') throw new OfError(ET.BAD_INSTRUCTION, BAD_INSTRUCTION.UNSUP_INST, `instruction ${i.type} appears twice`);
    seen.add(i.type);
    switch (i.type) {
      case 'apply_actions':
        apply.push(...actionsFromOf(i.actions, ctx));
        break;
      case 'clear_actions':
        set.unshift({ type: 'clear_actions' });
        break;
      case 'write_actions': {
        const acts = actionsFromOf(i.actions, ctx);
        for (const a of acts) {
          // OVS ofpacts_verify: "%s action not allowed in action set".
          if (actionSetKind(a) < 0) throw badAction(BAD_ACTION.UNSUPPORTED_ORDER, `${a.type} action not allowed in the action set`);
        }
        if (acts.length > 0) set.push({ type: 'write_actions', actions: acts });
        break;
      }
      case 'write_metadata':
        tail.push({ type: 'write_metadata', value: i.metadata & i.mask, mask: i.mask });
        break;
      case 'goto_table':
        if (i.table <= ctx.table || i.table >= OFPTT_ALL) throw new OfError(ET.BAD_INSTRUCTION, BAD_INSTRUCTION.BAD_TABLE_ID, `goto_table ${i.table} from table ${ctx.table}: must go to a later table`);
        goto = { type: 'goto_table', table: i.table };
        break;
      case 'meter':
        throw new OfError(ET.BAD_INSTRUCTION, BAD_INSTRUCTION.UNSUP_INST, `meter ${i.meterId}: tvs has no meters`);
      case 'unknown':
        throw new OfError(ET.BAD_INSTRUCTION, i.instType === 0xffff ? BAD_INSTRUCTION.BAD_EXPERIMENTER : BAD_INSTRUCTION.UNKNOWN_INST, `instruction type ${i.instType} is not supported`);
    }
  }
  return checkConjunctive(goto ? [...apply, ...set, ...tail, goto] : [...apply, ...set, ...tail]);
}

/** OVS: conjunction actions may come only with notes (and other conjunctions). */
function checkConjunctive(acts: Action[]): Action[] {
  if (acts.some((a) => a.type === 'conjunction')) {
    const other = acts.find((a) => a.type !== 'conjunction' && a.type !== 'note');
    if (other !== undefined) throw badAction(BAD_ACTION.BAD_ARGUMENT, `"conjunction" actions may be used along with "note" but not any other kind of action (such as ${other.type})`);
  }
  return acts;
}

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

function actionToOf(a: Action, m: Match, out: OfAction[]): void {
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

/**
 * Rule-model actions → OpenFlow 1.3 instructions (meter, apply_actions, clear_actions,
 * write_actions, write_metadata, goto_table).
 */
export function instructionsFromActions(actions: readonly Action[], m: Match): OfInstruction[] {
  const apply: OfAction[] = [];
  const out: OfInstruction[] = [];
  let clear: OfInstruction | undefined;
  let write: OfInstruction | undefined;
  let meta: OfInstruction | undefined;
  let goto: OfInstruction | undefined;
  for (const a of actions) {
    // meter:N (accepted from ovs-ofctl text; the instruction comes first, as OpenFlow orders them).
    if (a.type === 'meter') out.push({ type: 'meter', meterId: a.id });
    else if (a.type === 'goto_table') goto = { type: 'goto_table', table: a.table };
    else if (a.type === 'write_metadata') meta = { type: 'write_metadata', metadata: a.value, mask: a.mask };
    else if (a.type === 'clear_actions') clear = { type: 'clear_actions' };
    else if (a.type === 'write_actions') write = { type: 'write_actions', actions: actionsToOf(a.actions, m) };
    else actionToOf(a, m, apply);
  }
  if (apply.length > 0) out.push({ type: 'apply_actions', actions: apply });
  if (clear) out.push(clear);
  if (write) out.push(write);
  if (meta) out.push(meta);
  if (goto) out.push(goto);
  return out;
}

/** Rule-model actions → an OpenFlow action list (packet-in/out contexts, no instructions). */
export function actionsToOf(actions: readonly Action[], m: Match): OfAction[] {
  const out: OfAction[] = [];
  for (const a of actions) actionToOf(a, m, out);
  return out;
}

// ---------------------------------------------------------------- flow_mod

const FLAG_BITS: [number, FlowFlag][] = [
  [FF.SEND_FLOW_REM, 'send_flow_rem'],
  [FF.CHECK_OVERLAP, 'check_overlap'],
  [FF.RESET_COUNTS, 'reset_counts'],
  [FF.NO_PKT_COUNTS, 'no_packet_counts'],
  [FF.NO_BYT_COUNTS, 'no_byte_counts'],
];

export function flagsFromBits(bits: number): FlowFlag[] {
  if (bits & ~0x1f) throw new OfError(ET.FLOW_MOD_FAILED, FLOW_MOD_FAILED.BAD_FLAGS, `flow_mod flags 0x${bits.toString(16)} has unknown bits`);
  return FLAG_BITS.filter(([b]) => bits & b).map(([, f]) => f);
}
export function flagsToBits(flags: readonly FlowFlag[]): number {
  let v = 0;
  for (const [b, f] of FLAG_BITS) if (flags.includes(f)) v |= b;
  return v;
}

export interface FlowModPlan {
  command: 'add' | 'modify' | 'delete';
  strict: boolean;
  spec: FlowSpec;
}

/** FLOW_MOD → what to do with the flow tables, as the FlowSpec `tvs add-flow` would make. */
export function flowModToSpec(fm: FlowMod): FlowModPlan {
  let command: FlowModPlan['command'];
  let strict = false;
  switch (fm.command) {
    case FC.ADD:
      command = 'add';
      break;
    case FC.MODIFY:
    case FC.MODIFY_STRICT:
      command = 'modify';
      strict = fm.command === FC.MODIFY_STRICT;
      break;
    case FC.DELETE:
    case FC.DELETE_STRICT:
      command = 'delete';
      strict = fm.command === FC.DELETE_STRICT;
      break;
    default:
      throw new OfError(ET.FLOW_MOD_FAILED, FLOW_MOD_FAILED.BAD_COMMAND, `flow_mod command ${fm.command} is unknown`);
  }
  if (command === 'add' && fm.tableId >= OFPTT_ALL) throw new OfError(ET.FLOW_MOD_FAILED, FLOW_MOD_FAILED.BAD_TABLE_ID, `flow_mod add to table ${fm.tableId}`);
  const match = matchFromOxm(fm.match);
  const table = fm.tableId === OFPTT_ALL ? null : fm.tableId;
  const actions = command === 'delete' ? null : actionsFromInstructions(fm.instructions, { match, table: table ?? 0 });
  const filterCookie = command !== 'add' && fm.cookieMask !== 0n;
  const outPort = command === 'delete' && fm.outPort !== OFPP13_ANY ? port32to16(fm.outPort) : null;
  const spec: FlowSpec = {
    table: command === 'add' ? fm.tableId : table,
    priority: fm.priority,
    cookie: command === 'add' ? fm.cookie : filterCookie ? fm.cookie : null,
    cookieMask: filterCookie ? fm.cookieMask : null,
    idleTimeout: fm.idleTimeout,
    hardTimeout: fm.hardTimeout,
    importance: 0,
    flags: flagsFromBits(fm.flags),
    outPort: outPort === -1 ? 0xffff : outPort,
    match,
    actions,
    actionColumns: [],
    warnings: [],
  };
  // out_group: tvs has no groups, so no flow outputs to one: select nothing (no rule outputs to
  // OFPP_NONE).
  if (command === 'delete' && fm.outGroup !== OFPG_ANY) spec.outPort = 0xffff;
  return { command, strict, spec };
}

/** A rule with counters → FLOW stats entry fields. */
export function ruleToFlowStats(rule: Rule, nPackets: number, nBytes: number, durationMs: number) {
  return {
    tableId: rule.table,
    durationSec: Math.floor(durationMs / 1000),
    durationNsec: Math.floor((durationMs % 1000) * 1e6),
    priority: rule.priority,
    idleTimeout: rule.idleTimeout,
    hardTimeout: rule.hardTimeout,
    flags: flagsToBits(rule.flags),
    cookie: rule.cookie,
    packetCount: BigInt(nPackets),
    byteCount: BigInt(nBytes),
    match: matchToOxm(rule.match),
    instructions: instructionsFromActions(rule.actions, rule.match),
  };
}


