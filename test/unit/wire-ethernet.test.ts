import t from 'tap';
import * as eth from '../../src/wire/ethernet';
import * as F from '../fixtures/frames';
import { hex, a5, toHex } from '../fixtures/util';

t.test('ethernet: deconstruct', async (t) => {
  const b = hex(F.icmpEchoRequest);
  t.equal(eth.dstMac(b, 0), 0x525400abcdef);
  t.equal(eth.srcMac(b, 0), 0x525400123456);
  t.equal(eth.etherType(b, 0), eth.ETH_P_IPV4);
  t.equal(eth.isMulticastDst(b, 0), false);
  t.same(eth.parseEthernet(b), { dst: '52:54:00:ab:cd:ef', src: '52:54:00:12:34:56', etherType: 0x0800 });

  const arp = hex(F.arpRequest);
  t.equal(eth.dstMac(arp, 0), eth.BROADCAST_MAC);
  t.equal(eth.isMulticastDst(arp, 0), true);
  t.equal(eth.etherType(arp, 0), eth.ETH_P_ARP);
  t.equal(eth.etherType(hex(F.vlanIcmp), 0), eth.ETH_P_8021Q);
  t.equal(eth.etherType(hex(F.qinqUdp), 0), eth.ETH_P_8021AD);
  t.equal(eth.etherType(hex(F.icmpv6EchoRequest), 0), eth.ETH_P_IPV6);

  // IPv6 multicast 33:33:..: group bit set, not broadcast.
  const mc = hex('333300000001' + '525400123456' + '86dd');
  t.equal(eth.isMulticastDst(mc, 0), true);
  t.equal(eth.dstMac(mc, 0), 0x333300000001);

  // Accessors at a non-zero offset (frames sit at the headroom in a slot).
  const shifted = new Uint8Array(b.length + 7);
  shifted.set(b, 7);
  t.equal(eth.dstMac(shifted, 7), 0x525400abcdef);
  t.equal(eth.srcMac(shifted, 7), 0x525400123456);
  t.equal(eth.etherType(shifted, 7), 0x0800);
  t.same(eth.parseEthernet(shifted, 7), eth.parseEthernet(b));

  t.throws(() => eth.parseEthernet(b.subarray(0, 13)), /13 bytes, need 14/);
  t.doesNotThrow(() => eth.parseEthernet(b.subarray(0, 14)));
});

t.test('ethernet: construct', async (t) => {
  const want = hex(F.icmpEchoRequest).subarray(0, 14);
  const b = a5(20);
  const n = eth.emitEthernet({ dst: '52:54:00:ab:cd:ef', src: '52:54:00:12:34:56', etherType: 0x0800 }, b, 2);
  t.equal(n, eth.HEADER_LEN);
  t.equal(toHex(b), 'a5a5' + toHex(want) + 'a5a5a5a5', 'exactly bytes 2..15 written');

  // Setters touch only their own bytes.
  const s = a5(14);
  eth.setDstMac(s, 0, 0x0123456789ab);
  t.equal(toHex(s), '0123456789ab' + 'a5'.repeat(8));
  eth.setSrcMac(s, 0, 0xfedcba987654);
  t.equal(toHex(s), '0123456789ab' + 'fedcba987654' + 'a5a5');
  eth.setEtherType(s, 0, 0x86dd);
  t.equal(toHex(s), '0123456789abfedcba98765486dd');

  // Round trip through the object form.
  const arp = hex(F.arpRequest);
  const out = a5(14);
  eth.emitEthernet(eth.parseEthernet(arp), out);
  t.equal(toHex(out), toHex(arp, 0, 14));
});

t.test('ethernet: MAC text and number forms', async (t) => {
  const samples = [0, 1, 0xff, 0x525400123456, 0x800000000000, 0xffffffffffff, 0x0000ffff0000, 0x020000000001];
  for (const m of samples) {
    const b = a5(8);
    eth.writeMac(b, 1, m);
    t.equal(b[0], 0xa5);
    t.equal(b[7], 0xa5);
    t.equal(eth.readMac(b, 1), m, `readMac(writeMac(${m.toString(16)}))`);
    t.equal(eth.parseMac(eth.formatMac(m)), m);
  }
  t.equal(eth.formatMac(0x525400abcdef), '52:54:00:ab:cd:ef');
  t.equal(eth.formatMac(0x000102030405), '00:01:02:03:04:05');
  t.equal(eth.parseMac('52-54-00-AB-CD-EF'), 0x525400abcdef);
  t.equal(eth.parseMac(' 2:4:6:8:a:c '), 0x02040608_0a0c);
  for (const bad of ['', '52:54:00:ab:cd', '52:54:00:ab:cd:ef:01', '52:54:00:ab:cd:eg', '525400abcdef', '152:54:00:ab:cd:ef']) {
    t.throws(() => eth.parseMac(bad), /invalid MAC address/, `'${bad}'`);
  }
});
