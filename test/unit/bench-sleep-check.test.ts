import t from 'tap';
import { analyse } from '../../bench/compare/sleep-check';

/**
 * sleep-check: the generator's CPU time inside the switch thread's sleeps (a lost wakeup shows as
 * milliseconds of sending while the switch slept) and inside its run-queue waits.
 */
const sw = (t: number, cpu: number, prev: [string, number, string], next: [string, number]) =>
  `  ${prev[0]} ${prev[1]} [00${cpu}] ${t.toFixed(6)}: sched:sched_switch: prev_comm=${prev[0]} prev_pid=${prev[1]} prev_prio=120 prev_state=${prev[2]} ==> next_comm=${next[0]} next_pid=${next[1]} next_prio=120`;
const wake = (t: number, cpu: number, by: [string, number], pid: number) =>
  `  ${by[0]} ${by[1]} [00${cpu}] ${t.toFixed(6)}: sched:sched_waking: comm=node pid=${pid} prio=120 target_cpu=001`;

t.test('a switch woken by the first frame: a few µs of sending inside its sleep; a wait while sending counts as such', async (t) => {
  const lines = [
    // pacegen (tid 50) on CPU 0 from 1.000 to 1.010, again 1.020 to 1.030.
    sw(1.0, 0, ['swapper/0', 0, 'R'], ['pacegen', 50]),
    // The switch (tid 10) sleeps on CPU 1 at 1.005 ... woken by pacegen's frame at 1.00501.
    sw(1.005, 1, ['node', 10, 'S'], ['swapper/1', 0]),
    wake(1.00501, 0, ['pacegen', 50], 10),
    sw(1.00503, 1, ['swapper/1', 0, 'R'], ['node', 10]),
    sw(1.01, 0, ['pacegen', 50, 'S'], ['swapper/0', 0]),
    // The switch sleeps from 1.012; pacegen runs from 1.020 with no wakeup until 1.023 (a lost wakeup: 3 ms).
    sw(1.012, 1, ['node', 10, 'S'], ['swapper/1', 0]),
    sw(1.02, 0, ['swapper/0', 0, 'R'], ['pacegen', 50]),
    wake(1.023, 1, ['node', 11], 10),
    // Runnable, but a hog (tid 99) has CPU 1 until 1.026 while pacegen sends.
    sw(1.026, 1, ['hog', 99, 'R'], ['node', 10]),
    sw(1.03, 0, ['pacegen', 50, 'S'], ['swapper/0', 0]),
  ].join('\n');
  const r = analyse(lines, 10, 'pacegen', new Set([11]));
  t.equal(r.sleeps, 2);
  t.equal(r.genOnCpuMs, 20);
  t.equal(r.genInSleepMs, 3.01, 'the first sleep overlaps 10 µs of sending, the second 3 ms');
  t.equal(r.maxGenInOneSleepMs, 3);
  t.same(r.byGenOverlap, [1, 0, 0, 1]);
  t.equal(r.genInWaitMs, 3, 'the 3 ms runnable behind the hog, pacegen sending');
  t.same(r.waitsByLength, [1, 0, 1, 0]);
  t.same(r.wokenBy, { pacegen: 1, 'switch helper (node)': 1 });
  t.equal(r.worst[0].genMs, 3);
});

t.test('a switch asleep from before the record until after the generator ended counts as asleep all along', async (t) => {
  const lines = [
    sw(2.0, 1, ['hog', 99, 'R'], ['hog', 99]),
    sw(2.001, 0, ['swapper/0', 0, 'R'], ['pacegen', 50]),
    sw(2.5, 0, ['pacegen', 50, 'S'], ['swapper/0', 0]),
    wake(2.6, 1, ['node', 11], 10),
  ].join('\n');
  const r = analyse(lines, 10, 'pacegen', new Set([11]));
  t.equal(r.sleeps, 1);
  t.equal(r.genInSleepMs, 499, 'all of the sending happened while it slept');
  const never = analyse(lines.split('\n').slice(0, 3).join('\n'), 10);
  t.equal(never.genInSleepMs, 499, 'no event of the switch at all: asleep through the record');
});
