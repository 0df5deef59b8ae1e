/**
 * Helper threads at a lower priority: every thread but the main one gets the nice value, threads
 * started later are lowered on the next check, 0 turns it off, and a thread that ended or a
 * missing /proc is handled quietly (reported, never thrown).
 */
import t from 'tap';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { Worker } from 'worker_threads';
import { HelperThreads, canLeaveIdle } from '../../src/cli/helper-threads';
import { bindingAvailable, loadBinding } from '../../src/io/binding';

const linux = fs.existsSync('/proc/self/task');
const helperTids = () => fs.readdirSync('/proc/self/task').map(Number).filter((tid) => tid !== process.pid);

type Report = { msg: string; fields: Record<string, unknown>; failed: boolean };

t.test('every helper thread is lowered, the main thread is not, new threads on the next check', { skip: linux ? false : 'needs Linux /proc/self/task' }, async (t) => {
  const mainNice = os.getPriority(process.pid);
  const reports: Report[] = [];
  const h = new HelperThreads(19, (msg, fields, failed) => reports.push({ msg, fields, failed }));
  h.check();
  const tids = helperTids();
  t.ok(tids.length > 0, 'node has helper threads');
  for (const tid of tids) t.equal(os.getPriority(tid), 19, `thread ${tid} at nice 19`);
  t.equal(os.getPriority(process.pid), mainNice, 'the main thread keeps its priority');
  t.same(reports, [{ msg: 'helper threads lowered', fields: { threads: tids.length, nice: 19, sched_idle: 0 }, failed: false }]);
  t.same(h.stats, { nice: 19, sched: 'normal', lowered: tids.length, idle: 0, failed: 0, threads: tids.length });

  h.check();
  t.equal(reports.length, 1, 'nothing new: nothing reported');

  // A thread started later (as libuv's pool is) at the main thread's priority.
  const w = new Worker('setInterval(() => {}, 1000)', { eval: true });
  await new Promise((r) => w.once('online', r));
  try {
    const fresh = helperTids().filter((tid) => !tids.includes(tid));
    t.ok(fresh.length > 0, 'the worker is a new thread');
    h.check();
    for (const tid of fresh) t.equal(os.getPriority(tid), 19, `new thread ${tid} lowered`);
    t.equal(reports.length, 2);
    t.same(reports[1].fields, { threads: fresh.length, nice: 19, sched_idle: 0 });
    t.equal(h.stats.lowered, tids.length + fresh.length);
  } finally {
    await w.terminate();
  }
});

t.test('nice 0 leaves every thread alone', async (t) => {
  const reports: Report[] = [];
  const h = new HelperThreads(0, (msg, fields, failed) => reports.push({ msg, fields, failed }), '/nonexistent-task-dir');
  h.check();
  t.same(reports, []);
  t.same(h.stats, { nice: 0, sched: 'normal', lowered: 0, idle: 0, failed: 0, threads: 0 });
  t.throws(() => new HelperThreads(20, () => {}), /0\.\.19/);
  t.throws(() => new HelperThreads(-1, () => {}), /0\.\.19/);
});

t.test('no /proc: one warning, no throw; a thread that ended is skipped', async (t) => {
  const reports: Report[] = [];
  const h = new HelperThreads(19, (msg, fields, failed) => reports.push({ msg, fields, failed }), '/nonexistent-task-dir');
  h.check();
  h.check();
  t.equal(reports.length, 1, 'said once');
  t.equal(reports[0].msg, 'helper threads left at normal priority');
  t.equal(reports[0].failed, true);
  t.match(h.stats.error, /ENOENT/);

  // A task directory naming the main thread and a thread id no process can have (ended).
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tvs-task-'));
  try {
    fs.mkdirSync(path.join(dir, String(process.pid)));
    fs.mkdirSync(path.join(dir, '2147483646'));
    const r2: Report[] = [];
    const h2 = new HelperThreads(19, (msg, fields, failed) => r2.push({ msg, fields, failed }), dir);
    h2.check();
    t.same(r2, [], 'an ended thread is neither lowered nor a failure');
    t.same(h2.stats, { nice: 19, sched: 'normal', lowered: 0, idle: 0, failed: 0, threads: 1 });
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

/** The scheduling policy of a thread of this process (field 41 of its stat: 0 normal, 5 SCHED_IDLE). */
const policyOf = (tid: number) => Number(fs.readFileSync(`/proc/self/task/${tid}/stat`, 'utf8').replace(/^.*\) /s, '').split(' ')[38]);

t.test('with a SCHED_IDLE setter every helper also gets it; refusals are counted, ended threads are not', { skip: linux ? false : 'needs Linux /proc/self/task' }, async (t) => {
  const asked: number[] = [];
  const EPERM = os.constants.errno.EPERM;
  const ESRCH = os.constants.errno.ESRCH;
  const tids = helperTids();
  t.ok(tids.length >= 2, 'node has at least two helper threads');
  // The first thread "refuses", the second "ended" in between, the rest are set.
  const reports: Report[] = [];
  const h = new HelperThreads(19, (msg, fields, failed) => reports.push({ msg, fields, failed }), undefined, undefined, (tid) => {
    asked.push(tid);
    return tid === tids[0] ? -EPERM : tid === tids[1] ? -ESRCH : 0;
  });
  h.check();
  t.same(asked.sort(), [...tids].sort(), 'asked for every helper, never the main thread');
  t.notOk(asked.includes(process.pid));
  t.same(h.stats, { nice: 19, sched: 'idle', lowered: tids.length, idle: tids.length - 2, failed: 1, threads: tids.length, error: `SCHED_IDLE refused: errno ${EPERM}` });
  t.same(reports[0], { msg: 'helper threads lowered', fields: { threads: tids.length, nice: 19, sched_idle: tids.length - 2 }, failed: false });
  t.same(reports[1], { msg: 'helper threads left at normal priority', fields: { threads: 1, error: `SCHED_IDLE refused: errno ${EPERM}` }, failed: true });
  h.check();
  t.equal(asked.length, tids.length, 'a thread is asked once');

  // Nice 0 turns the policy off too.
  const off = new HelperThreads(0, () => {}, undefined, undefined, () => {
    t.fail('not asked');
    return 0;
  });
  off.check();
  t.equal(off.stats.idle, 0);
});

/** Runs `body` with the thread ids a new worker brought into this process, then ends the worker. */
async function withWorkerThreads(body: (tids: number[]) => Promise<void>): Promise<void> {
  const before = helperTids();
  const w = new Worker('setInterval(() => {}, 1000)', { eval: true });
  await new Promise((r) => w.once('online', r));
  try {
    await body(helperTids().filter((tid) => !before.includes(tid)));
  } finally {
    await w.terminate();
  }
}

t.test("the addon's setThreadIdle puts a thread in SCHED_IDLE", { skip: !linux ? 'needs Linux /proc/self/task' : bindingAvailable() ? false : 'native addon not built (make)' }, async (t) => {
  const binding = loadBinding();
  await withWorkerThreads(async (fresh) => {
    t.ok(fresh.length > 0, 'the worker is a new thread');
    for (const tid of fresh) {
      t.equal(policyOf(tid), 0, `thread ${tid} starts in the normal policy`);
      t.equal(binding.setThreadIdle!(tid), 0);
      t.equal(policyOf(tid), 5, `thread ${tid} in SCHED_IDLE`);
    }
    t.equal(policyOf(process.pid), 0, 'the main thread keeps the normal policy');
    t.equal(binding.setThreadIdle!(2147483646), -os.constants.errno.ESRCH, 'no such thread: -ESRCH');
    t.throws(() => binding.setThreadIdle!(0), /positive thread id/);
  });
});

t.test("auto: SCHED_IDLE while calm, SCHED_OTHER while saturated, new threads follow the current state", { skip: linux ? false : 'needs Linux /proc/self/task' }, async (t) => {
  const calls: string[] = [];
  const reports: Report[] = [];
  const h = new HelperThreads(
    19,
    (msg, fields, failed) => reports.push({ msg, fields, failed }),
    undefined,
    undefined,
    (tid) => (calls.push(`idle ${tid}`), 0),
    undefined,
    (tid) => (calls.push(`normal ${tid}`), 0),
  );
  h.check();
  const tids = helperTids();
  t.same(calls.sort(), tids.map((x) => `idle ${x}`).sort(), 'calm at start: every helper in SCHED_IDLE');
  t.same(h.stats, { nice: 19, sched: 'auto', saturated: false, switches: 0, saturatedNice: 19, lowered: tids.length, idle: tids.length, failed: 0, threads: tids.length });

  calls.length = 0;
  h.setSaturated(true);
  t.same(calls.sort(), tids.map((x) => `normal ${x}`).sort(), 'saturated: every helper back in SCHED_OTHER');
  calls.length = 0;
  h.setSaturated(true);
  t.same(calls, [], 'no transition, no call');

  // A thread started while saturated keeps SCHED_OTHER (only its nice value changes).
  const w = new Worker('setInterval(() => {}, 1000)', { eval: true });
  await new Promise((r) => w.once('online', r));
  try {
    const fresh = helperTids().filter((tid) => !tids.includes(tid));
    t.ok(fresh.length > 0, 'the worker is a new thread');
    h.check();
    t.same(calls, [], 'a new helper is not put in SCHED_IDLE while saturated');
    for (const tid of fresh) t.equal(os.getPriority(tid), 19, `new thread ${tid} lowered`);

    h.setSaturated(false);
    t.same(calls.sort(), [...tids, ...fresh].map((x) => `idle ${x}`).sort(), 'calm again: every helper, the new one too, in SCHED_IDLE');
    t.equal(h.stats.switches, 2);
    t.equal(h.stats.saturated, false);
  } finally {
    await w.terminate();
  }
  t.same(reports.filter((r) => r.failed), [], 'nothing refused');
});

t.test('auto with a saturated nice value: helpers at it while saturated, new ones too, back to the nice value when calm', { skip: !linux ? 'needs Linux /proc/self/task' : !canLeaveIdle(0) ? 'needs CAP_SYS_NICE or RLIMIT_NICE 20 to raise a thread to nice 0' : false }, async (t) => {
  const reports: Report[] = [];
  const h = new HelperThreads(19, (msg, fields, failed) => reports.push({ msg, fields, failed }), undefined, undefined, () => 0, undefined, () => 0, 0);
  h.check();
  const tids = helperTids();
  t.same(tids.map((x) => os.getPriority(x)), tids.map(() => 19), 'calm: every helper at nice 19');
  t.equal(h.stats.saturatedNice, 0);
  h.setSaturated(true);
  t.same(tids.map((x) => os.getPriority(x)), tids.map(() => 0), "saturated: every helper at nice 0, the switch's own priority");
  const w = new Worker('setInterval(() => {}, 1000)', { eval: true });
  await new Promise((r) => w.once('online', r));
  try {
    const fresh = helperTids().filter((tid) => !tids.includes(tid));
    h.check();
    t.same(fresh.map((x) => os.getPriority(x)), fresh.map(() => 0), 'a helper started while saturated: nice 0 too');
    h.setSaturated(false);
    t.same([...tids, ...fresh].map((x) => os.getPriority(x)), [...tids, ...fresh].map(() => 19), 'calm again: all back at nice 19');
  } finally {
    await w.terminate();
  }
  t.same(reports.filter((r) => r.failed), [], 'nothing refused');
  t.throws(() => new HelperThreads(19, () => {}, undefined, undefined, () => 0, undefined, () => 0, 20), /0\.\.19/);
});

t.test('auto: a refusal to switch is counted and reported, never thrown; other modes ignore saturation', { skip: linux ? false : 'needs Linux /proc/self/task' }, async (t) => {
  const EPERM = os.constants.errno.EPERM;
  const reports: Report[] = [];
  const h = new HelperThreads(19, (msg, fields, failed) => reports.push({ msg, fields, failed }), undefined, undefined, () => 0, undefined, () => -EPERM);
  h.check();
  const n = h.stats.threads;
  h.setSaturated(true);
  t.equal(h.stats.failed, n);
  t.equal(h.stats.error, `SCHED_OTHER refused: errno ${EPERM}`);
  t.same(reports[reports.length - 1], { msg: 'helper threads policy not changed', fields: { threads: n, error: `SCHED_OTHER refused: errno ${EPERM}` }, failed: true });

  let asked = 0;
  const idle = new HelperThreads(19, () => {}, undefined, undefined, () => (asked++, 0));
  idle.check();
  const before = asked;
  idle.setSaturated(true);
  t.equal(asked, before, "'idle' stays in SCHED_IDLE when saturated");
  t.equal(idle.stats.saturated, undefined);
});

t.test('canLeaveIdle: CAP_SYS_NICE, or an RLIMIT_NICE allowing the nice value', async (t) => {
  const caps = (hex: string) => `Name:\tnode\nCapEff:\t${hex}\n`;
  const lim = (v: string) => `Limit                     Soft Limit           Hard Limit           Units\nMax nice priority         ${v}                    ${v}                    \n`;
  t.equal(canLeaveIdle(19, caps('000001ffffffffff'), lim('0')), true, 'root: CAP_SYS_NICE');
  t.equal(canLeaveIdle(19, caps('0000000000800000'), lim('0')), true, 'CAP_SYS_NICE alone');
  t.equal(canLeaveIdle(19, caps('0000000000003000'), lim('0')), false, 'CAP_NET_ADMIN|CAP_NET_RAW only, RLIMIT_NICE 0');
  t.equal(canLeaveIdle(19, caps('0000000000000000'), lim('1')), true, 'RLIMIT_NICE 1 allows nice 19');
  t.equal(canLeaveIdle(10, caps('0000000000000000'), lim('1')), false, 'but not nice 10');
  t.equal(canLeaveIdle(19, caps('0000000000000000'), lim('unlimited')), true);
  t.equal(canLeaveIdle(19, 'no caps here', 'no limits here'), false, 'unreadable: no');
});

t.test("the addon's setThreadNormal puts a SCHED_IDLE thread back, keeping its nice value", { skip: !linux ? 'needs Linux /proc/self/task' : !bindingAvailable() ? 'native addon not built (make)' : !canLeaveIdle(19) ? 'needs CAP_SYS_NICE or RLIMIT_NICE to leave SCHED_IDLE' : false }, async (t) => {
  const binding = loadBinding();
  await withWorkerThreads(async (fresh) => {
    t.ok(fresh.length > 0, 'the worker is a new thread');
    for (const tid of fresh) {
      os.setPriority(tid, 19);
      t.equal(binding.setThreadIdle!(tid), 0);
      t.equal(policyOf(tid), 5, `thread ${tid} in SCHED_IDLE`);
      t.equal(binding.setThreadNormal!(tid), 0);
      t.equal(policyOf(tid), 0, `thread ${tid} back in SCHED_OTHER`);
      t.equal(os.getPriority(tid), 19, `thread ${tid} keeps nice 19`);
    }
    t.equal(binding.setThreadNormal!(2147483646), -os.constants.errno.ESRCH, 'no such thread: -ESRCH');
    t.throws(() => binding.setThreadNormal!(0), /positive thread id/);
  });
});
