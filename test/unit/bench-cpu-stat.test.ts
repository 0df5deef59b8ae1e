import t from 'tap';
import { cpuShares, threadShare } from '../../bench/compare/cpu-stat';

/**
 * ab.js's "where the time went": a CPU's busy columns come in ticks of whoever ran, so time the
 * host did not run the vCPU is missing from every column ("lost"); a thread's sleep is the wall
 * time it was neither on the CPU nor waiting for it.
 */
t.test('cpuShares: columns as % of the wall time, the uncharged rest is lost', async (t) => {
  // 2 s at USER_HZ 100 = 200 ticks; CPU 1 charged 40 user + 20 sys + 10 softirq + 30 idle = 100: half lost.
  const a = [[0, 0, 0, 0, 0, 0, 0, 0], [1000, 5, 500, 800, 0, 0, 100, 0]];
  const b = [[150, 0, 50, 0, 0, 0, 0, 0], [1040, 5, 520, 830, 0, 0, 110, 0]];
  const [c0, c1] = cpuShares(a, b, 2);
  t.same(c0, { userPct: 75, sysPct: 25, softirqPct: 0, idlePct: 0, lostPct: 0 }, 'a CPU charged for all of it loses nothing');
  t.same(c1, { userPct: 20, sysPct: 10, softirqPct: 5, idlePct: 15, lostPct: 50 });
  // Steal, where a hypervisor reports it, is lost time too.
  const [s] = cpuShares([[0, 0, 0, 0, 0, 0, 0, 0]], [[100, 0, 0, 0, 0, 0, 0, 100]], 2);
  t.equal(s.lostPct, 50);
});

t.test('threadShare: run and wait from the scheduler clock, the rest asleep', async (t) => {
  const a = { runNs: 1e9, waitNs: 2e9, sleeps: 10, preempts: 5, ticks: 100 };
  const b = { runNs: 1e9 + 1.5e9, waitNs: 2e9 + 0.5e9, sleeps: 110, preempts: 25, ticks: 150 };
  t.same(threadShare(a, b, 5), { runMs: 1500, waitMs: 500, sleepMs: 3000, tickMs: 500, sleeps: 100, preempts: 20 });
  t.equal(threadShare(undefined, b, 5), undefined, 'no thread (the kernel switch): nothing');
});
