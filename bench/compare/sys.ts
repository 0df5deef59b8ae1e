/**
 * Small system helpers for the side-by-side comparison: run a command (bounded by a timeout),
 * read a process's CPU time and RSS from /proc, machine facts, and the "was the machine busy"
 * check. Nothing here sends traffic.
 */
import { execFileSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';

/**
 * Run a command, return its stdout. `stdoutFile`: the command writes its stdout to that file
 * instead of a pipe (read back when it ends), so this process is not woken for every line it
 * prints — ping prints a line per echo, and each wakeup of the bench on the switch's CPU is
 * time taken from the switch during the measurement.
 */
export function sh(argv: string[], opts: { allowFail?: boolean; timeoutMs?: number; env?: NodeJS.ProcessEnv; stdoutFile?: string } = {}): string {
  const fd = opts.stdoutFile !== undefined ? fs.openSync(opts.stdoutFile, 'w') : undefined;
  const out = (piped: string | undefined): string => (opts.stdoutFile !== undefined ? fs.readFileSync(opts.stdoutFile, 'utf8') : piped ?? '');
  try {
    return out(
      execFileSync(argv[0], argv.slice(1), {
        encoding: 'utf8',
        timeout: opts.timeoutMs ?? 60_000,
        stdio: ['ignore', fd ?? 'pipe', 'pipe'],
        env: opts.env ?? process.env,
      }) as string | undefined,
    );
  } catch (e) {
    if (opts.allowFail) return out((e as { stdout?: string }).stdout);
    const err = e as { stderr?: string; message: string };
    throw new Error(`${argv.join(' ')}: ${(err.stderr || err.message).trim()}`);
  } finally {
    if (fd !== undefined) fs.closeSync(fd);
  }
}

export const nsx = (ns: string, argv: string[]): string[] => ['ip', 'netns', 'exec', ns, ...argv];

export function haveCmd(cmd: string): boolean {
  return sh(['sh', '-c', `command -v ${cmd}`], { allowFail: true }).trim() !== '';
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** utime + stime of a whole process (all threads), in clock ticks (USER_HZ = 100). */
export function cpuTicks(pid: number): number {
  try {
    const f = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    const parts = f.slice(f.lastIndexOf(')') + 2).split(' ');
    return Number(parts[11]) + Number(parts[12]);
  } catch {
    return NaN;
  }
}

/** Resident set size in KiB (VmRSS), NaN when the process is gone. */
export function rssKiB(pid: number): number {
  try {
    const m = /VmRSS:\s+(\d+)\s+kB/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) : NaN;
  } catch {
    return NaN;
  }
}

export function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** SIGTERM a process we started, then SIGKILL if it is still there after `graceMs`. */
export async function stopPid(pid: number, graceMs = 3000): Promise<void> {
  if (!pid || !pidAlive(pid)) return;
  try {
    process.kill(pid, 'SIGTERM');
  } catch {
    return;
  }
  for (let t = 0; t < graceMs && pidAlive(pid); t += 50) await sleep(50);
  if (pidAlive(pid)) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      /* gone */
    }
  }
}

function cpuStat(): { idle: number; total: number } {
  const line = fs.readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).slice(1).map(Number);
  const idle = line[3] + (line[4] || 0);
  return { idle, total: line.reduce((a, b) => a + b, 0) };
}

export interface BusyCheck {
  load1: number;
  idlePct: number;
  busy: boolean;
  warning?: string;
}

/** Load average and idle CPU over `ms`: the comparison is only as good as a quiet machine. */
export async function busyCheck(ms = 2000): Promise<BusyCheck> {
  const a = cpuStat();
  await sleep(ms);
  const b = cpuStat();
  const idlePct = ((b.idle - a.idle) / Math.max(1, b.total - a.total)) * 100;
  const load1 = os.loadavg()[0];
  const cores = os.cpus().length;
  const busy = idlePct < 85 || load1 > cores * 0.4;
  return {
    load1: +load1.toFixed(2),
    idlePct: +idlePct.toFixed(1),
    busy,
    warning: busy
      ? `machine busy: load ${load1.toFixed(2)} on ${cores} cores, ${idlePct.toFixed(0)}% idle over ${ms / 1000}s — figures will be noisy`
      : undefined,
  };
}

function firstLine(s: string): string {
  return s.split('\n')[0].trim();
}

export function machineMeta(): Record<string, unknown> {
  const dpkgVer = (p: string) => sh(['dpkg-query', '-W', '-f=${Version}', p], { allowFail: true }).trim() || 'missing';
  let tvsVersion = 'unknown';
  try {
    // eslint-disable-next-line @typescript-eslint/no-var-requires
    tvsVersion = require('../../../package.json').version;
  } catch {
    /* not found */
  }
  return {
    date: new Date().toISOString(),
    kernel: os.release(),
    cpu: os.cpus()[0]?.model ?? 'unknown',
    cores: os.cpus().length,
    memGiB: +(os.totalmem() / 2 ** 30).toFixed(1),
    node: process.version,
    tvs: tvsVersion,
    ovs: firstLine(sh(['ovs-vswitchd', '--version'], { allowFail: true })) || 'missing',
    trafgen: firstLine(sh(['trafgen', '--version'], { allowFail: true })) || 'missing',
    iperf3: dpkgVer('iperf3'),
    nftables: dpkgVer('nftables'),
    iputils: dpkgVer('iputils-ping'),
  };
}

/** Nearest-rank quantile `p` (0..1] of `xs` (unsorted; NaN when empty): the figure ping's p99 rows use. */
export function quantile(xs: number[], p: number): number {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil(s.length * p) - 1))];
}

/** Entry of a root-only bench script: refuse without root (saying what needs it), else run `main`. */
export function runAsRoot(name: string, needs: string, main: () => Promise<void>): void {
  if (process.getuid?.() !== 0) {
    console.error(`${name}: needs root (${needs})`);
    process.exit(1);
  }
  main().catch((e) => {
    console.error(e);
    process.exit(1);
  });
}

export function median(xs: number[]): number {
  const v = xs.filter((x) => Number.isFinite(x)).sort((a, b) => a - b);
  if (v.length === 0) return NaN;
  const m = v.length >> 1;
  return v.length % 2 ? v[m] : (v[m - 1] + v[m]) / 2;
}
