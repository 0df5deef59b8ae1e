/**
 * Field references in actions (`NXM_NX_REG0[0..15]`, `reg0`, `OXM_OF_VLAN_VID[]`) and the checks a
 * field must pass before an action reads or writes it (prerequisites in the match, writability).
 */
import type { Match } from '../match';
import * as F from '../fields';
import { F_VLAN_VID, nxmField, nxmFieldNames, type NxmField } from '../nxm';
import type { Subfield } from '../actions';
import { K_VLAN_TCI } from '../../packet/flow-key';
import { err, type Token } from './tokens';

export function lookupNxm(name: string, tok: Token): NxmField {
  const f = nxmField(name);
  if (f === undefined) {
    const refused = F.refusedField(name);
    if (refused !== undefined) throw err(refused, tok);
    const s = F.suggest(name.toLowerCase(), nxmFieldNames());
    throw err(`unknown field '${name}'${s ? ` (did you mean ${s.startsWith('nxm_') || s.startsWith('oxm_') ? s.toUpperCase() : s}?)` : ''}`, tok);
  }
  return f;
}

/** FIELD[], FIELD[N], FIELD[a..b] or bare FIELD (whole field). */
export function parseSubfield(text: string, tok: Token): Subfield {
  const m = /^([A-Za-z0-9_]+)(?:\[(\d*)(?:\.\.(\d+))?\])?$/.exec(text.trim());
  if (!m) throw err(`'${text}' is not a field or subfield (e.g. NXM_NX_REG0[0..15])`, tok);
  const field = lookupNxm(m[1], tok);
  let ofs = 0;
  let nbits = field.bits;
  if (m[2] !== undefined && m[2] !== '') {
    ofs = Number(m[2]);
    const end = m[3] !== undefined ? Number(m[3]) : ofs;
    if (end < ofs) throw err(`${text}: bit range ends before it starts`, tok);
    nbits = end - ofs + 1;
  }
  if (ofs + nbits > field.bits) throw err(`${text}: bits beyond the ${field.bits}-bit field ${field.nxm}`, tok);
  return { field, ofs, nbits };
}

export function checkFieldPrereq(f: NxmField, m: Match, tok: Token): void {
  if (!F.prereqOk(f.prereq, m)) throw err(`${tok.key}: ${f.name} ${F.prereqHint(f.prereq)} in the match`, tok);
}

/**
 * Writing OXM_OF_VLAN_VID changes the VID of a tag the frame must have: OVS refuses it unless
 * the match requires a tag ("set_field vlan_vid lacks correct prerequisites").
 */
export function checkDstWritable(f: NxmField, m: Match, tok: Token): void {
  if (!f.writable) throw err(`${f.nxm} is read-only`, tok);
  if (f.id === F_VLAN_VID && !((m.mask[K_VLAN_TCI] & F.VLAN_CFI) !== 0 && (m.value[K_VLAN_TCI] & F.VLAN_CFI) !== 0)) {
    throw err(`${tok.key}: ${f.nxm} needs a VLAN tag in the match (add dl_vlan=...; use NXM_OF_VLAN_TCI[] to push or pop a tag)`, tok);
  }
}
