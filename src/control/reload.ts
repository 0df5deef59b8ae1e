/**
 * `tvs reload` / SIGHUP: bring the running switch to a config file's state while disturbing
 * only what changed — unchanged ports keep running, unchanged flows keep their counters,
 * unchanged routers keep their NAT sessions.
 *
 * A bad config changes nothing: the file is validated, every flow is parsed against the new
 * port names, and the changes that can fail (new bridges and ports, replaced ports, new flows,
 * routers) run first with an undo list; removals run last. Changes that would need a restart
 * (a different MAC table size, different router interfaces) are refused with the reason.
 */
import { Switch } from '../datapath/switch';
import { PortConfig } from '../datapath/switch-port';
import { FlowPipeline, DEFAULT_MAX_FLOWS } from '../flow/pipeline';
import { formatRule } from '../flow/ofctl-format';
import { SwitchConfig, PortSpec } from './config';
import { VlanSet } from '../l2/vlan-set';

export interface ReloadReport {
  added: string[];
  removed: string[];
  replaced: string[];
  unchanged: number;
}

/** The comparable part of a port's config (ofport only if the file pins it). */
function samePort(cur: PortConfig, want: PortSpec): boolean {
  const norm = (c: Partial<PortConfig>) =>
    JSON.stringify({
      type: c.type,
      tag: c.tag,
      trunks: VlanSet.from(c.trunks)?.toString(),
      peer: c.peer,
      offloads: c.offloads,
      ring: c.ring,
      persist: c.persist,
      mtu: c.mtu,
    });
  if (want.ofport !== undefined && want.ofport !== cur.ofport) return false;
  return norm(cur) === norm(want);
}

export function reloadConfig(sw: Switch, cfg: SwitchConfig): ReloadReport {
  const report: ReloadReport = { added: [], removed: [], replaced: [], unchanged: 0 };
  const undo: (() => void)[] = [];
  const wantBridges = new Map(cfg.bridges.map((b) => [b.name, b]));
  const wantPorts = new Map<string, { bridge: string; spec: PortSpec }>();
  for (const b of cfg.bridges) for (const p of b.ports) wantPorts.set(p.name, { bridge: b.name, spec: p });

  // ---- 0. checks that need no change: restart-only settings, and every flow parses.
  cfg.bridges.forEach((b, i) => {
    const br = sw.bridges.get(b.name);
    if (br && b.macTableSize !== undefined && b.macTableSize !== br.macs.maxEntries) {
      throw new Error(`bridges[${i}].macTableSize: changing the MAC table size of a running bridge needs a restart`);
    }
    if (!b.flows || b.flows.length === 0) return;
    // Names resolve to the ofport the port has or will have (pinned, current, or a placeholder).
    const ofportOf = (name: string): number => {
      const w = b.ports.findIndex((p) => p.name === name);
      if (w < 0) return -1;
      const pinned = b.ports[w].ofport;
      if (pinned !== undefined) return pinned;
      const cur = br?.port(name);
      return cur ? cur.ofport : 0xfe00 - w;
    };
    const scratch = new FlowPipeline({ arena: sw.arena, resolvePort: ofportOf, portName: () => undefined, maxFlows: b.maxFlows });
    try {
      scratch.addFlows(b.flows.join('\n'));
    } catch (e) {
      throw new Error(`bridges[${i}].flows: ${(e as Error).message}`);
    }
  });
  (cfg.routers ?? []).forEach((r, i) => {
    if (!sw.l3.routerNames().includes(r.name)) return;
    const cur = JSON.stringify(sw.l3.routerSpecs(r.name).map((s) => [s.bridge, s.port, s.mac.toLowerCase(), s.cidr, s.tag, !!s.gateway, s.mtu]));
    const want = JSON.stringify(r.ports.map((p) => [p.bridge, p.name, p.mac.toLowerCase(), p.ip, p.tag, !!p.gateway, p.mtu]));
    if (cur !== want) throw new Error(`routers[${i}].ports: changing the interfaces of running router '${r.name}' needs del-router + add-router (or a restart)`);
  });

  try {
    // ---- 1. new bridges, new and changed ports.
    for (const b of cfg.bridges) {
      const br = sw.bridges.get(b.name);
      if (!br) {
        sw.addBridge(b.name, { macAgingMs: (b.macAgingSec ?? cfg.macAgingSec ?? 300) * 1000, macMaxEntries: b.macTableSize, maxFlows: b.maxFlows });
        undo.push(() => sw.delBridge(b.name));
        report.added.push(`bridge ${b.name}`);
      } else {
        const aging = (b.macAgingSec ?? cfg.macAgingSec ?? br.macs.agingMs / 1000) * 1000;
        if (aging !== br.macs.agingMs) {
          const old = br.macs.agingMs;
          br.macs.agingMs = aging;
          undo.push(() => (br.macs.agingMs = old));
        }
        const fl = sw.flows(b.name);
        if ((b.maxFlows ?? DEFAULT_MAX_FLOWS) !== fl.maxFlows) {
          const old = fl.maxFlows;
          fl.maxFlows = b.maxFlows ?? DEFAULT_MAX_FLOWS;
          undo.push(() => (fl.maxFlows = old));
        }
      }
    }
    for (const [name, { bridge, spec }] of wantPorts) {
      const cur = sw.findPort(name);
      const { name: _n, ...pc } = spec;
      void _n;
      if (cur && cur.bridge.name === bridge && samePort(cur.config, spec)) {
        report.unchanged++;
        continue;
      }
      if (cur) {
        const oldBridge = cur.bridge.name;
        const oldConfig = { ...cur.config };
        sw.delPort(oldBridge, name);
        try {
          sw.addPort(bridge, name, pc);
        } catch (e) {
          sw.addPort(oldBridge, name, oldConfig);
          throw new Error(`port ${name}: ${(e as Error).message}`);
        }
        undo.push(() => {
          sw.delPort(bridge, name);
          sw.addPort(oldBridge, name, oldConfig);
        });
        report.replaced.push(`port ${name}`);
      } else {
        try {
          sw.addPort(bridge, name, pc);
        } catch (e) {
          throw new Error(`bridge ${bridge}, port ${name}: ${(e as Error).message}`);
        }
        undo.push(() => sw.delPort(bridge, name));
        report.added.push(`port ${name}`);
      }
    }

    // ---- 2. routers and DHCP (new ones, and the diffs of existing ones).
    for (const r of cfg.routers ?? []) {
      const exists = sw.l3.routerNames().includes(r.name);
      if (!exists) {
        const router = sw.l3.addRouter(r.name);
        undo.push(() => sw.l3.delRouter(r.name));
        if (r.snat !== undefined) router.setSnat(r.snat);
        if (r.maxSessions !== undefined || r.maxSessionsPerSource !== undefined) router.setNatLimits(r.maxSessions, r.maxSessionsPerSource);
        for (const p of r.ports) sw.l3.routerAddPort(r.name, { bridge: p.bridge, port: p.name, mac: p.mac, cidr: p.ip, tag: p.tag, gateway: p.gateway, mtu: p.mtu });
        for (const rt of r.routes) router.addRoute(rt.cidr, rt.via);
        for (const f of r.floatingIps) router.addFloatingIp(f.fip, f.fixed);
        report.added.push(`router ${r.name}`);
        continue;
      }
      const router = sw.l3.router(r.name);
      const show = router.show();
      if (r.snat !== undefined && r.snat !== show.snat) router.setSnat(r.snat);
      // Absent limits mean the defaults (as save-config writes them).
      const old = show.natLimits;
      router.setNatLimits(r.maxSessions, r.maxSessionsPerSource);
      undo.push(() => router.setNatLimits(old.maxSessions, old.maxSessionsPerSource));
      const curRoutes = show.routes.filter((x) => x.via !== null && x.kind === 'forward').map((x) => `${x.cidr} ${x.via}`);
      const wantRoutes = r.routes.map((x) => `${x.cidr} ${x.via}`);
      for (const x of r.routes) if (!curRoutes.includes(`${x.cidr} ${x.via}`)) router.addRoute(x.cidr, x.via);
      for (const x of show.routes) if (x.via !== null && x.kind === 'forward' && !wantRoutes.includes(`${x.cidr} ${x.via}`)) router.delRoute(x.cidr);
      const curFips = show.floatingIps.map((x) => `${x.fip} ${x.fixed}`);
      const wantFips = r.floatingIps.map((x) => `${x.fip} ${x.fixed}`);
      for (const x of show.floatingIps) if (!wantFips.includes(`${x.fip} ${x.fixed}`)) router.delFloatingIp(x.fip);
      for (const x of r.floatingIps) if (!curFips.includes(`${x.fip} ${x.fixed}`)) router.addFloatingIp(x.fip, x.fixed);
    }
    for (const d of cfg.dhcp ?? []) {
      let server = sw.l3.dhcpServer(d.bridge, d.tag);
      if (!server) {
        sw.l3.addDhcp({ bridge: d.bridge, tag: d.tag, subnet: d.subnet, gateway: d.gateway, dns: d.dns, server: d.server, leaseSec: d.leaseSec, mtu: d.mtu });
        undo.push(() => sw.l3.delDhcp(d.bridge, d.tag));
        server = sw.l3.dhcpServer(d.bridge, d.tag)!;
        report.added.push(`dhcp ${d.bridge} tag=${d.tag ?? 0}`);
      }
      const want = new Set(d.hosts.map((h) => `${h.mac.toLowerCase()} ${h.ip}`));
      for (const h of server.bindings()) if (!want.has(`${h.mac} ${h.ip}`)) server.delHost(h.mac);
      for (const h of d.hosts) server.addHost(h.mac, h.ip);
    }

    // ---- 3. flows: keep identical rules (and their counters), delete the others, add new ones.
    for (const b of cfg.bridges) {
      const f = sw.flows(b.name);
      const br = sw.bridge(b.name);
      const scratch = new FlowPipeline({ arena: sw.arena, resolvePort: (n) => br.ofportByName(n), portName: (o) => br.portName(o), maxFlows: b.maxFlows });
      scratch.addFlows((b.flows ?? []).join('\n'));
      // Compared in numeric form (port numbers), reported with port names.
      const named = (r: Parameters<typeof formatRule>[0]) => formatRule(r, (o) => br.portName(o));
      const want = new Map(scratch.select().map((r) => [formatRule(r), named(r)]));
      const have = new Set<string>();
      for (const r of f.select()) {
        const text = formatRule(r);
        if (want.has(text)) {
          have.add(text);
          report.unchanged++;
        } else {
          f.deleteRule(r);
          report.removed.push(`flow on ${b.name}: ${named(r)}`);
        }
      }
      for (const [text, shown] of want) {
        if (have.has(text)) continue;
        f.addFlow(text);
        report.added.push(`flow on ${b.name}: ${shown}`);
      }
    }
  } catch (e) {
    for (const u of undo.reverse()) {
      try {
        u();
      } catch {
        /* best effort */
      }
    }
    throw e;
  }

  // ---- 4. removals (cannot fail in a way that leaves a half state).
  for (const r of sw.l3.routerNames()) {
    if (!(cfg.routers ?? []).some((x) => x.name === r)) {
      sw.l3.delRouter(r);
      report.removed.push(`router ${r}`);
    }
  }
  for (const d of sw.l3.dhcpSpecs()) {
    if (!(cfg.dhcp ?? []).some((x) => x.bridge === d.bridge && (x.tag ?? 0) === (d.tag ?? 0))) {
      sw.l3.delDhcp(d.bridge, d.tag);
      report.removed.push(`dhcp ${d.bridge} tag=${d.tag ?? 0}`);
    }
  }
  for (const p of sw.allPorts()) {
    if (p.type === 'internal') continue;
    if (!wantPorts.has(p.name)) {
      sw.delPort(p.bridge.name, p.name);
      report.removed.push(`port ${p.name}`);
    }
  }
  for (const name of [...sw.bridges.keys()]) {
    if (!wantBridges.has(name)) {
      sw.delBridge(name);
      report.removed.push(`bridge ${name}`);
    }
  }
  return report;
}
