/**
 * Packet edits with incremental checksums, shared by the flow actions, the router and NAT:
 * addresses, ports and ICMP echo ids, with the IPv4 header checksum and the L4 checksum kept
 * right (RFC 1624 via wire/checksum), including under partial checksums.
 *
 * Partial checksums (virtio-net F_NEEDS_CSUM, Linux CHECKSUM_PARTIAL). The L4 checksum field then
 * holds S, the folded pseudo-header sum NOT complemented, and the device later sums everything
 * from csum_start (including S) and stores the complement. The rule implemented here, as Linux
 * inet_proto_csum_replace{4,2}(..., pseudohdr) does:
 *   - an ADDRESS change (part of the pseudo header) updates S with the same RFC 1624 terms:
 *     S' = S + ~m + m' (wire/checksum.ts applyDeltaToSum; on a finished checksum it is
 *     HC' = ~(~HC + ~m + m'), applyDelta);
 *   - a PORT / echo-id change is NOT applied to the field: those bytes are data the device will
 *     sum itself, so adjusting S as well would count the change twice;
 *   - the UDP "0 means no checksum" rule does not apply to S (the device always fills it in).
 * Without the flag the field is a finished checksum and every change is applied (UDP 0 stays 0,
 * a computed 0 becomes 0xffff).
 *
 * Hot path: plain functions over (bytes, offsets), no allocation.
 */
import { patch16, delta16, delta32, applyDelta, applyDeltaToSum } from '../wire/checksum';
import { get16, put16 } from '../wire/bytes';
import * as ipv4 from '../wire/ipv4';
import * as ipv6 from '../wire/ipv6';
import * as icmp from '../wire/icmp';
import * as icmpv6 from '../wire/icmpv6';
import * as tcp from '../wire/tcp';
import * as udp from '../wire/udp';

/** Where the L4 checksum of `proto` sits, from the L4 header (0: none we maintain). */
export function l4ChecksumOffset(proto: number): number {
  return proto === ipv4.PROTO_TCP ? tcp.CHECKSUM : proto === ipv4.PROTO_UDP ? udp.CHECKSUM : -1;
}

/**
 * Where the upper-layer checksum of `proto` sits over IPv6 (-1: none we maintain). Unlike IPv4,
 * ICMPv6 covers the pseudo header too (RFC 4443 §2.3), so an address change touches it.
 */
export function l4ChecksumOffset6(proto: number): number {
  return proto === ipv4.PROTO_ICMPV6 ? icmp.CHECKSUM : l4ChecksumOffset(proto);
}

/**
 * Word `i` (0..3, most significant first) of the IPv6 address at `addr` changes from oldW to
 * newW: write it and update the pseudo-header checksum at `csum` (0: none to update).
 */
export function rewriteIpv6Word(b: Uint8Array, addr: number, i: number, csum: number, partial: boolean, isUdp: boolean, oldW: number, newW: number): void {
  ipv6.setAddrWord(b, addr, i, newW);
  if (csum !== 0) l4AddrUpdate(b, csum, oldW, newW, partial, isUdp);
}

/**
 * A 32-bit word of ICMPv6 message data (the ND target) changes: write it and update the
 * checksum at `csum` — not under a partial checksum (the device sums message bytes itself).
 */
export function rewriteIcmp6DataWord(b: Uint8Array, p: number, csum: number, partial: boolean, oldW: number, newW: number): void {
  b[p] = newW >>> 24;
  b[p + 1] = (newW >>> 16) & 0xff;
  b[p + 2] = (newW >>> 8) & 0xff;
  b[p + 3] = newW & 0xff;
  if (!partial) l4AddrUpdate(b, csum, oldW, newW, false, false);
}

/**
 * Rewrite the MAC of the first link-layer address option of `type` (1 source, 2 target) in the
 * NS/NA whose options run [p, end), with the ICMPv6 checksum at `csum`. The parse pass already
 * validated the option lengths. Returns false when the message has no such option (nothing
 * written, as OVS's datapath leaves a message without it alone).
 */
export function rewriteNdLla(b: Uint8Array, p: number, end: number, type: number, csum: number, partial: boolean, hi: number, lo: number): boolean {
  while (end - p >= icmpv6.ND_OPT_UNIT) {
    const olen = b[p + icmpv6.ND_OPT_LEN] * icmpv6.ND_OPT_UNIT;
    if (olen === 0 || olen > end - p) return false;
    if (b[p + icmpv6.ND_OPT_TYPE] === type && olen === icmpv6.ND_OPT_UNIT) {
      const m = p + icmpv6.ND_LLA_MAC;
      const oh = (b[m] << 8) | b[m + 1];
      const ol = ((b[m + 2] << 24) | (b[m + 3] << 16) | (b[m + 4] << 8) | b[m + 5]) >>> 0;
      b[m] = (hi >>> 8) & 0xff;
      b[m + 1] = hi & 0xff;
      b[m + 2] = lo >>> 24;
      b[m + 3] = (lo >>> 16) & 0xff;
      b[m + 4] = (lo >>> 8) & 0xff;
      b[m + 5] = lo & 0xff;
      if (!partial) {
        l4WordUpdate(b, csum, oh, hi & 0xffff, false);
        l4AddrUpdate(b, csum, ol, lo >>> 0, false, false);
      }
      return true;
    }
    p += olen;
  }
  return false;
}

/** An address in the pseudo header changed: update the TCP/UDP checksum field at p. */
export function l4AddrUpdate(b: Uint8Array, p: number, oldA: number, newA: number, partial: boolean, isUdp: boolean): void {
  const cur = get16(b, p);
  if (partial) {
    put16(b, p, applyDeltaToSum(cur, delta32(oldA, newA)));
    return;
  }
  if (isUdp && cur === 0) return;
  let c = applyDelta(cur, delta32(oldA, newA));
  if (isUdp && c === 0) c = 0xffff;
  put16(b, p, c);
}

/** A 16-bit data word (port, echo id) changed: update a finished checksum at p (not partial). */
export function l4WordUpdate(b: Uint8Array, p: number, oldW: number, newW: number, isUdp: boolean): void {
  const cur = get16(b, p);
  if (isUdp && cur === 0) return;
  let c = applyDelta(cur, delta16(oldW, newW));
  if (isUdp && c === 0) c = 0xffff;
  put16(b, p, c);
}

/**
 * A port (or other non-pseudo-header word) changed: update the TCP/UDP checksum at p — not at
 * all under a partial checksum (the device sums those bytes itself).
 */
export function l4PortUpdate(b: Uint8Array, p: number, oldW: number, newW: number, partial: boolean, isUdp: boolean): void {
  if (!partial) l4WordUpdate(b, p, oldW, newW, isUdp);
}

/**
 * Rewrite a datagram in place to (ns, nd) and, when `l4` is non-zero, ports (nports =
 * sport<<16|dport) for TCP/UDP or the echo id (high half of nports) for ICMP echo, and its TTL
 * to `ttl` (-1: unchanged; the router's decrement comes along so the header checksum is written
 * once). `l4` = 0 for a later fragment (addresses only). Checksums updated incrementally.
 *
 * `v` is a DataView of the same bytes as `b` (the arena's `view`): the addresses, both ports and
 * the TTL/protocol/checksum word are each one 32-bit load and store, and every change to a
 * checksum is summed first and applied once (wire/checksum.ts `applyDelta`: the same result as
 * one RFC 1624 update per 16-bit word).
 *
 * Callers pass ns, nd and nports as int32 bits (`x | 0`), not as uint32: an address in
 * 128.0.0.0/1, or a source port of 32768 or more, is 2^31 or more as uint32, a double that V8
 * boxes in a 16-byte heap number when it is passed to a call it does not inline (this one).
 * Compared as int32 here; every use below is bitwise, so the sign does not matter.
 */
export function rewritePacket(b: Uint8Array, v: DataView, l3: number, l4: number, proto: number, partial: boolean, ns: number, nd: number, nports: number, ttl: number): void {
  ns |= 0;
  nd |= 0;
  const os = v.getInt32(l3 + ipv4.SRC);
  const od = v.getInt32(l3 + ipv4.DST);
  // The addresses' terms: in the header checksum and, as the pseudo header, in the L4 one.
  let da = 0;
  if (os !== ns) {
    v.setInt32(l3 + ipv4.SRC, ns);
    da = delta32(os, ns);
  }
  if (od !== nd) {
    v.setInt32(l3 + ipv4.DST, nd);
    da += delta32(od, nd);
  }
  if (da !== 0 || ttl >= 0) {
    // TTL, protocol and header checksum: one word.
    const w2 = v.getInt32(l3 + ipv4.WORD2);
    let tp = w2 >>> 16;
    let dh = da;
    if (ttl >= 0) {
      const ntp = ((ttl & 0xff) << 8) | (tp & 0xff);
      if (ntp !== tp) {
        dh += delta16(tp, ntp);
        tp = ntp;
      }
    }
    if (dh !== 0) v.setInt32(l3 + ipv4.WORD2, (tp << 16) | applyDelta(w2 & 0xffff, dh));
  }
  const co = l4ChecksumOffset(proto);
  const csum = l4 === 0 || co < 0 ? 0 : l4 + co;
  if (csum !== 0) {
    const isUdp = proto === ipv4.PROTO_UDP;
    // Both ports in one word (same offsets in TCP and UDP). A port is data, not pseudo header:
    // under a partial checksum the device sums it itself, so only a finished checksum takes it.
    const op = v.getInt32(l4 + tcp.SRC_PORT);
    const np = nports | 0;
    let dl = da;
    if (op !== np) {
      v.setInt32(l4 + tcp.SRC_PORT, np);
      if (!partial) {
        if (op >>> 16 !== np >>> 16) dl += delta16(op >>> 16, np >>> 16);
        if ((op & 0xffff) !== (np & 0xffff)) dl += delta16(op & 0xffff, np & 0xffff);
      }
    }
    if (dl !== 0) {
      const cur = v.getUint16(csum);
      if (partial) {
        v.setUint16(csum, applyDeltaToSum(cur, dl));
      } else if (!isUdp || cur !== 0) {
        // UDP: a stored 0 means "no checksum" and stays 0; a computed 0 is sent as 0xffff.
        let c = applyDelta(cur, dl);
        if (isUdp && c === 0) c = 0xffff;
        v.setUint16(csum, c);
      }
    }
  } else if (l4 !== 0 && proto === ipv4.PROTO_ICMP) {
    const t = b[l4];
    if (t === icmp.ECHO_REQUEST || t === icmp.ECHO_REPLY) {
      const oid = get16(b, l4 + icmp.ID);
      const nid = nports >>> 16;
      if (oid !== nid) {
        put16(b, l4 + icmp.ID, nid);
        // ICMP has no pseudo header: a partial ICMP checksum covers the id itself.
        if (!partial) patch16(b, l4 + icmp.CHECKSUM, oid, nid);
      }
    }
  }
}

