/**
 * The parse-once pass (OVS `miniflow_extract`): for every frame of a batch, check the headers
 * once, record the L3/L4 offsets and fill the numeric flow key. Frames that fail a check are
 * dropped here, counted by reason, and removed from the batch; every later stage can then read
 * offsets and key words without re-checking.
 *
 * No allocation, no closures: one loop over the batch, plain functions over (bytes, offset).
 */
import { PacketArena } from './arena';
import { Batch } from './batch';
import { DropCounters, defineDrops } from './drops';
import * as K from './flow-key';
import * as eth from '../wire/ethernet';
import * as ipv4 from '../wire/ipv4';
import * as ipv6 from '../wire/ipv6';
import * as icmpv6 from '../wire/icmpv6';
import * as arp from '../wire/arp';
import { TCI_PRESENT } from '../wire/vlan';

/** Why the parse pass dropped a frame. */
export const PARSE_DROPS = defineDrops('parse', {
  runt: 'shorter than an Ethernet header',
  vlan_truncated: 'an 802.1Q/802.1ad tag header cut short',
  ipv4_truncated: 'fewer bytes than an IPv4 header',
  ipv4_bad_version: 'EtherType IPv4 but the version field is not 4',
  ipv4_bad_ihl: 'IPv4 header length below 20 bytes or past the end of the frame',
  ipv4_bad_length: 'IPv4 total length shorter than the header or past the end of the frame',
  ipv6_truncated: 'fewer bytes than an IPv6 header',
  ipv6_bad_length: 'IPv6 payload length past the end of the frame',
  arp_malformed: 'an ARP packet that is not Ethernet/IPv4 or is cut short',
  tcp_truncated: 'TCP header cut short or its data offset out of range',
  udp_truncated: 'UDP header cut short or its length out of range',
  icmp_truncated: 'ICMP header cut short',
  oversize: "longer than the input port's MTU allows (and not a GSO frame)",
  ipv6_ext_truncated: 'an IPv6 extension header cut short or longer than the payload',
  ipv6_ext_chain_too_long: 'more than 8 IPv6 extension headers before the upper-layer header',
  nd_truncated: 'an IPv6 neighbour solicitation/advertisement shorter than its target address',
  nd_bad_option: 'an ND option of length 0 or past the end, or a link-layer address option given twice',
});
export const PARSE_DROP_REASONS = PARSE_DROPS.reasons;
export type ParseDropReason = (typeof PARSE_DROP_REASONS)[number];

export class ParseDrops extends DropCounters<ParseDropReason> {
  constructor() {
    super(PARSE_DROPS);
  }
}

const D_RUNT = PARSE_DROPS.id.runt;
const D_VLAN = PARSE_DROPS.id.vlan_truncated;
const D_IP4_TRUNC = PARSE_DROPS.id.ipv4_truncated;
const D_IP4_VER = PARSE_DROPS.id.ipv4_bad_version;
const D_IP4_IHL = PARSE_DROPS.id.ipv4_bad_ihl;
const D_IP4_LEN = PARSE_DROPS.id.ipv4_bad_length;
const D_IP6_TRUNC = PARSE_DROPS.id.ipv6_truncated;
const D_IP6_LEN = PARSE_DROPS.id.ipv6_bad_length;
const D_ARP = PARSE_DROPS.id.arp_malformed;
const D_TCP = PARSE_DROPS.id.tcp_truncated;
const D_UDP = PARSE_DROPS.id.udp_truncated;
const D_ICMP = PARSE_DROPS.id.icmp_truncated;
export const D_OVERSIZE = PARSE_DROPS.id.oversize;
const D_IP6_EXT_TRUNC = PARSE_DROPS.id.ipv6_ext_truncated;
const D_IP6_EXT_LONG = PARSE_DROPS.id.ipv6_ext_chain_too_long;
const D_ND_TRUNC = PARSE_DROPS.id.nd_truncated;
const D_ND_OPT = PARSE_DROPS.id.nd_bad_option;

/**
 * The most IPv6 extension headers walked before the upper-layer header. RFC 8200 §4.1 puts each
 * at most once (destination options twice), so a legitimate chain has at most 6; a longer one is
 * a crafted chain meant to make a parser spin (OVS bounds it only by the frame length).
 */
export const MAX_IPV6_EXT_HEADERS = 8;

const OK = -1;

// The parse pass writes tail words only for ND (parseNd marks the slot); IPv6 addresses and label
// are in the head.
if (K.KEY_WORDS !== 64 || K.KEY_TAIL !== 32 || K.K_IPV6_LABEL >= K.KEY_TAIL || K.K_ND_TARGET + 3 < K.KEY_TAIL) {
  throw new Error('flow-key layout changed: fix clearKeyHead/clearKeyTail and the keyTail marks');
}

/**
 * Zero the key's first 32 words at `k` (a multiple of 64: its first two cache lines, every word
 * a frame's headers fill) as 16 stores of +0.0 (all zero bits) through the key's double view.
 * Measured against the previous TypedArray.set of a zero key (one memcpy behind a builtin call):
 * 18-30 → 7-9 ns per whole key in a 256-slot loop; fill(0) and store loops over either view were
 * slower still (the loops keep a bounds check per store).
 */
function clearKeyHead(d: Float64Array, k: number): void {
  const i = k >>> 1;
  d[i] = 0; d[i + 1] = 0; d[i + 2] = 0; d[i + 3] = 0; d[i + 4] = 0; d[i + 5] = 0; d[i + 6] = 0; d[i + 7] = 0;
  d[i + 8] = 0; d[i + 9] = 0; d[i + 10] = 0; d[i + 11] = 0; d[i + 12] = 0; d[i + 13] = 0; d[i + 14] = 0; d[i + 15] = 0;
}

/** Zero the key's tail, words [KEY_TAIL, KEY_WORDS): 16 more stores, its last two cache lines. */
function clearKeyTail(d: Float64Array, k: number): void {
  const i = (k + K.KEY_TAIL) >>> 1;
  d[i] = 0; d[i + 1] = 0; d[i + 2] = 0; d[i + 3] = 0; d[i + 4] = 0; d[i + 5] = 0; d[i + 6] = 0; d[i + 7] = 0;
  d[i + 8] = 0; d[i + 9] = 0; d[i + 10] = 0; d[i + 11] = 0; d[i + 12] = 0; d[i + 13] = 0; d[i + 14] = 0; d[i + 15] = 0;
}

/**
 * Zero the key words a frame's crossing of a patch or router port clears (tunnel metadata from
 * K_TUN_ID_HI, metadata, registers, conntrack state: every word from K_TUN_ID_HI to the end) as
 * 15 stores of +0.0 through the double view, instead of 30 word stores per frame. K_TUN_FLAGS is
 * the caller's (it sits apart).
 */
export function clearPatchWords(d: Float64Array, k: number): void {
  const i = (k + K.K_TUN_ID_HI) >>> 1;
  d[i] = 0; d[i + 1] = 0; d[i + 2] = 0; d[i + 3] = 0; d[i + 4] = 0; d[i + 5] = 0; d[i + 6] = 0; d[i + 7] = 0;
  d[i + 8] = 0; d[i + 9] = 0; d[i + 10] = 0; d[i + 11] = 0; d[i + 12] = 0; d[i + 13] = 0; d[i + 14] = 0;
}
// clearPatchWords's layout: an even first word, the tunnel words followed by the metadata ones up
// to the end of the key (30 words, 15 doubles).
if ((K.K_TUN_ID_HI & 1) !== 0 || K.K_TUN_DST + 1 !== K.K_METADATA_HI || K.KEY_WORDS - K.K_TUN_ID_HI !== 30) {
  throw new Error('flow-key layout changed: fix clearPatchWords');
}

/**
 * Parse one frame in place. Returns OK (-1) or a drop-reason id. Exported for the trace path
 * and for stages that rebuild a frame (router) and need its key refreshed.
 */
export function parseSlot(a: PacketArena, slot: number, ofport: number): number {
  const b = a.bytes;
  const f = a.start[slot];
  const len = a.len[slot];
  const key = a.key;
  const k = slot << K.KEY_SHIFT;
  // Reset the key: slots are reused, and stale words would leak into matches. The tail only when
  // something may have written it since it was last cleared (arena.keyTail): a slot that only
  // ever carried frames NORMAL forwarded is not touched past its first two cache lines.
  const d = a.keyF64;
  clearKeyHead(d, k);
  if (a.keyTail[slot] !== 0) {
    clearKeyTail(d, k);
    a.keyTail[slot] = 0;
  }
  a.l3[slot] = 0;
  a.l4[slot] = 0;
  key[k + K.K_IN_PORT] = ofport;

  if (len < eth.HEADER_LEN) return D_RUNT;
  // Big-endian loads through the arena's DataView: one load per key word instead of two to
  // four byte loads (the frame's bytes are in bounds: checked against len above). 32-bit words
  // are read signed (getInt32) and stored into the Uint32Array key, which keeps the same bits:
  // optimised code inlines either read to the same load, but where the read runs as a call to
  // the builtin (parseSlot not yet, or no longer, optimised: warm-up, and the deopt after a
  // frame of a new kind on a live switch, until V8 optimises again), getUint32 returns a value
  // of 2^31 or more - an address in 128.0.0.0/1, a MAC's low half 0x80.. and up - as a fresh
  // 16-byte heap number, and getInt32 returns a small integer, never allocated (sampling heap
  // profiler on a running switch: up to 1.5 B per frame in getUint32 under parseSlot).
  const v = a.view;
  key[k + K.K_DL_DST_HI] = v.getUint16(f + eth.DST);
  key[k + K.K_DL_DST_LO] = v.getInt32(f + eth.DST + 2);
  key[k + K.K_DL_SRC_HI] = v.getUint16(f + eth.SRC);
  key[k + K.K_DL_SRC_LO] = v.getInt32(f + eth.SRC + 2);

  let p = f + eth.ETHERTYPE; // EtherType / TPID position
  let type = v.getUint16(p);
  // Up to two tags (802.1ad outer + 802.1Q inner, or a single 802.1Q).
  if (type === eth.ETH_P_8021Q || type === eth.ETH_P_8021AD) {
    if (len < 18) return D_VLAN;
    key[k + K.K_VLAN_TCI] = (v.getUint16(p + 2) | TCI_PRESENT) >>> 0;
    p += 4;
    type = v.getUint16(p);
    if (type === eth.ETH_P_8021Q || type === eth.ETH_P_8021AD) {
      if (len < 22) return D_VLAN;
      key[k + K.K_VLAN_TCI2] = (v.getUint16(p + 2) | TCI_PRESENT) >>> 0;
      p += 4;
      type = v.getUint16(p);
    }
  }
  // 802.3 length field: OVS reports these as 0x05ff (FLOW_DL_TYPE_NONE).
  if (type < eth.ETH_TYPE_MIN) type = 0x05ff;
  key[k + K.K_DL_TYPE] = type;
  const l3 = p + 2;
  const avail = f + len - l3;

  if (type === eth.ETH_P_IPV4) {
    // The fixed header as five big-endian words (three for the fields, the two addresses): each
    // byte field read alone was a bounds-checked load of its own.
    if (avail < ipv4.MIN_HEADER_LEN) return D_IP4_TRUNC;
    const w0 = v.getInt32(l3 + ipv4.WORD0);
    const err = ipv4.checkWord0(w0, avail);
    if (err !== ipv4.OK) return err === ipv4.ERR_VERSION ? D_IP4_VER : err === ipv4.ERR_IHL ? D_IP4_IHL : D_IP4_LEN;
    const w2 = v.getInt32(l3 + ipv4.WORD2);
    a.l3[slot] = l3 - f;
    key[k + K.K_NW_SRC] = v.getInt32(l3 + ipv4.SRC); // int32 bits, as above
    key[k + K.K_NW_DST] = v.getInt32(l3 + ipv4.DST);
    const proto = ipv4.protocolOf(w2);
    key[k + K.K_NW_PROTO] = proto;
    key[k + K.K_NW_TOS] = ipv4.tosOf(w0);
    key[k + K.K_NW_TTL] = ipv4.ttlOf(w2);
    const ff = ipv4.flagsFragOf(v.getInt32(l3 + ipv4.WORD1));
    const frag = (ff & (ipv4.FLAG_MF | ipv4.FRAG_OFFSET_MASK)) !== 0;
    if (frag) {
      key[k + K.K_NW_FRAG] = (ff & ipv4.FRAG_OFFSET_MASK) !== 0 ? K.NW_FRAG_ANY | K.NW_FRAG_LATER : K.NW_FRAG_ANY;
      if ((ff & ipv4.FRAG_OFFSET_MASK) !== 0) return OK; // later fragments have no L4 header
    }
    const hl = ipv4.headerLenOf(w0);
    return parseL4(a, slot, k, proto, l3 + hl, ipv4.totalLenOf(w0) - hl, f, 1, frag);
  }
  if (type === eth.ETH_P_ARP) {
    if (!arp.check(b, l3, avail)) return D_ARP;
    a.l3[slot] = l3 - f;
    key[k + K.K_NW_PROTO] = b[l3 + arp.OPER + 1];
    key[k + K.K_NW_SRC] = arp.spa(b, l3);
    key[k + K.K_NW_DST] = arp.tpa(b, l3);
    const sh = l3 + arp.SHA;
    key[k + K.K_ARP_SHA_HI] = (b[sh] << 8) | b[sh + 1];
    key[k + K.K_ARP_SHA_LO] = ((b[sh + 2] << 24) | (b[sh + 3] << 16) | (b[sh + 4] << 8) | b[sh + 5]) >>> 0;
    const th = l3 + arp.THA;
    key[k + K.K_ARP_THA_HI] = (b[th] << 8) | b[th + 1];
    key[k + K.K_ARP_THA_LO] = ((b[th + 2] << 24) | (b[th + 3] << 16) | (b[th + 4] << 8) | b[th + 5]) >>> 0;
    return OK;
  }
  if (type === eth.ETH_P_IPV6) {
    const err = ipv6.check(b, l3, avail);
    if (err !== ipv6.OK) return err === ipv6.ERR_PAYLOAD_LEN ? D_IP6_LEN : D_IP6_TRUNC;
    a.l3[slot] = l3 - f;
    key[k + K.K_NW_TOS] = ipv6.trafficClass(b, l3);
    key[k + K.K_NW_TTL] = b[l3 + ipv6.HOP_LIMIT];
    key[k + K.K_IPV6_LABEL] = ipv6.flowLabel(b, l3);
    for (let i = 0; i < 4; i++) {
      key[k + K.K_IPV6_SRC + i] = ipv6.addrWord(b, l3 + ipv6.SRC, i);
      key[k + K.K_IPV6_DST + i] = ipv6.addrWord(b, l3 + ipv6.DST, i);
    }
    return parseIpv6Payload(a, slot, k, l3, avail, f);
  }
  return OK;
}

/**
 * Walk the extension headers after the fixed IPv6 header to the upper-layer protocol (OVS
 * `parse_ipv6_ext_hdrs`): nw_proto is that protocol; a fragment header sets nw_frag, and a later
 * fragment (non-zero offset) stops there with nw_proto 44, as OVS reports it. Then the L4 header,
 * and for a neighbour solicitation/advertisement the ND target and link-layer address options.
 */
function parseIpv6Payload(a: PacketArena, slot: number, k: number, l3: number, avail: number, f: number): number {
  const b = a.bytes;
  const key = a.key;
  const pl = ipv6.payloadLen(b, l3);
  let p = l3 + ipv6.HEADER_LEN;
  const end = p + (pl === 0 ? avail - ipv6.HEADER_LEN : pl); // 0: jumbogram, up to the frame's end
  let nh = b[l3 + ipv6.NEXT_HEADER];
  let frag = false;
  for (let n = 0; ipv6.isExtHeader(nh); n++) {
    if (n === MAX_IPV6_EXT_HEADERS) return D_IP6_EXT_LONG;
    // Every extension header is at least 8 bytes: check once, then read its first 8 freely.
    if (end - p < ipv6.EXT_MIN_LEN) return D_IP6_EXT_TRUNC;
    if (nh === ipv6.NH_FRAGMENT) {
      const offlg = ipv6.fragOffLg(b, p);
      nh = b[p + ipv6.EXT_NEXT];
      p += ipv6.FRAG_HEADER_LEN;
      if (offlg !== 0) {
        frag = true;
        if ((offlg & ipv6.FRAG_OFFSET_MASK) !== 0) {
          // A later fragment: no upper-layer header here (OVS: nw_proto = IPPROTO_FRAGMENT).
          key[k + K.K_NW_FRAG] = K.NW_FRAG_ANY | K.NW_FRAG_LATER;
          key[k + K.K_NW_PROTO] = ipv6.NH_FRAGMENT;
          return OK;
        }
        key[k + K.K_NW_FRAG] = K.NW_FRAG_ANY;
      }
    } else {
      const hl = ipv6.extLen(b, p, nh);
      if (hl > end - p) return D_IP6_EXT_TRUNC;
      nh = b[p + ipv6.EXT_NEXT];
      p += hl;
    }
  }
  key[k + K.K_NW_PROTO] = nh;
  const r = parseL4(a, slot, k, nh, p, end - p, f, ipv4.PROTO_ICMPV6, frag);
  if (r !== OK || nh !== ipv4.PROTO_ICMPV6 || !icmpv6.isNeighborDiscovery(b[p + icmpv6.TYPE], b[p + icmpv6.CODE])) return r;
  const nd = parseNd(a, k, p, end - p);
  if (nd !== OK) a.l4[slot] = 0; // a dropped frame leaves no offsets behind
  return nd;
}

/**
 * ND target and the source/target link-layer address options of an NS/NA (OVS `parse_icmpv6`):
 * nd_sll/nd_tll go to the ARP SHA/THA words, as in OVS. Options are validated as RFC 4861 §4.6
 * says receivers must (length 0 or past the end: discard); a second SLL or TLL option is invalid,
 * as OVS treats it. Trailing bytes shorter than an option are ignored, as OVS does.
 */
function parseNd(a: PacketArena, k: number, l4: number, l4avail: number): number {
  const b = a.bytes;
  const key = a.key;
  if (l4avail < icmpv6.ND_MIN_LEN) return D_ND_TRUNC;
  a.keyTail[k >>> K.KEY_SHIFT] = 1; // the target's last words are in the key's tail
  for (let i = 0; i < 4; i++) key[k + K.K_ND_TARGET + i] = ipv6.addrWord(b, l4 + icmpv6.ND_TARGET, i);
  let p = l4 + icmpv6.ND_MIN_LEN;
  let left = l4avail - icmpv6.ND_MIN_LEN;
  while (left >= icmpv6.ND_OPT_UNIT) {
    const olen = b[p + icmpv6.ND_OPT_LEN] * icmpv6.ND_OPT_UNIT;
    if (olen === 0 || olen > left) return D_ND_OPT;
    const ot = b[p + icmpv6.ND_OPT_TYPE];
    if (olen === icmpv6.ND_OPT_UNIT && (ot === icmpv6.ND_OPT_SOURCE_LINKADDR || ot === icmpv6.ND_OPT_TARGET_LINKADDR)) {
      const kw = k + (ot === icmpv6.ND_OPT_SOURCE_LINKADDR ? K.K_ARP_SHA_HI : K.K_ARP_THA_HI);
      if (key[kw] !== 0 || key[kw + 1] !== 0) return D_ND_OPT;
      const m = p + icmpv6.ND_LLA_MAC;
      key[kw] = (b[m] << 8) | b[m + 1];
      key[kw + 1] = ((b[m + 2] << 24) | (b[m + 3] << 16) | (b[m + 4] << 8) | b[m + 5]) >>> 0;
    }
    p += olen;
    left -= olen;
  }
  return OK;
}

/**
 * TCP/UDP ports, ICMP type/code; `l4avail` is what the L3 header says follows it. `icmpProto`
 * is the ICMP of this L3 family (1 over IPv4, 58 over IPv6): only that one is parsed as ICMP,
 * as OVS does — ICMPv6 inside IPv4 is just an unknown protocol. `firstFrag`: this is the first
 * fragment of a larger datagram, so the UDP length (of the whole datagram) may exceed it.
 */
function parseL4(
  a: PacketArena, slot: number, k: number, proto: number, l4: number, l4avail: number, f: number,
  icmpProto: number, firstFrag: boolean,
): number {
  const b = a.bytes;
  const key = a.key;
  if (proto === 6) {
    if (l4avail < 20) return D_TCP;
    const doff = (b[l4 + 12] >>> 4) << 2;
    if (doff < 20 || doff > l4avail) return D_TCP;
  } else if (proto === 17) {
    if (l4avail < 8) return D_UDP;
    const ul = (b[l4 + 4] << 8) | b[l4 + 5];
    // A GSO UDP frame may legitimately carry a length that does not match; only check bounds.
    if (ul < 8 || (ul > l4avail && !firstFrag)) return D_UDP;
  } else if (proto === icmpProto) {
    // Every ICMPv4 message has the 8-byte header (type, code, checksum, id/seq or unused):
    // later stages (NAT) read id/seq at l4+4 without re-checking. ICMPv6 guarantees only 4.
    if (l4avail < (proto === 1 ? 8 : 4)) return D_ICMP;
    a.l4[slot] = l4 - f;
    key[k + K.K_TP_SRC] = b[l4];
    key[k + K.K_TP_DST] = b[l4 + 1];
    return OK;
  } else {
    return OK;
  }
  a.l4[slot] = l4 - f;
  // Both ports (the same first word in TCP and UDP) with one big-endian load.
  const ports = a.view.getInt32(l4);
  key[k + K.K_TP_SRC] = ports >>> 16;
  key[k + K.K_TP_DST] = ports & 0xffff;
  return OK;
}

/**
 * Parse every frame of `batch` in place, compacting out (and releasing) the frames that fail.
 * `maxFrame` is the longest non-GSO frame the port may deliver (MTU + Ethernet + 2 tags).
 */
export function parseBatch(a: PacketArena, batch: Batch, ofport: number, maxFrame: number, drops: ParseDrops): void {
  const slots = batch.slots;
  const n = batch.count;
  const u8 = a.bytes;
  const slotBase = a.slotBase;
  let out = 0;
  for (let i = 0; i < n; i++) {
    const s = slots[i];
    let r = parseSlot(a, s, ofport);
    // gso_type (vnet byte 1) != 0 marks a super-frame that is allowed to exceed the MTU.
    if (r === OK && a.len[s] > maxFrame && u8[slotBase[s] + 1] === 0) r = D_OVERSIZE;
    if (r === OK) {
      slots[out++] = s;
    } else {
      drops.add(r);
      a.release(s);
    }
  }
  batch.count = out;
}
