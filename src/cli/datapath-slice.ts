/**
 * The datapath (main) thread's scheduler slice: short, so a frame's wakeup preempts whatever
 * else runs on the switch's core.
 *
 * Why: the switch sleeps in epoll between frames; when a frame arrives its core usually runs
 * something else (another process, a kernel worker, one of the switch's own helper threads).
 * Under EEVDF (Linux 6.6+) the woken thread preempts that task only if it is eligible and its
 * virtual deadline is the earliest, and even then not while the running task is inside the part
 * of its slice RUN_TO_PARITY protects: with the default slice (0.75 ms × (1 + log2 CPUs), 1.4 ms
 * on 2 CPUs) the frame may wait in the ring for the rest of the other task's slice or until the
 * next tick (4 ms at HZ=250). Linux 6.12 added per-task slices (sched_setattr's sched_runtime on
 * a SCHED_OTHER thread, 0.1-100 ms, no privilege needed): a thread with a shorter slice has an
 * earlier deadline, and when it wakes it preempts a task with a longer slice at once
 * (PREEMPT_SHORT). Its CPU share is unchanged (that is the weight, the nice value); under
 * saturation it is switched more often when something else wants the core, a few µs each.
 *
 * Measured (L2 ping, switch on CPU 1, pinger on CPU 0, 3,000 warm-up echoes, then 500 echoes
 * 2 ms apart; perf sched): the ~3 ms stall nearly every run had was the kernel's DAMON thread
 * running on the switch's core while the woken datapath thread waited; with 100 µs it preempts
 * it. Figures: bench/results/HISTORY.md, "The datapath thread slice".
 *
 * While the datapath is saturated (a receive burst came back full: frames wait in the ring; the
 * Switch's 'saturation' event) there is no wakeup to win, and a short slice only makes the
 * scheduler switch to the core's other runnable tasks more often (on a loaded machine, firewall
 * path at the generator maximum, two alternating pairs: 1.89-1.91 µs of CPU per packet against
 * 1.74-1.81 with the default slice). So the thread goes back to
 * the kernel's default slice while saturated and takes the short one again once calm
 * (SATURATION_CALM_MS without a full burst): one syscall per transition.
 *
 * Threads inherit the slice when created, so helper threads made later (libuv's pool) are put
 * back to the kernel's default when they are lowered (helper-threads.ts): only the datapath
 * thread has the short slice.
 */

/** Slice the datapath thread asks for by default, µs (the kernel's minimum). */
export const DEFAULT_DATAPATH_SLICE_US = 100;
/** The range the kernel accepts (it clamps outside it); 0 = leave the kernel's default. */
export const MIN_DATAPATH_SLICE_US = 100;
export const MAX_DATAPATH_SLICE_US = 100_000;

/** Sets a thread's slice in ns (0: the kernel's default): 0 or -errno (the addon's setThreadSlice). */
export type SetThreadSlice = (tid: number, ns: number) => number;
/** A thread's slice in ns as the kernel reports it, 0 where it has none, or -errno. */
export type GetThreadSlice = (tid: number) => number;

export interface DatapathSliceState {
  /** Slice asked for, µs (0: the kernel's default was kept). */
  requested_us: number;
  /** Slice the kernel reports for the datapath thread afterwards, µs (0: unknown). */
  slice_us: number;
  /** The kernel took the slice asked for. */
  applied: boolean;
  /** Why not, when asked and not applied. */
  error?: string;
  /** The datapath is saturated now: the thread has the kernel's default slice meanwhile. */
  saturated?: boolean;
  /** Times the datapath saturated (and the thread took the default slice for it). */
  saturations?: number;
}

/**
 * The Switch 'saturation' listener for a slice that was applied: the kernel's default while
 * saturated, `state.requested_us` again when calm. Updates `state` (saturated, saturations).
 */
export function sliceOnSaturation(state: DatapathSliceState, tid: number, set: SetThreadSlice): (on: boolean) => void {
  state.saturated = false;
  state.saturations = 0;
  return (on) => {
    if (!state.applied || on === state.saturated) return;
    set(tid, on ? 0 : state.requested_us * 1000);
    state.saturated = on;
    if (on) state.saturations!++;
  };
}

/**
 * Give thread `tid` a slice of `us` µs (0: leave the kernel's default, nothing is called) and
 * read it back: a kernel without custom slices (before 6.12) accepts the call and ignores it.
 * Never throws; `set`/`get` null (no addon) is reported as not applied.
 */
export function applyDatapathSlice(us: number, tid: number, set: SetThreadSlice | null, get: GetThreadSlice | null): DatapathSliceState {
  if (!Number.isInteger(us) || (us !== 0 && (us < MIN_DATAPATH_SLICE_US || us > MAX_DATAPATH_SLICE_US))) {
    throw new RangeError(`datapath slice must be 0 or ${MIN_DATAPATH_SLICE_US}..${MAX_DATAPATH_SLICE_US} µs, got ${us}`);
  }
  if (us === 0) return { requested_us: 0, slice_us: 0, applied: false };
  if (set === null || get === null) return { requested_us: us, slice_us: 0, applied: false, error: 'no native addon' };
  const r = set(tid, us * 1000);
  const back = get(tid);
  const sliceUs = back > 0 ? Math.round(back / 1000) : 0;
  if (r !== 0) return { requested_us: us, slice_us: sliceUs, applied: false, error: `sched_setattr refused: errno ${-r}` };
  if (back !== us * 1000) {
    return { requested_us: us, slice_us: sliceUs, applied: false, error: 'the kernel has no per-thread slices (Linux 6.12+)' };
  }
  return { requested_us: us, slice_us: sliceUs, applied: true };
}
