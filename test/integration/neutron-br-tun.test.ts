/**
 * Neutron's tunnel layout on two tvs compute nodes: br-int with the VMs on local VLANs, br-tun
 * with the agent's flows (src/neutron/br-tun-flows.ts, loaded with add-flows), joined by
 * patch-int/patch-tun; one VXLAN and one GRE port per node with key=flow, as the agent creates
 * them. Each node is a tvs daemon in its own namespace with its own underlay address; each VM a
 * namespace whose veth ends in its node's namespace.
 *
 *   tenant 1: VXLAN VNI 100 — vm1a on A (local VLAN 1), vm1b on B (local VLAN 7)
 *   tenant 2: GRE key 200   — vm2a on A (local VLAN 2), vm2b on B (local VLAN 8)
 *   tenant 3: VXLAN VNI 300 — vm3b on B (local VLAN 9)
 *   All in 10.241.0.0/24: only the tunnel key and the local VLANs keep the tenants apart.
 *
 *   [vm1a vm2a] ── node A (tvs, 10.234.0.1) ══ underlay veth ══ node B (tvs, 10.234.0.2) ── [vm1b vm2b vm3b]
 *
 * Proof on the wire: pings across both tenants; tcpdump on the underlay decodes VXLAN vni 100 and
 * GRE key 0xc8; the flows table 10 learned appear in table 20 on both nodes, with each node's own
 * local VLAN and the network's VNI; tenant 3 sees no frame of tenant 1 and cannot reach it; a
 * VXLAN frame with a VNI no network uses is dropped by table 4 and counted on its flow. TCP
 * (iperf3) crosses both tenants with the VMs' offloads on — TSO super-frames reach tvs, which
 * segments them before encapsulation, with no tx_mtu drop on the tunnel ports — and off.
 */
import t from 'tap';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { isRoot, haveCmd, Lab } from '../../lab/netns';
import { startDaemon, tvsOk, nsRun, pingEach, pingNone, waitUntil } from '../../lab/daemon';
import { startCapture, watchUntilControl, TUNNELED_ICMP4 } from '../helpers/capture';
import { arpRequest } from '../../src/wire/frames';
import { iperfTcp } from '../helpers/iperf';
import { bindingAvailable } from '../../src/io/binding';
import { brTunFlows, type HostNet } from '../../src/neutron/br-tun-flows';

const why = !isRoot()
  ? 'needs root: creates namespaces and veth devices'
  : !bindingAvailable()
    ? 'native addon not built (run make)'
    : !haveCmd('tcpdump') || !haveCmd('ping') || !haveCmd('python3')
      ? 'needs tcpdump, ping and python3 (make test installs them)'
      : '';
const skip = why || false;

interface Vm {
  ns: string;
  dev: string;
  ip: string;
  mac: string;
}
interface NodeEnv {
  c: (...args: string[]) => Promise<string>;
  ns: string;
  ul: string;
  vms: Record<string, Vm>;
}
let A: NodeEnv;
let B: NodeEnv;

const IP = { A: '10.234.0.1', B: '10.234.0.2' };
const PORT = { A: { vxlan: 'vxlan-0aea0002', gre: 'gre-0aea0002' }, B: { vxlan: 'vxlan-0aea0001', gre: 'gre-0aea0001' } };

t.before(async () => {
  if (why) return;
  const lab = Lab.create(t);
  const nsA = lab.netns('tvntA');
  const nsB = lab.netns('tvntB');
  const ul = lab.veth({ hostNs: nsA, hostAddress: `${IP.A}/24`, ns: nsB, address: `${IP.B}/24` });

  /** A VM namespace whose veth's other end is a port-to-be in the node's namespace. */
  const vm = (node: string, prefix: string, ip: string): Vm & { port: string } => {
    const ns = lab.netns(prefix);
    const v = lab.veth({ hostNs: node, ns, address: `${ip}/24`, mtu: 1450 }); // Neutron's MTU for VXLAN networks
    const mac = /link\/ether ([0-9a-f:]{17})/.exec(lab.nsExec(ns, ['ip', '-o', 'link', 'show', 'dev', v.peer]))![1];
    return { ns, dev: v.peer, ip, mac, port: v.host };
  };
  const vmsA = { vm1a: vm(nsA, 'tvnv1a', '10.241.0.11'), vm2a: vm(nsA, 'tvnv2a', '10.241.0.21') };
  const vmsB = { vm1b: vm(nsB, 'tvnv1b', '10.241.0.12'), vm2b: vm(nsB, 'tvnv2b', '10.241.0.22'), vm3b: vm(nsB, 'tvnv3b', '10.241.0.13') };

  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tvs-brtun-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));

  const node = async (label: 'A' | 'B', ns: string, vms: Record<string, Vm & { port: string }>, tags: Record<string, number>, nets: HostNet[]): Promise<NodeEnv> => {
    const d = await startDaemon(t, [], { ns });
    const c = (...args: string[]) => tvsOk(d.control, args);
    const peer = label === 'A' ? IP.B : IP.A;
    await c('add-br', 'br-int');
    await c('add-br', 'br-tun');
    for (const [name, v] of Object.entries(vms)) await c('add-port', 'br-int', v.port, `tag=${tags[name]}`);
    await c('add-port', 'br-int', 'patch-tun', 'type=patch', 'peer=patch-int');
    await c('add-port', 'br-tun', 'patch-int', 'type=patch', 'peer=patch-tun');
    await c('add-port', 'br-tun', PORT[label].vxlan, 'type=vxlan', `remote_ip=${peer}`, `local_ip=${IP[label]}`, 'key=flow');
    await c('add-port', 'br-tun', PORT[label].gre, 'type=gre', `remote_ip=${peer}`, `local_ip=${IP[label]}`, 'key=flow');
    // The agent replaces br-tun's default flow with its own tables.
    const file = path.join(dir, `br-tun-${label}.flows`);
    fs.writeFileSync(file, brTunFlows({ patchInt: 'patch-int', arpResponder: false, tunnels: [{ type: 'vxlan', port: PORT[label].vxlan }, { type: 'gre', port: PORT[label].gre }], nets }));
    await c('del-flows', 'br-tun');
    await c('add-flows', 'br-tun', file);
    return { c, ns, ul: label === 'A' ? ul.host : ul.peer, vms };
  };
  A = await node('A', nsA, vmsA, { vm1a: 1, vm2a: 2 }, [
    { type: 'vxlan', segId: 100, lvid: 1, ports: [PORT.A.vxlan] },
    { type: 'gre', segId: 200, lvid: 2, ports: [PORT.A.gre] },
    { type: 'vxlan', segId: 300, lvid: 3, ports: [PORT.A.vxlan] },
  ]);
  B = await node('B', nsB, vmsB, { vm1b: 7, vm2b: 8, vm3b: 9 }, [
    { type: 'vxlan', segId: 100, lvid: 7, ports: [PORT.B.vxlan] },
    { type: 'gre', segId: 200, lvid: 8, ports: [PORT.B.gre] },
    { type: 'vxlan', segId: 300, lvid: 9, ports: [PORT.B.vxlan] },
  ]);
});

t.test('the two nodes report different datapath ids for the same bridge names (a controller tells them apart)', { skip }, async (t) => {
  const ids = async (n: NodeEnv) => Object.fromEntries([...(await n.c('show')).matchAll(/Bridge (\S+)\n\s+datapath_id: ([0-9a-f]{16})/g)].map((m) => [m[1], m[2]]));
  const a = await ids(A);
  const b = await ids(B);
  for (const br of ['br-int', 'br-tun']) {
    t.match(a[br], /^[0-9a-f]{16}$/, `node A ${br}: ${a[br]}`);
    t.not(a[br], b[br], `${br}: A ${a[br]}, B ${b[br]}`);
  }
  t.not(a['br-int'], a['br-tun'], 'and the bridges of one node differ');
});

/** Table 20's learned flows (priority 1) as `tvs dump-flows` prints them, their ages taken out. */
async function learned(n: NodeEnv): Promise<string[]> {
  const lines = (await n.c('dump-flows', 'br-tun', 'table=20')).split('\n').filter((l) => l.includes('priority=1,'));
  return lines.map((l) => l.replace(/idle_age=\d+, (hard_age=\d+, )?/, ''));
}

/**
 * A VXLAN packet from node N's underlay address to DST's port 4789 (a kernel UDP socket, not
 * the switch): VNI `vni`, the Ethernet frame `inner`.
 */
async function sendVxlan(n: NodeEnv, dst: string, vni: number, inner: Buffer) {
  const hdr = '08000000' + vni.toString(16).padStart(6, '0') + '00';
  const py = ['import socket,sys', 's=socket.socket(socket.AF_INET,socket.SOCK_DGRAM)', `s.sendto(bytes.fromhex(sys.argv[1]),('${dst}',4789))`].join('\n');
  return nsRun(n.ns, ['python3', '-c', py, hdr + inner.toString('hex')]);
}

t.test('VXLAN tenant: ping across nodes, VNI 100 on the underlay, table 20 learned on both nodes', { skip }, async (t) => {
  const { vm1a } = A.vms;
  const { vm1b, vm3b } = B.vms;
  const cap = await startCapture(B.ns, B.ul, TUNNELED_ICMP4.vxlan, 4, 15);
  // Tenant 3 (VNI 300) must see no frame of vm1a. Once the pings are answered (B has handled
  // vm1a's frames), node A's underlay address sends B a control: a broadcast inside VNI 300,
  // which enters B on the same VXLAN port and is mapped to vm3b's VLAN by the same table 4 that
  // keeps VNI 100 apart. vm3b's capture ends on it.
  const CONTROL_MAC = '02:00:00:00:03:0c';
  const quiet = await watchUntilControl(vm3b.ns, vm3b.dev, `ether src ${vm1a.mac} or ether src ${CONTROL_MAC}`, new RegExp(`${CONTROL_MAC} > ff:ff:ff:ff:ff:ff`));
  const p = await pingEach(vm1a.ns, vm1b.ip, 3);
  t.equal(p.loss, 0, `vm1a -> vm1b over VXLAN: ${p.summary}`);
  const out = await cap.done;
  t.match(out, /10\.234\.0\.1\.\d+ > 10\.234\.0\.2\.4789: VXLAN, flags \[I\] \(0x08\), vni 100/, `tcpdump decodes VNI 100:\n${out}`);
  t.match(out, /10\.241\.0\.11 > 10\.241\.0\.12: ICMP echo request/, 'with the inner ping');
  const ctl = await sendVxlan(A, IP.B, 300, arpRequest(CONTROL_MAC, '10.241.0.98', '10.241.0.97'));
  t.equal(ctl.code, 0, ctl.stderr);
  const quietSaw = await quiet.done;
  t.match(quietSaw, new RegExp(`${CONTROL_MAC} > ff:ff:ff:ff:ff:ff, ethertype ARP`), `the control in VNI 300, sent after the pings, reached vm3b: ${quietSaw.trim()}`);
  t.notMatch(quietSaw, new RegExp(vm1a.mac), 'tenant 3 (VNI 300) saw no frame of vm1a');

  const la = await learned(A);
  const lb = await learned(B);
  t.ok(la.some((l) => l.includes(`hard_timeout=300, priority=1,vlan_tci=0x0001/0x0fff,dl_dst=${vm1b.mac} actions=load:0->NXM_OF_VLAN_TCI[],load:0x64->NXM_NX_TUN_ID[],output:"${PORT.A.vxlan}"`)), `A learned vm1b on its VLAN 1:\n${la.join('\n')}`);
  t.ok(lb.some((l) => l.includes(`hard_timeout=300, priority=1,vlan_tci=0x0007/0x0fff,dl_dst=${vm1a.mac} actions=load:0->NXM_OF_VLAN_TCI[],load:0x64->NXM_NX_TUN_ID[],output:"${PORT.B.vxlan}"`)), `B learned vm1a on its VLAN 7:\n${lb.join('\n')}`);
  t.equal(lb.filter((l) => l.includes(vm1a.mac)).length, 1, "vm1a's later frames refreshed B's flow, no second one");
  const used = /n_packets=(\d+)/.exec(la.find((l) => l.includes(vm1b.mac)) ?? '');
  t.ok(used && Number(used[1]) >= 1, `A sent vm1a's later frames by the learned flow, not by flooding (${used?.[0]})`);
});

t.test('GRE tenant on the same subnet: ping across, key 0xc8 on the underlay, learned with the GRE port', { skip }, async (t) => {
  const { vm2a } = A.vms;
  const { vm2b } = B.vms;
  const cap = await startCapture(B.ns, B.ul, TUNNELED_ICMP4.gre, 4, 15);
  const p = await pingEach(vm2a.ns, vm2b.ip, 3);
  t.equal(p.loss, 0, `vm2a -> vm2b over GRE: ${p.summary}`);
  const out = await cap.done;
  t.match(out, /10\.234\.0\.1 > 10\.234\.0\.2: GREv0, key=0xc8/, `tcpdump decodes GRE key 200:\n${out}`);
  t.match(out, /10\.241\.0\.21 > 10\.241\.0\.22: ICMP echo request/);
  const lb = await learned(B);
  t.ok(lb.some((l) => l.includes(`vlan_tci=0x0008/0x0fff,dl_dst=${vm2a.mac} actions=load:0->NXM_OF_VLAN_TCI[],load:0xc8->NXM_NX_TUN_ID[],output:"${PORT.B.gre}"`)), `B learned vm2a on VLAN 8 behind GRE:\n${lb.join('\n')}`);
});

t.test('tenants stay apart: same subnet, other VNI/key, no reply', { skip }, async (t) => {
  const { vm1a, vm2a } = A.vms;
  const { vm3b } = B.vms;
  // vm2a (GRE 200) and vm3b (VXLAN 300) ask for tenant 1's addresses: nobody answers.
  const p2 = await pingNone(vm2a.ns, B.vms.vm1b.ip);
  t.equal(p2.answered, 0, `GRE tenant cannot reach the VXLAN tenant: ${p2.summary}`);
  const p3 = await pingNone(vm3b.ns, vm1a.ip);
  t.equal(p3.answered, 0, `VNI 300 cannot reach VNI 100: ${p3.summary}`);
});

t.test('a VXLAN frame with a VNI no network uses: dropped by table 4, counted on its flow', { skip }, async (t) => {
  const before = /table=4, n_packets=(\d+), .*priority=0 actions=drop/.exec(await A.c('dump-flows', 'br-tun', 'table=4'));
  const py = [
    'import socket',
    's=socket.socket(socket.AF_INET,socket.SOCK_DGRAM)',
    `s.bind(('${IP.B}',0))`,
    "inner=bytes.fromhex('ffffffffffff02000000000208060001080006040001020000000002' + '0af10063' + '000000000000' + '0af1000b')",
    `s.sendto(bytes.fromhex('08000000' + '0003e7' + '00')+inner,('${IP.A}',4789))`,
  ].join('\n');
  const r = await nsRun(B.ns, ['python3', '-c', py]);
  t.equal(r.code, 0, r.stderr);
  const n0 = Number(before?.[1] ?? 0);
  let n = n0;
  await waitUntil('table 4 drop counted', async () => {
    n = Number(/table=4, n_packets=(\d+), .*priority=0 actions=drop/.exec(await A.c('dump-flows', 'br-tun', 'table=4'))?.[1] ?? 0);
    return n > n0;
  }, 5000, 100).catch(() => undefined);
  t.equal(n, n0 + 1, 'VNI 999 hit table 4 priority 0 (drop)');
  t.notOk((await learned(A)).some((l) => l.includes('02:00:00:00:00:02')), 'and taught nothing');
});

/** A tunnel port's drop counters on a node, by reason. */
async function tunnelDrops(n: NodeEnv, port: string): Promise<Record<string, number>> {
  const dump = JSON.parse(await n.c('--json', 'dump-ports', 'br-tun'));
  return dump.ports.find((p: { name: string }) => p.name === port).drops;
}

/** A VM device's tx counters (in its namespace): bytes per packet tells super-frames from segments. */
async function vmTx(v: Vm): Promise<{ bytes: number; packets: number }> {
  const r = await nsRun(v.ns, ['cat', `/sys/class/net/${v.dev}/statistics/tx_bytes`, `/sys/class/net/${v.dev}/statistics/tx_packets`]);
  const [bytes, packets] = r.stdout.trim().split('\n').map(Number);
  return { bytes, packets };
}

const tcpSkip = skip || (haveCmd('iperf3') && haveCmd('ethtool') && haveCmd('ss') ? false : 'needs iperf3, ethtool and ss (make test installs them)');

/** Frames that reached a node's tunnel with a key no network uses: table 3 (GRE) / 4 (VXLAN), priority 0. */
async function unknownKeyDrops(n: NodeEnv, table: number): Promise<number> {
  const re = new RegExp(`table=${table}, n_packets=(\\d+), .*priority=0 actions=drop`);
  return Number(re.exec(await n.c('dump-flows', 'br-tun', `table=${table}`))?.[1] ?? 0);
}

for (const [kind, client, server, port, table] of [
  ['VXLAN', 'vm1a', 'vm1b', 'vxlan', 4],
  ['GRE', 'vm2a', 'vm2b', 'gre', 3],
] as const) {
  t.test(`TCP over ${kind} between nodes (iperf3 2 s, bounded): VM offloads on, then off`, { skip: tcpSkip }, async (t) => {
    const c = A.vms[client];
    const s = B.vms[server];
    const portA = PORT.A[port];
    const portB = PORT.B[port];
    const k = (await nsRun(c.ns, ['ethtool', '-k', c.dev])).stdout;
    t.match(k, /tcp-segmentation-offload: on/, 'veth default: TSO on in the VM');

    // Offloads on: the VM hands tvs TSO super-frames; tvs cuts them to the tunnel's MTU first.
    const dropsA0 = await tunnelDrops(A, portA);
    const dropsB0 = await tunnelDrops(B, portB);
    const lostA0 = await unknownKeyDrops(A, table);
    const lostB0 = await unknownKeyDrops(B, table);
    const tx0 = await vmTx(c);
    const on = await iperfTcp(t, s, c.ns, { port: 5311 });
    const tx1 = await vmTx(c);
    t.ok(on.completed, `offloads on: the transfer ran to its end ${on.completed ? '' : on.detail}`);
    // Segments that lost their super-frame's tun_id trickled at ~1 Mbit/s (155 KB in 2 s).
    t.ok(on.bytes > 1_000_000, `offloads on: ${on.bytes} bytes received (${(on.bitsPerSecond / 1e6).toFixed(0)} Mbit/s)`);
    t.equal((await unknownKeyDrops(B, table)) - lostB0, 0, `every segment reached B with the network's key (table ${table} drop unchanged)`);
    t.equal((await unknownKeyDrops(A, table)) - lostA0, 0, `and every reply reached A with it`);
    const avgOn = (tx1.bytes - tx0.bytes) / Math.max(1, tx1.packets - tx0.packets);
    t.ok(avgOn > 1450 + 14, `the VM sent super-frames (mean ${avgOn.toFixed(0)} bytes per frame on its veth)`);
    const dropsA1 = await tunnelDrops(A, portA);
    const dropsB1 = await tunnelDrops(B, portB);
    t.equal((dropsA1.tx_mtu ?? 0) - (dropsA0.tx_mtu ?? 0), 0, `no tx_mtu drop on ${portA} (A): ${JSON.stringify(dropsA1)}`);
    t.equal((dropsB1.tx_mtu ?? 0) - (dropsB0.tx_mtu ?? 0), 0, `no tx_mtu drop on ${portB} (B): ${JSON.stringify(dropsB1)}`);

    // Offloads off in both VMs: the kernel segments and checksums, tvs forwards MTU-sized frames.
    for (const v of [c, s]) {
      const r = await nsRun(v.ns, ['ethtool', '-K', v.dev, 'tso', 'off', 'gso', 'off', 'tx', 'off']);
      t.equal(r.code, 0, `ethtool -K ${v.dev} tso off gso off tx off: ${r.stderr}`);
    }
    const tx2 = await vmTx(c);
    const off = await iperfTcp(t, s, c.ns, { port: 5312 });
    const tx3 = await vmTx(c);
    t.ok(off.completed, `offloads off: the transfer ran to its end ${off.completed ? '' : off.detail}`);
    t.ok(off.bytes > 1_000_000, `offloads off: ${off.bytes} bytes received (${(off.bitsPerSecond / 1e6).toFixed(0)} Mbit/s)`);
    const avgOff = (tx3.bytes - tx2.bytes) / Math.max(1, tx3.packets - tx2.packets);
    t.ok(avgOff <= 1450 + 14, `the VM sent no frame above its MTU (mean ${avgOff.toFixed(0)} bytes)`);
  });
}
