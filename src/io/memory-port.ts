/**
 * In-memory port: frames go in and out through JS calls instead of a kernel device. Used by
 * unit tests, the deterministic embedding mode and the in-memory benchmarks.
 *
 * - `inject(frame)` queues a frame for receive (copied; allocation is fine here, it is the
 *   test/agent side, not the datapath).
 * - `setGenerator(templates, count)` makes rxBurst produce frames from preloaded templates
 *   without allocating (benchmark source, Snabb `basic1` style).
 * - Transmitted frames are kept (up to `keep`) for inspection, or only counted (`keep = 0`,
 *   benchmark sink), or handed to an `onTransmit` callback.
 */
import { constants as osConstants } from 'os';
import { PacketArena, VNET_HDR_LEN } from '../packet/arena';
import { Batch } from '../packet/batch';
import { Port, PortCounters } from './port';

const ENETDOWN = osConstants.errno.ENETDOWN;

export interface MemoryPortOptions {
  mtu?: number;
  /** How many transmitted frames to keep for `takeTransmitted` (0 = count only). */
  keep?: number;
  offloads?: boolean;
}

export class MemoryPort implements Port {
  readonly kind = 'memory' as const;
  readonly counters = new PortCounters();
  readonly mtu: number;
  readonly offloads: boolean;
  up = true;
  private readonly queue: Buffer[] = [];
  private qHead = 0;
  private readonly sent: Buffer[] = [];
  /** virtio-net headers of queued frames that have one (test side; rare, so a side map). */
  private readonly hdrs = new Map<Buffer, Uint8Array>();
  /** How many transmitted frames to keep for takeTransmitted (0: count only, the benchmark sink). */
  keep: number;
  private notify: (() => void) | null = null;
  private scheduled = false;
  /** Called with each transmitted frame (copy) when set. */
  onTransmit: ((frame: Buffer) => void) | null = null;

  // generator state
  /** Template views made once, so a generated frame is one `set` and no allocation. */
  private genViews: Uint8Array[] = [];
  private genNext = 0;
  private genLeft = 0;

  constructor(
    readonly name: string,
    private readonly arena: PacketArena,
    opts: MemoryPortOptions = {},
  ) {
    this.mtu = opts.mtu ?? 1500;
    this.keep = opts.keep ?? 10000;
    this.offloads = opts.offloads ?? false;
  }

  /**
   * Queue a frame to be received; wakes the datapath if it is running. On a port with
   * `offloads`, `vnetHdr` (10 bytes, virtio_net_hdr as a TAP would deliver it) comes with it.
   */
  inject(frame: Uint8Array, vnetHdr?: Uint8Array): void {
    const f = Buffer.from(frame);
    if (vnetHdr !== undefined) {
      if (!this.offloads) throw new Error(`memory port ${this.name}: a virtio-net header needs offloads`);
      this.hdrs.set(f, Uint8Array.from(vnetHdr.subarray(0, VNET_HDR_LEN)));
    }
    this.queue.push(f);
    this.wake();
  }

  /** Preload templates; rxBurst then yields `count` frames cycling through them. */
  setGenerator(templates: Uint8Array[], count: number): void {
    this.genViews = templates.map((t) => Uint8Array.from(t));
    this.genNext = 0;
    this.genLeft = count;
    this.wake();
  }

  get pending(): number {
    return this.queue.length - this.qHead + this.genLeft;
  }

  private wake(): void {
    if (!this.notify || this.scheduled) return;
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      if (this.notify && this.pending > 0) this.notify();
    });
  }

  rxBurst(batch: Batch): number {
    if (!this.up) return 0;
    const a = this.arena;
    const u8 = a.bytes;
    let n = 0;
    const room = batch.capacity - batch.count;
    if (this.genLeft > 0 && this.genViews.length > 0) {
      // The generator's position, the batch's fill and the byte count stay in locals for the
      // burst and are written back once.
      const views = this.genViews;
      const nt = views.length;
      const out = batch.slots;
      const at = batch.count;
      const want = room < this.genLeft ? room : this.genLeft;
      let i = this.genNext;
      let bytes = 0;
      while (n < want) {
        const v = views[i];
        const l = v.length;
        const s = a.alloc(l);
        if (s < 0) break;
        u8.set(v, a.start[s]);
        a.len[s] = l;
        i = i + 1 === nt ? 0 : i + 1;
        out[at + n] = s;
        bytes += l;
        n++;
      }
      this.genNext = i;
      this.genLeft -= n;
      batch.count = at + n;
      this.counters.rxBytes += bytes;
      this.counters.rxPackets += n;
      return n;
    }
    while (n < room && this.qHead < this.queue.length) {
      const f = this.queue[this.qHead];
      if (f.length > a.maxFrame) {
        this.qHead++;
        this.hdrs.delete(f);
        this.counters.drops.add(1);
        continue;
      }
      const s = a.alloc(f.length);
      if (s < 0) break;
      this.qHead++;
      if (this.hdrs.size > 0) {
        const h = this.hdrs.get(f);
        if (h !== undefined) {
          u8.set(h, a.base(s));
          this.hdrs.delete(f);
        }
      }
      u8.set(f, a.start[s]);
      a.len[s] = f.length;
      batch.slots[batch.count++] = s;
      this.counters.rxPackets++;
      this.counters.rxBytes += f.length;
      n++;
    }
    if (this.qHead === this.queue.length) {
      this.queue.length = 0;
      this.qHead = 0;
    }
    return n;
  }

  txBurst(slots: Uint32Array, n: number): number {
    if (!this.up) return -ENETDOWN;
    const a = this.arena;
    const len = a.len;
    let bytes = 0;
    for (let i = 0; i < n; i++) bytes += len[slots[i]];
    this.counters.txBytes += bytes;
    this.counters.txPackets += n;
    if (this.keep > 0 || this.onTransmit) {
      for (let i = 0; i < n; i++) {
        const copy = a.frame(slots[i]);
        if (this.keep > 0 && this.sent.length < this.keep) this.sent.push(copy);
        if (this.onTransmit) this.onTransmit(copy);
      }
    }
    return n;
  }

  /** Frames transmitted so far (and forget them). */
  takeTransmitted(): Buffer[] {
    return this.sent.splice(0, this.sent.length);
  }

  start(onReadable: () => void): void {
    this.notify = onReadable;
    if (this.pending > 0) this.wake();
  }
  stop(): void {
    this.notify = null;
  }
  close(): void {
    this.stop();
    this.up = false;
  }
  /** Simulate the link going away (tests). */
  setDown(): void {
    this.up = false;
  }
  describe(): Record<string, unknown> {
    return { type: 'memory', mtu: this.mtu, queued: this.pending };
  }
}
