/**
 * FlowPipeline: the OpenFlow-like match-action tables of one bridge (tables 0..254) — the
 * control API (add/del/mod/dump flows in ovs-ofctl syntax, timeouts, stats, trace) around the
 * hot path in execute.ts. A pipeline starts empty, and an empty table 0 drops everything
 * (OpenFlow 1.3 table-miss); the switch installs DEFAULT_FLOW in a new bridge, as OVS does.
 *
 * Per-rule hot state lives in typed arrays indexed by rule id (priorities shared with every
 * classifier; plans, counters and last-used time in the Executor); ids are recycled.
 * Any table change bumps the EMC generation, so the cache never returns a stale rule.
 */
import type { PacketArena } from '../packet/arena';
import type { Batch } from '../packet/batch';
import type { BridgeOps } from './bridge-ops';
import { compile, type Action, type Plan } from './actions';
import { ProgramCache } from './programs';
import { maskHash } from './classifier';
import { Executor } from './execute';
import { extractField, readFieldTo } from './field-access';
import { FLOW_DROP_REASONS, type FlowDropReason } from './flow-drops';
import type { ExecTracer, LearnHost } from './exec-hooks';
import { DropCounters } from '../packet/drops';
import { checkExecutable, FlowSyntaxError, parseFlow, effectivePriority, type FlowSpec, type ParseMode } from './ofctl-parse';
import { formatActions, formatFlowEntry, type DumpOptions, type PortNamer } from './ofctl-format';
import { FlowTable, N_TABLES, Rule, type FlowEntry, type TableStats } from './table';
import { parseFlowModLine, type FlowMod } from './flow-mod-line';
import { Match } from './match';
import type { CtStage } from './ct-stage';
import { sameVals, type CompiledLearn, type FieldReader, type LearnStats } from './learn';
import { formatMatch } from './ofctl-format';

export interface PipelineOptions {
  arena: PacketArena;
  /** Milliseconds; injectable so timeouts test in milliseconds (OVS time/warp). */
  clock?: () => number;
  /**
   * The datapath's batch clock (packet/batch-clock.ts), the same time base as `clock`: when
   * given, process() takes the batch's time from it instead of reading `clock` per batch (a
   * clock's return value is a heap number). Whoever calls process() writes it first.
   */
  batchClock?: Float64Array;
  /** OpenFlow port number by name, or -1 (flow text may name ports). */
  resolvePort(name: string): number;
  /** Port name by number, or undefined (dump-flows prints names when known). */
  portName(ofport: number): string | undefined;
  /** Exact-match cache in front of table 0 (default on). */
  emc?: boolean;
  /**
   * Use the EMC only when table 0 has at least this many subtables (default 4: below that a
   * classifier lookup is cheaper than an EMC probe, see bench/flow-bench.ts). 0 = always.
   */
  emcMinSubtables?: number;
  /** Flows in all tables at most (OVS Flow_Table flow_limit, overflow refused). Default 1,000,000. */
  maxFlows?: number;
}

export const DEFAULT_MAX_FLOWS = 1_000_000;

export type FlowRemovedReason = 'idle_timeout' | 'hard_timeout' | 'delete';

export interface AddResult {
  rule: Rule;
  warnings: string[];
  /** The rule with the same table, match and priority that this one replaced. */
  replaced?: Rule;
}

/** What an add-flows file did. */
export interface FlowModsResult {
  added: AddResult[];
  modified: number;
  deleted: number;
  /** Warnings of added/modified flows, each prefixed `line L, `. */
  warnings: string[];
}

export interface SelectOptions {
  /** Same match and priority instead of "covered by the given match". */
  strict?: boolean;
}

const INITIAL_RULES = 1024;

/**
 * The flow OVS puts in table 0 of a new bridge (ofproto's default "fail-open" flow): a real
 * rule that dump-flows shows, that counts packets, and that del-flows removes — after which
 * the bridge drops everything, as OVS does. `ovs-ofctl dump-flows` prints it as
 * `priority=0 actions=NORMAL`.
 */
export const DEFAULT_FLOW = 'priority=0,actions=NORMAL';

/** load/move's field reads, for learn. */
const FIELD_READER: FieldReader = { readFieldTo, extractField };

/** Timed rules expire() checks per call at most (bounded work per housekeeping tick). */
export const EXPIRE_BUDGET = 20_000;

export class FlowPipeline implements LearnHost {
  readonly arena: PacketArena;
  private readonly clock: () => number;
  private readonly batchClock: Float64Array | null;
  private readonly opts: PipelineOptions;
  readonly tables: (FlowTable | undefined)[] = new Array(N_TABLES).fill(undefined);
  /** @internal the hot path (exposed for trace and tests) */
  readonly exec: Executor;
  private priorities = new Int32Array(INITIAL_RULES);
  private freeIds: number[] = [];
  private nextId = 0;
  private count = 0;
  /** Flows at most; an add past it is refused (counted in `refusedFull`). */
  maxFlows: number;
  refusedFull = 0;
  private timed = new Set<Rule>();
  /** Compiled action lists, shared between rules. */
  private readonly programs = new ProgramCache();
  /** learn() counters: flows installed, refreshed, refused for lack of room. */
  readonly learnStats: LearnStats = { learned: 0, refreshed: 0, refused: 0 };
  /** Scratch for learn builds (hi/lo of one field). */
  private readonly learnTmp = new Float64Array(2);
  /** Where the last expire() stopped (the next call goes on from there). */
  private expireIter: Iterator<Rule> | null = null;
  /** Called for every rule removed by a timeout or a delete (OpenFlow flow_removed). */
  onFlowRemoved: ((entry: FlowEntry, reason: FlowRemovedReason) => void) | undefined;

  constructor(opts: PipelineOptions) {
    this.opts = opts;
    this.arena = opts.arena;
    this.clock = opts.clock ?? (() => Date.now());
    this.batchClock = opts.batchClock ?? null;
    this.exec = new Executor(opts.arena, this.tables, INITIAL_RULES);
    this.exec.programs = this.programs;
    this.exec.learner = this;
    this.exec.emcEnabled = opts.emc ?? true;
    this.maxFlows = opts.maxFlows ?? DEFAULT_MAX_FLOWS;
    if (opts.emcMinSubtables !== undefined) this.exec.emcMinSubtables = opts.emcMinSubtables;
  }

  /** True when no rule is installed (every frame then misses table 0 and is dropped). */
  get isEmpty(): boolean {
    return this.count === 0;
  }
  get ruleCount(): number {
    return this.count;
  }
  /** Flow-stage drop counters by reason. */
  get drops(): DropCounters<FlowDropReason> {
    return this.exec.drops;
  }
  static readonly DROP_REASONS = FLOW_DROP_REASONS;
  /** The bridge's connection tracker (ct() actions, dump-conntrack). */
  get conntrack(): CtStage {
    return this.exec.ct;
  }
  get emcStats(): { hits: number; misses: number; generation: number } {
    const e = this.exec.emc;
    return { hits: e.hits, misses: e.misses, generation: e.generation };
  }

  // ---- hot path ----

  /** Run a parsed batch through the tables; every slot's ownership passes to `ops`. */
  process(batch: Batch, ops: BridgeOps): void {
    const exec = this.exec;
    // Two stores rather than one of a conditional expression: the slot's double stays unboxed.
    const bc = this.batchClock;
    if (bc !== null) exec.now = bc[0];
    else exec.now = this.clock();
    exec.run(batch, ops);
  }

  /**
   * Run a PACKET_OUT's own action list on one parsed frame (takes ownership of the slot).
   * Throws, holding nothing, when an action cannot run here (compile refuses it).
   */
  executeActions(slot: number, actions: readonly Action[], ops: BridgeOps): void {
    const { plan } = compile(actions);
    this.exec.now = this.clock();
    this.exec.runActions(slot, plan, ops);
  }

  // ---- parsing ----

  /** Parse flow text against this bridge's port names. */
  parse(text: string, mode: ParseMode): FlowSpec {
    return parseFlow(text, mode, { resolvePort: (n) => this.opts.resolvePort(n) });
  }

  /** OpenFlow port number of a port name on this bridge, or -1 (for line-by-line parsers). */
  resolvePortName(name: string): number {
    return this.opts.resolvePort(name);
  }

  private toSpec(f: string | FlowSpec, mode: ParseMode): FlowSpec {
    return typeof f === 'string' ? this.parse(f, mode) : f;
  }

  // ---- add ----

  /**
   * Install a flow; one with the same table, match and priority is replaced. Its counters
   * restart, as OVS does for an add in OpenFlow 1.0/1.1 (what ovs-ofctl add-flow speaks by
   * default, and tvs add-flow/add-flows); `keepCounts` carries them over, as OVS does for an
   * OpenFlow 1.2+ add without reset_counts (the OpenFlow agent passes it). Either way the
   * replacement keeps the old flow's last-used time (idle_age and the idle timeout go on from
   * it) while its duration and hard timeout restart, as in OVS.
   *
   * An add that restarts counters is stored with the reset_counts flag, as OVS stores every
   * OpenFlow 1.0/1.1 add (ofputil_decode_flow_mod_flags): OpenFlow 1.3 FLOW stats report it
   * (`ovs-ofctl -O OpenFlow13 dump-flows` prints `reset_counts` on flows `tvs add-flow` made,
   * as on flows `ovs-ofctl add-flow` made in OVS); OpenFlow 1.0 style text leaves it out.
   */
  addFlow(flow: string | FlowSpec, opts: { keepCounts?: boolean } = {}): AddResult {
    const spec = this.toSpec(flow, 'add');
    if (spec.actions === null) throw new FlowSyntaxError("missing 'actions='", 0, 'actions');
    checkExecutable(spec);
    const keepCounts = opts.keepCounts === true;
    return this.install(spec, spec.actions, keepCounts, false, !keepCounts);
  }

  /**
   * The flow OVS puts in table 0 of a new (or standalone-again) bridge, DEFAULT_FLOW. ofproto
   * adds it itself, not as an OpenFlow 1.0 add: no reset_counts flag.
   */
  addDefaultFlow(): AddResult {
    const spec = this.parse(DEFAULT_FLOW, 'add');
    return this.install(spec, spec.actions!);
  }

  /**
   * `ovs-ofctl add-flows`: one flow modification per line (`add`, `modify`, `modify_strict`,
   * `delete`, `delete_strict` keyword first, or none for add; `#` comments), see flow-mod-line.ts.
   * All lines are parsed before any is applied, so a syntax error changes nothing; errors say
   * `line L, column C`. Then the modifications run in file order.
   */
  addFlows(text: string): FlowModsResult {
    const mods: FlowMod[] = [];
    const resolve = { resolvePort: (n: string) => this.opts.resolvePort(n) };
    text.split(/\r?\n/).forEach((raw, i) => {
      const m = parseFlowModLine(raw, i + 1, resolve);
      if (m !== null) mods.push(m);
    });
    return this.applyFlowMods(mods);
  }

  /** Apply parsed flow modifications in order (a streaming reader calls this per chunk). */
  applyFlowMods(mods: readonly FlowMod[]): FlowModsResult {
    // All or nothing: refuse the whole set when its new flows (adds replacing none) do not fit.
    // Counting them takes a strict lookup per add, which install() repeats; so look only when
    // the set could not fit if every add were new (within its size of the limit). Otherwise
    // it fits whatever the adds replace, and each line is looked up once, when installed.
    // A modify that may add (no cookie mask, see modOrAddFlows) counts as an add that is fresh
    // when it selects nothing now (an earlier line of the set may still give it a flow: the
    // count errs on the side of refusing).
    const mayAdd = (m: FlowMod): boolean => m.command === 'add' || ((m.command === 'modify' || m.command === 'modify_strict') && m.spec.cookieMask === null);
    let adds = 0;
    for (const m of mods) if (mayAdd(m)) adds++;
    let fresh = 0;
    if (this.count + adds > this.maxFlows) {
      for (const m of mods) {
        if (!mayAdd(m)) continue;
        if (m.command !== 'add') {
          if (this.select({ ...m.spec, cookie: null, actions: null }, { strict: m.command === 'modify_strict' }).length === 0) fresh++;
          continue;
        }
        const t = this.tables[m.spec.table ?? 0];
        if (t === undefined || t.cls.findStrict(m.spec.match, effectivePriority(m.spec)) === undefined) fresh++;
      }
    }
    if (fresh > 0 && this.count + fresh > this.maxFlows) {
      this.refusedFull++;
      throw new Error(`table full: ${fresh} new flows would exceed the limit of ${this.maxFlows} (${this.count} installed)`);
    }
    const r: FlowModsResult = { added: [], modified: 0, deleted: 0, warnings: [] };
    for (const m of mods) {
      const strict = m.command === 'modify_strict' || m.command === 'delete_strict';
      switch (m.command) {
        case 'add': {
          const a = this.addFlow(m.spec);
          r.added.push(a);
          for (const w of a.warnings) r.warnings.push(`line ${m.line}, ${w}`);
          break;
        }
        case 'modify':
        case 'modify_strict': {
          // ovs-ofctl add-flows speaks OpenFlow 1.0 by default: a modify selecting nothing adds.
          const mod = this.modOrAddFlows(m.spec, { strict });
          r.modified += mod.modified.length;
          if (mod.added !== undefined) r.added.push(mod.added);
          for (const w of m.spec.warnings) r.warnings.push(`line ${m.line}, ${w}`);
          break;
        }
        case 'delete':
        case 'delete_strict':
          r.deleted += this.delFlows(m.spec, { strict }).length;
          break;
      }
    }
    return r;
  }

  // ---- learn() (the executor calls this for OP_LEARN; see learn.ts) ----

  learn(cl: CompiledLearn, slot: number, rid: number, now: number, dry: boolean, tracer: ExecTracer | null, depth: number): void {
    const l = cl.ast;
    cl.build(this.arena, slot, this.learnTmp, FIELD_READER);
    const last = cl.lastRule;
    if (!dry && last !== null && this.exec.rules[last.id] === last && cl.sameAsLast()) {
      last.modified = now; // the same flow as the last learn from this spec: no lookup needed
      this.learnStats.refreshed++;
      return;
    }
    const t = this.tables[l.table];
    const old = t === undefined ? undefined : t.cls.findStrict(cl.scratch, l.priority, cl.maskHash);
    const same = old !== undefined && old.learned !== null && old.learned.from === cl && sameVals(old.learned.vals, cl.vals);
    if (dry) {
      if (tracer !== null) tracer.event(`${same ? 'learn refreshes' : 'learned'}: ${this.learnedText(cl)}`, depth);
      return;
    }
    if (same) {
      // Already there with the same actions: restart its hard timeout, as OVS does.
      (old as Rule).modified = now;
      this.learnStats.refreshed++;
      cl.remember(old as Rule);
      return;
    }
    // New, or its actions changed (a MAC seen behind another tunnel): install, replacing. OVS
    // learns with a MODIFY_STRICT that may add: a replaced flow keeps its counters, duration,
    // last-used time, timeouts and flags, and its hard timeout restarts.
    const spec = this.learnedSpec(cl);
    let r: AddResult;
    try {
      r = this.install(spec, cl.actions(), true, true);
    } catch {
      this.learnStats.refused++; // table full (maxFlows): counted, the packet goes on
      return;
    }
    this.learnStats.learned++;
    r.rule.learned = { from: cl, vals: Float64Array.from(cl.vals), by: null };
    cl.remember(r.rule);
    if (l.deleteLearned) {
      const by = this.exec.rules[rid];
      if (by !== undefined) {
        r.rule.learned.by = by;
        (by.learnedRules ??= new Set()).add(r.rule);
      }
    }
  }

  private learnedSpec(cl: CompiledLearn): FlowSpec {
    const l = cl.ast;
    return {
      table: l.table, priority: l.priority, cookie: l.cookie, cookieMask: null,
      idleTimeout: l.idleTimeout, hardTimeout: l.hardTimeout, importance: 0, flags: cl.flags,
      outPort: null, match: cl.scratch, actions: null, actionColumns: [], warnings: [],
    };
  }

  /** The flow a learn would install, as add-flow text (trace). */
  private learnedText(cl: CompiledLearn): string {
    const l = cl.ast;
    const names: PortNamer = (p) => this.opts.portName(p);
    const head = [`table=${l.table}`];
    if (l.cookie !== 0n) head.unshift(`cookie=0x${l.cookie.toString(16)}`);
    if (l.idleTimeout) head.push(`idle_timeout=${l.idleTimeout}`);
    if (l.hardTimeout) head.push(`hard_timeout=${l.hardTimeout}`);
    if (l.sendFlowRem) head.push('send_flow_rem');
    const m = formatMatch(cl.scratch, l.priority, names);
    return `${head.join(',')}${m ? ',' + m : ''} actions=${formatActions(cl.actions(), names)}`;
  }

  /**
   * Put a rule in; one with the same table, match and priority is replaced, handing on its
   * last-used time. `asModify`: the replacement is a modify of the old rule (OVS learn() is a
   * MODIFY_STRICT that may add): it also keeps the old rule's creation time, timeouts,
   * importance and flags (replace_rule_start), only the hard timeout restarting.
   */
  private install(spec: FlowSpec, actions: Action[], keepCounts = false, asModify = false, resetFlag = false): AddResult {
    const table = spec.table ?? 0;
    const priority = effectivePriority(spec);
    let t = this.tables[table];
    if (t === undefined) t = this.tables[table] = new FlowTable(table, this.priorities);
    // OpenFlow: an add with the same match and priority replaces the old rule.
    const mh = maskHash(spec.match); // once for the strict lookup and the insert
    const old = t.cls.findStrict(spec.match, priority, mh);
    if (old === undefined && this.count >= this.maxFlows) {
      this.refusedFull++;
      throw new Error(`table full: the limit of ${this.maxFlows} flows is reached`);
    }
    const program = this.programs.acquire(actions);
    const x = this.exec;
    const now = this.clock();
    // Read before the old rule goes: its id is freed and may be the new rule's.
    const nPackets = old !== undefined && keepCounts ? x.nPackets[old.id] : 0;
    const nBytes = old !== undefined && keepCounts ? x.nBytes[old.id] : 0;
    // The replaced rule's last-used time is kept whatever happens to the counters (OVS
    // ofproto-dpif rule_insert: "Used timestamp must be forwarded whenever a rule is
    // modified"): replacing an idle flow does not restart its idle timeout, and idle_age goes
    // on. Its duration and hard timeout start again (a new rule's created/modified).
    const used = old !== undefined ? x.used[old.id] : now;
    if (old !== undefined) this.removeRule(old, undefined);
    const id = this.allocId();
    const from = asModify && old !== undefined ? old : null;
    const flags = from !== null ? [...from.flags] : [...spec.flags];
    if (from === null && resetFlag && !flags.includes('reset_counts')) flags.push('reset_counts');
    const rule = new Rule(
      id, table, priority, spec.match.clone(), spec.cookie ?? 0n, program,
      from !== null ? from.idleTimeout : spec.idleTimeout,
      from !== null ? from.hardTimeout : spec.hardTimeout,
      flags,
      from !== null ? from.importance : spec.importance,
      from !== null ? from.created : now,
    );
    rule.modified = now;
    this.priorities[id] = priority;
    x.plans[id] = program.plan;
    x.rules[id] = rule;
    x.nPackets[id] = nPackets;
    x.nBytes[id] = nBytes;
    x.used[id] = used;
    t.cls.insert(rule, mh);
    this.count++;
    if (rule.idleTimeout || rule.hardTimeout) this.timed.add(rule);
    x.emc.invalidate();
    return { rule, warnings: spec.warnings, replaced: old };
  }

  private allocId(): number {
    if (this.freeIds.length > 0) return this.freeIds.pop()!;
    const id = this.nextId++;
    if (id >= this.priorities.length) this.growIds(this.priorities.length * 2);
    return id;
  }

  /** Grow every per-rule array (control plane; the hot path sees the new arrays next batch). */
  private growIds(n: number): void {
    const p = new Int32Array(n);
    p.set(this.priorities);
    this.priorities = p;
    for (const t of this.tables) if (t) t.cls.priorities = p;
    const x = this.exec;
    const grow = (a: Float64Array): Float64Array => {
      const b = new Float64Array(n);
      b.set(a);
      return b;
    };
    x.nPackets = grow(x.nPackets);
    x.nBytes = grow(x.nBytes);
    x.used = grow(x.used);
  }

  private removeRule(rule: Rule, reason: FlowRemovedReason | undefined): void {
    const t = this.tables[rule.table]!;
    if (!t.cls.remove(rule)) return; // already gone (a delete_learned cascade reached it first)
    const by = rule.learned?.by;
    if (by) by.learnedRules?.delete(rule);
    this.count--;
    this.timed.delete(rule);
    const entry = reason !== undefined && this.onFlowRemoved ? this.entry(rule, this.clock()) : undefined;
    const x = this.exec;
    x.rules[rule.id] = undefined;
    x.plans[rule.id] = EMPTY_PLAN;
    this.programs.release(rule.program);
    this.freeIds.push(rule.id);
    x.emc.invalidate();
    if (entry !== undefined) this.onFlowRemoved!(entry, reason!);
    // delete_learned: the flows this rule's learns installed go with it (OVS).
    const kids = rule.learnedRules;
    if (kids !== null) {
      rule.learnedRules = null;
      for (const k of kids) this.removeRule(k, 'delete');
    }
  }

  // ---- select / delete / modify / dump ----

  /** Rules selected by a filter (OVS semantics: non-strict = covered by the match). */
  select(filter?: string | FlowSpec, opts: SelectOptions = {}): Rule[] {
    const spec = filter === undefined || filter === '' ? undefined : this.toSpec(filter, 'match');
    const out: Rule[] = [];
    const strictPri = spec ? effectivePriority(spec) : 0;
    for (const t of this.tables) {
      if (t === undefined) continue;
      if (spec && spec.table !== null && spec.table !== t.id) continue;
      for (const r of t.cls.rules()) {
        if (spec) {
          if (opts.strict) {
            if (r.priority !== strictPri || !r.match.equals(spec.match)) continue;
          } else if (!spec.match.covers(r.match)) continue;
          if (spec.cookie !== null) {
            const m = spec.cookieMask ?? 0xffffffffffffffffn;
            if ((r.cookie & m) !== (spec.cookie & m)) continue;
          }
          if (spec.outPort !== null && !outputsTo(r.actions, spec.outPort)) continue;
        }
        out.push(r);
      }
    }
    out.sort((a, b) => a.table - b.table || b.priority - a.priority || a.id - b.id);
    return out;
  }

  /** del-flows: remove the selected rules (all rules when no filter). Returns them. */
  /** Remove one installed rule (reported to onFlowRemoved as a delete). */
  deleteRule(rule: Rule): void {
    this.removeRule(rule, 'delete');
  }

  delFlows(filter?: string | FlowSpec, opts: SelectOptions = {}): Rule[] {
    const rules = this.select(filter, opts);
    for (const r of rules) this.removeRule(r, 'delete');
    return rules;
  }

  /**
   * mod-flows: replace the actions of the selected rules, keeping their counters, duration,
   * last-used time, timeouts and flags (OVS replace_rule_start copies them for a modify; the
   * hard timeout restarts). A cookie without a mask sets the new cookie; `cookie=V/M` selects.
   * Returns the modified rules; a modify that selects nothing changes nothing (OpenFlow 1.2+,
   * the OpenFlow agent) — see modOrAddFlows for OpenFlow 1.0's add.
   */
  modFlows(flow: string | FlowSpec, opts: SelectOptions = {}): Rule[] {
    return this.modify(this.toSpec(flow, 'modify'), opts);
  }

  /**
   * mod-flows as ovs-ofctl speaks it by default (OpenFlow 1.0; also 1.1): a modify that selects
   * no flow adds it — its match, priority (default 32768), table, cookie, timeouts and flags —
   * unless it selects by cookie (`cookie=V/M`). OVS ofproto_flow_mod_init: modify_may_add_flow
   * = new_cookie != OVS_BE64_MAX && cookie_mask == 0, and lib/ofp-flow.c gives a modify a new
   * cookie only in OpenFlow 1.0/1.1. `tvs mod-flows` and add-flows' modify lines use this.
   */
  modOrAddFlows(flow: string | FlowSpec, opts: SelectOptions = {}): { modified: Rule[]; added: AddResult | undefined } {
    const spec = this.toSpec(flow, 'modify');
    const modified = this.modify(spec, opts);
    if (modified.length > 0 || spec.cookieMask !== null) return { modified, added: undefined };
    // No flow matched: nothing was changed, so the add is all that happens (or its error).
    return { modified, added: this.install(spec, spec.actions!) };
  }

  private modify(spec: FlowSpec, opts: SelectOptions): Rule[] {
    if (spec.actions === null) throw new FlowSyntaxError("missing 'actions='", 0, 'actions');
    checkExecutable(spec);
    const newCookie = spec.cookieMask === null ? spec.cookie : null;
    const filter: FlowSpec = { ...spec, cookie: spec.cookieMask === null ? null : spec.cookie, actions: null };
    const rules = this.select(filter, opts);
    if (rules.length === 0) return rules;
    // OpenFlow 1.2+ (and ovs-ofctl's reset_counts keyword): the modified flows' counters restart.
    const resetCounts = spec.flags.includes('reset_counts');
    const program = this.programs.acquire(spec.actions);
    program.refs += rules.length - 1;
    for (const r of rules) {
      const move = r.conj !== null || program.conj !== null;
      // Conjunctive and ordinary rules live in different classifier sets: move it over.
      const cls = this.tables[r.table]!.cls;
      if (move) cls.remove(r);
      this.programs.release(r.program);
      r.program = program;
      if (move) cls.insert(r);
      if (newCookie !== null) r.cookie = newCookie;
      r.modified = this.clock(); // OVS: a modify restarts the hard timeout
      if (resetCounts) this.exec.nPackets[r.id] = this.exec.nBytes[r.id] = 0;
      this.exec.plans[r.id] = program.plan;
    }
    this.exec.emc.invalidate();
    return rules;
  }

  /** Counters snapshot of one rule. */
  entry(rule: Rule, now = this.clock()): FlowEntry {
    const x = this.exec;
    return {
      rule,
      nPackets: x.nPackets[rule.id],
      nBytes: x.nBytes[rule.id],
      durationMs: Math.max(0, now - rule.created),
      idleMs: Math.max(0, now - x.used[rule.id]),
      hardMs: Math.max(0, now - rule.modified),
    };
  }

  dumpFlows(filter?: string | FlowSpec, opts: SelectOptions = {}): FlowEntry[] {
    const now = this.clock();
    return this.select(filter, opts).map((r) => this.entry(r, now));
  }

  /** `ovs-ofctl dump-flows` text, one rule per line (port names via portName unless names=false). */
  formatFlows(filter?: string | FlowSpec, opts: SelectOptions & Omit<DumpOptions, 'names'> & { names?: boolean } = {}): string {
    const names: PortNamer | undefined = opts.names === false ? undefined : (p) => this.opts.portName(p);
    return this.dumpFlows(filter, opts)
      .map((e) => formatFlowEntry(e, { names, ages: opts.ages, resetCounts: opts.resetCounts }) + '\n')
      .join('');
  }

  /** Is this rule still in the tables (not deleted, expired or replaced since it was selected)? */
  isInstalled(rule: Rule): boolean {
    return this.exec.rules[rule.id] === rule;
  }

  /**
   * One rule as a dump-flows line, or undefined if it is no longer installed (a dump written
   * in chunks formats rules selected earlier).
   */
  formatInstalled(rule: Rule, opts: Omit<DumpOptions, 'names'> & { names?: boolean } = {}): string | undefined {
    if (!this.isInstalled(rule)) return undefined;
    const names: PortNamer | undefined = opts.names === false ? undefined : (p) => this.opts.portName(p);
    return formatFlowEntry(this.entry(rule), { names, ages: opts.ages, resetCounts: opts.resetCounts });
  }

  tableStats(): TableStats[] {
    const out: TableStats[] = [];
    for (const t of this.tables) {
      if (t !== undefined) out.push({ table: t.id, activeCount: t.count, lookups: t.lookups, matched: t.matched });
    }
    return out;
  }

  // ---- timeouts ----

  /**
   * Remove rules whose idle or hard timeout has passed (seconds, as OpenFlow; the hard timeout
   * counts from the last add/modify/re-learn): a flow with idle_timeout=10 last used at t ms
   * is still there at t + 10,000 and gone from t + 10,001, as in OVS. Returns them. Bounded work: at most `budget`
   * timed rules are checked per call, going on where the last call stopped, so a table of many
   * learned flows costs each housekeeping tick the same (a flow then expires at most
   * ceil(timed / budget) ticks late).
   */
  expire(now: number = this.clock(), budget = EXPIRE_BUDGET): Rule[] {
    this.exec.ct.expire(now); // connections past their timeout (same tick as the flows)
    const gone: Rule[] = [];
    const used = this.exec.used;
    // A Set iterator survives deletions and sees additions; a finished one starts over.
    let it = this.expireIter ?? this.timed.values();
    let started = this.expireIter === null;
    const limit = Math.min(budget, this.timed.size);
    for (let n = 0; n < limit; n++) {
      let step = it.next();
      if (step.done) {
        if (started) break; // went round the whole set in this call
        it = this.timed.values();
        started = true;
        step = it.next();
        if (step.done) break;
      }
      const r = step.value;
      let reason: FlowRemovedReason | undefined;
      // OVS ofproto-dpif rule_expire: `now > modified + hard_timeout * 1000` (then the same
      // for used + idle_timeout): a flow lives its whole timeout and goes the millisecond after.
      if (r.hardTimeout && now - r.modified > r.hardTimeout * 1000) reason = 'hard_timeout';
      else if (r.idleTimeout && now - used[r.id] > r.idleTimeout * 1000) reason = 'idle_timeout';
      if (reason !== undefined && this.isInstalled(r)) {
        gone.push(r);
        this.removeRule(r, reason);
      }
    }
    this.expireIter = it;
    return gone;
  }

  // ---- deciding without committing (trace) ----

  /** Port names for flow text and dumps (what trace renders with). */
  get names(): { resolvePort(name: string): number; portName(ofport: number): string | undefined } {
    return { resolvePort: (n) => this.opts.resolvePort(n), portName: (p) => this.opts.portName(p) };
  }

  /**
   * Run a parsed batch exactly as `process` does — same entry, same lookups, same compiled
   * actions — without committing: rule counters, table stats, drop counters and the EMC are
   * left as they were. `ops` receives every slot (trace records the outputs); `tracer` sees
   * every lookup and action. Control plane (ofproto/trace).
   */
  decide(batch: Batch, ops: BridgeOps, tracer: ExecTracer | null): void {
    const x = this.exec;
    const drops = x.drops;
    x.dry = true;
    x.tracer = tracer;
    x.drops = new DropCounters(FLOW_DROP_REASONS);
    try {
      this.process(batch, ops);
    } finally {
      x.dry = false;
      x.tracer = null;
      x.drops = drops;
    }
  }
}

const EMPTY_PLAN: Plan = [];

/** out_port filter; looks inside write_actions(...) too, as OVS (ofpacts_output_to_port). */
function outputsTo(actions: readonly Action[], port: number): boolean {
  return actions.some((a) => (a.type === 'output' && a.port === port) || (a.type === 'write_actions' && outputsTo(a.actions, port)));
}

export { Match, Rule };
