/**
 * The collections V8 logged in a switch's log (`--node-args '--trace-gc'`, the daemon's stderr
 * goes to LABDIR/tvs.log), for the benchmarks that ask why a trial lost frames: a pause of the
 * switch's own making (a GC) as opposed to its core being taken away.
 *
 * A `--trace-gc` line (V8 11, gc-tracer.cc):
 *   [PID:0x...]   8123 ms: Mark-Compact 6.1 (8.3) -> 5.2 (8.6) MB, 1.90 / 0.00 ms  (+ 2.1 ms in
 *   15 steps since start of marking, ...) (average mu = 0.998, current mu = 0.990) finalize
 *   incremental marking via task; GC in old space requested
 * The kind, the pause (main thread), the heap before/after and the reason (what started it) are
 * kept. With `--trace-gc-verbose` the memory reducer's own lines ("Memory reducer: started GC
 * #1") are kept as events too.
 */
import * as fs from 'fs';

export interface GcEvent {
  /** ms since the isolate started */
  atMs: number;
  /** Scavenge, Mark-Compact, Mark-Compact (reduce), Minor Mark-Compact ... or 'memory-reducer' */
  kind: string;
  /** main-thread pause, ms (0 for a memory reducer line) */
  pauseMs: number;
  /** heap MB before -> after */
  heap: string;
  /** the reason V8 gave: allocation failure, finalize incremental marking via task, memory reducer ... */
  reason: string;
}

const GC_LINE = /(\d+) ms: ((?:Minor )?(?:Scavenge|Mark-Compact|Mark-Sweep|Mark-Compact \(reduce\))(?: \(reduce\))?) ([\d.]+ \([\d.]+\) -> [\d.]+ \([\d.]+\)) MB, ([\d.]+) \/ [\d.]+ ms(.*)$/;
const REDUCER_LINE = /(\d+) ms: Memory reducer: (.*)$/;

export function parseGcLog(text: string): GcEvent[] {
  const out: GcEvent[] = [];
  for (const line of text.split('\n')) {
    const m = GC_LINE.exec(line);
    if (m) {
      const tail = m[5];
      const mu = tail.lastIndexOf('current mu = ');
      const close = mu >= 0 ? tail.indexOf(')', mu) : -1;
      out.push({ atMs: Number(m[1]), kind: m[2], pauseMs: Number(m[4]), heap: m[3], reason: (close >= 0 ? tail.slice(close + 1) : tail).trim() });
      continue;
    }
    const r = REDUCER_LINE.exec(line);
    if (r) out.push({ atMs: Number(r[1]), kind: 'memory-reducer', pauseMs: 0, heap: '', reason: r[2].trim() });
  }
  return out;
}

/** A log file from byte `from` on (and where it ends now). */
export function logSince(file: string, from: number): { text: string; end: number } {
  try {
    const b = fs.readFileSync(file);
    return { text: b.subarray(from).toString('utf8'), end: b.length };
  } catch {
    return { text: '', end: from };
  }
}

/** One line per collection: "Mark-Compact 2.1 ms (finalize incremental marking via task; ...)". */
export function gcSummary(events: GcEvent[]): string[] {
  return events.map((e) => (e.kind === 'memory-reducer' ? `reducer: ${e.reason}` : `${e.kind} ${e.pauseMs} ms ${e.heap} (${e.reason})`));
}

/**
 * Deoptimizations in a `--trace-deopt` log, per function and reason ("drain (Insufficient type
 * feedback for call) x2"): code that left optimized code while the trial ran.
 */
export function deoptSummary(text: string): string[] {
  const n = new Map<string, number>();
  for (const m of text.matchAll(/\[bailout \(kind: ([^,]+), reason: ([^)]*)\): begin\. deoptimizing [^<]*<JSFunction (\S+)/g)) {
    const k = `${m[3]} (${m[1]}: ${m[2]})`;
    n.set(k, (n.get(k) ?? 0) + 1);
  }
  return [...n].map(([k, c]) => (c > 1 ? `${k} x${c}` : k));
}

/**
 * TurboFan compiles that completed in a `--trace-opt` log: how many, and the compile jobs' own
 * time on the helper threads ("took PREPARE, EXECUTE, FINALIZE ms": the middle one runs on a
 * helper, in wall time, so a helper kept off the core makes it longer). Per function, longest first.
 */
export function compileSummary(text: string): { count: number; backgroundMs: number; functions: string[] } {
  const per = new Map<string, number>();
  let count = 0;
  let bg = 0;
  for (const m of text.matchAll(/\[completed compiling [^<]*<JSFunction ([^ >]*)[^\]]*\(target TURBOFAN\) - took ([\d.]+), ([\d.]+), ([\d.]+) ms\]/g)) {
    count++;
    const ms = Number(m[3]);
    bg += ms;
    const fn = m[1] || '(anonymous)';
    per.set(fn, (per.get(fn) ?? 0) + ms);
  }
  const functions = [...per].sort((a, b) => b[1] - a[1]).map(([f, ms]) => `${f} ${ms.toFixed(0)}`);
  return { count, backgroundMs: bg, functions };
}
