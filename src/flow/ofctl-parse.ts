/**
 * ovs-ofctl flow syntax → FlowSpec (ovs-ofctl(8) "Flow Syntax", ovs-actions(7)).
 *
 *   [table=T,][priority=P,][cookie=C,][idle_timeout=S,][hard_timeout=S,] MATCH... actions=ACTIONS
 *
 * Also reads back what dump-flows prints (` cookie=0x0, duration=1.5s, table=0, n_packets=3,
 * n_bytes=180, idle_age=2, priority=4,in_port="phy-br-eth1" actions=...`): the statistics
 * fields are accepted and ignored, as add-flow does, so a dump from a Neutron node replays.
 *
 * Stricter than OVS on purpose: a field whose prerequisite is missing (nw_src without ip/arp)
 * is an error instead of being silently dropped, and conflicting fields (`ip,arp`) are errors.
 * Every error names the field and the 1-based column.
 */
import { Match } from './match';
import * as F from './fields';
import { F_IN_PORT, F_IN_PORT_OXM, F_VLAN_VID, nxmField, nxmFieldNames, type NxmField } from './nxm';
import { learnMatchable, matchSubfield } from './learn';
import { actionSetKind, isModifyAction, isOutputAction, unsupportedAction, type Action, type CtNat, type LearnAction, type Subfield } from './actions';
import { OFPP_CONTROLLER, OFPP_FLOOD, OFPP_ALL, OFPP_IN_PORT, OFPP_LOCAL, OFPP_MAX, OFPP_NORMAL, OFPP_NONE, OFPP_TABLE } from './ofport';
import { K_IN_PORT, K_VLAN_TCI } from '../packet/flow-key';
import { N_TABLES, OFP_DEFAULT_PRIORITY, type FlowFlag } from './table';

export class FlowSyntaxError extends Error {
  /** 1-based column in the flow text (0 when not tied to a position). */
  readonly column: number;
  /** The field or action the error is about ('' when none). */
  readonly field: string;
  /** 1-based line, for multi-line input (addFlows). */
  readonly line: number | undefined;
  /** The message without the location prefix. */
  readonly reason: string;
  constructor(reason: string, column: number, field: string, line?: number) {
    const where = line === undefined ? `flow: column ${column}` : `line ${line}, column ${column}`;
    super(`${where}: ${reason}`);
    this.name = 'FlowSyntaxError';
    this.reason = reason;
    this.column = column;
    this.field = field;
    this.line = line;
  }
  /** The same error located on a line of a multi-line text. */
  atLine(line: number): FlowSyntaxError {
    return new FlowSyntaxError(this.reason, this.column, this.field, line);
  }
}

export interface FlowSpec {
  table: number | null;
  priority: number | null;
  cookie: bigint | null;
  /** Cookie mask for del/mod/dump filters (`cookie=V/M`); null = exact. */
  cookieMask: bigint | null;
  idleTimeout: number;
  hardTimeout: number;
  importance: number;
  flags: FlowFlag[];
  /** out_port filter for del-flows/dump-flows. */
  outPort: number | null;
  match: Match;
  /** null when the text had no actions (match-only filters). */
  actions: Action[] | null;
  /** 1-based column of each action in the text (parallel to `actions`). */
  actionColumns: number[];
  warnings: string[];
}

/** 'add' needs actions; 'modify' needs actions and accepts filter keys; 'match' refuses actions. */
export type ParseMode = 'add' | 'modify' | 'match';

export interface ParseOptions {
  resolvePort(name: string): number;
}

interface Token {
  key: string;
  value: string;
  hasValue: boolean;
  /** 1-based columns of the key and of the value. */
  keyCol: number;
  valCol: number;
}

/** Separator test by char code (a RegExp per character was a third of the parse time). */
function isSep(c: string): boolean {
  const x = c.charCodeAt(0);
  return x === 44 || x === 32 || x === 9 || x === 10 || x === 13 || x === 11 || x === 12;
}

/** Split `k=v`, `k:v`, `k(v)` and bare `k` items separated by commas/whitespace. */
function tokenize(s: string, base: number): Token[] {
  const out: Token[] = [];
  let i = 0;
  while (i < s.length) {
    while (i < s.length && isSep(s[i])) i++;
    if (i >= s.length) break;
    const ks = i;
    while (i < s.length && !isSep(s[i]) && s[i] !== '=' && s[i] !== ':' && s[i] !== '(') i++;
    const key = s.slice(ks, i);
    if (i < s.length && (s[i] === '=' || s[i] === ':')) {
      i++;
      const vs = i;
      let depth = 0;
      let quote = false;
      while (i < s.length) {
        const c = s[i];
        if (quote) {
          if (c === '\\') i++;
          else if (c === '"') quote = false;
        } else if (c === '"') quote = true;
        else if (c === '(') depth++;
        else if (c === ')') depth--;
        else if (depth <= 0 && isSep(c)) break;
        i++;
      }
      out.push({ key, value: s.slice(vs, i), hasValue: true, keyCol: base + ks + 1, valCol: base + vs + 1 });
    } else if (i < s.length && s[i] === '(') {
      i++;
      const vs = i;
      let depth = 1;
      while (i < s.length && depth > 0) {
        if (s[i] === '(') depth++;
        else if (s[i] === ')') depth--;
        if (depth > 0) i++;
      }
      if (depth !== 0) throw new FlowSyntaxError(`unbalanced parentheses after '${key}'`, base + ks + 1, key);
      out.push({ key, value: s.slice(vs, i), hasValue: true, keyCol: base + ks + 1, valCol: base + vs + 1 });
      i++;
    } else {
      out.push({ key, value: '', hasValue: false, keyCol: base + ks + 1, valCol: base + i + 1 });
    }
  }
  return out;
}

const IGNORED_STATS = new Set(['duration', 'n_packets', 'n_bytes', 'idle_age', 'hard_age']);
const FLAGS = new Set<FlowFlag>(['send_flow_rem', 'check_overlap', 'reset_counts', 'no_packet_counts', 'no_byte_counts']);
const FLOW_KEYS = ['table', 'priority', 'cookie', 'idle_timeout', 'hard_timeout', 'importance', 'out_port', 'actions', ...IGNORED_STATS, ...FLAGS];

function err(reason: string, tok: Token, atValue = true): FlowSyntaxError {
  return new FlowSyntaxError(reason, atValue && tok.hasValue ? tok.valCol : tok.keyCol, tok.key);
}

/** Run `fn`, turning a plain Error from value parsing into a located FlowSyntaxError. */
function located<T>(tok: Token, fn: () => T): T {
  try {
    return fn();
  } catch (e) {
    if (e instanceof FlowSyntaxError) throw e;
    throw err(`${tok.key}: ${(e as Error).message}`, tok);
  }
}

/** Parse one flow in ovs-ofctl syntax. Throws FlowSyntaxError. */
export function parseFlow(text: string, mode: ParseMode, opts: ParseOptions): FlowSpec {
  const am = /(^|[\s,])actions?=/i.exec(text);
  let matchText = text;
  let actText: string | null = null;
  let actBase = 0;
  if (am) {
    const at = am.index + am[1].length;
    matchText = text.slice(0, at);
    actBase = at + am[0].length - am[1].length;
    actText = text.slice(actBase);
    if (mode === 'match') throw new FlowSyntaxError('actions are not allowed here (a match only)', at + 1, 'actions');
  } else if (mode !== 'match') {
    throw new FlowSyntaxError("missing 'actions=' (use actions=drop to drop)", text.length + 1, 'actions');
  }

  const spec: FlowSpec = {
    table: null,
    priority: null,
    cookie: null,
    cookieMask: null,
    idleTimeout: 0,
    hardTimeout: 0,
    importance: 0,
    flags: [],
    outPort: null,
    match: new Match(),
    actions: null,
    actionColumns: [],
    warnings: [],
  };
  const applied: { tok: Token; field: F.MatchField }[] = [];

  for (const tok of tokenize(matchText, 0)) {
    const k = tok.key.toLowerCase();
    const need = (): string => {
      if (!tok.hasValue || tok.value === '') throw err(`${tok.key} needs a value`, tok, false);
      return tok.value;
    };
    switch (k) {
      case 'table':
        spec.table = located(tok, () => F.parseUint(need(), 8, 'table'));
        if (spec.table >= N_TABLES && mode !== 'match') throw err(`table ${spec.table} is out of range (0..${N_TABLES - 1})`, tok);
        if (spec.table === 255) spec.table = null; // 255 = all tables
        continue;
      case 'priority':
        spec.priority = located(tok, () => F.parseUint(need(), 16, 'priority'));
        continue;
      case 'cookie': {
        const v = need();
        const i = v.indexOf('/');
        if (i >= 0) {
          if (mode === 'add') throw err('cookie masks are only allowed in del-flows/mod-flows/dump-flows', tok);
          spec.cookie = located(tok, () => F.parseU64(v.slice(0, i), 'cookie'));
          // `-1` is all ones (Neutron's `cookie=X/-1` filters; OVS reads the mask with strtoull).
          const ms = v.slice(i + 1).trim();
          spec.cookieMask = ms === '-1' ? 0xffffffffffffffffn : located(tok, () => F.parseU64(ms, 'cookie mask'));
        } else spec.cookie = located(tok, () => F.parseU64(v, 'cookie'));
        continue;
      }
      case 'idle_timeout':
        spec.idleTimeout = located(tok, () => F.parseUint(need(), 16, 'idle_timeout'));
        continue;
      case 'hard_timeout':
        spec.hardTimeout = located(tok, () => F.parseUint(need(), 16, 'hard_timeout'));
        continue;
      case 'importance':
        spec.importance = located(tok, () => F.parseUint(need(), 16, 'importance'));
        continue;
      case 'out_port':
        spec.outPort = located(tok, () => parseOutPortFilter(need(), opts));
        continue;
    }
    if (IGNORED_STATS.has(k)) continue; // dump-flows statistics: ignored, as add-flow does
    if (FLAGS.has(k as FlowFlag)) {
      if (!spec.flags.includes(k as FlowFlag)) spec.flags.push(k as FlowFlag);
      continue;
    }
    const field = F.matchField(k);
    if (field === undefined) {
      const s = F.suggest(k, [...F.matchFieldNames(), ...FLOW_KEYS]);
      throw err(`unknown field '${tok.key}'${s ? ` (did you mean ${s}?)` : ''}`, tok, false);
    }
    if (!tok.hasValue && !isShorthand(field)) throw err(`${tok.key} needs a value`, tok, false);
    located(tok, () => field.apply(spec.match, tok.value, opts));
    applied.push({ tok, field });
  }
  // Prerequisites, now that the whole match is known (order of fields does not matter).
  for (const { tok, field } of applied) {
    if (!F.prereqOk(field.prereq, spec.match)) throw err(`${tok.key} ${F.prereqHint(field.prereq)}`, tok, false);
  }

  if (actText !== null) {
    spec.actions = parseActions(actText, actBase, spec, opts);
  }
  return spec;
}

function isShorthand(f: F.MatchField): boolean {
  return ['ip', 'arp', 'rarp', 'icmp', 'tcp', 'udp', 'sctp', 'ipv6', 'icmp6', 'tcp6', 'udp6'].includes(f.name);
}

function parseOutPortFilter(v: string, opts: ParseOptions): number {
  const r = reservedPort(v);
  if (r !== undefined) return r;
  return F.parsePort(v, opts, 'port for out_port');
}

/** OpenFlow reserved port names as ovs-ofctl prints/accepts them. */
const RESERVED: Record<string, number> = {
  IN_PORT: OFPP_IN_PORT,
  TABLE: OFPP_TABLE,
  NORMAL: OFPP_NORMAL,
  FLOOD: OFPP_FLOOD,
  ALL: OFPP_ALL,
  CONTROLLER: OFPP_CONTROLLER,
  LOCAL: OFPP_LOCAL,
  NONE: OFPP_NONE,
  ANY: OFPP_NONE,
};
function reservedPort(v: string): number | undefined {
  return RESERVED[v.trim().toUpperCase()];
}

/** Action for an output to `port` (reserved ports become their own actions, as OVS prints them). */
function outputTo(port: number, tok: Token): Action {
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
    case OFPP_LOCAL:
      return { type: 'output', port: OFPP_LOCAL };
    default:
      // Port 0 is accepted as OVS 3.1 does (see F.parsePort); it sends nothing.
      if (port >= OFPP_MAX) throw err(`port ${port} is not a valid output port`, tok);
      return { type: 'output', port };
  }
}

function parsePortArg(v: string, tok: Token, opts: ParseOptions, role: string): number {
  const r = reservedPort(v);
  if (r !== undefined) return r;
  return located(tok, () => F.parsePort(v, opts, role));
}

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
function parseActions(text: string, base: number, spec: FlowSpec, opts: ParseOptions, inner = false): Action[] {
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

/**
 * `learn(ARG,...)` (ovs-actions(7), OVS learn_parse): header keys (table, priority, idle_timeout,
 * hard_timeout, fin_idle_timeout, fin_hard_timeout, cookie, send_flow_rem, delete_learned), then
 * specs in order: `FIELD[range]` (match it to this packet's value), `FIELD[range]=SRC[range]`,
 * `FIELD=VALUE`, `load:SRC[range]->DST[range]`, `load:VALUE->DST[range]`, `output:SRC[range]`.
 * As OVS checks: sources need their prerequisites in this flow's match; a learned match field
 * needs its prerequisites among the immediate fields before it (`eth_type=0x800,NXM_OF_IP_DST[]`).
 */
function parseLearn(v: string, tok: Token, flowMatch: Match, opts: ParseOptions): LearnAction {
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

/** `conjunction(id,k/n)`: OVS's limits and messages (2 <= n <= 64, 1 <= k <= n, 32-bit id). */
function parseConjunction(v: string, tok: Token): Action {
  const m = /^\s*(0x[0-9a-f]+|[0-9]+)\s*,\s*([0-9]+)\s*\/\s*([0-9]+)\s*$/i.exec(v);
  if (!m) throw err(`"conjunction" syntax is "conjunction(id,k/n)"`, tok);
  const id = located(tok, () => F.parseUint(m[1], 32, 'conjunction id'));
  const clause = Number(m[2]);
  const nClauses = Number(m[3]);
  if (nClauses < 2) throw err('conjunction must have at least 2 clauses', tok);
  if (nClauses > 64) throw err('conjunction must have at most 64 clauses', tok);
  if (clause < 1) throw err('clause index must be positive', tok);
  if (clause > nClauses) throw err('clause index must be less than or equal to number of clauses', tok);
  return { type: 'conjunction', id, clause, nClauses };
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

function safeJson(s: string): string {
  try {
    return JSON.parse(s) as string;
  } catch {
    return s;
  }
}

function rangeUint(v: string, max: number, what: string): number {
  const n = F.parseUint(v, 16, what);
  if (n > max) throw new Error(`${what} ${n} is out of range (0..${max})`);
  return n;
}

function parseControllerArg(tok: Token): number {
  if (!tok.hasValue || tok.value === '') return 65535;
  const v = tok.value;
  if (/^(0x)?[0-9a-f]+$/i.test(v)) return located(tok, () => F.parseUint(v, 16, 'max_len'));
  let maxLen = 65535;
  for (const part of v.split(',')) {
    const [key, val] = part.split('=');
    if (key.trim() === 'max_len' && val !== undefined) maxLen = located(tok, () => F.parseUint(val, 16, 'max_len'));
    else if (key.trim() !== '') throw err(`controller: unsupported option '${key.trim()}' (only max_len)`, tok);
  }
  return maxLen;
}

function lookupNxm(name: string, tok: Token): NxmField {
  const f = nxmField(name);
  if (f === undefined) {
    const s = F.suggest(name.toLowerCase(), nxmFieldNames());
    throw err(`unknown field '${name}'${s ? ` (did you mean ${s.startsWith('nxm_') || s.startsWith('oxm_') ? s.toUpperCase() : s}?)` : ''}`, tok);
  }
  return f;
}

/** FIELD[], FIELD[N], FIELD[a..b] or bare FIELD (whole field). */
function parseSubfield(text: string, tok: Token): Subfield {
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

function checkFieldPrereq(f: NxmField, m: Match, tok: Token): void {
  if (!F.prereqOk(f.prereq, m)) throw err(`${tok.key}: ${f.name} ${F.prereqHint(f.prereq)} in the match`, tok);
}

/**
 * Writing OXM_OF_VLAN_VID changes the VID of a tag the frame must have: OVS refuses it unless
 * the match requires a tag ("set_field vlan_vid lacks correct prerequisites").
 */
function checkDstWritable(f: NxmField, m: Match, tok: Token): void {
  if (!f.writable) throw err(`${f.nxm} is read-only`, tok);
  if (f.id === F_VLAN_VID && !((m.mask[K_VLAN_TCI] & F.VLAN_CFI) !== 0 && (m.value[K_VLAN_TCI] & F.VLAN_CFI) !== 0)) {
    throw err(`${tok.key}: ${f.nxm} needs a VLAN tag in the match (add dl_vlan=...; use NXM_OF_VLAN_TCI[] to push or pop a tag)`, tok);
  }
}

/** OVS: conntrack fields are set only by ct(commit,exec(...)). */
function checkNotCt(f: NxmField, tok: Token, inCt: boolean): void {
  if (f.ctOnly && !inCt) throw err(`cannot set CT fields outside of ct action (${f.name}: use ct(commit,exec(set_field:V->${f.name})))`, tok);
}

function parseLoad(v: string, tok: Token, m: Match, inCt = false): Action {
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

function parseMove(v: string, tok: Token, m: Match): Action {
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

function parseSetField(v: string, tok: Token, m: Match, inCt = false): Action {
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

function parseResubmit(v: string, tok: Token, opts: ParseOptions): Action {
  // resubmit:PORT, or resubmit([PORT],[TABLE][,ct]) from the paren form (OVS parse_RESUBMIT).
  const parts = v.split(',');
  if (parts.length > 3) {
    throw new FlowSyntaxError(`resubmit takes (port,table[,ct]); extra argument '${parts.slice(3).join(',')}'`, argCol(tok, v, 3), 'resubmit');
  }
  const ps = parts[0].trim();
  const ts = parts.length > 1 ? parts[1].trim() : '';
  let ct = false;
  if (parts.length === 3) {
    const cs = parts[2].trim();
    if (cs === 'ct') ct = true;
    else if (cs !== '') throw new FlowSyntaxError(`resubmit: unknown argument '${cs}' (the third argument can only be ct)`, argCol(tok, v, 2), 'resubmit');
  }
  const port = ps === '' || ps.toUpperCase() === 'IN_PORT' ? -1 : parsePortArg(ps, tok, opts, 'port for resubmit');
  const table = ts === '' || ts === '*' ? 255 : located(tok, () => F.parseUint(ts, 8, 'table'));
  if (port === -1 && table === 255) throw err('resubmit needs a port or a table', tok);
  return { type: 'resubmit', port, table, ct };
}

/** dec_ttl, dec_ttl(ID,...) or dec_ttl:ID: controller ids (16 bits), comma or space separated. */
function parseDecTtl(tok: Token): Action {
  if (!tok.hasValue) return { type: 'dec_ttl', ids: null };
  const ids: number[] = [];
  let at = 0;
  for (const raw of tok.value.split(/[\s,]/)) {
    const col = tok.valCol + at;
    at += raw.length + 1;
    if (raw === '') continue;
    if (!/^(0x[0-9a-f]+|[0-9]+)$/i.test(raw)) {
      throw new FlowSyntaxError(`dec_ttl: '${raw}' is not a controller id (a number 0..65535)`, col, 'dec_ttl');
    }
    const n = Number(raw);
    if (n > 0xffff) throw new FlowSyntaxError(`dec_ttl: controller id ${raw} is out of range (0..65535)`, col, 'dec_ttl');
    ids.push(n);
  }
  // OVS prints `dec_ttl()` back as plain `dec_ttl`.
  return { type: 'dec_ttl', ids: ids.length === 0 ? null : ids };
}

/** 1-based column of the comma-separated argument `i` inside a token's value. */
function argCol(tok: Token, v: string, i: number): number {
  let off = 0;
  for (let k = 0; k < i; k++) off = v.indexOf(',', off) + 1;
  while (off < v.length && v[off] === ' ') off++;
  return tok.valCol + off;
}

/** Warnings for known traps; each names the action and its column. */
function lint(acts: Action[], cols: number[], spec: FlowSpec): string[] {
  const w: string[] = [];
  const mayOutput = (a: Action): boolean =>
    isOutputAction(a) || a.type === 'resubmit' || a.type === 'goto_table' || (a.type === 'ct' && a.table !== 255) || (a.type === 'write_actions' && a.actions.some(isOutputAction));
  let last = -1;
  acts.forEach((a, i) => {
    if (mayOutput(a)) last = i;
  });
  const conjunctive = acts.some((a) => a.type === 'conjunction');
  if (acts.length > 0 && last < 0 && !conjunctive) {
    w.push(`column ${cols[0]}: these actions never output the packet, so it is dropped (write actions=drop if that is intended)`);
  } else {
    for (let i = last + 1; i < acts.length; i++) {
      if (isModifyAction(acts[i])) {
        w.push(`column ${cols[i]}: '${acts[i].type}' comes after the last output and changes nothing that leaves (a modification applies only to outputs after it)`);
      }
    }
  }
  const m = spec.match;
  if (m.isFull(K_IN_PORT)) {
    const inPort = m.value[K_IN_PORT];
    acts.forEach((a, i) => {
      if (a.type === 'output' && a.port === inPort) {
        w.push(`column ${cols[i]}: output:${a.port} is the input port (in_port=${inPort}); OpenFlow silently skips it — use in_port to send a packet back`);
      }
    });
  }
  return w;
}

/**
 * Refuse a flow whose actions parse (and print back) but that this engine cannot execute, with
 * the action's column. Called before installing (add-flow, mod-flows), not by parse-only users.
 */
export function checkExecutable(spec: FlowSpec): void {
  const acts = spec.actions ?? [];
  for (let i = 0; i < acts.length; i++) {
    const why = unsupportedAction(acts[i]);
    if (why !== null) throw new FlowSyntaxError(why, spec.actionColumns[i] ?? 0, acts[i].type);
  }
}

/** The default priority when a flow does not give one. */
export function effectivePriority(spec: FlowSpec): number {
  return spec.priority ?? OFP_DEFAULT_PRIORITY;
}

/** Split at commas outside parentheses, with each part's offset in `v`. */
function splitTop(v: string): { text: string; at: number }[] {
  const out: { text: string; at: number }[] = [];
  let depth = 0;
  let start = 0;
  for (let i = 0; i <= v.length; i++) {
    const c = v[i];
    if (c === '(') depth++;
    else if (c === ')') depth--;
    if (i === v.length || (c === ',' && depth === 0)) {
      const raw = v.slice(start, i);
      const lead = raw.length - raw.trimStart().length;
      if (raw.trim() !== '') out.push({ text: raw.trim(), at: start + lead });
      start = i + 1;
    }
  }
  return out;
}

/**
 * `ct(commit,force,table=T,zone=N|zone=FIELD[a..b],nat[(...)],exec(...))` as OVS parses it
 * (ofp-actions.c parse_CT): the match must be IP or IPv6; exec() only writes ct_mark/ct_label
 * and needs commit; nat(src|dst=...) needs commit; a zone subfield is 16 bits wide.
 */
function parseCt(tok: Token, m: Match): Action {
  const a: Extract<Action, { type: 'ct' }> = { type: 'ct', commit: false, force: false, table: 255, zone: 0, zoneSrc: null, nat: null, exec: [] };
  const v = tok.hasValue ? tok.value : '';
  const at = (off: number): number => tok.valCol + off;
  const fail = (msg: string, off: number): FlowSyntaxError => new FlowSyntaxError(`ct: ${msg}`, at(off), 'ct');
  for (const { text, at: off } of splitTop(v)) {
    const eq = text.indexOf('=');
    const paren = text.indexOf('(');
    const isKv = eq >= 0 && (paren < 0 || eq < paren);
    const name = (isKv ? text.slice(0, eq) : paren >= 0 ? text.slice(0, paren) : text).trim().toLowerCase();
    const arg = isKv ? text.slice(eq + 1).trim() : null;
    switch (name) {
      case 'commit':
        a.commit = true;
        break;
      case 'force':
        a.force = true;
        break;
      case 'table': {
        if (arg === null || !/^(0x[0-9a-f]+|[0-9]+)$/i.test(arg)) throw fail(`table needs a number (table=T), got '${text}'`, off);
        const t = arg.toLowerCase().startsWith('0x') ? parseInt(arg.slice(2), 16) : Number(arg);
        if (!(t < N_TABLES)) throw fail(`invalid table ${arg} (0..${N_TABLES - 1})`, off);
        a.table = t;
        break;
      }
      case 'zone': {
        if (arg === null || arg === '') throw fail('zone needs a value (zone=N or zone=NXM_NX_REGn[a..b])', off);
        if (/^(0x[0-9a-f]+|[0-9]+)$/i.test(arg)) {
          const z = arg.toLowerCase().startsWith('0x') ? parseInt(arg.slice(2), 16) : Number(arg);
          if (!(z <= 0xffff)) throw fail(`zone ${arg} is out of range (0..65535)`, off);
          a.zone = z;
          a.zoneSrc = null;
        } else {
          const sf = parseSubfield(arg, { ...tok, valCol: at(off + 5) });
          if (sf.nbits !== 16) throw fail(`zone=${arg}: a zone subfield must be 16 bits wide, not ${sf.nbits} (e.g. NXM_NX_REG6[0..15])`, off);
          if (sf.field.bits > 64) throw fail(`zone=${arg}: cannot read the zone from ${sf.field.nxm}`, off);
          a.zoneSrc = sf;
          a.zone = 0;
        }
        break;
      }
      case 'nat': {
        if (isKv) throw fail(`invalid argument '${text}'`, off);
        const inner = paren >= 0 ? (text.endsWith(')') ? text.slice(paren + 1, -1) : null) : '';
        if (inner === null) throw fail(`unbalanced parentheses in '${text}'`, off);
        a.nat = parseNat(inner, (msg) => fail(msg, off));
        break;
      }
      case 'exec': {
        if (paren < 0 || isKv || !text.endsWith(')')) throw fail('exec takes a parenthesised action list: exec(set_field:V->ct_mark)', off);
        const inner = text.slice(paren + 1, -1);
        for (const t2 of tokenize(inner, at(off + paren + 1) - 1)) {
          const k = t2.key.toLowerCase();
          let x: Action;
          if (k === 'set_field' && t2.hasValue) x = parseSetField(t2.value, t2, m, true);
          else if (k === 'load' && t2.hasValue) x = parseLoad(t2.value, t2, m, true);
          else if (k === 'nat') {
            // OVS also accepts nat inside exec(); it means the same.
            a.nat = parseNat(t2.hasValue ? t2.value : '', (msg) => err(`ct: ${msg}`, t2));
            continue;
          } else throw err(`ct action doesn't support nested action ${t2.key}`, t2, false);
          const f = x.type === 'set_field' ? (x.field === 'vlan_vid' ? null : x.field) : x.type === 'load' ? x.dst.field : null;
          if (f === null || !f.ctOnly) throw err(`ct action doesn't support nested modification of ${f === null ? 'vlan_vid' : f.name}`, t2);
          a.exec.push(x);
        }
        break;
      }
      case 'alg':
        throw fail('alg= (FTP/TFTP helpers) is not supported', off);
      default:
        throw fail(`invalid argument '${text}'`, off);
    }
  }
  const t = m.dlType;
  if (t !== F.ETH_TYPE_IP && t !== F.ETH_TYPE_IPV6) {
    throw err("ct requires ip or ipv6 in the match (add 'ip,'), as OVS does (OFPBAC_MATCH_INCONSISTENT)", tok, false);
  }
  if (a.exec.length > 0 && !a.commit) throw err('ct: exec() needs commit (a connection is only written when committed)', tok, false);
  if (a.nat !== null && a.nat.kind !== null && !a.commit) throw err('ct: nat(src=...|dst=...) needs commit (the translation is set up when the connection is committed)', tok, false);
  return a;
}

/** The inside of `nat(...)` ('' for bare `nat`): src|dst[=A[-B][:P[-Q]]], persistent, hash, random. */
function parseNat(args: string, fail: (msg: string) => Error): CtNat {
  const n: CtNat = { kind: null, addrMin: 0, addrMax: 0, portMin: 0, portMax: 0, flags: [] };
  if (args.trim() === '') return n;
  for (const part of args.split(',').map((x) => x.trim())) {
    if (part === 'persistent' || part === 'hash' || part === 'random') {
      if (!n.flags.includes(part)) n.flags.push(part);
      continue;
    }
    const mm = /^(src|dst)(?:=(.*))?$/.exec(part);
    if (!mm) throw fail(`invalid nat argument '${part}' (src=..., dst=..., persistent, hash, random)`);
    if (n.kind !== null) throw fail('nat takes one of src or dst');
    n.kind = mm[1] as 'src' | 'dst';
    const range = mm[2];
    if (range === undefined || range === '') continue;
    if (range.startsWith('[')) throw fail(`IPv6 nat ranges are not supported ('${range}')`);
    const r = /^(\d+\.\d+\.\d+\.\d+)(?:-(\d+\.\d+\.\d+\.\d+))?(?::(\d+)(?:-(\d+))?)?$/.exec(range);
    if (!r) throw fail(`invalid nat range "${range}" (A[-B][:P[-Q]])`);
    try {
      n.addrMin = F.parseIpText(r[1]);
      n.addrMax = r[2] !== undefined ? F.parseIpText(r[2]) : 0;
    } catch (e) {
      throw fail((e as Error).message);
    }
    if (n.addrMax !== 0 && n.addrMax < n.addrMin) throw fail(`invalid nat range "${range}"`);
    if (r[3] !== undefined) {
      n.portMin = Number(r[3]);
      n.portMax = r[4] !== undefined ? Number(r[4]) : 0;
      if (n.portMin < 1 || n.portMin > 65535 || n.portMax > 65535 || (n.portMax !== 0 && n.portMax < n.portMin)) throw fail(`invalid nat range "${range}"`);
    }
  }
  return n;
}
