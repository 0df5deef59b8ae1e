/**
 * A port as the switch sees it: where it sits (bridge, OpenFlow port number), its VLAN mode,
 * its I/O (a kernel-backed or in-memory Port), or, for logical ports, where frames go instead
 * (a patch peer, a router). Holds the per-port transmit queue that the switch flushes with one
 * native call per batch.
 */
import type { VlanSet } from '../l2/vlan-set';
import type { HoldBudget } from '../packet/hold-budget';
import { Batch, BURST } from '../packet/batch';
import { Port, PortCounters } from '../io/port';
import type { TunnelOptions } from '../io/tunnel-port';
import { PortVlan } from '../l2/port-vlan';
import { MacTable } from '../l2/mac-table';

/**
 * `internal`: a logical port the switch makes for a router interface or a DHCP server;
 * `local`: a bridge's LOCAL port (OFPP_LOCAL), a TAP device named after the bridge, made by
 * Switch.addLocalPort (add-br BR local_port=true). Neither is given to add-port.
 */
export type PortType = 'afpacket' | 'tap' | 'memory' | 'patch' | 'internal' | 'local' | 'unix' | 'vxlan' | 'gre';
export const PORT_TYPES: readonly PortType[] = ['afpacket', 'tap', 'memory', 'patch', 'internal', 'local', 'unix', 'vxlan', 'gre'];
/** Tunnel port types (their options: TunnelConfig). */
export const TUNNEL_TYPES: readonly PortType[] = ['vxlan', 'gre'];

export interface PortConfig {
  type: PortType;
  ofport?: number;
  tag?: number;
  /** Allowed VLANs of a trunk port (a list is accepted from code and tests). */
  trunks?: VlanSet | readonly number[];
  /** patch: name of the peer patch port (on another bridge). */
  peer?: string;
  /** afpacket/tap: carry the virtio-net header (offloads). Default true. */
  offloads?: boolean;
  /** afpacket: 'v2' (default: wakes per frame, low latency) or 'v3' (block ring) receive ring. */
  ring?: 'v3' | 'v2';
  /** afpacket: send through a PACKET_TX_RING (see AfPacketPortOptions.txRing). */
  txRing?: boolean;
  /** afpacket, ring=v2: RX ring depth in frames, a power of 2 (option n_rxq_desc, as OVS-DPDK's). */
  nRxqDesc?: number;
  /** tap: keep the device after the switch exits. */
  persist?: boolean;
  /** local: the TAP device's MAC, the bridge's (aa:bb:cc:dd:ee:ff); internal: a router interface's (OpenFlow port descriptions show it). */
  mac?: string;
  /** memory, unix: MTU. */
  mtu?: number;
  /** unix: socket path the switch listens on (default /run/tvs/NAME.sock). */
  path?: string;
  /** unix: 'stream' (QEMU -netdev stream, 4-byte length prefix per frame; the default) or 'dgram' (not supported yet). */
  mode?: 'stream' | 'dgram';
  /** vxlan, gre: the tunnel's options (OVS names remote_ip, local_ip, key, dst_port, tos, ttl, df_default). */
  tunnel?: TunnelConfig;
}

/** Options of a tunnel port, as OVS's `options:` column of the Interface table (the tunnel port's own). */
export type TunnelConfig = TunnelOptions;

/**
 * The bridge a port belongs to, as the port's owner and the run loop use it (implemented by
 * src/datapath/bridge.ts; declared here so a port does not import its bridge).
 */
export interface PortBridge {
  readonly name: string;
  readonly macs: MacTable;
  /** A port of this bridge by name. */
  port(name: string): SwitchPort | undefined;
  /** Frames received on `from` (parsed already when they crossed a patch or router port), at the batch clock's time. */
  input(from: SwitchPort, batch: Batch, parsed: boolean): void;
  /** Drop a frame for a reason of the bridge stage (a BRIDGE_DROPS id): counted once, released. */
  discard(slot: number, reason: number): void;
}

export class SwitchPort {
  /** Frames waiting to ENTER this port's bridge through this port (patch peer, router). */
  readonly ingress = new Batch(BURST * 4);
  /** Frames queued to leave through `io`. */
  readonly tx = new Uint32Array(BURST);
  txCount = 0;
  /** Patch: the peer port, once both ends exist. */
  peer: SwitchPort | null = null;
  /** Internal (logical) ports: who consumes frames sent to this port (a router interface). */
  sink: ((slot: number) => void) | null = null;
  /**
   * Packet capture taps (`tvs capture`); null when nobody captures, so the datapath pays one
   * comparison per batch for the feature.
   */
  taps: CaptureTap[] | null = null;
  /**
   * Frames held beyond a batch on behalf of this port (a router interface: frames from its
   * tenant waiting for ARP), with their limit; null for ports nothing holds frames for.
   */
  holds: HoldBudget | null = null;
  /** Administrative state for logical ports (io ports report their own). */
  adminUp = true;
  readonly ownCounters: PortCounters | null;
  /**
   * A patch port: `config.type` read once. The config objects differ in shape (each port's
   * options), so reading `config.type` in `up` for every frame sent to a logical port was a
   * megamorphic load (perf, bench/compare routed: Builtins_LoadIC_Megamorphic under NORMAL's
   * forward and the bridge input, ~8 ns per routed frame).
   */
  private readonly patch: boolean;

  constructor(
    readonly id: number,
    readonly name: string,
    readonly bridge: PortBridge,
    readonly ofport: number,
    readonly vlan: PortVlan,
    readonly io: Port | null,
    readonly config: PortConfig,
  ) {
    this.ownCounters = io ? null : new PortCounters();
    this.patch = config.type === 'patch';
  }

  get type(): PortType {
    return this.config.type;
  }

  get counters(): PortCounters {
    return this.io ? this.io.counters : this.ownCounters!;
  }

  get up(): boolean {
    if (this.io) return this.io.up;
    if (this.patch) return this.peer !== null && this.adminUp;
    return this.adminUp && this.sink !== null;
  }

  /** Largest frame accepted on receive that is not a GSO super-frame (MTU + Ethernet + 2 tags). */
  get maxRxFrame(): number {
    return (this.io ? this.io.mtu : 65535) + 14 + 8;
  }
}

/** A capture in progress on a port (allocates copies: only while someone is capturing). */
export interface CaptureTap {
  rx: boolean;
  tx: boolean;
  /** Called with each frame (a copy) and its direction. */
  onFrame(frame: Buffer, dir: 'in' | 'out'): void;
}
