/**
 * A bridge: a set of ports, a MAC learning table, and the decision stage for its frames — its
 * flow tables. NORMAL is reached only through a flow: a new bridge gets OVS's default
 * `priority=0,actions=NORMAL` flow in table 0 (the switch installs it), and with no flows at
 * all every frame misses table 0 and is dropped, as in OVS. Frames arrive here a batch at a
 * time, already received (and, from a kernel port, not yet parsed).
 */
import { PacketArena } from '../packet/arena';
import { Batch } from '../packet/batch';
import type { BatchClock } from '../packet/batch-clock';
import { DropCounters, defineDrops } from '../packet/drops';
import { KEY_SHIFT, K_IN_PORT, K_TUN_FLAGS } from '../packet/flow-key';
import { clearPatchWords, parseBatch, ParseDrops } from '../packet/parse';
import { MacTable } from '../l2/mac-table';
import { Normal, NormalHost } from '../l2/normal';
import type { BridgeOps, PacketInReason } from '../flow/bridge-ops';
import { OFPP_LOCAL, OFPP_MAX } from '../flow/ofport';
import { SwitchPort } from './switch-port';
import type { FailMode } from './controller-target';
import { datapathIdMac } from './datapath-id';

/** What the bridge needs from the switch that owns it. */
export interface BridgeHost {
  readonly arena: PacketArena;
  /** The time of the batch in progress (packet/batch-clock.ts), written by the host per batch. */
  readonly batchClock: BatchClock;
  /** Queue a frame on a port (takes ownership). */
  enqueue(port: SwitchPort, slot: number): void;
  packetIn(bridge: Bridge, slot: number, table: number, cookie: bigint, reason: PacketInReason, maxLen: number): void;
}

/** The flow-table stage as the bridge uses it (implemented in src/flow). */
export interface FlowStage {
  /** No flow installed (a new bridge has the default flow; del-flows empties it). */
  readonly isEmpty: boolean;
  process(batch: Batch, ops: BridgeOps): void;
  /** What the flow tables dropped, by reason (they count their own drops). */
  readonly drops: DropCounters<string>;
}

export interface BridgeOptions {
  macAgingMs?: number;
  macMaxEntries?: number;
  /** Flows in this bridge's tables at most (default 1,000,000). */
  maxFlows?: number;
  /**
   * Switch.addBridge: give the bridge its LOCAL port (Switch.addLocalPort), a TAP device named
   * after the bridge. OVS always has one; tvs only when asked (a TAP per bridge in the root
   * namespace would clash with every other switch's and test's bridge names).
   */
  localPort?: boolean;
}

/**
 * Why the bridge itself dropped a frame (the decision stages, flows and NORMAL, count their own
 * drops in their own counters).
 */
export const BRIDGE_DROPS = defineDrops('bridge', {
  no_output: 'FLOOD/ALL found no other port that is up',
  unknown_port: 'output to a port number the bridge does not have',
  port_down: 'output to a port that is down',
  patch_loop: 'the frame crossed too many patch or router ports in one pass (a loop)',
  checksum_offload: 'a partial checksum that could not be completed for a port without offloads',
  controller_unset: 'sent to the controller, but no packet-in consumer is attached',
  fail_secure: 'fail_mode=secure and no flows installed: dropped (the bridge never forwards on its own)',
});
export const BRIDGE_DROP_REASONS = BRIDGE_DROPS.reasons;
export type BridgeDropReason = (typeof BRIDGE_DROP_REASONS)[number];

const D_NO_OUTPUT = BRIDGE_DROPS.id.no_output;
const D_UNKNOWN_PORT = BRIDGE_DROPS.id.unknown_port;
const D_PORT_DOWN = BRIDGE_DROPS.id.port_down;
const D_FAIL_SECURE = BRIDGE_DROPS.id.fail_secure;

export class Bridge implements BridgeOps, NormalHost {
  readonly arena: PacketArena;
  readonly macs: MacTable;
  readonly parseDrops = new ParseDrops();
  readonly drops = new DropCounters<BridgeDropReason>(BRIDGE_DROPS);
  /** NormalHost: the host's batch clock ([0]: the current batch's time, ms). */
  readonly batchClock: BatchClock;
  /** Incremented per input batch (NORMAL scopes its per-batch memo with it). */
  batchSeq = 0;
  readonly portList: SwitchPort[] = [];
  /**
   * Ports by OpenFlow number below OFPP_MAX. The LOCAL port (0xfffe) is kept apart in `local`:
   * storing it at index 0xfffe would turn this dense array into a dictionary, and every lookup
   * on the forwarding path with it.
   */
  private readonly byOfport: (SwitchPort | undefined)[] = [];
  /** The bridge's LOCAL port (OFPP_LOCAL, a TAP named after the bridge), when it has one. */
  local: SwitchPort | undefined = undefined;
  private readonly byName = new Map<string, SwitchPort>();
  flows: FlowStage | null = null;
  /**
   * OVS fail_mode with a controller configured: 'secure' keeps the flows and drops table misses
   * (an empty table drops instead of acting as NORMAL); `failOpen` (standalone mode while no
   * controller is connected) forwards everything by NORMAL, as OVS's fail-open flow does.
   */
  secure = false;
  failOpen = false;
  /** OpenFlow controllers (tcp:/unix: targets) the OpenFlow service keeps this bridge connected to. */
  controllers: string[] = [];
  /** OVS `other-config:datapath-id`, or null: the default id (datapath-id.ts) is used. */
  datapathIdConfig: bigint | null = null;
  /** The id this bridge has when other-config:datapath-id is not set (per daemon and bridge). */
  defaultDatapathId = 0n;
  /**
   * The bridge's MAC: the 48 bits of its default datapath id (a locally administered unicast
   * address). Its LOCAL port has it; other-config:datapath-id does not change it, as in OVS.
   */
  get mac(): string {
    return datapathIdMac(this.defaultDatapathId);
  }
  /** The OpenFlow datapath id controllers see. */
  get datapathId(): bigint {
    return this.datapathIdConfig ?? this.defaultDatapathId;
  }
  private mode: FailMode = 'standalone';
  get failMode(): FailMode {
    return this.mode;
  }
  set failMode(m: FailMode) {
    this.mode = m;
    this.secure = m === 'secure';
  }
  private readonly normalStage: Normal;

  constructor(
    readonly name: string,
    private readonly host: BridgeHost,
    opts: BridgeOptions = {},
  ) {
    this.arena = host.arena;
    this.batchClock = host.batchClock;
    this.macs = new MacTable({ agingMs: opts.macAgingMs, maxEntries: opts.macMaxEntries });
    this.normalStage = new Normal(this);
  }

  // ---- ports ----

  /** Lowest free OpenFlow port number (OVS assigns from 1 up). */
  nextOfport(): number {
    for (let o = 1; o < OFPP_MAX; o++) if (this.byOfport[o] === undefined) return o;
    throw new Error(`bridge ${this.name}: no free OpenFlow port numbers`);
  }

  attach(p: SwitchPort): void {
    if (p.ofport === OFPP_LOCAL) this.local = p;
    else this.byOfport[p.ofport] = p;
    this.byName.set(p.name, p);
    this.portList.push(p);
  }

  detach(p: SwitchPort): void {
    if (p.ofport === OFPP_LOCAL) this.local = undefined;
    else this.byOfport[p.ofport] = undefined;
    this.byName.delete(p.name);
    const i = this.portList.indexOf(p);
    if (i >= 0) this.portList.splice(i, 1);
    this.macs.flushPort(p.ofport);
  }

  port(name: string): SwitchPort | undefined {
    return this.byName.get(name);
  }

  portAt(ofport: number): SwitchPort | undefined {
    const p = this.byOfport[ofport];
    // LOCAL is looked at only on a miss: ordinary ports pay nothing for it.
    return p !== undefined || ofport !== OFPP_LOCAL ? p : this.local;
  }

  ofportByName(name: string): number {
    const p = this.byName.get(name);
    return p ? p.ofport : -1;
  }

  portName(ofport: number): string | undefined {
    return this.portAt(ofport)?.name;
  }

  // ---- the batch path ----

  /**
   * Frames received on `from`. Kernel/memory frames are parsed here first; frames arriving
   * through a patch or router port were parsed where they came from and only get the new
   * in_port (and cleared pipeline registers, as OVS does across a patch). The batch's time is
   * in the host's batch clock (no argument: see packet/batch-clock.ts).
   */
  input(from: SwitchPort, batch: Batch, parsed: boolean): void {
    this.batchSeq++;
    const a = this.arena;
    if (!parsed) {
      parseBatch(a, batch, from.ofport, from.maxRxFrame, this.parseDrops);
      // Tunnel ports add the outer header's metadata (tun_id, tun_src, tun_dst) to the key.
      const io = from.io;
      if (io !== null && io.markParsed !== undefined) io.markParsed(batch);
    } else {
      const key = a.key;
      const d = a.keyF64;
      for (let i = 0; i < batch.count; i++) {
        const k = batch.slots[i] << KEY_SHIFT;
        key[k + K_IN_PORT] = from.ofport;
        // Crossing a patch port starts a fresh pipeline, as OVS's patch_port_output does: tunnel
        // metadata, metadata, registers and conntrack state are cleared (K_TUN_ID_HI..K_TUN_DST
        // and K_METADATA_HI to the end: one run of words).
        key[k + K_TUN_FLAGS] = 0;
        clearPatchWords(d, k);
      }
    }
    if (batch.count === 0) return;
    // A tagged frame on an access port goes through the flow tables as it is (dl_vlan matches its
    // tag): as in OVS, a port's VLAN mode binds only NORMAL, which drops it (vlan_not_allowed).
    const flows = this.flows;
    if (flows !== null && !this.failOpen && !(this.secure && flows.isEmpty)) {
      flows.process(batch, this);
    } else if (this.secure && !this.failOpen) {
      for (let i = 0; i < batch.count; i++) this.discard(batch.slots[i], D_FAIL_SECURE);
    } else {
      // Fail open (OVS standalone while no controller is reachable), or a bridge built without
      // flow tables: NORMAL.
      const slots = batch.slots;
      for (let i = 0; i < batch.count; i++) this.normalStage.forward(slots[i]);
    }
  }

  // ---- BridgeOps: what the decision stages call (each takes ownership of the slot) ----

  output(slot: number, ofport: number): void {
    const p = this.portAt(ofport);
    if (p === undefined) {
      this.discard(slot, D_UNKNOWN_PORT);
      return;
    }
    if (!p.up) {
      this.discard(slot, D_PORT_DOWN);
      return;
    }
    this.host.enqueue(p, slot);
  }

  normal(slot: number): void {
    this.normalStage.forward(slot);
  }

  flood(slot: number, includeInput: boolean): void {
    const a = this.arena;
    const inPort = a.key[(slot << KEY_SHIFT) + K_IN_PORT];
    let last: SwitchPort | null = null;
    for (let i = 0; i < this.portList.length; i++) {
      const p = this.portList[i];
      if (!p.up || (!includeInput && p.ofport === inPort)) continue;
      if (last !== null) {
        const c = a.clone(slot);
        if (c >= 0) this.host.enqueue(last, c);
      }
      last = p;
    }
    if (last === null) this.discard(slot, D_NO_OUTPUT);
    else this.host.enqueue(last, slot);
  }

  controller(slot: number, table: number, cookie: bigint, reason: PacketInReason, maxLen: number): void {
    this.host.packetIn(this, slot, table, cookie, reason, maxLen);
  }

  /** BridgeOps: a frame the flow tables dropped and counted already: only released here. */
  drop(slot: number, _reason: number): void {
    this.arena.release(slot);
  }

  /** Drop a frame for a reason of the bridge itself (BRIDGE_DROPS id): counted here, once. */
  discard(slot: number, reason: number): void {
    this.drops.add(reason);
    this.arena.release(slot);
  }

  /**
   * NORMAL's decision for the frame in `slot`, as `tvs trace` prints it under the NORMAL action:
   * OVS's words for it, then the VLAN and each output port with the tag its copy leaves with.
   * Nothing is learned or counted; the slot stays the caller's.
   */
  explainNormal(slot: number): string[] {
    const e = this.normalStage.explain(slot);
    if (e.vlan < 0) return [e.why];
    const name = (o: number): string => this.portName(o) ?? String(o);
    const outs = e.outputs.map((o) => `${name(o.ofport)} (${o.vid === 0 ? 'untagged' : `tagged ${o.vid}`})`);
    return [e.why, `in VLAN ${e.vlan}: ${outs.length > 0 ? outs.join(', ') : 'no port to send to, dropping'}`];
  }

  /** What NORMAL dropped, by reason. */
  get normalDrops(): DropCounters<string> {
    return this.normalStage.drops;
  }

  // ---- NormalHost ----

  transmit(slot: number, p: SwitchPort): void {
    this.host.enqueue(p, slot);
  }

  inPort(slot: number): number {
    return this.arena.key[(slot << KEY_SHIFT) + K_IN_PORT];
  }
}
