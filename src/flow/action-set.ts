/**
 * The packet's OpenFlow 1.3 action set (section 5.10): what write_actions accumulated across
 * tables, run by the executor when the pipeline ends. Fixed-size arrays filled by reference:
 * writing and clearing allocate nothing, and a pipeline that never writes pays one emptiness
 * test per packet.
 *
 * At most one action of each kind (actions.ts ACTION_SET_ORDER); a later write replaces the
 * earlier one. Set-kind actions are kept one per destination field, in the order of their last
 * write (OVS applies them in write order too).
 */
import { AS_KINDS, AS_SET, type Action, type CompiledWrite, type Plan } from './actions';

/** Distinct set-field keys an action set can hold (more than there are writable fields). */
const SET_CAPACITY = 128;

export class ActionSet {
  /** Bit k set: kind k (not AS_SET) holds plan[k]. */
  mask = 0;
  readonly plan: (Plan | null)[] = new Array<Plan | null>(AS_KINDS).fill(null);
  readonly act: (Action | null)[] = new Array<Action | null>(AS_KINDS).fill(null);
  /** Rule and table that wrote each entry (a CONTROLLER output reports them in packet-ins). */
  readonly rid = new Int32Array(AS_KINDS);
  readonly table = new Int32Array(AS_KINDS);
  /** The set-field entries, in order. */
  nSet = 0;
  readonly setPlan: (Plan | null)[] = new Array<Plan | null>(SET_CAPACITY).fill(null);
  readonly setAct: (Action | null)[] = new Array<Action | null>(SET_CAPACITY).fill(null);
  readonly setKey = new Int32Array(SET_CAPACITY);
  readonly setRid = new Int32Array(SET_CAPACITY);
  readonly setTable = new Int32Array(SET_CAPACITY);

  get empty(): boolean {
    return this.mask === 0 && this.nSet === 0;
  }

  /** clear_actions (entries stay referenced until overwritten; only the counts matter). */
  clear(): void {
    this.mask = 0;
    this.nSet = 0;
  }

  /** write_actions: merge `w`, written by rule `rid` in `table`. */
  write(w: CompiledWrite, rid: number, table: number): void {
    for (let i = 0; i < w.kinds.length; i++) {
      const kind = w.kinds[i];
      if (kind !== AS_SET) {
        this.mask |= 1 << kind;
        this.plan[kind] = w.plans[i];
        this.act[kind] = w.actions[i];
        this.rid[kind] = rid;
        this.table[kind] = table;
        continue;
      }
      const key = w.keys[i];
      let n = this.nSet;
      for (let j = 0; j < n; j++) {
        if (this.setKey[j] !== key) continue;
        // Replace: drop the old entry, the new one goes last (the order of last writes).
        for (let m = j + 1; m < n; m++) this.moveSet(m, m - 1);
        n--;
        break;
      }
      if (n >= SET_CAPACITY) continue; // cannot happen: keys are distinct writable fields
      this.setPlan[n] = w.plans[i];
      this.setAct[n] = w.actions[i];
      this.setKey[n] = key;
      this.setRid[n] = rid;
      this.setTable[n] = table;
      this.nSet = n + 1;
    }
  }

  /** Make this set a copy of `o` (a ct() fork gives both passes the set as it was). */
  copyFrom(o: ActionSet): void {
    this.mask = o.mask;
    for (let k = 0; k < AS_KINDS; k++) {
      this.plan[k] = o.plan[k];
      this.act[k] = o.act[k];
      this.rid[k] = o.rid[k];
      this.table[k] = o.table[k];
    }
    this.nSet = o.nSet;
    for (let j = 0; j < o.nSet; j++) {
      this.setPlan[j] = o.setPlan[j];
      this.setAct[j] = o.setAct[j];
      this.setKey[j] = o.setKey[j];
      this.setRid[j] = o.setRid[j];
      this.setTable[j] = o.setTable[j];
    }
  }

  private moveSet(from: number, to: number): void {
    this.setPlan[to] = this.setPlan[from];
    this.setAct[to] = this.setAct[from];
    this.setKey[to] = this.setKey[from];
    this.setRid[to] = this.setRid[from];
    this.setTable[to] = this.setTable[from];
  }
}
