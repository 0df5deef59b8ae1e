/**
 * OpenFlow / Nicira actions → rule-model actions, refusing what tvs cannot do with the error
 * OVS would send (BAD_ACTION/BAD_ARGUMENT, BAD_OUT_PORT, BAD_SET_TYPE, ...).
 */
import { Match } from '../../flow/match';
import { prereqOk } from '../../flow/fields';
import { nxmField, type NxmField } from '../../flow/nxm';
import * as N from '../../flow/nxm';
import { outputActionFor, type Action, type CtNat, type LearnSpec } from '../../flow/actions';
import { OFPP_IN_PORT, OFPP_LOCAL, OFPP_MAX, OFPP_TABLE } from '../../flow/ofport';
import { learnMatchable } from '../../flow/learn';
import type { OfAction } from '../../wire/openflow/actions';
import { BAD_ACTION, NX_CT_F, NX_LEARN_F, NX_NAT_F, port32to16 } from '../../wire/openflow/constants';
import { bytesToBig, oxmHeader, oxmInfo, OXM_CLASS_BASIC } from '../../wire/openflow/oxm';
import { badAction } from './errors';
import { BASIC_TO_NXM, fieldOfHeader } from './nxm-headers';

export interface ActionContext {
  match: Match;
  /** Table the flow is in (goto_table must go forward). */
  table: number;
  /** Packet-out: output:TABLE is allowed. */
  packetOut?: boolean;
}

/**
 * An OpenFlow 1.3 output port as a rule-model action: the 32-bit reserved numbers map onto the
 * 16-bit ones and then take the same action as in ovs-ofctl text (outputActionFor). OFPP_TABLE
 * only in a packet-out, as OVS; ANY, NONE and numbers above the port range are refused.
 */
function outputFrom(port: number, maxLen: number, ctx: ActionContext): Action {
  const p = port32to16(port >>> 0);
  const allowed = (p > 0 && p < OFPP_MAX) || (p >= OFPP_IN_PORT && p <= OFPP_LOCAL && (p !== OFPP_TABLE || ctx.packetOut === true));
  if (!allowed) throw badAction(BAD_ACTION.BAD_OUT_PORT, `output to port 0x${(port >>> 0).toString(16)} is not allowed here`);
  const a = outputActionFor(p);
  return a.type === 'controller' ? { type: 'controller', maxLen } : a;
}

function subfield(h: number, ofs: number, nbits: number, what: string): { field: NxmField; ofs: number; nbits: number } {
  const field = fieldOfHeader(h);
  if (!field) throw badAction(BAD_ACTION.BAD_ARGUMENT, `${what}: tvs has no field with header 0x${h.toString(16)}`);
  if (nbits < 1 || ofs + nbits > field.bits) throw badAction(BAD_ACTION.BAD_ARGUMENT, `${what}: bits ${ofs}..${ofs + nbits - 1} are outside ${field.nxm} (${field.bits} bits)`);
  return { field, ofs, nbits };
}

function checkPrereq(f: NxmField, ctx: ActionContext): void {
  if (!prereqOk(f.prereq, ctx.match)) throw badAction(BAD_ACTION.MATCH_INCONSISTENT, `${f.name}: the match does not pin down what this field needs`);
}

/** nx_action_learn → the rule model's learn (the same checks as the text form, as BAD_ARGUMENT). */
function learnFrom(a: Extract<OfAction, { type: 'nx_learn' }>, ctx: ActionContext): Action {
  if (a.flags & ~(NX_LEARN_F.SEND_FLOW_REM | NX_LEARN_F.DELETE_LEARNED)) throw badAction(BAD_ACTION.BAD_ARGUMENT, `learn: flags 0x${a.flags.toString(16)} (result_dst is not supported)`);
  if (a.table >= 255) throw badAction(BAD_ACTION.BAD_ARGUMENT, `learn: table ${a.table}`);
  const specs: LearnSpec[] = a.specs.map((sp) => {
    const src = sp.srcField === null ? null : subfield(sp.srcField, sp.srcOfs, sp.nBits, 'learn source');
    if (src) checkPrereq(src.field, ctx);
    if (sp.dst === 'output') {
      if (!src) throw badAction(BAD_ACTION.BAD_ARGUMENT, 'learn: output needs a field source');
      return { kind: 'output', dst: null, src, value: 0n };
    }
    const dst = subfield(sp.dstField, sp.dstOfs, sp.nBits, 'learn destination');
    if (!learnMatchable(dst.field) || (sp.dst === 'load' && !dst.field.writable)) throw badAction(BAD_ACTION.BAD_ARGUMENT, `learn: ${dst.field.nxm} cannot be a learn destination`);
    return { kind: sp.dst, dst, src, value: sp.srcField === null ? sp.value & ((1n << BigInt(sp.nBits)) - 1n) : 0n };
  });
  return {
    type: 'learn', table: a.table, priority: a.priority, idleTimeout: a.idleTimeout, hardTimeout: a.hardTimeout,
    finIdleTimeout: a.finIdleTimeout, finHardTimeout: a.finHardTimeout, cookie: a.cookie,
    sendFlowRem: (a.flags & NX_LEARN_F.SEND_FLOW_REM) !== 0, deleteLearned: (a.flags & NX_LEARN_F.DELETE_LEARNED) !== 0, specs,
  };
}

/** The rule model's learn → nx_action_learn. */

export const NAT_FLAG_NAMES: [number, string][] = [
  [NX_NAT_F.PERSISTENT, 'persistent'],
  [NX_NAT_F.PROTO_HASH, 'hash'],
  [NX_NAT_F.PROTO_RANDOM, 'random'],
];

function natFrom(a: Extract<OfAction, { type: 'nx_nat' }>): CtNat {
  const kinds = a.flags & (NX_NAT_F.SRC | NX_NAT_F.DST);
  if (kinds === (NX_NAT_F.SRC | NX_NAT_F.DST)) throw badAction(BAD_ACTION.BAD_ARGUMENT, 'nat: both src and dst');
  if (a.flags & ~0x1f) throw badAction(BAD_ACTION.BAD_ARGUMENT, `nat: flags 0x${a.flags.toString(16)} has unknown bits`);
  if (a.ipv6Min !== null || a.ipv6Max !== null) throw badAction(BAD_ACTION.BAD_ARGUMENT, 'nat: IPv6 address ranges are not supported by tvs');
  const hasRange = a.ipv4Min !== null || a.ipv4Max !== null || a.protoMin !== null || a.protoMax !== null;
  if (kinds === 0 && hasRange) throw badAction(BAD_ACTION.BAD_ARGUMENT, 'nat: a range needs src or dst');
  return {
    kind: kinds === NX_NAT_F.SRC ? 'src' : kinds === NX_NAT_F.DST ? 'dst' : null,
    addrMin: a.ipv4Min ?? 0,
    addrMax: a.ipv4Max ?? 0,
    portMin: a.protoMin ?? 0,
    portMax: a.protoMax ?? 0,
    flags: NAT_FLAG_NAMES.filter(([b]) => a.flags & b).map(([, n]) => n),
  };
}

/** nx_action_conntrack → the rule model's ct() (the forms `tvs add-flow` accepts, else BAD_ARGUMENT). */
function ctFrom(a: Extract<OfAction, { type: 'nx_ct' }>, ctx: ActionContext): Action {
  if (a.flags & ~(NX_CT_F.COMMIT | NX_CT_F.FORCE)) throw badAction(BAD_ACTION.BAD_ARGUMENT, `ct: flags 0x${a.flags.toString(16)} has unknown bits`);
  if (a.alg !== 0) throw badAction(BAD_ACTION.BAD_ARGUMENT, `ct: alg ${a.alg} is not supported by tvs`);
  let zoneSrc = null;
  let zone = 0;
  if (a.zoneSrc === 0) zone = a.zoneOfsNbits;
  else {
    zoneSrc = subfield(a.zoneSrc, a.zoneOfsNbits >> 6, (a.zoneOfsNbits & 63) + 1, 'ct zone');
    if (zoneSrc.nbits !== 16 || zoneSrc.field.bits > 64) throw badAction(BAD_ACTION.BAD_ARGUMENT, `ct zone: a zone subfield must be 16 bits of a field of at most 64 bits`);
    checkPrereq(zoneSrc.field, ctx);
  }
  let nat: CtNat | null = null;
  const exec: Action[] = [];
  for (const x of a.actions) {
    if (x.type === 'nx_nat') {
      if (nat) throw badAction(BAD_ACTION.BAD_ARGUMENT, 'ct: more than one nat');
      nat = natFrom(x);
      continue;
    }
    // OVS: "ct action doesn't support nested action" other than writes to ct_mark / ct_label.
    let done: Action | null = null;
    if (x.type === 'set_field' && x.field.mask === undefined) {
      const f = fieldOfHeader(oxmHeader(x.field.cls, x.field.field, false, x.field.value.length));
      if (f && (f.id === N.F_CT_MARK || f.id === N.F_CT_LABEL)) done = { type: 'set_field', field: f, value: bytesToBig(x.field.value), mask: null };
    } else if (x.type === 'nx_reg_load') {
      const dst = subfield(x.dst, x.ofsNbits >> 6, (x.ofsNbits & 63) + 1, 'ct exec reg_load');
      if (dst.nbits < 64 && x.value >> BigInt(dst.nbits) !== 0n) throw badAction(BAD_ACTION.BAD_ARGUMENT, `reg_load: value 0x${x.value.toString(16)} does not fit in ${dst.nbits} bits`);
      if (dst.field.id === N.F_CT_MARK || dst.field.id === N.F_CT_LABEL) done = { type: 'load', value: x.value, dst };
    }
    if (!done) throw badAction(BAD_ACTION.BAD_ARGUMENT, `ct: nested ${x.type} is not allowed (only nat and writes to ct_mark / ct_label)`);
    exec.push(done);
  }
  return { type: 'ct', commit: (a.flags & NX_CT_F.COMMIT) !== 0, force: (a.flags & NX_CT_F.FORCE) !== 0, table: a.recircTable, zone, zoneSrc, nat, exec };
}

function actionFrom(a: OfAction, ctx: ActionContext): Action | null {
  switch (a.type) {
    case 'nx_ct':
      return ctFrom(a, ctx);
    case 'nx_ct_clear':
      return { type: 'ct_clear' };
    case 'nx_nat':
      throw badAction(BAD_ACTION.BAD_ARGUMENT, 'nat outside ct()');
    case 'nx_learn':
      return learnFrom(a, ctx);
    case 'output':
      return outputFrom(a.port, a.maxLen, ctx);
    case 'push_vlan':
      if (a.ethertype !== 0x8100 && a.ethertype !== 0x88a8) throw badAction(BAD_ACTION.BAD_ARGUMENT, `push_vlan ethertype 0x${a.ethertype.toString(16)}`);
      return { type: 'push_vlan', tpid: a.ethertype };
    case 'pop_vlan':
      return { type: 'strip_vlan', spelling: 'pop_vlan' };
    case 'dec_nw_ttl':
    case 'nx_dec_ttl':
      return { type: 'dec_ttl', ids: null };
    case 'set_field': {
      const info = oxmInfo(a.field.cls, a.field.field);
      const v = bytesToBig(a.field.value);
      if (info?.name === 'vlan_vid') return { type: 'set_field', field: 'vlan_vid', value: v, mask: null };
      if (info?.name === 'vlan_pcp') return { type: 'mod_vlan_pcp', pcp: Number(v & 7n) };
      if (info?.name === 'ip_dscp') return { type: 'mod_nw_tos', tos: Number(v & 63n) << 2 };
      const f = info ? (info.cls === OXM_CLASS_BASIC ? (BASIC_TO_NXM[info.name] ? nxmField(BASIC_TO_NXM[info.name]) : undefined) : fieldOfHeader(oxmHeader(info.cls, info.field, false, info.bytes))) : undefined;
      if (!f || !f.writable) throw badAction(BAD_ACTION.BAD_SET_TYPE, `set_field: tvs cannot set ${info?.name ?? 'this field'}`);
      checkPrereq(f, ctx);
      return { type: 'set_field', field: f, value: v, mask: null };
    }
    case 'nx_resubmit': {
      const table = a.table ?? 255;
      const port = a.inPort === 0xfff8 ? -1 : a.inPort;
      return { type: 'resubmit', port, table, ct: a.ct === true };
    }
    case 'nx_reg_load': {
      const ofs = a.ofsNbits >> 6;
      const nbits = (a.ofsNbits & 63) + 1;
      const dst = subfield(a.dst, ofs, nbits, 'reg_load');
      if (!dst.field.writable || dst.field.ctOnly) throw badAction(BAD_ACTION.BAD_ARGUMENT, `reg_load: ${dst.field.nxm} is ${dst.field.ctOnly ? 'written only inside ct(exec(...))' : 'read-only'}`);
      if (nbits < 64 && a.value >> BigInt(nbits) !== 0n) throw badAction(BAD_ACTION.BAD_ARGUMENT, `reg_load: value 0x${a.value.toString(16)} does not fit in ${nbits} bits`);
      checkPrereq(dst.field, ctx);
      return { type: 'load', value: a.value, dst };
    }
    case 'nx_reg_move': {
      const src = subfield(a.src, a.srcOfs, a.nBits, 'reg_move');
      const dst = subfield(a.dst, a.dstOfs, a.nBits, 'reg_move');
      if (!dst.field.writable || dst.field.ctOnly) throw badAction(BAD_ACTION.BAD_ARGUMENT, `reg_move: ${dst.field.nxm} is ${dst.field.ctOnly ? 'written only inside ct(exec(...))' : 'read-only'}`);
      checkPrereq(src.field, ctx);
      checkPrereq(dst.field, ctx);
      return { type: 'move', src, dst };
    }
    case 'nx_note':
      return { type: 'note', bytes: [...a.note] };
    case 'nx_conjunction':
      // OVS decode_NXAST_RAW_CONJUNCTION's checks.
      if (a.nClauses < 2 || a.nClauses > 64 || a.clause >= a.nClauses) {
        throw badAction(BAD_ACTION.BAD_ARGUMENT, `conjunction: clause ${a.clause + 1} of ${a.nClauses} (need 2..64 clauses, clause within them)`);
      }
      return { type: 'conjunction', id: a.id, clause: a.clause + 1, nClauses: a.nClauses };
    case 'group':
      throw badAction(BAD_ACTION.BAD_OUT_GROUP, `group ${a.groupId} does not exist (tvs has no group table)`);
    case 'set_queue':
      throw badAction(BAD_ACTION.BAD_QUEUE, `queue ${a.queueId} does not exist (tvs has no queues)`);
    case 'set_nw_ttl':
      throw badAction(BAD_ACTION.BAD_TYPE, 'set_nw_ttl is not supported by tvs');
    case 'unknown':
      if (a.actionType === 0xffff) {
        const vendor = a.body.length >= 4 ? a.body.readUInt32BE(0) : 0;
        if (vendor === 0x2320) throw badAction(BAD_ACTION.BAD_EXP_TYPE, `Nicira action subtype ${a.body.length >= 6 ? a.body.readUInt16BE(4) : '?'} is not supported by tvs`);
        throw badAction(BAD_ACTION.BAD_EXPERIMENTER, `experimenter 0x${vendor.toString(16)} actions are not supported`);
      }
      throw badAction(BAD_ACTION.BAD_TYPE, `action type ${a.actionType} is not supported by tvs`);
  }
}

/** An OpenFlow action list → rule-model actions (packet-out, apply_actions). */
export function actionsFromOf(list: readonly OfAction[], ctx: ActionContext): Action[] {
  const out: Action[] = [];
  for (const a of list) {
    const x = actionFrom(a, ctx);
    if (x) out.push(x);
  }
  return checkConjunctive(out);
}

/** OVS: conjunction actions may come only with notes (and other conjunctions). */
export function checkConjunctive(acts: Action[]): Action[] {
  if (acts.some((a) => a.type === 'conjunction')) {
    const other = acts.find((a) => a.type !== 'conjunction' && a.type !== 'note');
    if (other !== undefined) throw badAction(BAD_ACTION.BAD_ARGUMENT, `"conjunction" actions may be used along with "note" but not any other kind of action (such as ${other.type})`);
  }
  return acts;
}
