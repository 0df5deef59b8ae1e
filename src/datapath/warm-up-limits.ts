/**
 * The start-up warm-up's defaults and bounds (warm-up.ts), apart from it so the command line can
 * name them without loading the datapath.
 */

/** Frames run at start by default (`tvs start --warm-up-frames N`). */
export const DEFAULT_WARM_UP_FRAMES = 3000;
/** Upper bound of --warm-up-frames. */
export const MAX_WARM_UP_FRAMES = 100_000;
/** CPU the warm-up may take at most (checked between rounds of frames). */
export const WARM_UP_CPU_BUDGET_MS = 200;
