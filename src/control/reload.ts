/**
 * `tvs reload` / SIGHUP: bring the running switch to a config file's state while disturbing
 * only what changed — unchanged ports keep running, unchanged flows keep their counters,
 * unchanged routers keep their NAT sessions.
 *
 * A bad config changes nothing: the file is validated completely (validate.ts: every flow
 * against the new port names, every address and cross-reference), then what the running switch
 * cannot take (a different MAC table size, different router interfaces, a name moving between a
 * router and a bridge) is refused with its path. Only then is anything applied: each change
 * (bridges, ports, routes, floating IPs, DHCP networks and bindings, flows) pushes its undo, and
 * a failure part-way runs them back; removals run last. A DHCP network whose subnet, gateway,
 * DNS, server, lease or MTU changed is rebuilt with its bindings. Controllers, fail mode and
 * other-config:datapath-id are set in place (a new datapath id makes controllers reconnect).
 */
import { Switch } from '../datapath/switch';
import { PortConfig } from '../datapath/switch-port';
import { DEFAULT_FLOW, FlowPipeline, DEFAULT_MAX_FLOWS } from '../flow/pipeline';
import { formatRule } from '../flow/ofctl-format';
import { SwitchConfig, PortSpec } from './config';
import { VlanSet } from '../l2/vlan-set';
import { ConfigError, Problem, dhcpPortName } from './validate';
import type { DhcpSpec } from '../datapath/l3-attach';
import { formatDatapathId } from '../datapath/datapath-id';
import { parseOtherConfig } from './bridge-other-config';


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
      txRing: c.txRing,
      nRxqDesc: c.nRxqDesc,
      persist: c.persist,
      mtu: c.mtu,
      tunnel: c.tunnel,
    });
  if (want.ofport !== undefined && want.ofport !== cur.ofport) return false;
  return norm(cur) === norm(want);
}

/** The DHCP settings a reload compares (everything but the bindings). */
function dhcpSettings(d: DhcpSpec): string {
  return JSON.stringify([d.subnet, d.gateway, d.dns ?? [], d.server ?? null, d.leaseSec ?? null, d.mtu ?? null]);
}

/**
 * What a file may not change on a running switch, as problems with their paths: checked with
 * the rest before anything is applied.
 */
function restartOnly(sw: Switch, cfg: SwitchConfig): Problem[] {
  const problems: Problem[] = [];
  cfg.bridges.forEach((b, i) => {
    const br = sw.bridges.get(b.name);
    if (br && b.macTableSize !== undefined && b.macTableSize !== br.macs.maxEntries) {
      problems.push({ path: `bridges[${i}].macTableSize`, message: 'changing the MAC table size of a running bridge needs a restart' });
    }
    b.ports.forEach((p, j) => {
      const cur = sw.findPort(p.name);
      if (cur && cur.type === 'internal') {
        problems.push({ path: `bridges[${i}].ports[${j}].name`, message: `'${p.name}' is a router or DHCP port of the running switch: remove that in one reload, add this port in the next` });
      }
    });
  });
  const running = new Set(sw.l3.routerNames());
  (cfg.routers ?? []).forEach((r, i) => {
    if (!running.has(r.name)) {
      // Its interfaces are added before what this reload removes is removed.
      r.ports.forEach((p, j) => {
        if (sw.findPort(p.name)) problems.push({ path: `routers[${i}].ports[${j}].name`, message: `a port named '${p.name}' is running: remove it in one reload, add this interface in the next` });
      });
      return;
    }
    const cur = JSON.stringify(sw.l3.routerSpecs(r.name).map((s) => [s.bridge, s.port, s.mac.toLowerCase(), s.cidr, s.tag, !!s.gateway, s.mtu]));
    const want = JSON.stringify(r.ports.map((p) => [p.bridge, p.name, p.mac.toLowerCase(), p.ip, p.tag, !!p.gateway, p.mtu]));
    if (cur !== want) problems.push({ path: `routers[${i}].ports`, message: `changing the interfaces of running router '${r.name}' needs del-router + add-router (or a restart)` });
  });
  (cfg.dhcp ?? []).forEach((d, i) => {
    if (sw.l3.dhcpServer(d.bridge, d.tag)) return;
    const port = dhcpPortName(d.bridge, d.tag);
    if (sw.findPort(port)) problems.push({ path: `dhcp[${i}]`, message: `its port name '${port}' is taken by a running port: remove that in one reload, add this network in the next` });
  });
  return problems;
}

/** Run one step of applying; what fails is reported at `path` in the file. */
function at<T>(path: string, fn: () => T): T {
  try {
    return fn();
  } catch (e) {
    if (e instanceof ConfigError) throw e;
    throw new ConfigError([{ path, message: (e as Error).message }]);
  }
}

export function reloadConfig(sw: Switch, cfg: SwitchConfig): ReloadReport {
  const report: ReloadReport = { added: [], removed: [], replaced: [], unchanged: 0 };
  const undo: (() => void)[] = [];
  const wantBridges = new Map(cfg.bridges.map((b) => [b.name, b]));
  const wantPorts = new Map<string, { bridge: string; spec: PortSpec; path: string }>();
  // A validated config has every element of the file, in order: indices are the file's.
  cfg.bridges.forEach((b, i) => b.ports.forEach((p, j) => wantPorts.set(p.name, { bridge: b.name, spec: p, path: `bridges[${i}].ports[${j}]` })));

  // ---- 0. checks that need no change (the file itself was validated by loadConfig).
  const problems = restartOnly(sw, cfg);
  if (problems.length) throw new ConfigError(problems);

  try {
    // ---- 1. new bridges, new and changed ports.
    for (const [i, b] of cfg.bridges.entries()) {
      const br = sw.bridges.get(b.name);
      if (!br) {
        at(`bridges[${i}]`, () => sw.addBridge(b.name, { macAgingMs: (b.macAgingSec ?? cfg.macAgingSec ?? 300) * 1000, macMaxEntries: b.macTableSize, maxFlows: b.maxFlows, localPort: b.localPort }));
        undo.push(() => sw.delBridge(b.name));
        report.added.push(`bridge ${b.name}`);
      } else {
        // A LOCAL port the file adds is made here; one it drops goes with the removals (step 4).
        if (b.localPort === true && !br.local) {
          at(`bridges[${i}].localPort`, () => sw.addLocalPort(b.name));
          undo.push(() => sw.delLocalPort(b.name));
          report.added.push(`LOCAL port of ${b.name}`);
        }
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
    for (const [name, { bridge, spec, path }] of wantPorts) {
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
          throw new ConfigError([{ path, message: `port '${name}': ${(e as Error).message}` }]);
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
          throw new ConfigError([{ path, message: `port '${name}': ${(e as Error).message}` }]);
        }
        undo.push(() => sw.delPort(bridge, name));
        report.added.push(`port ${name}`);
      }
    }

    // ---- 2. routers and DHCP (new ones, and the diffs of existing ones), each step undoable.
    for (const [i, r] of (cfg.routers ?? []).entries()) at(`routers[${i}]`, () => {
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
        return;
      }
      const router = sw.l3.router(r.name);
      const show = router.show();
      if (r.snat !== undefined && r.snat !== show.snat) {
        router.setSnat(r.snat);
        undo.push(() => router.setSnat(show.snat));
        report.replaced.push(`router ${r.name} snat=${r.snat ? 'on' : 'off'}`);
      }
      // Absent limits mean the defaults (as save-config writes them).
      const oldLimits = show.natLimits;
      router.setNatLimits(r.maxSessions, r.maxSessionsPerSource);
      undo.push(() => router.setNatLimits(oldLimits.maxSessions, oldLimits.maxSessionsPerSource));
      const curRoutes = show.routes.filter((x) => x.via !== null && x.kind === 'forward');
      const curVia = new Map(curRoutes.map((x) => [x.cidr, x.via!]));
      // The file's CIDRs are canonical networks (validate.ts), the form router.show() prints.
      const wantVia = new Map(r.routes.map((x) => [x.cidr, x.via]));
      for (const [cidr, via] of wantVia) {
        const old = curVia.get(cidr);
        if (old === via) continue;
        router.addRoute(cidr, via);
        undo.push(() => (old === undefined ? router.delRoute(cidr) : router.addRoute(cidr, old)));
        report[old === undefined ? 'added' : 'replaced'].push(`route on ${r.name}: ${cidr} via ${via}`);
      }
      for (const [cidr, via] of curVia) {
        if (wantVia.has(cidr)) continue;
        router.delRoute(cidr);
        undo.push(() => router.addRoute(cidr, via));
        report.removed.push(`route on ${r.name}: ${cidr} via ${via}`);
      }
      // Floating IPs: those that go (or change) first, then the new ones. An undo restores the
      // mapping; the NAT sessions of a removed floating IP were flushed with it.
      const fipKey = (x: { fip: string; fixed: string }) => `${x.fip} ${x.fixed}`;
      const wantFips = new Set(r.floatingIps.map(fipKey));
      const curFips = new Set(show.floatingIps.map(fipKey));
      for (const x of show.floatingIps) {
        if (wantFips.has(fipKey(x))) continue;
        router.delFloatingIp(x.fip);
        undo.push(() => router.addFloatingIp(x.fip, x.fixed));
        report.removed.push(`floating IP on ${r.name}: ${x.fip} → ${x.fixed}`);
      }
      for (const x of r.floatingIps) {
        if (curFips.has(fipKey(x))) continue;
        router.addFloatingIp(x.fip, x.fixed);
        undo.push(() => router.delFloatingIp(x.fip));
        report.added.push(`floating IP on ${r.name}: ${x.fip} → ${x.fixed}`);
      }
    });
    for (const [i, d] of (cfg.dhcp ?? []).entries()) at(`dhcp[${i}]`, () => {
      const name = `dhcp ${d.bridge} tag=${d.tag ?? 0}`;
      const old = sw.l3.dhcpSpecs().find((x) => x.bridge === d.bridge && (x.tag ?? 0) === (d.tag ?? 0));
      const spec: DhcpSpec = { bridge: d.bridge, tag: d.tag, subnet: d.subnet, gateway: d.gateway, dns: d.dns, server: d.server, leaseSec: d.leaseSec, mtu: d.mtu };
      if (!old || dhcpSettings(old) !== dhcpSettings(spec)) {
        // New, or its subnet/gateway/DNS/server/lease/MTU changed: (re)build it with its bindings.
        if (old) {
          sw.l3.delDhcp(old.bridge, old.tag);
          undo.push(() => {
            sw.l3.addDhcp(old);
            for (const h of old.hosts) sw.l3.dhcpAddHost(old.bridge, old.tag, h.mac, h.ip);
          });
        }
        sw.l3.addDhcp(spec);
        undo.push(() => sw.l3.delDhcp(d.bridge, d.tag));
        for (const h of d.hosts) sw.l3.dhcpAddHost(d.bridge, d.tag, h.mac, h.ip);
        (old ? report.replaced : report.added).push(name);
        return;
      }
      const server = sw.l3.dhcpServer(d.bridge, d.tag)!;
      const have = new Map(server.bindings().map((h) => [h.mac, h.ip]));
      const want = new Map(d.hosts.map((h) => [h.mac.toLowerCase(), h.ip]));
      for (const [mac, ip] of have) {
        if (want.get(mac) === ip) continue;
        server.delHost(mac);
        undo.push(() => server.addHost(mac, ip));
        report.removed.push(`${name} host ${mac} ${ip}`);
      }
      for (const [mac, ip] of want) {
        if (have.get(mac) === ip) continue;
        server.addHost(mac, ip);
        undo.push(() => server.delHost(mac));
        report.added.push(`${name} host ${mac} ${ip}`);
      }
    });

    // ---- controllers and fail mode (the OpenFlow service reconnects to match).
    for (const b of cfg.bridges) {
      const br = sw.bridge(b.name);
      const oldControllers = br.controllers;
      const oldMode = br.failMode;
      const want = b.controller ?? [];
      const mode = b.failMode ?? 'standalone';
      if (want.join(' ') !== oldControllers.join(' ')) report.replaced.push(`controllers of ${b.name}: ${want.join(' ') || '(none)'}`);
      if (mode !== oldMode) report.replaced.push(`fail mode of ${b.name}: ${mode}`);
      br.controllers = [...want];
      br.failMode = mode;
      // other-config:datapath-id (absent = the default id); controllers reconnect on a change.
      const oldId = br.datapathIdConfig;
      const wantId = parseOtherConfig(b.otherConfig ?? {}).datapathId ?? null;
      if (wantId !== oldId) report.replaced.push(`other-config:datapath-id of ${b.name}: ${wantId === null ? '(default)' : formatDatapathId(wantId)}`);
      br.datapathIdConfig = wantId;
      undo.push(() => {
        br.controllers = oldControllers;
        br.failMode = oldMode;
        br.datapathIdConfig = oldId;
      });
    }

    // ---- 3. flows: keep identical rules (and their counters), delete the others, add new ones.
    for (const [i, b] of cfg.bridges.entries()) at(`bridges[${i}].flows`, () => {
      const f = sw.flows(b.name);
      const br = sw.bridge(b.name);
      const scratch = new FlowPipeline({ arena: sw.arena, resolvePort: (n) => br.ofportByName(n), portName: (o) => br.portName(o), maxFlows: b.maxFlows });
      // No flows[] = the default flow a new bridge has, none on a secure one (see applyConfig).
      scratch.addFlows((b.flows ?? (b.failMode === 'secure' ? [] : [DEFAULT_FLOW])).join('\n'));
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
          undo.push(() => f.addFlow(text)); // counters of a restored flow start again at 0
          report.removed.push(`flow on ${b.name}: ${named(r)}`);
        }
      }
      for (const [text, shown] of want) {
        if (have.has(text)) continue;
        f.addFlow(text);
        undo.push(() => f.delFlows(text, { strict: true }));
        report.added.push(`flow on ${b.name}: ${shown}`);
      }
    });
  } catch (e) {
    for (const u of undo.reverse()) {
      try {
        u();
      } catch {
        /* best effort: each step is undone even if an earlier undo failed */
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
  for (const b of cfg.bridges) {
    const br = sw.bridge(b.name);
    if (br.local && b.localPort !== true) {
      sw.delLocalPort(b.name);
      report.removed.push(`LOCAL port of ${b.name}`);
    }
  }
  for (const p of sw.allPorts()) {
    if (p.type === 'internal' || p.type === 'local') continue;
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
