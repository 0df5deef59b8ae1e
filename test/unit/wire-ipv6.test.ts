import t from 'tap';
import * as ip6 from '../../src/wire/ipv6';
import { checksum, pseudoSumV6 } from '../../src/wire/checksum';
import * as F from '../fixtures/frames';
import { hex, a5, toHex } from '../fixtures/util';

const IP = 14;

t.test('ipv6: deconstruct ICMPv6 echo request', async (t) => {
  const b = hex(F.icmpv6EchoRequest);
  t.equal(ip6.check(b, IP, b.length - IP), ip6.OK);
  t.equal(ip6.trafficClass(b, IP), 0xb8);
  t.equal(ip6.flowLabel(b, IP), 0x5a5a5);
  t.equal(ip6.payloadLen(b, IP), 64);
  t.equal(ip6.nextHeader(b, IP), 58);
  t.equal(ip6.hopLimit(b, IP), 64);
  t.equal(ip6.formatAddr6(b, IP + ip6.SRC), '2001:db8:0:0:0:0:0:1');
  t.equal(ip6.formatAddr6(b, IP + ip6.DST), '2001:db8:0:0:0:0:0:2');
  t.same(ip6.parseIpv6(b, IP), {
    trafficClass: 0xb8, flowLabel: 0x5a5a5, payloadLength: 64, nextHeader: 58, hopLimit: 64,
    src: '2001:db8:0:0:0:0:0:1', dst: '2001:db8:0:0:0:0:0:2',
  });
  // The ICMPv6 checksum covers the IPv6 pseudo-header: verify the fixture with it.
  const l4 = IP + 40;
  t.equal(checksum(b, l4, 64, pseudoSumV6(b, IP, 58, 64)), 0, 'ICMPv6 checksum valid');
  t.equal((b[l4 + 2] << 8) | b[l4 + 3], 0xbd7e);
});

t.test('ipv6: deconstruct UDP', async (t) => {
  const b = hex(F.udp6);
  t.same(ip6.parseIpv6(b, IP), {
    trafficClass: 0, flowLabel: 0, payloadLength: 16, nextHeader: 17, hopLimit: 255,
    src: '2001:db8:0:0:0:0:0:1', dst: '2001:db8:0:0:0:0:0:2',
  });
  t.equal(checksum(b, IP + 40, 16, pseudoSumV6(b, IP, 17, 16)), 0, 'UDP/IPv6 checksum valid');
  // Traffic class and flow label straddle nibbles: all-ones fields do not bleed.
  const x = hex('6fffffff' + '0000' + '3b' + '00' + '00'.repeat(32));
  t.equal(ip6.trafficClass(x, 0), 0xff);
  t.equal(ip6.flowLabel(x, 0), 0xfffff);
  const y = hex('60f00000' + '0000' + '3b' + '00' + '00'.repeat(32));
  t.equal(ip6.trafficClass(y, 0), 0x0f);
  t.equal(ip6.flowLabel(y, 0), 0);
});

t.test('ipv6: check', async (t) => {
  const b = hex(F.icmpv6EchoRequest);
  const n = b.length - IP; // 104
  t.equal(ip6.check(b, IP, 39), ip6.ERR_TRUNCATED);
  t.equal(ip6.check(b, IP, n - 1), ip6.ERR_PAYLOAD_LEN);
  t.equal(ip6.check(b, IP, n + 10), ip6.OK, 'padding is fine');
  const v = hex(F.icmpv6EchoRequest);
  v[IP] = 0x4b;
  t.equal(ip6.check(v, IP, n), ip6.ERR_VERSION);
  t.throws(() => ip6.parseIpv6(v, IP), /malformed/);
  const j = hex(F.icmpv6EchoRequest);
  j[IP + 4] = 0; j[IP + 5] = 0;
  t.equal(ip6.check(j, IP, 40), ip6.OK, 'payload length 0 (jumbogram) accepted');
});

t.test('ipv6: construct', async (t) => {
  const b = a5(40);
  ip6.setHopLimit(b, 0, 63);
  t.equal(toHex(b), 'a5'.repeat(7) + '3f' + 'a5'.repeat(32));
  // Rebuild the fixture header field by field: the accessors read back what was written.
  const want = hex(F.icmpv6EchoRequest).subarray(IP, IP + 40);
  const w = a5(40);
  w.set(want.subarray(0, 7));
  w.set(want.subarray(8), 8);
  t.not(toHex(w), toHex(want));
  ip6.setHopLimit(w, 0, 64);
  t.equal(toHex(w), toHex(want));
});
