/**
 * Wake-ahead A/B for one scenario, echo by echo: each run a fresh lab (h1 → tvs → h2 over veth,
 * the bench's set-up, e.g. `fw`: Neutron's firewall flows), tvs started with a candidate's
 * options, 3 pings, WARM_PINGS echoes, then 500 echoes 2 ms apart from CPU 0 (`ping -D`), the
 * wake-ahead counters of `tvs control-stats` read before and after. Candidates alternate, their
 * order rotating every run. With --pcap, tcpdump on both hosts' eth0 splits every echo into its
 * request leg (h1 sent → h2 received: through the switch, its wakeup included), h2's turn-around
 * and the reply leg (h2 sent → h1 received). Made for "is this tail the switch's, and which leg".
 *
 *   node dist/bench/compare/wake-ahead-probe.js [--scenario fw] [--runs 4] [--pcap] [--out FILE] LABEL=OPT,OPT... (LABEL= for none)
 *
 * Prints one line per run and pooled percentiles per candidate; --out appends every run's RTTs
 * (by icmp_seq), legs and counters as JSON lines.
 */
import * as fs from 'fs';
import * as path from 'path';
import { spawn, type ChildProcess } from 'child_process';
import { Lab, TvsSwitch, ADDR, type Scenario } from './lab';
import { flowOf, PINGER, warmUp } from './measure';
import { sh, nsx, sleep, quantile, runAsRoot } from './sys';

const PINGS = 500;

interface Leg { seq: number; rttUs: number; reqUs: number; hostUs: number; replyUs: number }
interface WakeAhead { caught: number; missed: number; held: number; preempted: number }
interface Run { label: string; run: number; load: number; rttUs: number[]; legs: Leg[]; wa: WakeAhead }

/** icmp_seq → when the echo request / reply was seen (s), from `tcpdump -tt` text. */
function echoTimes(text: string): Map<number, { request?: number; reply?: number }> {
  const m = new Map<number, { request?: number; reply?: number }>();
  for (const x of text.matchAll(/^(\d+\.\d+) IP .*ICMP echo (request|reply), id \d+, seq (\d+)/gm)) {
    const e = m.get(Number(x[3])) ?? m.set(Number(x[3]), {}).get(Number(x[3]))!;
    e[x[2] as 'request' | 'reply'] = Number(x[1]);
  }
  return m;
}

function wakeAhead(sw: TvsSwitch): WakeAhead {
  const w = JSON.parse(sw.tvs('control-stats', '--json')).wake_ahead ?? {};
  return { caught: w.caught ?? 0, missed: w.missed ?? 0, held: w.held ?? 0, preempted: w.preempted ?? 0 };
}

async function oneRun(scenario: Scenario, opts: string[], pcap: boolean): Promise<Omit<Run, 'label' | 'run'>> {
  const lab = new Lab(scenario);
  let sw: TvsSwitch | undefined;
  const dumps: { p: ChildProcess; file: string; ns: string }[] = [];
  try {
    lab.create();
    lab.offloads(false);
    sw = new TvsSwitch(lab);
    await sw.restart(opts);
    const f = flowOf(lab);
    sh(nsx(f.src, ['ping', '-c', '3', '-i', '0.2', '-W', '1', f.dstIp]), { allowFail: true, timeoutMs: 10_000 });
    sh(nsx(f.dst, ['ping', '-c', '1', '-W', '1', ADDR.l2.h1]), { allowFail: true, timeoutMs: 10_000 });
    warmUp(f);
    const w0 = wakeAhead(sw);
    if (pcap) {
      for (const ns of [f.src, f.dst]) {
        const file = path.join(lab.dir, `${ns}.pcap`);
        const p = spawn('ip', ['netns', 'exec', ns, ...PINGER, 'timeout', '30', 'tcpdump', '-i', 'eth0', '-n', '-s', '96', '--time-stamp-precision=nano', '-w', file, 'icmp'], { stdio: 'ignore' });
        dumps.push({ p, file, ns });
      }
      await sleep(1000);
    }
    const out = sh(nsx(f.src, [...PINGER, 'ping', '-D', '-i', '0.002', '-c', String(PINGS), '-W', '1', f.dstIp]), { allowFail: true, timeoutMs: 30_000 });
    const w1 = wakeAhead(sw);
    const bySeq = [...out.matchAll(/icmp_seq=(\d+).*time=([\d.]+) ms/g)].map((m) => ({ seq: Number(m[1]), rttUs: Math.round(Number(m[2]) * 1000) }));
    const legs: Leg[] = [];
    if (pcap) {
      await sleep(300);
      for (const d of dumps) d.p.kill('SIGINT');
      await sleep(500);
      const [src, dst] = dumps.map((d) => echoTimes(sh(['tcpdump', '-r', d.file, '-n', '-tt', '--time-stamp-precision=nano'], { allowFail: true })));
      for (const e of bySeq) {
        const s = src.get(e.seq);
        const d = dst.get(e.seq);
        if (s?.request === undefined || s.reply === undefined || d?.request === undefined || d.reply === undefined) continue;
        const us = (a: number, b: number) => Math.round((b - a) * 1e6);
        legs.push({ seq: e.seq, rttUs: e.rttUs, reqUs: us(s.request, d.request), hostUs: us(d.request, d.reply), replyUs: us(d.reply, s.reply) });
      }
    }
    const wa = { caught: w1.caught - w0.caught, missed: w1.missed - w0.missed, held: w1.held - w0.held, preempted: w1.preempted - w0.preempted };
    return { load: Number(fs.readFileSync('/proc/loadavg', 'utf8').split(' ')[0]), rttUs: bySeq.map((e) => e.rttUs), legs, wa };
  } finally {
    for (const d of dumps) if (d.p.exitCode === null) d.p.kill('SIGKILL');
    if (sw) await sw.teardown().catch(() => undefined);
    lab.destroy();
  }
}

const pct = (xs: number[]) => `${quantile(xs, 0.5)}/${quantile(xs, 0.9)}/${quantile(xs, 0.99)}`;

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  let scenario: Scenario = 'fw';
  let runs = 4;
  let pcap = false;
  let out: string | undefined;
  const cands: { label: string; opts: string[] }[] = [];
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    if (a === '--scenario') scenario = args[++i] as Scenario;
    else if (a === '--runs') runs = Number(args[++i]);
    else if (a === '--pcap') pcap = true;
    else if (a === '--out') out = args[++i];
    else if (a.includes('=')) cands.push({ label: a.slice(0, a.indexOf('=')), opts: a.slice(a.indexOf('=') + 1).split(',').filter(Boolean) });
    else throw new Error(`'${a}': usage in bench/compare/wake-ahead-probe.ts`);
  }
  if (!cands.length) throw new Error('no candidates (LABEL=OPT,OPT...)');
  const all: Run[] = [];
  for (let run = 0; run < runs; run++) {
    for (let k = 0; k < cands.length; k++) {
      const c = cands[(k + run) % cands.length];
      const r: Run = { label: c.label, run: run + 1, ...(await oneRun(scenario, c.opts, pcap)) };
      all.push(r);
      if (out) fs.appendFileSync(out, JSON.stringify({ scenario, ...r }) + '\n');
      const legs = r.legs.length ? ` request leg p50/p90/p99 ${pct(r.legs.map((l) => l.reqUs))}, reply leg ${pct(r.legs.map((l) => l.replyUs))}` : '';
      console.log(`${scenario} ${c.label} run ${run + 1} load ${r.load}: RTT p50/p90/p99 ${pct(r.rttUs)} max ${Math.max(...r.rttUs)} µs; wake-ahead caught ${r.wa.caught} missed ${r.wa.missed} held ${r.wa.held} preempted ${r.wa.preempted}${legs}`);
    }
  }
  for (const c of cands) {
    const rs = all.filter((r) => r.label === c.label);
    const rtt = rs.flatMap((r) => r.rttUs);
    const legs = rs.flatMap((r) => r.legs);
    console.log(`POOLED ${scenario} ${c.label}: ${rs.length} runs, RTT p50/p90/p99 ${pct(rtt)} µs, > 1 ms ${rtt.filter((x) => x > 1000).length}/${rtt.length}; per-run p99 ${rs.map((r) => quantile(r.rttUs, 0.99)).join('/')}${legs.length ? `; request leg ${pct(legs.map((l) => l.reqUs))}, reply leg ${pct(legs.map((l) => l.replyUs))}` : ''}`);
  }
}

if (require.main === module) runAsRoot('wake-ahead-probe', 'namespaces, veth', main);
