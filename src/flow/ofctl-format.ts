/**
 * Rules → ovs-ofctl text, following OVS 3.1's `match_format` / `ofpacts_format` /
 * `ofputil_flow_stats_format` so that dumps look like a real `ovs-ofctl dump-flows` and read
 * back through ofctl-parse unchanged:
 *
 *   " cookie=0x0, duration=12.345s, table=0, n_packets=3, n_bytes=180, idle_timeout=10,
 *     priority=4,in_port="phy-br-eth1",dl_vlan=1 actions=mod_vlan_vid:101,NORMAL"
 *
 * Details kept from OVS: priority is omitted when it is the default 32768; the dl_type/nw_proto
 * pair prints as a shorthand (ip, tcp, arp, ...); vlan_tci prints as dl_vlan/dl_vlan_pcp when
 * the mask allows; registers and metadata print with C's "%#x" (so zero is "0", not "0x0");
 * port names print quoted unless they are a letter followed by letters and digits
 * (`namemap_put_name`).
 *
 * This file prints whole flows (dump-flows lines, add-flow text); ofctl/format-match,
 * ofctl/format-actions and ofctl/format-values print their parts.
 */
import type { FlowEntry, FlowFlag, Rule } from './table';
import { formatActions } from './ofctl/format-actions';
import { formatMatch } from './ofctl/format-match';
import type { PortNamer } from './ofctl/format-values';

export { formatAction, formatActions, formatLearn } from './ofctl/format-actions';
export { formatCtState, formatMatch } from './ofctl/format-match';
export { formatIp, formatMac, formatPort, formatPortName, type PortNamer } from './ofctl/format-values';

/**
 * OVS ofp_print_duration with millisecond resolution: "12.345s", "3s", "0.500s" (whole seconds
 * without decimals, otherwise always 3: "printing 3 decimals every time makes it easier to
 * spot real changes in flow dumps").
 */
export function formatDuration(ms: number): string {
  const sec = Math.floor(ms / 1000);
  const frac = Math.floor(ms % 1000);
  return frac === 0 ? `${sec}s` : `${sec}.${String(frac).padStart(3, '0')}s`;
}

/** OVS ofputil_flow_mod_flags_format's order, whatever order the flow text gave them in. */
const FLAG_ORDER: readonly FlowFlag[] = ['send_flow_rem', 'check_overlap', 'reset_counts', 'no_packet_counts', 'no_byte_counts'];

/**
 * A rule's flags in OVS's order. reset_counts only when asked: OVS stores it on every
 * OpenFlow 1.0/1.1 add (ofputil_decode_flow_mod_flags: "add" always resets counters there),
 * and shows it in OpenFlow 1.2+ flow stats only; its OpenFlow 1.0 views — the NXST_FLOW dump,
 * a flow_mod printed for 1.0/1.1 ("printing one is likely to confuse people") — leave it out.
 */
export function formatFlags(flags: readonly FlowFlag[], resetCounts = false): FlowFlag[] {
  return FLAG_ORDER.filter((f) => flags.includes(f) && (resetCounts || f !== 'reset_counts'));
}

/** A rule as `ovs-ofctl add-flow` text (no statistics; an OpenFlow 1.0 add, so no reset_counts). */
export function formatRule(r: Rule, names?: PortNamer): string {
  const head: string[] = [];
  if (r.cookie !== 0n) head.push(`cookie=0x${r.cookie.toString(16)}`);
  head.push(`table=${r.table}`);
  if (r.idleTimeout) head.push(`idle_timeout=${r.idleTimeout}`);
  if (r.hardTimeout) head.push(`hard_timeout=${r.hardTimeout}`);
  head.push(...formatFlags(r.flags));
  if (r.importance) head.push(`importance=${r.importance}`);
  const m = formatMatch(r.match, r.priority, names);
  if (m) head.push(m);
  return `${head.join(',')} actions=${formatActions(r.actions, names)}`;
}

export interface DumpOptions {
  names?: PortNamer;
  /**
   * Print idle_age and hard_age, as `ovs-ofctl dump-flows` does over its default OpenFlow 1.0
   * (NXST_FLOW replies carry both; OpenFlow 1.3 FLOW stats carry neither): see flowAges.
   */
  ages?: boolean;
  /** Print reset_counts, as an OpenFlow 1.2+ dump does (see formatFlags). */
  resetCounts?: boolean;
}

/**
 * The most an age can print as: ofproto's age_secs() caps at UINT16_MAX and NXST_FLOW sends
 * age + 1 (0 = unknown) in 16 bits, so what ovs-ofctl decodes tops out at 65534.
 */
export const MAX_PRINTED_AGE = 65534;

/**
 * OVS 3.1 `idle_age=N, [hard_age=N, ]` (ofputil_flow_stats_format over an NXST_FLOW reply,
 * ofproto.c handle_flow_stats_request): whole seconds since the last use and since the last
 * add/modify/re-learn, each capped at 65534; hard_age only when it differs from the duration's
 * whole seconds — after a modify or a learn refresh, or once a flow is older than 65534 s.
 */
export function flowAges(e: Pick<FlowEntry, 'durationMs' | 'idleMs' | 'hardMs'>): string {
  const age = (ms: number) => Math.min(Math.floor(Math.max(0, ms) / 1000), MAX_PRINTED_AGE);
  const hard = age(e.hardMs);
  let s = `idle_age=${age(e.idleMs)}, `;
  if (hard !== Math.floor(e.durationMs / 1000)) s += `hard_age=${hard}, `;
  return s;
}

/** One line of `ovs-ofctl dump-flows` (OVS ofputil_flow_stats_format). */
export function formatFlowEntry(e: FlowEntry, opts: DumpOptions = {}): string {
  const r = e.rule;
  let s = ` cookie=0x${r.cookie.toString(16)}, duration=${formatDuration(e.durationMs)}, table=${r.table}, `;
  s += `n_packets=${e.nPackets}, n_bytes=${e.nBytes}, `;
  if (r.idleTimeout) s += `idle_timeout=${r.idleTimeout}, `;
  if (r.hardTimeout) s += `hard_timeout=${r.hardTimeout}, `;
  for (const f of formatFlags(r.flags, opts.resetCounts)) s += `${f} `;
  if (r.importance) s += `importance=${r.importance}, `;
  if (opts.ages) s += flowAges(e);
  s += formatMatch(r.match, r.priority, opts.names);
  if (!s.endsWith(' ')) s += ' ';
  return s + `actions=${formatActions(r.actions, opts.names)}`;
}
