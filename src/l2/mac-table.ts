/**
 * Per-bridge MAC learning table (OVS `mac-learning.c`): (VLAN, MAC) → OpenFlow port, with
 * aging and a size limit. Open addressing with linear probing over typed arrays: a lookup is
 * a few array reads and no allocation.
 *
 * At the size limit a new MAC evicts the least recently seen entry within its probe window
 * (bounded work per packet even under a MAC flood; OVS evicts from the port with the most
 * entries — same intent: keep learning new stations, never grow).
 */

export const DEFAULT_AGING_MS = 300_000;
export const DEFAULT_MAX_ENTRIES = 8192;

const EMPTY = 0;
const USED = 1;
const TOMB = 2;
/** How far an insert may probe before it gives up / evicts (keeps per-packet work bounded). */
const MAX_PROBE = 32;

export type MacEvent =
  | { type: 'learned'; vlan: number; mac: number; port: number }
  | { type: 'moved'; vlan: number; mac: number; port: number; from: number }
  | { type: 'aged'; vlan: number; mac: number; port: number }
  | { type: 'evicted'; vlan: number; mac: number; port: number };

export interface MacEntry {
  vlan: number;
  mac: number;
  port: number;
  ageMs: number;
}

export class MacTable {
  agingMs: number;
  readonly maxEntries: number;
  private readonly cap: number; // power of two, >= 2 * maxEntries
  private readonly state: Uint8Array;
  private readonly macHi: Uint16Array;
  private readonly macLo: Uint32Array;
  private readonly vlan: Uint16Array;
  private readonly port: Uint32Array;
  private readonly seen: Float64Array;
  private count = 0;
  /** Where the next sweepSome() starts (it goes round the table a slice per call). */
  private sweepAt = 0;
  /** New stations that met a full table (or a full probe window): each evicted an older entry, or was not learnt. */
  fullHits = 0;
  /** Called on learn/move/age/evict; null when nobody listens (the usual, fast case). */
  onEvent: ((e: MacEvent) => void) | null = null;

  constructor(opts: { agingMs?: number; maxEntries?: number } = {}) {
    this.agingMs = opts.agingMs ?? DEFAULT_AGING_MS;
    this.maxEntries = opts.maxEntries ?? DEFAULT_MAX_ENTRIES;
    if (!(this.maxEntries >= 1)) throw new RangeError('mac table: maxEntries must be >= 1');
    if (!(this.agingMs >= 1000)) throw new RangeError('mac table: aging must be >= 1 s (OVS minimum is 15 s)');
    let cap = 16;
    while (cap < this.maxEntries * 2) cap *= 2;
    this.cap = cap;
    this.state = new Uint8Array(cap);
    this.macHi = new Uint16Array(cap);
    this.macLo = new Uint32Array(cap);
    this.vlan = new Uint16Array(cap);
    this.port = new Uint32Array(cap);
    this.seen = new Float64Array(cap);
  }

  get size(): number {
    return this.count;
  }

  private hash(vlan: number, hi: number, lo: number): number {
    // Multiplicative mixing of the three parts; Math.imul keeps it in int32.
    let h = Math.imul(lo ^ (hi << 16) ^ vlan, 0x9e3779b1);
    h ^= h >>> 15;
    h = Math.imul(h ^ vlan, 0x85ebca6b);
    h ^= h >>> 13;
    return h & (this.cap - 1);
  }

  /** Port for (vlan, mac) if known and not expired at `now`; -1 otherwise. */
  lookup(vlan: number, hi: number, lo: number, now: number): number {
    const mask = this.cap - 1;
    let i = this.hash(vlan, hi, lo);
    for (let n = 0; n < MAX_PROBE; n++, i = (i + 1) & mask) {
      const st = this.state[i];
      if (st === EMPTY) return -1;
      if (st === USED && this.macLo[i] === lo && this.macHi[i] === hi && this.vlan[i] === vlan) {
        return now - this.seen[i] < this.agingMs ? this.port[i] : -1;
      }
    }
    return -1;
  }

  /** Record that (vlan, mac) was seen on `port` at `now`. */
  learn(vlan: number, hi: number, lo: number, port: number, now: number): void {
    const mask = this.cap - 1;
    let i = this.hash(vlan, hi, lo);
    let free = -1;
    let oldest = -1;
    for (let n = 0; n < MAX_PROBE; n++, i = (i + 1) & mask) {
      const st = this.state[i];
      if (st === USED) {
        if (this.macLo[i] === lo && this.macHi[i] === hi && this.vlan[i] === vlan) {
          if (this.port[i] !== port) {
            const from = this.port[i];
            this.port[i] = port;
            if (this.onEvent) this.onEvent({ type: 'moved', vlan, mac: hi * 0x100000000 + lo, port, from });
          }
          this.seen[i] = now;
          return;
        }
        if (oldest < 0 || this.seen[i] < this.seen[oldest]) oldest = i;
      } else {
        if (free < 0) free = i;
        // Not there (an entry is never stored past an EMPTY of its chain). When the table is
        // full, keep probing the window for a victim: stopping here learned nothing whenever
        // the chain began with an empty slot (40 of 100 new MACs at the limit).
        if (st === EMPTY && this.count < this.maxEntries) break;
      }
    }
    const full = this.count >= this.maxEntries;
    if (full || free < 0) {
      // Full (or a long probe run): evict the least recently seen entry nearby.
      this.fullHits++;
      if (oldest < 0) return;
      if (this.onEvent) this.onEvent({ type: 'evicted', vlan: this.vlan[oldest], mac: this.macHi[oldest] * 0x100000000 + this.macLo[oldest], port: this.port[oldest] });
      this.state[oldest] = TOMB;
      this.count--;
    }
    // The first free slot of the chain (before any EMPTY, so lookups reach it), else the
    // victim's own slot (then the whole window before it is in use).
    const at = free >= 0 ? free : oldest;
    this.state[at] = USED;
    this.macHi[at] = hi;
    this.macLo[at] = lo;
    this.vlan[at] = vlan;
    this.port[at] = port;
    this.seen[at] = now;
    this.count++;
    if (this.onEvent) this.onEvent({ type: 'learned', vlan, mac: hi * 0x100000000 + lo, port });
  }

  /** Remove every entry older than the aging time; returns how many. */
  expire(now: number): number {
    return this.sweep(now, 0, this.cap);
  }

  /**
   * The housekeeping tick's expiry: one slice of the table per call, going round it in
   * agingMs / 16 calls (a call a second: an entry is removed at most 1/16 of the aging time
   * late; 18 s of the default 300), so a tick costs ~900 slots instead of the whole 16,384 and
   * does not hold up frames that arrive meanwhile. Nothing forwards on a late entry: lookup()
   * and entries() already treat it as gone. Returns how many were removed.
   */
  expireSome(now: number): number {
    const calls = Math.max(1, Math.floor(this.agingMs / 16_000));
    const slice = Math.ceil(this.cap / calls);
    if (this.count === 0) return 0;
    const from = this.sweepAt;
    const to = Math.min(this.cap, from + slice);
    this.sweepAt = to === this.cap ? 0 : to;
    return this.sweep(now, from, to);
  }

  private sweep(now: number, from: number, to: number): number {
    let n = 0;
    for (let i = from; i < to; i++) {
      if (this.state[i] === USED && now - this.seen[i] >= this.agingMs) {
        this.state[i] = TOMB;
        this.count--;
        n++;
        if (this.onEvent) this.onEvent({ type: 'aged', vlan: this.vlan[i], mac: this.macHi[i] * 0x100000000 + this.macLo[i], port: this.port[i] });
      }
    }
    if (n > 0) this.compactIfNeeded();
    return n;
  }

  /** Forget everything learned on a port (it was deleted or went down), as OVS does. */
  flushPort(port: number): number {
    let n = 0;
    for (let i = 0; i < this.cap; i++) {
      if (this.state[i] === USED && this.port[i] === port) {
        this.state[i] = TOMB;
        this.count--;
        n++;
      }
    }
    if (n > 0) this.compactIfNeeded();
    return n;
  }

  flush(): void {
    this.state.fill(EMPTY);
    this.count = 0;
  }

  /** Rebuild when tombstones make probe runs long (rare: after big expiry sweeps). */
  private compactIfNeeded(): void {
    let tombs = 0;
    for (let i = 0; i < this.cap; i++) if (this.state[i] === TOMB) tombs++;
    if (tombs < this.cap / 4) return;
    const keep: MacEntry[] = [];
    const seen: number[] = [];
    for (let i = 0; i < this.cap; i++) {
      if (this.state[i] === USED) {
        keep.push({ vlan: this.vlan[i], mac: this.macHi[i] * 0x100000000 + this.macLo[i], port: this.port[i], ageMs: 0 });
        seen.push(this.seen[i]);
      }
    }
    const ev = this.onEvent;
    this.onEvent = null;
    this.flush();
    keep.forEach((e, j) => this.learn(e.vlan, Math.floor(e.mac / 0x100000000), e.mac >>> 0, e.port, seen[j]));
    this.onEvent = ev;
  }

  /** Snapshot for `tvs fdb-show` (allocates; control plane only). */
  entries(now: number): MacEntry[] {
    const out: MacEntry[] = [];
    for (let i = 0; i < this.cap; i++) {
      if (this.state[i] === USED && now - this.seen[i] < this.agingMs) {
        out.push({ vlan: this.vlan[i], mac: this.macHi[i] * 0x100000000 + this.macLo[i], port: this.port[i], ageMs: now - this.seen[i] });
      }
    }
    out.sort((a, b) => a.port - b.port || a.vlan - b.vlan || a.mac - b.mac);
    return out;
  }
}
