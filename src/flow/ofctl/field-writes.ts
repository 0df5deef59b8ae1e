/**
 * The actions that write fields: `load:V->DST[range]`, `move:SRC[range]->DST[range]` and
 * `set_field:V[/M]->FIELD` (also used inside ct(exec(...)), where only conntrack fields may be set).
 */
import type { Match } from '../match';
import * as F from '../fields';
import type { NxmField } from '../nxm';
import type { Action } from '../actions';
import { checkDstWritable, checkFieldPrereq, lookupNxm, parseSubfield } from './subfields';
import { err, located, type Token } from './tokens';

/** OVS: conntrack fields are set only by ct(commit,exec(...)). */
function checkNotCt(f: NxmField, tok: Token, inCt: boolean): void {
  if (f.ctOnly && !inCt) throw err(`cannot set CT fields outside of ct action (${f.name}: use ct(commit,exec(set_field:V->${f.name})))`, tok);
}

export function parseLoad(v: string, tok: Token, m: Match, inCt = false): Action {
  const i = v.indexOf('->');
  if (i < 0) throw err(`load needs VALUE->DST[range]`, tok);
  const dst = parseSubfield(v.slice(i + 2), tok);
  checkDstWritable(dst.field, m, tok);
  checkNotCt(dst.field, tok, inCt);
  checkFieldPrereq(dst.field, m, tok);
  const value = located(tok, () => F.parseU64(v.slice(0, i), 'value'));
  if (dst.nbits < 64 && value >> BigInt(dst.nbits) !== 0n) throw err(`value ${v.slice(0, i)} does not fit in ${dst.nbits} bits`, tok);
  return { type: 'load', value, dst };
}

export function parseMove(v: string, tok: Token, m: Match): Action {
  const i = v.indexOf('->');
  if (i < 0) throw err(`move needs SRC[range]->DST[range]`, tok);
  const src = parseSubfield(v.slice(0, i), tok);
  const dst = parseSubfield(v.slice(i + 2), tok);
  if (src.nbits !== dst.nbits) throw err(`move: source has ${src.nbits} bits but destination ${dst.nbits}`, tok);
  for (const x of [src, dst]) {
    if (x.field.bits > 64) throw err(`move: the 128-bit ${x.field.nxm} cannot be moved in tvs (use set_field or load)`, tok);
  }
  checkDstWritable(dst.field, m, tok);
  checkNotCt(dst.field, tok, false);
  if (src.field.bits > 64) throw err(`move: reading the ${src.field.bits}-bit ${src.field.nxm} is not supported`, tok);
  checkFieldPrereq(src.field, m, tok);
  checkFieldPrereq(dst.field, m, tok);
  return { type: 'move', src, dst };
}

export function parseSetField(v: string, tok: Token, m: Match, inCt = false): Action {
  const i = v.indexOf('->');
  if (i < 0) throw err(`set_field needs VALUE->FIELD`, tok);
  const name = v.slice(i + 2).trim();
  const vt = v.slice(0, i);
  const j = vt.indexOf('/');
  const vs = j < 0 ? vt : vt.slice(0, j);
  const ms = j < 0 ? null : vt.slice(j + 1);
  if (name === 'vlan_vid') {
    if (ms !== null) throw err('set_field to vlan_vid takes no mask', tok);
    const n = located(tok, () => F.parseUint(vs, 16, 'vlan_vid'));
    if (n > 0x1fff) throw err(`vlan_vid ${n} is out of range (0..4095, plus 0x1000 = OFPVID_PRESENT)`, tok);
    return { type: 'set_field', field: 'vlan_vid', value: BigInt(n), mask: null };
  }
  const f = lookupNxm(name, tok);
  if (!f.writable) throw err(`${f.name} is read-only`, tok);
  checkNotCt(f, tok, inCt);
  checkFieldPrereq(f, m, tok);
  const parseVal = (s: string): bigint =>
    located(tok, () => {
      if (f.style === 'mac') return BigInt(F.parseMacText(s));
      if (f.style === 'ip') return BigInt(F.parseIpText(s));
      if (f.style === 'ipv6') return F.parseAddr6Big(s);
      if (f.bits > 64) return F.parseU128(s);
      const n = F.parseU64(s);
      if (f.bits < 64 && n >> BigInt(f.bits) !== 0n) throw new Error(`value '${s}' does not fit in ${f.bits} bits`);
      return n;
    });
  // An IPv6 mask may be a prefix length (`set_field:2001:db8::/48->ipv6_dst`), as OVS reads it.
  const mask = ms === null ? null : f.style === 'ipv6' && /^\d{1,3}$/.test(ms.trim()) ? located(tok, () => F.ipv6PrefixBig(Number(ms.trim()))) : parseVal(ms);
  return { type: 'set_field', field: f, value: parseVal(vs), mask };
}
