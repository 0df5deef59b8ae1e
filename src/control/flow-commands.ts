/**
 * Flow-table verbs (ovs-ofctl's add-flow, add-flows, del-flows, mod-flows, dump-flows and
 * ovs-appctl ofproto/trace) as control-socket handlers.
 */
import { Switch } from '../datapath/switch';
import { jsonArrayPieces, StreamedReply, type Handler } from './server';
import { str, optStr } from './args';
import { runTrace, type TraceContext } from '../flow/trace';
import { addFlowsHandler } from './flow-load';
import { OFPP_LOCAL } from '../flow/ofport';

/** Routing/NAT view of one output frame, if its destination MAC is a router interface here. */
function explainRouting(sw: Switch, bridge: string, frame: Buffer): string[] {
  if (frame.length < 14) return [];
  const dst = [...frame.subarray(0, 6)].map((x) => x.toString(16).padStart(2, '0')).join(':');
  const hit = sw.l3.findRouterPort(bridge, dst);
  if (!hit) return [];
  // The router's own decision for this frame (the one forwarding would apply), not a copy.
  try {
    return hit.router.trace(frame, hit.port).lines;
  } catch (err) {
    return [`router port ${hit.port}: ${(err as Error).message}`];
  }
}

/** `zone` of a conntrack request: absent, or an integer 0..65535. */
function ctZone(v: unknown): number | undefined {
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 0 || v > 0xffff) throw new Error(`zone must be an integer in 0..65535, got ${JSON.stringify(v)}`);
  return v;
}

export function flowCommands(sw: Switch): Record<string, Handler> {
  return {
    'add-flow': (a) => {
      const r = sw.flows(str(a, 'bridge')).addFlow(str(a, 'flow'));
      return { warnings: r.warnings, replaced: r.replaced !== undefined };
    },
    // A file of any size arrives in parts over one connection; see flow-load.ts.
    'add-flows': addFlowsHandler(sw),
    'del-flows': (a) => {
      const gone = sw.flows(str(a, 'bridge')).delFlows(optStr(a, 'match'), { strict: a.strict === true });
      return { deleted: gone.length };
    },
    // As ovs-ofctl mod-flows over its default OpenFlow 1.0: selecting nothing adds the flow.
    'mod-flows': (a) => {
      const r = sw.flows(str(a, 'bridge')).modOrAddFlows(str(a, 'flow'), { strict: a.strict === true });
      return r.added === undefined ? { modified: r.modified.length, added: 0 } : { modified: 0, added: 1, warnings: r.added.warnings };
    },
    // Streamed: the rules are selected now and formatted a chunk at a time while the reply is
    // written, so a dump of 100k flows never stalls the datapath.
    'dump-flows': (a) => {
      const f = sw.flows(str(a, 'bridge'));
      const rules = f.select(optStr(a, 'match'), { strict: a.strict === true });
      const tables = f.tableStats();
      return new StreamedReply(
        (function* () {
          yield `{"tables":${JSON.stringify(tables)},"flows":`;
          yield* jsonArrayPieces(rules, (r) => f.formatInstalled(r, { ages: true }));
          yield '}';
        })(),
      );
    },
    // ovs-appctl dpctl/dump-conntrack [zone=N]: every bridge, or one.
    'dump-conntrack': (a) => {
      const zone = ctZone(a.zone);
      const bridges = optStr(a, 'bridge') !== undefined ? [str(a, 'bridge')] : sw.show().map((b) => b.name);
      const out: { bridge: string; connections: string[] }[] = [];
      for (const b of bridges) out.push({ bridge: b, connections: sw.flows(b).conntrack.dump(zone) });
      return out;
    },
    'flush-conntrack': (a) => {
      const zone = ctZone(a.zone);
      const bridges = optStr(a, 'bridge') !== undefined ? [str(a, 'bridge')] : sw.show().map((b) => b.name);
      let flushed = 0;
      for (const b of bridges) flushed += sw.flows(b).conntrack.flush(zone);
      return { flushed };
    },
    trace: (a) => {
      const f = sw.flows(str(a, 'bridge'));
      const br = sw.bridge(str(a, 'bridge'));
      // NORMAL's part comes from the bridge's own NORMAL stage (the flow tables know no L2).
      const ctx: TraceContext = {
        resolvePort: (n) => f.names.resolvePort(n),
        portName: (n) => f.names.portName(n),
        explainNormal: (s) => br.explainNormal(s),
      };
      const hex = optStr(a, 'hex');
      let r;
      if (hex !== undefined) {
        const clean = hex.replace(/[\s:]/g, '');
        if (!/^([0-9a-fA-F]{2})+$/.test(clean)) throw new Error('trace --hex: the frame must be an even number of hex digits');
        const inName = optStr(a, 'inPort');
        let inPort = 0;
        if (inName !== undefined) {
          inPort = /^\d+$/.test(inName) ? Number(inName) : inName.toUpperCase() === 'LOCAL' ? OFPP_LOCAL : sw.bridge(str(a, 'bridge')).ofportByName(inName);
          if (inPort < 0) throw new Error(`trace: bridge has no port '${inName}'`);
        }
        r = runTrace(f, { frame: Buffer.from(clean, 'hex'), inPort }, ctx);
      } else {
        r = runTrace(f, { flow: str(a, 'flow') }, ctx);
      }
      // Follow frames that would reach a router interface into the router (routing and NAT
      // decisions), as ofproto/trace follows a patch port.
      const routing: string[][] = [];
      for (const o of r.outputs) routing.push(explainRouting(sw, str(a, 'bridge'), o.frame));
      const routerText = routing.filter((x) => x.length > 0).map((x) => x.join('\n')).join('\n');
      return {
        text: routerText ? `${r.text}\n\n${routerText}` : r.text,
        routing,
        inPort: r.inPort,
        headers: r.headers,
        steps: r.steps,
        outputs: r.outputs.map((o) => ({ ...o, frame: o.frame.toString('hex') })),
      };
    },
  };
}
