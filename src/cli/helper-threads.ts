/**
 * The switch process's helper threads (V8's compiler and GC workers, libuv's pool, Node's
 * inspector/signal threads) run at a lower CPU priority than the main thread, which runs the
 * datapath.
 *
 * Why: a switch pinned to one core (as the benchmarks and many deployments pin it) shares that
 * core with its own helpers. When the datapath's hot functions are first optimised, or a GC job
 * runs, the main thread wakes a V8 worker and the scheduler lets the worker preempt it: for
 * 1.5–3.5 ms a received frame waits in the ring (seen with perf sched as the main thread switched
 * out in state R while a frame was in flight). At nice 19 the helpers still get a share of the
 * core (compiles and GC finish, even while the switch is 100% busy, which SCHED_IDLE would not
 * promise) but no longer take it from a runnable datapath thread.
 *
 * Linux keeps a nice value per thread: setpriority(PRIO_PROCESS, tid) changes one thread, which
 * is what os.setPriority(tid) calls. Raising a nice value needs no privilege. libuv's pool is
 * created on first use (a DNS lookup, a file read), so check() is called again from the
 * housekeeping tick and lowers threads it has not seen. Failures (a hardened kernel, a seccomp
 * policy) are reported once and never stop the switch.
 */
import * as fs from 'fs';
import * as os from 'os';

/** Nice value given to helper threads by default (the lowest CPU share CFS has). */
export const DEFAULT_HELPER_NICE = 19;

export interface HelperThreadsState {
  /** Nice value helpers are given; 0 = left as they are (the feature is off). */
  nice: number;
  /** Helper threads lowered so far (over the process's life). */
  lowered: number;
  /** Helper threads that could not be lowered. */
  failed: number;
  /** Helper threads alive at the last check. */
  threads: number;
  /** The last error, if any. */
  error?: string;
}

export class HelperThreads {
  /** Threads alive at the last check that are lowered (or were tried): a new tid is a new thread. */
  private seen = new Set<number>();
  private readonly state: HelperThreadsState;

  /**
   * @param nice 1..19 to lower helpers to that nice value; 0 to leave them alone.
   * @param report called when new threads were lowered or one failed (a log line).
   */
  constructor(
    nice: number,
    private readonly report: (msg: string, fields: Record<string, unknown>, failed: boolean) => void,
    private readonly taskDir = '/proc/self/task',
    private readonly mainTid = process.pid,
  ) {
    if (!Number.isInteger(nice) || nice < 0 || nice > 19) throw new RangeError(`helper nice must be 0..19, got ${nice}`);
    this.state = { nice, lowered: 0, failed: 0, threads: 0 };
  }

  get stats(): HelperThreadsState {
    return { ...this.state };
  }

  /** Lower every helper thread not lowered yet. Cheap when nothing changed (one read of
   * /proc/self/task, a dozen entries). */
  check(): void {
    if (this.state.nice === 0) return;
    let tids: string[];
    try {
      tids = fs.readdirSync(this.taskDir);
    } catch (e) {
      // Not Linux (no per-thread nice there), or /proc is not mounted: nothing to do, say so once.
      if (this.state.error === undefined) {
        this.state.error = (e as Error).message;
        this.report('helper threads left at normal priority', { error: this.state.error }, true);
      }
      return;
    }
    let lowered = 0;
    let failed = 0;
    let error: string | undefined;
    const now = new Set<number>();
    for (const t of tids) {
      const tid = Number(t);
      if (tid === this.mainTid) continue;
      now.add(tid);
      if (this.seen.has(tid)) continue;
      try {
        os.setPriority(tid, this.state.nice);
        lowered++;
      } catch (e) {
        // ESRCH: the thread ended since the directory was read; anything else is a refusal.
        if ((e as { info?: { code?: string } }).info?.code === 'ESRCH') continue;
        failed++;
        error = (e as Error).message;
      }
    }
    this.seen = now;
    this.state.threads = now.size;
    this.state.lowered += lowered;
    this.state.failed += failed;
    if (error !== undefined) this.state.error = error;
    if (lowered > 0) this.report('helper threads lowered', { threads: lowered, nice: this.state.nice }, false);
    if (failed > 0) this.report('helper threads left at normal priority', { threads: failed, error }, true);
  }
}
