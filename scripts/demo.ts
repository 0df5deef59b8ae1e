/**
 * `make demo`: a Neutron-like layout in network namespaces, run through a real `tvs start`
 * daemon and configured with the `tvs` CLI.
 *
 *   tenant A: vm-a1, vm-a2 on br-int local VLAN 1 → provider VLAN 101
 *   tenant B: vm-b1        on br-int local VLAN 2 → provider VLAN 102
 *   br-int ──patch int-br-eth1 / phy-br-eth1── br-eth1 ── uplink (trunk) ── "physnet" namespace
 *   router r1: qr-a on br-int (VLAN 1), qg on br-ex ── "external" namespace; SNAT for tenant A,
 *              floating IP 10.203.0.50 → vm-a2
 *
 * Each host is a namespace named after it (vm-a1, vm-a2, vm-b1, physnet, external) whose interface
 * `nic` is the far end of a veth; the near end, in the root namespace, is the switch port and has
 * the host's name too (the physical network's is `uplink`). The daemon logs to a file the demo
 * names, not between its steps.
 *
 * It pings and runs a short iperf3 over every path, watches the trunk with tcpdump -e, prints
 * `tvs show`, `dump-flows` with counters, the router and the NAT sessions, and tears everything
 * down at the end (also on Ctrl-C). Only addresses inside the namespaces it created are used.
 */
import * as os from 'os';
import * as path from 'path';
import { Lab, runDemo, sh, shAsync, step, TVS } from './demo-lab';

const lab = new Lab('demo');
const control = path.join(lab.dir, 'tvs.sock');
/** The daemon's log: kept after the demo, so what it logged can be read afterwards. */
const LOG = path.join(os.tmpdir(), 'tvs-demo.log');

function tvs(...args: string[]): string {
  return sh([process.execPath, TVS, '--control', control, ...args]);
}

/** A host: namespace `name`, its interface `nic` (address `cidr`) joined by a veth to `port` here. */
function host(name: string, cidr: string | undefined, port = name): { ns: string; port: string } {
  lab.netns(name);
  sh(['ip', 'link', 'add', port, 'type', 'veth', 'peer', 'name', 'nic', 'netns', name]);
  lab.ownLink(port);
  sh(['sysctl', '-qw', `net.ipv6.conf.${port}.disable_ipv6=1`], true);
  if (cidr) sh(['ip', '-n', name, 'addr', 'add', cidr, 'dev', 'nic']);
  sh(['ip', 'link', 'set', port, 'up']);
  sh(['ip', '-n', name, 'link', 'set', 'nic', 'up']);
  return { ns: name, port };
}

const HOSTS = ['vm-a1', 'vm-a2', 'vm-b1', 'physnet', 'external'];
const PORTS = ['vm-a1', 'vm-a2', 'vm-b1', 'uplink', 'external'];

async function main(): Promise<void> {
  lab.checkFree(HOSTS, PORTS);
  step('[1/8] Hosts (network namespaces): tenant A vm-a1, vm-a2; tenant B vm-b1; the physical network; an external network');
  const a1 = host('vm-a1', '10.201.1.11/24');
  const a2 = host('vm-a2', '10.201.1.12/24');
  const b1 = host('vm-b1', '10.201.1.21/24'); // same subnet as tenant A on purpose: isolation is by VLAN
  const phys = host('physnet', undefined, 'uplink');
  const ext = host('external', '10.203.0.100/24');
  for (const h of [a1, a2]) sh(['ip', '-n', h.ns, 'route', 'add', 'default', 'via', '10.201.1.1']);
  console.log('  vm-a1 10.201.1.11, vm-a2 10.201.1.12 (tenant A); vm-b1 10.201.1.21 (tenant B); external 10.203.0.100');

  step(`[2/8] Starting the switch: tvs start (its log: ${LOG})`);
  await lab.startDaemon(control, LOG);

  step('[3/8] Bridges: br-int (local VLANs), br-eth1 (physical trunk) joined by patch ports, br-ex (external)');
  const cmds = [
    ['add-br', 'br-int'],
    ['add-br', 'br-eth1'],
    ['add-br', 'br-ex'],
    ['add-port', 'br-int', a1.port, 'tag=1'],
    ['add-port', 'br-int', a2.port, 'tag=1'],
    ['add-port', 'br-int', b1.port, 'tag=2'],
    ['add-port', 'br-int', 'int-br-eth1', 'type=patch', 'peer=phy-br-eth1'],
    ['add-port', 'br-eth1', 'phy-br-eth1', 'type=patch', 'peer=int-br-eth1'],
    ['add-port', 'br-eth1', phys.port],
    ['add-port', 'br-ex', ext.port],
    // The Neutron OVS agent's VLAN translation flows.
    ['add-flow', 'br-eth1', 'table=0,priority=4,in_port=phy-br-eth1,dl_vlan=1,actions=mod_vlan_vid:101,NORMAL'],
    ['add-flow', 'br-eth1', 'table=0,priority=4,in_port=phy-br-eth1,dl_vlan=2,actions=mod_vlan_vid:102,NORMAL'],
    ['add-flow', 'br-eth1', 'table=0,priority=2,in_port=phy-br-eth1,actions=drop'],
    ['add-flow', 'br-eth1', 'table=0,priority=0,actions=NORMAL'],
    ['add-flow', 'br-int', 'table=0,priority=3,in_port=int-br-eth1,dl_vlan=101,actions=mod_vlan_vid:1,NORMAL'],
    ['add-flow', 'br-int', 'table=0,priority=3,in_port=int-br-eth1,dl_vlan=102,actions=mod_vlan_vid:2,NORMAL'],
    ['add-flow', 'br-int', 'table=0,priority=2,in_port=int-br-eth1,actions=drop'],
    ['add-flow', 'br-int', 'table=0,priority=0,actions=NORMAL'],
  ];
  for (const c of cmds) {
    console.log(`  tvs ${c.join(' ')}`);
    tvs(...c);
  }

  step('[4/8] Router r1 (the L3 agent\'s qrouter): tenant A subnet, gateway on br-ex, SNAT, floating IP');
  const rcmds = [
    ['add-router', 'r1'],
    ['router-add-port', 'r1', 'br-int', 'qr-a', 'mac=02:52:00:00:01:01', 'ip=10.201.1.1/24', 'tag=1'],
    ['router-add-port', 'r1', 'br-ex', 'qg-1', 'mac=02:52:00:00:ff:01', 'ip=10.203.0.1/24', 'gateway'],
    ['add-floating-ip', 'r1', '10.203.0.50', '10.201.1.12'],
  ];
  for (const c of rcmds) {
    console.log(`  tvs ${c.join(' ')}`);
    tvs(...c);
  }

  step('[5/8] Tenant A pings inside its network; tcpdump -e on the physical trunk sees provider VLAN 101');
  const capture = shAsync(['ip', 'netns', 'exec', phys.ns, 'timeout', '4', 'tcpdump', '-i', 'nic', '-e', '-nn', '-c', '2', 'arp'], 10_000);
  await new Promise((r) => setTimeout(r, 800));
  console.log((await shAsync(['ip', 'netns', 'exec', a1.ns, 'ping', '-c', '3', '-i', '0.2', '-W', '2', '10.201.1.12'])).trim());
  console.log('  tcpdump on the trunk:');
  console.log((await capture).split('\n').filter((l) => l.includes('vlan')).map((l) => '    ' + l).join('\n'));

  step('[6/8] Tenant B (local VLAN 2) tries to reach tenant A on the same subnet: isolated');
  const iso = await shAsync(['ip', 'netns', 'exec', b1.ns, 'ping', '-c', '2', '-i', '0.2', '-W', '1', '10.201.1.11']);
  console.log(iso.split('\n').filter((l) => l.includes('loss')).join('\n') + '   (100% loss expected)');

  step('[7/8] Through the router: SNAT out (vm-a1 → external), floating IP in (external → 10.203.0.50)');
  console.log((await shAsync(['ip', 'netns', 'exec', a1.ns, 'ping', '-c', '3', '-i', '0.2', '-W', '2', '10.203.0.100'])).split('\n').filter((l) => /loss|rtt/.test(l)).join('\n'));
  console.log((await shAsync(['ip', 'netns', 'exec', ext.ns, 'ping', '-c', '3', '-i', '0.2', '-W', '2', '10.203.0.50'])).split('\n').filter((l) => /loss|rtt/.test(l)).join('\n'));
  const iperf = async (label: string, serverNs: string, clientNs: string, addr: string, port: string) => {
    await shAsync(['ip', 'netns', 'exec', serverNs, 'iperf3', '-s', '-1', '-D', '-p', port]);
    await new Promise((r) => setTimeout(r, 300));
    const out = await shAsync(['ip', 'netns', 'exec', clientNs, 'iperf3', '-c', addr, '-p', port, '-t', '2'], 20_000);
    const line = out.split('\n').find((l) => /receiver/.test(l)) ?? out.trim().split('\n').pop();
    console.log(`  iperf3 ${label.padEnd(34)} ${line?.replace(/\s+/g, ' ').trim()}`);
  };
  await iperf('vm-a1 → vm-a2 (same VLAN)', a2.ns, a1.ns, '10.201.1.12', '5291');
  await iperf('vm-a1 → external (SNAT)', ext.ns, a1.ns, '10.203.0.100', '5292');
  await iperf('external → floating IP (DNAT)', a2.ns, ext.ns, '10.203.0.50', '5293');

  step('[8/8] What the switch shows');
  console.log('$ tvs show');
  console.log(tvs('show'));
  console.log('$ tvs dump-flows br-eth1');
  console.log(tvs('dump-flows', 'br-eth1'));
  console.log('$ tvs dump-flows br-int');
  console.log(tvs('dump-flows', 'br-int'));
  console.log('$ tvs router-show r1');
  console.log(tvs('router-show', 'r1'));
  console.log('$ tvs nat-show r1');
  console.log(tvs('nat-show', 'r1'));
  console.log('$ tvs dump-ports br-int');
  console.log(tvs('dump-ports', 'br-int'));
  step('Tearing down');
}

runDemo('demo', lab, main, { done: () => `done. The switch's log: ${LOG}` });
