/**
 * The config file (JSON): what `tvs start --config FILE` builds.
 *
 *   {
 *     "macAgingSec": 300,                       // optional, default for every bridge
 *     "bridges": [
 *       { "name": "br-int", "macAgingSec": 300, "macTableSize": 8192, "maxFlows": 1000000,
 *         "controller": ["tcp:127.0.0.1:6653"], "failMode": "secure",
 *         "otherConfig": { "datapath-id": "00000000000000a1" },   // optional, as OVS other-config
 *         "localPort": true,                      // optional: the LOCAL port, a TAP named br-int
 *         "ports": [ { "name": "vm1", "type": "afpacket", "tag": 1 },
 *                    { "name": "int-br-eth1", "type": "patch", "peer": "phy-br-eth1" } ] }
 *     ],
 *     "routers": [
 *       { "name": "r1", "snat": true, "maxSessions": 65536, "maxSessionsPerSource": 16384,
 *         "ports": [ { "bridge": "br-int", "name": "qr-1", "mac": "02:52:00:00:01:01", "ip": "10.0.1.1/24", "tag": 1 },
 *                    { "bridge": "br-ex", "name": "qg-1", "mac": "02:52:00:00:ff:01", "ip": "203.0.113.2/24", "gateway": true } ],
 *         "routes": [ { "cidr": "0.0.0.0/0", "via": "203.0.113.1" } ],
 *         "floatingIps": [ { "fip": "203.0.113.50", "fixed": "10.0.1.10" } ] }
 *     ],
 *     "dhcp": [
 *       { "bridge": "br-int", "tag": 1, "subnet": "10.0.1.0/24", "gateway": "10.0.1.1", "dns": ["10.0.1.1"],
 *         "mtu": 1450, "hosts": [ { "mac": "02:00:00:00:01:10", "ip": "10.0.1.10" } ] }
 *     ]
 *   }
 *
 * Errors give the path in the file (`bridges[0].ports[1].tag: ...`), all of them at once
 * (validate.ts). Everything is validated before anything is applied, so a bad file changes nothing.
 */
import * as fs from 'fs';
import { Switch } from '../datapath/switch';
import { checkConfig, ConfigError } from './validate';
import type { SwitchConfig } from './config-spec';
import { applyOtherConfig, parseOtherConfig } from './bridge-other-config';

export type { PortSpec, BridgeSpec, RouterSpec, DhcpNetSpec, SwitchConfig } from './config-spec';

/** Validate a parsed config completely (every problem, with its path); see validate.ts. */
export function validateConfig(raw: unknown): SwitchConfig {
  return checkConfig(raw);
}

export function loadConfig(file: string): SwitchConfig {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (e) {
    throw new Error(`config ${file}: ${(e as Error).message}`);
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (e) {
    throw new Error(`config ${file}: not valid JSON: ${(e as Error).message}`);
  }
  try {
    return validateConfig(raw);
  } catch (e) {
    if (e instanceof ConfigError) throw new ConfigError(e.problems, `config ${file}`);
    throw new Error(`config ${file}: ${(e as Error).message}`);
  }
}

/**
 * Build the configured bridges and ports. On any failure, what this call created is removed
 * again (the switch is left as it was) and the error names the bridge/port.
 */
export function applyConfig(sw: Switch, cfg: SwitchConfig, applyFlows?: (bridge: string, flows: string[]) => void): void {
  const made: { bridge?: string; port?: [string, string]; router?: string; dhcp?: [string, number | undefined] }[] = [];
  // Failures are reported at their path in the file (a validated config has every element).
  const at = <T>(path: string, fn: () => T): T => {
    try {
      return fn();
    } catch (e) {
      throw new ConfigError([{ path, message: (e as Error).message }]);
    }
  };
  try {
    for (const [i, b] of cfg.bridges.entries()) {
      const aging = b.macAgingSec ?? cfg.macAgingSec;
      const br = at(`bridges[${i}]`, () => sw.addBridge(b.name, { macAgingMs: aging !== undefined ? aging * 1000 : undefined, macMaxEntries: b.macTableSize, maxFlows: b.maxFlows, localPort: b.localPort }));
      made.push({ bridge: b.name });
      // The OpenFlow service connects to the controllers it finds here.
      br.controllers = b.controller ?? [];
      br.failMode = b.failMode ?? 'standalone';
      applyOtherConfig(br, parseOtherConfig(b.otherConfig ?? {}));
    }
    for (const [i, b] of cfg.bridges.entries()) {
      for (const [j, p] of b.ports.entries()) {
        const { name, ...pc } = p;
        at(`bridges[${i}].ports[${j}]`, () => {
          try {
            sw.addPort(b.name, name, pc);
          } catch (e) {
            throw new Error(`port '${name}': ${(e as Error).message}`);
          }
        });
        made.push({ port: [b.name, name] });
      }
      // A bridge's flows[] replaces its default priority=0,actions=NORMAL flow, as the Neutron
      // agent does with del-flows and then its own flows; `flows: []` leaves no flow at all
      // (the bridge drops everything). Without flows[] the default flow stays, except on a
      // secure bridge, which OVS never gives it (a secure bridge does not forward on its own).
      if (b.flows !== undefined || b.failMode === 'secure') {
        sw.flows(b.name).delFlows();
        if (b.flows && b.flows.length > 0) {
          if (!applyFlows) throw new Error(`bridge ${b.name}: flows are not supported by this build`);
          at(`bridges[${i}].flows`, () => applyFlows(b.name, b.flows!));
        }
      }
    }
    for (const [i, r] of (cfg.routers ?? []).entries()) {
      at(`routers[${i}]`, () => {
        const router = sw.l3.addRouter(r.name);
        made.push({ router: r.name });
        if (r.snat !== undefined) router.setSnat(r.snat);
        if (r.maxSessions !== undefined || r.maxSessionsPerSource !== undefined) router.setNatLimits(r.maxSessions, r.maxSessionsPerSource);
        for (const p of r.ports) sw.l3.routerAddPort(r.name, { bridge: p.bridge, port: p.name, mac: p.mac, cidr: p.ip, tag: p.tag, gateway: p.gateway, mtu: p.mtu });
        for (const rt of r.routes) router.addRoute(rt.cidr, rt.via);
        for (const f of r.floatingIps) router.addFloatingIp(f.fip, f.fixed);
      });
    }
    for (const [i, d] of (cfg.dhcp ?? []).entries()) {
      at(`dhcp[${i}]`, () => {
        sw.l3.addDhcp({ bridge: d.bridge, tag: d.tag, subnet: d.subnet, gateway: d.gateway, dns: d.dns, server: d.server, leaseSec: d.leaseSec, mtu: d.mtu });
        made.push({ dhcp: [d.bridge, d.tag] });
        for (const h of d.hosts) sw.l3.dhcpAddHost(d.bridge, d.tag, h.mac, h.ip);
      });
    }
  } catch (e) {
    for (const m of made.reverse()) {
      try {
        if (m.dhcp) sw.l3.delDhcp(m.dhcp[0], m.dhcp[1]);
        else if (m.router) sw.l3.delRouter(m.router);
        else if (m.port) sw.delPort(m.port[0], m.port[1]);
        else if (m.bridge) sw.delBridge(m.bridge);
      } catch {
        /* best effort rollback */
      }
    }
    throw e;
  }
}
