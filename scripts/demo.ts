/**
 * `make demo`: a Neutron-like layout in network namespaces, run through a real `tvs start`
 * daemon and configured with the `tvs` CLI.
 *
 *   tenant A: vm-a1, vm-a2 on br-int local VLAN 1 → provider VLAN 101
 *   tenant B: vm-b1        on br-int local VLAN 2 → provider VLAN 102
 *   br-int ──patch int-br-eth1 / phy-br-eth1── br-eth1 ── uplink (trunk) ── "physnet" namespace
 *              (sends tagged ARP requests with python3's AF_PACKET: the kernel may have no
 *              802.1Q devices, as in containers)
 *   router r1: qr-a on br-int (VLAN 1), qg on br-ex ── "external" namespace; SNAT for tenant A,
 *              floating IP 10.203.0.50 → vm-a2
 *   DHCP on br-int VLAN 1: vm-a1 gets its address from the switch (busybox udhcpc)
 *   tenant C: vm-c1, vm-c2 on br-int local VLAN 3 (conntrack zone 3) behind Neutron's
 *              openvswitch firewall: the flows src/neutron/firewall-flows.ts renders as the
 *              driver does (the same as the firewall's integration test and bench load)
 *
 * Each host is a namespace named after it (vm-a1, vm-a2, vm-b1, physnet, external) whose interface
 * `nic` is the far end of a veth; the near end, in the root namespace, is the switch port and has
 * the host's name too (the physical network's is `uplink`). The daemon logs to a file the demo
 * names, not between its steps.
 *
 * Every step checks what it claims at the real peers (ping's replies, vm-a2's ARP answer to a
 * request tagged 101 on the trunk seen by tcpdump -e, udhcpc's lease, what a TCP client got and
 * which connections its server accepted, iperf3's receiver) and stops
 * the demo when it does not hold; then it prints `tvs show`, `dump-flows` with counters, the
 * router and the NAT sessions, and tears everything down at the end (also on failure or Ctrl-C).
 * Only addresses inside the namespaces it created are used.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { expect, Lab, pingLoss, pingSummary, runDemo, sh, shAsync, step, TVS } from './demo-lab';
import { agentBaseFlows, renderFirewallFlows, type FirewallOptions, type FwPort, type SecurityGroup } from '../src/neutron/firewall-flows';

const lab = new Lab('demo');
const control = path.join(lab.dir, 'tvs.sock');
/** The daemon's log: kept after the demo, so what it logged can be read afterwards. */
const LOG = path.join(os.tmpdir(), 'tvs-demo.log');

function tvs(...args: string[]): string {
  return sh([process.execPath, TVS, '--control', control, ...args]);
}

/**
 * A host: namespace `name`, its interface `nic` (address `cidr`) joined by a veth to `port` here.
 * No IPv6 on either end: its router solicitations would only cross the switch between steps.
 */
function host(name: string, cidr: string | undefined, port = name): { ns: string; port: string } {
  lab.netns(name);
  lab.veth({ hostName: port, ns: name, peerName: 'nic', address: cidr });
  return { ns: name, port };
}

/** vm-a1's MAC (Neutron's fa:16:3e prefix): the DHCP host entry binds 10.201.1.11 to it. */
const A1_MAC = 'fa:16:3e:00:01:11';
const HOSTS = ['vm-a1', 'vm-a2', 'vm-b1', 'vm-c1', 'vm-c2', 'physnet', 'external'];
const PORTS = ['vm-a1', 'vm-a2', 'vm-b1', 'vm-c1', 'vm-c2', 'uplink', 'external'];

/**
 * Tenant C's two VMs, each behind Neutron's openvswitch firewall on br-int (local VLAN 3, which
 * is also their conntrack zone: the driver's ct() takes the zone from reg6). The ofports are
 * given, as the driver reads them from OVSDB, because its flows name them.
 */
const C1 = { name: 'vm-c1', ofport: 31, mac: 'fa:16:3e:00:03:11', ip: '10.201.3.11' };
const C2 = { name: 'vm-c2', ofport: 32, mac: 'fa:16:3e:00:03:12', ip: '10.201.3.12' };
const C_VLAN = 3;
const PROTO_ICMP = 1;
const PROTO_TCP = 6;
/**
 * vm-c1's group "sg-web": all egress; ingress ICMP and TCP 22 from members of "sg-client" only (a
 * remote group: conjunction flows), nothing else. vm-c2's "sg-client": all egress, all ingress.
 */
const SECURITY_GROUPS: SecurityGroup[] = [
  {
    id: 'sg-web',
    rules: [
      { direction: 'egress', ethertype: 'IPv4' },
      { direction: 'ingress', ethertype: 'IPv4', protocol: PROTO_ICMP, remote_group_id: 'sg-client' },
      { direction: 'ingress', ethertype: 'IPv4', protocol: PROTO_TCP, port_range_min: 22, port_range_max: 22, remote_group_id: 'sg-client' },
    ],
  },
  {
    id: 'sg-client',
    rules: [
      { direction: 'egress', ethertype: 'IPv4' },
      { direction: 'ingress', ethertype: 'IPv4' },
    ],
  },
];

/** The flows the Neutron OVS agent's firewall driver puts on br-int for tenant C (the agent's own tables are in since step 3). */
function firewallFlows(): string[] {
  const port = (vm: typeof C1, sg: string): FwPort => ({ ofport: vm.ofport, mac: vm.mac, fixedIps: [vm.ip], vlan: C_VLAN, networkType: 'vlan', segmentId: 103, securityGroups: [sg] });
  // Each group's members, as the Neutron server hands them to the agent: (IP, MAC) pairs.
  const members: FirewallOptions['members'] = { 'sg-web': { IPv4: [[C1.ip, C1.mac]], IPv6: [] }, 'sg-client': { IPv4: [[C2.ip, C2.mac]], IPv6: [] } };
  return renderFirewallFlows([port(C1, 'sg-web'), port(C2, 'sg-client')], { groups: SECURITY_GROUPS, members });
}

/**
 * python3 ARGV: NAME DIR PORT...; a TCP server in a VM: accepts on each PORT, answers
 * "hello from NAME:PORT" and logs "accepted NAME:PORT from IP" (stdout); DIR/NAME.ready once it
 * listens; ends when DIR/stop appears (30 s at most).
 */
const TCP_SERVER = `
import os, select, socket, sys, time
name, d, ports = sys.argv[1], sys.argv[2], [int(p) for p in sys.argv[3:]]
socks = []
for p in ports:
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(('0.0.0.0', p))
    s.listen(8)
    socks.append(s)
open(os.path.join(d, name + '.ready'), 'w').close()
end = time.time() + 30
while time.time() < end and not os.path.exists(os.path.join(d, 'stop')):
    for s in select.select(socks, [], [], 0.05)[0]:
        c, peer = s.accept()
        port = s.getsockname()[1]
        print('accepted %s:%d from %s' % (name, port, peer[0]), flush=True)
        c.sendall(('hello from %s:%d\\n' % (name, port)).encode())
        c.close()
`;

/** python3 ARGV: HOST PORT; connects (1.5 s at most) and prints what the server said, or why not. */
const TCP_CLIENT = `
import socket, sys
try:
    s = socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=1.5)
    print('connected, got: ' + s.recv(100).decode().strip())
except socket.timeout:
    print('no answer within 1.5 s')
except OSError as e:
    print('failed: %s' % e)
`;

/**
 * python3 ARGV: IFACE VID SENDER-IP TARGET-IP; sends one ARP request tagged VID from IFACE (AF_PACKET,
 * raw bytes: needs no 802.1Q support in the kernel).
 */
const SEND_TAGGED_ARP = `
import socket, struct, sys
ifname, vid, spa, tpa = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
mac = bytes.fromhex(open('/sys/class/net/%s/address' % ifname).read().strip().replace(':', ''))
arp = struct.pack('!HHBBH', 1, 0x0800, 6, 4, 1) + mac + socket.inet_aton(spa) + bytes(6) + socket.inet_aton(tpa)
s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
s.bind((ifname, 0))
s.send(b'\\xff' * 6 + mac + struct.pack('!HHH', 0x8100, vid, 0x0806) + arp)
`;

/** `ping` from namespace `ns`: its summary line (count pings, 0.2 s apart). */
async function ping(ns: string, addr: string, count = 3): Promise<string> {
  return shAsync(['ip', 'netns', 'exec', ns, 'ping', '-c', String(count), '-i', '0.2', '-W', '2', addr]);
}

/** A ping that must get every reply (`ok`) or none (`!ok`): checked, its summary printed. */
async function expectPing(label: string, ns: string, addr: string, ok: boolean): Promise<void> {
  const out = await ping(ns, addr, ok ? 3 : 2);
  console.log(`  ${label}: ${pingSummary(out)}`);
  expect(ok ? pingLoss(out) === 0 : pingLoss(out) === 100, ok ? `every reply from ${addr}` : `no reply from ${addr}`, out);
}

async function main(): Promise<void> {
  lab.checkFree(HOSTS, PORTS);
  step('[1/9] Hosts (network namespaces): tenant A vm-a1, vm-a2; tenant B vm-b1; tenant C vm-c1, vm-c2; the physical network; an external network');
  const a1 = host('vm-a1', undefined); // its address comes from the switch's DHCP (step 5)
  sh(['ip', '-n', a1.ns, 'link', 'set', 'nic', 'address', A1_MAC]);
  const a2 = host('vm-a2', '10.201.1.12/24');
  const b1 = host('vm-b1', '10.201.1.21/24'); // same subnet as tenant A on purpose: isolation is by VLAN
  const phys = host('physnet', undefined, 'uplink');
  const ext = host('external', '10.203.0.100/24');
  const c1 = host(C1.name, `${C1.ip}/24`);
  const c2 = host(C2.name, `${C2.ip}/24`);
  // The firewall lets out only what comes from the port's own MAC and address (anti-spoofing).
  for (const [h, vm] of [[c1, C1], [c2, C2]] as const) sh(['ip', '-n', h.ns, 'link', 'set', 'nic', 'address', vm.mac]);
  sh(['ip', '-n', a2.ns, 'route', 'add', 'default', 'via', '10.201.1.1']);
  console.log(`  vm-a1 (${A1_MAC}, DHCP), vm-a2 10.201.1.12 (tenant A); vm-b1 10.201.1.21 (tenant B, same subnet);`);
  console.log(`  vm-c1 ${C1.ip}, vm-c2 ${C2.ip} (tenant C, behind security groups);`);
  console.log('  physnet: the trunk\'s far end (tagged frames); external 10.203.0.100');

  step(`[2/9] Starting the switch: tvs start (its log: ${LOG})`);
  await lab.startDaemon(control, LOG);

  step('[3/9] Bridges: br-int (local VLANs), br-eth1 (physical trunk) joined by patch ports, br-ex (external)');
  const cmds = [
    ['add-br', 'br-int'],
    ['add-br', 'br-eth1'],
    ['add-br', 'br-ex'],
    ['add-port', 'br-int', a1.port, 'tag=1'],
    ['add-port', 'br-int', a2.port, 'tag=1'],
    ['add-port', 'br-int', b1.port, 'tag=2'],
    ['add-port', 'br-int', c1.port, `tag=${C_VLAN}`, `ofport=${C1.ofport}`],
    ['add-port', 'br-int', c2.port, `tag=${C_VLAN}`, `ofport=${C2.ofport}`],
    ['add-port', 'br-int', 'int-br-eth1', 'type=patch', 'peer=phy-br-eth1'],
    ['add-port', 'br-eth1', 'phy-br-eth1', 'type=patch', 'peer=int-br-eth1'],
    ['add-port', 'br-eth1', phys.port],
    ['add-port', 'br-ex', ext.port],
    // The Neutron OVS agent's VLAN translation flows. br-eth1: local VLAN -> provider VLAN on the
    // way out, then NORMAL. br-int: its default tables first (table 0 -> 58 -> 59 -> 60, whose
    // last flow is NORMAL; 58/59 are the rate limits), then provider -> local VLAN on the way in,
    // continuing into those tables rather than to NORMAL, as the agent's native driver does
    // (br_int.py setup_default_table and provision_local_vlan: set_field vlan_vid,
    // goto_table:58), so the frame crosses table 60, where the firewall driver's flows sit.
    ['add-flow', 'br-eth1', 'table=0,priority=4,in_port=phy-br-eth1,dl_vlan=1,actions=mod_vlan_vid:101,NORMAL'],
    ['add-flow', 'br-eth1', 'table=0,priority=4,in_port=phy-br-eth1,dl_vlan=2,actions=mod_vlan_vid:102,NORMAL'],
    ['add-flow', 'br-eth1', 'table=0,priority=2,in_port=phy-br-eth1,actions=drop'],
    ['add-flow', 'br-eth1', 'table=0,priority=0,actions=NORMAL'],
    ...agentBaseFlows().map((f) => ['add-flow', 'br-int', f]),
    ['add-flow', 'br-int', 'table=0,priority=3,in_port=int-br-eth1,dl_vlan=101,actions=mod_vlan_vid:1,goto_table:58'],
    ['add-flow', 'br-int', 'table=0,priority=3,in_port=int-br-eth1,dl_vlan=102,actions=mod_vlan_vid:2,goto_table:58'],
    ['add-flow', 'br-int', 'table=0,priority=2,in_port=int-br-eth1,actions=drop'],
  ];
  for (const c of cmds) {
    console.log(`  tvs ${c.join(' ')}`);
    tvs(...c);
  }

  step('[4/9] Router r1 (the L3 agent\'s qrouter) and DHCP (the DHCP agent) for tenant A\'s subnet');
  const rcmds = [
    ['add-router', 'r1'],
    ['router-add-port', 'r1', 'br-int', 'qr-a', 'mac=02:52:00:00:01:01', 'ip=10.201.1.1/24', 'tag=1'],
    ['router-add-port', 'r1', 'br-ex', 'qg-1', 'mac=02:52:00:00:ff:01', 'ip=10.203.0.1/24', 'gateway'],
    ['add-floating-ip', 'r1', '10.203.0.50', '10.201.1.12'],
    ['add-dhcp', 'br-int', 'tag=1', 'subnet=10.201.1.0/24', 'gateway=10.201.1.1', 'dns=10.201.1.1'],
    ['dhcp-add-host', 'br-int', 'tag=1', `mac=${A1_MAC}`, 'ip=10.201.1.11'],
  ];
  for (const c of rcmds) {
    console.log(`  tvs ${c.join(' ')}`);
    tvs(...c);
  }

  step('[5/9] vm-a1 asks for its address: busybox udhcpc gets the lease from the switch and configures it');
  // udhcpc calls this script with the lease in its environment; it configures nic as
  // Neutron's VMs do with what DHCP hands them (address, mask, default route).
  const script = path.join(lab.dir, 'udhcpc.sh');
  fs.writeFileSync(
    script,
    '#!/bin/sh\n[ "$1" = bound ] || exit 0\n' +
      'echo "lease: ip=$ip subnet=$subnet router=$router dns=$dns"\n' +
      'ip addr add "$ip/$subnet" dev "$interface" && ip route add default via "$router"\n',
    { mode: 0o755 },
  );
  const dhcp = await shAsync(['ip', 'netns', 'exec', a1.ns, 'busybox', 'udhcpc', '-i', 'nic', '-n', '-q', '-f', '-t', '4', '-T', '1', '-s', script], 20_000);
  console.log(dhcp.split('\n').filter((l) => /lease/.test(l)).map((l) => '  ' + l.trim()).join('\n'));
  expect(/lease: ip=10\.201\.1\.11 subnet=255\.255\.255\.0 router=10\.201\.1\.1/.test(dhcp), 'vm-a1 leased 10.201.1.11/24, router 10.201.1.1 (its DHCP host entry)', dhcp);
  const addr = sh(['ip', '-n', a1.ns, '-4', '-o', 'addr', 'show', 'dev', 'nic']);
  expect(addr.includes('10.201.1.11/24'), 'nic in vm-a1 has 10.201.1.11/24', addr);

  step('[6/9] Tenant A on br-int, and from the physical trunk: provider VLAN 101 ↔ local VLAN 1 over the patch ports');
  await expectPing('vm-a1 → vm-a2 (br-int, VLAN 1)', a1.ns, '10.201.1.12', true);
  // A host on the physical network asks for vm-a2 with a tagged ARP request, as a server on
  // provider VLAN 101 would; vm-a2's own stack answers only if br-int handed it the request on
  // VLAN 1, and the answer shows on the trunk only if br-eth1 tagged it 101 again.
  const arpOnTrunk = async (vid: number, target: string): Promise<string[]> => {
    const capture = shAsync(['ip', 'netns', 'exec', phys.ns, 'timeout', '2', 'tcpdump', '-i', 'nic', '-e', '-nn', '-l', '-c', '2', 'arp or (vlan and arp)'], 10_000);
    await new Promise((r) => setTimeout(r, 800));
    sh(['ip', 'netns', 'exec', phys.ns, 'python3', '-c', SEND_TAGGED_ARP, 'nic', String(vid), '10.201.1.31', target]);
    const seen = (await capture).split('\n').filter((l) => l.includes('vlan'));
    console.log(`  tcpdump -e on the trunk, ARP who-has ${target} sent on VLAN ${vid}:`);
    console.log(seen.map((l) => '    ' + l.replace(/^\S+ /, '').slice(0, 160)).join('\n'));
    return seen;
  };
  const v101 = await arpOnTrunk(101, '10.201.1.12');
  expect(
    v101.some((l) => /vlan 101,.*Reply 10\.201\.1\.12 is-at/.test(l)),
    'vm-a2 answered a request tagged 101 (br-int: 101 → 1), its reply left the trunk tagged 101 (br-eth1: 1 → 101)',
    v101.join('\n') || '(nothing captured)',
  );
  const v102 = await arpOnTrunk(102, '10.201.1.12');
  expect(!v102.some((l) => /Reply/.test(l)), 'the same request on VLAN 102 (tenant B) gets no answer from tenant A', v102.join('\n'));

  step('[7/9] Tenant B (local VLAN 2 → provider 102) tries to reach tenant A on the same subnet: isolated');
  await expectPing('vm-b1 → vm-a1 (br-int, VLAN 2 vs 1)', b1.ns, '10.201.1.11', false);

  step('[8/9] Security groups (Neutron\'s openvswitch firewall) on tenant C: vm-c1 admits ICMP and TCP 22 from sg-client, nothing else; its own connections out are stateful');
  const fw = firewallFlows();
  const fwFile = path.join(lab.dir, 'firewall.flows');
  fs.writeFileSync(fwFile, fw.join('\n') + '\n');
  console.log(`  tvs add-flows br-int ${fwFile}    # ${fw.length} flows: the driver's tables 60-94 for vm-c1 and vm-c2 (the agent's 0 → 58 → 59 → 60 are in since step 3)`);
  tvs('add-flows', 'br-int', fwFile);
  // Each rule has a twin for +est-rel-rpl (a connection committed before the rule was added).
  const conj = tvs('dump-flows', 'br-int', 'table=82').split('\n').filter((l) => /conj/.test(l) && /\+new-est/.test(l));
  console.log('  the remote-group rules as conjunctions (table 82, the +new-est half): address of sg-client\'s member (1/2) and protocol/port (2/2)');
  console.log(conj.map((l) => '    ' + l.replace(/^\s*cookie=\S+ duration=\S+ table=82, n_packets=\d+, n_bytes=\d+, (idle_age=\d+, )?/, '')).join('\n'));
  // Servers in both VMs; each TCP check is a client in the other VM. What the client got back
  // proves the path both ways; the server's log, which connections reached the VM.
  const servers = [
    shAsync(['ip', 'netns', 'exec', c1.ns, 'python3', '-c', TCP_SERVER, C1.name, lab.dir, '22', '8080'], 40_000),
    shAsync(['ip', 'netns', 'exec', c2.ns, 'python3', '-c', TCP_SERVER, C2.name, lab.dir, '8080'], 40_000),
  ];
  const ready = (): boolean => [C1, C2].every((vm) => fs.existsSync(path.join(lab.dir, `${vm.name}.ready`)));
  for (let i = 0; i < 50 && !ready(); i++) await new Promise((r) => setTimeout(r, 100));
  if (!ready()) {
    fs.writeFileSync(path.join(lab.dir, 'stop'), '');
    throw new Error(`the TCP servers in vm-c1 and vm-c2 did not start: ${(await Promise.all(servers)).join('\n')}`);
  }
  const connect = async (label: string, ns: string, addr: string, port: number, want: RegExp, claim: string): Promise<void> => {
    const out = (await shAsync(['ip', 'netns', 'exec', ns, 'python3', '-c', TCP_CLIENT, addr, String(port)], 10_000)).trim();
    console.log(`  ${label}: ${out}`);
    expect(want.test(out), claim, out);
  };
  await expectPing('vm-c2 → vm-c1 (ICMP from sg-client: conjunction)', c2.ns, C1.ip, true);
  await connect('vm-c2 → vm-c1 TCP 22', c2.ns, C1.ip, 22, /^connected, got: hello from vm-c1:22$/, 'TCP 22 from sg-client reaches vm-c1\'s server and its answer comes back');
  await connect('vm-c2 → vm-c1 TCP 8080', c2.ns, C1.ip, 8080, /^no answer within 1\.5 s$/, 'TCP 8080 to vm-c1 is dropped (no answer, not even a reset) although a server listens there');
  await connect('vm-c1 → vm-c2 TCP 8080', c1.ns, C2.ip, 8080, /^connected, got: hello from vm-c2:8080$/, 'vm-c1\'s own connection out to port 8080 works: its replies pass as the connection conntrack holds (+est), though vm-c1 admits no new TCP but 22');
  fs.writeFileSync(path.join(lab.dir, 'stop'), '');
  const accepted = (await Promise.all(servers)).join('').trim();
  console.log(accepted.split('\n').map((l) => '  server: ' + l).join('\n'));
  expect(
    accepted.split('\n').sort().join('\n') === [`accepted vm-c1:22 from ${C2.ip}`, `accepted vm-c2:8080 from ${C1.ip}`].join('\n'),
    'the servers accepted exactly those two connections: none on vm-c1:8080',
    accepted,
  );
  const ct = tvs('dump-conntrack', 'br-int', `zone=${C_VLAN}`);
  console.log(`  $ tvs dump-conntrack br-int zone=${C_VLAN}`);
  console.log(ct.split('\n').filter((l) => l.startsWith('tcp')).map((l) => '    ' + l).join('\n'));
  expect(
    new RegExp(`^tcp,orig=\\(src=${C1.ip},dst=${C2.ip},sport=\\d+,dport=8080\\),reply=\\(src=${C2.ip},dst=${C1.ip},sport=8080,dport=\\d+\\),zone=${C_VLAN}\\b`, 'm').test(ct),
    `the switch tracked vm-c1's connection out in zone ${C_VLAN} (tenant C's local VLAN, from reg6)`,
    ct,
  );

  step('[9/9] Through the router: SNAT out (vm-a1 → external), floating IP in (external → 10.203.0.50), iperf3 on each path');
  await expectPing('vm-a1 → external 10.203.0.100 (SNAT)', a1.ns, '10.203.0.100', true);
  await expectPing('external → floating IP 10.203.0.50 (DNAT to vm-a2)', ext.ns, '10.203.0.50', true);
  const iperf = async (label: string, serverNs: string, clientNs: string, addr: string, port: string) => {
    // The server serves one client and exits; it is a child of the demo, so Ctrl-C ends it too.
    const server = shAsync(['ip', 'netns', 'exec', serverNs, 'iperf3', '-s', '-1', '-p', port], 20_000);
    await new Promise((r) => setTimeout(r, 500));
    const out = await shAsync(['ip', 'netns', 'exec', clientNs, 'iperf3', '-c', addr, '-p', port, '-t', '2'], 20_000);
    await server;
    const line = out.split('\n').find((l) => /receiver/.test(l));
    console.log(`  iperf3 ${label.padEnd(34)} ${line?.replace(/\s+/g, ' ').trim() ?? ''}`);
    expect(line !== undefined && !/ 0\.00 bits\/sec/.test(line), `iperf3 ${label}: data reached the receiver`, out);
  };
  await iperf('vm-a1 → vm-a2 (same VLAN)', a2.ns, a1.ns, '10.201.1.12', '5291');
  await iperf('vm-a1 → external (SNAT)', ext.ns, a1.ns, '10.203.0.100', '5292');
  await iperf('external → floating IP (DNAT)', a2.ns, ext.ns, '10.203.0.50', '5293');
  const nat = tvs('nat-show', 'r1');
  expect(/snat\s+10\.201\.1\.11 > 10\.203\.0\.100/.test(nat) && /dnat\s+10\.203\.0\.100 > 10\.203\.0\.50/.test(nat), 'the router holds the SNAT and DNAT sessions (nat-show below)', nat);

  step('What the switch shows');
  console.log('$ tvs show');
  console.log(tvs('show'));
  console.log('$ tvs dump-flows br-eth1    # 1 → 101 on the way out');
  console.log(tvs('dump-flows', 'br-eth1'));
  console.log('$ tvs dump-flows br-int table=0    # 101 → 1 on the way in (the firewall\'s tables 60-94 left out)');
  console.log(tvs('dump-flows', 'br-int', 'table=0'));
  console.log('$ tvs router-show r1');
  console.log(tvs('router-show', 'r1'));
  console.log('$ tvs nat-show r1');
  console.log(nat);
  console.log('$ tvs dump-ports br-int');
  console.log(tvs('dump-ports', 'br-int'));
  step('Tearing down');
}

// Bounded: the whole demo gets three minutes, then it tears down and fails.
runDemo('demo', lab, main, { limitMs: 180_000, done: () => `done: every check held. The switch's log: ${LOG}` });
