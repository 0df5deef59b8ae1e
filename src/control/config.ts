/**
 * The config file (JSON): what `tvs start --config FILE` builds.
 *
 *   {
 *     "macAgingSec": 300,                       // optional, default for every bridge
 *     "bridges": [
 *       { "name": "br-int", "macAgingSec": 300, "macTableSize": 8192, "maxFlows": 1000000,
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
 * Errors give the path in the file (`bridges[0].ports[1].tag: ...`). Everything is validated
 * before anything is applied, so a bad file changes nothing.
 */
import * as fs from 'fs';
import { Switch } from '../datapath/switch';
import { PortConfig } from '../datapath/switch-port';
import { portConfigFrom } from './port-options';
import type { DhcpSpec } from '../datapath/l3-attach';
import { DEFAULT_MAX_SESSIONS, MAX_SESSIONS_LIMIT } from '../l3/conntrack';

export interface PortSpec extends PortConfig {
  name: string;
}
export interface BridgeSpec {
  name: string;
  macAgingSec?: number;
  macTableSize?: number;
  /** Flows at most in this bridge (default 1,000,000). */
  maxFlows?: number;
  ports: PortSpec[];
  flows?: string[];
}
export interface RouterSpec {
  name: string;
  snat?: boolean;
  /** NAT sessions at most (default 65536) and per source address (default a quarter of that). */
  maxSessions?: number;
  maxSessionsPerSource?: number;
  ports: { bridge: string; name: string; mac: string; ip: string; tag?: number; gateway?: boolean; mtu?: number }[];
  routes: { cidr: string; via: string }[];
  floatingIps: { fip: string; fixed: string }[];
}
/** A DHCP network as attached by `add-dhcp`, plus its static bindings. */
export interface DhcpNetSpec extends DhcpSpec {
  hosts: { mac: string; ip: string }[];
}
export interface SwitchConfig {
  macAgingSec?: number;
  bridges: BridgeSpec[];
  routers?: RouterSpec[];
  dhcp?: DhcpNetSpec[];
}

function isObj(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function posInt(path: string, v: unknown, lo: number, hi: number): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < lo || v > hi) throw new Error(`${path}: must be an integer in ${lo}..${hi}`);
  return v;
}

export function validateConfig(raw: unknown): SwitchConfig {
  if (!isObj(raw)) throw new Error('config: the top level must be an object');
  for (const k of Object.keys(raw)) if (!['macAgingSec', 'bridges', 'routers', 'dhcp'].includes(k)) throw new Error(`${k}: unknown key (known: macAgingSec, bridges, routers, dhcp)`);
  const cfg: SwitchConfig = { bridges: [] };
  if (raw.macAgingSec !== undefined) cfg.macAgingSec = posInt('macAgingSec', raw.macAgingSec, 1, 86400);
  const brs = raw.bridges ?? [];
  if (!Array.isArray(brs)) throw new Error('bridges: must be an array');
  const portNames = new Set<string>();
  const brNames = new Set<string>();
  brs.forEach((b, i) => {
    const at = `bridges[${i}]`;
    if (!isObj(b)) throw new Error(`${at}: must be an object`);
    for (const k of Object.keys(b)) if (!['name', 'macAgingSec', 'macTableSize', 'maxFlows', 'ports', 'flows'].includes(k)) throw new Error(`${at}.${k}: unknown key`);
    if (typeof b.name !== 'string' || b.name === '') throw new Error(`${at}.name: must be a non-empty string`);
    if (brNames.has(b.name)) throw new Error(`${at}.name: bridge '${b.name}' is defined twice`);
    brNames.add(b.name);
    const spec: BridgeSpec = { name: b.name, ports: [] };
    if (b.macAgingSec !== undefined) spec.macAgingSec = posInt(`${at}.macAgingSec`, b.macAgingSec, 1, 86400);
    if (b.macTableSize !== undefined) spec.macTableSize = posInt(`${at}.macTableSize`, b.macTableSize, 1, 1 << 20);
    if (b.maxFlows !== undefined) spec.maxFlows = posInt(`${at}.maxFlows`, b.maxFlows, 1, 1 << 24);
    const ports = b.ports ?? [];
    if (!Array.isArray(ports)) throw new Error(`${at}.ports: must be an array`);
    ports.forEach((p, j) => {
      const pat = `${at}.ports[${j}]`;
      if (!isObj(p)) throw new Error(`${pat}: must be an object`);
      if (typeof p.name !== 'string' || p.name === '') throw new Error(`${pat}.name: must be a non-empty string`);
      if (portNames.has(p.name)) throw new Error(`${pat}.name: port '${p.name}' is defined twice`);
      portNames.add(p.name);
      spec.ports.push({ name: p.name, ...portConfigFrom(p, pat) });
    });
    if (b.flows !== undefined) {
      if (!Array.isArray(b.flows) || b.flows.some((f) => typeof f !== 'string')) throw new Error(`${at}.flows: must be an array of ovs-ofctl flow strings`);
      spec.flows = b.flows as string[];
    }
    cfg.bridges.push(spec);
  });
  if (raw.routers !== undefined) cfg.routers = validateRouters(raw.routers, brNames);
  if (raw.dhcp !== undefined) cfg.dhcp = validateDhcp(raw.dhcp, brNames);
  return cfg;
}

function strAt(path: string, v: unknown): string {
  if (typeof v !== 'string' || v === '') throw new Error(`${path}: must be a non-empty string`);
  return v;
}
function keysAt(path: string, o: Record<string, unknown>, keys: string[]): void {
  for (const k of Object.keys(o)) if (!keys.includes(k)) throw new Error(`${path}.${k}: unknown key (known: ${keys.join(', ')})`);
}
function arrAt(path: string, v: unknown): unknown[] {
  if (v === undefined) return [];
  if (!Array.isArray(v)) throw new Error(`${path}: must be an array`);
  return v;
}

function validateRouters(raw: unknown, bridges: Set<string>): RouterSpec[] {
  return arrAt('routers', raw).map((r, i) => {
    const at = `routers[${i}]`;
    if (!isObj(r)) throw new Error(`${at}: must be an object`);
    keysAt(at, r, ['name', 'snat', 'maxSessions', 'maxSessionsPerSource', 'ports', 'routes', 'floatingIps']);
    if (r.snat !== undefined && typeof r.snat !== 'boolean') throw new Error(`${at}.snat: must be true or false`);
    const maxSessions = r.maxSessions === undefined ? undefined : posInt(`${at}.maxSessions`, r.maxSessions, 1, MAX_SESSIONS_LIMIT);
    const perSource = r.maxSessionsPerSource === undefined ? undefined : posInt(`${at}.maxSessionsPerSource`, r.maxSessionsPerSource, 1, maxSessions ?? DEFAULT_MAX_SESSIONS);
    return {
      name: strAt(`${at}.name`, r.name),
      snat: r.snat as boolean | undefined,
      ...(maxSessions !== undefined ? { maxSessions } : {}),
      ...(perSource !== undefined ? { maxSessionsPerSource: perSource } : {}),
      ports: arrAt(`${at}.ports`, r.ports).map((p, j) => {
        const pat = `${at}.ports[${j}]`;
        if (!isObj(p)) throw new Error(`${pat}: must be an object`);
        keysAt(pat, p, ['bridge', 'name', 'mac', 'ip', 'tag', 'gateway', 'mtu']);
        const bridge = strAt(`${pat}.bridge`, p.bridge);
        if (!bridges.has(bridge)) throw new Error(`${pat}.bridge: no bridge '${bridge}' in this config`);
        if (p.gateway !== undefined && typeof p.gateway !== 'boolean') throw new Error(`${pat}.gateway: must be true or false`);
        return {
          bridge,
          name: strAt(`${pat}.name`, p.name),
          mac: strAt(`${pat}.mac`, p.mac),
          ip: strAt(`${pat}.ip`, p.ip),
          tag: p.tag === undefined ? undefined : posInt(`${pat}.tag`, p.tag, 0, 4095),
          gateway: p.gateway as boolean | undefined,
          mtu: p.mtu === undefined ? undefined : posInt(`${pat}.mtu`, p.mtu, 68, 65535),
        };
      }),
      routes: arrAt(`${at}.routes`, r.routes).map((x, j) => {
        if (!isObj(x)) throw new Error(`${at}.routes[${j}]: must be an object`);
        keysAt(`${at}.routes[${j}]`, x, ['cidr', 'via']);
        return { cidr: strAt(`${at}.routes[${j}].cidr`, x.cidr), via: strAt(`${at}.routes[${j}].via`, x.via) };
      }),
      floatingIps: arrAt(`${at}.floatingIps`, r.floatingIps).map((x, j) => {
        if (!isObj(x)) throw new Error(`${at}.floatingIps[${j}]: must be an object`);
        keysAt(`${at}.floatingIps[${j}]`, x, ['fip', 'fixed']);
        return { fip: strAt(`${at}.floatingIps[${j}].fip`, x.fip), fixed: strAt(`${at}.floatingIps[${j}].fixed`, x.fixed) };
      }),
    };
  });
}

function validateDhcp(raw: unknown, bridges: Set<string>): DhcpNetSpec[] {
  return arrAt('dhcp', raw).map((d, i) => {
    const at = `dhcp[${i}]`;
    if (!isObj(d)) throw new Error(`${at}: must be an object`);
    keysAt(at, d, ['bridge', 'tag', 'subnet', 'gateway', 'dns', 'server', 'leaseSec', 'mtu', 'hosts']);
    const bridge = strAt(`${at}.bridge`, d.bridge);
    if (!bridges.has(bridge)) throw new Error(`${at}.bridge: no bridge '${bridge}' in this config`);
    if (d.dns !== undefined && (!Array.isArray(d.dns) || d.dns.some((x) => typeof x !== 'string'))) throw new Error(`${at}.dns: must be an array of addresses`);
    return {
      bridge,
      tag: d.tag === undefined ? undefined : posInt(`${at}.tag`, d.tag, 0, 4095),
      subnet: strAt(`${at}.subnet`, d.subnet),
      gateway: strAt(`${at}.gateway`, d.gateway),
      dns: d.dns as string[] | undefined,
      server: d.server === undefined ? undefined : strAt(`${at}.server`, d.server),
      leaseSec: d.leaseSec === undefined ? undefined : posInt(`${at}.leaseSec`, d.leaseSec, 60, 1 << 30),
      mtu: d.mtu === undefined ? undefined : posInt(`${at}.mtu`, d.mtu, 68, 65535),
      hosts: arrAt(`${at}.hosts`, d.hosts).map((h, j) => {
        if (!isObj(h)) throw new Error(`${at}.hosts[${j}]: must be an object`);
        keysAt(`${at}.hosts[${j}]`, h, ['mac', 'ip']);
        return { mac: strAt(`${at}.hosts[${j}].mac`, h.mac), ip: strAt(`${at}.hosts[${j}].ip`, h.ip) };
      }),
    };
  });
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
    throw new Error(`config ${file}: ${(e as Error).message}`);
  }
}

/**
 * Build the configured bridges and ports. On any failure, what this call created is removed
 * again (the switch is left as it was) and the error names the bridge/port.
 */
export function applyConfig(sw: Switch, cfg: SwitchConfig, applyFlows?: (bridge: string, flows: string[]) => void): void {
  const made: { bridge?: string; port?: [string, string]; router?: string }[] = [];
  try {
    for (const b of cfg.bridges) {
      const aging = b.macAgingSec ?? cfg.macAgingSec;
      sw.addBridge(b.name, { macAgingMs: aging !== undefined ? aging * 1000 : undefined, macMaxEntries: b.macTableSize, maxFlows: b.maxFlows });
      made.push({ bridge: b.name });
    }
    for (const b of cfg.bridges) {
      for (const p of b.ports) {
        const { name, ...pc } = p;
        try {
          sw.addPort(b.name, name, pc);
        } catch (e) {
          throw new Error(`bridge ${b.name}, port ${name}: ${(e as Error).message}`);
        }
        made.push({ port: [b.name, name] });
      }
      if (b.flows && b.flows.length > 0) {
        if (!applyFlows) throw new Error(`bridge ${b.name}: flows are not supported by this build`);
        applyFlows(b.name, b.flows);
      }
    }
    for (const [i, r] of (cfg.routers ?? []).entries()) {
      const at = `routers[${i}] (${r.name})`;
      try {
        const router = sw.l3.addRouter(r.name);
        made.push({ router: r.name });
        if (r.snat !== undefined) router.setSnat(r.snat);
        if (r.maxSessions !== undefined || r.maxSessionsPerSource !== undefined) router.setNatLimits(r.maxSessions, r.maxSessionsPerSource);
        for (const p of r.ports) sw.l3.routerAddPort(r.name, { bridge: p.bridge, port: p.name, mac: p.mac, cidr: p.ip, tag: p.tag, gateway: p.gateway, mtu: p.mtu });
        for (const rt of r.routes) router.addRoute(rt.cidr, rt.via);
        for (const f of r.floatingIps) router.addFloatingIp(f.fip, f.fixed);
      } catch (e) {
        throw new Error(`${at}: ${(e as Error).message}`);
      }
    }
    for (const [i, d] of (cfg.dhcp ?? []).entries()) {
      try {
        sw.l3.addDhcp({ bridge: d.bridge, tag: d.tag, subnet: d.subnet, gateway: d.gateway, dns: d.dns, server: d.server, leaseSec: d.leaseSec, mtu: d.mtu });
        for (const h of d.hosts) sw.l3.dhcpAddHost(d.bridge, d.tag, h.mac, h.ip);
      } catch (e) {
        throw new Error(`dhcp[${i}]: ${(e as Error).message}`);
      }
    }
  } catch (e) {
    for (const m of made.reverse()) {
      try {
        if (m.router) sw.l3.delRouter(m.router);
        else if (m.port) sw.delPort(m.port[0], m.port[1]);
        else if (m.bridge) sw.delBridge(m.bridge);
      } catch {
        /* best effort rollback */
      }
    }
    throw e;
  }
}
