/**
 * Drop counters by reason, one fixed table per stage (VPP's node `.error_strings`). A frame the
 * switch cannot handle is counted here and released, never thrown. Counting is an array
 * increment; names are only materialised for dumps.
 */

export class DropCounters<R extends string> {
  readonly reasons: readonly R[];
  private readonly counts: Float64Array;
  private readonly index: Record<string, number>;

  constructor(reasons: readonly R[]) {
    this.reasons = reasons;
    this.counts = new Float64Array(reasons.length);
    this.index = Object.create(null);
    reasons.forEach((r, i) => (this.index[r] = i));
  }

  /** Index of a reason, resolved once at module load so the hot path increments by number. */
  id(reason: R): number {
    const i = this.index[reason];
    if (i === undefined) throw new Error(`unknown drop reason '${reason}'`);
    return i;
  }

  add(id: number, n = 1): void {
    this.counts[id] += n;
  }

  get(reason: R): number {
    return this.counts[this.id(reason)];
  }

  total(): number {
    let t = 0;
    for (let i = 0; i < this.counts.length; i++) t += this.counts[i];
    return t;
  }

  /** Non-zero reasons only, for dumps. */
  toJSON(): Record<string, number> {
    const out: Record<string, number> = {};
    for (let i = 0; i < this.counts.length; i++) if (this.counts[i] !== 0) out[this.reasons[i]] = this.counts[i];
    return out;
  }

  reset(): void {
    this.counts.fill(0);
  }
}
