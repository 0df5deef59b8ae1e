import t from 'tap';
import { DhcpServer, parseOptions, DhcpEvent } from '../../src/l3/dhcp';
import { ethFrame, decode, checksumProblems, mac } from './l3-helpers';
import { ipPacket } from './l3-helpers';

const CLIENT = '52:54:00:12:34:56';

/** A client DHCP message (Ethernet/IP/UDP 68→67 from 0.0.0.0 to broadcast). */
function clientMsg(type: number, opts: number[] = [], o: { ciaddr?: number[]; flags?: number; chaddr?: string } = {}): Buffer {
  const bootp = Buffer.alloc(300);
  bootp[0] = 1;
  bootp[1] = 1;
  bootp[2] = 6;
  bootp.writeUInt32BE(0xdeadbeef, 4);
  bootp.writeUInt16BE(o.flags ?? 0, 10);
  if (o.ciaddr) Buffer.from(o.ciaddr).copy(bootp, 12);
  mac(o.chaddr ?? CLIENT).copy(bootp, 28);
  bootp.writeUInt32BE(0x63825363, 236);
  Buffer.from([53, 1, type, ...opts, 255]).copy(bootp, 240);
  const u = Buffer.alloc(8 + bootp.length);
  u.writeUInt16BE(68, 0);
  u.writeUInt16BE(67, 2);
  u.writeUInt16BE(u.length, 4);
  bootp.copy(u, 8);
  return ethFrame('ff:ff:ff:ff:ff:ff', o.chaddr ?? CLIENT, 0x0800, ipPacket({ src: '0.0.0.0', dst: '255.255.255.255', proto: 17, l4: u }));
}

function server(): DhcpServer {
  const s = new DhcpServer({ subnet: '10.0.0.0/24', gateway: '10.0.0.1', dns: ['10.0.0.2', '9.9.9.9'], leaseSec: 3600, mtu: 1450, serverMac: '02:00:00:00:00:02', serverIp: '10.0.0.2' });
  s.addHost(CLIENT, '10.0.0.42');
  return s;
}

function reply(f: Uint8Array) {
  const b = Buffer.from(f);
  const d = decode(b);
  const bootp = d.l4.subarray(8);
  return { d, bootp, opts: parseOptions(bootp, 240, bootp.length), yiaddr: bootp.subarray(16, 20).join('.') };
}

t.test('dhcp: DISCOVER → OFFER with the options parsed back', async (t) => {
  const s = server();
  const ev: DhcpEvent[] = [];
  s.onEvent = (e) => ev.push(e);
  const out = s.handle(clientMsg(1));
  t.ok(out);
  const r = reply(out!);
  t.equal(r.d.src, '10.0.0.2');
  t.equal(r.d.dst, '10.0.0.42', 'unicast to the offered address (no broadcast flag)');
  t.equal(r.d.dmac, CLIENT);
  t.equal(r.d.smac, '02:00:00:00:00:02');
  t.equal(r.d.l4.readUInt16BE(0), 67);
  t.equal(r.d.l4.readUInt16BE(2), 68);
  t.same(checksumProblems(Buffer.from(out!)), [], 'IP and UDP checksums');
  t.equal(r.bootp[0], 2, 'BOOTREPLY');
  t.equal(r.bootp.readUInt32BE(4), 0xdeadbeef, 'xid');
  t.equal(r.yiaddr, '10.0.0.42');
  t.equal(r.bootp.subarray(28, 34).toString('hex'), '525400123456', 'chaddr');
  t.same([...r.opts.get(53)!], [2], 'OFFER');
  t.same([...r.opts.get(1)!], [255, 255, 255, 0], 'subnet mask');
  t.same([...r.opts.get(3)!], [10, 0, 0, 1], 'router');
  t.same([...r.opts.get(6)!], [10, 0, 0, 2, 9, 9, 9, 9], 'DNS');
  t.equal(Buffer.from(r.opts.get(51)!).readUInt32BE(0), 3600, 'lease');
  t.same([...r.opts.get(54)!], [10, 0, 0, 2], 'server id');
  t.equal(Buffer.from(r.opts.get(26)!).readUInt16BE(0), 1450, 'MTU');
  t.same(ev, [{ type: 'offer', mac: CLIENT, ip: '10.0.0.42' }]);
  // Broadcast flag: reply to broadcast.
  const bc = reply(s.handle(clientMsg(1, [], { flags: 0x8000 }))!);
  t.equal(bc.d.dst, '255.255.255.255');
  t.equal(bc.d.dmac, 'ff:ff:ff:ff:ff:ff');
});

t.test('dhcp: REQUEST → ACK, wrong address → NAK, unknown MAC and other server → silence', async (t) => {
  const s = server();
  const ack = reply(s.handle(clientMsg(3, [50, 4, 10, 0, 0, 42, 54, 4, 10, 0, 0, 2]))!);
  t.same([...ack.opts.get(53)!], [5], 'ACK');
  t.equal(ack.yiaddr, '10.0.0.42');
  t.same([...ack.opts.get(1)!], [255, 255, 255, 0]);
  t.same([...ack.opts.get(3)!], [10, 0, 0, 1]);
  t.equal(Buffer.from(ack.opts.get(51)!).readUInt32BE(0), 3600);
  // Renewal: no option 50, ciaddr set → ACK unicast to ciaddr.
  const renew = reply(s.handle(clientMsg(3, [], { ciaddr: [10, 0, 0, 42] }))!);
  t.same([...renew.opts.get(53)!], [5]);
  t.equal(renew.d.dst, '10.0.0.42');
  t.equal(renew.bootp.subarray(12, 16).join('.'), '10.0.0.42', 'ciaddr echoed');
  const nak = reply(s.handle(clientMsg(3, [50, 4, 10, 0, 0, 99]))!);
  t.same([...nak.opts.get(53)!], [6], 'NAK');
  t.equal(nak.yiaddr, '0.0.0.0');
  t.equal(nak.d.dst, '255.255.255.255', 'NAK broadcast');
  t.notOk(nak.opts.has(51), 'no lease in a NAK');
  t.same(checksumProblems(Buffer.from(s.handle(clientMsg(3, [50, 4, 10, 0, 0, 99]))!)), []);
  t.equal(s.handle(clientMsg(1, [], { chaddr: '52:54:00:99:99:99' })), null, 'unknown MAC');
  t.equal(s.handle(clientMsg(3, [50, 4, 10, 0, 0, 42, 54, 4, 10, 0, 0, 3])), null, 'request for another server');
  t.equal(s.handle(Buffer.alloc(60)), null, 'garbage');
  t.throws(() => s.addHost('52:54:00:00:00:01', '192.168.1.1'), /not in the subnet/);
});
