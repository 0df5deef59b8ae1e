/**
 * Pass cache: what one pass of a packet through the flow tables did, keyed by what decided it
 * (OVS's datapath flow cache keyed by recirc_id, in the executor's terms). A pass is the walk
 * from table 0, or from the table a ct(table=T) recirculates to, up to the end of the actions
 * or to that recirculation. Given the same input key and the same flow tables, a pass makes the
 * same lookups and runs the same actions (the executor is deterministic in the key), so the
 * cache stores the pass as a list of events and the executor replays it without a single
 * classifier lookup or resubmit:
 *
 *   LOOKUP  table, rule id (-1 = miss), and how much longer the frame was than at the pass's
 *           start (push/strip_vlan before it): the table and rule counters move exactly as the
 *           lookup would move them (dump-flows n_packets/n_bytes stay right)
 *   OP      rule id, pc: run that instruction of the rule's plan (the same executor function as
 *           the full walk: outputs, set_field, ct(), ...), with the resubmit-tail flag it had
 *
 * The event lists are interned as "programs": every connection of a security group makes the
 * same lookups and runs the same instructions, so thousands of entries share a handful of
 * programs (measured: with one list per entry, reading the lists of 2,048 entries in turn was
 * the costliest part of a replay — cache misses). A replay runs only the program's OPs; its
 * LOOKUPs are counted per program (packets, bytes at the pass's start) and added to the tables
 * and rules at the end of the batch (flushStats; the executor also flushes before a learn
 * action, the only thing that changes the tables mid-batch). The control plane reads counters
 * between batches, so it sees them exact.
 *
 * Keys (one word of header, then key words):
 *   a pass from table 0   header 0, then the packet words [0, BASE_WORDS) (or [0, PACKET_WORDS)
 *                         for IPv6/tunnel frames, as the EMC): on entry every pipeline word is
 *                         zero (the parse pass clears them), so these decide the pass
 *   a recirculated pass   header = serial of the entry of the pass that recirculated (unique
 *                         per insert), then the 12 ct words (ct_state .. ct_tp_dst) ct() wrote:
 *                         the packet's key at recirculation is a function of the previous pass's
 *                         key (its entry) plus what conntrack said; ct(nat) that translated is
 *                         never chained.
 *
 * What is never cached (the executor checks while recording): a pass that forks (ct(table=T)
 * that is not the packet's last action), one that ends by an abort (table full, headroom, depth
 * limits: conditions outside the key), one with more events than an entry holds, and one with
 * a learn action (it changes the tables the rest of the pass looks up). Trace and dry runs neither read nor fill.
 *
 * Invalidation is exact and free: every entry carries the flow tables' generation (the EMC's,
 * bumped by every add/delete/modify, learned flow and expiry) and stops matching when it moves.
 * Bounded: PASS_ENTRIES entries in four-way sets (a two-way cache thrashed: the handshake's
 * and the established packets' passes of 1,024 connections filled it); typed arrays only,
 * nothing allocates per packet.
 */
import { BASE_WORDS, KEY_SHIFT, K_CT_STATE, K_CT_TP_DST, K_DL_TYPE, K_TUN_FLAGS, PACKET_WORDS } from '../packet/flow-key';
import { ETH_P_IPV6 } from '../wire/ethernet';

export const PASS_ENTRIES = 8192;
const SET_MASK = PASS_ENTRIES / 4 - 1;
/** OP and LOOKUP events one entry holds (Neutron's two passes: 3 + 5 and 3 + 4). */
export const PASS_OPS = 16;
export const PASS_LOOKUPS = 16;
/** Header word + the longest key. */
const KW = 1 + PACKET_WORDS;
/**
 * One row per entry: word count, program, serial, the continuation, then
 * the header word and the key words — together, so a hit reads two or three cache lines
 * (measured: with one array per field a probe touched eight, and 2,048 live entries missed the
 * cache). Hash and generation are compact arrays beside it (a probe's and an eviction's first
 * test, one cache line for the four ways of a set).
 */
const R_NW = 0;
const R_PROG = 1;
const R_SERIAL = 2;
/**
 * The continuation: the last recirculated pass that followed this one — its ct words, program
 * (+1, 0 = none), entry and serial — so the usual second pass (same connection state as last
 * time) is found in the row the first pass just read, with no probe of its own.
 */
const R_CONT_PROG = 3;
const R_CONT_ENTRY = 4;
const R_CONT_SERIAL = 5;
const R_CONT_CT = 6; // ..17
const R_KEY = R_CONT_CT + 12;
const RW = 64;
const CT_WORDS = K_CT_TP_DST - K_CT_STATE + 1;

// OP event word A: table (8 bits) | EV_TAIL | pc << EV_PC_SHIFT; word B: rule id.
// LOOKUP event word A: table (8 bits); word B: rule id (-1 miss); word D: length delta.
export const EV_TABLE = 0xff;
/** OP: the executor's resubmit-tail flag when it ran. */
export const EV_TAIL = 0x200;
export const EV_PC_SHIFT = 12;

/** Entry fates (what the pass's first lookup decided besides its instructions). */
export const FATE_MISS = 1; // table miss: the packet is dropped
export const FATE_EXPLICIT_DROP = 2; // the first rule's actions are empty: an explicit drop

/** Where flushed counts go (the executor's per-rule arrays; they are replaced when they grow). */
export interface PassStatsSink {
  readonly tables: readonly ({ lookups: number; matched: number } | undefined)[];
  readonly nPackets: Float64Array;
  readonly nBytes: Float64Array;
  readonly used: Float64Array;
  /** The batch's time (ms) the rules' `used` take (a field: see packet/batch-clock.ts). */
  readonly now: number;
}

/** See PassCache.insertInvProb. */
export const DEFAULT_INSERT_INV_PROB = 16;

/** Distinct pass programs (linear probing over PROG_PROBE slots; none free: not cached). */
export const PASS_PROGRAMS = 1024;
const PROG_MASK = PASS_PROGRAMS - 1;
const PROG_PROBE = 8;

export class PassCache {
  /**
   * Entry rows (R_*). R_SERIAL is unique per insert (never 0): what a recirculated pass's key
   * (header word) chains to; R_PROG the program (valid while the entry is: both carry the same
   * generation).
   */
  readonly rows = new Uint32Array(PASS_ENTRIES * RW);
  /** Hash and generation of entry e at [2e] and [2e+1]: a set's four ways in 32 bytes. */
  private readonly hg = new Uint32Array(PASS_ENTRIES * 2);
  private victim = 0;
  private nextSerial = 1;
  hits = 0;
  misses = 0;
  inserts = 0;

  // Programs.
  private readonly pGen = new Uint32Array(PASS_PROGRAMS);
  private readonly pHash = new Uint32Array(PASS_PROGRAMS);
  readonly fate = new Uint8Array(PASS_PROGRAMS);
  readonly opN = new Uint8Array(PASS_PROGRAMS);
  readonly opA = new Int32Array(PASS_PROGRAMS * PASS_OPS);
  readonly opB = new Int32Array(PASS_PROGRAMS * PASS_OPS);
  private readonly lkN = new Uint8Array(PASS_PROGRAMS);
  private readonly lkA = new Int32Array(PASS_PROGRAMS * PASS_LOOKUPS);
  private readonly lkB = new Int32Array(PASS_PROGRAMS * PASS_LOOKUPS);
  private readonly lkD = new Int32Array(PASS_PROGRAMS * PASS_LOOKUPS);
  // Replays not yet flushed, per program, and the programs that have some.
  private readonly accPkts = new Uint32Array(PASS_PROGRAMS);
  private readonly accBytes = new Float64Array(PASS_PROGRAMS);
  private readonly touched = new Int32Array(PASS_PROGRAMS);
  nTouched = 0;

  // The key of the last probe that missed (inserted from here at the end of its pass).
  private readonly pk = new Uint32Array(KW);
  private pn = 0;
  private ph = 0;
  private pParent = -1;

  // The pass being recorded.
  private readonly rOpA = new Int32Array(PASS_OPS);
  private readonly rOpB = new Int32Array(PASS_OPS);
  private rOpN = 0;
  private readonly rLkA = new Int32Array(PASS_LOOKUPS);
  private readonly rLkB = new Int32Array(PASS_LOOKUPS);
  private readonly rLkD = new Int32Array(PASS_LOOKUPS);
  private rLkN = 0;
  private rFate = 0;
  /** The pass being recorded cannot be cached (see the header). */
  recBad = false;

  // A probe's hit: the entry, its serial (what a following pass chains to) and its program.
  hitEntry = -1;
  hitSerial = 0;
  hitProg = -1;

  /** Probe for a pass from table 0 of the packet in `slot` (a miss keeps the key for insert). */
  probeFirst(key: Uint32Array, slot: number, generation: number): boolean {
    const k = slot << KEY_SHIFT;
    const n = key[k + K_DL_TYPE] === ETH_P_IPV6 || key[k + K_TUN_FLAGS] !== 0 ? PACKET_WORDS : BASE_WORDS;
    const e = this.find(key, k, n, 0, generation);
    if (e < 0) {
      this.keep(key, k, n, 0, -1);
      return false;
    }
    this.hit(e);
    return true;
  }

  /**
   * Probe for the pass a ct(table=T) recirculation starts after the pass of entry `parent`
   * (serial `serial`): 1 hit, 0 miss (key kept for insert), -1 the parent entry is gone (the
   * pass cannot be chained: not cached).
   */
  probeRecirc(key: Uint32Array, slot: number, parent: number, serial: number, generation: number): number {
    const rows = this.rows;
    const pb = parent * RW;
    if (rows[pb + R_SERIAL] !== serial || this.hg[2 * parent + 1] !== generation) return -1;
    const k = (slot << KEY_SHIFT) + K_CT_STATE;
    const cp = rows[pb + R_CONT_PROG];
    if (cp !== 0) {
      let i = 0;
      while (i < CT_WORDS && rows[pb + R_CONT_CT + i] === key[k + i]) i++;
      if (i === CT_WORDS) {
        this.hits++;
        this.hitProg = cp - 1;
        this.hitEntry = rows[pb + R_CONT_ENTRY];
        this.hitSerial = rows[pb + R_CONT_SERIAL];
        return 1;
      }
    }
    const e = this.find(key, k, CT_WORDS, serial, generation);
    if (e < 0) {
      this.keep(key, k, CT_WORDS, serial, parent);
      return 0;
    }
    this.hit(e);
    this.setCont(pb, e, this.rows, e * RW + R_KEY);
    return 1;
  }

  private hit(e: number): void {
    const b = e * RW;
    this.hitEntry = e;
    this.hitSerial = this.rows[b + R_SERIAL];
    this.hitProg = this.rows[b + R_PROG];
  }

  /** Row `pb`'s continuation is entry `e`, whose key (header and ct words) is at src[at..]. */
  private setCont(pb: number, e: number, src: Uint32Array, at: number): void {
    const rows = this.rows;
    const b = e * RW;
    rows[pb + R_CONT_PROG] = rows[b + R_PROG] + 1;
    rows[pb + R_CONT_ENTRY] = e;
    rows[pb + R_CONT_SERIAL] = rows[b + R_SERIAL];
    for (let i = 0; i < CT_WORDS; i++) rows[pb + R_CONT_CT + i] = src[at + 1 + i];
  }

  serialOf(e: number): number {
    return this.rows[e * RW + R_SERIAL];
  }

  /** Look up (head, key[k..k+n)); the hash is kept in ph. */
  private find(key: Uint32Array, k: number, n: number, head: number, generation: number): number {
    let h = Math.imul(0x9747b28c ^ head, 0x5bd1e995);
    h ^= h >>> 15;
    for (let i = 0; i < n; i++) {
      h = Math.imul(h ^ key[k + i], 0x5bd1e995);
      h ^= h >>> 15;
    }
    h = (h ^ (h >>> 13)) >>> 0;
    this.ph = h;
    const e0 = (h & SET_MASK) << 2;
    const hg = this.hg;
    const rows = this.rows;
    for (let e = e0; e < e0 + 4; e++) {
      if (hg[2 * e] !== h || hg[2 * e + 1] !== generation) continue;
      const b = e * RW;
      if (rows[b + R_NW] !== n + 1 || rows[b + R_KEY] !== head) continue;
      let i = 0;
      while (i < n && rows[b + R_KEY + 1 + i] === key[k + i]) i++;
      if (i === n) {
        this.hits++;
        return e;
      }
    }
    this.misses++;
    return -1;
  }

  private keep(key: Uint32Array, k: number, n: number, head: number, parent: number): void {
    const pk = this.pk;
    pk[0] = head;
    for (let i = 0; i < n; i++) pk[i + 1] = key[k + i];
    this.pn = n + 1;
    this.pParent = parent;
  }

  /**
   * One miss in this many is recorded and stored (OVS's EMC: emc-insert-inv-prob, default 100).
   * Measured: storing every miss made a new connection ~35% dearer (each SYN wrote two rows of
   * a 2 MiB table and evicted the classifier's and conntrack's lines from the cache); a
   * connection that lasts is stored after a few dozen packets anyway. 1 = every miss (tests).
   */
  insertInvProb = DEFAULT_INSERT_INV_PROB;
  private rng = 0x2545f491;

  /** Whether to record the pass whose probe just missed (xorshift: no aliasing with traffic). */
  sample(): boolean {
    if (this.insertInvProb <= 1) return true;
    let x = this.rng;
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    this.rng = x;
    return (x >>> 0) % this.insertInvProb === 0;
  }

  /** Start recording the pass the last probe missed. */
  startRecording(): void {
    this.rOpN = 0;
    this.rLkN = 0;
    this.rFate = 0;
    this.recBad = false;
  }

  recordOp(a: number, rid: number): void {
    const n = this.rOpN;
    if (n === PASS_OPS) {
      this.recBad = true;
      return;
    }
    this.rOpA[n] = a;
    this.rOpB[n] = rid;
    this.rOpN = n + 1;
  }

  /** A lookup in `table` found `rid` (-1 miss) with the frame `delta` bytes longer than at the start. */
  recordLookup(table: number, rid: number, delta: number): void {
    const n = this.rLkN;
    if (n === PASS_LOOKUPS) {
      this.recBad = true;
      return;
    }
    this.rLkA[n] = table;
    this.rLkB[n] = rid;
    this.rLkD[n] = delta;
    this.rLkN = n + 1;
  }

  recordFate(f: number): void {
    this.rFate |= f;
  }

  /** The program of the recorded pass (found or added), or -1 when the table has no room. */
  private intern(generation: number): number {
    // Most passes repeat one of the last two programs (a connection's first and second pass).
    const m0 = this.mru0;
    if (m0 >= 0 && this.pGen[m0] === generation && this.sameProgram(m0)) return m0;
    const m1 = this.mru1;
    if (m1 >= 0 && this.pGen[m1] === generation && this.sameProgram(m1)) {
      this.mru1 = m0;
      this.mru0 = m1;
      return m1;
    }
    const p = this.internSlow(generation);
    if (p >= 0) {
      this.mru1 = m0;
      this.mru0 = p;
    }
    return p;
  }

  private mru0 = -1;
  private mru1 = -1;

  private internSlow(generation: number): number {
    const no = this.rOpN;
    const nl = this.rLkN;
    let h = Math.imul(0x3c6ef372 ^ (no | (nl << 8) | (this.rFate << 16)), 0x5bd1e995);
    for (let i = 0; i < no; i++) {
      h = Math.imul(h ^ this.rOpA[i], 0x5bd1e995);
      h = Math.imul(h ^ this.rOpB[i], 0x5bd1e995);
      h ^= h >>> 15;
    }
    for (let i = 0; i < nl; i++) {
      h = Math.imul(h ^ this.rLkA[i] ^ (this.rLkD[i] << 8), 0x5bd1e995);
      h = Math.imul(h ^ this.rLkB[i], 0x5bd1e995);
      h ^= h >>> 15;
    }
    h = (h ^ (h >>> 13)) >>> 0;
    for (let j = 0; j < PROG_PROBE; j++) {
      const p = (h + j) & PROG_MASK;
      if (this.pGen[p] !== generation) {
        // Free (stale): counts were flushed before the tables changed.
        this.pGen[p] = generation;
        this.pHash[p] = h;
        this.fate[p] = this.rFate;
        this.opN[p] = no;
        this.lkN[p] = nl;
        const ob = p * PASS_OPS;
        for (let i = 0; i < no; i++) {
          this.opA[ob + i] = this.rOpA[i];
          this.opB[ob + i] = this.rOpB[i];
        }
        const lb = p * PASS_LOOKUPS;
        for (let i = 0; i < nl; i++) {
          this.lkA[lb + i] = this.rLkA[i];
          this.lkB[lb + i] = this.rLkB[i];
          this.lkD[lb + i] = this.rLkD[i];
        }
        return p;
      }
      if (this.pHash[p] === h && this.sameProgram(p)) return p;
    }
    return -1;
  }

  private sameProgram(p: number): boolean {
    const no = this.rOpN;
    const nl = this.rLkN;
    if (this.opN[p] !== no || this.lkN[p] !== nl || this.fate[p] !== this.rFate) return false;
    const ob = p * PASS_OPS;
    for (let i = 0; i < no; i++) if (this.opA[ob + i] !== this.rOpA[i] || this.opB[ob + i] !== this.rOpB[i]) return false;
    const lb = p * PASS_LOOKUPS;
    for (let i = 0; i < nl; i++) if (this.lkA[lb + i] !== this.rLkA[i] || this.lkB[lb + i] !== this.rLkB[i] || this.lkD[lb + i] !== this.rLkD[i]) return false;
    return true;
  }

  /**
   * Store the recorded pass under the last missed probe's key, stamped with `generation`.
   * Returns the entry (what a following recirculated pass chains to), or -1 when not stored.
   */
  insert(generation: number): number {
    if (this.recBad) return -1;
    const prog = this.intern(generation);
    if (prog < 0) return -1;
    const h = this.ph;
    const e0 = (h & SET_MASK) << 2;
    // A stale way first, else the ways in turn. (Preferring entries whose parent pass is gone
    // read eight rows per insert: it doubled the cost of a new connection.)
    const hg = this.hg;
    let e = e0;
    while (e < e0 + 4 && hg[2 * e + 1] === generation) e++;
    if (e === e0 + 4) e = e0 + (this.victim = (this.victim + 1) & 3);
    const n = this.pn;
    const rows = this.rows;
    const pk = this.pk;
    const b = e * RW;
    for (let i = 0; i < n; i++) rows[b + R_KEY + i] = pk[i];
    hg[2 * e] = h;
    hg[2 * e + 1] = generation;
    rows[b + R_NW] = n;
    rows[b + R_PROG] = prog;
    rows[b + R_CONT_PROG] = 0;
    const s = this.nextSerial;
    rows[b + R_SERIAL] = s;
    if (s === 0xffffffff) {
      // Serials wrapped: an old entry chained to a reused serial must not match, so every
      // entry but this one goes (the flow tables' generation is never 0).
      for (let x = 1; x < hg.length; x += 2) hg[x] = 0;
      hg[2 * e + 1] = generation;
      this.nextSerial = 1;
    } else this.nextSerial = s + 1;
    this.inserts++;
    // A recirculated pass: its parent (still the same pass: the serial is the header word)
    // finds it inline next time.
    const pp = this.pParent;
    if (pp >= 0 && e !== pp && hg[2 * pp + 1] === generation && rows[pp * RW + R_SERIAL] === pk[0]) this.setCont(pp * RW, e, pk, 0);
    return e;
  }

  /** A replay of program `p` for a frame of `len` bytes (its lookups are counted at the flush). */
  account(p: number, len: number): void {
    if (this.accPkts[p] === 0) this.touched[this.nTouched++] = p;
    this.accPkts[p]++;
    this.accBytes[p] += len;
  }
  /** Add the replays' lookups to the tables and rules (end of batch, before a learn). */
  flushStats(sink: PassStatsSink): void {
    const now = sink.now;
    const tables = sink.tables;
    const nPackets = sink.nPackets;
    const nBytes = sink.nBytes;
    const used = sink.used;
    for (let t = 0; t < this.nTouched; t++) {
      const p = this.touched[t];
      const c = this.accPkts[p];
      const bytes = this.accBytes[p];
      this.accPkts[p] = 0;
      this.accBytes[p] = 0;
      const lb = p * PASS_LOOKUPS;
      for (let i = lb; i < lb + this.lkN[p]; i++) {
        const tb = tables[this.lkA[i]];
        const rid = this.lkB[i];
        if (tb !== undefined) {
          tb.lookups += c;
          if (rid >= 0) tb.matched += c;
        }
        if (rid < 0) continue;
        nPackets[rid] += c;
        nBytes[rid] += bytes + c * this.lkD[i];
        used[rid] = now;
      }
    }
    this.nTouched = 0;
  }
}
