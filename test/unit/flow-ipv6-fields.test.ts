/**
 * IPv6 and the compat fields in ovs-ofctl syntax: ipv6_src/ipv6_dst (every text form, /len,
 * /mask), ipv6_label, nd_target/nd_sll/nd_tll (ND prerequisites as OVS), icmpv6_type/code,
 * ip_dscp, nw_ecn/ip_ecn, pkt_mark. Each flow prints as OVS 3.1 prints it (checked against
 * `ovs-ofctl parse-flow` when installed) and matches the frames it should on byte fixtures.
 */
import t from 'tap';
import { PacketArena } from '../../src/packet/arena';
import { Batch } from '../../src/packet/batch';
import { parseSlot } from '../../src/packet/parse';
import * as K from '../../src/packet/flow-key';
import { FlowPipeline } from '../../src/flow/pipeline';
import { formatMatch } from '../../src/flow/ofctl-format';
import { RecordingOps } from '../../src/flow/testing';
import { haveOfctl, ovsReadsMany } from '../helpers/ofctl-oracle';
import * as F from '../fixtures/frames';
import { hex } from '../fixtures/util';
import { eth6, icmp6, ip6Packet, l4ChecksumOk6, llaOpt, ndFrame, tcp6, udp6 } from '../helpers/ipv6-frames';

function setup() {
  const arena = new PacketArena({ slots: 16, slotSize: 2048 });
  const p = new FlowPipeline({ arena, clock: () => 1000, resolvePort: () => -1, portName: () => undefined });
  return { arena, p };
}

/** [input, what tvs prints (OVS 3.1 parse-flow's reading, in tvs's field order)]. */
const MATCHES: [string, string][] = [
  ['ipv6,ipv6_src=2001:db8::1', 'ipv6,ipv6_src=2001:db8::1'],
  ['ipv6,ipv6_src=2001:0DB8:0000:0000:0000:0000:0000:0001', 'ipv6,ipv6_src=2001:db8::1'],
  ['ipv6,ipv6_dst=2001:db8:0:0:1:0:0:1', 'ipv6,ipv6_dst=2001:db8::1:0:0:1'],
  ['ipv6,ipv6_src=::ffff:10.1.2.3', 'ipv6,ipv6_src=::ffff:10.1.2.3'],
  ['ipv6,ipv6_src=2001:db8::1/ffff:ffff::', 'ipv6,ipv6_src=2001:db8::/32'],
  ['ipv6,ipv6_dst=2001:db8:1:2:3:4:5:6/64', 'ipv6,ipv6_dst=2001:db8:1:2::/64'],
  ['ipv6,ipv6_src=1:2:3:4:5:6:7:8/96', 'ipv6,ipv6_src=1:2:3:4:5:6::/96'],
  ['ipv6,ipv6_src=2001:db8::/ffff:0:ffff::', 'ipv6,ipv6_src=2001::/ffff:0:ffff::'],
  ['ipv6,ipv6_src=::/0', 'ipv6'],
  ['ipv6,ipv6_label=5', 'ipv6,ipv6_label=0x00005'],
  ['ipv6,ipv6_label=0x12345/0xf0f0f', 'ipv6,ipv6_label=0x10305/0xf0f0f'],
  ['udp6,ipv6_dst=ff02::1:2,tp_src=546,tp_dst=547', 'udp6,ipv6_dst=ff02::1:2,tp_src=546,tp_dst=547'],
  ['icmp6,icmp_type=136,nd_target=fe80::1/64,nd_tll=aa:bb:cc:dd:ee:ff', 'icmp6,icmp_type=136,nd_target=fe80::/64,nd_tll=aa:bb:cc:dd:ee:ff'],
  ['icmp6,icmpv6_type=135,icmpv6_code=0,nd_sll=00:11:22:33:44:55', 'icmp6,icmp_type=135,icmp_code=0,nd_sll=00:11:22:33:44:55'],
  ['icmp6,icmp_type=135,nd_target=::1/::ffff,nd_sll=aa:bb:cc:00:00:00/ff:ff:ff:00:00:00', 'icmp6,icmp_type=135,nd_target=::1/::ffff,nd_sll=aa:bb:cc:00:00:00/ff:ff:ff:00:00:00'],
  ['dl_type=0x86dd,nw_proto=58,icmp_type=136,nd_target=2001:db8::5', 'icmp6,icmp_type=136,nd_target=2001:db8::5'],
  ['ip,ip_dscp=10', 'ip,nw_tos=40'],
  ['ipv6,ip_dscp=63', 'ipv6,nw_tos=252'],
  ['ip,nw_ecn=2', 'ip,nw_ecn=2'],
  ['ip,ip_ecn=3,nw_tos=8', 'ip,nw_tos=8,nw_ecn=3'],
  ['ip6,ipv6_dst=111:db8::3', 'ipv6,ipv6_dst=111:db8::3'],
  ['ip,nw_frag=first', 'ip,nw_frag=first'],
  ['ip,ip_frag=no', 'ip,nw_frag=no'],
  ['ipv6,nw_frag=yes', 'ipv6,nw_frag=yes'],
  ['ipv6,ip_frag=not_later', 'ipv6,nw_frag=not_later'],
  ['ip,nw_frag=later,nw_ttl=3', 'ip,nw_ttl=3,nw_frag=later'],
  ['pkt_mark=3/0xff', 'pkt_mark=0x3/0xff'],
  ['pkt_mark=0/0xffff', 'pkt_mark=0/0xffff'],
  ['pkt_mark=0xffffffff,conj_id=3', 'pkt_mark=0xffffffff,conj_id=3'],
  [
    'icmp6,nd_tll=aa:bb:cc:dd:ee:ff,nd_target=fe80::1,icmp_type=136,ipv6_label=7,ipv6_dst=::2,ipv6_src=::1,nw_ecn=1,ip_dscp=2,nw_ttl=3,reg0=1,pkt_mark=3/0xff,in_port=1',
    'pkt_mark=0x3/0xff,icmp6,reg0=0x1,in_port=1,ipv6_src=::1,ipv6_dst=::2,ipv6_label=0x00007,nw_tos=8,nw_ecn=1,nw_ttl=3,icmp_type=136,nd_target=fe80::1,nd_tll=aa:bb:cc:dd:ee:ff',
  ],
];

t.test('IPv6 and compat matches print as OVS 3.1 prints them', async (t) => {
  const { p } = setup();
  for (const [input, want] of MATCHES) {
    const spec = p.parse(`${input},actions=drop`, 'add');
    t.equal(formatMatch(spec.match, 32768), want, input);
  }
});

t.test('OVS reads tvs\'s printed flow as the flow it reads from the input', { skip: haveOfctl() ? false : 'ovs-ofctl not installed: OVS is the oracle' }, async (t) => {
  const inputs = MATCHES.map(([i]) => `${i},actions=drop`);
  const printed = MATCHES.map(([, o]) => `${o},actions=drop`);
  const a = ovsReadsMany(inputs);
  const b = ovsReadsMany(printed);
  MATCHES.forEach(([i], n) => {
    const x = a[n];
    const y = b[n];
    t.ok(x.ok && y.ok && x.text === y.text, `${i}: ${JSON.stringify(x)} vs ${JSON.stringify(y)}`);
  });
});

t.test('bad IPv6/compat matches: clear errors naming the field', async (t) => {
  const { p } = setup();
  const bad: [string, RegExp][] = [
    ['ipv6_src=2001:db8::1', /ipv6_src requires ipv6/],
    ['ip,ipv6_src=2001:db8::1', /ipv6_src requires ipv6/],
    ['ipv6,ipv6_src=2001:db8::1::2', /not an IPv6 address \("::" more than once\)/],
    ['ipv6,ipv6_src=2001:db8:1', /8 groups needed/],
    ['ipv6,ipv6_src=2001:db8::12345', /bad group '12345'/],
    ['ipv6,ipv6_src=::1.2.3.256', /bad IPv4 part/],
    ['ipv6,ipv6_dst=::1/129', /prefix length 129 .* out of range \(0\.\.128\)/],
    ['ipv6,ipv6_src=fe80::1%eth0', /only hex digits/],
    ['ipv6,ipv6_label=0x100000', /out of range/],
    ['icmp6,nd_target=::1', /nd_target requires an ND message/],
    ['icmp6,icmp_type=134,nd_target=::1', /nd_target requires an ND message/],
    ['icmp6,icmp_type=135,icmp_code=1,nd_target=::1', /nd_target requires an ND message/],
    ['icmp6,icmp_type=136,nd_sll=00:11:22:33:44:55', /nd_sll requires a neighbour solicitation/],
    ['icmp6,icmp_type=135,nd_tll=00:11:22:33:44:55', /nd_tll requires a neighbour advertisement/],
    ['icmp,icmp_type=135,nd_target=::1', /nd_target requires an ND message/],
    ['ip,ip_dscp=64', /ip_dscp: value '64' is out of range \(max 63\)/],
    ['ip,nw_ecn=4', /nw_ecn: value '4' is out of range \(max 3\)/],
    ['ip,ip_dscp=1/1', /ip_dscp does not take a mask/],
    ['arp,nw_ecn=1', /nw_ecn requires ip or ipv6/],
    ['pkt_mark=0x100000000', /out of range/],
    ['ip,nw_ecn=1,ip_ecn=2', /conflicts with an earlier field/],
  ];
  for (const [m, re] of bad) t.throws(() => p.parse(`${m},actions=drop`, 'add'), re, m);
});

// ---- matching frames (byte fixtures through the parse pass and the classifier) ----

function verdicts(flows: string, frames: Uint8Array[]): (number | string)[] {
  const { arena, p } = setup();
  p.addFlows(flows);
  return frames.map((f) => {
    const s = arena.allocFrom(f);
    if (parseSlot(arena, s, 1) >= 0) throw new Error('fixture does not parse');
    const ops = new RecordingOps(arena);
    const b = new Batch(4);
    b.push(s);
    p.process(b, ops);
    return ops.sent[0].kind === 'output' ? ops.sent[0].port! : ops.sent[0].kind;
  });
}

const VM = 'fa:16:3e:11:22:33';
const na = (target: string, tll: string | null, src = '2001:db8::5') =>
  ndFrame({ type: 136, smac: VM, dmac: '33:33:00:00:00:01', src, dst: 'ff02::1', target, opts: tll === null ? [] : [llaOpt(2, tll)], flags: 0x20000000 });
const ns = (target: string, sll: string) => ndFrame({ type: 135, smac: VM, dmac: '33:33:ff:00:00:09', src: 'fe80::f816:3eff:fe11:2233', dst: 'ff02::1:ff00:9', target, opts: [llaOpt(1, sll)] });
const u6 = (src: string, dst: string, label = 0, tclass = 0) => eth6(ip6Packet({ src, dst, proto: 17, l4: udp6(src, dst, 546, 547), label, tclass }), VM);

t.test('IPv6/ND matches select the right frames', async (t) => {
  // Neutron's anti-spoofing for ND: an NA may only advertise the port's own addresses and MAC.
  const nd = [
    'priority=70,icmp6,icmp_type=136,nd_target=2001:db8::5,nd_tll=fa:16:3e:11:22:33,actions=output:10',
    'priority=70,icmp6,icmp_type=136,nd_target=fe80::/64,actions=output:11',
    'priority=60,icmp6,icmp_type=135,nd_sll=fa:16:3e:11:22:33,actions=output:12',
    'priority=0,actions=drop',
  ].join('\n');
  t.same(verdicts(nd, [
    na('2001:db8::5', VM),
    na('2001:db8::5', 'fa:16:3e:99:99:99'), // lying TLL
    na('2001:db8::6', VM), // someone else's address
    na('fe80::1234', null),
    ns('2001:db8::9', VM),
    ns('2001:db8::9', '02:00:00:00:00:01'),
  ]), [10, 'drop', 'drop', 11, 12, 'drop']);

  const ip6 = [
    'priority=50,udp6,ipv6_src=2001:db8::/64,ipv6_dst=2001:db8:1::1,actions=output:20',
    'priority=40,ipv6,ipv6_label=0xabcde,actions=output:21',
    'priority=30,ipv6,ip_dscp=46,actions=output:22',
    'priority=25,ipv6,nw_ecn=3,actions=output:23',
    'priority=20,ipv6,ipv6_src=::ffff:0:0/96,actions=output:24',
    'priority=0,actions=drop',
  ].join('\n');
  t.same(verdicts(ip6, [
    u6('2001:db8::77', '2001:db8:1::1'),
    u6('2001:db8:0:1::77', '2001:db8:1::1'),
    u6('2001:db8:0:1::77', '2001:db8:1::1', 0xabcde),
    u6('fd00::1', 'fd00::2', 0, 46 << 2),
    u6('fd00::1', 'fd00::2', 0, (10 << 2) | 3),
    u6('::ffff:10.0.0.1', 'fd00::2'),
    u6('fd00::1', 'fd00::2'),
  ]), [20, 'drop', 21, 22, 23, 24, 'drop']);
});

t.test('pkt_mark is zero on receive', async (t) => {
  t.same(verdicts('priority=2,pkt_mark=0,actions=output:5\npriority=1,actions=drop', [u6('fd00::1', 'fd00::2')]), [5]);
  t.same(verdicts('priority=2,pkt_mark=1/1,actions=output:5\npriority=1,actions=drop', [u6('fd00::1', 'fd00::2')]), ['drop']);
  // The key word itself, after the parse pass.
  const { arena } = setup();
  const s = arena.allocFrom(u6('fd00::1', 'fd00::2'));
  arena.key.fill(7, s << K.KEY_SHIFT, (s + 1) << K.KEY_SHIFT);
  arena.keyTail[s] = 1; // as a writer of the key's tail marks it
  parseSlot(arena, s, 1);
  t.equal(arena.key[(s << K.KEY_SHIFT) + K.K_PKT_MARK], 0);
});

// ---- actions that write them ----

function runOne(flows: string, frame: Uint8Array) {
  const { arena, p } = setup();
  p.addFlows(flows);
  const s = arena.allocFrom(frame);
  if (parseSlot(arena, s, 1) >= 0) throw new Error('fixture does not parse');
  const ops = new RecordingOps(arena);
  const b = new Batch(4);
  b.push(s);
  p.process(b, ops);
  return ops.sent;
}
const bytes = (hex: string) => Buffer.from(hex, 'hex');

t.test('set_field to ipv6_src/ipv6_dst rewrites the address and the TCP/UDP/ICMPv6 checksum', async (t) => {
  const S = '2001:db8::1';
  const D = '2001:db8::2';
  const cases: [string, Buffer, number][] = [
    ['udp', eth6(ip6Packet({ src: S, dst: D, proto: 17, l4: udp6(S, D, 5000, 53) })), 6],
    ['tcp', eth6(ip6Packet({ src: S, dst: D, proto: 6, l4: tcp6(S, D, 40000, 22) })), 16],
    ['icmpv6', eth6(ip6Packet({ src: S, dst: D, proto: 58, l4: icmp6(S, D, 128, 0, Buffer.from([0, 1, 0, 7])) })), 2],
  ];
  for (const [name, frame, at] of cases) {
    const sent = runOne('ipv6,actions=set_field:fd00:1:2:3::99->ipv6_src,set_field:2001:db8:ffff::2/48->ipv6_dst,output:9', frame);
    t.equal(sent.length, 1);
    t.equal(sent[0].port, 9);
    const out = bytes(sent[0].hex);
    t.equal(out.subarray(22, 38).toString('hex'), 'fd000001000200030000000000000099', `${name}: source rewritten`);
    // Masked: only the top 48 bits of the destination change.
    t.equal(out.subarray(38, 54).toString('hex'), '20010db8ffff00000000000000000002', `${name}: destination's /48 rewritten`);
    t.ok(l4ChecksumOk6(out, at), `${name}: checksum right after the rewrite`);
    t.same([0, 1, 2, 3].map((i) => sent[0].key[K.K_IPV6_SRC + i]), [0xfd000001, 0x00020003, 0, 0x99], `${name}: key follows`);
  }
  // load into one 64-bit half (what OVS's NXM dump prints for set_field).
  const sent = runOne('udp6,actions=load:0x77->NXM_NX_IPV6_SRC[0..63],output:9', cases[0][1]);
  const out = bytes(sent[0].hex);
  t.equal(out.subarray(22, 38).toString('hex'), '20010db8000000000000000000000077');
  t.ok(l4ChecksumOk6(out, 6));
  // A later fragment has no L4 header to fix: addresses only, nothing else touched.
  const frag = eth6(ip6Packet({ src: S, dst: D, proto: 17, l4: Buffer.alloc(16, 0xab), ext: [[44, Buffer.from([0, 0, 0, 0x18, 0, 0, 0, 1])]] }));
  const fo = bytes(runOne('ipv6,actions=set_field:::5->ipv6_src,output:9', frag)[0].hex);
  t.equal(fo.subarray(22, 38).toString('hex'), '00000000000000000000000000000005');
  t.equal(fo.subarray(62).toString('hex'), 'ab'.repeat(16));
  // Not IPv6: nothing changes (the flow's prerequisite keeps this from being written, as OVS).
  t.throws(() => setup().p.parse('ip,actions=set_field:::1->ipv6_src', 'add'), /ipv6_src requires ipv6/);
});

t.test('ip_dscp / nw_ecn / mod_nw_ecn / ipv6_label / pkt_mark writes', async (t) => {
  // IPv4: TOS bits change and the header checksum stays right.
  const v4 = Buffer.from(hex(F.tcpSyn)); // TOS 0x10
  let sent = runOne('ip,actions=set_field:46->ip_dscp,mod_nw_ecn:1,output:9', v4);
  let out = bytes(sent[0].hex);
  t.equal(out[15], (46 << 2) | 1);
  t.equal(ipv4HeaderSum(out), 0xffff, 'IPv4 header checksum right');
  t.equal(sent[0].key[K.K_NW_TOS], (46 << 2) | 1);
  sent = runOne('ip,actions=set_field:3->ip_ecn,output:9', v4);
  t.equal(bytes(sent[0].hex)[15], 0x10 | 3, 'ECN set, DSCP (0x10 in the fixture) kept');
  // IPv6: the traffic class straddles two bytes; label is 20 bits after it.
  const u = eth6(ip6Packet({ src: '::1', dst: '::2', proto: 17, l4: udp6('::1', '::2', 1, 2), tclass: 0x02, label: 0x12345 }));
  sent = runOne('ipv6,actions=set_field:10->ip_dscp,set_field:0xabcde->ipv6_label,output:9', u);
  out = bytes(sent[0].hex);
  t.equal(out.readUInt32BE(14).toString(16), (((6 << 28) | ((10 << 2 | 2) << 20) | 0xabcde) >>> 0).toString(16));
  t.same([sent[0].key[K.K_NW_TOS], sent[0].key[K.K_IPV6_LABEL]], [(10 << 2) | 2, 0xabcde]);
  // pkt_mark: written, then matched by a later table, never on the wire.
  sent = runOne('table=0,actions=set_field:0x2a->pkt_mark,resubmit(,1)\ntable=1,pkt_mark=0x2a,actions=output:7\ntable=1,priority=0,actions=drop', u);
  t.same([sent[0].kind, sent[0].port, sent[0].key[K.K_PKT_MARK]], ['output', 7, 0x2a]);
  t.equal(sent[0].hex, Buffer.from(u).toString('hex'), 'the frame is unchanged');
});

t.test('cookie masks, meter, set_queue, dec_ttl(ids) in ovs-ofctl syntax', async (t) => {
  const { p } = setup();
  p.addFlows(['cookie=1234,priority=1,in_port=5,actions=drop', 'cookie=1235,priority=1,in_port=6,actions=drop', 'cookie=1234,table=23,actions=drop'].join('\n'));
  t.equal(p.select('cookie=1234/-1').length, 2, 'cookie=V/-1 selects exactly that cookie');
  t.equal(p.select('cookie=1234/-1,in_port=5').length, 1);
  t.equal(p.select('cookie=0x4d2/0xfffffffffffffffe').length, 3);
  t.equal(p.delFlows('cookie=1234/-1,table=23').length, 1);
  t.throws(() => p.parse('cookie=1/-1,actions=drop', 'add'), /cookie masks are only allowed/);
  t.throws(() => p.parse('cookie=1/-2', 'match'), /not a number/);
  // meter: accepted first, printed back, changes nothing (no meter table); the flow counts.
  const { rule } = p.addFlow('table=58,priority=100,in_port=3,actions=meter:1,goto_table:59');
  t.match(p.formatInstalled(rule), /actions=meter:1,goto_table:59$/);
  t.throws(() => p.parse('actions=output:1,meter:1', 'add'), /meter must come before every other action/);
  t.throws(() => p.parse('actions=meter:x,output:1', 'add'), /meter id 'x' is not a number/);
  const r2 = p.addFlow('actions=set_queue:3,pop_queue,dec_ttl(1,2),output:1').rule;
  t.match(p.formatInstalled(r2), /actions=set_queue:3,pop_queue,dec_ttl\(1,2\),output:1$/);
  const u = eth6(ip6Packet({ src: '::1', dst: '::2', proto: 17, l4: udp6('::1', '::2', 1, 2) }));
  const sent = runOne('actions=meter:7,set_queue:3,output:4', u);
  t.same([sent[0].kind, sent[0].port, sent[0].hex], ['output', 4, Buffer.from(u).toString('hex')], 'meter/set_queue pass the frame unchanged');
});

function ipv4HeaderSum(f: Buffer): number {
  let s = 0;
  for (let i = 0; i < 20; i += 2) s += f.readUInt16BE(14 + i);
  while (s > 0xffff) s = (s & 0xffff) + (s >>> 16);
  return s;
}

t.test('nw_frag selects IPv6 fragments found behind extension headers; mod_nw_ttl', async (t) => {
  const S = '2001:db8::1';
  const D = '2001:db8::2';
  const frag = (offset: number, more: boolean) =>
    eth6(ip6Packet({ src: S, dst: D, proto: 17, l4: offset === 0 ? udp6(S, D, 5000, 53) : Buffer.alloc(16), ext: [[0, Buffer.alloc(8)], [44, Buffer.from([0, 0, (offset << 3) >> 8, ((offset << 3) & 0xff) | (more ? 1 : 0), 0, 0, 0, 9])]] }), VM);
  const flows = ['priority=30,ipv6,nw_frag=later,actions=output:30', 'priority=20,udp6,nw_frag=first,tp_dst=53,actions=output:20', 'priority=10,ipv6,nw_frag=no,actions=output:10', 'priority=0,actions=drop'].join('\n');
  t.same(verdicts(flows, [frag(0, true), frag(100, false), frag(100, true), u6('fd00::1', 'fd00::2')]), [20, 30, 30, 10]);
  t.throws(() => setup().p.parse('ip,nw_frag=0,actions=drop', 'add'), /unknown fragment type '0'/);
  t.throws(() => setup().p.parse('arp,nw_frag=no,actions=drop', 'add'), /nw_frag requires ip or ipv6/);
  // mod_nw_ttl: IPv4 TTL with its header checksum; IPv6 hop limit.
  let sent = runOne('ip,actions=mod_nw_ttl:7,output:9', Buffer.from(hex(F.tcpSyn)));
  let out = bytes(sent[0].hex);
  t.equal(out[22], 7);
  t.equal(ipv4HeaderSum(out), 0xffff);
  sent = runOne('ipv6,actions=mod_nw_ttl:2,output:9', u6('fd00::1', 'fd00::2'));
  out = bytes(sent[0].hex);
  t.same([out[21], sent[0].key[K.K_NW_TTL]], [2, 2]);
});

t.test('set_field to nd_target / nd_tll / nd_sll rewrites the NS/NA and its ICMPv6 checksum', async (t) => {
  const na = ndFrame({ type: 136, smac: VM, dmac: '33:33:00:00:00:01', src: '2001:db8::5', dst: 'ff02::1', target: '2001:db8::5', opts: [Buffer.from([14, 1, 0, 0, 0, 0, 0, 0]), llaOpt(2, VM)], flags: 0x20000000 });
  let sent = runOne('icmp6,icmp_type=136,actions=set_field:fe80::f816:3eff:fe99:9999->nd_target,set_field:fa:16:3e:99:99:99->nd_tll,output:9', na);
  let out = bytes(sent[0].hex);
  const l4 = 14 + 40;
  t.equal(out.subarray(l4 + 8, l4 + 24).toString('hex'), 'fe80000000000000f8163efffe999999', 'target rewritten');
  t.equal(out.subarray(l4 + 34, l4 + 40).toString('hex'), 'fa163e999999', 'the TLL option (the second option) rewritten');
  t.equal(out.subarray(l4 + 24, l4 + 32).toString('hex'), '0e01000000000000', 'the other option untouched');
  t.ok(l4ChecksumOk6(out, 2), 'ICMPv6 checksum right');
  t.same([sent[0].key[K.K_ND_TARGET + 3], sent[0].key[K.K_ARP_THA_HI], sent[0].key[K.K_ARP_THA_LO]], [0xfe999999, 0xfa16, 0x3e999999]);
  // An NA without a TLL option: nd_tll writes nothing (no option to rewrite), the frame is unchanged.
  const bare = ndFrame({ type: 136, smac: VM, dmac: '33:33:00:00:00:01', src: '2001:db8::5', dst: 'ff02::1', target: '2001:db8::5', flags: 0x20000000 });
  sent = runOne('icmp6,icmp_type=136,actions=set_field:fa:16:3e:99:99:99->nd_tll,output:9', bare);
  t.equal(sent[0].hex, Buffer.from(bare).toString('hex'));
  // NS: nd_sll.
  const ns = ndFrame({ type: 135, smac: VM, dmac: '33:33:ff:00:00:06', src: 'fe80::1', dst: 'ff02::1:ff00:6', target: '2001:db8::6', opts: [llaOpt(1, VM)] });
  sent = runOne('icmp6,icmp_type=135,actions=set_field:02:00:00:00:00:01->nd_sll,output:9', ns);
  out = bytes(sent[0].hex);
  t.equal(out.subarray(l4 + 26, l4 + 32).toString('hex'), '020000000001');
  t.ok(l4ChecksumOk6(out, 2));
  t.throws(() => setup().p.parse('icmp6,icmp_type=136,actions=set_field:02:00:00:00:00:01->nd_sll', 'add'), /nd_sll requires a neighbour solicitation/);
});
