/**
 * Packet arena: one large ArrayBuffer cut into slots of two sizes, owned by JS.
 *
 *   slot base                                                        base + size of its class
 *   | vnet hdr (10 B) | pad | ...headroom... | frame bytes ...         |
 *   0                 10    16               start[slot] - base
 *
 *   | small 0 | small 1 | ... | small N-1 | large N | ... | large N+L-1 |
 *
 * - Two classes: many SMALL slots for ordinary frames (2 KiB: an MTU-sized frame with tags and
 *   headroom) and a few LARGE ones for GSO/TSO super-frames and jumbo frames (64 KiB). One size
 *   for all meant 2,048 x 64 KiB (128 MiB) to buffer 1.5 KiB frames. Slot indices below
 *   `smallSlots` are small, the rest large; each class has its own LIFO free stack, so a flood
 *   of small frames can never take the slots a TSO frame needs, nor the reverse.
 * - The virtio-net header (struct virtio_net_hdr, 10 bytes) of a frame always lives at offset 0
 *   of its slot (`slotBase[slot]`), so it never moves when the frame start moves. The native addon
 *   reads and writes it there; all-zero means "no offload state".
 * - The frame starts `headroom` bytes into a fresh slot, so pushing a VLAN tag (or any header)
 *   moves `start` back instead of moving the payload (Snabb `packet.shiftright`, VPP
 *   `current_data`).
 * - `start[]` holds ABSOLUTE byte offsets into `bytes`, so hot-path code indexes
 *   `bytes[start[s] + k]` without recomputing the slot base.
 * - Slots are recycled LIFO: the slot freed last is reused first and is still warm in cache (and
 *   an idle switch keeps only the pages of the few slots it recycles resident).
 *
 * Per-slot metadata lives in parallel typed arrays (OVS `l3_ofs`/`l4_ofs`, VPP buffer fields).
 * Nothing here allocates after construction.
 */
import { HoldBudget, arenaHoldBudget } from './hold-budget';
import { KEY_WORDS } from './flow-key';

/** Size of struct virtio_net_hdr without num_buffers (what PACKET_VNET_HDR and IFF_VNET_HDR use). */
export const VNET_HDR_LEN = 10;
/** The first bytes of every slot are reserved for the vnet header; frames never start before this. */
export const VNET_AREA = 16;
/** Default headroom: room for a few tags or a tunnel header in front of a received frame. */
export const DEFAULT_HEADROOM = 128;
/**
 * Default small slot size: headroom plus 1,920 bytes, enough for an MTU-1500 frame with two
 * tags (1,522) and room to push more.
 */
export const DEFAULT_SLOT_SIZE = 2048;
export const DEFAULT_SLOT_COUNT = 2048;
/**
 * Default large slot size: headroom plus a 64 KiB frame. Linux hands AF_PACKET/TAP readers that
 * enable the vnet header TSO/GSO super-frames of up to 64 KiB, and a large slot holds one.
 */
export const DEFAULT_LARGE_SLOT_SIZE = DEFAULT_HEADROOM + 65536;
/** Large slots: a few rx bursts' worth of TSO frames in flight (8 MiB of address space). */
export const DEFAULT_LARGE_SLOT_COUNT = 128;

export interface ArenaOptions {
  /** Small slots (default 2,048). */
  slots?: number;
  /** Small slot size in bytes (default 2,048). */
  slotSize?: number;
  /** Large slots (default 128 with the default slot size, otherwise 0: one size for all). */
  largeSlots?: number;
  /** Large slot size in bytes (default 64 KiB + headroom). */
  largeSlotSize?: number;
  headroom?: number;
}

export class PacketArena {
  readonly buffer: ArrayBuffer;
  readonly bytes: Uint8Array;
  /** Size of a small slot. */
  readonly slotSize: number;
  /** Size of a large slot (= slotSize when there are none). */
  readonly largeSlotSize: number;
  readonly headroom: number;
  /** All slots, both classes (per-slot arrays have this length). */
  readonly capacity: number;
  /** Small slots are indices [0, smallSlots); large ones [smallSlots, capacity). */
  readonly smallSlots: number;
  readonly largeSlots: number;
  /** Largest frame a slot of either class holds when it starts at the default headroom. */
  readonly maxFrame: number;
  /** Largest frame a small slot holds at the default headroom; longer ones need a large slot. */
  readonly smallMaxFrame: number;

  /** Absolute offset in `bytes` of each slot (where its vnet header lives). */
  readonly slotBase: Uint32Array;
  /** Absolute offset in `bytes` of the first byte of the frame in each slot. */
  readonly start: Uint32Array;
  /** Frame length in bytes (without the vnet header). */
  readonly len: Uint32Array;

  /** Global id of the port the frame came in on (index into the switch's port table). */
  readonly inPort: Uint16Array;
  /** Offset of the L3 header from the frame start; 0 = none (set by the parse pass). */
  readonly l3: Uint16Array;
  /** Offset of the L4 header from the frame start; 0 = none. */
  readonly l4: Uint16Array;
  /**
   * The arena's bytes as a big-endian reader: the parse pass reads a MAC half, an EtherType or
   * an IPv4 address with one load instead of two to four byte loads and shifts.
   */
  readonly view: DataView;
  /** Flow keys, KEY_WORDS words per slot (see flow-key.ts). */
  readonly key: Uint32Array;
  /**
   * The same key words as doubles (two words each): clearing a key is 32 stores of +0.0 (all
   * zero bits) instead of a call into TypedArray.prototype.set (see parse.ts clearKeyHead).
   */
  readonly keyF64: Float64Array;
  /**
   * Per slot: 1 when the key's tail words [KEY_TAIL, KEY_WORDS) may be non-zero, 0 when they are
   * all zero. Whoever writes a tail word sets it (the flow executor for every frame it runs
   * actions on, an ND parse, a tunnel port's metadata, trace, a copy of a key); only the parse
   * pass clears it, after zeroing the tail. A frame that only NORMAL forwards never dirties the
   * tail, so the next frame in its slot is parsed with 16 stores of the key's first two lines
   * instead of 32 of all four (bench/results, "NORMAL, round 3").
   */
  readonly keyTail: Uint8Array;
  /**
   * The arena's bytes as doubles and as 16-bit words: a slot's 10-byte vnet header (slot bases
   * are multiples of 64) is zeroed by two stores (reset) instead of ten.
   */
  private readonly bytesF64: Float64Array;
  private readonly bytesU16: Uint16Array;

  /**
   * Budget of slots held beyond one batch (frames waiting for ARP, ...): every holder charges
   * its holds here through its own child budget, so the sum stays a bounded fraction of the
   * arena and a reserve of free slots is always left for ingress (hold-budget.ts).
   */
  readonly holds: HoldBudget;

  /** LIFO stacks of free slot indices per class; `free[0..freeCount)` are free. */
  private readonly free: Uint32Array;
  private freeCount: number;
  private readonly freeLarge: Uint32Array;
  private freeLargeCount: number;

  constructor(opts: ArenaOptions = {}) {
    const slots = opts.slots ?? DEFAULT_SLOT_COUNT;
    const slotSize = opts.slotSize ?? DEFAULT_SLOT_SIZE;
    const headroom = opts.headroom ?? DEFAULT_HEADROOM;
    const largeSize = opts.largeSlotSize ?? DEFAULT_LARGE_SLOT_SIZE;
    const large = opts.largeSlots ?? (opts.slotSize === undefined ? DEFAULT_LARGE_SLOT_COUNT : 0);
    if (!Number.isInteger(slots) || slots < 1 || slots > 1 << 20) {
      throw new RangeError(`arena: slots must be an integer in 1..${1 << 20}, got ${slots}`);
    }
    if (!Number.isInteger(large) || large < 0 || large > 1 << 16) {
      throw new RangeError(`arena: largeSlots must be an integer in 0..${1 << 16}, got ${large}`);
    }
    if (!Number.isInteger(headroom) || headroom < VNET_AREA || headroom % 2 !== 0) {
      throw new RangeError(`arena: headroom must be an even integer >= ${VNET_AREA}, got ${headroom}`);
    }
    if (!Number.isInteger(slotSize) || slotSize < headroom + 64 || slotSize % 64 !== 0) {
      throw new RangeError(`arena: slotSize must be a multiple of 64 and >= headroom + 64, got ${slotSize}`);
    }
    if (large > 0 && (!Number.isInteger(largeSize) || largeSize <= slotSize || largeSize % 64 !== 0)) {
      throw new RangeError(`arena: largeSlotSize must be a multiple of 64 larger than slotSize (${slotSize}), got ${largeSize}`);
    }
    const bytes = slots * slotSize + large * largeSize;
    if (bytes > 2 ** 32 - 1) {
      throw new RangeError(`arena: slots * slotSize must stay below 4 GiB (offsets are 32-bit)`);
    }
    const n = slots + large;
    this.capacity = n;
    this.smallSlots = slots;
    this.largeSlots = large;
    this.slotSize = slotSize;
    this.largeSlotSize = large > 0 ? largeSize : slotSize;
    this.headroom = headroom;
    this.smallMaxFrame = slotSize - headroom;
    this.maxFrame = this.largeSlotSize - headroom;
    // Zero-filled by the OS on first touch: only the pages of slots that carry traffic count in RSS.
    this.buffer = new ArrayBuffer(bytes);
    this.bytes = new Uint8Array(this.buffer);
    this.view = new DataView(this.buffer);
    this.slotBase = new Uint32Array(n);
    this.start = new Uint32Array(n);
    this.len = new Uint32Array(n);
    this.inPort = new Uint16Array(n);
    this.l3 = new Uint16Array(n);
    this.l4 = new Uint16Array(n);
    this.key = new Uint32Array(n * KEY_WORDS);
    this.keyF64 = new Float64Array(this.key.buffer);
    this.keyTail = new Uint8Array(n);
    this.bytesF64 = new Float64Array(this.buffer, 0, this.buffer.byteLength >>> 3);
    this.bytesU16 = new Uint16Array(this.buffer, 0, this.buffer.byteLength >>> 1);
    this.free = new Uint32Array(slots);
    this.freeLarge = new Uint32Array(large);
    // Push in reverse so the lowest slot is handed out first (nicer to read in tests and traces).
    for (let i = 0; i < slots; i++) this.free[i] = slots - 1 - i;
    for (let i = 0; i < large; i++) this.freeLarge[i] = n - 1 - i;
    this.freeCount = slots;
    this.freeLargeCount = large;
    for (let i = 0; i < n; i++) {
      const b = i < slots ? i * slotSize : slots * slotSize + (i - slots) * largeSize;
      this.slotBase[i] = b;
      this.start[i] = b + headroom;
    }
    this.holds = arenaHoldBudget(this);
  }

  /** Free slots of both classes (equals `capacity` when every slot is back). */
  get available(): number {
    return this.freeCount + this.freeLargeCount;
  }

  /** Free small slots (what ordinary frames can use). */
  get availableSmall(): number {
    return this.freeCount;
  }

  /** Free large slots. */
  get availableLarge(): number {
    return this.freeLargeCount;
  }

  /** True for a slot of the large class. */
  isLarge(slot: number): boolean {
    return slot >= this.smallSlots;
  }

  /** Bytes of the slot (its class's size). */
  sizeOf(slot: number): number {
    return slot < this.smallSlots ? this.slotSize : this.largeSlotSize;
  }

  /**
   * Take one slot that holds a `len`-byte frame at the default headroom (small when it fits,
   * else large), reset to an empty frame; -1 when that class is exhausted or `len` exceeds
   * maxFrame. A small frame never falls back to a large slot: those are kept for what needs them.
   */
  alloc(len = 0): number {
    let s: number;
    if (len <= this.smallMaxFrame) {
      if (this.freeCount === 0) return -1;
      s = this.free[--this.freeCount];
    } else {
      if (len > this.maxFrame || this.freeLargeCount === 0) return -1;
      s = this.freeLarge[--this.freeLargeCount];
    }
    this.reset(s);
    return s;
  }

  /**
   * Copy up to `n` free small slot indices into `out` WITHOUT taking them, and reset each to an
   * empty frame at the default headroom. An rx burst fills some prefix of them, then `commit(k)`
   * takes exactly the k the port used. This avoids a take-then-give-back round trip per burst.
   */
  peek(out: Uint32Array, n: number): number {
    const k = n < this.freeCount ? n : this.freeCount;
    const top = this.freeCount;
    for (let i = 0; i < k; i++) {
      const s = this.free[top - 1 - i];
      out[i] = s;
      this.reset(s);
    }
    return k;
  }

  /**
   * `peek` without the reset: for a reader that writes the start, length and vnet header of every
   * slot it fills and leaves the others alone (the addon's rx bursts; parse clears l3/l4 and the
   * key). Resetting all 256 + 16 offered slots cost more than the frames when a burst brings ~10
   * (a vnet header and four metadata words per slot, each slot its own cache lines): the JIT'd
   * rxBurst was 15% of tvs's CPU at the generator maximum (bench/results, the profile).
   */
  offer(out: Uint32Array, n: number): number {
    const k = n < this.freeCount ? n : this.freeCount;
    const top = this.freeCount;
    for (let i = 0; i < k; i++) out[i] = this.free[top - 1 - i];
    return k;
  }

  /** `offer` for large slots, written to `out[at..at+k)`. */
  offerLarge(out: Uint32Array, at: number, n: number): number {
    const k = n < this.freeLargeCount ? n : this.freeLargeCount;
    const top = this.freeLargeCount;
    for (let i = 0; i < k; i++) out[at + i] = this.freeLarge[top - 1 - i];
    return k;
  }

  /** Take the `k` slots most recently returned by `peek` (they are the top of the free stack). */
  commit(k: number): void {
    this.freeCount -= k;
  }

  /** `peek` for large slots, written to `out[at..at+k)`. */
  peekLarge(out: Uint32Array, at: number, n: number): number {
    const k = n < this.freeLargeCount ? n : this.freeLargeCount;
    const top = this.freeLargeCount;
    for (let i = 0; i < k; i++) {
      const s = this.freeLarge[top - 1 - i];
      out[at + i] = s;
      this.reset(s);
    }
    return k;
  }

  /** Take the `k` large slots most recently returned by `peekLarge`. */
  commitLarge(k: number): void {
    this.freeLargeCount -= k;
  }

  /** Return a slot to the arena. Double frees are a programming error and are not checked here. */
  release(slot: number): void {
    if (slot < this.smallSlots) this.free[this.freeCount++] = slot;
    else this.freeLarge[this.freeLargeCount++] = slot;
  }

  /** Slot base (absolute offset of the vnet header). */
  base(slot: number): number {
    return this.slotBase[slot];
  }

  /** Empty frame at the default headroom, zeroed vnet header. */
  reset(slot: number): void {
    const b = this.slotBase[slot];
    this.start[slot] = b + this.headroom;
    this.len[slot] = 0;
    this.l3[slot] = 0;
    this.l4[slot] = 0;
    // The vnet header (VNET_HDR_LEN = 10 bytes at a base that is a multiple of 64): bytes 0-7
    // as one +0.0 (all zero bits), 8-9 as one 16-bit store.
    this.bytesF64[b >>> 3] = 0;
    this.bytesU16[(b >>> 1) + 4] = 0;
  }

  /** Bytes left in front of the frame (what a header push may use). */
  headroomLeft(slot: number): number {
    return this.start[slot] - (this.slotBase[slot] + VNET_AREA);
  }

  /** Bytes left behind the frame. */
  tailroomLeft(slot: number): number {
    return this.slotBase[slot] + this.sizeOf(slot) - (this.start[slot] + this.len[slot]);
  }

  /** Copy frame bytes (from a test fixture or a packet-out) into a fresh slot; -1 if none or too big. */
  allocFrom(frame: Uint8Array): number {
    const s = this.alloc(frame.length);
    if (s < 0) return -1;
    this.bytes.set(frame, this.start[s]);
    this.len[s] = frame.length;
    return s;
  }

  /**
   * Duplicate a slot (frame, vnet header, metadata and key) into a fresh slot of the class its
   * frame needs. Used when one frame leaves through several ports that may each modify it.
   * -1 if that class is exhausted.
   *
   * Hot path of flooding: when the frame fits a small slot at its current position (the usual
   * case), the vnet header, headroom and frame are one contiguous range moved with ONE
   * copyWithin (the old clone did three: vnet header, frame, key); the key with a second one.
   */
  clone(src: number): number {
    const u8 = this.bytes;
    const sb = this.slotBase[src];
    const off = this.start[src] - sb;
    const n = this.len[src];
    const end = off + n;
    let d: number;
    if (end <= this.slotSize || (n > this.smallMaxFrame && end <= this.largeSlotSize)) {
      // Same relative position in the destination: one move covers header, headroom and frame.
      if (end <= this.slotSize) {
        if (this.freeCount === 0) return -1;
        d = this.free[--this.freeCount];
      } else {
        if (this.freeLargeCount === 0) return -1;
        d = this.freeLarge[--this.freeLargeCount];
      }
      const db = this.slotBase[d];
      u8.copyWithin(db, sb, sb + end);
      this.start[d] = db + off;
    } else {
      // A small frame sitting deep in a large slot (it shrank, or a push moved it): into a small
      // slot at the default headroom.
      if (n > this.smallMaxFrame || this.freeCount === 0) return -1;
      d = this.free[--this.freeCount];
      const db = this.slotBase[d];
      for (let i = 0; i < VNET_HDR_LEN; i++) u8[db + i] = u8[sb + i];
      u8.copyWithin(db + this.headroom, sb + off, sb + end);
      this.start[d] = db + this.headroom;
    }
    this.len[d] = n;
    this.inPort[d] = this.inPort[src];
    this.l3[d] = this.l3[src];
    this.l4[d] = this.l4[src];
    // One builtin move of the 64 key words: a store loop cost ~12 ns more per clone once the
    // key grew from 32 to 64 words (bench: NORMAL flood to 3 memory ports, two clones a frame).
    const ks = src * KEY_WORDS;
    this.key.copyWithin(d * KEY_WORDS, ks, ks + KEY_WORDS);
    this.keyTail[d] = this.keyTail[src];
    return d;
  }

  /** An allocating copy of the frame, for tests, traces, packet-in and the CLI. */
  frame(slot: number): Buffer {
    return Buffer.from(this.bytes.subarray(this.start[slot], this.start[slot] + this.len[slot]));
  }
}
