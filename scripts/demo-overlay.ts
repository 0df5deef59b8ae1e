/**
 * `make demo-overlay` (also run by `make demo`): two tvs compute nodes joined by an IP underlay,
 * Neutron's overlay layout on each, one VXLAN and one GRE tenant network.
 *
 *   node A: namespace tvs-node-a, underlay 10.234.0.1    node B: tvs-node-b, underlay 10.234.0.2
 *   ┌ vm-vx-a 10.241.0.11 (VLAN 1)                       ┌ vm-vx-b 10.241.0.12 (VLAN 7)
 *   ├ vm-gre-a 10.241.0.21 (VLAN 2)                      ├ vm-gre-b 10.241.0.22 (VLAN 8)
 *   br-int ─patch─ br-tun ═ vxlan/gre, key=flow ═ underlay veth ═ br-tun ─patch─ br-int
 *
 *   VXLAN network: VNI 100, local VLAN 1 on A and 7 on B; GRE network: key 200, VLAN 2 and 8.
 *   Both tenants use 10.241.0.0/24: only the VNI/key (and the local VLANs) keep them apart.
 *
 * Each node is a `tvs start` daemon inside its namespace; its br-tun carries the flows the
 * Neutron OVS agent installs (src/neutron/br-tun-flows.ts: tables 0, 2, 3, 4, 10, 20, 21, 22,
 * learn in table 10). GRE runs tvs to tvs in userspace over a raw IP socket (no kernel gretap).
 * The demo pings across both networks while tcpdump -n decodes the underlay, shows the flows
 * table 10 learned in table 20 on both nodes, a cross-tenant ping that fails, a trace, and tears
 * everything down (also on failure or Ctrl-C). Each of these is checked: when one does not hold
 * the demo stops and says which. Every command it runs has a time limit.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { brTunFlows, type HostNet } from '../src/neutron/br-tun-flows';
import { expect, inNs, Lab, pingLoss, pingSummary, runDemo, sh, shAsync, step, TVS } from './demo-lab';

const lab = new Lab('demo-overlay');
const NODES = ['tvs-node-a', 'tvs-node-b'];
const VMS = ['vm-vx-a', 'vm-vx-b', 'vm-gre-a', 'vm-gre-b'];
/**
 * A VM: namespace `name` with interface nic (MTU 1450, Neutron's for VXLAN), its peer `port` in
 * `node`. No IPv6 in the VMs (lab/netns.ts turns it off): their router solicitations would only
 * crowd the underlay capture.
 */
function vm(name: string, node: string, port: string, cidr: string): void {
  lab.netns(name);
  lab.veth({ hostNs: node, hostName: port, ns: name, peerName: 'nic', address: cidr, mtu: 1450 });
}

interface NodeCfg {
  ns: string;
  ip: string;
  peer: string;
  control: string;
  log: string;
  vms: [port: string, tag: number][];
  vxlan: string;
  gre: string;
  nets: HostNet[];
}

/** Neutron names a tunnel port after the remote node's underlay address in hex: vxlan-0aea0002. */
const hexIp = (ip: string): string => ip.split('.').map((o) => Number(o).toString(16).padStart(2, '0')).join('');

/**
 * Compute node `x` ('a', 'b'): namespace tvs-node-x, underlay address `ip`, the other node at
 * `peer`; its VMs' ports tap-vx-x and tap-gre-x on the local VLANs `lvid` gives each network
 * (the VXLAN network is VNI 100, the GRE network key 200, on both nodes).
 */
function node(x: string, ip: string, peer: string, lvid: { vxlan: number; gre: number }): NodeCfg {
  const vxlan = `vxlan-${hexIp(peer)}`;
  const gre = `gre-${hexIp(peer)}`;
  return {
    ns: `tvs-node-${x}`, ip, peer, control: path.join(lab.dir, `${x}.sock`), log: path.join(os.tmpdir(), `tvs-demo-node-${x}.log`),
    vms: [[`tap-vx-${x}`, lvid.vxlan], [`tap-gre-${x}`, lvid.gre]], vxlan, gre,
    nets: [
      { type: 'vxlan', segId: 100, lvid: lvid.vxlan, ports: [vxlan] },
      { type: 'gre', segId: 200, lvid: lvid.gre, ports: [gre] },
    ],
  };
}

function tvs(n: NodeCfg, ...args: string[]): string {
  return sh([process.execPath, TVS, '--control', n.control, ...args]);
}

function configure(n: NodeCfg): void {
  const flows = path.join(lab.dir, `${n.ns}-br-tun.flows`);
  fs.writeFileSync(flows, brTunFlows({ patchInt: 'patch-int', tunnels: [{ type: 'vxlan', port: n.vxlan }, { type: 'gre', port: n.gre }], nets: n.nets }));
  const cmds = [
    ['add-br', 'br-int'],
    ['add-br', 'br-tun'],
    ...n.vms.map(([port, tag]) => ['add-port', 'br-int', port, `tag=${tag}`]),
    ['add-port', 'br-int', 'patch-tun', 'type=patch', 'peer=patch-int'],
    ['add-port', 'br-tun', 'patch-int', 'type=patch', 'peer=patch-tun'],
    ['add-port', 'br-tun', n.vxlan, 'type=vxlan', `remote_ip=${n.peer}`, `local_ip=${n.ip}`, 'key=flow'],
    ['add-port', 'br-tun', n.gre, 'type=gre', `remote_ip=${n.peer}`, `local_ip=${n.ip}`, 'key=flow'],
    ['del-flows', 'br-tun'],
    ['add-flows', 'br-tun', flows],
  ];
  for (const c of cmds) {
    console.log(`  [${n.ns}] tvs ${c.join(' ')}`);
    tvs(n, ...c);
  }
}

async function main(): Promise<void> {
  lab.checkFree([...NODES, ...VMS], []);
  step('[1/6] Two compute nodes (namespaces) joined by an IP underlay: tvs-node-a 10.234.0.1, tvs-node-b 10.234.0.2');
  for (const n of NODES) lab.netns(n);
  lab.veth({ hostNs: 'tvs-node-a', hostName: 'ul', hostAddress: '10.234.0.1/24', ns: 'tvs-node-b', peerName: 'ul', address: '10.234.0.2/24' });

  step('[2/6] VMs (namespaces, MTU 1450): VXLAN tenant vm-vx-a/b 10.241.0.11/12, GRE tenant vm-gre-a/b 10.241.0.21/22 (same subnet)');
  vm('vm-vx-a', 'tvs-node-a', 'tap-vx-a', '10.241.0.11/24');
  vm('vm-gre-a', 'tvs-node-a', 'tap-gre-a', '10.241.0.21/24');
  vm('vm-vx-b', 'tvs-node-b', 'tap-vx-b', '10.241.0.12/24');
  vm('vm-gre-b', 'tvs-node-b', 'tap-gre-b', '10.241.0.22/24');

  const A = node('a', '10.234.0.1', '10.234.0.2', { vxlan: 1, gre: 2 });
  const B = node('b', '10.234.0.2', '10.234.0.1', { vxlan: 7, gre: 8 });
  step(`[3/6] A tvs daemon in each node (logs: ${A.log}, ${B.log})`);
  for (const n of [A, B]) await lab.startDaemon(n.control, n.log, n.ns);

  step("[4/6] br-int (VMs on local VLANs) + br-tun (Neutron agent's flows, VXLAN and GRE ports with key=flow), joined by patch ports");
  configure(A);
  configure(B);

  step('[5/6] Ping across both networks; tcpdump -n on the underlay decodes the VNI and the GRE key');
  const cap = shAsync(inNs('tvs-node-b', ['timeout', '6', 'tcpdump', '-i', 'ul', '-n', '-l', '-c', '16', 'udp port 4789 or proto gre']), 15_000);
  await new Promise((r) => setTimeout(r, 1500));
  /** A ping from VM `from`, checked: every reply (`ok`) or none; its summary printed after `label`. */
  const ping = async (label: string, from: string, to: string, n: number, ok: boolean): Promise<void> => {
    const out = await shAsync(inNs(from, ['ping', '-c', String(n), '-i', '0.3', '-W', '2', to]));
    console.log(`  ${label.padEnd(48)} ${pingSummary(out)}`);
    expect(ok ? pingLoss(out) === 0 : pingLoss(out) === 100, ok ? `every reply from ${to}` : `no reply from ${to}`, out);
  };
  await ping('vm-vx-a  -> vm-vx-b  (VXLAN 100):', 'vm-vx-a', '10.241.0.12', 1, true);
  await ping('vm-gre-a -> vm-gre-b (GRE 200):', 'vm-gre-a', '10.241.0.22', 1, true);
  console.log("  tcpdump -n on node B's underlay (the first frames of each):");
  const lines = (await cap).split('\n');
  const first = (re: RegExp): string[] => lines.filter((l) => re.test(l)).slice(0, 3);
  console.log([...first(/VXLAN/), ...first(/GRE/)].map((l) => '    ' + l.slice(0, 170)).join('\n'));
  expect(lines.some((l) => /VXLAN.*vni 100/.test(l)) && lines.some((l) => /GREv0, key=0xc8/.test(l)), 'the underlay carries VXLAN vni 100 and GRE key 0xc8 (200) between 10.234.0.1 and 10.234.0.2', lines.join('\n'));
  await ping('vm-vx-a  -> vm-vx-b  again:', 'vm-vx-a', '10.241.0.12', 3, true);
  await ping('vm-gre-a -> vm-gre-b again:', 'vm-gre-a', '10.241.0.22', 3, true);
  await ping('vm-gre-a -> vm-vx-b (other tenant, same subnet):', 'vm-gre-a', '10.241.0.12', 2, false);

  step('[6/6] What table 10 learned (table 20 of br-tun on each node), and a trace');
  for (const n of [A, B]) {
    console.log(`$ tvs dump-flows br-tun table=20    # on ${n.ns}`);
    const learned = tvs(n, 'dump-flows', 'br-tun', 'table=20');
    console.log(learned);
    expect(/load:0x64->NXM_NX_TUN_ID\[\].*output:"vxlan-/.test(learned) && /load:0xc8->NXM_NX_TUN_ID\[\].*output:"gre-/.test(learned), `${n.ns} learned a flow per remote VM (VNI 100 to its VXLAN port, key 200 to its GRE port)`, learned);
  }
  const macOf = (ns: string): string => /link\/ether ([0-9a-f:]{17})/.exec(sh(['ip', '-n', ns, '-o', 'link', 'show', 'dev', 'nic']))![1];
  const [macA, macB] = [macOf('vm-vx-a'), macOf('vm-vx-b')];
  const spec = `in_port=${B.vxlan},tun_id=0x64,tun_src=10.234.0.1,tun_dst=10.234.0.2,dl_src=${macA},dl_dst=${macB},ip,nw_src=10.241.0.11,nw_dst=10.241.0.12`;
  console.log(`$ tvs trace br-tun '${spec}'    # on tvs-node-b`);
  console.log(tvs(B, 'trace', 'br-tun', spec));
  console.log('$ tvs dump-ports br-tun    # on tvs-node-a');
  console.log(tvs(A, 'dump-ports', 'br-tun'));
  step('Tearing down');
}

// Bounded: the whole demo gets two minutes, then it tears down and fails.
runDemo('demo-overlay', lab, main, { limitMs: 120_000, done: () => 'done: every check held.' });
