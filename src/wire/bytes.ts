/**
 * Big-endian (network order) reads and writes of 8/16/32-bit fields at a byte offset: the one
 * place outside the header modules where bytes become numbers. Plain functions over
 * (bytes, offset), so call sites stay monomorphic and allocation-free.
 */

export function get16(b: Uint8Array, p: number): number {
  return (b[p] << 8) | b[p + 1];
}

export function put16(b: Uint8Array, p: number, v: number): void {
  b[p] = (v >>> 8) & 0xff;
  b[p + 1] = v & 0xff;
}

/** Unsigned 32-bit value. */
export function get32(b: Uint8Array, p: number): number {
  return ((b[p] << 24) | (b[p + 1] << 16) | (b[p + 2] << 8) | b[p + 3]) >>> 0;
}

export function put32(b: Uint8Array, p: number, v: number): void {
  b[p] = v >>> 24;
  b[p + 1] = (v >>> 16) & 0xff;
  b[p + 2] = (v >>> 8) & 0xff;
  b[p + 3] = v & 0xff;
}
