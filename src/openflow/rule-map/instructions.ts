/**
 * OpenFlow 1.3 instructions ↔ the rule model's single action list (apply_actions,
 * clear_actions, write_actions, write_metadata, goto_table, meter).
 */
import { Match } from '../../flow/match';
import { actionSetKind, type Action } from '../../flow/actions';
import type { OfAction, OfInstruction } from '../../wire/openflow/actions';
import { OfError } from '../../wire/openflow/buffer';
import { BAD_ACTION, BAD_INSTRUCTION, ET, OFPTT_ALL } from '../../wire/openflow/constants';
import { badAction } from './errors';
import { checkConjunctive, actionsFromOf, type ActionContext } from './actions-from-of';
import { actionToOf, actionsToOf } from './actions-to-of';

/**
 * Instructions → the rule model's single action list, in OpenFlow's instruction order: apply,
 * clear_actions, write_actions, write_metadata, goto_table (how ovs-ofctl prints them).
 */
export function actionsFromInstructions(insts: readonly OfInstruction[], ctx: ActionContext): Action[] {
  const apply: Action[] = [];
  const set: Action[] = [];
  const tail: Action[] = [];
  let goto: Action | undefined;
  const seen = new Set<string>();
  for (const i of insts) {
    if (seen.has(i.type) && i.type !== 'unknown') throw new OfError(ET.BAD_INSTRUCTION, BAD_INSTRUCTION.UNSUP_INST, `instruction ${i.type} appears twice`);
    seen.add(i.type);
    switch (i.type) {
      case 'apply_actions':
        apply.push(...actionsFromOf(i.actions, ctx));
        break;
      case 'clear_actions':
        set.unshift({ type: 'clear_actions' });
        break;
      case 'write_actions': {
        const acts = actionsFromOf(i.actions, ctx);
        for (const a of acts) {
          // OVS ofpacts_verify: "%s action not allowed in action set".
          if (actionSetKind(a) < 0) throw badAction(BAD_ACTION.UNSUPPORTED_ORDER, `${a.type} action not allowed in the action set`);
        }
        if (acts.length > 0) set.push({ type: 'write_actions', actions: acts });
        break;
      }
      case 'write_metadata':
        tail.push({ type: 'write_metadata', value: i.metadata & i.mask, mask: i.mask });
        break;
      case 'goto_table':
        if (i.table <= ctx.table || i.table >= OFPTT_ALL) throw new OfError(ET.BAD_INSTRUCTION, BAD_INSTRUCTION.BAD_TABLE_ID, `goto_table ${i.table} from table ${ctx.table}: must go to a later table`);
        goto = { type: 'goto_table', table: i.table };
        break;
      case 'meter':
        throw new OfError(ET.BAD_INSTRUCTION, BAD_INSTRUCTION.UNSUP_INST, `meter ${i.meterId}: tvs has no meters`);
      case 'unknown':
        throw new OfError(ET.BAD_INSTRUCTION, i.instType === 0xffff ? BAD_INSTRUCTION.BAD_EXPERIMENTER : BAD_INSTRUCTION.UNKNOWN_INST, `instruction type ${i.instType} is not supported`);
    }
  }
  return checkConjunctive(goto ? [...apply, ...set, ...tail, goto] : [...apply, ...set, ...tail]);
}

/**
 * Rule-model actions → OpenFlow 1.3 instructions (meter, apply_actions, clear_actions,
 * write_actions, write_metadata, goto_table).
 */
export function instructionsFromActions(actions: readonly Action[], m: Match): OfInstruction[] {
  const apply: OfAction[] = [];
  const out: OfInstruction[] = [];
  let clear: OfInstruction | undefined;
  let write: OfInstruction | undefined;
  let meta: OfInstruction | undefined;
  let goto: OfInstruction | undefined;
  for (const a of actions) {
    // meter:N (accepted from ovs-ofctl text; the instruction comes first, as OpenFlow orders them).
    if (a.type === 'meter') out.push({ type: 'meter', meterId: a.id });
    else if (a.type === 'goto_table') goto = { type: 'goto_table', table: a.table };
    else if (a.type === 'write_metadata') meta = { type: 'write_metadata', metadata: a.value, mask: a.mask };
    else if (a.type === 'clear_actions') clear = { type: 'clear_actions' };
    else if (a.type === 'write_actions') write = { type: 'write_actions', actions: actionsToOf(a.actions, m) };
    else actionToOf(a, m, apply);
  }
  if (apply.length > 0) out.push({ type: 'apply_actions', actions: apply });
  if (clear) out.push(clear);
  if (write) out.push(write);
  if (meta) out.push(meta);
  if (goto) out.push(goto);
  return out;
}
