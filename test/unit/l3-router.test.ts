import t from 'tap';
import { Lpm } from '../../src/l3/lpm';
import { U32Map } from '../../src/packet/u32-map';
import { prefixMask } from '../../src/wire/ipv4';
import { prng, randInt } from '../fixtures/util';
import {
  harness, arpFrame, ipFrame, udpDgram, echo, tcpSeg, decode, checksumProblems, ipStr, macStr, ipPacket,
} from './l3-helpers';

const LAN_MAC = '02:00:00:00:01:01';
const LAN2_MAC = '02:00:00:00:02:01';
const EXT_MAC = '02:00:00:00:ff:01';
const A_MAC = '52:54:00:00:00:05';
const B_MAC = '52:54:00:00:01:07';
const U_MAC = '52:54:00:00:ff:fe';

function routerSetup(opts: { defaultRoute?: boolean; lan2Mtu?: number } = {}) {
  const h = harness();
  const lan = h.r.addInterface({ name: 'lan', mac: LAN_MAC, cidr: '10.0.0.1/24' });
  const lan2 = h.r.addInterface({ name: 'lan2', mac: LAN2_MAC, cidr: '10.0.1.1/24', mtu: opts.lan2Mtu });
  const ext = h.r.addInterface({ name: 'ext', mac: EXT_MAC, cidr: '203.0.113.2/24', gateway: true });
  h.r.setSnat(false);
  if (opts.defaultRoute !== false) h.r.addRoute('0.0.0.0/0', '203.0.113.1');
  return { ...h, lan, lan2, ext };
}

/** Teach the router a neighbour by having it ask for the router's address. */
function learn(h: ReturnType<typeof routerSetup>, iface: number, m: string, addr: string, routerAddr: string): void {
  h.send(iface, arpFrame(1, m, addr, '00:00:00:00:00:00', routerAddr));
}

t.test('router: ARP request for the interface address is answered, sender learnt', async (t) => {
  const h = routerSetup();
  const out = h.send(h.lan, arpFrame(1, A_MAC, '10.0.0.5', '00:00:00:00:00:00', '10.0.0.1'));
  t.equal(out.length, 1, 'one reply');
  const f = out[0].frame;
  t.equal(out[0].iface, h.lan, 'on the interface asked');
  t.equal(macStr(f, 0), A_MAC, 'eth dst = requester');
  t.equal(macStr(f, 6), LAN_MAC, 'eth src = interface MAC');
  t.equal(f.readUInt16BE(12), 0x0806);
  t.equal(f.readUInt16BE(14 + 6), 2, 'op reply');
  t.equal(macStr(f, 14 + 8), LAN_MAC, 'sha');
  t.equal(ipStr(f, 14 + 14), '10.0.0.1', 'spa');
  t.equal(macStr(f, 14 + 18), A_MAC, 'tha');
  t.equal(ipStr(f, 14 + 24), '10.0.0.5', 'tpa');
  t.same(h.r.show().arp.map((e) => [e.ip, e.mac, e.iface]), [['10.0.0.5', A_MAC, 'lan']], 'learnt from the request');
  // A request for someone else: ignored (not learnt, counted).
  t.equal(h.send(h.lan, arpFrame(1, B_MAC, '10.0.0.9', '00:00:00:00:00:00', '10.0.0.77')).length, 0);
  t.equal(h.r.drops.get('arp_ignored'), 1);
  t.equal(h.r.show().arp.length, 1, 'not learnt');
  // A request for the lan address arriving on lan2 is not answered (addresses are per interface).
  t.equal(h.send(h.lan2, arpFrame(1, B_MAC, '10.0.1.7', '00:00:00:00:00:00', '10.0.0.1')).length, 0);
  t.equal(h.arena.available, h.arena.capacity, 'no slot leaked');
});

t.test('router: ping of the router address is answered', async (t) => {
  const h = routerSetup();
  learn(h, h.lan, A_MAC, '10.0.0.5', '10.0.0.1');
  const req = ipFrame(LAN_MAC, A_MAC, { src: '10.0.0.5', dst: '10.0.0.1', proto: 1, l4: echo(8, 0x1c2d, 7), ttl: 1 });
  const out = h.send(h.lan, req);
  t.equal(out.length, 1);
  const d = decode(out[0].frame);
  t.equal(out[0].iface, h.lan);
  t.equal(d.dmac, A_MAC);
  t.equal(d.smac, LAN_MAC);
  t.equal(d.src, '10.0.0.1');
  t.equal(d.dst, '10.0.0.5');
  t.equal(d.l4[0], 0, 'echo reply');
  t.equal(d.l4.readUInt16BE(4), 0x1c2d, 'id kept');
  t.equal(d.l4.readUInt16BE(6), 7, 'seq kept');
  t.same(d.l4.subarray(8), decode(req).l4.subarray(8), 'payload echoed');
  t.same(checksumProblems(out[0].frame), []);
  // Ping of the gateway address from outside works too; of another interface's address as well.
  learn(h, h.ext, U_MAC, '203.0.113.1', '203.0.113.2');
  const o2 = h.send(h.ext, ipFrame(EXT_MAC, U_MAC, { src: '198.51.100.9', dst: '203.0.113.2', proto: 1, l4: echo(8, 1, 1) }));
  t.equal(decode(o2[0].frame).dst, '198.51.100.9');
  t.equal(decode(o2[0].frame).dmac, U_MAC, 'reply routed via the default gateway');
  const o3 = h.send(h.lan, ipFrame(LAN_MAC, A_MAC, { src: '10.0.0.5', dst: '10.0.1.1', proto: 1, l4: echo(8, 1, 2) }));
  t.equal(decode(o3[0].frame).src, '10.0.1.1');
  t.equal(h.r.stats.echoReplies, 3);
  // Anything else to the router is dropped and counted.
  t.equal(h.send(h.lan, ipFrame(LAN_MAC, A_MAC, { src: '10.0.0.5', dst: '10.0.0.1', proto: 17, l4: udpDgram('10.0.0.5', '10.0.0.1', 1, 2) })).length, 0);
  t.equal(h.r.drops.get('local_unsupported'), 1);
  t.equal(h.arena.available, h.arena.capacity);
});

t.test('router: ARP resolution queues, then forwards between subnets with TTL-1 and MACs rewritten', async (t) => {
  const h = routerSetup();
  learn(h, h.lan, A_MAC, '10.0.0.5', '10.0.0.1');
  const u = udpDgram('10.0.0.5', '10.0.1.7', 5000, 53);
  const f1 = ipFrame(LAN_MAC, A_MAC, { src: '10.0.0.5', dst: '10.0.1.7', proto: 17, l4: u, ttl: 64 });
  const f2 = ipFrame(LAN_MAC, A_MAC, { src: '10.0.0.5', dst: '10.0.1.7', proto: 17, l4: u, ttl: 9 });
  const out = h.send(h.lan, [f1, f2]);
  t.equal(out.length, 1, 'only the ARP request goes out');
  const q = out[0].frame;
  t.equal(out[0].iface, h.lan2);
  t.equal(macStr(q, 0), 'ff:ff:ff:ff:ff:ff');
  t.equal(macStr(q, 6), LAN2_MAC);
  t.equal(q.readUInt16BE(14 + 6), 1, 'request');
  t.equal(ipStr(q, 14 + 14), '10.0.1.1', 'spa = egress interface address');
  t.equal(ipStr(q, 14 + 24), '10.0.1.7', 'tpa = next hop');
  t.equal(h.r.show().pendingArp[0].queued, 2);
  // The reply releases both frames, in order.
  const rel = h.send(h.lan2, arpFrame(2, B_MAC, '10.0.1.7', LAN2_MAC, '10.0.1.1', LAN2_MAC));
  t.equal(rel.length, 2);
  for (const [i, ttl] of [[0, 63], [1, 8]]) {
    const d = decode(rel[i].frame);
    t.equal(rel[i].iface, h.lan2);
    t.equal(d.dmac, B_MAC, 'dst MAC = next hop');
    t.equal(d.smac, LAN2_MAC, 'src MAC = egress interface');
    t.equal(d.ttl, ttl, 'TTL decremented');
    t.equal(d.src, '10.0.0.5');
    t.equal(d.dst, '10.0.1.7');
    t.same(d.l4, u, 'UDP untouched');
    t.same(checksumProblems(rel[i].frame), [], 'checksums recomputed from scratch agree');
  }
  // Now cached: forwarded at once.
  const again = h.send(h.lan, f1);
  t.equal(again.length, 1);
  t.equal(decode(again[0].frame).dmac, B_MAC);
  t.equal(h.r.stats.forwarded, 3);
  t.equal(h.arena.available, h.arena.capacity);
});

t.test('router: ICMP time exceeded for TTL 1 quotes the original datagram', async (t) => {
  const h = routerSetup();
  learn(h, h.lan, A_MAC, '10.0.0.5', '10.0.0.1');
  const pkt = ipPacket({ src: '10.0.0.5', dst: '10.0.1.7', proto: 17, l4: udpDgram('10.0.0.5', '10.0.1.7', 33434, 33435), ttl: 1 });
  const out = h.send(h.lan, ipFrame(LAN_MAC, A_MAC, { src: '10.0.0.5', dst: '10.0.1.7', proto: 17, l4: udpDgram('10.0.0.5', '10.0.1.7', 33434, 33435), ttl: 1 }));
  t.equal(out.length, 1);
  const d = decode(out[0].frame);
  t.equal(out[0].iface, h.lan);
  t.equal(d.dmac, A_MAC);
  t.equal(d.src, '10.0.0.1', 'from the address of the arrival interface');
  t.equal(d.dst, '10.0.0.5');
  t.equal(d.proto, 1);
  t.equal(d.l4[0], 11, 'time exceeded');
  t.equal(d.l4[1], 0, 'in transit');
  t.equal(d.l4.readUInt32BE(4), 0, 'unused');
  t.same(d.l4.subarray(8), pkt.subarray(0, 28), 'quote = IP header + 8 bytes, unchanged');
  t.equal(d.ip.length, 20 + 8 + 28);
  t.same(checksumProblems(out[0].frame), []);
  t.equal(h.r.drops.get('ttl_exceeded'), 1);
  // No error about an ICMP error.
  const err = ipFrame(LAN_MAC, A_MAC, { src: '10.0.0.5', dst: '10.0.1.7', proto: 1, l4: Buffer.concat([Buffer.from([3, 3, 0, 0, 0, 0, 0, 0]), pkt.subarray(0, 28)]), ttl: 1 });
  t.equal(h.send(h.lan, err).length, 0, 'silent for an ICMP error');
  t.equal(h.r.drops.get('ttl_exceeded'), 2);
  t.equal(h.arena.available, h.arena.capacity);
});

t.test('router: net unreachable without a route', async (t) => {
  const h = routerSetup({ defaultRoute: false });
  learn(h, h.lan, A_MAC, '10.0.0.5', '10.0.0.1');
  const out = h.send(h.lan, ipFrame(LAN_MAC, A_MAC, { src: '10.0.0.5', dst: '198.51.100.1', proto: 6, l4: tcpSeg('10.0.0.5', '198.51.100.1', 40000, 80, 0x02) }));
  t.equal(out.length, 1);
  const d = decode(out[0].frame);
  t.equal(d.l4[0], 3);
  t.equal(d.l4[1], 0, 'net unreachable');
  t.equal(d.dst, '10.0.0.5');
  t.equal(ipStr(d.l4, 8 + 16), '198.51.100.1', 'quoted destination');
  t.same(checksumProblems(out[0].frame), []);
  t.equal(h.r.drops.get('no_route'), 1);
  t.equal(h.r.lookupRoute('198.51.100.1'), null);
  h.r.addRoute('198.51.100.0/24', '10.0.1.254');
  t.same(h.r.lookupRoute('198.51.100.1'), { kind: 'forward', iface: 'lan2', via: '10.0.1.254' });
  t.equal(h.arena.available, h.arena.capacity);
});

t.test('router: frag-needed with the next-hop MTU for DF frames, non-DF oversize dropped', async (t) => {
  const h = routerSetup({ lan2Mtu: 1400 });
  learn(h, h.lan, A_MAC, '10.0.0.5', '10.0.0.1');
  learn(h, h.lan2, B_MAC, '10.0.1.7', '10.0.1.1');
  const big = udpDgram('10.0.0.5', '10.0.1.7', 1, 2, Buffer.alloc(1472 - 8 + 8, 7));
  const out = h.send(h.lan, ipFrame(LAN_MAC, A_MAC, { src: '10.0.0.5', dst: '10.0.1.7', proto: 17, l4: big, df: true }));
  t.equal(out.length, 1);
  const d = decode(out[0].frame);
  t.equal(d.l4[0], 3);
  t.equal(d.l4[1], 4, 'fragmentation needed');
  t.equal(d.l4.readUInt16BE(6), 1400, 'next-hop MTU');
  t.equal(d.dst, '10.0.0.5');
  t.same(checksumProblems(out[0].frame), []);
  t.equal(h.r.drops.get('frag_needed'), 1);
  t.equal(h.send(h.lan, ipFrame(LAN_MAC, A_MAC, { src: '10.0.0.5', dst: '10.0.1.7', proto: 17, l4: big })).length, 0);
  t.equal(h.r.drops.get('oversize_nodf'), 1, 'non-DF oversize: not fragmented, counted');
  // Exactly the MTU passes.
  const fits = udpDgram('10.0.0.5', '10.0.1.7', 1, 2, Buffer.alloc(1400 - 28, 1));
  t.equal(h.send(h.lan, ipFrame(LAN_MAC, A_MAC, { src: '10.0.0.5', dst: '10.0.1.7', proto: 17, l4: fits, df: true }))[0].iface, h.lan2);
  t.equal(h.arena.available, h.arena.capacity);
});

t.test('router: ARP failure after 3 probes 1 s apart gives host unreachable; queue bounded', async (t) => {
  const h = routerSetup();
  learn(h, h.lan, A_MAC, '10.0.0.5', '10.0.0.1');
  const frames = [];
  for (let i = 0; i < 20; i++) frames.push(ipFrame(LAN_MAC, A_MAC, { src: '10.0.0.5', dst: '10.0.1.99', proto: 17, l4: udpDgram('10.0.0.5', '10.0.1.99', 1000 + i, 9) }));
  const first = h.send(h.lan, frames);
  t.equal(first.length, 1, 'one ARP request');
  t.equal(h.r.drops.get('arp_queue_full'), 4, '16 queued, 4 dropped');
  t.equal(h.tick(999).length, 0, 'nothing before 1 s');
  const p2 = h.tick(1);
  t.equal(p2.length, 1, 'second probe at 1 s');
  t.equal(ipStr(p2[0].frame, 14 + 24), '10.0.1.99');
  t.equal(h.tick(1000).length, 1, 'third probe at 2 s');
  const fail = h.tick(1000);
  t.equal(fail.length, 16, 'at 3 s: host unreachable for every queued frame');
  for (let i = 0; i < fail.length; i++) {
    const d = decode(fail[i].frame);
    t.equal(d.l4[0], 3);
    t.equal(d.l4[1], 1, 'host unreachable');
    t.equal(d.dst, '10.0.0.5');
    t.equal(d.l4.readUInt16BE(8 + 20), 1000 + i, 'quotes the queued frame');
    t.equal(d.l4[8 + 8], 63, 'as forwarded (TTL already decremented)');
    t.same(checksumProblems(fail[i].frame), []);
  }
  t.equal(h.r.drops.get('arp_failed'), 16);
  t.equal(h.r.show().pendingArp.length, 0);
  t.equal(h.arena.available, h.arena.capacity);
});

t.test('router: ARP entries age out; bad header checksum and foreign MAC dropped', async (t) => {
  const h = routerSetup();
  learn(h, h.lan, A_MAC, '10.0.0.5', '10.0.0.1');
  h.tick(59_000);
  t.equal(h.r.show().arp.length, 1);
  h.tick(1_000);
  t.equal(h.r.show().arp.length, 0, 'aged out after 60 s');
  const f = ipFrame(LAN_MAC, A_MAC, { src: '10.0.0.5', dst: '10.0.1.7', proto: 17, l4: udpDgram('10.0.0.5', '10.0.1.7', 1, 2) });
  f[14 + 10] ^= 0xff;
  t.equal(h.send(h.lan, f).length, 0);
  t.equal(h.r.drops.get('ipv4_bad_checksum'), 1);
  const g = ipFrame('02:99:99:99:99:99', A_MAC, { src: '10.0.0.5', dst: '10.0.1.7', proto: 17, l4: udpDgram('10.0.0.5', '10.0.1.7', 1, 2) });
  t.equal(h.send(h.lan, g).length, 0);
  t.equal(h.r.drops.get('not_for_router'), 1);
  const bc = ipFrame(LAN_MAC, A_MAC, { src: '10.0.0.5', dst: '10.0.0.255', proto: 17, l4: udpDgram('10.0.0.5', '10.0.0.255', 1, 2) });
  t.equal(h.send(h.lan, bc).length, 0);
  t.equal(h.r.drops.get('not_unicast'), 1, 'subnet broadcast not forwarded');
  t.equal(h.arena.available, h.arena.capacity);
});

t.test('router: ICMP errors are rate limited (token bucket on the clock)', async (t) => {
  const h = harness({ icmpRatePerSec: 10, icmpBurst: 3 });
  const lan = h.r.addInterface({ name: 'lan', mac: LAN_MAC, cidr: '10.0.0.1/24' });
  h.send(lan, arpFrame(1, A_MAC, '10.0.0.5', '00:00:00:00:00:00', '10.0.0.1'));
  const f = ipFrame(LAN_MAC, A_MAC, { src: '10.0.0.5', dst: '198.51.100.1', proto: 17, l4: udpDgram('10.0.0.5', '198.51.100.1', 1, 2) });
  t.equal(h.send(lan, [f, f, f, f, f]).length, 3, 'burst of 3');
  t.equal(h.r.stats.icmpRateLimited, 2);
  h.clock.now += 100;
  t.equal(h.send(lan, [f, f]).length, 1, 'one token per 100 ms');
  t.equal(h.r.drops.get('no_route'), 7, 'every frame still counted');
});

t.test('lpm: DIR-16-8-8 agrees with a naive longest-prefix scan on thousands of random routes', async (t) => {
  const r = prng(1812);
  const routes: { addr: number; len: number; id: number }[] = [];
  for (let i = 0; i < 10000; i++) {
    const len = i % 10 === 0 ? randInt(r, 33) : 8 + randInt(r, 25);
    // Cluster some prefixes so nesting is common.
    const base = i % 3 === 0 ? (0x0a000000 | randInt(r, 1 << 20)) >>> 0 : (randInt(r, 1 << 16) * 65536 + randInt(r, 65536)) >>> 0;
    routes.push({ addr: (base & prefixMask(len)) >>> 0, len, id: i });
  }
  const lpm = new Lpm();
  const t0 = Date.now();
  lpm.build(routes);
  const buildMs = Date.now() - t0;
  const naive = (dst: number): number => {
    let best = -1;
    let bestLen = -1;
    for (const x of routes) if (((dst & prefixMask(x.len)) >>> 0) === x.addr && x.len >= bestLen) {
      best = x.id;
      bestLen = x.len;
    }
    return best;
  };
  let bad = 0;
  for (let i = 0; i < 4000; i++) {
    let dst: number;
    if (i % 2 === 0) {
      const x = routes[randInt(r, routes.length)];
      dst = (x.addr | (randInt(r, 0x7fffffff) & ~prefixMask(x.len))) >>> 0;
    } else {
      dst = (randInt(r, 65536) * 65536 + randInt(r, 65536)) >>> 0;
    }
    if (lpm.lookup(dst) !== naive(dst)) bad++;
  }
  t.equal(bad, 0, '4000 lookups agree');
  t.ok(buildMs < 2000, `10k routes build in ${buildMs} ms`);
  const empty = new Lpm();
  empty.build([]);
  t.equal(empty.lookup(0x01020304), -1);
});

t.test('router: 10k static routes resolve through the router', async (t) => {
  const h = routerSetup();
  const r = prng(7);
  const want: [string, string][] = [];
  for (let i = 0; i < 10000; i++) {
    const a = `${20 + randInt(r, 100)}.${randInt(r, 256)}.${randInt(r, 256)}.0`;
    const via = i % 2 ? '10.0.0.254' : '10.0.1.254';
    h.r.addRoute(`${a}/24`, via);
    want.push([a, via]);
  }
  // Later additions of the same prefix replace the next hop.
  const last = new Map(want);
  let bad = 0;
  for (const [a, via] of last) if (h.r.lookupRoute(a.replace(/0$/, '77'))?.via !== via) bad++;
  t.equal(bad, 0);
  t.equal(h.r.lookupRoute('8.8.8.8')?.via, '203.0.113.1', 'default route for the rest');
});

t.test('u32-map: random insert/delete against Map', async (t) => {
  const r = prng(99);
  const m = new U32Map(4);
  const ref = new Map<number, number>();
  let bad = 0;
  for (let i = 0; i < 20000; i++) {
    const k = (randInt(r, 512) * 0x01000193) >>> 0;
    const op = randInt(r, 3);
    if (op === 0) {
      m.set(k, i);
      ref.set(k, i);
    } else if (op === 1) {
      if (m.delete(k) !== ref.delete(k)) bad++;
    } else if (m.get(k) !== (ref.has(k) ? ref.get(k) : -1)) bad++;
  }
  t.equal(bad, 0);
  t.equal(m.size, ref.size);
});

t.test('u32-map: keys and values of 2^31 or more, as uint32 or int32 bits; 0xffffffff is no value', async (t) => {
  const m = new U32Map(4);
  m.set(0xcb00710a, 0x0ae7010a);
  m.set(0x0ae7010a | 0, 0xcb00710a);
  t.equal(m.get(0xcb00710a), 0x0ae7010a);
  t.equal(m.get(0xcb00710a | 0), 0x0ae7010a, 'the key as int32 bits finds it');
  t.equal(m.get(0x0ae7010a), 0xcb00710a | 0, 'a value of 2^31 or more reads as its int32 bits');
  t.equal(m.get(0x0ae7010a) >>> 0, 0xcb00710a);
  t.equal(m.get(0xcb00710b), -1, 'missing');
  t.throws(() => m.set(1, 0xffffffff), /0xffffffff/, 'a value that would read as missing is refused');
  t.ok(m.delete(0xcb00710a | 0), 'deleted by its int32 bits');
  t.equal(m.get(0xcb00710a), -1);
  const seen: number[][] = [];
  m.forEach((k, v) => seen.push([k, v]));
  t.same(seen, [[0x0ae7010a, 0xcb00710a]], 'forEach gives uint32 keys and values');
});
