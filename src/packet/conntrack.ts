/**
 * Connection tracking, one implementation for every user: the router's NAT (l3/) and the flow
 * tables' ct() action (flow/) each hold Conntrack tables of this class, so both run the same
 * tuple tables, state machine and timeouts. It lives in packet/ because both stages import it.
 *
 * Click `IPRewriterFlow`'s shape: one RECORD per connection
 * holding two ENTRIES — the original direction and the reply direction — in the same hash
 * table. Each entry is "packets matching this 5-tuple get rewritten to that 4-tuple", so a
 * lookup is the only per-packet work in either direction.
 *
 *   entry e = rec*2 + dir   (dir 0 = original / forward, 1 = reply / reverse)
 *   match:   eProto (proto | icmpType<<8 | zone<<16), eSrc, eDst, ePorts (sport<<16 | dport)
 *   rewrite: xSrc, xDst, xPorts
 *
 * ICMP echo: both "ports" hold the echo id, and the ICMP type is part of the protocol key, so
 * the reverse of an echo REQUEST entry only matches echo REPLIES (a ping of the gateway address
 * from outside never hits a SNAT'd ping that happens to use the same id).
 *
 * Everything lives in typed arrays, grown by doubling up to `maxSessions` (a router with a few
 * sessions costs kilobytes; the bound is what the user chose, and memory never exceeds it).
 * Nothing is allocated per packet; a session allocates only when the table doubles. The bucket
 * array is open addressing with linear probing at load <= 1/2 (buckets = 2 x entries), deletion
 * by backward shift.
 *
 * Limits (netfilter's shape): `maxSessions` per table (nf_conntrack_max; a router has its own
 * table, so one tenant's router never takes another's sessions) and `maxPerSource` per original
 * source address (connlimit), so one host cannot fill the table and lock out its neighbours.
 * Established sessions never need a new record, so a full table only refuses new ones.
 *
 * SNAT ports are unique per REPLY tuple, as netfilter's nf_nat_used_tuple requires: the same
 * gateway port serves any number of sessions as long as their (peer, peer port) differ, so the
 * gateway address carries far more than 65,536 sessions per protocol. The chosen port keeps the
 * source port when it is free; otherwise bounded rounds of tries from pseudo-random offsets
 * (nf_nat_l4proto_unique_tuple: 128, 64, 32, 16), each try one hash lookup.
 *
 * Zones (OVS ct(zone=N), netfilter's conntrack zones) are part of the protocol word, so two
 * tenants with the same addresses never share a connection; the router uses zone 0.
 *
 * IPv6 connections share the table, its bound and its state machine. The protocol word carries
 * PK_IPV6 (bit 15, the top bit of the ICMP-type byte: IPv4 keys only ever hold echo types 0 and
 * 8 there, ICMPv6 echo types are 128/129 and carry it by themselves), so an IPv4 lookup never
 * meets an IPv6 entry and the IPv4 path is unchanged. An IPv6 entry's eSrc/eDst hold a 32-bit
 * digest of each address (it feeds the hash, and the per-source count); the full 128-bit
 * addresses sit in `a6` (8 words per entry), compared on every digest hit, so matching stays
 * exact. `a6` is allocated when the first IPv6 connection is made: an IPv4-only table pays
 * nothing for it. IPv6 connections are never translated (their rewrite is their own tuple).
 *
 * Per connection the flow tables also keep OVS's ct_mark and 128-bit ct_label, whether a reply
 * was seen (what makes a packet +est rather than +new), and, with `trackTcpWindows`, each
 * direction's sequence window (pf / OVS conntrack-tcp.c `tcp_conn_update`): a segment outside
 * the window the other side advertised is invalid and changes nothing.
 *
 * Timeouts follow Linux nf_conntrack's shape (per protocol and TCP state), with an injectable
 * clock: `expire(now)` reaps, and the router also treats an entry found past its expiry as gone.
 */

import { U32Map } from './u32-map';

export const S_TCP_SYN_SENT = 1;
export const S_TCP_SYN_RECV = 2;
export const S_TCP_ESTABLISHED = 3;
export const S_TCP_FIN_WAIT = 4; // FIN seen in one direction
export const S_TCP_TIME_WAIT = 5; // FIN seen in both directions
export const S_TCP_CLOSE = 6; // RST seen
export const S_UDP = 7; // no reply seen yet
export const S_UDP_ASSURED = 8; // reply seen
export const S_ICMP = 9;
export const S_OTHER = 10;

export const STATE_NAMES = [
  'NONE', 'SYN_SENT', 'SYN_RECV', 'ESTABLISHED', 'FIN_WAIT', 'TIME_WAIT', 'CLOSE', 'UDP', 'UDP_ASSURED', 'ICMP', 'OTHER',
];

/** Timeouts in milliseconds. Defaults: Linux nf_conntrack, except ESTABLISHED (24 h, not 5 days). */
export interface NatTimeouts {
  tcpSynSent: number;
  tcpSynRecv: number;
  tcpEstablished: number;
  tcpFinWait: number;
  tcpTimeWait: number;
  tcpClose: number;
  udp: number;
  udpAssured: number;
  icmp: number;
  other: number;
}
export const DEFAULT_TIMEOUTS: NatTimeouts = {
  tcpSynSent: 120_000,
  tcpSynRecv: 60_000,
  tcpEstablished: 86_400_000,
  tcpFinWait: 120_000,
  tcpTimeWait: 120_000,
  tcpClose: 10_000,
  udp: 30_000,
  udpAssured: 180_000,
  icmp: 30_000,
  other: 600_000,
};

/** `create` results below zero. */
export const CREATE_FULL = -1;
export const CREATE_CONFLICT = -2;
export const CREATE_SOURCE_LIMIT = -3;

/**
 * Protocol-word flag of an IPv6 connection (see the header). ICMPv6 echo keys hold the type
 * (128 request, 129 reply), which has this bit already; other IPv6 keys are `proto | PK_IPV6`.
 */
export const PK_IPV6 = 0x8000;

export const REMOVE_EXPIRED = 0;
export const REMOVE_FLUSHED = 1;

const TCP_FIN = 0x01;
const TCP_SYN = 0x02;
const TCP_RST = 0x04;
const TCP_ACK = 0x10;

export const DEFAULT_MAX_SESSIONS = 65536;
/** Largest table a router may be given (entries index an Int32 bucket array; ~150 bytes each, ~180 tracking TCP windows). */
export const MAX_SESSIONS_LIMIT = 1 << 22;
/** Connection flags (`cflags`). */
export const CF_SEEN_REPLY = 1;
export const CF_SNAT = 2;
export const CF_DNAT = 4;

/** OVS MAXACKWINDOW: how far an ACK may lag behind or run ahead (one window plus a frame). */
const MAX_ACK_WINDOW = 0xffff + 1500;
/** wscale byte: the option was seen (its low 4 bits hold the shift). */
const WS_SEEN = 0x80;

/** Records allocated up front; the table doubles from here up to its maximum. */
const INITIAL_RECORDS = 1024;
/** Port search rounds (netfilter: 128 tries, then halves down to 16 from new random offsets). */
const PORT_TRIES_FIRST = 128;
const PORT_TRIES_LAST = 16;

export interface ConntrackOptions {
  /** Sessions in this table at most. Default 65536. */
  maxSessions?: number;
  /** Sessions one original source address may hold. Default a quarter of maxSessions. */
  maxPerSource?: number;
  portMin?: number;
  portMax?: number;
  timeouts?: Partial<NatTimeouts>;
}

/** Counters of refusals (why a new session was not created). */
export interface ConntrackRefusals {
  tableFull: number;
  sourceLimit: number;
  portExhausted: number;
}

export class Conntrack {
  /** Limits: changeable at run time (setLimits); memory follows the sessions, not the limit. */
  max = DEFAULT_MAX_SESSIONS;
  maxPerSource = DEFAULT_MAX_SESSIONS;
  readonly portMin: number;
  readonly portMax: number;
  readonly refused: ConntrackRefusals = { tableFull: 0, sourceLimit: 0, portExhausted: 0 };

  /** Records allocated now (grows by doubling up to `max`). */
  private cap = 0;

  // ---- entries (2 per record) ----
  eProto!: Uint32Array;
  eSrc!: Uint32Array;
  eDst!: Uint32Array;
  ePorts!: Uint32Array;
  /** tupleHash of each entry (int32, as tupleHash returns it). */
  private eHash!: Int32Array;
  xSrc!: Uint32Array;
  xDst!: Uint32Array;
  xPorts!: Uint32Array;
  ePackets!: Float64Array;
  /**
   * IPv6 addresses of every entry, 8 words per entry (source then destination, most significant
   * word first); null until the first IPv6 connection.
   */
  a6: Uint32Array | null = null;

  // ---- records ----
  state!: Uint8Array;
  private finBits!: Uint8Array;
  expires!: Float64Array;
  created!: Float64Array;
  /** CF_* bits. */
  cflags!: Uint8Array;
  /** OVS ct_mark / ct_label (4 words per record, most significant first). */
  mark!: Uint32Array;
  label!: Uint32Array;

  // ---- TCP sequence tracking per entry (direction), used when trackTcpWindows is on ----
  /** Highest sequence number sent + 1 (pf seqlo). */
  private tSeqLo!: Uint32Array;
  /** Highest sequence number the other side allows (its ack + window; pf seqhi). */
  private tSeqHi!: Uint32Array;
  /** Largest unscaled window this direction advertised. */
  private tMaxWin!: Uint32Array;
  /** Window scale: WS_SEEN | shift, or 0 when unknown. */
  private tWscale!: Uint8Array;
  /** This direction has sent at least one segment. */
  private tStarted!: Uint8Array;
  /**
   * Check TCP segments against the sequence windows (the flow tables' ct; the router is loose).
   * The five window arrays exist only while this is on (empty otherwise): 28 bytes per record
   * a router's table (100,000 NAT sessions: 3.5 MiB) does not need.
   */
  get trackTcpWindows(): boolean {
    return this.tcpOn;
  }
  set trackTcpWindows(on: boolean) {
    if (on === this.tcpOn) return;
    this.tcpOn = on;
    const ne = on ? this.cap * 2 : 0;
    this.tSeqLo = new Uint32Array(ne);
    this.tSeqHi = new Uint32Array(ne);
    this.tMaxWin = new Uint32Array(ne);
    this.tWscale = new Uint8Array(ne);
    this.tStarted = new Uint8Array(ne); // no direction started: every live connection re-opens its windows
  }
  private tcpOn = false;

  /** Dense list of live records (for expire/flush/show), with each record's position in it. */
  private live!: Int32Array;
  private livePos!: Int32Array;
  private liveCount = 0;
  private freeRecs!: Int32Array;
  private freeCount = 0;

  private buckets!: Int32Array;
  private bmask = 0;

  /** Live sessions per original source address. */
  private readonly perSource = new U32Map(64);
  /** xorshift32 state for port search offsets (seeded: runs are reproducible). */
  private rnd = 0x2545f491;
  /** `rnd` after the last search (peeked or not). */
  private lastRnd = 0x2545f491;

  /** Timeout (ms) per state, indexed by state id. */
  readonly timeout = new Float64Array(STATE_NAMES.length);

  /** Called when a record goes away (before its slots are reused). Control plane only. */
  onRemove: ((rec: number, reason: number) => void) | null = null;

  constructor(opts: ConntrackOptions = {}) {
    this.setLimits(opts.maxSessions, opts.maxPerSource);
    const pmin = opts.portMin ?? 1024;
    const pmax = opts.portMax ?? 65535;
    if (!Number.isInteger(pmin) || !Number.isInteger(pmax) || pmin < 1 || pmax > 65535 || pmin > pmax) {
      throw new RangeError(`conntrack: port range must be within 1..65535, got ${pmin}-${pmax}`);
    }
    this.portMin = pmin;
    this.portMax = pmax;
    this.resize(Math.min(this.max, INITIAL_RECORDS));
    this.setTimeouts({ ...DEFAULT_TIMEOUTS, ...opts.timeouts });
  }

  /**
   * Set the table and per-source limits (per-source defaults to a quarter of the table). Lowering
   * a limit below the live count removes nothing: new sessions are refused until it is met.
   */
  setLimits(maxSessions: number = DEFAULT_MAX_SESSIONS, maxPerSource?: number): void {
    if (!Number.isInteger(maxSessions) || maxSessions < 1 || maxSessions > MAX_SESSIONS_LIMIT) {
      throw new RangeError(`maxSessions must be an integer in 1..${MAX_SESSIONS_LIMIT}, got ${maxSessions}`);
    }
    const per = maxPerSource ?? Math.max(1, Math.ceil(maxSessions / 4));
    if (!Number.isInteger(per) || per < 1 || per > maxSessions) {
      throw new RangeError(`maxSessionsPerSource must be an integer in 1..${maxSessions} (maxSessions), got ${per}`);
    }
    this.max = maxSessions;
    this.maxPerSource = per;
  }

  setTimeouts(t: NatTimeouts): void {
    const o = this.timeout;
    o[S_TCP_SYN_SENT] = t.tcpSynSent;
    o[S_TCP_SYN_RECV] = t.tcpSynRecv;
    o[S_TCP_ESTABLISHED] = t.tcpEstablished;
    o[S_TCP_FIN_WAIT] = t.tcpFinWait;
    o[S_TCP_TIME_WAIT] = t.tcpTimeWait;
    o[S_TCP_CLOSE] = t.tcpClose;
    o[S_UDP] = t.udp;
    o[S_UDP_ASSURED] = t.udpAssured;
    o[S_ICMP] = t.icmp;
    o[S_OTHER] = t.other;
  }

  /** Live sessions. */
  get count(): number {
    return this.liveCount;
  }

  /** Records allocated now (memory in use is proportional to this, not to `max`). */
  get capacity(): number {
    return this.cap;
  }

  /** Live sessions of one original source address (uint32 or its int32 bits). */
  sessionsOf(src: number): number {
    const n = this.perSource.get(src | 0);
    return n < 0 ? 0 : n;
  }

  /**
   * Entry matching the tuple, or -1. Hot path. The words may be given as uint32 or as the same
   * bits in int32 (`| 0`): compared as int32, so a caller can keep values at or above 2^31 (an
   * address of 128.0.0.0/1, a port word with sport >= 32768) out of heap numbers.
   */
  lookup(proto: number, src: number, dst: number, ports: number): number {
    const h = tupleHash(proto, src, dst, ports);
    const bk = this.buckets;
    const m = this.bmask;
    const s = src | 0;
    const d = dst | 0;
    const pt = ports | 0;
    const pr = proto | 0;
    let i = h & m;
    for (;;) {
      const e = bk[i];
      if (e < 0) return -1;
      if (this.eHash[e] === h && (this.eSrc[e] | 0) === s && (this.eDst[e] | 0) === d && (this.ePorts[e] | 0) === pt && (this.eProto[e] | 0) === pr) return e;
      i = (i + 1) & m;
    }
  }

  /**
   * IPv6 entry matching the tuple, or -1: `proto` has PK_IPV6; the source address is the four
   * words w[so..so+3], the destination w[dof..dof+3] (e.g. the flow key's IPv6 words, or a
   * scratch array holding a quoted datagram's). Hot path: no allocation.
   */
  lookup6(proto: number, w: Uint32Array, so: number, dof: number, ports: number): number {
    const a6 = this.a6;
    if (a6 === null) return -1;
    const s = addrDigest(w[so], w[so + 1], w[so + 2], w[so + 3]) | 0;
    const d = addrDigest(w[dof], w[dof + 1], w[dof + 2], w[dof + 3]) | 0;
    const h = tupleHash(proto, s, d, ports);
    const bk = this.buckets;
    const m = this.bmask;
    const pt = ports | 0;
    const pr = proto | 0;
    let i = h & m;
    for (;;) {
      const e = bk[i];
      if (e < 0) return -1;
      if (this.eHash[e] === h && (this.eSrc[e] | 0) === s && (this.eDst[e] | 0) === d && (this.ePorts[e] | 0) === pt && (this.eProto[e] | 0) === pr) {
        const x = e << 3;
        if (a6[x] === w[so] && a6[x + 1] === w[so + 1] && a6[x + 2] === w[so + 2] && a6[x + 3] === w[so + 3] &&
          a6[x + 4] === w[dof] && a6[x + 5] === w[dof + 1] && a6[x + 6] === w[dof + 2] && a6[x + 7] === w[dof + 3]) return e;
      }
      i = (i + 1) & m;
    }
  }

  /**
   * Whether a new session from `src` may be created now: CREATE_FULL / CREATE_SOURCE_LIMIT
   * (counted), or 0. Checked before a port is searched, so a refused session costs no search.
   */
  admit(src: number): number {
    if (this.liveCount >= this.max) {
      this.refused.tableFull++;
      return CREATE_FULL;
    }
    if (this.sessionsOf(src) >= this.maxPerSource) {
      this.refused.sourceLimit++;
      return CREATE_SOURCE_LIMIT;
    }
    return 0;
  }

  /**
   * A port (or ICMP echo id) for a session translated to source `ns` towards `peer`:`peerPort`,
   * such that the reply tuple (replyProto, peer -> ns, peerPort -> port) is unused. `preferred`
   * (the original source port) is kept when possible. -1 (counted) when the tries run out.
   * `echo`: the reply carries the id in both halves of the ports word.
   */
  snatPort(replyProto: number, peer: number, ns: number, peerPort: number, preferred: number, echo: boolean): number {
    return this.searchPort(replyProto, peer, ns, peerPort, preferred, echo, -1, true, this.portMin, this.portMax);
  }

  /**
   * The port `snatPort` would return now, without taking its random draws or counting (the
   * router's decision and trace). `gone`: a record the caller removes before `snatPort` (an
   * expired one), whose entries count as absent; -1 for none.
   */
  peekSnatPort(replyProto: number, peer: number, ns: number, peerPort: number, preferred: number, echo: boolean, gone: number): number {
    return this.searchPort(replyProto, peer, ns, peerPort, preferred, echo, gone, false, this.portMin, this.portMax);
  }

  /**
   * Take the port the last `peekSnatPort` found (the router's commit of its decision): the
   * search is not run again, its random state moves on as that search's did. `rnd` is what
   * `peekRnd` held after the peek.
   */
  claimSnatPort(rnd: number): void {
    this.rnd = rnd;
  }

  /** The search state after the last peekSnatPort (the decision carries it to the commit). */
  get peekRnd(): number {
    return this.lastRnd;
  }

  /** `admit` without counting; `gone` as for peekSnatPort. */
  peekAdmit(src: number, gone: number): number {
    const g = gone >= 0 && this.livePos[gone] >= 0 ? 1 : 0;
    if (this.liveCount - g >= this.max) return CREATE_FULL;
    const own = g === 1 && (this.eSrc[gone * 2] | 0) === (src | 0) ? 1 : 0;
    if (this.sessionsOf(src) - own >= this.maxPerSource) return CREATE_SOURCE_LIMIT;
    return 0;
  }

  /** `lookup`, with the entries of record `gone` (about to be removed) counted as absent. */
  lookupExcept(proto: number, src: number, dst: number, ports: number, gone: number): number {
    const e = this.lookup(proto, src, dst, ports);
    return e >= 0 && e >> 1 === gone ? -1 : e;
  }

  /**
   * `snatPort` within [pmin, pmax] instead of the table's own range (the flow tables'
   * ct(commit,nat(src=A:P-Q))): the same search, the same counters.
   */
  natPortIn(replyProto: number, peer: number, ns: number, peerPort: number, preferred: number, echo: boolean, pmin: number, pmax: number): number {
    return this.searchPort(replyProto, peer, ns, peerPort, preferred, echo, -1, true, pmin, pmax);
  }

  private searchPort(replyProto: number, peer: number, ns: number, peerPort: number, preferred: number, echo: boolean, gone: number, commit: boolean, pmin: number, pmax: number): number {
    const range = pmax - pmin + 1;
    const hi = peerPort << 16;
    this.lastRnd = this.rnd;
    // The port words as int32 bits (lookup compares bits): as uint32, a peer port or id of
    // 32768 or more makes each try's word a heap number.
    if (preferred >= pmin && preferred <= pmax && this.lookupExcept(replyProto, peer, ns, echo ? (preferred << 16) | preferred : hi | preferred, gone) < 0) return preferred;
    let tries = Math.min(range, PORT_TRIES_FIRST);
    let rnd = this.rnd;
    let found = -1;
    for (;;) {
      let x = rnd;
      x ^= x << 13;
      x ^= x >>> 17;
      x ^= x << 5;
      rnd = x >>> 0;
      const off = rnd % range;
      for (let i = 0; i < tries && found < 0; i++) {
        const p = pmin + ((off + i) % range);
        if (this.lookupExcept(replyProto, peer, ns, echo ? (p << 16) | p : hi | p, gone) < 0) found = p;
      }
      if (found >= 0 || tries >= range || tries <= PORT_TRIES_LAST) break;
      tries >>= 1;
    }
    this.lastRnd = rnd;
    if (commit) {
      this.rnd = rnd;
      if (found < 0) this.refused.portExhausted++;
    }
    return found;
  }

  /**
   * New record from the original-direction tuple and its rewrite; the reply entry is derived
   * (match = rewritten tuple reversed, rewrite = original tuple reversed). `replyProto` differs
   * from `proto` only for ICMP echo (request ↔ reply type). Returns the record, or CREATE_FULL,
   * CREATE_SOURCE_LIMIT (counted) or CREATE_CONFLICT (either tuple already present).
   *
   * The datapath passes the words as int32 bits (`x | 0`, as for `lookup`) and leaves `now` out
   * (the record is stamped with `this.now`, which it sets first): a uint32 of 2^31 or more, or a
   * clock reading with a fraction, handed to a call V8 does not inline is a heap number — up to
   * eight per new session.
   */
  create(
    proto: number, src: number, dst: number, ports: number,
    nsrc: number, ndst: number, nports: number, replyProto: number,
    initState: number, now?: number,
  ): number {
    // Not a default parameter (`now = this.now`): that reads the field as a new heap number.
    if (now !== undefined) this.now = now;
    const adm = this.admit(src);
    if (adm < 0) return adm;
    if (this.lookup(proto, src, dst, ports) >= 0 || this.lookup(replyProto, ndst, nsrc, swapPorts(nports)) >= 0) return CREATE_CONFLICT;
    return this.insert(proto, src, dst, ports, nsrc, ndst, nports, replyProto, initState);
  }

  /** `create` after its checks: take a record, link both entries, count the source; stamped `this.now`. */
  private insert(
    proto: number, src: number, dst: number, ports: number,
    nsrc: number, ndst: number, nports: number, replyProto: number,
    initState: number,
  ): number {
    const now = this.now;
    const rports = swapPorts(nports);
    if (this.freeCount === 0) this.resize(Math.min(this.max, this.cap * 2));
    const rec = this.freeRecs[--this.freeCount];
    const f = rec * 2;
    const r = f + 1;
    this.setEntry(f, proto, src, dst, ports, nsrc, ndst, nports);
    this.setEntry(r, replyProto, ndst, nsrc, rports, dst, src, swapPorts(ports));
    this.state[rec] = initState;
    this.finBits[rec] = 0;
    this.cflags[rec] = 0;
    this.mark[rec] = 0;
    const l = rec * 4;
    this.label[l] = 0;
    this.label[l + 1] = 0;
    this.label[l + 2] = 0;
    this.label[l + 3] = 0;
    if (this.tcpOn) {
      this.tStarted[f] = 0;
      this.tStarted[r] = 0;
    }
    this.created[rec] = now;
    this.expires[rec] = now + this.timeout[initState];
    this.livePos[rec] = this.liveCount;
    this.live[this.liveCount++] = rec;
    const k = src | 0;
    const n = this.perSource.get(k);
    this.perSource.set(k, n < 0 ? 1 : n + 1);
    return rec;
  }

  /**
   * New IPv6 record (never translated): the original tuple is `proto` (with PK_IPV6), source
   * w[so..so+3], destination w[dof..dof+3], `ports`; the reply entry is its reverse with
   * `replyProto`. Returns the record, or CREATE_FULL / CREATE_SOURCE_LIMIT (counted; the one
   * bound of the table, shared with IPv4) or CREATE_CONFLICT.
   */
  create6(proto: number, w: Uint32Array, so: number, dof: number, ports: number, replyProto: number, initState: number, now?: number): number {
    if (now !== undefined) this.now = now;
    const sd = addrDigest(w[so], w[so + 1], w[so + 2], w[so + 3]) | 0;
    const dd = addrDigest(w[dof], w[dof + 1], w[dof + 2], w[dof + 3]) | 0;
    const adm = this.admit(sd);
    if (adm < 0) return adm;
    const rports = swapPorts(ports);
    if (this.lookup6(proto, w, so, dof, ports) >= 0 || this.lookup6(replyProto, w, dof, so, rports) >= 0) return CREATE_CONFLICT;
    if (this.a6 === null) this.a6 = new Uint32Array(this.cap * 2 * 8);
    const rec = this.insert(proto, sd, dd, ports, sd, dd, ports, replyProto, initState);
    const a6 = this.a6;
    const f = rec << 4; // entry rec*2, 8 words each
    for (let i = 0; i < 4; i++) {
      a6[f + i] = w[so + i];
      a6[f + 4 + i] = w[dof + i];
      a6[f + 8 + i] = w[dof + i]; // reply entry: source and destination swapped
      a6[f + 12 + i] = w[so + i];
    }
    return rec;
  }

  /** Whether record `rec` is an IPv6 connection. */
  isIpv6(rec: number): boolean {
    return (this.eProto[rec * 2] & PK_IPV6) !== 0;
  }

  /**
   * A packet matched entry `e`: advance the state machine and refresh the timer. `tcpFlags` is
   * the TCP flags byte (0 for other protocols). Hot path: a few array writes.
   */
  touch(e: number, tcpFlags: number, now: number): void {
    this.now = now;
    this.advance(e, tcpFlags);
  }

  /**
   * The clock `advance` stamps expiries with. A field, not an argument: a clock value is a
   * double, and passing one to a call V8 does not inline boxes it (a heap number per packet).
   */
  now = 0;

  /** `touch` at `this.now`. */
  advance(e: number, tcpFlags: number): void {
    const now = this.now;
    const rec = e >> 1;
    const dir = e & 1;
    let st = this.state[rec];
    this.ePackets[e]++;
    if (st <= S_TCP_CLOSE) {
      if ((tcpFlags & TCP_RST) !== 0) {
        st = S_TCP_CLOSE;
      } else if (st !== S_TCP_CLOSE) {
        if ((tcpFlags & TCP_FIN) !== 0) {
          const fb = this.finBits[rec] | (1 << dir);
          this.finBits[rec] = fb;
          st = fb === 3 ? S_TCP_TIME_WAIT : S_TCP_FIN_WAIT;
        } else if (st === S_TCP_SYN_SENT && dir === 1 && (tcpFlags & (TCP_SYN | TCP_ACK)) === (TCP_SYN | TCP_ACK)) {
          st = S_TCP_SYN_RECV;
        } else if (st === S_TCP_SYN_RECV && dir === 0 && (tcpFlags & (TCP_SYN | TCP_ACK)) === TCP_ACK) {
          st = S_TCP_ESTABLISHED;
        }
      }
    } else if (st === S_UDP && dir === 1) {
      st = S_UDP_ASSURED;
    }
    if (dir === 1) this.cflags[rec] |= CF_SEEN_REPLY;
    this.state[rec] = st;
    this.expires[rec] = now + this.timeout[st];
  }

  /**
   * Check a TCP segment of entry `e` against the sequence windows and, when it fits, advance
   * them (OVS conntrack-tcp.c tcp_conn_update, itself pf's). `len` is the payload length,
   * `wscale` the window-scale option of a SYN (-1 when absent). False: out of window (the
   * caller marks the packet invalid; nothing changed). The first segment of a direction opens
   * its window. Hot path: array reads and writes only.
   */
  tcpSegment(e: number, flags: number, seq: number, ack: number, win: number, len: number, wscale: number): boolean {
    // Sequence comparisons are modulo 2^32 (RFC 1982), written out as ((a - b) | 0) >= 0 rather
    // than helper calls: a helper not inlined would box every uint32 from 2^31 it is given.
    const o = e ^ 1;
    const syn = (flags & TCP_SYN) !== 0;
    let end = (seq + len + (syn ? 1 : 0) + ((flags & TCP_FIN) !== 0 ? 1 : 0)) >>> 0;
    let sws = 0;
    let dws = 0;
    const sw = this.tWscale[e];
    const dw = this.tWscale[o];
    if ((sw & WS_SEEN) !== 0 && (dw & WS_SEEN) !== 0 && !syn) {
      sws = sw & 0x0f;
      dws = dw & 0x0f;
    }
    if (this.tStarted[e] === 0) {
      // First segment from this side: its window opens here.
      this.tStarted[e] = 1;
      const ws = syn && wscale >= 0 ? Math.min(wscale, 14) : -1;
      this.tWscale[e] = ws >= 0 ? WS_SEEN | ws : 0;
      this.tSeqLo[e] = end;
      // Kept unscaled, as OVS: a scaling SYN's own window is taken back to the unscaled unit.
      this.tMaxWin[e] = Math.max(1, ws > 0 ? Math.ceil(win / (1 << ws)) : win);
      const oWin = this.tStarted[o] !== 0 ? this.tMaxWin[o] << dws : 0;
      this.tSeqHi[e] = (end + (oWin > 0 ? oWin : 1)) >>> 0;
      if ((flags & TCP_ACK) !== 0 && this.tStarted[o] !== 0) {
        const hi = (ack + Math.max(win << sws, 1)) >>> 0;
        if (((hi - this.tSeqHi[o]) | 0) >= 0) this.tSeqHi[o] = hi;
      }
      return true;
    }
    if (this.tStarted[o] === 0) {
      // The other side has not spoken yet: only this side's own sequence can be checked.
      if (((end - this.tSeqLo[e]) | 0) > 0) this.tSeqLo[e] = end;
      if (win > this.tMaxWin[e]) this.tMaxWin[e] = win;
      return true;
    }
    if ((flags & TCP_ACK) === 0) ack = this.tSeqLo[o];
    if (len === 0 && !syn && (flags & TCP_FIN) === 0) {
      seq = this.tSeqLo[e]; // ease the sequencing rules for segments without data
      end = seq;
    }
    const ackskew = (this.tSeqLo[o] - ack) | 0;
    const maxWinBack = this.tMaxWin[o] << dws;
    const ok =
      ((this.tSeqHi[e] - end) | 0) >= 0 && // last byte inside the window the other side allows
      ((seq - this.tSeqLo[e] + (maxWinBack > 0 ? maxWinBack : 1)) | 0) >= 0 && // not more than a window back
      ackskew >= -MAX_ACK_WINDOW && // acks nothing the other side has not sent
      ackskew <= MAX_ACK_WINDOW << sws;
    if (!ok) return false;
    if (win > this.tMaxWin[e]) this.tMaxWin[e] = win;
    if (((end - this.tSeqLo[e]) | 0) > 0) this.tSeqLo[e] = end;
    if ((flags & TCP_ACK) !== 0) {
      const hi = (ack + Math.max(win << sws, 1)) >>> 0;
      if (((hi - this.tSeqHi[o]) | 0) >= 0) this.tSeqHi[o] = hi;
    }
    return true;
  }

  /** Initial state for a new record of this protocol and (TCP) flags. */
  static initialState(proto: number, tcpFlags: number): number {
    if (proto === 6) {
      // A SYN opens; anything else is picked up mid-stream as Linux does with tcp_loose=1
      // (a router restart must not cut established connections that keep sending).
      return (tcpFlags & (TCP_SYN | TCP_ACK)) === TCP_SYN ? S_TCP_SYN_SENT : S_TCP_ESTABLISHED;
    }
    if (proto === 17) return S_UDP;
    if ((proto & 0xff) === 1 || (proto & 0xff) === 58) return S_ICMP;
    return S_OTHER;
  }

  /** Remove a record: unlink both entries (which frees its port), report it. */
  remove(rec: number, reason: number): void {
    if (rec < 0 || rec >= this.cap || this.livePos[rec] < 0) return;
    if (this.onRemove !== null) this.onRemove(rec, reason);
    const k = this.eSrc[rec * 2] | 0;
    const n = this.perSource.get(k);
    if (n <= 1) this.perSource.delete(k);
    else this.perSource.set(k, n - 1);
    this.unlink(rec * 2);
    this.unlink(rec * 2 + 1);
    const pos = this.livePos[rec];
    const last = this.live[--this.liveCount];
    this.live[pos] = last;
    this.livePos[last] = pos;
    this.livePos[rec] = -1;
    this.freeRecs[this.freeCount++] = rec;
  }

  isLive(rec: number): boolean {
    return rec >= 0 && rec < this.cap && this.livePos[rec] >= 0;
  }

  /** Reap every record whose timer has run out; returns how many. O(live sessions). */
  expire(now: number): number {
    let n = 0;
    for (let i = this.liveCount - 1; i >= 0; i--) {
      const rec = this.live[i];
      if (this.expires[rec] <= now) {
        this.remove(rec, REMOVE_EXPIRED);
        n++;
      }
      // remove() swaps the last live record into position i; we walk downwards, so that
      // record (from above i) was already visited.
    }
    return n;
  }

  /** Remove every record that has `addr` in any of its tuples (a floating IP went away). */
  flushAddress(addr: number): number {
    addr >>>= 0; // compared with the uint32 arrays' elements
    let n = 0;
    for (let i = this.liveCount - 1; i >= 0; i--) {
      const rec = this.live[i];
      const f = rec * 2;
      if ((this.eProto[f] & PK_IPV6) !== 0) continue; // an IPv6 entry's words are digests
      if (this.eSrc[f] === addr || this.eDst[f] === addr || this.xSrc[f] === addr || this.xDst[f] === addr) {
        this.remove(rec, REMOVE_FLUSHED);
        n++;
      }
    }
    return n;
  }

  flushAll(): void {
    for (let i = this.liveCount - 1; i >= 0; i--) this.remove(this.live[i], REMOVE_FLUSHED);
  }

  /** Records currently live, for introspection. */
  liveRecords(): number[] {
    return Array.from(this.live.subarray(0, this.liveCount));
  }

  private setEntry(e: number, proto: number, src: number, dst: number, ports: number, ns: number, nd: number, np: number): void {
    this.eProto[e] = proto;
    this.eSrc[e] = src;
    this.eDst[e] = dst;
    this.ePorts[e] = ports;
    this.xSrc[e] = ns;
    this.xDst[e] = nd;
    this.xPorts[e] = np;
    this.ePackets[e] = 0;
    const h = tupleHash(proto, src, dst, ports);
    this.eHash[e] = h;
    this.link(e, h);
  }

  private link(e: number, h: number): void {
    const bk = this.buckets;
    const m = this.bmask;
    let i = h & m;
    while (bk[i] >= 0) i = (i + 1) & m;
    bk[i] = e;
  }

  private unlink(e: number): void {
    const bk = this.buckets;
    const m = this.bmask;
    let i = this.eHash[e] & m;
    while (bk[i] !== e) {
      if (bk[i] < 0) return; // not linked (cannot happen for a live record)
      i = (i + 1) & m;
    }
    let hole = i;
    let j = i;
    for (;;) {
      j = (j + 1) & m;
      const x = bk[j];
      if (x < 0) break;
      const home = this.eHash[x] & m;
      if (((j - home) & m) >= ((j - hole) & m)) {
        bk[hole] = x;
        hole = j;
      }
    }
    bk[hole] = -1;
  }

  /**
   * Grow to `n` records: copy every array, relink live entries into a bucket array twice the
   * entry count, and put the new records on the free list (taken lowest first).
   */
  private resize(n: number): void {
    const old = this.cap;
    const ne = n * 2;
    const grow = <T extends { set(a: ArrayLike<number>): void }>(mk: (len: number) => T, prev: T | undefined, len: number): T => {
      const a = mk(len);
      if (prev !== undefined) a.set(prev as unknown as ArrayLike<number>);
      return a;
    };
    this.eProto = grow((l) => new Uint32Array(l), this.eProto, ne);
    this.eSrc = grow((l) => new Uint32Array(l), this.eSrc, ne);
    this.eDst = grow((l) => new Uint32Array(l), this.eDst, ne);
    this.ePorts = grow((l) => new Uint32Array(l), this.ePorts, ne);
    this.eHash = grow((l) => new Int32Array(l), this.eHash, ne);
    this.xSrc = grow((l) => new Uint32Array(l), this.xSrc, ne);
    this.xDst = grow((l) => new Uint32Array(l), this.xDst, ne);
    this.xPorts = grow((l) => new Uint32Array(l), this.xPorts, ne);
    this.ePackets = grow((l) => new Float64Array(l), this.ePackets, ne);
    this.state = grow((l) => new Uint8Array(l), this.state, n);
    this.finBits = grow((l) => new Uint8Array(l), this.finBits, n);
    this.expires = grow((l) => new Float64Array(l), this.expires, n);
    this.created = grow((l) => new Float64Array(l), this.created, n);
    this.cflags = grow((l) => new Uint8Array(l), this.cflags, n);
    this.mark = grow((l) => new Uint32Array(l), this.mark, n);
    this.label = grow((l) => new Uint32Array(l), this.label, n * 4);
    const nt = this.tcpOn ? ne : 0;
    this.tSeqLo = grow((l) => new Uint32Array(l), this.tSeqLo, nt);
    this.tSeqHi = grow((l) => new Uint32Array(l), this.tSeqHi, nt);
    this.tMaxWin = grow((l) => new Uint32Array(l), this.tMaxWin, nt);
    this.tWscale = grow((l) => new Uint8Array(l), this.tWscale, nt);
    this.tStarted = grow((l) => new Uint8Array(l), this.tStarted, nt);
    if (this.a6 !== null) this.a6 = grow((l) => new Uint32Array(l), this.a6, ne * 8);
    this.live = grow((l) => new Int32Array(l), this.live, n);
    const lp = new Int32Array(n).fill(-1);
    if (this.livePos !== undefined) lp.set(this.livePos);
    this.livePos = lp;
    const fr = new Int32Array(n);
    if (this.freeRecs !== undefined) fr.set(this.freeRecs.subarray(0, this.freeCount));
    for (let i = n - 1; i >= old; i--) fr[this.freeCount++] = i;
    this.freeRecs = fr;
    let nb = 16;
    while (nb < ne * 2) nb <<= 1;
    this.buckets = new Int32Array(nb).fill(-1);
    this.bmask = nb - 1;
    this.cap = n;
    for (let i = 0; i < this.liveCount; i++) {
      const rec = this.live[i];
      this.link(rec * 2, this.eHash[rec * 2]);
      this.link(rec * 2 + 1, this.eHash[rec * 2 + 1]);
    }
  }
}


/**
 * The ports word with its halves swapped, as int32 bits (what the table compares and stores):
 * as uint32, one of 2^31 or more returned from a call V8 does not inline is a heap number.
 */
export function swapPorts(p: number): number {
  return (p << 16) | (p >>> 16);
}

/**
 * 32-bit digest of a 128-bit address (the words most significant first): what an IPv6 entry
 * keeps in eSrc/eDst. Collisions only cost a comparison of the full address. The int32 bits
 * (the table compares bits): half of all digests are 2^31 or more, a heap number as uint32
 * returned from a call V8 does not inline (per IPv6 packet on the ct() path).
 */
export function addrDigest(w0: number, w1: number, w2: number, w3: number): number {
  let h = Math.imul(w0 ^ 0x7f4a7c15, 0x9e3779b1);
  h = Math.imul(h ^ (h >>> 16) ^ w1, 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13) ^ w2, 0xc2b2ae35);
  h = Math.imul(h ^ (h >>> 16) ^ w3, 0x27d4eb2f);
  return h ^ (h >>> 15);
}

/**
 * Mix of the 5-tuple (murmur3-style multiply/xorshift), int32. Not uint32: half of all hashes
 * are at or above 2^31, where `>>> 0` yields a heap number; optimized code that had only met
 * hashes below it deoptimizes ("lost precision") at the first connection whose hash is not.
 */
export function tupleHash(proto: number, src: number, dst: number, ports: number): number {
  let h = Math.imul(src ^ 0x9e3779b9, 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 15) ^ dst, 0xc2b2ae35);
  h = Math.imul(h ^ (h >>> 13) ^ ports, 0x27d4eb2f);
  h = Math.imul(h ^ (h >>> 16) ^ proto, 0x85ebca6b);
  return h ^ (h >>> 15);
}
