/**
 * The warm-up's scratch topologies (datapath/warm-up-scenes.ts) run the paths they are there to
 * warm: the firewall scene's frames go through conntrack (tracked, committed), recirculation and
 * the conjunctions, and are dropped where the security group says; the VLAN scene's cross the
 * patch pair tagged and leave untagged; the router scene's are translated both ways by the
 * floating IP. Each scene is run twice in order on a switch of the test's own.
 */
import t from 'tap';
import { Switch } from '../../src/datapath/switch';
import { MemoryPort } from '../../src/io/memory-port';
import { buildScenes, type Scene } from '../../src/datapath/warm-up-scenes';
import { frameVid } from '../../src/wire/frames';
import type { PacketArena } from '../../src/packet/arena';
import type { PortConfig } from '../../src/datapath/switch-port';

function rig() {
  // The scenes' host ports are afpacket ports; here in-memory ones stand in for them.
  const factory = { open: (name: string, arena: PacketArena, c: PortConfig) => (c.type === 'afpacket' ? new MemoryPort(name, arena) : null) };
  const sw = new Switch({ clock: () => 0, arena: { slots: 256, largeSlots: 0 }, io: factory });
  const scenes = new Map(buildScenes(sw).map((s) => [s.name, s]));
  const run = (s: Scene, times: number) => {
    for (let r = 0; r < times; r++)
      for (const f of s.frames) {
        (f.port.io as MemoryPort).inject(f.frame);
        sw.drain(f.port);
      }
  };
  const io = (name: string) => sw.findPort(name)!.io as MemoryPort;
  const ip = (f: Buffer, at: number) => [...f.subarray(at, at + 4)].join('.');
  return { sw, scenes, run, io, ip };
}

t.test('the scenes are l2, fw, vlan and router, on bridges and ports of their own', async (t) => {
  const { sw, scenes } = rig();
  t.same([...scenes.keys()], ['l2', 'fw', 'vlan', 'router']);
  t.same([...sw.bridges.keys()], ['warm-l2', 'warm-fw', 'warm-va', 'warm-vb', 'warm-int', 'warm-ex']);
  t.same(
    sw.allPorts().map((p) => p.name),
    ['wl2a', 'wl2b', 'wfwa', 'wfwb', 'wva', 'wvpa', 'wvpb', 'wvb', 'wri', 'wre', 'wqr', 'wqg'],
  );
});

t.test('l2: NORMAL forwards every frame to the other port (the IPv6 multicast floods)', async (t) => {
  const { scenes, run, io } = rig();
  run(scenes.get('l2')!, 2);
  t.equal(io('wl2a').counters.rxPackets, 10);
  t.equal(io('wl2b').counters.txPackets, 10);
  t.equal(io('wl2b').counters.rxPackets, 10);
  t.equal(io('wl2a').counters.txPackets, 10);
});

t.test('fw: conntrack, recirculation and conjunctions; what the group does not allow is dropped', async (t) => {
  const { sw, scenes, run, io } = rig();
  const fw = scenes.get('fw')!;
  run(fw, 2);
  const a = io('wfwa');
  const b = io('wfwb');
  // a sends: ARP request, 16 echo requests, 8 new UDP connections to port 9 (allowed), 2 TCP
  // SYNs to port 22 (not allowed: dropped) per pass; b sends the ARP reply and 16 echo replies.
  t.equal(a.counters.rxPackets, 2 * 27);
  t.equal(b.counters.rxPackets, 2 * 17);
  t.equal(b.counters.txPackets, 2 * 25, 'echo requests, UDP 9 and the ARP request reached b; the SYNs did not');
  t.equal(a.counters.txPackets, 2 * 17, 'every echo reply and the ARP reply reached a');
  const sent = b.takeTransmitted();
  t.ok(sent.every((f) => frameVid(f) === undefined), 'untagged on the access port (strip_vlan)');
  const conns = sw.flows('warm-fw').conntrack.dump();
  t.equal(conns.filter((c) => c.startsWith('icmp,')).length, 1, 'one ICMP connection');
  t.equal(conns.filter((c) => c.startsWith('udp,')).length, 8, 'one per UDP source port');
  t.equal(conns.filter((c) => c.startsWith('tcp,')).length, 0, 'the SYNs: dropped by the ingress rules, never committed');
  t.ok(conns.every((c) => c.includes('zone=1')), 'in the zone reg6 names');
  const hits = (pattern: RegExp) =>
    sw
      .flows('warm-fw')
      .formatFlows()
      .split('\n')
      .filter((l) => pattern.test(l))
      .map((l) => Number(/n_packets=(\d+)/.exec(l)![1]));
  t.same(hits(/conj_id=18,.*output:wfwb/), [2 * 16 - 1], 'ICMP established to b: the conjunction (all echo requests but the first)');
  t.same(hits(/conj_id=19,.*output:wfwb/), [1], 'ICMP new to b: the conjunction, committed');
  t.same(hits(/conj_id=23,.*output:wfwb/), [2 * 8], 'UDP 9 to b, new (no reply yet): the conjunction, committed');
  t.same(hits(/table=72,.*ct_state=\+est-rel\+rpl,.*reg5=0x4 actions=resubmit\(,94\)/), [2 * 16], "b's echo replies: established, reply direction");
  t.same(hits(/table=82,.*priority=40,ct_state=-est,reg5=0x4 /), [2 * 2], 'the SYNs to port 22: no rule allows them');
});

t.test('vlan: frames cross the patch pair tagged and leave untagged', async (t) => {
  const { sw, scenes, run, io } = rig();
  run(scenes.get('vlan')!, 2);
  t.equal(io('wvb').counters.txPackets, 2 * 5);
  t.equal(io('wva').counters.txPackets, 2 * 5);
  t.ok(io('wvb').takeTransmitted().every((f) => frameVid(f) === undefined));
  const patch = sw.dumpPorts('warm-va').find((p) => p.name === 'wvpa')!;
  t.equal(patch.tx_packets, 2 * 5, 'through the patch port');
  t.match(sw.flows('warm-vb').formatFlows(), /n_packets=10,.*dl_vlan=10 actions=strip_vlan,output:wvb/);
});

t.test('router: the floating IP is translated both ways', async (t) => {
  const { sw, scenes, run, io, ip } = rig();
  run(scenes.get('router')!, 2);
  const toVm = io('wri')
    .takeTransmitted()
    .filter((f) => f.readUInt16BE(12) === 0x0800);
  const udpToVm = toVm.filter((f) => f[23] === 17);
  t.equal(toVm.length - udpToVm.length, 2 * 4, 'every echo request reached the VM');
  t.equal(udpToVm.length, 2 * 2, 'and every UDP datagram sent to the floating IP');
  t.ok(toVm.every((f) => ip(f, 30) === '10.0.3.10' && ip(f, 26) === '172.24.4.100'), 'to its fixed address (DNAT)');
  t.ok(udpToVm.every((f) => f.readUInt16BE(36) === 9), 'the datagrams to port 9 still');
  const out = io('wre')
    .takeTransmitted()
    .filter((f) => f.readUInt16BE(12) === 0x0800);
  t.equal(out.length, 2 * 4 + 2 * 2 + 2 * 2, 'the echo replies, the VM\'s UDP frames and its UDP answers left on the external bridge');
  t.ok(out.every((f) => ip(f, 26) === '172.24.4.50'), 'from the floating IP (SNAT)');
  t.ok(sw.l3.router('warm-up').sessions().length >= 5, 'NAT sessions (ICMP, two UDP out, two UDP in)');
});
