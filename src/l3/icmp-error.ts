/**
 * ICMP errors originated by the router (RFC 1812 §4.3.2): who may get one, a rate limiter, and
 * the builder that quotes the offending datagram.
 *
 * RFC 1812 §4.3.2.7: never about an ICMP error, a datagram to a broadcast/multicast address, a
 * non-initial fragment, or one whose source is not a unicast host (0.0.0.0, 127/8, 224/4+).
 * §4.3.2.8: errors are rate limited — here a token bucket on the injectable clock (Linux's
 * icmp_msgs_per_sec/icmp_msgs_burst are 1000/50 globally).
 * Quote: the IP header + 8 bytes (RFC 792; enough for ports / echo id, which NAT needs).
 */
import { PacketArena } from '../packet/arena';
import * as ipv4 from '../wire/ipv4';
import * as icmp from '../wire/icmp';
import * as eth from '../wire/ethernet';

export class TokenBucket {
  private tokens: number;
  private last: number;
  constructor(private readonly ratePerSec: number, private readonly burst: number, now: number) {
    this.tokens = burst;
    this.last = now;
  }
  take(now: number): boolean {
    if (now > this.last) {
      this.tokens = Math.min(this.burst, this.tokens + ((now - this.last) * this.ratePerSec) / 1000);
      this.last = now;
    }
    if (this.tokens < 1) return false;
    this.tokens -= 1;
    return true;
  }
}

/** Source addresses that never get an error: 0/8, 127/8, 224/4 and above (incl. 255.255.255.255). */
export function unicastSource(src: number): boolean {
  const top = src >>> 24;
  return top !== 0 && top !== 127 && top < 224;
}

/**
 * May the datagram at `l3` (L4 at `l4`, 0 if none) trigger an ICMP error? Link-layer broadcast
 * is the caller's check (the router drops those before forwarding anyway).
 */
export function errorAllowed(b: Uint8Array, l3: number, l4: number): boolean {
  if ((ipv4.flagsFrag(b, l3) & ipv4.FRAG_OFFSET_MASK) !== 0) return false;
  if (!unicastSource(ipv4.src(b, l3))) return false;
  if (ipv4.dst(b, l3) >>> 28 >= 0xe) return false;
  if (b[l3 + ipv4.PROTOCOL] === ipv4.PROTO_ICMP && (l4 === 0 || icmp.isError(b[l4]))) return false;
  return true;
}

/**
 * Build an ICMP error about the frame in `orig` (L3 at frame offset `origL3`) into a fresh
 * slot: Ethernet header with zero MACs (the router writes them at output), IPv4 from `src` to
 * the offender's source, TOS 0xc0 (internetwork control, as Linux), TTL 64, then the quote.
 * `extra` is the 32-bit "rest of header" (next-hop MTU in the low 16 bits for type 3 code 4).
 * Returns the new slot or -1 when the arena is exhausted. Allocation: one arena slot.
 */
export function buildIcmpError(a: PacketArena, orig: number, origL3: number, type: number, code: number, extra: number, src: number): number {
  const s = a.alloc();
  if (s < 0) return -1;
  const b = a.bytes;
  const of = a.start[orig];
  const ol3 = of + origL3;
  const ohl = ipv4.headerLen(b, ol3);
  const otl = ipv4.totalLen(b, ol3);
  const q = otl < ohl + 8 ? otl : ohl + 8;
  const f = a.start[s];
  b.fill(0, f, f + eth.HEADER_LEN);
  eth.setEtherType(b, f, eth.ETH_P_IPV4);
  const l3 = f + eth.HEADER_LEN;
  const l4 = l3 + ipv4.MIN_HEADER_LEN;
  const total = ipv4.MIN_HEADER_LEN + icmp.HEADER_LEN + q;
  b[l3] = 0x45;
  b[l3 + ipv4.TOS] = 0xc0;
  ipv4.setTotalLen(b, l3, total);
  ipv4.setIdent(b, l3, 0);
  ipv4.setFlagsFrag(b, l3, 0);
  b[l3 + ipv4.TTL] = 64;
  b[l3 + ipv4.PROTOCOL] = ipv4.PROTO_ICMP;
  ipv4.writeAddr(b, l3 + ipv4.SRC, src);
  ipv4.writeAddr(b, l3 + ipv4.DST, ipv4.src(b, ol3));
  ipv4.fillChecksum(b, l3);
  b[l4] = type;
  b[l4 + 1] = code;
  ipv4.writeAddr(b, l4 + 4, extra >>> 0);
  b.copyWithin(l4 + icmp.HEADER_LEN, ol3, ol3 + q);
  icmp.fillChecksum(b, l4, icmp.HEADER_LEN + q);
  let len = eth.HEADER_LEN + total;
  if (len < eth.MIN_FRAME) {
    b.fill(0, f + len, f + eth.MIN_FRAME);
    len = eth.MIN_FRAME;
  }
  a.len[s] = len;
  return s;
}
