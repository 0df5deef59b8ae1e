/**
 * Router, NAT and DHCP verbs (Neutron L3/DHCP agent roles) as control-socket handlers.
 * Options arrive as key=value strings from the CLI; each is checked with a clear message.
 */
import { Switch } from '../datapath/switch';
import { jsonArrayPieces, StreamedReply, type Handler } from './server';
import { str } from './args';
import { DEFAULT_MAX_SESSIONS, MAX_SESSIONS_LIMIT } from '../packet/conntrack';
import { kv } from './values';
import { checkRequest, dhcpIndex, routerIndex } from './request-check';

function opts(args: Record<string, unknown>): Record<string, string> {
  const o = args.options ?? {};
  if (typeof o !== 'object' || o === null || Array.isArray(o)) throw new Error("'options' must be an object");
  return o as Record<string, string>;
}
function known(o: Record<string, string>, keys: string[], verb: string): void {
  for (const k of Object.keys(o)) if (!keys.includes(k)) throw new Error(`${verb}: unknown option '${k}' (known: ${keys.join(', ')})`);
}
function need(o: Record<string, string>, key: string, verb: string): string {
  const v: unknown = o[key];
  if (v === undefined || v === '') throw new Error(`${verb}: missing ${key}=`);
  if (typeof v !== 'string') throw new Error(`${kv(key, v)}: must be a string`);
  return v;
}
function optStrOpt(o: Record<string, string>, key: string): string | undefined {
  const v: unknown = o[key];
  if (v === undefined) return undefined;
  if (typeof v !== 'string') throw new Error(`${kv(key, v)}: must be a string`);
  return v;
}
function optInt(o: Record<string, string>, key: string, lo: number, hi: number): number | undefined {
  const v: unknown = o[key];
  if (v === undefined) return undefined;
  const n = typeof v === 'number' ? v : typeof v === 'string' && /^\d+$/.test(v) ? Number(v) : NaN;
  if (!Number.isInteger(n) || n < lo || n > hi) throw new Error(`${kv(key, v)}: must be an integer in ${lo}..${hi}`);
  return n;
}
function onOff(v: unknown, key: string): boolean {
  if (v === 'on' || v === 'true' || v === true) return true;
  if (v === 'off' || v === 'false' || v === false) return false;
  throw new Error(`${kv(key, v)}: must be on or off`);
}

export function l3Commands(sw: Switch): Record<string, Handler> {
  return {
    'add-router': (a) => {
      const o = opts(a);
      known(o, ['snat', 'max-sessions', 'max-sessions-per-source'], 'add-router');
      const name = str(a, 'router');
      const snat = o.snat !== undefined ? onOff(o.snat, 'snat') : undefined;
      const max = optInt(o, 'max-sessions', 1, MAX_SESSIONS_LIMIT);
      const per = optInt(o, 'max-sessions-per-source', 1, max ?? DEFAULT_MAX_SESSIONS);
      if (sw.l3.routerNames().includes(name)) throw new Error(`router '${name}' already exists`);
      checkRequest(sw, (m) => {
        (m.routers ??= []).push({ name, snat, maxSessions: max, maxSessionsPerSource: per, ports: [], routes: [], floatingIps: [] });
        return `routers[${m.routers.length - 1}]`;
      });
      const r = sw.l3.addRouter(name);
      if (snat !== undefined) r.setSnat(snat);
      if (max !== undefined || per !== undefined) r.setNatLimits(max, per);
      return null;
    },
    'del-router': (a) => {
      sw.l3.delRouter(str(a, 'router'));
      return null;
    },
    'router-add-port': (a) => {
      const o = opts(a);
      known(o, ['mac', 'ip', 'tag', 'gateway', 'mtu'], 'router-add-port');
      const router = str(a, 'router');
      const spec = {
        bridge: str(a, 'bridge'),
        port: str(a, 'port'),
        mac: need(o, 'mac', 'router-add-port'),
        cidr: need(o, 'ip', 'router-add-port'),
        tag: optInt(o, 'tag', 0, 4095),
        gateway: o.gateway !== undefined ? onOff(o.gateway === '' ? 'on' : o.gateway, 'gateway') : false,
        mtu: optInt(o, 'mtu', 68, 65535),
      };
      if (!sw.bridges.has(spec.bridge)) throw new Error(`no bridge named '${spec.bridge}'`);
      checkRequest(sw, (m) => {
        const r = m.routers![routerIndex(m, router)];
        r.ports.push({ bridge: spec.bridge, name: spec.port, mac: spec.mac, ip: spec.cidr, tag: spec.tag, gateway: spec.gateway, mtu: spec.mtu });
        return `routers[${routerIndex(m, router)}].ports[${r.ports.length - 1}]`;
      });
      const iface = sw.l3.routerAddPort(router, spec);
      return { iface };
    },
    'router-add-route': (a) => {
      const o = opts(a);
      known(o, ['via'], 'router-add-route');
      const router = str(a, 'router');
      const cidr = str(a, 'cidr');
      const via = need(o, 'via', 'router-add-route');
      sw.l3.router(router); // exists
      checkRequest(sw, (m) => {
        const i = routerIndex(m, router);
        const routes = m.routers![i].routes;
        // The same destination again replaces its next hop, as the router does.
        let k = routes.findIndex((x) => x.cidr === cidr);
        if (k < 0) k = routes.push({ cidr, via }) - 1;
        else routes[k] = { cidr, via };
        return `routers[${i}].routes[${k}]`;
      });
      sw.l3.router(router).addRoute(cidr, via);
      return null;
    },
    'set-router': (a) => {
      const o = opts(a);
      known(o, ['snat', 'max-sessions', 'max-sessions-per-source'], 'set-router');
      if (Object.keys(o).length === 0) throw new Error('set-router: nothing to set (snat=, max-sessions=, max-sessions-per-source=)');
      const r = sw.l3.router(str(a, 'router'));
      const cur = r.show().natLimits;
      const snat = o.snat !== undefined ? onOff(o.snat, 'snat') : undefined;
      const max = optInt(o, 'max-sessions', 1, MAX_SESSIONS_LIMIT) ?? cur.maxSessions;
      const per = optInt(o, 'max-sessions-per-source', 1, max) ?? Math.min(cur.maxSessionsPerSource, max);
      r.setNatLimits(max, per);
      if (snat !== undefined) r.setSnat(snat);
      return null;
    },
    'add-floating-ip': (a) => {
      const router = str(a, 'router');
      const fip = str(a, 'fip');
      const fixed = str(a, 'fixed');
      sw.l3.router(router); // exists
      checkRequest(sw, (m) => {
        const i = routerIndex(m, router);
        const k = m.routers![i].floatingIps.push({ fip, fixed }) - 1;
        return `routers[${i}].floatingIps[${k}]`;
      });
      sw.l3.router(router).addFloatingIp(fip, fixed);
      sw.settle(); // the gratuitous ARP goes out now
      return null;
    },
    'del-floating-ip': (a) => {
      const ok = sw.l3.router(str(a, 'router')).delFloatingIp(str(a, 'fip'));
      if (!ok) throw new Error(`router has no floating IP ${a.fip}`);
      return null;
    },
    'router-show': (a) => sw.l3.router(str(a, 'router')).show(),
    // Streamed a chunk of sessions at a time (a full table is tens of megabytes of JSON).
    'nat-show': (a) => {
      const r = sw.l3.router(str(a, 'router'));
      return new StreamedReply(jsonArrayPieces(r.sessionIds(), (id) => r.session(id)));
    },
    'add-dhcp': (a) => {
      const o = opts(a);
      known(o, ['tag', 'subnet', 'gateway', 'dns', 'server', 'lease', 'mtu'], 'add-dhcp');
      const dns = optStrOpt(o, 'dns');
      const spec = {
        bridge: str(a, 'bridge'),
        tag: optInt(o, 'tag', 0, 4095),
        subnet: need(o, 'subnet', 'add-dhcp'),
        gateway: need(o, 'gateway', 'add-dhcp'),
        dns: dns ? dns.split(',') : undefined,
        server: optStrOpt(o, 'server'),
        leaseSec: optInt(o, 'lease', 60, 1 << 30),
        mtu: optInt(o, 'mtu', 68, 65535),
      };
      if (!sw.bridges.has(spec.bridge)) throw new Error(`no bridge named '${spec.bridge}'`);
      if (sw.l3.dhcpServer(spec.bridge, spec.tag)) throw new Error(`a DHCP server already serves ${spec.bridge} tag=${spec.tag ?? 0}`);
      checkRequest(sw, (m) => {
        const k = (m.dhcp ??= []).push({ ...spec, hosts: [] }) - 1;
        return `dhcp[${k}]`;
      });
      sw.l3.addDhcp(spec);
      return null;
    },
    'dhcp-add-host': (a) => {
      const o = opts(a);
      known(o, ['tag', 'mac', 'ip'], 'dhcp-add-host');
      const bridge = str(a, 'bridge');
      const tag = optInt(o, 'tag', 0, 4095);
      const mac = need(o, 'mac', 'dhcp-add-host');
      const ip = need(o, 'ip', 'dhcp-add-host');
      checkRequest(sw, (m) => {
        const i = dhcpIndex(m, bridge, tag);
        const hosts = m.dhcp![i].hosts;
        // The same MAC again moves its binding, as the server does.
        let k = hosts.findIndex((h) => h.mac.toLowerCase() === mac.toLowerCase());
        if (k < 0) k = hosts.push({ mac, ip }) - 1;
        else hosts[k] = { mac, ip };
        return `dhcp[${i}].hosts[${k}]`;
      });
      sw.l3.dhcpAddHost(bridge, tag, mac, ip);
      return null;
    },
  };
}
