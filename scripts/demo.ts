/**
 * `make demo`: a Neutron-like layout in network namespaces, run through a real `tvs start`
 * daemon and configured with the `tvs` CLI.
 *
 *   tenant A: vm-a1, vm-a2 on br-int VLAN 1      tenant B: vm-b1 on br-int VLAN 2
 *   br-int ──patch int-br-eth1 / phy-br-eth1── br-eth1 ── uplink (trunk) ── "physnet" namespace
 *
 * It pings within tenant A, shows tenant B cannot reach tenant A, runs a short iperf3, watches
 * the trunk with tcpdump -e, prints `tvs show`, `dump-ports`, `fdb-show`, then tears everything
 * down (also on Ctrl-C). Only addresses inside the namespaces it created are used.
 */
import { execFileSync, spawn, ChildProcess } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

const TVS = path.resolve(__dirname, '../src/cli/tvs.js');
const tag = process.pid.toString(36);
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tvs-demo-'));
const control = path.join(dir, 'tvs.sock');
const namespaces: string[] = [];
const links: string[] = [];
let daemon: ChildProcess | null = null;

function step(msg: string): void {
  process.stdout.write(`\n\x1b[1m==> ${msg}\x1b[0m\n`);
}
function sh(argv: string[], allowFail = false): string {
  try {
    return execFileSync(argv[0], argv.slice(1), { encoding: 'utf8', timeout: 30_000, stdio: ['ignore', 'pipe', 'pipe'] });
  } catch (e) {
    if (allowFail) return (e as { stdout?: string }).stdout ?? '';
    throw new Error(`${argv.join(' ')}: ${(e as { stderr?: string }).stderr ?? (e as Error).message}`);
  }
}
function tvs(...args: string[]): string {
  return sh([process.execPath, TVS, '--control', control, ...args]);
}
/** Async variant: the daemon is another process, but keep the demo responsive to Ctrl-C. */
function shAsync(argv: string[], timeoutMs = 30_000): Promise<string> {
  return new Promise((resolve) => {
    const p = spawn(argv[0], argv.slice(1), { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    p.stdout.on('data', (d) => (out += d));
    p.stderr.on('data', (d) => (out += d));
    const timer = setTimeout(() => p.pid && process.kill(p.pid, 'SIGKILL'), timeoutMs);
    p.on('close', () => {
      clearTimeout(timer);
      resolve(out);
    });
  });
}

function netns(name: string): string {
  const ns = `${name}-${tag}`.slice(0, 15);
  sh(['ip', 'netns', 'add', ns]);
  namespaces.push(ns);
  sh(['ip', '-n', ns, 'link', 'set', 'lo', 'up']);
  return ns;
}
/** veth with one end in `ns` (address `cidr`), the other in the root namespace for the switch. */
function veth(hostName: string, ns: string, cidr?: string): { host: string; peer: string } {
  const host = `${hostName}${tag}`.slice(0, 15);
  const peer = `p${hostName}${tag}`.slice(0, 15);
  sh(['ip', 'link', 'add', host, 'type', 'veth', 'peer', 'name', peer]);
  links.push(host);
  sh(['sysctl', '-qw', `net.ipv6.conf.${host}.disable_ipv6=1`], true);
  sh(['ip', 'link', 'set', peer, 'netns', ns]);
  if (cidr) sh(['ip', '-n', ns, 'addr', 'add', cidr, 'dev', peer]);
  sh(['ip', 'link', 'set', host, 'up']);
  sh(['ip', '-n', ns, 'link', 'set', peer, 'up']);
  return { host, peer };
}

function cleanup(): void {
  if (daemon?.pid && daemon.exitCode === null) {
    try {
      process.kill(daemon.pid, 'SIGTERM');
    } catch {
      /* gone */
    }
  }
  for (const l of links) sh(['ip', 'link', 'del', l], true);
  for (const ns of namespaces) sh(['ip', 'netns', 'del', ns], true);
  fs.rmSync(dir, { recursive: true, force: true });
}

async function main(): Promise<void> {
  if (process.getuid && process.getuid() !== 0) throw new Error('the demo creates namespaces and devices: run it as root');
  step('Creating namespaces: tenant A (vm-a1, vm-a2), tenant B (vm-b1), the physical network');
  const a1 = netns('vm-a1');
  const a2 = netns('vm-a2');
  const b1 = netns('vm-b1');
  const phys = netns('physnet');
  const va1 = veth('tda1', a1, '10.201.1.11/24');
  const va2 = veth('tda2', a2, '10.201.1.12/24');
  const vb1 = veth('tdb1', b1, '10.201.1.21/24'); // same subnet on purpose: isolation is by VLAN
  const up = veth('tdup', phys);

  step('Starting the switch: tvs start');
  daemon = spawn(process.execPath, [TVS, 'start', '--control', control], { stdio: ['ignore', 'inherit', 'inherit'] });
  for (let i = 0; i < 100 && !fs.existsSync(control); i++) await new Promise((r) => setTimeout(r, 100));
  if (!fs.existsSync(control)) throw new Error('tvs start did not come up');

  step('Building br-int (local VLANs) and br-eth1 (physical trunk), joined by patch ports');
  const cmds = [
    ['add-br', 'br-int'],
    ['add-br', 'br-eth1'],
    ['add-port', 'br-int', va1.host, 'tag=1'],
    ['add-port', 'br-int', va2.host, 'tag=1'],
    ['add-port', 'br-int', vb1.host, 'tag=2'],
    ['add-port', 'br-int', 'int-br-eth1', 'type=patch', 'peer=phy-br-eth1'],
    ['add-port', 'br-eth1', 'phy-br-eth1', 'type=patch', 'peer=int-br-eth1'],
    ['add-port', 'br-eth1', up.host],
  ];
  for (const c of cmds) {
    console.log(`  tvs ${c.join(' ')}`);
    tvs(...c);
  }

  step('Watching the physical trunk with tcpdump -e while tenant A pings');
  const capture = shAsync(['ip', 'netns', 'exec', phys, 'timeout', '4', 'tcpdump', '-i', up.peer, '-e', '-nn', '-c', '2', 'arp'], 10_000);
  await new Promise((r) => setTimeout(r, 800));
  console.log((await shAsync(['ip', 'netns', 'exec', a1, 'ping', '-c', '3', '-i', '0.2', '-W', '2', '10.201.1.12'])).trim());
  console.log('  tcpdump on the trunk:');
  console.log((await capture).split('\n').filter((l) => l.includes('vlan')).map((l) => '    ' + l).join('\n'));

  step('Tenant B (VLAN 2) tries to reach tenant A on the same subnet: isolated');
  const iso = await shAsync(['ip', 'netns', 'exec', b1, 'ping', '-c', '2', '-i', '0.2', '-W', '1', '10.201.1.11']);
  console.log(iso.split('\n').filter((l) => l.includes('loss')).join('\n') + '   (100% loss expected)');

  step('iperf3 TCP between vm-a1 and vm-a2 through the switch (2 s)');
  await shAsync(['ip', 'netns', 'exec', a2, 'iperf3', '-s', '-1', '-D', '-p', '5299']);
  await new Promise((r) => setTimeout(r, 300));
  const ip = await shAsync(['ip', 'netns', 'exec', a1, 'iperf3', '-c', '10.201.1.12', '-p', '5299', '-t', '2'], 20_000);
  console.log(ip.split('\n').filter((l) => /sender|receiver/.test(l)).join('\n'));

  step('tvs show');
  console.log(tvs('show'));
  step('tvs dump-ports br-int');
  console.log(tvs('dump-ports', 'br-int'));
  step('tvs fdb-show br-int');
  console.log(tvs('fdb-show', 'br-int'));
  step('Tearing down');
}

process.on('SIGINT', () => {
  console.log('\ninterrupted: tearing down');
  cleanup();
  process.exit(130);
});
main().then(
  () => {
    cleanup();
    console.log('done.');
  },
  (e) => {
    console.error(`demo failed: ${(e as Error).message}`);
    cleanup();
    process.exit(1);
  },
);
