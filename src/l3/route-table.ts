/**
 * The router's compiled routing table: connected subnets, static routes, the router's own
 * addresses, broadcast/multicast and floating IPs, behind one LPM. Built from the configuration
 * when it changes (control plane); a lookup is one LPM walk and typed-array reads (data plane).
 *
 * Precedence at equal prefix: static routes are listed first and connected routes after, so a
 * connected route overrides a static one for the same prefix (the LPM keeps the last entry).
 */
import * as ipv4 from '../wire/ipv4';
import { Lpm } from './lpm';
import type { U32Map } from '../packet/u32-map';
import type { Iface } from './router-iface';

/** Route kinds in the compiled table. */
export const RT_FWD = 1; // forward out `iface` (to `via`, or on-link when 0)
export const RT_LOCAL = 2; // one of the router's interface addresses
export const RT_FIP = 3; // a floating IP: DNAT to `data` (the fixed address)
export const RT_BCAST = 4; // subnet / limited broadcast, multicast: never forwarded
export const RT_KIND_NAMES = ['', 'forward', 'local', 'floating', 'broadcast'];

export interface StaticRoute {
  addr: number;
  len: number;
  via: number;
}

interface Entry {
  addr: number;
  len: number;
  kind: number;
  iface: number;
  via: number;
  data: number;
}

export class RouteTable {
  private readonly lpm = new Lpm();
  kind = new Uint8Array(0);
  iface = new Int32Array(0);
  via = new Uint32Array(0);
  data = new Uint32Array(0);
  private prefix: { addr: number; len: number }[] = [];

  /** Route id for `dst`, or -1. Hot path. */
  lookup(dst: number): number {
    return this.lpm.lookup(dst);
  }

  /** Recompile from the configuration. `gw` is the gateway interface index (-1 none). */
  build(ifaces: readonly (Iface | null)[], routes: readonly StaticRoute[], fipToFixed: U32Map, gw: number): void {
    const entries: Entry[] = [];
    const live = ifaces.filter((i): i is Iface => i !== null);
    const onLink = (ip: number): Iface | undefined => {
      let best: Iface | undefined;
      for (const i of live) if (((ip ^ i.addr) & i.mask) === 0 && (best === undefined || i.len > best.len)) best = i;
      return best;
    };
    for (const r of routes) {
      const i = onLink(r.via);
      if (i !== undefined) entries.push({ addr: r.addr, len: r.len, kind: RT_FWD, iface: i.index, via: r.via, data: 0 });
    }
    for (const i of live) entries.push({ addr: i.net, len: i.len, kind: RT_FWD, iface: i.index, via: 0, data: 0 });
    entries.push({ addr: 0xe0000000, len: 4, kind: RT_BCAST, iface: -1, via: 0, data: 0 });
    entries.push({ addr: 0xffffffff, len: 32, kind: RT_BCAST, iface: -1, via: 0, data: 0 });
    for (const i of live) {
      entries.push({ addr: i.bcast, len: 32, kind: RT_BCAST, iface: i.index, via: 0, data: 0 });
      entries.push({ addr: i.addr, len: 32, kind: RT_LOCAL, iface: i.index, via: 0, data: 0 });
    }
    fipToFixed.forEach((fip, fixed) => entries.push({ addr: fip, len: 32, kind: RT_FIP, iface: gw, via: 0, data: fixed }));
    const n = entries.length;
    this.kind = new Uint8Array(n);
    this.iface = new Int32Array(n);
    this.via = new Uint32Array(n);
    this.data = new Uint32Array(n);
    this.prefix = entries.map((e) => ({ addr: e.addr, len: e.len }));
    entries.forEach((e, id) => {
      this.kind[id] = e.kind;
      this.iface[id] = e.iface;
      this.via[id] = e.via;
      this.data[id] = e.data;
    });
    this.lpm.build(entries.map((e, id) => ({ addr: e.addr, len: e.len, id })));
  }

  /** One route as text fields (router-show, lookupRoute). */
  describe(id: number, ifaceName: (i: number) => string | null): { cidr: string; kind: string; iface: string | null; via: string | null } {
    const p = this.prefix[id];
    return {
      cidr: `${ipv4.formatAddr(p.addr)}/${p.len}`,
      kind: RT_KIND_NAMES[this.kind[id]],
      iface: this.iface[id] >= 0 ? ifaceName(this.iface[id]) : null,
      via: this.via[id] !== 0 ? ipv4.formatAddr(this.via[id]) : null,
    };
  }

  get size(): number {
    return this.kind.length;
  }
}
