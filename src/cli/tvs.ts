#!/usr/bin/env -S MALLOC_MMAP_THRESHOLD_=131072 node --max-semi-space-size=1 --interrupt-budget=16384 --no-lazy-feedback-allocation --expose-gc --no-memory-reducer
/**
 * `tvs` — run the switch (`tvs start`) and talk to a running one over its control socket.
 * Verbs and their words follow ovs-vsctl / ovs-ofctl / ovs-appctl. Exit status: 0 on success,
 * 1 when the switch refused the request, 2 on a usage error.
 */
import { request, ControlError, addFlowsFromStream, ADD_FLOWS_PART_CHARS } from '../control/client';
import { controlPath } from '../control/protocol';
import { parseKeyValues } from '../control/port-options';
import { bridgeWords } from '../control/bridge-other-config';
import { formatShow, formatDumpPorts, formatFdb, formatRouter, formatNat, formatControlStats, RouterView, NatView, ControlStatsView } from './format';
import * as fs from 'fs';
import * as path from 'path';
import { pcapFile } from '../control/pcap';
import { describeFrame } from '../wire/describe';
import { Logger } from '../control/log';
import { DEFAULT_HELPER_SATURATED_NICE } from './helper-threads';
import { MIN_DATAPATH_SLICE_US, MAX_DATAPATH_SLICE_US } from './datapath-slice';
import { DEFAULT_WAKE_AHEAD_US } from '../io/wake-ahead-limits';
import { DEFAULT_WARM_UP_FRAMES, MAX_WARM_UP_FRAMES, WARM_UP_CPU_BUDGET_MS } from '../datapath/warm-up-limits';

function printWarnings(ws: string[]): void {
  for (const w of ws) console.error(`warning: ${w}`);
}

/** One option of a verb (or of every verb): drives parsing and `--help` alike. */
export interface OptSpec {
  name: string;
  /** Placeholder of its value (`--count N`); absent for a flag. */
  value?: string;
  help: string;
  /** Spelled `-w` rather than `--w` (tcpdump's spelling for the output file). */
  short?: boolean;
}
interface Verb {
  /** The positional arguments, as shown in usage. */
  args: string;
  help: string;
  min: number;
  max: number;
  options?: OptSpec[];
  run: (words: string[], ctx: Ctx) => Promise<void>;
}
interface Ctx {
  control: string;
  json: boolean;
  opts: Record<string, string | boolean>;
}

/** Options every verb takes. */
export const GLOBAL_OPTIONS: OptSpec[] = [
  { name: 'control', value: 'PATH', help: 'control socket of the switch (default: $TVS_CONTROL or /run/tvs/tvs.sock)' },
  { name: 'json', help: 'print the result as JSON' },
  { name: 'help', help: 'this text' },
];

class UsageError extends Error {}

function usOption(name: string, v: unknown): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (typeof v !== 'string' || !/^\d+$/.test(v) || n > 1_000_000) throw new UsageError(`--${name} ${String(v)}: a whole number of microseconds, 0..1000000`);
  return n;
}

function helperNiceOption(v: unknown): number | undefined {
  if (v === undefined) return undefined;
  if (typeof v !== 'string' || !/^\d+$/.test(v) || Number(v) > 19) throw new UsageError(`--helper-nice ${String(v)}: a nice value 0..19 (0 leaves the helper threads alone)`);
  return Number(v);
}

function helperSaturatedNiceOption(v: unknown): number | undefined {
  if (v === undefined) return undefined;
  if (typeof v !== 'string' || !/^\d+$/.test(v) || Number(v) > 19) throw new UsageError(`--helper-nice-saturated ${String(v)}: a nice value 0..19`);
  return Number(v);
}

function helperSchedOption(v: unknown): 'idle' | 'normal' | 'auto' | undefined {
  if (v === undefined) return undefined;
  if (v !== 'idle' && v !== 'normal' && v !== 'auto') throw new UsageError(`--helper-sched ${String(v)}: one of idle, normal, auto`);
  return v;
}

function datapathSliceOption(v: unknown): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (typeof v !== 'string' || !/^\d+$/.test(v) || (n !== 0 && (n < MIN_DATAPATH_SLICE_US || n > MAX_DATAPATH_SLICE_US))) {
    throw new UsageError(`--datapath-slice-us ${String(v)}: 0 (the kernel's default) or ${MIN_DATAPATH_SLICE_US}..${MAX_DATAPATH_SLICE_US} µs`);
  }
  return n;
}

function warmUpOption(v: unknown): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (typeof v !== 'string' || !/^\d+$/.test(v) || n > MAX_WARM_UP_FRAMES) throw new UsageError(`--warm-up-frames ${String(v)}: a whole number of frames, 0..${MAX_WARM_UP_FRAMES} (0: no warm-up)`);
  return n;
}

function logFormat(v: unknown): 'text' | 'json' | undefined {
  if (v === undefined) return undefined;
  if (v !== 'text' && v !== 'json') throw new UsageError(`--log-format ${v}: one of text, json`);
  return v;
}

function kvOrUsage(words: string[]): Record<string, string> {
  try {
    return parseKeyValues(words);
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
}

/** `other-config:KEY=VALUE` and `local_port=true|false` words of add-br / set-bridge (checked again by the switch). */
function bridgeArgs(words: string[]): { otherConfig: Record<string, string>; localPort?: boolean } {
  try {
    return bridgeWords(words);
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
}

function print(ctx: Ctx, value: unknown, human: () => string): void {
  if (ctx.json) console.log(JSON.stringify(value ?? null, null, 2));
  else {
    const s = human();
    if (s) console.log(s);
  }
}

/** `[BRIDGE] [zone=N]` of dump-conntrack / flush-conntrack. */
function ctArgs(words: string[]): { bridge?: string; zone?: number } {
  const r: { bridge?: string; zone?: number } = {};
  for (const w of words) {
    const m = /^zone=(\d+|0x[0-9a-f]+)$/i.exec(w);
    if (m) {
      const z = Number(m[1]);
      if (!(z <= 0xffff)) throw new UsageError(`zone ${m[1]} is out of range (0..65535)`);
      r.zone = z;
    } else if (w.startsWith('zone=')) throw new UsageError(`'${w}': zone must be a number (zone=N)`);
    else if (r.bridge === undefined) r.bridge = w;
    else throw new UsageError(`unexpected argument '${w}' (usage: [BRIDGE] [zone=N])`);
  }
  return r;
}

const VERBS: Record<string, Verb> = {
  start: {
    args: '',
    options: [
      { name: 'config', value: 'FILE', help: 'build the switch from this config file (every error in it is reported at once, with its path)' },
      { name: 'busy-poll', help: 'poll the ports in a loop instead of sleeping until they are readable (benchmarks)' },
      { name: 'spin-us', value: 'N', help: 'after traffic keep polling the ports for up to N µs after the last frame (adaptive) before sleeping: lower latency for a core while traffic flows, none when idle; 0 (default) sleeps as soon as the ports are empty' },
      { name: 'wake-ahead-us', value: 'N', help: `for periodic traffic (a frame every 0.5-100 ms, regular within 1/16) wake up to N µs before the next expected frame and poll for it instead of being woken by it (the wakeup of an idle CPU is then paid before the frame comes); the lead adapts to how late the timer runs and how much the arrivals stray, a poll takes at most 1/8 of the period and only a frame arms the timer, so traffic that stops costs one poll and idle stays at 0% CPU; default ${DEFAULT_WAKE_AHEAD_US}, 0: off` },
      { name: 'helper-nice', value: 'N', help: "run the process's helper threads (V8's compiler and GC workers, libuv's pool) at nice N, a lower CPU share than the thread that forwards frames (default 19; 0 leaves them at the switch's own priority and policy; the log, `tvs control-stats` and the metrics say how many were lowered)" },
      { name: 'helper-sched', value: 'idle|normal|auto', help: "auto (default): SCHED_IDLE while the datapath is calm, the nice value only while it is saturated (needs CAP_SYS_NICE or RLIMIT_NICE to switch back; normal otherwise): the short latency tail of idle without starving V8's compiler under full load; normal: only the nice value; idle: also put the helper threads in SCHED_IDLE, so they run only when the forwarding thread does not want the core (a nice value alone still lets them take it for a whole scheduler slice, 1.5-4 ms: a lower latency tail) but a switch saturated by traffic then starves V8's compiler (firewall path at the generator maximum: 26% loss instead of 5%)" },
      { name: 'helper-nice-saturated', value: 'N', help: `with --helper-sched auto: the helper threads' nice value while the datapath is saturated (default ${DEFAULT_HELPER_SATURATED_NICE}, the switch's own priority, where CAP_SYS_NICE or RLIMIT_NICE allows it; at most --helper-nice): a saturated forwarding thread never sleeps, and at nice 19 V8's compiler got 1.5% of the core, so the code a fresh switch recompiles at its first full load (routed path: 0.2-1.3 s per function) ran unoptimized meanwhile; 19: as before` },
      { name: 'datapath-slice-us', value: 'N', help: "scheduler slice of the thread that forwards frames, µs (Linux 6.12+ per-thread slices; default 100, the kernel's minimum; 0 keeps the kernel's default): a frame's wakeup then preempts whatever else runs on the switch's core at once instead of after that task's slice or the next tick; its CPU share is unchanged. The log says `datapath thread slice`, or a warning where the kernel has no per-thread slices" },
      { name: 'warm-up-frames', value: 'N', help: `before anything is configured, run N synthetic frames (default ${DEFAULT_WARM_UP_FRAMES}, at most about ${WARM_UP_CPU_BUDGET_MS} ms of CPU) through the forwarding code on a private scratch switch whose ports are on no device (NORMAL; a Neutron-style firewall with conntrack, recirculation and conjunctions; a patch pair with VLAN push/pop; a router with a floating IP), so V8 has compiled it before the first real frame: no frame leaves on any port, the user's bridges, flows, MAC tables, conntrack, routers, NAT sessions and counters are not touched (the log says \`datapath warmed up\`); 0: no warm-up (the first few hundred frames then run while V8 compiles)` },
      { name: 'metrics', value: 'HOST:PORT', help: 'serve Prometheus metrics at http://HOST:PORT/metrics' },
      { name: 'log-level', value: 'debug|info|warn|error', help: 'least severe log line written (default info)' },
      { name: 'log-format', value: 'text|json', help: 'log lines as text or as one JSON object each (default text)' },
    ],
    help: 'Run the switch in the foreground until SIGINT/SIGTERM, then remove what it created (TAP devices unless persistent) and the control socket. Each bridge also serves OpenFlow 1.3 on DIR/BRIDGE.mgmt next to the control socket (ovs-ofctl -O OpenFlow13 ... unix:DIR/BRIDGE.mgmt).',
    min: 0,
    max: 0,
    run: async (_w, ctx) => {
      // Loaded lazily so the client verbs never load the datapath or the addon.
      const { runDaemon } = await import('./daemon');
      await runDaemon({
        control: ctx.control,
        config: ctx.opts.config as string | undefined,
        busyPoll: ctx.opts['busy-poll'] === true,
        spinUs: usOption('spin-us', ctx.opts['spin-us']),
        wakeAheadUs: usOption('wake-ahead-us', ctx.opts['wake-ahead-us']),
        helperNice: helperNiceOption(ctx.opts['helper-nice']),
        helperSched: helperSchedOption(ctx.opts['helper-sched']),
        helperSaturatedNice: helperSaturatedNiceOption(ctx.opts['helper-nice-saturated']),
        datapathSliceUs: datapathSliceOption(ctx.opts['datapath-slice-us']),
        warmUpFrames: warmUpOption(ctx.opts['warm-up-frames']),
        metrics: ctx.opts.metrics as string | undefined,
        logLevel: ctx.opts['log-level'] !== undefined ? Logger.parseLevel(String(ctx.opts['log-level'])) : undefined,
        logFormat: logFormat(ctx.opts['log-format']),
      });
    },
  },
  'add-br': {
    args: 'BRIDGE [local_port=true] [other-config:datapath-id=HEX16]',
    help:
      "Create a bridge. BRIDGE is an interface name, as in OVS: 1-15 characters of letters, digits, '_', '.', '@', '-', not '.' or '..' (any other is refused, saying why). " +
      'Its table 0 has the flow priority=0,actions=NORMAL, as in OVS (dump-flows shows it; after del-flows the bridge drops everything). other-config:datapath-id sets its OpenFlow datapath id (see set-bridge). ' +
      "local_port=true also gives it OVS's LOCAL port: a TAP device named BRIDGE (an existing interface of that name is an error) with the bridge's MAC, OpenFlow port LOCAL (65534) in flows, dump-ports and show, " +
      'an ordinary port to NORMAL; put the host\'s address on it (ip addr add ... dev BRIDGE). It goes with the bridge (del-br) or set-bridge BRIDGE local_port=false. ' +
      'OVS makes it for every bridge; tvs only when asked, so bridges do not become interfaces of the host unless wanted.',
    min: 1,
    max: 3,
    run: async ([bridge, ...words], ctx) => print(ctx, await request(ctx.control, 'add-br', { bridge, ...bridgeArgs(words) }), () => ''),
  },
  'set-bridge': {
    args: 'BRIDGE [other-config:datapath-id=HEX16] [local_port=true|false]',
    help:
      "Set the bridge's OpenFlow datapath id (OVS's other-config:datapath-id: exactly 16 hex digits, not all zero; an empty value goes back to the default). " +
      'The default is made from the daemon (host and control socket) and the bridge name: two daemons never share one, a restart keeps it. Connected controllers reconnect to learn the new id. ' +
      "tvs show prints the id in use. local_port=true|false adds or removes the bridge's LOCAL port and its TAP device (see add-br).",
    min: 2,
    max: 3,
    run: async ([bridge, ...words], ctx) => print(ctx, await request(ctx.control, 'set-bridge', { bridge, ...bridgeArgs(words) }), () => ''),
  },
  'del-br': {
    args: 'BRIDGE',
    help: "Delete a bridge and all its ports (its LOCAL port's TAP device too).",
    min: 1,
    max: 1,
    run: async ([bridge], ctx) => print(ctx, await request(ctx.control, 'del-br', { bridge }), () => ''),
  },
  'add-port': {
    args:
      'BRIDGE NAME [type=afpacket|tap|patch|unix|memory|vxlan|gre] [path=SOCK] [ofport=N] [tag=N] [trunks=N,M-N] [peer=PORT] [offloads=on|off] [ring=v2|v3] [n_rxq_desc=N] [tx_ring=on|off] [persist=true] [mtu=N] ' +
      '[remote_ip=A.B.C.D] [local_ip=A.B.C.D] [key=N|flow] [dst_port=4789] [tos=N|inherit] [ttl=64|inherit] [df_default=true]',
    help:
      'Add a port. afpacket: an existing interface by name (e.g. a veth or a QEMU tap). tap: create (or attach to) a TAP device. ' +
      'patch: joins two bridges (peer= names the other end). tag=N makes an access port (untagged on the wire, VLAN N inside; NORMAL drops tagged frames from it, flows see them as they are, as in OVS); ' +
      'without tag the port is a trunk (trunks= restricts the VLANs). ' +
      'n_rxq_desc=N (afpacket): receive ring depth in frames, a power of 2 in 64..32768 (default 2048 at MTU 1500: 4 MiB, resident). ' +
      'vxlan/gre: a tunnel to remote_ip over the kernel-routed underlay (local_ip: an address this host has, default any); ' +
      'key=N is the VNI/GRE key (frames with another are dropped), key=flow takes it from tun_id (set_tunnel).',
    min: 2,
    max: 20,
    run: async ([bridge, port, ...kv], ctx) => {
      let options: Record<string, string>;
      try {
        options = parseKeyValues(kv);
      } catch (e) {
        throw new UsageError((e as Error).message);
      }
      const r = (await request(ctx.control, 'add-port', { bridge, port, options })) as { ofport: number };
      print(ctx, r, () => '');
    },
  },
  'del-port': {
    args: 'BRIDGE NAME',
    help: 'Remove a port (a TAP device the switch created is deleted unless persistent).',
    min: 2,
    max: 2,
    run: async ([bridge, port], ctx) => print(ctx, await request(ctx.control, 'del-port', { bridge, port }), () => ''),
  },
  'set-controller': {
    args: 'BRIDGE TARGET...',
    help: 'Connect the bridge to OpenFlow 1.3 controllers (tcp:IP[:PORT], default port 6653, or unix:PATH), reconnecting with backoff (1-8 s) and probing with echo; ptcp:[PORT][:IP] listens instead (as OVS: port 6653, every address by default) and every connection it accepts is a controller. Replaces earlier ones.',
    min: 2,
    max: 9,
    run: async ([bridge, ...targets], ctx) => print(ctx, await request(ctx.control, 'set-controller', { bridge, targets }), () => ''),
  },
  'del-controller': {
    args: 'BRIDGE',
    help: 'Disconnect the bridge from its controllers.',
    min: 1,
    max: 1,
    run: async ([bridge], ctx) => print(ctx, await request(ctx.control, 'del-controller', { bridge }), () => ''),
  },
  'get-controller': {
    args: 'BRIDGE',
    help: 'The bridge\'s controllers and whether each is connected.',
    min: 1,
    max: 1,
    run: async ([bridge], ctx) => {
      const r = (await request(ctx.control, 'get-controller', { bridge })) as { targets: { target: string; connected: boolean }[] };
      print(ctx, r, () => r.targets.map((c) => `Controller "${c.target}"\n    is_connected: ${c.connected}\n`).join(''));
    },
  },
  'set-fail-mode': {
    args: 'BRIDGE standalone|secure',
    help: 'standalone (default): forward by NORMAL while controllers are configured but none is connected. secure: never forward on its own; flows stay, table misses drop. As in OVS, changing the mode of a bridge with no controller flushes its flows (standalone gets priority=0,actions=NORMAL back).',
    min: 2,
    max: 2,
    run: async ([bridge, mode], ctx) => print(ctx, await request(ctx.control, 'set-fail-mode', { bridge, mode }), () => ''),
  },
  'get-fail-mode': {
    args: 'BRIDGE',
    help: 'The bridge\'s fail mode.',
    min: 1,
    max: 1,
    run: async ([bridge], ctx) => {
      const r = (await request(ctx.control, 'get-fail-mode', { bridge })) as { failMode: string };
      print(ctx, r, () => `${r.failMode}\n`);
    },
  },
  show: {
    args: '',
    help: 'Bridges and their ports (like ovs-vsctl show).',
    min: 0,
    max: 0,
    run: async (_w, ctx) => {
      const r = (await request(ctx.control, 'show')) as Parameters<typeof formatShow>[0];
      print(ctx, r, () => formatShow(r));
    },
  },
  'dump-ports': {
    args: 'BRIDGE',
    help: 'Per-port rx/tx packet and byte counters and drops by reason (like ovs-ofctl dump-ports).',
    min: 1,
    max: 1,
    run: async ([bridge], ctx) => {
      const r = (await request(ctx.control, 'dump-ports', { bridge })) as Parameters<typeof formatDumpPorts>[1];
      print(ctx, r, () => formatDumpPorts(bridge, r));
    },
  },
  'fdb-show': {
    args: 'BRIDGE',
    help: 'The learned MAC table: port, VLAN, MAC, age in seconds (like ovs-appctl fdb/show).',
    min: 1,
    max: 1,
    run: async ([bridge], ctx) => {
      const r = (await request(ctx.control, 'fdb-show', { bridge })) as Parameters<typeof formatFdb>[0];
      print(ctx, r, () => formatFdb(r));
    },
  },
  top: {
    args: '',
    options: [
      { name: 'interval', value: 'S', help: 'seconds between screens (default 1, at least 0.1)' },
      { name: 'count', value: 'N', help: 'stop after N screens (default: until Ctrl-C)' },
    ],
    help: 'Live per-port and per-flow rates (packets/s, bits/s, drops/s), refreshed every --interval seconds (default 1) until Ctrl-C or --count screens. With --json, one JSON object per screen.',
    min: 0,
    max: 0,
    run: async (_w, ctx) => {
      const interval = ctx.opts.interval !== undefined ? Number(ctx.opts.interval) : 1;
      const count = ctx.opts.count !== undefined ? Number(ctx.opts.count) : Infinity;
      if (!(interval >= 0.1)) throw new UsageError('--interval must be at least 0.1 s');
      type Sample = { t: number; ports: { bridge: string; name: string; rx_packets: number; rx_bytes: number; tx_packets: number; tx_bytes: number; drops: number }[]; flows: { bridge: string; flow: string; packets: number; bytes: number }[] };
      const tty = process.stdout.isTTY && !ctx.json;
      let prev = (await request(ctx.control, 'stats')) as Sample;
      for (let n = 0; n < count; n++) {
        await new Promise((r) => setTimeout(r, interval * 1000));
        const cur = (await request(ctx.control, 'stats')) as Sample;
        const dt = Math.max(cur.t - prev.t, 1) / 1000;
        const rate = (a: number, b: number) => (a - b) / dt;
        const ports = cur.ports.map((p) => {
          const o = prev.ports.find((q) => q.bridge === p.bridge && q.name === p.name) ?? p;
          return { bridge: p.bridge, port: p.name, rx_pps: rate(p.rx_packets, o.rx_packets), tx_pps: rate(p.tx_packets, o.tx_packets), rx_bps: rate(p.rx_bytes, o.rx_bytes) * 8, tx_bps: rate(p.tx_bytes, o.tx_bytes) * 8, drops_ps: rate(p.drops, o.drops) };
        });
        const flows = cur.flows
          .map((f) => {
            const o = prev.flows.find((q) => q.bridge === f.bridge && q.flow === f.flow) ?? f;
            return { bridge: f.bridge, flow: f.flow, pps: rate(f.packets, o.packets), bps: rate(f.bytes, o.bytes) * 8 };
          })
          .sort((x, y) => y.pps - x.pps)
          .slice(0, 10);
        prev = cur;
        if (ctx.json) {
          console.log(JSON.stringify({ t: cur.t, ports, flows }));
          continue;
        }
        const si = (v: number) => (v >= 1e9 ? (v / 1e9).toFixed(2) + 'G' : v >= 1e6 ? (v / 1e6).toFixed(2) + 'M' : v >= 1e3 ? (v / 1e3).toFixed(1) + 'k' : v.toFixed(0));
        const lines = [`tvs top — ${new Date(cur.t).toISOString().slice(11, 19)}, every ${interval}s`, '', 'BRIDGE       PORT             RX pps    TX pps    RX bit/s  TX bit/s  drops/s'];
        for (const p of ports) lines.push(`${p.bridge.padEnd(12)} ${p.port.padEnd(15)} ${si(p.rx_pps).padStart(8)}  ${si(p.tx_pps).padStart(8)}  ${si(p.rx_bps).padStart(8)}  ${si(p.tx_bps).padStart(8)}  ${si(p.drops_ps).padStart(7)}`);
        lines.push('', 'TOP FLOWS       pps     bit/s  flow');
        for (const f of flows) lines.push(`${f.bridge.padEnd(10)} ${si(f.pps).padStart(8)}  ${si(f.bps).padStart(8)}  ${f.flow}`);
        process.stdout.write((tty ? '\x1b[H\x1b[2J' : '') + lines.join('\n') + '\n');
      }
    },
  },
  'control-stats': {
    args: '',
    help:
      "The daemon's own state: the control socket's counters (connections, requests refused as bad, too deep, oversized...) and limits, the helper threads (nice value, policy, how many lowered), the datapath thread's scheduler slice and the wake-ahead (budget, period and lead, predicted polls that caught / missed their frame). With --json, the control-stats request's reply as is.",
    min: 0,
    max: 0,
    run: async (_w, ctx) => {
      const r = (await request(ctx.control, 'control-stats')) as ControlStatsView;
      print(ctx, r, () => formatControlStats(r));
    },
  },
  reload: {
    args: '[FILE]',
    help:
      'Re-apply the config file (FILE, or the one given to tvs start; SIGHUP does the same): unchanged ports keep running, unchanged flows keep their counters, unchanged routers keep their NAT sessions. A bad config changes nothing and says why.',
    min: 0,
    max: 1,
    run: async ([file], ctx) => {
      const r = (await request(ctx.control, 'reload', { file: file ? path.resolve(file) : undefined })) as { added: string[]; removed: string[]; replaced: string[]; unchanged: number };
      print(ctx, r, () => [...r.added.map((x) => `+ ${x}`), ...r.replaced.map((x) => `~ ${x}`), ...r.removed.map((x) => `- ${x}`), `${r.unchanged} unchanged`].join('\n'));
    },
  },
  'save-config': {
    args: 'FILE',
    help: 'Write the running state (bridges, ports, flows, routers, floating IPs, DHCP) as a config file that `tvs start --config FILE` builds again. Written atomically.',
    min: 1,
    max: 1,
    run: async ([file], ctx) => {
      const r = (await request(ctx.control, 'save-config', { file: path.resolve(file) })) as { file: string };
      print(ctx, r, () => `saved to ${r.file}`);
    },
  },
  capture: {
    args: 'BRIDGE PORT',
    options: [
      { name: 'w', short: true, value: 'FILE.pcap', help: 'write a pcap file instead of printing one line per frame' },
      { name: 'count', value: 'N', help: 'stop after N frames (default 100)' },
      { name: 'direction', value: 'in|out|both', help: 'frames received on PORT, sent on it, or both (default both)' },
      { name: 'seconds', value: 'S', help: 'stop after S seconds (default 10)' },
    ],
    help:
      'Capture frames crossing PORT (default: both directions, 100 frames or 10 s, whichever comes first) with the VLAN tags as on the wire. ' +
      'With -w, writes a pcap file that tcpdump, tshark and Wireshark read; otherwise prints one line per frame.',
    min: 2,
    max: 2,
    run: async ([bridge, port], ctx) => {
      const count = ctx.opts.count !== undefined ? Number(ctx.opts.count) : 100;
      const seconds = ctx.opts.seconds !== undefined ? Number(ctx.opts.seconds) : 10;
      if (!Number.isInteger(count) || count < 1) throw new UsageError('--count must be a positive integer');
      if (!(seconds > 0)) throw new UsageError('--seconds must be a positive number');
      const r = (await request(ctx.control, 'capture', { bridge, port, count, seconds, direction: ctx.opts.direction ?? 'both' }, seconds * 1000 + 15_000)) as {
        frames: { tsUs: number; dir: string; hex: string }[];
      };
      const file = ctx.opts.w as string | undefined;
      if (file !== undefined) {
        fs.writeFileSync(file, pcapFile(r.frames.map((f) => ({ tsUs: f.tsUs, frame: Buffer.from(f.hex, 'hex') }))));
        if (!ctx.json) console.error(`${r.frames.length} frames written to ${file}`);
      }
      print(ctx, r, () =>
        file !== undefined
          ? ''
          : r.frames.map((f) => `${new Date(f.tsUs / 1000).toISOString().slice(11, 23)} ${f.dir.padEnd(3)} ${describeFrame(Buffer.from(f.hex, 'hex'))}`).join('\n'),
      );
    },
  },
  'add-flow': {
    args: 'BRIDGE FLOW',
    help:
      "Add a flow in ovs-ofctl syntax, e.g. 'table=0,priority=4,in_port=phy-br-eth1,dl_vlan=1,actions=mod_vlan_vid:101,NORMAL'. " +
      'A flow with the same table, match and priority is replaced: its counters and duration restart, its idle age goes on (replacing an idle flow does not restart its idle timeout, as in OVS). Known traps (output to the input port, no output, a modify after the last output) are warned about. ' +
      "Tunnel flows (Neutron's br-tun): match tun_id/tun_src/tun_dst, set_tunnel:N, load/move on NXM fields (NXM_NX_TUN_ID[], NXM_OF_VLAN_TCI[0..11]...), and learn(table=20,hard_timeout=300,NXM_OF_VLAN_TCI[0..11],NXM_OF_ETH_DST[]=NXM_OF_ETH_SRC[],load:NXM_NX_TUN_ID[]->NXM_NX_TUN_ID[],output:OXM_OF_IN_PORT[]), whose learned flows dump-flows shows. " +
      'OpenFlow 1.3 action set: actions=write_actions(dec_ttl,output:2),goto_table:1 adds to it, clear_actions empties it; it runs when the pipeline ends, in OpenFlow order (pop_vlan, push_vlan, dec_ttl, sets, output).',
    min: 2,
    max: 2,
    run: async ([bridge, flow], ctx) => {
      const r = (await request(ctx.control, 'add-flow', { bridge, flow })) as { warnings: string[] };
      printWarnings(r.warnings);
      print(ctx, r, () => '');
    },
  },
  'add-flows': {
    args: 'BRIDGE FILE',
    help: "Add the flows in FILE ('-' = stdin), one per line, '#' comments (also after a flow); a line may start with add, modify, modify_strict, delete or delete_strict, as in ovs-ofctl add-flows. ovs-ofctl dump-flows output is accepted as is. All lines are checked before any is applied; then they run in order. A file of any size is sent in parts as it is read.",
    min: 2,
    max: 2,
    run: async ([bridge, file], ctx) => {
      // Streamed in parts: a file of any size (1,000,000 flows) without holding it in memory.
      let fd: number;
      try {
        fd = file === '-' ? 0 : fs.openSync(file, 'r');
        if (fs.fstatSync(fd).isDirectory()) throw new Error('is a directory');
      } catch (e) {
        throw new UsageError(`cannot read ${file}: ${(e as Error).message}`);
      }
      const input = fs.createReadStream('', { fd, encoding: 'utf8', highWaterMark: ADD_FLOWS_PART_CHARS });
      const r = (await addFlowsFromStream(ctx.control, bridge, input)) as { added: number; warnings: string[] };
      printWarnings(r.warnings);
      print(ctx, r, () => '');
    },
  },
  'del-flows': {
    args: 'BRIDGE [MATCH]',
    options: [{ name: 'strict', help: 'MATCH must equal the flow\'s match and priority exactly' }],
    help: 'Delete all flows, or those whose match is covered by MATCH (with --strict: exactly MATCH, including priority).',
    min: 1,
    max: 2,
    run: async ([bridge, match], ctx) => print(ctx, await request(ctx.control, 'del-flows', { bridge, match, strict: ctx.opts.strict === true }), () => ''),
  },
  'mod-flows': {
    args: 'BRIDGE FLOW',
    options: [{ name: 'strict', help: 'MATCH must equal the flow\'s match and priority exactly' }],
    help:
      "Replace the actions of the flows FLOW's match covers (with --strict: the flow with exactly FLOW's match and priority); a cookie=V sets their cookie, cookie=V/M selects by it. " +
      'Their counters (unless reset_counts), duration, idle age, timeouts and flags are kept; the hard timeout restarts. ' +
      'When no flow is selected and FLOW has no cookie mask, FLOW is added instead, as ovs-ofctl mod-flows does over its default OpenFlow 1.0 (over OpenFlow 1.3 a modify adds nothing).',
    min: 2,
    max: 2,
    run: async ([bridge, flow], ctx) => {
      const r = (await request(ctx.control, 'mod-flows', { bridge, flow, strict: ctx.opts.strict === true })) as { warnings?: string[] };
      printWarnings(r.warnings ?? []);
      print(ctx, r, () => '');
    },
  },
  'dump-flows': {
    args: 'BRIDGE [MATCH]',
    options: [{ name: 'strict', help: 'MATCH must equal the flow\'s match and priority exactly' }],
    help: 'Print the flows (with cookie, duration, table, n_packets, n_bytes, timeouts, flags, idle_age, priority, match, actions) in ovs-ofctl dump-flows format, which add-flows reads back. As ovs-ofctl over its default OpenFlow 1.0: idle_age=N is the seconds since the flow last matched a packet (or was added), hard_age=N the seconds since its last add, modify or learn refresh, printed only where it differs from the duration (after a modify or refresh); both stop at 65534. Flags print in the order OVS prints them, without the reset_counts every add-flow implies (OpenFlow 1.3 FLOW stats carry it, as in OVS).',
    min: 1,
    max: 2,
    run: async ([bridge, match], ctx) => {
      const r = (await request(ctx.control, 'dump-flows', { bridge, match, strict: ctx.opts.strict === true })) as { flows: string[] };
      print(ctx, r, () => r.flows.join('\n'));
    },
  },
  trace: {
    args: 'BRIDGE FLOWSPEC | BRIDGE --hex FRAME [IN_PORT]',
    options: [{ name: 'hex', help: 'the packet is a whole Ethernet frame in hex (IN_PORT: the port it arrives on)' }],
    help:
      "Show what the bridge would do with a packet, sending nothing (like ovs-appctl ofproto/trace): every table visited, the rule matched or the miss, the actions, and each output with the headers as they would leave. FLOWSPEC is e.g. 'in_port=1,dl_vlan=5,dl_src=02:00:00:00:00:01,ip,nw_dst=10.0.0.2'; tun_id=/tun_src=/tun_dst= in it make the packet arrive by a tunnel. A learn() prints 'learned: FLOW' (installing nothing); a NORMAL prints its decision: the VLAN, the learned port or the flood's ports, and the tag each copy leaves with (learning nothing). A --hex frame the parse checks drop is refused with the name of its drop reason (as dump-ports counts it).",
    min: 2,
    max: 3,
    run: async ([bridge, spec, inPort], ctx) => {
      const args = ctx.opts.hex === true ? { bridge, hex: spec, inPort } : { bridge, flow: spec };
      if (ctx.opts.hex !== true && inPort !== undefined) throw new UsageError('IN_PORT goes with --hex (a flowspec names in_port itself)');
      const r = (await request(ctx.control, 'trace', args)) as { text: string };
      print(ctx, r, () => r.text);
    },
  },
  'add-router': {
    args: 'ROUTER [snat=on|off] [max-sessions=N] [max-sessions-per-source=N]',
    help: "Create a router (a Neutron router: the L3 agent's qrouter namespace). SNAT of tenant subnets toward the gateway interface is on by default. NAT sessions are limited per router (default 65536) and per source address (default a quarter of that); a full table refuses only new sessions.",
    min: 1,
    max: 4,
    run: async ([router, ...kv], ctx) => print(ctx, await request(ctx.control, 'add-router', { router, options: kvOrUsage(kv) }), () => ''),
  },
  'del-router': {
    args: 'ROUTER',
    help: 'Delete a router and its ports.',
    min: 1,
    max: 1,
    run: async ([router], ctx) => print(ctx, await request(ctx.control, 'del-router', { router }), () => ''),
  },
  'router-add-port': {
    args: 'ROUTER BRIDGE NAME mac=MAC ip=CIDR [tag=N] [gateway] [mtu=N]',
    help: "Add a router interface as port NAME of BRIDGE: a tenant interface (Neutron's qr-, an access port with tag=N on br-int) or, with 'gateway', the external interface (qg-) that SNAT and floating IPs use.",
    min: 5,
    max: 8,
    run: async ([router, bridge, port, ...kv], ctx) => {
      const options = kvOrUsage(kv.map((w) => (w === 'gateway' ? 'gateway=on' : w)));
      print(ctx, await request(ctx.control, 'router-add-port', { router, bridge, port, options }), () => '');
    },
  },
  'router-add-route': {
    args: 'ROUTER CIDR via=IP',
    help: 'Add a static route (0.0.0.0/0 for the default gateway).',
    min: 3,
    max: 3,
    run: async ([router, cidr, ...kv], ctx) => print(ctx, await request(ctx.control, 'router-add-route', { router, cidr, options: kvOrUsage(kv) }), () => ''),
  },
  'set-router': {
    args: 'ROUTER [snat=on|off] [max-sessions=N] [max-sessions-per-source=N]',
    help: 'Turn SNAT of tenant subnets on or off; change the NAT session limits (live sessions stay; new ones are refused until under the limit).',
    min: 2,
    max: 4,
    run: async ([router, ...kv], ctx) => print(ctx, await request(ctx.control, 'set-router', { router, options: kvOrUsage(kv) }), () => ''),
  },
  'add-floating-ip': {
    args: 'ROUTER FLOATING_IP FIXED_IP',
    help: 'Map a floating IP 1:1 to a fixed address (DNAT in, SNAT out; takes precedence over SNAT). The router answers ARP for it and sends gratuitous ARP.',
    min: 3,
    max: 3,
    run: async ([router, fip, fixed], ctx) => print(ctx, await request(ctx.control, 'add-floating-ip', { router, fip, fixed }), () => ''),
  },
  'del-floating-ip': {
    args: 'ROUTER FLOATING_IP',
    help: 'Remove a floating IP; its NAT sessions are flushed at once.',
    min: 2,
    max: 2,
    run: async ([router, fip], ctx) => print(ctx, await request(ctx.control, 'del-floating-ip', { router, fip }), () => ''),
  },
  'router-show': {
    args: 'ROUTER',
    help: 'Interfaces, routes, floating IPs, ARP cache (expiry in seconds), drops and counters of a router.',
    min: 1,
    max: 1,
    run: async ([router], ctx) => {
      const r = (await request(ctx.control, 'router-show', { router })) as RouterView;
      print(ctx, r, () => formatRouter(r));
    },
  },
  'dump-conntrack': {
    args: '[BRIDGE] [zone=N]',
    help: "The connections tracked by ct() actions, as ovs-appctl dpctl/dump-conntrack prints them (tcp,orig=(src=..,dst=..,sport=..,dport=..),reply=(...),zone=N,mark=M,labels=0x..,protoinfo=(state=ESTABLISHED); IPv6 too: icmpv6,orig=(src=fd00::1,dst=fd00::2,id=..,type=128,code=0),...): of every bridge or one, of every zone or one.",
    min: 0,
    max: 2,
    run: async (words, ctx) => {
      const { bridge, zone } = ctArgs(words);
      const r = (await request(ctx.control, 'dump-conntrack', { bridge, zone })) as { bridge: string; connections: string[] }[];
      print(ctx, r, () => r.flatMap((b) => (r.length > 1 ? b.connections.map((c) => `${b.bridge}: ${c}`) : b.connections)).join('\n'));
    },
  },
  'flush-conntrack': {
    args: '[BRIDGE] [zone=N]',
    help: 'Remove the tracked connections (ct() actions) of every bridge or one, of every zone or one, as ovs-appctl dpctl/flush-conntrack. Packets of a removed connection are +new again.',
    min: 0,
    max: 2,
    run: async (words, ctx) => {
      const { bridge, zone } = ctArgs(words);
      const r = (await request(ctx.control, 'flush-conntrack', { bridge, zone })) as { flushed: number };
      print(ctx, r, () => `flushed ${r.flushed} connection${r.flushed === 1 ? '' : 's'}`);
    },
  },
  'nat-show': {
    args: 'ROUTER',
    help: 'NAT sessions of a router: protocol, TCP state, kind (snat/dnat), the connection as its originator sent it and as the reply arrives (translated), packets each way, age and expiry in seconds.',
    min: 1,
    max: 1,
    run: async ([router], ctx) => {
      const r = (await request(ctx.control, 'nat-show', { router })) as NatView[];
      print(ctx, r, () => formatNat(r));
    },
  },
  'add-dhcp': {
    args: 'BRIDGE tag=N subnet=CIDR gateway=IP [dns=IP[,IP]] [server=IP] [lease=SEC] [mtu=N]',
    help: "A DHCP responder for one network (Neutron's dhcp-agent role): static MAC → IP bindings, answering only on that VLAN.",
    min: 3,
    max: 8,
    run: async ([bridge, ...kv], ctx) => print(ctx, await request(ctx.control, 'add-dhcp', { bridge, options: kvOrUsage(kv) }), () => ''),
  },
  'dhcp-add-host': {
    args: 'BRIDGE tag=N mac=MAC ip=IP',
    help: 'Bind a MAC to an IP on the network served by add-dhcp.',
    min: 3,
    max: 4,
    run: async ([bridge, ...kv], ctx) => print(ctx, await request(ctx.control, 'dhcp-add-host', { bridge, options: kvOrUsage(kv) }), () => ''),
  },
};

const optText = (o: OptSpec) => `${o.short ? '-' : '--'}${o.name}${o.value ? ' ' + o.value : ''}`;

/** `verb ARGS [--opt V]...`, built from the verb's tables. */
export function usageOf(name: string): string {
  const v = VERBS[name];
  return [name, v.args, ...(v.options ?? []).map((o) => `[${optText(o)}]`)].filter((x) => x !== '').join(' ');
}

function optionLines(opts: OptSpec[]): string[] {
  const width = Math.max(...opts.map((o) => optText(o).length)) + 2;
  return opts.map((o) => `  ${optText(o).padEnd(width)} ${o.help}`);
}

export function verbHelp(name: string): string {
  const v = VERBS[name];
  const lines = [`usage: tvs ${usageOf(name)}`, '', v.help];
  if (v.options?.length) lines.push('', 'Options:', ...optionLines(v.options));
  lines.push('', 'Options of every verb:', ...optionLines(GLOBAL_OPTIONS.filter((o) => o.name !== 'help')));
  return lines.join('\n');
}

export function globalHelp(): string {
  const lines = [
    'usage: tvs [--control PATH] [--json] VERB [ARGS...]',
    '',
    'tsvswitch: a userspace virtual switch (bridges, VLANs, patch ports, flow tables, routers with NAT, DHCP) with an ovs-style CLI.',
    '',
    'Verbs:',
    ...Object.keys(VERBS).map((n) => `  ${usageOf(n)}\n      ${VERBS[n].help}`),
    '',
    'Options:',
    ...optionLines(GLOBAL_OPTIONS).map((l) => (l.includes('--help') ? l + '; `tvs VERB --help` for one verb' : l)),
    '',
    'Exit status: 0 success, 1 the switch refused the request (the message says why), 2 usage error.',
  ];
  return lines.join('\n');
}

/** Edit distance (Levenshtein, with adjacent transpositions counted as one edit). */
export function editDistance(a: string, b: string): number {
  const d: number[][] = [];
  for (let i = 0; i <= a.length; i++) d.push([i, ...new Array<number>(b.length).fill(0)]);
  for (let j = 0; j <= b.length; j++) d[0][j] = j;
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      d[i][j] = Math.min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) d[i][j] = Math.min(d[i][j], d[i - 2][j - 2] + 1);
    }
  }
  return d[a.length][b.length];
}

/** The known names nearest to `word` (at most a third of its letters wrong), best first. */
export function nearest(word: string, names: string[]): string[] {
  const limit = Math.max(1, Math.floor(word.length / 3));
  const scored = names.map((n) => ({ n, d: editDistance(word, n) })).filter((x) => x.d <= limit);
  if (scored.length === 0) return [];
  const best = Math.min(...scored.map((x) => x.d));
  return scored.filter((x) => x.d === best).map((x) => x.n);
}

function didYouMean(word: string, names: string[], prefix = ''): string {
  const near = nearest(word, names);
  return near.length ? ` (did you mean ${near.map((n) => `'${prefix}${n}'`).join(' or ')}?)` : '';
}

/** Every option name and whether it takes a value; one name means one thing in every verb. */
const OPTION_KINDS: Map<string, OptSpec> = (() => {
  const m = new Map<string, OptSpec>();
  for (const o of [...GLOBAL_OPTIONS, ...Object.values(VERBS).flatMap((v) => v.options ?? [])]) {
    const seen = m.get(o.name);
    if (seen && (!!seen.value !== !!o.value || !!seen.short !== !!o.short)) throw new Error(`tvs: option --${o.name} is declared both with and without a value`);
    m.set(o.name, o);
  }
  return m;
})();

/**
 * Split argv into the verb, its words and its options (--x, --x=V, --x V, -w V), checked against
 * the verb's option table: an option of another verb, or none, is a usage error.
 */
export function parseArgs(argv: string[]): { verb?: string; words: string[]; opts: Record<string, string | boolean> } {
  const opts: Record<string, string | boolean> = {};
  const words: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--') {
      words.push(...argv.slice(i + 1));
      break;
    }
    let name: string;
    let value: string | undefined;
    if (a.startsWith('--')) {
      const eq = a.indexOf('=');
      name = eq > 0 ? a.slice(2, eq) : a.slice(2);
      if (eq > 0) value = a.slice(eq + 1);
    } else if (a.length === 2 && a[0] === '-' && a[1] !== '-') {
      name = a.slice(1);
      if (OPTION_KINDS.get(name)?.short !== true) throw new UsageError(`unknown option ${a}`);
    } else {
      words.push(a);
      continue;
    }
    const spec = OPTION_KINDS.get(name);
    if (!spec || (spec.short && a.startsWith('--'))) throw new UsageError(`unknown option --${name}${didYouMean(name, [...OPTION_KINDS.keys()], '--')}`);
    if (spec.value) {
      if (value === undefined) {
        if (i + 1 >= argv.length) throw new UsageError(`${optText(spec).split(' ')[0]} needs a value (${spec.value})`);
        value = argv[++i];
      }
      if (name in opts) throw new UsageError(`${optText(spec).split(' ')[0]} given twice`);
      opts[name] = value;
    } else {
      if (value !== undefined) throw new UsageError(`--${name} takes no value`);
      opts[name] = true;
    }
  }
  const [verb, ...rest] = words;
  if (verb !== undefined && Object.prototype.hasOwnProperty.call(VERBS, verb)) {
    const allowed = new Set([...GLOBAL_OPTIONS, ...(VERBS[verb].options ?? [])].map((o) => o.name));
    for (const k of Object.keys(opts)) {
      if (!allowed.has(k)) {
        const own = VERBS[verb].options ?? [];
        throw new UsageError(`${optText(OPTION_KINDS.get(k)!).split(' ')[0]} is not an option of '${verb}' (${own.length ? 'its options: ' + own.map((o) => optText(o).split(' ')[0]).join(', ') : 'it has none'})`);
      }
    }
  }
  return { verb, words: rest, opts };
}

export async function main(argv: string[]): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs(argv);
  } catch (e) {
    const verb = argv.find((a) => Object.prototype.hasOwnProperty.call(VERBS, a));
    console.error(`tvs${verb ? ' ' + verb : ''}: ${(e as Error).message}\n${verb ? `usage: tvs ${usageOf(verb)}` : "(try 'tvs --help')"}`);
    return 2;
  }
  const { verb: verbName, words: rest, opts } = parsed;
  if (!verbName) {
    if (opts.help) {
      console.log(globalHelp());
      return 0;
    }
    console.error(`tvs: no verb given\n${globalHelp()}`);
    return 2;
  }
  const verb = Object.prototype.hasOwnProperty.call(VERBS, verbName) ? VERBS[verbName] : undefined;
  if (!verb) {
    console.error(`tvs: unknown verb '${verbName}'${didYouMean(verbName, Object.keys(VERBS))} (try 'tvs --help')`);
    return 2;
  }
  if (opts.help) {
    console.log(verbHelp(verbName));
    return 0;
  }
  if (rest.length < verb.min || rest.length > verb.max) {
    console.error(`tvs ${verbName}: expected ${verb.min === verb.max ? verb.min : `${verb.min} to ${verb.max}`} argument(s), got ${rest.length}\nusage: tvs ${usageOf(verbName)}`);
    return 2;
  }
  const ctx: Ctx = { control: controlPath(opts.control as string | undefined), json: opts.json === true, opts };
  try {
    await verb.run(rest, ctx);
    return 0;
  } catch (e) {
    if (e instanceof UsageError) {
      console.error(`tvs ${verbName}: ${e.message}\nusage: tvs ${usageOf(verbName)}`);
      return 2;
    }
    const msg = (e as Error).message;
    if (ctx.json && e instanceof ControlError) console.log(JSON.stringify({ error: msg }));
    console.error(`tvs ${verbName}: ${msg}`);
    return 1;
  }
}

if (require.main === module) {
  main(process.argv.slice(2)).then(
    (code) => {
      // `start` returns only after shutdown; client verbs exit here.
      process.exitCode = code;
    },
    (e) => {
      console.error(`tvs: ${(e as Error).stack ?? e}`);
      process.exitCode = 1;
    },
  );
}
