/**
 * Internet checksum (RFC 1071) — full computation and incremental update (RFC 1624, eqn. 3:
 * HC' = ~(~HC + ~m + m')) — plus the TCP/UDP pseudo-header and the UDP rule that a transmitted
 * checksum of 0 means "none" (RFC 768), so an update must leave 0 alone and a computed 0 is sent
 * as 0xffff. gVisor `header/checksum.go`, Click `DecIPTTL` do the same.
 */

/** One's-complement sum of bytes [p, p+len) folded into 16 bits, starting from `initial`. */
export function sum16(b: Uint8Array, p: number, len: number, initial = 0): number {
  let s = initial;
  const end = p + (len & ~1);
  // 16-bit words; the accumulator stays exact in a double (no 32-bit overflow worries).
  for (let i = p; i < end; i += 2) s += (b[i] << 8) | b[i + 1];
  if (len & 1) s += b[end] << 8;
  while (s > 0xffff) s = (s & 0xffff) + Math.floor(s / 0x10000);
  return s;
}

/** Checksum field value for bytes [p, p+len) (the field itself must be zero or excluded). */
export function checksum(b: Uint8Array, p: number, len: number, initial = 0): number {
  return ~sum16(b, p, len, initial) & 0xffff;
}

/** Sum of the IPv4 pseudo-header (addresses read from the IPv4 header at `ip`). */
export function pseudoSumV4(b: Uint8Array, ip: number, proto: number, l4len: number): number {
  let s = ((b[ip + 12] << 8) | b[ip + 13]) + ((b[ip + 14] << 8) | b[ip + 15]);
  s += ((b[ip + 16] << 8) | b[ip + 17]) + ((b[ip + 18] << 8) | b[ip + 19]);
  s += proto + l4len;
  return s;
}

/** Sum of the IPv6 pseudo-header (RFC 8200 §8.1) for the header at `ip`. */
export function pseudoSumV6(b: Uint8Array, ip: number, proto: number, l4len: number): number {
  let s = 0;
  for (let i = 8; i < 40; i += 2) s += (b[ip + i] << 8) | b[ip + i + 1];
  s += Math.floor(l4len / 0x10000) + (l4len & 0xffff) + proto;
  return s;
}

/**
 * Incremental update (RFC 1624 eqn. 3, HC' = ~(~HC + ~m + m')): the terms (~m + m') of each
 * changed 16-bit word are added up (`delta16`, `delta32`; unfolded, so a few dozen fit in a small
 * integer) and applied to the checksum once (`applyDelta`): one word changing is
 * `applyDelta(c, delta16(m, m'))`, several are one read and one write of the field instead of one
 * per word. The result is the same as applying eqn. 3 word by word: every term is non-negative,
 * and folding a sum of such terms in one go or in steps gives the same value.
 */
export function delta16(oldW: number, newW: number): number {
  return (~oldW & 0xffff) + (newW & 0xffff);
}
/** `delta16` of both halves of a 32-bit word (int32 bits or uint32: an IPv4 address, both ports). */
export function delta32(oldV: number, newV: number): number {
  return ((~oldV >>> 16) & 0xffff) + (~oldV & 0xffff) + (newV >>> 16) + (newV & 0xffff);
}
/** The checksum `csum` after changes whose `delta16`/`delta32` terms add up to `d` (RFC 1624 eqn. 3). */
export function applyDelta(csum: number, d: number): number {
  let s = (~csum & 0xffff) + d;
  s = (s & 0xffff) + (s >>> 16);
  s = (s & 0xffff) + (s >>> 16);
  return ~s & 0xffff;
}
/** A folded, not complemented sum (a partial checksum field, S) after changes adding up to `d`: S + ~m + m'. */
export function applyDeltaToSum(sum: number, d: number): number {
  let s = (sum & 0xffff) + d;
  s = (s & 0xffff) + (s >>> 16);
  s = (s & 0xffff) + (s >>> 16);
  return s;
}

/** Read the 16-bit checksum at p, apply a 16-bit change, write it back. */
export function patch16(b: Uint8Array, p: number, oldW: number, newW: number): void {
  const c = applyDelta((b[p] << 8) | b[p + 1], delta16(oldW, newW));
  b[p] = c >>> 8;
  b[p + 1] = c & 0xff;
}

/** Read the 16-bit checksum at p, apply a 32-bit change, write it back. */
export function patch32(b: Uint8Array, p: number, oldV: number, newV: number): void {
  const c = applyDelta((b[p] << 8) | b[p + 1], delta32(oldV, newV));
  b[p] = c >>> 8;
  b[p + 1] = c & 0xff;
}

/**
 * UDP variant: a stored 0 means "no checksum" and stays 0; a result of 0 is sent as 0xffff.
 */
export function patchUdp16(b: Uint8Array, p: number, oldW: number, newW: number): void {
  const cur = (b[p] << 8) | b[p + 1];
  if (cur === 0) return;
  let c = applyDelta(cur, delta16(oldW, newW));
  if (c === 0) c = 0xffff;
  b[p] = c >>> 8;
  b[p + 1] = c & 0xff;
}
export function patchUdp32(b: Uint8Array, p: number, oldV: number, newV: number): void {
  const cur = (b[p] << 8) | b[p + 1];
  if (cur === 0) return;
  let c = applyDelta(cur, delta32(oldV, newV));
  if (c === 0) c = 0xffff;
  b[p] = c >>> 8;
  b[p + 1] = c & 0xff;
}
