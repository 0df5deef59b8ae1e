/**
 * NAT of ICMP errors: the translation of the datagram quoted inside an ICMP error (RFC 5508
 * §4.2 / Linux nf_nat_icmp_reply_translation), so traceroute and path-MTU discovery work
 * through the NAT. The address/port rewrites themselves (and the partial-checksum rule) are
 * packet/rewrite.ts, shared with the flow actions.
 */
import { patch16 } from '../wire/checksum';
import { get16, put16 } from '../wire/bytes';
import * as ipv4 from '../wire/ipv4';
import * as icmp from '../wire/icmp';
import * as tcp from '../wire/tcp';
import * as udp from '../wire/udp';
import { l4AddrUpdate, l4WordUpdate } from './rewrite';

export { rewritePacket } from './rewrite';

/** L4 bytes an ICMP error quotes at least (RFC 792): the ports (TCP/UDP, same offsets) or echo id. */
const QUOTED_L4_MIN = 8;

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
  if (ihl < ipv4.MIN_HEADER_LEN || il4 + QUOTED_L4_MIN > end) return false;
  if ((ipv4.flagsFrag(b, il3) & ipv4.FRAG_OFFSET_MASK) !== 0) return false;
  const proto = b[il3 + ipv4.PROTOCOL];
  let key = proto;
  let ports = 0;
  if (proto === ipv4.PROTO_TCP || proto === ipv4.PROTO_UDP) {
    ports = ((get16(b, il4 + tcp.DST_PORT) << 16) | get16(b, il4 + tcp.SRC_PORT)) >>> 0; // reversed: dport<<16 | sport
  } else if (proto === ipv4.PROTO_ICMP) {
    const t = icmp.type(b, il4);
    if (t !== icmp.ECHO_REQUEST && t !== icmp.ECHO_REPLY) return false;
    const id = get16(b, il4 + icmp.ID);
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
  const isUdp = proto === ipv4.PROTO_UDP;
  // Quoted TCP checksum sits at bytes 16-17: only present if more than 8 bytes were quoted.
  const csum = proto === ipv4.PROTO_TCP ? (il4 + tcp.CHECKSUM + 2 <= end ? il4 + tcp.CHECKSUM : 0) : isUdp ? il4 + udp.CHECKSUM : 0;
  if (is !== nd) {
    ipv4.setSrc(b, il3, nd);
    if (csum !== 0) l4AddrUpdate(b, csum, is, nd, false, isUdp);
  }
  if (id !== ns) {
    ipv4.setDst(b, il3, ns);
    if (csum !== 0) l4AddrUpdate(b, csum, id, ns, false, isUdp);
  }
  if (proto === ipv4.PROTO_TCP || isUdp) {
    const nsp = nports & 0xffff; // mirror: quoted sport = reply's dport
    const ndp = nports >>> 16;
    const osp = get16(b, il4 + tcp.SRC_PORT);
    const odp = get16(b, il4 + tcp.DST_PORT);
    if (osp !== nsp) {
      put16(b, il4 + tcp.SRC_PORT, nsp);
      if (csum !== 0) l4WordUpdate(b, csum, osp, nsp, isUdp);
    }
    if (odp !== ndp) {
      put16(b, il4 + tcp.DST_PORT, ndp);
      if (csum !== 0) l4WordUpdate(b, csum, odp, ndp, isUdp);
    }
  } else if (proto === ipv4.PROTO_ICMP) {
    const oid = get16(b, il4 + icmp.ID);
    const nid = nports >>> 16;
    if (oid !== nid) {
      put16(b, il4 + icmp.ID, nid);
      patch16(b, il4 + icmp.CHECKSUM, oid, nid);
    }
  }
  const os = ipv4.src(b, l3);
  const od = ipv4.dst(b, l3);
  if (od === is) ipv4.setDst(b, l3, nd);
  if (os === id) ipv4.setSrc(b, l3, ns);
  icmp.fillChecksum(b, l4, ipv4.totalLen(b, l3) - ipv4.headerLen(b, l3));
}
