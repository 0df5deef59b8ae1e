import t from 'tap';
import { sum16, pseudoSumV4 } from '../../src/wire/checksum';
import { finishChecksum } from '../../src/packet/vnet';
import { PacketArena } from '../../src/packet/arena';
import { SessionEvent } from '../../src/l3/router';
import {
  harness, arpFrame, ipFrame, ipPacket, udpDgram, echo, tcpSeg, decode, checksumProblems, icmpMsg, refL4, ip,
} from './l3-helpers';
import { RouterOptions } from '../../src/l3/router';

const LAN_MAC = '02:00:00:00:01:01';
const EXT_MAC = '02:00:00:00:ff:01';
const A_MAC = '52:54:00:00:00:05';
const V_MAC = '52:54:00:00:00:06';
const C_MAC = '52:54:00:00:00:07';
const U_MAC = '52:54:00:00:ff:fe';
const GW = '203.0.113.2';
const FIP = '203.0.113.50';
const R = '198.51.100.10';
const SYN = 0x02;
const ACK = 0x10;
const FIN = 0x01;
const RST = 0x04;

function natSetup(opts: Partial<RouterOptions> = {}) {
  const h = harness({ arpTimeoutMs: 1e9, ...opts });
  const lan = h.r.addInterface({ name: 'lan', mac: LAN_MAC, cidr: '10.0.0.1/24' });
  const ext = h.r.addInterface({ name: 'ext', mac: EXT_MAC, cidr: `${GW}/24`, gateway: true });
  h.r.addRoute('0.0.0.0/0', '203.0.113.1');
  for (const [m, a] of [[A_MAC, '10.0.0.5'], [V_MAC, '10.0.0.6'], [C_MAC, '10.0.0.7']]) h.send(lan, arpFrame(1, m, a, '00:00:00:00:00:00', '10.0.0.1'));
  h.send(ext, arpFrame(1, U_MAC, '203.0.113.1', '00:00:00:00:00:00', GW));
  const fromLan = (m: string, o: Parameters<typeof ipFrame>[2]) => h.send(lan, ipFrame(LAN_MAC, m, o));
  const fromExt = (o: Parameters<typeof ipFrame>[2]) => h.send(ext, ipFrame(EXT_MAC, U_MAC, o));
  return { ...h, lan, ext, fromLan, fromExt };
}

t.test('nat: SNAT TCP out and back, ports kept when free, second host gets another port', async (t) => {
  const h = natSetup();
  const out = h.fromLan(A_MAC, { src: '10.0.0.5', dst: R, proto: 6, l4: tcpSeg('10.0.0.5', R, 40000, 80, SYN) });
  t.equal(out.length, 1);
  let d = decode(out[0].frame);
  t.equal(out[0].iface, h.ext);
  t.equal(d.dmac, U_MAC, 'to the default gateway');
  t.equal(d.smac, EXT_MAC);
  t.equal(d.src, GW, 'source is the gateway address');
  t.equal(d.dst, R);
  t.equal(d.l4.readUInt16BE(0), 40000, 'source port kept');
  t.equal(d.ttl, 63);
  t.same(checksumProblems(out[0].frame), [], 'IP and TCP checksums agree with a from-scratch computation');
  t.equal(h.r.sessions()[0].state, 'SYN_SENT');

  const back = h.fromExt({ src: R, dst: GW, proto: 6, l4: tcpSeg(R, GW, 80, 40000, SYN | ACK) });
  t.equal(back.length, 1);
  d = decode(back[0].frame);
  t.equal(back[0].iface, h.lan);
  t.equal(d.dmac, A_MAC);
  t.equal(d.dst, '10.0.0.5', 'reverse translation');
  t.equal(d.src, R);
  t.equal(d.l4.readUInt16BE(2), 40000);
  t.same(checksumProblems(back[0].frame), []);
  t.equal(h.r.sessions()[0].state, 'SYN_RECV');
  h.fromLan(A_MAC, { src: '10.0.0.5', dst: R, proto: 6, l4: tcpSeg('10.0.0.5', R, 40000, 80, ACK) });
  const s = h.r.sessions()[0];
  t.equal(s.state, 'ESTABLISHED');
  t.same(s.orig, { src: '10.0.0.5', dst: R, sport: 40000, dport: 80 });
  t.same(s.reply, { src: R, dst: GW, sport: 80, dport: 40000 });
  t.same(s.packets, { orig: 2, reply: 1 });
  t.equal(s.kind, 'snat');

  // Another tenant with the same source port: a different gateway port.
  const o2 = h.fromLan(C_MAC, { src: '10.0.0.7', dst: R, proto: 6, l4: tcpSeg('10.0.0.7', R, 40000, 80, SYN, Buffer.from('data!')) });
  const d2 = decode(o2[0].frame);
  const p2 = d2.l4.readUInt16BE(0);
  t.not(p2, 40000, 'port in use: another one');
  t.ok(p2 >= 1024 && p2 <= 65535);
  t.same(checksumProblems(o2[0].frame), [], 'port rewrite checksum');
  const b2 = h.fromExt({ src: R, dst: GW, proto: 6, l4: tcpSeg(R, GW, 80, p2, SYN | ACK) });
  t.equal(decode(b2[0].frame).dst, '10.0.0.7');
  t.equal(decode(b2[0].frame).l4.readUInt16BE(2), 40000, 'port translated back');
  t.same(checksumProblems(b2[0].frame), []);
  t.equal(h.arena.available, h.arena.capacity);
});

t.test('nat: SNAT UDP with a checksum and with checksum 0 (stays 0)', async (t) => {
  const h = natSetup();
  const o = h.fromLan(A_MAC, { src: '10.0.0.5', dst: R, proto: 17, l4: udpDgram('10.0.0.5', R, 5353, 53) });
  t.same(checksumProblems(o[0].frame), []);
  t.equal(decode(o[0].frame).src, GW);
  const b = h.fromExt({ src: R, dst: GW, proto: 17, l4: udpDgram(R, GW, 53, 5353, Buffer.from('answer')) });
  t.equal(decode(b[0].frame).dst, '10.0.0.5');
  t.same(checksumProblems(b[0].frame), []);
  t.equal(h.r.sessions()[0].state, 'UDP_ASSURED', 'reply seen');
  // Checksum 0 = none: stays 0 both ways, even when the port changes.
  h.fromLan(C_MAC, { src: '10.0.0.7', dst: R, proto: 17, l4: udpDgram('10.0.0.7', R, 6000, 53) }); // takes port 6000
  const z = h.fromLan(A_MAC, { src: '10.0.0.5', dst: R, proto: 17, l4: udpDgram('10.0.0.5', R, 6000, 53, undefined, true) });
  const dz = decode(z[0].frame);
  t.not(dz.l4.readUInt16BE(0), 6000, 'port rewritten');
  t.equal(dz.l4.readUInt16BE(6), 0, 'checksum still 0');
  t.same(checksumProblems(z[0].frame, true), []);
  const zb = h.fromExt({ src: R, dst: GW, proto: 17, l4: udpDgram(R, GW, 53, dz.l4.readUInt16BE(0), undefined, true) });
  t.equal(decode(zb[0].frame).l4.readUInt16BE(6), 0);
  t.equal(decode(zb[0].frame).l4.readUInt16BE(2), 6000);
  t.equal(h.arena.available, h.arena.capacity);
});

t.test('nat: SNAT ICMP echo translates the id, reply comes back', async (t) => {
  const h = natSetup();
  h.fromLan(C_MAC, { src: '10.0.0.7', dst: R, proto: 1, l4: echo(8, 0x4242, 1) });
  const o = h.fromLan(A_MAC, { src: '10.0.0.5', dst: R, proto: 1, l4: echo(8, 0x4242, 1) });
  const d = decode(o[0].frame);
  t.equal(d.src, GW);
  const id = d.l4.readUInt16BE(4);
  t.not(id, 0x4242, 'id in use: translated');
  t.same(checksumProblems(o[0].frame), []);
  const b = h.fromExt({ src: R, dst: GW, proto: 1, l4: echo(0, id, 1) });
  const db = decode(b[0].frame);
  t.equal(db.dst, '10.0.0.5');
  t.equal(db.l4.readUInt16BE(4), 0x4242, 'id back');
  t.equal(db.l4[0], 0);
  t.same(checksumProblems(b[0].frame), []);
  // An echo REQUEST from outside with that id is not a reply: it pings the gateway itself.
  const p = h.fromExt({ src: R, dst: GW, proto: 1, l4: echo(8, id, 9) });
  t.equal(decode(p[0].frame).src, GW, 'answered by the router');
  t.equal(h.arena.available, h.arena.capacity);
});

t.test('nat: floating IP DNAT/SNAT, gratuitous ARP, precedence over SNAT', async (t) => {
  const h = natSetup();
  h.out.length = 0;
  h.r.addFloatingIp(FIP, '10.0.0.6');
  const garp = h.out.splice(0);
  t.equal(garp.length, 2, 'gratuitous request and reply');
  for (const [i, op] of [[0, 1], [1, 2]]) {
    const f = garp[i].frame;
    t.equal(garp[i].iface, h.ext);
    t.equal(f.subarray(0, 6).toString('hex'), 'ffffffffffff', 'broadcast');
    t.equal(f.readUInt16BE(14 + 6), op);
    t.equal(f.subarray(14 + 8, 14 + 14).toString('hex'), '02000000ff01', 'sha = gateway MAC');
    t.same([...f.subarray(14 + 14, 14 + 18)], [...ip(FIP)], 'spa = fip');
    t.same([...f.subarray(14 + 24, 14 + 28)], [...ip(FIP)], 'tpa = fip');
  }
  // ARP for the floating IP on the gateway network is answered with the gateway MAC.
  const ar = h.send(h.ext, arpFrame(1, '52:54:00:aa:aa:aa', '203.0.113.9', '00:00:00:00:00:00', FIP));
  t.equal(ar.length, 1);
  t.same([...ar[0].frame.subarray(14 + 14, 14 + 18)], [...ip(FIP)]);

  const inb = h.fromExt({ src: R, dst: FIP, proto: 6, l4: tcpSeg(R, FIP, 55555, 22, SYN) });
  let d = decode(inb[0].frame);
  t.equal(inb[0].iface, h.lan);
  t.equal(d.dmac, V_MAC);
  t.equal(d.dst, '10.0.0.6', 'DNAT to the fixed IP');
  t.equal(d.src, R, 'source untouched');
  t.equal(d.l4.readUInt16BE(2), 22);
  t.same(checksumProblems(inb[0].frame), []);
  const rep = h.fromLan(V_MAC, { src: '10.0.0.6', dst: R, proto: 6, l4: tcpSeg('10.0.0.6', R, 22, 55555, SYN | ACK) });
  d = decode(rep[0].frame);
  t.equal(d.src, FIP, 'reply from the floating IP');
  t.equal(d.l4.readUInt16BE(0), 22);
  t.same(checksumProblems(rep[0].frame), []);
  t.equal(h.r.sessions()[0].kind, 'dnat');
  // New outbound connection from the fixed IP: SNAT to its floating IP, not the gateway.
  const ob = h.fromLan(V_MAC, { src: '10.0.0.6', dst: R, proto: 17, l4: udpDgram('10.0.0.6', R, 7777, 53) });
  d = decode(ob[0].frame);
  t.equal(d.src, FIP, 'floating IP wins over the default SNAT');
  t.equal(d.l4.readUInt16BE(0), 7777, '1:1: ports kept');
  t.same(checksumProblems(ob[0].frame), []);
  t.equal(h.r.show().floatingIps[0].fixed, '10.0.0.6');
  t.equal(h.arena.available, h.arena.capacity);
});

t.test('nat: hairpin to a floating IP from the tenant network', async (t) => {
  const h = natSetup();
  h.r.addFloatingIp(FIP, '10.0.0.6');
  const o = h.fromLan(A_MAC, { src: '10.0.0.5', dst: FIP, proto: 6, l4: tcpSeg('10.0.0.5', FIP, 41000, 22, SYN) });
  t.equal(o.length, 1);
  let d = decode(o[0].frame);
  t.equal(o[0].iface, h.lan, 'back out the tenant interface');
  t.equal(d.dmac, V_MAC);
  t.equal(d.dst, '10.0.0.6');
  t.equal(d.src, GW, 'source NATed to the gateway so the reply returns through the router');
  const port = d.l4.readUInt16BE(0);
  t.same(checksumProblems(o[0].frame), []);
  const back = h.fromLan(V_MAC, { src: '10.0.0.6', dst: GW, proto: 6, l4: tcpSeg('10.0.0.6', GW, 22, port, SYN | ACK) });
  d = decode(back[0].frame);
  t.equal(d.dmac, A_MAC);
  t.equal(d.src, FIP, 'A sees the floating IP answer');
  t.equal(d.dst, '10.0.0.5');
  t.equal(d.l4.readUInt16BE(2), 41000);
  t.same(checksumProblems(back[0].frame), []);
  t.equal(h.r.sessions()[0].kind, 'snat+dnat');
  t.equal(h.arena.available, h.arena.capacity);
});

t.test('nat: unsolicited inbound is dropped and counted', async (t) => {
  const h = natSetup();
  t.equal(h.fromExt({ src: R, dst: GW, proto: 6, l4: tcpSeg(R, GW, 1234, 22, SYN) }).length, 0);
  t.equal(h.fromExt({ src: R, dst: GW, proto: 17, l4: udpDgram(R, GW, 1234, 5000) }).length, 0);
  t.equal(h.fromExt({ src: R, dst: '10.0.0.5', proto: 6, l4: tcpSeg(R, '10.0.0.5', 1234, 22, SYN) }).length, 0, 'tenant address from outside');
  t.equal(h.fromExt({ src: R, dst: '203.0.113.77', proto: 6, l4: tcpSeg(R, '203.0.113.77', 1234, 22, SYN) }).length, 0, 'unmapped external address');
  t.equal(h.r.drops.get('nat_unsolicited'), 4);
  t.equal(h.arena.available, h.arena.capacity);
});

t.test('nat: removing a floating IP kills its sessions at once', async (t) => {
  const h = natSetup();
  const events: SessionEvent[] = [];
  h.r.onSessionEvent = (e) => events.push(e);
  h.r.addFloatingIp(FIP, '10.0.0.6');
  h.fromExt({ src: R, dst: FIP, proto: 6, l4: tcpSeg(R, FIP, 55555, 22, SYN) });
  h.fromLan(A_MAC, { src: '10.0.0.5', dst: R, proto: 17, l4: udpDgram('10.0.0.5', R, 1, 53) });
  t.equal(h.r.sessions().length, 2);
  t.equal(h.r.delFloatingIp(FIP), true);
  t.same(h.r.sessions().map((s) => s.orig.src), ['10.0.0.5'], 'only the unrelated SNAT session is left');
  t.same(events.map((e) => e.event), ['created', 'created', 'flushed']);
  t.equal(events[2].session.orig.dst, FIP);
  t.equal(h.fromExt({ src: R, dst: FIP, proto: 6, l4: tcpSeg(R, FIP, 55555, 22, ACK) }).length, 0, 'inbound to the old fip dropped');
  t.equal(h.r.drops.get('nat_unsolicited'), 1);
  const o = h.fromLan(V_MAC, { src: '10.0.0.6', dst: R, proto: 6, l4: tcpSeg('10.0.0.6', R, 22, 55555, ACK) });
  t.equal(decode(o[0].frame).src, GW, 'the VM now leaves through the default SNAT');
  t.equal(h.arena.available, h.arena.capacity);
});

t.test('nat: session timeouts by protocol and TCP state on the injected clock', async (t) => {
  const h = natSetup({ natTimeouts: { tcpEstablished: 3_600_000 } });
  const events: string[] = [];
  h.r.onSessionEvent = (e) => events.push(`${e.event}:${e.session.proto}:${e.session.state}`);
  const tcp = (sport: number, flags: number) => h.fromLan(A_MAC, { src: '10.0.0.5', dst: R, proto: 6, l4: tcpSeg('10.0.0.5', R, sport, 80, flags) });
  const tcpIn = (dport: number, flags: number) => h.fromExt({ src: R, dst: GW, proto: 6, l4: tcpSeg(R, GW, 80, dport, flags) });
  tcp(11001, SYN); // SYN_SENT: 120 s
  tcp(11002, SYN); tcpIn(11002, SYN | ACK); tcp(11002, ACK); // ESTABLISHED: 1 h here
  tcp(11003, SYN); tcpIn(11003, SYN | ACK); tcp(11003, ACK); tcp(11003, FIN | ACK); // FIN_WAIT: 120 s
  tcp(11004, SYN); tcpIn(11004, RST); // CLOSE: 10 s
  h.fromLan(A_MAC, { src: '10.0.0.5', dst: R, proto: 17, l4: udpDgram('10.0.0.5', R, 12001, 53) }); // UDP 30 s
  h.fromLan(A_MAC, { src: '10.0.0.5', dst: R, proto: 17, l4: udpDgram('10.0.0.5', R, 12002, 53) });
  h.fromExt({ src: R, dst: GW, proto: 17, l4: udpDgram(R, GW, 53, 12002) }); // UDP assured 180 s
  h.fromLan(A_MAC, { src: '10.0.0.5', dst: R, proto: 1, l4: echo(8, 77, 1) }); // ICMP 30 s
  const states = () => h.r.sessions().map((s) => `${s.proto}:${s.orig.sport}:${s.state}`).sort();
  t.same(states(), ['icmp:77:ICMP', 'tcp:11001:SYN_SENT', 'tcp:11002:ESTABLISHED', 'tcp:11003:FIN_WAIT', 'tcp:11004:CLOSE', 'udp:12001:UDP', 'udp:12002:UDP_ASSURED']);
  const t0 = h.clock.now;
  const at = (ms: number) => {
    h.clock.now = t0 + ms;
    h.r.expire();
    return states().map((s) => s.split(':').slice(0, 2).join(':'));
  };
  t.equal(at(9_999).length, 7, 'nothing before 10 s');
  t.notOk(at(10_000).includes('tcp:11004'), 'RST: 10 s');
  t.ok(at(29_999).includes('udp:12001'));
  t.same(at(30_000), ['tcp:11001', 'tcp:11002', 'tcp:11003', 'udp:12002'], 'UDP unreplied and ICMP: 30 s');
  t.same(at(120_000), ['tcp:11002', 'udp:12002'], 'SYN_SENT and FIN_WAIT: 120 s');
  t.same(at(180_000), ['tcp:11002'], 'UDP assured: 180 s');
  t.same(at(3_599_999), ['tcp:11002']);
  // Traffic refreshes the timer.
  h.clock.now = t0 + 3_599_999;
  tcp(11002, ACK);
  t.same(at(3_600_000 + 3_599_998), ['tcp:11002'], 'refreshed by a packet');
  t.same(at(3_600_000 + 3_600_000), [], 'ESTABLISHED: configured 1 h');
  t.equal(events.filter((e) => e.startsWith('expired')).length, 7);
  // A reply after expiry finds nothing: unsolicited.
  t.equal(tcpIn(11002, ACK).length, 0);
  t.equal(h.r.drops.get('nat_unsolicited'), 1);
  t.equal(h.arena.available, h.arena.capacity);
});

t.test('nat: an expired session is not used even before expire() runs', async (t) => {
  const h = natSetup();
  h.fromLan(A_MAC, { src: '10.0.0.5', dst: R, proto: 17, l4: udpDgram('10.0.0.5', R, 2001, 53) });
  h.clock.now += 30_000;
  t.equal(h.fromExt({ src: R, dst: GW, proto: 17, l4: udpDgram(R, GW, 53, 2001) }).length, 0);
  t.equal(h.r.sessions().length, 0);
});

t.test('nat: port exhaustion and session limit give counted drops', async (t) => {
  const h = natSetup({ natPortMin: 2000, natPortMax: 2003, maxSessions: 6, maxSessionsPerSource: 6 });
  for (let i = 0; i < 4; i++) t.equal(h.fromLan(A_MAC, { src: '10.0.0.5', dst: R, proto: 6, l4: tcpSeg('10.0.0.5', R, 3000 + i, 80, SYN) }).length, 1);
  t.same(h.r.sessions().map((s) => s.reply.dport).sort(), [2000, 2001, 2002, 2003], 'ports from the configured range');
  t.equal(h.fromLan(A_MAC, { src: '10.0.0.5', dst: R, proto: 6, l4: tcpSeg('10.0.0.5', R, 3004, 80, SYN) }).length, 0);
  t.equal(h.r.drops.get('nat_port_exhausted'), 1);
  // Pools are per protocol: UDP still has ports, until the session table is full.
  t.equal(h.fromLan(A_MAC, { src: '10.0.0.5', dst: R, proto: 17, l4: udpDgram('10.0.0.5', R, 1, 53) }).length, 1);
  t.equal(h.fromLan(A_MAC, { src: '10.0.0.5', dst: R, proto: 17, l4: udpDgram('10.0.0.5', R, 2, 53) }).length, 1);
  t.equal(h.fromLan(A_MAC, { src: '10.0.0.5', dst: R, proto: 17, l4: udpDgram('10.0.0.5', R, 3, 53) }).length, 0);
  t.equal(h.r.drops.get('nat_table_full'), 1);
  // Expiry returns the ports.
  h.clock.now += 200_000;
  h.r.expire();
  t.equal(h.fromLan(A_MAC, { src: '10.0.0.5', dst: R, proto: 6, l4: tcpSeg('10.0.0.5', R, 3004, 80, SYN) }).length, 1);
  t.equal(h.arena.available, h.arena.capacity);
});

t.test('nat: ICMP errors from outside are translated back (inner header, ports, checksums)', async (t) => {
  const h = natSetup();
  h.fromLan(C_MAC, { src: '10.0.0.7', dst: R, proto: 17, l4: udpDgram('10.0.0.7', R, 33434, 33435) }); // takes 33434
  const origUdp = udpDgram('10.0.0.5', R, 33434, 33435, Buffer.from('traceroute probe'));
  const origIp = ipPacket({ src: '10.0.0.5', dst: R, proto: 17, l4: origUdp, ttl: 2 });
  const o = h.fromLan(A_MAC, { src: '10.0.0.5', dst: R, proto: 17, l4: origUdp, ttl: 2 });
  const sent = decode(o[0].frame);
  const gport = sent.l4.readUInt16BE(0);
  t.not(gport, 33434);
  // Hop 198.51.100.1 answers time exceeded to the gateway address, quoting IP + 8 bytes.
  const te = icmpMsg(11, 0, 0, Buffer.from(sent.ip.subarray(0, 28)));
  const back = h.fromExt({ src: '198.51.100.1', dst: GW, proto: 1, l4: te });
  t.equal(back.length, 1);
  const d = decode(back[0].frame);
  t.equal(back[0].iface, h.lan);
  t.equal(d.dmac, A_MAC);
  t.equal(d.src, '198.51.100.1', 'outer source (an intermediate hop) kept');
  t.equal(d.dst, '10.0.0.5', 'outer destination translated');
  const inner = d.l4.subarray(8);
  t.equal(inner.subarray(12, 16).join('.'), '10.0.0.5', 'inner source translated');
  t.equal(inner.subarray(16, 20).join('.'), R);
  t.same([...inner.subarray(20, 28)], [...origUdp.subarray(0, 8)], 'inner UDP header (ports, length, checksum) = what A sent');
  t.equal(inner[8], 1, 'inner TTL as the hop saw it');
  const innerWant = Buffer.from(origIp.subarray(0, 20));
  innerWant[8] = 1;
  t.same(checksumProblems(back[0].frame), [], 'outer IP, outer ICMP and inner IP checksums from scratch');
  t.equal(inner.readUInt16BE(10) !== 0, true);

  // Frag-needed about a TCP segment, quoting 28 bytes (so the TCP checksum is in the quote).
  const seg = tcpSeg('10.0.0.5', R, 45000, 443, ACK, Buffer.alloc(100, 1));
  const ot = h.fromLan(A_MAC, { src: '10.0.0.5', dst: R, proto: 6, l4: seg, df: true });
  const st = decode(ot[0].frame);
  const fn = icmpMsg(3, 4, 1280, Buffer.from(st.ip.subarray(0, 48)));
  const fb = h.fromExt({ src: R, dst: GW, proto: 1, l4: fn });
  const df = decode(fb[0].frame);
  t.equal(df.dst, '10.0.0.5');
  t.equal(df.src, R, 'error from the end host: its address is not NATed (no DNAT here)');
  t.equal(df.l4.readUInt16BE(6), 1280, 'MTU kept');
  const iq = df.l4.subarray(8);
  t.same([...iq.subarray(20, 40)], [...seg.subarray(0, 20)], 'inner TCP header incl. checksum = original');
  t.same(checksumProblems(fb[0].frame), []);

  // Error about an ICMP echo: inner id and inner ICMP checksum translated.
  h.fromLan(C_MAC, { src: '10.0.0.7', dst: R, proto: 1, l4: echo(8, 0x0bad, 1) });
  const pingL4 = echo(8, 0x0bad, 2);
  const op = h.fromLan(A_MAC, { src: '10.0.0.5', dst: R, proto: 1, l4: pingL4 });
  const sp = decode(op[0].frame);
  const eu = h.fromExt({ src: '198.51.100.1', dst: GW, proto: 1, l4: icmpMsg(3, 1, 0, Buffer.from(sp.ip.subarray(0, 28))) });
  const de = decode(eu[0].frame);
  t.equal(de.dst, '10.0.0.5');
  t.same([...de.l4.subarray(28, 36)], [...pingL4.subarray(0, 8)], 'inner echo header (id, checksum) = original');
  t.same(checksumProblems(eu[0].frame), []);
  // An error quoting nothing we know is unsolicited.
  t.equal(h.fromExt({ src: R, dst: GW, proto: 1, l4: icmpMsg(3, 3, 0, Buffer.from(sent.ip.subarray(0, 20)).fill(0, 12, 16)) }).length, 0);
  t.equal(h.arena.available, h.arena.capacity);
});

t.test('nat: ICMP error from a floating-IP VM appears to come from the floating IP', async (t) => {
  const h = natSetup();
  h.r.addFloatingIp(FIP, '10.0.0.6');
  const u = udpDgram(R, FIP, 5000, 9999);
  const inb = h.fromExt({ src: R, dst: FIP, proto: 17, l4: u });
  const seen = decode(inb[0].frame);
  const pu = h.fromLan(V_MAC, { src: '10.0.0.6', dst: R, proto: 1, l4: icmpMsg(3, 3, 0, Buffer.from(seen.ip.subarray(0, 28))) });
  t.equal(pu.length, 1);
  const d = decode(pu[0].frame);
  t.equal(pu[0].iface, h.ext);
  t.equal(d.src, FIP, 'outer source = floating IP');
  t.equal(d.dst, R);
  const inner = d.l4.subarray(8);
  t.equal(inner.subarray(16, 20).join('.'), FIP, 'inner destination = floating IP');
  t.same([...inner.subarray(20, 28)], [...u.subarray(0, 8)], 'inner UDP = what R sent');
  t.same(checksumProblems(pu[0].frame), []);
});

t.test('nat: router-originated errors about NATed frames reach the inside host translated', async (t) => {
  const h = natSetup({ arpRetryMs: 1000, arpTimeoutMs: 60_000 });
  // Upstream next hop forgotten: the SNATed frame waits for ARP and then fails.
  h.clock.now += 61_000;
  h.r.tick();
  const seg = tcpSeg('10.0.0.5', R, 46000, 80, SYN);
  h.send(h.lan, arpFrame(1, A_MAC, '10.0.0.5', '00:00:00:00:00:00', '10.0.0.1'));
  t.equal(h.fromLan(A_MAC, { src: '10.0.0.5', dst: R, proto: 6, l4: seg }).length, 1, 'ARP request only');
  h.tick(1000);
  h.tick(1000);
  const fail = h.tick(1000);
  const err = fail.filter((e) => e.iface === h.lan);
  t.equal(err.length, 1);
  const d = decode(err[0].frame);
  t.equal(d.dst, '10.0.0.5', 'host unreachable delivered to the inside host');
  t.equal(d.l4[0], 3);
  t.equal(d.l4[1], 1);
  const inner = d.l4.subarray(8);
  t.equal(inner.subarray(12, 16).join('.'), '10.0.0.5', 'quote translated back');
  t.same([...inner.subarray(20, 28)], [...seg.subarray(0, 8)]);
  t.same(checksumProblems(err[0].frame), []);
});

t.test('nat: partial checksum (F_NEEDS_CSUM) — addresses update the pseudo sum, ports do not', async (t) => {
  const h = natSetup();
  h.fromLan(C_MAC, { src: '10.0.0.7', dst: R, proto: 6, l4: tcpSeg('10.0.0.7', R, 40000, 80, SYN) }); // takes 40000
  const seg = tcpSeg('10.0.0.5', R, 40000, 80, ACK, Buffer.alloc(300, 0x5a));
  // Field holds the folded pseudo-header sum, not complemented (Linux CHECKSUM_PARTIAL).
  const pkt = ipPacket({ src: '10.0.0.5', dst: R, proto: 6, l4: seg });
  const ps = sum16(new Uint8Array(0), 0, 0, pseudoSumV4(pkt, 0, 6, seg.length));
  pkt.writeUInt16BE(ps, 20 + 16);
  const frame = Buffer.concat([Buffer.from('02000000010152540000000508 00'.replace(/ /g, ''), 'hex'), pkt]);
  const vh = new Uint8Array(10);
  vh[0] = 1; // F_NEEDS_CSUM
  vh[6] = 34; // csum_start (LE)
  vh[8] = 16; // csum_offset
  const out = h.send(h.lan, frame, vh);
  const d = decode(out[0].frame);
  const port = d.l4.readUInt16BE(0);
  t.not(port, 40000, 'port translated');
  t.equal(d.src, GW);
  const want = sum16(new Uint8Array(0), 0, 0, pseudoSumV4(d.ip, 0, 6, seg.length));
  t.equal(d.l4.readUInt16BE(16), want, 'field = pseudo sum of the NEW addresses (port change not applied)');
  // Let the "device" finish it: the result equals a from-scratch checksum.
  const a = new PacketArena({ slots: 1, slotSize: 4096 });
  const s = a.allocFrom(out[0].frame);
  a.bytes.set(vh, a.base(s));
  t.equal(finishChecksum(a, s), true);
  t.same(checksumProblems(a.frame(s)), [], 'completed checksum is right');
  t.equal(decode(a.frame(s)).l4.readUInt16BE(16), refL4(ip(GW), ip(R), 6, Buffer.from(d.l4), 16));
});

t.test('nat: later fragments — 1:1 floating IP translated statelessly, port SNAT dropped', async (t) => {
  const h = natSetup();
  h.r.addFloatingIp(FIP, '10.0.0.6');
  const part = Buffer.alloc(64, 3);
  const f1 = h.fromExt({ src: R, dst: FIP, proto: 17, l4: part, fragOff: 100 });
  t.equal(f1.length, 1);
  t.equal(decode(f1[0].frame).dst, '10.0.0.6');
  t.same(checksumProblems(f1[0].frame), []);
  t.equal(h.fromLan(A_MAC, { src: '10.0.0.5', dst: R, proto: 17, l4: part, fragOff: 100 }).length, 0);
  t.equal(h.r.drops.get('nat_fragment'), 1);
});

t.test('nat: a gateway port is reused for different peers (reply tuples stay unique)', async (t) => {
  const h = natSetup();
  const R2 = '198.51.100.20';
  const a = decode(h.fromLan(A_MAC, { src: '10.0.0.5', dst: R, proto: 6, l4: tcpSeg('10.0.0.5', R, 40000, 80, SYN) })[0].frame);
  const c = decode(h.fromLan(C_MAC, { src: '10.0.0.7', dst: R2, proto: 6, l4: tcpSeg('10.0.0.7', R2, 40000, 80, SYN) })[0].frame);
  t.equal(a.l4.readUInt16BE(0), 40000);
  t.equal(c.l4.readUInt16BE(0), 40000, 'same gateway port: the peers differ');
  const c2 = decode(h.fromLan(C_MAC, { src: '10.0.0.7', dst: R, proto: 6, l4: tcpSeg('10.0.0.7', R, 40000, 443, SYN) })[0].frame);
  t.equal(c2.l4.readUInt16BE(0), 40000, 'same peer, another peer port: same gateway port');
  // Each reply finds its own host.
  t.equal(decode(h.fromExt({ src: R, dst: GW, proto: 6, l4: tcpSeg(R, GW, 80, 40000, SYN | ACK) })[0].frame).dst, '10.0.0.5');
  t.equal(decode(h.fromExt({ src: R2, dst: GW, proto: 6, l4: tcpSeg(R2, GW, 80, 40000, SYN | ACK) })[0].frame).dst, '10.0.0.7');
  t.equal(decode(h.fromExt({ src: R, dst: GW, proto: 6, l4: tcpSeg(R, GW, 443, 40000, SYN | ACK) })[0].frame).dst, '10.0.0.7');
  // ICMP echo ids likewise.
  const e1 = decode(h.fromLan(A_MAC, { src: '10.0.0.5', dst: R, proto: 1, l4: echo(8, 0x4242, 1) })[0].frame);
  const e2 = decode(h.fromLan(C_MAC, { src: '10.0.0.7', dst: R2, proto: 1, l4: echo(8, 0x4242, 1) })[0].frame);
  t.equal(e1.l4.readUInt16BE(4), 0x4242);
  t.equal(e2.l4.readUInt16BE(4), 0x4242);
  const e3 = decode(h.fromLan(C_MAC, { src: '10.0.0.7', dst: R, proto: 1, l4: echo(8, 0x4242, 1) })[0].frame);
  t.not(e3.l4.readUInt16BE(4), 0x4242, 'same peer, same id: another id');
  t.equal(decode(h.fromExt({ src: R, dst: GW, proto: 1, l4: echo(0, e3.l4.readUInt16BE(4), 1) })[0].frame).dst, '10.0.0.7');
  t.equal(h.arena.available, h.arena.capacity);
});

t.test('nat: per-source quota; a full table refuses only new sessions', async (t) => {
  const h = natSetup({ maxSessions: 6, maxSessionsPerSource: 3 });
  t.same(h.r.show().natLimits, { maxSessions: 6, maxSessionsPerSource: 3, allocated: 6 });
  for (let i = 0; i < 3; i++) t.equal(h.fromLan(A_MAC, { src: '10.0.0.5', dst: R, proto: 17, l4: udpDgram('10.0.0.5', R, 5000 + i, 53) }).length, 1);
  t.equal(h.fromLan(A_MAC, { src: '10.0.0.5', dst: R, proto: 17, l4: udpDgram('10.0.0.5', R, 5003, 53) }).length, 0, 'A is at its quota');
  t.equal(h.r.drops.get('nat_source_limit'), 1);
  // Other hosts still get sessions while A is at its quota.
  for (let i = 0; i < 3; i++) t.equal(h.fromLan(C_MAC, { src: '10.0.0.7', dst: R, proto: 17, l4: udpDgram('10.0.0.7', R, 6000 + i, 53) }).length, 1);
  t.equal(h.r.sessions().length, 6);
  t.equal(h.fromLan(V_MAC, { src: '10.0.0.6', dst: R, proto: 17, l4: udpDgram('10.0.0.6', R, 7000, 53) }).length, 0, 'table full');
  t.equal(h.r.drops.get('nat_table_full'), 1);
  // Established sessions keep flowing both ways while the table is full.
  for (let i = 0; i < 3; i++) {
    t.equal(h.fromLan(A_MAC, { src: '10.0.0.5', dst: R, proto: 17, l4: udpDgram('10.0.0.5', R, 5000 + i, 53) }).length, 1, `A's session ${i} out`);
    const back = h.fromExt({ src: R, dst: GW, proto: 17, l4: udpDgram(R, GW, 53, 5000 + i) });
    t.equal(back.length, 1, `A's session ${i} back`);
    t.equal(decode(back[0].frame).dst, '10.0.0.5');
  }
  // Limits change at run time; nothing live is removed.
  h.r.setNatLimits(8, 4);
  t.equal(h.r.sessions().length, 6);
  t.equal(h.fromLan(A_MAC, { src: '10.0.0.5', dst: R, proto: 17, l4: udpDgram('10.0.0.5', R, 5003, 53) }).length, 1);
  t.throws(() => h.r.setNatLimits(8, 9), /router r1: maxSessionsPerSource must be an integer in 1\.\.8/);
  t.throws(() => h.r.setNatLimits(0), /maxSessions must be an integer/);
  t.same(h.r.show().natLimits.maxSessionsPerSource, 4, 'a refused change changes nothing');
  t.equal(h.arena.available, h.arena.capacity);
});

t.test('nat: 100,000 UDP sessions through one gateway address (past 65,536 per protocol)', async (t) => {
  const h = natSetup({ maxSessions: 131072, maxSessionsPerSource: 131072 });
  const peers = ['198.51.100.10', '198.51.100.11'];
  const frameFor = (peer: string, sport: number) => ipFrame(LAN_MAC, A_MAC, { src: '10.0.0.5', dst: peer, proto: 17, l4: udpDgram('10.0.0.5', peer, sport, 53, Buffer.alloc(0), true) });
  let sent = 0;
  let out = 0;
  const gwPorts = new Set<number>();
  for (let i = 0; i < 100_000; i++) {
    const peer = peers[i & 1];
    const sport = 1024 + (i >> 1);
    const o = h.send(h.lan, frameFor(peer, sport));
    sent++;
    out += o.length;
    if (i % 997 === 0 && o.length === 1) {
      const d = decode(o[0].frame);
      t.equal(d.src, GW);
      gwPorts.add(d.l4.readUInt16BE(0));
    }
  }
  t.equal(out, sent, 'every datagram left through the gateway');
  t.equal(h.r.show().sessions, 100_000);
  t.equal(h.r.show().drops.nat_port_exhausted ?? 0, 0);
  t.ok(h.r.show().natLimits.allocated >= 100_000 && h.r.show().natLimits.allocated <= 131072, 'memory grew to the sessions, within the limit');
  // Replies of sessions all over the table find their host and port.
  for (const i of [0, 1, 65_535, 65_536, 99_998, 99_999]) {
    const peer = peers[i & 1];
    const sport = 1024 + (i >> 1);
    const back = h.fromExt({ src: peer, dst: GW, proto: 17, l4: udpDgram(peer, GW, 53, sport, Buffer.alloc(0), true) });
    t.equal(back.length, 1, `reply ${i}`);
    const d = decode(back[0].frame);
    t.equal(d.dst, '10.0.0.5');
    t.equal(d.l4.readUInt16BE(2), sport);
  }
  t.equal(h.arena.available, h.arena.capacity);
});
