/**
 * IPv6 fixed header (RFC 8200 §3). Extension headers are not walked: the switch forwards IPv6
 * at L2 and matches only on the fixed header (nw_proto is the Next Header value).
 *
 *    0                   1                   2                   3
 *    0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 *   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *   |Version| Traffic Class |           Flow Label                  |  0-3
 *   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *   |         Payload Length        |  Next Header  |   Hop Limit   |  4-7
 *   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *   |                      Source Address (8-23)                    |
 *   |                   Destination Address (24-39)                 |
 *   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 */

export const VER_TC_FLOW = 0; // 0-3
export const PAYLOAD_LEN = 4; // 4-5
export const NEXT_HEADER = 6; // 6
export const HOP_LIMIT = 7; // 7
export const SRC = 8; // 8-23
export const DST = 24; // 24-39
export const HEADER_LEN = 40;

export const OK = 0;
export const ERR_TRUNCATED = 1;
export const ERR_VERSION = 2;
export const ERR_PAYLOAD_LEN = 3;

export function check(b: Uint8Array, ip: number, avail: number): number {
  if (avail < HEADER_LEN) return ERR_TRUNCATED;
  if (b[ip] >>> 4 !== 6) return ERR_VERSION;
  // Payload length 0 means a jumbogram (RFC 2675) — accept; otherwise it must fit.
  if (HEADER_LEN + payloadLen(b, ip) > avail) return ERR_PAYLOAD_LEN;
  return OK;
}

export function trafficClass(b: Uint8Array, ip: number): number {
  return ((b[ip] & 0x0f) << 4) | (b[ip + 1] >>> 4);
}
/** The traffic class straddles bytes 0-1: vvvvTTTT TTTTffff. */
export function setTrafficClass(b: Uint8Array, ip: number, tc: number): void {
  b[ip] = (b[ip] & 0xf0) | ((tc >>> 4) & 0x0f);
  b[ip + 1] = (b[ip + 1] & 0x0f) | ((tc & 0x0f) << 4);
}
export function flowLabel(b: Uint8Array, ip: number): number {
  return ((b[ip + 1] & 0x0f) << 16) | (b[ip + 2] << 8) | b[ip + 3];
}
export function payloadLen(b: Uint8Array, ip: number): number {
  return (b[ip + PAYLOAD_LEN] << 8) | b[ip + PAYLOAD_LEN + 1];
}
export function nextHeader(b: Uint8Array, ip: number): number {
  return b[ip + NEXT_HEADER];
}
export function hopLimit(b: Uint8Array, ip: number): number {
  return b[ip + HOP_LIMIT];
}
export function setHopLimit(b: Uint8Array, ip: number, v: number): void {
  b[ip + HOP_LIMIT] = v;
}

/** Text form of the 16-byte address at p (no zero compression; used by traces only). */
export function formatAddr6(b: Uint8Array, p: number): string {
  const parts: string[] = [];
  for (let i = 0; i < 16; i += 2) parts.push(((b[p + i] << 8) | b[p + i + 1]).toString(16));
  return parts.join(':');
}

export interface Ipv6Header {
  trafficClass: number;
  flowLabel: number;
  payloadLength: number;
  nextHeader: number;
  hopLimit: number;
  src: string;
  dst: string;
}
export function parseIpv6(b: Uint8Array, ip = 0): Ipv6Header {
  if (check(b, ip, b.length - ip) !== OK) throw new Error('ipv6: malformed header');
  return {
    trafficClass: trafficClass(b, ip),
    flowLabel: flowLabel(b, ip),
    payloadLength: payloadLen(b, ip),
    nextHeader: nextHeader(b, ip),
    hopLimit: hopLimit(b, ip),
    src: formatAddr6(b, ip + SRC),
    dst: formatAddr6(b, ip + DST),
  };
}
