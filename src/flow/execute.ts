/**
 * The hot path: look a frame up (EMC, then the tuple-space classifier), count it on the rule,
 * and run the rule's compiled plan on BridgeOps. One frame at a time through the whole
 * pipeline, the batch in a plain loop; nothing here allocates per packet.
 *
 * Output semantics (OpenFlow): every output sends the packet as modified so far. Instead of
 * cloning at every output we keep the last output PENDING; a later modification or output
 * first sends a clone to the pending port, and at the end the original slot itself goes to the
 * pending port. So `mod_vlan_vid:5,output:1,strip_vlan,output:2` costs exactly one clone and
 * `actions=mod_vlan_vid:101,NORMAL` none.
 *
 * The OpenFlow 1.3 action set (write_actions / clear_actions, action-set.ts) runs in finish(),
 * when the pipeline ends, in the spec's order; a pipeline that never writes one pays a single
 * emptiness test per packet. It travels with the packet through ct(table=T) recirculation (as
 * OVS freezes it with the packet), and a ct() fork gives the copy the set as it was.
 *
 * Packet edits (packet-edits.ts, field-access.ts) keep the flow key, l3/l4 offsets and the
 * vnet header in step (packet/vlan.ts for tags), so later tables match the modified packet
 * without a re-parse. Drop reasons: flow-drops.ts; tracer and learn hooks: exec-hooks.ts.
 */
import type { PacketArena } from '../packet/arena';
import type { Batch } from '../packet/batch';
import { DropCounters } from '../packet/drops';
import * as K from '../packet/flow-key';
import { popTag, pushTag, rewriteTci, setVid } from '../packet/vlan';
import type { BridgeOps } from './bridge-ops';
import * as eth from '../wire/ethernet';
import * as ipv4 from '../wire/ipv4';
import * as tcp from '../wire/tcp';
import * as A from './actions';
import type { Plan } from './actions';
import * as N from './nxm';
import { Emc } from './emc';
import { CtStage, CT_FULL, CT_NAT_EXHAUSTED, clearCtKey } from './ct-stage';
import { CS_DST_NAT, CS_INVALID, CS_SRC_NAT, CS_TRACKED } from './fields';
import { formatCtState } from './ofctl-format';
import { formatPort } from './ofctl/format-values';
import type { FlowTable, Rule } from './table';
import { ActionSet } from './action-set';
import type { ProgramCache } from './programs';
import { EV_PC_SHIFT, EV_TABLE, EV_TAIL, FATE_EXPLICIT_DROP, FATE_MISS, PASS_OPS, PassCache } from './pass-cache';
import { FLOW_DROPS, type FlowDropReason } from './flow-drops';
import type { ExecTracer, LearnHost } from './exec-hooks';
import { applyLoad, applyMove, readFieldBits, swapCtTuple } from './field-access';
import { decTtl, setDscp, setEth, setIpv4Addr, setIpv6Addr, setL4Port } from './packet-edits';

const FD_TABLE_MISS = FLOW_DROPS.id.table_miss;
const FD_ACTION_DROP = FLOW_DROPS.id.action_drop;
const FD_NO_OUTPUT = FLOW_DROPS.id.no_output;
const FD_TTL = FLOW_DROPS.id.ttl_exceeded;
const FD_HEADROOM = FLOW_DROPS.id.no_headroom;
const FD_NO_BUFFER = FLOW_DROPS.id.no_buffer;
const FD_DEPTH = FLOW_DROPS.id.resubmit_depth;
const FD_IN_PORT = FLOW_DROPS.id.output_to_in_port;
const FD_CT_FULL = FLOW_DROPS.id.ct_table_full;
const FD_RECIRC = FLOW_DROPS.id.recirc_depth;
const FD_CT_NAT = FLOW_DROPS.id.ct_nat_exhausted;

/** Recirculations (ct(table=T)) per packet at most (OVS's datapath allows a handful). */
export const MAX_RECIRC = 8;

/** Table-0 subtable count from which the EMC is consulted (bench/flow-bench.ts). */
export const EMC_MIN_SUBTABLES = 4;

/** OVS limits resubmit nesting to 64 (MAX_DEPTH in ofproto-dpif-xlate.c). */
export const MAX_DEPTH = 64;

const CS_NAT = CS_SRC_NAT | CS_DST_NAT;

const CONTINUE = 0;
const CONSUMED = 1;

const ETH_IP = eth.ETH_P_IPV4;


export class Executor {
  readonly arena: PacketArena;
  private readonly key: Uint32Array;
  /** The arena's per-slot "key tail may be dirty" flags (PacketArena.keyTail). */
  private readonly keyTail: Uint8Array;
  readonly tables: (FlowTable | undefined)[];
  /** Per rule id: compiled plan, the Rule itself, counters, last-used time (ms). */
  plans: Plan[] = [];
  rules: (Rule | undefined)[] = [];
  nPackets: Float64Array;
  nBytes: Float64Array;
  used: Float64Array;
  readonly emc = new Emc();
  emcEnabled = true;
  emcMinSubtables = EMC_MIN_SUBTABLES;
  drops = new DropCounters<FlowDropReason>(FLOW_DROPS);
  tracer: ExecTracer | null = null;
  /** Runs learn() actions (the pipeline); null = learn actions do nothing. */
  learner: LearnHost | null = null;
  /**
   * Decide without committing (trace): the same lookups and actions, but no rule counters, no
   * table stats and no EMC probe or insert (the EMC only caches the classifier's answer). Drop
   * counters are swapped out by the caller (FlowPipeline.decide), which costs the hot path nothing.
   */
  dry = false;

  private ops!: BridgeOps;
  /**
   * The batch's time (ms), set by the pipeline before run()/runActions(). A field, not an
   * argument: a double passed to a call V8 does not inline is boxed (see packet/batch-clock.ts).
   */
  now = 0;
  private depth = 0;
  // The pending output (see the header comment); pendOp 0 = none.
  private pendOp = 0;
  private pendArg = 0;
  private pendTable = 0;
  private pendRule = 0;
  private outputs = 0;
  private explicitDrop = false;
  private recirc = 0;
  /**
   * True while nothing follows the current action list in any list that resubmitted to it: a
   * ct(table=T) there is the packet's last action, so its recirculation needs no copy (Neutron
   * reaches its ct(table=72) through resubmits).
   */
  private tail = true;
  /** The packet's action set (write_actions), and one saved copy per ct() fork level. */
  private readonly set = new ActionSet();
  private readonly forkSets: ActionSet[] = Array.from({ length: MAX_RECIRC + 1 }, () => new ActionSet());
  /** The bridge's connection tracker (ct() actions); created with the pipeline. */
  ct: CtStage = new CtStage();
  /**
   * Pass cache (pass-cache.ts): each pass of a multi-table pipeline replayed without lookups.
   * Created the first time the tables span several tables; off = the full walk every time.
   */
  passCache: PassCache | null = null;
  passCacheEnabled = true;
  /**
   * The pass cache is worth its probe: rules in several tables and some program resubmits or
   * goes to another table (several lookups per pass). Measured: with one lookup per pass (the
   * minimal ct() firewall, bench/ct-memory) a probe cost more than the lookup it saved.
   * Computed per generation with soleNormal.
   */
  private multiTable = false;
  /** The pipeline's shared programs (whether any resubmits); null = assume some do. */
  programs: ProgramCache | null = null;
  /** Recording the current pass for the pass cache (a probe missed). */
  private recording = false;
  /** Table generation when the recorded pass started (a learn mid-pass voids it). */
  private recGen = 0;
  /** Frame length when the recorded pass started (lookups record how much it grew since). */
  private recLen = 0;
  /** The current pass's cache entry (replayed or just stored) and its serial, else -1. */
  private passEntry = -1;
  private passSerial = 0;

  constructor(arena: PacketArena, tables: (FlowTable | undefined)[], capacity: number) {
    this.arena = arena;
    this.key = arena.key;
    this.keyTail = arena.keyTail;
    this.tables = tables;
    this.nPackets = new Float64Array(capacity);
    this.nBytes = new Float64Array(capacity);
    this.used = new Float64Array(capacity);
  }

  /** Run every frame of the batch through the tables at `this.now`. Frames are already parsed. */
  run(batch: Batch, ops: BridgeOps): void {
    this.ops = ops;
    this.ct.now = this.now;
    const slots = batch.slots;
    const n = batch.count;
    if (this.soleGen !== this.emc.generation) this.findSoleNormal();
    if (this.soleNormal >= 0 && this.tracer === null && !this.dry) {
      this.runSoleNormal(batch);
      return;
    }
    for (let i = 0; i < n; i++) this.runPacket(slots[i]);
    const pc = this.passCache;
    if (pc !== null && pc.nTouched > 0) pc.flushStats(this);
  }

  /**
   * A bridge whose only flow is the default `priority=0 actions=NORMAL` (OVS's flow for a new
   * standalone bridge): every frame matches it, so the per-packet classifier lookup and plan
   * walk are skipped — the rule and table counters still move exactly as the lookup would move
   * them. Measured: the lookup cost NORMAL ~19% in memory (10.6 -> 8.6 Mpps, 64 B).
   */
  private runSoleNormal(batch: Batch): void {
    const rid = this.soleNormal;
    const slots = batch.slots;
    const n = batch.count;
    const len = this.arena.len;
    const t0 = this.tables[0] as FlowTable;
    t0.lookups += n;
    t0.matched += n;
    let bytes = 0;
    for (let i = 0; i < n; i++) bytes += len[slots[i]];
    this.nPackets[rid] += n;
    this.nBytes[rid] += bytes;
    this.used[rid] = this.now;
    const ops = this.ops;
    for (let i = 0; i < n; i++) ops.normal(slots[i]);
  }

  /** Table generation soleNormal was computed for (any table change bumps the EMC's). */
  private soleGen = 0;
  /** Rule id when table 0 holds exactly one rule, match-all with actions=NORMAL; else -1. */
  private soleNormal = -1;

  private findSoleNormal(): void {
    this.soleGen = this.emc.generation;
    this.soleNormal = -1;
    let used = 0;
    for (const t of this.tables) if (t !== undefined && t.cls.count > 0) used++;
    // One table: at most a lookup or two per packet, cheaper than a pass-cache probe.
    this.multiTable = used > 1 && (this.programs === null || this.programs.jumps > 0);
    if (this.multiTable && this.passCache === null && this.passCacheEnabled) this.passCache = new PassCache();
    const t0 = this.tables[0];
    if (t0 === undefined || t0.cls.count !== 1) return;
    for (let id = 0; id < this.rules.length; id++) {
      const r = this.rules[id];
      if (r === undefined || r.table !== 0) continue;
      const plan = this.plans[id];
      if (plan.length !== 1 || plan[0] !== A.OP_NORMAL) return;
      if (r.match.mask.some((m) => m !== 0)) return;
      this.soleNormal = id;
      return;
    }
  }

  runPacket(slot: number): void {
    // Actions may write the key's tail (registers, metadata, ct state, tunnel fields): the next
    // parse of this slot clears it (arena.keyTail).
    this.keyTail[slot] = 1;
    this.depth = 0;
    this.pendOp = 0;
    this.outputs = 0;
    this.explicitDrop = false;
    this.recirc = 0;
    this.tail = true;
    this.set.clear();
    this.recording = false;
    this.passEntry = -1;
    const pc = this.passCache;
    if (pc !== null && this.multiTable && this.passCacheEnabled && this.tracer === null && !this.dry) {
      if (pc.probeFirst(this.key, slot, this.emc.generation)) {
        this.passEntry = pc.hitEntry;
        this.passSerial = pc.hitSerial;
        if (this.replay(slot, pc.hitProg) === CONSUMED) return;
        this.finish(slot);
        return;
      }
      if (pc.sample()) this.startRecording(pc, slot);
    }
    const t0 = this.tables[0];
    let rid = -1;
    if (t0 !== undefined) {
      if (!this.dry) t0.lookups++;
      // The EMC pays off only when the classifier would probe several subtables: measured,
      // one EMC probe (hash + compare of 20 words) costs about as much as 3 subtable probes.
      // A recorded pass asks the classifier itself, which says what the answer depended on.
      if (this.recording) {
        rid = t0.cls.lookupWc(this.key, slot << K.KEY_SHIFT, (this.passCache as PassCache).wc);
      } else if (this.emcEnabled && !this.dry && t0.cls.subtableCount >= this.emcMinSubtables) {
        rid = this.emc.lookup(this.key, slot);
        if (rid === -2) {
          rid = t0.cls.lookup(this.key, slot << K.KEY_SHIFT);
          this.emc.insert(this.key, slot, rid);
        }
      } else {
        rid = t0.cls.lookup(this.key, slot << K.KEY_SHIFT);
      }
    }
    if (this.tracer !== null) this.tracer.lookup(0, rid, slot, 0);
    if (this.recording) this.recordTop(0, rid);
    if (rid < 0) {
      if (this.recording) this.passEnd();
      this.drops.add(FD_TABLE_MISS);
      this.ops.drop(slot, FD_TABLE_MISS);
      return;
    }
    if (!this.dry) (t0 as FlowTable).matched++;
    if (this.runRule(slot, 0, rid) === CONSUMED) {
      this.recording = false; // ended by an abort (a recirculation has stored the pass already)
      return;
    }
    if (this.recording) this.passEnd();
    this.finish(slot);
  }

  private startRecording(pc: PassCache, slot: number): void {
    pc.startRecording(this.key, slot);
    this.recording = true;
    this.recGen = this.emc.generation;
    this.recLen = this.arena.len[slot];
  }

  /** The recorded pass's first lookup: a miss drops, an empty plan is an explicit drop. */
  private recordTop(table: number, rid: number): void {
    const pc = this.passCache as PassCache;
    pc.recordLookup(table, rid, 0);
    if (rid < 0) pc.recordFate(FATE_MISS);
    else if (this.plans[rid].length === 0) pc.recordFate(FATE_EXPLICIT_DROP);
  }

  /** The recorded pass is complete: store it (unless it cannot be cached); sets passEntry. */
  private passEnd(): void {
    this.recording = false;
    const g = this.emc.generation;
    const pc = this.passCache as PassCache;
    const e = g === this.recGen ? pc.insert(g) : -1;
    this.passEntry = e;
    if (e >= 0) this.passSerial = pc.serialOf(e);
  }

  /**
   * Replay pass program `p` on `slot`: its lookups are counted (added to the tables and rules
   * at the end of the batch), its instructions run through runOp (the same function the full
   * walk uses). CONSUMED when an instruction took the packet (recirculation, drop); else the
   * caller finishes the pass.
   */
  private replay(slot: number, p: number): number {
    const pc = this.passCache as PassCache;
    pc.account(p, this.arena.len[slot]);
    const fate = pc.fate[p];
    if (fate !== 0) {
      if ((fate & FATE_MISS) !== 0) {
        this.drops.add(FD_TABLE_MISS);
        this.ops.drop(slot, FD_TABLE_MISS);
        return CONSUMED;
      }
      this.explicitDrop = true;
    }
    const opA = pc.opA;
    const opB = pc.opB;
    const opReg = pc.opReg;
    const plans = this.plans;
    const b = p * PASS_OPS;
    const end = b + pc.opN[p];
    for (let i = b; i < end; i++) {
      const reg = opReg[i];
      if (reg >= 0 && this.pendOp === 0) {
        // A register load (Neutron's reg5/reg6/reg7) as runOp's fast path runs it, decoded when
        // recorded: no call, no read of the rule's plan (nothing is pending: nothing to flush).
        const w = (slot << K.KEY_SHIFT) + reg;
        const key = this.key;
        key[w] = (key[w] & pc.opKeep[i]) | pc.opSet[i];
        continue;
      }
      const a = opA[i];
      const rid = opB[i];
      const plan = plans[rid];
      const at = a >>> EV_PC_SHIFT;
      this.tail = (a & EV_TAIL) !== 0;
      if (this.runOp(slot, plan, at, plan[at], a & EV_TABLE, rid) === CONSUMED) return CONSUMED;
    }
    return CONTINUE;
  }

  /**
   * Run an action list that belongs to no rule on one parsed frame (OpenFlow PACKET_OUT): the
   * same plan walk and output rules as a flow's actions, table 0 as the current table (so
   * resubmit(,0) is OVS's output:TABLE). Takes ownership of the slot.
   */
  runActions(slot: number, plan: Plan, ops: BridgeOps): void {
    this.keyTail[slot] = 1; // as runPacket
    this.ops = ops;
    this.ct.now = this.now;
    this.depth = 0;
    this.pendOp = 0;
    this.outputs = 0;
    this.explicitDrop = plan.length === 0;
    this.recirc = 0;
    this.tail = true;
    this.set.clear();
    this.recording = false;
    this.passEntry = -1; // a packet-out is never cached, nor what it recirculates
    if (this.runPlan(slot, plan, 0, -1) === CONSUMED) return;
    this.finish(slot);
  }

  /** After the actions: the pending output gets the frame itself, else it is released or dropped. */
  private finish(slot: number): void {
    if (!this.set.empty && this.runActionSet(slot) === CONSUMED) return;
    if (this.pendOp !== 0) {
      this.deliver(slot, this.pendOp, this.pendArg, this.pendTable, this.pendRule);
    } else if (this.outputs > 0) {
      this.arena.release(slot); // copies went out; the original was only modified afterwards
    } else if (this.explicitDrop) {
      this.drops.add(FD_ACTION_DROP);
      this.ops.drop(slot, FD_ACTION_DROP);
    } else {
      this.drops.add(FD_NO_OUTPUT);
      this.ops.drop(slot, FD_NO_OUTPUT);
    }
  }

  /**
   * The pipeline ended: run the action set in OpenFlow order (pop, push_vlan, dec_ttl, the sets,
   * output). As OVS (ofpacts_execute_action_set), a set without an output does nothing: there
   * is no point modifying a packet that is not sent. Outputs of the apply-actions are pending
   * or gone already, so they leave with the packet as it was before the set ran.
   */
  private runActionSet(slot: number): number {
    const s = this.set;
    const mask = s.mask;
    const nSet = s.nSet;
    s.clear(); // consumed; entries stay readable below
    if ((mask & (1 << A.AS_OUTPUT)) === 0) {
      if (this.tracer !== null) this.tracer.event('action set has no output: discarded', this.depth);
      return CONTINUE;
    }
    for (let kind = 0; kind < A.AS_KINDS; kind++) {
      if (kind === A.AS_SET) {
        for (let j = 0; j < nSet; j++) {
          if (this.runSetEntry(slot, s.setAct[j] as A.Action, s.setPlan[j] as Plan, s.setTable[j], s.setRid[j]) === CONSUMED) return CONSUMED;
        }
      } else if ((mask & (1 << kind)) !== 0) {
        if (this.runSetEntry(slot, s.act[kind] as A.Action, s.plan[kind] as Plan, s.table[kind], s.rid[kind]) === CONSUMED) return CONSUMED;
      }
    }
    return CONTINUE;
  }

  private runSetEntry(slot: number, a: A.Action, plan: Plan, table: number, rid: number): number {
    const tr = this.tracer;
    if (tr === null) return this.runPlan(slot, plan, table, rid);
    // The entry's plan is not the rule's: the tracer hears the action itself.
    tr.actionSet(a, this.depth);
    this.tracer = null;
    const r = this.runPlan(slot, plan, table, rid);
    this.tracer = tr;
    return r;
  }

  /**
   * A fresh pass of `slot` from `table` (ct(table=T) recirculation): as OVS, a miss in T drops
   * the packet, and it leaves through its own outputs; nothing of the pass that recirculated it
   * (pending output, resubmit stack) carries over.
   */
  private recirculate(slot: number, table: number): void {
    this.depth = 0;
    this.tail = true;
    this.pendOp = 0;
    this.outputs = 0;
    this.explicitDrop = false;
    // The pass that recirculated set passEntry (-1: it is not cached, nor is this one).
    const chain = this.passEntry;
    this.passEntry = -1;
    this.recording = false;
    const pc = this.passCache;
    if (chain >= 0 && pc !== null) {
      const r = pc.probeRecirc(this.key, slot, chain, this.passSerial, this.emc.generation);
      if (r > 0) {
        this.passEntry = pc.hitEntry;
        this.passSerial = pc.hitSerial;
        if (this.replay(slot, pc.hitProg) === CONSUMED) return;
        this.finish(slot);
        return;
      }
      if (r === 0 && pc.sample()) this.startRecording(pc, slot);
    }
    const t = this.tables[table];
    let rid = -1;
    if (t !== undefined) {
      if (!this.dry) t.lookups++;
      rid = this.recording ? t.cls.lookupWc(this.key, slot << K.KEY_SHIFT, (pc as PassCache).wc) : t.cls.lookup(this.key, slot << K.KEY_SHIFT);
    }
    if (this.tracer !== null) this.tracer.lookup(table, rid, slot, 0);
    if (this.recording) this.recordTop(table, rid);
    if (rid < 0) {
      if (this.recording) this.passEnd();
      this.drops.add(FD_TABLE_MISS);
      this.ops.drop(slot, FD_TABLE_MISS);
      return;
    }
    if (!this.dry) (t as FlowTable).matched++;
    if (this.runRule(slot, table, rid) === CONSUMED) {
      this.recording = false;
      return;
    }
    if (this.recording) this.passEnd();
    this.finish(slot);
  }

  /**
   * ct() at `pc` of `plan`. Without table=: the connection is looked up/committed and the
   * packet goes on unchanged (OVS leaves the ct_* fields of the current pass alone). With
   * table=T: the tracked packet continues in T. When ct() is the packet's last action (it ends
   * this list and every list that resubmitted to it: the usual `actions=ct(table=T,zone=Z)`)
   * that is the same slot, looked up again — no copy; otherwise a clone goes to T and this list
   * continues with the packet as it was (OVS's fork).
   */
  private runCt(slot: number, plan: Plan, pc: number): number {
    const a = this.arena;
    const ct = this.ct;
    const flags = plan[pc + A.CT_FLAGS];
    const rt = plan[pc + A.CT_TABLE];
    let zone = plan[pc + A.CT_ZONE];
    const zfid = plan[pc + A.CT_ZONE_FID];
    if (zfid >= N.F_REG0 && zfid < N.F_REG0 + 8) {
      // zone=NXM_NX_REGn[a..b] (Neutron's reg6): a key word, no field switch.
      zone = (this.key[(slot << K.KEY_SHIFT) + K.K_REG0 + zfid - N.F_REG0] >>> plan[pc + A.CT_ZONE_OFS]) & 0xffff;
    } else if (zfid >= 0) {
      zone = readFieldBits(a, slot, zfid, plan[pc + A.CT_ZONE_OFS]) & 0xffff;
    }
    if (rt === 255) {
      const r = ct.process(a, slot, zone, flags, this.dry, plan, pc);
      if (this.tracer !== null) this.traceCt(zone, r);
      // A NAT translation changes the key by the connection, not by the key: not replayable.
      if (this.recording && (ct.state & CS_NAT) !== 0) (this.passCache as PassCache).recBad = true;
      return r === CT_FULL ? this.abort(slot, FD_CT_FULL) : r === CT_NAT_EXHAUSTED ? this.abort(slot, FD_CT_NAT) : CONTINUE;
    }
    if (this.recirc >= MAX_RECIRC) {
      if (this.tracer !== null) this.tracer.event('ct: recirculation limit reached, dropped', this.depth);
      return this.abort(slot, FD_RECIRC);
    }
    const tail = this.tail && pc + A.OP_LEN[A.OP_CT] >= plan.length;
    if (tail) {
      // This pass ends here: store it; the next one chains to it (passEntry).
      if (this.recording) this.passEnd();
    } else {
      // A fork runs a whole pass inside this one: neither is cached.
      if (this.recording) (this.passCache as PassCache).recBad = true;
      this.recording = false;
      this.passEntry = -1;
    }
    const s = tail ? slot : a.clone(slot);
    if (s < 0) {
      this.drops.add(FD_NO_BUFFER);
      return CONTINUE;
    }
    const r = ct.process(a, s, zone, flags, this.dry, plan, pc);
    if (this.tracer !== null) this.traceCt(zone, r);
    if (r !== 0) {
      const why = r === CT_FULL ? FD_CT_FULL : FD_CT_NAT;
      this.drops.add(why);
      this.ops.drop(s, why);
      return tail ? CONSUMED : CONTINUE;
    }
    ct.writeKey(this.key, s);
    if ((ct.state & CS_NAT) !== 0) this.passEntry = -1; // translated: the next pass is not chained
    if (tail) {
      this.recirc++;
      this.recirculate(s, rt);
      return CONSUMED;
    }
    // Fork: the clone's pass runs to its end, then this one resumes where it was.
    const depth = this.depth;
    const outputs = this.outputs;
    const explicitDrop = this.explicitDrop;
    const tailNow = this.tail;
    const saved = this.set.empty ? null : this.forkSets[this.recirc];
    if (saved !== null) saved.copyFrom(this.set);
    this.recirc++;
    this.recirculate(s, rt);
    this.recirc--;
    if (saved !== null) this.set.copyFrom(saved);
    else this.set.clear();
    this.tail = tailNow;
    this.depth = depth;
    this.outputs = outputs;
    this.explicitDrop = explicitDrop;
    this.pendOp = 0; // flushed before ct() ran (a ct() is a modification for the pending output)
    return CONTINUE;
  }

  private traceCt(zone: number, r: number): void {
    const ct = this.ct;
    const tr = this.tracer as ExecTracer;
    tr.event(`ct(zone=${zone}): ct_state=${formatCtState(ct.state, 0xff)}${ct.rec >= 0 ? `, connection ${ct.rec}` : ''}${ct.mark !== 0 ? `, ct_mark=0x${ct.mark.toString(16)}` : ''}${r === CT_FULL ? ': table full, dropped' : r === CT_NAT_EXHAUSTED ? ': no free NAT address/port, dropped' : ''}`, this.depth);
  }

  /** Lookup in `table` for resubmit/goto (no EMC: registers and the key may have changed). */
  private runTable(slot: number, table: number, inPort: number, withCt = false): number {
    const t = this.tables[table];
    let rid = -1;
    if (t !== undefined) {
      if (!this.dry) t.lookups++;
      const k = slot << K.KEY_SHIFT;
      const key = this.key;
      // resubmit(,T,ct): the lookup sees the conntrack original-direction tuple in place of the
      // packet's addresses, protocol and ports, when the packet is tracked and valid (OVS
      // xlate_table_action's tuple_swap); otherwise the packet's own. The actions see the packet.
      const swap = withCt && (key[k + K.K_CT_STATE] & (CS_TRACKED | CS_INVALID)) === CS_TRACKED && key[k + K.K_DL_TYPE] === ETH_IP;
      if (swap) swapCtTuple(key, k);
      if (inPort >= 0) {
        // resubmit(PORT,T): the lookup sees PORT, the actions the original in_port (OVS).
        const saved = this.key[k];
        this.key[k] = inPort;
        rid = this.recording ? this.lookupWc(t, k, withCt, swap) : t.cls.lookup(this.key, k);
        this.key[k] = saved;
      } else {
        rid = this.recording ? this.lookupWc(t, k, withCt, swap) : t.cls.lookup(this.key, k);
      }
      if (swap) swapCtTuple(key, k);
    }
    if (this.tracer !== null) this.tracer.lookup(table, rid, slot, this.depth);
    if (this.recording) (this.passCache as PassCache).recordLookup(table, rid, this.arena.len[slot] - this.recLen);
    if (rid < 0) return CONTINUE; // a resubmit miss just continues with the caller's actions
    if (!this.dry) (t as FlowTable).matched++;
    return this.runRule(slot, table, rid);
  }

  /**
   * A recorded pass's lookup in `t` (runTable): the classifier says which key bits decided it.
   * resubmit(,T,ct) looked at ct_state and dl_type to choose the tuple, and with the tuple
   * swapped a bit of nw_src in the lookup is a bit of ct_nw_src in the key.
   */
  private lookupWc(t: FlowTable, k: number, withCt: boolean, swap: boolean): number {
    const wc = (this.passCache as PassCache).wc;
    if (withCt) {
      wc[K.K_CT_STATE] |= CS_TRACKED | CS_INVALID;
      wc[K.K_DL_TYPE] = 0xffffffff;
    }
    if (!swap) return t.cls.lookupWc(this.key, k, wc);
    swapCtTuple(wc, 0);
    const rid = t.cls.lookupWc(this.key, k, wc);
    swapCtTuple(wc, 0);
    return rid;
  }

  private runRule(slot: number, table: number, rid: number): number {
    if (!this.dry) {
      this.nPackets[rid]++;
      this.nBytes[rid] += this.arena.len[slot];
      this.used[rid] = this.now;
    }
    const plan = this.plans[rid];
    if (plan.length === 0 && this.depth === 0) this.explicitDrop = true;
    return this.runPlan(slot, plan, table, rid);
  }

  private runPlan(slot: number, plan: Plan, table: number, rid: number): number {
    let pc = 0;
    while (pc < plan.length) {
      const op = plan[pc];
      if (this.tracer !== null) this.tracer.action(rid, pc, slot, this.depth);
      if (this.runOp(slot, plan, pc, op, table, rid) === CONSUMED) return CONSUMED;
      pc += A.OP_LEN[op];
    }
    return CONTINUE;
  }

  /**
   * One instruction (`op` at `pc` of `plan`, rule `rid` in `table`): the one function both the
   * full walk and a pass-cache replay run, so forwarding, replay and trace decide alike.
   */
  private runOp(slot: number, plan: Plan, pc: number, op: number, table: number, rid: number): number {
    const a = this.arena;
    const key = this.key;
    const k = slot << K.KEY_SHIFT;
    if (this.recording && op !== A.OP_RESUBMIT && op !== A.OP_GOTO && op !== A.OP_RESUBMIT_CT) {
      // Resubmits are not replayed: their lookups are recorded as LOOKUP events.
      const fid = op === A.OP_LOAD ? plan[pc + 1] : -1;
      const reg = fid >= N.F_REG0 && fid < N.F_REG0 + 8 ? K.K_REG0 + fid - N.F_REG0 : -1;
      (this.passCache as PassCache).recordOp(table | (this.tail ? EV_TAIL : 0) | (pc << EV_PC_SHIFT), rid, reg, reg < 0 ? 0 : ~plan[pc + 3], reg < 0 ? 0 : plan[pc + 5] | 0);
      this.recordEffects(plan, pc, op);
    }
    if (op > A.OP_CONTROLLER && op < A.OP_CLEAR_ACTIONS && this.pendOp !== 0 && op !== A.OP_RESUBMIT && op !== A.OP_GOTO && op !== A.OP_LEARN && op !== A.OP_RESUBMIT_CT) {
      // A modification: the pending output must leave as it is now.
      this.flush(slot);
    }
    switch (op) {
      case A.OP_OUTPUT: {
        const port = plan[pc + 1];
        if (port === key[k + K.K_IN_PORT]) {
          this.drops.add(FD_IN_PORT); // OpenFlow: output to the input port is skipped
          if (this.tracer !== null) this.tracer.event(`output:${formatPort(port)} is the input port: skipped (use in_port)`, this.depth);
        } else this.setPending(slot, op, port, table, rid);
        break;
      }
      case A.OP_IN_PORT:
      case A.OP_NORMAL:
      case A.OP_FLOOD:
      case A.OP_ALL:
        this.setPending(slot, op, 0, table, rid);
        break;
      case A.OP_CONTROLLER:
        this.setPending(slot, op, plan[pc + 1], table, rid);
        break;
      case A.OP_SET_VLAN_VID:
        if (!setVid(a, slot, plan[pc + 1])) return this.abort(slot, FD_HEADROOM);
        break;
      case A.OP_SET_VLAN_VID_SF:
        // OpenFlow 1.2+ set_field on vlan_vid only rewrites an existing tag (push_vlan first).
        if (key[k + K.K_VLAN_TCI] !== 0) rewriteTci(a, slot, plan[pc + 1], 0x0fff);
        break;
      case A.OP_SET_VLAN_PCP: {
        const tci = plan[pc + 1] << 13;
        if (key[k + K.K_VLAN_TCI] !== 0) rewriteTci(a, slot, tci, 0xe000);
        else if (!pushTag(a, slot, eth.ETH_P_8021Q, tci)) return this.abort(slot, FD_HEADROOM);
        break;
      }
      case A.OP_STRIP_VLAN:
        popTag(a, slot);
        break;
      case A.OP_PUSH_VLAN:
        // OVS pushes a tag with VID 0 / PCP 0; set_field:->vlan_vid then fills it.
        if (!pushTag(a, slot, plan[pc + 1], 0)) return this.abort(slot, FD_HEADROOM);
        break;
      case A.OP_SET_ETH_SRC:
        setEth(a, slot, eth.SRC, K.K_DL_SRC_HI, plan[pc + 1], plan[pc + 2] >>> 0);
        break;
      case A.OP_SET_ETH_DST:
        setEth(a, slot, eth.DST, K.K_DL_DST_HI, plan[pc + 1], plan[pc + 2] >>> 0);
        break;
      case A.OP_SET_IPV4_SRC:
        setIpv4Addr(a, slot, ipv4.SRC, K.K_NW_SRC, plan[pc + 1] >>> 0);
        break;
      case A.OP_SET_IPV4_DST:
        setIpv4Addr(a, slot, ipv4.DST, K.K_NW_DST, plan[pc + 1] >>> 0);
        break;
      case A.OP_SET_IP_DSCP:
        setDscp(a, slot, plan[pc + 1]);
        break;
      case A.OP_SET_IPV6:
        setIpv6Addr(a, slot, plan, pc + 1);
        break;
      case A.OP_SET_L4_SRC:
        setL4Port(a, slot, tcp.SRC_PORT, K.K_TP_SRC, plan[pc + 1], plan[pc + 2]);
        break;
      case A.OP_SET_L4_DST:
        setL4Port(a, slot, tcp.DST_PORT, K.K_TP_DST, plan[pc + 1], plan[pc + 2]);
        break;
      case A.OP_DEC_TTL:
        if (!decTtl(a, slot)) {
          if (this.tracer !== null) this.tracer.event('dec_ttl: TTL exceeded, dropped', this.depth);
          return this.abort(slot, FD_TTL);
        }
        break;
      case A.OP_LOAD: {
        const fid = plan[pc + 1];
        if (fid >= N.F_REG0 && fid < N.F_REG0 + 8) {
          // Registers are key words only (Neutron loads reg5/reg6 on every pass): no field switch.
          const w = k + K.K_REG0 + fid - N.F_REG0;
          key[w] = ((key[w] & ~plan[pc + 3]) | plan[pc + 5]) >>> 0;
          break;
        }
        if (!applyLoad(a, slot, plan, pc)) return this.abort(slot, FD_HEADROOM);
        break;
      }
      case A.OP_MOVE:
        if (!applyMove(a, slot, plan, pc)) return this.abort(slot, FD_HEADROOM);
        break;
      case A.OP_WRITE_METADATA: {
        const mh = plan[pc + 3];
        const ml = plan[pc + 4];
        key[k + K.K_METADATA_HI] = ((key[k + K.K_METADATA_HI] & ~mh) | plan[pc + 1]) >>> 0;
        key[k + K.K_METADATA_LO] = ((key[k + K.K_METADATA_LO] & ~ml) | plan[pc + 2]) >>> 0;
        break;
      }
      case A.OP_CT:
        if (this.runCt(slot, plan, pc) === CONSUMED) return CONSUMED;
        break;
      case A.OP_CT_CLEAR:
        clearCtKey(key, slot);
        break;
      case A.OP_LEARN: {
        // A learn changes the tables the rest of the pass looks up: not replayable; and the
        // counts of replays so far go to the rules as they are now (a learn may replace one).
        const pcache = this.passCache;
        if (pcache !== null) {
          if (this.recording) pcache.recBad = true;
          if (pcache.nTouched > 0) pcache.flushStats(this);
        }
        const r = this.rules[rid];
        if (r !== undefined && this.learner !== null) {
          this.learner.learn(r.program.learns[plan[pc + 1]], slot, rid, this.now, this.dry, this.tracer, this.depth);
        }
        break;
      }
      case A.OP_CLEAR_ACTIONS:
        this.set.clear();
        break;
      case A.OP_WRITE_ACTIONS: {
        // The rule may have been replaced meanwhile (a learn in its own actions): then skip.
        const w = this.rules[rid]?.program.writes[plan[pc + 1]];
        if (w !== undefined) this.set.write(w, rid, table);
        break;
      }
      case A.OP_RESUBMIT:
      case A.OP_RESUBMIT_CT:
      case A.OP_GOTO: {
        if (this.depth >= MAX_DEPTH) {
          if (this.tracer !== null) this.tracer.event('resubmit depth limit reached, dropped', this.depth);
          return this.abort(slot, FD_DEPTH);
        }
        let t: number;
        let port = -1;
        if (op === A.OP_GOTO) t = plan[pc + 1];
        else {
          port = plan[pc + 1];
          t = plan[pc + 2];
          if (t === 255) t = table;
        }
        // The called table is the packet's last word when this resubmit ends every list above it.
        const tail = this.tail;
        this.tail = tail && pc + A.OP_LEN[op] >= plan.length;
        this.depth++;
        const r = this.runTable(slot, t, port, op === A.OP_RESUBMIT_CT);
        this.depth--;
        this.tail = tail;
        if (r === CONSUMED) return CONSUMED;
        break;
      }
    }
    return CONTINUE;
  }

  /**
   * What instruction `op` at `pc` does to the recorded pass's key (pass-cache.ts): the
   * classifier's wildcards say which bits of the key each lookup read, which is the pass's input
   * where no action wrote in between, and a function of the same word where one loaded a
   * register or metadata (the loaded bits are constants). Other writes can make a word depend
   * on other words (a move; a tag push or pop shifts the VLAN words; a port rewrite happens only
   * for TCP and UDP): the words they read are keyed whole — the VLAN words for a tag edit, the
   * packet's words for another edit, every word for a move or a load of another field — so a
   * masked entry is never less exact than the walk. A ct(nat) that does not end the pass translates by the connection: not cached.
   */
  private recordEffects(plan: Plan, pc: number, op: number): void {
    const c = this.passCache as PassCache;
    switch (op) {
      case A.OP_LOAD: {
        const fid = plan[pc + 1];
        if (fid < N.F_REG0 || fid >= N.F_REG0 + 8) c.wcAll(0, K.KEY_WORDS);
        break;
      }
      case A.OP_MOVE:
        c.wcAll(0, K.KEY_WORDS);
        break;
      case A.OP_SET_VLAN_VID:
      case A.OP_SET_VLAN_VID_SF:
      case A.OP_SET_VLAN_PCP:
      case A.OP_STRIP_VLAN:
      case A.OP_PUSH_VLAN:
        // Tag edits read and shift the two VLAN words only (packet/vlan.ts); whether there is a
        // tag also decides the frame's length, which the recorded lookups' byte counts assume.
        c.wcAll(K.K_VLAN_TCI, K.K_VLAN_TCI + 1);
        c.wcAll(K.K_VLAN_TCI2, K.K_VLAN_TCI2 + 1);
        break;
      case A.OP_SET_ETH_SRC:
      case A.OP_SET_ETH_DST:
      case A.OP_SET_IPV4_SRC:
      case A.OP_SET_IPV4_DST:
      case A.OP_SET_IP_DSCP:
      case A.OP_SET_IPV6:
      case A.OP_SET_L4_SRC:
      case A.OP_SET_L4_DST:
      case A.OP_DEC_TTL:
        c.wcAll(0, K.PACKET_WORDS);
        break;
      case A.OP_CT:
        if ((plan[pc + A.CT_FLAGS] & A.CTF_NAT) !== 0 && plan[pc + A.CT_TABLE] === 255) c.recBad = true;
        break;
    }
  }

  /** Stop processing this packet: flush what is pending, drop the rest with a reason. */
  private abort(slot: number, reason: number): number {
    if (this.pendOp !== 0) this.flush(slot);
    this.drops.add(reason);
    this.ops.drop(slot, reason);
    return CONSUMED;
  }

  private setPending(slot: number, op: number, arg: number, table: number, rid: number): void {
    if (this.pendOp !== 0) this.flush(slot);
    this.pendOp = op;
    this.pendArg = arg;
    this.pendTable = table;
    this.pendRule = rid;
  }

  /** Send a copy of the packet as it is now to the pending output. */
  private flush(slot: number): void {
    const op = this.pendOp;
    this.pendOp = 0;
    const c = this.arena.clone(slot);
    if (c < 0) {
      this.drops.add(FD_NO_BUFFER);
      return;
    }
    this.deliver(c, op, this.pendArg, this.pendTable, this.pendRule);
  }

  private deliver(s: number, op: number, arg: number, table: number, rid: number): void {
    this.outputs++;
    const ops = this.ops;
    // No special case for VLAN 4095: `mod_vlan_vid:4095,output` sends the frame tagged 4095, as
    // OVS does. Neutron's "dead VLAN" drop is its own flow (`dl_vlan=4095 actions=drop`).
    switch (op) {
      case A.OP_OUTPUT:
        ops.output(s, arg);
        break;
      case A.OP_IN_PORT:
        ops.output(s, this.key[s << K.KEY_SHIFT]);
        break;
      case A.OP_NORMAL:
        ops.normal(s);
        break;
      case A.OP_FLOOD:
        ops.flood(s, false);
        break;
      case A.OP_ALL:
        ops.flood(s, true);
        break;
      case A.OP_CONTROLLER: {
        // A packet-out's own actions have no rule (rid -1): cookie 0, reason action.
        // The rule may also be gone: a learn in its own actions can replace it.
        const r = rid >= 0 ? this.rules[rid] : undefined;
        // OVS (execute_controller_action): a controller action in a table-miss flow is an
        // explicit miss, which OpenFlow 1.3 reports as OFPR_NO_MATCH.
        ops.controller(s, table, r === undefined ? 0n : r.cookie, r !== undefined && isTableMiss(r) ? 'no_match' : 'action', arg);
        break;
      }
    }
  }
}

/** A table-miss flow (OpenFlow 1.3 5.4): priority 0 and a match that wildcards every field. */
function isTableMiss(r: Rule): boolean {
  if (r.priority !== 0) return false;
  const m = r.match.mask;
  for (let i = 0; i < m.length; i++) if (m[i] !== 0) return false;
  return true;
}
