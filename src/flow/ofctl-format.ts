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
import type { FlowEntry, Rule } from './table';
import { formatActions } from './ofctl/format-actions';
import { formatMatch } from './ofctl/format-match';
import type { PortNamer } from './ofctl/format-values';

export { formatAction, formatActions, formatLearn } from './ofctl/format-actions';
export { formatCtState, formatMatch } from './ofctl/format-match';
export { formatIp, formatMac, formatPort, formatPortName, type PortNamer } from './ofctl/format-values';

/** OVS ofp_print_duration with millisecond resolution: "12.345s", "3s", "0.5s". */
export function formatDuration(ms: number): string {
  const sec = Math.floor(ms / 1000);
  const frac = Math.floor(ms % 1000);
  return frac === 0 ? `${sec}s` : `${sec}.${String(frac).padStart(3, '0').replace(/0+$/, '')}s`;
}

/** A rule as `ovs-ofctl add-flow` text (no statistics). */
export function formatRule(r: Rule, names?: PortNamer): string {
  const head: string[] = [];
  if (r.cookie !== 0n) head.push(`cookie=0x${r.cookie.toString(16)}`);
  head.push(`table=${r.table}`);
  if (r.idleTimeout) head.push(`idle_timeout=${r.idleTimeout}`);
  if (r.hardTimeout) head.push(`hard_timeout=${r.hardTimeout}`);
  head.push(...r.flags);
  if (r.importance) head.push(`importance=${r.importance}`);
  const m = formatMatch(r.match, r.priority, names);
  if (m) head.push(m);
  return `${head.join(',')} actions=${formatActions(r.actions, names)}`;
}

export interface DumpOptions {
  names?: PortNamer;
  /** Print idle_age (NXST-style dumps, OVS 2.x); OVS 3.x OpenFlow dumps omit it. */
  idleAge?: boolean;
}

/** One line of `ovs-ofctl dump-flows` (OVS ofputil_flow_stats_format). */
export function formatFlowEntry(e: FlowEntry, opts: DumpOptions = {}): string {
  const r = e.rule;
  let s = ` cookie=0x${r.cookie.toString(16)}, duration=${formatDuration(e.durationMs)}, table=${r.table}, `;
  s += `n_packets=${e.nPackets}, n_bytes=${e.nBytes}, `;
  if (r.idleTimeout) s += `idle_timeout=${r.idleTimeout}, `;
  if (r.hardTimeout) s += `hard_timeout=${r.hardTimeout}, `;
  for (const f of r.flags) s += `${f} `;
  if (r.importance) s += `importance=${r.importance}, `;
  if (opts.idleAge) s += `idle_age=${Math.floor(e.idleMs / 1000)}, `;
  s += formatMatch(r.match, r.priority, opts.names);
  if (!s.endsWith(' ')) s += ' ';
  return s + `actions=${formatActions(r.actions, opts.names)}`;
}
