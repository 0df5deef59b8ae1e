/**
 * Connection tracking for the router's NAT (Click `IPRewriterFlow`): one RECORD per connection
 * holding two ENTRIES — the original direction and the reply direction — in the same hash
 * table. Each entry is "packets matching this 5-tuple get rewritten to that 4-tuple", so a
 * lookup is the only per-packet work in either direction.
 *
 *   entry e = rec*2 + dir   (dir 0 = original / forward, 1 = reply / reverse)
 *   match:   eProto (proto | icmpType<<8), eSrc, eDst, ePorts (sport<<16 | dport)
 *   rewrite: xSrc, xDst, xPorts
 *
 * ICMP echo: both "ports" hold the echo id, and the ICMP type is part of the protocol key, so
 * the reverse of an echo REQUEST entry only matches echo REPLIES (a ping of the gateway address
 * from outside never hits a SNAT'd ping that happens to use the same id).
 *
 * Everything is preallocated typed arrays sized by `maxSessions`: memory is bounded, nothing is
 * allocated per packet or per session. The bucket array is open addressing with linear probing
 * at load <= 1/2 (buckets = 2 x entries), deletion by backward shift.
 *
 * Timeouts follow Linux nf_conntrack's shape (per protocol and TCP state), with an injectable
 * clock: `expire(now)` reaps, and the router also treats an entry found past its expiry as gone.
 */

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

/** Port pools for SNAT to the gateway address, one per protocol that has ports or ids. */
export const POOL_TCP = 0;
export const POOL_UDP = 1;
export const POOL_ICMP = 2;

export const CREATE_FULL = -1;
export const CREATE_CONFLICT = -2;

export const REMOVE_EXPIRED = 0;
export const REMOVE_FLUSHED = 1;

const TCP_FIN = 0x01;
const TCP_SYN = 0x02;
const TCP_RST = 0x04;
const TCP_ACK = 0x10;

export interface ConntrackOptions {
  maxSessions?: number;
  portMin?: number;
  portMax?: number;
  timeouts?: Partial<NatTimeouts>;
}

export class Conntrack {
  readonly max: number;
  readonly portMin: number;
  readonly portMax: number;

  // ---- entries (2 per record) ----
  readonly eProto: Uint16Array;
  readonly eSrc: Uint32Array;
  readonly eDst: Uint32Array;
  readonly ePorts: Uint32Array;
  private readonly eHash: Uint32Array;
  readonly xSrc: Uint32Array;
  readonly xDst: Uint32Array;
  readonly xPorts: Uint32Array;
  readonly ePackets: Float64Array;

  // ---- records ----
  readonly state: Uint8Array;
  private readonly finBits: Uint8Array;
  readonly expires: Float64Array;
  readonly created: Float64Array;
  /** Pool the record took a port from (-1 none) and the port, returned on removal. */
  private readonly pool: Int8Array;
  private readonly port: Uint16Array;

  /** Dense list of live records (for expire/flush/show), with each record's position in it. */
  private readonly live: Int32Array;
  private readonly livePos: Int32Array;
  private liveCount = 0;
  private readonly freeRecs: Int32Array;
  private freeCount: number;

  private readonly buckets: Int32Array;
  private readonly bmask: number;

  /** Port pools: a byte per port, a free count, and a rotating cursor. */
  private readonly portUsed: Uint8Array[];
  private readonly portFree: Int32Array;
  private readonly portCursor: Int32Array;

  /** Timeout (ms) per state, indexed by state id. */
  readonly timeout = new Float64Array(STATE_NAMES.length);

  /** Called when a record goes away (before its slots are reused). Control plane only. */
  onRemove: ((rec: number, reason: number) => void) | null = null;

  constructor(opts: ConntrackOptions = {}) {
    const max = opts.maxSessions ?? 65536;
    if (!Number.isInteger(max) || max < 1 || max > 1 << 22) throw new RangeError(`conntrack: maxSessions must be 1..${1 << 22}, got ${max}`);
    const pmin = opts.portMin ?? 1024;
    const pmax = opts.portMax ?? 65535;
    if (!Number.isInteger(pmin) || !Number.isInteger(pmax) || pmin < 1 || pmax > 65535 || pmin > pmax) {
      throw new RangeError(`conntrack: port range must be within 1..65535, got ${pmin}-${pmax}`);
    }
    this.max = max;
    this.portMin = pmin;
    this.portMax = pmax;
    const ne = max * 2;
    this.eProto = new Uint16Array(ne);
    this.eSrc = new Uint32Array(ne);
    this.eDst = new Uint32Array(ne);
    this.ePorts = new Uint32Array(ne);
    this.eHash = new Uint32Array(ne);
    this.xSrc = new Uint32Array(ne);
    this.xDst = new Uint32Array(ne);
    this.xPorts = new Uint32Array(ne);
    this.ePackets = new Float64Array(ne);
    this.state = new Uint8Array(max);
    this.finBits = new Uint8Array(max);
    this.expires = new Float64Array(max);
    this.created = new Float64Array(max);
    this.pool = new Int8Array(max).fill(-1);
    this.port = new Uint16Array(max);
    this.live = new Int32Array(max);
    this.livePos = new Int32Array(max).fill(-1);
    this.freeRecs = new Int32Array(max);
    for (let i = 0; i < max; i++) this.freeRecs[i] = max - 1 - i;
    this.freeCount = max;
    let nb = 16;
    while (nb < ne * 2) nb <<= 1;
    this.buckets = new Int32Array(nb).fill(-1);
    this.bmask = nb - 1;
    this.portUsed = [new Uint8Array(65536), new Uint8Array(65536), new Uint8Array(65536)];
    const range = pmax - pmin + 1;
    this.portFree = new Int32Array([range, range, range]);
    this.portCursor = new Int32Array([pmin, pmin, pmin]);
    this.setTimeouts({ ...DEFAULT_TIMEOUTS, ...opts.timeouts });
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

  /** Entry matching the tuple, or -1. Hot path. */
  lookup(proto: number, src: number, dst: number, ports: number): number {
    const h = tupleHash(proto, src, dst, ports);
    const bk = this.buckets;
    const m = this.bmask;
    let i = h & m;
    for (;;) {
      const e = bk[i];
      if (e < 0) return -1;
      if (this.eHash[e] === h && this.eSrc[e] === src && this.eDst[e] === dst && this.ePorts[e] === ports && this.eProto[e] === proto) return e;
      i = (i + 1) & m;
    }
  }

  /**
   * New record from the original-direction tuple and its rewrite; the reply entry is derived
   * (match = rewritten tuple reversed, rewrite = original tuple reversed). `replyProto` differs
   * from `proto` only for ICMP echo (request ↔ reply type). Returns the record, CREATE_FULL or
   * CREATE_CONFLICT (either tuple already present). `pool`/`port`: a port taken from a pool
   * (released with the record), or -1.
   */
  create(
    proto: number, src: number, dst: number, ports: number,
    nsrc: number, ndst: number, nports: number, replyProto: number,
    initState: number, now: number, pool: number, port: number,
  ): number {
    if (this.freeCount === 0) return CREATE_FULL;
    const rports = swapPorts(nports);
    if (this.lookup(proto, src, dst, ports) >= 0 || this.lookup(replyProto, ndst, nsrc, rports) >= 0) return CREATE_CONFLICT;
    const rec = this.freeRecs[--this.freeCount];
    const f = rec * 2;
    const r = f + 1;
    this.setEntry(f, proto, src, dst, ports, nsrc, ndst, nports);
    this.setEntry(r, replyProto, ndst, nsrc, rports, dst, src, swapPorts(ports));
    this.state[rec] = initState;
    this.finBits[rec] = 0;
    this.created[rec] = now;
    this.expires[rec] = now + this.timeout[initState];
    this.pool[rec] = pool;
    this.port[rec] = port < 0 ? 0 : port;
    this.livePos[rec] = this.liveCount;
    this.live[this.liveCount++] = rec;
    return rec;
  }

  /**
   * A packet matched entry `e`: advance the state machine and refresh the timer. `tcpFlags` is
   * the TCP flags byte (0 for other protocols). Hot path: a few array writes.
   */
  touch(e: number, tcpFlags: number, now: number): void {
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
    this.state[rec] = st;
    this.expires[rec] = now + this.timeout[st];
  }

  /** Initial state for a new record of this protocol and (TCP) flags. */
  static initialState(proto: number, tcpFlags: number): number {
    if (proto === 6) {
      // A SYN opens; anything else is picked up mid-stream as Linux does with tcp_loose=1
      // (a router restart must not cut established connections that keep sending).
      return (tcpFlags & (TCP_SYN | TCP_ACK)) === TCP_SYN ? S_TCP_SYN_SENT : S_TCP_ESTABLISHED;
    }
    if (proto === 17) return S_UDP;
    if ((proto & 0xff) === 1) return S_ICMP;
    return S_OTHER;
  }

  /** Remove a record: unlink both entries, return its port, report it. */
  remove(rec: number, reason: number): void {
    if (this.livePos[rec] < 0) return;
    if (this.onRemove !== null) this.onRemove(rec, reason);
    this.unlink(rec * 2);
    this.unlink(rec * 2 + 1);
    const p = this.pool[rec];
    if (p >= 0) {
      this.portUsed[p][this.port[rec]] = 0;
      this.portFree[p]++;
      this.pool[rec] = -1;
    }
    const pos = this.livePos[rec];
    const last = this.live[--this.liveCount];
    this.live[pos] = last;
    this.livePos[last] = pos;
    this.livePos[rec] = -1;
    this.freeRecs[this.freeCount++] = rec;
  }

  isLive(rec: number): boolean {
    return this.livePos[rec] >= 0;
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
    let n = 0;
    for (let i = this.liveCount - 1; i >= 0; i--) {
      const rec = this.live[i];
      const f = rec * 2;
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

  /**
   * Take a port from a pool, preferring `preferred` (keeping the source port when it is free,
   * as Linux does); -1 when the pool is exhausted. O(1) unless the range is nearly full.
   */
  allocPort(pool: number, preferred: number): number {
    if (this.portFree[pool] === 0) return -1;
    const used = this.portUsed[pool];
    let p = preferred;
    if (p < this.portMin || p > this.portMax || used[p] !== 0) {
      p = this.portCursor[pool];
      while (used[p] !== 0) p = p === this.portMax ? this.portMin : p + 1;
      this.portCursor[pool] = p === this.portMax ? this.portMin : p + 1;
    }
    used[p] = 1;
    this.portFree[pool]--;
    return p;
  }

  /** Give back a port taken by allocPort when the session could not be created. */
  freePort(pool: number, port: number): void {
    if (this.portUsed[pool][port] !== 0) {
      this.portUsed[pool][port] = 0;
      this.portFree[pool]++;
    }
  }

  portsFree(pool: number): number {
    return this.portFree[pool];
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
}

export function swapPorts(p: number): number {
  return ((p << 16) | (p >>> 16)) >>> 0;
}

/** Mix of the 5-tuple (murmur3-style multiply/xorshift), uint32. */
export function tupleHash(proto: number, src: number, dst: number, ports: number): number {
  let h = Math.imul(src ^ 0x9e3779b9, 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 15) ^ dst, 0xc2b2ae35);
  h = Math.imul(h ^ (h >>> 13) ^ ports, 0x27d4eb2f);
  h = Math.imul(h ^ (h >>> 16) ^ proto, 0x85ebca6b);
  return (h ^ (h >>> 15)) >>> 0;
}
