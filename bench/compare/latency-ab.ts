/**
 * Ping latency A/B through the switch: several tvs builds (or start options) and OVS / the Linux
 * bridge, alternating pass by pass, each pass a fresh lab (h1 → switch → h2 over veth, L2), the
 * bench's ping runs (500 echoes 2 ms apart, CPU during it and over 5 s of idle after it): cold,
 * the first echoes after the switch started, then warm, after WARM_PINGS more echoes. Made for
 * comparing a change on a machine others are using: the alternation spreads their load over
 * every candidate, and the report says what the load was.
 *
 *   node dist/bench/compare/latency-ab.js [--reps 3] [--pings 500] [--rt] [--out DIR] LABEL=SPEC...
 *
 * SPEC: `ovs`, `linux`, or `tvs[+FLAG...][@TREE][:OPT,OPT...]` — FLAGs extra node/V8 flags
 * (after SWITCH_NODE_FLAGS, e.g. `tvs+--always-sparkplug`), TREE a built checkout (its
 * dist/src/cli/tvs.js; default this one), OPTs given to `tvs start` (e.g. `tvs:--spin-us,3000`).
 * --rt: the switch's main (datapath) thread and ping run SCHED_FIFO 5, which keeps other users'
 * processes off them — closer to a quiet machine, but the kernel throttles a task that runs 95% of
 * a second at RT, a 50 ms stall that shows as the max of a spinning switch. Only the main thread:
 * with every thread at SCHED_FIFO on the one pinned CPU (`chrt -a`, as this did before), V8's
 * helpers never run while the main thread is runnable, and after some traffic the main thread
 * spun at the RT cap for good re-posting cppgc's incremental sweep task (perf: Sweeper::
 * ScheduleIncrementalSweeping → eventfd → uv__io_poll, 95% of a core with no traffic), which is
 * a livelock of the test set-up, not of the switch. --out writes ab.md (pooled and
 * per-repetition p50/p99/max), ab.jsonl (every RTT) and latency-ab.svg (histogram).
 */
import * as fs from 'fs';
import * as path from 'path';
import { Lab, makeSwitch, TvsSwitch, ADDR, type SwitchUnderTest } from './lab';
import { flowOf, pingColdWarm, IDLE_SECONDS, WARM_PINGS, type PingFigures } from './measure';
import { sh, median, quantile, runAsRoot } from './sys';
import { histogramSvg } from './svg';

interface Candidate {
  label: string;
  kind: 'ovs' | 'linux' | 'tvs';
  tree?: string;
  opts: string[];
  nodeFlags: string[];
}

function parseSpec(arg: string): Candidate {
  const eq = arg.indexOf('=');
  if (eq <= 0) throw new Error(`'${arg}': LABEL=SPEC`);
  const label = arg.slice(0, eq);
  const spec = arg.slice(eq + 1);
  if (spec === 'ovs' || spec === 'linux') return { label, kind: spec, opts: [], nodeFlags: [] };
  const m = /^tvs((?:\+[^+@:]+)*)(?:@([^:]+))?(?::(.*))?$/.exec(spec);
  if (!m) throw new Error(`'${spec}': ovs, linux or tvs[+FLAG...][@TREE][:OPT,OPT...]`);
  return { label, kind: 'tvs', tree: m[2], opts: m[3] ? m[3].split(',') : [], nodeFlags: m[1] ? m[1].slice(1).split('+') : [] };
}

const RUNS = ['cold', 'warm'] as const;

const COLORS = ['#d9480f', '#f08c00', '#2f9e44', '#7048e8', '#2b6cb0', '#7f8c8d'];

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  let reps = 3;
  let pings = 500;
  let rt = false;
  let out: string | undefined;
  const cands: Candidate[] = [];
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    if (a === '--reps') reps = Number(args[++i]);
    else if (a === '--pings') pings = Number(args[++i]);
    else if (a === '--rt') rt = true;
    else if (a === '--out') out = args[++i];
    else cands.push(parseSpec(a));
  }
  if (!cands.length) throw new Error('usage: latency-ab.js [--reps N] [--pings N] [--rt] [--out DIR] LABEL=SPEC...');
  /** `LABEL cold` / `LABEL warm` → the runs */
  const runs = new Map<string, (PingFigures & { load: number; rep: number })[]>();
  for (let rep = 0; rep < reps; rep++) {
    for (let k = 0; k < cands.length; k++) {
      const c = cands[(k + rep) % cands.length]; // rotate the order every repetition
      const lab = new Lab('l2');
      let sw: SwitchUnderTest | undefined;
      try {
        lab.create();
        lab.offloads(false);
        sw = makeSwitch(c.kind, lab, c.nodeFlags);
        if (sw instanceof TvsSwitch) {
          if (c.tree) sw.tvsScript = path.resolve(c.tree, 'dist/src/cli/tvs.js');
          if (c.opts.length) await sw.restart(c.opts);
          else await sw.setup();
        } else await sw.setup();
        const pid = sw.pid();
        if (rt && pid) sh(['chrt', '-f', '-p', '5', String(pid)]);
        const load = Number(fs.readFileSync('/proc/loadavg', 'utf8').split(' ')[0]);
        const both = await pingColdWarm(flowOf(lab), ADDR.l2.h1, pid, pings, rt ? ['chrt', '-f', '5'] : []);
        for (const run of RUNS) {
          const f = both[run];
          const key = `${c.label} ${run}`;
          (runs.get(key) ?? runs.set(key, []).get(key)!).push({ ...f, load, rep });
          console.log(JSON.stringify({ rep: rep + 1, label: c.label, run, load, avgUs: Math.round(f.avgMs * 1e3), p50Us: Math.round(f.p50Ms * 1e3), p99Us: Math.round(f.p99Ms * 1e3), maxUs: Math.round(f.maxMs * 1e3), cpuPct: +f.cpuPct.toFixed(1), idleCpuPct: +f.idleCpuPct.toFixed(1) }));
        }
      } finally {
        if (sw) await sw.teardown().catch(() => undefined);
        lab.destroy();
      }
    }
  }
  const spread = (xs: number[], d = 0) => `${median(xs).toFixed(d)} (${Math.min(...xs).toFixed(d)}–${Math.max(...xs).toFixed(d)})`;
  const loads = [...runs.values()].flat().map((r) => r.load);
  const L: string[] = [];
  L.push(`${reps} repetition(s) × ${pings} pings 2 ms apart from CPU 0 (the switch on CPU 1), h1 → switch → h2 over veth (L2), candidates alternating; cold: the first echoes after the switch started, warm: the same after ${WARM_PINGS} more echoes 1 ms apart; load average ${Math.min(...loads).toFixed(1)}–${Math.max(...loads).toFixed(1)} on ${require('os').cpus().length} CPUs${rt ? '; the switch\'s main thread and ping SCHED_FIFO 5 (--rt)' : ''}.`);
  L.push('');
  L.push('| candidate | pooled p50 / p99 / max (µs) | pooled average (µs) | per repetition p50 | p99 | max | CPU during (%) | CPU idle after (%) |');
  L.push('|---|---|---:|---|---|---|---|---|');
  for (const label of [...runs.keys()].sort()) {
    const r = runs.get(label) ?? [];
    if (!r.length) continue;
    const all = r.flatMap((x) => x.rttUs);
    const avg = all.reduce((a, b) => a + b, 0) / all.length;
    L.push(`| ${label} | ${quantile(all, 0.5)} / ${quantile(all, 0.99)} / ${quantile(all, 1)} | ${avg.toFixed(0)} | ${spread(r.map((x) => x.p50Ms * 1e3))} | ${spread(r.map((x) => x.p99Ms * 1e3))} | ${spread(r.map((x) => x.maxMs * 1e3))} | ${spread(r.map((x) => x.cpuPct), 1)} | ${spread(r.map((x) => x.idleCpuPct), 1)} |`);
  }
  L.push('');
  L.push(`CPU: the switch process (user + system, /proc/PID/stat, 10 ms ticks) during the ping run, and over the ${IDLE_SECONDS} s of no traffic right after it. Median (min–max) over the repetitions.`);
  const md = L.join('\n') + '\n';
  console.log('\n' + md);
  if (out) {
    fs.mkdirSync(out, { recursive: true });
    fs.writeFileSync(path.join(out, 'ab.md'), md);
    fs.writeFileSync(path.join(out, 'ab.jsonl'), [...runs.entries()].flatMap(([label, r]) => r.map((x) => JSON.stringify({ label: label.slice(0, label.lastIndexOf(' ')), run: label.slice(label.lastIndexOf(' ') + 1), rep: x.rep + 1, load: x.load, cpuPct: x.cpuPct, idleCpuPct: x.idleCpuPct, rttUs: x.rttUs }))).join('\n') + '\n');
    fs.writeFileSync(
      path.join(out, 'latency-ab.svg'),
      histogramSvg({
        title: `ping RTT h1 → h2, ${reps} × ${pings} echoes per candidate (load ${Math.min(...loads).toFixed(0)}–${Math.max(...loads).toFixed(0)}${rt ? ', SCHED_FIFO' : ''})`,
        panels: RUNS.map((run) => ({ name: `L2, ${run}, candidates alternating`, series: cands.map((c, i) => ({ name: c.label, color: COLORS[i % COLORS.length], samples: (runs.get(`${c.label} ${run}`) ?? []).flatMap((x) => x.rttUs) })) })),
        lo: 5,
        hi: 20_000,
        perDecade: 10,
        note: 'Share of echoes per bin (log-spaced, 10 per decade). Dashed: p50; dotted: p99. Slower than 20 ms counts in the last bin.',
      }),
    );
  }
}

if (require.main === module) runAsRoot('latency-ab', 'namespaces, veth', main);
