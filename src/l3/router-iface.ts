/** A router interface as the forwarding code sees it (addresses precomputed, MAC split hi/lo). */
import * as ipv4 from '../wire/ipv4';

export interface InterfaceConfig {
  name: string;
  mac: string;
  /** Interface address and prefix, 'a.b.c.d/len'. */
  cidr: string;
  /** IP MTU. Default 1500. */
  mtu?: number;
  /** The external (gateway) interface: SNAT and floating IPs live here. At most one. */
  gateway?: boolean;
}

export class Iface {
  readonly net: number;
  readonly mask: number;
  readonly bcast: number;
  /** The MAC as (hi16, lo32), the form the flow key and the Ethernet rewrite use. */
  readonly macHi: number;
  readonly macLo: number;
  constructor(
    readonly index: number, readonly name: string, readonly mac: number, readonly addr: number,
    readonly len: number, readonly mtu: number, readonly gateway: boolean,
  ) {
    this.mask = ipv4.prefixMask(len);
    this.net = (addr & this.mask) >>> 0;
    this.bcast = (this.net | ~this.mask) >>> 0;
    this.macHi = Math.floor(mac / 0x100000000);
    this.macLo = mac >>> 0;
  }

  /** True when `ip` is a host address on this interface's subnet (not its net/broadcast/own). */
  onLinkHost(ip: number): boolean {
    return ip !== this.addr && ip !== this.net && ip !== this.bcast && ((ip ^ this.addr) & this.mask) === 0;
  }
}
