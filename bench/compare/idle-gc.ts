/**
 * What V8's collections do to a switch once a load has ended: the comparison's L2 topology, tvs
 * with `--trace-gc --trace-gc-verbose`, three pings, 64 B UDP from pacegen at its maximum for a
 * few seconds, then an idle period in which every collection is listed (kind, main-thread pause,
 * reason, seconds after the load ended; the memory reducer's own decisions too), with the
 * switch's RSS and CPU time at the end of it — the memory goal's "at rest after the UDP runs" and
 * "0% CPU when idle".
 *
 *   node dist/bench/compare/idle-gc.js [--reps N] [--seconds S] [--idle S] [--loads N] [--hog] -- 'A opts' 'B opts' ...   (root)
 *
 * --loads N: N loads, each followed by the idle period (default 1); figures are of the last one.
 * After the first load the quiet trim that configuration left pending runs (with its full
 * collection); after a later one only what V8 itself decides collects.
 *
 * --hog: a busy loop (an ordinary SCHED_OTHER process) on the switch's core for the whole idle
 * period, as another program's work there would be, and a ping every 20 ms through the switch
 * meanwhile: a collection that waits for helper threads the scheduler does not run shows as the
 * ping's maximum. Variants as in ab.js: words starting with `--` are node flags of that variant,
 * `start:--OPT=V` tvs start options, a first word `@TREE` another built checkout.
 */
import { spawn } from 'child_process';
import * as os from 'os';
import * as path from 'path';
import { Lab, SWITCH_CPU, TvsSwitch } from './lab';
import { flowOf, neighbourMac, runPacegen, WARMUP, parsePing } from './measure';
import { sh, nsx, sleep, median, rssKiB, cpuTicks } from './sys';
import { logSince, parseGcLog } from './gc-log';

interface Run {
  variant: string;
  /** collections after the load ended: kind, pause ms, reason, s after the end */
  gcs: { kind: string; pauseMs: number; reason: string; afterS: number }[];
  maxPauseMs: number;
  rssMiB: number;
  /** switch CPU over the idle period's second half, % of a core */
  idleCpuPct: number;
  /** --hog: ping through the switch during the idle period, max ms */
  pingMaxMs?: number;
  load1: number;
}

async function oneRun(variant: string, seconds: number, idle: number, hog: boolean, loads: number): Promise<Run> {
  const lab = new Lab('l2');
  const opts = variant.split(/\s+/).filter(Boolean);
  const tree = opts[0]?.startsWith('@') ? opts.shift()!.slice(1) : undefined;
  const sw = new TvsSwitch(lab, ['--trace-gc', '--trace-gc-verbose', ...opts.filter((o) => o.startsWith('--'))], opts.filter((o) => !o.startsWith('--') && !o.startsWith('start:')));
  sw.startArgs = opts.filter((o) => o.startsWith('start:')).map((o) => o.slice(6));
  if (tree !== undefined) sw.tvsScript = path.resolve(tree, 'dist/src/cli/tvs.js');
  let hogPid = 0;
  try {
    lab.create();
    const born = Date.now();
    await sw.setup();
    const pid = sw.pid();
    const f = flowOf(lab);
    sh(nsx(f.src, ['ping', '-c', '3', '-i', '0.2', '-W', '1', f.dstIp]), { allowFail: true, timeoutMs: 10_000 });
    const dstMac = neighbourMac(f.src, f.dstIp);
    const pg = { dev: 'eth0', srcMac: lab.mac(f.src), dstMac, srcIp: f.srcIp, dstIp: f.dstIp, size: 64 };
    runPacegen(f.src, { ...pg, ratePps: WARMUP.pps, count: WARMUP.frames, seconds: 1 }, 11_000);
    await sleep(WARMUP.settleMs);
    for (let i = 1; i < loads; i++) {
      runPacegen(f.src, { ...pg, count: seconds * 3_000_000, seconds }, (seconds + 10) * 1000);
      await sleep(idle * 1000);
    }
    runPacegen(f.src, { ...pg, count: seconds * 3_000_000, seconds }, (seconds + 10) * 1000);
    const log = path.join(lab.dir, 'tvs.log');
    const end = logSince(log, 0).end;
    const endMs = Date.now() - born; // the isolate started a little after `born`: afterS is an upper bound
    const load1 = +os.loadavg()[0].toFixed(1);
    let ping: Promise<string> | undefined;
    if (hog) {
      const h = spawn('taskset', ['-c', SWITCH_CPU, 'timeout', String(idle), 'sh', '-c', 'while :; do :; done'], { stdio: 'ignore' });
      hogPid = h.pid ?? 0;
      ping = new Promise((res) => {
        const p = spawn('ip', nsx(f.src, ['ping', '-c', String(Math.floor((idle - 1) * 50)), '-i', '0.02', '-W', '1', f.dstIp]).slice(1), { stdio: ['ignore', 'pipe', 'ignore'] });
        let out = '';
        p.stdout.on('data', (d) => (out += d));
        p.on('close', () => res(out));
      });
    }
    await sleep((idle / 2) * 1000);
    const c0 = cpuTicks(pid);
    await sleep((idle / 2) * 1000);
    const idleCpuPct = ((cpuTicks(pid) - c0) / 100 / (idle / 2)) * 100;
    const rssMiB = rssKiB(pid) / 1024;
    const pingMaxMs = ping ? parsePing(await ping).max : undefined;
    const gcs = parseGcLog(logSince(log, end).text).map((e) => ({ kind: e.kind, pauseMs: e.pauseMs, reason: e.reason, afterS: +((e.atMs - endMs) / 1000).toFixed(1) }));
    return { variant, gcs, maxPauseMs: Math.max(0, ...gcs.map((g) => g.pauseMs)), rssMiB, idleCpuPct, pingMaxMs, load1 };
  } finally {
    if (hogPid) {
      try {
        process.kill(hogPid, 'SIGTERM');
      } catch {
        /* ended */
      }
    }
    await sw.teardown().catch(() => undefined);
    lab.destroy();
  }
}

async function main(): Promise<void> {
  const argv = process.argv.slice(2);
  const dd = argv.indexOf('--');
  const flags = dd >= 0 ? argv.slice(0, dd) : argv;
  const variants = dd >= 0 ? argv.slice(dd + 1) : ['', '--no-memory-reducer'];
  const num = (name: string, def: number) => {
    const i = flags.indexOf(name);
    return i >= 0 ? Number(flags[i + 1]) : def;
  };
  const reps = num('--reps', 2);
  const seconds = num('--seconds', 5);
  const idle = num('--idle', 24);
  const hog = flags.includes('--hog');
  const loads = num('--loads', 1);
  const runs: Run[] = [];
  for (let r = 0; r < reps; r++) {
    for (const v of variants) {
      const x = await oneRun(v, seconds, idle, hog, loads);
      runs.push(x);
      console.log(`${v || '(default)'}: RSS ${x.rssMiB.toFixed(1)} MiB, idle CPU ${x.idleCpuPct.toFixed(2)}%, max pause ${x.maxPauseMs} ms${x.pingMaxMs !== undefined ? `, ping max ${x.pingMaxMs} ms` : ''}, load1 ${x.load1}`);
      for (const g of x.gcs) console.log(`  +${g.afterS} s ${g.kind}${g.kind === 'memory-reducer' ? '' : ` ${g.pauseMs} ms`} (${g.reason})`);
    }
  }
  console.log(`\n${reps} alternating runs, ${loads} × (${seconds} s at the maximum then ${idle} s idle)${hog ? ' with a busy loop on the switch core' : ''}, ${new Date().toISOString()}`);
  console.log('variant | RSS at rest MiB | idle CPU % | collections after the load | max pause ms' + (hog ? ' | ping max ms' : ''));
  const mm = (xs: number[], d: number) => {
    const v = [...xs].filter((x) => !Number.isNaN(x)).sort((a, b) => a - b);
    return v.length ? `${v[0].toFixed(d)}–${median(v).toFixed(d)}–${v[v.length - 1].toFixed(d)}` : '—';
  };
  for (const v of variants) {
    const xs = runs.filter((r) => r.variant === v);
    const n = xs.map((r) => r.gcs.filter((g) => g.kind !== 'memory-reducer').length);
    console.log(`${v || '(default)'} | ${mm(xs.map((r) => r.rssMiB), 1)} | ${mm(xs.map((r) => r.idleCpuPct), 2)} | ${mm(n, 0)} | ${mm(xs.map((r) => r.maxPauseMs), 1)}` + (hog ? ` | ${mm(xs.map((r) => r.pingMaxMs ?? NaN), 1)}` : ''));
  }
}

if (require.main === module) {
  main().catch((e) => {
    console.error(e);
    process.exit(1);
  });
}
