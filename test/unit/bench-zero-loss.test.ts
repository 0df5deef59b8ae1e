import t from 'tap';
import { execFileSync } from 'child_process';
import * as fs from 'fs';
import { searchZeroLoss, PACEGEN, type UdpFigures, type ZeroLossSearch } from '../../bench/compare/measure';

/**
 * A switch that loses nothing up to `limit` pps and 10% above it, fed by a generator that sends
 * 98% of the rate asked, at most `genMax` pps.
 */
function fakeSwitch(limit: number, genMax = Infinity) {
  const asked: number[] = [];
  const trial = async (ask: number): Promise<UdpFigures> => {
    asked.push(ask);
    const offered = Math.min(ask * 0.98, genMax);
    const loss = offered <= limit ? 0 : 10;
    return { offeredPps: offered, deliveredPps: offered * (1 - loss / 100), lossPct: loss, cpuUsPerPacket: NaN, cpuPct: NaN };
  };
  return { trial, asked };
}
const search = (topPps: number, steps = 10, floorPps = 1000): ZeroLossSearch => ({ topPps, steps, maxLossPct: 0.1, floorPps });

t.test('zero-loss: the first trial is the top; when it passes, no other trial', async (t) => {
  const sw = fakeSwitch(1e9);
  const r = await searchZeroLoss(search(500_000), sw.trial, () => {});
  t.same(sw.asked, [500_000]);
  t.equal(r.pps, 490_000);
  t.equal(r.topPps, 490_000);
  t.equal(r.trials.length, 1);
});

t.test('zero-loss: halves from what the top really offered, then bisects up', async (t) => {
  const sw = fakeSwitch(300_000);
  const r = await searchZeroLoss(search(800_000), sw.trial, () => {});
  // top 800k (784k offered) fails; halving from 784k: 392k fails, 196k passes; bisect:
  // 294k passes (288.1k offered), 343k fails, 318.5k fails, 306.25k fails (300.1k offered),
  // 300.125k passes (294.1k); then hi - lo is within 2% of hi: done in 8 of the 10 trials.
  t.same(sw.asked, [800000, 392000, 196000, 294000, 343000, 318500, 306250, 300125]);
  t.equal(r.pps, 300125 * 0.98);
  t.equal(r.trials.length, 8);
  t.equal(r.trials[2].lossPct, 0);
  t.equal(r.maxLossPct, 0.1);
  t.equal(r.floorPps, 1000);
});

t.test('zero-loss: the top is the slower generator: halving starts from what was really sent', async (t) => {
  // trafgen's maximum 900k asked, the paced generator manages 400k.
  const sw = fakeSwitch(100_000, 400_000);
  const r = await searchZeroLoss(search(900_000, 4), sw.trial, () => {});
  t.same(sw.asked, [900000, 200000, 100000, 150000]);
  t.equal(r.topPps, 400_000);
  t.equal(r.pps, 98_000);
});

t.test('zero-loss: a switch that only keeps up at a few kpps is found by halving far down', async (t) => {
  const sw = fakeSwitch(8_000);
  const r = await searchZeroLoss(search(450_000), sw.trial, () => {});
  // 441k offered at the top; 220.5k, 110.3k, 55.1k, 27.6k, 13.8k fail; 6.9k passes; 3 bisections
  // (10.3k and 8.6k fail, 7.75k passes: 7.6k offered).
  t.same(sw.asked, [450000, 220500, 110250, 55125, 27563, 13782, 6891, 10337, 8614, 7753]);
  t.equal(r.trials.length, 10);
  t.equal(r.pps, 7753 * 0.98);
});

t.test('zero-loss: every trial loses: halves down to the floor, tries it once, answers 0', async (t) => {
  const sw = fakeSwitch(0);
  const r = await searchZeroLoss(search(450_000), sw.trial, () => {});
  t.equal(r.pps, 0);
  t.equal(sw.asked[sw.asked.length - 1], 1000, 'the last trial is the floor');
  t.equal(sw.asked.filter((a) => a === 1000).length, 1);
  t.ok(sw.asked.every((a) => a >= 1000), 'nothing below the floor');
  t.same(sw.asked, [450000, 220500, 110250, 55125, 27563, 13782, 6891, 3446, 1723, 1000]);
});

t.test('zero-loss: a small budget still ends on the floor before answering 0', async (t) => {
  const sw = fakeSwitch(0);
  const r = await searchZeroLoss(search(450_000, 4), sw.trial, () => {});
  t.same(sw.asked, [450000, 220500, 110250, 1000]);
  t.equal(r.pps, 0);
});

t.test('zero-loss: a pass at the floor is the answer when the budget ends there', async (t) => {
  const sw = fakeSwitch(1_500);
  const r = await searchZeroLoss(search(450_000, 4), sw.trial, () => {});
  t.same(sw.asked, [450000, 220500, 110250, 1000]);
  t.equal(r.pps, 980);
});

t.test('zero-loss: never more trials than allowed, never an answer above what the switch keeps up with', async (t) => {
  for (const limit of [0, 500, 999, 1000, 1200, 3000, 9000, 20_000, 77_777, 150_000, 299_999, 440_000, 1e9]) {
    for (const steps of [1, 2, 5, 10]) {
      const sw = fakeSwitch(limit);
      const r = await searchZeroLoss(search(450_000, steps), sw.trial, () => {});
      t.ok(sw.asked.length <= steps, `limit ${limit}, ${steps} trials: ran ${sw.asked.length}`);
      t.ok(r.pps <= limit, `limit ${limit}, ${steps} trials: answer ${r.pps}`);
      t.ok(sw.asked.every((a) => a >= 1000), `limit ${limit}: nothing below the floor`);
    }
  }
});

t.test('zero-loss: no figure when the generator sent nothing', async (t) => {
  const r = await searchZeroLoss(search(0), fakeSwitch(1e9).trial, () => {});
  t.ok(Number.isNaN(r.pps));
  t.equal(r.trials.length, 0);
});

t.test('pacegen: the schedule (--plan) is exact absolute offsets, bursts of at most 8 (ticks >= 10 µs up to 800 kpps)', { skip: fs.existsSync(PACEGEN) ? false : `${PACEGEN} not built (make build)` }, async (t) => {
  const plan = (...a: string[]) => JSON.parse(execFileSync(PACEGEN, a, { encoding: 'utf8', maxBuffer: 64 << 20 })) as { burst: number; tickNs: number; ticks: [number, number][] };
  t.same(plan('--rate', '100000', '--count', '3', '--plan', '10'), { burst: 1, tickNs: 10000, ticks: [[0, 1], [10000, 1], [20000, 1]] });
  // 250 kpps: 2 frames every 8 µs
  t.same(plan('--rate', '250000', '--count', '7', '--plan', '10'), { burst: 2, tickNs: 8000, ticks: [[0, 2], [8000, 2], [16000, 2], [24000, 1]] });
  // 3 kpps: 1/3 ms apart, truncated each time from the start (no drift)
  t.same(plan('--rate', '3000', '--count', '100', '--plan', '4'), { burst: 1, tickNs: 333333, ticks: [[0, 1], [333333, 1], [666666, 1], [1000000, 1]] });
  const fast = plan('--rate', '2000000', '--count', '1000000', '--plan', '3');
  t.same(fast, { burst: 8, tickNs: 4000, ticks: [[0, 8], [4000, 8], [8000, 8]] });
  const far = plan('--rate', '3000', '--count', '1000000', '--plan', '300001');
  t.same(far.ticks[300000], [100000000000, 1], 'tick 300000 at exactly 100 s');
  t.same(plan('--rate', '100000', '--count', '5', '--burst', '4', '--plan', '5').ticks, [[0, 4], [40000, 1]]);
});

t.test('pacegen: refuses to send without a count and a time bound', { skip: fs.existsSync(PACEGEN) ? false : `${PACEGEN} not built (make build)` }, async (t) => {
  const run = (...a: string[]) => {
    try {
      execFileSync(PACEGEN, a, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
      return 0;
    } catch (e) {
      return (e as { status: number }).status;
    }
  };
  const base = ['--dev', 'lo', '--src-mac', '02:00:00:00:00:01', '--dst-mac', '02:00:00:00:00:02', '--src-ip', '10.222.0.1', '--dst-ip', '10.222.0.2'];
  t.equal(run(...base, '--seconds', '1'), 2, 'no --count');
  t.equal(run(...base, '--count', '10'), 2, 'no --seconds');
  t.equal(run(...base, '--count', '10', '--seconds', '1', '--size', '20'), 2, 'frame too short');
  t.equal(run('--rate', '1000', '--plan', '3'), 2, '--plan without --count');
});
