import t from 'tap';
import { Batch, BURST } from '../../src/packet/batch';
import { DropCounters } from '../../src/packet/drops';

t.test('batch: push until full, clear', async (t) => {
  const b = new Batch(3);
  t.equal(b.capacity, 3);
  t.equal(b.push(5), true);
  t.equal(b.push(6), true);
  t.equal(b.push(7), true);
  t.equal(b.push(8), false, 'full');
  t.equal(b.count, 3);
  t.same(Array.from(b.slots), [5, 6, 7]);
  b.clear();
  t.equal(b.count, 0);
  t.equal(b.push(9), true);
  t.equal(b.slots[0], 9);
  t.equal(new Batch().capacity, BURST);
});

t.test('drops: counters by reason', async (t) => {
  const d = new DropCounters(['a', 'b', 'c'] as const);
  t.equal(d.id('b'), 1);
  t.throws(() => d.id('z' as 'a'), /unknown drop reason 'z'/);
  t.throws(() => d.id('toString' as 'a'), /unknown drop reason/, 'no prototype keys');
  d.add(d.id('a'));
  d.add(d.id('c'), 5);
  t.equal(d.get('a'), 1);
  t.equal(d.get('b'), 0);
  t.equal(d.get('c'), 5);
  t.equal(d.total(), 6);
  t.same(d.toJSON(), { a: 1, c: 5 });
  d.reset();
  t.equal(d.total(), 0);
  t.same(d.toJSON(), {});
});
