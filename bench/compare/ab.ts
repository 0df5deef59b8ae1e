/**
 * A/B of tvs port options on the comparison's L2 topology (h1 → tvs → h2 over veth): CPU time
 * per delivered packet for 64 B UDP at trafgen's maximum (user and system apart), optionally TCP
 * with veth offloads off, and the Linux bridge's TCP in the same round for the ratio. Variants
 * alternate within each repetition, so a change in machine load hits them alike; the report is
 * min–median–max per variant with the load average. CPU per packet is the figure to compare on
 * a shared machine: packets per second move with whatever else runs, CPU time per packet much
 * less.
 *
 *   node dist/bench/compare/ab.js [--reps N] [--seconds S] [--tcp] [--linux] [--scenarios l2,nat] [--gen trafgen|pacegen] [--rates PPS,PPS] [--hog CPU] [--perf-sched DIR] [--drops] [--node-args '--trace-gc'] -- 'A opts' 'B opts' ...
 *   e.g. node dist/bench/compare/ab.js --reps 3 -- '' 'tx_ring=on'      (root)
 *
 * --scenarios: the comparison's scenarios (lab.ts) to alternate within each repetition, every
 * variant in each (default l2); in 'nat' the load goes h2 → floating IP → h1, as in compare.
 * --gen pacegen: the load at pacegen's maximum, as compare's generator-maximum trial (after its
 * learning frames); default trafgen. --drops: after the UDP run, the tvs ports' and routers'
 * drops by reason (dump-ports, router-show) and the switch-side veths' RX drops.
 * --rates 1000000,1500000: pacegen at these fixed rates (0: its maximum) instead of its maximum
 * alone, every rate in each repetition. --hog CPU: a busy loop pinned to that CPU during each UDP
 * run (bounded: the run's length + 2 s), i.e. what another lane's `taskset -c 1` bench does to
 * the switch's core. --perf-sched DIR: `perf sched record` over each UDP run into DIR (read it
 * with sleep-check.js: did the switch sleep while the generator sent?).
 *
 * Variants `linux` (the kernel's bridge or router) and `ovs` (Open vSwitch's userspace datapath,
 * not for nat) run the same UDP run, so a collapse seen with tvs can be looked for with another
 * switch at the same offer. Every UDP run also prints `where` (cpu-stat.ts): each CPU's time
 * by kind (user, sys, softirq, idle, and lost: wall time nobody in the guest was charged for,
 * i.e. the host did not run the vCPU), the datapath thread's run / wait / sleep, softnet
 * backlog drops and squeezes per CPU, pacegen's sent and refused frames, and the tvs ports'
 * drops by reason during the run. The summary leaves out trials whose datapath thread waited for
 * its core more than 10% of the run (another process had it), when a cell has others.
 *
 * --node-args: extra node flags for every tvs variant; with --trace-gc each UDP run lists the
 * collections V8 did during it (kind, pause, reason: gc-log.ts) and the summary counts them;
 * with --trace-deopt, the functions deoptimized during it (and why).
 * --keep-logs DIR: copy each run's tvs log to DIR/RUN-SCENARIO-VARIANT.log (e.g. with --trace-deopt).
 * Every UDP run also reports how long the datapath (main) thread waited for its core while
 * runnable, how often it was switched out, and the CPU time of the switch's helper threads
 * (/proc schedstat): under saturation a frame waits in the ring for as long as the main thread waits.
 *
 * A variant whose first word is `@TREE` runs another built checkout's tvs (TREE/dist/src/cli/tvs.js,
 * with that checkout's node flags) with the add-port options after it, for an A/B of code changes:
 * `-- '@/path/to/main' ''`. A variant's words that start with `--` are node flags for it alone
 * (`-- '' '--single-threaded-gc'`), and `start:OPTION` words `tvs start` options
 * (`start:--helper-nice-saturated=19`).
 */
import { spawn } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { ADDR, Lab, LinuxSwitch, OvsSwitch, Scenario, SwitchUnderTest, TvsSwitch } from './lab';
import { flowOf, killIperfServer, neighbourMac, runPacegen, WARMUP } from './measure';
import { sh, nsx, sleep, median } from './sys';
import { compileSummary, deoptSummary, gcSummary, logSince, parseGcLog, type GcEvent } from './gc-log';
import { sleepCheck, type SleepReport } from './sleep-check';
import { cpuShares, processTicks, readCpuTimes, readSoftnet, threadClock, threadShare, topOthers } from './cpu-stat';

interface Sample {
  variant: string;
  scenario: Scenario;
  /** --rates: the rate pacegen was asked for, kpps (0: its maximum) */
  askKpps: number;
  deliveredKpps: number;
  lossPct: number;
  offeredKpps: number;
  userUs: number;
  sysUs: number;
  cpuUs: number;
  tcpGbps?: number;
  load1: number;
  /** with --node-args --trace-gc: collections during the UDP run */
  gc?: GcEvent[];
  /** with --node-args --trace-deopt: deoptimizations during the UDP run */
  deopts?: string[];
  /** with --node-args --trace-opt: TurboFan compiles completed during the UDP run (count, helper ms, per function) */
  compiles?: { count: number; backgroundMs: number; functions: string[] };
  /** the datapath (main) thread's time runnable but not running during the UDP run, ms */
  mainWaitMs: number;
  /** times the main thread was switched out while runnable (nonvoluntary context switches) */
  mainPreempts: number;
  /** CPU time of the switch's other threads (V8's compiler and GC workers, libuv) during the UDP run, ms */
  helpersMs: number;
  /** helpersMs by thread name */
  helpersByName?: Record<string, number>;
  /** the datapath thread's own CPU time per delivered packet, µs (what its core's other users do not inflate) */
  mainUs: number;
  /**
   * Where the time went during the UDP run (cpu-stat.ts): per CPU % user / sys / softirq / idle /
   * lost (no one charged: the host did not run the vCPU); the datapath thread's ms on the CPU,
   * waiting, asleep, charged in ticks, and its sleeps; softnet backlog drops and squeezes per CPU;
   * the generator's frames sent and refused (backlog full); the tvs ports' drops by reason in the run.
   */
  where?: Record<string, unknown>;
}

/**
 * Per-thread scheduling of the switch (/proc/PID/task/TID/schedstat: ns on the CPU, ns waiting
 * on a run queue; status: nonvoluntary_ctxt_switches). Under saturation the datapath thread never
 * sleeps, so its run-queue wait is exactly the time something else had its core — a frame
 * waits in the ring meanwhile — and the helpers' CPU time says how much of that was the
 * switch's own helper threads.
 */
interface ThreadSched {
  mainRunNs: number;
  mainWaitNs: number;
  mainPreempts: number;
  helperRunNs: Map<number, number>;
  /** thread name (comm) by tid */
  names: Map<number, string>;
}

function threadSched(pid: number): ThreadSched {
  const read = (tid: string) => fs.readFileSync(`/proc/${pid}/task/${tid}/schedstat`, 'utf8').split(' ').map(Number);
  const t: ThreadSched = { mainRunNs: NaN, mainWaitNs: NaN, mainPreempts: NaN, helperRunNs: new Map(), names: new Map() };
  try {
    for (const tid of fs.readdirSync(`/proc/${pid}/task`)) {
      try {
        const [run, wait] = read(tid);
        if (Number(tid) === pid) {
          t.mainRunNs = run;
          t.mainWaitNs = wait;
          const st = fs.readFileSync(`/proc/${pid}/task/${tid}/status`, 'utf8');
          t.mainPreempts = Number(/^nonvoluntary_ctxt_switches:\s*(\d+)/m.exec(st)?.[1] ?? NaN);
        } else {
          t.helperRunNs.set(Number(tid), run);
          t.names.set(Number(tid), fs.readFileSync(`/proc/${pid}/task/${tid}/comm`, 'utf8').trim());
        }
      } catch {
        /* the thread ended */
      }
    }
  } catch {
    /* no /proc (not Linux) */
  }
  return t;
}

function schedDelta(a: ThreadSched, b: ThreadSched): { mainWaitMs: number; mainPreempts: number; helpersMs: number; helpersByName: Record<string, number>; mainRunMs: number } {
  let helpers = 0;
  const byName: Record<string, number> = {};
  for (const [tid, run] of b.helperRunNs) {
    const d = run - (a.helperRunNs.get(tid) ?? 0);
    helpers += d;
    if (d > 0) {
      const n = b.names.get(tid) ?? '?';
      byName[n] = +((byName[n] ?? 0) + d / 1e6).toFixed(1);
    }
  }
  return { mainWaitMs: (b.mainWaitNs - a.mainWaitNs) / 1e6, mainPreempts: b.mainPreempts - a.mainPreempts, helpersMs: helpers / 1e6, helpersByName: byName, mainRunMs: (b.mainRunNs - a.mainRunNs) / 1e6 };
}

function userSys(pid: number): [number, number] {
  const f = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  const p = f.slice(f.lastIndexOf(')') + 2).split(' ');
  return [Number(p[11]), Number(p[12])];
}

const counter = (ns: string, what: string) => Number(sh(nsx(ns, ['cat', `/sys/class/net/eth0/statistics/${what}`])).trim());

async function udpRun(lab: Lab, pid: number, seconds: number, gen: 'trafgen' | 'pacegen', ratePps = 0, portDrops?: () => Record<string, number>, hogCpu = '', perfSched = ''): Promise<Omit<Sample, 'variant' | 'scenario' | 'askKpps' | 'load1' | 'tcpGbps'>> {
  const log = path.join(lab.dir, 'tvs.log');
  const f = flowOf(lab);
  const nft = path.join(lab.dir, 'sink.nft');
  fs.writeFileSync(nft, 'table netdev tvcsink {\n  chain in {\n    type filter hook ingress device "eth0" priority 0;\n    udp dport 9 counter drop\n  }\n}\n');
  sh(nsx(f.dst, ['nft', '-f', nft]));
  const dstMac = neighbourMac(f.src, f.dstIp);
  const srcMac = lab.mac(f.src);
  const pg = { dev: 'eth0', srcMac, dstMac, srcIp: f.srcIp, dstIp: f.dstIp, size: 64 };
  if (gen === 'pacegen') {
    runPacegen(f.src, { ...pg, ratePps: WARMUP.pps, count: WARMUP.frames, seconds: 1 }, 11_000);
    await sleep(WARMUP.settleMs);
  }
  const conf = path.join(lab.dir, 'udp64.cfg');
  fs.writeFileSync(conf, `{ eth(da=${dstMac}, sa=${srcMac}), ipv4(saddr=${f.srcIp}, daddr=${f.dstIp}, ttl=64), udp(sp=dinc(4000, 4015), dp=9), fill(0x41, 22) }\n`);
  const rx0 = counter(f.dst, 'rx_packets');
  const tx0 = counter(f.src, 'tx_packets');
  const [u0, s0] = pid ? userSys(pid) : [0, 0];
  const sched0 = threadSched(pid);
  const drops0 = portDrops?.() ?? {};
  const cpu0 = readCpuTimes();
  const net0 = readSoftnet();
  const thr0 = pid ? threadClock(pid) : undefined;
  const procs0 = processTicks();
  let genReport: { sent: number; failed: number; skipped: number } | undefined;
  // Markers in the daemon's log (it appends: O_APPEND), for --keep-logs readers.
  if (fs.existsSync(log)) fs.appendFileSync(log, `--- ab.js: UDP run starts\n`);
  const log0 = fs.existsSync(log) ? logSince(log, 0).end : 0;
  // --hog CPU: a busy loop on that CPU for the run (what another process pinned there does to the switch).
  const hog = hogCpu ? spawn('taskset', ['-c', hogCpu, 'timeout', String(seconds + 2), 'sh', '-c', 'while :; do :; done'], { stdio: 'ignore' }) : undefined;
  // --perf-sched FILE: every scheduler switch and wakeup on both CPUs during the run (sleep-check.js reads it).
  let perf: ReturnType<typeof spawn> | undefined;
  let perfDone: Promise<void> | undefined;
  if (perfSched) {
    // TVS_AB_PERF_CALLCHAINS=1: with call chains (where the datapath thread went to sleep: `perf script -i FILE`).
    const g = process.env.TVS_AB_PERF_CALLCHAINS === '1' ? ['-g'] : [];
    perf = spawn('perf', ['sched', 'record', ...g, '-o', perfSched, '--', 'sleep', String(seconds + 1)], { stdio: 'ignore' });
    perfDone = new Promise((res) => perf!.on('close', () => res()));
    await sleep(500); // perf has its events open
  }
  const t0 = Date.now();
  let elapsed: number;
  if (gen === 'pacegen') {
    // At a fixed rate (--rate) the schedule is `seconds` long; at the maximum, more than it can send.
    const r = runPacegen(f.src, { ...pg, count: ratePps ? Math.ceil(seconds * ratePps) : seconds * 3_000_000, seconds, ...(ratePps ? { ratePps } : {}) }, (seconds + 10) * 1000);
    elapsed = r.seconds > 0 ? r.seconds : (Date.now() - t0) / 1000;
    genReport = { sent: r.sent, failed: r.failed, skipped: r.skipped };
  } else {
    sh(nsx(f.src, ['timeout', String(seconds), 'trafgen', '--dev', 'eth0', '--conf', conf, '--cpus', '1', '--no-sock-mem', '--num', String(seconds * 3_000_000)]), {
      allowFail: true,
      timeoutMs: (seconds + 10) * 1000,
    });
    elapsed = (Date.now() - t0) / 1000;
  }
  const { mainRunMs, ...sched } = schedDelta(sched0, threadSched(pid));
  const wall = (Date.now() - t0) / 1000;
  if (hog?.pid) {
    try {
      process.kill(hog.pid, 'SIGTERM'); // timeout passes it on to the loop
    } catch {
      /* ended */
    }
  }
  const cpu1 = readCpuTimes();
  const net1 = readSoftnet();
  const thr1 = pid ? threadClock(pid) : undefined;
  const procs1 = processTicks();
  await sleep(300);
  let sleepReport: SleepReport | undefined;
  if (perfDone) {
    await perfDone;
    // The kernel's switch has no thread of its own to follow.
    try {
      if (pid) sleepReport = sleepCheck(perfSched, pid, gen === 'pacegen' ? 'pacegen' : 'trafgen', new Set(threadSched(pid).names.keys()));
    } catch (e) {
      console.log(`  perf sched: ${(e as Error).message.split('\n')[0]}`);
    }
  }
  const drops1 = portDrops?.() ?? {};
  const portDropDelta: Record<string, number> = {};
  for (const [k, v] of Object.entries(drops1)) if (v - (drops0[k] ?? 0) > 0) portDropDelta[k] = v - (drops0[k] ?? 0);
  const where = {
    pid,
    cpu: cpuShares(cpu0, cpu1, wall).map((c, i) => `cpu${i} u${c.userPct} s${c.sysPct} si${c.softirqPct} idle${c.idlePct} lost${c.lostPct}`),
    main: threadShare(thr0, thr1, wall),
    others: topOthers(procs0, procs1, new Set([pid, process.pid])),
    softnet: net1.map((n, i) => `cpu${i} dropped ${n.dropped - (net0[i]?.dropped ?? 0)} squeezed ${n.squeezed - (net0[i]?.squeezed ?? 0)}`),
    ...(genReport ? { gen: genReport } : {}),
    ...(portDrops ? { portDrops: portDropDelta } : {}),
    ...(sleepReport ? { sleep: sleepReport } : {}),
  };
  const delivered = counter(f.dst, 'rx_packets') - rx0;
  const offered = counter(f.src, 'tx_packets') - tx0;
  const [u1, s1] = pid ? userSys(pid) : [0, 0];
  const during = fs.existsSync(log) ? logSince(log, log0).text : '';
  const gc = parseGcLog(during);
  const deopts = deoptSummary(during);
  const compiles = compileSummary(during);
  if (fs.existsSync(log)) fs.appendFileSync(log, `--- ab.js: UDP run ended\n`);
  sh(nsx(f.dst, ['nft', 'delete', 'table', 'netdev', 'tvcsink']), { allowFail: true });
  const per = (ticks: number) => (delivered && pid ? ((ticks / 100) * 1e6) / delivered : NaN);
  return {
    deliveredKpps: delivered / elapsed / 1000,
    offeredKpps: offered / elapsed / 1000,
    lossPct: offered ? Math.max(0, (1 - delivered / offered) * 100) : NaN,
    userUs: per(u1 - u0),
    sysUs: per(s1 - s0),
    cpuUs: per(u1 - u0 + s1 - s0),
    ...sched,
    mainUs: delivered ? (mainRunMs * 1000) / delivered : NaN,
    where,
    ...(gc.length ? { gc } : {}),
    ...(deopts.length ? { deopts } : {}),
    ...(compiles.count ? { compiles } : {}),
  };
}

function tcpRun(lab: Lab, seconds: number, port: number): number {
  lab.offloads(false);
  sh(nsx(lab.h2, ['iperf3', '-s', '-1', '-D', '-p', String(port)]));
  sh(['sleep', '0.3']);
  const out = sh(nsx(lab.h1, ['iperf3', '-c', ADDR.l2.h2, '-p', String(port), '-t', String(seconds), '--connect-timeout', '3000', '-J']), {
    allowFail: true,
    timeoutMs: (seconds + 20) * 1000,
  });
  try {
    return JSON.parse(out).end.sum_received.bits_per_second / 1e9;
  } catch {
    return NaN;
  } finally {
    killIperfServer(lab.h2, port); // still waiting if the client never connected
  }
}

const bridgesOf = (lab: Lab): string[] =>
  lab.scenario === 'nat' ? ['br-ex', 'br-int'] : lab.scenario === 'vlan' ? ['br-a', 'br-b'] : lab.scenario === 'fw' ? ['br-int'] : ['br0'];

/** The tvs ports' drops by reason now, as `PORT:REASON` (cumulative; udpRun takes the difference over the run). */
function tvsPortDrops(lab: Lab, tvs: TvsSwitch): Record<string, number> {
  const out: Record<string, number> = {};
  for (const br of bridgesOf(lab)) {
    const r = JSON.parse(tvs.tvs('--json', 'dump-ports', br)) as { ports: { name: string; drops: Record<string, number> }[] };
    for (const p of r.ports) for (const [k, v] of Object.entries(p.drops)) out[`${p.name}:${k}`] = v;
  }
  return out;
}

/** The tvs side's drops after a run: per port by reason, per router by reason, and the veths' own. */
function printDrops(lab: Lab, tvs: TvsSwitch, label: string): void {
  for (const br of bridgesOf(lab)) console.log(`  [${label}] dump-ports ${br}:\n` + tvs.tvs('dump-ports', br).trim().replace(/^/gm, '    '));
  if (lab.scenario === 'nat') {
    const rs = tvs.tvs('router-show', 'r1');
    console.log(`  [${label}] router-show r1 (drops/counters):\n` + rs.split('\n').filter((l) => /drop|forward|sent|created|noBuffer|held|[a-z_]+=\d/i.test(l)).join('\n').replace(/^/gm, '    '));
  }
  for (const dev of ['p1', 'p2']) {
    const st = sh(nsx(lab.sw, ['ip', '-s', '-j', 'link', 'show', dev]));
    const j = JSON.parse(st)[0]?.stats64;
    console.log(`  [${label}] ${dev}: rx ${j?.rx?.packets} dropped ${j?.rx?.dropped}; tx ${j?.tx?.packets} dropped ${j?.tx?.dropped}`);
  }
}

async function oneRun(scenario: Scenario, variant: string, opts: string[], seconds: number, tcp: boolean, port: number, gen: 'trafgen' | 'pacegen', drops: boolean, nodeArgs: string[], keepLog?: string, ratePps = 0, hogCpu = '', perfSched = ''): Promise<Sample> {
  const lab = new Lab(scenario);
  let sw: SwitchUnderTest | undefined;
  // A variant word hog:CPU: the busy loop (--hog) for this variant alone.
  const hogWord = opts.find((o) => /^hog:\d+$/.test(o));
  if (hogWord) {
    hogCpu = hogWord.slice(4);
    opts = opts.filter((o) => o !== hogWord);
  }
  try {
    lab.create();
    if (opts[0] === 'linux') sw = new LinuxSwitch(lab);
    else if (opts[0] === 'ovs') sw = new OvsSwitch(lab);
    else {
      const tree = opts[0]?.startsWith('@') ? opts.shift()!.slice(1) : undefined;
      // Words of the variant that start with -- are node flags of that variant alone.
      const tvs = new TvsSwitch(lab, [...nodeArgs, ...opts.filter((o) => o.startsWith('--'))], opts.filter((o) => !o.startsWith('--') && !o.startsWith('start:')));
      tvs.startArgs = opts.filter((o) => o.startsWith('start:')).map((o) => o.slice(6));
      if (tree !== undefined) tvs.tvsScript = path.resolve(tree, 'dist/src/cli/tvs.js');
      sw = tvs;
    }
    await sw.setup();
    const f = flowOf(lab);
    sh(nsx(f.src, ['ping', '-c', '3', '-i', '0.2', '-W', '1', f.dstIp]), { allowFail: true, timeoutMs: 10_000 });
    const load1 = +os.loadavg()[0].toFixed(1);
    // The same UDP run for every switch (the kernel's has no process: no CPU columns), so a
    // collapse can be told from the switch's own doing (bench/results, "Routed collapse").
    const portDrops = sw instanceof TvsSwitch ? () => tvsPortDrops(lab, sw as TvsSwitch) : undefined;
    const u = await udpRun(lab, sw.pid(), seconds, gen, ratePps, portDrops, hogCpu, perfSched);
    if (drops && sw instanceof TvsSwitch) printDrops(lab, sw, `${scenario} ${variant || '(default)'}`);
    const tcpGbps = tcp && scenario === 'l2' ? tcpRun(lab, seconds, port) : undefined;
    return { variant, scenario, askKpps: ratePps / 1000, ...u, tcpGbps, load1 };
  } finally {
    if (sw) await sw.teardown().catch(() => undefined);
    if (keepLog !== undefined && fs.existsSync(path.join(lab.dir, 'tvs.log'))) fs.copyFileSync(path.join(lab.dir, 'tvs.log'), keepLog);
    lab.destroy();
  }
}

/** Share of a run the datapath thread may wait for its core before the trial counts as contended. */
const CONTENDED_WAIT = 0.1;

function mmm(xs: number[], digits: number): string {
  const v = xs.filter((x) => !Number.isNaN(x)).sort((a, b) => a - b);
  if (!v.length) return '—';
  return `${v[0].toFixed(digits)}–${median(v).toFixed(digits)}–${v[v.length - 1].toFixed(digits)}`;
}

async function main(): Promise<void> {
  const argv = process.argv.slice(2);
  const dd = argv.indexOf('--');
  const flags = dd >= 0 ? argv.slice(0, dd) : argv;
  const variants = dd >= 0 ? argv.slice(dd + 1) : ['', 'tx_ring=on'];
  const num = (name: string, def: number) => {
    const i = flags.indexOf(name);
    return i >= 0 ? Number(flags[i + 1]) : def;
  };
  const reps = num('--reps', 3);
  const seconds = num('--seconds', 5);
  const tcp = flags.includes('--tcp');
  const drops = flags.includes('--drops');
  const str = (name: string, def: string) => {
    const i = flags.indexOf(name);
    return i >= 0 ? flags[i + 1] : def;
  };
  const scenarios = str('--scenarios', 'l2').split(',') as Scenario[];
  for (const sc of scenarios) if (!['l2', 'vlan', 'nat', 'fw'].includes(sc)) throw new Error(`--scenarios: unknown scenario '${sc}'`);
  const gen = str('--gen', 'trafgen');
  // --rates: pacegen at these fixed rates (pps, comma-separated; 0 = its maximum), alternating within each repetition.
  const rates = str('--rates', '0').split(',').map(Number);
  for (const r of rates) if (!(Number.isInteger(r) && r >= 0 && r <= 20_000_000)) throw new Error(`--rates: '${r}' is not a rate in pps (0..20000000)`);
  if (rates.some((r) => r > 0) && gen !== 'pacegen') throw new Error('--rates needs --gen pacegen');
  const hogCpu = str('--hog', '');
  const perfDir = str('--perf-sched', '');
  if (perfDir) fs.mkdirSync(perfDir, { recursive: true });
  if (hogCpu && !/^\d+$/.test(hogCpu)) throw new Error(`--hog: a CPU number, got '${hogCpu}'`);
  const nodeArgs = str('--node-args', '').split(/\s+/).filter(Boolean);
  const keepLogs = str('--keep-logs', '');
  if (keepLogs) fs.mkdirSync(keepLogs, { recursive: true });
  let run = 0;
  if (gen !== 'trafgen' && gen !== 'pacegen') throw new Error('--gen trafgen|pacegen');
  if (flags.includes('--linux')) variants.push('linux');
  const samples: Sample[] = [];
  let port = 5400;
  for (let r = 0; r < reps; r++) {
    for (const sc of scenarios) {
      for (const rate of rates) for (const v of variants) {
        const name = `${++run}-${sc}-${rate ? `${rate}-` : ''}${v.replace(/[^A-Za-z0-9=_.-]+/g, '_') || 'default'}`;
        const s = await oneRun(sc, v, v.split(/\s+/).filter(Boolean), seconds, tcp, port++, gen, drops, nodeArgs, keepLogs ? path.join(keepLogs, `${name}.log`) : undefined, rate, hogCpu, perfDir ? path.join(perfDir, `${name}.data`) : '');
        samples.push(s);
        const { gc, deopts, compiles, ...rest } = s;
        console.log(JSON.stringify(rest));
        if (compiles) console.log(`  compiles: ${compiles.count}, ${compiles.backgroundMs.toFixed(0)} ms on helpers: ${compiles.functions.join(', ')}`);
        if (gc) console.log(gcSummary(gc).map((l) => `  gc: ${l}`).join('\n'));
        if (deopts) console.log(deopts.map((l) => `  deopt: ${l}`).join('\n'));
      }
    }
  }
  // A trial whose datapath thread waited for its core more than CONTENDED_WAIT of the run measured
  // the machine's other work, not the switch (bench/results, "Routed collapse"): the summary
  // leaves such trials out when a cell has clean ones, and says how many it kept.
  const clean = (s: Sample) => !(s.mainWaitMs > CONTENDED_WAIT * seconds * 1000);
  console.log(`\n${reps} alternating runs × ${seconds} s (${gen}), ${new Date().toISOString()}, load1 during runs ${mmm(samples.map((s) => s.load1), 1)}`);
  const traced = samples.some((s) => s.gc !== undefined) || nodeArgs.includes('--trace-gc');
  console.log('scenario | rate asked kpps | variant | trials kept (datapath waited < ' + CONTENDED_WAIT * 100 + '% of the run) | CPU µs/pkt (user + sys) | user | sys | delivered kpps | offered kpps | loss % | main thread µs/pkt | main thread waited ms (preempted) | helpers ran ms' + (tcp ? ' | TCP off Gbit/s' : '') + (traced ? ' | mark-compacts | their max pause ms | scavenges' : ''));
  for (const sc of scenarios) {
    for (const rate of rates) for (const v of variants) {
      const all = samples.filter((s) => s.variant === v && s.scenario === sc && s.askKpps === rate / 1000);
      const kept = all.filter(clean);
      const xs = kept.length > 0 ? kept : all;
      const col = (k: keyof Sample, d: number) => mmm(xs.map((s) => s[k] as number), d);
      const major = (s: Sample) => (s.gc ?? []).filter((e) => e.kind.startsWith('Mark-'));
      const gcCols = traced
        ? ` | ${mmm(xs.map((s) => major(s).length), 0)} | ${mmm(xs.map((s) => Math.max(0, ...major(s).map((e) => e.pauseMs))), 1)} | ${mmm(xs.map((s) => (s.gc ?? []).filter((e) => e.kind === 'Scavenge').length), 0)}`
        : '';
      const keptText = kept.length > 0 ? `${kept.length} of ${all.length}` : `none of ${all.length} (all shown)`;
      console.log(`${sc} | ${rate ? rate / 1000 : 'max'} | ${v || '(default)'} | ${keptText} | ${col('cpuUs', 2)} | ${col('userUs', 2)} | ${col('sysUs', 2)} | ${col('deliveredKpps', 0)} | ${col('offeredKpps', 0)} | ${col('lossPct', 1)} | ${col('mainUs', 3)} | ${col('mainWaitMs', 1)} (${col('mainPreempts', 0)}) | ${col('helpersMs', 1)}` + (tcp ? ` | ${col('tcpGbps', 2)}` : '') + gcCols);
    }
  }
}

if (require.main === module) {
  main().catch((e) => {
    console.error(e);
    process.exit(1);
  });
}
