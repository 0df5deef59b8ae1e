/**
 * Neutron's openvswitch firewall on the wire: the flows the driver installs for two VM ports on
 * br-int (src/neutron/firewall-flows.ts renders them as firewall.py/rules.py do), loaded
 * unchanged with `tvs add-flows`, between two Linux stacks in namespaces. Security group
 * "sg-web": all egress; ingress ICMP, TCP 22, UDP 5000-5001, ICMPv6 and IPv6 TCP 22 from members of the
 * group itself (conjunctions). A second tenant network (local VLAN 2 = conntrack zone 2) reuses
 * the same IPv4 addresses.
 *
 *   vm1 (ofport 3) ─┐            ┌─ vm3 (ofport 5)   tenant 2, local VLAN 2
 *                   ├── br-int ──┤
 *   vm2 (ofport 4) ─┘   │        └─ vm4 (ofport 6)
 *     tenant 1,         └─ int-br-eth1 (ofport 1, patch to br-eth1)
 *     local VLAN 1
 *
 * What crossed the wire is checked at the peer (a server's log, a client's result, tcpdump),
 * and drops by the flows' own counters. One lab for the file; the subtests run in order (the
 * last one removes a rule's flows). When the flow set cannot be installed because a feature
 * has not landed (ct() and ct_* matches, IPv6 matches), the checks that need it are skipped
 * with tvs's own refusal as the reason.
 *
 * TVS_FW_SWITCH=ovs runs the very same checks against Open vSwitch 3.1 (userspace datapath,
 * private daemons): the reference for "behaves on the wire as it does on OVS".
 */
import t from 'tap';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { isRoot, haveCmd, Lab, sh, type Teardownable } from '../../lab/netns';
import { startDaemon, tvs, tvsOk, nsRun, pingEach, waitUntil, type CliResult } from '../../lab/daemon';
import { haveOvs, startOvs } from '../helpers/ovs';
import { watchUntilControl, startCapture, rawSend } from '../helpers/capture';
import { udpFrame, arpRequest, ethFrame } from '../../src/wire/frames';
import { ndFrame, llaOpt, icmp6, ip6Packet } from '../helpers/ipv6-frames';
import { startServer, tryConnect, holdConnection } from '../helpers/sockets';
import { agentBaseFlows, llaOf } from '../../src/neutron/firewall-flows';
import { twoVmFlows, TWO_VMS } from '../fixtures/neutron-firewall';
import { bindingAvailable } from '../../src/io/binding';

const REFERENCE = process.env.TVS_FW_SWITCH === 'ovs';
const why = !isRoot()
  ? 'needs root: creates namespaces, veth devices and AF_PACKET ports'
  : REFERENCE && !haveOvs()
    ? 'TVS_FW_SWITCH=ovs needs ovs-vswitchd, ovsdb-server and ovsdb-tool'
  : !bindingAvailable()
    ? 'native addon not built (run make)'
    : !haveCmd('tcpdump') || !haveCmd('python3') || !haveCmd('ping')
      ? 'needs tcpdump, ping and python3 (make test installs them)'
      : '';

interface Vm {
  ns: string;
  dev: string;
  /** The switch's port (the veth's host end). */
  host: string;
  mac: string;
  ip4: string;
  ip6: string;
  ofport: number;
}

const TENANT2 = { vlan: 2, ofports: [5, 6] as [number, number], macs: ['fa:16:3e:00:00:03', 'fa:16:3e:00:00:04'] as [string, string] };
const SPOOF_IP = '10.231.0.99';
const SPOOF_MAC = '02:00:00:00:00:99';
/** A string as a literal regular expression. */
const re = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** The switch under test: tvs, or OVS as the reference; the same verbs, ovs-ofctl's syntax. */
interface Switch {
  addPort(bridge: string, name: string, ofport: number, opts: string[]): Promise<void>;
  addFlows(file: string): Promise<CliResult>;
  dumpFlows(filter: string): Promise<string>;
  delFlows(filter?: string): Promise<void>;
  dumpConntrack(zone: number): Promise<CliResult>;
  /** `tvs trace` of a frame arriving on a port (tvs only: OVS's ofproto/trace names datapath ports). */
  trace?(hex: string, inPort: string): Promise<string>;
}

async function tvsSwitch(t: Teardownable): Promise<Switch> {
  const d = await startDaemon(t);
  const c = (...a: string[]) => tvsOk(d.control, a);
  await c('add-br', 'br-int');
  await c('add-br', 'br-eth1');
  await c('add-port', 'br-int', 'int-br-eth1', 'type=patch', 'peer=phy-br-eth1', `ofport=${TWO_VMS.patchOfport}`);
  await c('add-port', 'br-eth1', 'phy-br-eth1', 'type=patch', 'peer=int-br-eth1');
  return {
    addPort: async (br, name, ofport, opts) => void (await c('add-port', br, name, ...opts, `ofport=${ofport}`)),
    addFlows: (file) => tvs(d.control, ['add-flows', 'br-int', file]),
    dumpFlows: (filter) => c('dump-flows', 'br-int', filter),
    delFlows: async (filter) => void (await c('del-flows', 'br-int', ...(filter ? [filter] : []))),
    dumpConntrack: (zone) => tvs(d.control, ['dump-conntrack', 'br-int', `zone=${zone}`]),
    trace: (hex, inPort) => c('trace', 'br-int', '--hex', hex, inPort),
  };
}

async function ovsSwitch(t: Teardownable): Promise<Switch> {
  const o = await startOvs(t);
  const ok = async (r: Promise<CliResult>): Promise<string> => {
    const x = await r;
    if (x.code !== 0) throw new Error(x.stderr.trim());
    return x.stdout;
  };
  o.vsctl('add-br', 'br-int', '--', 'set', 'bridge', 'br-int', 'datapath_type=netdev', 'fail_mode=secure');
  o.vsctl('add-br', 'br-eth1', '--', 'set', 'bridge', 'br-eth1', 'datapath_type=netdev');
  o.vsctl('add-port', 'br-int', 'int-br-eth1', '--', 'set', 'interface', 'int-br-eth1', 'type=patch', 'options:peer=phy-br-eth1', `ofport_request=${TWO_VMS.patchOfport}`);
  o.vsctl('add-port', 'br-eth1', 'phy-br-eth1', '--', 'set', 'interface', 'phy-br-eth1', 'type=patch', 'options:peer=int-br-eth1');
  return {
    addPort: async (br, name, ofport, opts) => void o.vsctl('add-port', br, name, ...opts, '--', 'set', 'interface', name, `ofport_request=${ofport}`),
    addFlows: (file) => o.ofctl('add-flows', 'br-int', file),
    dumpFlows: (filter) => ok(o.ofctl('dump-flows', 'br-int', filter)),
    delFlows: async (filter) => void (await ok(o.ofctl('del-flows', 'br-int', ...(filter ? [filter] : [])))),
    dumpConntrack: (zone) => o.appctl('dpctl/dump-conntrack', `zone=${zone}`),
  };
}

let sw: Switch;
let vm1: Vm, vm2: Vm, vm3: Vm, vm4: Vm;
/** Why the whole firewall is not running (its flows refused), or '' */
let noFirewall = '';
/** Why the IPv6 flows are not installed, or '' */
let noIpv6 = '';

function isV6Flow(f: string): boolean {
  return /0x86dd|ipv6_|nd_target/.test(f);
}

/**
 * n_packets of the one br-int flow in TABLE whose match has every field of MATCH (comma
 * separated, OVS's spelling; the order of fields in a dump line does not matter).
 */
async function nPackets(table: number, match: string): Promise<number> {
  const want = match.split(',');
  const dump = await sw.dumpFlows(`table=${table}`);
  const hits = dump.split('\n').filter((l) => {
    const m = / table=(\d+), .*?(priority=\S*) actions=/.exec(l);
    if (!m || Number(m[1]) !== table) return false;
    const have = new Set(m[2].split(','));
    return want.every((f) => have.has(f));
  });
  if (hits.length !== 1) throw new Error(`expected one flow in table ${table} matching ${match}, found ${hits.length}${hits.length ? `:\n${hits.slice(0, 4).join('\n')}` : ''}`);
  const m = /n_packets=(\d+)/.exec(hits[0]);
  return Number(m![1]);
}

async function addFlowsFile(lines: string[]): Promise<{ code: number; stderr: string }> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tvs-fw-'));
  try {
    const file = path.join(dir, 'flows');
    fs.writeFileSync(file, lines.join('\n') + '\n');
    const r = await sw.addFlows(file);
    return { code: r.code, stderr: r.stderr.trim() };
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

t.before(async () => {
  if (why) return;
  const lab = Lab.create(t);
  sw = REFERENCE ? await ovsSwitch(t) : await tvsSwitch(t);

  const makeVm = async (name: string, mac: string, ip4: string, ip6: string, ofport: number, vlan: number): Promise<Vm> => {
    const ns = lab.netns(`tvnfw${name}`, { ipv6: true });
    const v = lab.veth({ ns, up: false });
    // The VM's MAC before the link comes up, so its link-local address is the EUI-64 one the
    // firewall allows; no DAD (a DAD probe comes from ::, which the firewall drops, as Neutron's).
    await nsRun(ns, ['sysctl', '-qw', 'net.ipv6.conf.all.accept_dad=0', 'net.ipv6.conf.default.accept_dad=0', `net.ipv6.conf.${v.peer}.accept_dad=0`, `net.ipv6.conf.${v.peer}.disable_ipv6=0`]);
    sh(['ip', '-n', ns, 'link', 'set', v.peer, 'address', mac]);
    sh(['ip', '-n', ns, 'addr', 'add', `${ip4}/24`, 'dev', v.peer]);
    sh(['ip', '-n', ns, 'addr', 'add', `${ip6}/64`, 'dev', v.peer, 'nodad']);
    // OVS's userspace datapath without userspace TSO forwards partial checksums as they are
    // and its conntrack then calls the segments invalid: its VMs compute full checksums.
    if (REFERENCE) sh(['ip', 'netns', 'exec', ns, 'ethtool', '-K', v.peer, 'tx', 'off']);
    sh(['ip', '-n', ns, 'link', 'set', v.peer, 'up']);
    sh(['ip', 'link', 'set', v.host, 'up']);
    await sw.addPort('br-int', v.host, ofport, [`tag=${vlan}`]);
    return { ns, dev: v.peer, host: v.host, mac, ip4, ip6, ofport };
  };
  const w = TWO_VMS;
  vm1 = await makeVm('1', w.vm1.mac, w.vm1.ip4, w.vm1.ip6, w.vm1.ofport, w.vlan);
  vm2 = await makeVm('2', w.vm2.mac, w.vm2.ip4, w.vm2.ip6, w.vm2.ofport, w.vlan);
  // Tenant 2: the same addresses on local VLAN 2 (zone 2).
  vm3 = await makeVm('3', TENANT2.macs[0], w.vm1.ip4, w.vm1.ip6, TENANT2.ofports[0], TENANT2.vlan);
  vm4 = await makeVm('4', TENANT2.macs[1], w.vm2.ip4, w.vm2.ip6, TENANT2.ofports[1], TENANT2.vlan);

  await sw.delFlows();
  const all = [...agentBaseFlows(), ...twoVmFlows(), ...twoVmFlows({ vlan: TENANT2.vlan, ofports: TENANT2.ofports, macs: TENANT2.macs })];
  const full = await addFlowsFile(all);
  if (full.code !== 0) {
    const v4 = await addFlowsFile(all.filter((f) => !isV6Flow(f)));
    if (v4.code !== 0) noFirewall = `${REFERENCE ? 'OVS' : 'tvs'} refuses the firewall's flows: ${full.stderr.split('\n')[0]}`;
    else noIpv6 = `${REFERENCE ? 'OVS' : 'tvs'} refuses the firewall's IPv6 flows: ${full.stderr.split('\n')[0]}`;
  }
});

const skipFw = (): string | false => why || noFirewall || false;
const skipV6 = (): string | false => why || noFirewall || noIpv6 || false;

t.test('flow set installed as the driver renders it', { skip: why || false }, async (t) => {
  if (noFirewall) return t.plan(0, noFirewall);
  const dump = await sw.dumpFlows('');
  t.ok(dump.split('\n').filter((l) => l.includes('cookie=0x1234')).length > 300, 'the firewall flows of both networks are on br-int');
});

t.test('ping both ways (ingress ICMP from the remote group)', async (t) => {
  const s = skipFw();
  if (s) return t.plan(0, s);
  const a = await pingEach(vm1.ns, vm2.ip4, 3);
  t.equal(a.loss, 0, `vm1 → vm2: ${a.summary}`);
  const b = await pingEach(vm2.ns, vm1.ip4, 3);
  t.equal(b.loss, 0, `vm2 → vm1: ${b.summary}`);
  t.ok((await nPackets(82, 'priority=71,conj_id=19,ct_state=+new-est,ip,reg5=0x4')) > 0, 'the new ICMP conjunction accept flow of vm2 counted the first echo');
});

t.test('TCP 22 passes; the reply (est) passes although vm1 allows no ingress from port 22', async (t) => {
  const s = skipFw();
  if (s) return t.plan(0, s);
  const srv = await startServer(t, vm2.ns, 'tcp', vm2.ip4, 22);
  const r = await tryConnect(vm1.ns, 'tcp', vm2.ip4, 22, { msg: 'ssh-like' });
  t.equal(r, 'connected\nreply echo:ssh-like', 'vm1 connects to vm2:22 and reads the echo back');
  t.match(srv.log(), new RegExp(`accept ${vm1.ip4.replace(/\./g, '\\.')} \\d+\\nrecv ssh-like`), 'vm2 accepted the connection from vm1 and read the data');
});

t.test('TCP 80 is blocked: the SYN never reaches vm2', async (t) => {
  const s = skipFw();
  if (s) return t.plan(0, s);
  const srv = await startServer(t, vm2.ns, 'tcp', vm2.ip4, 80);
  const srv22 = await startServer(t, vm2.ns, 'tcp', vm2.ip4, 22);
  // The control: vm1's next SYN, to port 22, takes the same path to the same decision (vm2's
  // ingress rules, table 82) and is admitted; vm2's capture ends on it.
  const control = new RegExp(`> ${re(vm2.ip4)}\\.22: Flags \\[S\\]`);
  const cap = await watchUntilControl(vm2.ns, vm2.dev, 'tcp dst port 80 or tcp dst port 22', control);
  const before = await nPackets(82, 'priority=40,ct_state=-est,reg5=0x4');
  const r = await tryConnect(vm1.ns, 'tcp', vm2.ip4, 80, { timeoutS: 2 });
  t.equal(r, 'timeout', 'vm1 gets no answer on port 80 (neither SYN-ACK nor RST)');
  t.equal(await tryConnect(vm1.ns, 'tcp', vm2.ip4, 22, { msg: 'control' }), 'connected\nreply echo:control', 'then vm1 connects to vm2:22');
  const saw = await cap.done;
  t.match(saw, control, `the control SYN to port 22, sent after, reached vm2's wire: ${saw.trim()}`);
  t.notMatch(saw, /\.80: /, 'no segment to port 80 on vm2\'s wire');
  t.match(srv22.log(), /recv control/);
  t.notMatch(srv.log(), /accept/, 'the listener on vm2:80 accepted nothing');
  t.ok((await nPackets(82, 'priority=40,ct_state=-est,reg5=0x4')) > before, 'dropped by vm2\'s "not established" ingress flow (counted)');
});

t.test('UDP: the reply of an allowed outbound flow passes (est), vm1 allows no UDP to its port', async (t) => {
  const s = skipFw();
  if (s) return t.plan(0, s);
  const srv = await startServer(t, vm2.ns, 'udp', vm2.ip4, 5000);
  const r = await tryConnect(vm1.ns, 'udp', vm2.ip4, 5000, { sport: 40000, msg: 'est-check' });
  t.equal(r, 'reply echo:est-check', 'vm2\'s reply from port 5000 reaches vm1:40000');
  t.match(srv.log(), /recv 10\.231\.0\.1 40000 est-check/);
  t.ok((await nPackets(72, 'priority=50,ct_state=+est-rel+rpl,ct_zone=1,ct_mark=0,reg5=0x4')) > 0, 'the reply went by vm2\'s established-reply egress flow');
});

t.test('ICMP port unreachable of a tracked UDP flow passes back (rel)', async (t) => {
  const s = skipFw();
  if (s) return t.plan(0, s);
  const rel = 'priority=50,ct_state=-new-est+rel-inv,ct_zone=1,ct_mark=0,reg5=0x4';
  const before = await nPackets(72, rel);
  const r = await tryConnect(vm1.ns, 'udp', vm2.ip4, 5001, { sport: 40001, msg: 'nobody-home' });
  t.equal(r, 'refused', 'vm1\'s connected UDP socket gets ECONNREFUSED: the port unreachable came back');
  t.ok((await nPackets(72, rel)) > before, 'the ICMP error left vm2 by the related-traffic flow (ct_state +rel)');
});

t.test('spoofed source IP or MAC from vm1 is dropped and counted', async (t) => {
  const s = skipFw();
  if (s) return t.plan(0, s);
  const srv = await startServer(t, vm2.ns, 'udp', vm2.ip4, 5001);
  const frame = (src: string, ipSrc: string, tag: string) => udpFrame({ dst: vm2.mac, src, ipSrc, ipDst: vm2.ip4, sport: 41000, dport: 5001, payload: Buffer.from(tag) }).toString('hex');
  const drop = 'priority=10,reg5=0x3';
  const before = await nPackets(71, drop);
  await rawSend(vm1.ns, vm1.dev, [frame(vm1.mac, SPOOF_IP, 'spoof-ip'), frame(SPOOF_MAC, vm1.ip4, 'spoof-mac'), frame(vm1.mac, vm1.ip4, 'genuine')]);
  await waitUntil('the genuine datagram at vm2', () => srv.log().includes('genuine'), 5000);
  t.notMatch(srv.log(), /spoof/, 'neither spoofed datagram reached vm2');
  t.ok((await nPackets(71, drop)) >= before + 2, 'both counted by vm1\'s anti-spoofing drop flow (table 71, priority 10)');
});

t.test('ARP claiming an address vm1 does not own, and a DHCP server reply from vm1, are dropped', async (t) => {
  const s = skipFw();
  if (s) return t.plan(0, s);
  const arpDrop = 'priority=10,reg5=0x3';
  const dhcpDrop = 'priority=70,udp,reg5=0x3,tp_src=67,tp_dst=68';
  const [arpBefore, dhcpBefore] = [await nPackets(71, arpDrop), await nPackets(71, dhcpDrop)];
  // The control, sent last by the same python3 from the same port: a genuine datagram from
  // vm1 to vm2's UDP 5001, which passes the same anti-spoofing table 71 and vm2's ingress rules;
  // the capture ends on it. (Unicast: it passes vm2's ingress rules as the two forbidden
  // frames would have; tenant 1's broadcasts stay in tenant 1, see the subtest below.)
  const control = new RegExp(`${re(vm1.ip4)}\\.41001 > ${re(vm2.ip4)}\\.5001: UDP`);
  const cap = await watchUntilControl(vm2.ns, vm2.dev, `arp host ${SPOOF_IP} or udp port 68 or udp port 41001`, control);
  const offer = udpFrame({ dst: 'ff:ff:ff:ff:ff:ff', src: vm1.mac, ipSrc: vm1.ip4, ipDst: '255.255.255.255', sport: 67, dport: 68, payload: Buffer.from('offer') });
  const genuine = udpFrame({ dst: vm2.mac, src: vm1.mac, ipSrc: vm1.ip4, ipDst: vm2.ip4, sport: 41001, dport: 5001, payload: Buffer.from('control') });
  await rawSend(vm1.ns, vm1.dev, [arpRequest(vm1.mac, SPOOF_IP, vm2.ip4).toString('hex'), offer.toString('hex'), genuine.toString('hex')]);
  const saw = await cap.done;
  t.match(saw, control, `vm1's genuine datagram, sent after them, reached vm2's wire: ${saw.trim()}`);
  t.notMatch(saw, new RegExp(`${re(SPOOF_IP)}|\\.68: `), 'neither reached vm2\'s wire');
  t.ok((await nPackets(71, arpDrop)) > arpBefore, 'the ARP fell to vm1\'s drop flow (arp_spa is not its address)');
  t.ok((await nPackets(71, dhcpDrop)) > dhcpBefore, 'the DHCP reply hit the "no DHCP server on an instance" flow');
});

t.test('IPv6 neighbour discovery between the VMs (the ND flows, no conntrack)', async (t) => {
  const s = skipV6();
  if (s) return t.plan(0, s);
  // One echo to make vm1 resolve vm2; whether it is answered is the next subtest's business.
  await nsRun(vm1.ns, ['ping', '-6', '-c', '1', '-W', '1', vm2.ip6]);
  const neigh = (await nsRun(vm1.ns, ['ip', '-6', 'neigh', 'show', vm2.ip6])).stdout;
  t.match(neigh, new RegExp(`lladdr ${vm2.mac} (REACHABLE|STALE|DELAY|PROBE)`), `vm1 resolved vm2 by ND: ${neigh.trim()}`);
  t.ok((await nPackets(71, 'priority=95,icmp6,reg5=0x4,icmp_type=136,nd_target=fd00:231::2')) > 0, 'vm2\'s neighbour advertisement for its own address left by the ND anti-spoofing flow');
});

t.test('ICMPv6 ping6 both ways (ingress ICMPv6 from the remote group, through conntrack)', async (t) => {
  const s = skipV6();
  if (s) return t.plan(0, s);
  const a = await pingEach(vm1.ns, vm2.ip6, 3);
  t.equal(a.loss, 0, `vm1 → vm2 over IPv6: ${a.summary}`);
  const b = await pingEach(vm2.ns, vm1.ip6, 3);
  t.equal(b.loss, 0, `vm2 → vm1 over IPv6: ${b.summary}`);
  t.ok((await nPackets(82, 'priority=71,conj_id=27,ct_state=+new-est,ipv6,reg5=0x4')) > 0, 'the new ICMPv6 conjunction accept flow of vm2 counted the first echo');
});

t.test('IPv6 TCP 22 passes and its return traffic is +est; IPv6 TCP 80 never reaches vm2', async (t) => {
  const s = skipV6();
  if (s) return t.plan(0, s);
  const newFlow = 'priority=73,conj_id=31,ct_state=+new-est,ipv6,reg5=0x4';
  const estRpl = 'priority=50,ct_state=+est-rel+rpl,ct_zone=1,ct_mark=0,reg5=0x4';
  const [newBefore, rplBefore] = [await nPackets(82, newFlow), await nPackets(72, estRpl)];
  const srv = await startServer(t, vm2.ns, 'tcp', vm2.ip6, 22);
  const r = await tryConnect(vm1.ns, 'tcp', vm2.ip6, 22, { msg: 'ssh-over-v6' });
  t.equal(r, 'connected\nreply echo:ssh-over-v6', 'vm1 connects to [vm2]:22 over IPv6 and reads the echo back');
  t.match(srv.log(), new RegExp(`accept ${vm1.ip6} \\d+\\nrecv ssh-over-v6`), 'vm2 accepted the IPv6 connection from vm1 and read the data');
  t.ok((await nPackets(82, newFlow)) > newBefore, 'the SYN was admitted by vm2\'s new IPv6 TCP 22 conjunction flow (+new, committed)');
  // OVS credits datapath-cached packets to their flows a little later (revalidators): poll.
  const rplSeen = async (): Promise<boolean> => (await nPackets(72, estRpl)) > rplBefore;
  await waitUntil('vm2\'s est+rpl egress flow to count the replies', rplSeen, 4000, 250).catch(() => undefined);
  t.ok(await rplSeen(), 'vm2\'s replies left by its established-reply egress flow (+est+rpl)');
  const ct = await sw.dumpConntrack(1);
  t.match(ct.stdout, new RegExp(`tcp,orig=\\(src=${vm1.ip6},dst=${vm2.ip6},sport=\\d+,dport=22\\),reply=\\(src=${vm2.ip6},dst=${vm1.ip6},sport=22,dport=\\d+\\),zone=1`), `dump-conntrack shows the IPv6 connection: ${ct.stdout.split('\n').find((l) => l.startsWith(`tcp,orig=(src=${vm1.ip6}`)) ?? ct.stderr.trim()}`);

  const srv80 = await startServer(t, vm2.ns, 'tcp', vm2.ip6, 80);
  // The control: vm1's next IPv6 SYN, to port 22 (admitted by the same table 82).
  const control = new RegExp(`> ${vm2.ip6}\\.22: Flags \\[S\\]`);
  const cap = await watchUntilControl(vm2.ns, vm2.dev, 'ip6 and ( tcp dst port 80 or tcp dst port 22 )', control);
  const dropBefore = await nPackets(82, 'priority=40,ct_state=-est,reg5=0x4');
  t.equal(await tryConnect(vm1.ns, 'tcp', vm2.ip6, 80, { timeoutS: 2 }), 'timeout', 'vm1 gets no answer on [vm2]:80');
  t.equal(await tryConnect(vm1.ns, 'tcp', vm2.ip6, 22, { msg: 'control-v6' }), 'connected\nreply echo:control-v6', 'then vm1 connects to [vm2]:22');
  const saw = await cap.done;
  t.match(saw, control, `the control SYN to [vm2]:22, sent after, reached vm2's wire: ${saw.trim()}`);
  t.notMatch(saw, /\.80: /, 'no IPv6 segment to port 80 on vm2\'s wire');
  t.notMatch(srv80.log(), /accept/, 'the IPv6 listener on port 80 accepted nothing');
  t.ok((await nPackets(82, 'priority=40,ct_state=-est,reg5=0x4')) > dropBefore, 'dropped by vm2\'s "not established" ingress flow (counted)');
});

t.test('two tenants with the same addresses do not share connection state (zones)', async (t) => {
  const s = skipFw();
  if (s) return t.plan(0, s);
  // Tenant 1 opens 10.231.0.1:40002 → 10.231.0.2:5000 (zone 1); its reply passes as est.
  const srv = await startServer(t, vm2.ns, 'udp', vm2.ip4, 5000);
  t.equal(await tryConnect(vm1.ns, 'udp', vm2.ip4, 5000, { sport: 40002, msg: 'zone1' }), 'reply echo:zone1', 'tenant 1\'s flow is established');
  t.match(srv.log(), /zone1/);
  // Tenant 2's vm4 (also 10.231.0.2) sends what would be that flow's reply to vm3 (also
  // 10.231.0.1): in zone 2 it is a new flow, and vm3 admits no UDP to port 40002.
  const listen = await startServer(t, vm3.ns, 'udp', vm3.ip4, 40002);
  // The control: vm4's next datagram, to vm3's UDP port 5000, which vm3's ingress rules in
  // zone 2 admit (UDP 5000-5001 from the group); vm3's capture ends on it.
  const control = new RegExp(`${re(vm4.ip4)}\\.40003 > ${re(vm3.ip4)}\\.5000: UDP`);
  const cap = await watchUntilControl(vm3.ns, vm3.dev, 'udp port 40002 or udp port 40003', control);
  const r = await tryConnect(vm4.ns, 'udp', vm3.ip4, 40002, { sport: 5000, msg: 'cross-zone', timeoutS: 2 });
  t.equal(r, 'timeout', 'nothing comes back to vm4');
  await tryConnect(vm4.ns, 'udp', vm3.ip4, 5000, { sport: 40003, msg: 'control', timeoutS: 1 });
  const saw = await cap.done;
  t.match(saw, control, `vm4's datagram to vm3:5000, sent after, reached vm3's wire: ${saw.trim()}`);
  t.notMatch(saw, /\.40002: /, 'nothing reached vm3\'s wire');
  t.notMatch(listen.log(), /cross-zone/, 'vm3\'s socket received nothing');
  t.ok((await nPackets(82, 'priority=40,ct_state=-est,reg5=0x5')) > 0, 'vm3\'s ingress dropped it as not established');
});

t.test('tenant 1\'s broadcasts and multicasts (ARP, DHCP, IPv6 NS/RS) never reach tenant 2', async (t) => {
  const s = skipFw();
  if (s) return t.plan(0, s);
  // vm1 sends what a booting VM floods: an ARP request, a DHCP discover, an IPv6 neighbour
  // solicitation (solicited-node multicast) and a router solicitation. Each passes vm1's egress
  // flows (table 71, the DHCP one by 73) to table 94's NORMAL, which floods it in local VLAN 1:
  // to vm2 and the patch port, never to vm3 or vm4 (access ports of local VLAN 2). The targets
  // are addresses nobody holds, so no stack answers or learns from them.
  const NOBODY4 = '10.231.0.77';
  const NOBODY6 = 'fd00:231::77';
  const lla1 = llaOf(vm1.mac);
  const arp = arpRequest(vm1.mac, vm1.ip4, NOBODY4);
  const dhcp = udpFrame({ dst: 'ff:ff:ff:ff:ff:ff', src: vm1.mac, ipSrc: '0.0.0.0', ipDst: '255.255.255.255', sport: 68, dport: 67, payload: Buffer.from('discover') });
  const ns = ndFrame({ type: 135, smac: vm1.mac, dmac: '33:33:ff:00:00:77', src: vm1.ip6, dst: 'ff02::1:ff00:77', target: NOBODY6, opts: [llaOpt(1, vm1.mac)] });
  const rs = ethFrame('33:33:00:00:00:02', vm1.mac, 0x86dd, ip6Packet({ src: lla1, dst: 'ff02::2', proto: 58, hlim: 255, l4: icmp6(lla1, 'ff02::2', 133, 0, Buffer.alloc(4), llaOpt(1, vm1.mac)) }), undefined, false);
  // Only these four (vm1's own stack sends its ND and MLD too): the ARP for NOBODY4, UDP to 67,
  // an NS whose target ends in ::77 (target at ip6[48..63]) and an RS.
  const ours = `( arp host ${NOBODY4} or udp dst port 67 or ( icmp6 and ip6[40] == 135 and ip6[60:4] == 0x00000077 ) or ( icmp6 and ip6[40] == 133 ) )`;
  // vm2 (tenant 1) receives all four: they passed the firewall and NORMAL flooded them.
  const atVm2 = await startCapture(vm2.ns, vm2.dev, `ether src ${vm1.mac} and ${ours}`, 4);
  // vm4's capture keeps every frame it did not send itself and ends on the control: a broadcast
  // from vm3, in vm4's own tenant, flooded by the same table 94 NORMAL after vm1's four were.
  const control = new RegExp(`^\\S+ ${re(vm3.mac)} > ff:ff:ff:ff:ff:ff, .*Request who-has ${re('10.231.0.78')} tell ${re(vm3.ip4)}`, 'm');
  const atVm4 = await watchUntilControl(vm4.ns, vm4.dev, `not ether src ${vm4.mac}`, control);
  await rawSend(vm1.ns, vm1.dev, [arp, dhcp, ns, rs].map((f) => f.toString('hex')));
  const sawVm2 = await atVm2.done;
  t.equal(sawVm2.trim().split('\n').filter((l) => l !== '').length, 4, `vm2, in vm1's tenant, received all four: ${sawVm2.trim()}`);
  await rawSend(vm3.ns, vm3.dev, [arpRequest(vm3.mac, vm3.ip4, '10.231.0.78').toString('hex')]);
  const sawVm4 = await atVm4.done;
  t.match(sawVm4, control, 'vm3\'s ARP request, sent after them, reached vm4\'s wire');
  const leaked = sawVm4.split('\n').filter((l) => l.includes(`${vm1.mac} >`));
  t.same(leaked, [], 'nothing from vm1 reached vm4\'s wire');
  if (sw.trace) {
    // tvs trace says the same of the ARP: table 94's NORMAL floods it in VLAN 1 only.
    const text = await sw.trace(arp.toString('hex'), vm1.host);
    const flood = /-> in VLAN (\d+): (.*)/.exec(text);
    t.same(flood && { vlan: Number(flood[1]), ports: flood[2].split(', ').sort() }, { vlan: 1, ports: [`int-br-eth1 (tagged 1)`, `${vm2.host} (untagged)`].sort() }, `tvs trace: NORMAL floods vm1's ARP to vm2 and the patch port only:\n${text}`);
  }
});

t.test('removing the TCP 22 rule: new connections stop, the established one is cut by ct_mark', async (t) => {
  const s = skipFw();
  if (s) return t.plan(0, s);
  const srv = await startServer(t, vm2.ns, 'tcp', vm2.ip4, 22);
  const held = await holdConnection(t, vm1.ns, vm2.ip4, 22, 2);
  t.equal(await held.send('before'), 'reply echo:before', 'an ssh-like session is up');
  // What the agent does when the rule goes: the rule's own flows (the conjunction 2/2 halves
  // matching tcp_dst=22) are deleted; the conj_id accept flows stay (UDP still uses them).
  await sw.delFlows('table=82,tcp,tp_dst=22');
  const dump = await sw.dumpFlows('table=82');
  // (The IPv6 TCP 22 rule's flows, tcp6, are another rule's and stay.)
  t.notMatch(dump.split('\n').filter((l) => !l.includes('tcp6')).join('\n'), /tp_dst=22/, 'the rule\'s flows are gone');
  const markEst = 'priority=40,ct_state=+est,ip,reg5=0x4';
  const markBefore = await nPackets(82, markEst);
  t.equal(await held.send('after'), 'noreply', 'the established session no longer gets through');
  t.notMatch(srv.log(), /recv after/, 'vm2 never received the data sent after the rule went');
  t.ok((await nPackets(82, markEst)) > markBefore, 'the next segment hit the "+est, no rule" flow that commits ct_mark=1');
  t.ok((await nPackets(82, 'priority=50,ct_mark=0x1,reg5=0x4')) > 0, 'retransmissions are dropped by the ct_mark=1 flow');
  const ct = await sw.dumpConntrack(1);
  // dump-conntrack (ovs-appctl dpctl/dump-conntrack's format) lands with ct(); until then said so.
  if (REFERENCE || ct.code === 0) t.match(ct.stdout, /dport=22\b.*mark=1|mark=1.*dport=22\b/, `the connection is marked 1 in conntrack: ${ct.stdout.trim() || ct.stderr.trim()}`);
  else t.comment(`dump-conntrack not available here: ${ct.stderr.trim()}`);
  const again = await tryConnect(vm1.ns, 'tcp', vm2.ip4, 22, { timeoutS: 2 });
  t.equal(again, 'timeout', 'a new connection to port 22 gets nothing back');
  t.equal(srv.log().match(/accept/g)?.length, 1, 'vm2 accepted no second connection');
});
