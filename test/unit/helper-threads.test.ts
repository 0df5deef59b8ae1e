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
import { HelperThreads } from '../../src/cli/helper-threads';

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
  t.same(reports, [{ msg: 'helper threads lowered', fields: { threads: tids.length, nice: 19 }, failed: false }]);
  t.same(h.stats, { nice: 19, lowered: tids.length, failed: 0, threads: tids.length });

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
    t.same(reports[1].fields, { threads: fresh.length, nice: 19 });
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
  t.same(h.stats, { nice: 0, lowered: 0, failed: 0, threads: 0 });
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
    t.same(h2.stats, { nice: 19, lowered: 0, failed: 0, threads: 1 });
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
