/**
 * Wake-ahead's timer callback (native/src/ahead_timer.c, on_ahead_timer) when the timer's readiness
 * finds nothing to read: a frame handled first in the same epoll batch re-armed the timerfd for
 * the next period after the readiness was collected. That is no wakeup of ours. Taken as one, the
 * target it read (the next period's, still ahead) made it "later than the whole budget" and
 * started the backoff that holds every predicted poll for 10 ms doubling to 1 s (traced probe
 * runs had 3-16 per run, bench/results/README.md "Latency, round 4"). Driven through the addon's
 * test hook wakeAheadTimerRace: the real learner, timerfd and callback, no network (no ports, so
 * a predicted poll sees no frame and counts as missed).
 */
import t from 'tap';
import { setTimeout as sleep } from 'timers/promises';
import { bindingAvailable, loadBinding } from '../../src/io/binding';

const skip = !bindingAvailable() ? 'native addon not built (run make)' : false;

const PERIOD_US = 2000;
/** Six frames 2 ms apart, the last one now: the learner locks on and arms the timer a lead before the next. */
const FRAMES = Float64Array.from([5, 4, 3, 2, 1, 0], (k) => k * PERIOD_US);

t.test('wake-ahead: a timer readiness with nothing to read is no late wakeup', { skip }, async (t) => {
  const b = loadBinding();
  // A budget far above any timer lateness here, so the timer's own (real) wakeup is never
  // "later than the whole budget" however busy the machine; the lead stays its small learnt value.
  b.pollWakeAhead!(100_000);
  t.teardown(() => b.pollWakeAhead!(0));
  t.throws(() => b.wakeAheadTimerRace!(Float64Array.from([0, 10])), /oldest first/, 'frames out of order are refused');

  // One try: the race, then up to a second for the timer the last frame armed to fire and for
  // its poll to end, or to be held (a late event loop may run this code before the callback, so
  // look until something happened). No assertion formatting in between: the callback's check of
  // the CPU (a reading of the time spent waiting for it, every 10 ms) sees only this try.
  const tryRace = async () => {
    const before = b.pollWakeAhead!();
    const race = b.wakeAheadTimerRace!(FRAMES);
    const right = b.pollWakeAhead!();
    let later = right;
    for (let waited = 0; waited < 1000; waited += 5) {
      await sleep(5);
      later = b.pollWakeAhead!();
      if (later.caught + later.missed + later.held > right.caught + right.missed + right.held) break;
    }
    return { before, race, right, later };
  };
  // By design a predicted poll is held while this process waits for its CPU (spinner.c ahead_arm,
  // on_ahead_timer), and one that loses the CPU stops. A try with the timer held at arming,
  // expired before the readiness (this process lost its CPU in between, so the readiness was a
  // real one), or its poll held or cut short shows nothing: such a try, and only such a try (the
  // race itself started no backoff), is repeated, at most five in all, after half a second
  // asleep (the CPU check looks at the share of the time since its last reading spent waiting:
  // one wakeup in half a second dilutes what the last try's wakeups waited).
  let r = await tryRace();
  for (let attempt = 1; attempt < 5 && r.right.preempted === r.before.preempted && (r.race.armedUs === 0 || r.later.held > r.right.held || r.later.preempted > r.right.preempted); attempt++) {
    t.comment(`try ${attempt}: the timer or its poll was held (CPU contended), again in 500 ms`);
    await sleep(500);
    r = await tryRace();
  }
  const { before, race, right, later } = r;
  t.ok(race.armedUs > 0 && race.armedUs < PERIOD_US, `at the readiness the timer the last frame armed had ${race.armedUs.toFixed(1)} µs to run (lead ${race.leadUs} µs)`);
  t.equal(right.preempted, before.preempted, 'no backoff: not counted as a wakeup later than the budget');
  t.equal(right.held, before.held, 'no predicted poll held');
  t.equal(right.leadUs, race.leadUs, 'the lead is unchanged');
  t.equal(race.polling, false, 'no predicted poll started by it');

  // The timer the last frame armed is still set: it fires a lead before the expected frame and
  // starts its predicted poll, which ends without a frame (there are no ports) shortly after the
  // expected time. A poll started by the readiness instead would have run the whole period.
  t.equal(later.caught + later.missed, before.caught + before.missed + 1, `the armed timer fired and its poll ran (missed ${later.missed - before.missed}, held ${later.held - right.held})`);
  const polledUs = (later.polledMs - before.polledMs) * 1000;
  t.ok(polledUs < PERIOD_US / 2, `the poll started at the timer, not at the empty readiness (${polledUs.toFixed(0)} µs polled)`);
});
