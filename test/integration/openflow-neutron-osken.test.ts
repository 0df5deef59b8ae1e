/**
 * Neutron's OVS agent as a controller: test/osken/neutron_vlan.py programs br-int and br-eth1 of
 * each node over OpenFlow 1.3 the way the agent's native (os-ken) driver does — OXM matches,
 * goto_table into the agent's table layout, set_field on vlan_vid/regs/ip_dscp, NX resubmit and
 * resubmit_table — one app per node, as the agent runs one controller per node. The bridges are
 * fail_mode=secure, so nothing forwards until the app has programmed them. Then the tenant
 * isolation checks of the add-flow variant (test/helpers/neutron-vlan.ts) must pass on the wire,
 * and the agent's DSCP marking must show in the frames on the physical network.
 */
import t from 'tap';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { isRoot, haveCmd } from '../../lab/netns';
import { tvsOk, pingEach, waitUntil } from '../../lab/daemon';
import { startCapture } from '../helpers/capture';
import { neutronVlanLab, checkTenantIsolation, type NeutronNode } from '../helpers/neutron-vlan';
import { haveOsken, oskenAppPath, startOsken } from '../helpers/osken';
import { bindingAvailable } from '../../src/io/binding';

const APP = oskenAppPath('neutron_vlan.py');
const COOKIE = 0x4e7a;
/** DSCP the agent's QoS rule marks vm1's IP traffic with (AF11 = 10, TOS byte 0x28). */
const DSCP = 10;

const why = !isRoot()
  ? 'needs root: creates namespaces, veth devices and AF_PACKET ports'
  : !bindingAvailable()
    ? 'native addon not built (run make)'
    : !haveOsken() || !haveCmd('tcpdump') || !haveCmd('python3') || !haveCmd('ping')
      ? 'needs Debian python3-os-ken (/usr/bin/osken-manager), tcpdump, ping and python3'
      : '';

t.test('an os-ken app programs the Neutron VLAN translation; tenants stay isolated on the wire', { skip: why || false }, async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tvs-neutron-osken-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  const logs: Record<string, () => string> = {};

  const program = async (node: NeutronNode) => {
    const port = 20000 + ((process.pid * 2 + (node.label === 'a' ? 0 : 1)) % 20000);
    const conf = path.join(dir, `${node.label}.json`);
    fs.writeFileSync(conf, JSON.stringify({
      cookie: COOKIE,
      int_peer: 'int-br-eth1',
      phy_peer: 'phy-br-eth1',
      networks: node.map.map((m) => ({ lvid: m.local, segmentation_id: m.provider === 'flat' ? null : m.provider })),
      vm_ports: Object.entries(node.vms).map(([name, vm]) => ({ port: vm.port, lvid: vm.local, ...(name === 'vm1' ? { dscp: DSCP } : {}) })),
    }));
    const app = await startOsken(t, APP, port, path.join(dir, `${node.label}.log`), { TVS_NEUTRON_CONF: conf });
    const text = app.log;
    logs[node.label] = text;
    for (const br of ['br-int', 'br-eth1']) {
      await tvsOk(node.d.control, ['set-fail-mode', br, 'secure']);
      await tvsOk(node.d.control, ['set-controller', br, `tcp:127.0.0.1:${port}`]);
    }
    await waitUntil(`node ${node.label}'s bridges to be programmed`, () => (text().match(/PROGRAMMED dpid=/g) ?? []).length >= 2, 20_000, 100);
  };

  const lab = await neutronVlanLab(t, program);
  for (const n of [lab.A, lab.B]) {
    t.notMatch(logs[n.label](), /OFPT_ERROR|UNKNOWN BRIDGE|NO PORT/, `node ${n.label}: the switch refused nothing the agent sent`);
    t.match(logs[n.label](), /BR-INT dpid=/);
    t.match(logs[n.label](), /BR-PHYS dpid=/);
  }

  // The agent's flows are the bridge's flows: tvs dump-flows shows them with the agent's cookie.
  const intFlows = await tvsOk(lab.A.d.control, ['dump-flows', 'br-int']);
  const cookie = `cookie=0x${COOKIE.toString(16)}`;
  t.match(intFlows, new RegExp(`${cookie},.*table=0, .*priority=3,in_port="?int-br-eth1"?,dl_vlan=101 actions=(set_field:4097->vlan_vid|mod_vlan_vid:1),goto_table:59`), 'provision_local_vlan for VLAN 101 → local 1');
  t.match(intFlows, /table=60, .*priority=3 actions=NORMAL/, 'TRANSIENT_TABLE normal');
  t.match(intFlows, /table=30, .*priority=10,in_port=\S+ actions=load:0x1->NXM_NX_REG6\[\],resubmit\(\S+,31\)|table=30, .*priority=10,in_port=\S+ actions=set_field:0x1->reg6,resubmit\(\S+,31\)/, 'setup_local_egress_flows (reg6, resubmit_table)');

  await checkTenantIsolation(t, lab);

  // install_dscp_marking_rule on vm1: the marked frames leave node A with TOS 0x28 on VLAN 101.
  const capDscp = await startCapture(lab.phys, lab.A.uplink.peer, `vlan 101 and icmp and ip[1] = ${DSCP << 2} and src host 10.230.1.1`, 1);
  const p = await pingEach(lab.A.vms.vm1.ns, '10.230.1.3', 2);
  t.equal(p.loss, 0, `vm1 → vm3 with the DSCP marking in the pipeline: ${p.summary}`);
  t.match(await capDscp.done, /vlan 101, .*10\.230\.1\.1 > 10\.230\.1\.3: ICMP echo request/, `vm1's echo requests carry DSCP ${DSCP} on the wire`);
  const mark = (await tvsOk(lab.A.d.control, ['dump-flows', 'br-int'])).split('\n').find((l) => /priority=65535,ip,reg2=0,in_port=|priority=65535,.*reg2=0/.test(l) && /ip[ ,]/.test(l));
  t.ok(mark && /n_packets=[1-9]/.test(mark), `the DSCP rule (reg2=0 → reg2=1, resubmit) counted packets: ${mark}`);
});
