/**
 * IEEE 802.1Q / 802.1ad VLAN tag, as it sits after the source MAC.
 *
 *    0                   1                   2                   3
 *    0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 *   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *   |      TPID 0x8100/0x88a8 (0-1) | PCP |D|   VID (12 bits) (2-3) |
 *   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *   |   encapsulated EtherType (4-5)|
 *   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *
 * Offsets are relative to the tag (frame start + 12). The TCI is what OVS calls vlan_tci; in
 * flow keys OVS sets the CFI bit (0x1000, VLAN_CFI) to mean "a tag is present", so VID 0 with
 * priority 0 is still distinguishable from "no tag". We do the same.
 */

export const TPID = 0; // 0-1
export const TCI = 2; // 2-3
export const INNER_TYPE = 4; // 4-5
export const TAG_LEN = 4;

export const VID_MASK = 0x0fff;
export const PCP_SHIFT = 13;
/** OVS's VLAN_CFI: in a flow key, "a tag is present". */
export const TCI_PRESENT = 0x1000;

export function tpid(b: Uint8Array, tag: number): number {
  return (b[tag] << 8) | b[tag + 1];
}
export function tci(b: Uint8Array, tag: number): number {
  return (b[tag + TCI] << 8) | b[tag + TCI + 1];
}
export function setTci(b: Uint8Array, tag: number, v: number): void {
  b[tag + TCI] = (v >>> 8) & 0xff;
  b[tag + TCI + 1] = v & 0xff;
}
export function vid(b: Uint8Array, tag: number): number {
  return tci(b, tag) & VID_MASK;
}
export function pcp(b: Uint8Array, tag: number): number {
  return tci(b, tag) >>> PCP_SHIFT;
}
