/**
 * A port on an existing Linux interface through an AF_PACKET socket (veth, a physical NIC, the
 * host side of a QEMU tap...). The OVS equivalent is a "system" port (netdev-linux).
 */
import { PacketArena } from '../packet/arena';
import { AfPacketOptions, loadBinding, NativeBinding } from './binding';
import { NATIVE_BURST, NativePort } from './native-port';
import { PortKind } from './port';

export interface AfPacketPortOptions extends Partial<AfPacketOptions> {
  /** Port name in the switch (default: the interface name). */
  name?: string;
  /** Largest rx burst (default BURST). */
  burst?: number;
}

export class AfPacketPort extends NativePort {
  readonly kind: PortKind = 'afpacket';
  readonly ifname: string;
  readonly ring: 'v3' | 'v2';

  constructor(ifname: string, arena: PacketArena, opts: AfPacketPortOptions = {}, binding: NativeBinding = loadBinding()) {
    // vnetHdr defaults to on: Linux peers send partial checksums and TSO frames (DESIGN.md,
    // "Linux facts"); without the header those cannot be forwarded correctly.
    const vnetHdr = opts.vnetHdr ?? true;
    const ring = opts.ring ?? 'v3';
    const native: AfPacketOptions = { vnetHdr, ring };
    if (opts.blockTimeoutMs !== undefined) native.blockTimeoutMs = opts.blockTimeoutMs;
    if (opts.blockSize !== undefined) native.blockSize = opts.blockSize;
    if (opts.blockCount !== undefined) native.blockCount = opts.blockCount;
    const handle = binding.openAfPacket(ifname, native, arena);
    try {
      super(binding, arena, handle, opts.name ?? ifname, vnetHdr, opts.burst ?? NATIVE_BURST);
    } catch (e) {
      binding.close(handle);
      throw e;
    }
    this.ifname = ifname;
    this.ring = ring;
  }

  protected override describeExtra(): Record<string, unknown> {
    return { ring: this.ring };
  }
}
