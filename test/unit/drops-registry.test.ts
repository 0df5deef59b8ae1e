/**
 * The drop-reason registry: each stage declares its reasons once (ids, names, texts), and a
 * dropped frame is counted once, by the stage that dropped it.
 */
import t from 'tap';
import { Switch } from '../../src/datapath/switch';
import { MemoryPort } from '../../src/io/memory-port';
import { defineDrops, dropRegistries, explainDrop, DropCounters, type DropRegistry } from '../../src/packet/drops';
import { PARSE_DROPS } from '../../src/packet/parse';
import { PORT_DROPS } from '../../src/io/port';
import { FLOW_DROPS } from '../../src/flow/flow-drops';
import { NORMAL_DROPS } from '../../src/l2/normal';
import { BRIDGE_DROPS } from '../../src/datapath/bridge';
import { ROUTER_DROPS } from '../../src/l3/router-drops';
import { dropLegend } from '../../src/datapath/views';
import { formatDumpPorts } from '../../src/cli/format';
import { udpFrame } from '../../src/wire/frames';

const A = '02:00:00:00:00:0a';
const B = '02:00:00:00:00:0b';

function setup() {
  const sw = new Switch({ clock: () => 1000, arena: { slots: 256 } });
  sw.addBridge('br0');
  const p1 = sw.addPort('br0', 'p1', { type: 'memory' }).io as MemoryPort;
  const p2 = sw.addPort('br0', 'p2', { type: 'memory' }).io as MemoryPort;
  const send = (port: MemoryPort, n = 1) => {
    for (let i = 0; i < n; i++) port.inject(udpFrame({ dst: B, src: A, ipSrc: '10.0.0.1', ipDst: '10.0.0.2', sport: 1000 + i }));
    sw.runUntilIdle();
  };
  return { sw, p1, p2, send };
}

/** Every counter a bridge's stages keep, summed: each dropped frame must appear once. */
function countedEverywhere(sw: Switch): number {
  const br = sw.bridge('br0');
  return br.parseDrops.total() + br.drops.total() + sw.flows('br0').drops.total() + br.normalDrops.total();
}

t.test('drops: a frame the flow tables drop is counted once (by the flow stage, not again by the bridge)', async (t) => {
  const { sw, p1, p2, send } = setup();
  sw.flows('br0').addFlow('priority=100,in_port=1,actions=drop');
  sw.flows('br0').addFlow('priority=100,in_port=2,actions=load:1->NXM_NX_REG1[]');
  send(p1, 3);
  send(p2, 2);
  t.equal(sw.flows('br0').drops.get('action_drop'), 3, 'the flow stage counted the explicit drops');
  t.equal(sw.flows('br0').drops.get('no_output'), 2, 'and the frames no action sent anywhere');
  t.equal(sw.bridge('br0').drops.total(), 0, 'the bridge did not count them again');
  t.equal(countedEverywhere(sw), 5, '5 frames dropped, 5 counts over all stages');
  t.same(sw.bridgeDrops('br0'), { action_drop: 3, no_output: 2 }, 'the bridge view shows each once');
  t.equal(sw.arena.available, sw.arena.capacity, 'every slot released');
});

t.test('drops: NORMAL counts its own drops; the bridge view merges the stages', async (t) => {
  const sw = new Switch({ clock: () => 1000, arena: { slots: 256 } });
  sw.addBridge('br0');
  const acc = sw.addPort('br0', 'acc', { type: 'memory', tag: 10 }).io as MemoryPort;
  sw.addPort('br0', 'trunk', { type: 'memory', trunks: [20] });
  // A tagged frame on an access port: the flow tables pass it to NORMAL (the default flow),
  // which refuses it, as in OVS; NORMAL counts it, not the bridge.
  acc.inject(udpFrame({ dst: B, src: A, ipSrc: '10.0.0.1', ipDst: '10.0.0.2', vid: 10 }));
  sw.runUntilIdle();
  t.equal(sw.bridge('br0').normalDrops.get('vlan_not_allowed'), 1, 'NORMAL counted the tagged frame');
  t.equal(sw.bridge('br0').drops.total(), 0, 'the bridge itself dropped nothing');
  // Untagged on VLAN 10: the trunk does not carry 10, so NORMAL finds no port.
  acc.inject(udpFrame({ dst: B, src: A, ipSrc: '10.0.0.1', ipDst: '10.0.0.2' }));
  sw.runUntilIdle();
  t.equal(sw.bridge('br0').normalDrops.get('no_output'), 1, 'NORMAL counted it');
  t.equal(countedEverywhere(sw), 2);
  t.same(sw.bridgeDrops('br0'), { vlan_not_allowed: 1, no_output: 1 });
});

t.test('drops: one declaration gives ids, names and texts', async (t) => {
  const R = defineDrops('test-stage', { first: 'the first reason', second: 'the second reason' });
  t.same(R.reasons, ['first', 'second']);
  t.same([R.id.first, R.id.second], [0, 1]);
  t.equal(R.text.second, 'the second reason');
  const c = new DropCounters(R);
  c.add(R.id.second, 2);
  t.same(c.toJSON(), { second: 2 });
  t.equal(c.registry, R);
  t.throws(() => defineDrops('test-stage', { x: 'y' }), /declared twice/);

  const stages = dropRegistries().map((r) => r.stage);
  for (const s of ['parse', 'port', 'flow', 'normal', 'bridge', 'router']) t.ok(stages.includes(s), `stage ${s} is declared`);
  for (const reg of [PARSE_DROPS, PORT_DROPS, FLOW_DROPS, NORMAL_DROPS, BRIDGE_DROPS, ROUTER_DROPS] as DropRegistry[]) {
    for (const r of reg.reasons) {
      t.match(r, /^[a-z0-9_]+$/, `${reg.stage}/${r}: a metric-label-safe name`);
      t.ok(reg.text[r].length > 10, `${reg.stage}/${r} is explained`);
    }
  }
});

t.test('drops: dump-ports explains each reason it shows', async (t) => {
  t.equal(explainDrop('table_miss'), FLOW_DROPS.text.table_miss);
  t.match(explainDrop('no_output'), /flow: the actions ran to the end without sending the frame anywhere/, 'a shared name says which stage means what');
  t.match(explainDrop('no_output'), /normal: /);
  t.equal(explainDrop('no_such_reason'), undefined);
  const legend = dropLegend(['tx_port_down', 'no_output', 'unknown_thing']);
  t.same(Object.keys(legend), ['tx_port_down', 'no_output']);
  const text = formatDumpPorts('br0', {
    ports: [{ name: 'p1', ofport: 1, up: true, rx_packets: 1, rx_bytes: 60, tx_packets: 0, tx_bytes: 0, drops: { tx_port_down: 1 } }],
    drops: { no_output: 2 },
    legend,
  });
  t.match(text, /drop reasons:\n {4}tx_port_down {2}output to a port that is down or closed\n {4}no_output {5}bridge: FLOOD\/ALL found no other port/);
});
