/**
 * Per-bridge MAC learning table (OVS `mac-learning.c`): (VLAN, MAC) → OpenFlow port, with
 * aging and a size limit. Open addressing with linear probing over typed arrays: a lookup is
 * a few array reads and no allocation.
 *
 * At the size limit a new MAC evicts the least recently seen entry within its probe window
 * (bounded work per packet even under a MAC flood; OVS evicts from the port with the most
 * entries — same intent: keep learning new stations, never grow).
 *
 * Aging: the entries are also on a list in the order they were last seen (two Int32Array
 * links, so a refresh moves an entry to the tail without allocating), so the aged ones are
 * always at its head. The tick removes them from there, touching only what aged; between
 * ticks an aged entry is already gone for every purpose (as in OVS, where an expired entry no
 * longer exists): lookup() misses it, learn() re-learns it as a new station (a 'learned'
 * event) and reuses its slot instead of evicting a live entry as if the table were full, and
 * sizeAt()/entries() do not count it.
 */

export const DEFAULT_AGING_MS = 300_000;
export const DEFAULT_MAX_ENTRIES = 8192;

const EMPTY = 0;
const USED = 1;
const TOMB = 2;
/** How far an insert may probe before it gives up / evicts (keeps per-packet work bounded). */
const MAX_PROBE = 32;
/** Most entries one housekeeping tick removes (the rest, already invisible, go on the next ticks). */
const EXPIRE_PER_TICK = 1024;
/** End of the age list. */
const NIL = -1;

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
  /** Low 32 bits of the MAC as int32 bits (a Smi: see lookupNow). */
  private readonly macLo: Int32Array;
  private readonly vlan: Uint16Array;
  private readonly port: Uint32Array;
  private readonly seen: Float64Array;
  /** The age list: least recently seen at `head`, most recently seen at `tail`. */
  private readonly older: Int32Array;
  private readonly newer: Int32Array;
  private head = NIL;
  private tail = NIL;
  private count = 0;
  private tombs = 0;
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
    this.macLo = new Int32Array(cap);
    this.vlan = new Uint16Array(cap);
    this.port = new Uint32Array(cap);
    this.seen = new Float64Array(cap);
    this.older = new Int32Array(cap);
    this.newer = new Int32Array(cap);
  }

  /**
   * Entries held, including any that aged since the last tick and are not removed yet (they
   * are invisible to lookups and learning); sizeAt() is the live count.
   */
  get size(): number {
    return this.count;
  }

  /** Entries not aged at `now` (what `tvs_mac_table_entries` reports). Walks only the aged ones. */
  sizeAt(now: number): number {
    let n = this.count;
    for (let i = this.head; i !== NIL && now - this.seen[i] >= this.agingMs; i = this.newer[i]) n--;
    return n;
  }

  private hash(vlan: number, hi: number, lo: number): number {
    // Multiplicative mixing of the three parts; Math.imul keeps it in int32.
    let h = Math.imul(lo ^ (hi << 16) ^ vlan, 0x9e3779b1);
    h ^= h >>> 15;
    h = Math.imul(h ^ vlan, 0x85ebca6b);
    h ^= h >>> 13;
    return h & (this.cap - 1);
  }

  /**
   * The time lookupNow/learnNow work at (ms). A field, not an argument: NORMAL sets it from the
   * batch clock for every frame, and a clock value is a double, which V8 boxes in a fresh heap
   * number when it is passed to a call it does not inline (one per frame, measured with the
   * sampling heap profiler on a running switch).
   */
  now = 0;

  /** Port for (vlan, mac) if known and not expired at `now`; -1 otherwise. */
  lookup(vlan: number, hi: number, lo: number, now: number): number {
    this.now = now;
    return this.lookupNow(vlan, hi, lo);
  }

  /**
   * `lookup` at `this.now` (the hot path). `lo` may be given as uint32 or as its int32 bits:
   * NORMAL passes `lo | 0`, which is always a small integer, where a uint32 of 2^31 or more (half
   * of all MACs) would be boxed on the way in like a double.
   */
  lookupNow(vlan: number, hi: number, lo: number): number {
    lo |= 0;
    const now = this.now;
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
    this.now = now;
    this.learnNow(vlan, hi, lo, port);
  }

  /** `learn` at `this.now` (the hot path; `lo` as in lookupNow). */
  learnNow(vlan: number, hi: number, lo: number, port: number): void {
    lo |= 0;
    const now = this.now;
    const mask = this.cap - 1;
    let i = this.hash(vlan, hi, lo);
    let free = -1;
    let oldest = -1;
    for (let n = 0; n < MAX_PROBE; n++, i = (i + 1) & mask) {
      const st = this.state[i];
      if (st === USED) {
        if (this.macLo[i] === lo && this.macHi[i] === hi && this.vlan[i] === vlan) {
          if (now - this.seen[i] >= this.agingMs) {
            // Aged but not removed yet: it expired, and this is a new station in its slot.
            this.age(i);
            this.place(i, vlan, hi, lo, port, now);
            if (this.onEvent) this.onEvent({ type: 'learned', vlan, mac: hi * 0x100000000 + (lo >>> 0), port });
            return;
          }
          if (this.port[i] !== port) {
            const from = this.port[i];
            this.port[i] = port;
            if (this.onEvent) this.onEvent({ type: 'moved', vlan, mac: hi * 0x100000000 + (lo >>> 0), port, from });
          }
          this.seen[i] = now;
          if (i !== this.tail) {
            this.unlink(i);
            this.append(i);
          }
          return;
        }
        // An aged entry of another station is as good as a free slot (reclaimed below, once
        // this station is known not to be further along the chain).
        if (free < 0 && now - this.seen[i] >= this.agingMs) free = i;
        else if (oldest < 0 || this.seen[i] < this.seen[oldest]) oldest = i;
      } else {
        if (free < 0) free = i;
        // Not there (an entry is never stored past an EMPTY of its chain). When the table is
        // full, keep probing the window for a victim: stopping here learned nothing whenever
        // the chain began with an empty slot (40 of 100 new MACs at the limit).
        if (st === EMPTY && this.count < this.maxEntries) break;
      }
    }
    if (free >= 0 && this.state[free] === USED) this.age(free);
    // Aged entries elsewhere do not fill the table either: remove one for this station.
    if (this.count >= this.maxEntries && this.head !== NIL && now - this.seen[this.head] >= this.agingMs) this.age(this.head);
    if (free < 0 && oldest >= 0 && this.state[oldest] !== USED) free = oldest; // it was that aged one
    if (this.count >= this.maxEntries || free < 0) {
      // Full (or a long probe run): evict the least recently seen entry nearby.
      this.fullHits++;
      if (oldest < 0) return;
      if (this.onEvent) this.onEvent({ type: 'evicted', vlan: this.vlan[oldest], mac: this.macHi[oldest] * 0x100000000 + (this.macLo[oldest] >>> 0), port: this.port[oldest] });
      this.remove(oldest);
    }
    // The first free slot of the chain (before any EMPTY, so lookups reach it), else the
    // victim's own slot (then the whole window before it is in use).
    this.place(free >= 0 ? free : oldest, vlan, hi, lo, port, now);
    if (this.onEvent) this.onEvent({ type: 'learned', vlan, mac: hi * 0x100000000 + (lo >>> 0), port });
  }

  /** Store a new entry in slot `at` (not USED) as the most recently seen. */
  private place(at: number, vlan: number, hi: number, lo: number, port: number, seen: number): void {
    if (this.state[at] === TOMB) this.tombs--;
    this.state[at] = USED;
    this.macHi[at] = hi;
    this.macLo[at] = lo;
    this.vlan[at] = vlan;
    this.port[at] = port;
    this.seen[at] = seen;
    this.count++;
    this.append(at);
  }

  /** Free slot `i` (USED), leaving a tombstone so the chains through it stay intact. */
  private remove(i: number): void {
    this.unlink(i);
    this.state[i] = TOMB;
    this.tombs++;
    this.count--;
  }

  /** Remove aged entry `i`, with its 'aged' event. */
  private age(i: number): void {
    this.remove(i);
    if (this.onEvent) this.onEvent({ type: 'aged', vlan: this.vlan[i], mac: this.macHi[i] * 0x100000000 + (this.macLo[i] >>> 0), port: this.port[i] });
  }

  private append(i: number): void {
    this.older[i] = this.tail;
    this.newer[i] = NIL;
    if (this.tail === NIL) this.head = i;
    else this.newer[this.tail] = i;
    this.tail = i;
  }

  private unlink(i: number): void {
    const o = this.older[i];
    const n = this.newer[i];
    if (o === NIL) this.head = n;
    else this.newer[o] = n;
    if (n === NIL) this.tail = o;
    else this.older[n] = o;
  }

  /** Remove every entry older than the aging time; returns how many. */
  expire(now: number): number {
    return this.expireUpTo(now, Infinity);
  }

  /**
   * The housekeeping tick's expiry: removes the aged entries from the head of the age list,
   * so a tick touches only what aged (no scan of the table), and at most EXPIRE_PER_TICK of
   * them, so a mass expiry does not hold up frames that arrive meanwhile (the rest are
   * already invisible and go on the next ticks). Returns how many were removed.
   */
  expireSome(now: number): number {
    return this.expireUpTo(now, EXPIRE_PER_TICK);
  }

  private expireUpTo(now: number, max: number): number {
    let n = 0;
    while (n < max && this.head !== NIL && now - this.seen[this.head] >= this.agingMs) {
      this.age(this.head);
      n++;
    }
    if (n > 0) this.compactIfNeeded();
    return n;
  }

  /** Forget everything learned on a port (it was deleted or went down), as OVS does. */
  flushPort(port: number): number {
    let n = 0;
    for (let i = 0; i < this.cap; i++) {
      if (this.state[i] === USED && this.port[i] === port) {
        this.remove(i);
        n++;
      }
    }
    if (n > 0) this.compactIfNeeded();
    return n;
  }

  flush(): void {
    this.state.fill(EMPTY);
    this.count = 0;
    this.tombs = 0;
    this.head = NIL;
    this.tail = NIL;
  }

  /** Rebuild when tombstones make probe runs long (rare: after big expiry sweeps). */
  private compactIfNeeded(): void {
    if (this.tombs < this.cap / 4) return;
    // Oldest first, so the rebuilt age list keeps its order.
    const keep: number[] = [];
    for (let i = this.head; i !== NIL; i = this.newer[i]) keep.push(this.vlan[i], this.macHi[i], this.macLo[i], this.port[i], this.seen[i]);
    this.flush();
    const mask = this.cap - 1;
    for (let j = 0; j < keep.length; j += 5) {
      const [vlan, hi, lo, port, seen] = [keep[j], keep[j + 1], keep[j + 2], keep[j + 3], keep[j + 4]];
      // Its chain's first EMPTY (no tombs now). A window with none (practically never, at
      // most half the slots in use) gives up its least recently seen entry, as learn() does.
      let i = this.hash(vlan, hi, lo);
      let at = -1;
      let oldest = -1;
      for (let n = 0; n < MAX_PROBE; n++, i = (i + 1) & mask) {
        if (this.state[i] === EMPTY) {
          at = i;
          break;
        }
        if (oldest < 0 || this.seen[i] < this.seen[oldest]) oldest = i;
      }
      if (at < 0) {
        this.remove(oldest);
        at = oldest;
      }
      this.place(at, vlan, hi, lo, port, seen);
    }
  }

  /** Snapshot for `tvs fdb-show` (allocates; control plane only). */
  entries(now: number): MacEntry[] {
    const out: MacEntry[] = [];
    for (let i = 0; i < this.cap; i++) {
      if (this.state[i] === USED && now - this.seen[i] < this.agingMs) {
        out.push({ vlan: this.vlan[i], mac: this.macHi[i] * 0x100000000 + (this.macLo[i] >>> 0), port: this.port[i], ageMs: now - this.seen[i] });
      }
    }
    out.sort((a, b) => a.port - b.port || a.vlan - b.vlan || a.mac - b.mac);
    return out;
  }
}
