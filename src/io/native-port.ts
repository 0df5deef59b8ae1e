/**
 * What AF_PACKET and TAP ports share: both are a handle in the native addon that moves whole
 * bursts between the kernel and arena slots. The subclasses only differ in how they open.
 *
 * Hot path (rxBurst/txBurst): one native call per burst, no allocation — the slot list handed
 * to the addon is a Uint32Array preallocated here, and counters are plain number fields.
 */
import { constants as osConstants } from 'os';
import { Batch, BURST } from '../packet/batch';
import { PacketArena } from '../packet/arena';
import { ClockPeriod } from '../packet/batch-clock';
import { LinkInfo, NativeBinding, PortInfo, readStats, ST_KERNEL_DROPS, ST_RX_OVERSIZE, ST_TX_ERRORS, STATS_WORDS, bindingAvailable, loadBinding } from './binding';
import { DEFAULT_WAKE_AHEAD_US } from './wake-ahead-limits';
import { DROP_RX_KERNEL, DROP_RX_OVERSIZE, DROP_TX_DOWN, Port, PortCounters, PortKind } from './port';

const ENETDOWN = osConstants.errno.ENETDOWN;
const EBADF = osConstants.errno.EBADF;

/**
 * Large slots offered per rx burst, for frames that do not fit a small one (GSO super-frames,
 * jumbo frames). A burst with more such frames ends early and the next one continues.
 */
export const LARGE_OFFER = 16;

/** How often (at most) a short rx burst pulls the kernel drop counters: it costs a syscall. */
export const STATS_REFRESH_MS = 1000;

/**
 * Default spin budget (µs): after traffic the addon keeps polling the ports for up to this long
 * after the last frame, adaptively, before it sleeps (native/src/spinner.c, "Latency"). 0: a
 * spinning switch takes a whole core while any traffic flows (at 100 kpps it would poll away
 * the ~70% of the core it now sleeps), so spinning is asked for (`tvs start --spin-us`), not
 * assumed. The sweep of the other rings after each wakeup runs either way.
 */
export const DEFAULT_SPIN_US = 0;
export { DEFAULT_WAKE_AHEAD_US };
let spinUs = DEFAULT_SPIN_US;

/** Wake-ahead budget (µs) for periodic traffic: see wake-ahead-limits.ts. */
let wakeAheadUs = DEFAULT_WAKE_AHEAD_US;

/** Set the wake-ahead budget for every native port of this process (applied when ports start polling). */
export function setWakeAhead(us: number): void {
  if (!(Number.isFinite(us) && us >= 0 && us <= 1_000_000)) throw new RangeError(`wake-ahead budget must be 0..1000000 µs, got ${us}`);
  wakeAheadUs = us;
}

/**
 * The addon's wake-ahead state (budget, predicted polls that caught / missed their frame, the
 * period and lead it uses now), or undefined without the addon.
 */
export function wakeAheadStats(): ReturnType<NonNullable<NativeBinding['pollWakeAhead']>> | undefined {
  if (!bindingAvailable()) return undefined;
  return loadBinding().pollWakeAhead?.();
}

/** Set the spin budget for every native port of this process (applied when ports start polling). */
export function setPollSpin(us: number): void {
  if (!(Number.isFinite(us) && us >= 0 && us <= 1_000_000)) throw new RangeError(`spin budget must be 0..1000000 µs, got ${us}`);
  spinUs = us;
}

export abstract class NativePort implements Port {
  abstract readonly kind: PortKind;
  readonly name: string;
  readonly offloads: boolean;
  readonly counters = new PortCounters();
  mtu: number;

  protected readonly binding: NativeBinding;
  protected readonly arena: PacketArena;
  /** The addon's handle of this port (the warm-up feeds scratch ports through it). */
  readonly handle: number;
  protected lastInfo: PortInfo;

  /** Slot indices offered to the addon per rx burst (preallocated: no allocation per burst). */
  private readonly offer: Uint32Array;
  private readonly burst: number;
  private downErrno = 0;
  private closed = false;
  private polling = false;
  private readonly statsPeriod = new ClockPeriod(STATS_REFRESH_MS);
  /** The datapath's batch clock (start()), or null: rxBurst's rate limit reads Date.now() then. */
  private clock: Float64Array | null = null;
  private seenKernelDrops = 0;
  private seenOversize = 0;
  /** Frames the kernel refused individually on tx (cumulative, for describe()). */
  private txRefused = 0;
  /** The addon's counters (readStats), read into this array: no object per refresh. */
  private readonly nativeStats = new Float64Array(STATS_WORDS);

  protected constructor(
    binding: NativeBinding,
    arena: PacketArena,
    handle: number,
    name: string,
    offloads: boolean,
    burst: number,
  ) {
    this.binding = binding;
    this.arena = arena;
    this.handle = handle;
    this.name = name;
    this.offloads = offloads;
    this.burst = burst;
    this.offer = new Uint32Array(burst + LARGE_OFFER);
    this.lastInfo = binding.info(handle);
    this.mtu = this.lastInfo.mtu;
  }

  get up(): boolean {
    return this.downErrno === 0;
  }

  /** -errno that took the port down, 0 while up. */
  get downReason(): number {
    return this.downErrno;
  }

  rxBurst(batch: Batch): number {
    if (this.downErrno !== 0) return -this.downErrno;
    let room = batch.capacity - batch.count;
    if (room > this.burst) room = this.burst;
    if (room <= 0) return 0;
    const offer = this.offer;
    const arena = this.arena;
    // offer + commit: the addon fills a prefix of the offered small slots and of the offered
    // large ones (for frames that need one), and reports which it used in offer[0..k). It writes
    // start, length and vnet header of each slot it fills, so the offer resets nothing.
    const want = arena.offer(offer, room);
    if (want === 0) return 0; // arena exhausted: frames wait in the kernel (its ring drops count them)
    const large = arena.offerLarge(offer, want, want < LARGE_OFFER ? want : LARGE_OFFER);
    const k = this.binding.rxBurst(this.handle, offer, want, large);
    if (k < 0) {
      this.markDown(-k);
      return k;
    }
    // Which of the k were large: the offer list tells (large slot indices follow the small ones).
    let kl = 0;
    if (large > 0) {
      const firstLarge = arena.smallSlots;
      for (let i = 0; i < k; i++) if (offer[i] >= firstLarge) kl++;
    }
    arena.commit(k - kl);
    if (kl > 0) arena.commitLarge(kl);
    const len = arena.len;
    const slots = batch.slots;
    let c = batch.count;
    let bytes = 0;
    for (let i = 0; i < k; i++) {
      const s = offer[i];
      slots[c++] = s;
      bytes += len[s];
    }
    batch.count = c;
    this.counters.rxPackets += k;
    this.counters.rxBytes += bytes;
    // A short burst ends a drain: a cheap moment to look at the kernel's drop counter, but
    // rate-limited because under light load every frame is its own drain.
    if (k < want) {
      // The batch clock when the datapath gave one: Date.now() returns a fresh heap number.
      if (this.statsPeriod.due(this.clock)) this.refreshStats();
    }
    return k;
  }

  txBurst(slots: Uint32Array, n: number): number {
    if (this.downErrno !== 0) {
      this.counters.drops.add(DROP_TX_DOWN, n);
      return -this.downErrno;
    }
    if (n <= 0) return 0;
    const k = this.binding.txBurst(this.handle, slots, n);
    if (k < 0) {
      this.counters.drops.add(DROP_TX_DOWN, n);
      // ENETDOWN on tx means the link is administratively down but still exists (a deleted
      // AF_PACKET device gives ENXIO, a deleted TAP EBADFD): it comes back with `ip link set up`.
      if (k !== -ENETDOWN) this.markDown(-k);
      return k;
    }
    // When the kernel refused a frame in the middle, or a full TX ring left frames behind while
    // later ones went by sendmmsg, the ones taken are not exactly slots[0..k): byte counts are
    // then approximate (the refusals show up in describe().txRefused).
    const len = this.arena.len;
    let bytes = 0;
    for (let i = 0; i < k; i++) bytes += len[slots[i]];
    this.counters.txPackets += k;
    this.counters.txBytes += bytes;
    return k;
  }

  start(onReadable: (stamped?: boolean) => void, clock?: Float64Array, stamp = false): void {
    if (this.closed || this.downErrno !== 0) return;
    this.polling = true;
    if (clock !== undefined && clock !== this.clock) {
      this.clock = clock;
      this.statsPeriod.last = clock[0];
    }
    const stamped = stamp && clock !== undefined;
    // Optional on the binding: test fakes implement only the port calls.
    this.binding.pollSpin?.(spinUs);
    this.binding.pollWakeAhead?.(wakeAheadUs);
    this.binding.pollStart(this.handle, (status: number) => {
      if (status < 0) {
        // The device went away (the addon already filtered out transient link-down errors).
        // Stop watching, then wake the datapath once so its next rxBurst sees -errno.
        this.markDown(-status);
      }
      onReadable(stamped);
    }, stamped ? clock : undefined);
  }

  stop(): void {
    if (!this.polling) return;
    this.polling = false;
    this.binding.pollStop(this.handle);
  }

  close(): void {
    if (this.closed) return;
    this.stop();
    this.refreshStats();
    this.closed = true;
    if (this.downErrno === 0) this.downErrno = EBADF;
    this.binding.close(this.handle);
  }

  /** Pull the kernel and addon drop counters into `counters` now (also done every STATS_REFRESH_MS). */
  refreshStats(): void {
    if (this.closed) return;
    const st = this.nativeStats;
    readStats(this.binding, this.handle, st);
    const kernelDrops = st[ST_KERNEL_DROPS];
    const rxOversize = st[ST_RX_OVERSIZE];
    const d = this.counters.drops;
    if (kernelDrops > this.seenKernelDrops) d.add(DROP_RX_KERNEL, kernelDrops - this.seenKernelDrops);
    if (rxOversize > this.seenOversize) d.add(DROP_RX_OVERSIZE, rxOversize - this.seenOversize);
    this.seenKernelDrops = kernelDrops;
    this.seenOversize = rxOversize;
    this.txRefused = st[ST_TX_ERRORS];
  }

  describe(): Record<string, unknown> {
    let info: Record<string, unknown> = this.lastInfo as unknown as Record<string, unknown>;
    if (!this.closed) {
      try {
        this.lastInfo = this.binding.info(this.handle);
        info = this.lastInfo as unknown as Record<string, unknown>;
        this.mtu = this.lastInfo.mtu;
        this.refreshStats();
      } catch (e) {
        info = { ...info, error: (e as Error).message };
      }
    }
    return {
      kind: this.kind,
      device: info.name,
      ifindex: info.ifindex,
      mac: info.mac,
      mtu: info.mtu,
      vnetHdr: this.offloads,
      up: this.up,
      ...(this.downErrno !== 0 ? { downErrno: this.downErrno } : {}),
      txRefused: this.txRefused,
      ...this.describeExtra(info),
      ...(info.error ? { error: info.error } : {}),
    };
  }

  hwAddr(): string {
    if (this.closed) return this.lastInfo.mac;
    try {
      this.lastInfo = this.binding.info(this.handle);
    } catch {
      // The device went away (or into another namespace): the address it had last.
    }
    return this.lastInfo.mac;
  }

  get ifindex(): number {
    return this.lastInfo.ifindex;
  }

  linkState(): LinkInfo | undefined {
    const b = this.binding;
    if (b.linkState === undefined) {
      // An addon without link queries: up, with the address info() reads.
      return { ifindex: this.ifindex, name: this.lastInfo.name, adminUp: true, running: true, lowerUp: true, operstate: 'unknown', mac: this.hwAddr(), deleted: false };
    }
    if (this.closed) return undefined;
    try {
      return b.linkState(this.ifindex);
    } catch {
      return undefined; // gone (ENODEV), or moved to another namespace
    }
  }

  protected describeExtra(_info: Record<string, unknown>): Record<string, unknown> {
    return {};
  }

  private markDown(errno: number): void {
    if (this.downErrno === 0) this.downErrno = errno > 0 ? errno : EBADF;
    this.stop();
  }
}

/** Default burst size for native ports. */
export const NATIVE_BURST = BURST;
