/**
 * OXM → flow-key words for fields of 5-8 bytes (split over two words) and for masks at the
 * edges: the exact words a FLOW_MOD's match installs, and the OpenFlow error when a value has
 * bits outside its mask in either word.
 */
import t from 'tap';
import * as of from '../../src/wire/openflow';
import * as K from '../../src/packet/flow-key';
import { matchFromOxm } from '../../src/openflow/rule-map';

function words(fields: of.Oxm[], ...ws: number[]): number[][] {
  const m = matchFromOxm(fields);
  return ws.map((w) => [m.value[w], m.mask[w]]);
}
function err(fields: of.Oxm[]): string {
  try {
    matchFromOxm(fields);
    return 'no error';
  } catch (e) {
    const x = e as of.OfError;
    return `${x.type}/${x.code} ${x.message}`;
  }
}
const mac = (s: string) => Buffer.from(s.replace(/:/g, ''), 'hex');

t.test('64-bit fields: high and low word, masked and not', async (t) => {
  t.same(words([of.oxm('metadata', 0x0123456789abcdefn)], K.K_METADATA_HI, K.K_METADATA_HI + 1), [[0x01234567, 0xffffffff], [0x89abcdef, 0xffffffff]]);
  t.same(words([of.oxm('metadata', 0x0123456700000000n, 0xffffffff00000000n)], K.K_METADATA_HI, K.K_METADATA_HI + 1), [[0x01234567, 0xffffffff], [0, 0]]);
  t.same(words([of.oxm('tunnel_id', 0xffffffffffffffffn)], K.K_TUN_ID_HI, K.K_TUN_ID_HI + 1), [[0xffffffff, 0xffffffff], [0xffffffff, 0xffffffff]]);
  t.same(words([of.oxm('tunnel_id', 0x80000001n, 0x80000001n)], K.K_TUN_ID_HI, K.K_TUN_ID_HI + 1), [[0, 0], [0x80000001, 0x80000001]]);
  t.equal(err([of.oxm('metadata', 0x0123456789abcdefn, 0xffffffff00000000n)]), `${of.ET.BAD_MATCH}/${of.BAD_MATCH.BAD_WILDCARDS} metadata: value has bits set outside its mask`, 'low word outside the mask');
  t.equal(err([of.oxm('metadata', 0x100000000n, 0xffffffffn)]), `${of.ET.BAD_MATCH}/${of.BAD_MATCH.BAD_WILDCARDS} metadata: value has bits set outside its mask`, 'high word outside the mask');
});

t.test('48-bit fields: 16 bits in the high word, 32 in the low', async (t) => {
  t.same(words([of.oxm('eth_dst', mac('02:00:00:00:00:00'), mac('ff:ff:00:00:00:00'))], K.K_DL_DST_HI, K.K_DL_DST_HI + 1), [[0x0200, 0xffff], [0, 0]]);
  t.same(words([of.oxm('eth_dst', mac('ff:ff:ff:ff:ff:ff'))], K.K_DL_DST_HI, K.K_DL_DST_HI + 1), [[0xffff, 0xffff], [0xffffffff, 0xffffffff]]);
  t.same(words([of.oxm('eth_dst', mac('01:00:00:00:00:00'), mac('01:00:00:00:00:00'))], K.K_DL_DST_HI, K.K_DL_DST_HI + 1), [[0x0100, 0x0100], [0, 0]]);
  t.equal(err([of.oxm('eth_dst', mac('02:00:00:00:00:01'), mac('ff:ff:ff:ff:ff:00'))]), `${of.ET.BAD_MATCH}/${of.BAD_MATCH.BAD_WILDCARDS} eth_dst: value has bits set outside its mask`);
});

t.test('masks that equal the whole field count as no mask', async (t) => {
  const v6 = of.oxm('eth_type', 0x86dd);
  t.same(words([v6, of.oxm('ipv6_label', 0x12345, 0xffffffff)], K.K_IPV6_LABEL), [[0x12345, 0xfffff]], 'all-ones mask: the whole 20-bit label');
  t.same(words([v6, of.oxm('ipv6_label', 0x12345)], K.K_IPV6_LABEL), [[0x12345, 0xfffff]]);
  t.same(words([v6, of.oxm('ipv6_label', 0x10, 0xff)], K.K_IPV6_LABEL), [[0x10, 0xff]]);
  t.match(err([v6, of.oxm('ipv6_label', 0x100000)]), /ipv6_label 0x100000: a flow label is 20 bits/);
  t.match(err([v6, of.oxm('ipv6_label', 0, 0x100000)]), /a flow label is 20 bits/, 'a mask past 20 bits');
  t.same(words([of.oxm('vlan_vid', 0x1000, 0x1000)], K.K_VLAN_TCI), [[0x1000, 0x1000]], 'any tag');
  t.same(words([of.oxm('vlan_vid', 0x1005, 0xffff)], K.K_VLAN_TCI), [[0x1005, 0x1fff]], 'an all-ones mask is an exact VID');
  t.match(err([of.oxm('vlan_vid', 5)]), /vlan_vid 5 lacks OFPVID_PRESENT/);
  t.match(err([of.oxm('ct_state', 0x100)]), /ct_state 0x100: only the low 8 bits/);
});
