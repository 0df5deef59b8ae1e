/**
 * Flow-table verbs (ovs-ofctl's add-flow, add-flows, del-flows, mod-flows, dump-flows and
 * ovs-appctl ofproto/trace) as control-socket handlers.
 */
import { Switch } from '../datapath/switch';
import type { Handler } from './server';

function str(args: Record<string, unknown>, key: string): string {
  const v = args[key];
  if (typeof v !== 'string' || v === '') throw new Error(`missing argument '${key}'`);
  return v;
}
function optStr(args: Record<string, unknown>, key: string): string | undefined {
  const v = args[key];
  if (v === undefined || v === null || v === '') return undefined;
  if (typeof v !== 'string') throw new Error(`argument '${key}' must be a string`);
  return v;
}

export function flowCommands(sw: Switch): Record<string, Handler> {
  return {
    'add-flow': (a) => {
      const r = sw.flows(str(a, 'bridge')).addFlow(str(a, 'flow'));
      return { warnings: r.warnings, replaced: r.replaced !== undefined };
    },
    'add-flows': (a) => {
      const text = a.text;
      if (typeof text !== 'string') throw new Error("missing argument 'text'");
      const rs = sw.flows(str(a, 'bridge')).addFlows(text);
      return { added: rs.length, warnings: rs.flatMap((r) => r.warnings) };
    },
    'del-flows': (a) => {
      const gone = sw.flows(str(a, 'bridge')).delFlows(optStr(a, 'match'), { strict: a.strict === true });
      return { deleted: gone.length };
    },
    'mod-flows': (a) => {
      const changed = sw.flows(str(a, 'bridge')).modFlows(str(a, 'flow'), { strict: a.strict === true });
      return { modified: changed.length };
    },
    'dump-flows': (a) => {
      const f = sw.flows(str(a, 'bridge'));
      const match = optStr(a, 'match');
      const text = f.formatFlows(match, { strict: a.strict === true });
      return { text, flows: text.split('\n').filter((l) => l !== ''), tables: f.tableStats() };
    },
    trace: (a) => {
      const f = sw.flows(str(a, 'bridge'));
      const hex = optStr(a, 'hex');
      let r;
      if (hex !== undefined) {
        const clean = hex.replace(/[\s:]/g, '');
        if (!/^([0-9a-fA-F]{2})+$/.test(clean)) throw new Error('trace --hex: the frame must be an even number of hex digits');
        const inName = optStr(a, 'inPort');
        let inPort = 0;
        if (inName !== undefined) {
          inPort = /^\d+$/.test(inName) ? Number(inName) : sw.bridge(str(a, 'bridge')).ofportByName(inName);
          if (inPort < 0) throw new Error(`trace: bridge has no port '${inName}'`);
        }
        r = f.trace({ frame: Buffer.from(clean, 'hex'), inPort });
      } else {
        r = f.trace({ flow: str(a, 'flow') });
      }
      return {
        text: r.text,
        inPort: r.inPort,
        headers: r.headers,
        steps: r.steps,
        outputs: r.outputs.map((o) => ({ ...o, frame: o.frame.toString('hex') })),
      };
    },
  };
}
