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
 * Keys: masked, as OVS's megaflows. While a pass is recorded, every classifier lookup runs as
 * Classifier.lookupWc, which ORs into `wc` the key bits its answer depended on (the subtables it
 * visited, each only up to the lookup stage that ruled it out); actions that make later key
 * words depend on other words (a register move, a field load, a packet edit) widen it (the
 * executor's recordEffects). The entry is keyed by the pass's input key under that mask, so
 * every packet that agrees with it on those bits makes the same lookups with the same answers
 * and runs the same instructions — by induction over the lookups, as in OVS. Neutron's
 * firewall: all TCP connections of one port share one entry for the first pass (the ports are
 * never looked at there), and the second pass is keyed by what the security group looks at
 * (ct_state, ct_mark, tp_dst...), not by the connection.
 *
 *   a pass from table 0   header 0, then the masked key words (all 62 match words are eligible)
 *   a recirculated pass   header = serial of the entry of the pass that recirculated (unique per
 *                         insert: the registers, action set and frame edits the packet carries
 *                         are that pass's), then the masked key words, ct words included, less
 *                         what that parent entry pins already (dropPinned); ct(nat) that
 *                         translated is never chained.
 *
 * A probe tries each distinct mask of its kind (first pass / recirculated) in turn, the most hit
 * first (re-sorted every PROBE_SORT probes), as OVS's dpcls its subtables: few masks (one per
 * kind of traffic of a port), so a hit is a few hashes of a few words over rows that stay in
 * the cache.
 *
 * What is never cached (the executor checks while recording): a pass that forks (ct(table=T)
 * that is not the packet's last action), one that ends by an abort (table full, headroom, depth
 * limits: conditions outside the key), one with more events than an entry holds, one with a
 * learn action (it changes the tables the rest of the pass looks up), and one with a ct(nat)
 * that does not end it (the translation depends on the connection, not on the key).
 * Trace and dry runs neither read nor fill.
 *
 * Invalidation is exact and free: every entry carries the flow tables' generation (the EMC's,
 * bumped by every add/delete/modify, learned flow and expiry) and stops matching when it moves;
 * the masks go with it. Bounded: PASS_ENTRIES entries in four-way sets, PASS_MASKS masks;
 * typed arrays only, nothing allocates per packet.
 */
import { KEY_SHIFT, KEY_WORDS, K_CONJ_ID, K_CT_STATE, K_CT_TP_DST } from '../packet/flow-key';
import { MATCH_WORDS } from './match';

export const PASS_ENTRIES = 8192;
const SET_MASK = PASS_ENTRIES / 4 - 1;
/** OP and LOOKUP events one entry holds (Neutron's two passes: 3 + 5 and 3 + 4). */
export const PASS_OPS = 16;
export const PASS_LOOKUPS = 16;
/**
 * One row per entry: word count, program, serial, mask, header, then the masked key words —
 * together, so a hit reads one or two cache lines (measured: with one array per field a probe
 * touched eight). Hash and generation are compact arrays beside it (a probe's and an eviction's
 * first test, one cache line for the four ways of a set). Every array of the probe path is an
 * Int32Array holding int32 bits (the key is read through an Int32Array view): measured, the
 * same compares on Uint32Array values of 2^31 and more cost ~2.5 ns a word (float compares).
 * Serials, hashes and generations are kept and compared as int32 bits too.
 */
const R_NW = 0;
const R_PROG = 1;
const R_SERIAL = 2;
const R_MASK = 3;
const R_HEAD = 4;
const R_KEY = 5;
/** Key words a mask may have: every match word but conj_id (zero outside a lookup). */
const MAX_MASK_WORDS = MATCH_WORDS - 1;
/**
 * Row stride: a whole number of 64-byte lines (the large array's backing store is page-aligned),
 * so a row's header and first 11 key words — all of a Neutron pass's — are one cache line.
 */
const RW = (R_KEY + MAX_MASK_WORDS + 15) & ~15;

/** Distinct masks (first-pass and recirculated ones together; none free: not cached). */
export const PASS_MASKS = 64;
/** Probes between two re-sorts of the mask lists by hits. */
const PROBE_SORT = 4096;

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
  readonly rows = new Int32Array(PASS_ENTRIES * RW);
  /** Hash and generation of entry e at [2e] and [2e+1]: a set's four ways in 32 bytes. */
  private readonly hg = new Int32Array(PASS_ENTRIES * 2);
  private victim = 0;
  private nextSerial = 1;
  hits = 0;
  misses = 0;
  inserts = 0;

  // Masks: key word indices and bits of mask m at [m * MAX_MASK_WORDS ..), mN[m] words.
  private readonly mW = new Int32Array(PASS_MASKS * MAX_MASK_WORDS);
  private readonly mB = new Int32Array(PASS_MASKS * MAX_MASK_WORDS);
  private readonly mN = new Uint8Array(PASS_MASKS);
  private readonly mHits = new Uint32Array(PASS_MASKS);
  /**
   * The entry each mask hit last, tried before hashing: one port's packets share the first
   * pass's entry, so this is nearly always it (a compare of a few words, no hash).
   */
  private readonly mMru = new Int32Array(PASS_MASKS);
  private nMasks = 0;
  /** The flow tables' generation the masks belong to (a change empties the lists). */
  private mGen = 0;
  /** Masks of first passes and of recirculated ones, in probe order (most hit first). */
  private readonly firstList = new Int32Array(PASS_MASKS);
  private nFirst = 0;
  private readonly recList = new Int32Array(PASS_MASKS);
  private nRec = 0;
  private probes = 0;

  // Programs.
  private readonly pGen = new Uint32Array(PASS_PROGRAMS);
  private readonly pHash = new Uint32Array(PASS_PROGRAMS);
  readonly fate = new Uint8Array(PASS_PROGRAMS);
  readonly opN = new Uint8Array(PASS_PROGRAMS);
  readonly opA = new Int32Array(PASS_PROGRAMS * PASS_OPS);
  readonly opB = new Int32Array(PASS_PROGRAMS * PASS_OPS);
  /**
   * A register load, decoded when recorded (a function of rule and pc, like the rest of the
   * event): opReg = the key word (-1: another instruction), opKeep = the bits it keeps, opSet =
   * the bits it sets. Measured: a replay that read each load's operands from its rule's plan
   * (an array per rule, four per Neutron packet) spent a quarter of its time on those reads.
   */
  readonly opReg = new Int32Array(PASS_PROGRAMS * PASS_OPS);
  readonly opKeep = new Int32Array(PASS_PROGRAMS * PASS_OPS);
  readonly opSet = new Int32Array(PASS_PROGRAMS * PASS_OPS);
  private readonly lkN = new Uint8Array(PASS_PROGRAMS);
  private readonly lkA = new Int32Array(PASS_PROGRAMS * PASS_LOOKUPS);
  private readonly lkB = new Int32Array(PASS_PROGRAMS * PASS_LOOKUPS);
  private readonly lkD = new Int32Array(PASS_PROGRAMS * PASS_LOOKUPS);
  // Replays not yet flushed, per program, and the programs that have some.
  private readonly accPkts = new Uint32Array(PASS_PROGRAMS);
  private readonly accBytes = new Float64Array(PASS_PROGRAMS);
  private readonly touched = new Int32Array(PASS_PROGRAMS);
  nTouched = 0;

  // The last probe that missed: its header and, for a recirculated pass, the parent entry.
  private pHead = 0;
  private pParent = -1;
  /** The input key of the pass being recorded (taken when recording starts). */
  private readonly snap = new Int32Array(KEY_WORDS);
  /** The arena's key words as int32 (a view made once per key array). */
  private keyU: Uint32Array | null = null;
  private keyI: Int32Array<ArrayBufferLike> = new Int32Array(0);
  /**
   * The key bits the pass being recorded depends on, one word per key word: the classifier's
   * lookupWc and the executor's recordEffects OR into it.
   */
  readonly wc = new Uint32Array(KEY_WORDS);

  // The pass being recorded.
  private readonly rOpA = new Int32Array(PASS_OPS);
  private readonly rOpB = new Int32Array(PASS_OPS);
  private readonly rOpReg = new Int32Array(PASS_OPS);
  private readonly rOpKeep = new Int32Array(PASS_OPS);
  private readonly rOpSet = new Int32Array(PASS_OPS);
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

  /** The key array as int32 words (the arena's key: the view is made once). */
  private view(key: Uint32Array): Int32Array<ArrayBufferLike> {
    if (key !== this.keyU) {
      this.keyU = key;
      this.keyI = new Int32Array(key.buffer, key.byteOffset, key.length);
    }
    return this.keyI;
  }

  /** Probe for a pass from table 0 of the packet in `slot` (a miss is kept for insert). */
  probeFirst(key: Uint32Array, slot: number, generation: number): boolean {
    const g = generation | 0;
    if (this.mGen !== g) this.resetMasks(g);
    if (++this.probes === PROBE_SORT) this.sortMasks();
    const ki = this.view(key);
    const k = slot << KEY_SHIFT;
    const list = this.firstList;
    for (let i = 0; i < this.nFirst; i++) {
      const m = list[i];
      const e = this.find(ki, k, m, 0, g);
      if (e >= 0) {
        this.mHits[m]++;
        this.hits++;
        this.hit(e);
        return true;
      }
    }
    this.misses++;
    this.pHead = 0;
    this.pParent = -1;
    return false;
  }

  /**
   * Probe for the pass a ct(table=T) recirculation starts after the pass of entry `parent`
   * (serial `serial`): 1 hit, 0 miss (kept for insert), -1 the parent entry is gone (the pass
   * cannot be chained: not cached). (A per-parent "continuation", the last child tried first,
   * paid while keys were exact per connection; with masked keys the connections of a port share
   * one parent and it missed ~98% in bench/fw-memory, ~7% dearer than probing.)
   */
  probeRecirc(key: Uint32Array, slot: number, parent: number, serial: number, generation: number): number {
    const g = generation | 0;
    const head = serial | 0;
    if (this.rows[parent * RW + R_SERIAL] !== head || this.hg[2 * parent + 1] !== g) return -1;
    if (this.mGen !== g) this.resetMasks(g);
    const ki = this.view(key);
    const k = slot << KEY_SHIFT;
    const list = this.recList;
    for (let i = 0; i < this.nRec; i++) {
      const m = list[i];
      const e = this.find(ki, k, m, head, g);
      if (e >= 0) {
        this.mHits[m]++;
        this.hits++;
        this.hit(e);
        return 1;
      }
    }
    this.misses++;
    this.pHead = head;
    this.pParent = parent;
    return 0;
  }

  private hit(e: number): void {
    const b = e * RW;
    this.hitEntry = e;
    this.hitSerial = this.rows[b + R_SERIAL];
    this.hitProg = this.rows[b + R_PROG];
  }

  /** Entry `e`'s serial (int32 bits): what a following pass chains to. */
  serialOf(e: number): number {
    return this.rows[e * RW + R_SERIAL];
  }

  /** Entry `e`'s masked key words equal the key at ki[k..] under its mask (its header aside). */
  private matches(e: number, ki: Int32Array, k: number): boolean {
    const rows = this.rows;
    const b = e * RW;
    const m = rows[b + R_MASK];
    const n = rows[b + R_NW];
    const wb = m * MAX_MASK_WORDS;
    const mW = this.mW;
    const mB = this.mB;
    for (let i = 0; i < n; i++) if (rows[b + R_KEY + i] !== (ki[k + mW[wb + i]] & mB[wb + i])) return false;
    return true;
  }

  /**
   * Hash of (mask m, header, key words at from[k..] under m): a sum of products by a constant per
   * key word, then one finalizer. Measured: a multiply-and-shift chain per word (each step
   * waiting for the last) made a hit cost ~57 ns for 9 words; the products are independent.
   */
  private hashOf(from: Int32Array, k: number, m: number, head: number): number {
    let h = (Math.imul(head, 0x27d4eb2f) + Math.imul(m + 1, 0x165667b1)) | 0;
    const wb = m * MAX_MASK_WORDS;
    const n = this.mN[m];
    const mW = this.mW;
    const mB = this.mB;
    for (let i = 0; i < n; i++) {
      const w = mW[wb + i];
      h = (h + Math.imul(from[k + w] & mB[wb + i], WORD_MUL[w])) | 0;
    }
    h ^= h >>> 16;
    h = Math.imul(h, 0x85ebca6b);
    h ^= h >>> 13;
    h = Math.imul(h, 0xc2b2ae35);
    return h ^ (h >>> 16);
  }

  /** The entry of (mask m, header) matching the key at ki[k..], or -1 (g: generation bits). */
  private find(ki: Int32Array, k: number, m: number, head: number, g: number): number {
    const rows = this.rows;
    const mru = this.mMru[m];
    if (mru >= 0 && this.hg[2 * mru + 1] === g && rows[mru * RW + R_MASK] === m && rows[mru * RW + R_HEAD] === head && this.matches(mru, ki, k)) return mru;
    const e = this.findHashed(ki, k, m, head, g);
    if (e >= 0) this.mMru[m] = e;
    return e;
  }

  private findHashed(ki: Int32Array, k: number, m: number, head: number, g: number): number {
    const h = this.hashOf(ki, k, m, head);
    const e0 = (h & SET_MASK) << 2;
    const hg = this.hg;
    const rows = this.rows;
    for (let e = e0; e < e0 + 4; e++) {
      if (hg[2 * e] !== h || hg[2 * e + 1] !== g) continue;
      const b = e * RW;
      if (rows[b + R_MASK] !== m || rows[b + R_HEAD] !== head) continue;
      if (this.matches(e, ki, k)) return e;
    }
    return -1;
  }

  /** The tables changed: every entry is stale, and so are the masks. */
  private resetMasks(generation: number): void {
    this.mGen = generation;
    this.nMasks = 0;
    this.nFirst = 0;
    this.nRec = 0;
  }

  /** The mask lists in order of hits since the last sort (every PROBE_SORT probes). */
  private sortMasks(): void {
    this.probes = 0;
    sortByHits(this.firstList, this.nFirst, this.mHits);
    sortByHits(this.recList, this.nRec, this.mHits);
    for (let m = 0; m < this.nMasks; m++) this.mHits[m] >>>= 1;
  }

  /** The mask of the recorded pass's `wc` in its kind's list (added when new), or -1 (no room). */
  private maskOf(first: boolean): number {
    const wc = this.wc;
    const mW = this.mW;
    const mB = this.mB;
    const list = first ? this.firstList : this.recList;
    const n = first ? this.nFirst : this.nRec;
    let nw = 0;
    for (let w = 0; w < MATCH_WORDS; w++) if (wc[w] !== 0 && w !== K_CONJ_ID) nw++;
    for (let i = 0; i < n; i++) {
      const m = list[i];
      if (this.mN[m] !== nw) continue;
      const wb = m * MAX_MASK_WORDS;
      let j = 0;
      while (j < nw && mB[wb + j] === (wc[mW[wb + j]] | 0)) j++;
      if (j === nw) return m;
    }
    if (this.nMasks === PASS_MASKS) return -1;
    const m = this.nMasks++;
    const wb = m * MAX_MASK_WORDS;
    let j = 0;
    for (let w = 0; w < MATCH_WORDS; w++) {
      if (wc[w] === 0 || w === K_CONJ_ID) continue;
      mW[wb + j] = w;
      mB[wb + j] = wc[w];
      j++;
    }
    this.mN[m] = nw;
    this.mHits[m] = 0;
    this.mMru[m] = -1;
    list[n] = m;
    if (first) this.nFirst = n + 1;
    else this.nRec = n + 1;
    return m;
  }

  /**
   * The key depends on every bit of the words [from, to) (an action made later words depend on
   * them in ways the classifier does not see).
   */
  wcAll(from: number, to: number): void {
    const wc = this.wc;
    for (let w = from; w < to; w++) wc[w] = 0xffffffff;
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

  /** Start recording the pass the last probe missed, of the packet whose key is at key[slot]. */
  startRecording(key: Uint32Array, slot: number): void {
    const k = slot << KEY_SHIFT;
    const snap = this.snap;
    const wc = this.wc;
    for (let w = 0; w < KEY_WORDS; w++) {
      snap[w] = key[k + w];
      wc[w] = 0;
    }
    this.rOpN = 0;
    this.rLkN = 0;
    this.rFate = 0;
    this.recBad = false;
  }

  /** An instruction ran; `reg` >= 0: a register load of key word `reg`, keeping `keep`, setting `set`. */
  recordOp(a: number, rid: number, reg: number, keep: number, set: number): void {
    const n = this.rOpN;
    if (n === PASS_OPS) {
      this.recBad = true;
      return;
    }
    this.rOpA[n] = a;
    this.rOpB[n] = rid;
    this.rOpReg[n] = reg;
    this.rOpKeep[n] = keep;
    this.rOpSet[n] = set;
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
          this.opReg[ob + i] = this.rOpReg[i];
          this.opKeep[ob + i] = this.rOpKeep[i];
          this.opSet[ob + i] = this.rOpSet[i];
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
    const g = generation | 0;
    if (this.mGen !== g) this.resetMasks(g);
    const head = this.pHead;
    const pp = this.pParent;
    if (head !== 0) {
      // A recirculated pass: chained to its parent entry (still the same pass: its serial is
      // this one's header), which pins part of the key already.
      if (pp < 0 || this.hg[2 * pp + 1] !== g || this.rows[pp * RW + R_SERIAL] !== head) return -1;
      this.dropPinned(pp);
    }
    const m = this.maskOf(head === 0);
    if (m < 0) return -1;
    const prog = this.intern(generation);
    if (prog < 0) return -1;
    const snap = this.snap;
    const h = this.hashOf(snap, 0, m, head);
    const e0 = (h & SET_MASK) << 2;
    // A stale way first, else the ways in turn. (Preferring entries whose parent pass is gone
    // read eight rows per insert: it doubled the cost of a new connection.)
    const hg = this.hg;
    let e = e0;
    while (e < e0 + 4 && hg[2 * e + 1] === g) e++;
    if (e === e0 + 4) e = e0 + (this.victim = (this.victim + 1) & 3);
    const rows = this.rows;
    const b = e * RW;
    const n = this.mN[m];
    const wb = m * MAX_MASK_WORDS;
    for (let i = 0; i < n; i++) rows[b + R_KEY + i] = snap[this.mW[wb + i]] & this.mB[wb + i];
    hg[2 * e] = h;
    hg[2 * e + 1] = g;
    rows[b + R_NW] = n;
    rows[b + R_MASK] = m;
    rows[b + R_HEAD] = head;
    rows[b + R_PROG] = prog;
    const s = this.nextSerial;
    rows[b + R_SERIAL] = s | 0;
    if (s === 0xffffffff) {
      // Serials wrapped: an old entry chained to a reused serial must not match, so every
      // entry but this one goes (the flow tables' generation is never 0).
      for (let x = 1; x < hg.length; x += 2) hg[x] = 0;
      hg[2 * e + 1] = g;
      this.nextSerial = 1;
    } else this.nextSerial = s + 1;
    this.inserts++;
    return e;
  }

  /**
   * Leave out of a recirculated pass's key what its parent entry `pe` pins already: outside the
   * ct words (which conntrack writes at the recirculation), a word at the recirculation is the
   * parent pass's input word, or what the parent's instructions made of it — loads of
   * constants, and edits, for which the parent is keyed on every packet word (a move or a load
   * of another field: on every word). So the bits the parent's mask fixes are the same for every
   * packet that replays the parent (a NAT translation, the only other writer, is never chained).
   * Neutron's second pass: its key keeps dl_dst, tp_dst, reg6 and the ct words, not the
   * addresses, protocol and registers the first pass looked at.
   */
  private dropPinned(pe: number): void {
    const wc = this.wc;
    const pm = this.rows[pe * RW + R_MASK];
    const wb = pm * MAX_MASK_WORDS;
    for (let i = 0; i < this.mN[pm]; i++) {
      const w = this.mW[wb + i];
      if (w >= K_CT_STATE && w <= K_CT_TP_DST) continue;
      wc[w] = (wc[w] & ~this.mB[wb + i]) >>> 0;
    }
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

/** An odd multiplier per key word for hashOf (distinct, well spread: golden-ratio steps). */
const WORD_MUL = Int32Array.from({ length: KEY_WORDS }, (_, w) => Math.imul(2 * w + 1, 0x9e3779b1) | 1);

/** Insertion sort of list[0..n) by descending hits (a few masks; no allocation). */
function sortByHits(list: Int32Array, n: number, hits: Uint32Array): void {
  for (let i = 1; i < n; i++) {
    const m = list[i];
    let j = i;
    while (j > 0 && hits[list[j - 1]] < hits[m]) {
      list[j] = list[j - 1];
      j--;
    }
    list[j] = m;
  }
}
