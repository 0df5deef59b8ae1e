import t from 'tap';
import * as tcp from '../../src/wire/tcp';
import * as ip from '../../src/wire/ipv4';
import { checksum, pseudoSumV4 } from '../../src/wire/checksum';
import * as F from '../fixtures/frames';
import { hex, a5, toHex, refChecksum, refPseudo4 } from '../fixtures/util';

const IP = 14;
const L4 = 34;

t.test('tcp: deconstruct SYN with options', async (t) => {
  const b = hex(F.tcpSyn);
  t.equal(tcp.srcPort(b, L4), 43210);
  t.equal(tcp.dstPort(b, L4), 80);
  t.equal(tcp.seq(b, L4), 0x6b8b4567);
  t.equal(tcp.dataOffset(b, L4), 40);
  t.equal(tcp.flags(b, L4), tcp.SYN);
  t.equal(tcp.tcpChecksum(b, L4), 0x0866);
  t.equal(checksum(b, L4, 40, pseudoSumV4(b, IP, 6, 40)), 0, 'fixture checksum verifies');
  // First option: MSS 1460.
  t.equal(toHex(b, L4 + 20, L4 + 24), '020405b4');
});

t.test('tcp: deconstruct padded ACK', async (t) => {
  const b = hex(F.tcpAckPadded);
  t.equal(b.length, 60);
  t.equal(tcp.flags(b, L4), tcp.ACK_FLAG);
  t.equal(tcp.dataOffset(b, L4), 20);
  t.equal(tcp.seq(b, L4), 0x6b8b4568);
  const len = ip.totalLen(b, IP) - 20;
  t.equal(len, 20);
  t.equal(checksum(b, L4, len, pseudoSumV4(b, IP, 6, len)), 0);
  // Sequence numbers with the top bit set stay unsigned.
  const h = hex(F.tcpAckPadded);
  h[L4 + 4] = 0xff;
  t.equal(tcp.seq(h, L4), 0xff8b4568);
  h[L4 + 12] = 0xf0;
  t.equal(tcp.dataOffset(h, L4), 60);
});

t.test('tcp: fillChecksumV4', async (t) => {
  const b = hex(F.tcpSyn);
  tcp.setChecksumField(b, L4, 0xa5a5);
  tcp.fillChecksumV4(b, IP, L4, 40);
  t.equal(tcp.tcpChecksum(b, L4), 0x0866);

  const a = hex(F.tcpAckPadded);
  a.fill(0x5a, 54); // non-zero padding must not enter the sum
  tcp.setChecksumField(a, L4, 0);
  tcp.fillChecksumV4(a, IP, L4, 20);
  t.equal(tcp.tcpChecksum(a, L4), 0xc934);

  // Odd-length payload, against the hand-written reference.
  const odd = new Uint8Array(14 + 20 + 20 + 3);
  odd.set(hex(F.tcpAckPadded).subarray(0, 54));
  odd.set([0x61, 0x62, 0x63], 54);
  ip.setTotalLen(odd, IP, 43);
  tcp.fillChecksumV4(odd, IP, L4, 23);
  const seg = odd.slice(L4); seg[16] = seg[17] = 0;
  t.equal(tcp.tcpChecksum(odd, L4), refChecksum(seg, refPseudo4(odd.subarray(26, 30), odd.subarray(30, 34), 6, 23)));
  t.equal(checksum(odd, L4, 23, pseudoSumV4(odd, IP, 6, 23)), 0);
});

t.test('tcp: construct', async (t) => {
  const b = a5(24);
  tcp.setSrcPort(b, 2, 43210);
  t.equal(toHex(b), 'a5a5a8ca' + 'a5'.repeat(20));
  tcp.setDstPort(b, 2, 80);
  t.equal(toHex(b), 'a5a5a8ca0050' + 'a5'.repeat(18));
  tcp.setChecksumField(b, 2, 0x0866);
  t.equal(toHex(b), 'a5a5a8ca0050' + 'a5'.repeat(12) + '0866' + 'a5'.repeat(4));

  // The SYN, rebuilt over 0xa5: fixed fields copied, ports and checksum by the module.
  const syn = hex(F.tcpSyn);
  const out = a5(syn.length);
  out.set(syn.subarray(0, L4));
  out.set(syn.subarray(L4 + 4, L4 + 16), L4 + 4);
  out.set(syn.subarray(L4 + 18), L4 + 18);
  tcp.setSrcPort(out, L4, 43210);
  tcp.setDstPort(out, L4, 80);
  tcp.fillChecksumV4(out, IP, L4, 40);
  t.equal(toHex(out), toHex(syn));
});
