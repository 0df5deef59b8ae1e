/**
 * Control-socket verbs for OpenFlow controllers (ovs-vsctl's set-controller, del-controller,
 * get-controller, set-fail-mode, get-fail-mode).
 */
import type { OpenFlowService } from './service';

/** A control-socket handler (the shape control/server.ts dispatches to). */
type Handler = (args: Record<string, unknown>) => unknown;

function str(a: Record<string, unknown>, key: string): string {
  const v = a[key];
  if (typeof v !== 'string' || v === '') throw new Error(`missing argument '${key}'`);
  return v;
}

export function openflowCommands(of: OpenFlowService): Record<string, Handler> {
  return {
    'set-controller': (a) => {
      const targets = a.targets;
      if (!Array.isArray(targets) || targets.length === 0 || !targets.every((x) => typeof x === 'string')) {
        throw new Error("set-controller: 'targets' must be a non-empty list of tcp:IP[:PORT] / unix:PATH");
      }
      of.setController(str(a, 'bridge'), targets as string[]);
      return null;
    },
    'del-controller': (a) => {
      of.setController(str(a, 'bridge'), []);
      return null;
    },
    'get-controller': (a) => of.getController(str(a, 'bridge')),
    'set-fail-mode': (a) => {
      of.setFailMode(str(a, 'bridge'), str(a, 'mode'));
      return null;
    },
    'get-fail-mode': (a) => ({ failMode: of.getController(str(a, 'bridge')).failMode }),
  };
}
