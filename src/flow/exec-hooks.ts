/** What the executor calls out to: the tracer (tvs trace) and the learn host (the pipeline). */
import type * as A from './actions';
import type { CompiledLearn } from './learn';

/** Observer for trace(): told about every lookup, action and drop. Null on the fast path. */
export interface ExecTracer {
  lookup(table: number, ruleId: number, slot: number, depth: number): void;
  action(ruleId: number, pc: number, slot: number, depth: number): void;
  event(text: string, depth: number): void;
  /** An action of the action set runs (at the end of the pipeline). */
  actionSet(a: A.Action, depth: number): void;
}

/** What the executor calls for OP_LEARN (the pipeline; see learn.ts). */
export interface LearnHost {
  /**
   * Run learn `cl` for the packet in `slot`, taught by rule `rid`, at batch time `now` (ms).
   * `dry` (trace): build and describe the flow, change nothing; a tracer hears what was learned.
   */
  learn(cl: CompiledLearn, slot: number, rid: number, now: number, dry: boolean, tracer: ExecTracer | null, depth: number): void;
}
