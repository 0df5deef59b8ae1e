/**
 * MAC aging. The housekeeping tick removes aged entries from the head of the age list (a bounded
 * number per tick); between ticks an aged entry behaves as if it had expired on time: lookups
 * miss it, a station seen again is a new 'learned' station, it does not fill the table (so it
 * is never the "evicted" victim of a full-table hit) and the size/fdb/metrics views skip it.
 */
import t from 'tap';
import { MacTable, MacEvent } from '../../src/l2/mac-table';
import { Switch } from '../../src/datapath/switch';
import { MemoryPort } from '../../src/io/memory-port';
import { renderMetrics } from '../../src/control/metrics';
import { udpFrame } from '../../src/wire/frames';

const log = (m: MacTable): string[] => {
  const out: string[] = [];
  m.onEvent = (e: MacEvent) => out.push(`${e.type} ${e.mac.toString(16)}@${e.port}`);
  return out;
};

t.test('the tick removes exactly the aged entries, at most 1024 a call', async (t) => {
  const m = new MacTable({ agingMs: 320_000, maxEntries: 8192 });
  for (let i = 0; i < 2000; i++) m.learn(1, 0x0200, i, 1 + (i % 3), 0);
  m.learn(1, 0x0200, 5, 1 + (5 % 3), 1_000); // seen again later: not aged with the others
  const ev = log(m);
  const now = 320_000;
  t.equal(m.sizeAt(now), 1, 'the live count skips the 1999 aged entries before any tick');
  t.equal(m.lookup(1, 0x0200, 7, now), -1, 'aged: never looked up, removed or not');
  t.equal(m.expireSome(now), 1024);
  t.equal(m.expireSome(now), 975);
  t.equal(m.expireSome(now), 0, 'only the live one is left');
  t.equal(m.size, 1);
  t.equal(ev.length, 1999);
  t.equal(ev.filter((e) => e.startsWith('aged ')).length, 1999, 'one aged event per entry');
  t.equal(m.lookup(1, 0x0200, 5, now), 1 + (5 % 3));
  t.equal(m.expireSome(321_000), 1);
  t.equal(m.expireSome(321_000), 0, 'empty table: nothing to do');
});

t.test('an entry seen again is kept; expire() removes everything aged at once', async (t) => {
  const m = new MacTable({ agingMs: 10_000 });
  m.learn(0, 1, 1, 1, 0);
  m.learn(0, 1, 2, 2, 0);
  m.learn(0, 1, 2, 2, 5_000);
  t.equal(m.expireSome(10_000), 1, 'the one not seen for 10 s');
  t.equal(m.lookup(0, 1, 2, 10_000), 2);
  t.equal(m.lookup(0, 1, 1, 10_000), -1);
  t.equal(m.expire(15_000), 1, 'expire(): everything aged at once');
  t.equal(m.size, 0);
});

t.test('a station seen again after aging, before the tick removed it, is learned anew', async (t) => {
  const m = new MacTable({ agingMs: 10_000 });
  m.learn(0, 0x0200, 0xa, 1, 0);
  m.learn(0, 0x0200, 0xb, 1, 0);
  const ev = log(m);
  m.learn(0, 0x0200, 0xa, 1, 10_000); // same port
  m.learn(0, 0x0200, 0xb, 2, 12_000); // another port: a new station there, not a move
  t.same(ev, ['aged 2000000000a@1', 'learned 2000000000a@1', 'aged 2000000000b@1', 'learned 2000000000b@2']);
  t.equal(m.sizeAt(12_000), 2);
  t.equal(m.lookup(0, 0x0200, 0xb, 12_000), 2);
  t.equal(m.expireSome(19_999), 0, 'both were refreshed by the new learn');
  t.equal(m.expireSome(20_000), 1);
  t.equal(m.lookup(0, 0x0200, 0xb, 20_000), 2);
  t.same(ev.slice(4), ['aged 2000000000a@1']);
});

t.test('aged entries do not fill the table: new stations take their place, no full-table hit', async (t) => {
  // 64 entries in 128 slots: probe windows of 32 slots, so some new stations' windows hold an
  // aged entry and some do not; either way the table is not full.
  const m = new MacTable({ agingMs: 10_000, maxEntries: 64 });
  for (let i = 0; i < 64; i++) m.learn(0, 0x0200, i, 1, 0);
  for (let i = 0; i < 64; i += 2) m.learn(0, 0x0200, i, 1, 5_000); // the odd ones age at 10 s
  const ev = log(m);
  for (let i = 0; i < 32; i++) m.learn(0, 0x0200, 0x1000 + i, 2, 10_000);
  t.equal(m.fullHits, 0, 'no false "table full"');
  t.equal(ev.filter((e) => e.startsWith('evicted')).length, 0, 'no live entry evicted');
  t.equal(ev.filter((e) => e.startsWith('aged')).length, 32);
  t.equal(ev.filter((e) => e.startsWith('learned')).length, 32);
  t.equal(m.size, 64);
  t.equal(m.sizeAt(10_000), 64);
  let live = 0;
  for (let i = 0; i < 64; i += 2) if (m.lookup(0, 0x0200, i, 10_000) === 1) live++;
  for (let i = 0; i < 32; i++) if (m.lookup(0, 0x0200, 0x1000 + i, 10_000) === 2) live++;
  t.equal(live, 64, 'every station seen within the aging time is still there');
  // Now it is full of live entries: a new station is a real full-table hit.
  m.learn(0, 0x0200, 0x2000, 3, 10_000);
  t.equal(m.fullHits, 1);
  t.equal(ev.filter((e) => e.startsWith('evicted')).length, 1);
  t.equal(m.sizeAt(10_000), 64);
});

t.test('the age order survives a rebuild of the slots', async (t) => {
  const m = new MacTable({ agingMs: 100_000, maxEntries: 16 }); // 32 slots: a rebuild at 8 tombstones
  for (let i = 0; i < 16; i++) m.learn(0, 0x0200, i, 1 + (i % 2), i * 1000);
  m.learn(0, 0x0200, 0, 1, 20_000); // 0 is now the youngest
  t.equal(m.flushPort(2), 8, 'the odd ones go: 8 tombstones, a rebuild');
  const ev = log(m);
  t.equal(m.expire(100_000 + 2_000), 1, 'station 2 (seen at 2 s)');
  t.equal(m.expire(100_000 + 14_000), 6, 'stations 4..14');
  t.equal(m.expire(100_000 + 19_999), 0, 'station 0 was seen at 20 s');
  t.equal(m.expire(100_000 + 20_000), 1);
  t.same(ev, ['aged 20000000002@1', 'aged 20000000004@1', 'aged 20000000006@1', 'aged 20000000008@1', 'aged 2000000000a@1', 'aged 2000000000c@1', 'aged 2000000000e@1', 'aged 20000000000@1']);
  t.equal(m.size, 0);
});

t.test('switch: an aged station is gone from fdb-show and the metrics, and does not make the table full', async (t) => {
  const clock = { now: 0 };
  const sw = new Switch({ clock: () => clock.now, arena: { slots: 256, slotSize: 2048 + 128 } });
  sw.addBridge('br0', { macMaxEntries: 4, macAgingMs: 15_000 });
  const p1 = sw.addPort('br0', 'p1', { type: 'memory' }).io as MemoryPort;
  sw.addPort('br0', 'p2', { type: 'memory' });
  const events: string[] = [];
  sw.on('mac', (e: { type: string; mac: string }) => events.push(`${e.type} ${e.mac}`));
  const from = (i: number) => udpFrame({ dst: '02:00:00:00:00:ff', src: `02:00:00:00:01:0${i}`, ipSrc: '10.231.0.1', ipDst: '10.231.0.2' });
  for (let i = 1; i <= 4; i++) p1.inject(from(i));
  sw.runUntilIdle();
  clock.now = 5_000;
  for (let i = 2; i <= 4; i++) p1.inject(from(i));
  sw.runUntilIdle();
  clock.now = 15_000; // station 1 aged; no tick yet
  t.same(sw.fdb('br0').map((e) => e.mac), ['02:00:00:00:01:02', '02:00:00:00:01:03', '02:00:00:00:01:04']);
  t.match(renderMetrics(sw), /tvs_mac_table_entries\{bridge="br0"\} 3\n/);
  events.length = 0;
  p1.inject(from(5));
  sw.runUntilIdle();
  t.same(events, ['aged 02:00:00:00:01:01', 'learned 02:00:00:00:01:05']);
  const m = renderMetrics(sw);
  t.match(m, /tvs_mac_table_entries\{bridge="br0"\} 4\n/);
  t.match(m, /tvs_mac_table_full_total\{bridge="br0"\} 0\n/);
  t.same(sw.fdb('br0').map((e) => e.mac), ['02:00:00:00:01:02', '02:00:00:00:01:03', '02:00:00:00:01:04', '02:00:00:00:01:05']);
});
