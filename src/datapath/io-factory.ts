/**
 * Creates kernel-backed ports. Kept behind an interface so tests and deterministic embedders
 * can run a Switch without the native addon (memory ports only) or with a fake binding.
 * The addon is loaded lazily: a switch with only memory ports never touches it.
 */
import { PacketArena } from '../packet/arena';
import { Port } from '../io/port';
import type { PortConfig } from './switch-port';

export interface IoFactory {
  afpacket(ifname: string, arena: PacketArena, config: PortConfig): Port;
  tap(name: string, arena: PacketArena, config: PortConfig): Port;
}

export const defaultIoFactory: IoFactory = {
  afpacket(ifname, arena, config) {
    // eslint-disable-next-line @typescript-eslint/no-var-requires
    const { AfPacketPort } = require('../io/afpacket-port') as typeof import('../io/afpacket-port');
    return new AfPacketPort(ifname, arena, { vnetHdr: config.offloads ?? true, ring: config.ring });
  },
  tap(name, arena, config) {
    // eslint-disable-next-line @typescript-eslint/no-var-requires
    const { TapPort } = require('../io/tap-port') as typeof import('../io/tap-port');
    return new TapPort(name, arena, { vnetHdr: config.offloads ?? true, persist: config.persist ?? false });
  },
};
