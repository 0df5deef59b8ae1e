/**
 * Tunnel ports against Open vSwitch 3.1 (userspace datapath, started by hand in a private
 * directory, never as a service) as the far end, over VXLAN and over GRE.
 *
 *   nsA1 10.235.1.1 ─ [tvs in nsT: br-vx ── vxlan key=100 ] ── underlay ── [OVS in nsO: br-int ── vxlan key=100] ─ nsA2 10.235.1.2
 *   nsB1 10.235.2.1 ─ [           br-gr ── gre   key=200 ] 10.234.0.1    10.234.0.3   [      br-gre ── gre   key=200] ─ nsB2 10.235.2.2
 *
 * OVS's userspace tunnels leave through its br-phy bridge, which holds the underlay address (the
 * layout the OVS "userspace tunneling" guide describes). Ping across proves both directions:
 * tvs encapsulates what OVS decapsulates and the other way round; tcpdump on the underlay shows
 * the VNI and the GRE key.
 */
import t from 'tap';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { isRoot, haveCmd, Lab } from '../../lab/netns';
import { startDaemon, tvsOk, nsRun, pingLoss, pingEach, waitUntil } from '../../lab/daemon';
import { startCapture, TUNNELED_ICMP4 } from '../helpers/capture';
import { readPid } from '../helpers/ovs';
import { bindingAvailable } from '../../src/io/binding';

const why = !isRoot()
  ? 'needs root: creates namespaces and veth devices, runs ovs-vswitchd'
  : !bindingAvailable()
    ? 'native addon not built (run make)'
    : !haveCmd('ovs-vswitchd') || !haveCmd('ovsdb-server') || !haveCmd('tcpdump') || !haveCmd('ping')
      ? 'needs openvswitch-switch (ovs-vswitchd, ovsdb-server), tcpdump and ping'
      : '';
const skip = why || false;

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

async function stopPid(pid: number): Promise<void> {
  if (!pid || !pidAlive(pid)) return;
  process.kill(pid, 'SIGTERM');
  for (let i = 0; i < 60 && pidAlive(pid); i++) await new Promise((r) => setTimeout(r, 50));
  if (pidAlive(pid)) process.kill(pid, 'SIGKILL');
}

let env: { nsA1: string; nsB1: string; ul: string; nsO: string };
/** tvs's namespace: the underlay captures run there. */
let nsTName = '';
function envNsT(): string {
  return nsTName;
}

t.before(async () => {
  if (why) return;
  const lab = Lab.create(t);
  const nsT = lab.netns('tvnot');
  nsTName = nsT;
  const nsO = lab.netns('tvnoo');
  const nsA1 = lab.netns('tvnoa');
  const nsA2 = lab.netns('tvnoa');
  const nsB1 = lab.netns('tvnob');
  const nsB2 = lab.netns('tvnob');
  // Underlay: tvs's end gets 10.234.0.1 in nsT; OVS's end becomes a br-phy port in nsO.
  const ul = lab.veth({ hostNs: nsT, hostAddress: '10.234.0.1/24', ns: nsO });
  const a1 = lab.veth({ hostNs: nsT, ns: nsA1, address: '10.235.1.1/24', mtu: 1400 });
  const b1 = lab.veth({ hostNs: nsT, ns: nsB1, address: '10.235.2.1/24', mtu: 1400 });
  const a2 = lab.veth({ hostNs: nsO, ns: nsA2, address: '10.235.1.2/24', mtu: 1400 });
  const b2 = lab.veth({ hostNs: nsO, ns: nsB2, address: '10.235.2.2/24', mtu: 1400 });

  // Open vSwitch in nsO, private directory.
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tvs-ovs-'));
  const ovsEnv = { ...process.env, OVS_RUNDIR: dir, OVS_DBDIR: dir, OVS_LOGDIR: dir, OVS_SYSCONFDIR: dir, OVS_PKGDATADIR: '/usr/share/openvswitch', OVS_BINDIR: '/usr/bin' };
  const pids: number[] = [];
  lab.onCleanup(() => {
    for (const p of pids.reverse()) {
      try {
        process.kill(p, 'SIGKILL');
      } catch {
        /* gone */
      }
    }
    fs.rmSync(dir, { recursive: true, force: true });
  });
  t.teardown(async () => {
    for (const p of pids.slice().reverse()) await stopPid(p);
  });
  const db = `unix:${path.join(dir, 'db.sock')}`;
  const vsctl = (...args: string[]) => execEnv(['ovs-vsctl', `--db=${db}`, '--timeout=20', ...args], ovsEnv);
  execEnv(['ovsdb-tool', 'create', path.join(dir, 'conf.db'), '/usr/share/openvswitch/vswitch.ovsschema'], ovsEnv);
  execEnv(['ovsdb-server', path.join(dir, 'conf.db'), `--remote=punix:${path.join(dir, 'db.sock')}`, `--pidfile=${path.join(dir, 'ovsdb.pid')}`, '--detach', '--no-chdir', `--log-file=${path.join(dir, 'ovsdb.log')}`], ovsEnv);
  pids.push(readPid(path.join(dir, 'ovsdb.pid')));
  vsctl('--no-wait', 'init');
  execEnv(['ip', 'netns', 'exec', nsO, 'ovs-vswitchd', db, `--pidfile=${path.join(dir, 'vswitchd.pid')}`, '--detach', '--no-chdir', `--log-file=${path.join(dir, 'vswitchd.log')}`], ovsEnv);
  pids.push(readPid(path.join(dir, 'vswitchd.pid')));
  vsctl('add-br', 'br-phy', '--', 'set', 'bridge', 'br-phy', 'datapath_type=netdev');
  vsctl('add-port', 'br-phy', ul.peer);
  lab.nsExec(nsO, ['ip', 'addr', 'add', '10.234.0.3/24', 'dev', 'br-phy']);
  lab.nsExec(nsO, ['ip', 'link', 'set', 'br-phy', 'up']);
  vsctl('add-br', 'br-int', '--', 'set', 'bridge', 'br-int', 'datapath_type=netdev');
  vsctl('add-port', 'br-int', a2.host);
  vsctl('add-port', 'br-int', 'vx0', '--', 'set', 'interface', 'vx0', 'type=vxlan', 'options:remote_ip=10.234.0.1', 'options:local_ip=10.234.0.3', 'options:key=100');
  vsctl('add-br', 'br-gre', '--', 'set', 'bridge', 'br-gre', 'datapath_type=netdev');
  vsctl('add-port', 'br-gre', b2.host);
  vsctl('add-port', 'br-gre', 'gr0', '--', 'set', 'interface', 'gr0', 'type=gre', 'options:remote_ip=10.234.0.1', 'options:local_ip=10.234.0.3', 'options:key=200');

  const d = await startDaemon(t, [], { ns: nsT });
  const c = (...args: string[]) => tvsOk(d.control, args);
  await c('add-br', 'br-vx');
  await c('add-port', 'br-vx', a1.host);
  await c('add-port', 'br-vx', 'vxlan-0aea0003', 'type=vxlan', 'remote_ip=10.234.0.3', 'local_ip=10.234.0.1', 'key=100');
  await c('add-br', 'br-gr');
  await c('add-port', 'br-gr', b1.host);
  await c('add-port', 'br-gr', 'gre-0aea0003', 'type=gre', 'remote_ip=10.234.0.3', 'local_ip=10.234.0.1', 'key=200');
  env = { nsA1, nsB1, ul: ul.host, nsO };
  // OVS learns its tunnel route from the kernel and resolves the remote by ARP itself: the
  // first pings may go while that settles, for each tunnel. The checks start once both carry.
  await waitUntil('OVS tunnel to come up (ping over VXLAN)', async () => pingLoss((await nsRun(nsA1, ['ping', '-c', '1', '-W', '1', '10.235.1.2'])).stdout) === 0, 30_000, 200);
  await waitUntil('OVS tunnel to come up (ping over GRE)', async () => pingLoss((await nsRun(nsB1, ['ping', '-c', '1', '-W', '1', '10.235.2.2'])).stdout) === 0, 30_000, 200);
});

function execEnv(argv: string[], e: NodeJS.ProcessEnv): string {
  // eslint-disable-next-line @typescript-eslint/no-var-requires
  const { execFileSync } = require('child_process') as typeof import('child_process');
  return execFileSync(argv[0], argv.slice(1), { env: e, encoding: 'utf8', timeout: 30_000, stdio: ['ignore', 'pipe', 'pipe'] });
}

t.test('VXLAN: tvs ↔ OVS 3.1, ping across, VNI 100 both ways on the underlay', { skip }, async (t) => {
  const { nsA1, ul } = env;
  const cap = await startCapture(envNsT(), ul, TUNNELED_ICMP4.vxlan, 4, 15);
  const p = await pingEach(nsA1, '10.235.1.2', 3);
  t.equal(p.loss, 0, `ping over VXLAN to the host behind OVS: ${p.summary}`);
  const out = await cap.done;
  t.match(out, /10\.234\.0\.1\.\d+ > 10\.234\.0\.3\.4789: VXLAN, flags \[I\] \(0x08\), vni 100\n?.*10\.235\.1\.1 > 10\.235\.1\.2: ICMP echo request/s, 'tvs → OVS: VNI 100');
  t.match(out, /10\.234\.0\.3\.\d+ > 10\.234\.0\.1\.4789: VXLAN, flags \[I\] \(0x08\), vni 100\n?.*10\.235\.1\.2 > 10\.235\.1\.1: ICMP echo reply/s, `OVS → tvs: VNI 100\n${out}`);
});

t.test('GRE: tvs ↔ OVS 3.1, ping across, key 200 both ways on the underlay', { skip }, async (t) => {
  const { nsB1, ul } = env;
  const cap = await startCapture(envNsT(), ul, TUNNELED_ICMP4.gre, 4, 15);
  const p = await pingEach(nsB1, '10.235.2.2', 3);
  t.equal(p.loss, 0, `ping over GRE to the host behind OVS: ${p.summary}`);
  const dump = await cap.done;
  t.match(dump, /10\.234\.0\.1 > 10\.234\.0\.3: GREv0, key=0xc8, .*10\.235\.2\.1 > 10\.235\.2\.2: ICMP echo request/s, 'tvs → OVS: GRE key 200');
  t.match(dump, /10\.234\.0\.3 > 10\.234\.0\.1: GREv0, key=0xc8, .*10\.235\.2\.2 > 10\.235\.2\.1: ICMP echo reply/s, `OVS → tvs: GRE key 200\n${dump}`);
});
