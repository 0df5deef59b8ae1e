/**
 * VLAN sets (`trunks=`) as 4096-bit bitmaps: parsing, ranges at word edges, printing back as
 * ranges, list input, errors naming the item, and inputs that used to be expanded into arrays
 * (17,000 copies of 0-4095, 140,000 ranges) answered in milliseconds with constant memory.
 */
import t from 'tap';
import { VlanSet } from '../../src/l2/vlan-set';
import { PortVlan } from '../../src/l2/port-vlan';
import { portConfigFrom } from '../../src/control/port-options';

/** The reference: a plain list, as the old code built it. */
function naive(text: string): number[] {
  const out = new Set<number>();
  for (const p of text.split(',')) {
    const q = p.trim();
    if (q === '') continue;
    const [a, b] = q.split('-').map((x) => Number(x.trim()));
    for (let v = a; v <= (b ?? a); v++) out.add(v);
  }
  return [...out].sort((x, y) => x - y);
}
const members = (s: VlanSet) => Array.from({ length: 4096 }, (_, v) => v).filter((v) => s.has(v));

t.test('parse, membership, ranges back', async (t) => {
  const cases: [string, string][] = [
    ['10,20,30-35', '10,20,30-35'],
    [' 5 , 6,7 ', '5-7'],
    ['0-4095', '0-4095'],
    ['31-32', '31-32'],
    ['0-31,64-95', '0-31,64-95'],
    ['4095', '4095'],
    ['0', '0'],
    ['1-30,31,32-33', '1-33'],
    ['100-200,150-250', '100-250'],
    ['10,,20,', '10,20'],
    ['7 - 9', '7-9'],
  ];
  for (const [text, back] of cases) {
    const s = VlanSet.parse(text);
    t.same(members(s), naive(text), `members of '${text}'`);
    t.equal(s.toString(), back, `'${text}' prints as '${back}'`);
    t.equal(s.size, naive(text).length);
    t.same(members(VlanSet.parse(s.toString())), members(s), 'round trip');
  }
  t.equal(VlanSet.from(''), null, 'empty: no restriction');
  t.equal(VlanSet.from([]), null);
  t.equal(VlanSet.of([5, '6', 4095]).toString(), '5-6,4095');
  t.equal(JSON.stringify({ trunks: VlanSet.parse('1,2,3') }), '{"trunks":"1-3"}');
});

t.test('every range endpoint pair in a word neighbourhood matches the reference', async (t) => {
  let bad = 0;
  for (let a = 0; a < 100; a++) for (let b = a; b < 100; b++) {
    const s = VlanSet.parse(`${a}-${b}`);
    if (s.size !== b - a + 1 || !s.has(a) || !s.has(b) || (a > 0 && s.has(a - 1)) || s.has(b + 1)) bad++;
  }
  t.equal(bad, 0);
});

t.test('errors name the item', async (t) => {
  t.throws(() => VlanSet.parse('10,abc,20'), /trunks: 'abc' is not a VLAN id or range/);
  t.throws(() => VlanSet.parse('10-'), /trunks: '10-' is not a VLAN id or range/);
  t.throws(() => VlanSet.parse('5000'), /trunks: '5000' is outside 0\.\.4095/);
  t.throws(() => VlanSet.parse('20-10'), /trunks: '20-10' is outside 0\.\.4095/);
  t.throws(() => VlanSet.parse('1-99999999999999999999999'), /trunks: '1-99999999999999999999999' is outside/);
  t.throws(() => VlanSet.parse('1 2'), /trunks: '1 2' is not a VLAN id or range/);
  t.throws(() => VlanSet.parse('x'.repeat(100000)), /trunks: 'x{32}\.\.\.' is not/, 'a huge item is quoted shortened');
  t.throws(() => VlanSet.of([1, 4096]), /trunks: '4096' is not a VLAN id in 0\.\.4095/);
  t.throws(() => VlanSet.of([1.5]), /'1\.5'/);
  t.throws(() => portConfigFrom({ trunks: { a: 1 } }), /trunks: expected "10,20,30-35" or a list of VLAN ids/);
  t.throws(() => new PortVlan(5, [1]), /either an access port \(tag=\) or a trunk/);
});

t.test('abuse: 17,000 copies of 0-4095 and 140,000 ranges, fast and constant-size', async (t) => {
  const copies = Array(17_000).fill('0-4095').join(',');
  let t0 = process.hrtime.bigint();
  const a = portConfigFrom({ trunks: copies });
  let ms = Number(process.hrtime.bigint() - t0) / 1e6;
  t.equal((a.trunks as VlanSet).toString(), '0-4095');
  t.ok(ms < 200, `17,000 × 0-4095 (${copies.length} chars): ${ms.toFixed(1)} ms`);

  const ranges = Array.from({ length: 140_000 }, (_, i) => `${i % 4000}-${(i % 4000) + 5}`).join(',');
  t0 = process.hrtime.bigint();
  const b = portConfigFrom({ trunks: ranges });
  ms = Number(process.hrtime.bigint() - t0) / 1e6;
  t.equal((b.trunks as VlanSet).toString(), '0-4004');
  t.ok(ms < 300, `140,000 ranges (${ranges.length} chars): ${ms.toFixed(1)} ms`);

  const list = Array.from({ length: 140_000 }, (_, i) => i % 4096);
  t0 = process.hrtime.bigint();
  const c = portConfigFrom({ trunks: list });
  ms = Number(process.hrtime.bigint() - t0) / 1e6;
  t.equal((c.trunks as VlanSet).toString(), '0-4095');
  t.ok(ms < 300, `a list of 140,000 ids: ${ms.toFixed(1)} ms`);
  // The bad item at the very end of a long text is still found and named.
  t.throws(() => portConfigFrom({ trunks: copies + ',4096' }), /trunks: '4096' is outside 0\.\.4095/);
});
