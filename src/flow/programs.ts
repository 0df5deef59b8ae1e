/**
 * Compiled action lists shared between rules. Large tables repeat a small set of action lists
 * (`output:2`, `mod_vlan_vid:101,NORMAL`, `resubmit(,2)`...): each distinct one is compiled and
 * stored once, with a count of the rules using it, and dropped when the last one goes. A rule
 * then costs a pointer instead of its own action objects, plan and pc list (~580 bytes).
 *
 * Two action lists are the same program when they print the same (ovs-ofctl syntax, port
 * numbers) AND compile to the same plan: what dump-flows shows and what the datapath does are
 * then both indistinguishable.
 */
import { compile, conjClauses, OP_GOTO, OP_LEN, OP_RESUBMIT, OP_RESUBMIT_CT, type Action, type CompiledWrite, type Plan } from './actions';
import { CompiledLearn } from './learn';

export interface Program {
  readonly key: string;
  /** The action list as parsed (what dump-flows prints); shared, never modified. */
  readonly actions: readonly Action[];
  readonly plan: Plan;
  /** pc of each action's first instruction in `plan` (-1 for actions that compile to nothing). */
  readonly pcs: readonly number[];
  /** Conjunction clauses [id, k, n, ...] of a conjunctive action list, else null. */
  readonly conj: Int32Array | null;
  /** The learn actions compiled for the hot path (OP_LEARN operands index this). */
  readonly learns: CompiledLearn[];
  /** The write_actions instructions compiled (OP_WRITE_ACTIONS operands index this). */
  readonly writes: CompiledWrite[];
  refs: number;
}

export class ProgramCache {
  private readonly byKey = new Map<string, Program>();
  /**
   * Distinct programs held that resubmit or goto another table: while there are none, every
   * pass is one lookup and the executor's pass cache would only cost (execute.ts).
   */
  jumps = 0;

  /** `text` prints an action list as dump-flows would (ofctl-format's formatActions). */
  constructor(private readonly text: (actions: readonly Action[]) => string) {}

  /** Distinct programs held. */
  get size(): number {
    return this.byKey.size;
  }

  /** The program for `actions` (compiled now or shared), with one more reference. */
  acquire(actions: readonly Action[]): Program {
    const { plan, pcs, learns, writes } = compile(actions);
    const key = this.text(actions) + '\n' + plan.join(',');
    let p = this.byKey.get(key);
    if (p === undefined) {
      p = { key, actions, plan, pcs, conj: conjClauses(actions), learns: learns.map((l) => new CompiledLearn(l)), writes, refs: 0 };
      this.byKey.set(key, p);
      if (jumps(plan)) this.jumps++;
    }
    p.refs++;
    return p;
  }

  /** Drop one reference; the program is forgotten with its last rule. */
  release(p: Program): void {
    if (--p.refs === 0 && this.byKey.get(p.key) === p) {
      this.byKey.delete(p.key);
      if (jumps(p.plan)) this.jumps--;
    }
  }
}

function jumps(plan: Plan): boolean {
  for (let pc = 0; pc < plan.length; pc += OP_LEN[plan[pc]]) {
    const op = plan[pc];
    if (op === OP_RESUBMIT || op === OP_GOTO || op === OP_RESUBMIT_CT) return true;
  }
  return false;
}
