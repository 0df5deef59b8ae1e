/**
 * The control verbs, as handlers over a running Switch. The CLI sends these over the control
 * socket; the names mirror ovs-vsctl / ovs-ofctl / ovs-appctl. Argument checking lives here so
 * every client (CLI, scripts speaking JSON) gets the same clear errors.
 */
import { Switch } from '../datapath/switch';
import { dropLegend } from '../datapath/views';
import { portConfigFrom } from './port-options';
import { jsonArrayPieces, StreamedReply, type Handler } from './server';
import type { Rule } from '../flow/table';
import { str } from './args';
import { show } from './values';
import * as path from 'path';
import { saveConfig } from './save-config';
import { formatRule } from '../flow/ofctl-format';
import { applyOtherConfig, parseOtherConfig } from './bridge-other-config';

/** The `otherConfig` object argument of add-br / set-bridge (absent = none). */
function otherConfigArg(a: Record<string, unknown>): Record<string, unknown> {
  const oc = a.otherConfig ?? {};
  if (typeof oc !== 'object' || oc === null || Array.isArray(oc)) throw new Error("'otherConfig' must be an object of other-config keys");
  return oc as Record<string, unknown>;
}

/** The `localPort` boolean argument of add-br / set-bridge (absent = unchanged / none). */
function localPortArg(a: Record<string, unknown>): boolean | undefined {
  const v = a.localPort;
  if (v !== undefined && typeof v !== 'boolean') throw new Error("'localPort' must be true or false");
  return v;
}

export function switchCommands(sw: Switch, extra: Record<string, Handler> = {}): Record<string, Handler> {
  return {
    ping: () => ({ pid: process.pid }),
    show: () => sw.show(),
    'add-br': (a) => {
      const oc = parseOtherConfig(otherConfigArg(a));
      applyOtherConfig(sw.addBridge(str(a, 'bridge'), { localPort: localPortArg(a) }), oc);
      return null;
    },
    /**
     * ovs-vsctl set bridge BR other-config:KEY=VALUE (an empty value removes the key); and
     * local_port=true|false, which adds or removes the bridge's LOCAL port (its TAP device).
     */
    'set-bridge': (a) => {
      const br = sw.bridge(str(a, 'bridge'));
      const kv = otherConfigArg(a);
      const local = localPortArg(a);
      if (Object.keys(kv).length === 0 && local === undefined) throw new Error('set-bridge: nothing to set (other-config:datapath-id=HEX, local_port=true|false)');
      const oc = parseOtherConfig(kv); // checked before anything changes
      if (local === true && !br.local) sw.addLocalPort(br.name);
      else if (local === false) sw.delLocalPort(br.name);
      applyOtherConfig(br, oc);
      return null;
    },
    'del-br': (a) => {
      sw.delBridge(str(a, 'bridge'));
      return null;
    },
    'add-port': (a) => {
      const opts = (a.options ?? {}) as Record<string, unknown>;
      if (typeof opts !== 'object' || Array.isArray(opts)) throw new Error("'options' must be an object");
      const port = str(a, 'port');
      const p = sw.addPort(str(a, 'bridge'), port, portConfigFrom({ ...opts, name: port }, `port ${port}`));
      return { ofport: p.ofport };
    },
    'del-port': (a) => {
      const bridge = str(a, 'bridge');
      const port = str(a, 'port');
      // OVS's words: the LOCAL port goes with its bridge (tvs: or set-bridge local_port=false).
      if (sw.bridge(bridge).local?.name === port) {
        throw new Error(`cannot delete port ${port} because it is the local port for bridge ${bridge} (deleting this port requires deleting the entire bridge, or set-bridge ${bridge} local_port=false)`);
      }
      sw.delPort(bridge, port);
      return null;
    },
    'dump-ports': (a) => {
      const ports = sw.dumpPorts(str(a, 'bridge'));
      const drops = sw.bridgeDrops(str(a, 'bridge'));
      // Every reason that has counted, explained in words (from the stages' declarations).
      const legend = dropLegend([...ports.flatMap((p) => Object.keys(p.drops)), ...Object.keys(drops)]);
      return { ports, drops, legend };
    },
    'fdb-show': (a) => sw.fdb(str(a, 'bridge')),
    /** One sample of every counter `tvs top` turns into rates. */
    // The flows part is streamed (a chunk of rules at a time): `tvs top` on 100k flows.
    stats: () => {
      const ports: { bridge: string; name: string; rx_packets: number; rx_bytes: number; tx_packets: number; tx_bytes: number; drops: number }[] = [];
      const rules: { bridge: string; rule: Rule }[] = [];
      for (const b of sw.bridges.keys()) {
        for (const p of sw.dumpPorts(b)) {
          ports.push({ bridge: b, name: p.name, rx_packets: p.rx_packets, rx_bytes: p.rx_bytes, tx_packets: p.tx_packets, tx_bytes: p.tx_bytes, drops: Object.values(p.drops).reduce((x, y) => x + y, 0) });
        }
        for (const rule of sw.flows(b).select()) rules.push({ bridge: b, rule });
      }
      const describe = ({ bridge, rule }: { bridge: string; rule: Rule }) => {
        if (!sw.bridges.has(bridge)) return undefined;
        const f = sw.flows(bridge);
        if (!f.isInstalled(rule)) return undefined;
        const e = f.entry(rule);
        return { bridge, flow: formatRule(rule, (o) => sw.bridge(bridge).portName(o)), packets: e.nPackets, bytes: e.nBytes };
      };
      const head = JSON.stringify({ t: Date.now(), ports });
      return new StreamedReply(
        (function* () {
          yield head.slice(0, -1) + ',"flows":';
          yield* jsonArrayPieces(rules, describe);
          yield '}';
        })(),
      );
    },
    'save-config': (a) => {
      const file = str(a, 'file');
      if (!path.isAbsolute(file)) throw new Error(`save-config: '${file}' must be an absolute path (the CLI makes it one)`);
      const cfg = saveConfig(sw, file);
      return { file, bridges: cfg.bridges.length };
    },
    capture: async (a) => {
      const direction: unknown = a.direction ?? 'both';
      if (typeof direction !== 'string' || !['in', 'out', 'both'].includes(direction)) throw new Error(`--direction ${typeof direction === 'string' ? direction : show(direction)}: one of in, out, both`);
      const count = a.count === undefined ? 100 : Number(a.count);
      const seconds = a.seconds === undefined ? 10 : Number(a.seconds);
      const frames = await sw.capture(str(a, 'bridge'), str(a, 'port'), { count, seconds, direction: direction as 'in' | 'out' | 'both' });
      return { frames: frames.map((f) => ({ tsUs: f.tsUs, dir: f.dir, hex: f.frame.toString('hex') })) };
    },
    ...extra,
  };
}
