import t from 'tap';
import {
  PacketArena, VNET_HDR_LEN, VNET_AREA, DEFAULT_HEADROOM, DEFAULT_SLOT_SIZE, DEFAULT_SLOT_COUNT,
} from '../../src/packet/arena';
import { KEY_WORDS, KEY_SHIFT } from '../../src/packet/flow-key';
import * as F from '../fixtures/frames';
import { hex, toHex } from '../fixtures/util';

const small = () => new PacketArena({ slots: 4, slotSize: 256, headroom: 64 });

t.test('arena: construction and defaults', async (t) => {
  const d = new PacketArena();
  t.equal(d.capacity, DEFAULT_SLOT_COUNT);
  t.equal(d.slotSize, DEFAULT_SLOT_SIZE);
  t.equal(d.headroom, DEFAULT_HEADROOM);
  t.equal(d.maxFrame, 65536, 'a slot holds a 64 KiB GSO frame');
  t.equal(d.bytes.length, DEFAULT_SLOT_COUNT * DEFAULT_SLOT_SIZE);
  t.equal(d.key.length, DEFAULT_SLOT_COUNT * KEY_WORDS);
  t.equal(d.available, DEFAULT_SLOT_COUNT);

  const a = small();
  t.equal(a.maxFrame, 192);
  for (let s = 0; s < 4; s++) t.equal(a.start[s], s * 256 + 64, `slot ${s} starts at its headroom`);
  t.equal(1 << KEY_SHIFT, KEY_WORDS);
});

t.test('arena: constructor validation', async (t) => {
  const bad: [object, RegExp][] = [
    [{ slots: 0 }, /slots must be an integer/],
    [{ slots: 1.5 }, /slots must be an integer/],
    [{ slots: (1 << 20) + 1 }, /slots must be an integer/],
    [{ slots: NaN }, /slots must be an integer/],
    [{ slots: 1, headroom: VNET_AREA - 2 }, /headroom must be an even integer >= 16/],
    [{ slots: 1, headroom: 17 }, /headroom must be an even integer/],
    [{ slots: 1, headroom: 64.5 }, /headroom must be an even integer/],
    [{ slots: 1, slotSize: 100 }, /slotSize must be a multiple of 64/],
    [{ slots: 1, slotSize: 128 }, /slotSize must be a multiple of 64 and >= headroom \+ 64/],
    [{ slots: 1, slotSize: 128, headroom: 128 }, /slotSize/],
    [{ slots: 1 << 20, slotSize: 8192 }, /below 4 GiB/],
  ];
  for (const [opts, re] of bad) t.throws(() => new PacketArena(opts), re, JSON.stringify(opts));
  t.throws(() => new PacketArena({ slots: 0 }), RangeError);
  t.doesNotThrow(() => new PacketArena({ slots: 1, slotSize: 128, headroom: 16 }));
  t.doesNotThrow(() => new PacketArena({ slots: 1, slotSize: 192, headroom: 128 }));
});

t.test('arena: alloc, release (LIFO), exhaustion', async (t) => {
  const a = small();
  t.same([a.alloc(), a.alloc(), a.alloc(), a.alloc()], [0, 1, 2, 3], 'slot 0 first');
  t.equal(a.available, 0);
  t.equal(a.alloc(), -1, 'exhausted');
  t.equal(a.allocFrom(hex(F.arpRequest)), -1);
  t.equal(a.clone(0), -1);
  a.release(2);
  a.release(0);
  t.equal(a.available, 2);
  t.equal(a.alloc(), 0, 'freed last, reused first');
  t.equal(a.alloc(), 2);
  t.equal(a.alloc(), -1);

  // alloc resets a dirty slot: start, len, l3, l4 and the vnet header.
  a.start[1] = 256 + 20; a.len[1] = 99; a.l3[1] = 14; a.l4[1] = 34;
  a.bytes.fill(0xa5, 256, 256 + VNET_AREA);
  a.release(1);
  t.equal(a.alloc(), 1);
  t.equal(a.start[1], 256 + 64);
  t.equal(a.len[1], 0);
  t.equal(a.l3[1], 0);
  t.equal(a.l4[1], 0);
  t.equal(toHex(a.bytes, 256, 256 + VNET_HDR_LEN), '00'.repeat(VNET_HDR_LEN));
  t.equal(a.bytes[256 + VNET_HDR_LEN], 0xa5, 'only the 10 vnet bytes are cleared');
});

t.test('arena: peek and commit', async (t) => {
  const a = small();
  const out = new Uint32Array(8);
  t.equal(a.peek(out, 3), 3);
  t.same(Array.from(out.subarray(0, 3)), [0, 1, 2]);
  t.equal(a.available, 4, 'peek takes nothing');
  t.equal(a.peek(out, 3), 3, 'peeking again yields the same slots');
  t.same(Array.from(out.subarray(0, 3)), [0, 1, 2]);
  a.commit(2);
  t.equal(a.available, 2);
  t.equal(a.alloc(), 2, 'the uncommitted peeked slot is still free');
  t.equal(a.peek(out, 8), 1, 'capped at what is free');
  t.equal(out[0], 3);
  a.commit(1);
  t.equal(a.available, 0);
  t.equal(a.peek(out, 4), 0);
  // Peeked slots are reset like alloc does.
  a.release(3);
  a.start[3] = 3 * 256 + 30; a.len[3] = 5; a.bytes[3 * 256] = 1;
  t.equal(a.peek(out, 1), 1);
  t.equal(a.start[3], 3 * 256 + 64);
  t.equal(a.len[3], 0);
  t.equal(a.bytes[3 * 256], 0);
});

t.test('arena: allocFrom, frame, headroom and tailroom', async (t) => {
  const a = small();
  const fx = hex(F.tcpSyn);
  const s = a.allocFrom(fx);
  t.equal(s, 0);
  t.equal(a.len[s], 74);
  t.equal(a.start[s], 64);
  t.equal(toHex(a.frame(s)), toHex(fx));
  const copy = a.frame(s);
  copy[0] ^= 0xff;
  t.equal(a.bytes[a.start[s]], fx[0], 'frame() returns a copy');
  t.equal(a.headroomLeft(s), 64 - VNET_AREA);
  t.equal(a.tailroomLeft(s), 256 - 64 - 74);
  t.equal(a.base(s), 0);
  t.equal(a.base(3), 768);

  t.equal(a.allocFrom(new Uint8Array(193)), -1, 'larger than maxFrame');
  t.equal(a.available, 3, 'a failed allocFrom takes no slot');
  const full = a.allocFrom(new Uint8Array(192).fill(7));
  t.ok(full >= 0, 'exactly maxFrame fits');
  t.equal(a.tailroomLeft(full), 0);
  t.equal(a.bytes[a.base(full) + 255], 7);
  t.equal(a.bytes[a.base(full) + 256], 0, 'next slot untouched');
});

t.test('arena: clone copies frame, vnet header and metadata at the same relative offset', async (t) => {
  const a = small();
  const s = a.allocFrom(hex(F.vlanIcmp));
  // Move the frame as a pop would (start +4) and give it state.
  a.start[s] += 4;
  a.len[s] -= 4;
  for (let i = 0; i < VNET_HDR_LEN; i++) a.bytes[a.base(s) + i] = i + 1;
  a.inPort[s] = 42;
  a.l3[s] = 14;
  a.l4[s] = 34;
  for (let i = 0; i < KEY_WORDS; i++) a.key[(s << KEY_SHIFT) + i] = 0x1000 + i;
  a.key[(s << KEY_SHIFT) + 31] = 0xffffffff;
  // Dirty the slot the clone will land in.
  const junk = a.alloc();
  a.bytes.fill(0xa5, a.base(junk), a.base(junk) + 256);
  a.key.fill(7, junk << KEY_SHIFT, (junk + 1) << KEY_SHIFT);
  a.release(junk);

  const d = a.clone(s);
  t.equal(d, junk);
  t.equal(a.start[d] - a.base(d), a.start[s] - a.base(s), 'same relative start (68)');
  t.equal(a.start[d] - a.base(d), 68);
  t.equal(a.len[d], a.len[s]);
  t.equal(toHex(a.frame(d)), toHex(a.frame(s)));
  t.equal(toHex(a.bytes, a.base(d), a.base(d) + VNET_HDR_LEN), '0102030405060708090a');
  t.equal(a.inPort[d], 42);
  t.equal(a.l3[d], 14);
  t.equal(a.l4[d], 34);
  t.same(Array.from(a.key.subarray(d << KEY_SHIFT, (d + 1) << KEY_SHIFT)), Array.from(a.key.subarray(s << KEY_SHIFT, (s + 1) << KEY_SHIFT)));
  // Independent copies.
  const first = a.bytes[a.start[s]];
  a.bytes[a.start[d]] = first ^ 0xff;
  t.equal(a.bytes[a.start[s]], first);
  t.equal(a.available, 2);
});
