/**
 * The Switch's 'saturation' event: true when a receive burst comes back full (frames were
 * waiting), once per transition; false once no burst has come back full for SATURATION_CALM_MS;
 * never for traffic that fits a burst. The daemon moves the datapath thread's scheduler slice on it
 * (src/cli/datapath-slice.ts), checked here with sliceOnSaturation and a fake setter.
 */
import t from 'tap';
import { Switch, SATURATION_CALM_MS } from '../../src/datapath/switch';
import { MemoryPort } from '../../src/io/memory-port';
import { BURST } from '../../src/packet/batch';
import { sliceOnSaturation, type DatapathSliceState } from '../../src/cli/datapath-slice';
import { udpFrame } from '../../src/wire/frames';

function rig() {
  let now = 1000;
  const sw = new Switch({ clock: () => now, arena: { slots: 4096, slotSize: 2048 + 128 } });
  sw.addBridge('br0');
  const p1 = sw.addPort('br0', 'p1', { type: 'memory' });
  const p2 = sw.addPort('br0', 'p2', { type: 'memory' });
  (p2.io as MemoryPort).keep = 0;
  const events: boolean[] = [];
  sw.on('saturation', (on: boolean) => events.push(on));
  return { sw, p1, gen: p1.io as MemoryPort, events, advance: (ms: number) => (now += ms) };
}

const FRAME = udpFrame({ dst: '02:00:00:00:00:02', src: '02:00:00:00:00:01', ipSrc: '10.0.0.1', ipDst: '10.0.0.2', dport: 9 });

t.test('full bursts: saturated once; calm after SATURATION_CALM_MS without one', async (t) => {
  const { sw, p1, gen, events, advance } = rig();
  gen.setGenerator([FRAME], 3 * BURST + 5);
  sw.drain(p1);
  t.same(events, [true], 'three full bursts: one transition');
  t.equal(sw.isSaturated, true);
  t.equal(gen.pending, 0, 'everything drained');

  advance(SATURATION_CALM_MS - 1);
  gen.setGenerator([FRAME], 1);
  sw.drain(p1);
  t.same(events, [true], 'a short burst before the calm period: still saturated');

  advance(1);
  gen.setGenerator([FRAME], 1);
  sw.drain(p1);
  t.same(events, [true, false], `${SATURATION_CALM_MS} ms without a full burst: calm`);
  t.equal(sw.isSaturated, false);

  gen.setGenerator([FRAME], BURST);
  sw.drain(p1);
  t.same(events, [true, false, true], 'a full burst again: saturated again');
});

t.test('traffic that stops while saturated: the housekeeping tick notices the calm', async (t) => {
  const { sw, p1, gen, events, advance } = rig();
  gen.setGenerator([FRAME], 2 * BURST);
  sw.drain(p1);
  t.same(events, [true], 'full bursts, then nothing more arrives');
  sw.tick();
  t.same(events, [true], 'a tick within the calm period changes nothing');
  advance(SATURATION_CALM_MS);
  sw.tick();
  t.same(events, [true, false], `the tick ${SATURATION_CALM_MS} ms after the last full burst: calm`);
  t.equal(sw.isSaturated, false);
});

t.test('traffic that fits a burst never counts as saturation', async (t) => {
  const { sw, p1, gen, events, advance } = rig();
  for (let i = 0; i < 50; i++) {
    gen.setGenerator([FRAME], BURST - 1);
    sw.drain(p1);
    advance(1);
  }
  t.same(events, []);
  t.equal(sw.isSaturated, false);
});

t.test('sliceOnSaturation: the default slice while saturated, the short one when calm', async (t) => {
  const calls: Array<[number, number]> = [];
  const st: DatapathSliceState = { requested_us: 100, slice_us: 100, applied: true };
  const on = sliceOnSaturation(st, 77, (tid, ns) => (calls.push([tid, ns]), 0));
  on(true);
  on(true);
  on(false);
  on(true);
  t.same(calls, [[77, 0], [77, 100_000], [77, 0]], 'one call per transition');
  t.same(st, { requested_us: 100, slice_us: 100, applied: true, saturated: true, saturations: 2 });

  const off: DatapathSliceState = { requested_us: 100, slice_us: 0, applied: false, error: 'x' };
  const none: Array<[number, number]> = [];
  const h = sliceOnSaturation(off, 77, (tid, ns) => (none.push([tid, ns]), 0));
  h(true);
  t.same(none, [], 'a slice the kernel did not take is never touched');
});
