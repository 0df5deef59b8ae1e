/**
 * The Neutron OVS-agent VLAN layout on the wire, shared by the test that programs it with
 * `tvs add-flow` (neutron-vlan) and the one where an os-ken app programs it over OpenFlow
 * (openflow-neutron-osken). Two "compute nodes" (two tvs daemons) are joined by a physical
 * network (a Linux bridge in a namespace, which forwards 802.1Q frames as they are). On each node
 * br-int holds the VMs on local VLANs and br-eth1 the uplink, joined by the int-br-eth1 /
 * phy-br-eth1 patch ports and the agent's VLAN translation flows. The nodes use DIFFERENT local
 * VLANs for the same tenant network, so a ping crosses only if both translations (local →
 * provider on the way out, provider → local on the way in) are right.
 *
 *   tenant net 1: provider VLAN 101 — node A local 1, node B local 5
 *   tenant net 2: provider VLAN 102 — node A local 2, node B local 7
 *   flat net:     untagged          — node A local 3, node B local 8
 *
 * tcpdump -e in the physical namespace checks the tags on the wire.
 */
import type { Test as TapTest } from 'tap';
import { Lab } from '../../lab/netns';
import { startDaemon, tvsOk, nsRun, pingEach, pingNone, waitUntil, type Daemon } from '../../lab/daemon';
import { startCapture, watchUntilControl, rawSend } from './capture';
import { arpRequest, icmpEchoFrame } from '../../src/wire/frames';

export interface Vm {
  ns: string;
  /** The VM's interface (inside ns). */
  dev: string;
  /** The switch's port for it (root namespace). */
  port: string;
  ip: string;
  local: number;
}

export type NetMap = { local: number; provider: number | 'flat' }[];

export interface NeutronNode {
  label: string;
  d: Daemon;
  vms: Record<string, Vm>;
  uplink: { host: string; peer: string };
  map: NetMap;
}

export interface NeutronLab {
  phys: string;
  A: NeutronNode;
  B: NeutronNode;
}

/** The tap test these run in. */
type Test = TapTest;

/**
 * Build both nodes: bridges, patch ports, uplinks and VM ports (access ports with tag=local).
 * `program` installs the node's flows (add-flow, or a controller) once its ports exist.
 */
export async function neutronVlanLab(t: Test, program: (node: NeutronNode) => Promise<void>): Promise<NeutronLab> {
  const lab = Lab.create(t);
  const phys = lab.netns('tvnphy');
  await nsRun(phys, ['ip', 'link', 'add', 'br0', 'type', 'bridge']);
  await nsRun(phys, ['ip', 'link', 'set', 'br0', 'up']);

  const makeNode = async (label: string, vms: { name: string; ip: string; local: number }[], map: NetMap): Promise<NeutronNode> => {
    const d: Daemon = await startDaemon(t);
    const up = lab.veth({ ns: phys });
    await nsRun(phys, ['ip', 'link', 'set', up.peer, 'master', 'br0']);
    const cmds: string[][] = [
      ['add-br', 'br-int'],
      ['add-br', 'br-eth1'],
      ['add-port', 'br-int', 'int-br-eth1', 'type=patch', 'peer=phy-br-eth1'],
      ['add-port', 'br-eth1', 'phy-br-eth1', 'type=patch', 'peer=int-br-eth1'],
      ['add-port', 'br-eth1', up.host],
    ];
    const out: Record<string, Vm> = {};
    for (const vm of vms) {
      const ns = lab.netns(`tvn${label}${vm.name}`);
      const v = lab.veth({ ns, address: `${vm.ip}/24` });
      cmds.push(['add-port', 'br-int', v.host, `tag=${vm.local}`]);
      out[vm.name] = { ns, dev: v.peer, port: v.host, ip: vm.ip, local: vm.local };
    }
    for (const c of cmds) await tvsOk(d.control, c);
    const node: NeutronNode = { label, d, vms: out, uplink: { host: up.host, peer: up.peer }, map };
    await program(node);
    return node;
  };

  // Same subnets in both tenants on purpose: only the VLANs keep them apart.
  const A = await makeNode('a', [
    { name: 'vm1', ip: '10.230.1.1', local: 1 },
    { name: 'vm2', ip: '10.230.1.2', local: 2 },
    { name: 'vm5', ip: '10.230.3.5', local: 3 },
    { name: 'vm9', ip: '10.230.1.9', local: 9 }, // a local VLAN with no translation
  ], [{ local: 1, provider: 101 }, { local: 2, provider: 102 }, { local: 3, provider: 'flat' }]);
  const B = await makeNode('b', [
    { name: 'vm3', ip: '10.230.1.3', local: 5 },
    { name: 'vm4', ip: '10.230.1.4', local: 7 },
    { name: 'vm6', ip: '10.230.3.6', local: 8 },
  ], [{ local: 5, provider: 101 }, { local: 7, provider: 102 }, { local: 8, provider: 'flat' }]);
  return { phys, A, B };
}

/** What a node's switch has received on PORT of br-int (`tvs dump-ports`' rx_packets). */
async function portRx(node: NeutronNode, port: string): Promise<number> {
  const dump = JSON.parse(await tvsOk(node.d.control, ['--json', 'dump-ports', 'br-int'])) as { ports: { name: string; rx_packets: number }[] };
  const p = dump.ports.find((x) => x.name === port);
  if (!p) throw new Error(`no port ${port} on node ${node.label}'s br-int`);
  return p.rx_packets;
}

/** Translation across nodes, tenant isolation, the flat network and the two drop paths. */
export async function checkTenantIsolation(t: Test, { phys, A }: NeutronLab): Promise<void> {
  // Tenant 1: vm1 (A, local 1) ↔ vm3 (B, local 5) over provider VLAN 101.
  const cap101 = await startCapture(phys, A.uplink.peer, 'vlan 101 and arp', 1);
  const p13 = await pingEach(A.vms.vm1.ns, '10.230.1.3', 3);
  t.equal(p13.loss, 0, `tenant 1 crosses nodes: ${p13.summary}`);
  t.match(await cap101.done, /vlan 101, p 0, ethertype ARP/, 'the physical wire carries provider VLAN 101');

  // Tenant 2: vm2 (A, local 2) ↔ vm4 (B, local 7) over provider VLAN 102.
  const cap102 = await startCapture(phys, A.uplink.peer, 'vlan 102 and icmp', 1);
  const p24 = await pingEach(A.vms.vm2.ns, '10.230.1.4', 3);
  t.equal(p24.loss, 0, `tenant 2 crosses nodes: ${p24.summary}`);
  t.match(await cap102.done, /vlan 102, p 0, ethertype IPv4.*10\.230\.1\.2 > 10\.230\.1\.4: ICMP echo request/, 'provider VLAN 102 on the wire');

  // Tenants are isolated although they share a subnet.
  const p14 = await pingNone(A.vms.vm1.ns, '10.230.1.4');
  t.equal(p14.answered, 0, `tenant 1 cannot reach tenant 2: ${p14.summary}`);

  // Flat network: untagged on the wire, local VLAN 3 on A and 8 on B.
  const capFlat = await startCapture(phys, A.uplink.peer, 'icmp', 1);
  const p56 = await pingEach(A.vms.vm5.ns, '10.230.3.6', 3);
  t.equal(p56.loss, 0, `flat network crosses nodes: ${p56.summary}`);
  // (No 'not vlan' in the filter: BPF's vlan primitive shifts the offsets of what follows it.)
  const flatSaw = await capFlat.done;
  t.match(flatSaw, /ethertype IPv4 \(0x0800\).*10\.230\.3\.[56] > 10\.230\.3\.[56]: ICMP/, `flat traffic is untagged on the wire: ${flatSaw.trim()}`);
  t.notMatch(flatSaw, /802\.1Q/);

  // A local VLAN without a translation never leaves the node. vm9's broadcast (local VLAN 9)
  // must not reach the wire; a control broadcast from vm1 (local VLAN 1) takes the same path,
  // br-int's flooding, the patch ports and br-eth1's table 0, where it is translated to 101
  // and sent out: the uplink capture ends on it. The two enter br-int on different ports, so
  // the control is sent only once the switch has received vm9's frame (and, on its one
  // datapath thread, finished with it). The control claims an address nobody has, so no
  // neighbour cache on node B learns its made-up MAC.
  const capNone = await watchUntilControl(phys, A.uplink.peer, 'ether src 02:de:ad:00:09:01 or ether src 02:de:ad:00:01:01', /02:de:ad:00:01:01 > ff:ff:ff:ff:ff:ff/);
  const rx9 = await portRx(A, A.vms.vm9.port);
  await rawSend(A.vms.vm9.ns, A.vms.vm9.dev, [arpRequest('02:de:ad:00:09:01', '10.230.1.9', '10.230.1.3').toString('hex')]);
  await waitUntil(`node A to receive vm9's frame on ${A.vms.vm9.port}`, async () => (await portRx(A, A.vms.vm9.port)) > rx9, 15_000, 100);
  await rawSend(A.vms.vm1.ns, A.vms.vm1.dev, [arpRequest('02:de:ad:00:01:01', '10.230.1.96', '10.230.1.97').toString('hex')]);
  const noneSaw = await capNone.done;
  t.match(noneSaw, /02:de:ad:00:01:01 > ff:ff:ff:ff:ff:ff, ethertype 802\.1Q \(0x8100\), length \d+: vlan 101, p 0, ethertype ARP/, `the control from local VLAN 1, sent after it, left on VLAN 101: ${noneSaw.trim()}`);
  t.notMatch(noneSaw, /02:de:ad:00:09:01/, 'untranslated local VLAN 9 is dropped at br-eth1');

  // An untranslated provider VLAN arriving from the wire reaches no VM. The same python3 then
  // sends the same frame on provider VLAN 101, which br-int translates to local VLAN 1 and
  // delivers to vm1: vm1's capture ends on that control.
  const mac1 = JSON.parse((await nsRun(A.vms.vm1.ns, ['ip', '-j', 'link', 'show', A.vms.vm1.dev])).stdout)[0].address;
  const capVm1 = await watchUntilControl(A.vms.vm1.ns, A.vms.vm1.dev, 'ether src 02:de:ad:00:00:01 or ether src 02:de:ad:00:00:02', /02:de:ad:00:00:02 > /);
  // An ICMP echo from 10.230.1.99 on 103; the control an echo reply from 10.230.1.98 on 101 (vm1 answers nothing).
  const bogus = icmpEchoFrame({ dst: mac1, src: '02:de:ad:00:00:01', ipSrc: '10.230.1.99', ipDst: '10.230.1.1', type: 8, vid: 103 }).toString('hex');
  const control = icmpEchoFrame({ dst: mac1, src: '02:de:ad:00:00:02', ipSrc: '10.230.1.98', ipDst: '10.230.1.1', type: 0, vid: 101 }).toString('hex');
  await rawSend(phys, 'br0', [bogus, control]);
  const vm1Saw = await capVm1.done;
  t.match(vm1Saw, /02:de:ad:00:00:02 > .*10\.230\.1\.98 > 10\.230\.1\.1: ICMP echo reply/, `the control on provider VLAN 101, sent after it, reached vm1: ${vm1Saw.trim()}`);
  t.notMatch(vm1Saw, /02:de:ad:00:00:01/, 'provider VLAN 103 (no flow) is dropped at br-int');

  // Counters of the translation flows moved, and dump-flows reads back.
  const dump = await tvsOk(A.d.control, ['dump-flows', 'br-eth1']);
  const rule = dump.split('\n').find((l) => /dl_vlan=1[ ,]/.test(l));
  t.ok(rule && /n_packets=[1-9]/.test(rule), `the local VLAN 1 → 101 rule counted packets: ${rule}`);
  t.match(dump, /priority=2,in_port="?phy-br-eth1"? actions=drop/);
  const dropRule = (await tvsOk(A.d.control, ['dump-flows', 'br-int'])).split('\n').find((l) => /priority=2,in_port/.test(l));
  t.ok(dropRule && /n_packets=[1-9]/.test(dropRule), `br-int's drop rule caught VLAN 103: ${dropRule}`);
}
