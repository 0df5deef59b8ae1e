import t from 'tap';
import { PacketArena } from '../../src/packet/arena';

t.test('hold budgets: per holder, per owner, per arena, and the arena reserve', async (t) => {
  const a = new PacketArena({ slots: 64, slotSize: 256 });
  t.same(a.holds.toJSON(), { name: 'arena', used: 0, limit: 16, refused: 0 }, 'a quarter of the arena may be held');
  const router = a.holds.child('router r1', 12);
  const i1 = router.child('qr-1', 8);
  const i2 = router.child('qr-2', 8);
  const other = a.holds.child('router r2', 100);
  t.equal(other.limit, 16, 'a child never exceeds its parent');
  let n = 0;
  while (i1.take()) n++;
  t.equal(n, 8, 'qr-1 stops at its own limit');
  t.equal(i1.refused, 1);
  n = 0;
  while (i2.take()) n++;
  t.equal(n, 4, 'qr-2 stops at the router limit (12)');
  t.equal(router.refused, 1);
  t.equal(router.used, 12);
  n = 0;
  while (other.take()) n++;
  t.equal(n, 4, 'another router gets the rest of the arena budget (16)');
  t.equal(a.holds.used, 16);
  i1.give();
  t.equal(i1.used, 7);
  t.equal(router.used, 11);
  t.equal(a.holds.used, 15);
  // The reserve: with a quarter of the arena free, nothing more may be held.
  const taken: number[] = [];
  while (a.available > 16) taken.push(a.alloc());
  t.notOk(other.take(), 'refused: the free slots are the reserve');
  t.equal(a.holds.refused, 2);
  for (const s of taken) a.release(s);
  t.ok(i1.take(), 'free slots again: allowed');
});
