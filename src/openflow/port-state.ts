/**
 * A port's OpenFlow config and state bits as OVS 3.1 keeps them, and the PORT_STATUS MODIFYs
 * it sends when the device behind the port changes. OVS reads a device's admin state into
 * config PORT_DOWN and its carrier (IFF_RUNNING) into state LINK_DOWN (ofproto.c ofport_open),
 * and sets state LIVE only while neither is set and the port "may be enabled", which follows
 * carrier (normalize_state; ofproto-dpif.c port_run). On a change port_run runs first — LIVE
 * follows carrier at once, one MODIFY — then update_port reads the device again: a second
 * MODIFY with the new config/state bits or address. So `ip link set DEV down` brings two
 * MODIFYs (state 0, then PORT_DOWN + LINK_DOWN), as OVS sends them.
 */
import { OFPPC_PORT_DOWN, OFPPS_LINK_DOWN, OFPPS_LIVE } from '../wire/openflow/constants';

/** What an ofp_port says of a port's state (besides its number and name). */
export interface PortBits {
  config: number;
  state: number;
  addr: Buffer;
}

/** A device's link, as port-state needs it. */
export interface DeviceLink {
  /** IFF_UP */
  adminUp: boolean;
  /** IFF_RUNNING: carrier, as OVS's netdev-linux reads it. */
  running: boolean;
  addr: Buffer;
}

/** OVS's normalize_state: LIVE exactly while the port is neither down nor without link, and may be enabled. */
export function normalizeState(config: number, state: number, mayEnable: boolean): number {
  return config & OFPPC_PORT_DOWN || state & OFPPS_LINK_DOWN || !mayEnable ? state & ~OFPPS_LIVE : state | OFPPS_LIVE;
}

/** A device's bits once OVS has caught up with it (port_run and update_port both ran). */
export function deviceBits(link: DeviceLink): PortBits {
  const config = link.adminUp ? 0 : OFPPC_PORT_DOWN;
  return { config, state: normalizeState(config, link.running ? 0 : OFPPS_LINK_DOWN, link.running), addr: link.addr };
}

/** A port with no device (patch, tunnel, memory, unix, router interface): up is LIVE; down (a patch without its peer, a closed socket) is PORT_DOWN + LINK_DOWN. */
export function logicalBits(up: boolean, addr: Buffer): PortBits {
  return up ? { config: 0, state: OFPPS_LIVE, addr } : { config: OFPPC_PORT_DOWN, state: OFPPS_LINK_DOWN, addr };
}

interface Known extends PortBits {
  /** OVS's may_enable: the carrier port_run saw last. */
  mayEnable: boolean;
}

/**
 * The bits each port was last announced with, per port object (a port deleted and added again
 * under the same name is a new port, never a change), and the MODIFYs a link change brings.
 */
export class PortStates<K extends object> {
  private readonly known = new WeakMap<K, Known>();

  /** The port as just announced (ADD) or first seen: later changes are measured from here. */
  remember(port: K, link: DeviceLink): PortBits {
    const b = deviceBits(link);
    this.known.set(port, { ...b, mayEnable: link.running });
    return b;
  }

  /**
   * The port's bits in each PORT_STATUS MODIFY OVS 3.1 sends for this notification of its
   * device, in order (none when nothing it reports changed).
   */
  change(port: K, link: DeviceLink): PortBits[] {
    const k = this.known.get(port);
    if (k === undefined) {
      this.remember(port, link);
      return [];
    }
    const out: PortBits[] = [];
    // port_run: carrier decides may_enable, and LIVE follows it at once.
    if (k.mayEnable !== link.running) {
      k.mayEnable = link.running;
      const state = normalizeState(k.config, k.state, k.mayEnable);
      if (state !== k.state) {
        k.state = state;
        out.push({ config: k.config, state, addr: k.addr });
      }
    }
    // update_port: the device's admin state, carrier and address read again.
    const config = link.adminUp ? 0 : OFPPC_PORT_DOWN;
    const state = normalizeState(config, link.running ? 0 : OFPPS_LINK_DOWN, k.mayEnable);
    if (config !== k.config || state !== k.state || !link.addr.equals(k.addr)) {
      k.config = config;
      k.state = state;
      k.addr = link.addr;
      out.push({ config, state, addr: link.addr });
    }
    return out;
  }
}
