/**
 * write_actions / clear_actions over OpenFlow 1.3, on FLOW_MODs as `ovs-ofctl --no-names -O
 * OpenFlow13 add-flow` (OVS 3.1) sent them: decode → the flow the same text makes with `tvs
 * add-flow` → encode gives back the identical bytes (OFPIT_CLEAR_ACTIONS 5, OFPIT_WRITE_ACTIONS 3).
 */
import t from 'tap';
import * as of from '../../src/wire/openflow';
import { flowModToSpec, matchToOxm, instructionsFromActions } from '../../src/openflow/rule-map';
import { PacketArena } from '../../src/packet/arena';
import { FlowPipeline } from '../../src/flow/pipeline';
import { formatActions } from '../../src/flow/ofctl-format';

const pipeline = () => new FlowPipeline({ arena: new PacketArena({ slots: 4, slotSize: 2048 }), resolvePort: () => -1, portName: () => undefined });

const FIXTURES: [string, string][] = [
  [
    'priority=5,in_port=1,actions=output:3,clear_actions,write_actions(pop_vlan,set_field:02:00:00:00:00:aa->eth_dst,dec_ttl,output:2),write_metadata:0x1,goto_table:2',
    '040e00b800000002000000000000000000000000000000000000000000000005ffffffffffffffffffffffff000000000001000c80000004000000010000000000040018000000000000001000000003000000000000000000050008000000000003003800000000001200080000000000190010800006060200000000aa000000180008000000000000001000000002000000000000000000020018000000000000000000000001ffffffffffffffff0001000802000000',
  ],
  [
    // Sent by ovs-ofctl for write_actions(mod_nw_dst:10.201.0.9,output:3), which OVS prints so.
    'table=1,priority=7,ip,actions=clear_actions,write_actions(set_field:10.201.0.9->ip_dst,output:3)',
    '040e007000000002000000000000000000000000000000000100000000000007ffffffffffffffffffffffff000000000001000a80000a0208000000000000000005000800000000000300280000000000190010800018040ac900090000000000000010000000030000000000000000',
  ],
  [
    'priority=9,actions=write_actions(push_vlan:0x8100,set_field:4102->vlan_vid,CONTROLLER:128),goto_table:1',
    '040e007000000002000000000000000000000000000000000000000000000009ffffffffffffffffffffffff000000000001000400000000000300300000000000110008810000000019001080000c02100600000000000000000010fffffffd00800000000000000001000801000000',
  ],
];

t.test('FLOW_MOD with clear_actions / write_actions: ovs-ofctl bytes → the tvs flow → the same bytes', async (t) => {
  for (const [text, hex] of FIXTURES) {
    const msg = of.decodeMessage(Buffer.from(hex, 'hex'));
    if (msg.type !== 'flow_mod') throw new Error('not a flow_mod');
    t.ok(msg.instructions.some((i) => i.type === 'write_actions'), `${text}: a write_actions instruction on the wire`);
    const { spec } = flowModToSpec(msg);
    const fromText = pipeline().parse(text, 'add');
    t.equal(formatActions(spec.actions!), formatActions(fromText.actions!), `${text}: the same actions as the text`);
    const back = of.encodeMessage({ ...msg, match: matchToOxm(spec.match), instructions: instructionsFromActions(spec.actions!, spec.match) });
    t.equal(back.toString('hex'), hex, `${text}: encodes back to the identical bytes`);
    const mine = of.encodeMessage({ ...msg, match: matchToOxm(fromText.match), instructions: instructionsFromActions(fromText.actions!, fromText.match) });
    t.equal(mine.toString('hex'), hex, `${text}: the text flow encodes as ovs-ofctl sent it`);
  }
});

t.test('write_actions refused on the wire when an action has no place in the set; empty write_actions writes nothing', async (t) => {
  const msg = of.decodeMessage(Buffer.from(FIXTURES[2][1], 'hex'));
  if (msg.type !== 'flow_mod') throw new Error('not a flow_mod');
  t.throws(
    () => flowModToSpec({ ...msg, instructions: [{ type: 'write_actions', actions: [{ type: 'nx_note', note: Buffer.from('0102030405', 'hex') }] }] }),
    { type: of.ET.BAD_ACTION, code: of.BAD_ACTION.UNSUPPORTED_ORDER },
  );
  const { spec } = flowModToSpec({ ...msg, instructions: [{ type: 'write_actions', actions: [] }, { type: 'goto_table', table: 1 }] });
  t.equal(formatActions(spec.actions!), 'goto_table:1');
});
