/**
 * VXLAN tunnel ports against the Linux kernel's own vxlan device as the far end.
 *
 *   nsH (tenant 10.235.0.1) ── veth ── [tvs in nsT: br-tun] ── vxlan port ──┐
 *                                          underlay 10.234.0.1/24 (veth)     │ UDP 4789, VNI 100
 *   nsK: underlay 10.234.0.2/24 ── vxlan device id 100 (10.235.0.2) ─────────┘
 *
 * tvs runs in its own namespace with its own underlay veth, so nothing touches the root
 * namespace's addresses. Proof on the wire: ping and a TCP transfer between the tenant host
 * and the kernel's far side; tcpdump on the far end's underlay decodes VXLAN, VNI 100 and the
 * inner frame; a frame with another VNI, and one with the I flag clear, are dropped and counted.
 */
import t from 'tap';
import { isRoot, haveCmd, kernelVxlanPeer, Lab, sh } from '../../lab/netns';
import { startDaemon, tvsOk, nsRun, pingEach, pingNone, waitUntil, type Daemon } from '../../lab/daemon';
import { iperfTcp } from '../helpers/iperf';
import { startCapture, TUNNELED_ICMP4 } from '../helpers/capture';
import { bindingAvailable } from '../../src/io/binding';

const why = !isRoot()
  ? 'needs root: creates namespaces, veth and vxlan devices'
  : !bindingAvailable()
    ? 'native addon not built (run make)'
    : !haveCmd('tcpdump') || !haveCmd('ping') || !haveCmd('ss')
      ? 'needs tcpdump, ping and ss (make test installs them)'
      : '';
const skip = why || false;

interface Env {
  d: Daemon;
  c: (...args: string[]) => Promise<string>;
  nsH: string;
  nsK: string;
  nsT: string;
  ulK: string;
  tenHost: string;
  tenPeer: string;
}
let env: Env;

t.before(async () => {
  if (why) return;
  const lab = Lab.create(t);
  const { nsT, nsK, nsH, underlay: ul, tenant: ten } = kernelVxlanPeer(lab, { prefix: 'tvnv', vni: 100, underlay: '10.234.0', tenant: '10.235.0' });
  const d = await startDaemon(t, [], { ns: nsT });
  const c = (...args: string[]) => tvsOk(d.control, args);
  await c('add-br', 'br-tun');
  await c('add-port', 'br-tun', ten.host);
  await c('add-port', 'br-tun', 'vxlan-0aea0002', 'type=vxlan', 'remote_ip=10.234.0.2', 'local_ip=10.234.0.1', 'key=100');
  env = { d, c, nsH, nsK, nsT, ulK: ul.peer, tenHost: ten.host, tenPeer: ten.peer };
});

t.test('ping across: tenant host behind tvs ↔ the kernel vxlan device, VNI 100 on the wire', { skip }, async (t) => {
  const { nsH, nsK, ulK } = env;
  const cap = await startCapture(nsK, ulK, `${TUNNELED_ICMP4.vxlan} and src host 10.234.0.1`, 3, 15);
  const p = await pingEach(nsH, '10.235.0.2', 3);
  t.equal(p.loss, 0, `ping through the tunnel: ${p.summary}`);
  const out = await cap.done;
  t.match(out, /10\.234\.0\.1\.\d+ > 10\.234\.0\.2\.4789: VXLAN, flags \[I\] \(0x08\), vni 100/, `tcpdump decodes VXLAN vni 100:\n${out}`);
  t.match(out, /10\.235\.0\.1 > 10\.235\.0\.2: ICMP echo request/, 'and the inner frame');
});

t.test('TCP across the tunnel (iperf3, bounded)', { skip: skip || (haveCmd('iperf3') && haveCmd('ethtool') ? false : 'needs iperf3 and ethtool') }, async (t) => {
  const { nsH, nsK } = env;
  const r = await iperfTcp(t, { ns: nsK, ip: '10.235.0.2' }, nsH);
  t.ok(r.completed, `the transfer ran to its end ${r.completed ? '' : r.detail}`);
  t.ok(r.bytes > 1_000_000, `iperf3 TCP moved ${r.bytes} bytes through the tunnel`);
});

t.test('tunnel metadata, counters and drops in dump-ports/show', { skip }, async (t) => {
  const { c, nsK, ulK } = env;
  const show = JSON.parse(await c('--json', 'show'));
  const port = show[0].ports.find((p: { name: string }) => p.name === 'vxlan-0aea0002');
  t.equal(port.type, 'vxlan');
  t.equal(port.io.remote_ip, '10.234.0.2');
  t.equal(port.io.key, 100);
  t.equal(port.io.dst_port, 4789);
  t.equal(port.io.route_mtu, 1500);
  t.equal(port.io.mtu, 1450, 'inner MTU: route MTU minus 50');
  // A VNI the port does not take, and a header with the I flag clear, from the far end.
  const py = [
    'import socket',
    's=socket.socket(socket.AF_INET,socket.SOCK_DGRAM)',
    "s.bind(('10.234.0.2',0))",
    "inner=bytes.fromhex('ffffffffffff020000000002080600010800060400010200000000020aeb00020000000000000aeb0001')",
    "s.sendto(bytes.fromhex('0800000000006500')+inner,('10.234.0.1',4789))",
    "s.sendto(bytes.fromhex('0000000000006400')+inner,('10.234.0.1',4789))",
    "s.sendto(bytes.fromhex('0800000000006400')+inner[:10],('10.234.0.1',4789))",
  ].join('\n');
  const r = await nsRun(nsK, ['python3', '-c', py]);
  t.equal(r.code, 0, r.stderr);
  let drops: Record<string, number> = {};
  for (let i = 0; i < 40; i++) {
    const dump = JSON.parse(await c('--json', 'dump-ports', 'br-tun'));
    drops = dump.ports.find((p: { name: string }) => p.name === 'vxlan-0aea0002').drops;
    if ((drops.unknown_key ?? 0) >= 1 && (drops.vxlan_no_vni ?? 0) >= 1 && (drops.inner_runt ?? 0) >= 1) break;
    await new Promise((res) => setTimeout(res, 100));
  }
  t.equal(drops.unknown_key, 1, 'VNI 101 on a key=100 port: unknown_key');
  t.equal(drops.vxlan_no_vni, 1, 'I flag clear: vxlan_no_vni');
  t.equal(drops.inner_runt, 1, 'a 10-byte inner frame: inner_runt');
  void ulK;
});

async function portDrops(c: Env['c'], name: string): Promise<Record<string, number>> {
  const dump = JSON.parse(await c('--json', 'dump-ports', 'br-tun'));
  return dump.ports.find((p: { name: string }) => p.name === name).drops;
}

t.test('an outer packet above the underlay MTU is dropped and counted, never fragmented', { skip }, async (t) => {
  const { c, nsH, nsT, tenHost, tenPeer } = env;
  // The tenant side at MTU 1500 (more than the tunnel's 1450): a full-size frame must not pass.
  sh(['ip', '-n', nsT, 'link', 'set', tenHost, 'mtu', '1500']);
  sh(['ip', '-n', nsH, 'link', 'set', tenPeer, 'mtu', '1500']);
  t.teardown(() => {
    sh(['ip', '-n', nsH, 'link', 'set', tenPeer, 'mtu', '1450'], { allowFail: true });
    sh(['ip', '-n', nsT, 'link', 'set', tenHost, 'mtu', '1450'], { allowFail: true });
  });
  await c('show'); // the switch re-reads a port's MTU when it describes it
  const before = (await portDrops(c, 'vxlan-0aea0002')).tx_mtu ?? 0;
  const big = await pingNone(nsH, '10.235.0.2', 2, 3, ['-M', 'do', '-s', '1472']);
  t.equal(big.answered, 0, `1500-byte packets do not cross a 1450 tunnel: ${big.summary}`);
  const after = (await portDrops(c, 'vxlan-0aea0002')).tx_mtu ?? 0;
  t.equal(after - before, 2, 'both counted as tx_mtu on the tunnel port');
  const small = await pingEach(nsH, '10.235.0.2', 2, 5, ['-M', 'do', '-s', '1422']);
  t.equal(small.loss, 0, `1450-byte packets (outer 1500) do: ${small.summary}`);
});

t.test('a tunnel to an unreachable remote_ip: sends counted, nothing else disturbed', { skip }, async (t) => {
  const { c, nsH, d } = env;
  await c('add-port', 'br-tun', 'vxlan-dead', 'type=vxlan', 'remote_ip=10.234.9.9', 'local_ip=10.234.0.1', 'key=100');
  t.teardown(() => c('del-port', 'br-tun', 'vxlan-dead').catch(() => undefined));
  // Broadcast ARP floods to both tunnels: the dead one has no route (ENETUNREACH).
  await nsRun(nsH, ['ip', 'neigh', 'flush', 'all']);
  const p = await pingEach(nsH, '10.235.0.2', 2);
  t.equal(p.loss, 0, `the live tunnel still carries traffic: ${p.summary}`);
  let drops: Record<string, number> = {};
  await waitUntil('tx_unreachable on vxlan-dead', async () => ((drops = await portDrops(c, 'vxlan-dead')).tx_unreachable ?? 0) >= 1, 10_000, 100);
  t.ok(drops.tx_unreachable >= 1, `counted: ${JSON.stringify(drops)}`);
  t.ok(d.alive(), 'the switch is still running');
});
