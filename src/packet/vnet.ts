/**
 * The virtio-net header that travels with a frame (struct virtio_net_hdr, 10 bytes, host byte
 * order — little-endian here), kept at offset 0 of the frame's arena slot.
 *
 *   0       flags        VIRTIO_NET_HDR_F_NEEDS_CSUM (1): the L4 checksum is partial
 *   1       gso_type     NONE 0, TCPV4 1, UDP 3, TCPV6 4, | ECN 0x80
 *   2-3     hdr_len      bytes of headers in front of the payload (GSO)
 *   4-5     gso_size     MSS for GSO segments
 *   6-7     csum_start   where the checksummed region starts, from the frame start
 *   8-9     csum_offset  where, from csum_start, the checksum field is
 *
 * Linux and QEMU guests send TCP with partial checksums and TSO super-frames by default: a port
 * that carries this header passes that work on to the kernel/guest on the other side; a port
 * that does not must receive finished frames, so `finishChecksum` completes them first.
 */
import { PacketArena } from './arena';
import { sum16 } from '../wire/checksum';

export const F_NEEDS_CSUM = 1;
export const F_DATA_VALID = 2;
export const GSO_NONE = 0;
export const GSO_TCPV4 = 1;
export const GSO_UDP = 3;
export const GSO_TCPV6 = 4;
export const GSO_ECN = 0x80;

export function flags(a: PacketArena, slot: number): number {
  return a.bytes[a.slotBase[slot]];
}
export function gsoType(a: PacketArena, slot: number): number {
  return a.bytes[a.slotBase[slot] + 1] & 0x7f;
}
/** A GSO super-frame (any gso_type, ECN bit included): the wire carries segments of it. */
export function isGso(a: PacketArena, slot: number): boolean {
  return a.bytes[a.slotBase[slot] + 1] !== GSO_NONE;
}
export function hdrLen(a: PacketArena, slot: number): number {
  const p = a.slotBase[slot] + 2;
  return a.bytes[p] | (a.bytes[p + 1] << 8);
}
export function gsoSize(a: PacketArena, slot: number): number {
  const p = a.slotBase[slot] + 4;
  return a.bytes[p] | (a.bytes[p + 1] << 8);
}
export function csumStart(a: PacketArena, slot: number): number {
  const p = a.slotBase[slot] + 6;
  return a.bytes[p] | (a.bytes[p + 1] << 8);
}
export function csumOffset(a: PacketArena, slot: number): number {
  const p = a.slotBase[slot] + 8;
  return a.bytes[p] | (a.bytes[p + 1] << 8);
}
export function needsCsum(a: PacketArena, slot: number): boolean {
  return (a.bytes[a.slotBase[slot]] & F_NEEDS_CSUM) !== 0;
}

function addLe16(u8: Uint8Array, p: number, delta: number): void {
  const v = (u8[p] | (u8[p + 1] << 8)) + delta;
  u8[p] = v & 0xff;
  u8[p + 1] = (v >>> 8) & 0xff;
}

/**
 * The frame grew (+n) or shrank (-n) in front of its L3 header (a VLAN push/pop): move
 * csum_start and hdr_len with it so the kernel checksums and segments the right bytes.
 */
export function shiftHeaders(a: PacketArena, slot: number, delta: number): void {
  const b = a.slotBase[slot];
  const u8 = a.bytes;
  if (u8[b] & F_NEEDS_CSUM) addLe16(u8, b + 6, delta);
  if (u8[b + 1] !== GSO_NONE) addLe16(u8, b + 2, delta);
}

/**
 * Complete a partial checksum in software: the sum from csum_start to the end of the frame
 * (the pseudo-header sum is already in the checksum field, as the kernel leaves it) is folded
 * into the field at csum_start + csum_offset, and the flag is cleared. Returns false when the
 * header is inconsistent with the frame (then the caller drops it).
 */
export function finishChecksum(a: PacketArena, slot: number): boolean {
  const base = a.slotBase[slot];
  const u8 = a.bytes;
  if ((u8[base] & F_NEEDS_CSUM) === 0) return true;
  const cs = u8[base + 6] | (u8[base + 7] << 8);
  const co = u8[base + 8] | (u8[base + 9] << 8);
  const len = a.len[slot];
  if (cs + co + 2 > len) return false;
  const f = a.start[slot];
  const s = sum16(u8, f + cs, len - cs);
  let c = ~s & 0xffff;
  // A UDP checksum that computes to 0 is sent as 0xffff (0 means "none"); harmless for TCP.
  if (c === 0 && co === 6) c = 0xffff;
  u8[f + cs + co] = c >>> 8;
  u8[f + cs + co + 1] = c & 0xff;
  u8[base] &= ~F_NEEDS_CSUM;
  return true;
}

/** Clear the header (a frame built by the switch itself, e.g. an ARP reply). */
export function clear(a: PacketArena, slot: number): void {
  a.bytes.fill(0, a.slotBase[slot], a.slotBase[slot] + 10);
}
