/**
 * Router, NAT and DHCP verbs (Neutron L3/DHCP agent roles) as control-socket handlers.
 * Options arrive as key=value strings from the CLI; each is checked with a clear message.
 */
import { Switch } from '../datapath/switch';
import { jsonArrayPieces, StreamedReply, type Handler } from './server';
import { str } from './args';
import { DEFAULT_MAX_SESSIONS, MAX_SESSIONS_LIMIT } from '../l3/conntrack';

function opts(args: Record<string, unknown>): Record<string, string> {
  const o = args.options ?? {};
  if (typeof o !== 'object' || o === null || Array.isArray(o)) throw new Error("'options' must be an object");
  return o as Record<string, string>;
}
function known(o: Record<string, string>, keys: string[], verb: string): void {
  for (const k of Object.keys(o)) if (!keys.includes(k)) throw new Error(`${verb}: unknown option '${k}' (known: ${keys.join(', ')})`);
}
function need(o: Record<string, string>, key: string, verb: string): string {
  const v = o[key];
  if (v === undefined || v === '') throw new Error(`${verb}: missing ${key}=`);
  return String(v);
}
function optInt(o: Record<string, string>, key: string, lo: number, hi: number): number | undefined {
  if (o[key] === undefined) return undefined;
  const n = Number(o[key]);
  if (!Number.isInteger(n) || n < lo || n > hi) throw new Error(`${key}=${o[key]}: must be an integer in ${lo}..${hi}`);
  return n;
}
function onOff(v: string, key: string): boolean {
  if (v === 'on' || v === 'true') return true;
  if (v === 'off' || v === 'false') return false;
  throw new Error(`${key}=${v}: must be on or off`);
}

export function l3Commands(sw: Switch): Record<string, Handler> {
  return {
    'add-router': (a) => {
      const o = opts(a);
      known(o, ['snat', 'max-sessions', 'max-sessions-per-source'], 'add-router');
      const snat = o.snat !== undefined ? onOff(o.snat, 'snat') : undefined;
      const max = optInt(o, 'max-sessions', 1, MAX_SESSIONS_LIMIT);
      const per = optInt(o, 'max-sessions-per-source', 1, max ?? DEFAULT_MAX_SESSIONS);
      const r = sw.l3.addRouter(str(a, 'router'));
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
      const iface = sw.l3.routerAddPort(str(a, 'router'), {
        bridge: str(a, 'bridge'),
        port: str(a, 'port'),
        mac: need(o, 'mac', 'router-add-port'),
        cidr: need(o, 'ip', 'router-add-port'),
        tag: optInt(o, 'tag', 0, 4095),
        gateway: o.gateway !== undefined ? onOff(o.gateway === '' ? 'on' : o.gateway, 'gateway') : false,
        mtu: optInt(o, 'mtu', 68, 65535),
      });
      return { iface };
    },
    'router-add-route': (a) => {
      const o = opts(a);
      known(o, ['via'], 'router-add-route');
      sw.l3.router(str(a, 'router')).addRoute(str(a, 'cidr'), need(o, 'via', 'router-add-route'));
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
      sw.l3.router(str(a, 'router')).addFloatingIp(str(a, 'fip'), str(a, 'fixed'));
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
      sw.l3.addDhcp({
        bridge: str(a, 'bridge'),
        tag: optInt(o, 'tag', 0, 4095),
        subnet: need(o, 'subnet', 'add-dhcp'),
        gateway: need(o, 'gateway', 'add-dhcp'),
        dns: o.dns ? String(o.dns).split(',') : undefined,
        server: o.server,
        leaseSec: optInt(o, 'lease', 60, 1 << 30),
        mtu: optInt(o, 'mtu', 68, 65535),
      });
      return null;
    },
    'dhcp-add-host': (a) => {
      const o = opts(a);
      known(o, ['tag', 'mac', 'ip'], 'dhcp-add-host');
      sw.l3.dhcpAddHost(str(a, 'bridge'), optInt(o, 'tag', 0, 4095), need(o, 'mac', 'dhcp-add-host'), need(o, 'ip', 'dhcp-add-host'));
      return null;
    },
  };
}
