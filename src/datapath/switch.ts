/**
 * The switch: one packet arena, the bridges, every port, and the run loop.
 *
 *   port readable → rx burst (one native call) → bridge.input (parse once, flows or NORMAL)
 *   → frames crossing patch/router ports run through their bridges (bounded passes)
 *   → one tx call per port with queued frames → slots back to the arena
 *
 * Event driven: each kernel port's fd is watched by libuv; on readiness the port is drained
 * burst by burst until a burst comes back short, then the process sleeps (0% CPU idle). A
 * busy-poll mode (benchmarks) polls every port from a setImmediate loop instead.
 *
 * What the loop runs on lives beside it: ports are made in port-table.ts (their I/O in
 * io-factory.ts), flow tables in pipelines.ts, captures in capture.ts, and the views that
 * `show`/`dump-ports` print in views.ts.
 */
import { EventEmitter } from 'events';
import { constants as osConstants } from 'os';
import { PacketArena, ArenaOptions } from '../packet/arena';
import { Batch, BURST } from '../packet/batch';
import { KEY_SHIFT, KEY_WORDS } from '../packet/flow-key';
import { monotonicMs, newBatchClock, type BatchClock } from '../packet/batch-clock';
import * as vnet from '../packet/vnet';
import * as gsoSw from '../packet/gso';
import {
  DROP_TX_DOWN,
  DROP_TX_FULL,
  DROP_TX_ERROR,
  DROP_TX_GSO,
  DROP_TX_MTU,
} from '../io/port';
import { formatMac, HEADER_LEN as ETH_HEADER_LEN } from '../wire/ethernet';
import type { PacketInReason } from '../flow/bridge-ops';
import type { Action } from '../flow/actions';
import { parseBatch } from '../packet/parse';
import type { FlowPipeline } from '../flow/pipeline';
import { setPollSpin, setWakeAhead } from '../io/native-port';
import { Bridge, BridgeHost, BridgeOptions, BRIDGE_DROPS } from './bridge';
import { PortConfig, SwitchPort } from './switch-port';
import { IoFactory, defaultIoFactory } from './io-factory';
import { PortLinkWatch } from './link-watch';
import { checkName, PortTable } from './port-table';
import { PipelineFactory, defaultPipelines } from './pipelines';
import { capture, tapBatch, tapOne, type CaptureOptions, type CapturedFrame } from './capture';
import * as views from './views';
import { L3Attachments } from './l3-attach';
import { defaultDatapathId } from './datapath-id';

export interface SwitchOptions {
  /** Milliseconds clock; inject a virtual one for deterministic tests. */
  clock?: () => number;
  arena?: ArenaOptions;
  /** Creates the I/O of every port kind; tests inject fakes. */
  io?: IoFactory;
  /** Creates the flow tables of each bridge. */
  pipelines?: PipelineFactory;
  /** Poll every port from a setImmediate loop instead of waiting for readiness (benchmarks). */
  busyPoll?: boolean;
  /**
   * Kernel ports: after traffic, keep polling for up to this many µs after the last frame
   * (adaptively) before sleeping; 0 sleeps as soon as the ports are empty. Process-wide.
   * Default DEFAULT_SPIN_US (io/native-port.ts).
   */
  spinUs?: number;
  /**
   * Kernel ports: for periodic traffic, wake up to this many µs before the next expected frame
   * and poll for it; 0: off. Process-wide. Default DEFAULT_WAKE_AHEAD_US (io/native-port.ts).
   */
  wakeAheadUs?: number;
  /** Defaults for new bridges. */
  bridge?: BridgeOptions;
  /**
   * What tells this switch from another one (the daemon passes its host and control socket):
   * the default OpenFlow datapath id of a bridge derives from it and the bridge name.
   */
  instance?: string;
}

export interface PacketIn {
  bridge: string;
  table: number;
  cookie: bigint;
  reason: PacketInReason;
  inPort: number;
  inPortName: string | undefined;
  frame: Buffer;
  /** The controller action's max_len (65535 = the whole frame). */
  maxLen: number;
  /** The frame's flow key when it was sent (pipeline fields included: registers, metadata...). */
  key: Uint32Array;
}

/** Frames may cross at most this many patch/router hops per received batch (loop guard). */
const MAX_PATCH_PASSES = 16;
/** Bursts drained per readiness callback before yielding to other ports and timers. */
const MAX_BURSTS_PER_WAKE = 64;
/**
 * MAX_BURSTS_PER_WAKE, for the warm-up (warm-up.ts), which fills that many bursts. Exported under
 * another name: wherever this file uses one of its exported constants, it is compiled to a
 * property load from `exports`.
 */
export const BURSTS_PER_WAKE = MAX_BURSTS_PER_WAKE;
/**
 * A receive burst that comes back full means frames were waiting: the datapath thread is
 * saturated (the 'saturation' event, true). Calm again (false) once no burst has come back full
 * for this long (ms): the event fires on transitions only, at most twice per period.
 */
export const SATURATION_CALM_MS = 100;
/** Switch.saturation's two words. */
const SAT_ON = 0;
const SAT_AT = 1;

const D_PATCH_LOOP = BRIDGE_DROPS.id.patch_loop;
const D_CHECKSUM = BRIDGE_DROPS.id.checksum_offload;
const D_CONTROLLER_UNSET = BRIDGE_DROPS.id.controller_unset;
/** A transmit that failed because the device is down or gone (not a transient error). */
const E_NETDOWN = osConstants.errno.ENETDOWN;
const E_NXIO = osConstants.errno.ENXIO;
const E_NODEV = osConstants.errno.ENODEV;

export class Switch extends EventEmitter implements BridgeHost {
  readonly arena: PacketArena;
  readonly clock: () => number;
  /**
   * BridgeHost: the time of the batch in progress, read from `clock` once per batch (see
   * packet/batch-clock.ts); the bridges, NORMAL and the flow tables read it from here.
   */
  readonly batchClock: BatchClock = newBatchClock();
  /**
   * `clock` is monotonicMs, which native ports can stamp into batchClock when they wake the
   * datapath (Port.start): a wakeup then costs no clock reading here.
   */
  private readonly clockStamps: boolean;
  private readonly pipelineFactory: PipelineFactory;
  private readonly portTable: PortTable;
  private readonly bridgeDefaults: BridgeOptions;
  /** SwitchOptions.instance: seeds the default datapath ids. */
  readonly instance: string;
  readonly bridges = new Map<string, Bridge>();
  /** The flow tables of each bridge (empty tables = NORMAL). */
  private readonly pipelines = new Map<string, FlowPipeline>();
  /** Global port table; index = SwitchPort.id (the PortTable's array). */
  private readonly ports: (SwitchPort | undefined)[];
  /**
   * Receive batch. At most a quarter of the arena is taken by one rx burst, so the frames that
   * burst produces (clones for floods and multi-output actions, replies) always find free slots.
   */
  /** The receive burst (its capacity: frames per rxBurst). Replaced only by warmUpRxBurst. */
  private rxBatch: Batch;
  /** Below this many free slots, queued tx is flushed at once to give slots back. */
  private readonly lowWater: number;
  /**
   * Ports with queued tx, flushed after each batch: dirty[0..dirtyCount). Kept by count, not
   * emptied with `length = 0`: truncating an array drops its backing store, so the next push
   * allocated a new one on every batch (a scavenge every few seconds under a ping).
   */
  private readonly dirty: (SwitchPort | null)[] = [];
  private dirtyCount = 0;
  /**
   * Logical ports with frames waiting to enter their bridge, and logical stages (router
   * interfaces, DHCP) with frames queued for them this batch: each a pair of lists kept by count
   * and swapped per pass (the one being run, the one being filled), for the same reason as
   * `dirty`: a fresh `[]` per pass was an allocation per batch on every routed or patched path.
   */
  private pendingIngress: (SwitchPort | null)[] = [];
  private pendingIngressCount = 0;
  private runningIngress: (SwitchPort | null)[] = [];
  private pendingStages: ((() => void) | null)[] = [];
  private pendingStagesCount = 0;
  private runningStages: ((() => void) | null)[] = [];
  private running = false;
  private busyPoll: boolean;
  private busyTimer: NodeJS.Immediate | null = null;
  private tickTimer: NodeJS.Timeout | null = null;
  /** Packet-in consumer (embedding API); frames to `controller` are dropped when unset. */
  onPacketIn: ((pi: PacketIn) => void) | null = null;
  /** Routers and DHCP servers attached to bridges (Neutron's qrouter / qdhcp). */
  readonly l3: L3Attachments = new L3Attachments(this);
  private inFlush = false;
  /**
   * The kernel's link notifications for ports with a device, from the first such port watched
   * until stop(): each becomes a 'port-link' event ({ bridge, port, ofport, link }).
   */
  private readonly links: PortLinkWatch;

  constructor(opts: SwitchOptions = {}) {
    super();
    this.clock = opts.clock ?? monotonicMs;
    this.clockStamps = opts.clock === undefined;
    this.arena = new PacketArena(opts.arena);
    if (this.arena.smallSlots < 64) throw new RangeError(`switch: the arena needs at least 64 slots (got ${this.arena.smallSlots})`);
    this.rxBatch = new Batch(Math.min(BURST, this.arena.smallSlots >> 2));
    this.lowWater = this.arena.smallSlots >> 3;
    const io = opts.io ?? defaultIoFactory;
    this.portTable = new PortTable(this.arena, io);
    this.ports = this.portTable.slots;
    this.links = new PortLinkWatch(
      io,
      () => this.ports,
      (p, link) => this.emit('port-link', { bridge: p.bridge.name, port: p.name, ofport: p.ofport, link }),
      (e) => this.emit('warning', e),
    );
    this.pipelineFactory = opts.pipelines ?? defaultPipelines;
    this.busyPoll = opts.busyPoll ?? false;
    if (opts.spinUs !== undefined) setPollSpin(opts.spinUs);
    if (opts.wakeAheadUs !== undefined) setWakeAhead(opts.wakeAheadUs);
    this.bridgeDefaults = opts.bridge ?? {};
    this.instance = opts.instance ?? '';
  }

  // ---------------------------------------------------------------- bridges

  addBridge(name: string, opts: BridgeOptions = {}): Bridge {
    checkName('bridge', name);
    if (this.bridges.has(name)) throw new Error(`bridge '${name}' already exists`);
    const bo = { ...this.bridgeDefaults, ...opts };
    if (bo.maxFlows !== undefined && (!Number.isInteger(bo.maxFlows) || bo.maxFlows < 1)) throw new Error(`bridge '${name}': maxFlows must be a positive integer, got ${bo.maxFlows}`);
    const br = new Bridge(name, this, bo);
    br.defaultDatapathId = defaultDatapathId(this.instance, name);
    br.macs.onEvent = (e) => {
      if (this.listenerCount('mac') > 0) this.emit('mac', { bridge: name, ...e, mac: formatMac(e.mac) });
    };
    const flows = this.pipelineFactory.create(br, {
      arena: this.arena,
      clock: this.clock,
      batchClock: this.batchClock,
      maxFlows: bo.maxFlows,
      wantsFlowRemoved: () => this.listenerCount('flow-removed') > 0,
      onFlowRemoved: (flow, reason, entry) => this.emit('flow-removed', { bridge: name, reason, flow, entry }),
    });
    flows.addDefaultFlow(); // OVS's default flow in table 0 of a new bridge
    br.flows = flows;
    this.pipelines.set(name, flows);
    this.bridges.set(name, br);
    this.emit('bridge-added', { bridge: name });
    if (bo.localPort === true) {
      try {
        this.addLocalPort(name);
      } catch (e) {
        this.delBridge(name); // add-br with a LOCAL port that cannot be made adds nothing
        throw e;
      }
    }
    return br;
  }

  /**
   * Give bridge `name` its LOCAL port, as OVS's bridge-named internal interface: OpenFlow port
   * OFPP_LOCAL (0xfffe, `LOCAL` in flows), a TAP device named after the bridge with the
   * bridge's MAC (Bridge.mac), up, for the host's own address on the bridge. The device is
   * created here and removed with the port (or the bridge); an existing interface of that name
   * is an error, never attached to.
   */
  addLocalPort(name: string): SwitchPort {
    const br = this.bridge(name);
    if (br.local) throw new Error(`bridge ${name} has a LOCAL port already`);
    try {
      return this.addPort(name, name, { type: 'local', mac: br.mac });
    } catch (e) {
      throw new Error(`bridge ${name}: LOCAL port: ${(e as Error).message}`);
    }
  }

  /** Remove bridge `name`'s LOCAL port and its TAP device (nothing when it has none). */
  delLocalPort(name: string): void {
    const br = this.bridge(name);
    if (br.local) this.delPort(name, br.local.name);
  }

  delBridge(name: string): void {
    const br = this.bridge(name);
    for (const p of [...br.portList]) this.delPort(name, p.name);
    this.bridges.delete(name);
    this.pipelines.delete(name);
    this.emit('bridge-deleted', { bridge: name });
  }

  /** The flow tables of a bridge: add/del/mod/dump flows, trace. */
  flows(bridgeName: string): FlowPipeline {
    const f = this.pipelines.get(bridgeName);
    if (!f) throw new Error(`no bridge named '${bridgeName}'`);
    return f;
  }

  bridge(name: string): Bridge {
    const br = this.bridges.get(name);
    if (!br) throw new Error(`no bridge named '${name}'`);
    return br;
  }

  // ---------------------------------------------------------------- ports

  /** Find a port by name on any bridge (port names are unique switch-wide, as in OVS). */
  findPort(name: string): SwitchPort | undefined {
    return this.portTable.find(name);
  }

  addPort(bridgeName: string, name: string, config: PortConfig): SwitchPort {
    const br = this.bridge(bridgeName);
    const p = this.portTable.add(br, name, config);
    if (this.running && p.io) this.watch(p);
    this.emit('port-added', { bridge: bridgeName, port: name, ofport: p.ofport });
    return p;
  }

  delPort(bridgeName: string, name: string): void {
    const br = this.bridge(bridgeName);
    const p = br.port(name);
    if (!p) throw new Error(`bridge ${bridgeName} has no port named '${name}'`);
    this.portTable.remove(br, p);
    this.emit('port-deleted', { bridge: bridgeName, port: name });
  }

  allPorts(): SwitchPort[] {
    return this.portTable.all();
  }

  // ---------------------------------------------------------------- run loop

  /** Start watching ports and the housekeeping timer. */
  start(): void {
    if (this.running) return;
    this.running = true;
    for (const p of this.ports) if (p && p.io) this.watch(p);
    if (this.busyPoll) this.scheduleBusy();
    this.tickTimer = setInterval(() => this.tick(), 1000);
    this.tickTimer.unref();
  }

  /** Stop the loop and close every port (TAP devices go away unless persistent). */
  stop(): void {
    this.running = false;
    if (this.tickTimer) clearInterval(this.tickTimer);
    this.tickTimer = null;
    this.links.close();
    if (this.busyTimer) clearImmediate(this.busyTimer);
    this.busyTimer = null;
    for (const p of this.ports) if (p && p.io) p.io.close();
  }

  private watch(p: SwitchPort): void {
    const io = p.io!;
    if ((io.ifindex ?? 0) > 0) this.links.need();
    if (this.busyPoll) return;
    io.start((stamped) => this.drain(p, stamped === true), this.batchClock, this.clockStamps);
  }

  private scheduleBusy(): void {
    this.busyTimer = setImmediate(() => {
      if (!this.running) return;
      for (const p of this.ports) if (p && p.io && p.io.up) this.drain(p);
      this.scheduleBusy();
    });
  }

  /**
   * Receive and process bursts from one port until a burst comes back short. `stamped`: the
   * port wrote the wakeup time into batchClock just now (Port.start).
   */
  drain(p: SwitchPort, stamped = false): void {
    const io = p.io;
    if (!io || this.ports[p.id] !== p) return;
    if (!io.up) {
      this.portDown(p);
      return;
    }
    // Up again (a unix port whose VM reconnected): a later loss must be reported again.
    if (this.downPorts.size !== 0) this.downPorts.delete(p);
    // One clock reading per wakeup (the bursts of a drain follow each other within
    // microseconds), before the first burst: the port's own per-burst bookkeeping reads it too.
    if (!stamped) this.batchClock[0] = this.clock();
    const batch = this.rxBatch;
    for (let i = 0; i < MAX_BURSTS_PER_WAKE; i++) {
      batch.count = 0;
      const n = io.rxBurst(batch);
      if (n < 0) {
        this.portDown(p);
        return;
      }
      if (n === 0) return;
      this.process(p, batch);
      const sat = this.saturation;
      if (n < batch.capacity) {
        if (sat[SAT_ON] !== 0 && this.batchClock[0] - sat[SAT_AT] >= SATURATION_CALM_MS) this.setSaturated(false);
        return;
      }
      sat[SAT_AT] = this.batchClock[0];
      if (sat[SAT_ON] === 0) this.setSaturated(true);
    }
    // Still busy: yield to other ports and the control socket, come back soon.
    if (this.running) setImmediate(() => this.drain(p));
  }

  /**
   * [SAT_ON]: 1 while a receive burst came back full within SATURATION_CALM_MS (see
   * 'saturation'), else 0; [SAT_AT]: switch clock (ms, the batch clock of its drain) of the last
   * full burst. A typed array, not two fields: the first full burst of a switch's life wrote a
   * double (the clock) into a field that had held the small integer 0, which changed the Switch's
   * map (--trace-generalization: saturatedAt s->d, "+3 maps") and deoptimized every compiled
   * function that checks it ("wrong map": enqueue, flush, flushPort, runIngress, deferStage,
   * NORMAL's emit and forward, the router port's sink and emitter). The first load at the
   * generator's maximum then ran unoptimized until V8 compiled it all again, on helper threads at
   * idle priority beside a saturated datapath thread (~2.5 s of baseline code on a 6 s routed
   * profile; bench/results/README.md "Routed loss at the maximum").
   */
  private readonly saturation = new Float64Array(2);

  /**
   * @internal For the start-up warm-up (warm-up.ts) only: receive bursts of `frames` frames from
   * now on (default: the arena's size, as built). Its scratch ports deliver one frame per burst,
   * so with the real size no burst ever came back full there, and drain's full-burst branch (the
   * saturation bookkeeping) first ran at a real switch's first saturated burst: a deoptimization
   * of drain and what it inlines just as the load peaks (--trace-deopt, bench/compare routed:
   * "Insufficient type feedback" in drain at the first generator-maximum trial).
   */
  warmUpRxBurst(frames: number = Math.min(BURST, this.arena.smallSlots >> 2)): void {
    this.rxBatch = new Batch(Math.max(1, Math.min(frames, BURST)));
  }

  /**
   * @internal For the start-up warm-up (warm-up.ts) only: drain as a started switch does — a
   * port still full after MAX_BURSTS_PER_WAKE bursts is drained again from setImmediate — without
   * watching any port or starting the tick. Never started, the scratch switch skipped that exit,
   * and a real switch's first drain of 64 full bursts (the first saturation) deoptimized drain
   * ("Insufficient type feedback" for the setImmediate call) just as the load peaked.
   */
  warmUpYield(on: boolean): void {
    this.running = on;
  }

  /**
   * @internal For the start-up warm-up (warm-up.ts) only: date the last full burst back by the
   * calm period, so the next short burst ends the saturation (setSaturated(false)) as it does
   * when a real load stops: a branch the warm-up's few milliseconds never reached otherwise.
   */
  warmUpCalm(): void {
    this.saturation[SAT_AT] -= SATURATION_CALM_MS;
  }

  /**
   * 'saturation' (true/false) on each transition: the daemon gives the datapath thread the
   * kernel's default scheduler slice while saturated (no wakeups to win, fewer switches to the
   * other tasks on its core) and its short one again once calm (src/cli/datapath-slice.ts).
   */
  private setSaturated(on: boolean): void {
    this.saturation[SAT_ON] = on ? 1 : 0;
    this.emit('saturation', on);
  }

  /** Whether the datapath counts as saturated now (a full receive burst within SATURATION_CALM_MS). */
  get isSaturated(): boolean {
    return this.saturation[SAT_ON] !== 0;
  }

  private downPorts = new Set<SwitchPort>();
  private portDown(p: SwitchPort): void {
    if (this.downPorts.has(p)) return;
    this.downPorts.add(p);
    p.io?.stop();
    p.bridge.macs.flushPort(p.ofport);
    this.emit('port-down', { bridge: p.bridge.name, port: p.name });
  }

  /** Run one received batch through its bridge, any patch hops, and transmit (at batchClock's time). */
  private process(from: SwitchPort, batch: Batch): void {
    if (from.taps !== null) tapBatch(this.arena, from, batch.slots, batch.count, 'in');
    from.bridge.input(from, batch, false);
    this.runIngress();
    this.flush();
  }

  /** Frames queued to enter bridges through patch/router ports (breadth-first, bounded). */
  private runIngress(): void {
    for (let pass = 0; this.pendingIngressCount > 0 || this.pendingStagesCount > 0; pass++) {
      // Stages first (a router consumes what bridges queued for it, and emits into bridges).
      if (this.pendingStagesCount > 0) {
        const stages = this.pendingStages;
        const n = this.pendingStagesCount;
        this.pendingStages = this.runningStages;
        this.pendingStagesCount = 0;
        this.runningStages = stages;
        for (let i = 0; i < n; i++) {
          const run = stages[i]!;
          stages[i] = null;
          run();
        }
      }
      const pending = this.pendingIngress;
      const n = this.pendingIngressCount;
      this.pendingIngress = this.runningIngress;
      this.pendingIngressCount = 0;
      this.runningIngress = pending;
      for (let i = 0; i < n; i++) {
        const p = pending[i]!;
        pending[i] = null;
        const b = p.ingress;
        if (pass >= MAX_PATCH_PASSES) {
          for (let i = 0; i < b.count; i++) p.bridge.discard(b.slots[i], D_PATCH_LOOP);
          b.count = 0;
          continue;
        }
        // Take the batch; frames that come back to this port during processing queue anew.
        const work = this.swapIngress(p);
        if (p.taps !== null) tapBatch(this.arena, p, work.slots, work.count, 'in');
        p.counters.rxPackets += work.count;
        for (let i = 0; i < work.count; i++) p.counters.rxBytes += this.arena.len[work.slots[i]];
        p.bridge.input(p, work, true);
      }
    }
  }

  private spare = new Batch(BURST * 4);
  private swapIngress(p: SwitchPort): Batch {
    // Copy out (cheap: slot indices only) so p.ingress can be refilled while we process.
    const w = this.spare;
    w.count = p.ingress.count;
    const from = p.ingress.slots;
    for (let i = 0; i < w.count; i++) w.slots[i] = from[i];
    p.ingress.count = 0;
    return w;
  }

  /**
   * A logical stage (router, DHCP) sends a frame into a bridge through its port: it enters the
   * bridge like a received frame, after the current batch (takes ownership; key already parsed).
   */
  injectIngress(p: SwitchPort, slot: number): void {
    if (this.ports[p.id] !== p || !p.ingress.push(slot)) {
      p.counters.drops.add(DROP_TX_FULL);
      this.arena.release(slot);
      return;
    }
    if (p.ingress.count === 1) this.pendingIngress[this.pendingIngressCount++] = p;
  }

  /** Run `fn` after the current batch's bridge pass (a stage with queued frames). */
  deferStage(fn: () => void): void {
    this.pendingStages[this.pendingStagesCount++] = fn;
  }

  /** Run whatever stages and patch hops are pending, then transmit (timer-driven emitters). */
  settle(): void {
    this.batchClock[0] = this.clock();
    this.runIngress();
    this.flush();
  }

  /** BridgeHost: queue a frame to leave through a port (takes ownership). */
  enqueue(p: SwitchPort, slot: number): void {
    const a = this.arena;
    const c = p.counters;
    if (!p.up) {
      c.drops.add(DROP_TX_DOWN);
      a.release(slot);
      return;
    }
    const io = p.io;
    if (io === null) {
      // Logical port: a patch hands the frame to its peer's bridge; an internal port to its sink.
      if (p.taps !== null) tapOne(this.arena, p, slot, 'out');
      c.txPackets++;
      c.txBytes += a.len[slot];
      if (p.peer !== null) {
        const peer = p.peer;
        if (!peer.ingress.push(slot)) {
          c.drops.add(DROP_TX_FULL);
          a.release(slot);
          return;
        }
        if (peer.ingress.count === 1) this.pendingIngress[this.pendingIngressCount++] = peer;
      } else {
        p.sink!(slot);
      }
      return;
    }
    const gso = vnet.isGso(a, slot);
    if (!io.offloads) {
      if (gso) {
        // Software segmentation (src/packet/gso.ts): each segment is queued as soon as it is
        // made (it has a full checksum and no GSO state, so it takes the path below), which
        // lets a full tx queue flush and give slots back while a 64 KiB frame is being cut.
        const nseg = gsoSw.segmentCount(a, slot);
        let k = 0;
        for (; k < nseg; k++) {
          const seg = gsoSw.segment(a, slot, k);
          if (seg < 0) break;
          // A segment carries its super-frame's flow key: a tunnel port encapsulates from it
          // (tun_id with key=flow, inherited TOS/TTL, the VXLAN source port's flow hash).
          const ks = slot << KEY_SHIFT;
          a.key.copyWithin(seg << KEY_SHIFT, ks, ks + KEY_WORDS);
          a.keyTail[seg] = a.keyTail[slot];
          this.enqueue(p, seg);
        }
        if (k < nseg || nseg === 0) c.drops.add(DROP_TX_GSO, nseg === 0 ? 1 : nseg - k);
        a.release(slot);
        return;
      }
      if (vnet.needsCsum(a, slot) && !vnet.finishChecksum(a, slot)) {
        p.bridge.discard(slot, D_CHECKSUM);
        return;
      }
    }
    if (!gso) {
      const l3 = a.l3[slot];
      const l2len = l3 !== 0 ? l3 : ETH_HEADER_LEN;
      if (a.len[slot] - l2len > io.mtu) {
        c.drops.add(DROP_TX_MTU);
        a.release(slot);
        return;
      }
    }
    p.tx[p.txCount++] = slot;
    if (p.txCount === 1) this.dirty[this.dirtyCount++] = p;
    if (p.txCount === p.tx.length) this.flushPort(p);
    else if (a.availableSmall < this.lowWater) this.flushAllQueued();
  }

  /** Transmit every queued frame: one call per port. */
  flush(): void {
    if (this.inFlush) return;
    this.inFlush = true;
    const d = this.dirty;
    for (let i = 0; i < this.dirtyCount; i++) {
      const p = d[i]!;
      d[i] = null; // a removed port is not kept alive by a stale entry
      this.flushPort(p);
    }
    this.dirtyCount = 0;
    this.inFlush = false;
  }

  /** Flush every queued port now (the arena is running low: a big flood is in progress). */
  private flushAllQueued(): void {
    const d = this.dirty;
    for (let i = 0; i < this.dirtyCount; i++) this.flushPort(d[i]!);
  }

  private flushPort(p: SwitchPort): void {
    const n = p.txCount;
    if (n === 0) return;
    const io = p.io!;
    if (p.taps !== null) tapBatch(this.arena, p, p.tx, n, 'out');
    const sent = io.up ? io.txBurst(p.tx, n) : -E_NETDOWN;
    const c = p.counters;
    if (sent < 0) {
      c.drops.add(sent === -E_NETDOWN || sent === -E_NXIO || sent === -E_NODEV ? DROP_TX_DOWN : DROP_TX_ERROR, n);
      if (!io.up) this.portDown(p);
    } else if (sent < n) {
      c.drops.add(DROP_TX_FULL, n - sent);
    }
    const a = this.arena;
    for (let i = 0; i < n; i++) a.release(p.tx[i]);
    p.txCount = 0;
  }

  /** BridgeHost: a frame for the controller (packet-in). */
  packetIn(bridge: Bridge, slot: number, table: number, cookie: bigint, reason: PacketInReason, maxLen: number): void {
    const cb = this.onPacketIn;
    if (cb === null) {
      bridge.discard(slot, D_CONTROLLER_UNSET);
      return;
    }
    const k = slot << KEY_SHIFT;
    const key = this.arena.key.slice(k, k + KEY_WORDS);
    const inPort = key[0];
    const frame = this.arena.frame(slot);
    this.arena.release(slot);
    try {
      cb({ bridge: bridge.name, table, cookie, reason, inPort, inPortName: bridge.portName(inPort), frame, maxLen, key });
    } catch (e) {
      this.emit('error', e);
    }
  }

  /**
   * Packet-out: send a frame from the embedding API into a bridge as if it arrived on
   * `inPort`, or straight out of `outPort` (one of the two is required). A refused request
   * throws and holds no buffer.
   */
  packetOut(bridgeName: string, frame: Uint8Array, opts: { inPort?: string; outPort?: string }): void {
    const br = this.bridge(bridgeName);
    // Resolve everything that can fail before taking a buffer, so a refused request holds none.
    if (opts.outPort === undefined && opts.inPort === undefined) {
      throw new Error('packet-out: give inPort (to run it through the bridge) or outPort');
    }
    const portName = opts.outPort ?? (opts.inPort as string);
    const p = br.port(portName);
    if (!p) throw new Error(`packet-out: bridge ${bridgeName} has no port '${portName}'`);
    const a = this.arena;
    const s = a.allocFrom(frame);
    if (s < 0) throw new Error(`packet-out: frame of ${frame.length} bytes does not fit (or no free buffer)`);
    this.batchClock[0] = this.clock();
    if (opts.outPort !== undefined) {
      this.enqueue(p, s);
    } else {
      const b = new Batch(1);
      b.push(s);
      br.input(p, b, false);
    }
    this.runIngress();
    this.flush();
  }

  /**
   * OpenFlow PACKET_OUT: `frame` enters bridge `bridgeName` as if received on OpenFlow port
   * `inPort` (a port's number, or 0xfffd CONTROLLER / 0xfffe LOCAL) and runs an action list of
   * its own. `actionsFor` gets the parsed flow key (words at `base`) to build and check the
   * actions against, as OVS checks packet-out actions against the packet's flow; whatever it
   * throws is rethrown with no buffer held.
   */
  packetOutActions(bridgeName: string, frame: Uint8Array, inPort: number, actionsFor: (key: Uint32Array, base: number) => Action[]): void {
    const br = this.bridge(bridgeName);
    const flows = this.flows(bridgeName);
    const a = this.arena;
    const s = a.allocFrom(frame);
    if (s < 0) throw new Error(`packet-out: frame of ${frame.length} bytes does not fit (or no free buffer)`);
    const b = new Batch(1);
    b.push(s);
    parseBatch(a, b, inPort, 65535, br.parseDrops);
    if (b.count === 0) throw new Error('packet-out: the frame did not parse as Ethernet (dropped and counted)');
    this.batchClock[0] = this.clock();
    let actions: Action[];
    try {
      actions = actionsFor(a.key, s << KEY_SHIFT);
      flows.executeActions(s, actions, br);
    } catch (e) {
      a.release(s);
      throw e;
    }
    this.runIngress();
    this.flush();
  }

  /**
   * Deterministic mode: process everything memory ports have queued, synchronously. Returns
   * the number of frames received. Tests and embedders with a virtual clock use this instead
   * of the event loop.
   */
  runUntilIdle(maxBursts = 10000): number {
    let total = 0;
    for (let i = 0; i < maxBursts; i++) {
      let got = 0;
      for (const p of this.ports) {
        // Ports whose I/O is in memory (an embedder's IoFactory may put any port type there).
        if (!p || !p.io || p.io.kind !== 'memory' || !p.io.up) continue;
        const b = this.rxBatch;
        b.count = 0;
        this.batchClock[0] = this.clock();
        const n = p.io.rxBurst(b);
        if (n > 0) {
          this.process(p, b);
          got += n;
        }
      }
      if (got === 0) break;
      total += got;
    }
    return total;
  }

  /** Housekeeping: MAC aging (and, later, flow and NAT expiry). Runs once a second. */
  tick(): void {
    const now = this.clock();
    for (const br of this.bridges.values()) br.macs.expireSome(now);
    for (const f of this.pipelines.values()) f.expire(now);
    this.l3.tick();
    this.settle();
    // Traffic that stops while saturated ends with no short burst to notice the calm: the tick does.
    if (this.saturation[SAT_ON] !== 0 && now - this.saturation[SAT_AT] >= SATURATION_CALM_MS) this.setSaturated(false);
    this.emit('tick', now);
  }

  // ---------------------------------------------------------------- views (views.ts, capture.ts)

  show(): views.ShowBridge[] {
    return views.showBridges(this.bridges.values());
  }

  dumpPorts(bridgeName: string): views.DumpPort[] {
    return views.dumpPorts(this.bridge(bridgeName));
  }

  fdb(bridgeName: string): views.FdbEntry[] {
    return views.fdb(this.bridge(bridgeName), this.clock());
  }

  /** Per-bridge drop counters (parse + bridge stages). */
  bridgeDrops(bridgeName: string): Record<string, number> {
    return views.bridgeDrops(this.bridge(bridgeName));
  }

  /** Capture frames on a port (bounded in count and time): see capture.ts. */
  capture(bridgeName: string, portName: string, opts: CaptureOptions): Promise<CapturedFrame[]> {
    const p = this.bridge(bridgeName).port(portName);
    if (!p) throw new Error(`bridge ${bridgeName} has no port '${portName}'`);
    return capture(p, opts);
  }
}
