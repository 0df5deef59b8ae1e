/**
 * packet/rewrite.ts: the one place packet edits keep checksums right — finished and partial
 * (virtio NEEDS_CSUM) TCP/UDP checksums after address and port changes, compared with sums
 * recomputed from scratch by the reference implementation (test/fixtures/util.ts).
 */
import t from 'tap';
import { l4AddrUpdate, l4PortUpdate, rewritePacket } from '../../src/packet/rewrite';
import { get16, put16, get32, put32 } from '../../src/wire/bytes';
import { refChecksum } from '../fixtures/util';
import { ipPacket, tcpSeg, udpDgram, ip } from './l3-helpers';

/** Folded (not complemented) pseudo-header sum: what a partial checksum field holds. */
function pseudoFold(src: string, dst: string, proto: number, len: number): number {
  const p = Buffer.alloc(12);
  ip(src).copy(p, 0);
  ip(dst).copy(p, 4);
  p[9] = proto;
  p.writeUInt16BE(len, 10);
  return ~refChecksum(p) & 0xffff;
}

t.test('wire/bytes: big-endian get/put', async (t) => {
  const b = new Uint8Array(8).fill(0xa5);
  put16(b, 1, 0x1234);
  put32(b, 3, 0xdeadbeef);
  t.same([...b], [0xa5, 0x12, 0x34, 0xde, 0xad, 0xbe, 0xef, 0xa5], 'writes only its bytes, network order');
  t.equal(get16(b, 1), 0x1234);
  t.equal(get32(b, 3), 0xdeadbeef, 'unsigned');
});

t.test('rewrite: finished TCP/UDP checksums after NAT of addresses and ports', async (t) => {
  for (const proto of [6, 17]) {
    const l4 = proto === 6 ? tcpSeg('10.0.1.10', '198.51.100.7', 40000, 443, 0x02, Buffer.from('data')) : udpDgram('10.0.1.10', '198.51.100.7', 40000, 53);
    const pkt = Buffer.from(ipPacket({ src: '10.0.1.10', dst: '198.51.100.7', proto, l4 }));
    rewritePacket(pkt, new DataView(pkt.buffer, pkt.byteOffset, pkt.length), 0, 20, proto, false, ip('203.0.113.2').readUInt32BE(), ip('198.51.100.7').readUInt32BE(), ((1025 << 16) | 443) >>> 0, -1);
    // The datagram as a host would have sent it from the start, checksums from scratch.
    const ref = proto === 6 ? tcpSeg('203.0.113.2', '198.51.100.7', 1025, 443, 0x02, Buffer.from('data')) : udpDgram('203.0.113.2', '198.51.100.7', 1025, 443);
    const field = proto === 6 ? 16 : 6;
    t.equal(pkt.subarray(20).readUInt16BE(field), ref.readUInt16BE(field), `${proto === 6 ? 'tcp' : 'udp'} checksum as recomputed`);
    const h = Buffer.from(pkt.subarray(0, 20));
    const c = h.readUInt16BE(10);
    h.writeUInt16BE(0, 10);
    t.equal(c, refChecksum(h), 'ip header checksum as recomputed');
  }
});

t.test('rewrite: partial checksum — address changes follow the pseudo header, ports do not', async (t) => {
  const seg = Buffer.alloc(20);
  const len = 20;
  seg.writeUInt16BE(pseudoFold('10.0.1.10', '198.51.100.7', 6, len), 16);
  const a = ip('10.0.1.10').readUInt32BE();
  const n = ip('203.0.113.2').readUInt32BE();
  l4AddrUpdate(seg, 16, a, n, true, false);
  t.equal(seg.readUInt16BE(16), pseudoFold('203.0.113.2', '198.51.100.7', 6, len), 'S follows the new source');
  const before = seg.readUInt16BE(16);
  l4PortUpdate(seg, 16, 40000, 1025, true, false);
  t.equal(seg.readUInt16BE(16), before, 'a port change leaves S alone (the device sums the port itself)');
  // UDP: 0 is a valid partial sum value, not "no checksum".
  const u = Buffer.alloc(8);
  l4AddrUpdate(u, 6, a, n, true, true);
  t.not(u.readUInt16BE(6), 0, 'partial UDP field updated even from 0');
  const f = Buffer.alloc(8);
  l4AddrUpdate(f, 6, a, n, false, true);
  t.equal(f.readUInt16BE(6), 0, 'finished UDP checksum 0 (none) stays 0');
});
