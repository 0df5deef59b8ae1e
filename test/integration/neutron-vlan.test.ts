/**
 * The Neutron OVS-agent VLAN layout (test/helpers/neutron-vlan.ts) with the agent's flows
 * installed by `tvs add-flow`, the ovs-ofctl text the agent's ofctl driver would send.
 */
import t from 'tap';
import { isRoot, haveCmd } from '../../lab/netns';
import { tvsOk } from '../../lab/daemon';
import { neutronVlanLab, checkTenantIsolation, type NetMap } from '../helpers/neutron-vlan';
import { bindingAvailable } from '../../src/io/binding';

const why = !isRoot()
  ? 'needs root: creates namespaces, veth devices and AF_PACKET ports'
  : !bindingAvailable()
    ? 'native addon not built (run make)'
    : !haveCmd('tcpdump') || !haveCmd('python3') || !haveCmd('ping')
      ? 'needs tcpdump, ping and python3 (make test installs them)'
      : '';

/** The flows the Neutron OVS agent installs for a node, with its local VLAN numbers. */
function agentFlows(map: NetMap): { brInt: string[]; brEth1: string[] } {
  const brEth1: string[] = [];
  const brInt: string[] = [];
  for (const m of map) {
    if (m.provider === 'flat') {
      brEth1.push(`table=0,priority=4,in_port=phy-br-eth1,dl_vlan=${m.local},actions=strip_vlan,NORMAL`);
      brInt.push(`table=0,priority=3,in_port=int-br-eth1,vlan_tci=0x0000/0x1fff,actions=push_vlan:0x8100,set_field:${4096 + m.local}->vlan_vid,NORMAL`);
    } else {
      brEth1.push(`table=0,priority=4,in_port=phy-br-eth1,dl_vlan=${m.local},actions=mod_vlan_vid:${m.provider},NORMAL`);
      brInt.push(`table=0,priority=3,in_port=int-br-eth1,dl_vlan=${m.provider},actions=mod_vlan_vid:${m.local},NORMAL`);
    }
  }
  brEth1.push('table=0,priority=2,in_port=phy-br-eth1,actions=drop', 'table=0,priority=0,actions=NORMAL');
  brInt.push('table=0,priority=2,in_port=int-br-eth1,actions=drop', 'table=0,priority=0,actions=NORMAL');
  return { brInt, brEth1 };
}

t.test('VLAN translation between two nodes, tenant isolation, flat network', { skip: why || false }, async (t) => {
  const lab = await neutronVlanLab(t, async (node) => {
    const flows = agentFlows(node.map);
    for (const f of flows.brEth1) await tvsOk(node.d.control, ['add-flow', 'br-eth1', f]);
    for (const f of flows.brInt) await tvsOk(node.d.control, ['add-flow', 'br-int', f]);
  });
  await checkTenantIsolation(t, lab);
});
