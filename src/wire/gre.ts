/**
 * GRE header (RFC 2784, key and sequence number extensions RFC 2890), as Linux `gretap` and OVS
 * `gre` ports use it: protocol 0x6558 (Transparent Ethernet Bridging) carries an Ethernet frame.
 *
 *    0                   1                   2                   3
 *    0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 *   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *   |C| |K|S| Reserved0       | Ver |         Protocol Type         |  0-3
 *   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *   |      Checksum (optional)      |       Reserved1 (Optional)    |  when C
 *   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *   |                         Key (optional)                        |  when K
 *   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *   |                 Sequence Number (Optional)                    |  when S
 *   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *
 * The optional words come in the order C, K, S. Any other flag bit (routing, strict source route,
 * recursion control, reserved) or a version other than 0 is refused, as Linux's gre_parse_header
 * does. The checksum, when present, covers the GRE header and payload and is verified.
 *
 * `check(b, p, avail)` validates flags, version, protocol, length and checksum; after it returns
 * OK the accessors cannot read outside the header.
 */
import { checksum } from './checksum';

export const FLAGS = 0; // 0-1 (flags and version)
export const PROTOCOL = 2; // 2-3
export const BASE_LEN = 4;
export const FLAG_C = 0x8000;
export const FLAG_K = 0x2000;
export const FLAG_S = 0x1000;
export const VERSION_MASK = 0x0007;
/** Every flag bit we understand; anything else set in the first 13 bits is refused. */
const KNOWN = FLAG_C | FLAG_K | FLAG_S;
/** Transparent Ethernet Bridging: an Ethernet frame follows. */
export const PROTO_TEB = 0x6558;
/** IP protocol number of GRE. */
export const IP_PROTO = 47;
export const MAX_LEN = 16;

export const OK = 0;
export const ERR_TRUNCATED = 1; // shorter than the header its flags announce
export const ERR_FLAGS = 2; // routing / strict route / recursion / reserved bits set
export const ERR_VERSION = 3; // version != 0
export const ERR_PROTOCOL = 4; // not 0x6558 (not an Ethernet frame)
export const ERR_CHECKSUM = 5; // C set and the checksum is wrong

export function flagsVersion(b: Uint8Array, p: number): number {
  return (b[p] << 8) | b[p + 1];
}
export function protocol(b: Uint8Array, p: number): number {
  return (b[p + 2] << 8) | b[p + 3];
}
/** Header length its flags announce (4, plus 4 for each of C, K, S). */
export function headerLen(b: Uint8Array, p: number): number {
  return lenFor(flagsVersion(b, p));
}
export function lenFor(fv: number): number {
  return BASE_LEN + ((fv & FLAG_C) !== 0 ? 4 : 0) + ((fv & FLAG_K) !== 0 ? 4 : 0) + ((fv & FLAG_S) !== 0 ? 4 : 0);
}
export function hasKey(b: Uint8Array, p: number): boolean {
  return (b[p] & (FLAG_K >>> 8)) !== 0;
}
/** The key (0 when absent). */
export function key(b: Uint8Array, p: number): number {
  if ((b[p] & (FLAG_K >>> 8)) === 0) return 0;
  const o = p + ((b[p] & (FLAG_C >>> 8)) !== 0 ? 8 : 4);
  return ((b[o] << 24) | (b[o + 1] << 16) | (b[o + 2] << 8) | b[o + 3]) >>> 0;
}

/** `avail` counts the GRE header and everything after it (the checksum covers the payload). */
export function check(b: Uint8Array, p: number, avail: number): number {
  if (avail < BASE_LEN) return ERR_TRUNCATED;
  const fv = flagsVersion(b, p);
  if ((fv & VERSION_MASK) !== 0) return ERR_VERSION;
  if ((fv & 0xfff8 & ~KNOWN) !== 0) return ERR_FLAGS;
  if (avail < lenFor(fv)) return ERR_TRUNCATED;
  if (protocol(b, p) !== PROTO_TEB) return ERR_PROTOCOL;
  if ((fv & FLAG_C) !== 0 && checksum(b, p, avail, 0) !== 0) return ERR_CHECKSUM;
  return OK;
}

/** Write a header with a key (keyed: true) or without; no checksum, no sequence number. Returns its length. */
export function write(b: Uint8Array, p: number, keyed: boolean, keyValue: number): number {
  b[p] = keyed ? FLAG_K >>> 8 : 0;
  b[p + 1] = 0;
  b[p + 2] = PROTO_TEB >>> 8;
  b[p + 3] = PROTO_TEB & 0xff;
  if (!keyed) return BASE_LEN;
  b[p + 4] = keyValue >>> 24;
  b[p + 5] = (keyValue >>> 16) & 0xff;
  b[p + 6] = (keyValue >>> 8) & 0xff;
  b[p + 7] = keyValue & 0xff;
  return BASE_LEN + 4;
}

// ---- allocating level: tests, trace, CLI ----

export interface GreHeader {
  checksumPresent: boolean;
  keyPresent: boolean;
  seqPresent: boolean;
  version: number;
  protocol: number;
  key?: number;
  seq?: number;
  headerLen: number;
}

export function decode(b: Uint8Array, p = 0): GreHeader {
  if (b.length - p < BASE_LEN) throw new RangeError(`gre: ${b.length - p} bytes, need ${BASE_LEN}`);
  const fv = flagsVersion(b, p);
  const len = lenFor(fv);
  if (b.length - p < len) throw new RangeError(`gre: ${b.length - p} bytes, flags announce ${len}`);
  const h: GreHeader = {
    checksumPresent: (fv & FLAG_C) !== 0,
    keyPresent: (fv & FLAG_K) !== 0,
    seqPresent: (fv & FLAG_S) !== 0,
    version: fv & VERSION_MASK,
    protocol: protocol(b, p),
    headerLen: len,
  };
  if (h.keyPresent) h.key = key(b, p);
  if (h.seqPresent) {
    const o = p + len - 4;
    h.seq = ((b[o] << 24) | (b[o + 1] << 16) | (b[o + 2] << 8) | b[o + 3]) >>> 0;
  }
  return h;
}

/** A header with the key when given (transparent Ethernet bridging). */
export function encode(keyValue?: number): Uint8Array {
  if (keyValue !== undefined && (!Number.isInteger(keyValue) || keyValue < 0 || keyValue > 0xffffffff)) throw new RangeError(`gre: key ${keyValue} outside 0..4294967295`);
  const b = new Uint8Array(keyValue === undefined ? BASE_LEN : BASE_LEN + 4);
  write(b, 0, keyValue !== undefined, keyValue ?? 0);
  return b;
}
