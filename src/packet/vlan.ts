/**
 * VLAN tag push / pop / rewrite on a frame in its arena slot. Pushing moves only the 12 MAC
 * bytes into the headroom and writes the tag; the payload never moves (VPP `l2_vtr_process`:
 * every VLAN operation is "pop N bytes, push M bytes, write these tag bytes"). The flow key,
 * the l3/l4 offsets and the virtio-net header offsets are kept in step, so later stages need
 * no re-parse.
 */
import { PacketArena } from './arena';
import { K_VLAN_TCI, K_VLAN_TCI2, KEY_SHIFT } from './flow-key';
import { TCI_PRESENT } from '../wire/vlan';
import { shiftHeaders } from './vnet';

/*
 * The 12 MAC bytes move 4 bytes down (push) or up (pop) as three 32-bit words through the
 * arena's DataView (TurboFan inlines its loads and stores, unaligned is fine): `copyWithin` is a
 * C++ builtin that the optimizing compiler does not inline (its entry and argument checks cost
 * more than moving 12 bytes), and twelve byte moves were 24 bounds-checked accesses. Words are
 * read signed (getInt32): where the function runs unoptimized the builtin then returns a small
 * integer, never a heap number. The order of each move makes the overlapping copy safe.
 */
function moveMacsDown(v: DataView, f: number): void {
  v.setInt32(f - 4, v.getInt32(f));
  v.setInt32(f, v.getInt32(f + 4));
  v.setInt32(f + 4, v.getInt32(f + 8));
}

function moveMacsUp(v: DataView, f: number): void {
  v.setInt32(f + 12, v.getInt32(f + 8));
  v.setInt32(f + 8, v.getInt32(f + 4));
  v.setInt32(f + 4, v.getInt32(f));
}

/**
 * Insert an outer tag (tpid 0x8100 or 0x88a8) with `tci` (12-bit VID + PCP; TCI_PRESENT is
 * stripped before writing). Returns false if the slot has no headroom left (caller drops).
 */
export function pushTag(a: PacketArena, slot: number, tpid: number, tci: number): boolean {
  if (a.headroomLeft(slot) < 4) return false;
  const v = a.view;
  const f = a.start[slot];
  moveMacsDown(v, f);
  const wire = tci & ~TCI_PRESENT & 0xffff;
  // The tag (TPID, TCI) as one big-endian word at the new start + 12 = f + 8.
  v.setInt32(f + 8, ((tpid & 0xffff) << 16) | wire);
  a.start[slot] = f - 4;
  a.len[slot] += 4;
  if (a.l3[slot] !== 0) a.l3[slot] += 4;
  if (a.l4[slot] !== 0) a.l4[slot] += 4;
  const k = slot << KEY_SHIFT;
  a.key[k + K_VLAN_TCI2] = a.key[k + K_VLAN_TCI];
  a.key[k + K_VLAN_TCI] = wire | TCI_PRESENT;
  shiftHeaders(a, slot, 4);
  return true;
}

/** Remove the outer tag if there is one (no-op on an untagged frame). */
export function popTag(a: PacketArena, slot: number): void {
  const k = slot << KEY_SHIFT;
  if (a.key[k + K_VLAN_TCI] === 0) return;
  const f = a.start[slot];
  moveMacsUp(a.view, f);
  a.start[slot] = f + 4;
  a.len[slot] -= 4;
  if (a.l3[slot] !== 0) a.l3[slot] -= 4;
  if (a.l4[slot] !== 0) a.l4[slot] -= 4;
  a.key[k + K_VLAN_TCI] = a.key[k + K_VLAN_TCI2];
  a.key[k + K_VLAN_TCI2] = 0;
  shiftHeaders(a, slot, -4);
}

/** Rewrite the outer tag's TCI bits selected by `mask` (e.g. VID 0x0fff, PCP 0xe000). */
export function rewriteTci(a: PacketArena, slot: number, value: number, mask: number): void {
  const k = slot << KEY_SHIFT;
  const cur = a.key[k + K_VLAN_TCI];
  if (cur === 0) return;
  const wire = ((cur & ~mask) | (value & mask)) & ~TCI_PRESENT & 0xffff;
  const t = a.start[slot] + 14;
  a.bytes[t] = wire >>> 8;
  a.bytes[t + 1] = wire & 0xff;
  a.key[k + K_VLAN_TCI] = wire | TCI_PRESENT;
}

/** Set the VID of the outer tag, pushing an 802.1Q tag first if there is none (OVS mod_vlan_vid). */
export function setVid(a: PacketArena, slot: number, vid: number): boolean {
  const k = slot << KEY_SHIFT;
  if (a.key[k + K_VLAN_TCI] === 0) return pushTag(a, slot, 0x8100, vid & 0xfff);
  rewriteTci(a, slot, vid, 0x0fff);
  return true;
}
