/**
 * TCP header (RFC 9293), fixed part.
 *
 *    0                   1                   2                   3
 *    0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 *   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *   |        Source Port (0-1)      |     Destination Port (2-3)    |
 *   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *   |                    Sequence Number (4-7)                      |
 *   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *   |                 Acknowledgment Number (8-11)                  |
 *   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *   | Offset| Rsrvd |C|E|U|A|P|R|S|F|          Window (14-15)       |
 *   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *   |         Checksum (16-17)      |     Urgent Pointer (18-19)    |
 *   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 */
import { checksum, pseudoSumV4 } from './checksum';

export const SRC_PORT = 0; // 0-1
export const DST_PORT = 2; // 2-3
export const SEQ = 4; // 4-7
export const ACK = 8; // 8-11
export const DATA_OFFSET = 12; // 12 (high nibble)
export const FLAGS = 13; // 13
export const WINDOW = 14; // 14-15
export const CHECKSUM = 16; // 16-17
export const URGENT = 18; // 18-19
export const MIN_HEADER_LEN = 20;

export const FIN = 0x01;
export const SYN = 0x02;
export const RST = 0x04;
export const PSH = 0x08;
export const ACK_FLAG = 0x10;

export function srcPort(b: Uint8Array, p: number): number {
  return (b[p] << 8) | b[p + 1];
}
export function dstPort(b: Uint8Array, p: number): number {
  return (b[p + 2] << 8) | b[p + 3];
}
export function dataOffset(b: Uint8Array, p: number): number {
  return (b[p + DATA_OFFSET] >>> 4) << 2;
}
export function flags(b: Uint8Array, p: number): number {
  return b[p + FLAGS];
}
export function tcpChecksum(b: Uint8Array, p: number): number {
  return (b[p + CHECKSUM] << 8) | b[p + CHECKSUM + 1];
}
export function seq(b: Uint8Array, p: number): number {
  return ((b[p + 4] << 24) | (b[p + 5] << 16) | (b[p + 6] << 8) | b[p + 7]) >>> 0;
}
export function setSrcPort(b: Uint8Array, p: number, v: number): void {
  b[p] = v >>> 8;
  b[p + 1] = v & 0xff;
}
export function setDstPort(b: Uint8Array, p: number, v: number): void {
  b[p + 2] = v >>> 8;
  b[p + 3] = v & 0xff;
}
export function setChecksumField(b: Uint8Array, p: number, v: number): void {
  b[p + CHECKSUM] = v >>> 8;
  b[p + CHECKSUM + 1] = v & 0xff;
}
/** Full TCP-over-IPv4 checksum for a segment of `len` bytes at p. */
export function fillChecksumV4(b: Uint8Array, ip: number, p: number, len: number): void {
  setChecksumField(b, p, 0);
  setChecksumField(b, p, checksum(b, p, len, pseudoSumV4(b, ip, 6, len)));
}
export function ack(b: Uint8Array, p: number): number {
  return ((b[p + 8] << 24) | (b[p + 9] << 16) | (b[p + 10] << 8) | b[p + 11]) >>> 0;
}
export function window(b: Uint8Array, p: number): number {
  return (b[p + WINDOW] << 8) | b[p + WINDOW + 1];
}

/** Option kinds (RFC 9293 §3.1, RFC 7323). */
export const OPT_END = 0;
export const OPT_NOP = 1;
export const OPT_WSCALE = 3;

/**
 * The window-scale shift of a SYN's options (RFC 7323 §2.2), or -1 when the option is absent or
 * the options are malformed. Reads only inside [p + 20, p + data offset) and before `end`.
 */
export function windowScale(b: Uint8Array, p: number, end: number): number {
  let i = p + MIN_HEADER_LEN;
  const stop = Math.min(p + dataOffset(b, p), end);
  while (i < stop) {
    const kind = b[i];
    if (kind === OPT_END) return -1;
    if (kind === OPT_NOP) {
      i++;
      continue;
    }
    if (i + 1 >= stop) return -1;
    const len = b[i + 1];
    if (len < 2 || i + len > stop) return -1;
    if (kind === OPT_WSCALE) return len === 3 ? b[i + 2] : -1;
    i += len;
  }
  return -1;
}
/** Sequence / acknowledgment number as int32 bits (same bits as `seq`/`ack`; no heap number when returned). */
export function seqBits(b: Uint8Array, p: number): number {
  return (b[p + 4] << 24) | (b[p + 5] << 16) | (b[p + 6] << 8) | b[p + 7];
}
export function ackBits(b: Uint8Array, p: number): number {
  return (b[p + 8] << 24) | (b[p + 9] << 16) | (b[p + 10] << 8) | b[p + 11];
}
