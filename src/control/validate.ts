/**
 * Complete validation of a config (a file for `tvs start --config` / `tvs reload`, or the model
 * of the running state with a control request applied): shapes and types, ranges, canonical
 * address forms, and the cross-references between parts — names unique across bridge ports,
 * router interfaces and DHCP ports; patch peers that exist and point back; router interfaces in
 * distinct subnets; next hops on a connected subnet; floating and fixed IPs where they can work;
 * DHCP gateways, servers and hosts inside their subnet, one IP per MAC and one MAC per IP.
 *
 * Nothing is applied here. Every problem is collected with its path in the file
 * (`bridges[0].ports[1].tag: must be an integer in 0..4095, got 5000`), so a file's errors are
 * reported all at once; a value that is wrong in shape is not checked further.
 */
import { FAIL_MODES, parseControllerTarget, type FailMode } from '../datapath/controller-target';
import { nameProblem } from '../datapath/port-table';
import { parseOtherConfig } from './bridge-other-config';
import type { SwitchConfig, BridgeSpec, PortSpec, RouterSpec, DhcpNetSpec } from './config-spec';
import { portConfigFrom } from './port-options';
import * as v from './values';
import { parseFlow } from '../flow/ofctl-parse';
import { DEFAULT_MAX_FLOWS } from '../flow/pipeline';
import { OFPP_LOCAL } from '../flow/ofport';
import { DEFAULT_MAX_SESSIONS, MAX_SESSIONS_LIMIT } from '../packet/conntrack';

export interface Problem {
  path: string;
  message: string;
}

/**
 * `path: message` for one problem; for several, a count and one indented `path: message` line
 * each. `where` (e.g. `config /etc/tvs.json`) goes in front.
 */
export function formatProblems(problems: Problem[], where?: string): string {
  const head = where ? `${where}: ` : '';
  if (problems.length === 1) return `${head}${problems[0].path}: ${problems[0].message}`;
  return `${head}${problems.length} errors:\n${problems.map((p) => `  ${p.path}: ${p.message}`).join('\n')}`;
}

export class ConfigError extends Error {
  constructor(
    readonly problems: Problem[],
    readonly where?: string,
  ) {
    super(formatProblems(problems, where));
  }
}

/** Deeper than any real config (top → bridges → bridge → ports → port → trunks → id is 6). */
export const MAX_DEPTH = 16;

const ROUTER_NAME = /^[A-Za-z0-9_.:-]{1,64}$/;

/** The name the switch gives a DHCP network's internal port (L3Attachments.addDhcp). */
export function dhcpPortName(bridge: string, tag: number | undefined): string {
  return `dhcp${tag ?? 0}-${bridge}`.slice(0, 15);
}

class Checker {
  readonly problems: Problem[] = [];
  /** Names of ports that are in the file but invalid: references to them are not errors too. */
  readonly broken = new Set<string>();
  add(path: string, message: string): void {
    this.problems.push({ path, message });
  }
  /** Run a value check; its error becomes a problem at `path`, and the result is undefined. */
  at<T>(path: string, fn: () => T): T | undefined {
    try {
      return fn();
    } catch (e) {
      this.add(path, (e as Error).message);
      return undefined;
    }
  }
  obj(path: string, x: unknown): Record<string, unknown> | undefined {
    if (typeof x === 'object' && x !== null && !Array.isArray(x)) return x as Record<string, unknown>;
    this.add(path, `must be an object, got ${v.show(x)}`);
    return undefined;
  }
  /** An optional array: absent → []; present but not an array (null included) → a problem. */
  arr(path: string, x: unknown): unknown[] {
    if (x === undefined) return [];
    if (Array.isArray(x)) return x;
    this.add(path, `must be an array, got ${v.show(x)}`);
    return [];
  }
  keys(path: string, o: Record<string, unknown>, known: string[]): void {
    for (const k of Object.keys(o)) if (!known.includes(k)) this.add(path ? `${path}.${k}` : k, `unknown key (known: ${known.join(', ')})`);
  }
  opt<T>(path: string, x: unknown, fn: (x: unknown) => T): T | undefined {
    return x === undefined ? undefined : this.at(path, () => fn(x));
  }
}

export interface CheckOptions {
  /** Check every flow's syntax and port names (off only where flows cannot matter). */
  flows?: boolean;
}

/** Validate `raw`; the config, or a ConfigError listing every problem. */
export function checkConfig(raw: unknown, opts: CheckOptions = {}): SwitchConfig {
  const c = new Checker();
  const deep = v.tooDeep(raw, MAX_DEPTH);
  if (deep !== undefined) throw new ConfigError([{ path: deep, message: `nested more than ${MAX_DEPTH} levels deep` }]);
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw new ConfigError([{ path: 'config', message: `the top level must be an object, got ${v.show(raw)}` }]);
  const top = raw as Record<string, unknown>;
  c.keys('', top, ['macAgingSec', 'bridges', 'routers', 'dhcp']);
  const cfg: SwitchConfig = { bridges: [] };
  const aging = c.opt('macAgingSec', top.macAgingSec, (x) => v.int(x, 1, 86400));
  if (aging !== undefined) cfg.macAgingSec = aging;

  // Every port name in the switch: bridge ports, router interfaces, DHCP ports.
  const owners = new Map<string, string>();
  const claim = (name: string, path: string, what: string) => {
    const prev = owners.get(name);
    if (prev !== undefined) c.add(path, `the name '${name}' is already used by ${prev}`);
    else owners.set(name, `${what} (${path})`);
  };

  const brNames = new Set<string>();
  const brIndex: number[] = []; // cfg.bridges[k] is bridges[brIndex[k]] in the file
  c.arr('bridges', top.bridges).forEach((b, i) => {
    const spec = checkBridge(c, `bridges[${i}]`, b, claim);
    if (!spec) return;
    if (brNames.has(spec.name)) c.add(`bridges[${i}].name`, `bridge '${spec.name}' is defined twice`);
    brNames.add(spec.name);
    cfg.bridges.push(spec);
    brIndex.push(i);
  });
  checkPatchPeers(c, cfg.bridges);

  if (top.routers !== undefined) cfg.routers = checkRouters(c, top.routers, brNames, claim);
  if (top.dhcp !== undefined) cfg.dhcp = checkDhcp(c, top.dhcp, brNames, claim);
  if (opts.flows !== false) checkFlows(c, cfg, brIndex);
  if (c.problems.length) throw new ConfigError(inFileOrder(c.problems));
  return cfg;
}

/** Problems in the order of the file's sections, then of the first index (stable otherwise). */
function inFileOrder(problems: Problem[]): Problem[] {
  const sections = ['config', 'macAgingSec', 'bridges', 'routers', 'dhcp'];
  const key = (p: Problem) => {
    const m = /^([A-Za-z]+)(?:\[(\d+)\])?/.exec(p.path);
    const s = m ? sections.indexOf(m[1]) : -1;
    return [s < 0 ? 0 : s, m?.[2] !== undefined ? Number(m[2]) : -1];
  };
  return problems
    .map((p, i) => ({ p, i, k: key(p) }))
    .sort((a, b) => a.k[0] - b.k[0] || a.k[1] - b.k[1] || a.i - b.i)
    .map((x) => x.p);
}

type Claim = (name: string, path: string, what: string) => void;

function checkBridge(c: Checker, at: string, raw: unknown, claim: Claim): BridgeSpec | undefined {
  const b = c.obj(at, raw);
  if (!b) return undefined;
  c.keys(at, b, ['name', 'macAgingSec', 'macTableSize', 'maxFlows', 'localPort', 'ports', 'flows', 'controller', 'failMode', 'otherConfig']);
  const name = c.at(`${at}.name`, () => v.nonEmptyString(b.name));
  const badName = name !== undefined ? nameProblem('bridge', name) : undefined;
  if (badName !== undefined) c.add(`${at}.name`, badName);
  const spec: BridgeSpec = { name: name ?? '', ports: [] };
  // The LOCAL port is a port named after the bridge: that name is taken switch-wide.
  const local = c.opt(`${at}.localPort`, b.localPort, v.bool);
  if (local !== undefined) spec.localPort = local;
  if (local === true && name !== undefined && badName === undefined) claim(name, `${at}.localPort`, `the LOCAL port of bridge '${name}'`);
  const aging = c.opt(`${at}.macAgingSec`, b.macAgingSec, (x) => v.int(x, 1, 86400));
  if (aging !== undefined) spec.macAgingSec = aging;
  const size = c.opt(`${at}.macTableSize`, b.macTableSize, (x) => v.int(x, 1, 1 << 20));
  if (size !== undefined) spec.macTableSize = size;
  const maxFlows = c.opt(`${at}.maxFlows`, b.maxFlows, (x) => v.int(x, 1, 1 << 24));
  if (maxFlows !== undefined) spec.maxFlows = maxFlows;
  const ofports = new Map<number, string>();
  c.arr(`${at}.ports`, b.ports).forEach((p, j) => {
    const pat = `${at}.ports[${j}]`;
    const o = c.obj(pat, p);
    if (!o) return;
    const pname = c.at(`${pat}.name`, () => v.nonEmptyString(o.name));
    if (pname !== undefined) {
      const problem = nameProblem('port', pname);
      if (problem !== undefined) c.add(`${pat}.name`, problem);
      else claim(pname, `${pat}.name`, `port '${pname}' of bridge '${spec.name}'`);
    }
    let bad = false;
    const pc = portConfigFrom(o, pat, (e) => {
      bad = true;
      c.add(`${pat}.${e.key}`, e.value === undefined ? e.why : `${e.why}, got ${v.show(e.value)}`);
    });
    if (pc.ofport !== undefined) {
      const prev = ofports.get(pc.ofport);
      if (prev !== undefined) c.add(`${pat}.ofport`, `ofport ${pc.ofport} is already used by port '${prev}' of this bridge`);
      else ofports.set(pc.ofport, pname ?? '');
    }
    if (pname !== undefined && !bad) spec.ports.push({ name: pname, ...pc });
    else if (pname !== undefined) c.broken.add(pname);
  });
  if (b.flows !== undefined) {
    const flows = c.arr(`${at}.flows`, b.flows);
    flows.forEach((f, j) => {
      if (typeof f !== 'string') c.add(`${at}.flows[${j}]`, `must be an ovs-ofctl flow string, got ${v.show(f)}`);
    });
    spec.flows = flows.filter((f): f is string => typeof f === 'string');
    const limit = maxFlows ?? DEFAULT_MAX_FLOWS;
    if (flows.length > limit) c.add(`${at}.flows`, `${flows.length} flows, more than the bridge's limit of ${limit} (maxFlows)`);
  }
  if (b.controller !== undefined) {
    const targets = c.arr(`${at}.controller`, b.controller);
    targets.forEach((x, j) => {
      if (typeof x !== 'string') c.add(`${at}.controller[${j}]`, `must be a tcp:IP[:PORT] or unix:PATH string, got ${v.show(x)}`);
      else c.at(`${at}.controller[${j}]`, () => parseControllerTarget(x));
    });
    spec.controller = targets.filter((x): x is string => typeof x === 'string');
  }
  if (b.failMode !== undefined) {
    if (!FAIL_MODES.includes(b.failMode as FailMode)) c.add(`${at}.failMode`, `one of ${FAIL_MODES.join(', ')}, got ${v.show(b.failMode)}`);
    else spec.failMode = b.failMode as FailMode;
  }
  if (b.otherConfig !== undefined) {
    const oc = c.obj(`${at}.otherConfig`, b.otherConfig);
    for (const [k, x] of Object.entries(oc ?? {})) {
      if (c.at(`${at}.otherConfig.${k}`, () => parseOtherConfig({ [k]: x })) !== undefined) (spec.otherConfig ??= {})[k] = x as string;
    }
  }
  return name === undefined ? undefined : spec;
}

/** Both ends of a patch are in the file, are patch ports, and name each other. */
function checkPatchPeers(c: Checker, bridges: BridgeSpec[]): void {
  const all = new Map<string, { spec: PortSpec; path: string }>();
  bridges.forEach((b, i) => b.ports.forEach((p, j) => all.set(p.name, { spec: p, path: `bridges[${i}].ports[${j}]` })));
  for (const [name, { spec, path }] of all) {
    if (spec.type !== 'patch' || spec.peer === undefined) continue;
    const peer = all.get(spec.peer);
    if (!peer && c.broken.has(spec.peer)) continue; // reported where it is
    if (!peer) c.add(`${path}.peer`, `no patch port named '${spec.peer}' in this config`);
    else if (peer.spec.type !== 'patch') c.add(`${path}.peer`, `'${spec.peer}' is a ${peer.spec.type} port, not a patch port`);
    else if (peer.spec.peer !== name) c.add(`${path}.peer`, `'${spec.peer}' names '${peer.spec.peer}' as its peer, not '${name}'`);
  }
}

interface IfaceInfo {
  name: string;
  addr: number;
  len: number;
  net: number;
  gateway: boolean;
  path: string;
}

function checkRouters(c: Checker, raw: unknown, bridges: Set<string>, claim: Claim): RouterSpec[] {
  const out: RouterSpec[] = [];
  const names = new Set<string>();
  const macs = new Map<string, string>(); // bridge + MAC → path
  c.arr('routers', raw).forEach((r0, i) => {
    const at = `routers[${i}]`;
    const r = c.obj(at, r0);
    if (!r) return;
    c.keys(at, r, ['name', 'snat', 'maxSessions', 'maxSessionsPerSource', 'ports', 'routes', 'floatingIps']);
    const name = c.at(`${at}.name`, () => v.nonEmptyString(r.name));
    if (name !== undefined) {
      if (!ROUTER_NAME.test(name)) c.add(`${at}.name`, `invalid router name ${v.show(name)}: 1-64 letters, digits, '_', '.', ':', '-'`);
      else if (names.has(name)) c.add(`${at}.name`, `router '${name}' is defined twice`);
      names.add(name);
    }
    const snat = c.opt(`${at}.snat`, r.snat, v.bool);
    const maxSessions = c.opt(`${at}.maxSessions`, r.maxSessions, (x) => v.int(x, 1, MAX_SESSIONS_LIMIT));
    const perSource = c.opt(`${at}.maxSessionsPerSource`, r.maxSessionsPerSource, (x) => v.int(x, 1, maxSessions ?? DEFAULT_MAX_SESSIONS));
    const spec: RouterSpec = {
      name: name ?? '', snat,
      ...(maxSessions !== undefined ? { maxSessions } : {}),
      ...(perSource !== undefined ? { maxSessionsPerSource: perSource } : {}),
      ports: [], routes: [], floatingIps: [],
    };
    const ifaces: IfaceInfo[] = [];
    // With an interface's address invalid, "not on a connected subnet" would only repeat it.
    let ifaceBroken = false;
    c.arr(`${at}.ports`, r.ports).forEach((p0, j) => {
      const pat = `${at}.ports[${j}]`;
      const p = c.obj(pat, p0);
      if (!p) return;
      c.keys(pat, p, ['bridge', 'name', 'mac', 'ip', 'tag', 'gateway', 'mtu']);
      const bridge = c.at(`${pat}.bridge`, () => v.nonEmptyString(p.bridge));
      if (bridge !== undefined && !bridges.has(bridge)) c.add(`${pat}.bridge`, `no bridge '${bridge}' in this config`);
      const pname = c.at(`${pat}.name`, () => v.nonEmptyString(p.name));
      if (pname !== undefined) {
        const problem = nameProblem('interface', pname);
        if (problem !== undefined) c.add(`${pat}.name`, problem);
        else claim(pname, `${pat}.name`, `interface '${pname}' of router '${spec.name}'`);
      }
      const mac = c.at(`${pat}.mac`, () => v.unicastMac(p.mac));
      if (mac !== undefined && bridge !== undefined) {
        const prev = macs.get(`${bridge} ${mac}`);
        if (prev !== undefined) c.add(`${pat}.mac`, `${mac} is already the MAC of router interface ${prev} on bridge '${bridge}'`);
        else macs.set(`${bridge} ${mac}`, `'${pname ?? '?'}'`);
      }
      const ip = c.at(`${pat}.ip`, () => v.hostCidr(p.ip, 1, 30));
      if (ip === undefined) ifaceBroken = true;
      const tag = c.opt(`${pat}.tag`, p.tag, (x) => v.int(x, 0, 4095));
      const gateway = c.opt(`${pat}.gateway`, p.gateway, v.bool);
      const mtu = c.opt(`${pat}.mtu`, p.mtu, (x) => v.int(x, 68, 65535));
      if (ip !== undefined && pname !== undefined) {
        for (const o of ifaces) {
          const len = Math.min(o.len, ip.len);
          if (v.inSubnet(ip.addr, o.net, len)) c.add(`${pat}.ip`, `${p.ip} overlaps ${o.name}'s subnet ${v.fmtIp(o.net)}/${o.len}: each interface of a router needs its own subnet`);
        }
        if (gateway && ifaces.some((o) => o.gateway)) c.add(`${pat}.gateway`, `router '${spec.name}' already has a gateway interface (${ifaces.find((o) => o.gateway)!.name})`);
        ifaces.push({ name: pname, ...ip, gateway: !!gateway, path: pat });
      }
      if (bridge !== undefined && pname !== undefined && mac !== undefined && ip !== undefined) {
        spec.ports.push({ bridge, name: pname, mac: p.mac as string, ip: p.ip as string, tag, gateway, mtu });
      }
    });
    const routeKeys = new Set<string>();
    c.arr(`${at}.routes`, r.routes).forEach((x0, j) => {
      const pat = `${at}.routes[${j}]`;
      const x = c.obj(pat, x0);
      if (!x) return;
      c.keys(pat, x, ['cidr', 'via']);
      const dst = c.at(`${pat}.cidr`, () => v.network(x.cidr));
      const via = c.at(`${pat}.via`, () => v.unicastIpv4(x.via));
      if (dst !== undefined) {
        const key = `${v.fmtIp(dst.addr)}/${dst.len}`;
        if (routeKeys.has(key)) c.add(`${pat}.cidr`, `a route to ${key} is already defined`);
        routeKeys.add(key);
      }
      if (via !== undefined && !ifaceBroken) {
        const on = ifaces.find((o) => v.inSubnet(via, o.net, o.len));
        if (!on) c.add(`${pat}.via`, `next hop ${x.via} is not on a subnet of the router's interfaces (${ifaces.map((o) => `${v.fmtIp(o.net)}/${o.len}`).join(', ') || 'none'})`);
        else if (via === on.addr) c.add(`${pat}.via`, `next hop ${x.via} is the router's own address on ${on.name}`);
        else if (via === (on.net | ~v.mask(on.len)) >>> 0) c.add(`${pat}.via`, `next hop ${x.via} is the broadcast address of ${on.name}'s subnet`);
      }
      if (dst !== undefined && via !== undefined) spec.routes.push({ cidr: x.cidr as string, via: x.via as string });
    });
    const gw = ifaces.find((o) => o.gateway);
    const fips = new Set<number>();
    const fixeds = new Set<number>();
    c.arr(`${at}.floatingIps`, r.floatingIps).forEach((x0, j) => {
      const pat = `${at}.floatingIps[${j}]`;
      const x = c.obj(pat, x0);
      if (!x) return;
      c.keys(pat, x, ['fip', 'fixed']);
      const fip = c.at(`${pat}.fip`, () => v.unicastIpv4(x.fip));
      const fixed = c.at(`${pat}.fixed`, () => v.unicastIpv4(x.fixed));
      if (fip !== undefined && !ifaceBroken) {
        if (!gw) c.add(`${pat}.fip`, `floating IPs need a gateway interface on router '${spec.name}'`);
        else if (!v.inSubnet(fip, gw.net, gw.len)) c.add(`${pat}.fip`, `${x.fip} is not in the gateway subnet ${v.fmtIp(gw.net)}/${gw.len} of ${gw.name}`);
        else if (fip === gw.addr) c.add(`${pat}.fip`, `${x.fip} is the gateway interface's own address`);
        else if (fip === (gw.net | ~v.mask(gw.len)) >>> 0) c.add(`${pat}.fip`, `${x.fip} is the broadcast address of the gateway subnet`);
      }
      if (fip !== undefined) {
        if (fips.has(fip)) c.add(`${pat}.fip`, `floating IP ${x.fip} is defined twice`);
        fips.add(fip);
      }
      if (fixed !== undefined && !ifaceBroken) {
        const on = ifaces.find((o) => !o.gateway && v.inSubnet(fixed, o.net, o.len));
        if (!on) c.add(`${pat}.fixed`, `${x.fixed} is not in a tenant subnet of router '${spec.name}'`);
        else if (fixed === on.addr) c.add(`${pat}.fixed`, `${x.fixed} is the router's own address on ${on.name}`);
        else if (fixed === (on.net | ~v.mask(on.len)) >>> 0) c.add(`${pat}.fixed`, `${x.fixed} is the broadcast address of ${on.name}'s subnet`);
      }
      if (fixed !== undefined) {
        if (fixeds.has(fixed)) c.add(`${pat}.fixed`, `${x.fixed} already has a floating IP`);
        fixeds.add(fixed);
      }
      if (fip !== undefined && fixed !== undefined) spec.floatingIps.push({ fip: x.fip as string, fixed: x.fixed as string });
    });
    if (name !== undefined) out.push(spec);
  });
  return out;
}

function checkDhcp(c: Checker, raw: unknown, bridges: Set<string>, claim: Claim): DhcpNetSpec[] {
  const out: DhcpNetSpec[] = [];
  const nets = new Set<string>();
  c.arr('dhcp', raw).forEach((d0, i) => {
    const at = `dhcp[${i}]`;
    const d = c.obj(at, d0);
    if (!d) return;
    c.keys(at, d, ['bridge', 'tag', 'subnet', 'gateway', 'dns', 'server', 'leaseSec', 'mtu', 'hosts']);
    const bridge = c.at(`${at}.bridge`, () => v.nonEmptyString(d.bridge));
    if (bridge !== undefined && !bridges.has(bridge)) c.add(`${at}.bridge`, `no bridge '${bridge}' in this config`);
    const tag = c.opt(`${at}.tag`, d.tag, (x) => v.int(x, 0, 4095));
    if (bridge !== undefined) {
      const key = `${bridge} tag=${tag ?? 0}`;
      if (nets.has(key)) c.add(at, `a DHCP network on ${key} is defined twice`);
      else claim(dhcpPortName(bridge, tag), at, `the DHCP port of ${key}`);
      nets.add(key);
    }
    const subnet = c.at(`${at}.subnet`, () => {
      const n = v.network(d.subnet);
      if (n.len < 1 || n.len > 30) throw new Error(`${v.show(d.subnet)}: the prefix length must be 1..30`);
      return n;
    });
    const inside = (path: string, a: number | undefined, text: unknown, what: string) => {
      if (a === undefined || subnet === undefined) return;
      if (!v.inSubnet(a, subnet.addr, subnet.len)) c.add(path, `${what} ${text} is not in the subnet ${d.subnet}`);
      else if (a === subnet.addr) c.add(path, `${what} ${text} is the network address of the subnet`);
      else if (a === (subnet.addr | ~v.mask(subnet.len)) >>> 0) c.add(path, `${what} ${text} is the broadcast address of the subnet`);
    };
    const gateway = c.at(`${at}.gateway`, () => v.unicastIpv4(d.gateway));
    inside(`${at}.gateway`, gateway, d.gateway, 'gateway');
    const server = c.opt(`${at}.server`, d.server, v.unicastIpv4);
    inside(`${at}.server`, server, d.server, 'server');
    const dns = c.arr(`${at}.dns`, d.dns);
    dns.forEach((x, j) => c.at(`${at}.dns[${j}]`, () => v.unicastIpv4(x)));
    const leaseSec = c.opt(`${at}.leaseSec`, d.leaseSec, (x) => v.int(x, 60, 1 << 30));
    const mtu = c.opt(`${at}.mtu`, d.mtu, (x) => v.int(x, 68, 65535));
    const byMac = new Map<string, string>(); // MAC → its IP
    const byIp = new Map<number, string>(); // IP → its MAC
    const hosts: { mac: string; ip: string }[] = [];
    c.arr(`${at}.hosts`, d.hosts).forEach((h0, j) => {
      const pat = `${at}.hosts[${j}]`;
      const h = c.obj(pat, h0);
      if (!h) return;
      c.keys(pat, h, ['mac', 'ip']);
      const mac = c.at(`${pat}.mac`, () => v.unicastMac(h.mac));
      const ip = c.at(`${pat}.ip`, () => v.unicastIpv4(h.ip));
      inside(`${pat}.ip`, ip, h.ip, 'address');
      if (ip !== undefined && (ip === gateway || ip === (server ?? gateway))) c.add(`${pat}.ip`, `${h.ip} is the network's gateway or DHCP server address`);
      if (mac !== undefined) {
        const prev = byMac.get(mac);
        if (prev !== undefined) c.add(`${pat}.mac`, `${mac} is already bound to ${prev}: one address per MAC`);
        else byMac.set(mac, String(h.ip));
      }
      if (ip !== undefined) {
        const prev = byIp.get(ip);
        if (prev !== undefined) c.add(`${pat}.ip`, `${h.ip} is already bound to ${prev}: one MAC per address`);
        else byIp.set(ip, mac ?? String(h.mac));
      }
      if (mac !== undefined && ip !== undefined) hosts.push({ mac: h.mac as string, ip: h.ip as string });
    });
    if (bridge !== undefined && subnet !== undefined && gateway !== undefined) {
      out.push({
        bridge, tag, subnet: d.subnet as string, gateway: d.gateway as string,
        dns: d.dns === undefined ? undefined : (dns as string[]), server: d.server as string | undefined,
        leaseSec, mtu, hosts,
      });
    }
  });
  return out;
}

/** Every flow parses against the names of the ports its bridge will have. */
function checkFlows(c: Checker, cfg: SwitchConfig, brIndex: number[]): void {
  cfg.bridges.forEach((b, k) => {
    const i = brIndex[k];
    if (!b.flows?.length) return;
    const names = new Map<string, number>();
    b.ports.forEach((p, j) => names.set(p.name, p.ofport ?? 0xfe00 - j));
    if (b.localPort === true) names.set(b.name, OFPP_LOCAL); // in_port="br-int" is in_port=LOCAL, as in OVS
    let n = 0;
    for (const r of cfg.routers ?? []) for (const p of r.ports) if (p.bridge === b.name) names.set(p.name, 0xfd00 - n++);
    for (const d of cfg.dhcp ?? []) if (d.bridge === b.name) names.set(dhcpPortName(d.bridge, d.tag), 0xfd00 - n++);
    b.flows.forEach((f, j) => {
      if (/^\s*(#|$)/.test(f)) return; // blank and comment lines, as add-flows skips them
      c.at(`bridges[${i}].flows[${j}]`, () => {
        const spec = parseFlow(f, 'add', { resolvePort: (name) => names.get(name) ?? -1 });
        if (spec.actions === null) throw new Error("missing 'actions='");
      });
    });
  });
}
