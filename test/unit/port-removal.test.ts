/**
 * Port removal under traffic: a port deleted while frames are queued for it, from it, through a
 * patch hop and behind a router interface. Nothing leaks, nothing throws, the rest of the bridge
 * keeps forwarding, and a port added back under the same name works from its first frame.
 */
import t from 'tap';
import { Switch } from '../../src/datapath/switch';
import { MemoryPort } from '../../src/io/memory-port';
import { udpFrame } from '../../src/wire/frames';
import { ipPacket, ethFrame, udpDgram } from './l3-helpers';

const M = (i: number) => `52:54:00:00:00:${i.toString(16).padStart(2, '0')}`;

t.test('ports removed and re-added while frames are in flight', async (t) => {
  const clock = { now: 1_000_000 };
  const sw = new Switch({ clock: () => clock.now, arena: { slots: 512, slotSize: 2048 + 128 } });
  sw.addBridge('br0');
  sw.addBridge('br1');
  const mk = (br: string, name: string) => {
    const io = sw.addPort(br, name, { type: 'memory' }).io as MemoryPort;
    io.keep = 100000;
    return io;
  };
  const p1 = mk('br0', 'p1');
  let p2 = mk('br0', 'p2');
  const p3 = mk('br0', 'p3');
  sw.addPort('br0', 'patch-a', { type: 'patch', peer: 'patch-b' });
  sw.addPort('br1', 'patch-b', { type: 'patch', peer: 'patch-a' });
  const q1 = mk('br1', 'q1');
  // A router behind br0 with a next hop nobody answers: frames wait in its queue.
  sw.l3.addRouter('r1');
  sw.l3.routerAddPort('r1', { bridge: 'br0', port: 'qr-1', mac: '02:52:00:00:01:01', cidr: '10.232.1.1/24' });
  sw.l3.routerAddPort('r1', { bridge: 'br1', port: 'qr-2', mac: '02:52:00:00:02:01', cidr: '10.232.2.1/24' });
  // Learn where everyone is.
  for (const [io, i] of [[p1, 1], [p2, 2], [p3, 3], [q1, 4]] as [MemoryPort, number][]) io.inject(udpFrame({ dst: 'ff:ff:ff:ff:ff:ff', src: M(i), ipSrc: `10.232.1.${i}`, ipDst: '10.232.1.255' }));
  sw.runUntilIdle();
  sw.settle();
  for (const io of [p1, p2, p3, q1]) io.takeTransmitted();
  const cap = sw.arena.capacity;

  for (let round = 0; round < 20; round++) {
    // Traffic to p2 (unicast), across the patch to q1, and routed to an unresolved next hop.
    for (let i = 0; i < 40; i++) {
      p1.inject(udpFrame({ dst: M(2), src: M(1), ipSrc: '10.232.1.1', ipDst: '10.232.1.2', sport: i }));
      p3.inject(udpFrame({ dst: M(4), src: M(3), ipSrc: '10.232.1.3', ipDst: '10.232.1.4', sport: i }));
      p1.inject(ethFrame('02:52:00:00:01:01', M(1), 0x0800, ipPacket({ src: '10.232.1.1', dst: '10.232.2.99', proto: 17, l4: udpDgram('10.232.1.1', '10.232.2.99', i, 9) })));
    }
    // Half-processed: run a few bursts only, so frames sit in rx, ingress and tx queues.
    sw.runUntilIdle(1);
    if (round % 2 === 0) {
      sw.delPort('br0', 'p2');
      p2 = mk('br0', 'p2');
    } else {
      sw.delPort('br0', 'patch-a');
      sw.addPort('br0', 'patch-a', { type: 'patch', peer: 'patch-b' });
    }
    sw.runUntilIdle();
    sw.settle();
    clock.now += 1000;
    sw.tick();
  }
  // The bridge still forwards: p1 -> p2 (re-added, learns again after a flood) and p3 -> q1.
  p1.takeTransmitted();
  p2.takeTransmitted();
  q1.takeTransmitted();
  p2.inject(udpFrame({ dst: 'ff:ff:ff:ff:ff:ff', src: M(2), ipSrc: '10.232.1.2', ipDst: '10.232.1.255' }));
  sw.runUntilIdle();
  p1.inject(udpFrame({ dst: M(2), src: M(1), ipSrc: '10.232.1.1', ipDst: '10.232.1.2', payload: Buffer.from('after') }));
  p3.inject(udpFrame({ dst: M(4), src: M(3), ipSrc: '10.232.1.3', ipDst: '10.232.1.4', payload: Buffer.from('after') }));
  sw.runUntilIdle();
  sw.settle();
  const got2 = p2.takeTransmitted();
  t.equal(got2.filter((f) => f.includes(Buffer.from('after')) && f.readUInt16BE(4) === 0x0002).length, 1, 'the re-added port receives its unicast');
  t.equal(q1.takeTransmitted().filter((f) => f.includes(Buffer.from('after'))).length, 1, 'across the re-added patch');
  // Frames waiting for ARP when the probes fail: dropped and counted.
  p1.inject(ethFrame('02:52:00:00:01:01', M(1), 0x0800, ipPacket({ src: '10.232.1.1', dst: '10.232.2.98', proto: 17, l4: udpDgram('10.232.1.1', '10.232.2.98', 1, 9) })));
  sw.runUntilIdle();
  sw.settle();
  t.ok(sw.arena.available < cap, 'a frame is held for ARP');
  for (let i = 0; i < 10; i++) {
    clock.now += 1000;
    sw.tick();
    sw.runUntilIdle();
  }
  t.equal(sw.arena.available, cap, 'every slot back in the arena');
  t.ok((sw.l3.router('r1').show().drops.arp_failed ?? 0) > 0, 'held frames dropped as arp_failed');
});
