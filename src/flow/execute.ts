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
 * Packet edits keep the flow key, l3/l4 offsets and the vnet header in step (packet/vlan.ts
 * for tags), so later tables match the modified packet without a re-parse.
 */
import type { PacketArena } from '../packet/arena';
import type { Batch } from '../packet/batch';
import { DropCounters, defineDrops } from '../packet/drops';
import * as K from '../packet/flow-key';
import * as vnet from '../packet/vnet';
import { l4AddrUpdate, l4PortUpdate, l4ChecksumOffset, l4ChecksumOffset6, rewriteIcmp6DataWord, rewriteIpv6Word, rewriteNdLla } from '../packet/rewrite';
import * as icmpv6 from '../wire/icmpv6';
import { popTag, pushTag, rewriteTci, setVid } from '../packet/vlan';
import type { BridgeOps } from './bridge-ops';
import { get16, put16 } from '../wire/bytes';
import * as eth from '../wire/ethernet';
import * as arp from '../wire/arp';
import * as ipv4 from '../wire/ipv4';
import * as ipv6 from '../wire/ipv6';
import * as tcp from '../wire/tcp';
import * as vlan from '../wire/vlan';
import * as A from './actions';
import type { Plan } from './actions';
import * as N from './nxm';
import { Emc } from './emc';
import { CtStage, CT_FULL, CT_NAT_EXHAUSTED, clearCtKey } from './ct-stage';
import { CS_INVALID, CS_TRACKED } from './fields';
import { formatCtState } from './ofctl-format';
import type { FlowTable, Rule } from './table';
import { ActionSet } from './action-set';
import type { CompiledLearn } from './learn';

/** Why the flow tables dropped a frame (counted here, once; the bridge only releases it). */
export const FLOW_DROPS = defineDrops('flow', {
  table_miss: 'no flow matched in table 0 (OpenFlow 1.3 table-miss: drop)',
  action_drop: "the matching flow's actions are empty or `drop`",
  no_output: 'the actions ran to the end without sending the frame anywhere',
  ttl_exceeded: 'dec_ttl on a TTL of 0 or 1',
  no_headroom: 'no room in front of the frame to push a VLAN tag or rewrite a field',
  no_buffer: 'no free packet buffer to copy the frame for one of several outputs (that output is skipped)',
  resubmit_depth: 'resubmit/goto_table nested deeper than 64',
  output_to_in_port: 'output:N to the input port is skipped, as OpenFlow requires (use in_port); not a frame drop by itself',
  ct_table_full: 'ct(commit) found the connection-tracking table full (the connection is not created)',
  recirc_depth: 'ct(table=T) recirculated the packet more than 8 times',
  ct_nat_exhausted: 'ct(commit,nat(src|dst=...)) found no free address/port in its range (the packet is never sent untranslated)',
});
export const FLOW_DROP_REASONS = FLOW_DROPS.reasons;
export type FlowDropReason = (typeof FLOW_DROP_REASONS)[number];

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

const CONTINUE = 0;
const CONSUMED = 1;

const ETH_IP = eth.ETH_P_IPV4;
const ETH_IPV6 = eth.ETH_P_IPV6;
const ETH_ARP = eth.ETH_P_ARP;

/** Observer for trace(): told about every lookup, action and drop. Null on the fast path. */
export interface ExecTracer {
  lookup(table: number, ruleId: number, slot: number, depth: number): void;
  action(ruleId: number, pc: number, slot: number, depth: number): void;
  event(text: string, depth: number): void;
  /** An action of the action set runs (at the end of the pipeline). */
  actionSet(a: A.Action, depth: number): void;
}

/** What the executor calls for OP_LEARN (the pipeline; see learn.ts). */
export interface LearnHost {
  /**
   * Run learn `cl` for the packet in `slot`, taught by rule `rid`, at batch time `now` (ms).
   * `dry` (trace): build and describe the flow, change nothing; a tracer hears what was learned.
   */
  learn(cl: CompiledLearn, slot: number, rid: number, now: number, dry: boolean, tracer: ExecTracer | null, depth: number): void;
}

export class Executor {
  readonly arena: PacketArena;
  private readonly key: Uint32Array;
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
  private now = 0;
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

  constructor(arena: PacketArena, tables: (FlowTable | undefined)[], capacity: number) {
    this.arena = arena;
    this.key = arena.key;
    this.tables = tables;
    this.nPackets = new Float64Array(capacity);
    this.nBytes = new Float64Array(capacity);
    this.used = new Float64Array(capacity);
  }

  /** Run every frame of the batch through the tables. Frames are already parsed. */
  run(batch: Batch, ops: BridgeOps, now: number): void {
    this.ops = ops;
    this.now = now;
    this.ct.now = now;
    const slots = batch.slots;
    const n = batch.count;
    if (this.soleGen !== this.emc.generation) this.findSoleNormal();
    if (this.soleNormal >= 0 && this.tracer === null && !this.dry) {
      this.runSoleNormal(batch);
      return;
    }
    for (let i = 0; i < n; i++) this.runPacket(slots[i]);
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
    this.depth = 0;
    this.pendOp = 0;
    this.outputs = 0;
    this.explicitDrop = false;
    this.recirc = 0;
    this.tail = true;
    this.set.clear();
    const t0 = this.tables[0];
    let rid = -1;
    if (t0 !== undefined) {
      if (!this.dry) t0.lookups++;
      // The EMC pays off only when the classifier would probe several subtables: measured,
      // one EMC probe (hash + compare of 20 words) costs about as much as 3 subtable probes.
      if (this.emcEnabled && !this.dry && t0.cls.subtableCount >= this.emcMinSubtables) {
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
    if (rid < 0) {
      this.drops.add(FD_TABLE_MISS);
      this.ops.drop(slot, FD_TABLE_MISS);
      return;
    }
    if (!this.dry) (t0 as FlowTable).matched++;
    if (this.runRule(slot, 0, rid) === CONSUMED) return;
    this.finish(slot);
  }

  /**
   * Run an action list that belongs to no rule on one parsed frame (OpenFlow PACKET_OUT): the
   * same plan walk and output rules as a flow's actions, table 0 as the current table (so
   * resubmit(,0) is OVS's output:TABLE). Takes ownership of the slot.
   */
  runActions(slot: number, plan: Plan, ops: BridgeOps, now: number): void {
    this.ops = ops;
    this.now = now;
    this.ct.now = now;
    this.depth = 0;
    this.pendOp = 0;
    this.outputs = 0;
    this.explicitDrop = plan.length === 0;
    this.recirc = 0;
    this.tail = true;
    this.set.clear();
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
    const t = this.tables[table];
    let rid = -1;
    if (t !== undefined) {
      if (!this.dry) t.lookups++;
      rid = t.cls.lookup(this.key, slot << K.KEY_SHIFT);
    }
    if (this.tracer !== null) this.tracer.lookup(table, rid, slot, 0);
    if (rid < 0) {
      this.drops.add(FD_TABLE_MISS);
      this.ops.drop(slot, FD_TABLE_MISS);
      return;
    }
    if (!this.dry) (t as FlowTable).matched++;
    if (this.runRule(slot, table, rid) === CONSUMED) return;
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
    if (zfid >= 0) {
      readField(a, slot, zfid);
      shr64(rdHi, rdLo, plan[pc + A.CT_ZONE_OFS]);
      zone = rdLo & 0xffff;
    }
    if (rt === 255) {
      const r = ct.process(a, slot, zone, flags, this.dry, plan, pc);
      if (this.tracer !== null) this.traceCt(zone, r);
      return r === CT_FULL ? this.abort(slot, FD_CT_FULL) : r === CT_NAT_EXHAUSTED ? this.abort(slot, FD_CT_NAT) : CONTINUE;
    }
    if (this.recirc >= MAX_RECIRC) {
      if (this.tracer !== null) this.tracer.event('ct: recirculation limit reached, dropped', this.depth);
      return this.abort(slot, FD_RECIRC);
    }
    const tail = this.tail && pc + A.OP_LEN[A.OP_CT] >= plan.length;
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
        rid = t.cls.lookup(this.key, k);
        this.key[k] = saved;
      } else {
        rid = t.cls.lookup(this.key, k);
      }
      if (swap) swapCtTuple(key, k);
    }
    if (this.tracer !== null) this.tracer.lookup(table, rid, slot, this.depth);
    if (rid < 0) return CONTINUE; // a resubmit miss just continues with the caller's actions
    if (!this.dry) (t as FlowTable).matched++;
    return this.runRule(slot, table, rid);
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
    const a = this.arena;
    const key = this.key;
    const k = slot << K.KEY_SHIFT;
    let pc = 0;
    while (pc < plan.length) {
      const op = plan[pc];
      if (this.tracer !== null) this.tracer.action(rid, pc, slot, this.depth);
      if (op > A.OP_CONTROLLER && op < A.OP_CLEAR_ACTIONS && this.pendOp !== 0 && op !== A.OP_RESUBMIT && op !== A.OP_GOTO && op !== A.OP_LEARN && op !== A.OP_RESUBMIT_CT) {
        // A modification: the pending output must leave as it is now.
        this.flush(slot);
      }
      switch (op) {
        case A.OP_OUTPUT: {
          const port = plan[pc + 1];
          if (port === key[k + K.K_IN_PORT]) {
            this.drops.add(FD_IN_PORT); // OpenFlow: output to the input port is skipped
            if (this.tracer !== null) this.tracer.event(`output:${port} is the input port: skipped (use in_port)`, this.depth);
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
          readField(a, slot, fid);
          const mh = plan[pc + 2];
          const ml = plan[pc + 3];
          const nh = ((rdHi & ~mh) | plan[pc + 4]) >>> 0;
          const nl = ((rdLo & ~ml) | plan[pc + 5]) >>> 0;
          if (!writeField(a, slot, fid, nh, nl)) return this.abort(slot, FD_HEADROOM);
          break;
        }
        case A.OP_MOVE: {
          const nbits = plan[pc + 5];
          readField(a, slot, plan[pc + 1]);
          // Bits [sofs, sofs+n) of the source, moved to [dofs, dofs+n) of the destination.
          shr64(rdHi, rdLo, plan[pc + 2]);
          const sh = rdHi;
          const sl = rdLo;
          mask64(0, nbits); // clobbers rdHi/rdLo
          const dofs = plan[pc + 4];
          shl64(sh & mkHi, sl & mkLo, dofs);
          const vh = rdHi;
          const vl = rdLo;
          mask64(dofs, nbits);
          const dmh = mkHi;
          const dml = mkLo;
          const dfid = plan[pc + 3];
          readField(a, slot, dfid);
          const nh = ((rdHi & ~dmh) | (vh & dmh)) >>> 0;
          const nl = ((rdLo & ~dml) | (vl & dml)) >>> 0;
          if (!writeField(a, slot, dfid, nh, nl)) return this.abort(slot, FD_HEADROOM);
          break;
        }
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
      pc += A.OP_LEN[op];
    }
    return CONTINUE;
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

/** Exchange the packet's nw_src/nw_dst/nw_proto/tp_src/tp_dst with ct_nw_src..ct_tp_dst (its own inverse). */
function swapCtTuple(key: Uint32Array, k: number): void {
  let x = key[k + K.K_NW_SRC];
  key[k + K.K_NW_SRC] = key[k + K.K_CT_NW_SRC];
  key[k + K.K_CT_NW_SRC] = x;
  x = key[k + K.K_NW_DST];
  key[k + K.K_NW_DST] = key[k + K.K_CT_NW_DST];
  key[k + K.K_CT_NW_DST] = x;
  x = key[k + K.K_NW_PROTO];
  key[k + K.K_NW_PROTO] = key[k + K.K_CT_NW_PROTO];
  key[k + K.K_CT_NW_PROTO] = x;
  x = key[k + K.K_TP_SRC];
  key[k + K.K_TP_SRC] = key[k + K.K_CT_TP_SRC];
  key[k + K.K_CT_TP_SRC] = x;
  x = key[k + K.K_TP_DST];
  key[k + K.K_TP_DST] = key[k + K.K_CT_TP_DST];
  key[k + K.K_CT_TP_DST] = x;
}

// ---- field access for load/move (64-bit values as hi/lo words in module scratch) ----

let rdHi = 0;
let rdLo = 0;
let mkHi = 0;
let mkLo = 0;

function shr64(hi: number, lo: number, s: number): void {
  if (s === 0) {
    rdHi = hi >>> 0;
    rdLo = lo >>> 0;
  } else if (s < 32) {
    rdLo = ((lo >>> s) | (hi << (32 - s))) >>> 0;
    rdHi = hi >>> s;
  } else {
    rdLo = hi >>> (s - 32);
    rdHi = 0;
  }
}
function shl64(hi: number, lo: number, s: number): void {
  if (s === 0) {
    rdHi = hi >>> 0;
    rdLo = lo >>> 0;
  } else if (s < 32) {
    rdHi = ((hi << s) | (lo >>> (32 - s))) >>> 0;
    rdLo = (lo << s) >>> 0;
  } else {
    rdHi = (lo << (s - 32)) >>> 0;
    rdLo = 0;
  }
}
/** mkHi/mkLo = nbits ones at ofs. */
function mask64(ofs: number, nbits: number): void {
  // ones(nbits) then shift; nbits <= 64.
  const lo = nbits >= 32 ? 0xffffffff : (2 ** nbits - 1) >>> 0;
  const hi = nbits >= 64 ? 0xffffffff : nbits > 32 ? (2 ** (nbits - 32) - 1) >>> 0 : 0;
  shl64(hi, lo, ofs);
  mkHi = rdHi;
  mkLo = rdLo;
}

/**
 * Field `fid` of the slot's key as 32-bit halves in out[i] (hi) and out[i+1] (lo); with `ofs` /
 * `nbits` / `dstOfs` (general case), bits [ofs, ofs+nbits) moved to bit `dstOfs`. For learn
 * (learn.ts); no allocation.
 */
export function readFieldTo(a: PacketArena, slot: number, fid: number, out: Float64Array, i: number): void {
  readField(a, slot, fid);
  out[i] = rdHi;
  out[i + 1] = rdLo;
}
export function extractField(a: PacketArena, slot: number, fid: number, ofs: number, nbits: number, dstOfs: number, out: Float64Array, i: number): void {
  readField(a, slot, fid);
  shr64(rdHi, rdLo, ofs);
  const sh = rdHi;
  const sl = rdLo;
  mask64(0, nbits);
  shl64(sh & mkHi, sl & mkLo, dstOfs);
  out[i] = rdHi;
  out[i + 1] = rdLo;
}

function readField(a: PacketArena, slot: number, fid: number): void {
  const key = a.key;
  const k = slot << K.KEY_SHIFT;
  rdHi = 0;
  switch (fid) {
    case N.F_IN_PORT:
      rdLo = key[k + K.K_IN_PORT];
      return;
    case N.F_ETH_DST:
      rdHi = key[k + K.K_DL_DST_HI];
      rdLo = key[k + K.K_DL_DST_LO];
      return;
    case N.F_ETH_SRC:
      rdHi = key[k + K.K_DL_SRC_HI];
      rdLo = key[k + K.K_DL_SRC_LO];
      return;
    case N.F_ETH_TYPE:
      rdLo = key[k + K.K_DL_TYPE];
      return;
    case N.F_VLAN_TCI:
      rdLo = key[k + K.K_VLAN_TCI];
      return;
    case N.F_IP_SRC:
    case N.F_ARP_SPA:
      rdLo = key[k + K.K_NW_SRC];
      return;
    case N.F_IP_DST:
    case N.F_ARP_TPA:
      rdLo = key[k + K.K_NW_DST];
      return;
    case N.F_IP_PROTO:
    case N.F_ARP_OP:
      rdLo = key[k + K.K_NW_PROTO];
      return;
    case N.F_TCP_SRC:
    case N.F_UDP_SRC:
      rdLo = key[k + K.K_TP_SRC];
      return;
    case N.F_TCP_DST:
    case N.F_UDP_DST:
      rdLo = key[k + K.K_TP_DST];
      return;
    case N.F_ARP_SHA:
      rdHi = key[k + K.K_ARP_SHA_HI];
      rdLo = key[k + K.K_ARP_SHA_LO];
      return;
    case N.F_ARP_THA:
      rdHi = key[k + K.K_ARP_THA_HI];
      rdLo = key[k + K.K_ARP_THA_LO];
      return;
    case N.F_METADATA:
      rdHi = key[k + K.K_METADATA_HI];
      rdLo = key[k + K.K_METADATA_LO];
      return;
    case N.F_TUN_ID:
      rdHi = key[k + K.K_TUN_ID_HI];
      rdLo = key[k + K.K_TUN_ID_LO];
      return;
    case N.F_TUN_SRC:
      rdLo = key[k + K.K_TUN_SRC];
      return;
    case N.F_TUN_DST:
      rdLo = key[k + K.K_TUN_DST];
      return;
    case N.F_IN_PORT_OXM:
      rdLo = key[k + K.K_IN_PORT];
      return;
    case N.F_VLAN_VID:
      rdLo = key[k + K.K_VLAN_TCI] & 0x0fff;
      return;
    case N.F_IPV6_LABEL:
      rdLo = key[k + K.K_IPV6_LABEL];
      return;
    case N.F_ND_SLL:
      rdHi = key[k + K.K_ARP_SHA_HI];
      rdLo = key[k + K.K_ARP_SHA_LO];
      return;
    case N.F_ND_TLL:
      rdHi = key[k + K.K_ARP_THA_HI];
      rdLo = key[k + K.K_ARP_THA_LO];
      return;
    case N.F_IP_DSCP:
      rdLo = key[k + K.K_NW_TOS] >>> 2;
      return;
    case N.F_IP_ECN:
      rdLo = key[k + K.K_NW_TOS] & 3;
      return;
    case N.F_PKT_MARK:
      rdLo = key[k + K.K_PKT_MARK];
      return;
    case N.F_IP_TTL:
      rdLo = key[k + K.K_NW_TTL];
      return;
    case N.F_IPV6_SRC:
    case N.F_IPV6_DST:
    case N.F_ND_TARGET:
      rdLo = 0; // 128-bit: never read through here (the parser refuses moves of them)
      return;
    case N.F_CT_MARK:
      rdLo = key[k + K.K_CT_MARK];
      return;
    case N.F_CT_LABEL:
      // Bits 0..63 (move refuses wider reads of the 128-bit label).
      rdHi = key[k + K.K_CT_LABEL + 2];
      rdLo = key[k + K.K_CT_LABEL + 3];
      return;
    default:
      rdLo = key[k + K.K_REG0 + fid - N.F_REG0];
  }
}

/** Write a field (bytes + key). Returns false only when a tag push found no headroom. */
function writeField(a: PacketArena, slot: number, fid: number, hi: number, lo: number): boolean {
  const key = a.key;
  const k = slot << K.KEY_SHIFT;
  switch (fid) {
    case N.F_IN_PORT:
      key[k + K.K_IN_PORT] = lo & 0xffff;
      return true;
    case N.F_ETH_DST:
      setEth(a, slot, eth.DST, K.K_DL_DST_HI, hi & 0xffff, lo);
      return true;
    case N.F_ETH_SRC:
      setEth(a, slot, eth.SRC, K.K_DL_SRC_HI, hi & 0xffff, lo);
      return true;
    case N.F_VLAN_TCI: {
      // NXM_OF_VLAN_TCI semantics: CFI set = tag present with this TCI, clear = no tag.
      const v = lo & 0xffff;
      if ((v & vlan.TCI_PRESENT) === 0) popTag(a, slot);
      else if (key[k + K.K_VLAN_TCI] !== 0) rewriteTci(a, slot, v, 0xefff);
      else return pushTag(a, slot, eth.ETH_P_8021Q, v);
      return true;
    }
    case N.F_IP_SRC:
      setIpv4Addr(a, slot, ipv4.SRC, K.K_NW_SRC, lo);
      return true;
    case N.F_IP_DST:
      setIpv4Addr(a, slot, ipv4.DST, K.K_NW_DST, lo);
      return true;
    case N.F_TCP_SRC:
      setL4Port(a, slot, tcp.SRC_PORT, K.K_TP_SRC, lo & 0xffff, ipv4.PROTO_TCP);
      return true;
    case N.F_TCP_DST:
      setL4Port(a, slot, tcp.DST_PORT, K.K_TP_DST, lo & 0xffff, ipv4.PROTO_TCP);
      return true;
    case N.F_UDP_SRC:
      setL4Port(a, slot, tcp.SRC_PORT, K.K_TP_SRC, lo & 0xffff, ipv4.PROTO_UDP);
      return true;
    case N.F_UDP_DST:
      setL4Port(a, slot, tcp.DST_PORT, K.K_TP_DST, lo & 0xffff, ipv4.PROTO_UDP);
      return true;
    case N.F_ARP_OP:
    case N.F_ARP_SPA:
    case N.F_ARP_TPA:
    case N.F_ARP_SHA:
    case N.F_ARP_THA:
      setArp(a, slot, fid, hi, lo);
      return true;
    case N.F_METADATA:
      key[k + K.K_METADATA_HI] = hi;
      key[k + K.K_METADATA_LO] = lo;
      return true;
    case N.F_TUN_ID:
      // Any K_TUN_* word set means TUN_PRESENT (the EMC's invariant, flow-key.ts); a tunnel
      // port with key=flow sends with this id.
      key[k + K.K_TUN_ID_HI] = hi;
      key[k + K.K_TUN_ID_LO] = lo;
      key[k + K.K_TUN_FLAGS] |= K.TUN_PRESENT;
      return true;
    case N.F_TUN_SRC:
      key[k + K.K_TUN_SRC] = lo;
      key[k + K.K_TUN_FLAGS] |= K.TUN_PRESENT;
      return true;
    case N.F_TUN_DST:
      key[k + K.K_TUN_DST] = lo;
      key[k + K.K_TUN_FLAGS] |= K.TUN_PRESENT;
      return true;
    case N.F_IN_PORT_OXM:
      key[k + K.K_IN_PORT] = lo & 0xffff;
      return true;
    case N.F_VLAN_VID:
      // Only an existing tag changes (the parser requires one in the match, as OVS does).
      if (key[k + K.K_VLAN_TCI] !== 0) rewriteTci(a, slot, lo & 0x0fff, 0x0fff);
      return true;
    case N.F_IPV6_LABEL:
      setFlowLabel(a, slot, lo & 0xfffff);
      return true;
    case N.F_IP_DSCP:
      setTosBits(a, slot, (lo & 0x3f) << 2, 0xfc);
      return true;
    case N.F_IP_ECN:
      setTosBits(a, slot, lo & 3, 0x03);
      return true;
    case N.F_PKT_MARK:
      key[k + K.K_PKT_MARK] = lo;
      return true;
    case N.F_IP_TTL:
      setTtl(a, slot, lo & 0xff);
      return true;
    case N.F_ND_SLL:
    case N.F_ND_TLL:
      setNdLla(a, slot, fid === N.F_ND_SLL, hi, lo);
      return true;
    case N.F_ETH_TYPE:
    case N.F_IP_PROTO:
    case N.F_ND_TARGET: // 128-bit writes compile to OP_SET_IPV6
    case N.F_IPV6_SRC:
    case N.F_IPV6_DST:
      return true; // read-only (the parser refuses them as destinations)
    case N.F_CT_MARK:
    case N.F_CT_LABEL:
      return true; // read-only here (the parser refuses them as destinations; ct(exec) writes them)
    default:
      key[k + K.K_REG0 + fid - N.F_REG0] = lo;
      return true;
  }
}

// ---- packet edits (bytes + key + checksums) ----

function setEth(a: PacketArena, slot: number, off: number, kw: number, hi: number, lo: number): void {
  eth.writeMacHiLo(a.bytes, a.start[slot] + off, hi, lo);
  const k = (slot << K.KEY_SHIFT) + kw;
  a.key[k] = hi & 0xffff;
  a.key[k + 1] = lo >>> 0;
}

function setIpv4Addr(a: PacketArena, slot: number, off: number, kw: number, v: number): void {
  const k = slot << K.KEY_SHIFT;
  const key = a.key;
  if (key[k + K.K_DL_TYPE] !== ETH_IP || a.l3[slot] === 0) return; // not IPv4: nothing to set
  const b = a.bytes;
  const ip = a.start[slot] + a.l3[slot];
  const old = key[k + kw];
  if (off === ipv4.SRC) ipv4.setSrc(b, ip, v);
  else ipv4.setDst(b, ip, v);
  key[k + kw] = v;
  const l4 = a.l4[slot];
  if (l4 !== 0) {
    const proto = key[k + K.K_NW_PROTO];
    const co = l4ChecksumOffset(proto);
    if (co >= 0) l4AddrUpdate(b, a.start[slot] + l4 + co, old, v, vnet.needsCsum(a, slot), proto === ipv4.PROTO_UDP);
  }
}

function setDscp(a: PacketArena, slot: number, dscp: number): void {
  setTosBits(a, slot, dscp, 0xfc);
}

/** Set the `mask` bits of the IPv4 TOS / IPv6 traffic class to `v` (DSCP 0xfc, ECN 0x03). */
function setTosBits(a: PacketArena, slot: number, v: number, mask: number): void {
  const k = slot << K.KEY_SHIFT;
  const t = a.key[k + K.K_DL_TYPE];
  if (a.l3[slot] === 0) return;
  const b = a.bytes;
  const ip = a.start[slot] + a.l3[slot];
  if (t === ETH_IP) {
    ipv4.setTos(b, ip, (ipv4.tos(b, ip) & ~mask) | (v & mask));
  } else if (t === ETH_IPV6) {
    ipv6.setTrafficClass(b, ip, (ipv6.trafficClass(b, ip) & ~mask) | (v & mask));
  } else return;
  a.key[k + K.K_NW_TOS] = (a.key[k + K.K_NW_TOS] & ~mask) | (v & mask);
}

/** The ND target of an NS/NA (the flow's prerequisites guarantee one; the key says if it is). */
function setNdTarget(a: PacketArena, slot: number, plan: Plan, at: number): void {
  const k = slot << K.KEY_SHIFT;
  const key = a.key;
  const l4 = a.l4[slot];
  const tp = key[k + K.K_TP_SRC];
  if (l4 === 0 || key[k + K.K_NW_PROTO] !== ipv4.PROTO_ICMPV6 || (tp !== icmpv6.ND_NEIGHBOR_SOLICIT && tp !== icmpv6.ND_NEIGHBOR_ADVERT) || key[k + K.K_TP_DST] !== 0) return;
  const b = a.bytes;
  const p = a.start[slot] + l4;
  const partial = vnet.needsCsum(a, slot);
  for (let i = 0; i < 4; i++) {
    const m = plan[at + 5 + i] >>> 0;
    if (m === 0) continue;
    const old = key[k + K.K_ND_TARGET + i];
    const nv = ((old & ~m) | (plan[at + 1 + i] & m)) >>> 0;
    if (nv === old) continue;
    rewriteIcmp6DataWord(b, p + icmpv6.ND_TARGET + 4 * i, p + icmpv6.CHECKSUM, partial, old, nv);
    key[k + K.K_ND_TARGET + i] = nv;
  }
}

/** nd_sll / nd_tll: the link-layer address option of that type already in the NS/NA. */
function setNdLla(a: PacketArena, slot: number, sll: boolean, hi: number, lo: number): void {
  const k = slot << K.KEY_SHIFT;
  const key = a.key;
  const l4 = a.l4[slot];
  if (l4 === 0 || a.l3[slot] === 0 || key[k + K.K_NW_PROTO] !== ipv4.PROTO_ICMPV6 || key[k + K.K_TP_SRC] !== (sll ? icmpv6.ND_NEIGHBOR_SOLICIT : icmpv6.ND_NEIGHBOR_ADVERT)) return;
  const b = a.bytes;
  const f = a.start[slot];
  const ip = f + a.l3[slot];
  const pl = ipv6.payloadLen(b, ip);
  const end = pl === 0 ? f + a.len[slot] : ip + ipv6.HEADER_LEN + pl;
  const p = f + l4;
  if (!rewriteNdLla(b, p + icmpv6.ND_MIN_LEN, end, sll ? icmpv6.ND_OPT_SOURCE_LINKADDR : icmpv6.ND_OPT_TARGET_LINKADDR, p + icmpv6.CHECKSUM, vnet.needsCsum(a, slot), hi, lo)) return;
  const kw = k + (sll ? K.K_ARP_SHA_HI : K.K_ARP_THA_HI);
  key[kw] = hi & 0xffff;
  key[kw + 1] = lo >>> 0;
}

/** IPv4 TTL (header checksum updated) or IPv6 hop limit. */
function setTtl(a: PacketArena, slot: number, ttl: number): void {
  const k = slot << K.KEY_SHIFT;
  const t = a.key[k + K.K_DL_TYPE];
  if (a.l3[slot] === 0) return;
  const ip = a.start[slot] + a.l3[slot];
  if (t === ETH_IP) ipv4.setTtl(a.bytes, ip, ttl);
  else if (t === ETH_IPV6) ipv6.setHopLimit(a.bytes, ip, ttl);
  else return;
  a.key[k + K.K_NW_TTL] = ttl;
}

/** IPv6 flow label: not part of any checksum. */
function setFlowLabel(a: PacketArena, slot: number, label: number): void {
  const k = slot << K.KEY_SHIFT;
  if (a.key[k + K.K_DL_TYPE] !== ETH_IPV6 || a.l3[slot] === 0) return;
  ipv6.setFlowLabel(a.bytes, a.start[slot] + a.l3[slot], label);
  a.key[k + K.K_IPV6_LABEL] = label;
}

/**
 * set_field/load to ipv6_src/ipv6_dst: plan[at] = 0 (src) or 1 (dst), then four value and four
 * mask words. The TCP/UDP/ICMPv6 checksum covers the pseudo header, so each changed word
 * updates it (packet/rewrite.ts); a later fragment (no L4 offset) has none to update.
 */
function setIpv6Addr(a: PacketArena, slot: number, plan: Plan, at: number): void {
  const k = slot << K.KEY_SHIFT;
  const key = a.key;
  if (key[k + K.K_DL_TYPE] !== ETH_IPV6 || a.l3[slot] === 0) return;
  const b = a.bytes;
  const f = a.start[slot];
  if (plan[at] === 2) return setNdTarget(a, slot, plan, at);
  const dst = plan[at] === 1;
  const p = f + a.l3[slot] + (dst ? ipv6.DST : ipv6.SRC);
  const kw = k + (dst ? K.K_IPV6_DST : K.K_IPV6_SRC);
  const proto = key[k + K.K_NW_PROTO];
  const co = l4ChecksumOffset6(proto);
  const l4 = a.l4[slot];
  const csum = l4 === 0 || co < 0 ? 0 : f + l4 + co;
  const partial = vnet.needsCsum(a, slot);
  for (let i = 0; i < 4; i++) {
    const m = plan[at + 5 + i] >>> 0;
    if (m === 0) continue;
    const old = key[kw + i];
    const nv = ((old & ~m) | (plan[at + 1 + i] & m)) >>> 0;
    if (nv === old) continue;
    rewriteIpv6Word(b, p, i, csum, partial, proto === ipv4.PROTO_UDP, old, nv);
    key[kw + i] = nv;
  }
}

/** `proto` 0 = TCP or UDP (mod_tp_*), else only that protocol (set_field tcp_src...). */
function setL4Port(a: PacketArena, slot: number, off: number, kw: number, port: number, proto: number): void {
  const k = slot << K.KEY_SHIFT;
  const key = a.key;
  const l4 = a.l4[slot];
  const pr = key[k + K.K_NW_PROTO];
  const t = key[k + K.K_DL_TYPE];
  if (l4 === 0 || (t !== ETH_IP && t !== ETH_IPV6)) return;
  if (proto === 0 ? pr !== ipv4.PROTO_TCP && pr !== ipv4.PROTO_UDP : pr !== proto) return;
  const b = a.bytes;
  const p = a.start[slot] + l4;
  const old = get16(b, p + off);
  put16(b, p + off, port);
  key[k + kw] = port;
  l4PortUpdate(b, p + l4ChecksumOffset(pr), old, port, vnet.needsCsum(a, slot), pr === ipv4.PROTO_UDP);
}

function decTtl(a: PacketArena, slot: number): boolean {
  const k = slot << K.KEY_SHIFT;
  const t = a.key[k + K.K_DL_TYPE];
  if (a.l3[slot] === 0 || (t !== ETH_IP && t !== ETH_IPV6)) return true; // OVS: no-op on non-IP
  const b = a.bytes;
  const ip = a.start[slot] + a.l3[slot];
  if (t === ETH_IP) {
    const ttl = ipv4.ttl(b, ip);
    if (ttl <= 1) return false;
    ipv4.setTtl(b, ip, ttl - 1);
    a.key[k + K.K_NW_TTL] = ttl - 1;
  } else {
    const hl = ipv6.hopLimit(b, ip);
    if (hl <= 1) return false;
    ipv6.setHopLimit(b, ip, hl - 1);
    a.key[k + K.K_NW_TTL] = hl - 1;
  }
  return true;
}

function setArp(a: PacketArena, slot: number, fid: number, hi: number, lo: number): void {
  const k = slot << K.KEY_SHIFT;
  const key = a.key;
  if (key[k + K.K_DL_TYPE] !== ETH_ARP || a.l3[slot] === 0) return;
  const b = a.bytes;
  const p = a.start[slot] + a.l3[slot];
  switch (fid) {
    case N.F_ARP_OP:
      arp.setOp(b, p, lo & 0xffff);
      key[k + K.K_NW_PROTO] = lo & 0xff;
      return;
    case N.F_ARP_SPA:
      arp.setSpa(b, p, lo);
      key[k + K.K_NW_SRC] = lo;
      return;
    case N.F_ARP_TPA:
      arp.setTpa(b, p, lo);
      key[k + K.K_NW_DST] = lo;
      return;
    case N.F_ARP_SHA:
    case N.F_ARP_THA: {
      eth.writeMacHiLo(b, p + (fid === N.F_ARP_SHA ? arp.SHA : arp.THA), hi & 0xffff, lo);
      const kw = k + (fid === N.F_ARP_SHA ? K.K_ARP_SHA_HI : K.K_ARP_THA_HI);
      key[kw] = hi & 0xffff;
      key[kw + 1] = lo >>> 0;
      return;
    }
  }
}


