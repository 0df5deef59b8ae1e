/**
 * Ethernet II header (IEEE 802.3 framing as used by every port here).
 *
 *    0                   1                   2                   3
 *    0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 *   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *   |                    Destination MAC (0-5)                      |
 *   +                               +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *   |                               |                               |
 *   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+       Source MAC (6-11)       +
 *   |                                                               |
 *   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *   |     EtherType (12-13)         |
 *   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *
 * Accessors take (bytes, off) where off is the frame start; callers check the frame is at
 * least HEADER_LEN long once, after which these cannot fail.
 */

export const DST = 0; // 0-5
export const SRC = 6; // 6-11
export const ETHERTYPE = 12; // 12-13
export const HEADER_LEN = 14;
/** Shortest frame on the wire without FCS; shorter frames are runts. */
export const MIN_FRAME = 60;

export const ETH_P_IPV4 = 0x0800;
export const ETH_P_ARP = 0x0806;
export const ETH_P_8021Q = 0x8100;
export const ETH_P_8021AD = 0x88a8;
export const ETH_P_IPV6 = 0x86dd;
/** EtherType values below this are 802.3 lengths, not types (OVS maps them to 0x05ff). */
export const ETH_TYPE_MIN = 0x0600;

export function etherType(b: Uint8Array, off: number): number {
  return (b[off + ETHERTYPE] << 8) | b[off + ETHERTYPE + 1];
}
export function setEtherType(b: Uint8Array, off: number, v: number): void {
  b[off + ETHERTYPE] = v >>> 8;
  b[off + ETHERTYPE + 1] = v & 0xff;
}

/** MAC as a 48-bit number (fits a double exactly): fast equality, hashing and formatting. */
export function dstMac(b: Uint8Array, off: number): number {
  return readMac(b, off + DST);
}
export function srcMac(b: Uint8Array, off: number): number {
  return readMac(b, off + SRC);
}
export function setDstMac(b: Uint8Array, off: number, mac: number): void {
  writeMac(b, off + DST, mac);
}
export function setSrcMac(b: Uint8Array, off: number, mac: number): void {
  writeMac(b, off + SRC, mac);
}
/** MAC as (hi16, lo32), the flow key's form: no division on the hot path. */
export function writeMacHiLo(b: Uint8Array, p: number, hi: number, lo: number): void {
  b[p] = hi >>> 8;
  b[p + 1] = hi & 0xff;
  b[p + 2] = lo >>> 24;
  b[p + 3] = (lo >>> 16) & 0xff;
  b[p + 4] = (lo >>> 8) & 0xff;
  b[p + 5] = lo & 0xff;
}
/**
 * Both MACs of the Ethernet header at `off` from (hi, lo) halves, as two 16-bit and two 32-bit
 * stores through `v` (a view of the same bytes) instead of twelve byte stores. The low halves may
 * be uint32 or their int32 bits.
 */
export function setMacsHiLo(v: DataView, off: number, dstHi: number, dstLo: number, srcHi: number, srcLo: number): void {
  v.setUint16(off + DST, dstHi & 0xffff);
  v.setInt32(off + DST + 2, dstLo | 0);
  v.setUint16(off + SRC, srcHi & 0xffff);
  v.setInt32(off + SRC + 2, srcLo | 0);
}

/** Group (multicast/broadcast) bit of the destination address. */
export function isMulticastDst(b: Uint8Array, off: number): boolean {
  return (b[off + DST] & 1) === 1;
}

export function readMac(b: Uint8Array, p: number): number {
  return (((b[p] << 8) | b[p + 1]) * 0x100000000) + (((b[p + 2] << 24) | (b[p + 3] << 16) | (b[p + 4] << 8) | b[p + 5]) >>> 0);
}
export function writeMac(b: Uint8Array, p: number, mac: number): void {
  writeMacHiLo(b, p, Math.floor(mac / 0x100000000), mac >>> 0);
}

export const BROADCAST_MAC = 0xffffffffffff;

/** "aa:bb:cc:dd:ee:ff" → 48-bit number; throws on malformed text (control plane only). */
export function parseMac(text: string): number {
  const m = /^([0-9a-fA-F]{1,2})[:-]([0-9a-fA-F]{1,2})[:-]([0-9a-fA-F]{1,2})[:-]([0-9a-fA-F]{1,2})[:-]([0-9a-fA-F]{1,2})[:-]([0-9a-fA-F]{1,2})$/.exec(text.trim());
  if (!m) throw new Error(`invalid MAC address '${text}' (expected aa:bb:cc:dd:ee:ff)`);
  let v = 0;
  for (let i = 1; i <= 6; i++) v = v * 256 + parseInt(m[i], 16);
  return v;
}

/** 48-bit number → "aa:bb:cc:dd:ee:ff". */
export function formatMac(mac: number): string {
  const parts: string[] = [];
  let v = mac;
  for (let i = 0; i < 6; i++) {
    parts.unshift((v % 256).toString(16).padStart(2, '0'));
    v = Math.floor(v / 256);
  }
  return parts.join(':');
}

export interface EthernetHeader {
  dst: string;
  src: string;
  etherType: number;
}

export function parseEthernet(b: Uint8Array, off = 0): EthernetHeader {
  if (b.length - off < HEADER_LEN) throw new Error(`ethernet: ${b.length - off} bytes, need ${HEADER_LEN}`);
  return { dst: formatMac(dstMac(b, off)), src: formatMac(srcMac(b, off)), etherType: etherType(b, off) };
}

export function emitEthernet(h: EthernetHeader, b: Uint8Array, off = 0): number {
  setDstMac(b, off, parseMac(h.dst));
  setSrcMac(b, off, parseMac(h.src));
  setEtherType(b, off, h.etherType);
  return HEADER_LEN;
}
