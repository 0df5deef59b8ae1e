/**
 * UDP header (RFC 768). A checksum of 0 means "not computed" over IPv4.
 *
 *    0      7 8     15 16    23 24    31
 *   +--------+--------+--------+--------+
 *   |  Source Port    | Destination Port|  0-3
 *   +--------+--------+--------+--------+
 *   |     Length      |    Checksum     |  4-7
 *   +--------+--------+--------+--------+
 */
import { checksum, pseudoSumV4 } from './checksum';

export const SRC_PORT = 0; // 0-1
export const DST_PORT = 2; // 2-3
export const LENGTH = 4; // 4-5
export const CHECKSUM = 6; // 6-7
export const HEADER_LEN = 8;

export function srcPort(b: Uint8Array, p: number): number {
  return (b[p] << 8) | b[p + 1];
}
export function dstPort(b: Uint8Array, p: number): number {
  return (b[p + 2] << 8) | b[p + 3];
}
export function length(b: Uint8Array, p: number): number {
  return (b[p + 4] << 8) | b[p + 5];
}
export function udpChecksum(b: Uint8Array, p: number): number {
  return (b[p + 6] << 8) | b[p + 7];
}
export function setSrcPort(b: Uint8Array, p: number, v: number): void {
  b[p] = v >>> 8;
  b[p + 1] = v & 0xff;
}
export function setDstPort(b: Uint8Array, p: number, v: number): void {
  b[p + 2] = v >>> 8;
  b[p + 3] = v & 0xff;
}
export function setLength(b: Uint8Array, p: number, v: number): void {
  b[p + 4] = v >>> 8;
  b[p + 5] = v & 0xff;
}
export function setChecksumField(b: Uint8Array, p: number, v: number): void {
  b[p + 6] = v >>> 8;
  b[p + 7] = v & 0xff;
}
/** Full UDP-over-IPv4 checksum for the datagram at p (length from the UDP header). */
export function fillChecksumV4(b: Uint8Array, ip: number, p: number): void {
  const len = length(b, p);
  setChecksumField(b, p, 0);
  let c = checksum(b, p, len, pseudoSumV4(b, ip, 17, len));
  if (c === 0) c = 0xffff;
  setChecksumField(b, p, c);
}
