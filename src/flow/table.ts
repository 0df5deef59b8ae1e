/**
 * Rules and tables. A Rule is the control-plane record of one installed flow; its hot-path
 * state (priority, plan, counters, last-used time) lives in the pipeline's per-rule typed
 * arrays indexed by `rule.id`, so the packet loop never touches these objects except to read
 * a controller cookie.
 */
import type { Action } from './actions';
import { Classifier } from './classifier';
import type { Match } from './match';
import type { Program } from './programs';
import type { CompiledLearn } from './learn';

/** Where an installed rule's match words live (a classifier subtable entry). */
export interface MatchHome {
  matchOf(entry: number): Match;
}

/** Shared by every rule without flags. */
const NO_FLAGS: FlowFlag[] = [];

export const N_TABLES = 255; // 0..254; 255 means "all tables" / "current table" in OpenFlow
export const OFP_DEFAULT_PRIORITY = 0x8000;

/** OpenFlow flow_mod flags ovs-ofctl accepts in flow text and prints back. */
export type FlowFlag = 'send_flow_rem' | 'check_overlap' | 'reset_counts' | 'no_packet_counts' | 'no_byte_counts';

/**
 * Memory per rule matters (100,000-flow tables): the match is not kept here once the rule is
 * in a classifier, whose subtable already holds the masked words and the shared mask (two
 * 30-word arrays saved, ~610 bytes); `match` rebuilds it on demand (control plane only). The
 * actions are a shared Program (see programs.ts).
 */
/** What a flow installed by learn() remembers (see learn.ts); null on every other rule. */
export interface LearnedInfo {
  /** The compiled learn that installed it (a re-learn from it compares values, not text). */
  from: CompiledLearn;
  /** The action values it was installed with. */
  vals: Float64Array;
  /** The rule whose learn installed it, when that learn has delete_learned. */
  by: Rule | null;
}

/**
 * What most rules do not have (timeouts, flags, importance, learn links): one object for the
 * rules that do, none for the rest (100,000 plain flows: 48 bytes each saved).
 */
class RuleExtras {
  idleTimeout = 0;
  hardTimeout = 0;
  importance = 0;
  flags: FlowFlag[] = NO_FLAGS;
  learned: LearnedInfo | null = null;
  learnedRules: Set<Rule> | null = null;
}

/**
 * The extras of almost every flow tvs add-flow makes: no timeouts, only the reset_counts flag
 * an OpenFlow 1.0 add carries (see FlowPipeline.addFlow). One shared object, never written: a
 * rule that needs its own extras copies it first (Rule.extra).
 */
const RESET_COUNTS_ONLY = new RuleExtras();
RESET_COUNTS_ONLY.flags = ['reset_counts'];

export class Rule {
  /** The rule's own match until a classifier holds its words, then the subtable holding them. */
  private where: Match | MatchHome;
  private homeEntry = -1;
  private extras: RuleExtras | null = null;
  /**
   * Clock (ms) of the last add/modify/re-learn: the hard timeout counts from here (OVS
   * `rule->modified`, which a learn refreshing an existing flow moves).
   */
  modified: number;

  constructor(
    readonly id: number,
    readonly table: number,
    readonly priority: number,
    match: Match,
    public cookie: bigint,
    /** Compiled actions, shared with every rule that has the same ones. */
    public program: Program,
    idleTimeout: number,
    hardTimeout: number,
    flags: FlowFlag[],
    importance: number,
    /** Clock (ms) when installed. */
    readonly created: number,
  ) {
    this.where = match;
    this.modified = created;
    if (idleTimeout === 0 && hardTimeout === 0 && importance === 0 && flags.length === 1 && flags[0] === 'reset_counts') {
      this.extras = RESET_COUNTS_ONLY;
    } else if (idleTimeout !== 0 || hardTimeout !== 0 || importance !== 0 || flags.length !== 0) {
      const x = this.extra();
      x.idleTimeout = idleTimeout;
      x.hardTimeout = hardTimeout;
      x.importance = importance;
      if (flags.length !== 0) x.flags = flags;
    }
  }

  /** Has extras of its own (writing the zero/null a shared RESET_COUNTS_ONLY holds is a no-op). */
  private ownsExtras(): boolean {
    return this.extras !== null && this.extras !== RESET_COUNTS_ONLY;
  }

  private extra(): RuleExtras {
    const x = this.extras;
    if (x !== null && x !== RESET_COUNTS_ONLY) return x;
    const own = (this.extras = new RuleExtras());
    if (x !== null) own.flags = x.flags; // the shared flags array is never written either
    return own;
  }

  get idleTimeout(): number {
    return this.extras === null ? 0 : this.extras.idleTimeout;
  }
  set idleTimeout(v: number) {
    if (v !== 0 || this.ownsExtras()) this.extra().idleTimeout = v;
  }
  get hardTimeout(): number {
    return this.extras === null ? 0 : this.extras.hardTimeout;
  }
  set hardTimeout(v: number) {
    if (v !== 0 || this.ownsExtras()) this.extra().hardTimeout = v;
  }
  get importance(): number {
    return this.extras === null ? 0 : this.extras.importance;
  }
  set importance(v: number) {
    if (v !== 0 || this.ownsExtras()) this.extra().importance = v;
  }
  get flags(): FlowFlag[] {
    return this.extras === null ? NO_FLAGS : this.extras.flags;
  }
  /** Set on flows learn() installed. */
  get learned(): LearnedInfo | null {
    return this.extras === null ? null : this.extras.learned;
  }
  set learned(v: LearnedInfo | null) {
    if (v !== null || this.ownsExtras()) this.extra().learned = v;
  }
  /** Flows this rule's delete_learned learns installed (deleted with it), else null. */
  get learnedRules(): Set<Rule> | null {
    return this.extras === null ? null : this.extras.learnedRules;
  }
  set learnedRules(v: Set<Rule> | null) {
    if (v !== null || this.ownsExtras()) this.extra().learnedRules = v;
  }

  /** The rule's match (a fresh object each call once the rule is installed). */
  get match(): Match {
    const w = this.where;
    return this.homeEntry < 0 ? (w as Match) : (w as MatchHome).matchOf(this.homeEntry);
  }

  get actions(): readonly Action[] {
    return this.program.actions;
  }

  /** pc of each action in the compiled plan (for traces). */
  get pcs(): readonly number[] {
    return this.program.pcs;
  }

  /** @internal the classifier took the match words: drop our copy. */
  stow(home: MatchHome, entry: number): void {
    this.where = home;
    this.homeEntry = entry;
  }

  /** @internal leaving the classifier: keep a copy of the match again. */
  unstow(): void {
    if (this.homeEntry >= 0) this.where = (this.where as MatchHome).matchOf(this.homeEntry);
    this.homeEntry = -1;
  }

  /**
   * Conjunction clauses [id, k, n, ...] when this is a conjunctive flow (see classifier.ts), else
   * null (from the program; the pipeline moves the rule between classifier sets when it changes).
   */
  get conj(): Int32Array | null {
    return this.program.conj;
  }
}

export class FlowTable {
  readonly cls: Classifier<Rule>;
  /** OpenFlow table stats: lookups and matches (OVS `ofp_table_stats`). */
  lookups = 0;
  matched = 0;
  constructor(
    readonly id: number,
    priorities: Int32Array,
  ) {
    this.cls = new Classifier<Rule>(priorities);
  }
  get count(): number {
    return this.cls.count;
  }
}

/** A snapshot of one rule with its counters, as dump-flows prints it. */
export interface FlowEntry {
  rule: Rule;
  nPackets: number;
  nBytes: number;
  /** Milliseconds since the rule was installed. */
  durationMs: number;
  /** Milliseconds since the rule last matched a packet (or since installed). */
  idleMs: number;
  /** Milliseconds since the rule was last added, modified or re-learned (OVS `rule->modified`). */
  hardMs: number;
}

export interface TableStats {
  table: number;
  activeCount: number;
  lookups: number;
  matched: number;
}
