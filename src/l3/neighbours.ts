/**
 * Neighbour resolution for the router: the ARP cache, the frames waiting for a next hop
 * (arp-pending.ts), ARP requests with retries, failure (host unreachable to each waiting
 * sender) and gratuitous announcements of floating IPs.
 *
 * `resolved` is pure (the forwarding decision and trace read it); everything that queues,
 * learns or sends is a commit the router does after deciding.
 */
import type { PacketArena } from '../packet/arena';
import { parseSlot } from '../packet/parse';
import * as eth from '../wire/ethernet';
import * as arp from '../wire/arp';
import { ArpCache } from './arp-cache';
import { PendingQueue, type Pending } from './arp-pending';
import type { Iface } from './router-iface';
import { D_ARP_FAILED, D_ARP_QUEUE_FULL, D_ARP_HOLD_LIMIT } from './router-drops';
import type { HoldBudget } from '../packet/hold-budget';
import type { BatchClock } from '../packet/batch-clock';

/** K_IN_PORT of frames the router builds itself (ARP requests, ICMP errors). */
export const ROUTER_IN_PORT = 0;

/** What the neighbour layer needs from its router (implemented by Router). */
export interface NeighbourHost {
  readonly arena: PacketArena;
  ifaceAt(index: number): Iface | null;
  /** Ethernet rewrite to (hi, lo) and out of `out`. */
  transmit(s: number, out: number, hi: number, lo: number): void;
  /** Release `s` counting `reason`. */
  drop(s: number, reason: number): void;
  /** ICMP host unreachable to the sender of `s` (which then gets dropped). */
  hostUnreachable(s: number, inIf: number): void;
  /** A frame the router built, out of `out`. */
  emit(s: number, out: number): void;
  readonly stats: { arpRequestsSent: number; arpLearned: number; noBuffer: number };
  /**
   * [0]: the time (ms) of the router's pass in progress, which `resolved`, `output` and `learn`
   * compare and stamp with. A slot, not an argument: see packet/batch-clock.ts.
   */
  readonly time: BatchClock;
}

export interface NeighbourOptions {
  cacheSize: number;
  timeoutMs: number;
  probes: number;
  retryMs: number;
  queueLen?: number;
  maxPending?: number;
  /** Name the router's hold budget is shown under. */
  name: string;
  /** Frames held (waiting for ARP) by this router at once. Default an eighth of the arena. */
  holdLimit?: number;
  /** ... of them arriving on one interface (one tenant). Default half the router's. */
  holdPerIface?: number;
}

export class Neighbours {
  readonly cache: ArpCache;
  readonly pending: PendingQueue;
  private readonly timeoutMs: number;
  private readonly probes: number;
  private readonly retryMs: number;
  /**
   * Frames waiting for ARP are charged here: per arrival interface (one tenant's port), per
   * router, and the arena's budget above both (hold-budget.ts), so one tenant flooding next
   * hops nobody answers can neither hold more than a small share of the buffers nor take them
   * from the others.
   */
  readonly holds: HoldBudget;
  private readonly ifaceHolds: (HoldBudget | null)[] = [];
  private readonly perIface: number;
  /** The host's time slot (NeighbourHost.time), held here: one load less per lookup. */
  private readonly time: BatchClock;

  constructor(private readonly host: NeighbourHost, opts: NeighbourOptions) {
    this.time = host.time;
    this.cache = new ArpCache(opts.cacheSize);
    this.pending = new PendingQueue(opts.queueLen, opts.maxPending);
    this.timeoutMs = opts.timeoutMs;
    this.probes = opts.probes;
    this.retryMs = opts.retryMs;
    const a = host.arena;
    const limit = opts.holdLimit ?? Math.max(1, a.capacity >> 3);
    if (!Number.isInteger(limit) || limit < 1) throw new RangeError(`router ${opts.name}: holdLimit must be a positive integer, got ${limit}`);
    this.holds = a.holds.child(`router ${opts.name}`, limit);
    this.perIface = opts.holdPerIface ?? Math.max(1, this.holds.limit >> 1);
    if (!Number.isInteger(this.perIface) || this.perIface < 1) throw new RangeError(`router ${opts.name}: holdPerIface must be a positive integer, got ${this.perIface}`);
  }

  /** A new interface: its own hold budget (returned: the datapath shows it on the port). */
  addIface(index: number, name: string): HoldBudget {
    const b = this.holds.child(name, this.perIface);
    this.ifaceHolds[index] = b;
    return b;
  }

  /** The budget frames arriving on `inIf` are charged to (the router's own for its frames). */
  holdBudget(inIf: number): HoldBudget {
    const b = inIf >= 0 && inIf < this.ifaceHolds.length ? this.ifaceHolds[inIf] : null;
    return b ?? this.holds;
  }

  /** Cache entry usable for `nh` out of `out` at the host's time, or -1 (ARP needed). Pure. */
  resolved(nh: number, out: number): number {
    const c = this.cache;
    const ai = c.lookup(nh);
    return ai >= 0 && c.expires[ai] > this.time[0] && c.iface[ai] === out ? ai : -1;
  }

  /**
   * Send `s` to `nh` out of `out`: at once when resolved, else queued behind an ARP request.
   * `nh` (and `learn`'s `ip`) as int32 bits on the forwarding path: arp-pending.ts says why.
   */
  output(s: number, out: number, nh: number, inIf: number): void {
    const ai = this.resolved(nh, out);
    if (ai >= 0) {
      this.host.transmit(s, out, this.cache.macHi[ai], this.cache.macLo[ai]);
      return;
    }
    this.hold(s, out, nh, inIf);
  }

  private hold(s: number, out: number, nh: number, inIf: number): void {
    let p = this.pending.get(nh);
    if (p === undefined) {
      if (!this.pending.hasRoom(nh)) {
        this.host.drop(s, D_ARP_QUEUE_FULL);
        return;
      }
      // Resolution starts even when the frame cannot be held: the sender's next try finds
      // the next hop resolved.
      p = this.pending.open(nh, out, this.time[0] + this.retryMs);
      this.sendRequest(out, nh);
    }
    if (this.pending.full(p)) {
      this.host.drop(s, D_ARP_QUEUE_FULL);
      return;
    }
    const b = this.holdBudget(inIf);
    if (!b.take()) {
      this.host.drop(s, D_ARP_HOLD_LIMIT);
      return;
    }
    this.pending.push(p, s, inIf, b);
  }

  /** Learn (or refresh) ip → MAC on `iface`, and release the frames waiting for it. */
  learn(ip: number, hi: number, lo: number, iface: number): void {
    this.cache.learn(ip, hi, lo, iface, this.time[0] + this.timeoutMs);
    this.host.stats.arpLearned++;
    const p = this.pending.take(ip);
    if (p === undefined) return;
    for (let i = 0; i < p.slots.length; i++) {
      p.budgets[i].give();
      if (p.iface === iface) this.host.transmit(p.slots[i], iface, hi, lo);
      else this.host.drop(p.slots[i], D_ARP_FAILED);
    }
  }

  /** Retries and failures due at `now`, then cache aging. */
  tick(now: number): void {
    for (const p of this.pending.list()) {
      if (now < p.next) continue;
      if (p.probes < this.probes) {
        this.sendRequest(p.iface, p.ip);
        p.probes++;
        p.next = now + this.retryMs;
        continue;
      }
      this.pending.take(p.ip);
      this.fail(p);
    }
    this.cache.sweep(now);
  }

  /** An interface went away: its entries and waiting frames go (the frames as arp_failed). */
  flushIface(index: number): void {
    for (const p of this.pending.list()) {
      if (p.iface !== index) continue;
      this.pending.take(p.ip);
      for (let i = 0; i < p.slots.length; i++) {
        p.budgets[i].give();
        this.host.drop(p.slots[i], D_ARP_FAILED);
      }
    }
    this.cache.flushIface(index);
    // Frames from this interface queued on other interfaces' next hops keep their budget
    // object until they go; a new interface at this index gets a fresh one.
    if (index < this.ifaceHolds.length) this.ifaceHolds[index] = null;
  }

  private fail(p: Pending): void {
    for (let i = 0; i < p.slots.length; i++) {
      const s = p.slots[i];
      p.budgets[i].give();
      this.host.hostUnreachable(s, p.inIfs[i]);
      this.host.drop(s, D_ARP_FAILED);
    }
  }

  sendRequest(out: number, ip: number): void {
    const ifc = this.host.ifaceAt(out);
    if (ifc === null) return;
    this.host.stats.arpRequestsSent++;
    this.emitArp(ifc, arp.OP_REQUEST, ifc.addr, 0, ip);
  }

  /** Announce an address on `ifc`: gratuitous ARP request and reply (RFC 5227 §3), broadcast. */
  announce(ifc: Iface, ip: number): void {
    this.emitArp(ifc, arp.OP_REQUEST, ip, 0, ip);
    this.emitArp(ifc, arp.OP_REPLY, ip, eth.BROADCAST_MAC, ip);
  }

  /** Build a 60-byte ARP frame on `ifc` (broadcast destination) and emit it. */
  private emitArp(ifc: Iface, op: number, spa: number, tha: number, tpa: number): void {
    const a = this.host.arena;
    const s = a.alloc();
    if (s < 0) {
      this.host.stats.noBuffer++;
      return;
    }
    const b = a.bytes;
    const f = a.start[s];
    b.fill(0, f, f + eth.MIN_FRAME);
    eth.setDstMac(b, f, eth.BROADCAST_MAC);
    eth.setSrcMac(b, f, ifc.mac);
    eth.setEtherType(b, f, eth.ETH_P_ARP);
    arp.emitArp(b, f + eth.HEADER_LEN, op, ifc.mac, spa, tha, tpa);
    a.len[s] = eth.MIN_FRAME;
    parseSlot(a, s, ROUTER_IN_PORT);
    this.host.emit(s, ifc.index);
  }
}
