import t from 'tap';
import * as cs from '../../src/wire/checksum';
import * as udp from '../../src/wire/udp';
import * as F from '../fixtures/frames';
import { hex, prng, randInt, refChecksum, refPseudo4 } from '../fixtures/util';

t.test('checksum: RFC 1071 §3 example', async (t) => {
  const b = hex('0001f203f4f5f6f7');
  t.equal(cs.sum16(b, 0, 8), 0xddf2, 'folded sum 0xddf2');
  t.equal(cs.checksum(b, 0, 8), 0x220d, 'checksum is its complement');
  // Same bytes at an odd offset inside a bigger buffer.
  const big = new Uint8Array(11).fill(0xa5);
  big.set(b, 3);
  t.equal(cs.sum16(big, 3, 8), 0xddf2);
  // With the checksum appended, the sum is 0xffff and the checksum 0 (how receivers verify).
  const withSum = hex('0001f203f4f5f6f7220d');
  t.equal(cs.sum16(withSum, 0, 10), 0xffff);
  t.equal(cs.checksum(withSum, 0, 10), 0);
});

t.test('checksum: odd lengths, offsets and initial values against a reference', async (t) => {
  const r = prng(1071);
  const buf = new Uint8Array(1600);
  let bad = 0;
  for (let i = 0; i < 3000; i++) {
    for (let j = 0; j < buf.length; j++) buf[j] = randInt(r, 256);
    if (i % 7 === 0) buf.fill(0xff, 0, 200);
    const p = randInt(r, 100);
    const len = i < 64 ? i : randInt(r, 1500);
    const init = i % 3 === 0 ? randInt(r, 0x40000) : 0;
    const ref = refChecksum(buf.slice(p, p + len), init);
    if (cs.checksum(buf, p, len, init) !== ref) bad++;
    if (cs.sum16(buf, p, len, init) !== (~ref & 0xffff) && !(len === 0 && init === 0)) bad++;
  }
  t.equal(bad, 0, '3000 random buffers agree with the reference');
  t.equal(cs.sum16(hex('ab'), 0, 1), 0xab00, 'odd byte is the high half of a word');
  t.equal(cs.sum16(hex('abcd12'), 0, 3), 0xbdcd);
  t.equal(cs.sum16(hex('abcd12'), 0, 2), 0xabcd, 'len limits the bytes read');
  t.equal(cs.sum16(hex('ffffffff01'), 0, 5), 0x0100 + 0xffff - 0xffff, 'carries fold');
  t.equal(cs.sum16(new Uint8Array(0), 0, 0, 0x1fffe), 0xffff, 'initial folded');
  t.equal(cs.checksum(new Uint8Array(4), 0, 4), 0xffff, 'all-zero data');
});

t.test('checksum: pseudo-header sums', async (t) => {
  const b = hex(F.tcpSyn);
  const v4 = cs.pseudoSumV4(b, 14, 6, 40);
  t.equal(v4, refPseudo4(b.subarray(26, 30), b.subarray(30, 34), 6, 40));
  t.equal(v4, 0x0a00 + 0x0001 + 0x0a00 + 0x0002 + 6 + 40);
  const hiAddr = hex('4500000000000000400600' + '00' + 'ffffffff' + 'fffffffe');
  t.equal(cs.pseudoSumV4(hiAddr, 0, 17, 8), 0xffff * 3 + 0xfffe + 17 + 8, 'unfolded, no overflow');

  const v6 = hex(F.icmpv6EchoRequest);
  let ref = 0;
  for (let i = 14 + 8; i < 14 + 40; i += 2) ref += (v6[i] << 8) | v6[i + 1];
  t.equal(cs.pseudoSumV6(v6, 14, 58, 64), ref + 58 + 64);
  t.equal(cs.pseudoSumV6(v6, 14, 58, 0x12345), ref + 58 + 0x1 + 0x2345, '32-bit upper-layer length (jumbogram)');
  t.equal(cs.checksum(v6, 54, 64, cs.pseudoSumV6(v6, 14, 58, 64)), 0, 'ICMPv6 fixture verifies');
});

/** Fresh checksum over `words` (field excluded). */
function fresh(words: Uint16Array): number {
  let s = 0;
  for (let i = 0; i < words.length; i++) s += words[i];
  while (s > 0xffff) s = (s & 0xffff) + (s >>> 16);
  return ~s & 0xffff;
}
function verifies(words: Uint16Array, c: number): boolean {
  let s = c;
  for (let i = 0; i < words.length; i++) s += words[i];
  while (s > 0xffff) s = (s & 0xffff) + (s >>> 16);
  return s === 0xffff;
}

t.test('checksum: RFC 1624 incremental update equals recomputation', async (t) => {
  const r = prng(1624);
  const pick = (): number => {
    // Bias towards the edge words 0x0000 and 0xffff.
    const x = randInt(r, 8);
    return x === 0 ? 0 : x === 1 ? 0xffff : randInt(r, 0x10000);
  };
  let bad16 = 0;
  let bad32 = 0;
  let zeroSeen = 0;
  const cases = 20000;
  for (let i = 0; i < cases; i++) {
    const n = 2 + randInt(r, 20);
    const w = new Uint16Array(n);
    for (let j = 0; j < n; j++) w[j] = pick();
    if (i % 5 === 0) {
      // Force a checksum of 0x0000 (sum 0xffff) before the change.
      w[0] = 0;
      w[0] = (~fresh(w) & 0xffff) === 0 ? 0xffff : 0xffff - (~fresh(w) & 0xffff);
    }
    if (w.every((x) => x === 0)) w[1] = 1; // all-zero data is not a real header (see below)
    let c = fresh(w);
    // 16-bit change
    const k = randInt(r, n);
    const old = w[k];
    let nw = pick();
    if (i % 5 === 1) {
      // Choose the new word so the NEW checksum is 0x0000.
      w[k] = 0;
      const rest = ~fresh(w) & 0xffff;
      nw = rest === 0 ? 0xffff : 0xffff - rest;
    }
    w[k] = nw;
    if (w.every((x) => x === 0)) { w[k] = old; continue; }
    const inc = cs.applyDelta(c, cs.delta16(old, nw));
    if (inc !== fresh(w) || !verifies(w, inc)) bad16++;
    if (inc === 0) zeroSeen++;
    c = fresh(w);
    // 32-bit change at an even word pair
    if (n >= 2) {
      const k2 = randInt(r, n - 1);
      const oldV = ((w[k2] << 16) | w[k2 + 1]) >>> 0;
      const newV = ((pick() << 16) | pick()) >>> 0;
      const save0 = w[k2], save1 = w[k2 + 1];
      w[k2] = newV >>> 16; w[k2 + 1] = newV & 0xffff;
      if (w.every((x) => x === 0)) { w[k2] = save0; w[k2 + 1] = save1; continue; }
      const inc32 = cs.applyDelta(c, cs.delta32(oldV, newV));
      if (inc32 !== fresh(w) || !verifies(w, inc32)) bad32++;
    }
  }
  t.equal(bad16, 0, `applyDelta(delta16) matches a recomputation in ${cases} cases`);
  t.equal(bad32, 0, 'applyDelta(delta32) matches too');
  t.ok(zeroSeen > 1000, `the 0x0000 result is exercised (${zeroSeen} times)`);

  // RFC 1624 §3 worked example: HC 0xdd2f, m 0x5555 -> m' 0x3285 gives HC' 0x0000.
  t.equal(cs.applyDelta(0xdd2f, cs.delta16(0x5555, 0x3285)), 0x0000);
  // A checksum of 0xffff only arises over all-zero data: a word then turning non-zero.
  t.equal(cs.applyDelta(0xffff, cs.delta16(0x0000, 0x1234)), fresh(Uint16Array.from([0x1234, 0])));
  // No-op change leaves a real checksum alone, whatever the word.
  for (const [c, m] of [[0x1234, 0], [0x1234, 0xffff], [0, 0xffff], [0, 0x8000]]) {
    t.equal(cs.applyDelta(c, cs.delta16(m, m)), c, `no-op ${c.toString(16)}/${m.toString(16)}`);
  }
});

t.test('checksum: patch16/patch32 write the updated field in place', async (t) => {
  const b = hex(F.icmpEchoRequest);
  const ip = 14;
  // Change TTL 64 -> 63 (word 8-9) via patch16, and src via patch32; checksum stays valid.
  const oldW = (b[ip + 8] << 8) | b[ip + 9];
  b[ip + 8] = 63;
  cs.patch16(b, ip + 10, oldW, (63 << 8) | b[ip + 9]);
  t.equal(cs.checksum(b, ip, 20), 0);
  const oldSrc = ((b[ip + 12] << 24) | (b[ip + 13] << 16) | (b[ip + 14] << 8) | b[ip + 15]) >>> 0;
  const newSrc = 0xc0a87b2d;
  b[ip + 12] = 0xc0; b[ip + 13] = 0xa8; b[ip + 14] = 0x7b; b[ip + 15] = 0x2d;
  cs.patch32(b, ip + 10, oldSrc, newSrc);
  t.equal(cs.checksum(b, ip, 20), 0);
  t.equal(b[ip + 9], 1, 'neighbour bytes untouched');
  t.equal(b[ip + 12], 0xc0);
});

t.test('checksum: UDP rule, 0 means "no checksum"', async (t) => {
  const L4 = 34;
  const none = hex(F.udpDnsQuery);
  none[L4 + 6] = 0; none[L4 + 7] = 0;
  const before = Buffer.from(none).toString('hex');
  cs.patchUdp16(none, L4 + 6, 53000, 1234);
  cs.patchUdp32(none, L4 + 6, 0x0a000001, 0xc0a80001);
  t.equal(Buffer.from(none).toString('hex'), before, 'a stored 0 is left alone by patchUdp16/32');
  t.equal(udp.udpChecksum(none, L4), 0);

  // Random port / address rewrites keep the checksum equal to a fresh fillChecksumV4.
  const r = prng(768);
  const b = hex(F.udpDnsQuery);
  let bad = 0;
  let ffffSeen = 0;
  for (let i = 0; i < 4000; i++) {
    if (i % 3 !== 2) {
      const oldP = udp.srcPort(b, L4);
      let np = randInt(r, 0x10000);
      if (i % 10 === 0) {
        // Pick the port that makes the computed checksum 0 -> must be sent as 0xffff.
        udp.setSrcPort(b, L4, 0);
        udp.fillChecksumV4(b, 14, L4);
        np = udp.udpChecksum(b, L4) === 0xffff ? 0 : udp.udpChecksum(b, L4);
        udp.setSrcPort(b, L4, oldP);
        udp.fillChecksumV4(b, 14, L4);
      }
      udp.setSrcPort(b, L4, np);
      cs.patchUdp16(b, L4 + 6, oldP, np);
    } else {
      const oldA = ((b[26] << 24) | (b[27] << 16) | (b[28] << 8) | b[29]) >>> 0;
      const na = randInt(r, 2 ** 32);
      b[26] = na >>> 24; b[27] = (na >>> 16) & 0xff; b[28] = (na >>> 8) & 0xff; b[29] = na & 0xff;
      cs.patchUdp32(b, L4 + 6, oldA, na);
    }
    const inc = udp.udpChecksum(b, L4);
    if (inc === 0xffff) ffffSeen++;
    const copy = b.slice();
    udp.fillChecksumV4(copy, 14, L4);
    if (inc === 0 || inc !== udp.udpChecksum(copy, L4)) bad++;
  }
  t.equal(bad, 0, 'incremental UDP checksum never 0 and equals recomputation');
  t.ok(ffffSeen >= 100, `0xffff (computed 0) exercised ${ffffSeen} times`);
});
