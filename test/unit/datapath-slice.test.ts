/**
 * The datapath thread's scheduler slice: what the kernel took is read back (a kernel without
 * per-thread slices accepts the call and ignores it), a refusal is reported, never thrown, 0
 * leaves the kernel's default without a call; with the addon, the kernel reports the slice set,
 * threads created afterwards inherit it, and HelperThreads puts them back to the default.
 */
import t from 'tap';
import * as fs from 'fs';
import * as os from 'os';
import { Worker } from 'worker_threads';
import { applyDatapathSlice } from '../../src/cli/datapath-slice';
import { HelperThreads } from '../../src/cli/helper-threads';
import { bindingAvailable, loadBinding } from '../../src/io/binding';

t.test('the slice is set in ns and read back', async (t) => {
  const calls: Array<[number, number]> = [];
  let slice = 1_400_000;
  const st = applyDatapathSlice(
    100,
    4242,
    (tid, ns) => {
      calls.push([tid, ns]);
      slice = ns;
      return 0;
    },
    () => slice,
  );
  t.same(calls, [[4242, 100_000]]);
  t.same(st, { requested_us: 100, slice_us: 100, applied: true });
});

t.test('a kernel that ignores the slice, a refusal, no addon: reported, not applied', async (t) => {
  // Before Linux 6.12 sched_setattr takes sched_runtime on SCHED_OTHER and does nothing with it.
  t.same(applyDatapathSlice(100, 1, () => 0, () => 0), { requested_us: 100, slice_us: 0, applied: false, error: 'the kernel has no per-thread slices (Linux 6.12+)' });
  t.same(applyDatapathSlice(250, 1, () => 0, () => 3_000_000), { requested_us: 250, slice_us: 3000, applied: false, error: 'the kernel has no per-thread slices (Linux 6.12+)' });
  t.same(applyDatapathSlice(100, 1, () => -1, () => 1_400_000), { requested_us: 100, slice_us: 1400, applied: false, error: 'sched_setattr refused: errno 1' });
  t.same(applyDatapathSlice(100, 1, null, null), { requested_us: 100, slice_us: 0, applied: false, error: 'no native addon' });
});

t.test('0 keeps the kernel default without a call; out of range throws', async (t) => {
  const never = () => {
    throw new Error('called');
  };
  t.same(applyDatapathSlice(0, 1, never, never), { requested_us: 0, slice_us: 0, applied: false });
  t.throws(() => applyDatapathSlice(50, 1, never, never), /0 or 100\.\.100000/);
  t.throws(() => applyDatapathSlice(100_001, 1, never, never), /0 or 100\.\.100000/);
  t.throws(() => applyDatapathSlice(1.5, 1, never, never), /0 or 100\.\.100000/);
});

/** Linux 6.12 or later: per-thread slices (EEVDF custom slices). */
function kernelHasSlices(): boolean {
  const m = /^(\d+)\.(\d+)/.exec(os.release());
  return os.platform() === 'linux' && m !== null && (Number(m[1]) > 6 || (Number(m[1]) === 6 && Number(m[2]) >= 12));
}

const skipReal = !bindingAvailable() ? 'native addon not built (make)' : !kernelHasSlices() ? `kernel ${os.release()} has no per-thread slices (Linux 6.12+)` : false;

t.test("the addon's setThreadSlice: the kernel reports the slice; new threads inherit it and helpers put it back", { skip: skipReal }, async (t) => {
  const b = loadBinding();
  const me = process.pid;
  const before = b.getThreadSlice!(me);
  const nice = os.getPriority(me);
  t.ok(before > 0, `the kernel reports a slice (${before} ns)`);
  const st = applyDatapathSlice(100, me, (tid, ns) => b.setThreadSlice!(tid, ns), (tid) => b.getThreadSlice!(tid));
  const old = new Set(fs.readdirSync('/proc/self/task').map(Number));
  const w = new Worker('setInterval(() => {}, 1000)', { eval: true });
  try {
    t.same(st, { requested_us: 100, slice_us: 100, applied: true });
    t.equal(b.getThreadSlice!(me), 100_000, 'read back with sched_getattr');
    await new Promise((r) => w.once('online', r));
    const fresh = fs.readdirSync('/proc/self/task').map(Number).filter((tid) => !old.has(tid));
    t.ok(fresh.length > 0, 'the worker is a new thread');
    for (const tid of fresh) t.equal(b.getThreadSlice!(tid), 100_000, `new thread ${tid} inherited the slice`);
    const h = new HelperThreads(19, () => {}, undefined, undefined, null, (tid) => b.setThreadSlice!(tid, 0));
    h.check();
    for (const tid of fresh) t.equal(b.getThreadSlice!(tid), before, `helper ${tid} back to the default slice`);
    t.equal(b.getThreadSlice!(me), 100_000, 'the main thread keeps its slice');
    t.equal(os.getPriority(me), nice, 'the nice value is kept');
    t.equal(b.setThreadSlice!(2_147_483_000, 100_000), -os.constants.errno.ESRCH, 'no such thread: -ESRCH');
  } finally {
    await w.terminate();
    b.setThreadSlice!(me, 0);
  }
  t.equal(b.getThreadSlice!(me), before, '0 puts the default back');
});
