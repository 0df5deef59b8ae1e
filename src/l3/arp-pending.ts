/**
 * Frames waiting for a next hop's MAC (the "unresolved" queue of a neighbour entry, Linux
 * `neigh->arp_queue`). One record per next hop being resolved, holding the queued slots and the
 * interface each came in on (an ARP failure answers each sender with host unreachable).
 *
 * The limits are the whole memory this queue may hold on to: a frame beyond them is dropped
 * (`arp_queue_full`) rather than queued. Each queued frame is also charged to a hold budget
 * (the arrival interface's, see neighbours.ts), kept here so it is given back to the same one.
 *
 * Keyed by the next hop's int32 bits (`ip | 0`): as uint32, an address of 128.0.0.0 or more is
 * not a small integer, and every lookup V8 does not inline (each frame routed to a next hop
 * still being resolved asks one to three) boxed it into a 16-byte heap number. Callers on the
 * forwarding path pass the address as int32 bits too; `Pending.ip` is the unsigned address.
 */
import type { HoldBudget } from '../packet/hold-budget';


/** Frames held per unresolved next hop (Linux `unres_qlen` is in the same range). */
export const ARP_QUEUE_LEN_DEFAULT = 16;
/** Next hops being resolved at once. */
export const ARP_MAX_PENDING_DEFAULT = 256;

export interface Pending {
  /** The next hop, unsigned (as shown). */
  ip: number;
  iface: number;
  slots: number[];
  inIfs: number[];
  /** The budget each queued frame is charged to. */
  budgets: HoldBudget[];
  /** ARP requests sent so far. */
  probes: number;
  /** When the next request (or the failure) is due. */
  next: number;
}

export class PendingQueue {
  private readonly byIp = new Map<number, Pending>();

  constructor(
    /** Frames held per next hop. */
    readonly queueLen = ARP_QUEUE_LEN_DEFAULT,
    /** Next hops pending at once. */
    readonly maxPending = ARP_MAX_PENDING_DEFAULT,
  ) {}

  get size(): number {
    return this.byIp.size;
  }

  get(ip: number): Pending | undefined {
    return this.byIp.get(ip | 0);
  }

  /** Would a frame for next hop `ip` be accepted now? (Pure: trace asks this.) */
  hasRoom(ip: number): boolean {
    const p = this.byIp.get(ip | 0);
    return p === undefined ? this.byIp.size < this.maxPending : p.slots.length < this.queueLen;
  }

  /** Start resolving `ip` on `iface` (the caller sends the first request). */
  open(ip: number, iface: number, next: number): Pending {
    const p: Pending = { ip: ip >>> 0, iface, slots: [], inIfs: [], budgets: [], probes: 1, next };
    this.byIp.set(ip | 0, p);
    return p;
  }

  /** Whether `p` can take another frame. */
  full(p: Pending): boolean {
    return p.slots.length >= this.queueLen;
  }

  /** Queue slot `s` (arrived on `inIf`, charged to `budget`) on `p`; false when the queue is full. */
  push(p: Pending, s: number, inIf: number, budget: HoldBudget): boolean {
    if (p.slots.length >= this.queueLen) return false;
    p.slots.push(s);
    p.inIfs.push(inIf);
    p.budgets.push(budget);
    return true;
  }

  /** Stop resolving `ip`; the record (with its frames, now the caller's) or undefined. */
  take(ip: number): Pending | undefined {
    const k = ip | 0;
    const p = this.byIp.get(k);
    if (p !== undefined) this.byIp.delete(k);
    return p;
  }

  /** A snapshot of the records (the caller may take them while iterating). */
  list(): Pending[] {
    return [...this.byIp.values()];
  }
}
