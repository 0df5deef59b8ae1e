/**
 * ct(...), ct_clear and resubmit(,T,ct) over OpenFlow 1.3, on FLOW_MODs as `ovs-ofctl --no-names
 * -O OpenFlow13 add-flow` (OVS 3.1) sent them: NXAST_CT (35) with nested NXAST_NAT (36) and
 * OFPAT_SET_FIELD, NXAST_CT_CLEAR (43), NXAST_RESUBMIT_TABLE_CT (44). Decode → the flow the same
 * text makes with `tvs add-flow` → encode gives back the identical bytes.
 */
import t from 'tap';
import * as of from '../../src/wire/openflow';
import { actionsFromInstructions, flowModToSpec, matchToOxm, instructionsFromActions, ruleToFlowStats } from '../../src/openflow/rule-map';
import { PacketArena } from '../../src/packet/arena';
import { FlowPipeline } from '../../src/flow/pipeline';
import { formatActions } from '../../src/flow/ofctl-format';

const pipeline = () => new FlowPipeline({ arena: new PacketArena({ slots: 4, slotSize: 2048 }), resolvePort: () => -1, portName: () => undefined });

const FIXTURES: [string, string][] = [
  [
    'ip,actions=ct(commit,zone=1,table=2)',
    '040e006000000002000000000000000000000000000000000000000000008000ffffffffffffffffffffffff000000000001000a80000a0208000000000000000004002000000000ffff00180000232000230001000000000001020000000000',
  ],
  [
    'ip,actions=ct(zone=NXM_NX_REG6[0..15],table=72)',
    '040e006000000002000000000000000000000000000000000000000000008000ffffffffffffffffffffffff000000000001000a80000a0208000000000000000004002000000000ffff0018000023200023000000010c04000f480000000000',
  ],
  [
    'ip,actions=ct(commit,nat(src=10.0.0.1:1000-2000))',
    '040e007800000002000000000000000000000000000000000000000000008000ffffffffffffffffffffffff000000000001000a80000a0208000000000000000004003800000000ffff00300000232000230001000000000000ff0000000000ffff00180000232000240000000100310a00000103e807d0',
  ],
  [
    'ip,actions=ct(commit,nat(dst=10.0.0.1-10.0.0.5))',
    '040e007800000002000000000000000000000000000000000000000000008000ffffffffffffffffffffffff000000000001000a80000a0208000000000000000004003800000000ffff00300000232000230001000000000000ff0000000000ffff00180000232000240000000200030a0000010a000005',
  ],
  [
    'ip,actions=ct(nat)',
    '040e007000000002000000000000000000000000000000000000000000008000ffffffffffffffffffffffff000000000001000a80000a0208000000000000000004003000000000ffff00280000232000230000000000000000ff0000000000ffff0010000023200024000000000000',
  ],
  [
    'ip,actions=ct(commit,exec(set_field:1->ct_mark))',
    '040e007000000002000000000000000000000000000000000000000000008000ffffffffffffffffffffffff000000000001000a80000a0208000000000000000004003000000000ffff00280000232000230001000000000000ff0000000000001900100001d6040000000100000000',
  ],
  [
    'actions=ct_clear',
    '040e005000000002000000000000000000000000000000000000000000008000ffffffffffffffffffffffff0000000000010004000000000004001800000000ffff001000002320002b000000000000',
  ],
];

t.test('FLOW_MOD with ct / ct_clear: ovs-ofctl bytes → the tvs flow → the same bytes', async (t) => {
  for (const [text, hex] of FIXTURES) {
    const msg = of.decodeMessage(Buffer.from(hex, 'hex'));
    if (msg.type !== 'flow_mod') throw new Error('not a flow_mod');
    const { spec } = flowModToSpec(msg);
    const fromText = pipeline().parse(text, 'add');
    t.equal(formatActions(spec.actions!), formatActions(fromText.actions!), `${text}: the same actions as the text`);
    t.match(formatActions(spec.actions!), /^ct/, `${text}: decoded to a ct action`);
    const back = of.encodeMessage({ ...msg, match: matchToOxm(spec.match), instructions: instructionsFromActions(spec.actions!, spec.match) });
    t.equal(back.toString('hex'), hex, `${text}: encodes back to the identical bytes`);
    const mine = of.encodeMessage({ ...msg, match: matchToOxm(fromText.match), instructions: instructionsFromActions(fromText.actions!, fromText.match) });
    t.equal(mine.toString('hex'), hex, `${text}: the text flow encodes as ovs-ofctl sent it`);
  }
});

t.test('resubmit(,T,ct) is NXAST_RESUBMIT_TABLE_CT, not a plain resubmit', async (t) => {
  // ovs-ofctl needs a ct_state match for it; the match is kept as sent, only the actions are mapped.
  const text = 'ct_state=+trk+est,ip,actions=resubmit(,3,ct)';
  const hex = '040e006000000002000000000000000000000000000000000000000000008000ffffffffffffffffffffffff000000000001001680000a0208000001d308000000220000002200000004001800000000ffff001000002320002cfff803000000';
  const msg = of.decodeMessage(Buffer.from(hex, 'hex'));
  if (msg.type !== 'flow_mod') throw new Error('not a flow_mod');
  const fromText = pipeline().parse(text, 'add');
  const acts = actionsFromInstructions(msg.instructions, { match: fromText.match, table: 0 });
  t.same(acts, [{ type: 'resubmit', port: -1, table: 3, ct: true }]);
  t.equal(formatActions(acts), formatActions(fromText.actions!));
  const back = of.encodeMessage({ ...msg, instructions: instructionsFromActions(fromText.actions!, fromText.match) });
  t.equal(back.toString('hex'), hex, 'the text flow encodes as ovs-ofctl sent it');
  const plain = pipeline().parse('ip,actions=resubmit(,3)', 'add');
  t.same(instructionsFromActions(plain.actions!, plain.match), [{ type: 'apply_actions', actions: [{ type: 'nx_resubmit', inPort: 0xfff8, table: 3 }] }], 'without ct: NXAST_RESUBMIT_TABLE');
});

t.test('a FLOW stats entry of a ct flow carries the ct action', async (t) => {
  const spec = pipeline().parse('ip,actions=ct(commit,zone=5,exec(set_field:0x7->ct_mark)),ct_clear,output:2', 'add');
  const stats = ruleToFlowStats({ ...spec, table: 0, flags: [], cookie: 0n, priority: 1, idleTimeout: 0, hardTimeout: 0, match: spec.match, actions: spec.actions! } as never, 0, 0, 0);
  const apply = stats.instructions.find((i) => i.type === 'apply_actions');
  t.same(apply && apply.type === 'apply_actions' ? apply.actions.map((a) => a.type) : [], ['nx_ct', 'nx_ct_clear', 'output']);
});

t.test('ct forms tvs cannot run are refused with BAD_ARGUMENT, not dropped', async (t) => {
  const msg = of.decodeMessage(Buffer.from(FIXTURES[0][1], 'hex'));
  if (msg.type !== 'flow_mod') throw new Error('not a flow_mod');
  const ct = (over: object): of.OfInstruction[] => [{ type: 'apply_actions', actions: [{ type: 'nx_ct', flags: 1, zoneSrc: 0, zoneOfsNbits: 1, recircTable: 255, alg: 0, actions: [], ...over }] }];
  const bad = { type: of.ET.BAD_ACTION, code: of.BAD_ACTION.BAD_ARGUMENT };
  t.throws(() => flowModToSpec({ ...msg, instructions: ct({ alg: 21 }) }), bad, 'alg=ftp');
  t.throws(() => flowModToSpec({ ...msg, instructions: ct({ flags: 4 }) }), bad, 'unknown flag');
  t.throws(() => flowModToSpec({ ...msg, instructions: ct({ actions: [{ type: 'output', port: 1, maxLen: 0 }] }) }), bad, 'nested output');
  t.throws(
    () => flowModToSpec({ ...msg, instructions: ct({ actions: [{ type: 'nx_nat', flags: 1, ipv4Min: null, ipv4Max: null, ipv6Min: Buffer.alloc(16), ipv6Max: null, protoMin: null, protoMax: null }] }) }),
    bad,
    'IPv6 nat range',
  );
  t.throws(() => flowModToSpec({ ...msg, instructions: [{ type: 'apply_actions', actions: [{ type: 'nx_nat', flags: 0, ipv4Min: null, ipv4Max: null, ipv6Min: null, ipv6Max: null, protoMin: null, protoMax: null }] }] }), bad, 'nat outside ct');
});

t.test('reg_load to ct_mark: inside ct(exec) a load, outside it BAD_ARGUMENT', async (t) => {
  const msg = of.decodeMessage(Buffer.from(FIXTURES[0][1], 'hex'));
  if (msg.type !== 'flow_mod') throw new Error('not a flow_mod');
  const load: of.OfAction = { type: 'nx_reg_load', ofsNbits: 31, dst: 0x0001d604, value: 5n };
  const { spec } = flowModToSpec({ ...msg, instructions: [{ type: 'apply_actions', actions: [{ type: 'nx_ct', flags: 1, zoneSrc: 0, zoneOfsNbits: 0, recircTable: 255, alg: 0, actions: [load] }] }] });
  t.equal(formatActions(spec.actions!), formatActions(pipeline().parse('ip,actions=ct(commit,exec(load:5->NXM_NX_CT_MARK[]))', 'add').actions!));
  t.throws(() => flowModToSpec({ ...msg, instructions: [{ type: 'apply_actions', actions: [load] }] }), { type: of.ET.BAD_ACTION, code: of.BAD_ACTION.BAD_ARGUMENT });
});
