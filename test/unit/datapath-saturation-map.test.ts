/**
 * A switch's first saturated burst leaves its hidden class (V8 map) as it was. It did not: the
 * time of the last full burst lived in a field that held the small integer 0 until then, and
 * the first full burst wrote the clock (a fractional number of ms) into it, which gave every
 * Switch a new map and deoptimized every compiled function that checks it ("wrong map": enqueue,
 * flush, runIngress, the router port's sink ...) just as the load peaked (bench/results/README.md
 * "Routed loss at the maximum"). Checked in a child node with --allow-natives-syntax: two
 * switches built alike have the same map, and still do after one of them saturated and calmed.
 */
import t from 'tap';
import { spawnSync } from 'child_process';
import * as path from 'path';

const dist = path.resolve(__dirname, '../../src');

const child = `
const { Switch, SATURATION_CALM_MS } = require(${JSON.stringify(path.join(dist, 'datapath/switch.js'))});
const { BURST } = require(${JSON.stringify(path.join(dist, 'packet/batch.js'))});
let now = 1000.25; // a monotonic clock's ms are fractional
function build() {
  const sw = new Switch({ clock: () => now, arena: { slots: 4096, slotSize: 2048 + 128 } });
  sw.addBridge('br0');
  const p1 = sw.addPort('br0', 'p1', { type: 'memory' });
  const p2 = sw.addPort('br0', 'p2', { type: 'memory' });
  p2.io.keep = 0;
  return { sw, p1 };
}
const calm = build();
const busy = build();
const frame = Buffer.alloc(60);
Buffer.from('020000000002020000000001', 'hex').copy(frame, 0);
frame.writeUInt16BE(0x88b5, 12);
const events = [];
busy.sw.on('saturation', (on) => events.push(on));
const before = %HaveSameMap(calm.sw, busy.sw);
busy.p1.io.setGenerator([frame], 2 * BURST + 1);
busy.sw.drain(busy.p1);
const saturated = busy.sw.isSaturated;
const afterSaturation = %HaveSameMap(calm.sw, busy.sw);
now += SATURATION_CALM_MS + 0.5;
busy.p1.io.setGenerator([frame], 1);
busy.sw.drain(busy.p1);
const afterCalm = %HaveSameMap(calm.sw, busy.sw);
console.log(JSON.stringify({ before, saturated, afterSaturation, afterCalm, events, calmSaturated: calm.sw.isSaturated }));
`;

t.test("saturation and calm do not change the Switch's map", async (t) => {
  const r = spawnSync(process.execPath, ['--allow-natives-syntax', '-e', child], { encoding: 'utf8', timeout: 60_000 });
  t.equal(r.status, 0, `the child ran (${r.stderr.trim().slice(0, 300)})`);
  const out = JSON.parse(r.stdout.trim().split('\n').pop() ?? '{}');
  t.equal(out.before, true, 'two switches built alike share a map');
  t.equal(out.saturated, true, 'full bursts saturated one of them');
  t.same(out.events, [true, false], "its 'saturation' events: on, then off after the calm period");
  t.equal(out.calmSaturated, false, 'the other never saturated');
  t.equal(out.afterSaturation, true, 'the same map after the first saturated burst');
  t.equal(out.afterCalm, true, 'and after the calm');
});
