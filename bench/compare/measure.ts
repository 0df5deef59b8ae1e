/**
 * One measurement pass over a switch already set up in a Lab: ping RTT, UDP from one core with
 * pacegen (bench/tools/pacegen.c: 64 B and 1500 B at its maximum, 64 B at a fixed rate, the
 * zero-loss search), TCP with iperf3 (veth offloads off, then on). Every traffic loop is bounded
 * by a packet count and a timeout, and goes only between the lab's namespaces.
 *
 * Why not trafgen: its `--rate` is a per-second budget sent at its maximum (~250 ms bursts, then
 * silence), so it cannot offer a constant rate; pacegen sends on an absolute-time schedule (at
 * most 8 frames per >= 10 µs tick). At the maximum pacegen is also the faster of the two here
 * (one sendmmsg of 32 frames per call); `maxGen: 'trafgen'` keeps trafgen for the maxima, for
 * comparisons with earlier runs.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { ADDR, Lab, SwitchUnderTest } from './lab';
import { sh, nsx, sleep, cpuTicks, rssKiB } from './sys';

/** The paced generator, built by `make build` (bench/tools/pacegen.c). */
export const PACEGEN = path.resolve(__dirname, '../tools/pacegen');
/** CPU the generators run on (trafgen's `--cpus 1` is CPU 0, pacegen `--cpu 0`; the switches are on SWITCH_CPU). */
const GEN_CPU = '0';
/**
 * Where ping runs: the generators' CPU, the "VM on another core than the switch" case. Unpinned,
 * the scheduler puts ping on either CPU run by run, and the RTT follows the placement, not the
 * switch: on the switch's CPU the echo needs no cross-CPU wakeup (tvs p50 ~18 µs, OVS ~52), on
 * the other CPU it needs two, each waking a halted vCPU (tvs ~40 µs, OVS ~70). Every switch gets
 * the same placement.
 */
export const PINGER = ['taskset', '-c', GEN_CPU];
/**
 * RFC 2544 §23 learning frames before every UDP trial, not counted: the trial's frames (all 16
 * source ports) at a low rate, then a pause, so MAC learning, flow setup (OVS upcalls, tvs's
 * caches) and NAT sessions happen before the counters are read. The same for every switch.
 */
export const WARMUP = { frames: 320, pps: 10_000, settleMs: 200 };

export interface UdpFigures {
  offeredPps: number;
  deliveredPps: number;
  lossPct: number;
  /** switch process CPU (user + system) per delivered packet; NaN for the in-kernel switch */
  cpuUsPerPacket: number;
  cpuPct: number;
  /** paced trials: % of the frames pacegen skipped because its core was taken (> 200 µs late) */
  genSkippedPct?: number;
}

/** What pacegen printed (one JSON line); see bench/tools/pacegen.c. */
export interface PacegenReport {
  askPps: number;
  burst: number;
  sent: number;
  failed: number;
  skipped: number;
  /** first send to one tick after the last */
  seconds: number;
  pps: number;
  maxGapUs: number;
  maxLateUs: number;
  gapEdgesUs: number[];
  gaps: number[];
  /** at a rate: how late each tick was sent, bucketed by gapEdgesUs */
  late?: number[];
}

/**
 * Zero-loss throughput (RFC 2544 §26.1 style): the highest offered 64 B rate whose loss was at
 * most `maxLossPct`, every trial paced by pacegen. The first trial asks for the rate the
 * generator-maximum trial offered (when that was trafgen, pacegen sends what it can: the top is
 * the lower of the two generators' maxima); while trials
 * fail the rate halves down to `floorPps`, then bisects between the highest pass and the lowest
 * failure. `pps` is the offered rate of the best passing trial (what h1 really sent, not the
 * rate asked for); 0 when even `floorPps` lost more than `maxLossPct`.
 */
export interface ZeroLossFigures {
  pps: number;
  maxLossPct: number;
  /** offered rate of the first trial (the top of the search); the lowest rate tried */
  topPps: number;
  floorPps: number;
  /** every trial, in order: asked rate, offered, delivered, loss */
  trials: { askPps: number; offeredPps: number; deliveredPps: number; lossPct: number; genSkippedPct?: number }[];
}

/** One ping run (500 echoes 2 ms apart) and the switch's CPU during it and right after it. */
export interface PingFigures {
  avgMs: number;
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
  lossPct: number;
  /** every RTT in µs, in order (the histogram) */
  rttUs: number[];
  /** switch process CPU (user + system) during the ping run, % of a core; NaN for the in-kernel switch */
  cpuPct: number;
  /** switch process CPU over IDLE_SECONDS right after the ping run (no traffic), % of a core */
  idleCpuPct: number;
}

/** Idle measurement after the ping run: long enough for 1 clock tick (10 ms) to be 0.2%. */
export const IDLE_SECONDS = 5;

/**
 * Echoes (1 ms apart) between the cold and the warm ping run: the switch's steady state. A freshly
 * started tvs runs its datapath in V8's interpreter and baseline tiers until its hot functions have
 * run often enough to be optimised (some hundreds of frames, each compile 1–5 ms on the one core
 * the switch is pinned to); OVS and the kernel have no such phase. Every switch gets the same.
 * 3,000 because the routed and firewall paths have more functions to tier up than L2: in probes
 * (500-echo runs back to back on one daemon) their p99 settled only after ~2,000 echoes (p99
 * 250–950 µs in runs 1–3, 56–75 µs from run 4 on), so 1,000 measured the tier-up, not the state.
 */
export const WARM_PINGS = 3000;

export interface PassFigures {
  pingAvgMs: number;
  pingP99Ms: number;
  pingLossPct: number;
  /** cold: the first echoes through the freshly started switch (pingAvgMs/pingP99Ms are these) */
  ping: PingFigures;
  /** warm: the same run again after WARM_PINGS echoes (the steady state) */
  pingWarm: PingFigures;
  /** tvs restarted with extra `tvs start` arguments (the variant) for a second ping run (absent for the others, or with no variant) */
  pingVariant?: PingFigures & { args: string[] };
  /** that variant after WARM_PINGS echoes */
  pingVariantWarm?: PingFigures & { args: string[] };
  udp64: UdpFigures;
  udp1500: UdpFigures;
  udp64Fixed: UdpFigures;
  /** absent when the search was not run (TVS_BENCH_ZEROLOSS=0) */
  zeroLoss?: ZeroLossFigures;
  tcpOffGbps: number;
  tcpOnGbps: number;
  rssMiB: number;
}

export interface MeasureOptions {
  seconds: number;
  fixedRatePps: number;
  pings: number;
  /** drop the UDP load at the receiver's netdev ingress (default true) */
  sink?: boolean;
  /** zero-loss search: trials in all (0 = no search), seconds per trial, loss allowed (%), lowest rate (pps) */
  zeroLossSteps?: number;
  zeroLossFloorPps?: number;
  zeroLossSeconds?: number;
  zeroLossMaxPct?: number;
  /** the tool for the generator-maximum trials (64 B, 1500 B): pacegen (default) or trafgen */
  maxGen?: 'pacegen' | 'trafgen';
  /** only ping, 64 B at the maximum and the zero-loss search (no 1500 B, fixed rate, TCP) */
  zeroLossOnly?: boolean;
  /** tvs: also ping with tvs restarted as `tvs start ARGS` (e.g. `--wake-ahead-us 0`; empty: not) */
  variantArgs?: string[];
  progress: (msg: string) => void;
}

const counter = (ns: string, dev: string, what: 'rx_packets' | 'tx_packets') =>
  Number(sh(nsx(ns, ['cat', `/sys/class/net/${dev}/statistics/${what}`])).trim());

/** Who sends to whom in a scenario: the sender, the receiver, and the address/MAC to aim at. */
export function flowOf(lab: Lab): { src: string; dst: string; srcIp: string; dstIp: string } {
  if (lab.scenario === 'nat') {
    // External host → floating IP (DNAT), the Neutron "north-south" direction.
    return { src: lab.h2, dst: lab.h1, srcIp: ADDR.nat.h2, dstIp: ADDR.nat.fip };
  }
  return { src: lab.h1, dst: lab.h2, srcIp: ADDR.l2.h1, dstIp: ADDR.l2.h2 };
}

/** The MAC namespace `src` has for `dstIp` (after a ping: the next hop's, h2's or the router's). */
export function neighbourMac(src: string, dstIp: string): string {
  // After a ping the sender's neighbour table holds the next hop's MAC (h2 or the router).
  const n = JSON.parse(sh(['ip', '-n', src, '-j', 'neigh', 'show', dstIp]) || '[]') as { lladdr?: string }[];
  if (n[0]?.lladdr) return n[0].lladdr;
  throw new Error(`no neighbour entry for ${dstIp} in ${src}`);
}

export function parsePing(out: string): { avg: number; p50: number; p99: number; max: number; lossPct: number; times: number[] } {
  const inOrder = [...out.matchAll(/time=([\d.]+) ms/g)].map((m) => Number(m[1]));
  const times = [...inOrder].sort((a, b) => a - b);
  const lossM = /([\d.]+)% packet loss/.exec(out);
  if (times.length === 0) return { avg: NaN, p50: NaN, p99: NaN, max: NaN, lossPct: lossM ? Number(lossM[1]) : 100, times: [] };
  const avg = times.reduce((a, b) => a + b, 0) / times.length;
  const q = (p: number) => times[Math.min(times.length - 1, Math.ceil(times.length * p) - 1)];
  return { avg, p50: q(0.5), p99: q(0.99), max: times[times.length - 1], lossPct: lossM ? Number(lossM[1]) : NaN, times: inOrder };
}

/**
 * Ping h1 → h2 (`pings` echoes 2 ms apart from the PINGER CPU, after a warm-up for ARP/MAC learning), with the
 * switch's CPU during the run, then IDLE_SECONDS of no traffic: the switch must go back to
 * sleep (an adaptive spin may run a few ms past the last echo, no more).
 */
export async function pingRun(f: { src: string; dst: string; dstIp: string }, back: string, pid: number, pings: number, pingPrefix: string[] = []): Promise<PingFigures> {
  sh(nsx(f.src, ['ping', '-c', '3', '-i', '0.2', '-W', '1', f.dstIp]), { allowFail: true, timeoutMs: 10_000 });
  sh(nsx(f.dst, ['ping', '-c', '1', '-W', '1', back]), { allowFail: true, timeoutMs: 10_000 });
  const c0 = pid ? cpuTicks(pid) : NaN;
  const t0 = Date.now();
  const pingOut = path.join(os.tmpdir(), `tvs-bench-ping-${process.pid}.txt`);
  const out = sh(nsx(f.src, [...PINGER, ...pingPrefix, 'ping', '-i', '0.002', '-c', String(pings), '-W', '1', f.dstIp]), { allowFail: true, timeoutMs: 20_000 + pings * 20, stdoutFile: pingOut });
  fs.rmSync(pingOut, { force: true });
  const c1 = pid ? cpuTicks(pid) : NaN;
  const t1 = Date.now();
  await sleep(IDLE_SECONDS * 1000);
  const c2 = pid ? cpuTicks(pid) : NaN;
  const p = parsePing(out);
  return {
    avgMs: p.avg, p50Ms: p.p50, p99Ms: p.p99, maxMs: p.max, lossPct: p.lossPct,
    rttUs: p.times.map((x) => Math.round(x * 1000)),
    cpuPct: (c1 - c0) / ((t1 - t0) / 1000),
    idleCpuPct: (c2 - c1) / ((Date.now() - t1) / 1000),
  };
}

/** WARM_PINGS echoes 1 ms apart (quiet, bounded in count and time): the switch reaches its steady state. */
export function warmUp(f: { src: string; dstIp: string }, pingPrefix: string[] = []): void {
  sh(nsx(f.src, [...PINGER, ...pingPrefix, 'ping', '-q', '-i', '0.001', '-c', String(WARM_PINGS), '-W', '1', f.dstIp]), { allowFail: true, timeoutMs: 10_000 + WARM_PINGS * 10 });
}

/** The cold ping run (first echoes after start), WARM_PINGS echoes, then the warm run. */
export async function pingColdWarm(f: { src: string; dst: string; dstIp: string }, back: string, pid: number, pings: number, pingPrefix: string[] = []): Promise<{ cold: PingFigures; warm: PingFigures }> {
  const cold = await pingRun(f, back, pid, pings, pingPrefix);
  warmUp(f, pingPrefix);
  const warm = await pingRun(f, back, pid, pings, pingPrefix);
  return { cold, warm };
}

export async function measurePass(lab: Lab, sw: SwitchUnderTest, o: MeasureOptions): Promise<PassFigures> {
  const f = flowOf(lab);
  // Warm (inside pingRun): ARP/MAC learning, NAT sessions for ICMP.
  const back = lab.scenario === 'nat' ? ADDR.nat.h2 : ADDR.l2.h1;
  o.progress(`ping ×${o.pings} cold, ${WARM_PINGS} echoes, ping ×${o.pings} warm (each then ${IDLE_SECONDS} s idle)`);
  const { cold: ping, warm: pingWarm } = await pingColdWarm(f, back, sw.pid(), o.pings);
  // The variant's ping pass restarts tvs, so it runs last: a UDP trial right after a restart
  // measured a switch whose forwarding code V8 had not optimised yet (the first second of a
  // firewall trial lost up to 145k frames that the same process, warm, did not lose).
  const variantPass = async (): Promise<Pick<PassFigures, 'pingVariant' | 'pingVariantWarm'>> => {
    const args = o.variantArgs ?? [];
    if (!args.length || !sw.restart) return {};
    o.progress(`ping again with tvs start ${args.join(' ')}`);
    await sw.restart(args);
    const v = await pingColdWarm(f, back, sw.pid(), o.pings);
    await sw.restart([]);
    return { pingVariant: { ...v.cold, args }, pingVariantWarm: { ...v.warm, args } };
  };

  // The receiver drops the UDP load at its netdev ingress hook (after the veth counts it): without
  // this, every packet runs h2's whole UDP stack and an ICMP port-unreachable route lookup, and
  // that cost is charged to whoever transmitted on the veth — the switch process (perf showed
  // ~90% of tvs's "CPU per packet" there). Same sink for every switch.
  if (o.sink !== false) {
    const nft = path.join(lab.dir, 'sink.nft');
    fs.writeFileSync(nft, 'table netdev tvcsink {\n  chain in {\n    type filter hook ingress device "eth0" priority 0;\n    udp dport 9 counter drop\n  }\n}\n');
    sh(nsx(f.dst, ['nft', '-f', nft]));
  }
  const mac = neighbourMac(f.src, f.dstIp);
  const srcMac = lab.mac(f.src);
  const pid = sw.pid();

  const gen = { dev: 'eth0', srcMac, dstMac: mac, srcIp: f.srcIp, dstIp: f.dstIp };
  const pacegen = (args: { size: number; ratePps?: number; count: number; seconds: number }): PacegenReport =>
    runPacegen(f.src, { ...gen, ...args }, (args.seconds + 10) * 1000);
  // RFC 2544 learning frames, before every UDP trial (not counted: the counters are read after).
  const warmUp = async () => {
    pacegen({ size: 64, ratePps: WARMUP.pps, count: WARMUP.frames, seconds: 1 });
    await sleep(WARMUP.settleMs);
  };

  /** One UDP trial: pacegen at a constant rate, or at its maximum (no rate; trafgen with maxGen 'trafgen'). */
  const udp = async (size: number, ratePps?: number, seconds = o.seconds): Promise<UdpFigures> => {
    await warmUp();
    const rx0 = counter(f.dst, 'eth0', 'rx_packets');
    const tx0 = counter(f.src, 'eth0', 'tx_packets');
    const c0 = pid ? cpuTicks(pid) : NaN;
    let elapsed: number;
    let genSkippedPct: number | undefined;
    const t0 = Date.now();
    if (ratePps || o.maxGen !== 'trafgen') {
      // Bounded in count (at a rate: the schedule's length is `seconds`; at the maximum: more
      // than it can send) and in time (--seconds).
      const r = ratePps
        ? pacegen({ size, ratePps: Math.round(ratePps), count: Math.ceil(seconds * ratePps), seconds })
        : pacegen({ size, count: Math.ceil(seconds * 3_000_000), seconds });
      elapsed = r.seconds > 0 ? r.seconds : (Date.now() - t0) / 1000;
      if (ratePps) genSkippedPct = (r.skipped / Math.max(1, r.sent + r.skipped)) * 100;
    } else {
      const conf = path.join(lab.dir, `udp${size}.cfg`);
      // UDP to the discard port; 16 source ports so hashing switches see several flows.
      fs.writeFileSync(conf, `{ eth(da=${mac}, sa=${srcMac}), ipv4(saddr=${f.srcIp}, daddr=${f.dstIp}, ttl=64), udp(sp=dinc(4000, 4015), dp=9), fill(0x41, ${size - 42}) }\n`);
      // Bounded in time (timeout) and in count (--num: more than the generator can send).
      sh(nsx(f.src, ['timeout', String(seconds), 'trafgen', '--dev', 'eth0', '--conf', conf, '--cpus', '1', '--no-sock-mem', '--num', String(Math.ceil(seconds * 3_000_000))]), {
        allowFail: true,
        timeoutMs: (seconds + 10) * 1000,
      });
      elapsed = (Date.now() - t0) / 1000;
    }
    const wall = (Date.now() - t0) / 1000;
    await sleep(300); // let the switch drain its queues
    const offered = counter(f.src, 'eth0', 'tx_packets') - tx0;
    const delivered = counter(f.dst, 'eth0', 'rx_packets') - rx0;
    const cpuSec = pid ? (cpuTicks(pid) - c0) / 100 : NaN;
    return {
      offeredPps: offered / elapsed,
      deliveredPps: delivered / elapsed,
      lossPct: offered ? Math.max(0, (1 - delivered / offered) * 100) : NaN,
      cpuUsPerPacket: delivered ? (cpuSec * 1e6) / delivered : NaN,
      cpuPct: (cpuSec / (wall + 0.3)) * 100,
      ...(genSkippedPct !== undefined ? { genSkippedPct } : {}),
    };
  };

  const maxGen = o.maxGen ?? 'pacegen';
  o.progress(`UDP 64 B at the generator maximum (${maxGen})`);
  const udp64 = await udp(64);
  const zlSteps = o.zeroLossSteps ?? 0;
  let zeroLoss: ZeroLossFigures | undefined;
  if (zlSteps > 0) {
    zeroLoss = await searchZeroLoss(
      { topPps: udp64.offeredPps, steps: zlSteps, maxLossPct: o.zeroLossMaxPct ?? 0.1, floorPps: o.zeroLossFloorPps ?? ZERO_LOSS_FLOOR_PPS },
      (ask) => udp(64, ask, o.zeroLossSeconds ?? o.seconds),
      o.progress,
    );
  }
  if (o.zeroLossOnly) {
    const nan: UdpFigures = { offeredPps: NaN, deliveredPps: NaN, lossPct: NaN, cpuUsPerPacket: NaN, cpuPct: NaN };
    const rssMiB = pid ? rssKiB(pid) / 1024 : NaN;
    return {
      pingAvgMs: ping.avgMs, pingP99Ms: ping.p99Ms, pingLossPct: ping.lossPct, ping, pingWarm, ...(await variantPass()), udp64, udp1500: nan, udp64Fixed: nan, zeroLoss,
      tcpOffGbps: NaN, tcpOnGbps: NaN, rssMiB,
    };
  }
  o.progress(`UDP 1500 B at the generator maximum (${maxGen})`);
  const udp1500 = await udp(1500);
  o.progress(`UDP 64 B at ${o.fixedRatePps / 1000} kpps (pacegen)`);
  const udp64Fixed = await udp(64, o.fixedRatePps);
  const rss = pid ? rssKiB(pid) / 1024 : NaN;

  let port = 5310;
  const iperf = (): number => {
    port++;
    sh(nsx(f.dst, ['iperf3', '-s', '-1', '-D', '-p', String(port)]));
    sh(['sleep', '0.3']);
    const out = sh(nsx(f.src, ['iperf3', '-c', f.dstIp, '-p', String(port), '-t', String(o.seconds), '--connect-timeout', '3000', '-J']), {
      allowFail: true,
      timeoutMs: (o.seconds + 20) * 1000,
    });
    try {
      return JSON.parse(out).end.sum_received.bits_per_second / 1e9;
    } catch {
      // The one-off server is still waiting if the client never connected: end it by its port.
      return 0;
    } finally {
      killIperfServer(f.dst, port);
    }
  };
  o.progress('TCP, veth offloads off');
  lab.offloads(false);
  const tcpOff = iperf();
  const variant = await variantPass();
  lab.offloads(true);
  if (sw.beforeTcpOffloadsOn) {
    o.progress('restarting for offloads on');
    await sw.beforeTcpOffloadsOn();
    sh(nsx(f.src, ['ping', '-c', '2', '-i', '0.2', '-W', '1', f.dstIp]), { allowFail: true, timeoutMs: 10_000 });
  }
  o.progress('TCP, veth offloads on');
  const tcpOn = iperf();

  return {
    pingAvgMs: ping.avgMs,
    pingP99Ms: ping.p99Ms,
    pingLossPct: ping.lossPct,
    ping,
    pingWarm,
    ...variant,
    udp64,
    udp1500,
    udp64Fixed,
    zeroLoss,
    tcpOffGbps: tcpOff,
    tcpOnGbps: tcpOn,
    rssMiB: rss,
  };
}

/** Lowest rate the zero-loss search tries (pps): below it the answer is "0 (< floor)". */
export const ZERO_LOSS_FLOOR_PPS = 1000;

export interface ZeroLossSearch {
  /** rate the first trial asks for (what the generator-maximum trial offered); what it really offers is the top */
  topPps: number;
  /** trials in all, the first one included */
  steps: number;
  maxLossPct: number;
  floorPps: number;
}

/**
 * The zero-loss search (see ZeroLossFigures), at most `s.steps` trials: the top; while trials
 * fail, half the last rate (the floor when the half is below it, or when only one trial is left,
 * so the floor is always tried before answering 0); after the first pass, bisect between it and
 * the lowest failure until the trials run out or the two are within 2%. A pass is loss at most
 * `maxLossPct`; the answer is the highest rate a passing trial really offered.
 */
export async function searchZeroLoss(
  s: ZeroLossSearch, trial: (askPps: number) => Promise<UdpFigures>, progress: (msg: string) => void,
): Promise<ZeroLossFigures> {
  const trials: ZeroLossFigures['trials'] = [];
  const out = (pps: number, topPps: number): ZeroLossFigures => ({ pps, maxLossPct: s.maxLossPct, topPps, floorPps: s.floorPps, trials });
  if (!(s.topPps > 0) || s.steps < 1) return out(NaN, NaN);
  const run = async (ask: number): Promise<UdpFigures> => {
    progress(`zero-loss search ${trials.length + 1}/${s.steps}: 64 B at ${(ask / 1e3).toFixed(ask < 10_000 ? 2 : 0)} kpps`);
    const r = await trial(ask);
    trials.push({ askPps: ask, offeredPps: r.offeredPps, deliveredPps: r.deliveredPps, lossPct: r.lossPct, ...(r.genSkippedPct !== undefined ? { genSkippedPct: +r.genSkippedPct.toFixed(2) } : {}) });
    return r;
  };
  const passes = (r: UdpFigures) => r.lossPct <= s.maxLossPct;
  const top = await run(Math.round(s.topPps));
  if (!(top.offeredPps > 0)) return out(NaN, top.offeredPps);
  if (passes(top)) return out(top.offeredPps, top.offeredPps);
  // Halving: `hi` the lowest failing ask, `lo` the highest passing one (0: none yet).
  let hi = Math.min(Math.round(s.topPps), Math.round(top.offeredPps));
  let lo = 0;
  let best = 0;
  while (trials.length < s.steps) {
    const left = s.steps - trials.length;
    let ask = Math.round(hi / 2);
    if (ask <= s.floorPps || left === 1) ask = s.floorPps;
    if (ask >= hi) break; // the top itself is at or below the floor
    const r = await run(ask);
    if (passes(r)) {
      lo = ask;
      best = r.offeredPps;
      break;
    }
    hi = ask;
    if (ask === s.floorPps) break; // even the floor lost: 0
  }
  if (lo === 0) return out(0, top.offeredPps);
  // Bisecting up between the pass and the failure above it.
  while (trials.length < s.steps && hi - lo > 0.02 * hi) {
    const ask = Math.round((lo + hi) / 2);
    const r = await run(ask);
    if (passes(r)) {
      lo = ask;
      best = Math.max(best, r.offeredPps);
    } else hi = ask;
  }
  return out(best, top.offeredPps);
}

/** Run pacegen in namespace `ns` on GEN_CPU; throws with its message when it fails. */
export function runPacegen(
  ns: string,
  a: { dev: string; srcMac: string; dstMac: string; srcIp: string; dstIp: string; size: number; ratePps?: number; count: number; seconds: number },
  timeoutMs: number,
): PacegenReport {
  if (!fs.existsSync(PACEGEN)) throw new Error(`${PACEGEN} missing (make build builds it)`);
  const argv = [PACEGEN, '--dev', a.dev, '--src-mac', a.srcMac, '--dst-mac', a.dstMac, '--src-ip', a.srcIp, '--dst-ip', a.dstIp,
    '--size', String(a.size), '--count', String(a.count), '--seconds', String(a.seconds), '--cpu', GEN_CPU];
  if (a.ratePps) argv.push('--rate', String(a.ratePps));
  const line = sh(nsx(ns, argv), { timeoutMs }).trim().split('\n').pop() ?? '';
  try {
    return JSON.parse(line) as PacegenReport;
  } catch {
    throw new Error(`pacegen printed no report: ${line.slice(0, 200)}`);
  }
}

/** A `-1` iperf3 server left waiting (client failed to connect): find its PID by port in the namespace, end it. */
export function killIperfServer(ns: string, port: number): void {
  const out = sh(nsx(ns, ['ss', '-Hltnp', `sport = :${port}`]), { allowFail: true });
  for (const m of out.matchAll(/pid=(\d+)/g)) {
    try {
      process.kill(Number(m[1]), 'SIGTERM');
    } catch {
      /* gone */
    }
  }
}
