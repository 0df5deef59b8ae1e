/**
 * Creates the I/O behind a port, for every port kind: kernel-backed (AF_PACKET, TAP, tunnels), QEMU's
 * unix stream sockets, in-memory ports, and none for logical ports (patch, internal). Kept
 * behind an interface so tests and deterministic embedders can run a Switch without the native
 * addon or with a fake binding. The addon is loaded lazily: a switch with only memory or unix
 * ports never touches it.
 */
import { PacketArena } from '../packet/arena';
import { Port } from '../io/port';
import { MemoryPort } from '../io/memory-port';
import { UnixStreamPort } from '../io/unix-port';
import type { LinkListener, LinkMonitor } from '../io/link-monitor';
import type { PortConfig, PortType } from './switch-port';

export interface IoFactory {
  /** The I/O of a new port named `name`, or null for a logical port (patch, internal). */
  open(name: string, arena: PacketArena, config: PortConfig): Port | null;
  /**
   * Listen to the kernel's link notifications for the ports with a device (their `ifindex`);
   * absent or null: nobody reports link changes (fakes, in-memory switches).
   */
  watchLinks?(listener: LinkListener): LinkMonitor | null;
}

/** One constructor per port kind. */
const OPENERS: Record<PortType, (name: string, arena: PacketArena, config: PortConfig) => Port | null> = {
  afpacket(ifname, arena, config) {
    // eslint-disable-next-line @typescript-eslint/no-var-requires
    const { AfPacketPort } = require('../io/afpacket-port') as typeof import('../io/afpacket-port');
    return new AfPacketPort(ifname, arena, { vnetHdr: config.offloads ?? true, ring: config.ring, txRing: config.txRing, ringFrames: config.nRxqDesc });
  },
  tap(name, arena, config) {
    // eslint-disable-next-line @typescript-eslint/no-var-requires
    const { TapPort } = require('../io/tap-port') as typeof import('../io/tap-port');
    return new TapPort(name, arena, { vnetHdr: config.offloads ?? true, persist: config.persist ?? false });
  },
  // A bridge's LOCAL port: always a new device (an existing interface of the bridge's name is
  // an error, not something to attach to), with the bridge's MAC, gone when the port closes.
  local(name, arena, config) {
    // eslint-disable-next-line @typescript-eslint/no-var-requires
    const { TapPort } = require('../io/tap-port') as typeof import('../io/tap-port');
    return new TapPort(name, arena, { vnetHdr: config.offloads ?? true, persist: false, exclusive: true, mac: config.mac });
  },
  memory: (name, arena, config) => new MemoryPort(name, arena, { mtu: config.mtu, offloads: config.offloads }),
  unix: (name, arena, config) => new UnixStreamPort(name, arena, { path: config.path, mode: config.mode, mtu: config.mtu }),
  vxlan: (name, arena, config) => openTunnel(name, 'vxlan', arena, config),
  gre: (name, arena, config) => openTunnel(name, 'gre', arena, config),
  patch: () => null,
  internal: () => null,
};

function openTunnel(name: string, kind: 'vxlan' | 'gre', arena: PacketArena, config: PortConfig): Port {
  if (!config.tunnel) throw new Error(`${kind} port ${name}: needs remote_ip=A.B.C.D`);
  // eslint-disable-next-line @typescript-eslint/no-var-requires
  const { TunnelPort } = require('../io/tunnel-port') as typeof import('../io/tunnel-port');
  return new TunnelPort(name, kind, arena, config.tunnel);
}

export const defaultIoFactory: IoFactory = {
  open(name, arena, config) {
    return OPENERS[config.type](name, arena, config);
  },
  watchLinks(listener) {
    // eslint-disable-next-line @typescript-eslint/no-var-requires
    const { watchLinks } = require('../io/link-monitor') as typeof import('../io/link-monitor');
    return watchLinks(listener);
  },
};
