/**
 * VXLAN header (RFC 7348), carried in UDP (IANA port 4789) over an IP underlay.
 *
 *    0                   1                   2                   3
 *    0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 *   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *   |R|R|R|R|I|R|R|R|            Reserved                           |  0-3
 *   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *   |                VXLAN Network Identifier (VNI) |   Reserved    |  4-7
 *   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *
 * The inner Ethernet frame follows at byte 8. The I flag says the VNI is valid; RFC 7348 says a
 * receiver MUST ignore the reserved bits (Linux and OVS do: a header with other bits set is still
 * VXLAN as long as I is set), so only I is checked.
 *
 * `check(b, p, avail)` validates length and the I flag; after it returns OK `vni` cannot fail.
 */

export const FLAGS = 0; // 0
export const VNI = 4; // 4-6
export const HEADER_LEN = 8;
/** The I flag: the VNI field is valid. */
export const FLAG_I = 0x08;
/** IANA's VXLAN UDP port (Linux `dstport 4789`, OVS's default). */
export const UDP_PORT = 4789;
export const MAX_VNI = 0xffffff;

/** Result codes of `check`, named as the drop reasons they become. */
export const OK = 0;
export const ERR_TRUNCATED = 1; // fewer than 8 bytes
export const ERR_NO_VNI = 2; // I flag clear

export function check(b: Uint8Array, p: number, avail: number): number {
  if (avail < HEADER_LEN) return ERR_TRUNCATED;
  if ((b[p] & FLAG_I) === 0) return ERR_NO_VNI;
  return OK;
}

export function flags(b: Uint8Array, p: number): number {
  return b[p];
}
export function vni(b: Uint8Array, p: number): number {
  return (b[p + 4] << 16) | (b[p + 5] << 8) | b[p + 6];
}

/** Write a whole header: I flag, the VNI, every reserved bit zero. */
export function write(b: Uint8Array, p: number, vniValue: number): void {
  b[p] = FLAG_I;
  b[p + 1] = 0;
  b[p + 2] = 0;
  b[p + 3] = 0;
  b[p + 4] = (vniValue >>> 16) & 0xff;
  b[p + 5] = (vniValue >>> 8) & 0xff;
  b[p + 6] = vniValue & 0xff;
  b[p + 7] = 0;
}

// ---- allocating level: tests, trace, CLI ----

export interface VxlanHeader {
  flags: number;
  vni: number;
}

export function decode(b: Uint8Array, p = 0): VxlanHeader {
  if (b.length - p < HEADER_LEN) throw new RangeError(`vxlan: ${b.length - p} bytes, need ${HEADER_LEN}`);
  return { flags: flags(b, p), vni: vni(b, p) };
}

export function encode(vniValue: number): Uint8Array {
  if (!Number.isInteger(vniValue) || vniValue < 0 || vniValue > MAX_VNI) throw new RangeError(`vxlan: VNI ${vniValue} outside 0..${MAX_VNI}`);
  const b = new Uint8Array(HEADER_LEN);
  write(b, 0, vniValue);
  return b;
}
