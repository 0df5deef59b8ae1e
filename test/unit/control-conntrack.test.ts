/**
 * dump-conntrack / flush-conntrack through the control handlers and the metrics, on a switch
 * with memory ports running a stateful flow set: what ct(commit) created is listed in
 * ovs-appctl dpctl/dump-conntrack's format, per zone, and flushing a zone removes only it.
 */
import t from 'tap';
import { Switch } from '../../src/datapath/switch';
import { MemoryPort } from '../../src/io/memory-port';
import { flowCommands } from '../../src/control/flow-commands';
import { renderMetrics } from '../../src/control/metrics';
import { udpFrame } from '../../src/wire/frames';

function rig() {
  const sw = new Switch({ clock: () => 0, arena: { slots: 256, slotSize: 2048 + 128 } });
  sw.addBridge('br0');
  const p1 = sw.addPort('br0', 'p1', { type: 'memory' }).io as MemoryPort;
  const p2 = sw.addPort('br0', 'p2', { type: 'memory' }).io as MemoryPort;
  const f = sw.flows('br0');
  f.delFlows();
  f.addFlows(`
table=0,priority=10,ip,udp,tp_dst=53,actions=ct(table=1,zone=7)
table=0,priority=10,ip,udp,actions=ct(table=1,zone=9)
table=0,priority=0,actions=NORMAL
table=1,ct_state=+trk+new,ip,udp,tp_dst=53,actions=ct(commit,zone=7,exec(set_field:0x2a->ct_mark)),NORMAL
table=1,ct_state=+trk+new,ip,udp,actions=ct(commit,zone=9),NORMAL
table=1,ct_state=+trk+est,actions=NORMAL
`);
  return { sw, p1, p2, cmd: flowCommands(sw) };
}

const A = { dst: '02:00:00:00:00:02', src: '02:00:00:00:00:01', ipSrc: '10.201.0.1', ipDst: '10.201.0.2' };

t.test('dump-conntrack lists what ct(commit) created, per zone; flush-conntrack by zone', async (t) => {
  const { sw, p1, p2, cmd } = rig();
  p1.inject(udpFrame({ ...A, sport: 5000, dport: 53 }));
  p1.inject(udpFrame({ ...A, sport: 5001, dport: 123 }));
  sw.runUntilIdle();
  t.equal(p2.takeTransmitted().length, 2, 'both datagrams forwarded (NORMAL floods to p2)');
  const all = (await cmd['dump-conntrack']({ bridge: 'br0' })) as { bridge: string; connections: string[] }[];
  t.same(all, [
    {
      bridge: 'br0',
      connections: [
        'udp,orig=(src=10.201.0.1,dst=10.201.0.2,sport=5000,dport=53),reply=(src=10.201.0.2,dst=10.201.0.1,sport=53,dport=5000),zone=7,mark=42',
        'udp,orig=(src=10.201.0.1,dst=10.201.0.2,sport=5001,dport=123),reply=(src=10.201.0.2,dst=10.201.0.1,sport=123,dport=5001),zone=9',
      ],
    },
  ]);
  const z9 = (await cmd['dump-conntrack']({ zone: 9 })) as { connections: string[] }[];
  t.equal(z9[0].connections.length, 1);
  t.match(z9[0].connections[0], /zone=9$/);
  const m = renderMetrics(sw);
  t.match(m, /tvs_conntrack_connections\{bridge="br0"\} 2/);
  t.match(m, /tvs_conntrack_committed_total\{bridge="br0"\} 2/);
  t.same(await cmd['flush-conntrack']({ bridge: 'br0', zone: 9 }), { flushed: 1 });
  t.equal(((await cmd['dump-conntrack']({})) as { connections: string[] }[])[0].connections.length, 1, 'zone 7 kept');
  t.same(await cmd['flush-conntrack']({}), { flushed: 1 });
  t.throws(() => cmd['dump-conntrack']({ zone: 70000 }), /zone must be an integer in 0..65535/);
  t.throws(() => cmd['flush-conntrack']({ bridge: 'nope' }));
});
