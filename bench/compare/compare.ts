/**
 * tvs side by side with the Linux bridge (and a kernel router namespace) and Open vSwitch 3.1's
 * userspace datapath, on the same veth topology, the switches alternating within every
 * repetition. Writes bench/results/compare.jsonl (every pass, the medians, the target
 * verdicts, the machine), compare.md (table) and SVG charts.
 *
 * Scenarios (lab.ts): l2 (one bridge), vlan (push/pop across a patch pair), nat (routed + a
 * floating IP: tvs's router, a kernel router namespace with nft NAT, and for OVS the router as
 * OpenFlow flows with conntrack NAT, ovs-router-flows.ts), fw (Neutron's OVS firewall flows).
 *
 *   node dist/bench/compare/compare.js            # 3 repetitions × 5 s per measurement
 *   TVS_BENCH_QUICK=1 node dist/bench/compare/compare.js   # 1 repetition × 2 s
 *
 * Options (environment): TVS_BENCH_REPS, TVS_BENCH_SECONDS, TVS_BENCH_PINGS,
 * TVS_BENCH_RATE (fixed-rate pps, paced by pacegen, default 100000), TVS_BENCH_MAX_GEN (the
 * generator of the 64 B / 1500 B maximum trials: pacegen, the default, or trafgen), TVS_BENCH_SINK=0 (no
 * receiver-side drop), TVS_BENCH_ZEROLOSS (zero-loss search trials in all, default 10; 0 = none),
 * TVS_BENCH_ZL_SECONDS (seconds per trial, default the measurement time), TVS_BENCH_ZL_FLOOR
 * (lowest rate the search tries, pps, default 1000), TVS_BENCH_ZL_ONLY=1 (ping, 64 B max and
 * the zero-loss search only),
 * TVS_BENCH_SCENARIOS (l2,vlan,nat,fw),
 * TVS_BENCH_SWITCHES (linux,ovs,tvs), TVS_BENCH_OUT (results directory), TVS_BENCH_VARIANT (tvs
 * also pings once more, restarted as `tvs start ARGS`: default `--wake-ahead-us 0`, the sleeping
 * switch, whose figure is the one for irregular traffic; empty = no second pass),
 * TVS_BENCH_SPIN_US=N (when TVS_BENCH_VARIANT is unset: the variant is `--spin-us N`; 0 = none).
 */
import * as fs from 'fs';
import * as path from 'path';
import { Lab, makeSwitch, notApplicable, SCENARIOS, SWITCHES, type Scenario, type SwitchKind, type SwitchUnderTest } from './lab';
import { measurePass, IDLE_SECONDS, PACEGEN, WARMUP, WARM_PINGS, ZERO_LOSS_FLOOR_PPS, type PassFigures, type PingFigures } from './measure';
import { busyCheck, machineMeta, median, haveCmd } from './sys';
import { barChartSvg, histogramSvg } from './svg';

export interface CompareOptions {
  reps: number;
  seconds: number;
  pings: number;
  fixedRatePps: number;
  /** receiver drops the UDP load at netdev ingress (TVS_BENCH_SINK=0 to let its stack run) */
  sink: boolean;
  scenarios: Scenario[];
  switches: SwitchKind[];
  outDir: string;
  /** zero-loss search: trials per pass (0 = none), seconds per trial, lowest rate tried (pps), only that figure */
  zeroLossSteps: number;
  zeroLossSeconds: number;
  zeroLossFloorPps: number;
  zeroLossOnly: boolean;
  /** tvs: a second ping run restarted as `tvs start ARGS` (empty: none) */
  variantArgs: string[];
  /** generator of the maximum trials (64 B, 1500 B); every rated trial is pacegen's */
  maxGen: 'pacegen' | 'trafgen';
}

export function optionsFromEnv(env = process.env): CompareOptions {
  const quick = env.TVS_BENCH_QUICK === '1';
  const list = <T extends string>(v: string | undefined, all: T[]): T[] => (v ? (v.split(',').filter((x) => (all as string[]).includes(x)) as T[]) : all);
  return {
    reps: Number(env.TVS_BENCH_REPS ?? (quick ? 1 : 3)),
    seconds: Number(env.TVS_BENCH_SECONDS ?? (quick ? 2 : 5)),
    pings: Math.max(500, Number(env.TVS_BENCH_PINGS ?? 500)),
    fixedRatePps: Number(env.TVS_BENCH_RATE ?? 100_000),
    sink: env.TVS_BENCH_SINK !== '0',
    scenarios: list(env.TVS_BENCH_SCENARIOS, SCENARIOS),
    switches: list(env.TVS_BENCH_SWITCHES, SWITCHES),
    outDir: env.TVS_BENCH_OUT ?? path.resolve(__dirname, '../../../bench/results'),
    zeroLossSteps: Number(env.TVS_BENCH_ZEROLOSS ?? 10),
    zeroLossSeconds: Number(env.TVS_BENCH_ZL_SECONDS ?? env.TVS_BENCH_SECONDS ?? (quick ? 2 : 5)),
    zeroLossFloorPps: Number(env.TVS_BENCH_ZL_FLOOR ?? ZERO_LOSS_FLOOR_PPS),
    zeroLossOnly: env.TVS_BENCH_ZL_ONLY === '1',
    variantArgs: variantFromEnv(env),
    maxGen: env.TVS_BENCH_MAX_GEN === 'trafgen' ? 'trafgen' : 'pacegen',
  };
}

/**
 * The second tvs ping pass. Default `--wake-ahead-us 0`: tvs's default wakes just before the next
 * frame of periodic traffic, and ping is exactly periodic, so the default's ping figure is the
 * best case; the sleeping switch's is the one irregular traffic gets.
 */
export const DEFAULT_VARIANT = ['--wake-ahead-us', '0'];

export function variantFromEnv(env: NodeJS.ProcessEnv = process.env): string[] {
  if (env.TVS_BENCH_VARIANT !== undefined) return env.TVS_BENCH_VARIANT.split(/\s+/).filter(Boolean);
  if (env.TVS_BENCH_SPIN_US !== undefined) {
    const us = Number(env.TVS_BENCH_SPIN_US);
    return us > 0 ? ['--spin-us', String(us)] : [];
  }
  return [...DEFAULT_VARIANT];
}

/** How the variant is named in tables and charts. */
export const variantName = (args: string[]): string => `tvs ${args.join(' ')}`;

interface Pass {
  rep: number;
  scenario: Scenario;
  switch: SwitchKind;
  order: number;
  figures?: PassFigures;
  error?: string;
  tcpOnLabel?: string;
}

/** Flatten the figures to name → number, so medians and tables treat every metric alike. */
function flat(f: PassFigures): Record<string, number> {
  const r: Record<string, number> = {
    pingAvgMs: f.pingAvgMs,
    pingP99Ms: f.pingP99Ms,
    pingLossPct: f.pingLossPct,
    pingP50Ms: f.ping.p50Ms,
    pingMaxMs: f.ping.maxMs,
    pingCpuPct: f.ping.cpuPct,
    idleCpuPct: f.ping.idleCpuPct,
    tcpOffGbps: f.tcpOffGbps,
    tcpOnGbps: f.tcpOnGbps,
    rssMiB: f.rssMiB,
  };
  for (const k of ['udp64', 'udp1500', 'udp64Fixed'] as const) {
    for (const [m, v] of Object.entries(f[k])) r[`${k}.${m}`] = v as number;
  }
  if (f.zeroLoss) {
    r.zeroLossPps = f.zeroLoss.pps;
    r.zeroLossTopPps = f.zeroLoss.topPps;
    r.zeroLossFloorPps = f.zeroLoss.floorPps;
  }
  const pingKeys = (prefix: string, p: PingFigures) => ({ [`${prefix}.pingAvgMs`]: p.avgMs, [`${prefix}.pingP50Ms`]: p.p50Ms, [`${prefix}.pingP99Ms`]: p.p99Ms, [`${prefix}.pingMaxMs`]: p.maxMs, [`${prefix}.pingCpuPct`]: p.cpuPct, [`${prefix}.idleCpuPct`]: p.idleCpuPct });
  if (f.pingWarm) Object.assign(r, pingKeys('warm', f.pingWarm));
  if (f.pingVariant) Object.assign(r, pingKeys('variant', f.pingVariant));
  if (f.pingVariantWarm) Object.assign(r, pingKeys('variantWarm', f.pingVariantWarm));
  return r;
}

export type Medians = Record<string, Record<string, Record<string, number>>>; // scenario → switch → metric

export interface Verdict {
  target: string;
  tvs: number;
  reference: number;
  ratio: number;
  goal: string;
  met: boolean;
  margin: string;
}

/** `variant`: how the second tvs ping pass is named (its `variant.*` figures, when present). */
export function verdicts(m: Medians, variant = variantName(DEFAULT_VARIANT)): Verdict[] {
  const t = m.l2?.tvs;
  const o = m.l2?.ovs;
  const out: Verdict[] = [];
  if (!t) return out;
  // "x% above/short of" a ≥ goal; "x% under/over" a ≤ limit.
  const above = (v: number, goal: number) => (v >= goal ? `${((v / goal - 1) * 100).toFixed(0)}% above the goal` : `${((1 - v / goal) * 100).toFixed(0)}% short of the goal`);
  const under = (v: number, limit: number) => (v <= limit ? `${((1 - v / limit) * 100).toFixed(0)}% under the limit` : `${((v / limit - 1) * 100).toFixed(0)}% over the limit`);
  const atLeast = (target: string, tv: number, ov: number, k: number, extraOk = true, extra = '') => {
    const ratio = tv / ov;
    const met = Number.isFinite(ratio) && ratio >= k && extraOk;
    out.push({ target, tvs: tv, reference: ov, ratio, goal: `≥ ${k}×${extra}`, met, margin: Number.isFinite(ratio) ? `${ratio.toFixed(2)}× (${above(ratio, k)})` : 'n/a' });
  };
  if (o) {
    const loss = t['udp64.lossPct'];
    atLeast('64 B UDP delivered at the generator maximum, tvs ÷ OVS userspace', t['udp64.deliveredPps'], o['udp64.deliveredPps'], 3, loss <= 5, `, tvs loss ≤ 5% (was ${loss.toFixed(1)}%)`);
    if (t.zeroLossPps !== undefined && o.zeroLossPps !== undefined) {
      const target = '64 B zero-loss throughput (≤ 0.1% loss, paced), tvs ÷ OVS userspace';
      const floor = o.zeroLossFloorPps;
      if (o.zeroLossPps === 0 && t.zeroLossPps > 0 && floor > 0) {
        // OVS lost more than 0.1% even at the floor: its figure is below the floor, so tvs ÷ floor is a lower bound.
        const ratio = t.zeroLossPps / floor;
        out.push({ target, tvs: t.zeroLossPps, reference: 0, ratio, goal: '≥ 3×', met: ratio >= 3, margin: `> ${ratio.toFixed(1)}× (OVS < ${(floor / 1e3).toFixed(1)} kpps, the floor)` });
      } else atLeast(target, t.zeroLossPps, o.zeroLossPps, 3);
    }
    atLeast('TCP single stream, offloads off, tvs ÷ OVS userspace', t.tcpOffGbps, o.tcpOffGbps, 2);
    atLeast('TCP single stream, offloads on, tvs ÷ OVS with userspace TSO', t.tcpOnGbps, o.tcpOnGbps, 1);
    const atMost = (target: string, tv: number, ov: number, k: number) => {
      const r = tv / ov;
      out.push({ target, tvs: tv, reference: ov, ratio: r, goal: `≤ ${k}×`, met: r <= k, margin: Number.isFinite(r) ? `${r.toFixed(2)}× (${under(r, k)})` : 'n/a' });
    };
    // Ping is judged on the steady state (the warm run, after WARM_PINGS echoes, every switch
    // alike); the cold run (the first echoes after start, tvs still optimising its datapath) is
    // shown beside it.
    const ping = (what: string, tvsKey: string, ovsKey: string, k: number) => {
      const wt = t[`warm.${tvsKey}`] !== undefined ? `warm.${tvsKey}` : tvsKey;
      const wo = o[`warm.${ovsKey}`] !== undefined ? `warm.${ovsKey}` : ovsKey;
      atMost(`${what} ÷ OVS userspace, steady state (after ${WARM_PINGS} echoes)`, t[wt], o[wo], k);
      const cold = t[tvsKey] / o[ovsKey];
      if (wt !== tvsKey && Number.isFinite(cold)) out[out.length - 1].margin += `; cold start ${cold.toFixed(2)}×`;
    };
    // Both tvs runs are judged, the default and the variant (by default the sleeping switch,
    // `--wake-ahead-us 0`: the figure for irregular traffic), so a reader sees both.
    ping('ping average, tvs', 'pingAvgMs', 'pingAvgMs', 0.6);
    ping('ping p99, tvs', 'pingP99Ms', 'pingP99Ms', 1);
    if (t['variant.pingAvgMs'] !== undefined) {
      const vp = (k: string) => (t[`variantWarm.${k}`] !== undefined ? 'variantWarm' : 'variant');
      const variantPing = (what: string, key: string, k: number) => {
        atMost(`${what} ÷ OVS userspace, steady state (after ${WARM_PINGS} echoes)`, t[`${vp(key)}.${key}`], o[`warm.${key}`] ?? o[key], k);
        const cold = t[`variant.${key}`] / o[key];
        if (vp(key) === 'variantWarm' && Number.isFinite(cold)) out[out.length - 1].margin += `; cold start ${cold.toFixed(2)}×`;
      };
      variantPing(`ping average, ${variant}`, 'pingAvgMs', 0.6);
      variantPing(`ping p99, ${variant}`, 'pingP99Ms', 1);
    }
  }
  // Idle: one clock tick in the 5 s window is 0.2%; a switch that still spins shows tens of %.
  for (const [label, key] of [['tvs', 'idleCpuPct'], [variant, 'variant.idleCpuPct']] as const) {
    const v = t[key];
    if (v === undefined) continue;
    out.push({ target: `${label} CPU in the ${IDLE_SECONDS} s after the ping run (idle)`, tvs: v, reference: 0.2, ratio: NaN, goal: '≤ 0.2% (one tick)', met: v <= 0.2, margin: Number.isFinite(v) ? `${v.toFixed(1)}% of a core` : 'n/a' });
  }
  const cpu = t['udp64.cpuUsPerPacket'];
  out.push({ target: 'tvs CPU per delivered packet, 64 B at the generator maximum', tvs: cpu, reference: 1.5, ratio: cpu / 1.5, goal: '≤ 1.5 µs', met: cpu <= 1.5, margin: Number.isFinite(cpu) ? `${cpu.toFixed(2)} µs (${under(cpu, 1.5)})` : 'n/a' });
  return out;
}

// ---------------------------------------------------------------- report

const LABEL: Record<SwitchKind, string> = { linux: 'Linux bridge / kernel router', ovs: 'OVS 3.1 userspace', tvs: 'tvs' };
const SHORT: Record<SwitchKind, string> = { linux: 'Linux kernel', ovs: 'OVS userspace', tvs: 'tvs' };
const COLOR: Record<SwitchKind, string> = { linux: '#7f8c8d', ovs: '#2b6cb0', tvs: '#d9480f' };
const VARIANT_COLOR = '#f08c00';
const SCEN: Record<Scenario, string> = { l2: 'L2', vlan: 'VLAN push/pop', nat: 'routed + NAT (FIP)', fw: 'security groups (Neutron OVS firewall flows)' };

/** `vs`: the OVS metric the tvs ÷ OVS column divides by (default the same key). */
const ROWS: { key: string; label: string; fmt: (v: number) => string; vs?: string }[] = [
  { key: 'udp64.offeredPps', label: '64 B UDP offered, generator max (kpps)', fmt: (v) => (v / 1e3).toFixed(0) },
  { key: 'udp64.deliveredPps', label: '64 B UDP delivered (kpps)', fmt: (v) => (v / 1e3).toFixed(0) },
  { key: 'udp64.lossPct', label: '64 B UDP loss (%)', fmt: (v) => v.toFixed(1) },
  { key: 'zeroLossPps', label: '64 B UDP zero-loss throughput, ≤ 0.1% loss, paced (kpps)', fmt: (v) => (v / 1e3).toFixed(v < 10_000 ? 1 : 0) },
  { key: 'zeroLossTopPps', label: 'zero-loss search top: paced at the generator maximum (kpps)', fmt: (v) => (v / 1e3).toFixed(0) },
  { key: 'udp64.cpuUsPerPacket', label: 'switch CPU per packet, 64 B max (µs)', fmt: (v) => v.toFixed(2) },
  { key: 'udp64.cpuPct', label: 'switch CPU, 64 B max (% of a core)', fmt: (v) => v.toFixed(0) },
  { key: 'udp1500.offeredPps', label: '1500 B UDP offered (kpps)', fmt: (v) => (v / 1e3).toFixed(0) },
  { key: 'udp1500.deliveredPps', label: '1500 B UDP delivered (kpps)', fmt: (v) => (v / 1e3).toFixed(0) },
  { key: 'udp64Fixed.offeredPps', label: '64 B UDP offered, fixed rate, paced (kpps)', fmt: (v) => (v / 1e3).toFixed(0) },
  { key: 'udp64Fixed.deliveredPps', label: '64 B UDP delivered, fixed rate (kpps)', fmt: (v) => (v / 1e3).toFixed(0) },
  { key: 'udp64Fixed.cpuUsPerPacket', label: 'switch CPU per packet, fixed rate (µs)', fmt: (v) => v.toFixed(2) },
  { key: 'tcpOffGbps', label: 'TCP, veth offloads off (Gbit/s)', fmt: (v) => v.toFixed(2) },
  { key: 'tcpOnGbps', label: 'TCP, veth offloads on (Gbit/s) ¹', fmt: (v) => v.toFixed(2) },
  { key: 'pingAvgMs', label: 'ping RTT average, cold: first echoes after start (ms)', fmt: (v) => v.toFixed(3) },
  { key: 'pingP50Ms', label: 'ping RTT p50, cold (ms)', fmt: (v) => v.toFixed(3) },
  { key: 'pingP99Ms', label: 'ping RTT p99, cold (ms)', fmt: (v) => v.toFixed(3) },
  { key: 'pingMaxMs', label: 'ping RTT max, cold (ms)', fmt: (v) => v.toFixed(3) },
  { key: 'pingCpuPct', label: 'switch CPU during the cold ping run (% of a core)', fmt: (v) => v.toFixed(1) },
  { key: 'idleCpuPct', label: `switch CPU, ${IDLE_SECONDS} s idle after the ping run (% of a core)`, fmt: (v) => v.toFixed(1) },
  { key: 'warm.pingAvgMs', label: `ping RTT average, warm: after ${WARM_PINGS} echoes (ms)`, fmt: (v) => v.toFixed(3) },
  { key: 'warm.pingP50Ms', label: 'ping RTT p50, warm (ms)', fmt: (v) => v.toFixed(3) },
  { key: 'warm.pingP99Ms', label: 'ping RTT p99, warm (ms)', fmt: (v) => v.toFixed(3) },
  { key: 'warm.pingMaxMs', label: 'ping RTT max, warm (ms)', fmt: (v) => v.toFixed(3) },
  { key: 'warm.pingCpuPct', label: 'switch CPU during the warm ping run (% of a core)', fmt: (v) => v.toFixed(1) },
  { key: 'rssMiB', label: 'switch RSS after the UDP runs (MiB)', fmt: (v) => v.toFixed(0) },
];

/** The variant's ping rows (tvs column only; ÷ OVS against OVS's run of the same kind). */
const variantRows = (name: string): typeof ROWS => [
  { key: 'variant.pingAvgMs', label: `${name}: ping RTT average, cold (ms)`, fmt: (v) => v.toFixed(3), vs: 'pingAvgMs' },
  { key: 'variant.pingP50Ms', label: `${name}: ping RTT p50, cold (ms)`, fmt: (v) => v.toFixed(3), vs: 'pingP50Ms' },
  { key: 'variant.pingP99Ms', label: `${name}: ping RTT p99, cold (ms)`, fmt: (v) => v.toFixed(3), vs: 'pingP99Ms' },
  { key: 'variant.pingMaxMs', label: `${name}: ping RTT max, cold (ms)`, fmt: (v) => v.toFixed(3), vs: 'pingMaxMs' },
  { key: 'variant.pingCpuPct', label: `${name}: CPU during the cold ping run (%)`, fmt: (v) => v.toFixed(1), vs: 'pingCpuPct' },
  { key: 'variant.idleCpuPct', label: `${name}: CPU, idle after the ping run (%)`, fmt: (v) => v.toFixed(1), vs: 'idleCpuPct' },
  { key: 'variantWarm.pingAvgMs', label: `${name}: ping RTT average, warm (ms)`, fmt: (v) => v.toFixed(3), vs: 'warm.pingAvgMs' },
  { key: 'variantWarm.pingP50Ms', label: `${name}: ping RTT p50, warm (ms)`, fmt: (v) => v.toFixed(3), vs: 'warm.pingP50Ms' },
  { key: 'variantWarm.pingP99Ms', label: `${name}: ping RTT p99, warm (ms)`, fmt: (v) => v.toFixed(3), vs: 'warm.pingP99Ms' },
  { key: 'variantWarm.pingMaxMs', label: `${name}: ping RTT max, warm (ms)`, fmt: (v) => v.toFixed(3), vs: 'warm.pingMaxMs' },
  { key: 'variantWarm.pingCpuPct', label: `${name}: CPU during the warm ping run (%)`, fmt: (v) => v.toFixed(1), vs: 'warm.pingCpuPct' },
];

/** Ping latency of one switch (or tvs's variant) in one scenario: every repetition, and all RTTs pooled. */
interface LatencySeries {
  scenario: Scenario;
  /** the first echoes after the switch started, or after WARM_PINGS more */
  run: 'cold' | 'warm';
  name: string;
  color: string;
  reps: { avg: number; p50: number; p99: number; max: number; cpuPct: number; idleCpuPct: number }[];
  /** every RTT of every repetition, µs */
  samples: number[];
}

function latencySeries(o: CompareOptions, passes: Pass[]): LatencySeries[] {
  const out: LatencySeries[] = [];
  for (const s of o.scenarios) {
    for (const k of o.switches) {
      const got = passes.filter((p) => p.scenario === s && p.switch === k && p.figures).map((p) => p.figures!);
      if (!got.length) continue;
      const variants: { run: 'cold' | 'warm'; name: string; color: string; pick: (f: PassFigures) => PingFigures | undefined }[] = [
        { run: 'cold', name: LABEL[k], color: COLOR[k], pick: (f) => f.ping },
        { run: 'warm', name: LABEL[k], color: COLOR[k], pick: (f) => f.pingWarm },
      ];
      if (k === 'tvs' && got.some((f) => f.pingVariant)) {
        variants.push({ run: 'cold', name: variantName(o.variantArgs), color: VARIANT_COLOR, pick: (f) => f.pingVariant });
        variants.push({ run: 'warm', name: variantName(o.variantArgs), color: VARIANT_COLOR, pick: (f) => f.pingVariantWarm });
      }
      for (const v of variants) {
        const runs = got.map(v.pick).filter((x): x is PingFigures => x !== undefined);
        if (!runs.length) continue;
        out.push({
          scenario: s,
          run: v.run,
          name: v.name,
          color: v.color,
          reps: runs.map((r) => ({ avg: r.avgMs * 1e3, p50: r.p50Ms * 1e3, p99: r.p99Ms * 1e3, max: r.maxMs * 1e3, cpuPct: r.cpuPct, idleCpuPct: r.idleCpuPct })),
          samples: runs.flatMap((r) => r.rttUs),
        });
      }
    }
  }
  return out;
}

/** What the variant row is and why it is there (compare.md). */
function variantProse(args: string[]): string {
  if (!args.length) return '';
  const name = `\`${variantName(args)}\``;
  const sleeping = args.join(' ') === DEFAULT_VARIANT.join(' ');
  return ` tvs is measured twice: with its defaults, then restarted as ${name} (TVS_BENCH_VARIANT), both judged against the goal.${
    sleeping
      ? ' By default tvs wakes up just before the next frame of periodic traffic (wake-ahead, `--wake-ahead-us 200`), and ping 2 ms apart is exactly periodic, so the default\'s figure is its best case; `--wake-ahead-us 0` is the sleeping switch, woken by each frame: its figure is the one irregular traffic gets.'
      : ''
  }`;
}

function latencyMarkdown(o: CompareOptions, lat: LatencySeries[]): string[] {
  if (!lat.length) return [];
  const L: string[] = [];
  const spread = (xs: number[], d = 0) => {
    const f = xs.filter((x) => Number.isFinite(x));
    if (!f.length) return '—';
    const med = median(f);
    return f.length > 1 ? `${med.toFixed(d)} (${Math.min(...f).toFixed(d)}–${Math.max(...f).toFixed(d)})` : med.toFixed(d);
  };
  L.push(`#### Ping latency: median (min–max) of the ${o.reps} repetition(s), µs; CPU in % of a core`);
  L.push('');
  L.push(`${o.pings} echoes 2 ms apart per repetition, ping pinned to CPU 0 (the generators' core; the switches are on CPU 1: the VM-on-another-core case, two cross-CPU wakeups per echo for every switch), twice: **cold**, the first echoes through the freshly started switch (tvs still runs its datapath unoptimised: V8 compiles the hot functions after some hundreds of frames), and **warm**, the same after ${WARM_PINGS} more echoes 1 ms apart (the steady state; every switch gets the same). The latency goal is judged on warm.${variantProse(o.variantArgs)} CPU during the run and over the ${IDLE_SECONDS} s of no traffic right after it (/proc/PID/stat, 10 ms ticks: one tick is 0.2%). Histogram of every RTT: [latency-hist.svg](latency-hist.svg).`);
  L.push('');
  L.push('| scenario | switch | run | p50 | p99 | max | average | CPU during | CPU idle after |');
  L.push('|---|---|---|---:|---:|---:|---:|---:|---:|');
  for (const x of lat) {
    const col = (k: keyof LatencySeries['reps'][number], d = 0) => spread(x.reps.map((r) => r[k]), d);
    L.push(`| ${SCEN[x.scenario].split(' (')[0]} | ${x.name} | ${x.run} | ${col('p50')} | ${col('p99')} | ${col('max')} | ${col('avg')} | ${col('cpuPct', 1)} | ${col('idleCpuPct', 1)} |`);
  }
  L.push('');
  return L;
}

function markdown(meta: Record<string, unknown>, o: CompareOptions, m: Medians, v: Verdict[], busy: { before: unknown; warnings: string[] }, errors: Pass[], lat: LatencySeries[] = []): string {
  const L: string[] = [];
  const sw = o.switches;
  L.push(`Measured ${String(meta.date).slice(0, 16).replace('T', ' ')} UTC on ${meta.cpu} ×${meta.cores}, ${meta.memGiB} GiB, Linux ${meta.kernel}, Node ${meta.node}; ${meta.ovs}; ${meta.trafgen}; iperf3 ${meta.iperf3}.`);
  L.push(`Medians of ${o.reps} alternating repetition(s), ${o.seconds} s per measurement, ${o.pings} pings at 2 ms. ${o.maxGen === 'trafgen' ? 'The generator maxima (64 B and 1500 B) are trafgen\'s (TX ring, \`--cpus 1\`: CPU 0); the fixed rate and every zero-loss trial are paced by pacegen (bench/tools/pacegen.c, CPU 0)' : 'Every UDP figure is pacegen\'s (bench/tools/pacegen.c, CPU 0): the generator maxima (64 B and 1500 B) free-running, 32 frames per sendmmsg; the fixed rate and every zero-loss trial paced'}: a constant rate on an absolute-time schedule, at most 8 frames per ≥ 10 µs tick (trafgen's \`--rate\` sends its per-second budget in bursts at its maximum). Every UDP trial follows ${WARMUP.frames} uncounted learning frames (RFC 2544 §23) and ${WARMUP.settleMs} ms of quiet. ovs-vswitchd and tvs pinned to CPU ${'1'}; the Linux bridge runs in softirq wherever the kernel puts it. ${o.sink ? 'The receiver drops the UDP load at its netdev ingress hook (nft), after the veth counted it.' : 'The receiver\'s UDP stack handles the load (port unreachable).'}`);
  if (busy.warnings.length) L.push(`\n**Warning:** ${busy.warnings.join('; ')}.`);
  L.push('');
  for (const s of o.scenarios) {
    if (!m[s]) continue;
    L.push(`#### ${SCEN[s]}`);
    L.push('');
    L.push(`| metric | ${sw.map((k) => LABEL[k]).join(' | ')} |${sw.includes('ovs') && sw.includes('tvs') ? ' tvs ÷ OVS |' : ''}`);
    L.push(`|---|${sw.map(() => '---:').join('|')}|${sw.includes('ovs') && sw.includes('tvs') ? '---:|' : ''}`);
    for (const r of [...ROWS, ...(o.variantArgs.length ? variantRows(variantName(o.variantArgs)) : [])]) {
      const cells = sw.map((k) => {
        const na = notApplicable(k, s);
        if (na) return 'n/a';
        const x = m[s][k]?.[r.key];
        return x === undefined || !Number.isFinite(x) ? '—' : r.fmt(x);
      });
      if (cells.every((c) => c === 'n/a' || c === '—')) continue;
      let ratio = '';
      if (sw.includes('ovs') && sw.includes('tvs')) {
        const q = (m[s].tvs?.[r.key] ?? NaN) / (m[s].ovs?.[r.vs ?? r.key] ?? NaN);
        ratio = ` ${Number.isFinite(q) ? q.toFixed(2) + '×' : ''} |`;
      }
      L.push(`| ${r.label} | ${cells.join(' | ')} |${ratio}`);
    }
    L.push('');
  }
  L.push('¹ OVS with `other_config:userspace-tso-enable=true` set before ovs-vswitchd starts; tvs carries TSO frames with the virtio-net header; the Linux bridge forwards GSO skbs natively.');
  L.push('n/a: the Linux bridge has no VLAN filtering on this kernel. "—": no figure (in-kernel switches have no process to charge CPU/RSS to).');
  if (o.scenarios.includes('nat') && sw.includes('ovs')) {
    L.push('Routed + NAT on OVS: the router as OpenFlow flows (bench/compare/ovs-router-flows.ts, OVN\'s router pipeline in miniature): ARP answered for the gateway addresses and the floating IP, conntrack NAT in one zone (`ct(zone=1,nat)` on every packet, `ct(commit,nat(dst=FIP→h1))` / `nat(src=h1→FIP)` for new connections), then `dec_ttl` and both MACs rewritten; the next hops\' MACs are flows where tvs learns them by ARP.');
  }
  if (o.zeroLossSteps > 0) {
    L.push(
      `Zero-loss throughput: at most ${o.zeroLossSteps} paced trials of ${o.zeroLossSeconds} s. The first asks for the rate the 64 B maximum trial offered${o.maxGen === 'trafgen' ? ' (trafgen\'s; pacegen sends what it can, so the top is the lower of the two generators\' maxima: the "search top" row)' : ' (the "search top" row)'}; while trials lose more than 0.1% the rate halves, down to a floor of ${(o.zeroLossFloorPps / 1e3).toFixed(1)} kpps, then it bisects between the highest pass and the lowest failure. 0 means even the floor lost more than 0.1% (< ${(o.zeroLossFloorPps / 1e3).toFixed(1)} kpps). Every trial is in compare.jsonl (\`zeroLossTrials\`; \`genSkippedPct\`: frames pacegen skipped because its core was taken, so it offered less than asked).`,
    );
  }
  L.push('');
  L.push(...latencyMarkdown(o, lat));
  if (v.length) {
    L.push('#### Targets (issue #6), from the L2 medians of this run');
    L.push('');
    L.push('| target | tvs | reference | goal | result | met? |');
    L.push('|---|---:|---:|---|---|---|');
    for (const x of v) {
      const num = (n: number) => (Number.isFinite(n) ? (n > 1000 ? (n / 1e3).toFixed(0) + 'k' : n.toFixed(n < 10 ? 3 : 2)) : 'n/a');
      L.push(`| ${x.target} | ${num(x.tvs)} | ${num(x.reference)} | ${x.goal} | ${x.margin} | ${x.met ? '**yes**' : '**no**'} |`);
    }
    L.push('');
  }
  if (errors.length) {
    L.push('Failed passes (excluded from the medians):');
    for (const e of errors) L.push(`- rep ${e.rep + 1}, ${e.scenario}, ${e.switch}: ${e.error}`);
    L.push('');
  }
  L.push(`Charts: [packets per second](pps.svg) · [CPU per packet](cpu.svg) · [latency](latency.svg) · [latency histogram](latency-hist.svg) · [TCP](tcp.svg)${o.zeroLossSteps > 0 ? ' · [zero-loss throughput](zeroloss.svg)' : ''}`);
  return L.join('\n') + '\n';
}

function charts(o: CompareOptions, m: Medians, lat: LatencySeries[] = []): Record<string, string> {
  const sw = o.switches;
  const series = sw.map((k) => ({ name: SHORT[k], color: COLOR[k] }));
  const get = (s: Scenario, k: SwitchKind, key: string, scale = 1) => (notApplicable(k, s) ? NaN : (m[s]?.[k]?.[key] ?? NaN) / scale);
  const scen = o.scenarios.filter((s) => m[s]);
  const groups: string[] = [];
  const vals: number[][] = [];
  const offered: number[][] = [];
  for (const s of scen) {
    for (const [size, key] of [['64 B', 'udp64'], ['1500 B', 'udp1500']] as const) {
      groups.push(`${SCEN[s].split(' ')[0]} ${size}`);
      vals.push(sw.map((k) => get(s, k, `${key}.deliveredPps`, 1e3)));
      offered.push(sw.map((k) => get(s, k, `${key}.offeredPps`, 1e3)));
    }
  }
  const pps = barChartSvg({
    title: `UDP delivered at the generator maximum (${o.maxGen}, one core)`,
    unit: 'kpps',
    groups,
    series,
    values: vals,
    behind: offered,
    behindLabel: 'offered',
    note: `Solid: delivered at h2. Light: offered by ${o.maxGen} (what h1 sent). Medians.`,
  });
  const cg: string[] = [];
  const cv: number[][] = [];
  for (const s of scen) {
    cg.push(`${SCEN[s].split(' ')[0]} 64 B max`);
    cv.push(sw.map((k) => get(s, k, 'udp64.cpuUsPerPacket')));
    cg.push(`${SCEN[s].split(' ')[0]} ${o.fixedRatePps / 1e3}k pps`);
    cv.push(sw.map((k) => get(s, k, 'udp64Fixed.cpuUsPerPacket')));
  }
  const cpu = barChartSvg({
    title: 'Switch process CPU per delivered packet (user + system, /proc/PID/stat)',
    unit: 'µs / packet',
    groups: cg,
    series,
    values: cv,
    note: 'Includes kernel work charged to the switch (veth transmit runs the receiver’s stack). Linux bridge: no process (n/a).',
  });
  const lg: string[] = [];
  const lv: number[][] = [];
  // tvs's variant (the second ping pass) as one more series beside the switches.
  const withVariant = sw.includes('tvs') && scen.some((s) => m[s]?.tvs?.['variant.pingAvgMs'] !== undefined);
  const lseries = withVariant ? [...series, { name: variantName(o.variantArgs), color: VARIANT_COLOR }] : series;
  for (const s of scen) {
    for (const [run, pre, vpre] of [['cold', '', 'variant.'], ['warm', 'warm.', 'variantWarm.']] as const) {
      for (const [stat, key] of [['avg', 'pingAvgMs'], ['p99', 'pingP99Ms']] as const) {
        lg.push(`${SCEN[s].split(' ')[0]} ${stat} ${run}`);
        lv.push([...sw.map((k) => get(s, k, `${pre}${key}`) * 1e3), ...(withVariant ? [get(s, 'tvs', `${vpre}${key}`) * 1e3] : [])]);
      }
    }
  }
  const latency = barChartSvg({ title: `ping RTT h1 → h2 (${o.pings} pings, 2 ms interval), cold and after ${WARM_PINGS} echoes`, unit: 'µs', groups: lg, series: lseries, values: lv, decimals: 0 });
  const tg: string[] = [];
  const tv: number[][] = [];
  for (const s of scen) {
    tg.push(`${SCEN[s].split(' ')[0]} offl. off`);
    tv.push(sw.map((k) => get(s, k, 'tcpOffGbps')));
    tg.push(`${SCEN[s].split(' ')[0]} offl. on`);
    tv.push(sw.map((k) => get(s, k, 'tcpOnGbps')));
  }
  const tcp = barChartSvg({ title: 'iperf3 TCP, one stream', unit: 'Gbit/s', groups: tg, series, values: tv, note: 'Offloads on: OVS with userspace-tso-enable=true.' });
  const charts: Record<string, string> = { 'pps.svg': pps, 'cpu.svg': cpu, 'latency.svg': latency, 'tcp.svg': tcp };
  if (lat.length) {
    charts['latency-hist.svg'] = histogramSvg({
      title: `ping RTT h1 → h2, every echo of every repetition (${o.pings} × ${o.reps}, 2 ms apart), cold and warm`,
      panels: scen.flatMap((s) =>
        (['warm', 'cold'] as const).map((run) => ({
          name: `${SCEN[s]}, ${run === 'warm' ? `warm (after ${WARM_PINGS} echoes; the goal)` : 'cold (first echoes after start)'}`,
          series: lat.filter((x) => x.scenario === s && x.run === run).map((x) => ({ name: x.name, color: x.color, samples: x.samples })),
        })),
      ).filter((p) => p.series.length > 0),
      lo: 5,
      hi: 20_000,
      perDecade: 10,
      note: 'Share of echoes per bin (log-spaced, 10 per decade). Dashed: p50; dotted: p99. Slower than 20 ms counts in the last bin.',
    });
  }
  if (o.zeroLossSteps > 0) {
    const zg: string[] = [];
    const zv: number[][] = [];
    const zmax: number[][] = [];
    for (const s of scen) {
      zg.push(`${SCEN[s].split(' ')[0]} 64 B`);
      zv.push(sw.map((k) => get(s, k, 'zeroLossPps', 1e3)));
      zmax.push(sw.map((k) => get(s, k, 'udp64.deliveredPps', 1e3)));
    }
    charts['zeroloss.svg'] = barChartSvg({
      title: 'Zero-loss throughput, 64 B UDP (≤ 0.1% loss, paced trials: pacegen)',
      unit: 'kpps',
      groups: zg,
      series,
      values: zv,
      behind: zmax,
      behindLabel: 'delivered at the generator maximum',
      note: `Solid: highest paced rate with ≤ 0.1% loss (≤ ${o.zeroLossSteps} trials of ${o.zeroLossSeconds} s, floor ${(o.zeroLossFloorPps / 1e3).toFixed(1)} kpps). Light: delivered at the generator maximum (${o.maxGen}). Medians.`,
    });
  }
  return charts;
}

// ---------------------------------------------------------------- run

export async function runCompare(o: CompareOptions = optionsFromEnv(), log: (s: string) => void = (s) => console.log(s)): Promise<{ medians: Medians; verdicts: Verdict[]; markdown: string }> {
  for (const c of [...(o.maxGen === 'trafgen' ? ['trafgen'] : []), 'iperf3', 'ethtool', 'ping']) if (!haveCmd(c)) throw new Error(`compare: ${c} missing (make bench installs it)`);
  if (!fs.existsSync(PACEGEN)) throw new Error(`compare: ${PACEGEN} missing (make build builds it)`);
  let switches = o.switches;
  if (switches.includes('ovs') && !haveCmd('ovs-vswitchd')) {
    log('compare: ovs-vswitchd missing, OVS skipped (make bench installs openvswitch-switch)');
    switches = switches.filter((k) => k !== 'ovs');
  }
  if (o.scenarios.includes('nat') && switches.includes('linux') && !haveCmd('nft')) log('compare: nft missing, the kernel NAT router will fail');
  o = { ...o, switches };
  const meta = machineMeta();
  const before = await busyCheck();
  const warnings: string[] = [];
  if (before.warning) {
    warnings.push(`before start: ${before.warning}`);
    log(`WARNING ${before.warning}`);
  }
  log(`compare: ${o.reps} rep(s) × ${o.scenarios.join(',')} × ${switches.join(',')}, ${o.seconds} s per measurement (load ${before.load1}, ${before.idlePct}% idle)`);

  // Plan every pass first (for progress/ETA); within a repetition the switch order rotates.
  const plan: Pass[] = [];
  for (let rep = 0; rep < o.reps; rep++) {
    const order = switches.map((_, i) => switches[(i + rep) % switches.length]);
    for (const scenario of o.scenarios) {
      order.forEach((k, i) => {
        if (!notApplicable(k, scenario)) plan.push({ rep, scenario, switch: k, order: i });
      });
    }
  }
  const passes: Pass[] = [];
  const t0 = Date.now();
  let current: { lab: Lab; sw: SwitchUnderTest } | undefined;
  const onSignal = () => {
    // Interrupted: leave nothing behind, then exit.
    if (current) {
      const { lab, sw } = current;
      sw.teardown().finally(() => {
        lab.destroy();
        process.exit(130);
      });
    } else process.exit(130);
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  try {
    for (let i = 0; i < plan.length; i++) {
      const p = plan[i];
      const done = Date.now() - t0;
      const eta = i ? Math.round(((done / i) * (plan.length - i)) / 1000) : undefined;
      const head = `[${i + 1}/${plan.length}] rep ${p.rep + 1} ${p.scenario} ${p.switch}`;
      log(`${head}${eta !== undefined ? ` (about ${Math.floor(eta / 60)}m${String(eta % 60).padStart(2, '0')}s left)` : ''}`);
      const lab = new Lab(p.scenario);
      const sw = makeSwitch(p.switch, lab);
      current = { lab, sw };
      try {
        lab.create();
        await sw.setup();
        p.figures = await measurePass(lab, sw, {
          seconds: o.seconds,
          fixedRatePps: o.fixedRatePps,
          pings: o.pings,
          sink: o.sink,
          zeroLossSteps: o.zeroLossSteps,
          zeroLossSeconds: o.zeroLossSeconds,
          zeroLossFloorPps: o.zeroLossFloorPps,
          maxGen: o.maxGen,
          zeroLossOnly: o.zeroLossOnly,
          variantArgs: o.variantArgs,
          progress: (m) => process.stdout.write(`    ${m}\n`),
        });
        p.tcpOnLabel = sw.tcpOnLabel;
        const f = p.figures;
        log(
          `    → 64 B ${(f.udp64.deliveredPps / 1e3).toFixed(0)}/${(f.udp64.offeredPps / 1e3).toFixed(0)} kpps` +
            `, 1500 B ${(f.udp1500.deliveredPps / 1e3).toFixed(0)} kpps, TCP ${f.tcpOffGbps.toFixed(2)}/${f.tcpOnGbps.toFixed(2)} Gbit/s` +
            `, ping avg/p99 cold ${(f.pingAvgMs * 1e3).toFixed(0)}/${(f.pingP99Ms * 1e3).toFixed(0)} µs, warm ${(f.pingWarm.avgMs * 1e3).toFixed(0)}/${(f.pingWarm.p99Ms * 1e3).toFixed(0)} µs, idle CPU ${f.ping.idleCpuPct.toFixed(1)}%` +
            (f.pingVariant ? `, ${variantName(f.pingVariant.args)} cold ${(f.pingVariant.avgMs * 1e3).toFixed(0)}/${(f.pingVariant.p99Ms * 1e3).toFixed(0)} µs` + (f.pingVariantWarm ? `, warm ${(f.pingVariantWarm.avgMs * 1e3).toFixed(0)}/${(f.pingVariantWarm.p99Ms * 1e3).toFixed(0)} µs` : '') + ` (idle CPU ${f.pingVariant.idleCpuPct.toFixed(1)}%)` : '') +
            (f.zeroLoss ? `, zero-loss ${(f.zeroLoss.pps / 1e3).toFixed(0)} kpps` : '') +
            (Number.isFinite(f.udp64.cpuUsPerPacket) ? `, CPU ${f.udp64.cpuUsPerPacket.toFixed(2)} µs/pkt, RSS ${f.rssMiB.toFixed(0)} MiB` : ''),
        );
      } catch (e) {
        p.error = (e as Error).message.split('\n')[0].slice(0, 300);
        log(`    FAILED: ${p.error}`);
      } finally {
        await sw.teardown().catch((e) => log(`    teardown: ${(e as Error).message}`));
        lab.destroy();
        current = undefined;
      }
      passes.push(p);
    }
  } finally {
    process.removeListener('SIGINT', onSignal);
    process.removeListener('SIGTERM', onSignal);
  }
  const after = await busyCheck(2000);
  // The load average still holds our own run; idle CPU right after it shows another user's load.
  if (after.idlePct < 85) warnings.push(`after the run: only ${after.idlePct.toFixed(0)}% idle over 2 s (another user's load)`);

  const medians: Medians = {};
  for (const s of o.scenarios) {
    for (const k of switches) {
      const got = passes.filter((p) => p.scenario === s && p.switch === k && p.figures).map((p) => flat(p.figures!));
      if (!got.length) continue;
      (medians[s] ??= {})[k] = Object.fromEntries(Object.keys(got[0]).map((key) => [key, median(got.map((g) => g[key]))]));
    }
  }
  const v = verdicts(medians, variantName(o.variantArgs));
  const errors = passes.filter((p) => p.error);
  const lat = latencySeries(o, passes);
  const md = markdown(meta, o, medians, v, { before, warnings }, errors, lat);

  fs.mkdirSync(o.outDir, { recursive: true });
  const lines: unknown[] = [{ type: 'meta', ...meta, options: o, busyBefore: before, busyAfter: after, warnings }];
  for (const p of passes) lines.push({ type: 'pass', rep: p.rep + 1, scenario: p.scenario, switch: p.switch, order: p.order, tcpOnLabel: p.tcpOnLabel, error: p.error, ...(p.figures ? flat(p.figures) : {}), zeroLossTrials: p.figures?.zeroLoss?.trials, pingRttUs: p.figures?.ping.rttUs, warmPingRttUs: p.figures?.pingWarm?.rttUs, variant: p.figures?.pingVariant?.args.join(' '), variantPingRttUs: p.figures?.pingVariant?.rttUs, variantWarmPingRttUs: p.figures?.pingVariantWarm?.rttUs });
  for (const [s, bySw] of Object.entries(medians)) for (const [k, fig] of Object.entries(bySw)) lines.push({ type: 'median', scenario: s, switch: k, ...fig });
  for (const x of v) lines.push({ type: 'target', ...x });
  fs.writeFileSync(path.join(o.outDir, 'compare.jsonl'), lines.map((l) => JSON.stringify(l, (_k, val) => (typeof val === 'number' && !Number.isFinite(val) ? null : val))).join('\n') + '\n');
  fs.writeFileSync(path.join(o.outDir, 'compare.md'), md);
  for (const [name, svg] of Object.entries(charts(o, medians, lat))) fs.writeFileSync(path.join(o.outDir, name), svg);
  log(`compare: results in ${path.relative(process.cwd(), o.outDir) || '.'}/compare.{jsonl,md} and pps/cpu/latency/tcp.svg (${((Date.now() - t0) / 60000).toFixed(1)} min)`);
  for (const x of v) log(`target: ${x.target}: ${x.margin} — ${x.met ? 'met' : 'NOT met'}`);
  return { medians, verdicts: v, markdown: md };
}

if (require.main === module) {
  if (process.getuid?.() !== 0) {
    console.error('compare: needs root (namespaces, veth, AF_PACKET generators)');
    process.exit(1);
  }
  runCompare()
    .then((r) => console.log('\n' + r.markdown))
    .catch((e) => {
      console.error(e);
      process.exit(1);
    });
}
