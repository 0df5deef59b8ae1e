/**
 * Start-up warm-up: before the switch's own ports exist, run a bounded number of synthetic frames
 * through the datapath code on a private scratch switch, so that V8 has compiled the forwarding
 * functions before the first real frame arrives.
 *
 * Why: a freshly started switch runs its datapath in V8's interpreter until each hot function has
 * run long enough to be handed to the optimizing compiler. On L2 that was some 20 compiles spread
 * over the first ~700 frames (--trace-opt: rxBurst, parseSlot, Normal.forward, the MAC table,
 * the pipeline's runSoleNormal, drain/enqueue/flush ...), each 1-7 ms of a compiler thread on the
 * switch's one core, and the echoes at the same positions of every cold run waited 0.6-3.5 ms
 * (bench/compare L2, first 500 echoes 2 ms apart: p99 4.4x OVS's while the average was equal).
 *
 * Why a scratch switch is enough: V8 keeps its feedback (the types and branches seen) and its
 * optimized code per function, and a class's methods are the same function for every instance, so
 * frames through another Switch, Bridge, flow pipeline, MAC table and arena warm exactly the code
 * the real ones run. Nothing of the scratch switch is shared with the real one: its own arena,
 * bridge, flow tables, MAC table and in-memory ports (which put nothing on any wire), dropped when
 * the warm-up ends. What it cannot warm is the kernel-facing port code (the native receive and
 * transmit calls), which is small.
 *
 * Bounded: at most `frames` frames and about `cpuBudgetMs` of CPU, in rounds separated by a short
 * pause so the compiler threads (on the same core when the switch is pinned) finish and install
 * the code the rounds asked for.
 */
import { Switch } from './switch';
import type { SwitchPort } from './switch-port';
import type { MemoryPort } from '../io/memory-port';
import { parseFlow } from '../flow/ofctl-parse';
import { synthesizeFrame } from '../flow/trace';
import { DEFAULT_WARM_UP_FRAMES, WARM_UP_CPU_BUDGET_MS } from './warm-up-limits';

export { DEFAULT_WARM_UP_FRAMES, MAX_WARM_UP_FRAMES, WARM_UP_CPU_BUDGET_MS } from './warm-up-limits';

/** Frames per round; between rounds the warm-up pauses WARM_UP_PAUSE_MS. */
const ROUND = 250;
const WARM_UP_PAUSE_MS = 2;

export interface WarmUpOptions {
  frames?: number;
  cpuBudgetMs?: number;
  /** Pause between rounds (tests pass an immediate one). */
  pause?: () => Promise<void>;
}

export interface WarmUpReport {
  /** Frames received on the scratch ports. */
  frames: number;
  /** Frames the scratch ports transmitted (forwarded by the scratch bridge). */
  forwarded: number;
  /** CPU time the warm-up took, ms. */
  cpuMs: number;
}

/**
 * Two hosts, a and b, on the scratch bridge's two ports. Mostly an ICMP echo exchange (what a
 * latency probe sends), with ARP, TCP, UDP and IPv6 (multicast, flooded) among them, so the
 * parser's and NORMAL's other branches have feedback too (a branch never taken before the code is
 * optimized is a deoptimization when it is).
 */
const A = 'dl_src=02:00:00:00:00:0a,dl_dst=02:00:00:00:00:0b';
const B = 'dl_src=02:00:00:00:00:0b,dl_dst=02:00:00:00:00:0a';
const V4AB = 'nw_src=10.0.0.10,nw_dst=10.0.0.11';
const V4BA = 'nw_src=10.0.0.11,nw_dst=10.0.0.10';
const FRAMES: { from: 0 | 1; match: string }[] = [
  { from: 0, match: `icmp,${A},${V4AB},icmp_type=8` },
  { from: 1, match: `icmp,${B},${V4BA},icmp_type=0` },
  { from: 0, match: `icmp,${A},${V4AB},icmp_type=8` },
  { from: 1, match: `icmp,${B},${V4BA},icmp_type=0` },
  { from: 0, match: 'arp,dl_src=02:00:00:00:00:0a,dl_dst=ff:ff:ff:ff:ff:ff,arp_op=1,arp_spa=10.0.0.10,arp_tpa=10.0.0.11,arp_sha=02:00:00:00:00:0a' },
  { from: 1, match: `arp,${B},arp_op=2,arp_spa=10.0.0.11,arp_tpa=10.0.0.10,arp_sha=02:00:00:00:00:0b,arp_tha=02:00:00:00:00:0a` },
  { from: 0, match: `tcp,${A},${V4AB},tp_src=40000,tp_dst=22` },
  { from: 1, match: `udp,${B},${V4BA},tp_src=5353,tp_dst=40001` },
  { from: 0, match: 'udp6,dl_src=02:00:00:00:00:0a,dl_dst=33:33:00:00:00:fb,tp_src=5353,tp_dst=5353' },
  { from: 1, match: `icmp6,${B},icmp_type=128` },
];

function templates(): Uint8Array[] {
  const noPorts = { resolvePort: () => -1 };
  return FRAMES.map((f) => synthesizeFrame(parseFlow(f.match, 'match', noPorts).match));
}

function cpuMs(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
}

/**
 * Run the warm-up on a scratch switch of its own (never the caller's: it takes none) and drop it.
 * Each frame is received alone and drained as a port wakeup would drain it.
 */
export async function warmUpDatapath(opts: WarmUpOptions = {}): Promise<WarmUpReport> {
  const total = opts.frames ?? DEFAULT_WARM_UP_FRAMES;
  const budget = opts.cpuBudgetMs ?? WARM_UP_CPU_BUDGET_MS;
  const pause = opts.pause ?? (() => new Promise<void>((resolve) => setTimeout(resolve, WARM_UP_PAUSE_MS)));
  const c0 = cpuMs();
  const report: WarmUpReport = { frames: 0, forwarded: 0, cpuMs: 0 };
  if (total <= 0) return report;
  const sw = new Switch({ arena: { slots: 256, largeSlots: 0 }, instance: 'warm-up' });
  sw.addBridge('warm-up');
  const ports: SwitchPort[] = [sw.addPort('warm-up', 'wa', { type: 'memory' }), sw.addPort('warm-up', 'wb', { type: 'memory' })];
  const ios = ports.map((p) => p.io as MemoryPort);
  // Count only: the scratch ports keep no copies of what they "sent".
  for (const io of ios) io.keep = 0;
  const frames = templates();
  let i = 0;
  while (i < total) {
    const end = Math.min(total, i + ROUND);
    for (; i < end; i++) {
      const k = i % FRAMES.length;
      const from = FRAMES[k].from;
      ios[from].inject(frames[k]);
      sw.drain(ports[from]);
    }
    if (cpuMs() - c0 >= budget) break;
    await pause();
  }
  report.frames = ios[0].counters.rxPackets + ios[1].counters.rxPackets;
  report.forwarded = ios[0].counters.txPackets + ios[1].counters.txPackets;
  // The scratch switch is only dropped, not stopped: it was never started (no timer, no port
  // watched), and closing its ports would write `up = false` into fields that V8 has seen only
  // as true, which throws away the optimized code that read them (drain, enqueue, rxBurst ...).
  report.cpuMs = Math.round(cpuMs() - c0);
  return report;
}
