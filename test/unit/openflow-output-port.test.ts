/**
 * OpenFlow 1.3 output ports → rule-model actions: every reserved port, plain ports, and the ports
 * OVS refuses with BAD_OUT_PORT (ANY, 0, the gap above the port range, TABLE outside a packet-out).
 */
import t from 'tap';
import { Match } from '../../src/flow/match';
import { actionsFromOf } from '../../src/openflow/rule-map';
import * as of from '../../src/wire/openflow';

const ctx = (packetOut: boolean) => ({ match: new Match(), table: 0, packetOut });
const out = (port: number, packetOut = false, maxLen = 0xffe5) => actionsFromOf([{ type: 'output', port, maxLen }], ctx(packetOut));

t.test('reserved ports take their own actions, as ovs-ofctl prints them', async (st) => {
  st.same(out(of.OFPP13_NORMAL), [{ type: 'normal' }]);
  st.same(out(of.OFPP13_FLOOD), [{ type: 'flood' }]);
  st.same(out(of.OFPP13_ALL), [{ type: 'all' }]);
  st.same(out(of.OFPP13_IN_PORT), [{ type: 'in_port' }]);
  st.same(out(of.OFPP13_CONTROLLER, false, 128), [{ type: 'controller', maxLen: 128 }]);
  st.same(out(of.OFPP13_LOCAL), [{ type: 'output', port: 0xfffe }]);
});

t.test('plain ports keep their number', async (st) => {
  st.same(out(1), [{ type: 'output', port: 1 }]);
  st.same(out(0xfeff), [{ type: 'output', port: 0xfeff }]);
});

t.test('TABLE only in a packet-out', async (st) => {
  st.same(out(of.OFPP13_TABLE, true), [{ type: 'output', port: 0xfff9 }]);
  st.throws(() => out(of.OFPP13_TABLE, false), /0xfffffff9 is not allowed/);
});

t.test('ports nothing can go to are BAD_OUT_PORT', async (st) => {
  for (const p of [of.OFPP13_ANY, 0, 0xff00, 0xfffffff0, 0xfffff000]) {
    st.throws(() => out(p), { code: of.BAD_ACTION.BAD_OUT_PORT }, `0x${p.toString(16)}`);
  }
});
