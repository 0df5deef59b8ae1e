import t from 'tap';
import {
  PacketArena, VNET_HDR_LEN, VNET_AREA, DEFAULT_HEADROOM, DEFAULT_SLOT_SIZE, DEFAULT_SLOT_COUNT,
  DEFAULT_LARGE_SLOT_SIZE, DEFAULT_LARGE_SLOT_COUNT,
} from '../../src/packet/arena';
import { KEY_WORDS, KEY_SHIFT } from '../../src/packet/flow-key';
import * as F from '../fixtures/frames';
import { hex, toHex } from '../fixtures/util';

const small = () => new PacketArena({ slots: 4, slotSize: 256, headroom: 64 });

t.test('arena: construction and defaults', async (t) => {
  const d = new PacketArena();
  t.equal(d.smallSlots, DEFAULT_SLOT_COUNT);
  t.equal(d.largeSlots, DEFAULT_LARGE_SLOT_COUNT);
  t.equal(d.capacity, DEFAULT_SLOT_COUNT + DEFAULT_LARGE_SLOT_COUNT);
  t.equal(d.slotSize, DEFAULT_SLOT_SIZE);
  t.equal(d.largeSlotSize, DEFAULT_LARGE_SLOT_SIZE);
  t.equal(d.headroom, DEFAULT_HEADROOM);
  t.equal(d.smallMaxFrame, 1920, 'a small slot holds an MTU-1500 frame with tags to spare');
  t.equal(d.maxFrame, 65536, 'a large slot holds a 64 KiB GSO frame');
  t.equal(d.bytes.length, DEFAULT_SLOT_COUNT * 2048 + DEFAULT_LARGE_SLOT_COUNT * (65536 + 128));
  t.ok(d.bytes.length < 13 * 2 ** 20, `${(d.bytes.length / 2 ** 20).toFixed(1)} MiB of address space, was 128 MiB`);
  t.equal(d.key.length, d.capacity * KEY_WORDS);
  t.equal(d.availableSmall, DEFAULT_SLOT_COUNT);
  t.equal(d.available, d.capacity, 'available counts both classes');
  t.equal(d.availableLarge, DEFAULT_LARGE_SLOT_COUNT);
  t.equal(d.base(DEFAULT_SLOT_COUNT), DEFAULT_SLOT_COUNT * 2048, 'large slots follow the small ones');
  t.equal(d.base(DEFAULT_SLOT_COUNT + 1), DEFAULT_SLOT_COUNT * 2048 + DEFAULT_LARGE_SLOT_SIZE);
  t.equal(d.start[d.capacity - 1], d.bytes.length - DEFAULT_LARGE_SLOT_SIZE + DEFAULT_HEADROOM);
  t.equal(new PacketArena({ slots: 4, slotSize: 4096 }).largeSlots, 0, 'an explicit slotSize alone means one size');

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
    [{ slots: 1, largeSlots: -1 }, /largeSlots must be an integer/],
    [{ slots: 1, largeSlots: 1.5 }, /largeSlots must be an integer/],
    [{ slots: 1, slotSize: 2048, largeSlots: 1, largeSlotSize: 2048 }, /largeSlotSize must be a multiple of 64 larger than slotSize/],
    [{ slots: 1, largeSlots: 1, largeSlotSize: 4000 }, /largeSlotSize must be a multiple of 64/],
    [{ slots: 1, largeSlots: 65536, largeSlotSize: 65536 + 128 }, /below 4 GiB/],
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

/** 4 small slots of 256 bytes and 2 large ones of 1,024 (headroom 64): frames > 192 bytes are large. */
const two = () => new PacketArena({ slots: 4, slotSize: 256, largeSlots: 2, largeSlotSize: 1024, headroom: 64 });

t.test('two-size arena: layout, alloc picks the class by length', async (t) => {
  const a = two();
  t.equal(a.capacity, 6);
  t.equal(a.smallMaxFrame, 192);
  t.equal(a.maxFrame, 960);
  t.same([0, 1, 2, 3, 4, 5].map((s) => a.base(s)), [0, 256, 512, 768, 1024, 2048]);
  t.same([0, 3, 4, 5].map((s) => a.sizeOf(s)), [256, 256, 1024, 1024]);
  t.same([3, 4].map((s) => a.isLarge(s)), [false, true]);
  t.equal(a.alloc(192), 0, 'exactly smallMaxFrame: small');
  t.equal(a.alloc(193), 4, 'one byte more: large');
  t.equal(a.alloc(960), 5);
  t.equal(a.alloc(961), -1, 'beyond maxFrame: none');
  t.equal(a.alloc(), 1, 'no length: small');
  t.equal(a.start[4], 1024 + 64);
  t.equal(a.tailroomLeft(4), 960);
  t.equal(a.headroomLeft(4), 64 - VNET_AREA);
  const s = a.allocFrom(new Uint8Array(500).fill(3));
  t.equal(s, -1, 'large class exhausted: a 500-byte frame gets nothing');
  t.equal(a.availableSmall, 2, 'and no small slot was taken for it');
  a.release(5);
  const big = a.allocFrom(new Uint8Array(960).fill(3));
  t.equal(big, 5);
  t.equal(a.bytes[a.base(5) + 64 + 959], 3);
  t.equal(a.tailroomLeft(big), 0);
});

t.test('two-size arena: exhausting one class leaves the other untouched', async (t) => {
  const a = two();
  const smalls = [a.alloc(60), a.alloc(60), a.alloc(60), a.alloc(60)];
  t.same(smalls, [0, 1, 2, 3]);
  t.equal(a.alloc(60), -1, 'small exhausted');
  t.equal(a.availableSmall, 0);
  t.equal(a.availableLarge, 2, 'a small flood cannot take the large slots');
  t.equal(a.alloc(500), 4, 'a large frame still gets one');
  t.equal(a.alloc(500), 5);
  t.equal(a.alloc(500), -1, 'large exhausted');
  a.release(2);
  t.equal(a.alloc(500), -1, 'a freed small slot does not serve a large frame');
  t.equal(a.alloc(60), 2);
  a.release(4);
  t.equal(a.alloc(500), 4, 'LIFO within the class');
});

t.test('arena: offer lists the same slots as peek and leaves them untouched', async (t) => {
  const a = small();
  const out = new Uint32Array(8);
  a.start[1] = 1 * 256 + 30; a.len[1] = 5; a.l3[1] = 14; a.bytes[1 * 256] = 7;
  t.equal(a.offer(out, 3), 3);
  t.same(Array.from(out.subarray(0, 3)), [0, 1, 2]);
  t.equal(a.available, 4, 'offer takes nothing');
  t.equal(a.start[1], 1 * 256 + 30, 'start untouched');
  t.equal(a.len[1], 5, 'len untouched');
  t.equal(a.l3[1], 14, 'l3 untouched');
  t.equal(a.bytes[1 * 256], 7, 'vnet header untouched');
  a.commit(2);
  t.equal(a.available, 2);
  t.equal(a.offer(out, 8), 2, 'capped at what is free');
  t.same(Array.from(out.subarray(0, 2)), [2, 3]);
});

t.test('two-size arena: peek/commit per class', async (t) => {
  const a = two();
  const out = new Uint32Array(8);
  t.equal(a.peek(out, 3), 3);
  t.equal(a.peekLarge(out, 3, 5), 2, 'capped at the free large slots');
  t.same(Array.from(out.subarray(0, 5)), [0, 1, 2, 4, 5]);
  a.commit(1);
  a.commitLarge(1);
  t.equal(a.availableSmall, 3);
  t.equal(a.availableLarge, 1);
  t.equal(a.alloc(500), 5, 'the uncommitted large slot is still free');
  t.equal(a.peekLarge(out, 0, 4), 0);
});

t.test('two-size arena: clone picks the class by length, across classes', async (tt) => {
  const t = tt;
  const a = two();
  const fill = (s: number, n: number, seed: number) => {
    for (let i = 0; i < n; i++) a.bytes[a.start[s] + i] = (i * 7 + seed) & 0xff;
    a.len[s] = n;
    for (let i = 0; i < VNET_HDR_LEN; i++) a.bytes[a.base(s) + i] = seed + i;
    for (let i = 0; i < KEY_WORDS; i++) a.key[(s << KEY_SHIFT) + i] = seed * 1000 + i;
    a.inPort[s] = seed;
    a.l3[s] = 14;
    a.l4[s] = 34;
  };
  const same = (t: typeof tt, d: number, s: number, what: string) => {
    t.equal(toHex(a.frame(d)), toHex(a.frame(s)), `${what}: frame`);
    t.equal(toHex(a.bytes, a.base(d), a.base(d) + VNET_HDR_LEN), toHex(a.bytes, a.base(s), a.base(s) + VNET_HDR_LEN), `${what}: vnet header`);
    t.same(Array.from(a.key.subarray(d << KEY_SHIFT, (d + 1) << KEY_SHIFT)), Array.from(a.key.subarray(s << KEY_SHIFT, (s + 1) << KEY_SHIFT)), `${what}: key`);
    t.same([a.inPort[d], a.l3[d], a.l4[d]], [a.inPort[s], a.l3[s], a.l4[s]], `${what}: metadata`);
  };

  // Large frame: clone into a large slot at the same relative start.
  const L = a.alloc(800);
  fill(L, 800, 1);
  a.start[L] -= 4; // a pushed tag: start moved back
  a.len[L] += 4;
  const dL = a.clone(L);
  t.ok(a.isLarge(dL), 'large frame -> large slot');
  t.equal(a.start[dL] - a.base(dL), 60, 'same relative start');
  same(t, dL, L, 'large');
  t.equal(a.clone(L), -1, 'large class exhausted: no clone (small slots do not hold it)');
  t.equal(a.availableSmall, 4, 'and no small slot taken');
  a.release(dL);

  // A small frame sitting in a large slot: the clone goes to a small slot.
  a.len[L] = 100;
  const dS = a.clone(L);
  t.notOk(a.isLarge(dS), 'small frame in a large slot -> small slot');
  same(t, dS, L, 'small from large');
  // ... even when its start is beyond a small slot's size (it is re-based at the headroom).
  a.start[L] = a.base(L) + 600;
  for (let i = 0; i < 100; i++) a.bytes[a.start[L] + i] = i;
  const dD = a.clone(L);
  t.notOk(a.isLarge(dD));
  t.equal(a.start[dD], a.base(dD) + 64, 'at the default headroom');
  same(t, dD, L, 'deep small frame');

  // Small frame in a small slot: small clone, same relative start.
  const S = a.alloc(100);
  fill(S, 100, 2);
  a.start[S] += 4;
  a.len[S] -= 4;
  const dd = a.clone(S);
  t.notOk(a.isLarge(dd));
  t.equal(a.start[dd] - a.base(dd), 68);
  same(t, dd, S, 'small');
  t.equal(a.bytes[a.start[dd] + a.len[dd]], 0, 'nothing written past the frame');

  // Every slot comes back: no leak.
  for (const s of [L, dS, dD, S, dd]) a.release(s);
  t.equal(a.availableSmall, 4);
  t.equal(a.availableLarge, 2);
  const seen = new Set<number>();
  for (let s = a.alloc(); s >= 0; s = a.alloc()) seen.add(s);
  for (let s = a.alloc(500); s >= 0; s = a.alloc(500)) seen.add(s);
  t.same([...seen].sort(), [0, 1, 2, 3, 4, 5], 'every slot exactly once');
});

t.test('two-size arena: a random alloc/clone/release workload leaks no slot', async (t) => {
  const a = two();
  let seed = 12345;
  const rnd = (n: number) => ((seed = (seed * 1103515245 + 12345) >>> 0) % n);
  const held: number[] = [];
  for (let i = 0; i < 20000; i++) {
    const op = rnd(3);
    if (op === 0) {
      const s = a.alloc(rnd(1000));
      if (s >= 0) (a.len[s] = rnd(a.isLarge(s) ? 960 : 192)), held.push(s);
    } else if (op === 1 && held.length > 0) {
      const c = a.clone(held[rnd(held.length)]);
      if (c >= 0) held.push(c);
    } else if (held.length > 0) {
      a.release(held.splice(rnd(held.length), 1)[0]);
    }
    if (new Set(held).size !== held.length) {
      t.fail(`step ${i}: a slot was handed out twice`);
      break;
    }
  }
  t.pass('20,000 random steps, no slot handed out twice');
  for (const s of held) a.release(s);
  t.equal(a.availableSmall, 4);
  t.equal(a.availableLarge, 2);
});
