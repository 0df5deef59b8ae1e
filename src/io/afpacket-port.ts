/**
 * A port on an existing Linux interface through an AF_PACKET socket (veth, a physical NIC, the
 * host side of a QEMU tap...). The OVS equivalent is a "system" port (netdev-linux).
 */
import { PacketArena } from '../packet/arena';
import { AfPacketOptions, loadBinding, NativeBinding, PortInfo } from './binding';
import { NATIVE_BURST, NativePort } from './native-port';
import { PortKind } from './port';

export interface AfPacketPortOptions extends Partial<AfPacketOptions> {
  /** Port name in the switch (default: the interface name). */
  name?: string;
  /** Largest rx burst (default BURST). */
  burst?: number;
  /**
   * No device: a scratch port of the addon (binding.openScratch) that receives only the frames
   * `scratchInject` gives it and sends nowhere — the start-up warm-up's ports (datapath/warm-up.ts),
   * of this very class so that the warm-up runs the code a real port runs.
   */
  scratch?: boolean;
}

export class AfPacketPort extends NativePort {
  readonly kind: PortKind = 'afpacket';
  readonly ifname: string;
  readonly ring: 'v3' | 'v2';
  /** Mapped rx ring memory (kernel memory that also counts in this process's RSS). */
  readonly ringBytes: number;
  /** V2: bytes per ring frame (frames larger than this bypass the ring); V3: block size. */
  readonly ringFrameSize: number;
  /** V2: ring frames; V3: blocks. */
  readonly ringFrames: number;
  /** V2 only (the Port view dump-ports shows): ring frames and bytes per frame. */
  get rxRingFrames(): number | undefined {
    return this.ring === 'v2' ? this.ringFrames : undefined;
  }
  get rxRingFrameSize(): number | undefined {
    return this.ring === 'v2' ? this.ringFrameSize : undefined;
  }
  /** Mapped TX ring memory (0: frames go out with sendmmsg), its frame size and frame count. */
  readonly txRingBytes: number;
  readonly txRingFrameSize: number;
  readonly txRingFrames: number;

  constructor(ifname: string, arena: PacketArena, opts: AfPacketPortOptions = {}, binding: NativeBinding = loadBinding()) {
    // vnetHdr defaults to on: Linux peers send partial checksums and TSO frames (DESIGN.md,
    // "Linux facts"); without the header those cannot be forwarded correctly.
    const vnetHdr = opts.vnetHdr ?? true;
    // V2 is the default: it wakes the reader per frame. V3 wakes only when a block retires (full
    // or after its timeout, 1 ms at least), which measured 1.9 ms average ping RTT through two
    // ports against 0.34 ms with V2 (same veth pair, 2026-11-23); throughput was the same within
    // noise. V3 stays available (ring=v3) for bulk receive.
    const ring = opts.ring ?? 'v2';
    const native: AfPacketOptions = { vnetHdr, ring };
    if (opts.blockTimeoutMs !== undefined) native.blockTimeoutMs = opts.blockTimeoutMs;
    if (opts.blockSize !== undefined) native.blockSize = opts.blockSize;
    // Ring geometry is sized to need by the addon: V2 frames fit one MTU-sized frame (2,048 of
    // them, 4 MiB at MTU 1500, unless ringFrames says how many; GSO super-frames bypass the ring),
    // V3 blocks fit the largest frame (16 of them). A ring is locked, mapped memory: it all
    // counts in the switch's RSS.
    if (opts.blockCount !== undefined) native.blockCount = opts.blockCount;
    // n_rxq_desc: the ring's depth in frames, i.e. how long a stall of the switch's core it
    // absorbs (1,024 frames at 300 kpps: 3.4 ms) before the kernel drops (rx_kernel_ring).
    if (opts.ringFrames !== undefined) native.ringFrames = opts.ringFrames;
    // TX ring on by default: one send() per burst instead of sendmmsg's per-message work cut the
    // CPU per packet through veth by ~18% and raised TCP with offloads off by 1.4-1.8x (bench/results,
    // "Levers measured"). GSO super-frames still take sendmmsg (see native/src/txring.c).
    native.txRing = opts.txRing ?? true;
    const handle = opts.scratch ? openScratch(binding, ifname, vnetHdr, arena) : binding.openAfPacket(ifname, native, arena);
    try {
      super(binding, arena, handle, opts.name ?? ifname, vnetHdr, opts.burst ?? NATIVE_BURST);
    } catch (e) {
      binding.close(handle);
      throw e;
    }
    this.ifname = ifname;
    this.ring = ring;
    const info = this.lastInfo as PortInfo & { ringBytes?: number; ringFrameSize?: number; ringFrames?: number; txRingBytes?: number; txRingFrameSize?: number; txRingFrames?: number };
    this.ringBytes = info.ringBytes ?? 0;
    this.ringFrameSize = info.ringFrameSize ?? 0;
    this.ringFrames = info.ringFrames ?? 0;
    this.txRingBytes = info.txRingBytes ?? 0;
    this.txRingFrameSize = info.txRingFrameSize ?? 0;
    this.txRingFrames = info.txRingFrames ?? 0;
  }

  protected override describeExtra(): Record<string, unknown> {
    return {
      ring: this.ring,
      ringBytes: this.ringBytes,
      ringFrameSize: this.ringFrameSize,
      ringFrames: this.ringFrames,
      ...(this.txRingBytes > 0 ? { txRingBytes: this.txRingBytes, txRingFrameSize: this.txRingFrameSize, txRingFrames: this.txRingFrames } : {}),
    };
  }
}

function openScratch(binding: NativeBinding, name: string, vnetHdr: boolean, arena: PacketArena): number {
  if (!binding.openScratch) throw new Error('the native addon has no scratch ports (rebuild it)');
  return binding.openScratch(name, { vnetHdr }, arena);
}
