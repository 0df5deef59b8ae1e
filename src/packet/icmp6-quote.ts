/**
 * The datagram quoted by an ICMPv6 error (RFC 4443 §3), read the way OVS's userspace conntrack
 * reads it (lib/conntrack.c extract_l4_icmp6): the quoted IPv6 header, its extension headers
 * (a quoted fragment is refused), then the L4 header: TCP (20 bytes), UDP (8) or an ICMPv6
 * echo (8); nested errors are refused. As OVS (going beyond pf), the quoted packet must have
 * come from the host the error is sent to: its source is the error's destination.
 *
 * The result is the REVERSED tuple — what a reply to the quoted datagram would carry, which is
 * the conntrack entry of the direction the error travels — in module scratch: no allocation.
 */
import { get16 } from '../wire/bytes';
import * as icmpv6 from '../wire/icmpv6';
import * as ipv4 from '../wire/ipv4';
import * as ipv6 from '../wire/ipv6';
import * as tcp from '../wire/tcp';
import { PK_IPV6 } from './conntrack';

/** The most extension headers walked in a quote (as the parse pass). */
const MAX_QUOTED_EXT_HEADERS = 8;
const TCP_HEADER_LEN = 20;
const UDP_HEADER_LEN = 8;

/**
 * Filled by `parseQuoted6`: protoKey (protocol word without zone, PK_IPV6 set), ports (reply
 * direction: quoted dport << 16 | quoted sport, or the echo id twice), and in `addr` the reply
 * tuple's source (words 0-3: the quoted destination) and destination (words 4-7: the quoted source).
 */
export const quoted6 = { protoKey: 0, ports: 0, addr: new Uint32Array(8) };

/**
 * Parse the quote of the ICMPv6 error at `l4` (message ends at `end`) whose outer IPv6 header is
 * at `ip`. False when the quote is unusable (garbage, cut short, a fragment, not from the
 * error's destination, an unsupported L4): the caller marks the error invalid.
 */
export function parseQuoted6(b: Uint8Array, ip: number, l4: number, end: number): boolean {
  const il3 = l4 + icmpv6.ERROR_QUOTE;
  if (il3 + ipv6.HEADER_LEN > end || b[il3] >>> 4 !== 6) return false;
  for (let i = 0; i < 16; i++) if (b[il3 + ipv6.SRC + i] !== b[ip + ipv6.DST + i]) return false;
  if (!ipv6.skipExtHeaders(b, il3, end, MAX_QUOTED_EXT_HEADERS)) return false;
  const proto = ipv6.upper.nh;
  const il4 = ipv6.upper.p;
  const left = end - il4;
  let key = proto | PK_IPV6;
  let ports: number;
  if (proto === ipv4.PROTO_TCP || proto === ipv4.PROTO_UDP) {
    if (left < (proto === ipv4.PROTO_TCP ? TCP_HEADER_LEN : UDP_HEADER_LEN)) return false;
    // Reversed: the quoted destination port is the reply's source port (UDP's sit where TCP's do).
    ports = ((get16(b, il4 + tcp.DST_PORT) << 16) | get16(b, il4 + tcp.SRC_PORT)) >>> 0;
  } else if (proto === ipv4.PROTO_ICMPV6) {
    if (left < icmpv6.ECHO_LEN) return false;
    const t = b[il4 + icmpv6.TYPE];
    if ((t !== icmpv6.ECHO_REQUEST && t !== icmpv6.ECHO_REPLY) || b[il4 + icmpv6.CODE] !== 0) return false;
    const id = icmpv6.echoId(b, il4);
    ports = ((id << 16) | id) >>> 0;
    key = proto | ((t ^ 1) << 8); // the reply to a request is a reply, and vice versa
  } else {
    ports = 0;
  }
  const a = quoted6.addr;
  for (let i = 0; i < 4; i++) {
    a[i] = ipv6.addrWord(b, il3 + ipv6.DST, i);
    a[4 + i] = ipv6.addrWord(b, il3 + ipv6.SRC, i);
  }
  quoted6.protoKey = key;
  quoted6.ports = ports;
  return true;
}
