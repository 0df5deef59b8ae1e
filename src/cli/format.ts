/** Human-readable output of the CLI verbs, modelled on ovs-vsctl show / ovs-ofctl dump-ports / fdb/show. */
import type { ShowBridge, DumpPort } from '../datapath/views';
import { OFPP_LOCAL } from '../flow/ofport';

/** An OpenFlow port number as ovs-ofctl prints it: the bridge's own port (65534) is LOCAL. */
function ofportText(ofport: number): string {
  return ofport === OFPP_LOCAL ? 'LOCAL' : String(ofport);
}

export function formatShow(bridges: ShowBridge[]): string {
  const out: string[] = [];
  for (const b of bridges) {
    out.push(`    Bridge ${b.name}`);
    if (b.datapathId) out.push(`        datapath_id: ${b.datapathId}`);
    const oc = Object.entries(b.otherConfig ?? {});
    if (oc.length > 0) out.push(`        other_config: {${oc.map(([k, v]) => `${k}="${v}"`).join(', ')}}`);
    for (const c of b.controllers ?? []) out.push(`        Controller "${c}"`);
    if (b.failMode && b.failMode !== 'standalone') out.push(`        fail_mode: ${b.failMode}`);
    for (const p of b.ports) {
      out.push(`        Port ${p.name}`);
      const bits = [`ofport: ${ofportText(p.ofport)}`, `type: ${p.type}`];
      if (p.tag !== undefined) bits.push(`tag: ${p.tag}`);
      if (p.trunks) bits.push(`trunks: [${p.trunks.replace(/,/g, ', ')}]`);
      if (p.peer) bits.push(`peer: ${p.peer}`);
      bits.push(p.up ? 'up' : 'DOWN');
      out.push(`            ${bits.join(', ')}`);
      // Tunnel ports: their options as ovs-vsctl show prints them (sorted, quoted).
      const io = p.io as Record<string, unknown> | undefined;
      if ((p.type === 'vxlan' || p.type === 'gre') && io && io.remote_ip !== undefined) {
        const opts: Record<string, unknown> = { remote_ip: io.remote_ip, key: io.key };
        if (io.local_ip !== '0.0.0.0') opts.local_ip = io.local_ip;
        if (io.dst_port !== undefined && io.dst_port !== 4789) opts.dst_port = io.dst_port;
        const kv = Object.keys(opts).sort().map((k) => `${k}="${String(opts[k])}"`);
        out.push(`            options: {${kv.join(', ')}}`);
      }
    }
  }
  return out.join('\n');
}

export function formatDumpPorts(bridge: string, r: { ports: DumpPort[]; drops: Record<string, number>; legend?: Record<string, string> }): string {
  const out = [`${bridge}: ${r.ports.length} ports`];
  for (const p of r.ports) {
    const drops = Object.entries(p.drops);
    const dropTotal = drops.reduce((s, [, v]) => s + v, 0);
    out.push(`  port ${ofportText(p.ofport).padStart(2)} "${p.name}"${p.up ? '' : ' (DOWN)'}: rx pkts=${p.rx_packets}, bytes=${p.rx_bytes}`);
    out.push(`           tx pkts=${p.tx_packets}, bytes=${p.tx_bytes}, drop=${dropTotal}${drops.length ? ' (' + drops.map(([k, v]) => `${k}=${v}`).join(', ') + ')' : ''}`);
    const frames = p.ring_frames !== undefined ? ` (${p.ring_frames} frames × ${p.ring_frame_size} B)` : '';
    if (p.ring_bytes !== undefined) out.push(`           ring=${(p.ring_bytes / 1048576).toFixed(1)} MiB${frames}${p.tx_ring_bytes !== undefined ? `, tx_ring=${(p.tx_ring_bytes / 1048576).toFixed(1)} MiB` : ''}`);
    if (p.held !== undefined) out.push(`           held=${p.held}/${p.held_limit} (frames waiting for ARP), refused=${p.hold_refused}`);
  }
  const bd = Object.entries(r.drops);
  out.push(`  bridge drops: ${bd.length ? bd.map(([k, v]) => `${k}=${v}`).join(', ') : 'none'}`);
  // A legend for every drop reason shown above, in words (the daemon sends the stages' texts).
  const legend = Object.entries(r.legend ?? {});
  if (legend.length > 0) {
    out.push('  drop reasons:');
    const w = Math.max(...legend.map(([k]) => k.length));
    for (const [k, text] of legend) out.push(`    ${k.padEnd(w)}  ${text}`);
  }
  return out.join('\n');
}

/** As ovs-appctl fdb/show (age in whole seconds, as OVS prints it), plus the port's name. */
export function formatFdb(rows: { port: number; portName?: string; vlan: number; mac: string; age: number }[]): string {
  const out = [' port  VLAN  MAC                Age  Name'];
  for (const r of rows) out.push(`${ofportText(r.port).padStart(5)}  ${String(r.vlan).padStart(4)}  ${r.mac}  ${String(r.age).padStart(4)}  ${r.portName ?? ''}`.trimEnd());
  return out.join('\n');
}

/** Milliseconds as seconds for people: one decimal under 10 s, whole seconds above, never negative. */
export function seconds(ms: number): string {
  const s = Math.max(0, ms) / 1000;
  return s < 10 ? `${s.toFixed(1)}s` : `${Math.round(s)}s`;
}

/** Rows as columns padded to their widest cell (the first row is the header). */
export function table(rows: string[][], indent = ''): string {
  const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length)));
  return rows.map((r) => indent + r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]))).join('  ').trimEnd()).join('\n');
}

/** What `router-show` returns (the daemon's JSON). */
export interface RouterView {
  name: string;
  snat: boolean;
  interfaces: { name: string; mac: string; cidr: string; mtu: number; gateway: boolean }[];
  routes: { cidr: string; kind: string; iface: string | null; via: string | null }[];
  arp: { ip: string; mac: string; iface: string; expiresInMs: number }[];
  pendingArp: { ip: string; iface: string; queued: number; probes: number }[];
  floatingIps: { fip: string; fixed: string }[];
  sessions: number;
  natLimits?: { maxSessions: number; maxSessionsPerSource: number; allocated: number };
  held?: { used: number; limit: number; refused: number };
  drops: Record<string, number>;
  stats: Record<string, number>;
}

export function formatRouter(r: RouterView): string {
  const lim = r.natLimits ? ` (limit ${r.natLimits.maxSessions}, ${r.natLimits.maxSessionsPerSource} per source)` : '';
  const out = [`Router ${r.name}: SNAT ${r.snat ? 'on' : 'off'}, ${r.sessions} NAT session${r.sessions === 1 ? '' : 's'}${lim}`];
  if (r.held) out.push(`Frames waiting for ARP: ${r.held.used} of ${r.held.limit} (refused ${r.held.refused})`);
  out.push('', 'Interfaces:');
  out.push(table([['NAME', 'MAC', 'ADDRESS', 'MTU', 'ROLE'], ...r.interfaces.map((i) => [i.name, i.mac, i.cidr, String(i.mtu), i.gateway ? 'gateway' : 'tenant'])], '  '));
  out.push('', 'Routes:');
  out.push(table([['DESTINATION', 'KIND', 'VIA', 'DEV'], ...r.routes.map((x) => [x.cidr, x.kind, x.via ?? 'on-link', x.iface ?? '-'])], '  '));
  out.push('', 'Floating IPs:');
  out.push(r.floatingIps.length ? table([['FLOATING', 'FIXED'], ...r.floatingIps.map((f) => [f.fip, f.fixed])], '  ') : '  (none)');
  out.push('', 'ARP cache:');
  out.push(r.arp.length ? table([['IP', 'MAC', 'DEV', 'EXPIRES'], ...r.arp.map((a) => [a.ip, a.mac, a.iface, 'in ' + seconds(a.expiresInMs)])], '  ') : '  (empty)');
  if (r.pendingArp.length) {
    out.push('', 'Waiting for ARP:');
    out.push(table([['IP', 'DEV', 'QUEUED', 'PROBES'], ...r.pendingArp.map((p) => [p.ip, p.iface, String(p.queued), String(p.probes)])], '  '));
  }
  const drops = Object.entries(r.drops).filter(([, v]) => v > 0);
  out.push('', `Drops: ${drops.length ? drops.map(([k, v]) => `${k}=${v}`).join(', ') : 'none'}`);
  out.push(`Counters: ${Object.entries(r.stats).map(([k, v]) => `${k}=${v}`).join(', ')}`);
  return out.join('\n');
}

/** What `nat-show` returns, one object per session. */
export interface NatView {
  id: number;
  proto: string;
  state: string;
  kind: string;
  orig: { src: string; dst: string; sport: number; dport: number };
  reply: { src: string; dst: string; sport: number; dport: number };
  packets: { orig: number; reply: number };
  ageMs: number;
  expiresInMs: number;
}

export function formatNat(rows: NatView[]): string {
  if (rows.length === 0) return '(no sessions)';
  const t = (x: NatView['orig'], proto: string) => (proto === 'icmp' ? `${x.src} > ${x.dst} id ${x.sport}` : `${x.src}:${x.sport} > ${x.dst}:${x.dport}`);
  return table([
    ['PROTO', 'STATE', 'KIND', 'ORIGINAL (as sent)', 'REPLY (as received)', 'PACKETS', 'AGE', 'EXPIRES'],
    ...rows.map((s) => [
      s.proto,
      s.state,
      s.kind,
      t(s.orig, s.proto),
      t(s.reply, s.proto),
      `${s.packets.orig}/${s.packets.reply}`,
      seconds(s.ageMs),
      'in ' + seconds(s.expiresInMs),
    ]),
  ]);
}

/** What `control-stats` returns: the daemon's own state (src/cli/daemon.ts). */
export interface ControlStatsView {
  connections: number;
  accepted: number;
  [counter: string]: unknown;
  limits: Record<string, number>;
  helper_threads: { nice: number; sched: string; saturated?: boolean; switches?: number; saturatedNice?: number; lowered: number; idle: number; failed: number; threads: number; error?: string };
  datapath_slice: { requested_us: number; slice_us: number; applied: boolean; error?: string; saturated?: boolean; saturations?: number };
  /** Absent without the native addon. */
  wake_ahead?: { wakeAheadUs: number; caught: number; missed: number; periodUs: number; leadUs: number; polledMs: number; held: number; preempted: number };
}

/**
 * `tvs control-stats`: one section per part of the daemon, the counters under the names --json
 * gives them (so a figure read here can be found in a script's output).
 */
export function formatControlStats(r: ControlStatsView): string {
  const kv = (o: Record<string, unknown>) => Object.entries(o).map(([k, v]) => `${k}=${String(v)}`).join(' ');
  const counters: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(r)) if (typeof v === 'number') counters[k] = v;
  // `connections`: open now, this request's own included.
  const out = ['Control socket:', `  ${kv(counters)}`, `  limits: ${kv(r.limits)}`];

  const h = r.helper_threads;
  const satNice = h.saturatedNice !== undefined && h.saturatedNice !== h.nice ? ` at nice ${h.saturatedNice}` : '';
  const policy = h.sched === 'auto' ? `auto (now ${h.saturated ? `normal${satNice}: the datapath is saturated` : 'SCHED_IDLE: calm'})` : h.sched;
  out.push(`Helper threads: ${h.nice === 0 ? 'left as they are (nice 0)' : `nice ${h.nice}`}, policy ${policy}`);
  const hc: Record<string, unknown> = { threads: h.threads, lowered: h.lowered, idle: h.idle, failed: h.failed };
  if (h.switches !== undefined) hc.switches = h.switches;
  out.push(`  ${kv(hc)}${h.error ? `; last error: ${h.error}` : ''}`);

  const s = r.datapath_slice;
  const state = s.requested_us === 0 ? "the kernel's default (none asked)" : s.applied ? `${s.slice_us} µs (asked ${s.requested_us} µs)` : `not applied (asked ${s.requested_us} µs${s.error ? `: ${s.error}` : ''})`;
  const sat = s.saturations !== undefined ? `; ${s.saturated ? 'saturated now (default slice meanwhile)' : 'calm'}, saturations=${s.saturations}` : '';
  out.push(`Datapath thread slice: ${state}${sat}`);

  const w = r.wake_ahead;
  if (w === undefined) out.push('Wake-ahead: unknown (no native addon)');
  else {
    out.push(`Wake-ahead: ${w.wakeAheadUs === 0 ? 'off' : `${w.wakeAheadUs} µs`}; period ${w.periodUs > 0 ? `${w.periodUs} µs` : 'none seen yet'}, lead ${w.leadUs} µs`);
    out.push(`  caught=${w.caught} missed=${w.missed} held=${w.held} preempted=${w.preempted} polledMs=${w.polledMs}`);
  }
  return out.join('\n');
}
