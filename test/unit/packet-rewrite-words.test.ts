/**
 * packet/rewrite.ts rewritePacket reads and writes the addresses, both ports and the
 * TTL/protocol/checksum word as 32-bit words and applies each checksum's changes at once
 * (wire/checksum.ts delta16/delta32/applyDelta). It must leave exactly the bytes the
 * field-by-field edit leaves: ipv4.setSrc/setDst (byte loads and stores), the TTL byte by byte
 * (refSetTtl) and l4AddrUpdate/l4WordUpdate per address and changed port — kept here as the
 * reference — for finished and partial TCP/UDP checksums, a UDP checksum of 0 ("none"), changes
 * that leave a half or a whole word as it was, words of 0xffff turning into 0, and checksums of
 * any value. On valid datagrams the result also checks out from scratch. ipv4.setTtl and
 * ipv4.checksumValid, word-wise through a DataView too, are held to the byte-wise edit and sum.
 */
import t from 'tap';
import { rewritePacket, l4AddrUpdate, l4WordUpdate } from '../../src/packet/rewrite';
import * as ipv4 from '../../src/wire/ipv4';
import { get16 } from '../../src/wire/bytes';
import { checksum, patch16 } from '../../src/wire/checksum';
import { refChecksum } from '../fixtures/util';
import { ipPacket, tcpSeg, udpDgram, refL4 } from './l3-helpers';

/** The TTL as ipv4.setTtl set it before it worked on word 2: byte loads and stores. */
function refSetTtl(b: Uint8Array, ip: number, ttl: number): void {
  const old = (b[ip + ipv4.TTL] << 8) | b[ip + ipv4.PROTOCOL];
  b[ip + ipv4.TTL] = ttl;
  patch16(b, ip + ipv4.CHECKSUM, old, (ttl << 8) | b[ip + ipv4.PROTOCOL]);
}

/** The word-by-word edit rewritePacket replaced (TCP/UDP), as it was. */
function reference(b: Uint8Array, l3: number, l4: number, proto: number, partial: boolean, ns: number, nd: number, nports: number, ttl: number): void {
  const os = ipv4.srcBits(b, l3);
  const od = ipv4.dstBits(b, l3);
  const csum = l4 === 0 ? 0 : l4 + (proto === 6 ? 16 : 6);
  const isUdp = proto === 17;
  if (os !== (ns | 0)) {
    ipv4.setSrc(b, l3, ns);
    if (csum !== 0) l4AddrUpdate(b, csum, os, ns, partial, isUdp);
  }
  if (od !== (nd | 0)) {
    ipv4.setDst(b, l3, nd);
    if (csum !== 0) l4AddrUpdate(b, csum, od, nd, partial, isUdp);
  }
  if (csum !== 0) {
    const osp = get16(b, l4);
    const odp = get16(b, l4 + 2);
    const nsp = nports >>> 16;
    const ndp = nports & 0xffff;
    if (osp !== nsp) {
      b[l4] = nsp >>> 8;
      b[l4 + 1] = nsp & 0xff;
      if (!partial) l4WordUpdate(b, csum, osp, nsp, isUdp);
    }
    if (odp !== ndp) {
      b[l4 + 2] = ndp >>> 8;
      b[l4 + 3] = ndp & 0xff;
      if (!partial) l4WordUpdate(b, csum, odp, ndp, isUdp);
    }
  }
  if (ttl >= 0) refSetTtl(b, l3, ttl);
}

/** A small deterministic generator (xorshift32), so a failure names a case that can be re-run. */
function rng(seed: number): () => number {
  let x = seed >>> 0 || 1;
  return () => {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    return x;
  };
}

/** Words that hit the edges: equal halves, 0xffff halves becoming 0 and back. */
const EDGE = [0, 0xffffffff, 0xffff0000, 0x0000ffff, 0x0a000001, 0x80000000, 0x7fffffff];

t.test('rewritePacket leaves the bytes the word-by-word edit leaves', async (t) => {
  const next = rng(0x5eed1);
  let cases = 0;
  let mismatches = 0;
  for (let i = 0; i < 20000; i++) {
    const proto = next() & 1 ? 6 : 17;
    const partial = (next() & 3) === 0;
    const len = 20 + (proto === 6 ? 20 : 8) + 4;
    const b = new Uint8Array(len + 3);
    const l3 = 3; // an odd offset: the DataView loads are unaligned as in the arena
    for (let k = 0; k < b.length; k++) b[k] = next() & 0xff;
    b[l3] = 0x45;
    const l4 = l3 + 20;
    const pick = (): number => ((next() & 7) === 0 ? EDGE[next() % EDGE.length] : next());
    const os = pick();
    const od = pick();
    new DataView(b.buffer).setUint32(l3 + 12, os);
    new DataView(b.buffer).setUint32(l3 + 16, od);
    // Some checksums 0 (UDP: none), some 0xffff, the rest anything.
    const c = next() % 5;
    const csum = proto === 6 ? l4 + 16 : l4 + 6;
    if (c === 0) b[csum] = b[csum + 1] = 0;
    if (c === 1) b[csum] = b[csum + 1] = 0xff;
    if (c === 2) b[l3 + 10] = b[l3 + 11] = 0xff;
    // New values: often unchanged (a whole word or a half), sometimes an edge value.
    const keep = next() % 4;
    const ns = keep === 0 ? os : keep === 1 ? ((os & 0xffff0000) | (next() & 0xffff)) >>> 0 : pick();
    const nd = keep === 2 ? od : pick();
    const op = new DataView(b.buffer).getUint32(l4);
    const pk = next() % 4;
    const np = pk === 0 ? op : pk === 1 ? ((op & 0xffff0000) | (next() & 0xffff)) >>> 0 : pk === 2 ? ((next() & 1 ? 0xffff0000 : 0) | (op & 0xffff)) >>> 0 : next();
    const ttl = next() & 1 ? -1 : next() & 0xff;
    const want = Uint8Array.from(b);
    reference(want, l3, l4, proto, partial, ns, nd, np, ttl);
    rewritePacket(b, new DataView(b.buffer), l3, l4, proto, partial, ns | 0, nd | 0, np | 0, ttl);
    cases++;
    if (Buffer.compare(Buffer.from(b), Buffer.from(want)) !== 0) {
      mismatches++;
      if (mismatches <= 5) t.fail(`case ${i}: proto ${proto} partial ${partial} ${os.toString(16)}→${ns.toString(16)} ${od.toString(16)}→${nd.toString(16)} ports ${op.toString(16)}→${np.toString(16)} ttl ${ttl}: got ${Buffer.from(b).toString('hex')}, want ${Buffer.from(want).toString('hex')}`);
    }
  }
  t.equal(mismatches, 0, `${cases} random rewrites byte for byte as the word-by-word edit`);
});

t.test('rewritePacket with a TTL: valid datagrams check out from scratch', async (t) => {
  for (const proto of [6, 17]) {
    const l4 = proto === 6 ? tcpSeg('10.0.1.10', '198.51.100.7', 40000, 443, 0x10, Buffer.from('data')) : udpDgram('10.0.1.10', '198.51.100.7', 40000, 53);
    const pkt = Buffer.from(ipPacket({ src: '10.0.1.10', dst: '198.51.100.7', proto, l4, ttl: 64 }));
    const v = new DataView(pkt.buffer, pkt.byteOffset, pkt.length);
    rewritePacket(pkt, v, 0, 20, proto, false, 0xcb007102 | 0, 0xc6336407 | 0, ((1025 << 16) | 443) | 0, 63);
    t.equal(pkt[8], 63, 'TTL written');
    const h = Buffer.from(pkt.subarray(0, 20));
    const c = h.readUInt16BE(10);
    h.writeUInt16BE(0, 10);
    t.equal(c, refChecksum(h), `${proto === 6 ? 'tcp' : 'udp'}: ip header checksum as recomputed`);
    const seg = Buffer.from(pkt.subarray(20));
    const field = proto === 6 ? 16 : 6;
    t.equal(seg.readUInt16BE(field), refL4(pkt.subarray(12, 16), pkt.subarray(16, 20), proto, seg, field), `${proto === 6 ? 'tcp' : 'udp'} checksum as recomputed`);
    t.equal(seg.readUInt32BE(0), ((1025 << 16) | 443) >>> 0, 'ports written');
  }
});

t.test('ipv4.setTtl (word 2 through a DataView) leaves the bytes the byte-wise edit leaves', async (t) => {
  const next = rng(0x77e1);
  let mismatches = 0;
  for (let i = 0; i < 20000; i++) {
    const b = new Uint8Array(27);
    for (let k = 0; k < b.length; k++) b[k] = next() & 0xff;
    const ip = 1 + (next() & 3); // unaligned too, as in the arena
    // Checksums of 0 and 0xffff and TTLs that do not change among the random ones.
    const c = next() % 6;
    if (c === 0) b[ip + 10] = b[ip + 11] = 0;
    if (c === 1) b[ip + 10] = b[ip + 11] = 0xff;
    const ttl = next() % 5 === 0 ? b[ip + 8] : next() & 0xff;
    const want = Uint8Array.from(b);
    refSetTtl(want, ip, ttl);
    ipv4.setTtl(new DataView(b.buffer), ip, ttl);
    if (Buffer.compare(Buffer.from(b), Buffer.from(want)) !== 0 && ++mismatches <= 5) {
      t.fail(`case ${i}: ttl ${ttl}: got ${Buffer.from(b).toString('hex')}, want ${Buffer.from(want).toString('hex')}`);
    }
  }
  t.equal(mismatches, 0, '20000 random TTL changes byte for byte as the byte-wise edit');
});

t.test('ipv4.checksumValid (32-bit loads) agrees with the byte-wise sum', async (t) => {
  const next = rng(0xc5c5);
  let disagree = 0;
  let valid = 0;
  for (let i = 0; i < 20000; i++) {
    const hlen = 20 + 4 * (next() % 11); // IHL 5..15
    const b = new Uint8Array(hlen + 5);
    for (let k = 0; k < b.length; k++) b[k] = next() & 0xff;
    const ip = next() & 3;
    if (next() & 1) {
      // Make it verify: the right checksum, then some 0xffff and 0 words (sums that fold to 0xffff).
      if (next() & 1) b.fill(0xff, ip, ip + 8);
      b[ip + 10] = b[ip + 11] = 0;
      const c = checksum(b, ip, hlen);
      b[ip + 10] = c >>> 8;
      b[ip + 11] = c & 0xff;
    }
    const want = checksum(b, ip, hlen) === 0;
    if (want) valid++;
    if (ipv4.checksumValid(new DataView(b.buffer), ip, hlen) !== want) disagree++;
  }
  t.equal(disagree, 0, `20000 random headers (${valid} valid) judged as the byte-wise sum judges them`);
  t.notOk(ipv4.checksumValid(new DataView(new ArrayBuffer(20)), 0, 20), 'an all-zero header fails');
  const pkt = Buffer.from(ipPacket({ src: '10.0.1.10', dst: '198.51.100.7', proto: 17, l4: udpDgram('10.0.1.10', '198.51.100.7', 1, 2), ttl: 9 }));
  const v = new DataView(pkt.buffer, pkt.byteOffset, pkt.length);
  t.ok(ipv4.checksumValid(v, 0, 20), 'a valid header verifies');
  ipv4.setTtl(v, 0, 8);
  t.equal(pkt[8], 8, 'TTL written');
  t.ok(ipv4.checksumValid(v, 0, 20), 'and still verifies after the TTL change');
  pkt[13] ^= 0x40;
  t.notOk(ipv4.checksumValid(v, 0, 20), 'a flipped bit fails');
});
