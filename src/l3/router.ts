/**
 * The router stage (a Neutron router inside the switch): ARP, IPv4 forwarding with
 * longest-prefix match, RFC 1812 ICMP errors, and NAT with connection tracking (SNAT of tenant
 * subnets to the gateway address, 1:1 floating IPs, hairpin).
 *
 * This file holds configuration and the commit: for each frame, decide.ts computes a Decision
 * (pure), and `commit` applies it — NAT session, rewrites, TTL, ICMP error, next hop. `trace`
 * computes the same Decision for a copy of a frame and prints it (router-view.ts), so the
 * explanation is forwarding's own. The other jobs live beside it:
 *   route-table.ts  compiled routes (LPM)          neighbours.ts  ARP cache, pending queue, ARP tx
 *   decide.ts       the forwarding decision        router-view.ts router-show, nat-show, trace text
 *
 * Ownership: every slot handed to `input` is either emitted once through `onEmit` or released
 * to the arena and counted in `drops` by reason. The forwarding path allocates nothing; ARP
 * misses, ICMP errors and new sessions allocate a little (an arena slot, a pending record).
 *
 * Frames arrive untagged and parsed (l3/l4 offsets valid, Ethernet header 14 bytes); the router
 * never moves a frame's start.
 *
 * Time: once per batch (from the datapath's batch clock when given, else `clock()`), by `tick`
 * and by `trace`, the router stamps its time slot (`time`); the decision, the neighbour table
 * and the commit read it there, not as an argument (packet/batch-clock.ts: a double passed to a
 * call V8 does not inline is a heap number). Every timer (ARP retries and aging, NAT session
 * expiry, ICMP rate limit) runs from it, so tests drive time by hand.
 */
import type { HoldBudget } from '../packet/hold-budget';
import { PacketArena } from '../packet/arena';
import type { BatchClock } from '../packet/batch-clock';
import { Batch } from '../packet/batch';
import * as K from '../packet/flow-key';
import { parseSlot } from '../packet/parse';
import { popTag } from '../packet/vlan';
import * as vnet from '../packet/vnet';
import * as eth from '../wire/ethernet';
import * as arp from '../wire/arp';
import * as ipv4 from '../wire/ipv4';
import * as icmp from '../wire/icmp';
import { patch16 } from '../wire/checksum';
import { get16 } from '../wire/bytes';
import * as tcp from '../wire/tcp';
import { U32Map } from '../packet/u32-map';
import { Conntrack, NatTimeouts, CREATE_FULL, CREATE_SOURCE_LIMIT, REMOVE_EXPIRED } from '../packet/conntrack';
import { parseQuoted, translateIcmpError } from '../packet/nat';
import { rewritePacket } from '../packet/rewrite';
import { buildIcmpError, errorAllowed, TokenBucket } from './icmp-error';
import { RouteTable, type StaticRoute } from './route-table';
import { Neighbours, ROUTER_IN_PORT, type NeighbourHost } from './neighbours';
import { ARP_QUEUE_LEN_DEFAULT, ARP_MAX_PENDING_DEFAULT } from './arp-pending';
import { Iface, type InterfaceConfig } from './router-iface';
import { RouterDrops, D_NAT_FULL, D_NAT_CONFLICT, D_NAT_SOURCE, D_ARP_HOLD_LIMIT } from './router-drops';
import {
  Decision, decideInput, decideIpv4, replyKey, type ForwardingState,
  V_DROP, V_FORWARD, V_ECHO_REPLY, V_ARP_REPLY, V_ARP_CONSUMED, M_NONE, NH_RESOLVED,
} from './decide';
import { describeSession, renderDecision, showRouter, decisionView, type RouterShow, type NatSession, type DecisionView } from './router-view';

export { ROUTER_DROP_REASONS, RouterDrops, type RouterDropReason } from './router-drops';
export { ROUTER_IN_PORT } from './neighbours';
export type { InterfaceConfig } from './router-iface';
export type { NatSession, NatTuple, RouterShow, DecisionView } from './router-view';

export interface RouterOptions {
  /** Milliseconds; every timer runs from this (tests inject a fake). */
  clock: () => number;
  /**
   * The datapath's batch clock (packet/batch-clock.ts), the same time base as `clock`: when
   * given, `input` takes the batch's time from it instead of reading `clock` (a clock's return
   * value is a heap number). Whoever calls `input` writes it first.
   */
  batchClock?: BatchClock;
  /** Upper bound on NAT sessions (memory grows up to this many). Default 65536. */
  maxSessions?: number;
  /** NAT sessions one source address may hold. Default maxSessions / 4. */
  maxSessionsPerSource?: number;
  /** SNAT port/id range for the gateway address, per protocol and peer. Default 1024-65535. */
  natPortMin?: number;
  natPortMax?: number;
  natTimeouts?: Partial<NatTimeouts>;
  /** Lifetime of a learnt ARP entry. Default 60 s. */
  arpTimeoutMs?: number;
  /** ARP requests sent for an unresolved next hop before giving up. Default 3. */
  arpProbes?: number;
  /** Interval between those requests; the last one gets this long too. Default 1000 ms. */
  arpRetryMs?: number;
  /** Frames held per unresolved next hop. Default ARP_QUEUE_LEN_DEFAULT (16). */
  arpQueueLen?: number;
  /** Next hops being resolved at once. Default ARP_MAX_PENDING_DEFAULT (256). */
  arpMaxPending?: number;
  /** Frames this router may hold while resolving next hops. Default an eighth of the arena. */
  holdLimit?: number;
  /** ... of them from one interface (one tenant). Default half of holdLimit. */
  holdPerIface?: number;
  arpCacheSize?: number;
  /** ICMP error token bucket (all errors of this router). Default 1000/s, burst 50. */
  icmpRatePerSec?: number;
  icmpBurst?: number;
}

export interface SessionEvent {
  event: 'created' | 'expired' | 'flushed';
  session: NatSession;
}

export interface RouterStats {
  forwarded: number;
  icmpErrorsSent: number;
  icmpRateLimited: number;
  echoReplies: number;
  arpRequestsSent: number;
  arpRepliesSent: number;
  arpLearned: number;
  sessionsCreated: number;
  noBuffer: number;
}

/** What `trace` returns: the decision as data and as the lines `tvs trace` prints. */
export interface RouterTrace {
  decision: DecisionView;
  lines: string[];
}

export class Router implements ForwardingState, NeighbourHost {
  readonly name: string;
  readonly arena: PacketArena;
  readonly drops = new RouterDrops();
  readonly stats: RouterStats = {
    forwarded: 0, icmpErrorsSent: 0, icmpRateLimited: 0, echoReplies: 0, arpRequestsSent: 0,
    arpRepliesSent: 0, arpLearned: 0, sessionsCreated: 0, noBuffer: 0,
  };
  /** Where frames leave: set once by the datapath. Default: release (a router wired to nothing). */
  onEmit: (slot: number, iface: number) => void;
  /** NAT session created / expired / flushed (allocates the description; only when set). */
  onSessionEvent: ((ev: SessionEvent) => void) | null = null;
  /**
   * Whether `onSessionEvent` has a listener now: the description (addresses as strings, ~1 KB)
   * is built only then, not for every new session of a switch nobody listens to.
   */
  sessionEventsWanted: () => boolean = () => true;

  private readonly clock: () => number;
  private readonly batchClock: BatchClock | null;
  /**
   * @internal [0]: the time (ms) of the pass in progress (a batch, a tick, a trace), which the
   * decision, the neighbour table and the commit read. Only the router writes it.
   */
  readonly time: BatchClock = new Float64Array(1);

  // State the decision reads (ForwardingState; written only by configuration and commit).
  /** @internal */ readonly ifaces: (Iface | null)[] = [];
  /** @internal */ gw = -1;
  /** @internal */ snat = true;
  /** @internal */ readonly fipToFixed = new U32Map(16);
  /** @internal */ readonly fixedToFip = new U32Map(16);
  /** @internal compiled lazily from the configuration when `dirty` */ readonly routes = new RouteTable();
  /** @internal */ readonly nbr: Neighbours;
  readonly ct: Conntrack;
  private readonly userRoutes: StaticRoute[] = [];
  private dirty = true;
  private readonly icmpBucket: TokenBucket;

  /** Decision records: arrivals, frames the router built (decided while an arrival's record is
   *  still in use: echo replies, ICMP errors), and trace — so none overwrites another. */
  private readonly dIn = new Decision();
  private readonly dOwn = new Decision();
  private readonly dTrace = new Decision();

  constructor(name: string, arena: PacketArena, opts: RouterOptions) {
    if (typeof opts?.clock !== 'function') throw new TypeError('router: opts.clock must be a function returning milliseconds');
    this.name = name;
    this.arena = arena;
    this.clock = opts.clock;
    this.batchClock = opts.batchClock ?? null;
    this.time[0] = opts.clock();
    this.onEmit = (slot) => arena.release(slot);
    this.nbr = new Neighbours(this, {
      cacheSize: opts.arpCacheSize ?? 4096,
      timeoutMs: opts.arpTimeoutMs ?? 60_000,
      probes: opts.arpProbes ?? 3,
      retryMs: opts.arpRetryMs ?? 1000,
      queueLen: opts.arpQueueLen ?? ARP_QUEUE_LEN_DEFAULT,
      maxPending: opts.arpMaxPending ?? ARP_MAX_PENDING_DEFAULT,
      name,
      holdLimit: opts.holdLimit,
      holdPerIface: opts.holdPerIface,
    });
    this.ct = new Conntrack({ maxSessions: opts.maxSessions, maxPerSource: opts.maxSessionsPerSource, portMin: opts.natPortMin, portMax: opts.natPortMax, timeouts: opts.natTimeouts });
    this.ct.onRemove = (rec, reason) => {
      if (this.onSessionEvent !== null && this.sessionEventsWanted()) this.onSessionEvent({ event: reason === REMOVE_EXPIRED ? 'expired' : 'flushed', session: describeSession(this.ct, rec, this.clock()) });
    };
    this.icmpBucket = new TokenBucket(opts.icmpRatePerSec ?? 1000, opts.icmpBurst ?? 50, this.time[0]);
  }

  // ==== configuration (control plane: validates and throws) ====================================

  addInterface(cfg: InterfaceConfig): number {
    if (this.ifaces.some((i) => i !== null && i.name === cfg.name)) throw new Error(`router ${this.name}: interface '${cfg.name}' exists`);
    const { addr, len } = ipv4.parseCidr(cfg.cidr);
    if (len < 1 || len > 30) throw new Error(`router ${this.name}: interface prefix length must be 1..30, got /${len}`);
    const mtu = cfg.mtu ?? 1500;
    if (!Number.isInteger(mtu) || mtu < 68 || mtu > 65535) throw new Error(`router ${this.name}: mtu must be 68..65535, got ${mtu}`);
    if (cfg.gateway && this.gw >= 0) throw new Error(`router ${this.name}: a gateway interface already exists`);
    let idx = this.ifaces.indexOf(null);
    if (idx < 0) idx = this.ifaces.length;
    const ifc = new Iface(idx, cfg.name, eth.parseMac(cfg.mac), addr, len, mtu, !!cfg.gateway);
    this.ifaces[idx] = ifc;
    this.nbr.addIface(idx, cfg.name);
    if (ifc.gateway) this.gw = idx;
    this.dirty = true;
    return idx;
  }

  /** Remove an interface (by name or index): its routes, ARP entries and queued frames go. */
  delInterface(which: string | number): void {
    const ifc = this.iface(which);
    this.nbr.flushIface(ifc.index);
    if (ifc.index === this.gw) {
      this.gw = -1;
      this.ct.flushAll(); // every NAT session used the gateway
    }
    this.ifaces[ifc.index] = null;
    this.dirty = true;
  }

  /** Frames held for ARP on behalf of interface `iface` (its tenant), with their limit. */
  holdBudget(iface: number): HoldBudget {
    return this.nbr.holdBudget(iface);
  }

  /** Static route; '0.0.0.0/0' is the default route. `via` must be on a connected subnet. */
  addRoute(cidr: string, via: string): void {
    const { addr, len } = ipv4.parseCidr(cidr);
    const v = ipv4.parseAddr(via);
    if (v === 0) throw new Error(`router ${this.name}: next hop must be a unicast address`);
    const m = ipv4.prefixMask(len);
    const a = (addr & m) >>> 0;
    const i = this.userRoutes.findIndex((r) => r.addr === a && r.len === len);
    if (i >= 0) this.userRoutes[i].via = v;
    else this.userRoutes.push({ addr: a, len, via: v });
    this.dirty = true;
  }

  delRoute(cidr: string): boolean {
    const { addr, len } = ipv4.parseCidr(cidr);
    const a = (addr & ipv4.prefixMask(len)) >>> 0;
    const i = this.userRoutes.findIndex((r) => r.addr === a && r.len === len);
    if (i < 0) return false;
    this.userRoutes.splice(i, 1);
    this.dirty = true;
    return true;
  }

  /**
   * NAT limits: sessions in this router's table, and per source address (default a quarter of
   * the table). Takes effect for new sessions at once; nothing live is removed.
   */
  setNatLimits(maxSessions?: number, maxSessionsPerSource?: number): void {
    try {
      this.ct.setLimits(maxSessions, maxSessionsPerSource);
    } catch (e) {
      throw new Error(`router ${this.name}: ${(e as Error).message}`);
    }
  }

  /** SNAT of tenant traffic leaving through the gateway (Neutron enable_snat). Default on. */
  setSnat(on: boolean): void {
    this.snat = on;
  }

  /**
   * 1:1 NAT of `fixed` (a tenant address) to `fip` on the gateway network. Announces the
   * address with gratuitous ARP (request and reply) on the gateway interface.
   */
  addFloatingIp(fip: string, fixed: string): void {
    if (this.gw < 0) throw new Error(`router ${this.name}: floating IPs need a gateway interface`);
    const f = ipv4.parseAddr(fip);
    const x = ipv4.parseAddr(fixed);
    if (this.fipToFixed.has(f)) throw new Error(`router ${this.name}: floating IP ${fip} exists`);
    if (this.fixedToFip.has(x)) throw new Error(`router ${this.name}: ${fixed} already has a floating IP`);
    if (this.ifaces.some((i) => i !== null && i.addr === f)) throw new Error(`router ${this.name}: ${fip} is an interface address`);
    this.fipToFixed.set(f, x);
    this.fixedToFip.set(x, f);
    this.dirty = true;
    this.nbr.announce(this.ifaces[this.gw]!, f);
  }

  /** Remove a floating IP and flush its sessions at once (no traffic keeps flowing through it). */
  delFloatingIp(fip: string): boolean {
    const f = ipv4.parseAddr(fip);
    const x = this.fipToFixed.get(f);
    if (x === -1) return false;
    this.fipToFixed.delete(f);
    this.fixedToFip.delete(x);
    this.ct.flushAddress(f);
    this.dirty = true;
    return true;
  }

  private refresh(): void {
    if (!this.dirty) return;
    this.routes.build(this.ifaces, this.userRoutes, this.fipToFixed, this.gw);
    this.dirty = false;
  }

  // ==== datapath ==============================================================================

  /**
   * Frames that arrived at router interface `iface`. Takes ownership of every slot (each is
   * emitted once or dropped) and leaves the batch empty.
   */
  input(batch: Batch, iface: number): void {
    this.refresh();
    // Two stores rather than one of a conditional expression: the slot's double stays unboxed.
    const bc = this.batchClock;
    if (bc !== null) this.time[0] = bc[0];
    else this.time[0] = this.clock();
    const slots = batch.slots;
    const n = batch.count;
    const d = this.dIn;
    for (let i = 0; i < n; i++) {
      const s = slots[i];
      decideInput(this, this.arena, s, iface, d);
      this.commit(s, d);
    }
    batch.count = 0;
  }

  /**
   * Timers: ARP retries / failures, ARP aging, NAT session expiry. Call periodically (e.g. every
   * 100 ms-1 s); nothing here is needed for correctness of lookups, which check expiry inline.
   */
  tick(): void {
    this.refresh();
    const now = this.clock();
    this.time[0] = now;
    this.nbr.tick(now);
    this.ct.expire(now);
  }

  /** NAT session expiry at `now` (the clock's time by default); returns how many went. */
  expire(now: number = this.clock()): number {
    this.time[0] = now;
    return this.ct.expire(now);
  }

  /** A frame the router built (echo reply, ICMP error): decided and committed at once. */
  private forwardOwn(s: number): void {
    const d = this.dOwn;
    decideIpv4(this, this.arena, s, -1, d);
    this.commit(s, d);
  }

  /** Apply decision `d` to the frame in slot `s` (takes the slot). */
  private commit(s: number, d: Decision): void {
    if (d.expired >= 0) this.ct.remove(d.expired, REMOVE_EXPIRED);
    if (d.arpLearn) this.nbr.learn(d.arpSpa | 0, d.arpShaHi, d.arpShaLo, d.inIf);
    switch (d.verdict) {
      case V_FORWARD:
        this.commitForward(s, d);
        return;
      case V_DROP:
        if (d.reason === D_ARP_HOLD_LIMIT) {
          // Dropped by the neighbour layer itself: it starts resolution (the sender's next try
          // finds the next hop resolved) and charges the refusal to the budget that refused.
          // The next hop as int32 bits (a heap number per frame else: arp-pending.ts).
          this.nbr.output(s, d.out, d.nextHop | 0, d.inIf);
          return;
        }
        if (d.icmpType >= 0 && d.icmpAllowed) this.icmpError(s, d.inIf, d.icmpType, d.icmpCode, d.icmpExtra);
        this.drop(s, d.reason);
        return;
      case V_ECHO_REPLY:
        this.echoReply(s);
        return;
      case V_ARP_REPLY:
        this.arpReply(s, d);
        return;
      case V_ARP_CONSUMED:
        this.arena.release(s); // a reply to us, or a gratuitous announcement: consumed, not a drop
        return;
    }
  }

  private commitForward(s: number, d: Decision): void {
    const a = this.arena;
    const b = a.bytes;
    const f = a.start[s];
    const l3 = f + a.l3[s];
    const ct = this.ct;
    let e = d.session;
    // Whether NAT changed addresses or ports (the key words transmitDecided must rewrite).
    let nat = e >= 0;
    // The TTL to write (-1: none): rewritePacket writes it with the addresses when it runs.
    let ttl = d.decTtl ? d.ttl - 1 : -1;
    if (d.newSession) {
      e = this.createSession(s, d);
      if (e < 0) return;
      nat = true;
    } else if (d.icmpQuote >= 0) {
      // Re-read the quote (module scratch) right before translating it.
      const q = d.icmpQuote;
      const l4 = f + a.l4[s];
      if (parseQuoted(b, l4, l3 + ipv4.totalLen(b, l3))) translateIcmpError(b, l3, l4, ct.xSrc[q], ct.xDst[q], ct.xPorts[q]);
      nat = true;
    } else if (d.natMode !== M_NONE) {
      rewritePacket(b, a.view, l3, 0, d.proto, vnet.needsCsum(a, s), d.nSrc | 0, d.nDst | 0, 0, ttl); // later fragment, 1:1 NAT
      ttl = -1;
      nat = true;
    }
    if (e >= 0) {
      // The session's rewrite is the decision's (nSrc/nDst/nPorts were read from entry e).
      // Addresses and ports as int32 bits (rewritePacket says why: a heap number per value else).
      rewritePacket(b, a.view, l3, a.l4[s] === 0 ? 0 : f + a.l4[s], d.proto, vnet.needsCsum(a, s), d.nSrc | 0, d.nDst | 0, d.nPorts | 0, ttl);
      ttl = -1;
      // The time through Conntrack's field, not touch's argument (a heap number per frame).
      ct.now = this.time[0];
      ct.advance(e, d.tcpFlags);
    }
    if (ttl >= 0) ipv4.setTtl(a.view, l3, ttl);
    if (d.nhState === NH_RESOLVED) {
      // Nothing between the decision and here changes the ARP cache (only ARP frames learn).
      // The MAC's low half as int32 bits: as uint32 one of 2^31 or more is a heap number.
      this.transmitDecided(s, d, nat, this.nbr.cache.macHi[d.arpEntry], this.nbr.cache.macLo[d.arpEntry] | 0);
      return;
    }
    this.nbr.output(s, d.out, d.nextHop | 0, d.inIf);
  }

  /**
   * Open the NAT session decided in `d`; returns its forward entry, or -1 (dropped). The decision
   * previewed the quotas and the gateway port (peekAdmit, peekSnatPort) on the same table, so
   * the commit takes that port as it is instead of searching again (`claimSnatPort` advances the
   * search state as the search would have); `create` still checks quotas and tuple uniqueness.
   */
  private createSession(s: number, d: Decision): number {
    const ct = this.ct;
    // The tuple as int32 bits and the time through Conntrack's field (create's comment says why).
    const adm = ct.admit(d.src | 0);
    if (adm < 0) {
      this.drop(s, adm === CREATE_FULL ? D_NAT_FULL : D_NAT_SOURCE);
      return -1;
    }
    if (d.snatPort >= 0) ct.claimSnatPort(d.snatRnd);
    ct.now = this.time[0];
    const rec = ct.create(d.pkey, d.src | 0, d.dst | 0, d.ports | 0, d.nSrc | 0, d.nDst | 0, d.nPorts | 0, replyKey(d.proto, d.pkey), Conntrack.initialState(d.proto, d.tcpFlags));
    if (rec < 0) {
      this.drop(s, rec === CREATE_FULL ? D_NAT_FULL : rec === CREATE_SOURCE_LIMIT ? D_NAT_SOURCE : D_NAT_CONFLICT);
      return -1;
    }
    this.stats.sessionsCreated++;
    if (this.onSessionEvent !== null && this.sessionEventsWanted()) this.onSessionEvent({ event: 'created', session: describeSession(ct, rec, this.clock()) });
    return rec * 2;
  }

  /** Echo reply in place, then routed as a router-originated frame. */
  private echoReply(s: number): void {
    const a = this.arena;
    const b = a.bytes;
    const f = a.start[s];
    const l3 = f + a.l3[s];
    const l4 = f + a.l4[s];
    // Swapping the addresses leaves the header sum unchanged; the type word and TTL change
    // incrementally.
    const src = ipv4.src(b, l3);
    const dst = ipv4.dst(b, l3);
    ipv4.writeAddr(b, l3 + ipv4.SRC, dst);
    ipv4.writeAddr(b, l3 + ipv4.DST, src);
    ipv4.setTtl(a.view, l3, 64);
    const code = icmp.code(b, l4);
    icmp.setType(b, l4, icmp.ECHO_REPLY);
    patch16(b, l4 + icmp.CHECKSUM, (icmp.ECHO_REQUEST << 8) | code, (icmp.ECHO_REPLY << 8) | code);
    vnet.clear(a, s);
    parseSlot(a, s, a.key[s << K.KEY_SHIFT]);
    this.stats.echoReplies++;
    this.forwardOwn(s);
  }

  /** ARP reply in place to the request in `s`. */
  private arpReply(s: number, d: Decision): void {
    const a = this.arena;
    const b = a.bytes;
    const f = a.start[s];
    const l3 = f + a.l3[s];
    const ifc = this.ifaces[d.inIf]!;
    const sha = d.arpShaHi * 0x100000000 + d.arpShaLo;
    arp.setOp(b, l3, arp.OP_REPLY);
    arp.setTha(b, l3, sha);
    arp.setTpa(b, l3, d.arpSpa);
    arp.setSha(b, l3, ifc.mac);
    arp.setSpa(b, l3, d.arpTpa);
    eth.setDstMac(b, f, sha);
    eth.setSrcMac(b, f, ifc.mac);
    vnet.clear(a, s);
    parseSlot(a, s, a.key[s << K.KEY_SHIFT]);
    this.stats.arpRepliesSent++;
    this.onEmit(s, ifc.index);
  }

  /**
   * Send an ICMP error about the frame in `s` (which the caller then drops). The RFC 1812 checks
   * were the decision's; the rate limit applies here. The error is routed like any
   * router-originated packet, so errors about NAT'd frames are translated back through their
   * session.
   */
  private icmpError(s: number, inIf: number, type: number, code: number, extra: number): void {
    if (!this.icmpBucket.take(this.time[0])) {
      this.stats.icmpRateLimited++;
      return;
    }
    const ifc = this.ifaces[inIf];
    if (ifc === null || ifc === undefined) return;
    const a = this.arena;
    const e = buildIcmpError(a, s, a.l3[s], type, code, extra, ifc.addr);
    if (e < 0) {
      this.stats.noBuffer++;
      return;
    }
    parseSlot(a, e, ROUTER_IN_PORT);
    this.stats.icmpErrorsSent++;
    this.forwardOwn(e);
  }

  // ==== NeighbourHost ==========================================================================

  /** @internal */
  ifaceAt(index: number): Iface | null {
    return this.ifaces[index] ?? null;
  }

  /** @internal */
  drop(s: number, reason: number): void {
    this.drops.add(reason);
    this.arena.release(s);
  }

  /** @internal ARP for a waiting frame failed: host unreachable to its sender. */
  hostUnreachable(s: number, inIf: number): void {
    if (inIf < 0) return;
    const a = this.arena;
    const f = a.start[s];
    if (!errorAllowed(a.bytes, f + a.l3[s], a.l4[s] === 0 ? 0 : f + a.l4[s])) return;
    this.icmpError(s, inIf, icmp.DEST_UNREACH, icmp.UNREACH_HOST, 0);
  }

  /** @internal */
  emit(s: number, out: number): void {
    this.onEmit(s, out);
  }

  /** The routed frame's Ethernet rewrite (next hop's MAC, out interface's MAC) and those key words; returns the slot's key base. */
  private rewriteMacs(s: number, out: number, hi: number, lo: number): number {
    const a = this.arena;
    const ifo = this.ifaces[out]!;
    eth.setMacsHiLo(a.view, a.start[s], hi, lo, ifo.macHi, ifo.macLo);
    const key = a.key;
    const k = s << K.KEY_SHIFT;
    key[k + K.K_DL_DST_HI] = hi;
    key[k + K.K_DL_DST_LO] = lo;
    key[k + K.K_DL_SRC_HI] = ifo.macHi;
    key[k + K.K_DL_SRC_LO] = ifo.macLo;
    return k;
  }

  /**
   * `transmit` for a frame committed just now, whose changes the decision knows: the key words
   * are written from the record instead of read back from the bytes, and only those that
   * changed — addresses and ports only when NAT rewrote them (`nat`). A routed frame's
   * refresh is then its MACs and TTL: ~7 ns per packet less on bench/l3-bench.ts (routed 64 B,
   * CPU time). test/unit/l3-key-refresh.test.ts holds every path to a fresh parse of the bytes.
   */
  private transmitDecided(s: number, d: Decision, nat: boolean, hi: number, lo: number): void {
    const a = this.arena;
    const key = a.key;
    const k = this.rewriteMacs(s, d.out, hi, lo);
    if (d.decTtl) key[k + K.K_NW_TTL] = d.ttl - 1;
    if (nat) {
      key[k + K.K_NW_SRC] = d.nSrc;
      key[k + K.K_NW_DST] = d.nDst;
      // TCP/UDP ports (a.l4 is set only for TCP, UDP and ICMP); ICMP keeps type and code.
      if (a.l4[s] !== 0 && d.proto !== ipv4.PROTO_ICMP) {
        key[k + K.K_TP_SRC] = d.nPorts >>> 16;
        key[k + K.K_TP_DST] = d.nPorts & 0xffff;
      }
    }
    this.stats.forwarded++;
    this.onEmit(s, d.out);
  }

  /** @internal Ethernet rewrite, key refresh, out. */
  transmit(s: number, out: number, hi: number, lo: number): void {
    const a = this.arena;
    const b = a.bytes;
    const f = a.start[s];
    // Key refresh without a full re-parse: the router changed only MACs, addresses, TTL and
    // ports (offsets, EtherType, protocol and flags are as parsed). Same words parseSlot would
    // write; measured ~10 ns/packet less than parseSlot on bench/l3-bench.ts (routed, 64 B).
    // Pipeline scratch words (metadata, regs) are left as they came in.
    const key = a.key;
    const k = this.rewriteMacs(s, out, hi, lo);
    const l3 = f + a.l3[s];
    key[k + K.K_NW_SRC] = ipv4.src(b, l3);
    key[k + K.K_NW_DST] = ipv4.dst(b, l3);
    key[k + K.K_NW_TTL] = ipv4.ttl(b, l3);
    const l4o = a.l4[s];
    if (l4o !== 0 && ipv4.protocol(b, l3) !== ipv4.PROTO_ICMP) {
      const l4 = f + l4o;
      key[k + K.K_TP_SRC] = get16(b, l4 + tcp.SRC_PORT); // same offsets in UDP
      key[k + K.K_TP_DST] = get16(b, l4 + tcp.DST_PORT);
    }
    this.stats.forwarded++;
    this.onEmit(s, out);
  }

  // ==== trace and views ========================================================================

  /**
   * What the router would do with `frame` arriving on interface `iface` (name or index), without
   * doing it: the decision forwarding would apply, as data and as `tvs trace` lines. Nothing is
   * created, sent or counted (the frame is decided in a scratch arena slot, released after).
   * A VLAN tag is removed first, as the router port does.
   */
  trace(frame: Uint8Array, iface: string | number): RouterTrace {
    this.refresh();
    const inIf = typeof iface === 'number' ? iface : this.ifaceIndex(iface);
    const name = typeof iface === 'number' ? this.ifaces[iface]?.name ?? String(iface) : iface;
    const a = this.arena;
    const s = a.allocFrom(frame);
    if (s < 0) throw new Error('router trace: no free packet slot (or frame too large)');
    try {
      if (parseSlot(a, s, ROUTER_IN_PORT) >= 0) throw new Error('router trace: the frame fails the parse checks (it would be dropped before the router)');
      while (a.key[(s << K.KEY_SHIFT) + K.K_VLAN_TCI] !== 0) popTag(a, s);
      const d = this.dTrace;
      d.clear(inIf);
      this.time[0] = this.clock(); // trace decides at the time it is asked, as forwarding would now
      decideInput(this, a, s, inIf, d);
      return { decision: decisionView(this, d), lines: renderDecision(this, name, d) };
    } finally {
      a.release(s);
    }
  }

  /** Route lookup for tests and the CLI: { kind, iface, via } or null. */
  lookupRoute(dst: string): { kind: string; iface: string | null; via: string | null } | null {
    this.refresh();
    const r = this.routes.lookup(ipv4.parseAddr(dst));
    if (r < 0) return null;
    const { kind, iface, via } = this.routes.describe(r, (i) => this.ifaces[i]?.name ?? null);
    return { kind, iface, via };
  }

  private iface(which: string | number): Iface {
    const ifc = typeof which === 'number' ? this.ifaces[which] : this.ifaces.find((i) => i !== null && i.name === which);
    if (ifc === null || ifc === undefined) throw new Error(`router ${this.name}: no interface '${which}'`);
    return ifc;
  }

  /** Interface index by name, or -1. */
  ifaceIndex(name: string): number {
    return this.ifaces.findIndex((x) => x !== null && x.name === name);
  }

  show(): RouterShow {
    this.refresh();
    return showRouter(this, this.clock());
  }

  /** NAT sessions as objects (for `tvs nat-show`). */
  sessions(): NatSession[] {
    const now = this.clock();
    return this.ct.liveRecords().map((rec) => describeSession(this.ct, rec, now));
  }

  /** Live session ids now (a snapshot for nat-show, which describes them a chunk at a time). */
  sessionIds(): number[] {
    return this.ct.liveRecords();
  }

  /** One session by id, or undefined once it has ended. */
  session(id: number): NatSession | undefined {
    return this.ct.isLive(id) ? describeSession(this.ct, id, this.clock()) : undefined;
  }
}


