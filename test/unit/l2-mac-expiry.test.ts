/**
 * MAC aging on the housekeeping tick: expireSome() removes aged entries a slice of the table
 * per call, going round the whole table within 1/16 of the aging time; expire() removes them
 * all at once. Nothing aged is ever looked up, swept or not.
 */
import t from 'tap';
import { MacTable } from '../../src/l2/mac-table';

t.test('expireSome goes round the table in agingMs / 16 calls', async (t) => {
  const m = new MacTable({ agingMs: 320_000, maxEntries: 8192 }); // 20 calls per round
  const aged: number[] = [];
  for (let i = 0; i < 500; i++) m.learn(1, 0x0200, i, 1 + (i % 3), 0);
  m.onEvent = (e) => aged.push(e.mac);
  t.equal(m.size, 500);
  const now = 320_000;
  t.equal(m.lookup(1, 0x0200, 7, now), -1, 'aged: never looked up, swept or not');
  let calls = 0;
  let removed = 0;
  while (m.size > 0 && calls < 100) {
    removed += m.expireSome(now);
    calls++;
  }
  t.equal(removed, 500);
  t.equal(aged.length, 500, 'one aged event per entry');
  t.ok(calls <= 20, `swept within 20 calls (took ${calls})`);
  t.ok(calls > 1, 'in slices, not all at once');
  t.equal(m.expireSome(now), 0, 'empty table: nothing to do');
});

t.test('an entry seen again is kept; short aging sweeps the whole table each call', async (t) => {
  const m = new MacTable({ agingMs: 10_000 });
  m.learn(0, 1, 1, 1, 0);
  m.learn(0, 1, 2, 2, 0);
  m.learn(0, 1, 2, 2, 5_000);
  t.equal(m.expireSome(10_000), 1, 'the one not seen for 10 s, in one call');
  t.equal(m.lookup(0, 1, 2, 10_000), 2);
  t.equal(m.lookup(0, 1, 1, 10_000), -1);
  t.equal(m.expire(15_000), 1, 'expire(): everything aged at once');
  t.equal(m.size, 0);
});
