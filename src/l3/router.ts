/**
 * The router stage (a Neutron router inside the switch): ARP, IPv4 forwarding with
 * longest-prefix match, RFC 1812 ICMP errors, and NAT with connection tracking (SNAT of tenant
 * subnets to the gateway address, 1:1 floating IPs, hairpin).
 *
 *   input(batch, iface) ─┬─ ARP ──────────── answer / learn / release queued frames
 *                        └─ IPv4 ─ forward():
 *        1. NAT lookup      session entry (either direction) or a translatable ICMP error
 *        2. route           LPM on the (translated) destination: forward / local / floating IP
 *        3. NAT decision    new session? SNAT to gateway, SNAT/DNAT floating IP, hairpin
 *        4. checks          TTL, MTU (DF → frag-needed) — on the UNTRANSLATED frame, so an
 *                           error quotes what the sender sent
 *        5. rewrite         NAT (checksums incremental), TTL-1
 *        6. output          ARP cache → Ethernet rewrite → re-parse → onEmit(slot, iface)
 *                           or queue on the pending ARP resolution of the next hop
 *
 * Ownership: every slot handed to `input` is either emitted once through `onEmit` or released
 * to the arena and counted in `drops` by reason. The forwarding path allocates nothing; ARP
 * misses, ICMP errors and new sessions allocate a little (an arena slot, a pending record).
 *
 * Frames arrive untagged and parsed (l3/l4 offsets valid, Ethernet header 14 bytes); the router
 * never moves a frame's start.
 *
 * Time: `clock()` is read once per batch (and by `tick`); every timer (ARP retries and aging,
 * NAT session expiry, ICMP rate limit) runs from it, so tests drive time by hand.
 */
import { PacketArena } from '../packet/arena';
import { Batch } from '../packet/batch';
import { DropCounters } from '../packet/drops';
import * as K from '../packet/flow-key';
import { parseSlot } from '../packet/parse';
import * as vnet from '../packet/vnet';
import * as eth from '../wire/ethernet';
import * as arp from '../wire/arp';
import * as ipv4 from '../wire/ipv4';
import * as icmp from '../wire/icmp';
import { sum16, patch16 } from '../wire/checksum';
import { Lpm } from './lpm';
import { U32Map } from './u32-map';
import { ArpCache } from './arp-cache';
import {
  Conntrack, NatTimeouts, STATE_NAMES, CREATE_FULL, CREATE_SOURCE_LIMIT, REMOVE_EXPIRED,
} from './conntrack';
import { rewritePacket, parseQuoted, quoted, translateIcmpError } from './nat';
import { buildIcmpError, errorAllowed, TokenBucket } from './icmp-error';

export const ROUTER_DROP_REASONS = [
  'no_iface', // input on an interface index the router does not have
  'not_ipv4', // neither ARP nor IPv4
  'not_for_router', // unicast Ethernet destination that is not the interface's MAC
  'not_unicast', // L2 or L3 broadcast/multicast (a router does not forward those)
  'ipv4_bad_checksum',
  'no_route', // no route to the destination (ICMP net unreachable sent)
  'ttl_exceeded', // TTL <= 1 on forwarding (ICMP time exceeded sent)
  'frag_needed', // DF set and larger than the egress MTU (ICMP frag-needed sent)
  'oversize_nodf', // larger than the egress MTU without DF: not fragmented here
  'local_unsupported', // to a router address, but not an echo request
  'local_loop', // a router-originated packet routed back to the router itself
  'arp_ignored', // ARP not for one of our addresses
  'arp_queue_full', // too many frames waiting for one next hop, or too many next hops pending
  'arp_failed', // next hop did not answer ARP (ICMP host unreachable sent)
  'nat_unsolicited', // inbound on the gateway to the gateway address or an unmapped address
  'nat_table_full', // maxSessions reached
  'nat_source_limit', // the source address holds maxSessionsPerSource sessions already
  'nat_port_exhausted', // no free port/id left for SNAT to the gateway address
  'nat_conflict', // the new session's tuple is already in use by another session
  'nat_fragment', // a non-first fragment that would need port translation (no reassembly)
  'nat_unsupported_proto', // needs NAT but is not TCP, UDP or ICMP echo request
  'no_buffer', // arena exhausted while building a frame
] as const;
export type RouterDropReason = (typeof ROUTER_DROP_REASONS)[number];

export class RouterDrops extends DropCounters<RouterDropReason> {
  constructor() {
    super(ROUTER_DROP_REASONS);
  }
}

const dd = new RouterDrops();
const D_NO_IFACE = dd.id('no_iface');
const D_NOT_IPV4 = dd.id('not_ipv4');
const D_NOT_FOR_ROUTER = dd.id('not_for_router');
const D_NOT_UNICAST = dd.id('not_unicast');
const D_BAD_CSUM = dd.id('ipv4_bad_checksum');
const D_NO_ROUTE = dd.id('no_route');
const D_TTL = dd.id('ttl_exceeded');
const D_FRAG_NEEDED = dd.id('frag_needed');
const D_OVERSIZE = dd.id('oversize_nodf');
const D_LOCAL_UNSUPPORTED = dd.id('local_unsupported');
const D_LOCAL_LOOP = dd.id('local_loop');
const D_ARP_IGNORED = dd.id('arp_ignored');
const D_ARP_QUEUE_FULL = dd.id('arp_queue_full');
const D_ARP_FAILED = dd.id('arp_failed');
const D_NAT_UNSOLICITED = dd.id('nat_unsolicited');
const D_NAT_FULL = dd.id('nat_table_full');
const D_NAT_SOURCE = dd.id('nat_source_limit');
const D_NAT_PORTS = dd.id('nat_port_exhausted');
const D_NAT_CONFLICT = dd.id('nat_conflict');
const D_NAT_FRAGMENT = dd.id('nat_fragment');
const D_NAT_PROTO = dd.id('nat_unsupported_proto');

/** Route kinds in the compiled table. */
const RT_FWD = 1; // forward out rtIface (to rtVia, or on-link when 0)
const RT_LOCAL = 2; // one of the router's interface addresses
const RT_FIP = 3; // a floating IP: DNAT to rtData
const RT_BCAST = 4; // subnet / limited broadcast, multicast: never forwarded
const RT_KIND_NAMES = ['', 'forward', 'local', 'floating', 'broadcast'];

/** NAT decision for a packet without a session. */
const M_NONE = 0;
const M_SNAT_GW = 1; // tenant → outside, source to the gateway address with a port from a pool
const M_SNAT_FIP = 2; // fixed → outside, source to its floating IP (ports kept)
const M_DNAT = 3; // to a floating IP: destination to the fixed IP (ns may change too: hairpin)

/** K_IN_PORT of frames the router builds itself (ARP requests, ICMP errors). */
export const ROUTER_IN_PORT = 0;

export interface RouterOptions {
  /** Milliseconds; every timer runs from this (tests inject a fake). */
  clock: () => number;
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
  /** Frames held per unresolved next hop. Default 16. */
  arpQueueLen?: number;
  /** Next hops being resolved at once. Default 256. */
  arpMaxPending?: number;
  arpCacheSize?: number;
  /** ICMP error token bucket (all errors of this router). Default 1000/s, burst 50. */
  icmpRatePerSec?: number;
  icmpBurst?: number;
}

export interface InterfaceConfig {
  name: string;
  mac: string;
  /** Interface address and prefix, 'a.b.c.d/len'. */
  cidr: string;
  /** IP MTU. Default 1500. */
  mtu?: number;
  /** The external (gateway) interface: SNAT and floating IPs live here. At most one. */
  gateway?: boolean;
}

class Iface {
  readonly net: number;
  readonly mask: number;
  readonly bcast: number;
  readonly macHi: number;
  readonly macLo: number;
  constructor(
    readonly index: number, readonly name: string, readonly mac: number, readonly addr: number,
    readonly len: number, readonly mtu: number, readonly gateway: boolean,
  ) {
    this.mask = ipv4.prefixMask(len);
    this.net = (addr & this.mask) >>> 0;
    this.bcast = (this.net | ~this.mask) >>> 0;
    this.macHi = Math.floor(mac / 0x100000000);
    this.macLo = mac >>> 0;
  }
}

interface Pending {
  ip: number;
  iface: number;
  slots: number[];
  inIfs: number[];
  probes: number;
  next: number;
}

export interface NatTuple {
  src: string;
  dst: string;
  sport: number;
  dport: number;
}
export interface NatSession {
  id: number;
  proto: string;
  state: string;
  kind: string; // 'snat' | 'dnat' | 'snat+dnat'
  orig: NatTuple; // as the originator sent it
  reply: NatTuple; // as the reply arrives at the router (before reverse translation)
  packets: { orig: number; reply: number };
  ageMs: number;
  expiresInMs: number;
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

export class Router {
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

  private readonly clock: () => number;
  private now: number;
  private readonly ifaces: (Iface | null)[] = [];
  private gw = -1;
  private snat = true;
  private readonly userRoutes: { addr: number; len: number; via: number }[] = [];
  private readonly fipToFixed = new U32Map(16);
  private readonly fixedToFip = new U32Map(16);

  // Compiled routing table (rebuilt lazily when `dirty`; control plane).
  private readonly lpm = new Lpm();
  private dirty = true;
  private rtKind = new Uint8Array(0);
  private rtIface = new Int32Array(0);
  private rtVia = new Uint32Array(0);
  private rtData = new Uint32Array(0);
  private rtPrefix: { addr: number; len: number }[] = [];

  readonly arp: ArpCache;
  private readonly pending = new Map<number, Pending>();
  readonly ct: Conntrack;
  private readonly icmpBucket: TokenBucket;

  private readonly arpTimeout: number;
  private readonly arpProbes: number;
  private readonly arpRetryMs: number;
  private readonly arpQueueLen: number;
  private readonly arpMaxPending: number;

  constructor(name: string, arena: PacketArena, opts: RouterOptions) {
    if (typeof opts?.clock !== 'function') throw new TypeError('router: opts.clock must be a function returning milliseconds');
    this.name = name;
    this.arena = arena;
    this.clock = opts.clock;
    this.now = opts.clock();
    this.onEmit = (slot) => arena.release(slot);
    this.arp = new ArpCache(opts.arpCacheSize ?? 4096);
    this.ct = new Conntrack({ maxSessions: opts.maxSessions, maxPerSource: opts.maxSessionsPerSource, portMin: opts.natPortMin, portMax: opts.natPortMax, timeouts: opts.natTimeouts });
    this.ct.onRemove = (rec, reason) => {
      if (this.onSessionEvent !== null) this.onSessionEvent({ event: reason === REMOVE_EXPIRED ? 'expired' : 'flushed', session: this.describe(rec) });
    };
    this.icmpBucket = new TokenBucket(opts.icmpRatePerSec ?? 1000, opts.icmpBurst ?? 50, this.now);
    this.arpTimeout = opts.arpTimeoutMs ?? 60_000;
    this.arpProbes = opts.arpProbes ?? 3;
    this.arpRetryMs = opts.arpRetryMs ?? 1000;
    this.arpQueueLen = opts.arpQueueLen ?? 16;
    this.arpMaxPending = opts.arpMaxPending ?? 256;
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
    if (ifc.gateway) this.gw = idx;
    this.dirty = true;
    return idx;
  }

  /** Remove an interface (by name or index): its routes, ARP entries and queued frames go. */
  delInterface(which: string | number): void {
    const ifc = this.iface(which);
    const pend = [...this.pending.values()].filter((p) => p.iface === ifc.index);
    for (const p of pend) {
      this.pending.delete(p.ip);
      for (const s of p.slots) this.drop(s, D_ARP_FAILED);
    }
    this.arp.flushIface(ifc.index);
    if (ifc.index === this.gw) {
      this.gw = -1;
      this.ct.flushAll(); // every NAT session used the gateway
    }
    this.ifaces[ifc.index] = null;
    this.dirty = true;
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
    this.sendGratuitousArp(f);
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

  // ==== datapath ==============================================================================

  /**
   * Frames that arrived at router interface `iface`. Takes ownership of every slot (each is
   * emitted once or dropped) and leaves the batch empty.
   */
  input(batch: Batch, iface: number): void {
    if (this.dirty) this.rebuild();
    this.now = this.clock();
    const slots = batch.slots;
    const n = batch.count;
    for (let i = 0; i < n; i++) this.receive(slots[i], iface);
    batch.count = 0;
  }

  /**
   * Timers: ARP retries / failures, ARP aging, NAT session expiry. Call periodically (e.g. every
   * 100 ms-1 s); nothing here is needed for correctness of lookups, which check expiry inline.
   */
  tick(): void {
    if (this.dirty) this.rebuild();
    const now = (this.now = this.clock());
    for (const p of [...this.pending.values()]) {
      if (now < p.next) continue;
      if (p.probes < this.arpProbes) {
        this.sendArpRequest(p.iface, p.ip);
        p.probes++;
        p.next = now + this.arpRetryMs;
        continue;
      }
      this.pending.delete(p.ip);
      for (let i = 0; i < p.slots.length; i++) {
        const s = p.slots[i];
        this.icmpError(s, p.inIfs[i], icmp.DEST_UNREACH, icmp.UNREACH_HOST, 0);
        this.drop(s, D_ARP_FAILED);
      }
    }
    this.arp.sweep(now);
    this.ct.expire(now);
  }

  /** NAT session expiry at `now` (the clock's time by default); returns how many went. */
  expire(now: number = this.clock()): number {
    this.now = now;
    return this.ct.expire(now);
  }

  private drop(s: number, reason: number): void {
    this.drops.add(reason);
    this.arena.release(s);
  }

  private receive(s: number, iface: number): void {
    const ifc = iface >= 0 && iface < this.ifaces.length ? this.ifaces[iface] : null;
    if (ifc === null) {
      this.drop(s, D_NO_IFACE);
      return;
    }
    const a = this.arena;
    const key = a.key;
    const k = s << K.KEY_SHIFT;
    const type = key[k + K.K_DL_TYPE];
    if (type === eth.ETH_P_ARP && a.l3[s] !== 0) {
      this.arpInput(s, ifc);
      return;
    }
    if (type !== eth.ETH_P_IPV4 || a.l3[s] === 0) {
      this.drop(s, D_NOT_IPV4);
      return;
    }
    const dhi = key[k + K.K_DL_DST_HI];
    if (dhi !== ifc.macHi || key[k + K.K_DL_DST_LO] !== ifc.macLo) {
      this.drop(s, (dhi & 0x100) !== 0 ? D_NOT_UNICAST : D_NOT_FOR_ROUTER);
      return;
    }
    const b = a.bytes;
    const l3 = a.start[s] + a.l3[s];
    // RFC 1812 §5.2.2: a router verifies the header checksum of what it forwards.
    if (sum16(b, l3, (b[l3] & 0x0f) << 2) !== 0xffff) {
      this.drop(s, D_BAD_CSUM);
      return;
    }
    this.forward(s, iface);
  }

  /**
   * Route one IPv4 frame. `inIf` is the arrival interface, or -1 for a frame the router built
   * itself (echo reply, ICMP error): those skip TTL handling, never create NAT sessions and
   * never cause ICMP errors of their own.
   */
  private forward(s: number, inIf: number): void {
    const a = this.arena;
    const b = a.bytes;
    const key = a.key;
    const f = a.start[s];
    const l3 = f + a.l3[s];
    const l4o = a.l4[s];
    const l4 = l4o === 0 ? 0 : f + l4o;
    const k = s << K.KEY_SHIFT;
    const src = key[k + K.K_NW_SRC];
    let dst = key[k + K.K_NW_DST];
    const proto = b[l3 + ipv4.PROTOCOL];
    const laterFrag = (key[k + K.K_NW_FRAG] & K.NW_FRAG_LATER) !== 0;

    // ---- 1. the NAT tuple and session lookup
    let pkey = proto;
    let ports = 0;
    let tcpFlags = 0;
    let canCreate = false; // TCP, UDP, ICMP echo request: may open a session
    let icmpErr = false;
    if (l4 !== 0) {
      if (proto === 6) {
        ports = ((((b[l4] << 8) | b[l4 + 1]) << 16) | ((b[l4 + 2] << 8) | b[l4 + 3])) >>> 0;
        tcpFlags = b[l4 + 13];
        canCreate = true;
      } else if (proto === 17) {
        ports = ((((b[l4] << 8) | b[l4 + 1]) << 16) | ((b[l4 + 2] << 8) | b[l4 + 3])) >>> 0;
        canCreate = true;
      } else if (proto === 1) {
        const t = b[l4];
        if (t === icmp.ECHO_REQUEST || t === icmp.ECHO_REPLY) {
          const id = (b[l4 + 4] << 8) | b[l4 + 5];
          ports = ((id << 16) | id) >>> 0;
          pkey = 1 | (t << 8);
          canCreate = t === icmp.ECHO_REQUEST;
        } else {
          icmpErr = icmp.isError(t);
          pkey = 1 | (t << 8);
        }
      }
    }
    const ct = this.ct;
    let e = -1;
    let translated = false;
    if (ct.count !== 0) {
      if (icmpErr) {
        translated = this.natIcmpError(b, l3, l4);
        if (translated) dst = ipv4.dst(b, l3);
      } else if (!laterFrag) {
        e = ct.lookup(pkey, src, dst, ports);
        if (e >= 0) {
          if (ct.expires[e >> 1] <= this.now) {
            ct.remove(e >> 1, REMOVE_EXPIRED);
            e = -1;
          } else {
            dst = ct.xDst[e];
          }
        }
      }
    }

    // ---- 2./3. route and NAT decision
    let r = this.lpm.lookup(dst);
    let mode = M_NONE;
    let ns = src;
    if (e < 0 && !translated) {
      if (r < 0) {
        this.icmpError(s, inIf, icmp.DEST_UNREACH, icmp.UNREACH_NET, 0);
        this.drop(s, D_NO_ROUTE);
        return;
      }
      const kind = this.rtKind[r];
      if (kind === RT_LOCAL) {
        this.local(s, inIf, l3, l4);
        return;
      }
      if (kind === RT_BCAST) {
        this.drop(s, D_NOT_UNICAST);
        return;
      }
      if (kind === RT_FIP) {
        if (inIf < 0) {
          this.drop(s, D_LOCAL_LOOP);
          return;
        }
        dst = this.rtData[r];
        r = this.lpm.lookup(dst);
        if (r < 0 || this.rtKind[r] !== RT_FWD) {
          this.drop(s, D_NO_ROUTE);
          return;
        }
        mode = M_DNAT;
        if (inIf !== this.gw) {
          // Hairpin (Neutron: SNAT of DNAT'd traffic not from the external network): the
          // fixed IP must answer through the router, so the source becomes the sender's own
          // floating IP, or the gateway address with a pool port.
          const fip = this.fixedToFip.get(src);
          ns = fip !== -1 ? fip : this.gw >= 0 ? this.ifaces[this.gw]!.addr : src;
        }
      } else if (inIf >= 0 && this.gw >= 0) {
        const out = this.rtIface[r];
        if (out === this.gw) {
          if (inIf !== this.gw) {
            const fip = this.fixedToFip.get(src);
            if (fip !== -1) {
              mode = M_SNAT_FIP;
              ns = fip;
            } else if (this.snat) {
              mode = M_SNAT_GW;
              ns = this.ifaces[this.gw]!.addr;
            }
          } else if (this.rtVia[r] === 0) {
            // In on the external network and straight back out to a neighbour on it: an
            // address nobody mapped (e.g. a floating IP just removed). A gateway does not
            // bounce such traffic (Linux would, with a redirect).
            this.drop(s, D_NAT_UNSOLICITED);
            return;
          }
        } else if (inIf === this.gw && this.snat) {
          // With SNAT on, tenant subnets are not reachable from outside except through a
          // floating IP or a session (Neutron routes them only with enable_snat=false).
          this.drop(s, D_NAT_UNSOLICITED);
          return;
        }
      }
    } else if (r < 0 || this.rtKind[r] !== RT_FWD) {
      if (r < 0) this.icmpError(s, inIf, icmp.DEST_UNREACH, icmp.UNREACH_NET, 0);
      this.drop(s, r < 0 ? D_NO_ROUTE : D_LOCAL_LOOP);
      return;
    }
    const out = this.rtIface[r];
    const ifo = this.ifaces[out]!;

    // ---- 4. checks, on the frame as the sender sent it
    if (inIf >= 0 && b[l3 + ipv4.TTL] <= 1) {
      this.icmpError(s, inIf, icmp.TIME_EXCEEDED, 0, 0);
      this.drop(s, D_TTL);
      return;
    }
    const base = s * a.slotSize;
    let ipLen = (b[l3 + 2] << 8) | b[l3 + 3];
    if (b[base + 1] !== 0) {
      // GSO super-frame: what goes on the wire are segments of hdr_len + gso_size bytes.
      ipLen = (b[base + 2] | (b[base + 3] << 8)) - (l3 - f) + (b[base + 4] | (b[base + 5] << 8));
    }
    if (ipLen > ifo.mtu) {
      if ((b[l3 + ipv4.FLAGS_FRAG] & 0x40) !== 0) {
        this.icmpError(s, inIf, icmp.DEST_UNREACH, icmp.UNREACH_FRAG_NEEDED, ifo.mtu);
        this.drop(s, D_FRAG_NEEDED);
      } else {
        this.drop(s, D_OVERSIZE);
      }
      return;
    }

    // ---- 5. NAT rewrite and TTL
    const partial = (b[base] & vnet.F_NEEDS_CSUM) !== 0;
    if (mode !== M_NONE) {
      const needsPool = mode === M_SNAT_GW || (mode === M_DNAT && ns !== src && this.fixedToFip.get(src) === -1);
      if (laterFrag) {
        // No reassembly: a later fragment carries no ports. 1:1 floating-IP translation is
        // stateless and still works; port translation cannot.
        if (needsPool) {
          this.drop(s, D_NAT_FRAGMENT);
          return;
        }
        rewritePacket(b, l3, 0, proto, partial, ns, dst, 0);
      } else {
        e = this.createSession(s, needsPool, canCreate, proto, pkey, src, key[k + K.K_NW_DST], ports, ns, dst, tcpFlags);
        if (e < 0) return;
      }
    }
    if (e >= 0) {
      rewritePacket(b, l3, l4, proto, partial, ct.xSrc[e], ct.xDst[e], ct.xPorts[e]);
      ct.touch(e, tcpFlags, this.now);
    }
    if (inIf >= 0) ipv4.setTtl(b, l3, b[l3 + ipv4.TTL] - 1);

    // ---- 6. next hop
    const via = this.rtVia[r];
    this.output(s, out, via !== 0 ? via : dst, inIf);
  }

  /** Open a NAT session for the frame in `s`; returns its forward entry, or -1 (dropped). */
  private createSession(
    s: number, needsPool: boolean, canCreate: boolean, proto: number, pkey: number,
    src: number, dst: number, ports: number, ns: number, nd: number, tcpFlags: number,
  ): number {
    const ct = this.ct;
    if (!canCreate && (needsPool || proto === 1)) {
      // Port translation needs ports/ids; ICMP other than echo request never opens a session
      // (errors are translated through the session they quote).
      this.drop(s, D_NAT_PROTO);
      return -1;
    }
    // Quotas first: a refused session costs no port search.
    const adm = ct.admit(src);
    if (adm < 0) {
      this.drop(s, adm === CREATE_FULL ? D_NAT_FULL : D_NAT_SOURCE);
      return -1;
    }
    // The reply to an echo request is an echo reply (type 0): type is part of the key.
    const rkey = proto === 1 ? pkey ^ (8 << 8) : pkey;
    let nports = ports;
    if (needsPool) {
      const port = ct.snatPort(rkey, nd, ns, ports & 0xffff, ports >>> 16, proto === 1);
      if (port < 0) {
        this.drop(s, D_NAT_PORTS);
        return -1;
      }
      nports = proto === 1 ? ((port << 16) | port) >>> 0 : ((port << 16) | (ports & 0xffff)) >>> 0;
    }
    const rec = ct.create(pkey, src, dst, ports, ns, nd, nports, rkey, Conntrack.initialState(proto, tcpFlags), this.now);
    if (rec < 0) {
      this.drop(s, rec === CREATE_FULL ? D_NAT_FULL : rec === CREATE_SOURCE_LIMIT ? D_NAT_SOURCE : D_NAT_CONFLICT);
      return -1;
    }
    this.stats.sessionsCreated++;
    if (this.onSessionEvent !== null) this.onSessionEvent({ event: 'created', session: this.describe(rec) });
    return rec * 2;
  }

  /**
   * An ICMP error whose quoted datagram belongs to a session: translate the quote and the
   * outer header back (nat.ts). False when it matches nothing (then it is routed as it is).
   */
  private natIcmpError(b: Uint8Array, l3: number, l4: number): boolean {
    if (!parseQuoted(b, l4, l3 + ipv4.totalLen(b, l3))) return false;
    const ct = this.ct;
    const e = ct.lookup(quoted.protoKey, quoted.dst, quoted.src, quoted.ports);
    if (e < 0 || ct.expires[e >> 1] <= this.now) return false;
    translateIcmpError(b, l3, l4, ct.xSrc[e], ct.xDst[e], ct.xPorts[e]);
    return true;
  }

  /** A datagram for one of the router's own addresses: answer pings, drop the rest. */
  private local(s: number, inIf: number, l3: number, l4: number): void {
    const a = this.arena;
    const b = a.bytes;
    if (inIf < 0) {
      this.drop(s, D_LOCAL_LOOP);
      return;
    }
    if (l4 !== 0 && b[l3 + ipv4.PROTOCOL] === ipv4.PROTO_ICMP && b[l4] === icmp.ECHO_REQUEST && !ipv4.isFragment(b, l3)) {
      // Echo reply in place: swapping the addresses leaves the header sum unchanged; the
      // type word and TTL change incrementally.
      const src = ipv4.src(b, l3);
      const dst = ipv4.dst(b, l3);
      ipv4.writeAddr(b, l3 + ipv4.SRC, dst);
      ipv4.writeAddr(b, l3 + ipv4.DST, src);
      ipv4.setTtl(b, l3, 64);
      b[l4] = icmp.ECHO_REPLY;
      patch16(b, l4 + icmp.CHECKSUM, (icmp.ECHO_REQUEST << 8) | b[l4 + 1], (icmp.ECHO_REPLY << 8) | b[l4 + 1]);
      vnet.clear(a, s);
      parseSlot(a, s, a.key[s << K.KEY_SHIFT]);
      this.stats.echoReplies++;
      this.forward(s, -1);
      return;
    }
    this.drop(s, inIf === this.gw ? D_NAT_UNSOLICITED : D_LOCAL_UNSUPPORTED);
  }

  /**
   * Send an ICMP error about the frame in `s` (which the caller then drops). RFC 1812 checks and
   * the rate limit apply; the error is routed like any router-originated packet, so errors
   * about NAT'd frames are translated back through their session.
   */
  private icmpError(s: number, inIf: number, type: number, code: number, extra: number): void {
    if (inIf < 0) return;
    const a = this.arena;
    const b = a.bytes;
    const f = a.start[s];
    const l3 = f + a.l3[s];
    const l4 = a.l4[s] === 0 ? 0 : f + a.l4[s];
    if (!errorAllowed(b, l3, l4)) return;
    if (!this.icmpBucket.take(this.now)) {
      this.stats.icmpRateLimited++;
      return;
    }
    const ifc = this.ifaces[inIf];
    if (ifc === null || ifc === undefined) return;
    const e = buildIcmpError(a, s, a.l3[s], type, code, extra, ifc.addr);
    if (e < 0) {
      this.stats.noBuffer++;
      return;
    }
    parseSlot(a, e, ROUTER_IN_PORT);
    this.stats.icmpErrorsSent++;
    this.forward(e, -1);
  }

  // ==== neighbours ============================================================================

  private output(s: number, out: number, nh: number, inIf: number): void {
    const arpc = this.arp;
    const ai = arpc.lookup(nh);
    if (ai >= 0 && arpc.expires[ai] > this.now && arpc.iface[ai] === out) {
      this.transmit(s, out, arpc.macHi[ai], arpc.macLo[ai]);
      return;
    }
    let p = this.pending.get(nh);
    if (p === undefined) {
      if (this.pending.size >= this.arpMaxPending) {
        this.drop(s, D_ARP_QUEUE_FULL);
        return;
      }
      p = { ip: nh, iface: out, slots: [], inIfs: [], probes: 1, next: this.now + this.arpRetryMs };
      this.pending.set(nh, p);
      this.sendArpRequest(out, nh);
    }
    if (p.slots.length >= this.arpQueueLen) {
      this.drop(s, D_ARP_QUEUE_FULL);
      return;
    }
    p.slots.push(s);
    p.inIfs.push(inIf);
  }

  /** Ethernet rewrite, key refresh, out. */
  private transmit(s: number, out: number, hi: number, lo: number): void {
    const a = this.arena;
    const b = a.bytes;
    const f = a.start[s];
    const ifo = this.ifaces[out]!;
    b[f] = hi >>> 8;
    b[f + 1] = hi & 0xff;
    b[f + 2] = lo >>> 24;
    b[f + 3] = (lo >>> 16) & 0xff;
    b[f + 4] = (lo >>> 8) & 0xff;
    b[f + 5] = lo & 0xff;
    const shi = ifo.macHi;
    const slo = ifo.macLo;
    b[f + 6] = shi >>> 8;
    b[f + 7] = shi & 0xff;
    b[f + 8] = slo >>> 24;
    b[f + 9] = (slo >>> 16) & 0xff;
    b[f + 10] = (slo >>> 8) & 0xff;
    b[f + 11] = slo & 0xff;
    // Key refresh without a full re-parse: the router changed only MACs, addresses, TTL and
    // ports (offsets, EtherType, protocol and flags are as parsed). Same words parseSlot would
    // write; measured ~10 ns/packet less than parseSlot on bench/l3-bench.ts (routed, 64 B).
    // Pipeline scratch words (metadata, regs) are left as they came in.
    const key = a.key;
    const k = s << K.KEY_SHIFT;
    key[k + K.K_DL_DST_HI] = hi;
    key[k + K.K_DL_DST_LO] = lo;
    key[k + K.K_DL_SRC_HI] = shi;
    key[k + K.K_DL_SRC_LO] = slo;
    const l3 = f + a.l3[s];
    key[k + K.K_NW_SRC] = ((b[l3 + 12] << 24) | (b[l3 + 13] << 16) | (b[l3 + 14] << 8) | b[l3 + 15]) >>> 0;
    key[k + K.K_NW_DST] = ((b[l3 + 16] << 24) | (b[l3 + 17] << 16) | (b[l3 + 18] << 8) | b[l3 + 19]) >>> 0;
    key[k + K.K_NW_TTL] = b[l3 + ipv4.TTL];
    const l4o = a.l4[s];
    if (l4o !== 0 && b[l3 + ipv4.PROTOCOL] !== ipv4.PROTO_ICMP) {
      const l4 = f + l4o;
      key[k + K.K_TP_SRC] = (b[l4] << 8) | b[l4 + 1];
      key[k + K.K_TP_DST] = (b[l4 + 2] << 8) | b[l4 + 3];
    }
    this.stats.forwarded++;
    this.onEmit(s, out);
  }

  private arpInput(s: number, ifc: Iface): void {
    const a = this.arena;
    const b = a.bytes;
    const f = a.start[s];
    const l3 = f + a.l3[s];
    const op = arp.op(b, l3);
    const spa = arp.spa(b, l3);
    const tpa = arp.tpa(b, l3);
    const k = s << K.KEY_SHIFT;
    const shaHi = a.key[k + K.K_ARP_SHA_HI];
    const shaLo = a.key[k + K.K_ARP_SHA_LO];
    const forUs = tpa === ifc.addr || (ifc.index === this.gw && this.fipToFixed.has(tpa));
    const onLink = spa !== ifc.addr && spa !== ifc.net && spa !== ifc.bcast && ((spa ^ ifc.addr) & ifc.mask) === 0;
    // RFC 826 merge: update a known sender; add it when the packet is addressed to us.
    if (onLink && (forUs || this.arp.has(spa)) && (shaHi & 0x100) === 0) this.learn(spa, shaHi, shaLo, ifc.index);
    if (op === arp.OP_REQUEST && forUs) {
      arp.setOp(b, l3, arp.OP_REPLY);
      arp.setTha(b, l3, shaHi * 0x100000000 + shaLo);
      arp.setTpa(b, l3, spa);
      arp.setSha(b, l3, ifc.mac);
      arp.setSpa(b, l3, tpa);
      eth.setDstMac(b, f, shaHi * 0x100000000 + shaLo);
      eth.setSrcMac(b, f, ifc.mac);
      vnet.clear(a, s);
      parseSlot(a, s, a.key[k]);
      this.stats.arpRepliesSent++;
      this.onEmit(s, ifc.index);
      return;
    }
    if (forUs || spa === tpa) {
      a.release(s); // a reply to us, or a gratuitous announcement: consumed, not a drop
      return;
    }
    this.drop(s, D_ARP_IGNORED);
  }

  private learn(ip: number, hi: number, lo: number, iface: number): void {
    this.arp.learn(ip, hi, lo, iface, this.now + this.arpTimeout);
    this.stats.arpLearned++;
    const p = this.pending.get(ip);
    if (p === undefined) return;
    this.pending.delete(ip);
    for (let i = 0; i < p.slots.length; i++) {
      if (p.iface === iface) this.transmit(p.slots[i], iface, hi, lo);
      else this.drop(p.slots[i], D_ARP_FAILED);
    }
  }

  /** Build a 60-byte ARP frame on `out` (broadcast destination) and emit it. */
  private emitArp(out: number, op: number, spa: number, tha: number, tpa: number): void {
    const ifc = this.ifaces[out];
    if (ifc === null || ifc === undefined) return;
    const a = this.arena;
    const s = a.alloc();
    if (s < 0) {
      this.stats.noBuffer++;
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
    this.onEmit(s, out);
  }

  private sendArpRequest(out: number, ip: number): void {
    const ifc = this.ifaces[out];
    if (ifc === null || ifc === undefined) return;
    this.stats.arpRequestsSent++;
    this.emitArp(out, arp.OP_REQUEST, ifc.addr, 0, ip);
  }

  /** Announce a floating IP: gratuitous ARP request and reply (RFC 5227 §3), broadcast. */
  private sendGratuitousArp(fip: number): void {
    if (this.gw < 0) return;
    this.emitArp(this.gw, arp.OP_REQUEST, fip, 0, fip);
    this.emitArp(this.gw, arp.OP_REPLY, fip, eth.BROADCAST_MAC, fip);
  }

  // ==== routing table ==========================================================================

  private rebuild(): void {
    const entries: { addr: number; len: number; kind: number; iface: number; via: number; data: number }[] = [];
    const live = this.ifaces.filter((i): i is Iface => i !== null);
    const onLink = (ip: number): Iface | undefined => {
      let best: Iface | undefined;
      for (const i of live) if (((ip ^ i.addr) & i.mask) === 0 && (best === undefined || i.len > best.len)) best = i;
      return best;
    };
    // Static routes first: at equal prefix the later entry wins, so connected routes override.
    for (const r of this.userRoutes) {
      const i = onLink(r.via);
      if (i !== undefined) entries.push({ addr: r.addr, len: r.len, kind: RT_FWD, iface: i.index, via: r.via, data: 0 });
    }
    for (const i of live) entries.push({ addr: i.net, len: i.len, kind: RT_FWD, iface: i.index, via: 0, data: 0 });
    entries.push({ addr: 0xe0000000, len: 4, kind: RT_BCAST, iface: -1, via: 0, data: 0 });
    entries.push({ addr: 0xffffffff, len: 32, kind: RT_BCAST, iface: -1, via: 0, data: 0 });
    for (const i of live) {
      entries.push({ addr: i.bcast, len: 32, kind: RT_BCAST, iface: i.index, via: 0, data: 0 });
      entries.push({ addr: i.addr, len: 32, kind: RT_LOCAL, iface: i.index, via: 0, data: 0 });
    }
    this.fipToFixed.forEach((fip, fixed) => entries.push({ addr: fip, len: 32, kind: RT_FIP, iface: this.gw, via: 0, data: fixed }));
    const n = entries.length;
    this.rtKind = new Uint8Array(n);
    this.rtIface = new Int32Array(n);
    this.rtVia = new Uint32Array(n);
    this.rtData = new Uint32Array(n);
    this.rtPrefix = entries.map((e) => ({ addr: e.addr, len: e.len }));
    entries.forEach((e, id) => {
      this.rtKind[id] = e.kind;
      this.rtIface[id] = e.iface;
      this.rtVia[id] = e.via;
      this.rtData[id] = e.data;
    });
    this.lpm.build(entries.map((e, id) => ({ addr: e.addr, len: e.len, id })));
    this.dirty = false;
  }

  /** Route lookup for tests and the CLI: { kind, iface, via } or null. */
  lookupRoute(dst: string): { kind: string; iface: string | null; via: string | null } | null {
    if (this.dirty) this.rebuild();
    const r = this.lpm.lookup(ipv4.parseAddr(dst));
    if (r < 0) return null;
    const i = this.rtIface[r];
    return { kind: RT_KIND_NAMES[this.rtKind[r]], iface: i >= 0 ? this.ifaces[i]?.name ?? null : null, via: this.rtVia[r] !== 0 ? ipv4.formatAddr(this.rtVia[r]) : null };
  }

  // ==== introspection =========================================================================

  private iface(which: string | number): Iface {
    const ifc = typeof which === 'number' ? this.ifaces[which] : this.ifaces.find((i) => i !== null && i.name === which);
    if (ifc === null || ifc === undefined) throw new Error(`router ${this.name}: no interface '${which}'`);
    return ifc;
  }

  /** Interface index by name, or -1. */
  ifaceIndex(name: string): number {
    const i = this.ifaces.findIndex((x) => x !== null && x.name === name);
    return i;
  }

  show(): {
    name: string;
    snat: boolean;
    interfaces: { index: number; name: string; mac: string; cidr: string; mtu: number; gateway: boolean }[];
    routes: { cidr: string; kind: string; iface: string | null; via: string | null }[];
    arp: { ip: string; mac: string; iface: string; expiresInMs: number }[];
    pendingArp: { ip: string; iface: string; queued: number; probes: number }[];
    floatingIps: { fip: string; fixed: string }[];
    sessions: number;
    /** NAT limits: table size, per-source quota, records allocated now. */
    natLimits: { maxSessions: number; maxSessionsPerSource: number; allocated: number };
    drops: Record<string, number>;
    stats: RouterStats;
  } {
    if (this.dirty) this.rebuild();
    const now = this.clock();
    const name = (i: number): string => this.ifaces[i]?.name ?? String(i);
    const fips: { fip: string; fixed: string }[] = [];
    this.fipToFixed.forEach((f, x) => fips.push({ fip: ipv4.formatAddr(f), fixed: ipv4.formatAddr(x) }));
    return {
      name: this.name,
      snat: this.snat,
      interfaces: this.ifaces.filter((i): i is Iface => i !== null).map((i) => ({
        index: i.index, name: i.name, mac: eth.formatMac(i.mac), cidr: `${ipv4.formatAddr(i.addr)}/${i.len}`, mtu: i.mtu, gateway: i.gateway,
      })),
      routes: this.rtPrefix.map((p, id) => ({
        cidr: `${ipv4.formatAddr(p.addr)}/${p.len}`,
        kind: RT_KIND_NAMES[this.rtKind[id]],
        iface: this.rtIface[id] >= 0 ? name(this.rtIface[id]) : null,
        via: this.rtVia[id] !== 0 ? ipv4.formatAddr(this.rtVia[id]) : null,
      })),
      arp: this.arp.entries().map((e) => ({
        ip: ipv4.formatAddr(e.ip), mac: eth.formatMac(e.macHi * 0x100000000 + e.macLo), iface: name(e.iface), expiresInMs: e.expires - now,
      })),
      pendingArp: [...this.pending.values()].map((p) => ({ ip: ipv4.formatAddr(p.ip), iface: name(p.iface), queued: p.slots.length, probes: p.probes })),
      floatingIps: fips,
      sessions: this.ct.count,
      natLimits: { maxSessions: this.ct.max, maxSessionsPerSource: this.ct.maxPerSource, allocated: this.ct.capacity },
      drops: this.drops.toJSON(),
      stats: { ...this.stats },
    };
  }

  /**
   * What the router would do with an IPv4 packet arriving on interface `inIface`, without
   * doing it (the routing/NAT part of `tvs trace`, like ofproto/trace's view of a qrouter).
   * Mirrors the decisions of forward(): session lookup, route, floating IP / SNAT choice, TTL
   * and MTU checks, next hop and its ARP state. Nothing is created, sent or counted.
   */
  explain(p: { inIface: string; src: string; dst: string; proto: number; sport?: number; dport?: number; icmpType?: number; icmpId?: number; ttl?: number; length?: number; df?: boolean }): string[] {
    if (this.dirty) this.rebuild();
    const out: string[] = [];
    const inIf = this.ifaceIndex(p.inIface);
    if (inIf < 0) return [`router ${this.name}: no interface '${p.inIface}'`];
    const src = ipv4.parseAddr(p.src);
    let dst = ipv4.parseAddr(p.dst);
    const f = (a: number) => ipv4.formatAddr(a);
    out.push(`router ${this.name}: in ${p.inIface}, ${p.src} > ${p.dst} proto ${p.proto}`);
    let pkey = p.proto;
    let ports = 0;
    if (p.proto === 6 || p.proto === 17) ports = ((((p.sport ?? 0) & 0xffff) << 16) | ((p.dport ?? 0) & 0xffff)) >>> 0;
    else if (p.proto === 1) {
      const t = p.icmpType ?? icmp.ECHO_REQUEST;
      pkey = 1 | (t << 8);
      const id = p.icmpId ?? 0;
      ports = ((id << 16) | id) >>> 0;
    }
    const e = this.ct.count !== 0 ? this.ct.lookup(pkey, src, dst, ports) : -1;
    if (e >= 0 && this.ct.expires[e >> 1] > this.clock()) {
      const x = this.ct.xPorts[e];
      out.push(`  NAT: existing session #${e >> 1}: rewrite to ${f(this.ct.xSrc[e])}:${x >>> 16} > ${f(this.ct.xDst[e])}:${x & 0xffff}`);
      dst = this.ct.xDst[e];
    }
    let r = this.lpm.lookup(dst);
    if (r < 0) {
      out.push(`  route: none for ${f(dst)} → ICMP destination unreachable (net), drop no_route`);
      return out;
    }
    if (e < 0) {
      if (this.rtKind[r] === RT_LOCAL) {
        out.push(`  local: ${f(dst)} is the router's own address → ${p.proto === 1 && (p.icmpType ?? 8) === icmp.ECHO_REQUEST ? 'echo reply' : 'not served, drop'}`);
        return out;
      }
      if (this.rtKind[r] === RT_BCAST) {
        out.push(`  ${f(dst)} is a broadcast/multicast address: not forwarded`);
        return out;
      }
      if (this.rtKind[r] === RT_FIP) {
        const fixed = this.rtData[r];
        out.push(`  floating IP ${f(dst)} → DNAT to fixed ${f(fixed)} (new session)`);
        dst = fixed;
        r = this.lpm.lookup(dst);
        if (r < 0) {
          out.push('  route: none for the fixed address, drop');
          return out;
        }
        if (inIf !== this.gw) {
          const fip = this.fixedToFip.get(src);
          out.push(`  hairpin: source becomes ${fip !== -1 ? f(fip) + ' (its floating IP)' : (this.gw >= 0 ? f(this.ifaces[this.gw]!.addr) : p.src) + ' (gateway address, pool port)'}`);
        }
      } else if (this.gw >= 0 && this.rtIface[r] === this.gw && inIf !== this.gw) {
        const fip = this.fixedToFip.get(src);
        if (fip !== -1) out.push(`  SNAT: ${p.src} has floating IP ${f(fip)} → source ${f(fip)} (new session)`);
        else if (this.snat) out.push(`  SNAT: source → ${f(this.ifaces[this.gw]!.addr)} (gateway address, port from the pool; new session)`);
        else out.push('  SNAT is off: forwarded with the tenant address');
      } else if (inIf === this.gw && this.rtIface[r] !== this.gw && this.snat) {
        out.push('  unsolicited: from the external network to a tenant address without a floating IP or session → drop nat_unsolicited');
        return out;
      }
    }
    const ifo = this.ifaces[this.rtIface[r]]!;
    const via = this.rtVia[r];
    out.push(`  route: ${RT_KIND_NAMES[this.rtKind[r]]} via ${via !== 0 ? f(via) : 'on-link'} dev ${ifo.name} (mtu ${ifo.mtu})`);
    const ttl = p.ttl ?? 64;
    if (ttl <= 1) {
      out.push(`  TTL ${ttl} → ICMP time exceeded to ${p.src}, drop`);
      return out;
    }
    out.push(`  TTL ${ttl} → ${ttl - 1}`);
    if ((p.length ?? 0) > ifo.mtu) {
      out.push(p.df ? `  ${p.length} bytes > mtu ${ifo.mtu} with DF → ICMP fragmentation needed (mtu ${ifo.mtu}), drop` : `  ${p.length} bytes > mtu ${ifo.mtu}, no DF → drop oversize_nodf`);
      return out;
    }
    const nh = via !== 0 ? via : dst;
    const mac = this.arp.lookup(nh);
    out.push(`  next hop ${f(nh)}: ${mac >= 0 ? 'ARP resolved' : 'not resolved → ARP request, packet queued'}; out ${ifo.name} from ${eth.formatMac(ifo.mac)}`);
    return out;
  }

  /** NAT sessions as objects (for `tvs nat-show`). */
  sessions(): NatSession[] {
    return this.ct.liveRecords().map((rec) => this.describe(rec));
  }

  private describe(rec: number): NatSession {
    const ct = this.ct;
    const f = rec * 2;
    const r = f + 1;
    const tuple = (e: number): NatTuple => ({
      src: ipv4.formatAddr(ct.eSrc[e]), dst: ipv4.formatAddr(ct.eDst[e]), sport: ct.ePorts[e] >>> 16, dport: ct.ePorts[e] & 0xffff,
    });
    const p = ct.eProto[f] & 0xff;
    const snat = ct.xSrc[f] !== ct.eSrc[f] || ct.xPorts[f] >>> 16 !== ct.ePorts[f] >>> 16;
    const dnat = ct.xDst[f] !== ct.eDst[f];
    const now = this.clock();
    return {
      id: rec,
      proto: p === 6 ? 'tcp' : p === 17 ? 'udp' : p === 1 ? 'icmp' : String(p),
      state: STATE_NAMES[ct.state[rec]],
      kind: snat && dnat ? 'snat+dnat' : dnat ? 'dnat' : 'snat',
      orig: tuple(f),
      reply: tuple(r),
      packets: { orig: ct.ePackets[f], reply: ct.ePackets[r] },
      ageMs: now - ct.created[rec],
      expiresInMs: ct.expires[rec] - now,
    };
  }
}
