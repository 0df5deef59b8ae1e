/**
 * Conntrack match fields over OpenFlow 1.3 (OVS NXM_NX_CT_STATE 105, CT_ZONE 106, CT_MARK 107,
 * CT_LABEL 108, CT_NW_PROTO 119, CT_NW_SRC 120, CT_NW_DST 121, CT_TP_SRC 124, CT_TP_DST 125), on
 * FLOW_MODs as Open vSwitch 3.1's `ovs-ofctl --no-names -O OpenFlow13 add-flow` sent them
 * (captured from its unix: connection): each decodes into the flow `tvs add-flow` makes from
 * the same text and encodes back byte for byte. Then masks, values and prerequisites OVS
 * refuses, refused with its error; FLOW stats over a session; and the match encoder's promise:
 * every field tvs can match on is carried, or the reply fails naming it.
 */
import t from 'tap';
import * as of from '../../src/wire/openflow';
import * as K from '../../src/packet/flow-key';
import { Match } from '../../src/flow/match';
import type { Rule } from '../../src/flow/table';
import { matchField, matchFieldNames, prereqOk, type Prereq } from '../../src/flow/fields';
import { flowModToSpec, matchFromOxm, matchToOxm, instructionsFromActions, ruleToFlowStats } from '../../src/openflow/rule-map';
import { PacketArena } from '../../src/packet/arena';
import { FlowPipeline } from '../../src/flow/pipeline';
import { formatMatch, formatActions } from '../../src/flow/ofctl-format';
import { Switch } from '../../src/datapath/switch';
import { BridgeAgent } from '../../src/openflow/agent';
import { OfSession } from '../../src/openflow/session';
import { OFCTL } from '../fixtures/openflow';
import { FakeIo } from '../helpers/of-session';

const hex = (s: string) => Buffer.from(s, 'hex');
const pipeline = () => new FlowPipeline({ arena: new PacketArena({ slots: 4, slotSize: 2048 }), resolvePort: () => -1, portName: () => undefined });

/** [the ovs-ofctl text, the FLOW_MOD it sent]. */
const FIXTURES: [string, string][] = [
  [
    'ct_state=+trk-inv,ct_zone=5,ct_mark=0x10/0xff,ct_label=0x1/0x1,actions=drop',
    '040e007800000002000000000000000000000000000000000000000000008000ffffffffffffffffffffffff00000000000100460001d30800000020000000300001d40200050001d70800000010000000ff0001d92000000000000000000000000000000001000000000000000000000000000000010000',
  ],
  [
    'ct_state=new|trk,ct_mark=7,ct_label=0x12345678901234567890,actions=drop',
    '040e006000000002000000000000000000000000000000000000000000008000ffffffffffffffffffffffff000000000001002c0001d30800000021000000ff0001d604000000070001d8100000000000001234567890123456789000000000',
  ],
  [
    'ip,ct_state=+est+trk,ct_nw_src=10.0.0.1,ct_nw_dst=10.1.0.0/16,actions=drop',
    '040e006000000002000000000000000000000000000000000000000000008000ffffffffffffffffffffffff000000000001002a80000a0208000001d30800000022000000220001f0040a0000010001f3080a010000ffff0000000000000000',
  ],
  [
    'ip,ct_state=+trk-inv,ct_nw_proto=6,ct_tp_src=80,ct_tp_dst=0x400/0xfc00,actions=drop',
    '040e006000000002000000000000000000000000000000000000000000008000ffffffffffffffffffffffff000000000001002980000a0208000001d30800000020000000300001ee01060001f80200500001fb040400fc0000000000000000',
  ],
  [
    'table=3,priority=40,tcp,reg6=0x3,ct_state=+est-rel-rpl+trk,ct_zone=3,tcp_dst=22,actions=output:2',
    '040e007800000002000000000000000000000000000000000300000000000028ffffffffffffffffffffffff000000000001002f80000a020800800014010680001c02001600010c04000000030001d308000000220000002e0001d402000300000400180000000000000010000000020000000000000000',
  ],
  [
    'ct_state=-trk,ip,actions=ct(table=1,zone=5)',
    '040e006800000002000000000000000000000000000000000000000000008000ffffffffffffffffffffffff000000000001001680000a0208000001d308000000000000002000000004002000000000ffff00180000232000230000000000000005010000000000',
  ],
  [
    'table=1,ct_state=+new+trk,ip,nw_src=10.0.0.1,actions=ct(commit,zone=5,exec(set_field:0x1->ct_mark)),output:2',
    '040e009000000002000000000000000000000000000000000100000000008000ffffffffffffffffffffffff000000000001001e80000a020800800016040a0000010001d308000000210000002100000004004000000000ffff00280000232000230001000000000005ff0000000000001900100001d604000000010000000000000010000000020000000000000000',
  ],
  ['table=1,ct_state=+inv+trk,actions=drop', '040e004000000002000000000000000000000000000000000100000000008000ffffffffffffffffffffffff00000000000100100001d3080000003000000030'],
  [
    'conj_id=7,ip,ct_state=+trk,actions=drop',
    '040e005000000002000000000000000000000000000000000000000000008000ffffffffffffffffffffffff000000000001001e00014a040000000780000a0208000001d30800000020000000200000',
  ],
  [
    'in_port=3,dl_src=fa:16:3e:00:00:01,dl_dst=fa:16:3e:00:00:02,metadata=0x5,tun_id=0x10,ct_zone=0xffff,ct_label=0xffff00000000000000000000000000/0xffff0000000000000000000000000000,actions=drop',
    '040e009800000002000000000000000000000000000000000000000000008000ffffffffffffffffffffffff0000000000010062800000040000000380000806fa163e00000180000606fa163e00000280004c0800000000000000100001d402ffff0001d92000ff0000000000000000000000000000ffff0000000000000000000000000000800004080000000000000005000000000000',
  ],
  [
    'ipv6,ct_state=+trk-inv,ct_nw_proto=58,actions=drop',
    '040e005000000002000000000000000000000000000000000000000000008000ffffffffffffffffffffffff000000000001001b80000a0286dd0001d30800000020000000300001ee013a0000000000',
  ],
];

t.test('ct matches: ovs-ofctl bytes → the tvs flow of the same text → the same bytes', async (t) => {
  for (const [text, h] of FIXTURES) {
    const msg = of.decodeMessage(hex(h));
    if (msg.type !== 'flow_mod') throw new Error('not a flow_mod');
    const { spec } = flowModToSpec(msg);
    const fromText = pipeline().parse(text, 'add');
    t.equal(formatMatch(spec.match, spec.priority ?? 32768), formatMatch(fromText.match, fromText.priority ?? 32768), `${text}: match`);
    t.ok(spec.match.equals(fromText.match), `${text}: the same key words as the text`);
    t.equal(formatActions(spec.actions!), formatActions(fromText.actions!), `${text}: actions`);
    const back = of.encodeMessage({ ...msg, match: matchToOxm(spec.match), instructions: instructionsFromActions(spec.actions!, spec.match) });
    t.equal(back.toString('hex'), h, `${text}: re-encoded byte for byte`);
    const mine = of.encodeMessage({ ...msg, match: matchToOxm(fromText.match), instructions: instructionsFromActions(fromText.actions!, fromText.match) });
    t.equal(mine.toString('hex'), h, `${text}: the text flow encodes as ovs-ofctl sent it`);
  }
});

/** One NXM_NX TLV by hand: class 1, field, value bytes, optional mask bytes. */
function nx(field: number, value: string, mask?: string): of.Oxm {
  return { cls: of.OXM_CLASS_NXM1, field, value: hex(value), mask: mask === undefined ? undefined : hex(mask) };
}
const IP = of.oxm('eth_type', 0x0800);
const TRK_NOT_INV = nx(105, '00000020', '00000030');

t.test('ct_state is 32 bits on the wire, 8 bits of flags in the key (as OVS)', async (t) => {
  // os-ken's OFPMatch(ct_state=0x21) sends it without a mask: the 8 flag bits, exactly.
  let m = matchFromOxm([nx(105, '00000021')]);
  t.equal(m.value[K.K_CT_STATE], 0x21);
  t.equal(m.mask[K.K_CT_STATE], 0xff);
  t.equal(formatMatch(m, 32768), 'ct_state=new|trk');
  t.same(matchToOxm(m), [nx(105, '00000021', '000000ff')], 'sent back as OVS sends it: masked to the flag bits');
  // A mask wider than the flags is cut to them (OVS keeps a uint8_t).
  m = matchFromOxm([nx(105, '00000020', 'ffffff30')]);
  t.equal(m.mask[K.K_CT_STATE], 0x30);
  t.equal(formatMatch(m, 32768), 'ct_state=-inv+trk');
  // A value with bits no flag has: OVS mf_is_value_valid refuses it.
  t.throws(() => matchFromOxm([nx(105, '00000100', '00000100')]), { type: of.ET.BAD_MATCH, code: of.BAD_MATCH.BAD_VALUE });
  t.throws(() => matchFromOxm([nx(105, '00000021', '00000001')]), { type: of.ET.BAD_MATCH, code: of.BAD_MATCH.BAD_WILDCARDS });
});

t.test('ct matches: masks, widths, values', async (t) => {
  const label = matchFromOxm([nx(108, '0000000100000000000000000000ff02', '000000ff00000000000000000000ffff')]);
  t.same(label.value.slice(K.K_CT_LABEL, K.K_CT_LABEL + 4), [1, 0, 0, 0xff02], 'label most significant word first');
  t.same(label.mask.slice(K.K_CT_LABEL, K.K_CT_LABEL + 4), [0xff, 0, 0, 0xffff]);
  t.equal(formatMatch(label, 32768), 'ct_label=0x100000000000000000000ff02/0xff00000000000000000000ffff');
  t.same(matchToOxm(label), [nx(108, '0000000100000000000000000000ff02', '000000ff00000000000000000000ffff')]);
  const mark = matchFromOxm([nx(107, '00000010', '000000f0')]);
  t.equal(formatMatch(mark, 32768), 'ct_mark=0x10/0xf0');
  t.same(matchToOxm(matchFromOxm([nx(107, '00000010', 'ffffffff')])), [nx(107, '00000010')], 'an all-ones mask is no mask');
  t.same(matchToOxm(matchFromOxm([nx(106, 'ffff')])), [nx(106, 'ffff')]);
  // Fields OVS does not let you mask, and wrong widths.
  t.throws(() => matchFromOxm([nx(106, '0005', 'ffff')]), { type: of.ET.BAD_MATCH, code: of.BAD_MATCH.BAD_MASK }, 'ct_zone is not maskable');
  t.throws(() => matchFromOxm([TRK_NOT_INV, nx(119, '06', 'ff')]), { type: of.ET.BAD_MATCH, code: of.BAD_MATCH.BAD_MASK }, 'ct_nw_proto is not maskable');
  for (const [field, bytes] of [[105, 2], [106, 4], [107, 2], [108, 8], [119, 2], [120, 16], [124, 4]]) {
    const w = new of.Writer();
    of.writeMatch(w, [nx(field, '00'.repeat(bytes))]);
    t.throws(() => of.readMatch(new of.Reader(w.done())), { type: of.ET.BAD_MATCH, code: of.BAD_MATCH.BAD_LEN }, `NXM_NX field ${field} with ${bytes} bytes`);
  }
});

t.test('ct matches without their prerequisite: BAD_PREREQ, as OVS', async (t) => {
  const PREREQ = { type: of.ET.BAD_MATCH, code: of.BAD_MATCH.BAD_PREREQ };
  t.throws(() => matchFromOxm([IP, nx(120, '0a000001')]), PREREQ, 'ct_nw_src without a ct_state');
  t.throws(() => matchFromOxm([IP, nx(105, '00000020', '00000020'), nx(120, '0a000001')]), PREREQ, 'ct_nw_src with +trk only (inv not excluded)');
  t.throws(() => matchFromOxm([nx(105, '00000002', '00000002'), nx(105, '00000000', '00000010')]), { type: of.ET.BAD_MATCH, code: of.BAD_MATCH.DUP_FIELD });
  t.throws(() => matchFromOxm([TRK_NOT_INV, nx(120, '0a000001')]), PREREQ, 'ct_nw_src without eth_type IPv4');
  t.throws(() => matchFromOxm([nx(119, '06')]), PREREQ, 'ct_nw_proto without a valid ct_state');
  t.throws(() => matchFromOxm([IP, TRK_NOT_INV, nx(124, '0050')]), PREREQ, 'ct_tp_src without ct_nw_proto');
  // What OVS's is_ct_valid accepts: +trk-inv, or any state only a valid connection has.
  t.ok(matchFromOxm([IP, TRK_NOT_INV, nx(120, '0a000001')]));
  t.ok(matchFromOxm([IP, nx(105, '00000002', '00000002'), nx(120, '0a000001')]), '+est');
  t.ok(matchFromOxm([IP, TRK_NOT_INV, nx(119, '06'), nx(124, '0050')]));
  // Fields OVS has and the tvs key does not: BAD_FIELD, by name.
  t.throws(() => matchFromOxm([of.oxm('eth_type', 0x86dd), TRK_NOT_INV, nx(122, '20010db8000000000000000000000001')]), { type: of.ET.BAD_MATCH, code: of.BAD_MATCH.BAD_FIELD, message: /ct_ipv6_src/ });
});

t.test('a FLOW_MOD with a bad ct prerequisite gets the OpenFlow error with its bytes, and installs nothing', async (t) => {
  const sw = new Switch({ clock: () => 0, arena: { slots: 64, slotSize: 2048 + 128 } });
  sw.addBridge('br0');
  sw.flows('br0').delFlows();
  const io = new FakeIo();
  const s = new OfSession(io, new BridgeAgent(sw, 'br0'), { clock: () => 0 });
  io.take();
  s.receive(hex(OFCTL.hello));
  const good = of.decodeMessage(hex(FIXTURES[3][1]));
  if (good.type !== 'flow_mod') throw new Error('not a flow_mod');
  const bad = of.encodeMessage({ ...good, xid: 41, match: good.match.filter((f) => !(f.cls === 1 && f.field === 119)) }); // drop ct_nw_proto
  s.receive(bad);
  const [e] = io.take();
  t.match(e, { type: 'error', xid: 41, errType: of.ET.BAD_MATCH, code: of.BAD_MATCH.BAD_PREREQ });
  t.equal((e as { data: Buffer }).data.toString('hex'), bad.subarray(0, 64).toString('hex'), 'the offending bytes echoed');
  t.equal(sw.flows('br0').ruleCount, 0);
  // The good one installs, and FLOW stats carry its ct fields back unchanged.
  s.receive(hex(FIXTURES[3][1]));
  t.same(io.take(), []);
  t.match(sw.flows('br0').formatFlows(), /ct_state=-inv\+trk,ct_nw_proto=6,ct_tp_src=80,ct_tp_dst=0x400\/0xfc00,ip actions=drop/);
  const q = of.decodeMessage(hex(OFCTL.aggregateRequest));
  if (q.type !== 'multipart_request') throw new Error('x');
  s.receive(of.encodeMessage({ ...q, xid: 77, body: { ...(q.body as object), mpType: of.MP.FLOW } as never }));
  const [rep] = io.take();
  if (rep.type !== 'multipart_reply' || !('flows' in rep.body)) throw new Error('no flow stats');
  const flows = rep.body.flows as of.FlowStats[];
  t.equal(flows.length, 1);
  t.same(flows[0].match, good.match, 'the match as ovs-ofctl sent it');
});

// ---------------------------------------------------------------- every field, exhaustively

/**
 * Fields of src/flow/fields.ts that OpenFlow cannot carry, each with the reason. A field listed
 * here must make the FLOW stats encoding fail (checked below), never vanish from the reply.
 */
const UNREPRESENTABLE: Record<string, string> = {};

/** What a field may need in front of it (ip, tcp, a tracked connection, an ND message...). */
const CONTEXTS = [
  '', 'ip', 'ipv6', 'arp', 'rarp', 'tcp', 'udp', 'sctp', 'icmp', 'icmp6', 'tcp6', 'udp6',
  'icmp6,icmp_type=135', 'icmp6,icmp_type=136', 'ct_state=+trk-inv', 'ct_state=+trk-inv,ip', 'ct_state=+trk-inv,ip,ct_nw_proto=6',
];
/** Values tried on every field: a field keeps those it parses (masked forms where it allows them). */
const VALUES = [
  '', '1', '5', '8', '0x21', '0x1/0x1', '0x10/0xf0', '135', '0xffff', '10.0.0.1', '10.0.0.0/8', '10.0.0.1/255.0.255.0',
  'fa:16:3e:00:00:01', 'fa:16:3e:00:00:01/ff:ff:ff:00:00:00', '2001:db8::1', '2001:db8::/32', 'no', 'later', 'not_later',
  '+trk-inv', '+est+trk', 'new|trk', '0x12345678901234567890/0xffff0000000000000000', '0x12345', '0x12345/0xff00f',
];
const PORTS = { resolvePort: () => -1 };

/** `k=v,k2,...` through fields.ts alone; null when a field refuses it or a prerequisite is missing. */
function matchOf(text: string): Match | null {
  const m = new Match();
  const prereqs: Prereq[] = [];
  for (const part of text.split(',').filter((p) => p !== '')) {
    const i = part.indexOf('=');
    const f = matchField(i < 0 ? part : part.slice(0, i));
    if (!f) throw new Error(`no field in ${part}`);
    try {
      f.apply(m, i < 0 ? '' : part.slice(i + 1), PORTS);
    } catch {
      return null;
    }
    prereqs.push(f.prereq);
  }
  return prereqs.every((p) => prereqOk(p, m)) ? m : null;
}

t.test('every match field of fields.ts goes over OpenFlow and comes back the same, or is listed with a reason', async (t) => {
  const names = matchFieldNames();
  t.ok(names.includes('ct_label') && names.includes('nd_tll') && names.includes('pkt_mark'), `${names.length} field names`);
  for (const name of names) {
    let carried = 0;
    let refused = 0;
    for (const ctx of CONTEXTS) {
      for (const v of VALUES) {
        const text = [ctx, v === '' ? name : `${name}=${v}`].filter((x) => x !== '').join(',');
        const m = matchOf(text);
        if (m === null) continue;
        if (UNREPRESENTABLE[name]) {
          t.throws(() => matchToOxm(m), { type: of.ET.BAD_MATCH, code: of.BAD_MATCH.BAD_FIELD }, `${text}: refused, not dropped`);
          refused++;
          continue;
        }
        let back: Match | undefined;
        try {
          back = matchFromOxm(matchToOxm(m));
        } catch (e) {
          t.fail(`${text}: ${(e as Error).message}`);
          continue;
        }
        if (!back.equals(m)) t.fail(`${text}: came back as ${formatMatch(back, 32768)}`);
        else carried++;
      }
    }
    if (UNREPRESENTABLE[name]) t.ok(refused > 0, `${name}: unrepresentable (${UNREPRESENTABLE[name]}), and the encoder says so`);
    else t.ok(carried > 0, `${name}: ${carried} samples carried over OpenFlow (if 0: give it a sample value here, or list it in UNREPRESENTABLE with the reason)`);
  }
});

t.test('a match on key bits no field maps is an error naming them, in FLOW stats too', async (t) => {
  // Words a flow can match on that no OXM expresses: the inner VLAN and the tunnel flags.
  for (const [word, name] of [[K.K_VLAN_TCI2, 'vlan_tci2'], [K.K_TUN_FLAGS, 'tun_flags']] as const) {
    const m = new Match();
    m.set(word, 1, 1);
    t.throws(() => matchToOxm(m), { type: of.ET.BAD_MATCH, code: of.BAD_MATCH.BAD_FIELD, message: new RegExp(name) });
  }
  // A field whose prerequisite the match lacks cannot be expressed either (OVS would drop it).
  const noPrereq = new Match();
  noPrereq.set(K.K_TP_DST, 80, 0xffff);
  t.throws(() => matchToOxm(noPrereq), { message: /tp_dst/ });
  const match = pipeline().parse('ip', 'match').match;
  match.set(K.K_VLAN_TCI2, 0x1005, 0x1fff);
  const rule = { table: 4, priority: 9, cookie: 0xabn, flags: [], actions: [], match, idleTimeout: 0, hardTimeout: 0 } as unknown as Rule;
  t.throws(() => ruleToFlowStats(rule, 0, 0, 0), {
    type: of.ET.BAD_MATCH,
    code: of.BAD_MATCH.BAD_FIELD,
    message: /flow in table 4, priority 9, cookie 0xab: match on vlan_tci2/,
  });
});
