/**
 * NAT packet rewriting: addresses, ports and ICMP echo ids with incremental checksum updates
 * (RFC 1624 via wire/checksum), and the translation of the datagram quoted inside an ICMP
 * error (RFC 5508 §4.2 / Linux nf_nat_icmp_reply_translation), so traceroute and path-MTU
 * discovery work through the NAT.
 *
 * Partial checksums (virtio-net F_NEEDS_CSUM, Linux CHECKSUM_PARTIAL). The L4 checksum field then
 * holds S, the folded pseudo-header sum NOT complemented, and the device later sums everything
 * from csum_start (including S) and stores the complement. The rule implemented here, as Linux
 * inet_proto_csum_replace{4,2}(..., pseudohdr) does:
 *   - an ADDRESS change (part of the pseudo header) updates S with the same RFC 1624 delta:
 *     S' = S + ~m + m'  ==  ~update(~S, m, m')   (update() is RFC 1624 eqn. 3 on a checksum);
 *   - a PORT / echo-id change is NOT applied to the field: those bytes are data the device will
 *     sum itself, so adjusting S as well would count the change twice;
 *   - the UDP "0 means no checksum" rule does not apply to S (the device always fills it in).
 * Without the flag the field is a finished checksum and every change is applied (UDP 0 stays 0,
 * a computed 0 becomes 0xffff).
 */
import { update16, update32, patch16 } from '../wire/checksum';
import * as ipv4 from '../wire/ipv4';
import * as icmp from '../wire/icmp';

/** Checksum field offsets inside the L4 header. */
const TCP_CSUM = 16;
const UDP_CSUM = 6;
const ICMP_CSUM = 2;

function read16(b: Uint8Array, p: number): number {
  return (b[p] << 8) | b[p + 1];
}
function write16(b: Uint8Array, p: number, v: number): void {
  b[p] = v >>> 8;
  b[p + 1] = v & 0xff;
}

/** An address in the pseudo header changed: update the TCP/UDP checksum field at p. */
export function l4AddrUpdate(b: Uint8Array, p: number, oldA: number, newA: number, partial: boolean, isUdp: boolean): void {
  const cur = read16(b, p);
  if (partial) {
    write16(b, p, ~update32(~cur & 0xffff, oldA, newA) & 0xffff);
    return;
  }
  if (isUdp && cur === 0) return;
  let c = update32(cur, oldA, newA);
  if (isUdp && c === 0) c = 0xffff;
  write16(b, p, c);
}

/** A 16-bit data word (port, echo id) changed: update a finished checksum at p (not partial). */
export function l4WordUpdate(b: Uint8Array, p: number, oldW: number, newW: number, isUdp: boolean): void {
  const cur = read16(b, p);
  if (isUdp && cur === 0) return;
  let c = update16(cur, oldW, newW);
  if (isUdp && c === 0) c = 0xffff;
  write16(b, p, c);
}

/**
 * Rewrite a datagram in place to (ns, nd) and, when `l4` is non-zero, ports (nports =
 * sport<<16|dport) for TCP/UDP or the echo id (high half of nports) for ICMP echo. `l4` = 0 for
 * a later fragment (addresses only). IPv4 header checksum updated incrementally.
 */
export function rewritePacket(b: Uint8Array, l3: number, l4: number, proto: number, partial: boolean, ns: number, nd: number, nports: number): void {
  const os = ipv4.src(b, l3);
  const od = ipv4.dst(b, l3);
  const csum = l4 === 0 ? 0 : proto === 6 ? l4 + TCP_CSUM : proto === 17 ? l4 + UDP_CSUM : 0;
  const isUdp = proto === 17;
  if (os !== ns) {
    ipv4.setSrc(b, l3, ns);
    if (csum !== 0) l4AddrUpdate(b, csum, os, ns, partial, isUdp);
  }
  if (od !== nd) {
    ipv4.setDst(b, l3, nd);
    if (csum !== 0) l4AddrUpdate(b, csum, od, nd, partial, isUdp);
  }
  if (csum !== 0) {
    const osp = read16(b, l4);
    const odp = read16(b, l4 + 2);
    const nsp = nports >>> 16;
    const ndp = nports & 0xffff;
    if (osp !== nsp) {
      write16(b, l4, nsp);
      if (!partial) l4WordUpdate(b, csum, osp, nsp, isUdp);
    }
    if (odp !== ndp) {
      write16(b, l4 + 2, ndp);
      if (!partial) l4WordUpdate(b, csum, odp, ndp, isUdp);
    }
  } else if (l4 !== 0 && proto === 1) {
    const t = b[l4];
    if (t === icmp.ECHO_REQUEST || t === icmp.ECHO_REPLY) {
      const oid = read16(b, l4 + icmp.ID);
      const nid = nports >>> 16;
      if (oid !== nid) {
        write16(b, l4 + icmp.ID, nid);
        // ICMP has no pseudo header: a partial ICMP checksum covers the id itself.
        if (!partial) patch16(b, l4 + ICMP_CSUM, oid, nid);
      }
    }
  }
}

// ---- ICMP errors -------------------------------------------------------------------------

/**
 * The quoted datagram of an ICMP error, parsed into module scratch (no allocation): filled by
 * `parseQuoted`, read by the router right after.
 */
export const quoted = { l3: 0, l4: 0, end: 0, proto: 0, src: 0, dst: 0, ports: 0, protoKey: 0 };

/**
 * Parse the datagram quoted by the ICMP error at `l4` (message ends at `end`). Needs the quoted
 * IPv4 header and 8 bytes of its L4 header (RFC 792 minimum); the quote must not be a later
 * fragment. Fills `quoted` with the REVERSED tuple — the tuple a reply to the quoted datagram
 * would carry, which is what the conntrack entry of that reply direction matches. False when
 * the quote is unusable.
 */
export function parseQuoted(b: Uint8Array, l4: number, end: number): boolean {
  const il3 = l4 + icmp.HEADER_LEN;
  if (il3 + ipv4.MIN_HEADER_LEN > end || b[il3] >>> 4 !== 4) return false;
  const ihl = (b[il3] & 0x0f) << 2;
  const il4 = il3 + ihl;
  if (ihl < ipv4.MIN_HEADER_LEN || il4 + 8 > end) return false;
  if ((ipv4.flagsFrag(b, il3) & ipv4.FRAG_OFFSET_MASK) !== 0) return false;
  const proto = b[il3 + ipv4.PROTOCOL];
  let key = proto;
  let ports = 0;
  if (proto === 6 || proto === 17) {
    ports = ((read16(b, il4 + 2) << 16) | read16(b, il4)) >>> 0; // reversed: dport<<16 | sport
  } else if (proto === 1) {
    const t = b[il4];
    if (t !== icmp.ECHO_REQUEST && t !== icmp.ECHO_REPLY) return false;
    const id = read16(b, il4 + icmp.ID);
    ports = ((id << 16) | id) >>> 0;
    key = 1 | ((t ^ 8) << 8); // the reply to a request is a reply, and vice versa
  }
  quoted.l3 = il3;
  quoted.l4 = il4;
  quoted.end = end;
  quoted.proto = proto;
  quoted.src = ipv4.src(b, il3);
  quoted.dst = ipv4.dst(b, il3);
  quoted.ports = ports;
  quoted.protoKey = key;
  return true;
}

/**
 * Translate an ICMP error whose quote matched a conntrack entry with rewrite (ns, nd, nports)
 * — the rewrite a REPLY to the quoted datagram would get. The quoted datagram travelled the
 * other way, so it gets the mirror image: src ← nd, dst ← ns, sport ← dport', dport ← sport'.
 * The outer header follows where it names the same hosts: the outer destination (the quoted
 * sender) becomes nd; the outer source becomes ns only when it is the quoted destination
 * itself (an error from the end host) — an intermediate hop (traceroute) keeps its address.
 * The outer ICMP checksum is recomputed over the message (as Linux does); the quoted IP header
 * and L4 checksums are updated incrementally, in full (a quote is never partial).
 */
export function translateIcmpError(b: Uint8Array, l3: number, l4: number, ns: number, nd: number, nports: number): void {
  const il3 = quoted.l3;
  const il4 = quoted.l4;
  const end = quoted.end;
  const proto = quoted.proto;
  const is = quoted.src;
  const id = quoted.dst;
  const isUdp = proto === 17;
  // Quoted TCP checksum sits at bytes 16-17: only present if more than 8 bytes were quoted.
  const csum = proto === 6 ? (il4 + TCP_CSUM + 2 <= end ? il4 + TCP_CSUM : 0) : isUdp ? il4 + UDP_CSUM : 0;
  if (is !== nd) {
    ipv4.setSrc(b, il3, nd);
    if (csum !== 0) l4AddrUpdate(b, csum, is, nd, false, isUdp);
  }
  if (id !== ns) {
    ipv4.setDst(b, il3, ns);
    if (csum !== 0) l4AddrUpdate(b, csum, id, ns, false, isUdp);
  }
  if (proto === 6 || isUdp) {
    const nsp = nports & 0xffff; // mirror: quoted sport = reply's dport
    const ndp = nports >>> 16;
    const osp = read16(b, il4);
    const odp = read16(b, il4 + 2);
    if (osp !== nsp) {
      write16(b, il4, nsp);
      if (csum !== 0) l4WordUpdate(b, csum, osp, nsp, isUdp);
    }
    if (odp !== ndp) {
      write16(b, il4 + 2, ndp);
      if (csum !== 0) l4WordUpdate(b, csum, odp, ndp, isUdp);
    }
  } else if (proto === 1) {
    const oid = read16(b, il4 + icmp.ID);
    const nid = nports >>> 16;
    if (oid !== nid) {
      write16(b, il4 + icmp.ID, nid);
      patch16(b, il4 + ICMP_CSUM, oid, nid);
    }
  }
  const os = ipv4.src(b, l3);
  const od = ipv4.dst(b, l3);
  if (od === is) ipv4.setDst(b, l3, nd);
  if (os === id) ipv4.setSrc(b, l3, ns);
  icmp.fillChecksum(b, l4, ipv4.totalLen(b, l3) - ipv4.headerLen(b, l3));
}
