/**
 * Prometheus text exposition (opt-in: `tvs start --metrics 127.0.0.1:PORT`): per-port counters,
 * drops by reason (ports, bridges, parse), per-flow counters, flow-cache hit rate, NAT sessions.
 * Rendered on scrape from the live counters; nothing is kept between scrapes.
 */
import * as http from 'http';
import { Switch } from '../datapath/switch';
import type { ControlCounters } from './server';

function esc(v: string): string {
  return v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
}
function labels(l: Record<string, string | number>): string {
  return '{' + Object.entries(l).map(([k, v]) => `${k}="${esc(String(v))}"`).join(',') + '}';
}

/** The daemon's helper threads (V8's and libuv's) and the priority they were lowered to. */
export interface HelperThreadCounters {
  nice: number;
  lowered: number;
  /** Helper threads put in SCHED_IDLE (absent: never asked for). */
  idle?: number;
  failed: number;
  threads: number;
}

export function renderMetrics(sw: Switch, control?: () => ControlCounters, helpers?: () => HelperThreadCounters): string {
  const out: string[] = [];
  const family = (name: string, type: 'counter' | 'gauge', help: string) => out.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`);
  const rows: Record<string, string[]> = {};
  const add = (name: string, l: Record<string, string | number>, v: number) => (rows[name] ??= []).push(`${name}${labels(l)} ${v}`);

  for (const b of sw.show()) {
    for (const p of sw.dumpPorts(b.name)) {
      const l = { bridge: b.name, port: p.name, ofport: p.ofport };
      add('tvs_port_rx_packets_total', l, p.rx_packets);
      add('tvs_port_rx_bytes_total', l, p.rx_bytes);
      add('tvs_port_tx_packets_total', l, p.tx_packets);
      add('tvs_port_tx_bytes_total', l, p.tx_bytes);
      add('tvs_port_up', l, p.up ? 1 : 0);
      if (p.held !== undefined) {
        add('tvs_port_held_frames', l, p.held);
        add('tvs_port_held_frames_max', l, p.held_limit ?? 0);
        add('tvs_port_hold_refused_total', l, p.hold_refused ?? 0);
      }
      if (p.ring_bytes !== undefined) add('tvs_port_ring_bytes', l, p.ring_bytes);
      if (p.ring_frames !== undefined) add('tvs_port_ring_frames', l, p.ring_frames);
      if (p.tx_ring_bytes !== undefined) add('tvs_port_tx_ring_bytes', l, p.tx_ring_bytes);
      for (const [reason, n] of Object.entries(p.drops)) add('tvs_port_drops_total', { ...l, reason }, n);
    }
    for (const [reason, n] of Object.entries(sw.bridgeDrops(b.name))) add('tvs_bridge_drops_total', { bridge: b.name, reason }, n);
    const f = sw.flows(b.name);
    for (const e of f.dumpFlows()) {
      const l = { bridge: b.name, table: e.rule.table, priority: e.rule.priority, cookie: '0x' + e.rule.cookie.toString(16) };
      add('tvs_flow_packets_total', l, e.nPackets);
      add('tvs_flow_bytes_total', l, e.nBytes);
    }
    const emc = f.emcStats;
    add('tvs_flow_cache_hits_total', { bridge: b.name }, emc.hits);
    add('tvs_flow_cache_misses_total', { bridge: b.name }, emc.misses);
    const macs = sw.bridge(b.name).macs;
    add('tvs_mac_table_entries', { bridge: b.name }, macs.sizeAt(sw.clock()));
    add('tvs_mac_table_max', { bridge: b.name }, macs.maxEntries);
    add('tvs_mac_table_full_total', { bridge: b.name }, macs.fullHits);
    add('tvs_flows', { bridge: b.name }, f.ruleCount);
    add('tvs_flows_max', { bridge: b.name }, f.maxFlows);
    add('tvs_flow_table_full_total', { bridge: b.name }, f.refusedFull);
    const ct = f.conntrack;
    add('tvs_conntrack_connections', { bridge: b.name }, ct.table.count);
    add('tvs_conntrack_connections_max', { bridge: b.name }, ct.table.max);
    add('tvs_conntrack_full_total', { bridge: b.name }, ct.full);
    add('tvs_conntrack_nat_exhausted_total', { bridge: b.name }, ct.natExhausted);
    add('tvs_conntrack_committed_total', { bridge: b.name }, ct.committed);
    for (const [reason, n] of Object.entries(ct.invalid.toJSON())) add('tvs_conntrack_invalid_total', { bridge: b.name, reason }, n);
    // learn(): flows installed, refreshed by traffic, refused for lack of room (also in table_full).
    for (const [result, n] of Object.entries(f.learnStats)) add('tvs_flow_learn_total', { bridge: b.name, result }, n);
  }
  for (const r of sw.l3.routerNames()) {
    const show = sw.l3.router(r).show();
    add('tvs_nat_sessions', { router: r }, show.sessions);
    add('tvs_nat_sessions_max', { router: r }, show.natLimits.maxSessions);
    add('tvs_nat_sessions_per_source_max', { router: r }, show.natLimits.maxSessionsPerSource);
    for (const [reason, n] of Object.entries(show.drops)) add('tvs_router_drops_total', { router: r, reason }, n as number);
  }
  add('tvs_arena_free_slots', { class: 'small' }, sw.arena.availableSmall);
  add('tvs_arena_free_slots', { class: 'large' }, sw.arena.availableLarge);
  add('tvs_arena_slots', { class: 'small' }, sw.arena.smallSlots);
  add('tvs_arena_slots', { class: 'large' }, sw.arena.largeSlots);
  add('tvs_arena_held_slots', {}, sw.arena.holds.used);
  add('tvs_arena_held_slots_max', {}, sw.arena.holds.limit);
  add('tvs_arena_hold_refused_total', {}, sw.arena.holds.refused);
  if (control) {
    const c = control();
    add('tvs_control_connections', {}, c.connections);
    add('tvs_control_refused_connections_total', {}, c.refused_connections);
    add('tvs_control_slow_clients_total', {}, c.slow_clients);
    for (const reason of ['oversized', 'too_deep', 'bad'] as const) add('tvs_control_refused_requests_total', { reason }, c[`${reason}_requests`]);
  }
  if (helpers) {
    const h = helpers();
    add('tvs_helper_threads', {}, h.threads);
    add('tvs_helper_threads_nice', {}, h.nice);
    add('tvs_helper_threads_lowered_total', {}, h.lowered);
    add('tvs_helper_threads_sched_idle_total', {}, h.idle ?? 0);
    add('tvs_helper_threads_failed_total', {}, h.failed);
  }

  const help: Record<string, [('counter' | 'gauge'), string]> = {
    tvs_port_rx_packets_total: ['counter', 'Frames received on a port.'],
    tvs_port_rx_bytes_total: ['counter', 'Bytes received on a port.'],
    tvs_port_tx_packets_total: ['counter', 'Frames sent on a port.'],
    tvs_port_tx_bytes_total: ['counter', 'Bytes sent on a port.'],
    tvs_port_up: ['gauge', '1 when the port is up.'],
    tvs_port_ring_bytes: ['gauge', 'Mapped rx ring memory of an AF_PACKET port.'],
    tvs_port_ring_frames: ['gauge', 'Frames in the rx ring of an AF_PACKET port (ring=v2; n_rxq_desc).'],
    tvs_port_tx_ring_bytes: ['gauge', 'Mapped TX ring memory of an AF_PACKET port (tx_ring=on).'],
    tvs_port_drops_total: ['counter', 'Frames a port dropped, by reason.'],
    tvs_bridge_drops_total: ['counter', 'Frames a bridge dropped (parse and forwarding stages), by reason.'],
    tvs_flow_packets_total: ['counter', 'Packets matched by a flow.'],
    tvs_flow_bytes_total: ['counter', 'Bytes matched by a flow.'],
    tvs_flow_cache_hits_total: ['counter', 'Exact-match cache hits.'],
    tvs_flow_cache_misses_total: ['counter', 'Exact-match cache misses.'],
    tvs_mac_table_entries: ['gauge', 'Learned MAC addresses (not aged).'],
    tvs_mac_table_max: ['gauge', 'MAC table size limit (macTableSize).'],
    tvs_mac_table_full_total: ['counter', 'New stations that met a full MAC table (an older entry was evicted, or the station not learnt).'],
    tvs_flows: ['gauge', 'Flows installed in a bridge.'],
    tvs_flows_max: ['gauge', 'Flow limit of a bridge (maxFlows).'],
    tvs_flow_table_full_total: ['counter', 'Flow adds refused because the bridge was at maxFlows.'],
    tvs_conntrack_connections: ['gauge', 'Connections in the conntrack table of a bridge (ct() actions).'],
    tvs_conntrack_connections_max: ['gauge', 'Conntrack table limit of a bridge.'],
    tvs_conntrack_full_total: ['counter', 'ct(commit) refused by a full conntrack table (the packet is dropped, flow drop reason ct_table_full).'],
    tvs_conntrack_nat_exhausted_total: ['counter', 'ct(commit,nat(...)) found no free address/port (the packet is dropped, flow drop reason ct_nat_exhausted).'],
    tvs_conntrack_committed_total: ['counter', 'Connections committed by ct(commit).'],
    tvs_conntrack_invalid_total: ['counter', 'Packets conntrack marked +inv, by reason (the flows decide what happens to them).'],
    tvs_nat_sessions: ['gauge', 'Live NAT sessions of a router.'],
    tvs_nat_sessions_max: ['gauge', 'NAT session limit of a router (maxSessions); refusals count as tvs_router_drops_total{reason="nat_table_full"}.'],
    tvs_nat_sessions_per_source_max: ['gauge', 'NAT sessions one source address may hold (maxSessionsPerSource); refusals: reason="nat_source_limit".'],
    tvs_router_drops_total: ['counter', 'Frames a router dropped, by reason.'],
    tvs_arena_free_slots: ['gauge', 'Free packet buffers, by class (small: ordinary frames; large: GSO/jumbo).'],
    tvs_arena_slots: ['gauge', 'Packet buffers, by class.'],
    tvs_arena_held_slots: ['gauge', 'Buffers held beyond a batch (frames waiting for ARP), all holders.'],
    tvs_arena_held_slots_max: ['gauge', 'Limit of held buffers (a quarter of the arena; a quarter more is always kept free for ingress).'],
    tvs_arena_hold_refused_total: ['counter', 'Holds refused by the arena-wide limit or its free-slot reserve.'],
    tvs_port_held_frames: ['gauge', 'Frames held on behalf of a port (a router interface: its tenant\'s frames waiting for ARP).'],
    tvs_port_held_frames_max: ['gauge', 'Limit of frames held on behalf of a port.'],
    tvs_port_hold_refused_total: ['counter', 'Frames not held (dropped, counted by the router as arp_hold_limit) because a limit was reached.'],
    tvs_control_connections: ['gauge', 'Open control-socket connections.'],
    tvs_control_refused_connections_total: ['counter', 'Control connections refused at the connection limit.'],
    tvs_control_slow_clients_total: ['counter', 'Control clients disconnected for not reading their replies.'],
    tvs_control_refused_requests_total: ['counter', 'Control requests refused before running, by reason (oversized, too_deep nesting, bad JSON).'],
    tvs_helper_threads: ['gauge', 'Threads of the switch process besides the datapath (main) thread: V8 compiler/GC workers, libuv pool.'],
    tvs_helper_threads_nice: ['gauge', 'Nice value helper threads are lowered to (tvs start --helper-nice; 0 = left alone).'],
    tvs_helper_threads_lowered_total: ['counter', 'Helper threads lowered to that nice value.'],
    tvs_helper_threads_sched_idle_total: ['counter', 'Helper threads also put in SCHED_IDLE (tvs start --helper-sched idle, the default).'],
    tvs_helper_threads_failed_total: ['counter', 'Helper threads that could not be lowered (the log says why).'],
  };
  for (const [name, [type, text]] of Object.entries(help)) {
    if (!rows[name]) continue;
    family(name, type, text);
    out.push(...rows[name]);
  }
  return out.join('\n') + '\n';
}

/** Serve /metrics on HOST:PORT (loopback by default: metrics are not for the world). */
export async function serveMetrics(sw: Switch, hostPort: string, control?: () => ControlCounters, helpers?: () => HelperThreadCounters): Promise<http.Server> {
  const m = /^(?:([^:]+):)?(\d{1,5})$/.exec(hostPort);
  if (!m || Number(m[2]) > 65535) throw new Error(`--metrics ${hostPort}: expected HOST:PORT, e.g. 127.0.0.1:9475`);
  const host = m[1] ?? '127.0.0.1';
  const server = http.createServer((req, res) => {
    if (req.url !== '/metrics') {
      res.writeHead(404).end('try /metrics\n');
      return;
    }
    try {
      const body = renderMetrics(sw, control, helpers);
      res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4' }).end(body);
    } catch (e) {
      res.writeHead(500).end(`${(e as Error).message}\n`);
    }
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(Number(m[2]), host, () => resolve());
  });
  return server;
}
