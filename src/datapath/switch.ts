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
 */
import { EventEmitter } from 'events';
import { PacketArena, ArenaOptions } from '../packet/arena';
import { Batch, BURST } from '../packet/batch';
import { KEY_SHIFT } from '../packet/flow-key';
import * as vnet from '../packet/vnet';
import * as gsoSw from '../packet/gso';
import {
  Port,
  DROP_TX_DOWN,
  DROP_TX_FULL,
  DROP_TX_ERROR,
  DROP_TX_GSO,
  DROP_TX_MTU,
} from '../io/port';
import { MemoryPort } from '../io/memory-port';
import { UnixStreamPort } from '../io/unix-port';
import { PortVlan } from '../l2/port-vlan';
import { Bridge, BridgeHost, BridgeOptions } from './bridge';
import { bridgeDropId, PacketInReason } from '../flow/bridge-ops';
import { OFPP_MAX } from '../flow/ofport';
import { PortConfig, PortType, PORT_TYPES, SwitchPort } from './switch-port';
import { IoFactory, defaultIoFactory } from './io-factory';
import { formatMac } from '../wire/ethernet';
import { FlowPipeline } from '../flow/pipeline';
import { formatFlowEntry } from '../flow/ofctl-format';
import { L3Attachments } from './l3-attach';

export interface SwitchOptions {
  /** Milliseconds clock; inject a virtual one for deterministic tests. */
  clock?: () => number;
  arena?: ArenaOptions;
  /** Creates kernel-backed ports; tests inject fakes. */
  io?: IoFactory;
  /** Poll every port from a setImmediate loop instead of waiting for readiness (benchmarks). */
  busyPoll?: boolean;
  /** Defaults for new bridges. */
  bridge?: BridgeOptions;
}

export interface PacketIn {
  bridge: string;
  table: number;
  cookie: bigint;
  reason: PacketInReason;
  inPort: number;
  inPortName: string | undefined;
  frame: Buffer;
}

/** Frames may cross at most this many patch/router hops per received batch (loop guard). */
const MAX_PATCH_PASSES = 16;
/** Bursts drained per readiness callback before yielding to other ports and timers. */
const MAX_BURSTS_PER_WAKE = 64;

const D_PATCH_LOOP = bridgeDropId('patch_loop');
const D_CHECKSUM = bridgeDropId('checksum_offload');
const D_CONTROLLER_UNSET = bridgeDropId('controller_unset');

export class Switch extends EventEmitter implements BridgeHost {
  readonly arena: PacketArena;
  readonly clock: () => number;
  private readonly io: IoFactory;
  private readonly bridgeDefaults: BridgeOptions;
  readonly bridges = new Map<string, Bridge>();
  /** The flow tables of each bridge (empty tables = NORMAL). */
  private readonly pipelines = new Map<string, FlowPipeline>();
  /** Global port table; index = SwitchPort.id. */
  private readonly ports: (SwitchPort | undefined)[] = [];
  /**
   * Receive batch. At most a quarter of the arena is taken by one rx burst, so the frames that
   * burst produces (clones for floods and multi-output actions, replies) always find free slots.
   */
  private readonly rxBatch: Batch;
  /** Below this many free slots, queued tx is flushed at once to give slots back. */
  private readonly lowWater: number;
  /** Ports with queued tx, flushed after each batch. */
  private readonly dirty: SwitchPort[] = [];
  /** Logical ports with frames waiting to enter their bridge. */
  private pendingIngress: SwitchPort[] = [];
  /** Logical stages (router interfaces, DHCP) with frames queued for them this batch. */
  private pendingStages: (() => void)[] = [];
  private running = false;
  private busyPoll: boolean;
  private busyTimer: NodeJS.Immediate | null = null;
  private tickTimer: NodeJS.Timeout | null = null;
  /** Packet-in consumer (embedding API); frames to `controller` are dropped when unset. */
  onPacketIn: ((pi: PacketIn) => void) | null = null;
  /** Routers and DHCP servers attached to bridges (Neutron's qrouter / qdhcp). */
  readonly l3: L3Attachments = new L3Attachments(this);
  private inFlush = false;

  constructor(opts: SwitchOptions = {}) {
    super();
    this.clock = opts.clock ?? (() => performance.now());
    this.arena = new PacketArena(opts.arena);
    if (this.arena.capacity < 64) throw new RangeError(`switch: the arena needs at least 64 slots (got ${this.arena.capacity})`);
    this.rxBatch = new Batch(Math.min(BURST, this.arena.capacity >> 2));
    this.lowWater = this.arena.capacity >> 3;
    this.io = opts.io ?? defaultIoFactory;
    this.busyPoll = opts.busyPoll ?? false;
    this.bridgeDefaults = opts.bridge ?? {};
  }

  // ---------------------------------------------------------------- bridges

  addBridge(name: string, opts: BridgeOptions = {}): Bridge {
    checkName('bridge', name);
    if (this.bridges.has(name)) throw new Error(`bridge '${name}' already exists`);
    const bo = { ...this.bridgeDefaults, ...opts };
    if (bo.maxFlows !== undefined && (!Number.isInteger(bo.maxFlows) || bo.maxFlows < 1)) throw new Error(`bridge '${name}': maxFlows must be a positive integer, got ${bo.maxFlows}`);
    const br = new Bridge(name, this, bo);
    br.macs.onEvent = (e) => {
      if (this.listenerCount('mac') > 0) this.emit('mac', { bridge: name, ...e, mac: formatMac(e.mac) });
    };
    const flows = new FlowPipeline({
      arena: this.arena,
      clock: this.clock,
      resolvePort: (n) => br.ofportByName(n),
      portName: (o) => br.portName(o),
      maxFlows: bo.maxFlows,
    });
    flows.onFlowRemoved = (entry, reason) => {
      if (this.listenerCount('flow-removed') > 0) this.emit('flow-removed', { bridge: name, reason, flow: formatFlowEntry(entry, {}) });
    };
    br.flows = flows;
    this.pipelines.set(name, flows);
    this.bridges.set(name, br);
    return br;
  }

  delBridge(name: string): void {
    const br = this.bridge(name);
    for (const p of [...br.portList]) this.delPort(name, p.name);
    this.bridges.delete(name);
    this.pipelines.delete(name);
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
    for (const p of this.ports) if (p && p.name === name) return p;
    return undefined;
  }

  addPort(bridgeName: string, name: string, config: PortConfig): SwitchPort {
    const br = this.bridge(bridgeName);
    checkName('port', name);
    if (!PORT_TYPES.includes(config.type)) {
      throw new Error(`port ${name}: unknown type '${config.type}' (one of ${PORT_TYPES.join(', ')})`);
    }
    if (this.findPort(name)) throw new Error(`a port named '${name}' already exists`);
    let ofport = config.ofport;
    if (ofport !== undefined) {
      if (!Number.isInteger(ofport) || ofport < 1 || ofport >= OFPP_MAX) throw new Error(`port ${name}: ofport=${ofport} must be in 1..65279`);
      if (br.portAt(ofport)) throw new Error(`port ${name}: ofport ${ofport} is already used by '${br.portName(ofport)}' on ${bridgeName}`);
    } else {
      ofport = br.nextOfport();
    }
    const vlan = new PortVlan(config.tag, config.trunks);
    if (config.type === 'patch' && !config.peer) throw new Error(`patch port ${name}: needs peer=PORT`);
    if (config.type !== 'patch' && config.peer) throw new Error(`port ${name}: peer= only applies to type=patch`);

    let io: Port | null = null;
    if (config.type === 'afpacket') io = this.io.afpacket(name, this.arena, config);
    else if (config.type === 'tap') io = this.io.tap(name, this.arena, config);
    else if (config.type === 'memory') io = new MemoryPort(name, this.arena, { mtu: config.mtu, offloads: config.offloads });
    else if (config.type === 'unix') io = new UnixStreamPort(name, this.arena, { path: config.path, mode: config.mode, mtu: config.mtu });

    let id = this.ports.indexOf(undefined);
    if (id < 0) id = this.ports.length;
    const p = new SwitchPort(id, name, br, ofport, vlan, io, { ...config, ofport });
    this.ports[id] = p;
    br.attach(p);
    if (config.type === 'patch') this.linkPatch(p);
    if (this.running && io) this.watch(p);
    this.emit('port-added', { bridge: bridgeName, port: name, ofport });
    return p;
  }

  private linkPatch(p: SwitchPort): void {
    const peer = this.findPort(p.config.peer!);
    if (!peer) return; // the peer may be added later; both ends link then
    if (peer.type !== 'patch') throw new Error(`patch port ${p.name}: peer '${peer.name}' is not a patch port`);
    if (peer.config.peer !== p.name) return;
    p.peer = peer;
    peer.peer = p;
  }

  delPort(bridgeName: string, name: string): void {
    const br = this.bridge(bridgeName);
    const p = br.port(name);
    if (!p) throw new Error(`bridge ${bridgeName} has no port named '${name}'`);
    if (p.io) {
      p.io.close();
    }
    if (p.peer) {
      p.peer.peer = null;
      p.peer = null;
    }
    // Frames still queued for or from this port go back to the arena.
    for (let i = 0; i < p.txCount; i++) this.arena.release(p.tx[i]);
    p.txCount = 0;
    for (let i = 0; i < p.ingress.count; i++) this.arena.release(p.ingress.slots[i]);
    p.ingress.count = 0;
    br.detach(p);
    this.ports[p.id] = undefined;
    this.emit('port-deleted', { bridge: bridgeName, port: name });
  }

  allPorts(): SwitchPort[] {
    return this.ports.filter((p): p is SwitchPort => p !== undefined);
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
    if (this.busyTimer) clearImmediate(this.busyTimer);
    this.busyTimer = null;
    for (const p of this.ports) if (p && p.io) p.io.close();
  }

  private watch(p: SwitchPort): void {
    if (this.busyPoll) return;
    const io = p.io!;
    io.start(() => this.drain(p));
  }

  private scheduleBusy(): void {
    this.busyTimer = setImmediate(() => {
      if (!this.running) return;
      for (const p of this.ports) if (p && p.io && p.io.up) this.drain(p);
      this.scheduleBusy();
    });
  }

  /** Receive and process bursts from one port until a burst comes back short. */
  drain(p: SwitchPort): void {
    const io = p.io;
    if (!io || this.ports[p.id] !== p) return;
    if (!io.up) {
      this.portDown(p);
      return;
    }
    // Up again (a unix port whose VM reconnected): a later loss must be reported again.
    if (this.downPorts.size !== 0) this.downPorts.delete(p);
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
      if (n < batch.capacity) return;
    }
    // Still busy: yield to other ports and the control socket, come back soon.
    if (this.running) setImmediate(() => this.drain(p));
  }

  private downPorts = new Set<SwitchPort>();
  private portDown(p: SwitchPort): void {
    if (this.downPorts.has(p)) return;
    this.downPorts.add(p);
    p.io?.stop();
    p.bridge.macs.flushPort(p.ofport);
    this.emit('port-down', { bridge: p.bridge.name, port: p.name });
  }

  /** Run one received batch through its bridge, any patch hops, and transmit. */
  process(from: SwitchPort, batch: Batch): void {
    const now = this.clock();
    if (from.taps !== null) this.tapBatch(from, batch.slots, batch.count, 'in');
    from.bridge.input(from, batch, false, now);
    this.runIngress(now);
    this.flush();
  }

  /** Frames queued to enter bridges through patch/router ports (breadth-first, bounded). */
  private runIngress(now: number): void {
    for (let pass = 0; this.pendingIngress.length > 0 || this.pendingStages.length > 0; pass++) {
      // Stages first (a router consumes what bridges queued for it, and emits into bridges).
      if (this.pendingStages.length > 0) {
        const stages = this.pendingStages;
        this.pendingStages = [];
        for (const run of stages) run();
      }
      const pending = this.pendingIngress;
      this.pendingIngress = [];
      for (const p of pending) {
        const b = p.ingress;
        if (pass >= MAX_PATCH_PASSES) {
          for (let i = 0; i < b.count; i++) p.bridge.drop(b.slots[i], D_PATCH_LOOP);
          b.count = 0;
          continue;
        }
        // Take the batch; frames that come back to this port during processing queue anew.
        const work = this.swapIngress(p);
        if (p.taps !== null) this.tapBatch(p, work.slots, work.count, 'in');
        p.counters.rxPackets += work.count;
        for (let i = 0; i < work.count; i++) p.counters.rxBytes += this.arena.len[work.slots[i]];
        p.bridge.input(p, work, true, now);
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
    if (p.ingress.count === 1) this.pendingIngress.push(p);
  }

  /** Run `fn` after the current batch's bridge pass (a stage with queued frames). */
  deferStage(fn: () => void): void {
    this.pendingStages.push(fn);
  }

  /** Run whatever stages and patch hops are pending, then transmit (timer-driven emitters). */
  settle(): void {
    this.runIngress(this.clock());
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
      if (p.taps !== null) this.tapOne(p, slot, 'out');
      c.txPackets++;
      c.txBytes += a.len[slot];
      if (p.peer !== null) {
        const peer = p.peer;
        if (!peer.ingress.push(slot)) {
          c.drops.add(DROP_TX_FULL);
          a.release(slot);
          return;
        }
        if (peer.ingress.count === 1) this.pendingIngress.push(peer);
      } else {
        p.sink!(slot);
      }
      return;
    }
    const base = slot * a.slotSize;
    const u8 = a.bytes;
    const gso = u8[base + 1] !== 0;
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
          this.enqueue(p, seg);
        }
        if (k < nseg || nseg === 0) c.drops.add(DROP_TX_GSO, nseg === 0 ? 1 : nseg - k);
        a.release(slot);
        return;
      }
      if ((u8[base] & vnet.F_NEEDS_CSUM) !== 0 && !vnet.finishChecksum(a, slot)) {
        p.bridge.drop(slot, D_CHECKSUM);
        return;
      }
    }
    if (!gso) {
      const l3 = a.l3[slot];
      const l2len = l3 !== 0 ? l3 : 14;
      if (a.len[slot] - l2len > io.mtu) {
        c.drops.add(DROP_TX_MTU);
        a.release(slot);
        return;
      }
    }
    p.tx[p.txCount++] = slot;
    if (p.txCount === 1) this.dirty.push(p);
    if (p.txCount === p.tx.length) this.flushPort(p);
    else if (a.available < this.lowWater) this.flushAllQueued();
  }

  /** Copy frames to the port's capture taps (only runs while a capture is active). */
  private tapBatch(p: SwitchPort, slots: Uint32Array, n: number, dir: 'in' | 'out'): void {
    for (let i = 0; i < n; i++) this.tapOne(p, slots[i], dir);
  }

  private tapOne(p: SwitchPort, slot: number, dir: 'in' | 'out'): void {
    const taps = p.taps!;
    let copy: Buffer | null = null;
    for (const t of taps) {
      if (dir === 'in' ? !t.rx : !t.tx) continue;
      if (copy === null) copy = this.arena.frame(slot);
      t.onFrame(copy, dir);
    }
  }

  /**
   * Capture up to `count` frames on a port for at most `seconds` (both bounded), in the given
   * direction(s). Resolves with the frames and wall-clock timestamps.
   */
  capture(bridgeName: string, portName: string, opts: { count: number; seconds: number; direction: 'in' | 'out' | 'both' }): Promise<{ tsUs: number; dir: 'in' | 'out'; frame: Buffer }[]> {
    const p = this.bridge(bridgeName).port(portName);
    if (!p) throw new Error(`bridge ${bridgeName} has no port '${portName}'`);
    if (!Number.isInteger(opts.count) || opts.count < 1 || opts.count > 100000) throw new Error('capture: count must be in 1..100000');
    if (!(opts.seconds > 0 && opts.seconds <= 3600)) throw new Error('capture: seconds must be in (0, 3600]');
    return new Promise((resolve) => {
      const got: { tsUs: number; dir: 'in' | 'out'; frame: Buffer }[] = [];
      const tap: import('./switch-port').CaptureTap = {
        rx: opts.direction !== 'out',
        tx: opts.direction !== 'in',
        onFrame: (frame, dir) => {
          if (got.length >= opts.count) return;
          got.push({ tsUs: Math.round((performance.timeOrigin + performance.now()) * 1000), dir, frame });
          if (got.length >= opts.count) finish();
        },
      };
      const finish = () => {
        clearTimeout(timer);
        if (p.taps) {
          p.taps = p.taps.filter((x) => x !== tap);
          if (p.taps.length === 0) p.taps = null;
        }
        resolve(got);
      };
      const timer = setTimeout(finish, opts.seconds * 1000);
      p.taps = p.taps ? [...p.taps, tap] : [tap];
    });
  }

  /** Transmit every queued frame: one call per port. */
  flush(): void {
    if (this.inFlush) return;
    this.inFlush = true;
    const d = this.dirty;
    for (let i = 0; i < d.length; i++) this.flushPort(d[i]);
    d.length = 0;
    this.inFlush = false;
  }

  /** Flush every queued port now (the arena is running low: a big flood is in progress). */
  private flushAllQueued(): void {
    const d = this.dirty;
    for (let i = 0; i < d.length; i++) this.flushPort(d[i]);
  }

  private flushPort(p: SwitchPort): void {
    const n = p.txCount;
    if (n === 0) return;
    const io = p.io!;
    if (p.taps !== null) this.tapBatch(p, p.tx, n, 'out');
    const sent = io.up ? io.txBurst(p.tx, n) : -100;
    const c = p.counters;
    if (sent < 0) {
      c.drops.add(sent === -100 || sent === -6 || sent === -19 ? DROP_TX_DOWN : DROP_TX_ERROR, n);
      if (!io.up) this.portDown(p);
    } else if (sent < n) {
      c.drops.add(DROP_TX_FULL, n - sent);
    }
    const a = this.arena;
    for (let i = 0; i < n; i++) a.release(p.tx[i]);
    p.txCount = 0;
  }

  /** BridgeHost: a frame for the controller (packet-in). */
  packetIn(bridge: Bridge, slot: number, table: number, cookie: bigint, reason: PacketInReason): void {
    const cb = this.onPacketIn;
    if (cb === null) {
      bridge.drop(slot, D_CONTROLLER_UNSET);
      return;
    }
    const inPort = this.arena.key[slot << KEY_SHIFT];
    const frame = this.arena.frame(slot);
    this.arena.release(slot);
    try {
      cb({ bridge: bridge.name, table, cookie, reason, inPort, inPortName: bridge.portName(inPort), frame });
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
    const now = this.clock();
    if (opts.outPort !== undefined) {
      this.enqueue(p, s);
    } else {
      const b = new Batch(1);
      b.push(s);
      br.input(p, b, false, now);
    }
    this.runIngress(now);
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
        if (!p || !p.io || p.type !== 'memory' || !p.io.up) continue;
        const b = this.rxBatch;
        b.count = 0;
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
    for (const br of this.bridges.values()) br.macs.expire(now);
    for (const f of this.pipelines.values()) f.expire(now);
    this.l3.tick();
    this.settle();
    this.emit('tick', now);
  }

  // ---------------------------------------------------------------- views

  show(): ShowBridge[] {
    return [...this.bridges.values()].map((br) => ({
      name: br.name,
      ports: br.portList
        .slice()
        .sort((a, b) => a.ofport - b.ofport)
        .map((p) => ({
          name: p.name,
          ofport: p.ofport,
          type: p.type,
          up: p.up,
          ...(p.vlan.tag >= 0 ? { tag: p.vlan.tag } : {}),
          ...(p.vlan.trunks ? { trunks: p.vlan.trunkList() } : {}),
          ...(p.config.peer ? { peer: p.config.peer } : {}),
          ...(p.io ? { io: p.io.describe() } : {}),
        })),
    }));
  }

  dumpPorts(bridgeName: string): DumpPort[] {
    const br = this.bridge(bridgeName);
    return br.portList
      .slice()
      .sort((a, b) => a.ofport - b.ofport)
      .map((p) => ({ name: p.name, ofport: p.ofport, up: p.up, ...(p.counters.toJSON() as object), ...(p.io?.ringBytes ? { ring_bytes: p.io.ringBytes } : {}) }) as DumpPort);
  }

  fdb(bridgeName: string): { port: number; portName: string | undefined; vlan: number; mac: string; age: number }[] {
    const br = this.bridge(bridgeName);
    const now = this.clock();
    return br.macs.entries(now).map((e) => ({ port: e.port, portName: br.portName(e.port), vlan: e.vlan, mac: formatMac(e.mac), age: Math.floor(e.ageMs / 1000) }));
  }

  /** Per-bridge drop counters (parse + bridge stages). */
  bridgeDrops(bridgeName: string): Record<string, number> {
    const br = this.bridge(bridgeName);
    return { ...br.parseDrops.toJSON(), ...br.drops.toJSON() };
  }
}

export interface ShowBridge {
  name: string;
  ports: { name: string; ofport: number; type: PortType; up: boolean; tag?: number; trunks?: number[]; peer?: string; io?: Record<string, unknown> }[];
}
export interface DumpPort {
  name: string;
  ofport: number;
  up: boolean;
  rx_packets: number;
  rx_bytes: number;
  tx_packets: number;
  tx_bytes: number;
  drops: Record<string, number>;
  /** Mapped rx ring memory of an AF_PACKET port. */
  ring_bytes?: number;
}

/** Linux interface names are at most 15 bytes; we hold bridge and port names to the same rule. */
function checkName(what: string, name: string): void {
  if (typeof name !== 'string' || !/^[A-Za-z0-9_.:@-]{1,15}$/.test(name)) {
    throw new Error(`invalid ${what} name '${name}': 1-15 characters of letters, digits, '_', '.', ':', '@', '-'`);
  }
}
