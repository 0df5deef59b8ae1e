/**
 * The router's neighbour table: IPv4 address → MAC (+ interface, expiry), typed arrays behind a
 * U32Map index so a hit costs one hash probe and no allocation. Bounded: when full, the entry
 * closest to (or furthest past) expiry is evicted (slow path, learning only).
 *
 * MACs are kept as (hi16, lo32) so the output path writes six bytes with shifts, not divisions.
 */
import { U32Map } from '../packet/u32-map';

export class ArpCache {
  readonly macHi: Uint16Array;
  readonly macLo: Uint32Array;
  readonly iface: Int32Array;
  readonly expires: Float64Array;
  readonly ip: Uint32Array;
  private readonly index: U32Map;
  private readonly freeList: Int32Array;
  private freeCount: number;
  readonly capacity: number;

  constructor(capacity = 4096) {
    this.capacity = capacity;
    this.macHi = new Uint16Array(capacity);
    this.macLo = new Uint32Array(capacity);
    this.iface = new Int32Array(capacity).fill(-1);
    this.expires = new Float64Array(capacity);
    this.ip = new Uint32Array(capacity);
    this.index = new U32Map(capacity);
    this.freeList = new Int32Array(capacity);
    for (let i = 0; i < capacity; i++) this.freeList[i] = capacity - 1 - i;
    this.freeCount = capacity;
  }

  get size(): number {
    return this.index.size;
  }

  /**
   * Entry index for `ip` (possibly expired — the caller compares `expires` with now), or -1.
   * The entry the last lookup found is tried first (it is still `ip`'s while it holds `ip` and
   * is live): routed traffic mostly goes to the next hop the previous frame went to (the
   * gateway, or one peer for a burst), and the check costs less than the hash probe it saves.
   */
  lookup(ip: number): number {
    const last = this.last;
    if (last >= 0 && this.ip[last] === ip >>> 0 && this.iface[last] !== -1) return last;
    const e = this.index.get(ip);
    if (e >= 0) this.last = e;
    return e;
  }
  private last = -1;

  has(ip: number): boolean {
    return this.index.get(ip) >= 0;
  }

  /** Insert or refresh. */
  learn(ip: number, macHi: number, macLo: number, iface: number, expires: number): void {
    let e = this.index.get(ip);
    if (e < 0) {
      if (this.freeCount === 0) this.evictSoonest();
      e = this.freeList[--this.freeCount];
      this.index.set(ip, e);
      this.ip[e] = ip;
    }
    this.macHi[e] = macHi;
    this.macLo[e] = macLo >>> 0;
    this.iface[e] = iface;
    this.expires[e] = expires;
  }

  delete(ip: number): void {
    const e = this.index.get(ip);
    if (e < 0) return;
    this.index.delete(ip);
    this.iface[e] = -1;
    this.freeList[this.freeCount++] = e;
  }

  /** Drop expired entries (aging); returns how many. */
  sweep(now: number): number {
    const dead: number[] = [];
    this.index.forEach((ip, e) => {
      if (this.expires[e] <= now) dead.push(ip);
    });
    for (const ip of dead) this.delete(ip);
    return dead.length;
  }

  /** Remove every entry learnt on an interface (it went away). */
  flushIface(iface: number): void {
    const dead: number[] = [];
    this.index.forEach((ip, e) => {
      if (this.iface[e] === iface) dead.push(ip);
    });
    for (const ip of dead) this.delete(ip);
  }

  entries(): { ip: number; macHi: number; macLo: number; iface: number; expires: number }[] {
    const out: { ip: number; macHi: number; macLo: number; iface: number; expires: number }[] = [];
    this.index.forEach((ip, e) => out.push({ ip, macHi: this.macHi[e], macLo: this.macLo[e], iface: this.iface[e], expires: this.expires[e] }));
    return out;
  }

  /** Full table: the entry closest to (or furthest past) expiry goes. */
  private evictSoonest(): void {
    let victim = -1;
    let soonest = Infinity;
    this.index.forEach((ip, e) => {
      if (this.expires[e] < soonest) {
        soonest = this.expires[e];
        victim = ip;
      }
    });
    if (victim >= 0) this.delete(victim);
  }
}
