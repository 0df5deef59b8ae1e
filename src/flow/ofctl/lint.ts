/**
 * Warnings for flows that parse but probably do not do what was meant (no output, a modification
 * after the last output, output to the input port). A warning never refuses a flow.
 */
import { isModifyAction, isOutputAction, type Action } from '../actions';
import { K_IN_PORT } from '../../packet/flow-key';
import type { FlowSpec } from './flow-spec';
import { formatPort } from './format-values';

/** Warnings for known traps; each names the action and its column. */
export function lint(acts: Action[], cols: number[], spec: FlowSpec): string[] {
  const w: string[] = [];
  const mayOutput = (a: Action): boolean =>
    isOutputAction(a) || a.type === 'resubmit' || a.type === 'goto_table' || (a.type === 'ct' && a.table !== 255) || (a.type === 'write_actions' && a.actions.some(isOutputAction));
  let last = -1;
  acts.forEach((a, i) => {
    if (mayOutput(a)) last = i;
  });
  const conjunctive = acts.some((a) => a.type === 'conjunction');
  if (acts.length > 0 && last < 0 && !conjunctive) {
    w.push(`column ${cols[0]}: these actions never output the packet, so it is dropped (write actions=drop if that is intended)`);
  } else {
    for (let i = last + 1; i < acts.length; i++) {
      if (isModifyAction(acts[i])) {
        w.push(`column ${cols[i]}: '${acts[i].type}' comes after the last output and changes nothing that leaves (a modification applies only to outputs after it)`);
      }
    }
  }
  const m = spec.match;
  if (m.isFull(K_IN_PORT)) {
    const inPort = m.value[K_IN_PORT];
    acts.forEach((a, i) => {
      if (a.type === 'output' && a.port === inPort) {
        w.push(`column ${cols[i]}: output:${formatPort(a.port)} is the input port (in_port=${formatPort(inPort)}); OpenFlow silently skips it — use in_port to send a packet back`);
      }
    });
  }
  return w;
}
