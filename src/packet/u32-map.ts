/**
 * Open-addressing hash map from a 32-bit key (an IPv4 address) to a 32-bit value, in typed
 * arrays; `get` answers the value's int32 bits, -1 for a missing key. Keys may be given as
 * uint32 or as their int32 bits alike; a value is never 0xffffffff (it would read as missing:
 * the values are addresses other than the broadcast, counts and indices). Why not `Map<number, number>`: addresses above 2^31 are not Smis, so a Map
 * lookup from optimised code boxes the key as a HeapNumber — an allocation per packet. Here a
 * lookup is a multiply, a mask and a few array reads.
 *
 * Linear probing, load kept <= 1/2, deletion by backward shift (no tombstones, so lookups never
 * slow down with churn). Growth (rehash) happens only on insert, which is control plane or a
 * bounded slow path (ARP learning).
 */

export class U32Map {
  private keys: Uint32Array;
  private vals: Uint32Array;
  private used: Uint8Array;
  private mask: number;
  private n = 0;

  constructor(initialCapacity = 64) {
    let cap = 16;
    while (cap < initialCapacity * 2) cap <<= 1;
    this.keys = new Uint32Array(cap);
    this.vals = new Uint32Array(cap);
    this.used = new Uint8Array(cap);
    this.mask = cap - 1;
  }

  get size(): number {
    return this.n;
  }

  /**
   * The value for `key` as int32 bits (`>>> 0` for the uint32), or -1. The key as uint32 or as
   * int32 bits alike. Both int32 because a uint32 of 2^31 or more passed to or returned from a
   * call V8 does not inline is a heap number (a floating IP of 128.0.0.0/1 per new session):
   * callers on the hot path pass `x | 0`.
   */
  get(key: number): number {
    key |= 0;
    const keys = this.keys;
    const used = this.used;
    const m = this.mask;
    let i = hash(key) & m;
    for (;;) {
      if (used[i] === 0) return -1;
      if ((keys[i] | 0) === key) return this.vals[i] | 0;
      i = (i + 1) & m;
    }
  }

  has(key: number): boolean {
    return this.get(key) !== -1;
  }

  /** Insert or overwrite (key and value as uint32 or int32 bits; the value never 0xffffffff). */
  set(key: number, val: number): void {
    key |= 0;
    if ((val | 0) === -1) throw new RangeError('U32Map: 0xffffffff cannot be stored (it reads as missing)');
    if ((this.n + 1) * 2 > this.keys.length) this.grow();
    const m = this.mask;
    let i = hash(key) & m;
    for (;;) {
      if (this.used[i] === 0) {
        this.keys[i] = key;
        this.vals[i] = val;
        this.used[i] = 1;
        this.n++;
        return;
      }
      if ((this.keys[i] | 0) === key) {
        this.vals[i] = val;
        return;
      }
      i = (i + 1) & m;
    }
  }

  /** Remove `key`; returns whether it was present. */
  delete(key: number): boolean {
    key |= 0;
    const keys = this.keys;
    const vals = this.vals;
    const used = this.used;
    const m = this.mask;
    let i = hash(key) & m;
    for (;;) {
      if (used[i] === 0) return false;
      if ((keys[i] | 0) === key) break;
      i = (i + 1) & m;
    }
    // Backward-shift: pull later members of the probe run into the hole when their home
    // position is at or before it (cyclically), so every remaining key stays reachable.
    let hole = i;
    let j = i;
    for (;;) {
      j = (j + 1) & m;
      if (used[j] === 0) break;
      const home = hash(keys[j]) & m;
      if (((j - home) & m) >= ((j - hole) & m)) {
        keys[hole] = keys[j];
        vals[hole] = vals[j];
        hole = j;
      }
    }
    used[hole] = 0;
    this.n--;
    return true;
  }

  clear(): void {
    this.used.fill(0);
    this.n = 0;
  }

  forEach(fn: (key: number, val: number) => void): void {
    for (let i = 0; i < this.used.length; i++) if (this.used[i] !== 0) fn(this.keys[i], this.vals[i]);
  }

  private grow(): void {
    const oldK = this.keys;
    const oldV = this.vals;
    const oldU = this.used;
    const cap = oldK.length * 2;
    this.keys = new Uint32Array(cap);
    this.vals = new Uint32Array(cap);
    this.used = new Uint8Array(cap);
    this.mask = cap - 1;
    this.n = 0;
    for (let i = 0; i < oldK.length; i++) if (oldU[i] !== 0) this.set(oldK[i], oldV[i]);
  }
}

/**
 * Murmur3 finaliser: consecutive addresses (a /24 of hosts) spread over the table. Returns the
 * int32 bits (callers mask them): a uint32 of 2^31 or more returned from a call V8 does not
 * inline is a heap number (seen on the routed path: one per ~170 frames in memory).
 */
export function hash(k: number): number {
  k = Math.imul(k ^ (k >>> 16), 0x85ebca6b);
  k = Math.imul(k ^ (k >>> 13), 0xc2b2ae35);
  return k ^ (k >>> 16);
}
