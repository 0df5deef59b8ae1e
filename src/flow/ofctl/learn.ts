/** The learn action in flow text: `learn(...)` header keys and match/load/output specs. */
import { Match } from '../match';
import * as F from '../fields';
import { F_IN_PORT, F_IN_PORT_OXM, nxmField, type NxmField } from '../nxm';
import { learnMatchable, matchSubfield } from '../learn';
import type { LearnAction, Subfield } from '../actions';
import { N_TABLES, OFP_DEFAULT_PRIORITY } from '../table';
import type { ParseOptions } from './flow-spec';
import { checkDstWritable, checkFieldPrereq, lookupNxm, parseSubfield } from './subfields';
import { err, located, tokenize, type Token } from './tokens';

/**
 * `learn(ARG,...)` (ovs-actions(7), OVS learn_parse): header keys (table, priority, idle_timeout,
 * hard_timeout, fin_idle_timeout, fin_hard_timeout, cookie, send_flow_rem, delete_learned), then
 * specs in order: `FIELD[range]` (match it to this packet's value), `FIELD[range]=SRC[range]`,
 * `FIELD=VALUE`, `load:SRC[range]->DST[range]`, `load:VALUE->DST[range]`, `output:SRC[range]`.
 * As OVS checks: sources need their prerequisites in this flow's match; a learned match field
 * needs its prerequisites among the immediate fields before it (`eth_type=0x800,NXM_OF_IP_DST[]`).
 */
export function parseLearn(v: string, tok: Token, flowMatch: Match, opts: ParseOptions): LearnAction {
  const l: LearnAction = {
    type: 'learn', table: 1, priority: OFP_DEFAULT_PRIORITY, idleTimeout: 0, hardTimeout: 0,
    finIdleTimeout: 0, finHardTimeout: 0, cookie: 0n, sendFlowRem: false, deleteLearned: false, specs: [],
  };
  const learned = new Match(); // the immediate part of the learned match, for prerequisites
  for (const it of tokenize(v, tok.valCol - 1)) {
    const k = it.key.toLowerCase();
    const val = (): string => {
      if (!it.hasValue || it.value === '') throw err(`learn: ${it.key} needs a value`, it, false);
      return it.value;
    };
    const num = (bits: number): number => located(it, () => F.parseUint(val(), bits, k));
    switch (k) {
      case 'table':
        l.table = num(8);
        if (l.table >= N_TABLES) throw err(`learn: table ${l.table} is out of range (0..${N_TABLES - 1})`, it);
        continue;
      case 'priority':
        l.priority = num(16);
        continue;
      case 'idle_timeout':
        l.idleTimeout = num(16);
        continue;
      case 'hard_timeout':
        l.hardTimeout = num(16);
        continue;
      case 'fin_idle_timeout':
        l.finIdleTimeout = num(16);
        continue;
      case 'fin_hard_timeout':
        l.finHardTimeout = num(16);
        continue;
      case 'cookie':
        l.cookie = located(it, () => F.parseU64(val(), 'cookie'));
        continue;
      case 'send_flow_rem':
      case 'delete_learned':
        if (it.hasValue) throw err(`learn: ${it.key} takes no value`, it);
        if (k === 'send_flow_rem') l.sendFlowRem = true;
        else l.deleteLearned = true;
        continue;
      case 'limit':
      case 'result_dst':
        throw err(`learn: ${it.key} is not supported by tvs (learned flows are bounded by the bridge's flow limit)`, it, false);
      case 'load': {
        const s = val();
        const i = s.indexOf('->');
        if (i < 0) throw err('learn: load needs SRC[range]->DST[range] or VALUE->DST[range]', it);
        const dst = parseSubfield(s.slice(i + 2), it);
        learnableDst(dst, it);
        checkDstWritable(dst.field, learned, it);
        checkLearnedPrereq(dst.field, learned, it);
        const src = learnSource(s.slice(0, i), dst.nbits, flowMatch, it);
        l.specs.push({ kind: 'load', dst, src: src.sf, value: src.value });
        continue;
      }
      case 'output': {
        const src = parseSubfield(val(), it);
        checkFieldPrereq(src.field, flowMatch, it);
        l.specs.push({ kind: 'output', dst: null, src, value: 0n });
        continue;
      }
    }
    // A learned match spec.
    let dst: Subfield;
    let src: { sf: Subfield | null; value: bigint };
    if (!it.hasValue) {
      dst = parseSubfield(it.key, it);
      src = { sf: dst, value: 0n };
      checkFieldPrereq(dst.field, flowMatch, it);
    } else if (it.key.includes('[')) {
      dst = parseSubfield(it.key, it);
      src = learnSource(it.value, dst.nbits, flowMatch, it);
    } else {
      const f = lookupNxm(it.key, it);
      dst = { field: f, ofs: 0, nbits: f.bits };
      const imm = located(it, () => learnFieldValue(f, it.value, opts));
      src = imm !== undefined ? { sf: null, value: imm } : learnSource(it.value, f.bits, flowMatch, it);
    }
    learnableDst(dst, it);
    checkLearnedPrereq(dst.field, learned, it);
    if (src.sf === null) matchSubfield(learned, dst, src.value);
    l.specs.push({ kind: 'match', dst, src: src.sf, value: src.value });
  }
  return l;
}

function learnableDst(sf: Subfield, tok: Token): void {
  if (!learnMatchable(sf.field)) throw err(`learn: ${sf.field.nxm} cannot be matched or loaded by a learned flow in tvs`, tok);
}

function checkLearnedPrereq(f: NxmField, learned: Match, tok: Token): void {
  if (!F.prereqOk(f.prereq, learned)) {
    throw err(`learn: ${f.name} ${F.prereqHint(f.prereq).replace(/\(add '(\w+),'\)/, "(add a match on $1 before it inside learn(), e.g. eth_type=0x800)")} in the learned flow`, tok);
  }
}

/** The source of a learn spec: a subfield of this packet, or an immediate `nbits`-bit value. */
function learnSource(text: string, nbits: number, flowMatch: Match, tok: Token): { sf: Subfield | null; value: bigint } {
  const t = text.trim();
  if (/^[A-Za-z_][A-Za-z0-9_]*(\[.*\])?$/.test(t)) {
    const sf = parseSubfield(t, tok);
    if (sf.nbits !== nbits) throw err(`learn: ${t} is ${sf.nbits} bits wide but the destination is ${nbits} bits wide`, tok);
    checkFieldPrereq(sf.field, flowMatch, tok);
    return { sf, value: 0n };
  }
  const value = located(tok, () => F.parseU64(t, 'value'));
  if (nbits < 64 && value >> BigInt(nbits) !== 0n) throw err(`learn: value ${t} does not fit in ${nbits} bits`, tok);
  return { sf: null, value };
}

/** `FIELD=VALUE` in learn: the value in the field's own syntax, or undefined when it is a field. */
function learnFieldValue(f: NxmField, text: string, opts: ParseOptions): bigint | undefined {
  const t = text.trim();
  try {
    if (f.id === F_IN_PORT || f.id === F_IN_PORT_OXM) {
      if (nxmField(t.replace(/\[.*$/, '')) !== undefined) return undefined;
      return BigInt(F.parsePort(t, opts, 'port'));
    }
    if (f.style === 'mac') return BigInt(F.parseMacText(t));
    if (f.style === 'ip') return BigInt(F.parseIpText(t));
    if (!/^(0x[0-9a-f]+|[0-9]+)$/i.test(t)) return undefined;
    const v = F.parseU64(t);
    if (f.bits < 64 && v >> BigInt(f.bits) !== 0n) throw new Error(`value '${t}' does not fit in ${f.bits} bits`);
    return v;
  } catch (e) {
    if (/^[A-Za-z_][A-Za-z0-9_]*(\[.*\])?$/.test(t) && nxmField(t.replace(/\[.*$/, '')) !== undefined) return undefined;
    throw e;
  }
}
