/**
 * The start-up warm-up's defaults and bounds (warm-up.ts), apart from it so the command line can
 * name them without loading the datapath.
 */

/** Frames run at start by default (`tvs start --warm-up-frames N`). */
export const DEFAULT_WARM_UP_FRAMES = 3000;
/** Upper bound of --warm-up-frames. */
export const MAX_WARM_UP_FRAMES = 100_000;
/**
 * CPU the warm-up may take at most (checked between rounds of frames; the process's CPU, so the
 * compiles it sets off on V8's helper threads count).
 *
 * Why 400: at 200 the warm-up ran only 250-750 of its 3,000 frames (the first round of 250 frames
 * with the compiles it sets off took 180-250 ms of CPU on a shared 2-vCPU machine, 2026-12-01),
 * so the firewall's conntrack and executor code (runOp, probeRecirc, splitTop, parseSlot: 7-27 ms
 * compiles each, --trace-opt) was compiled at the first real frames instead. A compile job then
 * took the switch's core at a tick while its main thread was busy, and held it to the next tick
 * (1.5-4.3 ms; SCHED_IDLE helpers give way only to a main thread that wakes, not to one already
 * runnable): cold ping echoes over 2 ms with a V8 helper on the CPU, 13 in 28 cold runs (L2 and
 * firewall) at 200 against 2 at 400 (bench/compare/cold-probe.ts, perf sched, alternating). At
 * 400 the warm-up runs 1,750-3,000 frames in 310-430 ms of CPU.
 */
export const WARM_UP_CPU_BUDGET_MS = 400;
