/**
 * The link of each port that has a kernel device (AF_PACKET, TAP, a bridge's LOCAL port), as the
 * kernel announces it: admin state, carrier and address, from the moment a port with a device
 * is watched until the switch stops. Maps the notification's interface index to the ports on
 * that device; the switch turns each into a 'port-link' event (OpenFlow's PORT_STATUS MODIFY).
 * One netlink socket for the whole switch, read only when the kernel has news.
 *
 * Notifications are taken LINK_SETTLE_MS after the first of a burst, the last one per device:
 * `ip link set DEV up` brings two within ~100 µs (IFF_UP, then carrier once the kernel's
 * linkwatch ran), and OVS, whose main loop reads them together, announces only the result
 * (one MODIFY, LIVE); taken one by one they gave an extra MODIFY (LINK_DOWN) in between. When
 * the kernel holds the carrier back (linkwatch runs at most once a second for most devices: a
 * veth set up within a second of its last change got carrier ~650 ms after IFF_UP), OVS too
 * sees two states and sends both MODIFYs, as tvs then does.
 */
import type { LinkInfo, LinkMonitor } from '../io/link-monitor';
import type { IoFactory } from './io-factory';
import type { SwitchPort } from './switch-port';

/**
 * How long a burst of link notifications may take to arrive (ms), see above: ~100 µs apart
 * measured, with room for the kernel's worker running late on a loaded machine.
 */
export const LINK_SETTLE_MS = 50;

export class PortLinkWatch {
  private monitor: LinkMonitor | null = null;
  /** The last notification per interface index of a port, waiting for the burst to end (at most one per port). */
  private readonly pending = new Map<number, LinkInfo>();
  private settle: NodeJS.Timeout | null = null;
  /** The factory has no link monitor, or opening it failed: not tried again until close(). */
  private unavailable = false;

  constructor(
    private readonly io: IoFactory,
    /** The switch's ports (sparse: removed ones are undefined). */
    private readonly ports: () => readonly (SwitchPort | undefined)[],
    private readonly onLink: (p: SwitchPort, link: LinkInfo) => void,
    private readonly onError: (e: Error) => void,
  ) {}

  /** Listen from now on (idempotent): a port with a device is being watched. */
  need(): void {
    if (this.monitor !== null || this.unavailable || this.io.watchLinks === undefined) return;
    try {
      this.monitor = this.io.watchLinks({
        links: (links) => this.collect(links),
        overrun: () => this.resync(),
        failed: (errno) => {
          // The socket broke: a new one, and every port read again for what was missed.
          this.monitor = null;
          this.onError(new Error(`link monitor: its netlink socket failed (errno ${-errno}); reopened`));
          this.need();
          this.resync();
        },
      });
    } catch (e) {
      this.onError(new Error(`link monitor: ${(e as Error).message}; port link changes are not announced`));
    }
    if (this.monitor === null) this.unavailable = true;
  }

  close(): void {
    this.monitor?.close();
    this.monitor = null;
    this.unavailable = false;
    if (this.settle !== null) clearTimeout(this.settle);
    this.settle = null;
    this.pending.clear();
  }

  /** Keep the last notification of each device behind a port, until the burst settled. */
  private collect(links: readonly LinkInfo[]): void {
    const ports = this.ports();
    for (const l of links) {
      // A device that went away is the port's own I/O's news (its next burst fails: 'port-down').
      if (l.deleted) continue;
      if (ports.some((p) => p !== undefined && p.io !== null && p.io.ifindex === l.ifindex)) this.pending.set(l.ifindex, l);
    }
    if (this.pending.size > 0 && this.settle === null) {
      this.settle = setTimeout(() => this.deliver(), LINK_SETTLE_MS);
      this.settle.unref();
    }
  }

  private deliver(): void {
    this.settle = null;
    const ports = this.ports();
    for (const l of this.pending.values()) {
      for (const p of ports) {
        if (p !== undefined && p.io !== null && p.io.up && p.io.ifindex === l.ifindex) this.onLink(p, l);
      }
    }
    this.pending.clear();
  }

  /** Notifications were lost: the state of every port with a device, read now. */
  private resync(): void {
    this.pending.clear(); // older than what is read now
    for (const p of this.ports()) {
      if (p === undefined || p.io === null || !p.io.up || p.io.linkState === undefined) continue;
      const l = p.io.linkState();
      if (l !== undefined) this.onLink(p, l);
    }
  }
}
