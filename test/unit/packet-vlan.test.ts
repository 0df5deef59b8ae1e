import t from 'tap';
import { PacketArena, VNET_AREA } from '../../src/packet/arena';
import { pushTag, popTag, rewriteTci, setVid } from '../../src/packet/vlan';
import { parseSlot } from '../../src/packet/parse';
import * as vnet from '../../src/packet/vnet';
import * as K from '../../src/packet/flow-key';
import * as F from '../fixtures/frames';
import { hex, toHex } from '../fixtures/util';

const OK = -1;

function keyWords(a: PacketArena, s: number): number[] {
  return Array.from(a.key.subarray(s << K.KEY_SHIFT, (s + 1) << K.KEY_SHIFT));
}
/**
 * Frame state: vnet header, frame bytes, metadata. With `whole`, every byte of the slot (for
 * "nothing written" checks; a pop leaves stale MAC bytes in the headroom, which is fine).
 */
function snapshot(a: PacketArena, s: number, whole = false) {
  return {
    vnet: toHex(a.bytes, a.base(s), a.base(s) + 10),
    frame: toHex(a.bytes, a.start[s], a.start[s] + a.len[s]),
    slot: whole ? toHex(a.bytes, a.base(s), a.base(s) + a.slotSize) : '',
    start: a.start[s], len: a.len[s], l3: a.l3[s], l4: a.l4[s], key: keyWords(a, s),
  };
}
/** Parse a copy of the current frame in a scratch slot: what a full re-parse would say. */
function reparse(a: PacketArena, s: number): { l3: number; l4: number; key: number[] } {
  const c = a.clone(s);
  if (parseSlot(a, c, a.key[s << K.KEY_SHIFT]) !== OK) throw new Error('re-parse failed');
  const r = { l3: a.l3[c], l4: a.l4[c], key: keyWords(a, c) };
  a.release(c);
  return r;
}
function writeVnet(a: PacketArena, s: number, flags: number, gso: number, hdrLen: number, gsoSize: number, cs: number, co: number): void {
  const b = a.base(s);
  const u = a.bytes;
  u[b] = flags; u[b + 1] = gso;
  u[b + 2] = hdrLen & 0xff; u[b + 3] = hdrLen >>> 8;
  u[b + 4] = gsoSize & 0xff; u[b + 5] = gsoSize >>> 8;
  u[b + 6] = cs & 0xff; u[b + 7] = cs >>> 8;
  u[b + 8] = co & 0xff; u[b + 9] = co >>> 8;
}
function hdrLen(a: PacketArena, s: number): number {
  return a.bytes[a.base(s) + 2] | (a.bytes[a.base(s) + 3] << 8);
}

t.test('vlan: push makes the tagged fixture, pop restores the exact bytes', async (t) => {
  const a = new PacketArena({ slots: 8, slotSize: 2048 });
  const s = a.allocFrom(hex(F.icmpEchoRequest));
  t.equal(parseSlot(a, s, 3), OK);
  const untagged = snapshot(a, s);

  t.equal(pushTag(a, s, 0x8100, (5 << 13) | 100), true);
  t.equal(toHex(a.frame(s)), toHex(hex(F.vlanIcmp)), 'bytes equal the real 802.1Q frame');
  t.equal(a.start[s], untagged.start - 4);
  t.equal(a.len[s], 102);
  t.equal(a.l3[s], 18);
  t.equal(a.l4[s], 38);
  t.equal(a.key[(s << K.KEY_SHIFT) + K.K_VLAN_TCI], 0xb064);
  t.equal(a.key[(s << K.KEY_SHIFT) + K.K_VLAN_TCI2], 0);
  t.same(reparse(a, s), { l3: a.l3[s], l4: a.l4[s], key: keyWords(a, s) }, 'incremental state equals a re-parse');

  popTag(a, s);
  t.same(snapshot(a, s), untagged, 'pop restores bytes, start, len, offsets and key');
  popTag(a, s);
  t.same(snapshot(a, s), untagged, 'pop on an untagged frame is a no-op');
});

t.test('vlan: QinQ by two pushes, and back', async (t) => {
  const a = new PacketArena({ slots: 8, slotSize: 2048 });
  const s = a.allocFrom(hex(F.udpDnsQuery));
  t.equal(parseSlot(a, s, 1), OK);
  const untagged = snapshot(a, s);
  t.equal(pushTag(a, s, 0x8100, 100), true);
  t.equal(pushTag(a, s, 0x88a8, (3 << 13) | 200), true);
  t.equal(toHex(a.frame(s)), toHex(hex(F.qinqUdp)), 'bytes equal the real QinQ frame');
  t.equal(a.key[(s << K.KEY_SHIFT) + K.K_VLAN_TCI], 0x70c8);
  t.equal(a.key[(s << K.KEY_SHIFT) + K.K_VLAN_TCI2], 0x1064);
  t.equal(a.l3[s], 22);
  t.equal(a.l4[s], 42);
  t.same(reparse(a, s), { l3: 22, l4: 42, key: keyWords(a, s) });

  popTag(a, s);
  t.equal(a.key[(s << K.KEY_SHIFT) + K.K_VLAN_TCI], 0x1064, 'inner tag becomes outer');
  t.equal(a.key[(s << K.KEY_SHIFT) + K.K_VLAN_TCI2], 0);
  t.same(reparse(a, s), { l3: 18, l4: 38, key: keyWords(a, s) });
  popTag(a, s);
  t.same(snapshot(a, s), untagged);
});

t.test('vlan: pushTag at the headroom edge', async (t) => {
  // headroom 20 = the 16-byte vnet area + exactly one tag.
  const a = new PacketArena({ slots: 4, slotSize: 2048, headroom: VNET_AREA + 4 });
  const s = a.allocFrom(hex(F.tcpSyn));
  t.equal(parseSlot(a, s, 1), OK);
  t.equal(a.headroomLeft(s), 4);
  t.equal(pushTag(a, s, 0x8100, 10), true, 'one push fits');
  t.equal(a.start[s], a.base(s) + VNET_AREA, 'frame now starts right after the vnet area');
  t.equal(a.headroomLeft(s), 0);
  writeVnet(a, s, vnet.F_NEEDS_CSUM, vnet.GSO_TCPV4, 58, 1448, 38, 16);
  const before = snapshot(a, s, true);
  t.equal(pushTag(a, s, 0x88a8, 20), false, 'no room for a second');
  t.same(snapshot(a, s, true), before, 'nothing changed: bytes (incl. vnet header), start, len, offsets, key');
  t.equal(setVid(a, s, 30), true, 'setVid on a tagged frame rewrites, needs no room');

  // Same edge reached by moving the start of a frame in a default-size slot.
  const b = new PacketArena({ slots: 2, slotSize: 2048 });
  const x = b.allocFrom(hex(F.arpRequest));
  const f = b.start[x];
  const edge = b.base(x) + VNET_AREA + 4;
  b.bytes.copyWithin(edge, f, f + b.len[x]);
  b.start[x] = edge;
  t.equal(parseSlot(b, x, 1), OK);
  t.equal(pushTag(b, x, 0x8100, 1), true);
  const snap = snapshot(b, x, true);
  t.equal(pushTag(b, x, 0x8100, 2), false);
  t.same(snapshot(b, x, true), snap);
  popTag(b, x);
  t.equal(toHex(b.frame(x)), F.arpRequest);
});

t.test('vlan: TCI encoding', async (t) => {
  const a = new PacketArena({ slots: 4, slotSize: 2048 });
  const s = a.allocFrom(hex(F.arpRequest));
  t.equal(parseSlot(a, s, 1), OK);
  t.equal(a.l3[s], 14);
  t.equal(a.l4[s], 0);
  t.equal(pushTag(a, s, 0x8100, 0x1000 | 0x0fff), true, 'TCI_PRESENT in the argument is stripped');
  t.equal(toHex(a.frame(s), 12, 16), '81000fff');
  t.equal(a.key[(s << K.KEY_SHIFT) + K.K_VLAN_TCI], 0x1fff);
  t.equal(a.l3[s], 18);
  t.equal(a.l4[s], 0, 'absent L4 stays absent');
  // Priority-tagged (VID 0, PCP 0) is still "present".
  const z = a.allocFrom(hex(F.arpRequest));
  parseSlot(a, z, 1);
  t.equal(pushTag(a, z, 0x8100, 0), true);
  t.equal(toHex(a.frame(z), 12, 16), '81000000');
  t.equal(a.key[(z << K.KEY_SHIFT) + K.K_VLAN_TCI], 0x1000);
  popTag(a, z);
  t.equal(toHex(a.frame(z)), F.arpRequest, 'popped even though the TCI is all zero');
});

t.test('vlan: rewriteTci and setVid', async (t) => {
  const a = new PacketArena({ slots: 4, slotSize: 2048 });
  const s = a.allocFrom(hex(F.vlanIcmp));
  t.equal(parseSlot(a, s, 1), OK);
  rewriteTci(a, s, 7, 0x0fff);
  t.equal(toHex(a.frame(s), 12, 18), '8100a0070800', 'VID rewritten, PCP kept');
  t.equal(a.key[(s << K.KEY_SHIFT) + K.K_VLAN_TCI], 0xb007);
  rewriteTci(a, s, 2 << 13, 0xe000);
  t.equal(toHex(a.frame(s), 12, 18), '810040070800', 'PCP rewritten, VID kept');
  t.equal(a.key[(s << K.KEY_SHIFT) + K.K_VLAN_TCI], 0x5007);
  t.same(reparse(a, s).key, keyWords(a, s));
  t.equal(setVid(a, s, 0xabc), true);
  t.equal(toHex(a.frame(s), 14, 16), '4abc');
  t.equal(a.len[s], 102, 'setVid on a tagged frame does not push');

  // On a QinQ frame only the outer tag changes.
  const q = a.allocFrom(hex(F.qinqUdp));
  parseSlot(a, q, 1);
  rewriteTci(a, q, 300, 0x0fff);
  t.equal(toHex(a.frame(q), 12, 20), '88a8612c81000064');
  t.equal(a.key[(q << K.KEY_SHIFT) + K.K_VLAN_TCI2], 0x1064);

  // Untagged: rewrite is a no-op, setVid pushes an 802.1Q tag.
  const u = a.allocFrom(hex(F.icmpEchoRequest));
  parseSlot(a, u, 1);
  const before = toHex(a.frame(u));
  rewriteTci(a, u, 5, 0x0fff);
  t.equal(toHex(a.frame(u)), before);
  t.equal(a.key[(u << K.KEY_SHIFT) + K.K_VLAN_TCI], 0);
  t.equal(setVid(a, u, 0x1064), true);
  t.equal(toHex(a.frame(u), 12, 16), '81000064', 'VID masked to 12 bits');
  t.equal(a.key[(u << K.KEY_SHIFT) + K.K_VLAN_TCI], 0x1064);
});

t.test('vlan: virtio-net header offsets follow push/pop', async (t) => {
  const a = new PacketArena({ slots: 4, slotSize: 2048 });
  // Partial checksum, no GSO: csum_start moves, hdr_len does not.
  const s = a.allocFrom(hex(F.tcpSyn));
  parseSlot(a, s, 1);
  writeVnet(a, s, vnet.F_NEEDS_CSUM, vnet.GSO_NONE, 0, 0, 34, 16);
  pushTag(a, s, 0x8100, 100);
  t.equal(vnet.csumStart(a, s), 38);
  t.equal(vnet.csumOffset(a, s), 16, 'csum_offset is relative to csum_start: unchanged');
  t.equal(hdrLen(a, s), 0);
  pushTag(a, s, 0x88a8, 200);
  t.equal(vnet.csumStart(a, s), 42);
  popTag(a, s);
  popTag(a, s);
  t.equal(vnet.csumStart(a, s), 34);

  // GSO super-frame: hdr_len moves as well.
  const g = a.allocFrom(hex(F.tcpSyn));
  parseSlot(a, g, 1);
  writeVnet(a, g, vnet.F_NEEDS_CSUM, vnet.GSO_TCPV4, 74, 1448, 34, 16);
  pushTag(a, g, 0x8100, 100);
  t.equal(vnet.csumStart(a, g), 38);
  t.equal(hdrLen(a, g), 78);
  t.equal(vnet.gsoSize(a, g), 1448, 'gso_size untouched');
  t.equal(vnet.gsoType(a, g), vnet.GSO_TCPV4);
  popTag(a, g);
  t.equal(vnet.csumStart(a, g), 34);
  t.equal(hdrLen(a, g), 74);

  // No flags: csum_start is not meaningful and is left alone.
  const n = a.allocFrom(hex(F.tcpSyn));
  parseSlot(a, n, 1);
  writeVnet(a, n, 0, vnet.GSO_NONE, 0, 0, 0x1234, 0);
  pushTag(a, n, 0x8100, 100);
  t.equal(vnet.csumStart(a, n), 0x1234);

  // The tagged frame still checksums correctly after the shifted csum_start.
  const c = a.allocFrom(hex(F.tcpSyn));
  parseSlot(a, c, 1);
  const f = a.start[c];
  const pseudo = 0x0a00 + 0x0001 + 0x0a00 + 0x0002 + 6 + 40;
  a.bytes[f + 34 + 16] = pseudo >>> 8; a.bytes[f + 34 + 17] = pseudo & 0xff;
  writeVnet(a, c, vnet.F_NEEDS_CSUM, vnet.GSO_NONE, 0, 0, 34, 16);
  pushTag(a, c, 0x8100, 100);
  t.equal(vnet.finishChecksum(a, c), true);
  t.equal(toHex(a.frame(c), 38 + 16, 38 + 18), '0866', 'same checksum as the untagged fixture');
});
