/**
 * OpenFlow 1.3 mapping of the tunnel fields: Neutron's native (os-ken) agent programs br-tun with
 * OFPMatch(tunnel_id=VNI) and OFPActionSetField(tunnel_id=VNI). tunnel_id is the OXM basic field
 * 38 (header 0x80004c08, masked 0x80004d10); tun_src/tun_dst are NXM_NX_TUN_IPV4_SRC/DST (class 1,
 * fields 31/32). A FLOW_MOD carrying them decodes into the flow `tvs add-flow` makes from the
 * text, and tvs's encoding of that flow (what a flow-stats reply carries) decodes back to it.
 */
import t from 'tap';
import * as of from '../../src/wire/openflow';
import { flowModToSpec, matchToOxm, instructionsFromActions, matchFromOxm } from '../../src/openflow/rule-map';
import { PacketArena } from '../../src/packet/arena';
import { FlowPipeline } from '../../src/flow/pipeline';
import { formatMatch, formatActions } from '../../src/flow/ofctl-format';

const pipeline = () => new FlowPipeline({ arena: new PacketArena({ slots: 4, slotSize: 2048 }), resolvePort: (n) => (n === 'patch-int' ? 1 : -1), portName: () => undefined });

const FLOWS = [
  'table=4,priority=1,tun_id=0x3e9,actions=push_vlan:0x8100,set_field:4099->vlan_vid,goto_table:10',
  'table=22,priority=1,dl_vlan=3,actions=pop_vlan,set_field:0x3e9->tun_id,output:2,output:3',
  'table=0,priority=1,tun_id=0x5/0xff,tun_src=10.234.0.2,tun_dst=10.234.0.0/16,actions=output:1',
  'table=0,priority=1,actions=set_tunnel:0x64,load:0x1->NXM_NX_TUN_ID[40],move:NXM_NX_TUN_IPV4_SRC[]->NXM_NX_REG0[],output:2',
];

t.test('tunnel fields: text -> FLOW_MOD -> the same flow', async (t) => {
  for (const text of FLOWS) {
    const s = pipeline().parse(text, 'add');
    const bytes = of.encodeMessage({
      type: 'flow_mod', xid: 6, cookie: 0n, cookieMask: 0n, tableId: s.table ?? 0, command: 0, idleTimeout: 0, hardTimeout: 0,
      priority: s.priority ?? 32768, bufferId: 0xffffffff, outPort: 0xffffffff, outGroup: 0xffffffff, flags: 0,
      match: matchToOxm(s.match), instructions: instructionsFromActions(s.actions!, s.match),
    } as of.OfMessage);
    const msg = of.decodeMessage(bytes);
    if (msg.type !== 'flow_mod') throw new Error('not a flow_mod');
    const { spec } = flowModToSpec(msg);
    t.equal(formatMatch(spec.match, spec.priority ?? 32768), formatMatch(s.match, s.priority ?? 32768), `${text}: match`);
    t.ok(matchFromOxm(msg.match).equals(s.match), `${text}: the same key words`);
    // set_tunnel travels as a 64-bit load (OVS's NXAST_SET_TUNNEL64 has no OXM form either way).
    t.equal(formatActions(spec.actions!), formatActions(s.actions!).replace('set_tunnel:0x64', 'load:0x64->NXM_NX_TUN_ID[]'), `${text}: actions`);
  }
  const hex = of.encodeMessage({
    type: 'flow_mod', xid: 1, cookie: 0n, cookieMask: 0n, tableId: 4, command: 0, idleTimeout: 0, hardTimeout: 0,
    priority: 1, bufferId: 0xffffffff, outPort: 0xffffffff, outGroup: 0xffffffff, flags: 0,
    match: matchToOxm(pipeline().parse('tun_id=0x3e9', 'match').match), instructions: [],
  } as of.OfMessage).toString('hex');
  t.ok(hex.includes('80004c08' + '00000000000003e9'), `OXM tunnel_id: header 0x80004c08, then the 64-bit VNI (${hex})`);
});
