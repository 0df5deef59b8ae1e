/**
 * `actions=...`: the action list, in the order OpenFlow 1.1+ instructions allow (meter, apply
 * actions, clear_actions, write_actions, write_metadata, goto_table), each action dispatched to
 * its parser; then the list-wide checks (drop alone, conjunction companions) and lint warnings.
 */
import * as F from '../fields';
import { actionSetKind, type Action } from '../actions';
import { OFPP_LOCAL } from '../ofport';
import { N_TABLES } from '../table';
import { parseConjunction, parseControllerArg, parseDecTtl, parseResubmit, rangeUint } from './action-args';
import { parseCt } from './ct';
import { parseLoad, parseMove, parseSetField } from './field-writes';
import type { FlowSpec, ParseOptions } from './flow-spec';
import { parseLearn } from './learn';
import { lint } from './lint';
import { outputTo, parsePortArg, safeJson } from './ports';
import { checkFieldPrereq, lookupNxm } from './subfields';
import { err, FlowSyntaxError, located, tokenize } from './tokens';

const ACTION_NAMES = [
  'write_actions', 'clear_actions',
  'output', 'in_port', 'normal', 'flood', 'all', 'local', 'controller', 'drop', 'mod_vlan_vid', 'mod_vlan_pcp',
  'strip_vlan', 'pop_vlan', 'push_vlan', 'set_field', 'mod_dl_src', 'mod_dl_dst', 'mod_nw_src', 'mod_nw_dst',
  'mod_nw_tos', 'mod_nw_ecn', 'mod_nw_ttl', 'mod_tp_src', 'mod_tp_dst', 'dec_ttl', 'meter', 'set_queue', 'pop_queue', 'set_tunnel', 'set_tunnel64', 'load', 'move', 'resubmit', 'goto_table', 'write_metadata', 'note', 'conjunction', 'ct', 'ct_clear', 'learn',
];

/**
 * `inner`: the list inside write_actions(...) (no lint, no instruction order, columns of the
 * outer list kept).
 */
export function parseActions(text: string, base: number, spec: FlowSpec, opts: ParseOptions, inner = false): Action[] {
  const toks = tokenize(text, base);
  if (toks.length === 0) throw new FlowSyntaxError("empty action list (use actions=drop to drop)", base + 1, 'actions');
  const acts: Action[] = [];
  const cols: number[] = [];
  const table = spec.table ?? 0;
  let sawDrop = false;
  // OpenFlow 1.1+ instruction order, as OVS checks it: meter, apply-actions, clear_actions,
  // write_actions, write_metadata, goto_table.
  let sawClear = false;
  let sawWrite = false;
  let sawMeta = false;
  for (const tok of toks) {
    const k = tok.key.toLowerCase();
    const v = tok.value;
    const need = (): string => {
      if (!tok.hasValue || v === '') throw err(`${tok.key} needs an argument`, tok, false);
      return v;
    };
    const noArg = (): void => {
      if (tok.hasValue) throw err(`${tok.key} takes no argument`, tok);
    };
    let a: Action;
    if (/^[0-9]+$/.test(tok.key) && !tok.hasValue) {
      a = outputTo(located(tok, () => F.parseUint(tok.key, 16, 'port')), tok);
    } else
      switch (k) {
        case 'drop':
          noArg();
          sawDrop = true;
          continue;
        case 'output':
          a = outputTo(parsePortArg(need(), tok, opts, 'output port'), tok);
          break;
        case 'in_port':
          noArg();
          a = { type: 'in_port' };
          break;
        case 'normal':
          noArg();
          a = { type: 'normal' };
          break;
        case 'flood':
          noArg();
          a = { type: 'flood' };
          break;
        case 'all':
          noArg();
          a = { type: 'all' };
          break;
        case 'local':
          noArg();
          a = { type: 'output', port: OFPP_LOCAL };
          break;
        case 'controller':
          a = { type: 'controller', maxLen: parseControllerArg(tok) };
          break;
        case 'mod_vlan_vid':
          a = { type: 'mod_vlan_vid', vid: located(tok, () => rangeUint(need(), 4095, 'VLAN id')) };
          break;
        case 'mod_vlan_pcp':
          a = { type: 'mod_vlan_pcp', pcp: located(tok, () => rangeUint(need(), 7, 'VLAN priority')) };
          break;
        case 'strip_vlan':
        case 'pop_vlan':
          noArg();
          a = { type: 'strip_vlan', spelling: k };
          break;
        case 'push_vlan': {
          const tpid = located(tok, () => F.parseUint(need(), 16, 'ethertype'));
          if (tpid !== 0x8100 && tpid !== 0x88a8) throw err(`push_vlan: ethertype 0x${tpid.toString(16)} is not 0x8100 or 0x88a8`, tok);
          a = { type: 'push_vlan', tpid };
          break;
        }
        case 'set_field':
          a = parseSetField(need(), tok, spec.match);
          break;
        case 'mod_dl_src':
          a = { type: 'mod_dl_src', mac: located(tok, () => F.parseMacText(need())) };
          break;
        case 'mod_dl_dst':
          a = { type: 'mod_dl_dst', mac: located(tok, () => F.parseMacText(need())) };
          break;
        case 'mod_nw_src':
          a = { type: 'mod_nw_src', addr: located(tok, () => F.parseIpText(need())) };
          break;
        case 'mod_nw_dst':
          a = { type: 'mod_nw_dst', addr: located(tok, () => F.parseIpText(need())) };
          break;
        case 'mod_nw_tos': {
          const tos = located(tok, () => F.parseUint(need(), 8, 'tos'));
          if (tos & 3) throw err(`mod_nw_tos ${tos} has ECN bits set (must be a multiple of 4)`, tok);
          a = { type: 'mod_nw_tos', tos };
          break;
        }
        case 'mod_tp_src':
          a = { type: 'mod_tp_src', port: located(tok, () => F.parseUint(need(), 16, 'port')) };
          break;
        case 'mod_tp_dst':
          a = { type: 'mod_tp_dst', port: located(tok, () => F.parseUint(need(), 16, 'port')) };
          break;
        case 'dec_ttl':
          a = parseDecTtl(tok);
          break;
        case 'set_tunnel':
        case 'set_tunnel64':
          // OVS takes 64 bits in both spellings and prints set_tunnel64 when the id needs it.
          a = { type: 'set_tunnel', value: located(tok, () => F.parseU64(need(), 'tunnel id')), wide: k === 'set_tunnel64' };
          break;
        case 'load':
          a = parseLoad(need(), tok, spec.match);
          break;
        case 'move':
          a = parseMove(need(), tok, spec.match);
          break;
        case 'resubmit':
          a = parseResubmit(need(), tok, opts);
          break;
        case 'goto_table': {
          const t = located(tok, () => F.parseUint(need(), 8, 'table'));
          if (t >= N_TABLES) throw err(`goto_table:${t}: table out of range (0..${N_TABLES - 1})`, tok);
          if (t <= table) throw err(`goto_table:${t} must go to a later table than ${table} (use resubmit(,${t}) to go back)`, tok);
          a = { type: 'goto_table', table: t };
          break;
        }
        case 'write_metadata': {
          const s = need();
          const i = s.indexOf('/');
          const value = located(tok, () => F.parseU64(i < 0 ? s : s.slice(0, i), 'metadata'));
          const mask = i < 0 ? 0xffffffffffffffffn : located(tok, () => F.parseU64(s.slice(i + 1), 'mask'));
          a = { type: 'write_metadata', value: value & mask, mask };
          break;
        }
        case 'note': {
          const hex = v.replace(/\./g, '');
          if (!/^([0-9a-f]{2})*$/i.test(hex)) throw err(`note: '${v}' is not hex bytes (e.g. note:00.11.22)`, tok);
          const bytes: number[] = [];
          for (let i = 0; i < hex.length; i += 2) bytes.push(parseInt(hex.slice(i, i + 2), 16));
          a = { type: 'note', bytes };
          break;
        }
        case 'conjunction':
          a = parseConjunction(need(), tok);
          break;
        case 'mod_nw_ecn': {
          // OVS mod_nw_ecn:N is set_field:N->nw_ecn (and prints as that in OpenFlow 1.2+).
          const ecn = located(tok, () => F.parseUint(need(), 2, 'ECN'));
          const f = lookupNxm('nw_ecn', tok);
          checkFieldPrereq(f, spec.match, tok);
          a = { type: 'set_field', field: f, value: BigInt(ecn), mask: null };
          break;
        }
        case 'mod_nw_ttl': {
          // OVS mod_nw_ttl:N is set_field:N->nw_ttl (NXM_NX_IP_TTL); IPv4 TTL or IPv6 hop limit.
          const ttl = located(tok, () => F.parseUint(need(), 8, 'TTL'));
          const f = lookupNxm('nw_ttl', tok);
          checkFieldPrereq(f, spec.match, tok);
          a = { type: 'set_field', field: f, value: BigInt(ttl), mask: null };
          break;
        }
        case 'meter':
          // An OpenFlow 1.3 instruction: OVS requires it before the apply-actions.
          if (acts.length > 0) throw err('meter must come before every other action (OpenFlow 1.1+ instruction order)', tok, false);
          a = { type: 'meter', id: located(tok, () => F.parseUint(need(), 32, 'meter id')) };
          break;
        case 'set_queue':
          a = { type: 'set_queue', queue: located(tok, () => F.parseUint(need(), 32, 'queue id')) };
          break;
        case 'pop_queue':
          noArg();
          a = { type: 'pop_queue' };
          break;
        case 'ct':
          a = parseCt(tok, spec.match);
          break;
        case 'ct_clear':
          a = { type: 'ct_clear' }; // OVS ignores an argument here (ct_clear(1) prints ct_clear)
          break;
        case 'learn':
          a = parseLearn(need(), tok, spec.match, opts);
          break;
        case 'clear_actions':
          if (inner) throw err('clear_actions is an instruction: it cannot be written to the action set', tok, false);
          if (sawClear) throw err('duplicate clear_actions instruction not allowed, for OpenFlow 1.1+ compatibility', tok, false);
          if (sawWrite || sawMeta) throw err(`invalid instruction ordering: clear_actions must appear before ${sawWrite ? 'write_actions' : 'write_metadata'}, for OpenFlow 1.1+ compatibility`, tok, false);
          sawClear = true;
          a = { type: 'clear_actions' };
          break;
        case 'write_actions': {
          if (inner) throw err('write_actions is an instruction: it cannot be written to the action set', tok, false);
          if (sawWrite) throw err('duplicate write_actions instruction not allowed, for OpenFlow 1.1+ compatibility', tok, false);
          if (sawMeta) throw err('invalid instruction ordering: write_actions must appear before write_metadata, for OpenFlow 1.1+ compatibility', tok, false);
          sawWrite = true;
          if (!tok.hasValue || v.trim() === '') continue; // write_actions(): writes nothing (OVS prints the flow without it)
          const set = parseActions(v, tok.valCol - 1, spec, opts, true);
          for (const x of set) {
            if (actionSetKind(x) < 0) {
              throw err(`write_actions: ${x.type} cannot be in the action set (OpenFlow 1.3 orders only pop, push_vlan, dec_ttl, set/move/load, set_queue and output actions)`, tok, false);
            }
          }
          if (set.length === 0) continue; // write_actions(drop)
          a = { type: 'write_actions', actions: set };
          break;
        }
        default: {
          // OVS accepts a bare port name as an output action.
          if (!tok.hasValue) {
            const p = opts.resolvePort(tok.key.startsWith('"') ? safeJson(tok.key) : tok.key);
            if (p >= 0) {
              a = outputTo(p, tok);
              break;
            }
          }
          const s = F.suggest(k, ACTION_NAMES);
          throw err(`unknown action '${tok.key}'${s ? ` (did you mean ${s}?)` : ''}`, tok, false);
        }
      }
    if (acts.length > 0 && acts[acts.length - 1].type === 'goto_table') {
      throw err('goto_table must be the last action', toks[toks.indexOf(tok) - 1], false);
    }
    if (a.type === 'write_metadata') sawMeta = true;
    else if ((sawClear || sawWrite) && a.type !== 'clear_actions' && a.type !== 'write_actions' && a.type !== 'goto_table') {
      throw err(`invalid instruction ordering: apply_actions must appear before ${sawClear ? 'clear_actions' : 'write_actions'}, for OpenFlow 1.1+ compatibility`, tok, false);
    }
    acts.push(a);
    cols.push(tok.keyCol);
  }
  if (sawDrop && acts.length > 0) throw new FlowSyntaxError("'drop' must be the only action", base + 1, 'drop');
  if (inner) return acts;
  checkConjunctionCompanions(acts, cols);
  spec.warnings.push(...lint(acts, cols, spec));
  spec.actionColumns = cols;
  return acts;
}

/** OVS: "conjunction" actions may be used along with "note" but not any other kind of action. */
function checkConjunctionCompanions(acts: Action[], cols: number[]): void {
  if (!acts.some((a) => a.type === 'conjunction')) return;
  const i = acts.findIndex((a) => a.type !== 'conjunction' && a.type !== 'note');
  if (i >= 0) {
    const what = acts[i].type;
    throw new FlowSyntaxError(`"conjunction" actions may be used along with "note" but not any other kind of action (such as the "${what}" action used here)`, cols[i], what);
  }
}
