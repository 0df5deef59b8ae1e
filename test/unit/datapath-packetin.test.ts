/**
 * Flow tables inside a switch (memory ports, virtual clock): the controller action reaches the
 * embedding API as packet-in, the agent answers with packet-out; flows override NORMAL; counters
 * are exact; idle timeouts expire on the switch tick.
 */
import t from 'tap';
import { Switch, PacketIn } from '../../src/datapath/switch';
import { MemoryPort } from '../../src/io/memory-port';
import { arpRequest, ethFrame, udpFrame, frameVid } from '../../src/wire/frames';
import { emitArp, OP_REPLY, parseArp } from '../../src/wire/arp';
import { parseMac } from '../../src/wire/ethernet';
import { parseAddr } from '../../src/wire/ipv4';

function rig() {
  let now = 0;
  const sw = new Switch({ clock: () => now, arena: { slots: 256, slotSize: 2048 + 128 } });
  sw.addBridge('br0');
  const p1 = sw.addPort('br0', 'p1', { type: 'memory' }).io as MemoryPort;
  const p2 = sw.addPort('br0', 'p2', { type: 'memory' }).io as MemoryPort;
  return { sw, p1, p2, advance: (ms: number) => (now += ms) };
}

t.test('packet-in to the agent, packet-out back: an ARP responder in the agent', async (t) => {
  const { sw, p1, p2 } = rig();
  sw.flows('br0').addFlow('table=0,priority=10,cookie=0x42,arp,arp_op=1,arp_tpa=10.0.0.254,actions=controller');
  const seen: PacketIn[] = [];
  sw.onPacketIn = (pi) => {
    seen.push(pi);
    const req = parseArp(pi.frame, 14);
    const body = Buffer.alloc(28);
    emitArp(body, 0, OP_REPLY, parseMac('02:00:00:00:00:fe'), parseAddr('10.0.0.254'), parseMac(req.sha), parseAddr(req.spa));
    sw.packetOut(pi.bridge, ethFrame(req.sha, '02:00:00:00:00:fe', 0x0806, body), { outPort: pi.inPortName! });
  };
  p1.inject(arpRequest('02:00:00:00:00:01', '10.0.0.1', '10.0.0.254'));
  sw.runUntilIdle();
  t.equal(seen.length, 1);
  t.match(seen[0], { bridge: 'br0', table: 0, cookie: 0x42n, reason: 'action', inPort: 1, inPortName: 'p1' });
  const replies = p1.takeTransmitted();
  t.equal(replies.length, 1, 'the agent\'s reply left through the input port');
  t.match(parseArp(replies[0], 14), { op: 2, sha: '02:00:00:00:00:fe', spa: '10.0.0.254', tpa: '10.0.0.1' });
  t.equal(p2.takeTransmitted().length, 0, 'the request was not flooded');
  // Other ARP still goes through the bridge's default priority=0,actions=NORMAL flow.
  const other = arpRequest('02:00:00:00:00:01', '10.0.0.1', '10.0.0.2');
  p1.inject(other);
  t.equal(sw.runUntilIdle(), 1);
  t.same(p2.takeTransmitted(), [other], 'the default NORMAL flow floods it');
  // Without the default flow the table misses and drops.
  sw.flows('br0').delFlows('priority=0', { strict: true });
  p1.inject(other);
  sw.runUntilIdle();
  t.same(p2.takeTransmitted(), [], 'no NORMAL rule: the table misses and drops');
  t.equal(sw.arena.available, sw.arena.capacity, 'every slot back in the arena');
});

t.test('controller without a callback is a counted drop', async (t) => {
  const { sw, p1 } = rig();
  sw.flows('br0').addFlow('priority=1,actions=controller');
  p1.inject(arpRequest('02:00:00:00:00:01', '10.0.0.1', '10.0.0.2'));
  sw.runUntilIdle();
  t.equal(sw.bridgeDrops('br0').controller_unset, 1);
});

t.test('multi-output with modifications in between, counters exact with the cache warm', async (t) => {
  const { sw, p1, p2 } = rig();
  sw.addPort('br0', 'p3', { type: 'memory' });
  const p3 = sw.bridge('br0').port('p3')!.io as MemoryPort;
  sw.flows('br0').addFlow('in_port=p1,actions=mod_vlan_vid:5,output:p2,strip_vlan,output:p3');
  const f = udpFrame({ dst: '02:00:00:00:00:02', src: '02:00:00:00:00:01', ipSrc: '10.0.0.1', ipDst: '10.0.0.2' });
  for (let i = 0; i < 1000; i++) p1.inject(f);
  sw.runUntilIdle();
  const at2 = p2.takeTransmitted();
  const at3 = p3.takeTransmitted();
  t.equal(at2.length, 1000);
  t.equal(at3.length, 1000);
  t.equal(frameVid(at2[0]), 5, 'tagged to p2');
  t.same(at3[0], f, 'untagged and byte-identical to p3');
  const dump = sw.flows('br0').formatFlows();
  t.match(dump, new RegExp(`n_packets=1000, n_bytes=${1000 * f.length},`), dump);
});

t.test('idle timeout expires on the switch tick (virtual clock)', async (t) => {
  const { sw, p1, advance } = rig();
  sw.flows('br0').addFlow('idle_timeout=10,priority=5,in_port=p1,actions=output:p2');
  const removed: unknown[] = [];
  sw.on('flow-removed', (e) => removed.push(e));
  advance(5_000);
  p1.inject(udpFrame({ dst: '02:00:00:00:00:02', src: '02:00:00:00:00:01', ipSrc: '10.0.0.1', ipDst: '10.0.0.2' }));
  sw.runUntilIdle();
  advance(9_000);
  sw.tick();
  t.equal(sw.flows('br0').dumpFlows('in_port=p1').length, 1, 'used 9 s ago: still there');
  advance(2_000);
  sw.tick();
  t.equal(sw.flows('br0').dumpFlows('in_port=p1').length, 0, 'idle for 11 s: gone');
  t.equal(sw.flows('br0').dumpFlows().length, 1, 'the default flow has no timeout: stays');
  t.match(removed, [{ bridge: 'br0', reason: 'idle_timeout' }]);
});

t.test('a refused packet-out holds no buffer', async (t) => {
  const { sw } = rig();
  const f = udpFrame({ dst: '02:00:00:00:00:02', src: '02:00:00:00:00:01', ipSrc: '10.0.0.1', ipDst: '10.0.0.2' });
  const free = sw.arena.available;
  t.throws(() => sw.packetOut('br0', f, {}), { message: 'packet-out: give inPort (to run it through the bridge) or outPort' });
  t.equal(sw.arena.available, free, 'no inPort and no outPort: slot not taken');
  t.throws(() => sw.packetOut('br0', f, { inPort: 'nosuch' }), { message: "packet-out: bridge br0 has no port 'nosuch'" });
  t.throws(() => sw.packetOut('br0', f, { outPort: 'nosuch' }), { message: "packet-out: bridge br0 has no port 'nosuch'" });
  t.equal(sw.arena.available, free, 'unknown ports: slot not taken');
  // Many refusals in a row must not exhaust the arena.
  for (let i = 0; i < sw.arena.capacity + 1; i++) t.throws(() => sw.packetOut('br0', f, {}));
  t.equal(sw.arena.available, free);
});
