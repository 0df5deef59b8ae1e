/**
 * What the demos (`make demo`, `make demo-overlay`) share: commands with a time limit, the
 * namespaces and links a demo creates (and removes again, also on failure or Ctrl-C), the
 * `tvs start` daemons it runs, and the way a demo starts and ends.
 *
 * A demo uses fixed, readable names; it refuses to start over leftovers of an interrupted run
 * (and says how to remove them) instead of touching what it did not create.
 */
import { execFileSync, spawn, type ChildProcess } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

export const TVS = path.resolve(__dirname, '../src/cli/tvs.js');

/** A demo step's heading. */
export function step(msg: string): void {
  process.stdout.write(`\n\x1b[1m==> ${msg}\x1b[0m\n`);
}

/** Run a command (30 s at most); its stdout. On failure: throws with its stderr, or returns its stdout when `allowFail`. */
export function sh(argv: string[], allowFail = false): string {
  try {
    return execFileSync(argv[0], argv.slice(1), { encoding: 'utf8', timeout: 30_000, stdio: ['ignore', 'pipe', 'pipe'] });
  } catch (e) {
    if (allowFail) return (e as { stdout?: string }).stdout ?? '';
    throw new Error(`${argv.join(' ')}: ${(e as { stderr?: string }).stderr ?? (e as Error).message}`);
  }
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

/** Whether process `pid` (a child: a zombie once it exited) is gone within `ms`; blocks meanwhile. */
function exitedWithin(pid: number, ms: number): boolean {
  const nap = new Int32Array(new SharedArrayBuffer(4));
  for (const end = Date.now() + ms; Date.now() < end; Atomics.wait(nap, 0, 0, 20)) {
    try {
      if (/\) Z /.test(fs.readFileSync(`/proc/${pid}/stat`, 'utf8'))) return true;
    } catch {
      return true;
    }
  }
  return false;
}

/** A step's claim, checked: when it does not hold the demo stops, says which, and tears down. */
export function expect(ok: boolean, claim: string, seen: string): void {
  if (!ok) throw new Error(`expected ${claim}; got:\n${seen.trim()}`);
  console.log(`  ok: ${claim}`);
}

/** ping's summary line ("3 packets transmitted, 3 received, 0% packet loss, ...") or '' */
export const pingSummary = (out: string): string => out.split('\n').find((l) => l.includes('packet loss'))?.trim() ?? '';

/** ping's loss in percent (100 when ping printed no summary). */
export const pingLoss = (out: string): number => Number(/(\d+(?:\.\d+)?)% packet loss/.exec(out)?.[1] ?? 100);

/** `argv` run inside namespace `ns`. */
export const inNs = (ns: string, argv: string[]): string[] => ['ip', 'netns', 'exec', ns, ...argv];

/** Everything one demo run created, so that `cleanup` removes exactly that. */
export class Lab {
  /** A private temporary directory (control sockets, flow files). */
  readonly dir: string;
  private readonly namespaces: string[] = [];
  private readonly links: string[] = [];
  private readonly daemons: ChildProcess[] = [];

  constructor(name: string) {
    this.dir = fs.mkdtempSync(path.join(os.tmpdir(), `tvs-${name}-`));
  }

  /** Refuse to start when any of these namespaces or root-namespace links already exists. */
  checkFree(namespaces: string[], links: string[]): void {
    const nsList = sh(['ip', 'netns', 'list'], true).split('\n').map((l) => l.split(' ')[0]);
    const busyNs = namespaces.filter((n) => nsList.includes(n));
    const busyLinks = links.filter((l) => sh(['ip', 'link', 'show', l], true) !== '');
    if (busyNs.length || busyLinks.length) {
      const cmds = [...busyNs.map((n) => `ip netns del ${n}`), ...busyLinks.map((l) => `ip link del ${l}`)];
      throw new Error(`already exist (left from an interrupted demo?): ${[...busyNs, ...busyLinks].join(', ')}; remove them with: ${cmds.join('; ')}`);
    }
  }

  /** A new namespace with its loopback up. */
  netns(name: string): void {
    sh(['ip', 'netns', 'add', name]);
    this.namespaces.push(name);
    sh(['ip', '-n', name, 'link', 'set', 'lo', 'up']);
  }

  /** A root-namespace link (already created, or possibly left by a step that failed halfway) to delete at cleanup. */
  ownLink(name: string): void {
    this.links.push(name);
  }

  /** `tvs start` (in namespace `ns` when given), logging to `log`; resolves when its control socket is there. */
  async startDaemon(control: string, log: string, ns?: string): Promise<ChildProcess> {
    const argv = [process.execPath, TVS, 'start', '--control', control];
    const full = ns === undefined ? argv : inNs(ns, argv);
    const logFd = fs.openSync(log, 'w');
    const d = spawn(full[0], full.slice(1), { stdio: ['ignore', logFd, logFd] });
    fs.closeSync(logFd);
    this.daemons.push(d);
    for (let i = 0; i < 100 && !fs.existsSync(control) && d.exitCode === null; i++) await new Promise((r) => setTimeout(r, 100));
    if (!fs.existsSync(control)) throw new Error(`tvs start${ns === undefined ? '' : ` in ${ns}`} did not come up (see ${log})`);
    return d;
  }

  /** End the commands still running and stop the daemons (by their pid), delete the links, then the namespaces (and the veth ends inside them). */
  cleanup(): void {
    // SIGTERM, not SIGKILL: `timeout` passes it on to the capture it runs.
    for (const p of running) {
      try {
        if (p.pid && p.exitCode === null) process.kill(p.pid, 'SIGTERM');
      } catch {
        /* gone */
      }
    }
    for (const d of this.daemons) {
      if (d.pid && d.exitCode === null) {
        try {
          process.kill(d.pid, 'SIGTERM');
        } catch {
          /* gone */
        }
      }
    }
    // Wait (2 s at most) until they have closed their ports, so that nothing of the demo runs on
    // after it returns; one that does not stop is killed.
    for (const d of this.daemons) {
      if (d.pid && !exitedWithin(d.pid, 2000)) {
        try {
          process.kill(d.pid, 'SIGKILL');
        } catch {
          /* gone */
        }
      }
    }
    for (const l of this.links) sh(['ip', 'link', 'del', l], true);
    for (const ns of [...this.namespaces].reverse()) sh(['ip', 'netns', 'del', ns], true);
    fs.rmSync(this.dir, { recursive: true, force: true });
  }
}

/**
 * Run a demo as root: tear its lab down when it ends, fails, is interrupted (Ctrl-C) or, with
 * `limitMs`, takes too long; `done` is printed after a successful run.
 */
export function runDemo(name: string, lab: Lab, main: () => Promise<void>, opts: { limitMs?: number; done?: () => string } = {}): void {
  for (const [sig, code] of [['SIGINT', 130], ['SIGTERM', 143]] as const) {
    process.on(sig, () => {
      console.log(`\n${sig === 'SIGINT' ? 'interrupted' : 'terminated'}: tearing down`);
      lab.cleanup();
      process.exit(code);
    });
  }
  const limit =
    opts.limitMs === undefined
      ? undefined
      : setTimeout(() => {
          console.error(`${name}: took longer than ${opts.limitMs! / 1000} s, tearing down`);
          lab.cleanup();
          process.exit(1);
        }, opts.limitMs);
  const run = async (): Promise<void> => {
    if (process.getuid && process.getuid() !== 0) throw new Error('the demo creates namespaces and devices: run it as root');
    await main();
  };
  run().then(
    () => {
      clearTimeout(limit);
      lab.cleanup();
      console.log(opts.done ? opts.done() : 'done.');
    },
    (e) => {
      clearTimeout(limit);
      console.error(`${name} failed: ${(e as Error).message}`);
      lab.cleanup();
      process.exit(1);
    },
  );
}
