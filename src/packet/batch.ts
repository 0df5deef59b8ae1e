/**
 * A batch is a list of arena slot indices. Every boundary (native rx/tx, bridge, flow tables,
 * router) moves batches, never single packets: one N-API call costs as much as the whole
 * per-packet JS budget (OVS moves 32 per call, VPP up to 256).
 */

/** Frames per rx burst and the capacity of every batch. */
export const BURST = 256;

export class Batch {
  readonly slots: Uint32Array;
  count = 0;

  constructor(capacity: number = BURST) {
    this.slots = new Uint32Array(capacity);
  }

  get capacity(): number {
    return this.slots.length;
  }

  /** Append a slot; returns false (and appends nothing) when the batch is full. */
  push(slot: number): boolean {
    if (this.count === this.slots.length) return false;
    this.slots[this.count++] = slot;
    return true;
  }

  clear(): void {
    this.count = 0;
  }
}
