/**
 * Cross-tenant starvation, in memory and exact: tenant A floods next hops nobody answers (16
 * datagrams to each of 220 addresses — more frames than the arena has slots) or fills the NAT
 * table, while tenant B pings and sends UDP to a host outside. B must lose nothing, and every
 * reply must come back within the same pass of the datapath (no timer, no retry: the same as
 * when idle). The peer outside is an in-memory host on the external bridge that answers ARP
 * for the upstream gateway, pings and UDP.
 */
import t from 'tap';
import { Switch } from '../../src/datapath/switch';
import { MemoryPort } from '../../src/io/memory-port';
import { arpRequest } from '../../src/wire/frames';
import { ipPacket, ethFrame, udpDgram, echo, decode, arpFrame } from './l3-helpers';

const QR_A = '02:52:00:00:01:01';
const QR_B = '02:52:00:00:02:01';
const QG = '02:52:00:00:ff:01';
const A = '52:54:00:00:01:0a';
const B = '52:54:00:00:02:0b';
const UP = '52:54:00:00:ff:fe';
const FAR = '198.51.100.7';

function setup(routerOpts: { maxSessions?: number } = {}) {
  const clock = { now: 1_000_000 };
  const sw = new Switch({ clock: () => clock.now }); // the default arena: 2048 slots
  sw.addBridge('br-int');
  sw.addBridge('br-ex');
  const vmA = sw.addPort('br-int', 'vmA', { type: 'memory', tag: 1 }).io as MemoryPort;
  const vmB = sw.addPort('br-int', 'vmB', { type: 'memory', tag: 2 }).io as MemoryPort;
  const ext = sw.addPort('br-ex', 'ext', { type: 'memory' }).io as MemoryPort;
  const r = sw.l3.addRouter('r1');
  if (routerOpts.maxSessions) r.setNatLimits(routerOpts.maxSessions);
  sw.l3.routerAddPort('r1', { bridge: 'br-int', port: 'qr-a', mac: QR_A, cidr: '10.231.1.1/24', tag: 1 });
  sw.l3.routerAddPort('r1', { bridge: 'br-int', port: 'qr-b', mac: QR_B, cidr: '10.231.2.1/24', tag: 2 });
  sw.l3.routerAddPort('r1', { bridge: 'br-ex', port: 'qg', mac: QG, cidr: '203.0.113.2/24', gateway: true });
  r.addRoute('0.0.0.0/0', '203.0.113.1');
  vmA.keep = 0;
  ext.keep = 0;
  vmB.keep = 0;
  // The outside: answers ARP for the upstream gateway only, pings and UDP to FAR.
  ext.onTransmit = (f) => {
    const type = f.readUInt16BE(12);
    if (type === 0x0806 && f.readUInt16BE(20) === 1 && f.subarray(38, 42).equals(Buffer.from([203, 0, 113, 1]))) {
      ext.inject(arpFrame(2, UP, '203.0.113.1', QG, '203.0.113.2', QG));
      return;
    }
    if (type !== 0x0800) return;
    const d = decode(f);
    if (d.dst !== FAR) return;
    if (d.proto === 1 && d.l4[0] === 8) {
      ext.inject(ethFrame(QG, UP, 0x0800, ipPacket({ src: FAR, dst: d.src, proto: 1, l4: echo(0, d.l4.readUInt16BE(4), d.l4.readUInt16BE(6)) })));
    } else if (d.proto === 17) {
      ext.inject(ethFrame(QG, UP, 0x0800, ipPacket({ src: FAR, dst: d.src, proto: 17, l4: udpDgram(FAR, d.src, d.l4.readUInt16BE(2), d.l4.readUInt16BE(0), Buffer.from('pong')) })));
    }
  };
  const got = { echo: 0, udp: 0 };
  vmB.onTransmit = (f) => {
    if (f.readUInt16BE(12) !== 0x0800) return;
    const d = decode(f);
    if (d.dst !== '10.231.2.11' || d.src !== FAR) return;
    if (d.proto === 1 && d.l4[0] === 0) got.echo++;
    if (d.proto === 17) got.udp++;
  };
  // Both tenants and the outside know their gateways.
  vmA.inject(arpRequest(A, '10.231.1.10', '10.231.1.1'));
  vmB.inject(arpRequest(B, '10.231.2.11', '10.231.2.1'));
  ext.inject(arpRequest(UP, '203.0.113.1', '203.0.113.2'));
  sw.runUntilIdle();
  sw.settle();
  const fromB = (o: Parameters<typeof ipPacket>[0]) => ethFrame(QR_B, B, 0x0800, ipPacket(o));
  const fromA = (o: Parameters<typeof ipPacket>[0]) => ethFrame(QR_A, A, 0x0800, ipPacket(o));
  return { sw, r, vmA, vmB, ext, got, fromA, fromB, clock };
}

/** B's probes, one at a time; `between` runs the attacker's traffic before each. */
function victim(h: ReturnType<typeof setup>, n: number, between: (i: number) => void): { echoLost: number; udpLost: number; minFree: number } {
  let echoLost = 0;
  let udpLost = 0;
  let minFree = h.sw.arena.available;
  for (let i = 0; i < n; i++) {
    between(i);
    minFree = Math.min(minFree, h.sw.arena.available);
    const e0 = h.got.echo;
    h.vmB.inject(h.fromB({ src: '10.231.2.11', dst: FAR, proto: 1, l4: echo(8, 0x4b, i) }));
    h.sw.runUntilIdle();
    h.sw.settle();
    h.sw.runUntilIdle();
    if (h.got.echo !== e0 + 1) echoLost++;
    const u0 = h.got.udp;
    h.vmB.inject(h.fromB({ src: '10.231.2.11', dst: FAR, proto: 17, l4: udpDgram('10.231.2.11', FAR, 20000 + i, 53) }));
    h.sw.runUntilIdle();
    h.sw.settle();
    h.sw.runUntilIdle();
    if (h.got.udp !== u0 + 1) udpLost++;
    minFree = Math.min(minFree, h.sw.arena.available);
  }
  return { echoLost, udpLost, minFree };
}

t.test('starvation: A floods 220 unanswered next hops x 16 datagrams; B loses nothing', async (t) => {
  const h = setup();
  const idle = victim(h, 20, () => {});
  t.same([idle.echoLost, idle.udpLost], [0, 0], 'idle: every probe answered');
  let k = 0;
  const flood = (count: number) => {
    for (let j = 0; j < count; j++, k++) {
      const host = 10 + (k % 220);
      const dst = `203.0.113.${host}`;
      h.vmA.inject(h.fromA({ src: '10.231.1.10', dst, proto: 17, l4: udpDgram('10.231.1.10', dst, 1000 + (k % 5000), 9) }));
    }
  };
  flood(220 * 16);
  h.sw.runUntilIdle();
  h.sw.settle();
  const r = victim(h, 100, () => {
    flood(64);
  });
  t.comment(`free slots at the lowest: ${r.minFree} of ${h.sw.arena.capacity}; held: ${JSON.stringify(h.r.show().pendingArp.reduce((s, p) => s + p.queued, 0))}`);
  t.equal(r.echoLost, 0, 'B: no ping lost');
  t.equal(r.udpLost, 0, 'B: no UDP datagram lost');
  t.ok(r.minFree >= h.sw.arena.capacity / 4, `the arena kept its reserve (lowest ${r.minFree})`);
  const drops = h.r.show().drops;
  t.ok((drops.arp_queue_full ?? 0) + (drops.arp_hold_limit ?? 0) > 0, 'A\'s excess is dropped and counted');
  // When the probes fail, every held frame is dropped and counted; nothing leaks.
  for (let i = 0; i < 10; i++) {
    h.clock.now += 1000;
    h.sw.tick();
    h.sw.runUntilIdle();
    h.sw.settle();
  }
  t.equal(h.sw.arena.available, h.sw.arena.capacity, 'every slot back');
});

t.test('starvation: A fills the NAT table; B still opens sessions', async (t) => {
  const h = setup({ maxSessions: 1000 });
  let k = 0;
  const flood = (count: number) => {
    for (let j = 0; j < count; j++, k++) {
      h.vmA.inject(h.fromA({ src: '10.231.1.10', dst: FAR, proto: 17, l4: udpDgram('10.231.1.10', FAR, 1024 + (k % 60000), 7) }));
    }
    h.sw.runUntilIdle();
    h.sw.settle();
  };
  flood(2000);
  t.equal(h.r.show().sessions, 250, 'A holds its quota (a quarter of the table) and no more');
  t.equal(h.r.show().drops.nat_source_limit, 1750);
  const r = victim(h, 100, () => flood(32));
  t.equal(r.echoLost, 0, 'B: no ping lost');
  t.equal(r.udpLost, 0, 'B: every new UDP session opened');
  t.equal(h.sw.arena.available, h.sw.arena.capacity);
});
