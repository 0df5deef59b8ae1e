/**
 * IPv4 header (RFC 791).
 *
 *    0                   1                   2                   3
 *    0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 *   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *   |Version|  IHL  |Type of Service|          Total Length         |  0-3
 *   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *   |         Identification        |Flags|      Fragment Offset    |  4-7
 *   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *   |  Time to Live |    Protocol   |         Header Checksum       |  8-11
 *   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *   |                       Source Address                          | 12-15
 *   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *   |                    Destination Address                        | 16-19
 *   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *
 * `check(b, ip, avail)` validates version, IHL and total length against the bytes available;
 * after it returns OK the accessors cannot read outside the header.
 */
import { applyDelta, checksum, delta16, patch16, patch32 } from './checksum';

export const VER_IHL = 0; // 0
export const TOS = 1; // 1
export const TOTAL_LEN = 2; // 2-3
export const IDENT = 4; // 4-5
export const FLAGS_FRAG = 6; // 6-7
export const TTL = 8; // 8
export const PROTOCOL = 9; // 9
export const CHECKSUM = 10; // 10-11
export const SRC = 12; // 12-15
export const DST = 16; // 16-19
export const MIN_HEADER_LEN = 20;

export const FLAG_DF = 0x4000;
export const FLAG_MF = 0x2000;
export const FRAG_OFFSET_MASK = 0x1fff;

export const PROTO_ICMP = 1;
export const PROTO_TCP = 6;
export const PROTO_UDP = 17;
export const PROTO_ICMPV6 = 58;

/** Result codes of `check`, named as the drop reasons they become. */
export const OK = 0;
export const ERR_TRUNCATED = 1; // fewer than 20 bytes
export const ERR_VERSION = 2; // version is not 4
export const ERR_IHL = 3; // IHL < 5 or header past the end
export const ERR_TOTAL_LEN = 4; // total length < IHL*4 or past the end of the frame

export function check(b: Uint8Array, ip: number, avail: number): number {
  if (avail < MIN_HEADER_LEN) return ERR_TRUNCATED;
  const vi = b[ip];
  if (vi >>> 4 !== 4) return ERR_VERSION;
  const hl = (vi & 0x0f) << 2;
  if (hl < MIN_HEADER_LEN || hl > avail) return ERR_IHL;
  const tl = (b[ip + 2] << 8) | b[ip + 3];
  if (tl < hl || tl > avail) return ERR_TOTAL_LEN;
  return OK;
}

/*
 * The header's first three 32-bit words as one big-endian load each (the parse pass reads them
 * through a DataView, as int32 bits): word 0 = version/IHL, TOS, total length; word 1 =
 * identification, flags/fragment offset; word 2 = TTL, protocol, checksum.
 */
export const WORD0 = VER_IHL;
export const WORD1 = IDENT;
export const WORD2 = TTL;

/** `check` on word 0, given that `avail` >= MIN_HEADER_LEN (the caller checked it before the load). */
export function checkWord0(w0: number, avail: number): number {
  if (w0 >>> 28 !== 4) return ERR_VERSION;
  const hl = (w0 >>> 22) & 0x3c;
  if (hl < MIN_HEADER_LEN || hl > avail) return ERR_IHL;
  const tl = w0 & 0xffff;
  if (tl < hl || tl > avail) return ERR_TOTAL_LEN;
  return OK;
}
/** Header length in bytes (IHL * 4), from word 0. */
export function headerLenOf(w0: number): number {
  return (w0 >>> 22) & 0x3c;
}
export function tosOf(w0: number): number {
  return (w0 >>> 16) & 0xff;
}
export function totalLenOf(w0: number): number {
  return w0 & 0xffff;
}
/** Flags and fragment offset (the 16 bits flagsFrag reads), from word 1. */
export function flagsFragOf(w1: number): number {
  return w1 & 0xffff;
}
export function ttlOf(w2: number): number {
  return w2 >>> 24;
}
export function protocolOf(w2: number): number {
  return (w2 >>> 16) & 0xff;
}

export function version(b: Uint8Array, ip: number): number {
  return b[ip] >>> 4;
}
export function headerLen(b: Uint8Array, ip: number): number {
  return (b[ip] & 0x0f) << 2;
}
export function tos(b: Uint8Array, ip: number): number {
  return b[ip + TOS];
}
export function totalLen(b: Uint8Array, ip: number): number {
  return (b[ip + TOTAL_LEN] << 8) | b[ip + TOTAL_LEN + 1];
}
export function ident(b: Uint8Array, ip: number): number {
  return (b[ip + IDENT] << 8) | b[ip + IDENT + 1];
}
export function flagsFrag(b: Uint8Array, ip: number): number {
  return (b[ip + FLAGS_FRAG] << 8) | b[ip + FLAGS_FRAG + 1];
}
export function dontFragment(b: Uint8Array, ip: number): boolean {
  return (b[ip + FLAGS_FRAG] & 0x40) !== 0;
}
/** True for any fragment but the first (no L4 header in it). */
export function isLaterFragment(b: Uint8Array, ip: number): boolean {
  return (flagsFrag(b, ip) & FRAG_OFFSET_MASK) !== 0;
}
export function isFragment(b: Uint8Array, ip: number): boolean {
  return (flagsFrag(b, ip) & (FLAG_MF | FRAG_OFFSET_MASK)) !== 0;
}
export function ttl(b: Uint8Array, ip: number): number {
  return b[ip + TTL];
}
export function protocol(b: Uint8Array, ip: number): number {
  return b[ip + PROTOCOL];
}
export function headerChecksum(b: Uint8Array, ip: number): number {
  return (b[ip + CHECKSUM] << 8) | b[ip + CHECKSUM + 1];
}
export function src(b: Uint8Array, ip: number): number {
  return srcBits(b, ip) >>> 0;
}
export function dst(b: Uint8Array, ip: number): number {
  return dstBits(b, ip) >>> 0;
}
/**
 * `src`/`dst` as int32 bits, for the per-packet rewrites that only compare and take bits: an
 * address of 2^31 or more (128.0.0.0/1) returned as uint32 from a call V8 does not inline is a
 * fresh 16-byte heap number; as int32 it is a small integer.
 */
export function srcBits(b: Uint8Array, ip: number): number {
  return (b[ip + 12] << 24) | (b[ip + 13] << 16) | (b[ip + 14] << 8) | b[ip + 15];
}
export function dstBits(b: Uint8Array, ip: number): number {
  return (b[ip + 16] << 24) | (b[ip + 17] << 16) | (b[ip + 18] << 8) | b[ip + 19];
}

export function setTotalLen(b: Uint8Array, ip: number, v: number): void {
  b[ip + TOTAL_LEN] = v >>> 8;
  b[ip + TOTAL_LEN + 1] = v & 0xff;
}
export function setIdent(b: Uint8Array, ip: number, v: number): void {
  b[ip + IDENT] = v >>> 8;
  b[ip + IDENT + 1] = v & 0xff;
}
export function setFlagsFrag(b: Uint8Array, ip: number, v: number): void {
  b[ip + FLAGS_FRAG] = v >>> 8;
  b[ip + FLAGS_FRAG + 1] = v & 0xff;
}
export function setProtocol(b: Uint8Array, ip: number, v: number): void {
  b[ip + PROTOCOL] = v;
}
export function setHeaderChecksum(b: Uint8Array, ip: number, v: number): void {
  b[ip + CHECKSUM] = v >>> 8;
  b[ip + CHECKSUM + 1] = v & 0xff;
}
export function writeAddr(b: Uint8Array, p: number, v: number): void {
  b[p] = v >>> 24;
  b[p + 1] = (v >>> 16) & 0xff;
  b[p + 2] = (v >>> 8) & 0xff;
  b[p + 3] = v & 0xff;
}

/**
 * Set TTL with an incremental header-checksum update (TTL shares a 16-bit word with protocol):
 * word 2 (TTL, protocol, checksum) as one 32-bit load and store through `v`, a view of the
 * packet's bytes (the arena's `view`), instead of five byte loads and three byte stores.
 */
export function setTtl(v: DataView, ip: number, ttl: number): void {
  const w = v.getInt32(ip + WORD2);
  const old = w >>> 16;
  const nw = ((ttl & 0xff) << 8) | (old & 0xff);
  v.setInt32(ip + WORD2, (nw << 16) | applyDelta(w & 0xffff, delta16(old, nw)));
}
/** Set TOS (DSCP+ECN) with an incremental checksum update (TOS shares a word with ver/IHL). */
export function setTos(b: Uint8Array, ip: number, v: number): void {
  const old = (b[ip] << 8) | b[ip + TOS];
  b[ip + TOS] = v;
  patch16(b, ip + CHECKSUM, old, (b[ip] << 8) | v);
}
/** Set source address, header checksum updated incrementally. L4 checksums are the caller's. */
export function setSrc(b: Uint8Array, ip: number, v: number): void {
  const old = srcBits(b, ip);
  writeAddr(b, ip + SRC, v);
  patch32(b, ip + CHECKSUM, old, v);
}
export function setDst(b: Uint8Array, ip: number, v: number): void {
  const old = dstBits(b, ip);
  writeAddr(b, ip + DST, v);
  patch32(b, ip + CHECKSUM, old, v);
}

/** Recompute the header checksum from scratch. */
export function fillChecksum(b: Uint8Array, ip: number): void {
  b[ip + CHECKSUM] = 0;
  b[ip + CHECKSUM + 1] = 0;
  setHeaderChecksum(b, ip, checksum(b, ip, headerLen(b, ip)));
}
/**
 * The header checksum verifies (RFC 1071: the header's 16-bit words sum to 0xffff), read as
 * 32-bit words through `v` (a view of the packet's bytes, the arena's `view`): `hlen` / 4 loads
 * instead of two byte loads per 16-bit word. `hlen` is the header length (IHL * 4, checked by
 * the parse).
 */
export function checksumValid(v: DataView, ip: number, hlen: number): boolean {
  let s = 0;
  for (let i = 0; i < hlen; i += 4) {
    const w = v.getInt32(ip + i);
    s += (w >>> 16) + (w & 0xffff);
  }
  s = (s & 0xffff) + (s >>> 16);
  s = (s & 0xffff) + (s >>> 16);
  return s === 0xffff;
}

// ---- addresses as text (control plane) ----

export function parseAddr(text: string): number {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(text.trim());
  if (!m) throw new Error(`invalid IPv4 address '${text}'`);
  let v = 0;
  for (let i = 1; i <= 4; i++) {
    const o = Number(m[i]);
    if (o > 255) throw new Error(`invalid IPv4 address '${text}' (octet ${o} > 255)`);
    v = v * 256 + o;
  }
  return v >>> 0;
}
export function formatAddr(v: number): string {
  return `${v >>> 24}.${(v >>> 16) & 0xff}.${(v >>> 8) & 0xff}.${v & 0xff}`;
}
/** Prefix length → netmask (0..32). */
export function prefixMask(len: number): number {
  return len === 0 ? 0 : (0xffffffff << (32 - len)) >>> 0;
}
/** "10.0.0.1/24" → { addr, len }; a bare address is /32. */
export function parseCidr(text: string): { addr: number; len: number } {
  const [a, l] = text.trim().split('/');
  const addr = parseAddr(a);
  if (l === undefined) return { addr, len: 32 };
  if (!/^\d{1,2}$/.test(l) || Number(l) > 32) throw new Error(`invalid prefix length in '${text}' (0..32)`);
  return { addr, len: Number(l) };
}

export interface Ipv4Header {
  version: number;
  ihl: number;
  tos: number;
  totalLength: number;
  ident: number;
  flags: number;
  fragOffset: number;
  ttl: number;
  protocol: number;
  checksum: number;
  src: string;
  dst: string;
}

export function parseIpv4(b: Uint8Array, ip = 0): Ipv4Header {
  const err = check(b, ip, b.length - ip);
  if (err !== OK) throw new Error(`ipv4: malformed header (code ${err})`);
  const ff = flagsFrag(b, ip);
  return {
    version: 4,
    ihl: headerLen(b, ip) >> 2,
    tos: tos(b, ip),
    totalLength: totalLen(b, ip),
    ident: ident(b, ip),
    flags: ff >>> 13,
    fragOffset: ff & FRAG_OFFSET_MASK,
    ttl: ttl(b, ip),
    protocol: protocol(b, ip),
    checksum: headerChecksum(b, ip),
    src: formatAddr(src(b, ip)),
    dst: formatAddr(dst(b, ip)),
  };
}

/** Emit a 20-byte header (no options) with a correct checksum; returns its length. */
export function emitIpv4(
  h: { tos?: number; totalLength: number; ident?: number; flags?: number; fragOffset?: number; ttl?: number; protocol: number; src: string | number; dst: string | number },
  b: Uint8Array,
  ip = 0,
): number {
  b[ip] = 0x45;
  b[ip + TOS] = h.tos ?? 0;
  setTotalLen(b, ip, h.totalLength);
  setIdent(b, ip, h.ident ?? 0);
  setFlagsFrag(b, ip, ((h.flags ?? 0) << 13) | (h.fragOffset ?? 0));
  b[ip + TTL] = h.ttl ?? 64;
  b[ip + PROTOCOL] = h.protocol;
  writeAddr(b, ip + SRC, typeof h.src === 'number' ? h.src : parseAddr(h.src));
  writeAddr(b, ip + DST, typeof h.dst === 'number' ? h.dst : parseAddr(h.dst));
  fillChecksum(b, ip);
  return MIN_HEADER_LEN;
}
