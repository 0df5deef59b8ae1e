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
 * frames through another Switch, Bridge, flow pipeline, MAC table, conntrack, router and arena warm
 * exactly the code the real ones run. The scratch switch has one small topology per kind of
 * forwarding (warm-up-scenes.ts: NORMAL; Neutron's firewall tables with conntrack, recirculation
 * and conjunctions; a patch pair with VLAN push/pop; a router with a floating IP): with NORMAL
 * alone, a firewall switch's first ~500 echoes still ran while V8 compiled the conntrack and
 * recirculation code (--trace-opt: ct process/runCt, the executor's runPacket/runOp/probeRecirc,
 * the classifier's lookup ...; cold firewall echoes averaged 63-79 us against 50 after). Nothing
 * of the scratch switch is shared with the real one: its own arena, bridges, flow tables, MAC
 * tables, conntrack, router and ports on no device (ScratchPorts below: nothing on any wire),
 * dropped when the warm-up ends. What it cannot warm is the kernel side of the port calls (the
 * addon's AF_PACKET receive and transmit), which is C.
 *
 * Bounded: at most `frames` frames and about `cpuBudgetMs` of CPU, in rounds separated by a short
 * pause so the compiler threads (on the same core when the switch is pinned) finish and install
 * the code the rounds asked for.
 */
import { BURSTS_PER_WAKE, Switch } from './switch';
import { BURST } from '../packet/batch';
import type { IoFactory } from './io-factory';
import type { SwitchPort } from './switch-port';
import type { Port } from '../io/port';
import { MemoryPort } from '../io/memory-port';
import { AfPacketPort } from '../io/afpacket-port';
import { bindingAvailable, loadBinding, type NativeBinding } from '../io/binding';
import { addLateObjects, buildScenes, type SceneFrame } from './warm-up-scenes';
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

function cpuMs(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
}

/**
 * The scratch switch's host-facing ports. With the native addon: AfPacketPorts on the addon's
 * scratch ports (native/src/scratch.h: no device, no socket; a frame goes in by scratchInject and
 * every frame sent goes nowhere), so the warm-up runs the port code a real AF_PACKET port runs —
 * the same class, the same addon object and calls, the batch clock set by start() — and V8's
 * feedback for drain/enqueue/flushPort and the port's rxBurst/txBurst is the real ports'. With
 * in-memory ports instead, the first real frames deoptimized those ("wrong map": another class)
 * and everything inlined in them ran unoptimized again until recompiled (--trace-deopt,
 * bench/compare fw). Without the addon (a unit test's machine): in-memory ports.
 */
class ScratchPorts implements IoFactory {
  private readonly binding: NativeBinding | null;
  private readonly opened: AfPacketPort[] = [];

  constructor() {
    const b = bindingAvailable() ? loadBinding() : null;
    this.binding = b !== null && b.openScratch !== undefined && b.scratchInject !== undefined ? b : null;
  }

  open(name: string, arena: Switch['arena'], config: { type: string }): Port | null {
    if (config.type === 'patch' || config.type === 'internal') return null;
    if (config.type !== 'afpacket') throw new Error(`warm-up: no scratch port of type ${config.type}`);
    if (this.binding === null) return new MemoryPort(name, arena, { keep: 0 });
    // As the default IoFactory opens an afpacket port (offloads on, a V2 ring, the TX ring).
    const p = new AfPacketPort(name, arena, { scratch: true, vnetHdr: true, ring: 'v2', txRing: true }, this.binding);
    this.opened.push(p);
    return p;
  }

  /** Hand `copies` copies of `frame` to a port as if they had arrived. */
  inject(p: SwitchPort, frame: Uint8Array, copies = 1): void {
    const io = p.io!;
    if (io instanceof MemoryPort) for (let k = 0; k < copies; k++) io.inject(frame);
    else this.binding!.scratchInject!((io as AfPacketPort).handle, frame, copies);
  }

  /** Start the ports as the switch starts real ones (their batch clock), without polling. */
  start(sw: Switch): void {
    for (; this.started < this.opened.length; this.started++) this.opened[this.started].start(() => undefined, sw.batchClock, true);
  }
  private started = 0;

  /**
   * Close the addon's scratch ports (and their hold on the scratch arena). Only in the addon: the
   * JS port objects are left as they are, unreferenced, since closing them would write fields
   * (closed, downErrno) that real ports hold constant while they run, which V8 may have relied on.
   */
  release(): void {
    for (const p of this.opened) this.binding!.close(p.handle);
    this.opened.length = 0;
    this.started = 0;
  }
}

/** Longest the warm-up waits at its end for the optimizing compiler to finish (ms of pauses). */
const SETTLE_MAX_MS = 100;
/**
 * CPU (ms) the rounds leave of the budget for what follows the last one: the compiles it queued
 * (settle) and the round that may overshoot the check.
 */
const SETTLE_RESERVE_MS = 30;
/** CPU per pause below which the compiler threads count as idle (ms). */
const SETTLE_IDLE_CPU_MS = 0.3;

/**
 * Wait, pause after pause, until the process stops using CPU while the main thread sleeps: the
 * compile jobs the last rounds queued have then finished (process CPU counts every thread).
 * Why: a compile job still running on a helper thread when traffic starts holds up the main
 * thread at the next GC, which waits for every thread to reach a safepoint, and helper threads
 * run at the lowest priority once the daemon has started (cli/helper-threads.ts): on a core
 * something else wanted, a cold routed run's echoes waited up to 30 ms at once.
 */
async function settle(pause: () => Promise<void>): Promise<void> {
  const t0 = Date.now();
  for (;;) {
    const c = cpuMs();
    await pause();
    if (cpuMs() - c < SETTLE_IDLE_CPU_MS || Date.now() - t0 >= SETTLE_MAX_MS) return;
  }
}

/**
 * One frame of each scene in turn (each scene's own frames keep their order: a reply follows its
 * request), the longer scenes' frames continuing once the shorter ones have had theirs.
 */
function interleave(lists: SceneFrame[][]): SceneFrame[] {
  const out: SceneFrame[] = [];
  const longest = Math.max(...lists.map((l) => l.length));
  for (let k = 0; k < longest; k++) for (const l of lists) if (k < l.length) out.push(l[k]);
  return out;
}

/** Receive burst size of the saturation episode's first part (any burst that comes back full). */
const SMALL_BURST = 2;
/** Frames of the short burst that follows a full-size one in the episode. */
const SHORT = 16;

/**
 * One saturation episode, as a real switch's first load at the generator's maximum runs it, so
 * that the branches only whole bursts and saturation take have type feedback before the first
 * real frame. Each scene's bulk frames (Scene.bulk) in copies:
 * 1. enough for BURSTS_PER_WAKE full bursts of SMALL_BURST and one more, drained by a switch that
 *    counts as started: drain yields and comes back from setImmediate, where the rest is received;
 * 2. at the full burst size, a full burst (every frame of it to one port: its tx queue fills and
 *    is sent from enqueue; the per-batch memos of NORMAL and the router hit) and a short one
 *    while saturated (the calm check);
 * 3. one after the calm period (the end of the saturation).
 * Without it each of those branches was compiled as a deoptimization exit, and at the first real
 * saturation drain, and what it inlines, left optimized code just as the load peaked (drain at
 * `running` before its setImmediate, and at the calm check when the CPU budget had ended the
 * warm-up before a round reached it; NORMAL's forward at its per-batch memo of the destination,
 * which one-frame bursts never hit) and ran unoptimized until V8 recompiled it on a helper thread
 * beside the saturated datapath thread (bench/results/README.md, "Routed loss at the maximum" and
 * "The switch's own stalls under load").
 */
async function saturate(sw: Switch, io: ScratchPorts, bulk: SceneFrame[], fullBurst: number): Promise<void> {
  sw.warmUpRxBurst(SMALL_BURST);
  sw.warmUpYield(true);
  for (const f of bulk) {
    io.inject(f.port, f.frame, (BURSTS_PER_WAKE + 1) * SMALL_BURST);
    sw.drain(f.port);
  }
  // The drains those exits scheduled (setImmediate) run before this one.
  await new Promise<void>((resolve) => setImmediate(resolve));
  sw.warmUpYield(false);
  sw.warmUpRxBurst();
  for (const f of bulk) {
    io.inject(f.port, f.frame, fullBurst + SHORT);
    sw.drain(f.port);
  }
  sw.warmUpCalm();
  for (const f of bulk) {
    io.inject(f.port, f.frame);
    sw.drain(f.port);
  }
}

/** Frames saturate() runs. */
function saturationFrames(bulk: SceneFrame[], fullBurst: number): number {
  return bulk.length * ((BURSTS_PER_WAKE + 1) * SMALL_BURST + fullBurst + SHORT + 1);
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
  const io = new ScratchPorts();
  // The arena's geometry as a real switch's in kind: enough small slots for full-size receive
  // batches (the switch sizes its batch by the arena) and some large ones (the port's receive
  // offers them): a branch the warm-up never took is a deoptimization at the first real frame.
  const sw = new Switch({ arena: { slots: 1024, largeSlots: 16 }, instance: 'warm-up', io });
  const FULL_BURST = Math.min(BURST, 1024 >> 2); // Switch's receive burst for that arena
  try {
    const scenes = buildScenes(sw);
    // The daemon's OpenFlow service writes these on every bridge it serves (the same values):
    // written here too, V8 compiles Bridge.input for fields that change, not for constants
    // (--trace-generalization: failOpen const -> mutable at the user's add-br, which
    // deoptimized input).
    for (const br of sw.bridges.values()) {
      br.failMode = br.failMode;
      br.failOpen = br.failOpen;
    }
    io.start(sw);
    const order = interleave(scenes.map((s) => s.frames));
    // Frames of the scenes' own exchanges: `total` less those of the saturation episode.
    let rounds = total;
    let i = 0;
    while (i < rounds) {
      const end = Math.min(rounds, i + ROUND);
      for (; i < end; i++) {
        const f = order[i % order.length];
        io.inject(f.port, f.frame);
        sw.drain(f.port);
      }
      if (i === ROUND) {
        addLateObjects(sw);
        io.start(sw);
        // Full receive bursts, as under load, and the way out of them (Switch.warmUpRxBurst).
        const bulk = scenes.flatMap((s) => s.bulk);
        const n = saturationFrames(bulk, FULL_BURST);
        if (rounds - i >= n) {
          rounds -= n;
          await saturate(sw, io, bulk, FULL_BURST);
        }
      }
      if (cpuMs() - c0 >= budget - SETTLE_RESERVE_MS) break;
      await pause();
    }
    await settle(pause);
    for (const p of sw.allPorts()) {
      if (p.io === null) continue;
      report.frames += p.io.counters.rxPackets;
      report.forwarded += p.io.counters.txPackets;
    }
  } finally {
    io.release();
  }
  // The scratch switch is only dropped, not stopped: it was never started (no timer, no port
  // polled), and its ports are closed in the addon only (ScratchPorts.release): closing them
  // as Port objects would write fields that V8 has seen constant, which throws away optimized
  // code that read them (drain, enqueue, rxBurst ...).
  report.cpuMs = Math.round(cpuMs() - c0);
  return report;
}
