/**
 * Where each CPU's time went during a trial, from the kernel's own counters: /proc/stat per CPU
 * (user, system, softirq, idle …), /proc/net/softnet_stat per CPU (frames the backlog took,
 * dropped, and how often net_rx_action ran out of budget), and one thread's schedstat (on the
 * CPU, waiting on a run queue, asleep).
 *
 * Why "lost": on this kernel (TICK_CPU_ACCOUNTING, no IRQ_TIME_ACCOUNTING) the busy columns of
 * /proc/stat are counted in ticks of whoever was running, while idle comes from the clock of the
 * idle loop. A virtual CPU that the host does not run (and reports no steal for: the steal column
 * stays 0 here) gets no ticks, so its busy time goes missing: wall time minus every column is the
 * time nobody in the guest was charged for. A thread's schedstat run time, by contrast, comes
 * from the scheduler clock and includes such gaps; its utime + stime (ticks) does not.
 */
import * as fs from 'fs';

/** USER_HZ: the unit of /proc/stat and /proc/PID/stat times. */
const USER_HZ = 100;

/** /proc/stat per CPU: [user, nice, system, idle, iowait, irq, softirq, steal], in USER_HZ ticks. */
export function readCpuTimes(): number[][] {
  const out: number[][] = [];
  for (const line of fs.readFileSync('/proc/stat', 'utf8').split('\n')) {
    const m = /^cpu(\d+)\s+(.*)$/.exec(line);
    if (m) out[Number(m[1])] = m[2].trim().split(/\s+/).slice(0, 8).map(Number);
  }
  return out;
}

/** /proc/net/softnet_stat per CPU: frames processed, dropped (backlog full), time squeezes (budget ran out). */
export function readSoftnet(): { processed: number; dropped: number; squeezed: number }[] {
  try {
    return fs
      .readFileSync('/proc/net/softnet_stat', 'utf8')
      .trim()
      .split('\n')
      .map((l) => l.trim().split(/\s+/).map((h) => parseInt(h, 16)))
      .map((w) => ({ processed: w[0], dropped: w[1], squeezed: w[2] }));
  } catch {
    return [];
  }
}

/** One CPU over an interval, % of the wall time: busy in tasks (user + system), softirq + irq, idle (+ iowait), and lost (nobody charged). */
export interface CpuShare {
  userPct: number;
  sysPct: number;
  softirqPct: number;
  idlePct: number;
  lostPct: number;
}

export function cpuShares(a: number[][], b: number[][], wallSeconds: number): CpuShare[] {
  const wall = wallSeconds * USER_HZ;
  return b.map((row, i) => {
    const d = row.map((v, k) => v - (a[i]?.[k] ?? 0));
    const [user, nice, system, idle, iowait, irq, softirq, steal] = d;
    const pct = (x: number) => +((100 * x) / wall).toFixed(1);
    const sum = d.reduce((s, x) => s + x, 0);
    return { userPct: pct(user + nice), sysPct: pct(system), softirqPct: pct(softirq + irq), idlePct: pct(idle + iowait), lostPct: pct(Math.max(0, wall - sum + steal)) };
  });
}

/** A thread's scheduler counters: ns on the CPU, ns runnable but waiting, times it went to sleep (voluntary switches), times it was preempted. */
export interface ThreadClock {
  runNs: number;
  waitNs: number;
  sleeps: number;
  preempts: number;
  /** utime + stime, USER_HZ ticks (what /proc/PID/stat charges it: ticks it was seen running) */
  ticks: number;
}

export function threadClock(pid: number, tid = pid): ThreadClock | undefined {
  try {
    const [run, wait] = fs.readFileSync(`/proc/${pid}/task/${tid}/schedstat`, 'utf8').split(' ').map(Number);
    const st = fs.readFileSync(`/proc/${pid}/task/${tid}/status`, 'utf8');
    const stat = fs.readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return {
      runNs: run,
      waitNs: wait,
      sleeps: Number(/^voluntary_ctxt_switches:\s*(\d+)/m.exec(st)?.[1] ?? NaN),
      preempts: Number(/^nonvoluntary_ctxt_switches:\s*(\d+)/m.exec(st)?.[1] ?? NaN),
      ticks: Number(f[11]) + Number(f[12]),
    };
  } catch {
    return undefined;
  }
}

/** The thread over an interval of `wallSeconds`: ms on the CPU (scheduler clock), waiting, asleep (the rest), ms charged in ticks, sleeps, preemptions. */
export function threadShare(a: ThreadClock | undefined, b: ThreadClock | undefined, wallSeconds: number) {
  if (!a || !b) return undefined;
  const runMs = (b.runNs - a.runNs) / 1e6;
  const waitMs = (b.waitNs - a.waitNs) / 1e6;
  return {
    runMs: +runMs.toFixed(1),
    waitMs: +waitMs.toFixed(1),
    sleepMs: +Math.max(0, wallSeconds * 1000 - runMs - waitMs).toFixed(1),
    tickMs: ((b.ticks - a.ticks) * 1000) / USER_HZ,
    sleeps: b.sleeps - a.sleeps,
    preempts: b.preempts - a.preempts,
  };
}

/** Every process's CPU ticks (utime + stime) now, by pid, with its name. */
export function processTicks(): Map<number, { comm: string; ticks: number }> {
  const out = new Map<number, { comm: string; ticks: number }>();
  for (const d of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const s = fs.readFileSync(`/proc/${d}/stat`, 'utf8');
      const f = s.slice(s.lastIndexOf(')') + 2).split(' ');
      out.set(Number(d), { comm: s.slice(s.indexOf('(') + 1, s.lastIndexOf(')')), ticks: Number(f[11]) + Number(f[12]) });
    } catch {
      /* ended */
    }
  }
  return out;
}

/**
 * The processes that used the most CPU between two processTicks() readings (besides `skip`),
 * as "comm[pid] ms (cpus)": who else ran while the switch was measured, and where it may run
 * (a bench pinned to the switch's core shows as its CPU alone).
 */
export function topOthers(a: Map<number, { comm: string; ticks: number }>, b: Map<number, { comm: string; ticks: number }>, skip: Set<number>, n = 5): string[] {
  const rows: { pid: number; comm: string; ms: number }[] = [];
  for (const [pid, v] of b) {
    if (skip.has(pid)) continue;
    const ms = ((v.ticks - (a.get(pid)?.ticks ?? 0)) * 1000) / USER_HZ;
    if (ms > 0) rows.push({ pid, comm: v.comm, ms });
  }
  rows.sort((x, y) => y.ms - x.ms);
  return rows.slice(0, n).map((r) => {
    let cpus = '?';
    try {
      cpus = /^Cpus_allowed_list:\s*(\S+)/m.exec(fs.readFileSync(`/proc/${r.pid}/status`, 'utf8'))?.[1] ?? '?';
    } catch {
      /* ended */
    }
    return `${r.comm}[${r.pid}] ${r.ms} ms (cpus ${cpus})`;
  });
}
