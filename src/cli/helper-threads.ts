/**
 * The switch process's helper threads (V8's compiler and GC workers, libuv's pool, Node's
 * inspector/signal threads) run at a lower CPU priority than the main thread, which runs the
 * datapath.
 *
 * Why: a switch pinned to one core (as the benchmarks and many deployments pin it) shares that
 * core with its own helpers. When the datapath's hot functions are optimised (TurboFan tiers a
 * function up seconds into traffic, each compile 1-26 ms of a worker's time) or a GC job runs,
 * the main thread wakes a V8 worker, and once the scheduler gives the core to the worker it keeps
 * it for a whole slice: a received frame waits in the ring 1.5-6 ms (perf sched: the main thread
 * switched out in state R, the worker on the CPU until the next tick).
 *
 * A nice value is not enough for that. Under EEVDF (Linux 6.6+) a lower weight makes a thread's
 * turns rarer, not shorter: a nice-19 worker is still given the core (right after the main thread
 * wakes it, or at a tick) and then keeps it for the rest of its slice, up to a tick (4 ms at
 * HZ=250). Measured (L2 ping, switch on CPU 1, pinger on CPU 0, perf sched): the main thread was
 * taken off the CPU by its own helpers 26-34 times per 1,500 echoes, 5-6 of them for 0.5-6 ms,
 * and the ping max was 2-5 ms in every 500-echo run. So helpers are also put in SCHED_IDLE (the
 * addon's setThreadIdle; Node has no API for it): a SCHED_IDLE thread never preempts a normal
 * one when it wakes, and is preempted at once when the main thread wakes for a frame (the
 * kernel's check_preempt_wakeup_fair); with the same runs, 0-2 such preemptions, none over
 * 0.2 ms. It still gets a share of a busy core (weight 3 against 1,024), so compiles and GC
 * finish under full load, more slowly. The nice value stays set as well: it is what remains
 * where the kernel refuses SCHED_IDLE.
 *
 * Linux keeps the nice value and the policy per thread: setpriority(PRIO_PROCESS, tid) (what
 * os.setPriority(tid) calls) and sched_setscheduler(tid) change one thread. Lowering either needs
 * no privilege. libuv's pool is created on first use (a DNS lookup, a file read), so check() is
 * called again from the housekeeping tick and lowers threads it has not seen. Failures are
 * reported once and never stop the switch.
 */
import * as fs from 'fs';
import * as os from 'os';

/** Nice value given to helper threads by default (the lowest CPU share CFS has). */
export const DEFAULT_HELPER_NICE = 19;

/**
 * Scheduling policy helpers get besides their nice value (see above). 'auto': SCHED_IDLE while
 * the datapath is calm, back to SCHED_OTHER (nice value only) while it is saturated
 * (setSaturated, from the Switch's 'saturation' event), so a calm switch has the short latency
 * tail of 'idle' and a saturated one still re-optimises as with 'normal'. Leaving SCHED_IDLE
 * needs CAP_SYS_NICE or an RLIMIT_NICE allowing the nice value (canLeaveIdle).
 *
 * Why it matters on the firewall path: a branch a hot function first takes late in the
 * process's life (measured: the pass cache first recording a pass that commits a connection,
 * 10 s into the run, at the second connection of a ping run) deoptimises it, and ~85 echoes
 * later V8 queues its re-optimisation; the woken nice-19 compiler thread, placed by EEVDF with
 * the lag it kept while it slept, took the core from the runnable main thread for 3.3-4.1 ms
 * (perf: main switched out in state R from pthread_cond_signal in QueueForOptimization, the
 * compiler thread on the CPU until it slept): one echo of each such run waited that long.
 */
export type HelperSched = 'idle' | 'normal' | 'auto';
/**
 * 'auto' by default. Plain 'idle' gives a SCHED_IDLE helper almost nothing of a core whose main
 * thread never sleeps, so a switch saturated by traffic cannot re-optimise code that
 * deoptimised (a new traffic mix). Measured (firewall path, 3,000 ICMP echoes, then 64 B UDP at
 * the generator's maximum for 5 s, two runs each): SCHED_IDLE 26-27% loss at 2.40 us per packet,
 * nice 19 alone 5.4% at 1.91 us. 'auto' against 'normal' (2026-11-30, quiet, alternating): loss
 * at the maximum the same (firewall 2.9 / 4.3% vs 3.1 / 5.0%, routed 3.8 / 2.8% vs 3.3 / 3.6%);
 * the firewall's cold ping p99 240-256 us vs 530-1,230; the ~4 ms stall near echo 85 of the warm
 * firewall run in 1 run of 3 vs 3 of 3.
 */
export const DEFAULT_HELPER_SCHED: HelperSched = 'auto';

/**
 * 'auto': the nice value helpers run at while the datapath is saturated, by default the switch's
 * own priority (0; `--helper-nice-saturated`). Why: a saturated datapath thread never sleeps, so
 * a helper at nice 19 gets 1.5% of the core (weight 15 against 1,024), and what it has to do then
 * is what the datapath waits for. On a fresh switch's first load at the generator's maximum V8
 * recompiles the forwarding code (functions whose optimized code the user's first ports, bridges
 * and router invalidated, and ones first hot then): on the routed path at nice 19 those compiles
 * took 0.2-1.3 s of wall time each for 50-60 ms of CPU (--trace-opt: routeIpv4 1,342 ms,
 * runIngress 1,139, drain 1,018), and the path ran unoptimized meanwhile, allocating the numbers
 * it boxes (a scavenge every 70-170 ms, bench/results/README.md "The switch's own stalls under
 * load"). At nice 0 a compile takes about twice its CPU time. GC helpers likewise: a parallel
 * scavenge waits for the work items a starved helper took. While calm, helpers are back at the
 * nice value and in SCHED_IDLE. Raising a thread's priority needs CAP_SYS_NICE or an RLIMIT_NICE
 * of at least 20 - N (canLeaveIdle(N)); without it helpers keep the nice value.
 */
export const DEFAULT_HELPER_SATURATED_NICE = 0;

/** Sets one thread's policy to SCHED_IDLE: 0 or -errno (the addon's setThreadIdle). */
export type SetThreadIdle = (tid: number) => number;
/** Puts one thread back in SCHED_OTHER (nice value kept): 0 or -errno (the addon's setThreadNormal). */
export type SetThreadNormal = (tid: number) => number;

/** CAP_SYS_NICE's bit in /proc/self/status CapEff. */
const CAP_SYS_NICE = 23;

/**
 * Whether this process may put a thread back from SCHED_IDLE at nice `nice` (sched(7)):
 * CAP_SYS_NICE in its effective set, or an RLIMIT_NICE soft limit of at least 20 - nice.
 * `status` and `limits` are /proc/self/status and /proc/self/limits (read when not given).
 */
export function canLeaveIdle(nice: number, status?: string, limits?: string): boolean {
  try {
    const st = status ?? fs.readFileSync('/proc/self/status', 'utf8');
    const cap = /^CapEff:\s*([0-9a-f]+)/m.exec(st);
    if (cap && ((BigInt('0x' + cap[1]) >> BigInt(CAP_SYS_NICE)) & 1n) !== 0n) return true;
    const lim = limits ?? fs.readFileSync('/proc/self/limits', 'utf8');
    const m = /^Max nice priority\s+(\S+)/m.exec(lim);
    if (!m) return false;
    return m[1] === 'unlimited' || Number(m[1]) >= 20 - nice;
  } catch {
    return false;
  }
}
/** Puts one thread's scheduler slice back to the kernel's default: 0 or -errno. */
export type ResetThreadSlice = (tid: number) => number;

const ESRCH = os.constants.errno.ESRCH;

export interface HelperThreadsState {
  /** Nice value helpers are given; 0 = left as they are (the feature is off). */
  nice: number;
  /** 'idle': helpers are also put in SCHED_IDLE; 'normal': only their nice value changes; 'auto': SCHED_IDLE while calm. */
  sched: HelperSched;
  /** 'auto': the datapath is saturated now, helpers are in SCHED_OTHER meanwhile. */
  saturated?: boolean;
  /** 'auto': times helpers were moved between SCHED_IDLE and SCHED_OTHER (both ways). */
  switches?: number;
  /** 'auto': the nice value of helpers while the datapath is saturated. */
  saturatedNice?: number;
  /** Helper threads lowered so far (over the process's life). */
  lowered: number;
  /** Helper threads put in SCHED_IDLE so far (over the process's life). */
  idle: number;
  /** Helper threads that could not be lowered (nice value or policy refused). */
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
   * @param nice 1..19 to lower helpers to that nice value; 0 to leave them alone (policy too).
   * @param report called when new threads were lowered or one failed (a log line).
   * @param setIdle puts a thread in SCHED_IDLE; null: helpers keep the normal policy (only the
   *   nice value changes), as without the addon.
   * @param resetSlice puts a thread's scheduler slice back to the kernel's default: threads
   *   inherit the datapath thread's short slice (datapath-slice.ts) when it creates them; null:
   *   the datapath thread kept the default, nothing to undo.
   * @param setNormal with setIdle: 'auto' (see HelperSched), helpers go back to SCHED_OTHER
   *   while setSaturated(true); null: they stay in SCHED_IDLE ('idle').
   * @param saturatedNice 'auto': the nice value helpers run at while saturated (default `nice`:
   *   unchanged; DEFAULT_HELPER_SATURATED_NICE says why the daemon gives them 0).
   */
  constructor(
    nice: number,
    private readonly report: (msg: string, fields: Record<string, unknown>, failed: boolean) => void,
    private readonly taskDir = '/proc/self/task',
    private readonly mainTid = process.pid,
    private readonly setIdle: SetThreadIdle | null = null,
    private readonly resetSlice: ResetThreadSlice | null = null,
    private readonly setNormal: SetThreadNormal | null = null,
    private readonly saturatedNice: number = nice,
  ) {
    if (!Number.isInteger(nice) || nice < 0 || nice > 19) throw new RangeError(`helper nice must be 0..19, got ${nice}`);
    if (!Number.isInteger(saturatedNice) || saturatedNice < 0 || saturatedNice > 19) throw new RangeError(`helper nice while saturated must be 0..19, got ${saturatedNice}`);
    const sched: HelperSched = setIdle === null ? 'normal' : setNormal === null ? 'idle' : 'auto';
    this.state = { nice, sched, lowered: 0, idle: 0, failed: 0, threads: 0, ...(sched === 'auto' ? { saturated: false, switches: 0, saturatedNice } : {}) };
  }

  /** os.setPriority as 0 or -errno (ESRCH: the thread ended). */
  private static renice(tid: number, nice: number): number {
    try {
      os.setPriority(tid, nice);
      return 0;
    } catch (e) {
      const errno = (e as { info?: { errno?: number } }).info?.errno;
      return typeof errno === 'number' ? -Math.abs(errno) : -os.constants.errno.EPERM;
    }
  }

  /**
   * 'auto': the datapath saturated (true) or calmed down (false); moves every helper seen to
   * SCHED_OTHER at the saturated nice value, or back to the nice value and SCHED_IDLE. One or two
   * syscalls per helper per transition (the Switch reports a transition at most once per
   * SATURATION_CALM_MS of calm). Nothing in the other modes.
   */
  setSaturated(on: boolean): void {
    if (this.state.sched !== 'auto' || this.state.nice === 0 || on === this.state.saturated) return;
    this.state.saturated = on;
    this.state.switches!++;
    let failed = 0;
    let error: string | undefined;
    const renice = this.saturatedNice !== this.state.nice;
    for (const tid of this.seen) {
      // Saturated: SCHED_OTHER, then the higher priority; calm: the nice value, then SCHED_IDLE.
      let r = on ? this.setNormal!(tid) : renice ? HelperThreads.renice(tid, this.state.nice) : 0;
      let what = on ? 'SCHED_OTHER' : `nice ${this.state.nice}`;
      if (r === 0) {
        r = on ? (renice ? HelperThreads.renice(tid, this.saturatedNice) : 0) : this.setIdle!(tid);
        what = on ? `nice ${this.saturatedNice}` : 'SCHED_IDLE';
      }
      if (r !== 0 && r !== -ESRCH) {
        failed++;
        error = `${what} refused: errno ${-r}`;
      }
    }
    if (failed > 0) {
      this.state.failed += failed;
      this.state.error = error;
      this.report('helper threads policy not changed', { threads: failed, error }, true);
    }
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
    let idle = 0;
    let failed = 0;
    let error: string | undefined;
    const now = new Set<number>();
    for (const t of tids) {
      const tid = Number(t);
      if (tid === this.mainTid) continue;
      now.add(tid);
      if (this.seen.has(tid)) continue;
      try {
        os.setPriority(tid, this.state.saturated === true ? this.saturatedNice : this.state.nice);
        lowered++;
      } catch (e) {
        // ESRCH: the thread ended since the directory was read; anything else is a refusal.
        if ((e as { info?: { code?: string } }).info?.code === 'ESRCH') continue;
        failed++;
        error = (e as Error).message;
        continue;
      }
      // Best effort: a helper left with the short slice only wakes up sooner, it gets no more CPU.
      if (this.resetSlice !== null) this.resetSlice(tid);
      // 'auto' while saturated: a new helper keeps SCHED_OTHER until the datapath calms down.
      if (this.setIdle !== null && !this.state.saturated) {
        const r = this.setIdle(tid);
        if (r === 0) idle++;
        else if (r !== -ESRCH) {
          failed++;
          error = `SCHED_IDLE refused: errno ${-r}`;
        }
      }
    }
    this.seen = now;
    this.state.threads = now.size;
    this.state.lowered += lowered;
    this.state.idle += idle;
    this.state.failed += failed;
    if (error !== undefined) this.state.error = error;
    if (lowered > 0) this.report('helper threads lowered', { threads: lowered, nice: this.state.nice, sched_idle: idle }, false);
    if (failed > 0) this.report('helper threads left at normal priority', { threads: failed, error }, true);
  }
}
