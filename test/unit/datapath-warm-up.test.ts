/**
 * The start-up warm-up (datapath/warm-up.ts) runs its frames on a scratch switch of its own: the
 * switch a user configured shows nothing of it afterwards — no frame left any of its ports, its
 * flows (cookies, counters), port counters, MAC table, conntrack, router, NAT sessions and drop
 * counters are exactly as before, also when the user's switch has a firewall-like pipeline, a
 * patch pair with VLAN flows and a router with a floating IP of its own, and traffic already
 * went through them — while the warm-up itself did run every frame it made.
 */
import t from 'tap';
import { Switch } from '../../src/datapath/switch';
import { MemoryPort } from '../../src/io/memory-port';
import { warmUpDatapath, DEFAULT_WARM_UP_FRAMES } from '../../src/datapath/warm-up';
import { arpRequest } from '../../src/wire/frames';
import { parseFlow } from '../../src/flow/ofctl-parse';
import { synthesizeFrame } from '../../src/flow/trace';

const frame = (m: string) => synthesizeFrame(parseFlow(m, 'match', { resolvePort: () => -1 }).match);

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

/**
 * The user's switch with the warm-up scenes' own kinds of configuration (and names: a scratch
 * switch that leaked into it would collide or show), with traffic through it before the warm-up.
 */
function fullRig() {
  const sw = new Switch({ clock: () => 0, arena: { slots: 256, slotSize: 2048 + 128 } });
  sw.addBridge('warm-fw');
  const a = sw.addPort('warm-fw', 'wfwa', { type: 'memory', tag: 1, ofport: 3 }).io as MemoryPort;
  const b = sw.addPort('warm-fw', 'wfwb', { type: 'memory', tag: 1, ofport: 4 }).io as MemoryPort;
  const fw = sw.flows('warm-fw');
  fw.addFlow('cookie=0x77,priority=20,ip,actions=ct(table=1,zone=5)');
  fw.addFlow('cookie=0x78,table=1,priority=20,ct_state=+trk+new,ip,actions=ct(commit,zone=5),NORMAL');
  fw.addFlow('cookie=0x79,table=1,priority=10,ct_state=+trk,ip,actions=NORMAL');
  sw.addBridge('warm-va');
  sw.addBridge('warm-ex');
  sw.addPort('warm-va', 'wvpa', { type: 'patch', peer: 'wvpb' });
  sw.addPort('warm-ex', 'wvpb', { type: 'patch', peer: 'wvpa' });
  const v = sw.addPort('warm-va', 'wva', { type: 'memory' }).io as MemoryPort;
  const e = sw.addPort('warm-ex', 'wre', { type: 'memory' }).io as MemoryPort;
  sw.flows('warm-va').addFlow('cookie=0x80,priority=5,in_port=wva,actions=mod_vlan_vid:10,output:wvpa');
  sw.l3.addRouter('warm-up');
  sw.l3.routerAddPort('warm-up', { bridge: 'warm-fw', port: 'wqr', mac: '02:52:00:00:03:01', cidr: '10.0.3.1/24', tag: 1 });
  sw.l3.routerAddPort('warm-up', { bridge: 'warm-ex', port: 'wqg', mac: '02:52:fa:00:04:01', cidr: '10.0.4.1/24', gateway: true });
  sw.l3.router('warm-up').addFloatingIp('10.0.4.50', '10.0.3.10');
  sw.start();
  // Traffic: a connection through the firewall, the VM's ARP and an echo out through its
  // floating IP (a NAT session), a frame across the patch pair.
  const A = 'dl_src=02:00:00:00:03:0a';
  a.inject(frame(`arp,${A},dl_dst=ff:ff:ff:ff:ff:ff,arp_op=1,arp_spa=10.0.3.10,arp_tpa=10.0.3.1,arp_sha=02:00:00:00:03:0a`));
  a.inject(frame(`icmp,${A},dl_dst=02:00:fa:00:01:0b,nw_src=10.0.3.10,nw_dst=10.0.3.11,icmp_type=8`));
  a.inject(frame(`icmp,${A},dl_dst=02:52:00:00:03:01,nw_src=10.0.3.10,nw_dst=10.0.4.100,icmp_type=8`));
  v.inject(frame('icmp,dl_src=02:00:00:00:02:0a,dl_dst=02:00:fa:00:02:0b,nw_src=10.0.2.10,nw_dst=10.0.2.11,icmp_type=8'));
  sw.runUntilIdle();
  const ports = [a, b, v, e];
  const sent = ports.map((p) => p.takeTransmitted().length);
  return { sw, ports, sent };
}

function fullState(sw: Switch) {
  const bridges = [...sw.bridges.keys()];
  return {
    bridges,
    ports: sw.allPorts().map((p) => p.name),
    flows: bridges.map((b) => sw.flows(b).formatFlows()),
    dumpPorts: bridges.map((b) => sw.dumpPorts(b)),
    fdb: bridges.map((b) => sw.fdb(b)),
    conntrack: bridges.map((b) => sw.flows(b).conntrack.dump()),
    drops: bridges.map((b) => sw.bridgeDrops(b)),
    routers: sw.l3.routerNames(),
    router: sw.l3.router('warm-up').show(),
    sessions: sw.l3.router('warm-up').sessions(),
  };
}

t.test('a switch configured like the scenes, with traffic through it: the warm-up changes nothing of it', async (t) => {
  const { sw, ports, sent } = fullRig();
  t.teardown(() => sw.stop());
  const before = fullState(sw);
  t.equal(before.conntrack[0].length, 2, 'the user has connections (to the other host and to the router)');
  t.equal(before.sessions.length, 1, 'and a NAT session');
  t.ok(sent[1] > 0 && sent[3] > 0, 'frames left the firewall bridge and the router');
  const r = await warmUpDatapath({ pause: now, cpuBudgetMs: Infinity });
  t.equal(r.frames, DEFAULT_WARM_UP_FRAMES);
  t.same(fullState(sw), before, 'bridges, ports, flows with cookies and counters, port counters, MAC tables, conntrack, drops, router and NAT sessions as before');
  t.same(
    ports.map((p) => p.takeTransmitted().length),
    [0, 0, 0, 0],
    'nothing left any of its ports',
  );
});

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
  t.ok(r.forwarded >= DEFAULT_WARM_UP_FRAMES * 0.9, `and forwarded by the scratch bridges (${r.forwarded}: a few are dropped on purpose, routers answer ARP)`);
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
});
