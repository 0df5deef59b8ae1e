/**
 * Tunnel ports (OVS `type=vxlan` / `type=gre`): a port whose frames travel inside outer IPv4
 * packets that the kernel routes (as Linux vxlan/gretap devices and OVS's kernel datapath do).
 *
 * Ports of one kind with the same local_ip (and, VXLAN, dst_port) share ONE underlay socket, as
 * OVS shares one vxlan_sys_4789 device: a receive burst is one native call on that socket, and
 * each frame goes to the port whose remote_ip is its outer source and whose key accepts its
 * VNI/GRE key (a fixed key=N, else the port with key=flow). Frames wait in their port's bounded
 * backlog until the datapath drains that port, in the same readiness callback.
 *
 * Receive: the outer headers are checked and stripped in place (packet/tunnel.ts); the tunnel
 * metadata (key, outer source and destination) is kept per slot and written into the flow key
 * after the parse pass (markParsed), with TUN_PRESENT. Transmit: the outer headers are written
 * into the headroom and the burst goes out in one sendmmsg.
 *
 * remote_ip=flow is not supported (refused when the port is configured): every port has one
 * remote. Offloads: the port takes no virtio-net header, so the switch segments GSO frames and
 * completes partial checksums before the frames reach it (packet/gso.ts): inner TSO from VMs
 * crosses the tunnel as MSS-sized segments. The port MTU is the route MTU minus the overhead,
 * so the switch's own MTU check drops what would not fit; encap checks the exact outer size.
 *
 * Hot path: one native call per burst each way, no allocation per packet (the slot lists,
 * backlogs and per-slot metadata are preallocated typed arrays). Time is the datapath's batch
 * clock (packet/batch-clock.ts), which the addon stamps at each wakeup of the socket as it does
 * for AF_PACKET and TAP ports: the bursts' rate-limited chores read no clock of their own.
 */
import { Batch, BURST } from '../packet/batch';
import { PacketArena } from '../packet/arena';
import { ClockPeriod } from '../packet/batch-clock';
import { DropCounters } from '../packet/drops';
import * as K from '../packet/flow-key';
import * as tun from '../packet/tunnel';
import { NativeBinding, UNDERLAY_META, UNDERLAY_REFUSED_OTHER, UNDERLAY_REFUSED_TOO_BIG, UNDERLAY_REFUSED_UNREACHABLE, loadBinding, readStats, ST_RX_OVERSIZE, STATS_WORDS } from './binding';
import { DROP_RX_OVERSIZE, DROP_TX_ERROR, Port, PortCounters, PortKind } from './port';

export interface TunnelOptions {
  remoteIp: string;
  localIp?: string;
  /** Fixed VNI/GRE key, or 'flow' (the frame's tun_id). Default 0 (GRE: no key field). */
  key?: number | 'flow';
  /** VXLAN UDP port (default 4789). */
  dstPort?: number;
  /** Outer TOS byte or 'inherit' (default 0). */
  tos?: number | 'inherit';
  /** Outer TTL or 'inherit' (default 64). */
  ttl?: number | 'inherit';
  /** Set DF on outer packets (default true). */
  dfDefault?: boolean;
}

/** Route MTU refresh interval (the route may change while the port exists). */
const MTU_REFRESH_MS = 5000;
/** Frames a port holds for the datapath when a sibling's burst brought them. */
const BACKLOG = BURST * 4;
/** How often (at most) a short receive burst pulls the socket's native counters. */
const STATS_REFRESH_MS = 1000;
/** Receive bursts per readiness callback before yielding to other ports and timers. */
const MAX_WAKE_ROUNDS = 64;

/** Tunnel drops beside the port drops (dump-ports and metrics show both under `drops`). */
export class TunnelCounters extends PortCounters {
  readonly tunnel = new DropCounters<tun.TunnelDropReason>(tun.TUNNEL_DROPS);
  override toJSON(): Record<string, unknown> {
    const j = super.toJSON();
    return { ...j, drops: { ...(j.drops as Record<string, number>), ...this.tunnel.toJSON() } };
  }
}

const UNKNOWN_REMOTE = tun.TUNNEL_DROPS.id.unknown_remote;
const UNKNOWN_KEY = tun.TUNNEL_DROPS.id.unknown_key;
const BACKLOG_FULL = tun.TUNNEL_DROPS.id.rx_backlog_full;
const TX_UNREACHABLE = tun.TUNNEL_DROPS.id.tx_unreachable;
const TX_UNDERLAY_MTU = tun.TUNNEL_DROPS.id.tx_underlay_mtu;

/** One underlay socket and the tunnel ports that share it. */
class Underlay {
  readonly members: TunnelPort[] = [];
  /** Outer source address → the ports with that remote_ip. */
  private readonly byRemote = new Map<number, TunnelPort[]>();
  /** Per-slot tunnel metadata of received frames, read back by markParsed. */
  readonly tunKey: Uint32Array;
  readonly tunSrc: Uint32Array;
  readonly tunDst: Uint32Array;
  private readonly offer = new Uint32Array(BURST);
  private readonly decap = tun.newDecap();
  private polling = false;
  private closed = false;
  private seenOversize = 0;
  /** The addon's counters (readStats), read into this array: no object per refresh. */
  private readonly nativeStats = new Float64Array(STATS_WORDS);
  private readonly statsPeriod = new ClockPeriod(STATS_REFRESH_MS);
  /**
   * The datapath's batch clock (the members' start()), or null (busy-poll mode, tests):
   * Date.now() then, which returns a fresh heap number per reading.
   */
  clock: Float64Array | null = null;
  /** The addon stamps `clock` before each readiness callback (the members' wakes are told so). */
  private stamps = false;

  constructor(
    readonly id: string,
    readonly kind: tun.TunnelKind,
    readonly binding: NativeBinding,
    readonly arena: PacketArena,
    readonly handle: number,
    private readonly registry: Map<string, Underlay>,
  ) {
    this.tunKey = new Uint32Array(arena.capacity);
    this.tunSrc = new Uint32Array(arena.capacity);
    this.tunDst = new Uint32Array(arena.capacity);
  }

  add(p: TunnelPort): void {
    const list = this.byRemote.get(p.remote);
    for (const o of list ?? []) {
      if (o.key === p.key) throw new Error(`tunnel port ${p.name}: port '${o.name}' already has remote_ip=${tun.formatIpv4(p.remote)} key=${p.key < 0 ? 'flow' : p.key} on this underlay`);
    }
    if (list) list.push(p);
    else this.byRemote.set(p.remote, [p]);
    this.members.push(p);
  }

  remove(p: TunnelPort): void {
    const list = this.byRemote.get(p.remote);
    if (list) {
      const i = list.indexOf(p);
      if (i >= 0) list.splice(i, 1);
      if (list.length === 0) this.byRemote.delete(p.remote);
    }
    const i = this.members.indexOf(p);
    if (i >= 0) this.members.splice(i, 1);
    if (this.members.length === 0) this.close();
  }

  /**
   * Watch the socket while any member is started; wake every started member on readiness.
   * `clock`/`stamp` as Port.start: with both, the addon writes the wakeup time into clock[0]
   * before each callback (a switch's members all bring the same clock).
   */
  watch(clock?: Float64Array, stamp = false): void {
    if (this.closed) return;
    if (clock !== undefined && clock !== this.clock) {
      this.clock = clock;
      this.statsPeriod.last = clock[0];
    }
    const stamps = stamp && clock !== undefined;
    if (this.polling && (this.stamps || !stamps)) return;
    this.polling = true;
    this.stamps = stamps;
    // Already watching without a clock: pollStart again only hands the addon the clock.
    this.binding.pollStart(this.handle, () => this.onReadable(), stamps ? clock : undefined);
  }

  unwatchIfIdle(): void {
    if (!this.polling || this.members.some((m) => m.started)) return;
    this.polling = false;
    this.stamps = false;
    this.binding.pollStop(this.handle);
  }

  /** True while onReadable runs: members then only take their backlog (one pull per burst). */
  inWake = false;

  private onReadable(): void {
    // One receive burst per round, then every started member with frames drains its backlog:
    // one native call per burst however many ports share the socket. A short burst means the
    // socket is empty; a busy socket yields after MAX_WAKE_ROUNDS (libuv polls it again).
    // The rounds of one wakeup share its stamp, as a native port's bursts of one drain do.
    const stamped = this.stamps;
    this.inWake = true;
    try {
      for (let round = 0; round < MAX_WAKE_ROUNDS; round++) {
        const k = this.pull();
        const ms = this.members;
        for (let i = 0; i < ms.length; i++) {
          const m = ms[i];
          if (m.wake !== null && m.backlog.count > 0) m.wake(stamped);
        }
        if (k < this.offer.length) break;
      }
    } finally {
      this.inWake = false;
    }
  }

  /** One receive burst from the socket, each frame checked and handed to its port's backlog. */
  pull(): number {
    if (this.closed) return 0;
    const a = this.arena;
    const offer = this.offer;
    const want = a.peek(offer, offer.length);
    if (want === 0) return 0;
    const k = this.binding.rxBurst(this.handle, offer, want, 0);
    if (k <= 0) return k;
    a.commit(k);
    const b = a.bytes;
    const d = this.decap;
    const vx = this.kind === 'vxlan';
    for (let i = 0; i < k; i++) {
      const s = offer[i];
      const start = a.start[s];
      const len = a.len[s];
      const src = vx ? get32(b, start - UNDERLAY_META) : 0;
      const r = vx ? tun.decapVxlan(b, start, len, d) : tun.decapGre(b, start, len, d);
      if (vx) {
        d.src = src;
        d.dst = get32(b, start - UNDERLAY_META + 4);
      }
      const list = this.byRemote.get(r === tun.DECAP_OK || vx ? (vx ? src : d.src) : grePeer(b, start, len));
      if (list === undefined) {
        this.members[0].counters.tunnel.add(UNKNOWN_REMOTE);
        a.release(s);
        continue;
      }
      if (r !== tun.DECAP_OK) {
        list[0].counters.tunnel.add(r);
        a.release(s);
        continue;
      }
      let to: TunnelPort | undefined;
      for (let j = 0; j < list.length; j++) {
        const m = list[j];
        if (m.key === d.key) {
          to = m;
          break;
        }
        if (m.key < 0) to = m;
      }
      if (to === undefined) {
        list[0].counters.tunnel.add(UNKNOWN_KEY);
        a.release(s);
        continue;
      }
      if (!to.backlog.push(s)) {
        to.counters.tunnel.add(BACKLOG_FULL);
        a.release(s);
        continue;
      }
      a.start[s] = d.start;
      a.len[s] = d.len;
      this.tunKey[s] = d.key;
      this.tunSrc[s] = d.src;
      this.tunDst[s] = d.dst;
    }
    // A short burst: the socket is drained, a moment to pull the native counters (at most once
    // a second). The batch clock when there is one (see `clock`).
    if (k < want) {
      if (this.statsPeriod.due(this.clock)) this.refreshStats();
    }
    return k;
  }

  /** Native counters (oversize, unreachable, too big) into the members' counters. */
  refreshStats(): void {
    if (this.closed || this.members.length === 0) return;
    const st = this.nativeStats;
    readStats(this.binding, this.handle, st);
    const rxOversize = st[ST_RX_OVERSIZE];
    const first = this.members[0].counters;
    if (rxOversize > this.seenOversize) first.drops.add(DROP_RX_OVERSIZE, rxOversize - this.seenOversize);
    this.seenOversize = rxOversize;
    // Refused sends are counted by the sending port from the burst itself (TunnelPort.txBurst).
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    if (this.polling) this.binding.pollStop(this.handle);
    this.polling = false;
    this.binding.close(this.handle);
    this.registry.delete(this.id);
  }
}

function get32(b: Uint8Array, p: number): number {
  return ((b[p] << 24) | (b[p + 1] << 16) | (b[p + 2] << 8) | b[p + 3]) >>> 0;
}

/** Outer source of a GRE packet that failed decap (to count it on the right port), or 0. */
function grePeer(b: Uint8Array, p: number, len: number): number {
  return len >= 20 ? get32(b, p + 12) : 0;
}

/** Underlays per arena (one switch = one arena): ports of one switch share them. */
const UNDERLAYS = new WeakMap<PacketArena, Map<string, Underlay>>();

export class TunnelPort implements Port {
  readonly kind: PortKind;
  readonly offloads = false;
  readonly counters = new TunnelCounters();
  mtu: number;
  /** Remote as a number (a<<24|b<<16|c<<8|d). */
  readonly remote: number;
  /** Fixed key, or -1 for key=flow. */
  readonly key: number;
  /** Frames a sibling's pull brought for this port. */
  readonly backlog = new Batch(BACKLOG);
  /** The datapath's readiness callback while started (`stamped`: as Port.start's). */
  wake: ((stamped?: boolean) => void) | null = null;
  private readonly underlay: Underlay;
  private readonly encap: tun.EncapParams;
  private readonly sendList = new Uint32Array(BURST);
  private readonly opts: TunnelOptions;
  private routeMtu: number;
  private readonly mtuPeriod = new ClockPeriod(MTU_REFRESH_MS);
  private closed = false;
  private downErrno = 0;

  constructor(
    readonly name: string,
    kind: tun.TunnelKind,
    private readonly arena: PacketArena,
    opts: TunnelOptions,
    private readonly binding: NativeBinding = loadBinding(),
  ) {
    this.kind = kind;
    this.opts = opts;
    const remote = tun.parseIpv4(opts.remoteIp);
    if (remote <= 0) throw new Error(`tunnel port ${name}: remote_ip=${opts.remoteIp}: must be an IPv4 unicast address`);
    const local = opts.localIp !== undefined ? tun.parseIpv4(opts.localIp) : 0;
    if (local < 0) throw new Error(`tunnel port ${name}: local_ip=${opts.localIp}: must be an IPv4 address`);
    this.remote = remote;
    this.key = opts.key === 'flow' ? -1 : (opts.key ?? 0);
    const dstPort = kind === 'vxlan' ? (opts.dstPort ?? 4789) : 0;
    this.routeMtu = this.lookupMtu();
    this.encap = {
      kind,
      local,
      remote,
      key: this.key,
      greKeyed: opts.key !== undefined,
      dstPort,
      tos: opts.tos === 'inherit' ? -1 : (opts.tos ?? 0),
      ttl: opts.ttl === 'inherit' ? -1 : (opts.ttl ?? 64),
      df: opts.dfDefault ?? true,
      mtu: this.routeMtu,
    };
    this.mtu = this.innerMtu();
    let reg = UNDERLAYS.get(arena);
    if (!reg) UNDERLAYS.set(arena, (reg = new Map()));
    const id = `${kind}|${opts.localIp ?? '0.0.0.0'}|${dstPort}`;
    let u = reg.get(id);
    let fresh = false;
    if (!u) {
      const handle = binding.openUnderlay(kind, { localIp: opts.localIp ?? '', dstPort: kind === 'vxlan' ? dstPort : undefined }, arena);
      u = new Underlay(id, kind, binding, arena, handle, reg);
      reg.set(id, u);
      fresh = true;
    }
    try {
      u.add(this);
    } catch (e) {
      if (fresh) u.close();
      throw e;
    }
    this.underlay = u;
  }

  private lookupMtu(): number {
    // Without local_ip, ask for the route alone: the addon refuses an undefined second argument.
    const r = this.opts.localIp !== undefined ? this.binding.routeMtu(this.opts.remoteIp, this.opts.localIp) : this.binding.routeMtu(this.opts.remoteIp);
    // No route now: keep the port (the route may come later) at the common Ethernet MTU;
    // sends fail and are counted as tx_unreachable meanwhile.
    return r > 0 ? r : 1500;
  }

  private refreshMtu(): void {
    this.routeMtu = this.lookupMtu();
    this.encap.mtu = this.routeMtu;
    this.mtu = this.innerMtu();
  }

  private innerMtu(): number {
    const over = this.kind === 'vxlan' ? tun.VXLAN_OVERHEAD : tun.greOverhead(this.encap.greKeyed || this.key < 0);
    return this.routeMtu - over - 14;
  }

  get up(): boolean {
    return this.downErrno === 0;
  }

  get started(): boolean {
    return this.wake !== null;
  }

  rxBurst(batch: Batch): number {
    if (this.downErrno !== 0) return -this.downErrno;
    // Woken by the socket: the underlay pulled already. Polled (busy-poll mode): pull here.
    if (this.backlog.count === 0 && !this.underlay.inWake) {
      const r = this.underlay.pull();
      if (r < 0) {
        // A socket error is the underlay's, not this port's: report nothing received.
        return 0;
      }
    }
    const bl = this.backlog;
    let room = batch.capacity - batch.count;
    if (room <= 0 || bl.count === 0) return 0;
    const n = bl.count < room ? bl.count : room;
    const len = this.arena.len;
    let bytes = 0;
    for (let i = 0; i < n; i++) {
      const s = bl.slots[i];
      batch.slots[batch.count++] = s;
      bytes += len[s];
    }
    // Keep the rest in order (rare: a backlog longer than the batch).
    for (let i = n; i < bl.count; i++) bl.slots[i - n] = bl.slots[i];
    bl.count -= n;
    this.counters.rxPackets += n;
    this.counters.rxBytes += bytes;
    return n;
  }

  /** After the parse pass: tunnel metadata into the flow key (TUN_PRESENT with it). */
  markParsed(batch: Batch): void {
    const key = this.arena.key;
    const tail = this.arena.keyTail;
    const u = this.underlay;
    const slots = batch.slots;
    for (let i = 0; i < batch.count; i++) {
      const s = slots[i];
      const k = s << K.KEY_SHIFT;
      tail[s] = 1; // the tunnel words are in the key's tail
      key[k + K.K_TUN_FLAGS] |= K.TUN_PRESENT;
      key[k + K.K_TUN_ID_HI] = 0;
      key[k + K.K_TUN_ID_LO] = u.tunKey[s];
      key[k + K.K_TUN_SRC] = u.tunSrc[s];
      key[k + K.K_TUN_DST] = u.tunDst[s];
    }
  }

  txBurst(slots: Uint32Array, n: number): number {
    if (this.downErrno !== 0 || n <= 0) return n <= 0 ? 0 : -this.downErrno;
    const a = this.arena;
    // The route MTU again every MTU_REFRESH_MS, by the batch clock when there is one (every
    // transmit runs in a batch the datapath stamped; Date.now() is a heap number per burst).
    if (this.mtuPeriod.due(this.underlay.clock)) this.refreshMtu();
    const list = this.sendList;
    let m = 0;
    let dropped = 0;
    let bytes = 0;
    for (let i = 0; i < n; i++) {
      const s = slots[i];
      const innerLen = a.len[s];
      const r = tun.encap(a, s, this.encap);
      if (r !== tun.DECAP_OK) {
        this.counters.tunnel.add(r);
        dropped++;
        continue;
      }
      bytes += innerLen;
      list[m++] = s;
    }
    if (m === 0) return n;
    const k = this.binding.txBurst(this.underlay.handle, list, m);
    if (k < 0) return dropped > 0 ? dropped : k;
    // Refusals are marked in the frame length (see UNDERLAY_REFUSED_*): count them here.
    let sent = 0;
    for (let i = 0; i < k; i++) {
      const l = a.len[list[i]];
      if (l > UNDERLAY_REFUSED_OTHER) sent++;
      else if (l === UNDERLAY_REFUSED_UNREACHABLE) this.counters.tunnel.add(TX_UNREACHABLE);
      else if (l === UNDERLAY_REFUSED_TOO_BIG) this.counters.tunnel.add(TX_UNDERLAY_MTU);
      else this.counters.drops.add(DROP_TX_ERROR);
    }
    this.counters.txPackets += sent;
    this.counters.txBytes += sent === m ? bytes : 0;
    // Taken: every frame encap dropped, plus what the socket handled (sent or refused and
    // counted); the caller counts the untaken rest as tx_full.
    return dropped + k;
  }

  start(onReadable: (stamped?: boolean) => void, clock?: Float64Array, stamp = false): void {
    if (this.closed) return;
    this.wake = onReadable;
    this.underlay.watch(clock, stamp);
  }

  stop(): void {
    this.wake = null;
    this.underlay.unwatchIfIdle();
  }

  close(): void {
    if (this.closed) return;
    this.stop();
    this.closed = true;
    this.downErrno = 9; // EBADF
    const a = this.arena;
    for (let i = 0; i < this.backlog.count; i++) a.release(this.backlog.slots[i]);
    this.backlog.count = 0;
    this.underlay.remove(this);
  }

  describe(): Record<string, unknown> {
    this.underlay.refreshStats();
    const o = this.opts;
    return {
      kind: this.kind,
      remote_ip: o.remoteIp,
      local_ip: o.localIp ?? '0.0.0.0',
      key: this.key < 0 ? 'flow' : this.key,
      ...(this.kind === 'vxlan' ? { dst_port: this.encap.dstPort } : {}),
      tos: o.tos ?? 0,
      ttl: o.ttl ?? 64,
      df_default: this.encap.df,
      route_mtu: this.routeMtu,
      mtu: this.mtu,
      underlay: this.underlay.id,
      shared_with: this.underlay.members.filter((m) => m !== this).map((m) => m.name),
      up: this.up,
    };
  }
}
