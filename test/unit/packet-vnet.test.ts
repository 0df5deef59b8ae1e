import t from 'tap';
import { PacketArena } from '../../src/packet/arena';
import * as vnet from '../../src/packet/vnet';
import { checksum, pseudoSumV4, sum16 } from '../../src/wire/checksum';
import * as tcp from '../../src/wire/tcp';
import * as udp from '../../src/wire/udp';
import * as F from '../fixtures/frames';
import { hex, toHex, prng, randInt } from '../fixtures/util';

function writeVnet(a: PacketArena, s: number, flags: number, gso: number, cs: number, co: number): void {
  const b = a.base(s);
  a.bytes.fill(0, b, b + 10);
  a.bytes[b] = flags; a.bytes[b + 1] = gso;
  a.bytes[b + 6] = cs & 0xff; a.bytes[b + 7] = cs >>> 8;
  a.bytes[b + 8] = co & 0xff; a.bytes[b + 9] = co >>> 8;
}

/** Put the pseudo-header sum (folded, not complemented) in the L4 checksum field, as Linux does for CHECKSUM_PARTIAL. */
function makePartial(b: Uint8Array, ip: number, l4: number, proto: number, len: number, field: number): void {
  const s = sum16(new Uint8Array(0), 0, 0, pseudoSumV4(b, ip, proto, len));
  b[l4 + field] = s >>> 8;
  b[l4 + field + 1] = s & 0xff;
}

t.test('vnet: accessors read the little-endian header at the slot base', async (t) => {
  const a = new PacketArena({ slots: 2, slotSize: 2048 });
  const s = a.allocFrom(hex(F.tcpSyn));
  a.allocFrom(hex(F.tcpSyn));
  const b = a.base(1);
  a.bytes.set([0x01, 0x81, 0x42, 0x00, 0xa8, 0x05, 0x22, 0x01, 0x10, 0x00], b);
  t.equal(vnet.flags(a, 1), vnet.F_NEEDS_CSUM);
  t.equal(vnet.needsCsum(a, 1), true);
  t.equal(vnet.gsoType(a, 1), vnet.GSO_TCPV4, 'ECN bit masked off');
  t.equal(vnet.gsoSize(a, 1), 1448);
  t.equal(vnet.csumStart(a, 1), 0x122);
  t.equal(vnet.csumOffset(a, 1), 16);
  t.equal(vnet.needsCsum(a, s), false, 'slot 0 untouched');
  vnet.clear(a, 1);
  t.equal(toHex(a.bytes, b, b + 12), '00'.repeat(10) + toHex(a.bytes, b + 10, b + 12));
  t.equal(vnet.gsoSize(a, 1), 0);
});

t.test('vnet: finishChecksum completes a partial TCP/IPv4 checksum', async (t) => {
  const a = new PacketArena({ slots: 4, slotSize: 2048 });
  const fx = hex(F.tcpSyn);
  const b = hex(F.tcpSyn);
  makePartial(b, 14, 34, 6, 40, tcp.CHECKSUM);
  t.not(toHex(b, 50, 52), '0866', 'field holds the pseudo-header sum, not the checksum');
  const s = a.allocFrom(b);
  writeVnet(a, s, vnet.F_NEEDS_CSUM, vnet.GSO_NONE, 34, 16);
  t.equal(vnet.finishChecksum(a, s), true);
  t.equal(toHex(a.frame(s)), toHex(fx), 'checksum equals the fixture (0x0866)');
  t.equal(vnet.needsCsum(a, s), false, 'flag cleared');
  t.equal(vnet.csumStart(a, s), 34, 'offsets left as they were');

  // Random segments: the completed checksum equals a from-scratch computation.
  const r = prng(0x5eed);
  let bad = 0;
  for (let i = 0; i < 500; i++) {
    const payload = randInt(r, 1400) + (i % 2);
    const frame = new Uint8Array(54 + payload);
    frame.set(fx.subarray(0, 54));
    frame[14 + 2] = (40 + payload) >>> 8; // IP total length = 20 + 20 + payload
    frame[14 + 3] = (40 + payload) & 0xff;
    for (let j = 0; j < 8; j++) frame[26 + j] = randInt(r, 256); // addresses
    for (let j = 34; j < 34 + 16; j++) frame[j] = randInt(r, 256); // ports, seq, ack, flags
    for (let j = 54; j < frame.length; j++) frame[j] = randInt(r, 256);
    frame[46] = 0x50; // data offset 5
    const len = 20 + payload;
    const ref = frame.slice();
    tcp.fillChecksumV4(ref, 14, 34, len);
    makePartial(frame, 14, 34, 6, len, tcp.CHECKSUM);
    const x = a.allocFrom(frame);
    writeVnet(a, x, vnet.F_NEEDS_CSUM, vnet.GSO_NONE, 34, 16);
    if (!vnet.finishChecksum(a, x) || toHex(a.frame(x)) !== toHex(ref) || checksum(a.bytes, a.start[x] + 34, len, pseudoSumV4(a.bytes, a.start[x] + 14, 6, len)) !== 0) bad++;
    a.release(x);
  }
  t.equal(bad, 0, '500 random TCP segments');
});

t.test('vnet: finishChecksum on UDP sends a computed 0 as 0xffff', async (t) => {
  const a = new PacketArena({ slots: 2, slotSize: 2048 });
  const b = hex(F.udpDnsQuery);
  // Make the full checksum come out as 0 by choosing the DNS id (as in wire-udp.test).
  b[42] = 0; b[43] = 0;
  udp.fillChecksumV4(b, 14, 34);
  const c0 = udp.udpChecksum(b, 34);
  b[42] = c0 >>> 8; b[43] = c0 & 0xff;
  makePartial(b, 14, 34, 17, 48, udp.CHECKSUM);
  const s = a.allocFrom(b);
  writeVnet(a, s, vnet.F_NEEDS_CSUM, vnet.GSO_NONE, 34, 6);
  t.equal(vnet.finishChecksum(a, s), true);
  t.equal(toHex(a.frame(s), 40, 42), 'ffff');
  // The normal case gives the fixture checksum.
  const d = hex(F.udpDnsQuery);
  makePartial(d, 14, 34, 17, 48, udp.CHECKSUM);
  const x = a.allocFrom(d);
  writeVnet(a, x, vnet.F_NEEDS_CSUM, vnet.GSO_NONE, 34, 6);
  t.equal(vnet.finishChecksum(a, x), true);
  t.equal(toHex(a.frame(x)), F.udpDnsQuery);
});

t.test('vnet: finishChecksum without the flag, and inconsistent headers', async (t) => {
  const a = new PacketArena({ slots: 2, slotSize: 2048 });
  const s = a.allocFrom(hex(F.tcpSyn)); // 74 bytes
  writeVnet(a, s, 0, vnet.GSO_NONE, 34, 16);
  t.equal(vnet.finishChecksum(a, s), true, 'no NEEDS_CSUM: nothing to do');
  t.equal(toHex(a.frame(s)), F.tcpSyn);

  for (const [cs, co, name] of [[74, 0, 'csum_start at the end'], [34, 39, 'field past the end'], [72, 1, 'field straddles the end'], [0xffff, 0xffff, 'all ones']] as const) {
    writeVnet(a, s, vnet.F_NEEDS_CSUM, vnet.GSO_NONE, cs, co);
    t.equal(vnet.finishChecksum(a, s), false, name);
    t.equal(toHex(a.frame(s)), F.tcpSyn, `${name}: frame untouched`);
    t.equal(vnet.needsCsum(a, s), true, `${name}: flag kept`);
  }
  writeVnet(a, s, vnet.F_NEEDS_CSUM, vnet.GSO_NONE, 34, 38);
  t.equal(vnet.finishChecksum(a, s), true, 'field in the last two bytes is fine');
});
