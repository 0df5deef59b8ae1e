/**
 * Where a cold echo's milliseconds go: several tvs builds, alternating, each run a fresh lab and a
 * freshly started switch (h1 → tvs → h2 over veth, L2 NORMAL or the Neutron firewall tables, as
 * bench/compare sets them up), the first `--pings` echoes 2 ms apart right after start (ping on
 * CPU 0, tvs on CPU 1), every RTT with its time (ping -D); with --perf, the scheduler's switches
 * on every CPU of the machine (perf sched events, CLOCK_MONOTONIC) over the same run, so each slow
 * echo is told apart by who had the switch's CPU (its main thread, its helper threads: V8's
 * compiler and GC workers, another process, nobody) and the pinger's CPU during it, and by how the
 * switch's main thread left the CPU (preempted: R, or waiting). The host's steal time per CPU
 * (/proc/stat) is read around each run: a vCPU the hypervisor took shows nowhere in perf.
 *
 *   node dist/bench/compare/cold-probe.js [--reps N] [--pings N] [--slow-us N] [--perf | --stacks]
 *        [--scenarios l2,fw] [--out DIR] LABEL=TREE[+FLAG...][:OPT,OPT...]...
 *
 * TREE: a built checkout (its dist/src/cli/tvs.js); FLAGs extra node/V8 flags (e.g.
 * +--trace-gc): the switch's log (with what they print) is kept in DIR; OPTs `tvs start` options.
 * Writes DIR/runs.jsonl (a line per run: every RTT, the slow echoes and what the CPUs did) and
 * prints a summary table (runs with an echo over --slow-us, avg / p99 / max per build).
 */
import { spawn } from 'child_process';
import * as fs from 'fs';
import * as net from 'net';
import * as path from 'path';
import { Lab, TvsSwitch, ADDR, type Scenario } from './lab';
import { flowOf, PINGER } from './measure';
import { sh, nsx, sleep, median, quantile, runAsRoot } from './sys';

interface Build {
  label: string;
  tree: string;
  nodeFlags: string[];
  opts: string[];
}

function parseBuild(arg: string): Build {
  const m = /^([^=]+)=([^+:]+)((?:\+[^+:]+)*)(?::(.*))?$/.exec(arg);
  if (!m) throw new Error(`'${arg}': LABEL=TREE[+FLAG...][:OPT,...]`);
  return { label: m[1], tree: path.resolve(m[2]), nodeFlags: m[3] ? m[3].slice(1).split('+') : [], opts: m[4] ? m[4].split(',') : [] };
}

/** Per-CPU steal ticks (USER_HZ) from /proc/stat. */
function steal(): number[] {
  return fs
    .readFileSync('/proc/stat', 'utf8')
    .split('\n')
    .filter((l) => /^cpu\d/.test(l))
    .map((l) => Number(l.split(/\s+/)[8]));
}

/** Microseconds of CLOCK_REALTIME minus CLOCK_MONOTONIC (ping -D prints the first, perf -k mono the second). */
function realMinusMonoUs(): number {
  const { performance } = require('perf_hooks') as typeof import('perf_hooks');
  const xs: number[] = [];
  for (let i = 0; i < 5; i++) {
    const mono = Number(process.hrtime.bigint()) / 1e3;
    const real = (performance.timeOrigin + performance.now()) * 1e3;
    xs.push(real - mono);
  }
  return median(xs);
}

interface Echo {
  seq: number;
  /** reply time, µs CLOCK_MONOTONIC */
  atUs: number;
  rttUs: number;
}

function parsePingD(out: string, offUs: number): Echo[] {
  return [...out.matchAll(/^\[(\d+\.\d+)\].*icmp_seq=(\d+).*time=([\d.]+) ms/gm)].map((m) => ({ seq: Number(m[2]), atUs: Number(m[1]) * 1e6 - offUs, rttUs: Math.round(Number(m[3]) * 1000) }));
}

interface Slice {
  cpu: number;
  from: number;
  to: number;
  comm: string;
  tid: number;
  /** its process */
  pid: number;
  /** how it left the CPU (R: preempted, S/D: waited) */
  state: string;
}

/** perf script lines of sched_switch → per-CPU run intervals (µs CLOCK_MONOTONIC). */
function slices(script: string): Slice[] {
  const out: Slice[] = [];
  const last = new Map<number, { at: number; comm: string; tid: number }>();
  const re = /(\d+)\/\d+\s+\[(\d+)\]\s+(\d+\.\d+):\s+sched:sched_switch:\s+prev_comm=(.*?) prev_pid=(\d+) prev_prio=\d+ prev_state=(\S+) ==> next_comm=(.*?) next_pid=(\d+)/;
  for (const line of script.split('\n')) {
    const m = re.exec(line);
    if (!m) continue;
    const cpu = Number(m[2]);
    const at = Number(m[3]) * 1e6;
    const prev = last.get(cpu);
    out.push({ cpu, from: prev?.at ?? at, to: at, comm: m[4], tid: Number(m[5]), pid: Number(m[1]), state: m[6] });
    last.set(cpu, { at, comm: m[7], tid: Number(m[8]) });
  }
  return out;
}

/** Who had each CPU during [from, to]: µs per task, largest first, and the tvs main thread's exits. */
function during(sl: Slice[], from: number, to: number, who: (s: Slice) => string): { cpu: Record<number, [string, number][]>; mainOut: string[] } {
  const per = new Map<number, Map<string, number>>();
  const mainOut: string[] = [];
  for (const s of sl) {
    const a = Math.max(from, s.from);
    const b = Math.min(to, s.to);
    if (b <= a) continue;
    const m = per.get(s.cpu) ?? per.set(s.cpu, new Map()).get(s.cpu)!;
    const k = who(s);
    m.set(k, (m.get(k) ?? 0) + (b - a));
    if (k === 'tvs-main' && s.to <= to) mainOut.push(`${s.state}@+${Math.round(s.to - from)}`);
  }
  const cpu: Record<number, [string, number][]> = {};
  for (const [c, m] of per) cpu[c] = [...m.entries()].map(([k, v]) => [k, Math.round(v)] as [string, number]).sort((x, y) => y[1] - x[1]).slice(0, 6);
  return { cpu, mainOut };
}

/** The daemon's control-stats (its helper threads' state: 'auto' moves them out of SCHED_IDLE while saturated). */
function controlStats(sock: string): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const c = net.connect(sock);
    let buf = '';
    const t = setTimeout(() => (c.destroy(), reject(new Error('control-stats: no answer'))), 3000);
    c.on('connect', () => c.write(JSON.stringify({ id: 1, cmd: 'control-stats', args: {} }) + '\n'));
    c.on('data', (d) => {
      buf += d.toString('utf8');
      if (!buf.includes('\n')) return;
      clearTimeout(t);
      c.destroy();
      const r = JSON.parse(buf.slice(0, buf.indexOf('\n'))) as { result?: unknown; error?: unknown };
      resolve(r.result ?? r);
    });
    c.on('error', (e) => (clearTimeout(t), reject(e)));
  });
}

const isOther = (k: string) => !k.startsWith('tvs-') && k !== 'idle' && !k.startsWith('ping:');

/**
 * What held up a slow echo, from who had the CPUs during it: another process on the switch's CPU
 * (1) or the pinger's (0), the switch's helper threads, its main thread running, or nothing seen
 * (both CPUs mostly idle: the host took the vCPU, or the wire).
 */
function cause(cpu: Record<number, [string, number][]>, rtt: number): string {
  const sum = (c: number, f: (k: string) => boolean) => (cpu[c] ?? []).filter(([k]) => f(k)).reduce((x, [, v]) => x + v, 0);
  const top = (c: number) => (cpu[c] ?? []).find(([k]) => isOther(k))?.[0] ?? '';
  const o1 = sum(1, isOther);
  const o0 = sum(0, isOther);
  const h = sum(1, (k) => k.startsWith('tvs-helper'));
  const m = sum(1, (k) => k === 'tvs-main');
  const best = Math.max(o1, o0, h, m);
  if (best < 0.4 * rtt) return 'unexplained';
  if (best === o1) return `other on tvs CPU (${top(1)})`;
  if (best === o0) return `other on ping CPU (${top(0)})`;
  if (best === h) return 'tvs helper';
  return 'tvs main';
}

async function oneRun(b: Build, scenario: Scenario, pings: number, usePerf: false | 'sched' | 'stacks', slowUs: number, out: string, tag: string): Promise<Record<string, unknown>> {
  const lab = new Lab(scenario);
  const sw = new TvsSwitch(lab, b.nodeFlags);
  sw.tvsScript = path.join(b.tree, 'dist/src/cli/tvs.js');
  let perf: ReturnType<typeof spawn> | undefined;
  const perfData = path.join(lab.dir, 'perf.data');
  try {
    lab.create();
    lab.offloads(false);
    if (usePerf) {
      // Its own CPU is left to the scheduler: pinned to either CPU it would always sit on one side.
      // --stacks: also where every thread was, 4,000 times a second, and what it called when it
      // left the CPU (call chains: the node binary has its symbols; JS frames stay addresses).
      perf = spawn('perf', ['record', '-q', '-e', 'sched:sched_switch', '-e', 'sched:sched_process_exec', '-a', '-k', 'mono', '-m', '2048', '-o', perfData], { stdio: 'ignore' });
      await sleep(400);
    }
    const steal0 = steal();
    const t0 = Number(process.hrtime.bigint()) / 1e3;
    if (b.opts.length) await sw.restart(b.opts);
    else await sw.setup();
    const pid = sw.pid();
    const setupMs = (Number(process.hrtime.bigint()) / 1e3 - t0) / 1e3;
    const f = flowOf(lab);
    // --stacks: also where the switch's threads were, 2,000 times a second, with call chains (the
    // node binary has its symbols; JS frames stay addresses): a second perf on this process only.
    let stackPerf: ReturnType<typeof spawn> | undefined;
    if (usePerf === 'stacks') {
      stackPerf = spawn('perf', ['record', '-q', '-F', '2000', '-g', '-k', 'mono', '-p', String(pid), '-o', path.join(out, `${tag}.stacks.data`)], { stdio: 'ignore' });
      await sleep(300);
    }
    sh(nsx(f.src, ['ping', '-c', '3', '-i', '0.2', '-W', '1', f.dstIp]), { allowFail: true, timeoutMs: 10_000 });
    sh(nsx(f.dst, ['ping', '-c', '1', '-W', '1', ADDR.l2.h1]), { allowFail: true, timeoutMs: 10_000 });
    const tids = fs.readdirSync(`/proc/${pid}/task`).map(Number);
    const pingOut = path.join(lab.dir, 'ping.txt');
    const pOut = sh(nsx(f.src, [...PINGER, 'ping', '-D', '-i', '0.002', '-c', String(pings), '-W', '1', f.dstIp]), { allowFail: true, timeoutMs: 20_000 + pings * 20, stdoutFile: pingOut });
    const steal1 = steal();
    if (stackPerf) {
      const done = new Promise<void>((r) => stackPerf!.once('exit', () => r()));
      stackPerf.kill('SIGINT');
      await done;
    }
    const helperStats = await controlStats(path.join(lab.dir, 'tvs.sock')).then((c) => (c as { helper_threads?: unknown }).helper_threads).catch((e: Error) => e.message);
    const tids2 = fs.readdirSync(`/proc/${pid}/task`).map(Number);
    const tvsStat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    const echoes = parsePingD(pOut, realMinusMonoUs());
    let sl: Slice[] = [];
    if (perf) {
      const exited = new Promise<void>((r) => perf!.once('exit', () => r()));
      perf.kill('SIGINT');
      await exited;
      perf = undefined;
      const script = sh(['perf', 'script', '-i', perfData, '-F', 'comm,pid,tid,cpu,time,event,trace'], { allowFail: true, timeoutMs: 120_000 });
      sl = slices(script);
    }
    const tvsTids = new Set([...tids, ...tids2]);
    const who = (s: Slice): string => (s.tid === pid ? 'tvs-main' : tvsTids.has(s.tid) || s.pid === pid ? `tvs-helper:${s.tid}` : s.tid === 0 ? 'idle' : `${s.comm}:${s.pid}`);
    const rtts = echoes.map((e) => e.rttUs);
    const slow = echoes
      .filter((e) => e.rttUs > slowUs)
      .map((e) => {
        const d = sl.length ? during(sl, e.atUs - e.rttUs, e.atUs, who) : undefined;
        return { seq: e.seq, rttUs: e.rttUs, sinceStartMs: Math.round((e.atUs - e.rttUs - t0) / 1e3), cause: d ? cause(d.cpu, e.rttUs) : 'no perf', ...d };
      });
    // Others' CPU time on each CPU over the whole ping run (the load this run met).
    const runFrom = echoes.length ? echoes[0].atUs - echoes[0].rttUs : 0;
    const runTo = echoes.length ? echoes[echoes.length - 1].atUs : 0;
    const runCpu = sl.length ? during(sl, runFrom, runTo, who).cpu : {};
    const othersMs = Object.fromEntries(Object.entries(runCpu).map(([c, l]) => [c, Math.round(l.filter(([k]) => isOther(k)).reduce((x, [, v]) => x + v, 0) / 1e3)]));
    const logFile = path.join(lab.dir, 'tvs.log');
    // The start-up warm-up's report (frames run within its CPU budget), when the build has one.
    const warmUp = /datapath warmed up (.*)/.exec(fs.existsSync(logFile) ? fs.readFileSync(logFile, 'utf8') : '')?.[1];
    if (b.nodeFlags.length && fs.existsSync(logFile)) fs.copyFileSync(logFile, path.join(out, `${tag}.log`));
    const r = {
      label: b.label, scenario, pid, t0Us: Math.round(t0), setupMs: Math.round(setupMs), echoes: echoes.length,
      avgUs: Math.round(rtts.reduce((x, y) => x + y, 0) / Math.max(1, rtts.length)),
      p99Us: quantile(rtts, 0.99), maxUs: quantile(rtts, 1),
      stealTicks: steal1.map((x, i) => x - steal0[i]),
      load: fs.readFileSync('/proc/loadavg', 'utf8').split(' ')[0],
      threads: tids2.length, minflt: Number(tvsStat.slice(tvsStat.lastIndexOf(')') + 2).split(' ')[7]),
      firstEchoSinceStartMs: echoes.length ? Math.round((echoes[0].atUs - t0) / 1e3) : NaN,
      warmUp, helpers: helperStats, othersMs, slow, rttUs: rtts, atUs: echoes.map((e) => Math.round(e.atUs - t0)),
    };
    if (sl.length) fs.writeFileSync(path.join(out, `${tag}.slices.json`), JSON.stringify(sl.filter((s) => s.to >= t0)));
    return r;
  } finally {
    if (perf) perf.kill('SIGINT');
    await sw.teardown().catch(() => undefined);
    lab.destroy();
  }
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  let reps = 5;
  let pings = 500;
  let slowUs = 2000;
  let usePerf: false | 'sched' | 'stacks' = false;
  let scenarios: Scenario[] = ['l2', 'fw'];
  let out = '/tmp/cold-probe';
  const builds: Build[] = [];
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    if (a === '--reps') reps = Number(args[++i]);
    else if (a === '--pings') pings = Number(args[++i]);
    else if (a === '--slow-us') slowUs = Number(args[++i]);
    else if (a === '--perf') usePerf = 'sched';
    else if (a === '--stacks') usePerf = 'stacks';
    else if (a === '--scenarios') scenarios = args[++i].split(',') as Scenario[];
    else if (a === '--out') out = args[++i];
    else builds.push(parseBuild(a));
  }
  if (!builds.length) throw new Error('usage: cold-probe.js [--reps N] [--pings N] [--slow-us N] [--perf] [--scenarios l2,fw] [--out DIR] LABEL=TREE[+FLAG...][:OPT,...]...');
  fs.mkdirSync(out, { recursive: true });
  const jsonl = path.join(out, 'runs.jsonl');
  const all: Record<string, unknown>[] = [];
  for (let rep = 0; rep < reps; rep++) {
    for (const scenario of scenarios) {
      for (let k = 0; k < builds.length; k++) {
        const b = builds[(k + rep) % builds.length];
        const tag = `${b.label}-${scenario}-${rep + 1}`;
        const r = { rep: rep + 1, ...(await oneRun(b, scenario, pings, usePerf, slowUs, out, tag)) };
        all.push(r);
        fs.appendFileSync(jsonl, JSON.stringify(r) + '\n');
        const { rttUs: _r, atUs: _a, slow, ...brief } = r as unknown as Record<string, unknown> & { slow: unknown[] };
        console.log(JSON.stringify({ ...brief, slow: slow.length }));
        for (const s of slow) console.log('   slow', JSON.stringify(s));
      }
    }
  }
  console.log(`\n| build | scenario | runs | runs with an echo > ${slowUs} µs | echoes > ${slowUs} µs | avg µs med (min–max) | p99 | max | setup ms |`);
  console.log('|---|---|---:|---:|---:|---|---|---|---|');
  const tally: string[] = [];
  const sp = (xs: number[]) => `${median(xs).toFixed(0)} (${Math.min(...xs)}–${Math.max(...xs)})`;
  for (const scenario of scenarios) {
    for (const b of builds) {
      const rs = all.filter((r) => r.label === b.label && r.scenario === scenario) as unknown as { slow: unknown[]; avgUs: number; p99Us: number; maxUs: number; setupMs: number }[];
      const causes = new Map<string, number>();
      for (const r of rs as unknown as { slow: { cause: string }[] }[]) for (const x of r.slow) causes.set(x.cause.replace(/ \(.*/, ''), (causes.get(x.cause.replace(/ \(.*/, '')) ?? 0) + 1);
      tally.push(`${b.label} ${scenario}: ${[...causes.entries()].map(([k, v]) => `${k} ${v}`).join(', ') || 'none'}`);
      console.log(`| ${b.label} | ${scenario} | ${rs.length} | ${rs.filter((r) => r.slow.length).length} | ${rs.reduce((x, r) => x + r.slow.length, 0)} | ${sp(rs.map((r) => r.avgUs))} | ${sp(rs.map((r) => r.p99Us))} | ${sp(rs.map((r) => r.maxUs))} | ${sp(rs.map((r) => r.setupMs))} |`);
    }
  }
  console.log('\nslow echoes by cause:\n' + tally.join('\n'));
}

if (require.main === module) runAsRoot('cold-probe', 'namespaces, veth, perf', main);
