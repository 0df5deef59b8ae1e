/**
 * ICMPv4 (RFC 792). Echo carries identifier+sequence in the "rest of header"; errors carry
 * unused/next-hop-MTU there and the offending IP header + 8 bytes after it.
 *
 *    0                   1                   2                   3
 *    0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 *   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *   |   Type (0)    |   Code (1)    |          Checksum (2-3)       |
 *   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *   |  Identifier / unused (4-5)    | Sequence / next-hop MTU (6-7) |
 *   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 */
import { checksum } from './checksum';

export const TYPE = 0; // 0
export const CODE = 1; // 1
export const CHECKSUM = 2; // 2-3
export const ID = 4; // 4-5 (echo)
export const SEQ = 6; // 6-7 (echo)
export const MTU = 6; // 6-7 (frag needed)
export const HEADER_LEN = 8;

export const ECHO_REPLY = 0;
export const DEST_UNREACH = 3;
export const ECHO_REQUEST = 8;
export const TIME_EXCEEDED = 11;

export const UNREACH_NET = 0;
export const UNREACH_HOST = 1;
export const UNREACH_PORT = 3;
export const UNREACH_FRAG_NEEDED = 4;

export function type(b: Uint8Array, p: number): number {
  return b[p + TYPE];
}
export function code(b: Uint8Array, p: number): number {
  return b[p + CODE];
}
export function icmpChecksum(b: Uint8Array, p: number): number {
  return (b[p + CHECKSUM] << 8) | b[p + CHECKSUM + 1];
}
export function echoId(b: Uint8Array, p: number): number {
  return (b[p + ID] << 8) | b[p + ID + 1];
}
export function echoSeq(b: Uint8Array, p: number): number {
  return (b[p + SEQ] << 8) | b[p + SEQ + 1];
}
export function setType(b: Uint8Array, p: number, v: number): void {
  b[p + TYPE] = v;
}
export function setCode(b: Uint8Array, p: number, v: number): void {
  b[p + CODE] = v;
}
export function setEchoId(b: Uint8Array, p: number, v: number): void {
  b[p + ID] = v >>> 8;
  b[p + ID + 1] = v & 0xff;
}
export function setChecksumField(b: Uint8Array, p: number, v: number): void {
  b[p + CHECKSUM] = v >>> 8;
  b[p + CHECKSUM + 1] = v & 0xff;
}
/** True for types whose body quotes an offending datagram (NAT must translate it too). */
export function isError(t: number): boolean {
  return t === DEST_UNREACH || t === TIME_EXCEEDED || t === 4 || t === 5 || t === 12;
}
/** Recompute over the whole ICMP message [p, p+len). */
export function fillChecksum(b: Uint8Array, p: number, len: number): void {
  b[p + CHECKSUM] = 0;
  b[p + CHECKSUM + 1] = 0;
  setChecksumField(b, p, checksum(b, p, len));
}
export function checksumValid(b: Uint8Array, p: number, len: number): boolean {
  return checksum(b, p, len) === 0;
}
