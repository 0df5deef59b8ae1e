/**
 * What the demos (`make demo`, `make demo-overlay`) share beyond lab/ (the namespaces, veth
 * pairs and `tvs start` daemons the tests and benches use too): commands that Ctrl-C ends, the
 * lab a demo creates (and removes again, also on failure or Ctrl-C), and the way a demo starts
 * and ends.
 *
 * A demo uses fixed, readable names; it refuses to start over leftovers of an interrupted run
 * (and says how to remove them) instead of touching what it did not create.
 */
import { spawn, type ChildProcess } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { Lab as NetLab, sh, type Teardownable, type Veth, type VethOptions } from '../lab/netns';
import { startDaemon, type Daemon } from '../lab/daemon';

export { sh } from '../lab/netns';
export { TVS, pingLoss } from '../lab/daemon';

/** A demo step's heading. */
export function step(msg: string): void {
  process.stdout.write(`\n\x1b[1m==> ${msg}\x1b[0m\n`);
}

/** The commands `shAsync` started that are still running: the clean-up ends them (by pid). */
const running = new Set<ChildProcess>();

/**
 * Async variant (stdout and stderr together, killed after `timeoutMs`): keeps the demo responsive
 * to Ctrl-C, which ends whatever is still running (a capture, an iperf3 server waiting).
 */
export function shAsync(argv: string[], timeoutMs = 30_000): Promise<string> {
  return new Promise((resolve) => {
    const p = spawn(argv[0], argv.slice(1), { stdio: ['ignore', 'pipe', 'pipe'] });
    running.add(p);
    let out = '';
    p.stdout!.on('data', (d) => (out += d));
    p.stderr!.on('data', (d) => (out += d));
    const timer = setTimeout(() => p.pid && process.kill(p.pid, 'SIGKILL'), timeoutMs);
    p.on('close', () => {
      running.delete(p);
      clearTimeout(timer);
      resolve(out);
    });
  });
}

/** A step's claim, checked: when it does not hold the demo stops, says which, and tears down. */
export function expect(ok: boolean, claim: string, seen: string): void {
  if (!ok) throw new Error(`expected ${claim}; got:\n${seen.trim()}`);
  console.log(`  ok: ${claim}`);
}

/** ping's summary line ("3 packets transmitted, 3 received, 0% packet loss, ...") or '' */
export const pingSummary = (out: string): string => out.split('\n').find((l) => l.includes('packet loss'))?.trim() ?? '';

/** `argv` run inside namespace `ns`. */
export const inNs = (ns: string, argv: string[]): string[] => ['ip', 'netns', 'exec', ns, ...argv];

/** Everything one demo run created, so that `cleanup` removes exactly that. */
export class Lab implements Teardownable {
  /** A private temporary directory (control sockets, flow files). */
  readonly dir: string;
  private readonly net = new NetLab();
  /** The daemons' teardowns (startDaemon registers them here): each stops its daemon by pid. */
  private readonly teardowns: (() => void | Promise<void>)[] = [];
  private cleaning: Promise<void> | null = null;

  constructor(name: string) {
    this.dir = fs.mkdtempSync(path.join(os.tmpdir(), `tvs-${name}-`));
  }

  teardown(fn: () => void | Promise<void>): void {
    this.teardowns.push(fn);
  }

  /** Refuse to start when any of these namespaces or root-namespace links already exists. */
  checkFree(namespaces: string[], links: string[]): void {
    const nsList = sh(['ip', 'netns', 'list'], { allowFail: true }).split('\n').map((l) => l.split(' ')[0]);
    const busyNs = namespaces.filter((n) => nsList.includes(n));
    const busyLinks = links.filter((l) => sh(['ip', 'link', 'show', l], { allowFail: true }) !== '');
    if (busyNs.length || busyLinks.length) {
      const cmds = [...busyNs.map((n) => `ip netns del ${n}`), ...busyLinks.map((l) => `ip link del ${l}`)];
      throw new Error(`already exist (left from an interrupted demo?): ${[...busyNs, ...busyLinks].join(', ')}; remove them with: ${cmds.join('; ')}`);
    }
  }

  /** A new namespace named `name`, loopback up, IPv6 off on what arrives in it (lab/netns.ts). */
  netns(name: string): void {
    this.net.netnsNamed(name);
  }

  /** A veth pair with the names given (lab/netns.ts VethOptions: hostName, peerName, hostNs...). */
  veth(opts: VethOptions): Veth {
    return this.net.veth(opts);
  }

  /** `tvs start` (in namespace `ns` when given), its output to `log`; resolves when it answers on `control`. */
  startDaemon(control: string, log: string, ns?: string): Promise<Daemon> {
    return startDaemon(this, [], { control, ns, logFile: log });
  }

  /**
   * End the commands still running, stop the daemons (by their pid: SIGTERM, SIGKILL after 5 s)
   * so nothing of the demo runs on after it returns, then delete the links and namespaces.
   * Once: a second call waits for the first.
   */
  cleanup(): Promise<void> {
    this.cleaning ??= (async () => {
      // SIGTERM, not SIGKILL: `timeout` passes it on to the capture it runs.
      for (const p of running) {
        try {
          if (p.pid && p.exitCode === null) process.kill(p.pid, 'SIGTERM');
        } catch {
          /* gone */
        }
      }
      for (const fn of this.teardowns.reverse()) {
        try {
          await fn();
        } catch {
          /* keep cleaning */
        }
      }
      this.net.cleanup();
      fs.rmSync(this.dir, { recursive: true, force: true });
    })();
    return this.cleaning;
  }
}

/**
 * Run a demo as root: tear its lab down when it ends, fails, is interrupted (Ctrl-C) or, with
 * `limitMs`, takes too long; `done` is printed after a successful run.
 */
export function runDemo(name: string, lab: Lab, main: () => Promise<void>, opts: { limitMs?: number; done?: () => string } = {}): void {
  const endWith = (code: number) => void lab.cleanup().then(() => process.exit(code));
  for (const [sig, code] of [['SIGINT', 130], ['SIGTERM', 143]] as const) {
    process.on(sig, () => {
      console.log(`\n${sig === 'SIGINT' ? 'interrupted' : 'terminated'}: tearing down`);
      endWith(code);
    });
  }
  const limit =
    opts.limitMs === undefined
      ? undefined
      : setTimeout(() => {
          console.error(`${name}: took longer than ${opts.limitMs! / 1000} s, tearing down`);
          endWith(1);
        }, opts.limitMs);
  const run = async (): Promise<void> => {
    if (process.getuid && process.getuid() !== 0) throw new Error('the demo creates namespaces and devices: run it as root');
    await main();
  };
  run().then(
    async () => {
      clearTimeout(limit);
      await lab.cleanup();
      console.log(opts.done ? opts.done() : 'done.');
    },
    (e) => {
      clearTimeout(limit);
      console.error(`${name} failed: ${(e as Error).message}`);
      endWith(1);
    },
  );
}
