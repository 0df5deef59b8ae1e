/**
 * The start-up warm-up (datapath/warm-up.ts) runs its frames on a scratch switch of its own: the
 * switch a user configured shows nothing of it afterwards — no frame left any of its ports, its
 * flows, port counters, MAC table, conntrack and drop counters are exactly as before — while the
 * warm-up itself did forward every frame it made (so it ran the forwarding code).
 */
import t from 'tap';
import { Switch } from '../../src/datapath/switch';
import { MemoryPort } from '../../src/io/memory-port';
import { warmUpDatapath, DEFAULT_WARM_UP_FRAMES } from '../../src/datapath/warm-up';
import { arpRequest } from '../helpers/frames';

const now = async () => undefined;

function rig() {
  const sw = new Switch({ clock: () => 0, arena: { slots: 256, slotSize: 2048 + 128 } });
  sw.addBridge('br0');
  // A conntrack flow too, so the user's conntrack table is in play.
  sw.flows('br0').addFlow('priority=10,ip,ct_state=-trk,actions=ct(commit),NORMAL');
  const p1 = sw.addPort('br0', 'p1', { type: 'memory' }).io as MemoryPort;
  const p2 = sw.addPort('br0', 'p2', { type: 'memory' }).io as MemoryPort;
  let macEvents = 0;
  sw.on('mac', () => macEvents++);
  return { sw, p1, p2, macEvents: () => macEvents };
}

function state(sw: Switch) {
  return {
    flows: sw.flows('br0').formatFlows(),
    ports: sw.dumpPorts('br0'),
    fdb: sw.fdb('br0'),
    conntrack: sw.flows('br0').conntrack.dump(),
    drops: sw.bridgeDrops('br0'),
  };
}

t.test('the warm-up forwards its frames and leaves the configured switch untouched', async (t) => {
  const { sw, p1, p2, macEvents } = rig();
  sw.start();
  t.teardown(() => sw.stop());
  const before = state(sw);
  // No CPU budget here: a loaded machine would otherwise end it early and the count would vary.
  const r = await warmUpDatapath({ pause: now, cpuBudgetMs: Infinity });
  t.equal(r.frames, DEFAULT_WARM_UP_FRAMES, 'every warm-up frame was received (on the scratch ports)');
  t.equal(r.forwarded, DEFAULT_WARM_UP_FRAMES, 'and forwarded by the scratch bridge (each to the one other port)');
  t.same(p1.takeTransmitted(), [], 'nothing left p1');
  t.same(p2.takeTransmitted(), [], 'nothing left p2');
  t.same(state(sw), before, 'flows, port counters, MAC table, conntrack and drops as before');
  t.equal(
    sw.flows('br0').formatFlows(),
    [
      ' cookie=0x0, duration=0s, table=0, n_packets=0, n_bytes=0, priority=10,ct_state=-trk,ip actions=ct(commit),NORMAL',
      ' cookie=0x0, duration=0s, table=0, n_packets=0, n_bytes=0, priority=0 actions=NORMAL',
      '',
    ].join('\n'),
    'no flow counted a packet',
  );
  t.same(
    sw.dumpPorts('br0').map((p) => [p.name, p.rx_packets, p.tx_packets, p.rx_bytes, p.tx_bytes]),
    [
      ['p1', 0, 0, 0, 0],
      ['p2', 0, 0, 0, 0],
    ],
    'no port counted a frame',
  );
  t.same(sw.fdb('br0'), [], 'no MAC learned');
  t.same(sw.flows('br0').conntrack.dump(), [], 'no connection tracked');
  t.equal(macEvents(), 0, "no 'mac' event from the user's switch");
  t.same(sw.bridges.size, 1, 'the user sees only their bridge');
  t.same(sw.allPorts().map((p) => p.name), ['p1', 'p2'], 'and only their ports');

  // The user's switch forwards as before.
  const arp = arpRequest('02:00:00:00:00:01', '10.0.0.1', '10.0.0.2');
  p1.inject(arp);
  sw.runUntilIdle();
  t.same(p2.takeTransmitted(), [arp], 'a frame after the warm-up is forwarded');
  t.same(sw.dumpPorts('br0').map((p) => [p.name, p.rx_packets, p.tx_packets]), [
    ['p1', 1, 0],
    ['p2', 0, 1],
  ]);
  t.equal(sw.fdb('br0').length, 1, 'and its source is learned, alone');
});

t.test('frames: 0 runs nothing', async (t) => {
  t.same(await warmUpDatapath({ frames: 0, pause: now }), { frames: 0, forwarded: 0, cpuMs: 0 });
});

t.test('a smaller count runs exactly that many frames', async (t) => {
  const r = await warmUpDatapath({ frames: 37, pause: now, cpuBudgetMs: Infinity });
  t.equal(r.frames, 37);
  t.equal(r.forwarded, 37);
});
