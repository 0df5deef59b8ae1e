import t from 'tap';
import * as arp from '../../src/wire/arp';
import * as F from '../fixtures/frames';
import { hex, a5, toHex } from '../fixtures/util';

t.test('arp: deconstruct request', async (t) => {
  const b = hex(F.arpRequest);
  const p = 14;
  t.equal(arp.check(b, p, b.length - p), true);
  t.equal(arp.op(b, p), arp.OP_REQUEST);
  t.equal(arp.sha(b, p), 0x525400123456);
  t.equal(arp.spa(b, p), 0x0a000001);
  t.equal(arp.tha(b, p), 0);
  t.equal(arp.tpa(b, p), 0x0a000002);
  t.same(arp.parseArp(b, p), { op: 1, sha: '52:54:00:12:34:56', spa: '10.0.0.1', tha: '00:00:00:00:00:00', tpa: '10.0.0.2' });
});

t.test('arp: deconstruct padded reply', async (t) => {
  const b = hex(F.arpReplyPadded);
  t.equal(b.length, 60);
  t.equal(arp.check(b, 14, 46), true, 'padding after the 28 ARP bytes is fine');
  t.same(arp.parseArp(b, 14), { op: 2, sha: '52:54:00:ab:cd:ef', spa: '10.0.0.2', tha: '52:54:00:12:34:56', tpa: '10.0.0.1' });
  t.equal(arp.spa(b, 14), 0x0a000002, 'high bit handling: spa is unsigned');
  const hi = hex(F.arpReplyPadded);
  hi[14 + arp.SPA] = 0xc0;
  t.equal(arp.spa(hi, 14), 0xc0000002);
});

t.test('arp: check rejects malformed headers', async (t) => {
  const good = hex(F.arpRequest);
  t.equal(arp.check(good, 14, 27), false, 'one byte short');
  t.equal(arp.check(good, 14, 28), true);
  const cases: [number, number, string][] = [
    [arp.HTYPE + 1, 6, 'htype 6 (IEEE 802)'],
    [arp.HTYPE, 1, 'htype high byte'],
    [arp.PTYPE, 0x86, 'ptype not IPv4'],
    [arp.PTYPE + 1, 0x01, 'ptype low byte'],
    [arp.HLEN, 8, 'hlen 8'],
    [arp.PLEN, 16, 'plen 16'],
  ];
  for (const [off, v, name] of cases) {
    const b = hex(F.arpRequest);
    b[14 + off] = v;
    t.equal(arp.check(b, 14, 28), false, name);
    t.throws(() => arp.parseArp(b, 14), /not an Ethernet\/IPv4 ARP/, name);
  }
  t.throws(() => arp.parseArp(good.subarray(0, 41), 14));
});

t.test('arp: construct', async (t) => {
  const want = hex(F.arpRequest).subarray(14);
  const b = a5(32);
  t.equal(arp.emitArp(b, 2, arp.OP_REQUEST, 0x525400123456, 0x0a000001, 0, 0x0a000002), arp.LEN);
  t.equal(toHex(b), 'a5a5' + toHex(want) + 'a5a5');

  const r = hex(F.arpReplyPadded).subarray(14, 42);
  const o = a5(28);
  arp.emitArpHeader({ op: 2, sha: '52:54:00:ab:cd:ef', spa: '10.0.0.2', tha: '52:54:00:12:34:56', tpa: '10.0.0.1' }, o);
  t.equal(toHex(o), toHex(r));

  // Each setter touches exactly its field.
  const s = a5(28);
  arp.setOp(s, 0, 2);
  t.equal(toHex(s), 'a5'.repeat(6) + '0002' + 'a5'.repeat(20));
  arp.setSha(s, 0, 0x010203040506);
  arp.setSpa(s, 0, 0xc0a80001);
  t.equal(toHex(s, 8, 18), '010203040506c0a80001');
  t.equal(toHex(s, 18), 'a5'.repeat(10));
  arp.setTha(s, 0, 0x0a0b0c0d0e0f);
  arp.setTpa(s, 0, 0xffffffff);
  t.equal(toHex(s), 'a5'.repeat(6) + '0002' + '010203040506c0a80001' + '0a0b0c0d0e0f' + 'ffffffff');
});
