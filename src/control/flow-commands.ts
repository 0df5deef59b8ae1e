/**
 * Flow-table verbs (ovs-ofctl's add-flow, add-flows, del-flows, mod-flows, dump-flows and
 * ovs-appctl ofproto/trace) as control-socket handlers.
 */
import { Switch } from '../datapath/switch';
import type { Handler } from './server';
import { str, optStr } from './args';


/** Routing/NAT view of one output frame, if its destination MAC is a router interface here. */
function explainRouting(sw: Switch, bridge: string, frame: Buffer): string[] {
  if (frame.length < 14) return [];
  const dst = [...frame.subarray(0, 6)].map((x) => x.toString(16).padStart(2, '0')).join(':');
  const hit = sw.l3.findRouterPort(bridge, dst);
  if (!hit) return [];
  let off = 12;
  let type = frame.readUInt16BE(off);
  while ((type === 0x8100 || type === 0x88a8) && frame.length >= off + 6) {
    off += 4;
    type = frame.readUInt16BE(off);
  }
  const ip = off + 2;
  if (type !== 0x0800 || frame.length < ip + 20) return [`router port ${hit.port}: not an IPv4 packet (ARP and others are answered or dropped by the router)`];
  const hl = (frame[ip] & 0x0f) * 4;
  const proto = frame[ip + 9];
  const l4 = ip + hl;
  const have = (n: number) => frame.length >= l4 + n;
  const fmt = (p: number) => `${frame[p]}.${frame[p + 1]}.${frame[p + 2]}.${frame[p + 3]}`;
  return hit.router.explain({
    inIface: hit.port,
    src: fmt(ip + 12),
    dst: fmt(ip + 16),
    proto,
    sport: (proto === 6 || proto === 17) && have(4) ? frame.readUInt16BE(l4) : undefined,
    dport: (proto === 6 || proto === 17) && have(4) ? frame.readUInt16BE(l4 + 2) : undefined,
    icmpType: proto === 1 && have(1) ? frame[l4] : undefined,
    icmpId: proto === 1 && have(6) ? frame.readUInt16BE(l4 + 4) : undefined,
    ttl: frame[ip + 8],
    length: frame.readUInt16BE(ip + 2),
    df: (frame[ip + 6] & 0x40) !== 0,
  });
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
      const r = sw.flows(str(a, 'bridge')).addFlows(text);
      return { added: r.added.length, modified: r.modified, deleted: r.deleted, warnings: r.warnings };
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
