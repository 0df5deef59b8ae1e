/**
 * A TAP device owned by the switch (/dev/net/tun). The other end is the kernel stack of the
 * namespace the device lives in — or a VM, but a TAP already opened by QEMU cannot be opened
 * again (EBUSY): reach that one with an AfPacketPort on its host side instead.
 */
import { PacketArena } from '../packet/arena';
import { loadBinding, NativeBinding } from './binding';
import { NATIVE_BURST, NativePort } from './native-port';
import { PortKind } from './port';

export interface TapPortOptions {
  /** IFF_VNET_HDR + offloads (default true, see AfPacketPort). */
  vnetHdr?: boolean;
  /** Keep the device after close (TUNSETPERSIST). Default false. */
  persist?: boolean;
  /** Create the device, never attach to an existing one: an existing name is an error (EEXIST). */
  exclusive?: boolean;
  /** The device's MAC (aa:bb:cc:dd:ee:ff; default: the kernel's random one). */
  mac?: string;
  /** Port name in the switch (default: the device name). */
  name?: string;
  burst?: number;
}

export class TapPort extends NativePort {
  readonly kind: PortKind = 'tap';
  /** The device name: the kernel's choice (tapN) when opened with an empty name. */
  readonly device: string;

  constructor(device: string, arena: PacketArena, opts: TapPortOptions = {}, binding: NativeBinding = loadBinding()) {
    const vnetHdr = opts.vnetHdr ?? true;
    const { handle, name } = binding.openTap(device, { vnetHdr, persist: opts.persist ?? false, exclusive: opts.exclusive, mac: opts.mac }, arena);
    try {
      super(binding, arena, handle, opts.name ?? name, vnetHdr, opts.burst ?? NATIVE_BURST);
    } catch (e) {
      binding.close(handle);
      throw e;
    }
    this.device = name;
  }
}
