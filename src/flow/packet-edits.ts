/**
 * Packet edits of the set_field/mod_* actions: the frame's bytes, its flow key and the
 * checksums change together, so later tables match the modified packet without a re-parse.
 */
import type { PacketArena } from '../packet/arena';
import * as K from '../packet/flow-key';
import * as vnet from '../packet/vnet';
import { l4AddrUpdate, l4PortUpdate, l4ChecksumOffset, l4ChecksumOffset6, rewriteIcmp6DataWord, rewriteIpv6Word, rewriteNdLla } from '../packet/rewrite';
import * as icmpv6 from '../wire/icmpv6';
import { get16, put16 } from '../wire/bytes';
import * as eth from '../wire/ethernet';
import * as arp from '../wire/arp';
import * as ipv4 from '../wire/ipv4';
import * as ipv6 from '../wire/ipv6';
import * as N from './nxm';
import type { Plan } from './actions';

const ETH_IP = eth.ETH_P_IPV4;
const ETH_IPV6 = eth.ETH_P_IPV6;
const ETH_ARP = eth.ETH_P_ARP;

export function setEth(a: PacketArena, slot: number, off: number, kw: number, hi: number, lo: number): void {
  eth.writeMacHiLo(a.bytes, a.start[slot] + off, hi, lo);
  const k = (slot << K.KEY_SHIFT) + kw;
  a.key[k] = hi & 0xffff;
  a.key[k + 1] = lo >>> 0;
}

export function setIpv4Addr(a: PacketArena, slot: number, off: number, kw: number, v: number): void {
  const k = slot << K.KEY_SHIFT;
  const key = a.key;
  if (key[k + K.K_DL_TYPE] !== ETH_IP || a.l3[slot] === 0) return; // not IPv4: nothing to set
  const b = a.bytes;
  const ip = a.start[slot] + a.l3[slot];
  const old = key[k + kw];
  if (off === ipv4.SRC) ipv4.setSrc(b, ip, v);
  else ipv4.setDst(b, ip, v);
  key[k + kw] = v;
  const l4 = a.l4[slot];
  if (l4 !== 0) {
    const proto = key[k + K.K_NW_PROTO];
    const co = l4ChecksumOffset(proto);
    if (co >= 0) l4AddrUpdate(b, a.start[slot] + l4 + co, old, v, vnet.needsCsum(a, slot), proto === ipv4.PROTO_UDP);
  }
}

export function setDscp(a: PacketArena, slot: number, dscp: number): void {
  setTosBits(a, slot, dscp, 0xfc);
}

/** Set the `mask` bits of the IPv4 TOS / IPv6 traffic class to `v` (DSCP 0xfc, ECN 0x03). */
export function setTosBits(a: PacketArena, slot: number, v: number, mask: number): void {
  const k = slot << K.KEY_SHIFT;
  const t = a.key[k + K.K_DL_TYPE];
  if (a.l3[slot] === 0) return;
  const b = a.bytes;
  const ip = a.start[slot] + a.l3[slot];
  if (t === ETH_IP) {
    ipv4.setTos(b, ip, (ipv4.tos(b, ip) & ~mask) | (v & mask));
  } else if (t === ETH_IPV6) {
    ipv6.setTrafficClass(b, ip, (ipv6.trafficClass(b, ip) & ~mask) | (v & mask));
  } else return;
  a.key[k + K.K_NW_TOS] = (a.key[k + K.K_NW_TOS] & ~mask) | (v & mask);
}

/** The ND target of an NS/NA (the flow's prerequisites guarantee one; the key says if it is). */
export function setNdTarget(a: PacketArena, slot: number, plan: Plan, at: number): void {
  const k = slot << K.KEY_SHIFT;
  const key = a.key;
  const l4 = a.l4[slot];
  const tp = key[k + K.K_TP_SRC];
  if (l4 === 0 || key[k + K.K_NW_PROTO] !== ipv4.PROTO_ICMPV6 || (tp !== icmpv6.ND_NEIGHBOR_SOLICIT && tp !== icmpv6.ND_NEIGHBOR_ADVERT) || key[k + K.K_TP_DST] !== 0) return;
  const b = a.bytes;
  const p = a.start[slot] + l4;
  const partial = vnet.needsCsum(a, slot);
  for (let i = 0; i < 4; i++) {
    const m = plan[at + 5 + i] >>> 0;
    if (m === 0) continue;
    const old = key[k + K.K_ND_TARGET + i];
    const nv = ((old & ~m) | (plan[at + 1 + i] & m)) >>> 0;
    if (nv === old) continue;
    rewriteIcmp6DataWord(b, p + icmpv6.ND_TARGET + 4 * i, p + icmpv6.CHECKSUM, partial, old, nv);
    key[k + K.K_ND_TARGET + i] = nv;
  }
}

/** nd_sll / nd_tll: the link-layer address option of that type already in the NS/NA. */
export function setNdLla(a: PacketArena, slot: number, sll: boolean, hi: number, lo: number): void {
  const k = slot << K.KEY_SHIFT;
  const key = a.key;
  const l4 = a.l4[slot];
  if (l4 === 0 || a.l3[slot] === 0 || key[k + K.K_NW_PROTO] !== ipv4.PROTO_ICMPV6 || key[k + K.K_TP_SRC] !== (sll ? icmpv6.ND_NEIGHBOR_SOLICIT : icmpv6.ND_NEIGHBOR_ADVERT)) return;
  const b = a.bytes;
  const f = a.start[slot];
  const ip = f + a.l3[slot];
  const pl = ipv6.payloadLen(b, ip);
  const end = pl === 0 ? f + a.len[slot] : ip + ipv6.HEADER_LEN + pl;
  const p = f + l4;
  if (!rewriteNdLla(b, p + icmpv6.ND_MIN_LEN, end, sll ? icmpv6.ND_OPT_SOURCE_LINKADDR : icmpv6.ND_OPT_TARGET_LINKADDR, p + icmpv6.CHECKSUM, vnet.needsCsum(a, slot), hi, lo)) return;
  const kw = k + (sll ? K.K_ARP_SHA_HI : K.K_ARP_THA_HI);
  key[kw] = hi & 0xffff;
  key[kw + 1] = lo >>> 0;
}

/** IPv4 TTL (header checksum updated) or IPv6 hop limit. */
export function setTtl(a: PacketArena, slot: number, ttl: number): void {
  const k = slot << K.KEY_SHIFT;
  const t = a.key[k + K.K_DL_TYPE];
  if (a.l3[slot] === 0) return;
  const ip = a.start[slot] + a.l3[slot];
  if (t === ETH_IP) ipv4.setTtl(a.view, ip, ttl);
  else if (t === ETH_IPV6) ipv6.setHopLimit(a.bytes, ip, ttl);
  else return;
  a.key[k + K.K_NW_TTL] = ttl;
}

/** IPv6 flow label: not part of any checksum. */
export function setFlowLabel(a: PacketArena, slot: number, label: number): void {
  const k = slot << K.KEY_SHIFT;
  if (a.key[k + K.K_DL_TYPE] !== ETH_IPV6 || a.l3[slot] === 0) return;
  ipv6.setFlowLabel(a.bytes, a.start[slot] + a.l3[slot], label);
  a.key[k + K.K_IPV6_LABEL] = label;
}

/**
 * set_field/load to ipv6_src/ipv6_dst: plan[at] = 0 (src) or 1 (dst), then four value and four
 * mask words. The TCP/UDP/ICMPv6 checksum covers the pseudo header, so each changed word
 * updates it (packet/rewrite.ts); a later fragment (no L4 offset) has none to update.
 */
export function setIpv6Addr(a: PacketArena, slot: number, plan: Plan, at: number): void {
  const k = slot << K.KEY_SHIFT;
  const key = a.key;
  if (key[k + K.K_DL_TYPE] !== ETH_IPV6 || a.l3[slot] === 0) return;
  const b = a.bytes;
  const f = a.start[slot];
  if (plan[at] === 2) return setNdTarget(a, slot, plan, at);
  const dst = plan[at] === 1;
  const p = f + a.l3[slot] + (dst ? ipv6.DST : ipv6.SRC);
  const kw = k + (dst ? K.K_IPV6_DST : K.K_IPV6_SRC);
  const proto = key[k + K.K_NW_PROTO];
  const co = l4ChecksumOffset6(proto);
  const l4 = a.l4[slot];
  const csum = l4 === 0 || co < 0 ? 0 : f + l4 + co;
  const partial = vnet.needsCsum(a, slot);
  for (let i = 0; i < 4; i++) {
    const m = plan[at + 5 + i] >>> 0;
    if (m === 0) continue;
    const old = key[kw + i];
    const nv = ((old & ~m) | (plan[at + 1 + i] & m)) >>> 0;
    if (nv === old) continue;
    rewriteIpv6Word(b, p, i, csum, partial, proto === ipv4.PROTO_UDP, old, nv);
    key[kw + i] = nv;
  }
}

/** `proto` 0 = TCP or UDP (mod_tp_*), else only that protocol (set_field tcp_src...). */
export function setL4Port(a: PacketArena, slot: number, off: number, kw: number, port: number, proto: number): void {
  const k = slot << K.KEY_SHIFT;
  const key = a.key;
  const l4 = a.l4[slot];
  const pr = key[k + K.K_NW_PROTO];
  const t = key[k + K.K_DL_TYPE];
  if (l4 === 0 || (t !== ETH_IP && t !== ETH_IPV6)) return;
  if (proto === 0 ? pr !== ipv4.PROTO_TCP && pr !== ipv4.PROTO_UDP : pr !== proto) return;
  const b = a.bytes;
  const p = a.start[slot] + l4;
  const old = get16(b, p + off);
  put16(b, p + off, port);
  key[k + kw] = port;
  l4PortUpdate(b, p + l4ChecksumOffset(pr), old, port, vnet.needsCsum(a, slot), pr === ipv4.PROTO_UDP);
}

export function decTtl(a: PacketArena, slot: number): boolean {
  const k = slot << K.KEY_SHIFT;
  const t = a.key[k + K.K_DL_TYPE];
  if (a.l3[slot] === 0 || (t !== ETH_IP && t !== ETH_IPV6)) return true; // OVS: no-op on non-IP
  const b = a.bytes;
  const ip = a.start[slot] + a.l3[slot];
  if (t === ETH_IP) {
    const ttl = ipv4.ttl(b, ip);
    if (ttl <= 1) return false;
    ipv4.setTtl(a.view, ip, ttl - 1);
    a.key[k + K.K_NW_TTL] = ttl - 1;
  } else {
    const hl = ipv6.hopLimit(b, ip);
    if (hl <= 1) return false;
    ipv6.setHopLimit(b, ip, hl - 1);
    a.key[k + K.K_NW_TTL] = hl - 1;
  }
  return true;
}

export function setArp(a: PacketArena, slot: number, fid: number, hi: number, lo: number): void {
  const k = slot << K.KEY_SHIFT;
  const key = a.key;
  if (key[k + K.K_DL_TYPE] !== ETH_ARP || a.l3[slot] === 0) return;
  const b = a.bytes;
  const p = a.start[slot] + a.l3[slot];
  switch (fid) {
    case N.F_ARP_OP:
      arp.setOp(b, p, lo & 0xffff);
      key[k + K.K_NW_PROTO] = lo & 0xff;
      return;
    case N.F_ARP_SPA:
      arp.setSpa(b, p, lo);
      key[k + K.K_NW_SRC] = lo;
      return;
    case N.F_ARP_TPA:
      arp.setTpa(b, p, lo);
      key[k + K.K_NW_DST] = lo;
      return;
    case N.F_ARP_SHA:
    case N.F_ARP_THA: {
      eth.writeMacHiLo(b, p + (fid === N.F_ARP_SHA ? arp.SHA : arp.THA), hi & 0xffff, lo);
      const kw = k + (fid === N.F_ARP_SHA ? K.K_ARP_SHA_HI : K.K_ARP_THA_HI);
      key[kw] = hi & 0xffff;
      key[kw + 1] = lo >>> 0;
      return;
    }
  }
}
