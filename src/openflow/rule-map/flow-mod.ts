/** FLOW_MOD → what to do with the flow tables; a rule → its FLOW stats entry. */
import type { FlowSpec } from '../../flow/ofctl-parse';
import type { FlowFlag, Rule } from '../../flow/table';
import { OfError } from '../../wire/openflow/buffer';
import {
  ET,
  FC,
  FF,
  FLOW_MOD_FAILED,
  OFPG_ANY,
  OFPP13_ANY,
  OFPTT_ALL,
  port32to16,
} from '../../wire/openflow/constants';
import type { FlowMod } from '../../wire/openflow/messages';
import type { Oxm } from '../../wire/openflow/oxm';
import { matchFromOxm } from './match-from-oxm';
import { matchToOxm } from './match-to-oxm';
import { actionsFromInstructions, instructionsFromActions } from './instructions';

const FLAG_BITS: [number, FlowFlag][] = [
  [FF.SEND_FLOW_REM, 'send_flow_rem'],
  [FF.CHECK_OVERLAP, 'check_overlap'],
  [FF.RESET_COUNTS, 'reset_counts'],
  [FF.NO_PKT_COUNTS, 'no_packet_counts'],
  [FF.NO_BYT_COUNTS, 'no_byte_counts'],
];

export function flagsFromBits(bits: number): FlowFlag[] {
  if (bits & ~0x1f) throw new OfError(ET.FLOW_MOD_FAILED, FLOW_MOD_FAILED.BAD_FLAGS, `flow_mod flags 0x${bits.toString(16)} has unknown bits`);
  if (bits === 0) return [];
  return FLAG_BITS.filter(([b]) => bits & b).map(([, f]) => f);
}
export function flagsToBits(flags: readonly FlowFlag[]): number {
  let v = 0;
  for (const [b, f] of FLAG_BITS) if (flags.includes(f)) v |= b;
  return v;
}

export interface FlowModPlan {
  command: 'add' | 'modify' | 'delete';
  strict: boolean;
  spec: FlowSpec;
}

/** FLOW_MOD → what to do with the flow tables, as the FlowSpec `tvs add-flow` would make. */
export function flowModToSpec(fm: FlowMod): FlowModPlan {
  let command: FlowModPlan['command'];
  let strict = false;
  switch (fm.command) {
    case FC.ADD:
      command = 'add';
      break;
    case FC.MODIFY:
    case FC.MODIFY_STRICT:
      command = 'modify';
      strict = fm.command === FC.MODIFY_STRICT;
      break;
    case FC.DELETE:
    case FC.DELETE_STRICT:
      command = 'delete';
      strict = fm.command === FC.DELETE_STRICT;
      break;
    default:
      throw new OfError(ET.FLOW_MOD_FAILED, FLOW_MOD_FAILED.BAD_COMMAND, `flow_mod command ${fm.command} is unknown`);
  }
  if (command === 'add' && fm.tableId >= OFPTT_ALL) throw new OfError(ET.FLOW_MOD_FAILED, FLOW_MOD_FAILED.BAD_TABLE_ID, `flow_mod add to table ${fm.tableId}`);
  const match = matchFromOxm(fm.match);
  const table = fm.tableId === OFPTT_ALL ? null : fm.tableId;
  const actions = command === 'delete' ? null : actionsFromInstructions(fm.instructions, { match, table: table ?? 0 });
  const filterCookie = command !== 'add' && fm.cookieMask !== 0n;
  const outPort = command === 'delete' && fm.outPort !== OFPP13_ANY ? port32to16(fm.outPort) : null;
  const spec: FlowSpec = {
    table: command === 'add' ? fm.tableId : table,
    priority: fm.priority,
    cookie: command === 'add' ? fm.cookie : filterCookie ? fm.cookie : null,
    cookieMask: filterCookie ? fm.cookieMask : null,
    idleTimeout: fm.idleTimeout,
    hardTimeout: fm.hardTimeout,
    importance: 0,
    flags: flagsFromBits(fm.flags),
    outPort: outPort === -1 ? 0xffff : outPort,
    match,
    actions,
    actionColumns: [],
    warnings: [],
  };
  // out_group: tvs has no groups, so no flow outputs to one: select nothing (no rule outputs to
  // OFPP_NONE).
  if (command === 'delete' && fm.outGroup !== OFPG_ANY) spec.outPort = 0xffff;
  return { command, strict, spec };
}

/** A rule's match as OXM; an error names the flow whose match OpenFlow cannot carry. */
function ruleMatch(rule: Rule): Oxm[] {
  try {
    return matchToOxm(rule.match);
  } catch (e) {
    if (!(e instanceof OfError)) throw e;
    throw new OfError(e.type, e.code, `flow in table ${rule.table}, priority ${rule.priority}, cookie 0x${rule.cookie.toString(16)}: ${e.message}`);
  }
}

/**
 * A rule with counters → FLOW stats entry fields. Throws OfError BAD_MATCH/BAD_FIELD for a
 * rule whose match has no OXM/NXM encoding: the reply fails as a whole rather than leave the
 * flow out or show it with a wider match.
 */
export function ruleToFlowStats(rule: Rule, nPackets: number, nBytes: number, durationMs: number) {
  // Whole milliseconds, as OVS (ofproto.c calc_duration): ovs-ofctl prints "duration=1.374s",
  // not the clock's sub-millisecond digits.
  const ms = Math.floor(durationMs);
  return {
    tableId: rule.table,
    durationSec: Math.floor(ms / 1000),
    durationNsec: (ms % 1000) * 1_000_000,
    priority: rule.priority,
    idleTimeout: rule.idleTimeout,
    hardTimeout: rule.hardTimeout,
    flags: flagsToBits(rule.flags),
    cookie: rule.cookie,
    packetCount: BigInt(nPackets),
    byteCount: BigInt(nBytes),
    match: ruleMatch(rule),
    instructions: instructionsFromActions(rule.actions, rule.match),
  };
}
