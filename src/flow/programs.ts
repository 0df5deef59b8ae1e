/**
 * Compiled action lists shared between rules. Large tables repeat a small set of action lists
 * (`output:2`, `mod_vlan_vid:101,NORMAL`, `resubmit(,2)`...): each distinct one is compiled and
 * stored once, with a count of the rules using it, and dropped when the last one goes. A rule
 * then costs a pointer instead of its own action objects, plan and pc list (~580 bytes).
 *
 * Two action lists are the same program when they are structurally the same (action-identity.ts:
 * same actions in the same order, same field values): they then print the same (ovs-ofctl
 * syntax, port numbers) and compile to the same plan, so what dump-flows shows and what the
 * datapath does are both indistinguishable. Finding a list's program neither prints nor
 * compiles it: a hash of its values picks the candidates, a comparison of values decides; only
 * a new program is compiled.
 */
import { compile, conjClauses, OP_GOTO, OP_LEN, OP_RESUBMIT, OP_RESUBMIT_CT, type Action, type CompiledWrite, type Plan } from './actions';
import { actionsHash, sameActions } from './action-identity';
import { CompiledLearn } from './learn';

export interface Program {
  /** actionsHash of `actions`. */
  readonly hash: number;
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
  /** The next program held whose actions have the same hash (a chain, nearly always empty). */
  next: Program | null;
}

export class ProgramCache {
  /** Programs by actionsHash, each the head of its chain (`next`). */
  private readonly byHash = new Map<number, Program>();
  private count = 0;
  /**
   * Distinct programs held that resubmit or goto another table: while there are none, every
   * pass is one lookup and the executor's pass cache would only cost (execute.ts).
   */
  jumps = 0;

  /** `hash` is actionsHash; a test passes a weaker one to exercise the chains. */
  constructor(private readonly hash: (actions: readonly Action[]) => number = actionsHash) {}

  /** Distinct programs held. */
  get size(): number {
    return this.count;
  }

  /**
   * The program for `actions` (compiled now or shared), with one more reference. Throws, holding
   * nothing, when the actions cannot be compiled.
   */
  acquire(actions: readonly Action[]): Program {
    const hash = this.hash(actions);
    const head = this.byHash.get(hash);
    for (let p = head ?? null; p !== null; p = p.next) {
      if (sameActions(p.actions, actions)) {
        p.refs++;
        return p;
      }
    }
    const { plan, pcs, learns, writes } = compile(actions);
    const p: Program = {
      hash, actions, plan, pcs, conj: conjClauses(actions), learns: learns.map((l) => new CompiledLearn(l)), writes,
      refs: 1, next: head ?? null,
    };
    this.byHash.set(hash, p);
    this.count++;
    if (jumps(plan)) this.jumps++;
    return p;
  }

  /** Drop one reference; the program is forgotten with its last rule. */
  release(p: Program): void {
    if (--p.refs !== 0) return;
    const head = this.byHash.get(p.hash);
    if (head === p) {
      if (p.next === null) this.byHash.delete(p.hash);
      else this.byHash.set(p.hash, p.next);
    } else {
      let q = head ?? null;
      while (q !== null && q.next !== p) q = q.next;
      if (q === null) return; // not held (released once too often): nothing to forget
      q.next = p.next;
    }
    p.next = null;
    this.count--;
    if (jumps(p.plan)) this.jumps--;
  }
}

function jumps(plan: Plan): boolean {
  for (let pc = 0; pc < plan.length; pc += OP_LEN[plan[pc]]) {
    const op = plan[pc];
    if (op === OP_RESUBMIT || op === OP_GOTO || op === OP_RESUBMIT_CT) return true;
  }
  return false;
}
