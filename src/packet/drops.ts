/**
 * Drop reasons and their counters (VPP's `foreach_*_error` pattern). Each stage declares its
 * reasons ONCE, with what each means in words:
 *
 *   export const FLOW_DROPS = defineDrops('flow', {
 *     table_miss: 'no flow matched in table 0 (OpenFlow table-miss: drop)',
 *     ...
 *   });
 *
 * and gets from that one list the numeric ids its hot path counts by (`FLOW_DROPS.id.table_miss`,
 * resolved at module load), the names dumps and metric labels print, and the explanations
 * `tvs dump-ports` shows in its legend. A frame the switch cannot handle is counted once, by the
 * stage that drops it, and released, never thrown. Counting is an array increment; names are
 * only materialised for dumps.
 */

export interface DropRegistry<R extends string = string> {
  /** The stage that declares these reasons ('parse', 'port', 'bridge', 'flow', 'normal', 'router'). */
  readonly stage: string;
  /** Reasons in id order; also the metric label values. */
  readonly reasons: readonly R[];
  /** Numeric id of each reason (index into `reasons`). */
  readonly id: { readonly [K in R]: number };
  /** What each reason means, in words. */
  readonly text: { readonly [K in R]: string };
}

const registries: DropRegistry[] = [];

/** Declare a stage's drop reasons (once, at module load). */
export function defineDrops<R extends string>(stage: string, decl: { readonly [K in R]: string }): DropRegistry<R> {
  const reasons = Object.keys(decl) as R[];
  const id = Object.create(null) as { [K in R]: number };
  reasons.forEach((r, i) => (id[r] = i));
  const reg: DropRegistry<R> = { stage, reasons, id, text: decl };
  if (registries.some((x) => x.stage === stage)) throw new Error(`drop reasons of stage '${stage}' declared twice`);
  registries.push(reg);
  return reg;
}

/** Every declared stage's reasons (legend, metrics help). */
export function dropRegistries(): readonly DropRegistry[] {
  return registries;
}

/**
 * What a reason name means, for each stage that declares it ("flow: …; normal: …"), or
 * undefined for a name no stage declares.
 */
export function explainDrop(reason: string): string | undefined {
  const hits = registries.filter((r) => Object.prototype.hasOwnProperty.call(r.text, reason)).sort((x, y) => x.stage.localeCompare(y.stage));
  if (hits.length === 0) return undefined;
  if (hits.length === 1) return (hits[0].text as Record<string, string>)[reason];
  return hits.map((r) => `${r.stage}: ${(r.text as Record<string, string>)[reason]}`).join('; ');
}

export class DropCounters<R extends string> {
  readonly reasons: readonly R[];
  /** The stage's declaration (undefined for an ad-hoc list of names). */
  readonly registry: DropRegistry<R> | undefined;
  private readonly counts: Float64Array;
  private readonly index: Record<string, number>;

  constructor(reasons: DropRegistry<R> | readonly R[]) {
    const list = 'reasons' in reasons && !Array.isArray(reasons) ? (reasons as DropRegistry<R>).reasons : (reasons as readonly R[]);
    this.registry = Array.isArray(reasons) ? undefined : (reasons as DropRegistry<R>);
    this.reasons = list;
    this.counts = new Float64Array(list.length);
    this.index = Object.create(null);
    list.forEach((r, i) => (this.index[r] = i));
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

  /** Add the non-zero counts into `into`, by name (views that merge several stages). */
  addTo(into: Record<string, number>): Record<string, number> {
    for (let i = 0; i < this.counts.length; i++) if (this.counts[i] !== 0) into[this.reasons[i]] = (into[this.reasons[i]] ?? 0) + this.counts[i];
    return into;
  }

  reset(): void {
    this.counts.fill(0);
  }
}
