/**
 * The ARP cache's lookup tries the entry it found last before hashing: that entry must answer
 * only for its own address, and never once it was deleted or taken by another address.
 */
import t from 'tap';
import { ArpCache } from '../../src/l3/arp-cache';

const A = 0x0a000005; // 10.0.0.5
const B = 0xcb007101; // 203.0.113.1 (above 2^31)
const C = 0x0a000007;

t.test('arp cache: the last entry found answers only for its own live address', async (t) => {
  const c = new ArpCache(2);
  c.learn(A, 0x5254, 0x05, 1, 1000);
  c.learn(B, 0x5254, 0xfe, 2, 1000);
  const ea = c.lookup(A);
  const eb = c.lookup(B);
  t.not(ea, eb);
  t.equal(c.lookup(B), eb, 'same address again');
  t.equal(c.lookup(B | 0), eb, 'the address as int32 bits finds it too');
  t.equal(c.lookup(A), ea, 'another address after it');
  t.equal(c.macLo[c.lookup(A)], 0x05);

  c.delete(A);
  t.equal(c.lookup(A), -1, 'deleted right after being found: gone');
  c.learn(C, 0x5254, 0x07, 1, 1000); // takes A's freed entry
  t.equal(c.lookup(C), ea, 'the freed entry now holds C');
  t.equal(c.lookup(A), -1, 'A is not answered by the entry C took');
  t.equal(c.macLo[c.lookup(C)], 0x07);
  t.equal(c.lookup(B), eb);

  c.flushIface(2);
  t.equal(c.lookup(B), -1, 'flushed with its interface');
});
