import t from 'tap';
import * as vlan from '../../src/wire/vlan';
import * as eth from '../../src/wire/ethernet';
import * as F from '../fixtures/frames';
import { hex, a5, toHex } from '../fixtures/util';

t.test('vlan: deconstruct 802.1Q', async (t) => {
  const b = hex(F.vlanIcmp);
  const tag = 12;
  t.equal(vlan.tpid(b, tag), eth.ETH_P_8021Q);
  t.equal(vlan.tci(b, tag), 0xa064);
  t.equal(vlan.vid(b, tag), 100);
  t.equal(vlan.pcp(b, tag), 5);
  t.equal((b[tag + vlan.INNER_TYPE] << 8) | b[tag + vlan.INNER_TYPE + 1], eth.ETH_P_IPV4);
});

t.test('vlan: deconstruct QinQ (802.1ad outer, 802.1Q inner)', async (t) => {
  const b = hex(F.qinqUdp);
  t.equal(vlan.tpid(b, 12), eth.ETH_P_8021AD);
  t.equal(vlan.vid(b, 12), 200);
  t.equal(vlan.pcp(b, 12), 3);
  t.equal(vlan.tpid(b, 16), eth.ETH_P_8021Q);
  t.equal(vlan.tci(b, 16), 100);
  t.equal(vlan.vid(b, 16), 100);
  t.equal(vlan.pcp(b, 16), 0);
  t.equal(eth.etherType(b, 8), eth.ETH_P_IPV4, 'type after both tags');
  // PCP 7 with DEI and VID 4095: the fields do not bleed into each other.
  const x = hex('8100' + 'ffff' + '0800');
  t.equal(vlan.vid(x, 0), 0xfff);
  t.equal(vlan.pcp(x, 0), 7);
});

t.test('vlan: construct', async (t) => {
  const b = a5(8);
  vlan.setTci(b, 2, (5 << vlan.PCP_SHIFT) | 100);
  t.equal(toHex(b), 'a5a5' + 'a5a5' + 'a064' + 'a5a5', 'setTci writes only TCI (tag+2..tag+3)');
  vlan.setTci(b, 2, 0x1_0000 | 0x0123); // bits above 16 are not written
  t.equal(toHex(b), 'a5a5a5a50123a5a5');
  t.equal(vlan.tci(b, 2), 0x0123);
  t.equal(vlan.TAG_LEN, 4);
  t.equal(vlan.TCI_PRESENT, 0x1000);
});
