/**
 * Run a real `tvs start` daemon for integration tests and benches and drive it with the real
 * CLI, so the tests cover the control socket and the CLI as a user runs them. The daemon is ended by its
 * PID in teardown (also when the test fails).
 */
import { ChildProcess, execFile, spawn } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { Teardownable } from './netns';

export const TVS = path.resolve(__dirname, '../src/cli/tvs.js');

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Run `tvs ARGS` against a control socket; never throws (the exit code is in the result). */
export function tvs(control: string, args: string[], timeoutMs = 20_000): Promise<CliResult> {
  return new Promise((resolve) => {
    execFile(process.execPath, [TVS, '--control', control, ...args], { timeout: timeoutMs }, (err, stdout, stderr) => {
      const code = err ? ((err as NodeJS.ErrnoException & { code?: number }).code as unknown as number) ?? 1 : 0;
      resolve({ code: typeof code === 'number' ? code : 1, stdout: stdout.toString(), stderr: stderr.toString() });
    });
  });
}

/** Run `tvs ARGS`, throw with the CLI's message when it fails. */
export async function tvsOk(control: string, args: string[]): Promise<string> {
  const r = await tvs(control, args);
  if (r.code !== 0) throw new Error(`tvs ${args.join(' ')} failed (${r.code}): ${r.stderr.trim()}`);
  return r.stdout;
}

export interface Daemon {
  control: string;
  proc: ChildProcess;
  log: () => string;
  alive: () => boolean;
}

/**
 * Start `tvs start` on a private control socket; resolves once the socket answers. With `ns`,
 * the daemon runs inside that network namespace (`ip netns exec` execs it: the PID is the
 * daemon's own); its control socket is a file, reachable from anywhere. With `control`, it
 * uses that socket path (a restart of the same daemon), whose directory the caller removes.
 * With `logFile`, the daemon writes its output to that file (kept: the demos name it), which
 * log() reads.
 */
export async function startDaemon(t: Teardownable, extraArgs: string[] = [], opts: { ns?: string; control?: string; logFile?: string } = {}): Promise<Daemon> {
  const dir = opts.control ? null : fs.mkdtempSync(path.join(os.tmpdir(), 'tvs-test-'));
  const control = opts.control ?? path.join(dir!, 'tvs.sock');
  const argv = [process.execPath, TVS, 'start', '--control', control, ...extraArgs];
  if (opts.ns) argv.unshift('ip', 'netns', 'exec', opts.ns);
  let proc: ChildProcess;
  let log: () => string;
  const logFile = opts.logFile;
  if (logFile !== undefined) {
    // The file, not a pipe: what the daemon wrote last is there even when the caller exits at once.
    const fd = fs.openSync(logFile, 'w');
    proc = spawn(argv[0], argv.slice(1), { stdio: ['ignore', fd, fd] });
    fs.closeSync(fd);
    log = () => fs.readFileSync(logFile, 'utf8');
  } else {
    let kept = '';
    proc = spawn(argv[0], argv.slice(1), { stdio: ['ignore', 'pipe', 'pipe'] });
    proc.stdout!.on('data', (d) => (kept += d));
    proc.stderr!.on('data', (d) => (kept += d));
    log = () => kept;
  }
  let exited = false;
  proc.on('exit', () => (exited = true));
  t.teardown(async () => {
    if (!exited && proc.pid) {
      process.kill(proc.pid, 'SIGTERM');
      const deadline = Date.now() + 5000;
      while (!exited && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
      if (!exited) process.kill(proc.pid, 'SIGKILL');
    }
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });
  const deadline = Date.now() + 15_000;
  for (;;) {
    if (exited) throw new Error(`tvs start exited early:\n${log()}`);
    if (fs.existsSync(control)) {
      const r = await tvs(control, ['show']);
      if (r.code === 0) break;
    }
    if (Date.now() > deadline) throw new Error(`tvs start did not come up within 15 s:\n${log()}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  return { control, proc, log, alive: () => !exited };
}

/** Run a command asynchronously (the event loop keeps running) with a hard time limit. */
export function run(argv: string[], timeoutMs = 30_000): Promise<CliResult> {
  return new Promise((resolve) => {
    execFile(argv[0], argv.slice(1), { timeout: timeoutMs, maxBuffer: 16 << 20 }, (err, stdout, stderr) => {
      const code = err ? (typeof (err as { code?: unknown }).code === 'number' ? ((err as { code: number }).code) : 1) : 0;
      resolve({ code, stdout: stdout.toString(), stderr: stderr.toString() });
    });
  });
}

/** `ip netns exec NS argv...` asynchronously. */
export function nsRun(ns: string, argv: string[], timeoutMs = 30_000): Promise<CliResult> {
  return run(['ip', 'netns', 'exec', ns, ...argv], timeoutMs);
}

/** Packet loss percentage from ping's summary, or 100 when it printed none. */
export function pingLoss(out: string): number {
  const m = /(\d+(?:\.\d+)?)% packet loss/.exec(out);
  return m ? Number(m[1]) : 100;
}

/**
 * Send `count` echoes from NS to IP one after the other, each answered within `waitSec` or
 * counted lost; resolves as soon as the last reply is in, with the loss percentage, a summary
 * and ping's reply lines (`64 bytes from ...: icmp_seq=1 ttl=63 time=...`). For checks that
 * every echo crosses: `ping -c N -i 0.2 -W S` waits S seconds only while nothing has been
 * answered; once a reply is in it gives the last echo max(2 x the slowest RTT so far, the
 * interval) and counts a later reply as lost, so a path that stalls 200 ms on a loaded machine
 * reads as 33% loss (reproduced with a responder that answers the third echo 400 ms late: 2 of
 * 3 received, every time). An IPv6 address (one with a colon) is pinged with -6; `extra` goes
 * to each ping (`-M do -s 1422`).
 */
export async function pingEach(ns: string, ip: string, count: number, waitSec = 5, extra: string[] = []): Promise<{ loss: number; summary: string; replies: string[] }> {
  let answered = 0;
  const rtts: string[] = [];
  const replies: string[] = [];
  const family = ip.includes(':') ? ['-6'] : [];
  for (let i = 0; i < count; i++) {
    const r = await nsRun(ns, ['ping', ...family, ...extra, '-c', '1', '-W', String(waitSec), ip], (waitSec + 10) * 1000);
    if (pingLoss(r.stdout) === 0) {
      answered++;
      rtts.push(/time=(\S+ ms)/.exec(r.stdout)?.[1] ?? '?');
      replies.push(...r.stdout.split('\n').filter((l) => / bytes from .*icmp_seq=/.test(l)));
    } else rtts.push('lost');
  }
  const loss = Math.round((100 * (count - answered)) / count);
  return { loss, summary: `${count} echoes to ${ip}, ${answered} answered (${rtts.join(', ')}), ${loss}% loss`, replies };
}

/**
 * For checks that no echo crosses: `count` echoes 0.2 s apart, then ping waits `waitSec` after
 * the last for any reply (its -W holds while nothing has been answered), so a reply that a
 * loaded machine holds up still arrives in time to fail the check. `answered` is the number of
 * replies, or -1 when ping printed no summary of `count` echoes sent (it could not send, which
 * must not read as isolation). `extra` goes to ping as for pingEach.
 */
export async function pingNone(ns: string, ip: string, count = 2, waitSec = 3, extra: string[] = []): Promise<{ answered: number; summary: string }> {
  const family = ip.includes(':') ? ['-6'] : [];
  const r = await nsRun(ns, ['ping', ...family, ...extra, '-c', String(count), '-i', '0.2', '-W', String(waitSec), ip], (waitSec + count + 10) * 1000);
  const m = /(\d+) packets transmitted, (\d+) received/.exec(r.stdout);
  const answered = m && Number(m[1]) === count ? Number(m[2]) : -1;
  const summary = r.stdout.split('\n').find((l) => l.includes('transmitted')) ?? `no ping summary: ${r.stderr.trim() || r.stdout.trim()}`;
  return { answered, summary: `${count} echoes to ${ip}, up to ${waitSec} s for a reply after the last: ${summary}` };
}

/**
 * Resolves once a TCP socket in NS listens on PORT: `iperf3 -s -D` returns before its server
 * has bound, and on a loaded machine the gap is longer than any fixed pause. Throws after
 * timeoutMs with what ss saw.
 */
export async function waitListening(ns: string, port: number, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const r = await nsRun(ns, ['ss', '-Hltn', `sport = :${port}`]);
    if (r.code === 0 && r.stdout.trim() !== '') return;
    if (Date.now() > deadline) throw new Error(`nothing listens on TCP port ${port} in ${ns} after ${timeoutMs} ms (ss: ${r.stdout.trim() || r.stderr.trim() || 'empty'})`);
    await new Promise((res) => setTimeout(res, 50));
  }
}

/** Poll `cond` until it holds; throws after `ms` naming what was awaited (tests never hang). */
export async function waitUntil(what: string, cond: () => boolean | Promise<boolean>, ms: number, everyMs = 50): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}
