/**
 * The port interface every I/O kind implements (AF_PACKET, TAP, in-memory, patch). The datapath
 * only sees this. Bursts move whole batches; they return counts or -errno and never throw.
 */
import { Batch } from '../packet/batch';
import { DropCounters, defineDrops } from '../packet/drops';
import type { LinkInfo } from './binding';

export type PortKind = 'afpacket' | 'tap' | 'memory' | 'patch' | 'unix' | 'vxlan' | 'gre';

/** Why a port dropped a frame (on its rx or tx side). */
export const PORT_DROPS = defineDrops('port', {
  rx_kernel_ring: "the kernel's receive ring overflowed before the switch read it (PACKET_STATISTICS tp_drops)",
  rx_oversize: 'a received frame larger than a packet buffer',
  rx_no_buffer: 'no free packet buffer to receive into',
  tx_full: 'the kernel would not take more frames this burst (EAGAIN / ENOBUFS)',
  tx_error: 'the kernel refused the frame (e.g. EMSGSIZE above the MTU)',
  tx_port_down: 'output to a port that is down or closed',
  tx_mtu: "a frame larger than the output port's MTU (and not a GSO frame)",
  tx_gso_unsupported: 'a GSO super-frame that could not be segmented for a port without offloads',
});
export const PORT_DROP_REASONS = PORT_DROPS.reasons;
export type PortDropReason = (typeof PORT_DROP_REASONS)[number];

export class PortCounters {
  rxPackets = 0;
  rxBytes = 0;
  txPackets = 0;
  txBytes = 0;
  readonly drops = new DropCounters<PortDropReason>(PORT_DROPS);

  toJSON(): Record<string, unknown> {
    return {
      rx_packets: this.rxPackets,
      rx_bytes: this.rxBytes,
      tx_packets: this.txPackets,
      tx_bytes: this.txBytes,
      drops: this.drops.toJSON(),
    };
  }
}

/** Drop reason ids (hot path increments by number). */
export const DROP_RX_KERNEL = PORT_DROPS.id.rx_kernel_ring;
export const DROP_RX_OVERSIZE = PORT_DROPS.id.rx_oversize;
export const DROP_RX_NO_BUFFER = PORT_DROPS.id.rx_no_buffer;
export const DROP_TX_FULL = PORT_DROPS.id.tx_full;
export const DROP_TX_ERROR = PORT_DROPS.id.tx_error;
export const DROP_TX_DOWN = PORT_DROPS.id.tx_port_down;
export const DROP_TX_MTU = PORT_DROPS.id.tx_mtu;
export const DROP_TX_GSO = PORT_DROPS.id.tx_gso_unsupported;

export interface Port {
  readonly name: string;
  readonly kind: PortKind;
  /**
   * True when the port carries the virtio-net header: it accepts frames with a partial checksum
   * (VIRTIO_NET_HDR_F_NEEDS_CSUM) and GSO super-frames, and may deliver them. Frames going to a
   * port without offloads get their checksum completed (and GSO frames segmented) first.
   */
  readonly offloads: boolean;
  /** L3 MTU of the link (frames may be MTU + 14 + 4 per tag bytes long). */
  readonly mtu: number;
  /** False once the link went away or the port was closed; the datapath then skips it. */
  readonly up: boolean;
  readonly counters: PortCounters;
  /** Memory the port maps for itself (an AF_PACKET rx ring), shown in dump-ports and metrics. */
  readonly ringBytes?: number;
  /** An AF_PACKET v2 rx ring's depth in frames (n_rxq_desc) and bytes per frame; absent for a v3 ring. */
  readonly rxRingFrames?: number;
  readonly rxRingFrameSize?: number;
  /**
   * Pull counters kept outside the port (the kernel's ring drops) into `counters` now. The
   * datapath does it at most once a second while frames flow; a reader (dump-ports, metrics)
   * calls it so that drops of the last second before traffic stopped are not missing.
   */
  refreshStats?(): void;
  /** An AF_PACKET port's TX ring (tx_ring=on), shown the same way. */
  readonly txRingBytes?: number;

  /**
   * Receive frames into arena slots appended to `batch` (at most batch.capacity - batch.count).
   * Returns the number received, 0 when nothing is waiting, or -errno (the port is then down).
   */
  rxBurst(batch: Batch): number;

  /**
   * Transmit `slots[0..n)`. Returns how many the port took (the rest are the caller's to count
   * as dropped), or -errno. Never keeps a reference: the caller releases every slot afterwards.
   */
  txBurst(slots: Uint32Array, n: number): number;

  /**
   * Optional: called by the bridge right after the parse pass on frames this port received, to
   * write key words that come from outside the frame (a tunnel port's tun_id, tun_src, tun_dst).
   */
  markParsed?(batch: Batch): void;

  /**
   * Start watching for readiness. `onReadable` runs when frames may be waiting. `clock`: the
   * datapath's batch clock (packet/batch-clock.ts), current whenever the datapath calls a burst
   * method; a port that keeps time per burst (a rate limit) reads it there instead of reading
   * a clock itself, which would allocate a heap number per burst.
   *
   * `stamp`: the datapath's clock is monotonicMs (packet/batch-clock.ts). A port that can read
   * that clock where it wakes up (native ports: the addon) then writes the wakeup time into
   * clock[0] before each onReadable call and passes `stamped` true, and the datapath does not
   * read its clock for that wakeup. Ports that cannot call onReadable() without it.
   */
  start(onReadable: (stamped?: boolean) => void, clock?: Float64Array, stamp?: boolean): void;
  /** Stop watching (the port stays open). */
  stop(): void;
  /** Stop and release the OS resources. Idempotent. */
  close(): void;

  /** Port-specific details for `tvs show` / dump-ports (ifindex, MAC, device name...). */
  describe(): Record<string, unknown>;

  /**
   * The Ethernet address of the kernel device behind the port ("aa:bb:cc:dd:ee:ff"), read from
   * the kernel at each call: a user may change it after add-port, and OpenFlow port descriptions
   * (ovs-ofctl show) report the device's address as it is. Absent for ports without a device.
   * Control path only: a system call or more per call, never called per frame.
   */
  hwAddr?(): string;

  /**
   * The kernel device's interface index (AF_PACKET, TAP): what link notifications name
   * (io/link-monitor.ts). Absent for ports without a device.
   */
  readonly ifindex?: number;

  /**
   * The device's link now: admin state, carrier, address (a netlink query). Undefined when the
   * device is gone. Control path only, like hwAddr.
   */
  linkState?(): LinkInfo | undefined;
}
