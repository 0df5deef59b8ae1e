/**
 * OXM/NXM match TLVs → the rule model's Match (flow-key words under masks). Each field's
 * prerequisites are checked once the whole match is read, as OVS does (BAD_PREREQ); a field
 * tvs cannot match on is BAD_FIELD, never ignored.
 */
import * as K from '../../packet/flow-key';
import { Match } from '../../flow/match';
import { matchField, prereqHint, prereqOk, refusedField, type Prereq } from '../../flow/fields';
import { BAD_MATCH, OFPVID_PRESENT, port32to16 } from '../../wire/openflow/constants';
import { bytesToBig, oxmInfo, type Oxm } from '../../wire/openflow/oxm';
import { badMatch } from './errors';

const ETH_IP = 0x0800;
const ETH_IPV6 = 0x86dd;

function setWord(m: Match, word: number, v: number, mask: number, name: string): void {
  if (!m.set(word, (v & mask) >>> 0, mask >>> 0)) throw badMatch(BAD_MATCH.BAD_VALUE, `${name} contradicts another field of the match`);
}
/** A 48- or 64-bit field over two words: `hi`/`lo` the value's upper bits and its low 32. */
function set48(m: Match, w: number, v: Wide, name: string): void {
  setWord(m, w, v.hi, v.mhi, name);
  setWord(m, w + 1, v.lo, v.mlo, name);
}

/** A 128-bit field (IPv6 address, ct_label) over four words, most significant first. */
function set128(m: Match, w: number, v: bigint, mask: bigint, name: string): void {
  for (let i = 0; i < 4; i++) {
    const sh = BigInt(32 * (3 - i));
    setWord(m, w + i, Number((v >> sh) & 0xffffffffn), Number((mask >> sh) & 0xffffffffn), name);
  }
}

/**
 * A field of at most 8 bytes as numbers (no BigInt: a FLOW_MOD's match is a few such fields):
 * `lo`/`mlo` the low 32 bits of the value and mask, `hi`/`mhi` the bits above (0 for fields of
 * 4 bytes or less); `full` when the mask is all ones (no mask, or an all-ones one).
 */
interface Wide {
  hi: number;
  lo: number;
  mhi: number;
  mlo: number;
  full: boolean;
}

/**
 * OXM fields the codec knows (wire/openflow OXM_FIELDS) that tvs's flow key does not have: a
 * match on one is BAD_FIELD, and TABLE_FEATURES does not offer them.
 */
const NOT_IN_THE_KEY: ReadonlySet<string> = new Set(['in_phy_port', 'mpls_label', 'mpls_tc', 'mpls_bos', 'pbb_isid', 'ipv6_exthdr', 'ct_ipv6_src', 'ct_ipv6_dst']);

/** Can a flow match on this OXM field (by its OXM_FIELDS name)? */
export function oxmMatchable(name: string): boolean {
  return !NOT_IN_THE_KEY.has(name);
}

type FieldCheck = Prereq | ((m: Match) => boolean);

const IS_IPV4: FieldCheck = (x) => x.dlType === ETH_IP;
const IS_SCTP: FieldCheck = (x) => x.nwProto === 132;
const IS_ICMP: FieldCheck = (x) => x.dlType === ETH_IP && x.nwProto === 1;
const IS_ICMPV6: FieldCheck = (x) => x.dlType === ETH_IPV6 && x.nwProto === 58;

/** OXM (a field of at most 8 bytes) → flow-key words; returns the prerequisite the field needs. */
function applyOxm(m: Match, name: string, v: Wide): FieldCheck {
  const n = v.lo;
  const nm = v.mlo;
  const full = v.full;
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
      set48(m, K.K_METADATA_HI, v, name);
      return 'none';
    // Tunnel metadata (Neutron's br-tun: OFPMatch(tunnel_id=VNI) from the native agent).
    case 'tunnel_id':
    case 'nxm_nx_tun_id':
      set48(m, K.K_TUN_ID_HI, v, name);
      return 'none';
    case 'tun_src':
      setWord(m, K.K_TUN_SRC, n, nm, name);
      return 'none';
    case 'tun_dst':
      setWord(m, K.K_TUN_DST, n, nm, name);
      return 'none';
    case 'eth_dst':
    case 'nxm_of_eth_dst':
      set48(m, K.K_DL_DST_HI, v, name);
      return 'none';
    case 'eth_src':
    case 'nxm_of_eth_src':
      set48(m, K.K_DL_SRC_HI, v, name);
      return 'none';
    case 'eth_type':
    case 'nxm_of_eth_type':
      setWord(m, K.K_DL_TYPE, n, 0xffff, name);
      return 'none';
    case 'vlan_vid': {
      // OpenFlow 1.3: 0 = no tag, OFPVID_PRESENT|vid = that VID, 0x1000/0x1000 = any tag.
      if (full) {
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
      return IS_IPV4;
    case 'ipv4_dst':
    case 'nxm_of_ip_dst':
      setWord(m, K.K_NW_DST, n, nm, name);
      return IS_IPV4;
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
      return IS_SCTP;
    case 'sctp_dst':
      setWord(m, K.K_TP_DST, n, nm, name);
      return IS_SCTP;
    case 'icmp_type':
    case 'nxm_of_icmp_type':
      setWord(m, K.K_TP_SRC, n, 0xff, name);
      return IS_ICMP;
    case 'icmp_code':
    case 'nxm_of_icmp_code':
      setWord(m, K.K_TP_DST, n, 0xff, name);
      return IS_ICMP;
    case 'icmpv6_type':
      setWord(m, K.K_TP_SRC, n, 0xff, name);
      return IS_ICMPV6;
    case 'icmpv6_code':
      setWord(m, K.K_TP_DST, n, 0xff, name);
      return IS_ICMPV6;
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
      set48(m, K.K_ARP_SHA_HI, v, name);
      return 'arp';
    case 'arp_tha':
    case 'nxm_nx_arp_tha':
      set48(m, K.K_ARP_THA_HI, v, name);
      return 'arp';
    case 'ipv6_label':
    case 'nxm_nx_ipv6_label':
      // 4 bytes on the wire, 20 bits of label: an unmasked TLV means the whole label.
      if (n > 0xfffff || (!full && nm > 0xfffff)) throw badMatch(BAD_MATCH.BAD_VALUE, `ipv6_label 0x${n.toString(16)}: a flow label is 20 bits`);
      setWord(m, K.K_IPV6_LABEL, n, full ? 0xfffff : nm, name);
      return 'ipv6';
    case 'nxm_nx_icmpv6_type':
      setWord(m, K.K_TP_SRC, n, 0xff, name);
      return IS_ICMPV6;
    case 'nxm_nx_icmpv6_code':
      setWord(m, K.K_TP_DST, n, 0xff, name);
      return IS_ICMPV6;
    case 'nd_sll':
    case 'nxm_nx_nd_sll':
      set48(m, K.K_ARP_SHA_HI, v, name);
      return 'nd_solicit';
    case 'nd_tll':
    case 'nxm_nx_nd_tll':
      set48(m, K.K_ARP_THA_HI, v, name);
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
  // Connection tracking (OVS NXM_NX_CT_*). OVS keeps 8 bits of ct_state whatever the TLV's
  // mask says (flow->ct_state is a uint8_t), and refuses values with other bits.
  switch (name) {
    case 'ct_state':
      if (n > 0xff) throw badMatch(BAD_MATCH.BAD_VALUE, `ct_state 0x${n.toString(16)}: only the low 8 bits are ct_state flags`);
      setWord(m, K.K_CT_STATE, n, nm & 0xff, name);
      return ctPrereq(name);
    case 'ct_zone':
      setWord(m, K.K_CT_ZONE, n, 0xffff, name);
      return ctPrereq(name);
    case 'ct_mark':
      setWord(m, K.K_CT_MARK, n, nm, name);
      return ctPrereq(name);
    case 'ct_nw_proto':
      setWord(m, K.K_CT_NW_PROTO, n, 0xff, name);
      return ctPrereq(name);
    case 'ct_nw_src':
      setWord(m, K.K_CT_NW_SRC, n, nm, name);
      return ctPrereq(name);
    case 'ct_nw_dst':
      setWord(m, K.K_CT_NW_DST, n, nm, name);
      return ctPrereq(name);
    case 'ct_tp_src':
      setWord(m, K.K_CT_TP_SRC, n, nm, name);
      return ctPrereq(name);
    case 'ct_tp_dst':
      setWord(m, K.K_CT_TP_DST, n, nm, name);
      return ctPrereq(name);
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
  return refused(name);
}

/** A field tvs cannot match on. */
function refused(name: string): never {
  throw badMatch(BAD_MATCH.BAD_FIELD, refusedField(name) ?? `tvs cannot match on ${name}`);
}

/** OXM (a field wider than 8 bytes) → flow-key words; returns the prerequisite it needs. */
function applyWideOxm(m: Match, name: string, v: bigint, mk: bigint): FieldCheck {
  switch (name) {
    case 'ipv6_src':
    case 'nxm_nx_ipv6_src':
      set128(m, K.K_IPV6_SRC, v, mk, name);
      return 'ipv6';
    case 'ipv6_dst':
    case 'nxm_nx_ipv6_dst':
      set128(m, K.K_IPV6_DST, v, mk, name);
      return 'ipv6';
    case 'nd_target':
    case 'nxm_nx_nd_target':
      set128(m, K.K_ND_TARGET, v, mk, name);
      return 'nd';
    case 'ct_label':
      set128(m, K.K_CT_LABEL, v, mk, name);
      return ctPrereq(name);
  }
  return refused(name);
}

/** The prerequisite of a ct_* field: the one `tvs add-flow` checks for the same field. */
function ctPrereq(name: string): Prereq {
  const f = matchField(name);
  if (!f) throw new Error(`ct field ${name} is missing from the match fields`);
  return f.prereq;
}

/** All-ones masks by field width in bytes (0..16), made once. */
const FULL_MASKS: readonly bigint[] = Array.from({ length: 17 }, (_, n) => (1n << BigInt(8 * n)) - 1n);
function fullMask(bytes: number): bigint {
  return bytes < FULL_MASKS.length ? FULL_MASKS[bytes] : (1n << BigInt(8 * bytes)) - 1n;
}

/** Big-endian bytes [from, to) of `b` as a number (at most 4 bytes). */
function be(b: Uint8Array, from: number, to: number): number {
  let n = 0;
  for (let i = from; i < to; i++) n = n * 256 + b[i];
  return n;
}
/** All-ones of 0..4 bytes. */
const ONES = [0, 0xff, 0xffff, 0xffffff, 0xffffffff];

/**
 * A field of `bytes` <= 8 as numbers. The codec gives values and masks of the field's width;
 * other widths (a caller's own Oxm, never the codec's) go by BigInt and their low 64 bits count.
 */
function wide(f: Oxm, bytes: number): Wide {
  const split = bytes > 4 ? bytes - 4 : 0;
  if (f.value.length === bytes && (f.mask === undefined || f.mask.length === bytes)) {
    const hi = be(f.value, 0, split);
    const lo = be(f.value, split, bytes);
    if (f.mask === undefined) return { hi, lo, mhi: ONES[split], mlo: ONES[bytes - split], full: true };
    const mhi = be(f.mask, 0, split);
    const mlo = be(f.mask, split, bytes);
    return { hi, lo, mhi, mlo, full: mhi === ONES[split] && mlo === ONES[bytes - split] };
  }
  const v = bytesToBig(f.value);
  const full = fullMask(bytes);
  const mk = f.mask !== undefined ? bytesToBig(f.mask) : full;
  return {
    hi: Number((v >> 32n) & 0xffffffffn), lo: Number(v & 0xffffffffn),
    mhi: Number((mk >> 32n) & 0xffffffffn), mlo: Number(mk & 0xffffffffn), full: mk === full,
  };
}

/** OXM fields → Match. Throws OfError (BAD_MATCH/...) on fields tvs lacks, bad masks, prereqs. */
export function matchFromOxm(fields: readonly Oxm[]): Match {
  const m = new Match();
  // A match has a handful of fields: plain arrays beat a Set and [label, check] pairs.
  const seen: number[] = [];
  const labels: string[] = [];
  const checks: FieldCheck[] = [];
  for (let i = 0; i < fields.length; i++) {
    const f = fields[i];
    const id = f.cls * 128 + f.field;
    const info = oxmInfo(f.cls, f.field);
    if (info === undefined) throw badMatch(BAD_MATCH.BAD_FIELD, `tvs cannot match on OXM class 0x${f.cls.toString(16)} field ${f.field}`);
    const label = info.name;
    if (seen.includes(id)) throw badMatch(BAD_MATCH.DUP_FIELD, `${label} appears twice in the match`);
    seen.push(id);
    if (f.mask !== undefined && !info.maskable) throw badMatch(BAD_MATCH.BAD_MASK, `${label} cannot be masked`);
    let check: FieldCheck;
    if (info.bytes <= 8) {
      const w = wide(f, info.bytes);
      if (((w.hi & ~w.mhi) | (w.lo & ~w.mlo)) !== 0) throw badMatch(BAD_MATCH.BAD_WILDCARDS, `${label}: value has bits set outside its mask`);
      labels.push(label);
      check = applyOxm(m, info.name, w);
    } else {
      const v = bytesToBig(f.value);
      const mk = f.mask !== undefined ? bytesToBig(f.mask) : fullMask(info.bytes);
      if ((v & ~mk) !== 0n) throw badMatch(BAD_MATCH.BAD_WILDCARDS, `${label}: value has bits set outside its mask`);
      labels.push(label);
      check = applyWideOxm(m, info.name, v, mk);
    }
    checks.push(check);
  }
  for (let i = 0; i < checks.length; i++) {
    const label = labels[i];
    const c = checks[i];
    const ok = typeof c === 'function' ? c(m) : prereqOk(c, m);
    if (!ok) throw badMatch(BAD_MATCH.BAD_PREREQ, `${label}: ${typeof c === 'function' ? 'its prerequisite (eth_type / ip_proto) is missing from the match' : prereqHint(c)}`);
  }
  return m;
}
