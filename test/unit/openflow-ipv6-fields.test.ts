/**
 * OpenFlow 1.3 mapping of the IPv6, ND, ECN and pkt_mark fields, on byte fixtures: FLOW_MODs as
 * Open vSwitch 3.1's `ovs-ofctl -O OpenFlow13 add-flow` sent them (captured from its unix:
 * connection). Each decodes into the same flow `tvs add-flow` makes from the text, and encodes
 * back from the rule model byte for byte (match in OVS's nxm_put_ip order, set_field/reg_load
 * as OVS chose them).
 */
import t from 'tap';
import * as of from '../../src/wire/openflow';
import { flowModToSpec, matchToOxm, instructionsFromActions, matchFromOxm } from '../../src/openflow/rule-map';
import { PacketArena } from '../../src/packet/arena';
import { FlowPipeline } from '../../src/flow/pipeline';
import { formatMatch, formatActions } from '../../src/flow/ofctl-format';

/** [the ovs-ofctl text, the FLOW_MOD it sent]. */
const FIXTURES: [string, string][] = [
  [
    'table=0,priority=5,icmp6,icmp_type=136,ipv6_src=2001:db8::/64,nd_target=fe80::1,nd_tll=fa:16:3e:11:22:33,actions=set_field:2001:db8::9->ipv6_dst,output:2',
    '040e00b800000006000000000000000000000000000000000000000000000005ffffffffffffffffffffffff000000000001005680000a0286dd8000352020010db8000000000000000000000000ffffffffffffffff0000000000000000800014013a80003a018880003e10fe80000000000000000000000000000180004206fa163e11223300000004003000000000001900188000361020010db800000000000000000000000900000010000000020000000000000000',
  ],
  [
    'udp6,ipv6_label=0x12345,ipv6_dst=ff02::1:2,udp_dst=547,actions=set_field:0xabcde->ipv6_label,output:3',
    '040e009000000006000000000000000000000000000000000000000000008000ffffffffffffffffffffffff000000000001003180000a0286dd80003610ff020000000000000000000000010002800038040001234580001401118000200202230000000000000000040028000000000019001080003804000abcde0000000000000010000000030000000000000000',
  ],
  [
    'ip,ip_dscp=46,nw_ecn=2,pkt_mark=0x5/0xff,actions=set_field:1->ip_ecn,set_field:0x2a->pkt_mark,output:4',
    '040e008800000006000000000000000000000000000000000000000000008000ffffffffffffffffffffffff000000000001002080000a020800800010012e80001201020001430800000005000000ff00040038000000000019001080001201010000000000000000190010000142040000002a0000000000000010000000040000000000000000',
  ],
  [
    'icmp6,icmp_type=135,nd_sll=fa:16:3e:11:22:33,actions=NORMAL',
    '040e006800000006000000000000000000000000000000000000000000008000ffffffffffffffffffffffff000000000001001e80000a0286dd800014013a80003a018780004006fa163e1122330000000400180000000000000010fffffffa0000000000000000',
  ],
  [
    'ipv6,actions=load:0x5->NXM_NX_IPV6_SRC[0..63],output:1',
    '040e007000000006000000000000000000000000000000000000000000008000ffffffffffffffffffffffff000000000001000a80000a0286dd0000000000000004003000000000ffff0018000023200007003f00012610000000000000000500000010000000010000000000000000',
  ],
  [
    'ipv6,ipv6_src=2001:db8::1,actions=set_field:2001:db8::/ffff:ffff:ffff::->ipv6_dst,output:1',
    '040e008000000006000000000000000000000000000000000000000000008000ffffffffffffffffffffffff000000000001001e80000a0286dd8000341020010db800000000000000000000000100000004003000000000ffff0018000023200007142f00012810000020010db8000000000010000000010000000000000000',
  ],
];

const pipeline = () => new FlowPipeline({ arena: new PacketArena({ slots: 4, slotSize: 2048 }), resolvePort: () => -1, portName: () => undefined });

t.test('IPv6/ND/ECN/pkt_mark FLOW_MODs: decode = the text flow, encode = the same bytes', async (t) => {
  for (const [text, hex] of FIXTURES) {
    const msg = of.decodeMessage(Buffer.from(hex, 'hex'));
    if (msg.type !== 'flow_mod') throw new Error('not a flow_mod');
    const { spec } = flowModToSpec(msg);
    const fromText = pipeline().parse(text, 'add');
    t.equal(formatMatch(spec.match, spec.priority ?? 32768), formatMatch(fromText.match, fromText.priority ?? 32768), `${text}: match`);
    t.ok(spec.match.equals(fromText.match), `${text}: the same key words as the text`);
    t.equal(formatActions(spec.actions!), formatActions(fromText.actions!).replace('set_field:2001:db8::/ffff:ffff:ffff::->ipv6_dst', 'load:0x20010db80000->NXM_NX_IPV6_DST[80..127]'), `${text}: actions`);
    const back = of.encodeMessage({ ...msg, match: matchToOxm(spec.match), instructions: instructionsFromActions(spec.actions!, spec.match) });
    t.equal(back.toString('hex'), hex, `${text}: re-encoded byte for byte`);
    // And what tvs encodes from its own parse of the text (what a flow-stats reply carries).
    const mine = of.encodeMessage({ ...msg, match: matchToOxm(fromText.match), instructions: instructionsFromActions(fromText.actions!, fromText.match) });
    const m2 = of.decodeMessage(mine);
    if (m2.type !== 'flow_mod') throw new Error('not a flow_mod');
    t.ok(matchFromOxm(m2.match).equals(fromText.match), `${text}: tvs's own encoding decodes to the same match`);
  }
});

t.test('OXM IPv6 matches: masks, prerequisites, bad values', async (t) => {
  const v6 = of.oxm('eth_type', 0x86dd);
  const m = matchFromOxm([v6, of.oxm('ipv6_src', 0x20010db8n << 96n, ((1n << 48n) - 1n) << 80n), of.oxm('ipv6_label', 7)]);
  t.equal(formatMatch(m, 32768), 'ipv6,ipv6_src=2001:db8::/48,ipv6_label=0x00007');
  t.ok(matchFromOxm(matchToOxm(m)).equals(m));
  t.throws(() => matchFromOxm([of.oxm('ipv6_src', 1n)]), { type: of.ET.BAD_MATCH, code: of.BAD_MATCH.BAD_PREREQ });
  t.throws(() => matchFromOxm([of.oxm('eth_type', 0x0800), of.oxm('ipv6_dst', 1n)]), { type: of.ET.BAD_MATCH, code: of.BAD_MATCH.BAD_PREREQ });
  t.throws(() => matchFromOxm([v6, of.oxm('ipv6_label', 0x100000)]), { type: of.ET.BAD_MATCH, code: of.BAD_MATCH.BAD_VALUE });
  t.throws(() => matchFromOxm([of.oxm('eth_type', 0x0800), of.oxm('ip_ecn', 4)]), { type: of.ET.BAD_MATCH, code: of.BAD_MATCH.BAD_VALUE });
  // nd_target needs ICMPv6 type 135/136; nd_sll 135 only.
  const nd = [v6, of.oxm('ip_proto', 58)];
  t.throws(() => matchFromOxm([...nd, of.oxm('icmpv6_type', 134), of.oxm('nd_target', 1n)]), { type: of.ET.BAD_MATCH, code: of.BAD_MATCH.BAD_PREREQ });
  t.throws(() => matchFromOxm([...nd, of.oxm('icmpv6_type', 136), of.oxm('nd_sll', 1)]), { type: of.ET.BAD_MATCH, code: of.BAD_MATCH.BAD_PREREQ });
  const ok = matchFromOxm([...nd, of.oxm('icmpv6_type', 136), of.oxm('nd_target', 1n), of.oxm('nd_tll', 0xfa163e112233)]);
  t.equal(formatMatch(ok, 32768), 'icmp6,icmp_type=136,nd_target=::1,nd_tll=fa:16:3e:11:22:33');
  // set_field to an ND field needs the ND match (OVS: MATCH_INCONSISTENT otherwise).
  const ns = of.decodeMessage(Buffer.from(FIXTURES[3][1], 'hex')) as of.FlowMod;
  const setSll = { type: 'apply_actions' as const, actions: [{ type: 'set_field' as const, field: of.oxm('nd_sll', 0x020000000001) }] };
  t.equal(formatActions(flowModToSpec({ ...ns, instructions: [setSll] }).spec.actions!), 'set_field:02:00:00:00:00:01->nd_sll');
  t.throws(() => flowModToSpec({ ...ns, match: [v6, of.oxm('ip_proto', 58), of.oxm('icmpv6_type', 136)], instructions: [setSll] }), { type: of.ET.BAD_ACTION, code: of.BAD_ACTION.MATCH_INCONSISTENT });
});

t.test('meter and set_queue flows encode for flow stats', async (t) => {
  const spec = pipeline().parse('table=58,priority=100,in_port=3,actions=meter:1,set_queue:2,goto_table:59', 'add');
  const insts = instructionsFromActions(spec.actions!, spec.match);
  t.same(insts.map((i) => i.type), ['meter', 'apply_actions', 'goto_table']);
  t.same(insts[0], { type: 'meter', meterId: 1 });
  t.same(insts[1], { type: 'apply_actions', actions: [{ type: 'set_queue', queueId: 2 }] });
});
