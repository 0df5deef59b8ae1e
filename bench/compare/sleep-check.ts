/**
 * Did the switch sleep while the generator was sending? Reads a `perf sched record` of a UDP run
 * (`ab.js --perf-sched DIR`) and follows two threads through the scheduler's events: the
 * switch's datapath (main) thread — on the CPU, runnable but waiting, or asleep (switched out
 * in S/D, until its sched_waking) — and the generator (pacegen), on the CPU or not.
 *
 * Why this answers "lost wakeup or not" on a loaded machine: the generator's frames reach the
 * switch's ring in the generator's own context (pacegen's sendmmsg runs the veth's receive in
 * its softirq on CPU 0), so frames arrive only while the generator is on its CPU. A switch whose
 * wakeups work is woken by the first such frame: the generator's CPU time inside each of the
 * switch's sleeps is a few µs. A sleep that overlaps milliseconds of sending is a switch asleep
 * beside a filling ring (2,048 frames take ~1.7 ms at 1.2 Mpps): a lost wakeup. Rates and loss
 * move with whatever else runs; this overlap does not.
 *
 *   node dist/bench/compare/sleep-check.js PERF.data SWITCH_PID [GENERATOR_COMM [HELPER_TID,...]]
 * (ab.js --perf-sched runs it after each UDP run and prints the report as `where.sleep`).
 */
import { execFileSync } from 'child_process';

interface Interval {
  from: number;
  to: number;
}

export interface SleepReport {
  /** the generator's active window (first to last time it was on a CPU), s */
  windowS: number;
  genOnCpuMs: number;
  /** the switch thread in the window: on the CPU, runnable but waiting, asleep (ms) */
  runMs: number;
  waitMs: number;
  sleepMs: number;
  sleeps: number;
  /** the generator's CPU time inside the switch's sleeps: all of it, the largest in one sleep (ms) */
  genInSleepMs: number;
  maxGenInOneSleepMs: number;
  /** sleeps by the generator CPU time inside them: <= 20 µs, <= 100 µs, <= 1 ms, > 1 ms */
  byGenOverlap: [number, number, number, number];
  /** who woke the switch thread (the task on the waking CPU), count by name; the switch's own helper threads apart */
  wokenBy: Record<string, number>;
  /** the generator's CPU time while the switch thread was runnable but waiting for its CPU (ms): frames that queue in the ring meanwhile */
  genInWaitMs: number;
  /** the switch thread's waits by length: <= 100 µs, <= 1 ms, <= 4 ms, > 4 ms; the longest (ms) */
  waitsByLength: [number, number, number, number];
  maxWaitMs: number;
  /** the worst sleeps: start (s into the window), length and generator time inside (ms) */
  worst: { atS: number; sleepMs: number; genMs: number }[];
}

const LINE = /^\s*(.*?)\s+(\d+)\s+\[(\d+)\]\s+([\d.]+):\s+sched:(\w+):\s+(.*)$/;

/** The report for one `perf script` text (default fields). */
export function analyse(text: string, switchTid: number, genComm = 'pacegen', helperTids: ReadonlySet<number> = new Set()): SleepReport {
  let genTid = -1;
  const gen: Interval[] = [];
  let genOn = -1;
  const sleeps: Interval[] = [];
  const runs: Interval[] = [];
  const waits: Interval[] = [];
  let state: 'run' | 'wait' | 'sleep' | '?' = '?';
  let since = -1;
  const wokenBy: Record<string, number> = {};
  let firstTs = -1;
  let lastTs = -1;
  for (const line of text.split('\n')) {
    const m = LINE.exec(line);
    if (!m) continue;
    const [, comm, tidText, , ts, ev, rest] = m;
    const t = Number(ts);
    if (firstTs < 0) firstTs = t;
    lastTs = t;
    if (ev === 'sched_switch') {
      const prevPid = Number(/prev_pid=(\d+)/.exec(rest)?.[1]);
      const prevState = /prev_state=(\S+)/.exec(rest)?.[1] ?? '';
      const nextPid = Number(/next_pid=(\d+)/.exec(rest)?.[1]);
      const nextComm = /next_comm=(.*?) next_pid=/.exec(rest)?.[1] ?? '';
      const prevComm = /prev_comm=(.*?) prev_pid=/.exec(rest)?.[1] ?? '';
      if (genTid < 0 && nextComm === genComm) genTid = nextPid;
      if (genTid < 0 && prevComm === genComm) genTid = prevPid;
      if (nextPid === genTid) genOn = t;
      if (prevPid === genTid && genOn >= 0) {
        gen.push({ from: genOn, to: t });
        genOn = -1;
      }
      if (prevPid === switchTid) {
        if (state === 'run' && since >= 0) runs.push({ from: since, to: t });
        state = prevState.startsWith('R') ? 'wait' : 'sleep';
        since = t;
      }
      if (nextPid === switchTid) {
        if (state === 'wait' && since >= 0) waits.push({ from: since, to: t });
        state = 'run';
        since = t;
      }
    } else if (ev === 'sched_waking' || ev === 'sched_wakeup') {
      const pid = Number(/ pid=(\d+)/.exec(' ' + rest)?.[1]);
      // Woken before any event of its own in the record: asleep since the record began.
      if (pid === switchTid && state === '?') {
        state = 'sleep';
        since = firstTs;
      }
      if (pid === switchTid && state === 'sleep') {
        if (since >= 0) sleeps.push({ from: since, to: t });
        // A helper of the switch's own (V8's workers: the main thread waited for them on a futex).
        const who = helperTids.has(Number(tidText)) ? `switch helper (${comm})` : comm.replace(/\/\d+$/, '/N').replace(/-\d+$/, '');
        wokenBy[who] = (wokenBy[who] ?? 0) + 1;
        state = 'wait';
        since = t;
      }
    }
  }
  // Still asleep when the record ends (or all through it, never woken): asleep until its end.
  if (state === 'sleep' && since >= 0) sleeps.push({ from: since, to: lastTs });
  if (state === '?' && firstTs >= 0) sleeps.push({ from: firstTs, to: lastTs });
  const empty: SleepReport = { windowS: 0, genOnCpuMs: 0, runMs: 0, waitMs: 0, sleepMs: 0, sleeps: 0, genInSleepMs: 0, maxGenInOneSleepMs: 0, byGenOverlap: [0, 0, 0, 0], genInWaitMs: 0, waitsByLength: [0, 0, 0, 0], maxWaitMs: 0, wokenBy, worst: [] };
  if (gen.length === 0) return empty;
  const w0 = gen[0].from;
  const w1 = gen[gen.length - 1].to;
  const clip = (xs: Interval[]) => xs.map((x) => ({ from: Math.max(x.from, w0), to: Math.min(x.to, w1) })).filter((x) => x.to > x.from);
  const total = (xs: Interval[]) => xs.reduce((s, x) => s + (x.to - x.from), 0) * 1000;
  const inSleeps = clip(sleeps);
  const inWaits = clip(waits);
  // The generator's time inside each interval (both lists are in time order: one merge).
  const genInside = (xs: Interval[]) => {
    let g = 0;
    return xs.map((s) => {
      while (g < gen.length && gen[g].to <= s.from) g++;
      let ms = 0;
      for (let k = g; k < gen.length && gen[k].from < s.to; k++) ms += (Math.min(gen[k].to, s.to) - Math.max(gen[k].from, s.from)) * 1000;
      return ms;
    });
  };
  const overlaps = genInside(inSleeps);
  const waitBy: [number, number, number, number] = [0, 0, 0, 0];
  for (const x of inWaits) {
    const ms = (x.to - x.from) * 1000;
    waitBy[ms <= 0.1 ? 0 : ms <= 1 ? 1 : ms <= 4 ? 2 : 3]++;
  }
  const by: [number, number, number, number] = [0, 0, 0, 0];
  for (const o of overlaps) by[o <= 0.02 ? 0 : o <= 0.1 ? 1 : o <= 1 ? 2 : 3]++;
  const worst = inSleeps
    .map((s, i) => ({ atS: +(s.from - w0).toFixed(4), sleepMs: +((s.to - s.from) * 1000).toFixed(3), genMs: +overlaps[i].toFixed(3) }))
    .sort((a, b) => b.genMs - a.genMs)
    .slice(0, 5);
  const r = (x: number) => +x.toFixed(1);
  return {
    windowS: +(w1 - w0).toFixed(3),
    genOnCpuMs: r(total(gen)),
    runMs: r(total(clip(runs))),
    waitMs: r(total(clip(waits))),
    sleepMs: r(total(inSleeps)),
    sleeps: inSleeps.length,
    genInSleepMs: +overlaps.reduce((s, x) => s + x, 0).toFixed(3),
    maxGenInOneSleepMs: +Math.max(0, ...overlaps).toFixed(3),
    byGenOverlap: by,
    genInWaitMs: r(genInside(inWaits).reduce((s, x) => s + x, 0)),
    waitsByLength: waitBy,
    maxWaitMs: +(Math.max(0, ...inWaits.map((x) => x.to - x.from)) * 1000).toFixed(3),
    wokenBy,
    worst,
  };
}

function main(): void {
  const [file, pid, comm, helpers] = process.argv.slice(2);
  if (!file || !pid) {
    console.error('usage: sleep-check.js PERF.data SWITCH_PID [GENERATOR_COMM [HELPER_TID,...]]');
    process.exit(2);
  }
  console.log(JSON.stringify(sleepCheck(file, Number(pid), comm ?? 'pacegen', new Set((helpers ?? '').split(',').filter(Boolean).map(Number)))));
}

/** analyse() of a perf.data file (runs `perf script`). */
export function sleepCheck(file: string, switchTid: number, genComm = 'pacegen', helperTids: ReadonlySet<number> = new Set()): SleepReport {
  const text = execFileSync('perf', ['script', '-i', file], { encoding: 'utf8', maxBuffer: 1 << 30, stdio: ['ignore', 'pipe', 'ignore'] });
  return analyse(text, switchTid, genComm, helperTids);
}

if (require.main === module) main();
