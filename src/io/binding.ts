/**
 * The ONLY module that loads the native addon (node-pty `native.d.ts`, serialport's binding
 * pattern). Everything else depends on the `NativeBinding` interface, so unit tests can inject
 * a fake. Setup calls validate and throw Errors carrying `code` (errno name), `errno`,
 * `syscall` and a hint; burst calls return counts or -errno and never throw.
 */
import * as path from 'path';

/** What the addon needs to read and write frames in the JS-owned arena. */
export interface ArenaView {
  buffer: ArrayBuffer;
  /** Size of the first `smallSlots` slots; the rest are `largeSlotSize` (see packet/arena.ts). */
  slotSize: number;
  smallSlots?: number;
  largeSlotSize?: number;
  headroom: number;
  /** absolute frame start offsets, one per slot (see packet/arena.ts) */
  start: Uint32Array;
  /** frame lengths, one per slot */
  len: Uint32Array;
}

export interface AfPacketOptions {
  /** Enable PACKET_VNET_HDR: frames carry a virtio-net header at slot offset 0. */
  vnetHdr: boolean;
  /** 'v3' (TPACKET_V3 block ring, default) or 'v2' (per-frame ring, wakes per packet). */
  ring?: 'v3' | 'v2';
  /** Send MTU-sized frames through a PACKET_TX_RING (one send() per burst); GSO frames keep sendmmsg. */
  txRing?: boolean;
  /** TPACKET_V3 block retire timeout in ms (latency bound when traffic is light). */
  blockTimeoutMs?: number;
  /** Ring geometry: block size (bytes, power of two multiple of page size) and count. */
  blockSize?: number;
  blockCount?: number;
  /** V2 ring: frames in the RX ring (rounded up to whole blocks); default 4 MiB of frames (2,048 at MTU 1500). Not with blockCount. */
  ringFrames?: number;
}

export interface TapOptions {
  vnetHdr: boolean;
  /** TUNSETPERSIST: the device outlives the switch. */
  persist: boolean;
  /** Create the device or fail (EEXIST) if an interface of that name exists (IFF_TUN_EXCL). */
  exclusive?: boolean;
  /** The device's MAC (aa:bb:cc:dd:ee:ff), set before it is brought up. */
  mac?: string;
}

export interface UnderlayOptions {
  /** Address the sockets bind to ('' or absent: 0.0.0.0); must be one of the host's. */
  localIp?: string;
  /** VXLAN: UDP port to receive on (default 4789). */
  dstPort?: number;
}

/**
 * A tunnel underlay handle (native/src/underlay.h) receives, per frame, the UDP payload (VXLAN)
 * or the whole IPv4 packet (GRE) at the frame start, and UNDERLAY_META bytes in front of it:
 * the outer source then destination IPv4 address, network order. It sends complete IPv4
 * packets (IP_HDRINCL) to the destination written in their header.
 */
export const UNDERLAY_META = 8;
/** After an underlay txBurst, a refused frame's len is one of these (sent ones keep theirs). */
export const UNDERLAY_REFUSED_UNREACHABLE = 0;
export const UNDERLAY_REFUSED_TOO_BIG = 1;
export const UNDERLAY_REFUSED_OTHER = 2;

export interface PortInfo {
  name: string;
  ifindex: number;
  mtu: number;
  /** "aa:bb:cc:dd:ee:ff" */
  mac: string;
}

/**
 * A kernel device's link as rtnetlink reports it (native/src/linkmon.c): in a link monitor's
 * notifications and from linkState.
 */
export interface LinkInfo {
  ifindex: number;
  name: string;
  /** IFF_UP: administratively up (`ip link set DEV up`). */
  adminUp: boolean;
  /** IFF_RUNNING: operationally up, i.e. carrier (what OVS's netdev-linux reports as carrier). */
  running: boolean;
  /** IFF_LOWER_UP: the driver signals carrier (a veth: its peer is up). */
  lowerUp: boolean;
  /** RFC 2863 operstate: 'up', 'down', 'lowerlayerdown', 'dormant', 'unknown'... */
  operstate: string;
  /** "aa:bb:cc:dd:ee:ff"; '' for a device without an Ethernet address. */
  mac: string;
  /** RTM_DELLINK: the device left this namespace. */
  deleted: boolean;
}

/** A link monitor of the addon (linkMonitorOpen); only linkMonitorClose looks inside. */
export type NativeLinkMonitor = object;

export interface NativePortStats {
  /** Cumulative frames the kernel dropped because the ring was full (PACKET_STATISTICS). */
  kernelDrops: number;
  /** Frames dropped because they did not fit an arena slot. */
  rxOversize: number;
  /** Frames the kernel refused one at a time on tx (the rest of the burst still went). */
  txErrors?: number;
  /** Tunnel underlay: sends refused for lack of a route to the remote. */
  txUnreachable?: number;
  /** Tunnel underlay: sends refused as larger than the route MTU (EMSGSIZE). */
  txTooBig?: number;
}

/** Indices of statsInto's array (NativePortStats, in the addon's order). */
export const ST_KERNEL_DROPS = 0;
export const ST_RX_OVERSIZE = 1;
export const ST_TX_ERRORS = 2;
export const ST_TX_UNREACHABLE = 3;
export const ST_TX_TOO_BIG = 4;
export const STATS_WORDS = 5;

/**
 * A port's native counters into `out` (STATS_WORDS, ST_* indices): statsInto, or through
 * `stats` on a binding without it.
 */
export function readStats(binding: NativeBinding, handle: number, out: Float64Array): void {
  if (binding.statsInto !== undefined) return binding.statsInto(handle, out);
  const st = binding.stats(handle);
  out[ST_KERNEL_DROPS] = st.kernelDrops;
  out[ST_RX_OVERSIZE] = st.rxOversize;
  out[ST_TX_ERRORS] = st.txErrors ?? 0;
  out[ST_TX_UNREACHABLE] = st.txUnreachable ?? 0;
  out[ST_TX_TOO_BIG] = st.txTooBig ?? 0;
}

export interface NativeBinding {
  openAfPacket(ifname: string, opts: AfPacketOptions, arena: ArenaView): number;
  openTap(name: string, opts: TapOptions, arena: ArenaView): { handle: number; name: string };
  /**
   * A port on no device (native/src/scratch.h): it receives only what `scratchInject` gives it
   * and sends nowhere. The start-up warm-up runs real port classes on these (datapath/warm-up.ts).
   */
  openScratch?(name: string, opts: { vnetHdr: boolean }, arena: ArenaView): number;
  /**
   * Queue `copies` (default 1, at most 65,536) copies of one frame (copied) for a scratch port's
   * next rxBursts, as many per burst as it offers slots: 0 or -errno (-EBADF: not a scratch port;
   * -EBUSY: copies of a frame are still queued).
   */
  scratchInject?(handle: number, frame: Uint8Array, copies?: number): number;
  /** Tunnel underlay sockets (VXLAN: UDP rx + raw tx; GRE: raw IP protocol 47). */
  openUnderlay(kind: 'vxlan' | 'gre', opts: UnderlayOptions, arena: ArenaView): number;
  /** MTU of the route to `remote` (from `local` when given), or -errno (ENETUNREACH: no route). */
  routeMtu(remote: string, local?: string): number;
  /**
   * Receive up to `max` frames: those that fit a small slot into `slots[0..max)` in order, larger
   * ones into the large slots `slots[max..max+large)` in order. Returns the count k (or -errno);
   * `slots[0..k)` then lists the filled slots in arrival order.
   */
  rxBurst(handle: number, slots: Uint32Array, max: number, large?: number): number;
  /** Send slots[0..n); the number the kernel took, or -errno. */
  txBurst(handle: number, slots: Uint32Array, n: number): number;
  /** Watch the fd with libuv; `cb(status, events)`: status < 0 is -errno (e.g. device gone). */
  /**
   * `clock` (optional): before every `cb` the addon writes the time into clock[0], in ms of the
   * monotonic clock process.hrtime() reads (packet/batch-clock.ts, monotonicMs).
   */
  pollStart(handle: number, cb: (status: number, events: number) => void, clock?: Float64Array): void;
  pollStop(handle: number): void;
  /**
   * The adaptive spin after traffic, process-wide: keep polling the ports for up to `us`
   * microseconds after the last frame before sleeping (0: sleep at once). Without an argument
   * only reports. `spunMs`: time spent spinning so far; `preempted`: spins ended because the
   * CPU was taken away (spinning then pauses, see native/src/spinner.c).
   */
  pollSpin?(us?: number): { spinUs: number; spunMs: number; preempted: number };
  /**
   * Wake-ahead for periodic traffic, process-wide: wake up to `us` µs before the next expected
   * frame and poll for it (0: off; native/src/spinner.c, "Latency"). Without an argument only
   * reports. `caught` / `missed`: predicted polls that saw their frame / ended without it;
   * `periodUs` / `leadUs`: the current estimate of the period and the lead the next timer uses;
   * `polledMs`: time spent in predicted polls so far (not in pollSpin's spunMs); `held`: polls
   * not made because the CPU was contended, spinning was in backoff or the timer came later than
   * the whole budget; `preempted`: as pollSpin's (spins and polls that lost the CPU).
   */
  pollWakeAhead?(us?: number): { wakeAheadUs: number; caught: number; missed: number; periodUs: number; leadUs: number; polledMs: number; held: number; preempted: number };
  /** Test hook: the wake-ahead learner replayed on frame times (µs) and timer lateness (µs); per frame 0 no timer, 1 missed, 2 caught (native/src/js_test_hooks.c). */
  wakeAheadReplay?(maxLeadUs: number, frameUs: Float64Array, lateUs: Float64Array): Uint8Array;
  /**
   * Test hook: frames that came `agoUs` µs ago (oldest first) through wake-ahead's frame path,
   * then a readiness of its timer with nothing to read (a frame in the same epoll batch re-armed
   * it); `armedUs`: how long the timer had still to run at the readiness (0: held, or expired
   * already), `leadUs`: the lead before the readiness, `polling`: a predicted poll runs after it
   * (native/src/js_test_hooks.c). Wake-ahead must be on.
   */
  wakeAheadTimerRace?(agoUs: Float64Array): { armedUs: number; leadUs: number; polling: boolean };
  close(handle: number): void;
  info(handle: number): PortInfo;
  stats(handle: number): NativePortStats;
  /**
   * The same counters into `out` (a Float64Array of STATS_WORDS, indexed by ST_*), allocating
   * nothing: what the datapath calls once a second per port (readStats). Optional: test fakes
   * and an addon built before it have only `stats`.
   */
  statsInto?(handle: number, out: Float64Array): void;
  /**
   * Watch this namespace's link notifications (rtnetlink RTNLGRP_LINK) from the event loop:
   * `cb(links, overrun, errno)` runs whenever the kernel reported devices changing (at most 64
   * links per call). `overrun`: notifications were lost (the kernel's buffer was full), read every
   * device of interest again with linkState; `errno` < 0: the socket broke and the monitor
   * stopped. Optional: test fakes and an older addon have no link monitor.
   */
  linkMonitorOpen?(cb: (links: LinkInfo[], overrun: boolean, errno: number) => void): NativeLinkMonitor;
  /** Stop a link monitor and close its socket (idempotent). */
  linkMonitorClose?(monitor: NativeLinkMonitor): void;
  /** A device's link now, by interface index (RTM_GETLINK); throws ENODEV when there is none. */
  linkState?(ifindex: number): LinkInfo;
  /** Look up an interface by name without opening it (MTU, MAC, ifindex); throws ENODEV. */
  ifInfo(name: string): PortInfo;
  /**
   * Give back memory start-up and configuration touched once: malloc_trim, then drop the mapping
   * of the node executable's clean pages (they fault back in from the page cache when run again;
   * native/src/memtrim.c). `execBytes`: address space dropped.
   */
  trimMemory?(): { execBytes: number; mallocTrimmed: number };
  /**
   * Put one thread of this process (a Linux thread id) in SCHED_IDLE: it then runs only when no
   * normal thread wants its CPU (src/cli/helper-threads.ts). 0, or -errno (-ESRCH: it ended).
   */
  setThreadIdle?(tid: number): number;
  /**
   * Put one thread of this process back in SCHED_OTHER, keeping its nice value. 0, or -errno
   * (-EPERM: leaving SCHED_IDLE needs CAP_SYS_NICE or an RLIMIT_NICE allowing its nice value).
   */
  setThreadNormal?(tid: number): number;
  /**
   * Set one thread's scheduler slice in ns (EEVDF custom slice, Linux 6.12+; 0: the kernel's
   * default), keeping its policy and nice value (src/cli/datapath-slice.ts). 0, or -errno;
   * older kernels accept and ignore it, so read it back with getThreadSlice.
   */
  setThreadSlice?(tid: number, ns: number): number;
  /** One thread's scheduler slice in ns as the kernel reports it (0: none), or -errno. */
  getThreadSlice?(tid: number): number;
}

let cached: NativeBinding | undefined;
let loadError: Error | undefined;

/** Where `make` puts the addon. */
export const ADDON_PATH = path.resolve(__dirname, '../../../native/build/Release/tvs_native.node');

/** Load the addon once. Throws a clear error if it was not built. */
export function loadBinding(): NativeBinding {
  if (cached) return cached;
  if (loadError) throw loadError;
  try {
    // eslint-disable-next-line @typescript-eslint/no-var-requires
    cached = require(ADDON_PATH) as NativeBinding;
    return cached;
  } catch (e) {
    loadError = new Error(`cannot load the native addon at ${ADDON_PATH} (run 'make'): ${(e as Error).message}`);
    throw loadError;
  }
}

/** True when the addon is built and loadable (tests use this to say why they skip). */
export function bindingAvailable(): boolean {
  try {
    loadBinding();
    return true;
  } catch {
    return false;
  }
}
