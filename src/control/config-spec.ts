/** The config file's shape once validated (validate.ts builds it, config.ts applies it). */
import type { PortConfig } from '../datapath/switch-port';
import type { DhcpSpec } from '../datapath/l3-attach';
import type { FailMode } from '../datapath/controller-target';

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
  /** OpenFlow controllers (tcp:IP[:PORT] / unix:PATH), as `tvs set-controller`. */
  controller?: string[];
  /** As `tvs set-fail-mode` (default standalone). */
  failMode?: FailMode;
  /** The bridge's LOCAL port (a TAP named after the bridge, OpenFlow port LOCAL), as `tvs add-br BR local_port=true`. */
  localPort?: boolean;
  /** OVS other-config keys (`datapath-id`), as `tvs set-bridge BR other-config:KEY=VALUE`. */
  otherConfig?: Record<string, string>;
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
