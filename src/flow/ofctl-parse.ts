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
 *
 * This file reads the flow's own keys and its match; ofctl/ holds the rest: tokens (items and
 * located errors), action-list (actions=...) and the actions with a syntax of their own (ct,
 * learn, field-writes, action-args, ports, subfields), lint (warnings).
 */
import { Match } from './match';
import * as F from './fields';
import { unsupportedAction } from './actions';
import { N_TABLES, type FlowFlag } from './table';
import { parseActions } from './ofctl/action-list';
import type { FlowSpec, ParseMode, ParseOptions } from './ofctl/flow-spec';
import { parseOutPortFilter } from './ofctl/ports';
import { err, FlowSyntaxError, located, tokenize, type Token } from './ofctl/tokens';

export { FlowSyntaxError } from './ofctl/tokens';
export { effectivePriority, type FlowSpec, type ParseMode, type ParseOptions } from './ofctl/flow-spec';

const IGNORED_STATS = new Set(['duration', 'n_packets', 'n_bytes', 'idle_age', 'hard_age']);
const FLAGS = new Set<FlowFlag>(['send_flow_rem', 'check_overlap', 'reset_counts', 'no_packet_counts', 'no_byte_counts']);
const FLOW_KEYS = ['table', 'priority', 'cookie', 'idle_timeout', 'hard_timeout', 'importance', 'out_port', 'actions', ...IGNORED_STATS, ...FLAGS];

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
      const refused = F.refusedField(k);
      if (refused !== undefined) throw err(refused, tok, false);
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
