/**
 * Tuple-space classifier for one flow table (OVS `classifier.c` / dpcls): one hash table per
 * distinct mask ("subtable"). A lookup hashes the packet's key under each subtable's mask and
 * probes; subtables are visited in descending order of the highest priority they hold, and the
 * search stops as soon as no remaining subtable can beat the best match found so far. The cost
 * grows with the number of distinct masks, never with the number of rules.
 *
 * Conjunctive matches (OVS `conjunction(id,k/n)`, classifier.c): a rule whose actions are only
 * conjunctions goes into a second, "soft" set of subtables and is never returned itself. After
 * the ordinary ("hard") lookup, the soft rules that match at a priority above the hard match are
 * grouped by priority, highest first; when at some priority every dimension 1..n of conjunction
 * `id` has a matching soft rule, the hard rules are looked up again with the key's conj_id word
 * set to `id`, and that result (which may be a `conj_id=id` flow, or the plain hard match when no
 * such flow beats it) is the answer. When several conjunctions are satisfied at one priority
 * (OVS leaves that undefined) the lowest id is tried first. A security group of N addresses x M
 * ports is thus N + M soft rules plus one conj_id rule, not N x M rules.
 *
 * Lookup cache: a table with several subtables (Neutron's 71, 81, 82: 6-13 probes and the
 * conjunction pass per packet) puts a small exact-match cache in front of that search. Its key is
 * the packet key masked by the union of every subtable's mask, hard and soft: the lookup's answer
 * is a pure function of those words (the conjunction pass only rewrites conj_id, which the union
 * covers when a rule matches it), so two keys equal under the union get the same rule. Any
 * insert or remove bumps the classifier's generation and every entry filled before stops
 * matching; the union is recomputed only when a subtable appears or goes. Unlike the EMC it
 * serves lookups after resubmit and ct() recirculation, whose keys carry registers and ct_state.
 *
 * Each subtable is separate-chaining over typed arrays: bucket heads, `next` links, the masked
 * key words of each entry, and the id of the highest-priority rule of each entry (rules with the
 * same match but different priorities share an entry, kept sorted on the control plane). Rule
 * ids index the pipeline's per-rule arrays (priority, counters, plans).
 */
import * as K from '../packet/flow-key';
import { Match, MATCH_WORDS } from './match';

const K_CONJ_ID = K.K_CONJ_ID;

/**
 * OVS's lookup stages (classifier.c, flow.h's segments): metadata (in_port, tunnel, metadata,
 * registers, conntrack, pkt_mark), then L2, L3, L4. A wildcard-tracking lookup (lookupWc: what
 * the pass cache's masked keys are built from) that finds no rule of a subtable agreeing with
 * the packet on the words of the stages so far stops there, and only those words are said to
 * decide the miss: a TCP packet probing a subtable of UDP rules on tp_src (Neutron's DHCP flows)
 * fails at L3 (nw_proto) and leaves the ports wildcarded, so the connections of one port share
 * one cached pass.
 */
export function stageOf(w: number): number {
  if (w === K.K_IN_PORT || w === K.K_TUN_FLAGS || (w >= K.K_TUN_ID_HI && w <= K.K_TUN_DST) || w >= K.K_METADATA_HI) return 0;
  if (w === K.K_VLAN_TCI || (w >= K.K_DL_DST_HI && w <= K.K_DL_TYPE) || w === K.K_VLAN_TCI2) return 1;
  if ((w >= K.K_NW_SRC && w <= K.K_NW_TTL) || w === K.K_NW_FRAG || (w >= K.K_IPV6_SRC && w <= K.K_IPV6_LABEL)) return 2;
  return 3; // tp_src/tp_dst (ICMP type/code), ARP/ND link addresses, nd_target
}

/** What a classifier needs from a rule. */
export interface ClsRule {
  readonly id: number;
  readonly priority: number;
  readonly match: Match;
  /** Optional: the subtable now holds the match words (entry `e`); the rule may drop its copy. */
  stow?(home: { matchOf(e: number): Match }, e: number): void;
  /** Optional: the rule is leaving; it must take a copy of its match back. */
  unstow?(): void;
  /**
   * Conjunction clauses [id, k, n, ...] of a conjunctive rule, or null for an ordinary one.
   * Must not change while the rule is in a classifier (remove, change, insert again).
   */
  readonly conj: Int32Array | null;
}

const EMPTY = -1;

/** Entries a subtable may hold for a miss to be keyed by a prefix of the ports (missWc). */
const PORT_SCAN = 64;

/** Multiplicative word mix (a murmur3-style step); the same function on insert and lookup. */
function mix(h: number, w: number): number {
  w = Math.imul(w, 0xcc9e2d51);
  w = (w << 15) | (w >>> 17);
  h ^= Math.imul(w, 0x1b873593);
  h = (h << 13) | (h >>> 19);
  return (Math.imul(h, 5) + 0xe6546b64) | 0;
}
function finish(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  return (h ^ (h >>> 16)) >>> 0;
}

/**
 * Hash of a whole mask (subtable identity; compared word by word on a hash match). Only the
 * non-zero words are mixed, with their index: a mask has a few of its 62 words set, and every
 * flow install hashes one (the strict lookup, the insert).
 */
export function maskHash(m: Match): number {
  const mask = m.mask;
  let h = 0;
  for (let i = 0; i < MATCH_WORDS; i++) {
    const w = mask[i];
    if (w !== 0) h = mix(mix(h, i), w);
  }
  return finish(h);
}

export class Subtable<R extends ClsRule> {
  readonly maskHash: number;
  /** The full mask (all MATCH_WORDS words). */
  readonly mask: Uint32Array;
  /** Indices of the key words this mask looks at, and the mask of each. */
  readonly words: Int32Array;
  readonly masks: Uint32Array;
  readonly nw: number;
  /** Highest priority of any rule in here (-1 when empty). */
  maxPriority = -1;
  count = 0;

  private buckets: Int32Array;
  private bucketMask: number;
  private next: Int32Array;
  private keys: Uint32Array;
  private hashes: Uint32Array;
  /** Rule id of the best rule of each entry (what the hot path returns). */
  private head: Int32Array;
  /**
   * The rules of each entry, best first: the rule itself when it is alone there (nearly always:
   * an array per entry cost ~56 bytes per flow), an array when several priorities share a match.
   */
  private entryRules: (R | R[] | undefined)[] = [];
  private freeList: number[] = [];
  private used = 0; // entries ever allocated (high-water mark)
  /**
   * Staged lookup (stageOf; only lookupWc uses it): `sIdx` lists positions in `words` in stage
   * order; `stageEnd[p]` is how many of them the stages up to a proper prefix p cover, and
   * `stageSets[p]` counts the entries by the hash of their words of that prefix (30 bits, a small
   * integer key: no allocation). A hash absent there means no entry agrees with the packet on
   * those words. A hash collision only makes the search go on to the next stage: never wrong.
   * Built at the first lookupWc (a pipeline without a pass cache never pays for them), then
   * kept up to date by insert and remove.
   */
  private readonly sIdx: Int32Array;
  private readonly stageEnd: Int32Array;
  private stageSets: Map<number, number>[] | null = null;
  /** Positions of tp_src and tp_dst in `words` (-1: not in the mask); see missWc. */
  private readonly jTpSrc: number;
  private readonly jTpDst: number;

  constructor(mask: Match) {
    this.maskHash = maskHash(mask);
    this.mask = Uint32Array.from(mask.mask);
    const ws: number[] = [];
    for (let i = 0; i < MATCH_WORDS; i++) if (mask.mask[i] !== 0) ws.push(i);
    this.words = Int32Array.from(ws);
    this.masks = Uint32Array.from(ws.map((w) => mask.mask[w]));
    this.nw = ws.length;
    const order = ws.map((w, j) => j).sort((a, b) => stageOf(ws[a]) - stageOf(ws[b]) || a - b);
    this.sIdx = Int32Array.from(order);
    const ends: number[] = [];
    for (let j = 1; j < order.length; j++) if (stageOf(ws[order[j]]) !== stageOf(ws[order[j - 1]])) ends.push(j);
    this.stageEnd = Int32Array.from(ends);
    this.jTpSrc = ws.indexOf(K.K_TP_SRC);
    this.jTpDst = ws.indexOf(K.K_TP_DST);
    this.buckets = new Int32Array(16).fill(EMPTY);
    this.bucketMask = 15;
    this.next = new Int32Array(16);
    this.keys = new Uint32Array(16 * Math.max(1, this.nw));
    this.hashes = new Uint32Array(16);
    this.head = new Int32Array(16);
  }

  /** The match of entry `e`, rebuilt from its masked words and the mask (control plane). */
  matchOf(e: number): Match {
    const v = new Array<number>(MATCH_WORDS).fill(0);
    const base = e * this.nw;
    for (let j = 0; j < this.nw; j++) v[this.words[j]] = this.keys[base + j];
    return new Match(v, this.mask);
  }

  /** Hash of the key at key[k..] under this mask. */
  hashKey(key: Uint32Array, k: number): number {
    const words = this.words;
    const masks = this.masks;
    let h = this.nw;
    for (let j = 0; j < words.length; j++) h = mix(h, key[k + words[j]] & masks[j]);
    return finish(h);
  }

  private hashMatch(m: Match): number {
    let h = this.nw;
    for (let j = 0; j < this.nw; j++) h = mix(h, m.value[this.words[j]]);
    return finish(h);
  }

  /**
   * The rules of the entry matching the key at key[k..]: the rule when it is alone, the rules
   * best first when several share the match, or undefined.
   */
  lookupRules(key: Uint32Array, k: number): R | readonly R[] | undefined {
    const e = this.lookupEntry(key, k);
    return e === EMPTY ? undefined : this.entryRules[e];
  }

  private lookupEntry(key: Uint32Array, k: number): number {
    const words = this.words;
    const masks = this.masks;
    const nw = words.length;
    let h = nw;
    for (let j = 0; j < nw; j++) h = mix(h, key[k + words[j]] & masks[j]);
    h = finish(h);
    let e = this.buckets[h & this.bucketMask];
    while (e !== EMPTY) {
      if (this.hashes[e] === h) {
        const base = e * nw;
        let j = 0;
        while (j < nw && ((key[k + words[j]] & masks[j]) >>> 0) === this.keys[base + j]) j++;
        if (j === nw) return e;
      }
      e = this.next[e];
    }
    return EMPTY;
  }

  /** Best rule id for the key at key[k..], or -1. Hot path: no allocation. */
  lookup(key: Uint32Array, k: number): number {
    const words = this.words;
    const masks = this.masks;
    const nw = words.length;
    let h = nw;
    for (let j = 0; j < nw; j++) h = mix(h, key[k + words[j]] & masks[j]);
    h = finish(h);
    const keys = this.keys;
    const next = this.next;
    const hashes = this.hashes;
    let e = this.buckets[h & this.bucketMask];
    while (e !== EMPTY) {
      if (hashes[e] === h) {
        const base = e * nw;
        let j = 0;
        while (j < nw && ((key[k + words[j]] & masks[j]) >>> 0) === keys[base + j]) j++;
        if (j === nw) return this.head[e];
      }
      e = next[e];
    }
    return -1;
  }

  /** Hash of the first `end` stage-ordered words of entry `e` (stage prefix p = index). */
  private entryStageHash(e: number, p: number, end: number): number {
    const base = e * this.nw;
    let h = p;
    for (let j = 0; j < end; j++) h = mix(h, this.keys[base + this.sIdx[j]]);
    return finish(h) & 0x3fffffff;
  }

  private keyStageHash(key: Uint32Array, k: number, p: number, end: number): number {
    const sIdx = this.sIdx;
    let h = p;
    for (let j = 0; j < end; j++) {
      const i = sIdx[j];
      h = mix(h, (key[k + this.words[i]] & this.masks[i]) >>> 0);
    }
    return finish(h) & 0x3fffffff;
  }

  private stageCount(e: number, d: number): void {
    const sets = this.stageSets;
    if (sets === null) return;
    const ends = this.stageEnd;
    for (let p = 0; p < ends.length; p++) {
      const h = this.entryStageHash(e, p, ends[p]);
      const set = sets[p];
      const c = (set.get(h) ?? 0) + d;
      if (c === 0) set.delete(h);
      else set.set(h, c);
    }
  }

  /**
   * Whether some entry may match the key at key[k..]: false when no entry agrees with it on the
   * words of some stage prefix, ORing into `wc` (indexed by key word) the words of that prefix.
   * On true the caller looks up and says what decided the answer (hitWc / missWc).
   */
  private stagedMayMatch(key: Uint32Array, k: number, wc: Uint32Array): boolean {
    const ends = this.stageEnd;
    const sIdx = this.sIdx;
    let sets = this.stageSets;
    if (sets === null && ends.length > 0) {
      sets = this.stageSets = Array.from(ends, () => new Map<number, number>());
      for (let e = 0; e < this.used; e++) if (this.entryRules[e] !== undefined) this.stageCount(e, 1);
    }
    for (let p = 0; p < ends.length; p++) {
      const end = ends[p];
      if (!(sets as Map<number, number>[])[p].has(this.keyStageHash(key, k, p, end))) {
        for (let j = 0; j < end; j++) wc[this.words[sIdx[j]]] |= this.masks[sIdx[j]];
        return false;
      }
    }
    return true;
  }

  /** A hit: every bit of the mask decided it. */
  private hitWc(wc: Uint32Array): void {
    for (let j = 0; j < this.nw; j++) wc[this.words[j]] |= this.masks[j];
  }

  /**
   * A miss after every stage prefix agreed with some entry: the words other than the ports
   * decided it whole; of the ports (tp_src then tp_dst, one 32-bit value) only the leading bits
   * up to the first one where the packet parts from every entry — OVS's ports trie
   * (classifier.c find_match_wc: trie_lookup_value on TP_PORTS, mask_set_prefix_bits). Every
   * entry differs from the packet's ports at a bit within that prefix, so every packet that
   * agrees with it there misses them all too. Neutron's DHCP rules (udp, tp_src=68, tp_dst=67)
   * would otherwise key every UDP flow's cached pass by its own source port (measured on the
   * wire: 16 flows, 16 entries per pass, both pass-cache probes hashing every frame); with the
   * prefix the flows of a port share one. Subtables of more than PORT_SCAN entries (the scan is
   * linear, once per recorded pass) and port masks wider than 16 bits keep the whole mask.
   */
  private missWc(key: Uint32Array, k: number, wc: Uint32Array): void {
    const jS = this.jTpSrc;
    const jD = this.jTpDst;
    const ms = jS >= 0 ? this.masks[jS] : 0;
    const md = jD >= 0 ? this.masks[jD] : 0;
    if ((jS < 0 && jD < 0) || this.count > PORT_SCAN || ((ms | md) & ~0xffff) !== 0) {
      this.hitWc(wc);
      return;
    }
    const nw = this.nw;
    const keys = this.keys;
    const pm = ((ms << 16) | md) | 0;
    const pv = ((((key[k + K.K_TP_SRC] & ms) << 16) | (key[k + K.K_TP_DST] & md)) & pm) | 0;
    let common = 0; // the longest prefix of the ports any entry shares with the packet
    for (let e = 0; e < this.used; e++) {
      if (this.entryRules[e] === undefined) continue;
      const b = e * nw;
      const ev = ((jS >= 0 ? keys[b + jS] << 16 : 0) | (jD >= 0 ? keys[b + jD] : 0)) & pm;
      const x = ev ^ pv;
      if (x === 0) {
        // Missed on other words only: those decide, and the ports too (kept simple).
        this.hitWc(wc);
        return;
      }
      const l = Math.clz32(x);
      if (l > common) common = l;
    }
    for (let j = 0; j < nw; j++) if (j !== jS && j !== jD) wc[this.words[j]] |= this.masks[j];
    // The first common + 1 bits (common <= 31: every x above was non-zero).
    const prefix = common === 31 ? -1 : ~(-1 >>> (common + 1));
    if (jS >= 0) wc[K.K_TP_SRC] |= (prefix >>> 16) & ms;
    if (jD >= 0) wc[K.K_TP_DST] |= prefix & md;
  }

  /** lookup() that also records in `wc` which key bits decided it (the pass cache's recording). */
  lookupWc(key: Uint32Array, k: number, wc: Uint32Array): number {
    if (!this.stagedMayMatch(key, k, wc)) return -1;
    const rid = this.lookup(key, k);
    if (rid >= 0) this.hitWc(wc);
    else this.missWc(key, k, wc);
    return rid;
  }

  /** lookupRules() recording in `wc` which key bits decided it. */
  lookupRulesWc(key: Uint32Array, k: number, wc: Uint32Array): R | readonly R[] | undefined {
    if (!this.stagedMayMatch(key, k, wc)) return undefined;
    const rules = this.lookupRules(key, k);
    if (rules !== undefined) this.hitWc(wc);
    else this.missWc(key, k, wc);
    return rules;
  }

  private findEntry(m: Match, h: number): number {
    let e = this.buckets[h & this.bucketMask];
    while (e !== EMPTY) {
      if (this.hashes[e] === h) {
        const base = e * this.nw;
        let j = 0;
        while (j < this.nw && m.value[this.words[j]] === this.keys[base + j]) j++;
        if (j === this.nw) return e;
      }
      e = this.next[e];
    }
    return EMPTY;
  }

  private grow(): void {
    const cap = this.hashes.length * 2;
    const nw = Math.max(1, this.nw);
    const keys = new Uint32Array(cap * nw);
    keys.set(this.keys);
    this.keys = keys;
    const hashes = new Uint32Array(cap);
    hashes.set(this.hashes);
    this.hashes = hashes;
    const head = new Int32Array(cap);
    head.set(this.head);
    this.head = head;
    this.next = new Int32Array(cap);
    // Rehash every live entry into a bucket array of the new size.
    this.buckets = new Int32Array(cap).fill(EMPTY);
    this.bucketMask = cap - 1;
    for (let e = 0; e < this.used; e++) {
      if (this.entryRules[e] === undefined) continue;
      const b = this.hashes[e] & this.bucketMask;
      this.next[e] = this.buckets[b];
      this.buckets[b] = e;
    }
  }

  insert(rule: R): void {
    const h = this.hashMatch(rule.match);
    let e = this.findEntry(rule.match, h);
    if (e === EMPTY) {
      if (this.freeList.length > 0) e = this.freeList.pop()!;
      else {
        if (this.used === this.hashes.length) this.grow();
        e = this.used++;
      }
      const base = e * this.nw;
      for (let j = 0; j < this.nw; j++) this.keys[base + j] = rule.match.value[this.words[j]];
      this.hashes[e] = h;
      const b = h & this.bucketMask;
      this.next[e] = this.buckets[b];
      this.buckets[b] = e;
      this.entryRules[e] = rule;
      this.stageCount(e, 1);
    } else {
      const had = this.entryRules[e]!;
      const list = Array.isArray(had) ? had : [had];
      // Descending priority; equal priorities keep insertion order (earlier wins).
      let i = 0;
      while (i < list.length && list[i].priority >= rule.priority) i++;
      list.splice(i, 0, rule);
      this.entryRules[e] = list;
    }
    this.head[e] = this.best(e).id;
    this.count++;
    if (rule.priority > this.maxPriority) this.maxPriority = rule.priority;
    rule.stow?.(this, e);
  }

  /** Remove a rule; returns false if it was not here. */
  remove(rule: R): boolean {
    const m = rule.match;
    const h = this.hashMatch(m);
    const e = this.findEntry(m, h);
    if (e === EMPTY) return false;
    const had = this.entryRules[e]!;
    const list = Array.isArray(had) ? had : [had];
    const i = list.indexOf(rule);
    if (i < 0) return false;
    rule.unstow?.();
    list.splice(i, 1);
    this.count--;
    if (list.length > 0) {
      this.entryRules[e] = list.length === 1 ? list[0] : list;
      this.head[e] = list[0].id;
    } else {
      // Unlink the entry from its bucket chain.
      const b = h & this.bucketMask;
      if (this.buckets[b] === e) this.buckets[b] = this.next[e];
      else {
        let p = this.buckets[b];
        while (this.next[p] !== e) p = this.next[p];
        this.next[p] = this.next[e];
      }
      this.stageCount(e, -1);
      this.entryRules[e] = undefined;
      this.freeList.push(e);
    }
    if (rule.priority === this.maxPriority) this.recomputeMax();
    return true;
  }

  private recomputeMax(): void {
    let m = -1;
    for (let e = 0; e < this.used; e++) {
      if (this.entryRules[e] !== undefined && this.best(e).priority > m) m = this.best(e).priority;
    }
    this.maxPriority = m;
  }

  /** Rule with exactly this match and priority, if any (strict lookup). */
  findStrict(m: Match, priority: number): R | undefined {
    const e = this.findEntry(m, this.hashMatch(m));
    if (e === EMPTY) return undefined;
    // A loop, not .find(closure): learn() calls this per packet and must not allocate.
    const list = this.entryRules[e]!;
    if (!Array.isArray(list)) return list.priority === priority ? list : undefined;
    for (let i = 0; i < list.length; i++) if (list[i].priority === priority) return list[i];
    return undefined;
  }

  /** The best rule of live entry `e`. */
  private best(e: number): R {
    const l = this.entryRules[e]!;
    return Array.isArray(l) ? l[0] : l;
  }

  *rules(): IterableIterator<R> {
    for (let e = 0; e < this.used; e++) {
      const l = this.entryRules[e];
      if (Array.isArray(l)) yield* l;
      else if (l !== undefined) yield l;
    }
  }
}

/** One set of subtables, searched in priority order (the hard or the soft rules of a table). */
export class SubtableSet<R extends ClsRule> {
  /** Subtables sorted by descending maxPriority (the lookup order). */
  subtables: Subtable<R>[] = [];
  private byMask = new Map<number, Subtable<R>[]>();
  count = 0;
  /** Per-rule priorities by rule id (shared with the pipeline). */
  priorities: Int32Array;

  constructor(priorities: Int32Array) {
    this.priorities = priorities;
  }

  /** The subtable for this match's mask, if any (no string keys: insert rate matters). */
  private find(m: Match, mh = maskHash(m)): Subtable<R> | undefined {
    const list = this.byMask.get(mh);
    if (list === undefined) return undefined;
    for (const st of list) {
      let i = 0;
      while (i < MATCH_WORDS && st.mask[i] === m.mask[i]) i++;
      if (i === MATCH_WORDS) return st;
    }
    return undefined;
  }

  /** `mh` = maskHash(rule.match) when the caller has it. */
  insert(rule: R, mh = maskHash(rule.match)): void {
    let st = this.find(rule.match, mh);
    if (st === undefined) {
      st = new Subtable<R>(rule.match);
      const list = this.byMask.get(st.maskHash);
      if (list === undefined) this.byMask.set(st.maskHash, [st]);
      else list.push(st);
      this.subtables.push(st);
    }
    st.insert(rule);
    this.count++;
    this.sort();
  }

  remove(rule: R): boolean {
    const st = this.find(rule.match);
    if (st === undefined || !st.remove(rule)) return false;
    this.count--;
    if (st.count === 0) {
      const list = this.byMask.get(st.maskHash)!;
      list.splice(list.indexOf(st), 1);
      if (list.length === 0) this.byMask.delete(st.maskHash);
      this.subtables.splice(this.subtables.indexOf(st), 1);
    }
    this.sort();
    return true;
  }

  private sort(): void {
    const s = this.subtables;
    // Usually already sorted (most inserts do not change any maximum): check before sorting.
    for (let i = 1; i < s.length; i++) {
      if (s[i - 1].maxPriority < s[i].maxPriority) {
        s.sort((a, b) => b.maxPriority - a.maxPriority);
        return;
      }
    }
  }

  /**
   * Best rule id for the key at key[k..], or -1. Highest priority wins; among equal priorities
   * in different subtables the first subtable visited wins (OVS leaves that undefined too).
   */
  lookup(key: Uint32Array, k: number): number {
    const subs = this.subtables;
    const prio = this.priorities;
    let best = -1;
    let bestPri = -1;
    for (let i = 0; i < subs.length; i++) {
      const st = subs[i];
      // Sorted by maxPriority: nothing later can beat what we have.
      if (st.maxPriority <= bestPri) break;
      const r = st.lookup(key, k);
      if (r >= 0) {
        const p = prio[r];
        if (p > bestPri) {
          best = r;
          bestPri = p;
        }
      }
    }
    return best;
  }

  /** lookup() recording in `wc` the key bits the answer depends on (Subtable.lookupWc). */
  lookupWc(key: Uint32Array, k: number, wc: Uint32Array): number {
    const subs = this.subtables;
    const prio = this.priorities;
    let best = -1;
    let bestPri = -1;
    for (let i = 0; i < subs.length; i++) {
      const st = subs[i];
      // Not visited, so no key bit of its mask decided anything.
      if (st.maxPriority <= bestPri) break;
      const r = st.lookupWc(key, k, wc);
      if (r >= 0) {
        const p = prio[r];
        if (p > bestPri) {
          best = r;
          bestPri = p;
        }
      }
    }
    return best;
  }

  /** `mh` = maskHash(m) when the caller has it (learn: a constant mask, per-packet lookups). */
  findStrict(m: Match, priority: number, mh = maskHash(m)): R | undefined {
    return this.find(m, mh)?.findStrict(m, priority);
  }

  *rules(): IterableIterator<R> {
    for (const st of this.subtables) yield* st.rules();
  }
}

/** Most soft rules one lookup collects, and most distinct conjunction ids at one priority. */
const SCRATCH0 = 64;

/**
 * Subtables (hard + soft) from which a classifier puts its lookup cache in front: below that the
 * search is about as cheap as one cache probe (hash and compare of the union's words).
 */
export const CLS_CACHE_MIN_SUBTABLES = 4;
/** Lookup-cache entries per classifier (four-way sets; a miss costs one ordinary lookup). */
export const CLS_CACHE_ENTRIES = 4096;
const SET_MASK = CLS_CACHE_ENTRIES / 4 - 1;

export class Classifier<R extends ClsRule> {
  /** Ordinary rules. */
  private readonly hard: SubtableSet<R>;
  /** Conjunctive rules (only conjunction actions); never returned by a lookup. */
  private readonly soft: SubtableSet<R>;
  private _priorities: Int32Array;
  count = 0;
  // Lookup scratch, reused (no allocation per packet once grown to the largest need).
  private matched: R[] = new Array<R>(SCRATCH0);
  private accId = new Int32Array(SCRATCH0);
  private accLo = new Int32Array(SCRATCH0);
  private accHi = new Int32Array(SCRATCH0);
  private accDone = new Uint8Array(SCRATCH0);

  /** Subtables from which the lookup cache is used; Infinity turns it off. */
  cacheMinSubtables = CLS_CACHE_MIN_SUBTABLES;
  cacheHits = 0;
  cacheMisses = 0;
  /** Bumped by every insert/remove (cache entries of older generations are stale). */
  private gen = 1;
  /** Bumped when a subtable appears or goes (the union mask must be recomputed). */
  private maskGen = 1;
  private cacheGen = 0;
  private cacheMaskGen = 0;
  /** 0 = no cache for the current rules; else the number of union words. */
  private cNw = 0;
  private cWords = new Int32Array(0);
  private cMasks = new Uint32Array(0);
  private cKeys = new Uint32Array(0);
  private cRule = new Int32Array(0);
  private cStamp = new Uint32Array(0);
  private victim = 0;
  constructor(priorities: Int32Array) {
    this._priorities = priorities;
    this.hard = new SubtableSet<R>(priorities);
    this.soft = new SubtableSet<R>(priorities);
  }

  get priorities(): Int32Array {
    return this._priorities;
  }
  set priorities(p: Int32Array) {
    this.gen++;
    this._priorities = p;
    this.hard.priorities = p;
    this.soft.priorities = p;
  }

  /** Subtables of ordinary rules, in lookup order (what one lookup probes at most). */
  get subtables(): Subtable<R>[] {
    return this.hard.subtables;
  }
  /** Subtables probed per lookup at most, soft ones included (the EMC pays off above a few). */
  get subtableCount(): number {
    return this.hard.subtables.length + this.soft.subtables.length;
  }
  /** Conjunctive rules installed. */
  get softCount(): number {
    return this.soft.count;
  }

  /** `mh` = maskHash(rule.match) when the caller has it (a flow install: the strict lookup's). */
  insert(rule: R, mh = maskHash(rule.match)): void {
    const n = this.subtableCount;
    (rule.conj === null ? this.hard : this.soft).insert(rule, mh);
    this.count++;
    this.gen++;
    if (this.subtableCount !== n) this.maskGen++;
  }

  remove(rule: R): boolean {
    const n = this.subtableCount;
    if (!(rule.conj === null ? this.hard : this.soft).remove(rule)) return false;
    this.count--;
    this.gen++;
    if (this.subtableCount !== n) this.maskGen++;
    return true;
  }

  findStrict(m: Match, priority: number, mh = maskHash(m)): R | undefined {
    return this.hard.findStrict(m, priority, mh) ?? this.soft.findStrict(m, priority, mh);
  }

  *rules(): IterableIterator<R> {
    yield* this.hard.rules();
    yield* this.soft.rules();
  }

  /**
   * Best rule id for the key at key[k..], or -1 (conjunctions resolved as the header says).
   * The key's conj_id word is set during the lookup and restored before returning.
   */
  lookup(key: Uint32Array, k: number): number {
    if (this.gen !== this.cacheGen) this.revalidate();
    const nw = this.cNw;
    if (nw === 0) return this.search(key, k);
    const words = this.cWords;
    const masks = this.cMasks;
    let h = nw;
    for (let j = 0; j < nw; j++) h = mix(h, key[k + words[j]] & masks[j]);
    // Four-way sets: 1,024 connections whose ports the union covers missed a direct-mapped
    // cache of 4,096 a quarter of the time (collisions), two-way sets 8%, four-way ~1%.
    const e0 = (finish(h) & SET_MASK) << 2;
    const keys = this.cKeys;
    const stamp = this.cStamp;
    const gen = this.gen;
    for (let e = e0; e < e0 + 4; e++) {
      if (stamp[e] !== gen) continue;
      const base = e * nw;
      let j = 0;
      while (j < nw && ((key[k + words[j]] & masks[j]) >>> 0) === keys[base + j]) j++;
      if (j === nw) {
        this.cacheHits++;
        return this.cRule[e];
      }
    }
    this.cacheMisses++;
    const r = this.search(key, k);
    // A stale way first, else the ways in turn.
    let e = e0;
    while (e < e0 + 4 && stamp[e] === gen) e++;
    if (e === e0 + 4) e = e0 + (this.victim = (this.victim + 1) & 3);
    const base = e * nw;
    for (let j = 0; j < nw; j++) keys[base + j] = key[k + words[j]] & masks[j];
    this.cRule[e] = r;
    stamp[e] = gen;
    return r;
  }

  /** The lookup itself (no cache). */
  private search(key: Uint32Array, k: number): number {
    const best = this.hard.lookup(key, k);
    if (this.soft.count === 0) return best;
    return this.lookupConjunctive(key, k, best, null);
  }

  /**
   * lookup() without the lookup cache that also ORs into `wc` (one word per key word) every key
   * bit the answer depends on, OVS's megaflow wildcards: the masks of the subtables it visited,
   * each only up to the stage that ruled it out (stageOf). The pass cache records a pass's
   * lookups with this, so that its entry can be keyed by those bits alone.
   */
  lookupWc(key: Uint32Array, k: number, wc: Uint32Array): number {
    const best = this.hard.lookupWc(key, k, wc);
    if (this.soft.count === 0) return best;
    return this.lookupConjunctive(key, k, best, wc);
  }

  /** The rules changed: entries of older generations stop matching; a new subtable set gets a new union. */
  private revalidate(): void {
    this.cacheGen = this.gen;
    if (this.gen === 0xffffffff) {
      this.gen = this.cacheGen = 1;
      this.cStamp.fill(0);
    }
    if (this.cacheMaskGen === this.maskGen) return;
    this.cacheMaskGen = this.maskGen;
    this.cNw = 0;
    if (this.subtableCount < this.cacheMinSubtables) return;
    const union = new Uint32Array(MATCH_WORDS);
    for (const set of [this.hard.subtables, this.soft.subtables]) {
      for (const st of set) for (let i = 0; i < MATCH_WORDS; i++) union[i] |= st.mask[i];
    }
    const ws: number[] = [];
    for (let i = 0; i < MATCH_WORDS; i++) if (union[i] !== 0) ws.push(i);
    if (ws.length === 0) return;
    this.cWords = Int32Array.from(ws);
    this.cMasks = Uint32Array.from(ws.map((w) => union[w]));
    if (this.cStamp.length === 0) {
      this.cRule = new Int32Array(CLS_CACHE_ENTRIES);
      this.cStamp = new Uint32Array(CLS_CACHE_ENTRIES);
    } else this.cStamp.fill(0);
    if (this.cKeys.length < CLS_CACHE_ENTRIES * ws.length) this.cKeys = new Uint32Array(CLS_CACHE_ENTRIES * ws.length);
    this.cNw = ws.length;
  }

  /** `wc` non-null: record the key bits each probe depended on (lookupWc). */
  private lookupConjunctive(key: Uint32Array, k: number, best: number, wc: Uint32Array | null): number {
    const bestPri = best < 0 ? -1 : this._priorities[best];
    // Collect every soft rule that matches above the hard match.
    let n = 0;
    const subs = this.soft.subtables;
    for (let i = 0; i < subs.length; i++) {
      const st = subs[i];
      if (st.maxPriority <= bestPri) break;
      const list = wc === null ? st.lookupRules(key, k) : st.lookupRulesWc(key, k, wc);
      if (list === undefined) continue;
      if (!Array.isArray(list)) {
        const r = list as R;
        if (r.priority <= bestPri) continue;
        if (n === this.matched.length) this.matched.length = n * 2;
        this.matched[n++] = r;
        continue;
      }
      for (let j = 0; j < list.length; j++) {
        const r = list[j];
        if (r.priority <= bestPri) break;
        if (n === this.matched.length) this.matched.length = n * 2;
        this.matched[n++] = r;
      }
    }
    const matched = this.matched;
    let above = 0x7fffffff; // priorities >= this are done
    while (n > 0) {
      // The highest priority not yet done.
      let p = -1;
      for (let i = 0; i < n; i++) {
        const q = matched[i].priority;
        if (q > p && q < above) p = q;
      }
      if (p < 0) break;
      above = p;
      const id = this.satisfied(matched, n, p);
      if (id !== undefined) {
        // Try the satisfied conjunctions, lowest id first.
        let tried = -Infinity;
        for (;;) {
          let next = Infinity;
          for (let i = 0; i < this.nAcc; i++) {
            if (this.accDone[i] === 0) continue;
            const v = this.accId[i] >>> 0;
            if (v > tried && v < next) next = v;
          }
          if (next === Infinity) break;
          tried = next;
          const saved = key[k + K_CONJ_ID];
          key[k + K_CONJ_ID] = next;
          const r = wc === null ? this.hard.lookup(key, k) : this.hard.lookupWc(key, k, wc);
          key[k + K_CONJ_ID] = saved;
          if (r >= 0) return r;
        }
      }
    }
    return best;
  }

  private nAcc = 0;

  /**
   * Accumulate the clauses of the matched soft rules at priority `p` per conjunction id; marks
   * in accDone the ids whose every dimension matched (OVS: the clause bits equal all n bits).
   * Returns undefined when none is satisfied.
   */
  private satisfied(matched: R[], n: number, p: number): number | undefined {
    let na = 0;
    let any: number | undefined;
    for (let i = 0; i < n; i++) {
      const r = matched[i];
      if (r.priority !== p) continue;
      const c = r.conj!;
      for (let j = 0; j < c.length; j += 3) {
        const id = c[j];
        let a = 0;
        while (a < na && this.accId[a] !== id) a++;
        if (a === na) {
          if (na === this.accId.length) this.growAcc();
          this.accId[a] = id;
          this.accLo[a] = 0;
          this.accHi[a] = 0;
          this.accDone[a] = 0;
          na++;
        }
        const bit = c[j + 1] - 1;
        if (bit < 32) this.accLo[a] |= 1 << bit;
        else this.accHi[a] |= 1 << (bit - 32);
        const nc = c[j + 2];
        const wantLo = nc >= 32 ? -1 : (1 << nc) - 1;
        const wantHi = nc <= 32 ? 0 : nc === 64 ? -1 : (1 << (nc - 32)) - 1;
        if (this.accLo[a] === wantLo && this.accHi[a] === wantHi) {
          this.accDone[a] = 1;
          any = id;
        }
      }
    }
    this.nAcc = na;
    return any;
  }

  private growAcc(): void {
    const n = this.accId.length * 2;
    const grow32 = (a: Int32Array): Int32Array<ArrayBuffer> => {
      const b = new Int32Array(n);
      b.set(a);
      return b;
    };
    this.accId = grow32(this.accId);
    this.accLo = grow32(this.accLo);
    this.accHi = grow32(this.accHi);
    const d = new Uint8Array(n);
    d.set(this.accDone);
    this.accDone = d;
  }
}
