import t from 'tap';
import { searchZeroLoss, type UdpFigures } from '../../bench/compare/measure';

/** A switch that loses nothing up to `limit` pps and 10% above it; trafgen sends 98% of the rate asked. */
function fakeSwitch(limit: number) {
  const asked: number[] = [];
  const trial = async (ask: number): Promise<UdpFigures> => {
    asked.push(ask);
    const offered = ask * 0.98;
    const loss = offered <= limit ? 0 : 10;
    return { offeredPps: offered, deliveredPps: offered * (1 - loss / 100), lossPct: loss, cpuUsPerPacket: NaN, cpuPct: NaN };
  };
  return { trial, asked };
}
const atMax = (offered: number, loss: number): UdpFigures => ({ offeredPps: offered, deliveredPps: offered * (1 - loss / 100), lossPct: loss, cpuUsPerPacket: NaN, cpuPct: NaN });

t.test('zero-loss: binary search halves towards the highest passing rate', async (t) => {
  const sw = fakeSwitch(300_000);
  const r = await searchZeroLoss(atMax(800_000, 40), 7, 0.1, sw.trial, () => {});
  // 400k fails, 200k passes, 300k passes (294k offered), 350k fails, 325k fails, 312.5k fails, 306.25k passes (300.1k offered > limit: fails)
  t.same(sw.asked, [400000, 200000, 300000, 350000, 325000, 312500, 306250]);
  t.equal(r.pps, 300000 * 0.98);
  t.equal(r.trials.length, 7);
  t.equal(r.trials[1].lossPct, 0);
  t.equal(r.maxLossPct, 0.1);
});

t.test('zero-loss: no search when the generator maximum already passes', async (t) => {
  const sw = fakeSwitch(1e9);
  const r = await searchZeroLoss(atMax(500_000, 0.05), 7, 0.1, sw.trial, () => {});
  t.equal(r.pps, 500_000);
  t.same(sw.asked, []);
});

t.test('zero-loss: 0 when every trial loses; no trial below 1 kpps', async (t) => {
  const sw = fakeSwitch(0);
  const r = await searchZeroLoss(atMax(20_000, 50), 10, 0.1, sw.trial, () => {});
  t.equal(r.pps, 0);
  t.same(sw.asked, [10000, 5000, 2500, 1250]);
});
