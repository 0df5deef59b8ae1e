/**
 * Flow actions: the AST the parser produces and the formatter prints, and its compilation into
 * a fixed-shape plan (an Int32Array of opcode + operands) when a rule is installed. The hot
 * path walks the plan with a switch: no closures or objects per packet (VPP compiles VLAN
 * rewrites the same way, `l2_vtr_process`).
 *
 * Plan layout: [op, operands...] repeated; OP_LEN[op] gives each instruction's length. 32-bit
 * operands are stored `| 0` and read back `>>> 0`; 48/64-bit values are split hi/lo.
 */
import * as N from './nxm';
import type { NxmField } from './nxm';
import { OFPP_ALL, OFPP_CONTROLLER, OFPP_FLOOD, OFPP_IN_PORT, OFPP_NORMAL } from './ofport';

export interface Subfield {
  field: NxmField;
  ofs: number;
  nbits: number;
}

/** `nat` inside ct() (ovs-actions(7) "The nat action"). */
export interface CtNat {
  /** 'src'/'dst': set up this translation when the connection is committed; null: bare `nat`. */
  kind: 'src' | 'dst' | null;
  /** IPv4 range (0 = none given), host order. */
  addrMin: number;
  addrMax: number;
  /** Port range (0 = none given). */
  portMin: number;
  portMax: number;
  /** persistent / hash / random, kept to print back. */
  flags: string[];
}

/**
 * One item of a `learn(...)` action (OVS `struct ofpact_learn_spec`): a field the learned flow
 * matches, a load it performs, or an output. `src` null = the immediate `value` (dst.nbits wide).
 */
export interface LearnSpec {
  kind: 'match' | 'load' | 'output';
  /** Match/load destination; for an output, the subfield the port number comes from is `src`. */
  dst: Subfield | null;
  src: Subfield | null;
  value: bigint;
}

/** `learn(...)` (NXAST_LEARN, ovs-actions(7)): add or refresh a flow built from this packet. */
export interface LearnAction {
  type: 'learn';
  table: number;
  priority: number;
  idleTimeout: number;
  hardTimeout: number;
  finIdleTimeout: number;
  finHardTimeout: number;
  cookie: bigint;
  sendFlowRem: boolean;
  deleteLearned: boolean;
  specs: LearnSpec[];
}

export type Action =
  | LearnAction
  | { type: 'output'; port: number }
  | { type: 'in_port' }
  | { type: 'normal' }
  | { type: 'flood' }
  | { type: 'all' }
  | { type: 'controller'; maxLen: number }
  | { type: 'mod_vlan_vid'; vid: number }
  | { type: 'mod_vlan_pcp'; pcp: number }
  | { type: 'strip_vlan'; spelling: 'strip_vlan' | 'pop_vlan' }
  | { type: 'push_vlan'; tpid: number }
  | { type: 'set_field'; field: NxmField | 'vlan_vid'; value: bigint; mask: bigint | null }
  | { type: 'mod_dl_src'; mac: number }
  | { type: 'mod_dl_dst'; mac: number }
  | { type: 'mod_nw_src'; addr: number }
  | { type: 'mod_nw_dst'; addr: number }
  | { type: 'mod_nw_tos'; tos: number }
  | { type: 'mod_tp_src'; port: number }
  | { type: 'mod_tp_dst'; port: number }
  /** ids: the controller ids of `dec_ttl(1,2)` / `dec_ttl:5`, kept to print back; null = bare `dec_ttl`. */
  | { type: 'dec_ttl'; ids: number[] | null }
  /** `set_tunnel:N` / `set_tunnel64:N` (NXAST_SET_TUNNEL[64]): sets tun_id; `wide` = the 64 spelling. */
  | { type: 'set_tunnel'; value: bigint; wide: boolean }
  /**
   * OpenFlow 1.3 `meter:N`. tvs has no meter table: the instruction is kept (and printed back) but
   * limits nothing; the flow's own n_packets/n_bytes count what passed through it.
   */
  | { type: 'meter'; id: number }
  /**
   * `set_queue:N` / `pop_queue`: OVS picks a QoS queue of the output port. A tvs port has one
   * transmit queue, so the queue id is kept (and printed back) and changes nothing.
   */
  | { type: 'set_queue'; queue: number }
  | { type: 'pop_queue' }
  | { type: 'load'; value: bigint; dst: Subfield }
  | { type: 'move'; src: Subfield; dst: Subfield }
  /**
   * port -1 = the packet's own in_port; table 255 = the current table (OVS conventions).
   * ct: `resubmit(PORT,TABLE,ct)`: the lookup sees the conntrack original-direction tuple.
   */
  | { type: 'resubmit'; port: number; table: number; ct: boolean }
  | { type: 'goto_table'; table: number }
  | { type: 'write_metadata'; value: bigint; mask: bigint }
  | { type: 'note'; bytes: number[] }
  /**
   * OVS `conjunction(id,k/n)`: this flow's match is dimension k of n of conjunction `id`. A flow
   * whose actions are conjunctions (and notes) is never executed itself; the classifier uses it
   * to find the `conj_id=id` flow (see classifier.ts).
   */
  | { type: 'conjunction'; id: number; clause: number; nClauses: number }
  /**
   * OVS ct(): send the packet through connection tracking in `zone` (or the 16-bit `zoneSrc`
   * subfield). `table` 255 = none: the connection is committed/updated and processing goes on
   * unchanged; otherwise the tracked packet continues in `table` (recirculation) while the rest
   * of this action list goes on with the packet as it was. `exec`: set_field/load to ct_mark /
   * ct_label, applied to the committed connection.
   */
  | { type: 'ct'; commit: boolean; force: boolean; table: number; zone: number; zoneSrc: Subfield | null; nat: CtNat | null; exec: Action[] }
  | { type: 'ct_clear' }
  /**
   * OpenFlow 1.1+ instruction write_actions(...): merge these actions into the packet's action
   * set, which runs when the pipeline ends (see ACTION_SET_ORDER). Only actions that have a
   * place in the set's order are allowed (actionSetKind); the parser refuses the others.
   */
  | { type: 'write_actions'; actions: Action[] }
  /** OpenFlow 1.1+ instruction clear_actions: empty the packet's action set. */
  | { type: 'clear_actions' };

export type ActionType = Action['type'];

// ---- opcodes ----
export const OP_OUTPUT = 1; // port
export const OP_IN_PORT = 2;
export const OP_NORMAL = 3;
export const OP_FLOOD = 4;
export const OP_ALL = 5;
export const OP_CONTROLLER = 6; // maxLen
export const OP_SET_VLAN_VID = 7; // vid (pushes an 802.1Q tag when untagged: mod_vlan_vid)
export const OP_SET_VLAN_VID_SF = 8; // value with CFI (set_field:->vlan_vid)
export const OP_SET_VLAN_PCP = 9; // pcp
export const OP_STRIP_VLAN = 10;
export const OP_PUSH_VLAN = 11; // tpid
export const OP_SET_ETH_SRC = 12; // hi lo
export const OP_SET_ETH_DST = 13; // hi lo
export const OP_SET_IPV4_SRC = 14; // addr
export const OP_SET_IPV4_DST = 15; // addr
export const OP_SET_IP_DSCP = 16; // tos (DSCP bits)
export const OP_SET_L4_SRC = 17; // port, proto (0 = tcp or udp)
export const OP_SET_L4_DST = 18; // port, proto
export const OP_DEC_TTL = 19;
export const OP_LOAD = 20; // fid, maskHi, maskLo, valHi, valLo (already shifted into place)
export const OP_MOVE = 21; // srcFid, srcOfs, dstFid, dstOfs, nbits
export const OP_RESUBMIT = 22; // port (-1 = keep), table (255 = current)
export const OP_GOTO = 23; // table
export const OP_WRITE_METADATA = 24; // valHi, valLo, maskHi, maskLo
export const OP_SET_IPV6 = 25; // which (0 src, 1 dst, 2 nd_target), v0..v3, m0..m3 (MSW first)
/**
 * ct(): flags (CTF_*), table (255 = none), zone, zoneFid (-1: the zone is immediate), zoneOfs,
 * natAddrMin, natAddrMax, natPortMin, natPortMax, markV, markM, label value (4 words, most
 * significant first), label mask (4 words).
 */
export const OP_CT = 26;
export const OP_CT_CLEAR = 27;
/** Operand offsets inside an OP_CT instruction. */
export const CT_FLAGS = 1;
export const CT_TABLE = 2;
export const CT_ZONE = 3;
export const CT_ZONE_FID = 4;
export const CT_ZONE_OFS = 5;
export const CT_NAT_ADDR_MIN = 6;
export const CT_NAT_ADDR_MAX = 7;
export const CT_NAT_PORT_MIN = 8;
export const CT_NAT_PORT_MAX = 9;
export const CT_MARK_V = 10;
export const CT_MARK_M = 11;
export const CT_LABEL = 12; // value 12..15, mask 16..19

export const OP_LEARN = 28; // index into the plan's learn actions (CompiledPlan.learns)

/** resubmit(PORT,TABLE,ct): as OP_RESUBMIT, the lookup with the conntrack original tuple. */
export const OP_RESUBMIT_CT = 29; // port, table
/**
 * The action-set instructions. They sort after every packet-modifying opcode so the executor's
 * "a modification flushes the pending output" test stays one comparison (they modify nothing).
 */
export const OP_CLEAR_ACTIONS = 30;
export const OP_WRITE_ACTIONS = 31; // index into the plan's writes (CompiledPlan.writes)

export const OP_LEN: readonly number[] = [0, 2, 1, 1, 1, 1, 2, 2, 2, 2, 1, 2, 3, 3, 2, 2, 2, 3, 3, 1, 6, 6, 3, 2, 5, 10, 20, 1, 2, 3, 1, 2];

// ---- the action set (OpenFlow 1.3 section 5.10) ----

/**
 * Kinds of action in an action set, numbered in the order the set executes (OpenFlow 1.3
 * 5.10: copy TTL inwards, pop, push-MPLS, push-PBB, push-VLAN, copy TTL outwards, decrement
 * TTL, set, qos, group, output; tvs has no MPLS, PBB, TTL copies or groups). The set holds at
 * most one action of each kind (a later write replaces the earlier one), except set, which
 * holds one action per destination field (the spec's "one set-field per field type").
 */
export const AS_POP = 0;
export const AS_PUSH_VLAN = 1;
export const AS_DEC_TTL = 2;
export const AS_SET = 3;
export const AS_QOS = 4;
export const AS_OUTPUT = 5;
export const AS_KINDS = 6;

/**
 * The action-set kind of `a`, or -1 when it may not be written to the action set. As OVS
 * (ofpact_is_allowed_in_actions_set), actions outside the OpenFlow set order are refused:
 * their place in it would be undefined (ct, learn, resubmit, note, conjunction, ...).
 */
export function actionSetKind(a: Action): number {
  switch (a.type) {
    case 'strip_vlan':
      return AS_POP;
    case 'push_vlan':
      return AS_PUSH_VLAN;
    case 'dec_ttl':
      return AS_DEC_TTL;
    case 'mod_vlan_vid':
    case 'mod_vlan_pcp':
    case 'set_field':
    case 'mod_dl_src':
    case 'mod_dl_dst':
    case 'mod_nw_src':
    case 'mod_nw_dst':
    case 'mod_nw_tos':
    case 'mod_tp_src':
    case 'mod_tp_dst':
    case 'set_tunnel':
    case 'load':
    case 'move':
      return AS_SET;
    case 'set_queue':
      return AS_QOS;
    case 'output':
    case 'in_port':
    case 'normal':
    case 'flood':
    case 'all':
    case 'controller':
      return AS_OUTPUT;
    default:
      return -1;
  }
}

/**
 * Which field a set-kind action writes: two writes with the same key replace each other in the
 * action set. mod_* map to the field they change; mod_tp_* (TCP or UDP) are keyed apart.
 */
export function actionSetFieldKey(a: Action): string {
  switch (a.type) {
    case 'set_field':
      return a.field === 'vlan_vid' ? 'vlan_vid' : a.field.name;
    case 'load':
    case 'move':
      return a.dst.field.name;
    case 'set_tunnel':
      return 'tun_id';
    case 'mod_vlan_vid':
      return 'vlan_vid';
    case 'mod_vlan_pcp':
      return 'vlan_pcp';
    case 'mod_dl_src':
      return 'eth_src';
    case 'mod_dl_dst':
      return 'eth_dst';
    case 'mod_nw_src':
      return 'ip_src';
    case 'mod_nw_dst':
      return 'ip_dst';
    case 'mod_nw_tos':
      return 'ip_dscp';
    case 'mod_tp_src':
      return 'tp_src';
    case 'mod_tp_dst':
      return 'tp_dst';
    default:
      return a.type;
  }
}

/**
 * One write_actions(...) compiled: per action, its kind, its field key as a number (set kind:
 * the executor replaces an entry with the same key) and its own small plan.
 */
export interface CompiledWrite {
  kinds: number[];
  keys: number[];
  plans: Plan[];
  actions: Action[];
}

/** Set-field keys as small numbers, shared by every plan (the executor compares numbers). */
const setKeyIds = new Map<string, number>();
function setKeyId(a: Action): number {
  const k = actionSetFieldKey(a);
  let id = setKeyIds.get(k);
  if (id === undefined) {
    id = setKeyIds.size;
    setKeyIds.set(k, id);
  }
  return id;
}

/**
 * The conjunction clauses of a conjunctive flow as [id, k, n, ...] (k 1-based), or null when
 * the flow has none (an ordinary flow). The parser guarantees conjunctions come only with notes.
 */
export function conjClauses(actions: readonly Action[]): Int32Array | null {
  const out: number[] = [];
  for (const a of actions) if (a.type === 'conjunction') out.push(a.id | 0, a.clause, a.nClauses);
  return out.length === 0 ? null : Int32Array.from(out);
}

/**
 * The action an output to `port` is: reserved ports become their own actions (`output:NORMAL`
 * is `normal`, as OVS prints it); any other number, LOCAL included, is a plain output.
 */
export function outputActionFor(port: number): Action {
  switch (port) {
    case OFPP_IN_PORT:
      return { type: 'in_port' };
    case OFPP_NORMAL:
      return { type: 'normal' };
    case OFPP_FLOOD:
      return { type: 'flood' };
    case OFPP_ALL:
      return { type: 'all' };
    case OFPP_CONTROLLER:
      return { type: 'controller', maxLen: 65535 };
    default:
      return { type: 'output', port };
  }
}

/** Actions that hand the packet (or a copy) to somewhere. */
export function isOutputAction(a: Action): boolean {
  switch (a.type) {
    case 'output':
    case 'in_port':
    case 'normal':
    case 'flood':
    case 'all':
    case 'controller':
      return true;
    default:
      return false;
  }
}

/** Actions that change the packet (or its key) and so matter only to later outputs. */
export function isModifyAction(a: Action): boolean {
  switch (a.type) {
    case 'mod_vlan_vid':
    case 'mod_vlan_pcp':
    case 'strip_vlan':
    case 'push_vlan':
    case 'set_field':
    case 'mod_dl_src':
    case 'mod_dl_dst':
    case 'mod_nw_src':
    case 'mod_nw_dst':
    case 'mod_nw_tos':
    case 'mod_tp_src':
    case 'mod_tp_dst':
    case 'dec_ttl':
    case 'set_tunnel':
    case 'load':
    case 'move':
    case 'write_metadata':
    case 'ct_clear':
      return true;
    default:
      return false;
  }
}

/** [hi, lo] 32-bit halves of a 64-bit BigInt. */
function split64(v: bigint): [number, number] {
  return [Number((v >> 32n) & 0xffffffffn) | 0, Number(v & 0xffffffffn) | 0];
}

/** Mask of `nbits` bits at `ofs` as a BigInt. */
export function bitMask(ofs: number, nbits: number): bigint {
  return ((1n << BigInt(nbits)) - 1n) << BigInt(ofs);
}

/**
 * A compiled plan: int32 words in a plain array. A 4-word Int32Array costs ~215 bytes of heap
 * (object, ArrayBuffer, backing store) against ~80 for an array of small integers, and reads
 * as fast; with 100,000 flows that difference is 13 MB.
 */
export type Plan = readonly number[];

export interface CompiledPlan {
  plan: Plan;
  /** pc of each action's first instruction in `plan` (-1 for actions that compile to nothing). */
  pcs: number[];
  /** The learn actions, in the order their OP_LEARN operands number them. */
  learns: LearnAction[];
  /** The write_actions instructions, in the order their OP_WRITE_ACTIONS operands number them. */
  writes: CompiledWrite[];
}

/** Actions the engine cannot execute, with the reason (null when all can run). */
export function unsupportedAction(a: Action): string | null {
  return null;
}

/** Compile an action list into a plan. Throws for an action the engine cannot execute. */
export function compile(actions: readonly Action[]): CompiledPlan {
  const out: number[] = [];
  const pcs: number[] = [];
  const learns: LearnAction[] = [];
  const writes: CompiledWrite[] = [];
  for (const a of actions) {
    const before = out.length;
    pcs.push(a.type === 'note' || a.type === 'conjunction' || a.type === 'meter' || a.type === 'set_queue' || a.type === 'pop_queue' ? -1 : before);
    switch (a.type) {
      case 'output':
        out.push(OP_OUTPUT, a.port);
        break;
      case 'in_port':
        out.push(OP_IN_PORT);
        break;
      case 'normal':
        out.push(OP_NORMAL);
        break;
      case 'flood':
        out.push(OP_FLOOD);
        break;
      case 'all':
        out.push(OP_ALL);
        break;
      case 'controller':
        out.push(OP_CONTROLLER, a.maxLen);
        break;
      case 'mod_vlan_vid':
        out.push(OP_SET_VLAN_VID, a.vid);
        break;
      case 'mod_vlan_pcp':
        out.push(OP_SET_VLAN_PCP, a.pcp);
        break;
      case 'strip_vlan':
        out.push(OP_STRIP_VLAN);
        break;
      case 'push_vlan':
        out.push(OP_PUSH_VLAN, a.tpid);
        break;
      case 'mod_dl_src':
        out.push(OP_SET_ETH_SRC, Math.floor(a.mac / 0x100000000), a.mac >>> 0 | 0);
        break;
      case 'mod_dl_dst':
        out.push(OP_SET_ETH_DST, Math.floor(a.mac / 0x100000000), a.mac >>> 0 | 0);
        break;
      case 'mod_nw_src':
        out.push(OP_SET_IPV4_SRC, a.addr | 0);
        break;
      case 'mod_nw_dst':
        out.push(OP_SET_IPV4_DST, a.addr | 0);
        break;
      case 'mod_nw_tos':
        out.push(OP_SET_IP_DSCP, a.tos);
        break;
      case 'mod_tp_src':
        out.push(OP_SET_L4_SRC, a.port, 0);
        break;
      case 'mod_tp_dst':
        out.push(OP_SET_L4_DST, a.port, 0);
        break;
      case 'dec_ttl':
        out.push(OP_DEC_TTL);
        break;
      case 'set_field':
        compileSetField(a, out);
        break;
      case 'set_tunnel': {
        const [vh, vl] = split64(a.value);
        out.push(OP_LOAD, N.F_TUN_ID, -1, -1, vh, vl);
        break;
      }
      case 'load': {
        if (a.dst.field.bits > 64) {
          pushSetIpv6(a.dst.field.id, (a.value << BigInt(a.dst.ofs)) & bitMask(a.dst.ofs, a.dst.nbits), bitMask(a.dst.ofs, a.dst.nbits), out);
          break;
        }
        const [mh, ml] = split64(bitMask(a.dst.ofs, a.dst.nbits));
        const [vh, vl] = split64((a.value << BigInt(a.dst.ofs)) & bitMask(a.dst.ofs, a.dst.nbits));
        out.push(OP_LOAD, a.dst.field.id, mh, ml, vh, vl);
        break;
      }
      case 'move':
        out.push(OP_MOVE, a.src.field.id, a.src.ofs, a.dst.field.id, a.dst.ofs, a.dst.nbits);
        break;
      case 'resubmit':
        out.push(a.ct ? OP_RESUBMIT_CT : OP_RESUBMIT, a.port, a.table);
        break;
      case 'goto_table':
        out.push(OP_GOTO, a.table);
        break;
      case 'write_metadata': {
        const [vh, vl] = split64(a.value & a.mask);
        const [mh, ml] = split64(a.mask);
        out.push(OP_WRITE_METADATA, vh, vl, mh, ml);
        break;
      }
      case 'learn':
        out.push(OP_LEARN, learns.length);
        learns.push(a);
        break;
      case 'note':
      case 'conjunction':
      case 'meter':
      case 'set_queue':
      case 'pop_queue':
        break; // annotation / classifier-only / no meter table or queues here: nothing runs
      case 'ct':
        compileCt(a, out);
        break;
      case 'ct_clear':
        out.push(OP_CT_CLEAR);
        break;
      case 'clear_actions':
        out.push(OP_CLEAR_ACTIONS);
        break;
      case 'write_actions':
        out.push(OP_WRITE_ACTIONS, writes.length);
        writes.push(compileWrite(a.actions));
        break;
    }
  }
  // `| 0`: every word an int32, so the array holds only small integers (one elements kind).
  return { plan: out.map((v) => v | 0), pcs, learns, writes };
}

function compileWrite(actions: readonly Action[]): CompiledWrite {
  const w: CompiledWrite = { kinds: [], keys: [], plans: [], actions: [] };
  for (const a of actions) {
    const kind = actionSetKind(a);
    if (kind < 0) throw new Error(`${a.type} may not be written to the action set`);
    if (kind === AS_QOS) continue; // set_queue: one queue per port here, nothing runs
    w.kinds.push(kind);
    w.keys.push(kind === AS_SET ? setKeyId(a) : 0);
    w.plans.push(compile([a]).plan);
    w.actions.push(a);
  }
  return w;
}

function compileSetField(a: Extract<Action, { type: 'set_field' }>, out: number[]): void {
  if (a.field === 'vlan_vid') {
    // OVS: set_field to vlan_vid with OFPVID_PRESENT (0x1000) makes the tag exist.
    out.push(OP_SET_VLAN_VID_SF, Number(a.value));
    return;
  }
  const f = a.field;
  const full = bitMask(0, f.bits);
  const mask = a.mask === null ? full : a.mask & full;
  if (f.bits > 64) {
    pushSetIpv6(f.id, a.value & mask, mask, out);
    return;
  }
  if (mask === full && f.id === N.F_IP_DSCP) {
    out.push(OP_SET_IP_DSCP, Number(a.value) << 2); // the same edit as mod_nw_tos
    return;
  }
  if (mask === full) {
    const v = a.value;
    switch (f.id) {
      case N.F_ETH_SRC:
      case N.F_ETH_DST: {
        const [h, l] = split64(v);
        out.push(f.id === N.F_ETH_SRC ? OP_SET_ETH_SRC : OP_SET_ETH_DST, h, l);
        return;
      }
      case N.F_IP_SRC:
        out.push(OP_SET_IPV4_SRC, Number(v) | 0);
        return;
      case N.F_IP_DST:
        out.push(OP_SET_IPV4_DST, Number(v) | 0);
        return;
      case N.F_TCP_SRC:
      case N.F_UDP_SRC:
        out.push(OP_SET_L4_SRC, Number(v), f.id === N.F_TCP_SRC ? 6 : 17);
        return;
      case N.F_TCP_DST:
      case N.F_UDP_DST:
        out.push(OP_SET_L4_DST, Number(v), f.id === N.F_TCP_DST ? 6 : 17);
        return;
    }
  }
  const [mh, ml] = split64(mask);
  const [vh, vl] = split64(a.value & mask);
  out.push(OP_LOAD, f.id, mh, ml, vh, vl);
}

/** A 128-bit write (ipv6_src/ipv6_dst): value and mask as four words each, most significant first. */
function pushSetIpv6(fid: number, value: bigint, mask: bigint, out: number[]): void {
  if (fid !== N.F_IPV6_SRC && fid !== N.F_IPV6_DST && fid !== N.F_ND_TARGET) throw new Error(`field ${fid} cannot be written`);
  out.push(OP_SET_IPV6, fid === N.F_IPV6_SRC ? 0 : fid === N.F_IPV6_DST ? 1 : 2);
  for (let i = 3; i >= 0; i--) out.push(Number((value >> BigInt(32 * i)) & 0xffffffffn) | 0);
  for (let i = 3; i >= 0; i--) out.push(Number((mask >> BigInt(32 * i)) & 0xffffffffn) | 0);
}

/** ct() flag bits of a compiled plan (the CtStage reads them). */
export const CTF_COMMIT = 1;
export const CTF_FORCE = 2;
export const CTF_NAT = 4;
export const CTF_NAT_SRC = 8;
export const CTF_NAT_DST = 16;
export const CTF_MARK = 32;
export const CTF_LABEL = 64;

function compileCt(a: Extract<Action, { type: 'ct' }>, out: number[]): void {
  let flags = (a.commit ? CTF_COMMIT : 0) | (a.force ? CTF_FORCE : 0);
  if (a.nat !== null) flags |= CTF_NAT | (a.nat.kind === 'src' ? CTF_NAT_SRC : a.nat.kind === 'dst' ? CTF_NAT_DST : 0);
  let markV = 0;
  let markM = 0;
  let label = 0n;
  let labelM = 0n;
  for (const x of a.exec) {
    // The parser admits only writes to ct_mark / ct_label here (OVS: "ct action doesn't support
    // nested action ...").
    let value: bigint;
    let mask: bigint;
    let field: NxmField;
    if (x.type === 'set_field' && x.field !== 'vlan_vid') {
      field = x.field;
      const full = bitMask(0, field.bits);
      mask = x.mask === null ? full : x.mask & full;
      value = x.value & mask;
    } else if (x.type === 'load') {
      field = x.dst.field;
      mask = bitMask(x.dst.ofs, x.dst.nbits);
      value = (x.value << BigInt(x.dst.ofs)) & mask;
    } else continue;
    if (field.id === N.F_CT_MARK) {
      flags |= CTF_MARK;
      markV = ((markV & ~Number(mask)) | Number(value)) >>> 0;
      markM = (markM | Number(mask)) >>> 0;
    } else if (field.id === N.F_CT_LABEL) {
      flags |= CTF_LABEL;
      label = (label & ~mask) | value;
      labelM |= mask;
    }
  }
  const words = (v: bigint): number[] => [96n, 64n, 32n, 0n].map((sh) => Number((v >> sh) & 0xffffffffn));
  const nat = a.nat;
  out.push(
    OP_CT, flags, a.table, a.zone,
    a.zoneSrc === null ? -1 : a.zoneSrc.field.id, a.zoneSrc === null ? 0 : a.zoneSrc.ofs,
    nat?.addrMin ?? 0, nat?.addrMax ?? 0, nat?.portMin ?? 0, nat?.portMax ?? 0,
    markV, markM, ...words(label), ...words(labelM),
  );
}
