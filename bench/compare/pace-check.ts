/**
 * Checks the generators' pacing: pacegen and trafgen each send 64 B UDP on a veth pair between
 * two namespaces of their own (no switch), on CPU 0, while a sampler on CPU 1 reads the sender's
 * tx_packets in a tight loop. Prints, per run, the rate achieved, the gaps in which the counter
 * did not move (histogram, max) and the packets per 1 ms window (min / median / max as a rate):
 * a paced generator shows every window near the rate asked, trafgen `--rate` shows windows at
 * its maximum and empty ones.
 *
 *   node dist/bench/compare/pace-check.js [seconds=3] [rates=10000,100000]
 *
 * Frames go to a MAC no one has (the peer drops them at once); addresses 10.222.9.0/24, only in
 * the two namespaces, removed at the end (also on failure). Needs root.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { spawn } from 'child_process';
import { sh, nsx, haveCmd } from './sys';
import { PACEGEN, type PacegenReport } from './measure';

const GAP_EDGES_US = [5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 20000, 100000];

interface Sampled {
  packets: number;
  seconds: number;
  /** gaps between counter changes (µs), bucketed by GAP_EDGES_US (last: open) */
  gaps: number[];
  maxGapUs: number;
  /** packets per 1 ms window over the active span, as pps: min, p1, median, p99, max */
  windowPps: number[];
  /** mean sampling period (µs): the resolution of the gap figures */
  samplePeriodUs: number;
}

/** Sampler (runs in the sender's namespace): tx_packets of `dev` for `seconds`, busy-polled. */
function sample(dev: string, seconds: number): Sampled {
  const fd = fs.openSync(`/sys/class/net/${dev}/statistics/tx_packets`, 'r');
  const buf = Buffer.alloc(32);
  const read = () => Number(buf.toString('latin1', 0, fs.readSync(fd, buf, 0, 32, 0)));
  const ns = () => Number(process.hrtime.bigint());
  const t0 = ns();
  const end = t0 + seconds * 1e9;
  const v0 = read();
  let last = v0;
  let lastT = 0;
  let first = 0;
  let samples = 0;
  const changes: [number, number][] = []; // (time ns, count) at each change
  for (;;) {
    const t = ns();
    if (t > end) break;
    const v = read();
    samples++;
    if (v !== last) {
      if (!first) first = t;
      changes.push([t, v]);
      last = v;
      lastT = t;
    }
  }
  fs.closeSync(fd);
  const gaps = new Array(GAP_EDGES_US.length + 1).fill(0);
  let maxGap = 0;
  for (let i = 1; i < changes.length; i++) {
    const g = (changes[i][0] - changes[i - 1][0]) / 1e3;
    maxGap = Math.max(maxGap, g);
    let b = 0;
    while (b < GAP_EDGES_US.length && g > GAP_EDGES_US[b]) b++;
    gaps[b]++;
  }
  const win: number[] = [];
  if (changes.length > 1) {
    const nWin = Math.floor((lastT - first) / 1e6);
    let prevCount = changes[0][1];
    let ci = 0;
    for (let w = 1; w <= nWin; w++) {
      const until = first + w * 1e6;
      while (ci + 1 < changes.length && changes[ci + 1][0] <= until) ci++;
      win.push((changes[ci][1] - prevCount) * 1000);
      prevCount = changes[ci][1];
    }
  }
  win.sort((a, b) => a - b);
  const q = (p: number) => (win.length ? win[Math.min(win.length - 1, Math.floor(win.length * p))] : NaN);
  return {
    packets: last - v0,
    seconds: (lastT - first) / 1e9,
    gaps,
    maxGapUs: Math.round(maxGap),
    windowPps: [q(0), q(0.01), q(0.5), q(0.99), win.length ? win[win.length - 1] : NaN],
    samplePeriodUs: +((seconds * 1e6) / Math.max(1, samples)).toFixed(2),
  };
}

async function main(): Promise<void> {
  const seconds = Number(process.argv[2] ?? 3);
  const rates = (process.argv[3] ?? '10000,100000').split(',').map(Number);
  if (process.getuid?.() !== 0) throw new Error('pace-check: needs root (namespaces, veth, AF_PACKET)');
  if (!fs.existsSync(PACEGEN)) throw new Error(`${PACEGEN} missing (make build builds it)`);
  const trafgen = haveCmd('trafgen');
  const tag = (process.pid.toString(36) + Math.floor(Math.random() * 1296).toString(36)).slice(-6);
  const a = `tvpca${tag}`;
  const b = `tvpcb${tag}`;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tvs-pace-'));
  const made: string[] = [];
  try {
    for (const n of [a, b]) {
      sh(['ip', 'netns', 'add', n]);
      made.push(n);
    }
    sh(['ip', '-n', a, 'link', 'add', 'eth0', 'type', 'veth', 'peer', 'name', 'eth0', 'netns', b]);
    sh(['ip', '-n', a, 'addr', 'add', '10.222.9.1/24', 'dev', 'eth0']);
    sh(['ip', '-n', b, 'addr', 'add', '10.222.9.2/24', 'dev', 'eth0']);
    for (const n of [a, b]) sh(['ip', '-n', n, 'link', 'set', 'eth0', 'up']);
    const srcMac = JSON.parse(sh(['ip', '-n', a, '-j', 'link', 'show', 'eth0']))[0].address as string;
    const dstMac = '02:00:00:00:99:99'; // no one's: the peer drops it as PACKET_OTHERHOST
    const conf = path.join(dir, 'udp64.cfg');
    fs.writeFileSync(conf, `{ eth(da=${dstMac}, sa=${srcMac}), ipv4(saddr=10.222.9.1, daddr=10.222.9.2, ttl=64), udp(sp=dinc(4000, 4015), dp=9), fill(0x41, 22) }\n`);

    const runs: { tool: string; askPps: number; argv: string[] }[] = [];
    for (const r of [...rates, 0]) {
      const bound = ['--count', String(Math.ceil(seconds * (r || 3_000_000))), '--seconds', String(seconds)];
      runs.push({ tool: 'pacegen', askPps: r, argv: [PACEGEN, '--dev', 'eth0', '--src-mac', srcMac, '--dst-mac', dstMac, '--src-ip', '10.222.9.1', '--dst-ip', '10.222.9.2', '--cpu', '0', ...bound, ...(r ? ['--rate', String(r)] : [])] });
      if (trafgen) {
        runs.push({ tool: 'trafgen', askPps: r, argv: ['timeout', String(seconds), 'trafgen', '--dev', 'eth0', '--conf', conf, '--cpus', '1', '--no-sock-mem', '--num', bound[1], ...(r ? ['--rate', `${r}pps`] : [])] });
      }
    }
    console.log(`pace-check: ${seconds} s per run, 64 B on a bare veth pair; generator on CPU 0, sampler on CPU ${os.cpus().length > 1 ? 1 : 0}; gap edges (µs) ${GAP_EDGES_US.join(',')}`);
    for (const run of runs) {
      // The sampler starts first and outlasts the generator by half a second on both sides.
      const sampler = spawn('ip', ['netns', 'exec', a, 'taskset', '-c', os.cpus().length > 1 ? '1' : '0', process.execPath, __filename, '--sample', 'eth0', String(seconds + 1)], { stdio: ['ignore', 'pipe', 'inherit'] });
      let out = '';
      sampler.stdout.on('data', (c) => (out += c));
      const done = new Promise<void>((res) => sampler.on('exit', () => res()));
      await new Promise((res) => setTimeout(res, 400));
      const gen = sh(nsx(a, run.argv), { allowFail: true, timeoutMs: (seconds + 10) * 1000 });
      await done;
      const s = JSON.parse(out) as Sampled;
      const rep = run.tool === 'pacegen' ? (JSON.parse(gen.trim().split('\n').pop() ?? '{}') as PacegenReport) : undefined;
      const k = (x: number) => (x / 1e3).toFixed(1);
      console.log(
        `${run.tool.padEnd(7)} ${run.askPps ? `--rate ${k(run.askPps)}k` : 'maximum    '}: ${k(s.packets / Math.max(1e-9, s.seconds))} kpps over ${s.seconds.toFixed(2)} s` +
          ` | 1 ms windows (kpps) min ${k(s.windowPps[0])} p1 ${k(s.windowPps[1])} p50 ${k(s.windowPps[2])} p99 ${k(s.windowPps[3])} max ${k(s.windowPps[4])}` +
          ` | gaps ${s.gaps.join(',')} max ${s.maxGapUs} µs (sampled every ${s.samplePeriodUs} µs)` +
          (rep ? ` | pacegen: ${k(rep.pps)} kpps, burst ${rep.burst}, skipped ${rep.skipped}, failed ${rep.failed}, max gap ${rep.maxGapUs.toFixed(0)} µs, max late ${rep.maxLateUs.toFixed(0)} µs` : ''),
      );
    }
  } finally {
    for (const n of made.reverse()) sh(['ip', 'netns', 'del', n], { allowFail: true });
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

if (require.main === module) {
  if (process.argv[2] === '--sample') {
    process.stdout.write(JSON.stringify(sample(process.argv[3], Number(process.argv[4]))) + '\n');
  } else {
    main().catch((e) => {
      console.error((e as Error).message);
      process.exit(1);
    });
  }
}
