/**
 * Packet arena: one large ArrayBuffer cut into fixed-size slots, owned by JS.
 *
 *   slot base                                                        base + slotSize
 *   | vnet hdr (10 B) | pad | ...headroom... | frame bytes ...         |
 *   0                 10    16               start[slot] - base
 *
 * - The virtio-net header (struct virtio_net_hdr, 10 bytes) of a frame always lives at offset 0
 *   of its slot, so it never moves when the frame start moves. The native addon reads and writes
 *   it there; all-zero means "no offload state" (VIRTIO_NET_HDR_GSO_NONE, no partial checksum).
 * - The frame starts `headroom` bytes into a fresh slot, so pushing a VLAN tag (or any header)
 *   moves `start` back instead of moving the payload (Snabb `packet.shiftright`, VPP
 *   `current_data`).
 * - `start[]` holds ABSOLUTE byte offsets into `bytes`, so hot-path code indexes
 *   `bytes[start[s] + k]` without recomputing the slot base.
 * - Slots are recycled LIFO: the slot freed last is reused first and is still warm in cache.
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
 * Default slot size: headroom plus a 64 KiB frame. Linux hands AF_PACKET/TAP readers that enable
 * the vnet header TSO/GSO super-frames of up to 64 KiB, and a slot must be able to hold one.
 */
export const DEFAULT_SLOT_SIZE = DEFAULT_HEADROOM + 65536;
export const DEFAULT_SLOT_COUNT = 2048;

export interface ArenaOptions {
  slots?: number;
  slotSize?: number;
  headroom?: number;
}

export class PacketArena {
  readonly buffer: ArrayBuffer;
  readonly bytes: Uint8Array;
  readonly slotSize: number;
  readonly headroom: number;
  readonly capacity: number;
  /** Largest frame a slot holds when it starts at the default headroom. */
  readonly maxFrame: number;

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
  /** Flow keys, KEY_WORDS words per slot (see flow-key.ts). */
  readonly key: Uint32Array;

  /**
   * Budget of slots held beyond one batch (frames waiting for ARP, ...): every holder charges
   * its holds here through its own child budget, so the sum stays a bounded fraction of the
   * arena and a reserve of free slots is always left for ingress (hold-budget.ts).
   */
  readonly holds: HoldBudget;

  /** LIFO stack of free slot indices; `free[0..freeCount)` are free. */
  private readonly free: Uint32Array;
  private freeCount: number;

  constructor(opts: ArenaOptions = {}) {
    const slots = opts.slots ?? DEFAULT_SLOT_COUNT;
    const slotSize = opts.slotSize ?? DEFAULT_SLOT_SIZE;
    const headroom = opts.headroom ?? DEFAULT_HEADROOM;
    if (!Number.isInteger(slots) || slots < 1 || slots > 1 << 20) {
      throw new RangeError(`arena: slots must be an integer in 1..${1 << 20}, got ${slots}`);
    }
    if (!Number.isInteger(headroom) || headroom < VNET_AREA || headroom % 2 !== 0) {
      throw new RangeError(`arena: headroom must be an even integer >= ${VNET_AREA}, got ${headroom}`);
    }
    if (!Number.isInteger(slotSize) || slotSize < headroom + 64 || slotSize % 64 !== 0) {
      throw new RangeError(`arena: slotSize must be a multiple of 64 and >= headroom + 64, got ${slotSize}`);
    }
    if (slots * slotSize > 2 ** 32 - 1) {
      throw new RangeError(`arena: slots * slotSize must stay below 4 GiB (offsets are 32-bit)`);
    }
    this.capacity = slots;
    this.slotSize = slotSize;
    this.headroom = headroom;
    this.maxFrame = slotSize - headroom;
    this.buffer = new ArrayBuffer(slots * slotSize);
    this.bytes = new Uint8Array(this.buffer);
    this.start = new Uint32Array(slots);
    this.len = new Uint32Array(slots);
    this.inPort = new Uint16Array(slots);
    this.l3 = new Uint16Array(slots);
    this.l4 = new Uint16Array(slots);
    this.key = new Uint32Array(slots * KEY_WORDS);
    this.free = new Uint32Array(slots);
    // Push in reverse so slot 0 is handed out first (nicer to read in tests and traces).
    for (let i = 0; i < slots; i++) this.free[i] = slots - 1 - i;
    this.freeCount = slots;
    for (let i = 0; i < slots; i++) this.start[i] = i * slotSize + headroom;
    this.holds = arenaHoldBudget(this);
  }

  /** Number of slots currently free. */
  get available(): number {
    return this.freeCount;
  }

  /** Take one slot, reset to an empty frame at the default headroom; -1 when exhausted. */
  alloc(): number {
    if (this.freeCount === 0) return -1;
    const s = this.free[--this.freeCount];
    this.reset(s);
    return s;
  }

  /**
   * Copy up to `n` free slot indices into `out` WITHOUT taking them, and reset each to an empty
   * frame at the default headroom. An rx burst fills some prefix of them, then `commit(k)`
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

  /** Take the `k` slots most recently returned by `peek` (they are the top of the free stack). */
  commit(k: number): void {
    this.freeCount -= k;
  }

  /** Return a slot to the arena. Double frees are a programming error and are not checked here. */
  release(slot: number): void {
    this.free[this.freeCount++] = slot;
  }

  /** Slot base (absolute offset of the vnet header). */
  base(slot: number): number {
    return slot * this.slotSize;
  }

  /** Empty frame at the default headroom, zeroed vnet header. */
  reset(slot: number): void {
    const b = slot * this.slotSize;
    this.start[slot] = b + this.headroom;
    this.len[slot] = 0;
    this.l3[slot] = 0;
    this.l4[slot] = 0;
    const u8 = this.bytes;
    for (let i = 0; i < VNET_HDR_LEN; i++) u8[b + i] = 0;
  }

  /** Bytes left in front of the frame (what a header push may use). */
  headroomLeft(slot: number): number {
    return this.start[slot] - (slot * this.slotSize + VNET_AREA);
  }

  /** Bytes left behind the frame. */
  tailroomLeft(slot: number): number {
    return (slot + 1) * this.slotSize - (this.start[slot] + this.len[slot]);
  }

  /** Copy frame bytes (from a test fixture or a packet-out) into a fresh slot; -1 if none or too big. */
  allocFrom(frame: Uint8Array): number {
    if (frame.length > this.maxFrame) return -1;
    const s = this.alloc();
    if (s < 0) return -1;
    this.bytes.set(frame, this.start[s]);
    this.len[s] = frame.length;
    return s;
  }

  /**
   * Duplicate a slot (frame and vnet header) into a fresh slot at the same relative position.
   * Used when one frame leaves through several ports that may each modify it. -1 if exhausted.
   */
  clone(src: number): number {
    const d = this.alloc();
    if (d < 0) return -1;
    const sb = src * this.slotSize;
    const db = d * this.slotSize;
    const u8 = this.bytes;
    const off = this.start[src] - sb;
    const n = this.len[src];
    u8.copyWithin(db, sb, sb + VNET_HDR_LEN);
    u8.copyWithin(db + off, sb + off, sb + off + n);
    this.start[d] = db + off;
    this.len[d] = n;
    this.inPort[d] = this.inPort[src];
    this.l3[d] = this.l3[src];
    this.l4[d] = this.l4[src];
    this.key.copyWithin(d * KEY_WORDS, src * KEY_WORDS, (src + 1) * KEY_WORDS);
    return d;
  }

  /** An allocating copy of the frame, for tests, traces, packet-in and the CLI. */
  frame(slot: number): Buffer {
    return Buffer.from(this.bytes.subarray(this.start[slot], this.start[slot] + this.len[slot]));
  }
}
