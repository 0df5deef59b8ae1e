/**
 * OVS 3.1's port state machine (openflow/port-state.ts): the PORT_STATUS MODIFYs, in order,
 * for each link change of a device, as OVS sent them for a veth port on a netdev bridge
 * (measured with `ovs-ofctl monitor`, docs/openflow.md "Port state").
 */
import t from 'tap';
import { deviceBits, PortStates } from '../../src/openflow/port-state';
import { OFPPC_PORT_DOWN as PORT_DOWN, OFPPS_LINK_DOWN as LINK_DOWN, OFPPS_LIVE as LIVE } from '../../src/wire/openflow/constants';

const A = Buffer.from('025a00000b01', 'hex');
const B = Buffer.from('025a00000b02', 'hex');
const link = (adminUp: boolean, running: boolean, addr = A) => ({ adminUp, running, addr });
const bits = (l: { config: number; state: number }[]) => l.map((b) => [b.config, b.state]);

t.test('port state: each link change gives the MODIFYs OVS sends', async (t) => {
  const s = new PortStates<object>();
  const port = {};
  t.same(s.remember(port, link(true, true)), { config: 0, state: LIVE, addr: A }, 'up with carrier: LIVE');
  t.same(bits(s.change(port, link(true, true))), [], 'the same again: nothing');
  t.same(bits(s.change(port, link(false, false))), [[0, 0], [PORT_DOWN, LINK_DOWN]], 'admin down: LIVE goes first, then PORT_DOWN + LINK_DOWN');
  t.same(bits(s.change(port, link(true, true))), [[0, LIVE]], 'admin up with carrier: one MODIFY, LIVE');
  t.same(bits(s.change(port, link(true, false))), [[0, 0], [0, LINK_DOWN]], 'carrier lost: LIVE goes, then LINK_DOWN');
  t.same(bits(s.change(port, link(true, true))), [[0, LIVE]], 'carrier back: LIVE');
  const mods = s.change(port, link(true, true, B));
  t.same(mods, [{ config: 0, state: LIVE, addr: B }], 'a new address: one MODIFY with it');
  t.same(bits(s.change(port, link(false, false, B))), [[0, 0], [PORT_DOWN, LINK_DOWN]]);
  t.same(bits(s.change(port, link(true, false, B))), [[0, LINK_DOWN]], 'admin up without carrier: PORT_DOWN goes, LINK_DOWN stays');
  t.same(bits(s.change(port, link(true, true, B))), [[0, LIVE]]);
});

t.test('port state: a port not seen before is remembered, not announced', async (t) => {
  const s = new PortStates<object>();
  const port = {};
  t.same(s.change(port, link(false, false)), [], 'first sight: nothing to compare with');
  t.same(bits(s.change(port, link(true, true))), [[0, LIVE]], 'then changes are announced');
  t.same(deviceBits(link(false, false)), { config: PORT_DOWN, state: LINK_DOWN, addr: A }, 'a device admin down: PORT_DOWN + LINK_DOWN');
  t.same(deviceBits(link(true, false)), { config: 0, state: LINK_DOWN, addr: A }, 'no carrier: LINK_DOWN');
});
