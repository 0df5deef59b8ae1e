/**
 * A new bridge has OVS's default flow, `priority=0 actions=NORMAL` in table 0, as a real rule:
 * dump-flows shows it, it counts packets, an added flow does not turn NORMAL off, and after
 * del-flows the bridge drops everything. (OVS 3.1: `ovs-vsctl add-br br0; ovs-ofctl
 * dump-flows br0` prints ` cookie=0x0, duration=..., table=0, n_packets=0, n_bytes=0,
 * priority=0 actions=NORMAL`; after `ovs-ofctl del-flows br0` the bridge forwards nothing.)
 */
import t from 'tap';
import { Switch } from '../../src/datapath/switch';
import { MemoryPort } from '../../src/io/memory-port';
import { runTrace } from '../../src/flow/trace';
import { arpRequest, udpFrame } from '../../src/wire/frames';

function rig() {
  const sw = new Switch({ clock: () => 0, arena: { slots: 256, slotSize: 2048 + 128 } });
  sw.addBridge('br0');
  const p1 = sw.addPort('br0', 'p1', { type: 'memory' }).io as MemoryPort;
  const p2 = sw.addPort('br0', 'p2', { type: 'memory' }).io as MemoryPort;
  return { sw, p1, p2 };
}

const ARP = arpRequest('02:00:00:00:00:01', '10.0.0.1', '10.0.0.2');

t.test('a new bridge shows the default flow and it counts packets', async (t) => {
  const { sw, p1, p2 } = rig();
  t.equal(sw.flows('br0').formatFlows(), ' cookie=0x0, duration=0s, table=0, n_packets=0, n_bytes=0, priority=0 actions=NORMAL\n');
  p1.inject(ARP);
  p1.inject(ARP);
  sw.runUntilIdle();
  t.same(p2.takeTransmitted(), [ARP, ARP], 'NORMAL flooded both ARP requests to p2');
  t.equal(sw.flows('br0').formatFlows(), ` cookie=0x0, duration=0s, table=0, n_packets=2, n_bytes=${2 * ARP.length}, priority=0 actions=NORMAL\n`);
});

t.test('adding a flow keeps NORMAL for everything else (ARP still works)', async (t) => {
  const { sw, p1, p2 } = rig();
  sw.flows('br0').addFlow('priority=10,udp,tp_dst=53,actions=drop');
  p1.inject(ARP);
  const dns = udpFrame({ dst: '02:00:00:00:00:02', src: '02:00:00:00:00:01', ipSrc: '10.0.0.1', ipDst: '10.0.0.2', dport: 53 });
  p1.inject(dns);
  sw.runUntilIdle();
  t.same(p2.takeTransmitted(), [ARP], 'ARP forwarded by the default flow, DNS dropped by the new one');
  const dump = sw.flows('br0').formatFlows();
  t.equal(
    dump,
    [
      ` cookie=0x0, duration=0s, table=0, n_packets=1, n_bytes=${dns.length}, priority=10,udp,tp_dst=53 actions=drop`,
      ` cookie=0x0, duration=0s, table=0, n_packets=1, n_bytes=${ARP.length}, priority=0 actions=NORMAL`,
      '',
    ].join('\n'),
  );
});

t.test('del-flows removes the default flow: the bridge then drops everything', async (t) => {
  const { sw, p1, p2 } = rig();
  t.equal(sw.flows('br0').delFlows().length, 1, 'the default flow is a real rule');
  t.equal(sw.flows('br0').formatFlows(), '');
  p1.inject(ARP);
  p2.inject(ARP);
  sw.runUntilIdle();
  t.same(p1.takeTransmitted(), []);
  t.same(p2.takeTransmitted(), []);
  t.equal(sw.bridgeDrops('br0').table_miss, 2, 'both counted as table misses');
  // Putting it back restores forwarding.
  sw.flows('br0').addFlow('priority=0,actions=NORMAL');
  p1.inject(ARP);
  sw.runUntilIdle();
  t.same(p2.takeTransmitted(), [ARP]);
});

t.test('trace follows the default flow like any rule', async (t) => {
  const { sw } = rig();
  const r = runTrace(sw.flows('br0'), { flow: 'in_port=p1,arp' });
  t.match(r.text, /^0\. priority=0, cookie 0x0$/m);
  t.match(r.text, /^ {4}NORMAL$/m);
  sw.flows('br0').delFlows();
  t.match(runTrace(sw.flows('br0'), { flow: 'in_port=p1,arp' }).text, /^0\. No match\.$/m);
});
