/**
 * The batch clock: element 0 of a Float64Array holding the time (ms) of the batch the datapath
 * is processing. The switch writes it once per batch; the stages that keep time per packet
 * (NORMAL's MAC learning, the flow tables' `used` stamps and conntrack) read it from there.
 *
 * Why a typed-array slot and not an argument or a return value: a clock reading is a double
 * (fractional ms, or ms since 1970, far past the small-integer range), and V8 passes arguments
 * and return values tagged: a double handed to a call V8 does not inline, or returned from one,
 * is boxed in a fresh 16-byte heap number. Loaded from a Float64Array element, or kept in a
 * number field (which V8 mutates in place), it stays an unboxed double. Before this slot, a
 * ping through the L2 bridge allocated two such boxes per frame for time alone (the switch's
 * and the flow tables' own clock reads; sampling heap profiler on a running switch, see
 * bench/results/README.md, "Allocation on the live path").
 */
export type BatchClock = Float64Array;

/**
 * A batch clock slot. Its ArrayBuffer is made explicitly so that it lives outside V8's heap:
 * the native addon writes the wakeup time into it (pollStart's clock) through a pointer, and a
 * small typed array made with `new Float64Array(1)` may sit inside the heap, where GC moves it.
 */
export function newBatchClock(): BatchClock {
  return new Float64Array(new ArrayBuffer(Float64Array.BYTES_PER_ELEMENT));
}

/**
 * The datapath's default clock: milliseconds of the monotonic clock (CLOCK_MONOTONIC, as
 * libuv's uv_hrtime() and process.hrtime() read it). The native addon stamps the batch clock
 * from the same clock when it wakes the datapath, so the two readings are one time base.
 *
 * Read as performance.now() (the same clock, counted from the process start) plus that start:
 * one heap number per reading, where process.hrtime() makes an array as well (the router reads
 * the clock per batch). The start is measured once, between two hrtime readings (the closest
 * of a few tries, off by well under a microsecond).
 */
export function monotonicMs(): number {
  return performance.now() + PERF_ORIGIN_MS;
}

const PERF_ORIGIN_MS = ((): number => {
  let best = BigInt(Number.MAX_SAFE_INTEGER);
  let origin = 0;
  for (let i = 0; i < 5; i++) {
    const a = process.hrtime.bigint();
    const p = performance.now();
    const b = process.hrtime.bigint();
    if (b - a < best) {
      best = b - a;
      origin = Number((a + b) / 2n) / 1e6 - p;
    }
  }
  return origin;
})();

/**
 * A rate limit for work a port does now and then on its burst path (pull kernel counters,
 * re-read a route MTU): `due` is true once `periodMs` has passed since it last was. It reads
 * the batch clock when the port has one (no heap number per burst, see above) and Date.now()
 * otherwise (busy-poll, test fakes). A reading below the last one counts as due: the first
 * batch-clock reading after Date.now() ones is on another time base (monotonic, not 1970).
 * `last` is a number field, which V8 updates in place.
 */
export class ClockPeriod {
  last = 0;

  constructor(readonly periodMs: number) {}

  due(clock: BatchClock | null): boolean {
    const now = clock !== null ? clock[0] : Date.now();
    if (now - this.last >= this.periodMs || now < this.last) {
      this.last = now;
      return true;
    }
    return false;
  }
}
