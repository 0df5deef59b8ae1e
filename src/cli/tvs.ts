#!/usr/bin/env node
/**
 * `tvs` — run the switch (`tvs start`) and talk to a running one over its control socket.
 * Verbs and their words follow ovs-vsctl / ovs-ofctl / ovs-appctl. Exit status: 0 on success,
 * 1 when the switch refused the request, 2 on a usage error.
 */
import { request, ControlError } from '../control/client';
import { controlPath } from '../control/protocol';
import { parseKeyValues } from '../control/port-options';
import { formatShow, formatDumpPorts, formatFdb } from './format';

interface Verb {
  usage: string;
  help: string;
  min: number;
  max: number;
  run: (words: string[], ctx: Ctx) => Promise<void>;
}
interface Ctx {
  control: string;
  json: boolean;
  opts: Record<string, string | boolean>;
}

class UsageError extends Error {}

function print(ctx: Ctx, value: unknown, human: () => string): void {
  if (ctx.json) console.log(JSON.stringify(value ?? null, null, 2));
  else {
    const s = human();
    if (s) console.log(s);
  }
}

const VERBS: Record<string, Verb> = {
  start: {
    usage: 'start [--config FILE] [--control PATH] [--busy-poll]',
    help: 'Run the switch in the foreground until SIGINT/SIGTERM, then remove what it created (TAP devices unless persistent) and the control socket.',
    min: 0,
    max: 0,
    run: async (_w, ctx) => {
      // Loaded lazily so the client verbs never load the datapath or the addon.
      const { runDaemon } = await import('./daemon');
      await runDaemon({ control: ctx.control, config: ctx.opts.config as string | undefined, busyPoll: ctx.opts['busy-poll'] === true });
    },
  },
  'add-br': {
    usage: 'add-br BRIDGE',
    help: 'Create a bridge (with no flows it behaves as priority=0,actions=NORMAL).',
    min: 1,
    max: 1,
    run: async ([bridge], ctx) => print(ctx, await request(ctx.control, 'add-br', { bridge }), () => ''),
  },
  'del-br': {
    usage: 'del-br BRIDGE',
    help: 'Delete a bridge and all its ports.',
    min: 1,
    max: 1,
    run: async ([bridge], ctx) => print(ctx, await request(ctx.control, 'del-br', { bridge }), () => ''),
  },
  'add-port': {
    usage: 'add-port BRIDGE NAME [type=afpacket|tap|patch|memory] [ofport=N] [tag=N] [trunks=N,M] [peer=PORT] [offloads=on|off] [ring=v3|v2] [persist=true]',
    help:
      'Add a port. afpacket: an existing interface by name (e.g. a veth or a QEMU tap). tap: create (or attach to) a TAP device. ' +
      'patch: joins two bridges (peer= names the other end). tag=N makes an access port (untagged on the wire, VLAN N inside); ' +
      'without tag the port is a trunk (trunks= restricts the VLANs).',
    min: 2,
    max: 12,
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
    usage: 'del-port BRIDGE NAME',
    help: 'Remove a port (a TAP device the switch created is deleted unless persistent).',
    min: 2,
    max: 2,
    run: async ([bridge, port], ctx) => print(ctx, await request(ctx.control, 'del-port', { bridge, port }), () => ''),
  },
  show: {
    usage: 'show',
    help: 'Bridges and their ports (like ovs-vsctl show).',
    min: 0,
    max: 0,
    run: async (_w, ctx) => {
      const r = (await request(ctx.control, 'show')) as Parameters<typeof formatShow>[0];
      print(ctx, r, () => formatShow(r));
    },
  },
  'dump-ports': {
    usage: 'dump-ports BRIDGE',
    help: 'Per-port rx/tx packet and byte counters and drops by reason (like ovs-ofctl dump-ports).',
    min: 1,
    max: 1,
    run: async ([bridge], ctx) => {
      const r = (await request(ctx.control, 'dump-ports', { bridge })) as Parameters<typeof formatDumpPorts>[1];
      print(ctx, r, () => formatDumpPorts(bridge, r));
    },
  },
  'fdb-show': {
    usage: 'fdb-show BRIDGE',
    help: 'The learned MAC table: port, VLAN, MAC, age in seconds (like ovs-appctl fdb/show).',
    min: 1,
    max: 1,
    run: async ([bridge], ctx) => {
      const r = (await request(ctx.control, 'fdb-show', { bridge })) as Parameters<typeof formatFdb>[0];
      print(ctx, r, () => formatFdb(r));
    },
  },
};

function globalHelp(): string {
  const lines = [
    'usage: tvs [--control PATH] [--json] VERB [ARGS...]',
    '',
    'tsvswitch: a userspace virtual switch (bridges, VLANs, patch ports) with an ovs-style CLI.',
    '',
    'Verbs:',
    ...Object.values(VERBS).map((v) => `  ${v.usage}\n      ${v.help}`),
    '',
    'Options:',
    `  --control PATH   control socket of the switch (default: $TVS_CONTROL or /run/tvs/tvs.sock)`,
    '  --json           print the result as JSON',
    '  --help           this text; `tvs VERB --help` for one verb',
    '',
    'Exit status: 0 success, 1 the switch refused the request (the message says why), 2 usage error.',
  ];
  return lines.join('\n');
}

/** Split argv into options (--x, --x=v, --x v for known valued options) and words. */
function parseArgs(argv: string[]): { words: string[]; opts: Record<string, string | boolean> } {
  const valued = new Set(['control', 'config']);
  const opts: Record<string, string | boolean> = {};
  const words: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--') {
      words.push(...argv.slice(i + 1));
      break;
    }
    if (a.startsWith('--')) {
      const eq = a.indexOf('=');
      const name = eq > 0 ? a.slice(2, eq) : a.slice(2);
      if (eq > 0) opts[name] = a.slice(eq + 1);
      else if (valued.has(name)) {
        if (i + 1 >= argv.length) throw new UsageError(`--${name} needs a value`);
        opts[name] = argv[++i];
      } else opts[name] = true;
    } else words.push(a);
  }
  const known = new Set(['control', 'config', 'json', 'help', 'busy-poll', 'strict', 'hex']);
  for (const k of Object.keys(opts)) if (!known.has(k)) throw new UsageError(`unknown option --${k}`);
  return { words, opts };
}

export async function main(argv: string[]): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs(argv);
  } catch (e) {
    console.error(`tvs: ${(e as Error).message}\n(try 'tvs --help')`);
    return 2;
  }
  const { words, opts } = parsed;
  const [verbName, ...rest] = words;
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
    console.error(`tvs: unknown verb '${verbName}' (try 'tvs --help')`);
    return 2;
  }
  if (opts.help) {
    console.log(`usage: tvs ${verb.usage}\n\n${verb.help}`);
    return 0;
  }
  if (rest.length < verb.min || rest.length > verb.max) {
    console.error(`tvs ${verbName}: expected ${verb.min === verb.max ? verb.min : `${verb.min} to ${verb.max}`} argument(s), got ${rest.length}\nusage: tvs ${verb.usage}`);
    return 2;
  }
  const ctx: Ctx = { control: controlPath(opts.control as string | undefined), json: opts.json === true, opts };
  try {
    await verb.run(rest, ctx);
    return 0;
  } catch (e) {
    if (e instanceof UsageError) {
      console.error(`tvs ${verbName}: ${e.message}\nusage: tvs ${verb.usage}`);
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
