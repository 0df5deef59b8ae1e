import t from 'tap';
import * as udp from '../../src/wire/udp';
import * as ip from '../../src/wire/ipv4';
import { checksum, pseudoSumV4 } from '../../src/wire/checksum';
import * as F from '../fixtures/frames';
import { hex, a5, toHex, refChecksum, refPseudo4 } from '../fixtures/util';

const IP = 14;
const L4 = 34;

t.test('udp: deconstruct DNS query', async (t) => {
  const b = hex(F.udpDnsQuery);
  t.equal(udp.srcPort(b, L4), 53000);
  t.equal(udp.dstPort(b, L4), 53);
  t.equal(udp.length(b, L4), 48);
  t.equal(udp.udpChecksum(b, L4), 0x94d5);
  t.equal(checksum(b, L4, 48, pseudoSumV4(b, IP, 17, 48)), 0, 'fixture checksum verifies');
  // 'example' starts the QNAME after the 12-byte DNS header.
  t.equal(Buffer.from(b.subarray(L4 + 8 + 13, L4 + 8 + 20)).toString(), 'example');
});

t.test('udp: fillChecksumV4 recomputes the fixture checksum', async (t) => {
  const b = hex(F.udpDnsQuery);
  udp.setChecksumField(b, L4, 0xa5a5);
  udp.fillChecksumV4(b, IP, L4);
  t.equal(udp.udpChecksum(b, L4), 0x94d5);
  // Independent reference: pseudo-header by hand.
  const seg = b.slice(L4, L4 + 48);
  seg[6] = seg[7] = 0;
  t.equal(refChecksum(seg, refPseudo4(b.subarray(IP + 12, IP + 16), b.subarray(IP + 16, IP + 20), 17, 48)), 0x94d5);
  // Only `length` bytes are covered: bytes after it (Ethernet padding) do not count.
  const padded = new Uint8Array(b.length + 6).fill(0xee);
  padded.set(b);
  udp.fillChecksumV4(padded, IP, L4);
  t.equal(udp.udpChecksum(padded, L4), 0x94d5);
});

t.test('udp: a computed checksum of 0 is sent as 0xffff (RFC 768)', async (t) => {
  const b = hex(F.udpDnsQuery);
  // Adjust the DNS transaction id so the datagram's full sum becomes 0xffff -> checksum 0.
  b[L4 + 8] = 0; b[L4 + 9] = 0;
  udp.fillChecksumV4(b, IP, L4);
  const c0 = udp.udpChecksum(b, L4); // checksum with id 0: id must add exactly c0 to reach 0xffff
  b[L4 + 8] = c0 >>> 8; b[L4 + 9] = c0 & 0xff;
  const seg = b.slice(L4, L4 + 48); seg[6] = seg[7] = 0;
  t.equal(refChecksum(seg, refPseudo4(b.subarray(IP + 12, IP + 16), b.subarray(IP + 16, IP + 20), 17, 48)), 0, 'reference says 0');
  udp.fillChecksumV4(b, IP, L4);
  t.equal(udp.udpChecksum(b, L4), 0xffff);
  t.equal(checksum(b, L4, 48, pseudoSumV4(b, IP, 17, 48)), 0, '0xffff verifies as well');
});

t.test('udp: construct', async (t) => {
  const want = hex(F.udpDnsQuery).subarray(L4, L4 + 8);
  const b = a5(12);
  udp.setSrcPort(b, 2, 53000);
  t.equal(toHex(b), 'a5a5cf08' + 'a5'.repeat(8));
  udp.setDstPort(b, 2, 53);
  udp.setLength(b, 2, 48);
  t.equal(toHex(b), 'a5a5cf0800350030' + 'a5'.repeat(4));
  udp.setChecksumField(b, 2, 0x94d5);
  t.equal(toHex(b), 'a5a5' + toHex(want) + 'a5a5');

  // A whole datagram over a 0xa5 buffer: IP header + UDP header + payload, then checksum.
  const frame = hex(F.udpDnsQuery);
  const out = a5(frame.length);
  out.set(frame.subarray(0, 14));
  ip.emitIpv4({ totalLength: 68, ident: 0x7d01, flags: 2, protocol: 17, src: '10.0.0.1', dst: '8.8.8.8' }, out, IP);
  udp.setSrcPort(out, L4, 53000);
  udp.setDstPort(out, L4, 53);
  udp.setLength(out, L4, 48);
  out.set(frame.subarray(L4 + 8), L4 + 8);
  udp.fillChecksumV4(out, IP, L4);
  t.equal(toHex(out), toHex(frame));
});
