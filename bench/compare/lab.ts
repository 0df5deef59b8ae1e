/**
 * The comparison's topology and the three switches under test.
 *
 *   h1 ns: eth0 ──veth── p1 ┐
 *                            ├─ switch ns: Linux bridge / kernel router, ovs-vswitchd, or tvs
 *   h2 ns: eth0 ──veth── p2 ┘
 *
 * The switch side of both veths lives in a namespace of its own, so nothing the bench does
 * touches the root namespace's interfaces, and every switch sees exactly the same devices.
 * Addresses are on 10.222.x.0/24 only. Everything created is removed by `destroy()`, which
 * every caller runs in a `finally`.
 */
import { SWITCH_NODE_FLAGS, SWITCH_ENV } from '../../src/cli/node-flags';
import { spawn } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { sh, nsx, sleep, stopPid, pidAlive } from './sys';
import { agentBaseFlows, renderFirewallFlows, type FwPort } from '../../src/neutron/firewall-flows';
import { ovsRouterFlows, ROUTER_OFPORTS } from './ovs-router-flows';

export type Scenario = 'l2' | 'vlan' | 'nat' | 'fw';
export type SwitchKind = 'linux' | 'ovs' | 'tvs';

export const SCENARIOS: Scenario[] = ['l2', 'vlan', 'nat', 'fw'];
export const SWITCHES: SwitchKind[] = ['linux', 'ovs', 'tvs'];

/** Which switch can run which scenario (n/a otherwise, with the reason). */
export function notApplicable(kind: SwitchKind, scenario: Scenario): string | undefined {
  if (kind === 'linux' && scenario === 'vlan') return 'no bridge VLAN filtering on this kernel';
  if (kind === 'linux' && scenario === 'fw') return 'the firewall scenario is the Neutron OVS firewall\'s OpenFlow tables; the Linux bridge has none';
  return undefined;
}

export const ADDR = {
  l2: { h1: '10.222.0.1', h2: '10.222.0.2', prefix: 24 },
  // nat: h1 is the tenant VM, h2 an external host; traffic goes to h1's floating IP.
  nat: { h1: '10.222.1.10', gw1: '10.222.1.1', h2: '10.222.2.100', gw2: '10.222.2.1', fip: '10.222.2.50', prefix: 24 },
};

const TVS = path.resolve(__dirname, '../../src/cli/tvs.js');

/** CPU the switch processes are pinned to (trafgen runs on CPU 0 with `--cpus 1`). */
export const SWITCH_CPU = os.cpus().length > 1 ? '1' : '0';

export class Lab {
  readonly tag = (process.pid.toString(36) + Math.floor(Math.random() * 36 ** 2).toString(36)).slice(-6);
  readonly h1 = `tvch1${this.tag}`;
  readonly h2 = `tvch2${this.tag}`;
  readonly sw = `tvcsw${this.tag}`;
  readonly dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tvs-compare-'));
  private made: string[] = [];

  constructor(readonly scenario: Scenario) {}

  create(): void {
    for (const ns of [this.h1, this.h2, this.sw]) {
      sh(['ip', 'netns', 'add', ns]);
      this.made.push(ns);
      sh(['ip', '-n', ns, 'link', 'set', 'lo', 'up']);
      sh(nsx(ns, ['sysctl', '-qw', 'net.ipv6.conf.all.disable_ipv6=1', 'net.ipv6.conf.default.disable_ipv6=1']), { allowFail: true });
    }
    // veth pairs created directly between the namespaces.
    sh(['ip', '-n', this.h1, 'link', 'add', 'eth0', 'type', 'veth', 'peer', 'name', 'p1', 'netns', this.sw]);
    sh(['ip', '-n', this.h2, 'link', 'add', 'eth0', 'type', 'veth', 'peer', 'name', 'p2', 'netns', this.sw]);
    for (const [ns, dev] of [[this.h1, 'eth0'], [this.h2, 'eth0'], [this.sw, 'p1'], [this.sw, 'p2']]) sh(['ip', '-n', ns, 'link', 'set', dev, 'up']);
    if (this.scenario === 'nat') {
      const a = ADDR.nat;
      sh(['ip', '-n', this.h1, 'addr', 'add', `${a.h1}/${a.prefix}`, 'dev', 'eth0']);
      sh(['ip', '-n', this.h2, 'addr', 'add', `${a.h2}/${a.prefix}`, 'dev', 'eth0']);
      sh(['ip', '-n', this.h1, 'route', 'add', 'default', 'via', a.gw1]);
      // h2 (external) has no route to the tenant subnet: it reaches h1 only by the floating IP.
    } else {
      const a = ADDR.l2;
      sh(['ip', '-n', this.h1, 'addr', 'add', `${a.h1}/${a.prefix}`, 'dev', 'eth0']);
      sh(['ip', '-n', this.h2, 'addr', 'add', `${a.h2}/${a.prefix}`, 'dev', 'eth0']);
    }
  }

  mac(ns: string, dev = 'eth0'): string {
    return JSON.parse(sh(['ip', '-n', ns, '-j', 'link', 'show', dev]))[0].address as string;
  }

  /** veth offloads on the hosts' and the switch's ends. */
  offloads(on: boolean): void {
    const v = on ? 'on' : 'off';
    for (const [ns, dev] of [[this.h1, 'eth0'], [this.h2, 'eth0'], [this.sw, 'p1'], [this.sw, 'p2']]) {
      sh(nsx(ns, ['ethtool', '-K', dev, 'tso', v, 'gso', v, 'gro', v, 'tx', v, 'rx', v]), { allowFail: true });
    }
  }

  destroy(): void {
    for (const ns of this.made.reverse()) sh(['ip', 'netns', 'del', ns], { allowFail: true });
    this.made = [];
    fs.rmSync(this.dir, { recursive: true, force: true });
  }
}

/**
 * The 'fw' scenario's flows: Neutron's openvswitch firewall for h1 (ofport 3) and h2 (ofport 4)
 * on br-int, local VLAN 1, one security group: all egress; ingress ICMP, UDP 9 (the load) and
 * TCP 5300-5399 (iperf3) from the group itself (conjunctions). Written to a file both switches
 * load with add-flows.
 */
export const FW_OFPORTS = { p1: 3, p2: 4 };
export function firewallFlowsFile(lab: Lab): string {
  const a = ADDR.l2;
  const port = (ofport: number, mac: string, ip: string): FwPort => ({ ofport, mac, fixedIps: [ip], vlan: 1, networkType: 'vxlan', securityGroups: ['sg'] });
  const ports = [port(FW_OFPORTS.p1, lab.mac(lab.h1), a.h1), port(FW_OFPORTS.p2, lab.mac(lab.h2), a.h2)];
  const flows = renderFirewallFlows(ports, {
    cookie: 0x1234n,
    groups: [
      {
        id: 'sg',
        rules: [
          { direction: 'egress', ethertype: 'IPv4' },
          { direction: 'egress', ethertype: 'IPv6' },
          { direction: 'ingress', ethertype: 'IPv4', protocol: 1, remote_group_id: 'sg' },
          { direction: 'ingress', ethertype: 'IPv4', protocol: 17, port_range_min: 9, port_range_max: 9, remote_group_id: 'sg' },
          { direction: 'ingress', ethertype: 'IPv4', protocol: 6, port_range_min: 5300, port_range_max: 5399, remote_group_id: 'sg' },
        ],
      },
    ],
    members: { sg: { IPv4: ports.map((p) => [p.fixedIps[0], p.mac] as [string, string]), IPv6: [] } },
  });
  const file = path.join(lab.dir, 'fw.flows');
  fs.writeFileSync(file, [...agentBaseFlows(), ...flows].join('\n') + '\n');
  return file;
}

/** The 'nat' scenario's OVS router flows (ovs-router-flows.ts) for this lab's hosts, in a file for add-flows. */
export function routerFlowsFile(lab: Lab, opts: { nat?: boolean } = {}): string {
  const file = path.join(lab.dir, 'router.flows');
  fs.writeFileSync(file, ovsRouterFlows(ADDR.nat, { h1: lab.mac(lab.h1), h2: lab.mac(lab.h2) }, opts).join('\n') + '\n');
  return file;
}

/** A switch under test, set up for one scenario inside a Lab. */
export interface SwitchUnderTest {
  readonly kind: SwitchKind;
  /** The process whose CPU and RSS are measured (0: in-kernel, nothing to measure). */
  pid(): number;
  setup(): Promise<void>;
  /** Called before the offloads-on TCP test (OVS restarts with userspace TSO). */
  beforeTcpOffloadsOn?(): Promise<void>;
  /** Label for the offloads-on TCP figure. */
  tcpOnLabel?: string;
  /** tvs only: stop and start again with these `tvs start` options, set up as before. */
  restart?(startArgs: string[]): Promise<void>;
  teardown(): Promise<void>;
}

// ---------------------------------------------------------------- Linux bridge / kernel router

export class LinuxSwitch implements SwitchUnderTest {
  readonly kind = 'linux';
  constructor(private lab: Lab) {}
  pid(): number {
    return 0;
  }
  async setup(): Promise<void> {
    const { sw } = this.lab;
    if (this.lab.scenario === 'l2') {
      sh(['ip', '-n', sw, 'link', 'add', 'br0', 'type', 'bridge', 'stp_state', '0', 'forward_delay', '0']);
      sh(['ip', '-n', sw, 'link', 'set', 'p1', 'master', 'br0']);
      sh(['ip', '-n', sw, 'link', 'set', 'p2', 'master', 'br0']);
      sh(['ip', '-n', sw, 'link', 'set', 'br0', 'up']);
    } else if (this.lab.scenario === 'nat') {
      // A Neutron-style qrouter namespace: the floating IP on the gateway port, DNAT in
      // prerouting, SNAT in postrouting.
      const a = ADDR.nat;
      sh(['ip', '-n', sw, 'addr', 'add', `${a.gw1}/${a.prefix}`, 'dev', 'p1']);
      sh(['ip', '-n', sw, 'addr', 'add', `${a.gw2}/${a.prefix}`, 'dev', 'p2']);
      sh(['ip', '-n', sw, 'addr', 'add', `${a.fip}/32`, 'dev', 'p2']);
      sh(nsx(sw, ['sysctl', '-qw', 'net.ipv4.ip_forward=1']));
      const rules = path.join(this.lab.dir, 'nat.nft');
      fs.writeFileSync(
        rules,
        `table ip tvcnat {
  chain pre { type nat hook prerouting priority -100; ip daddr ${a.fip} dnat to ${a.h1}; }
  chain post { type nat hook postrouting priority 100; oifname "p2" ip saddr ${a.h1} snat to ${a.fip}; }
}
`,
      );
      sh(nsx(sw, ['nft', '-f', rules]));
    } else {
      throw new Error('linux: vlan scenario not applicable');
    }
  }
  async teardown(): Promise<void> {
    /* the namespace goes with the lab */
  }
}

// ---------------------------------------------------------------- Open vSwitch, userspace datapath

export class OvsSwitch implements SwitchUnderTest {
  readonly kind = 'ovs';
  readonly tcpOnLabel = 'userspace-tso-enable=true';
  private dir: string;
  private dbPid = 0;
  private vsPid = 0;
  private env: NodeJS.ProcessEnv;

  constructor(private lab: Lab) {
    this.dir = path.join(lab.dir, 'ovs');
    fs.mkdirSync(this.dir, { recursive: true });
    // Private run/db/log dirs: nothing touches the system's /var/run/openvswitch.
    this.env = {
      ...process.env,
      OVS_RUNDIR: this.dir,
      OVS_DBDIR: this.dir,
      OVS_LOGDIR: this.dir,
      OVS_SYSCONFDIR: this.dir,
      OVS_PKGDATADIR: '/usr/share/openvswitch',
      OVS_BINDIR: '/usr/bin',
    };
  }

  pid(): number {
    return this.vsPid;
  }

  private get db(): string {
    return `unix:${path.join(this.dir, 'db.sock')}`;
  }

  vsctl(...args: string[]): string {
    return sh(['ovs-vsctl', `--db=${this.db}`, '--timeout=20', ...args], { env: this.env, timeoutMs: 30_000 });
  }
  ofctl(...args: string[]): string {
    return sh(nsx(this.lab.sw, ['ovs-ofctl', ...args]), { env: this.env, timeoutMs: 30_000 });
  }

  private readPid(file: string): number {
    for (let i = 0; i < 100; i++) {
      try {
        const p = Number(fs.readFileSync(path.join(this.dir, file), 'utf8').trim());
        if (p > 0) return p;
      } catch {
        /* not yet */
      }
      sh(['sleep', '0.05']);
    }
    throw new Error(`ovs: no ${file} in ${this.dir}`);
  }

  private startVswitchd(): void {
    const pidfile = path.join(this.dir, 'vswitchd.pid');
    fs.rmSync(pidfile, { force: true });
    sh(
      nsx(this.lab.sw, [
        'taskset', '-c', SWITCH_CPU,
        'ovs-vswitchd', this.db, `--pidfile=${pidfile}`, '--detach', '--no-chdir', `--log-file=${path.join(this.dir, 'vswitchd.log')}`,
      ]),
      { env: this.env },
    );
    this.vsPid = this.readPid('vswitchd.pid');
  }

  async setup(): Promise<void> {
    const d = this.dir;
    sh(['ovsdb-tool', 'create', path.join(d, 'conf.db'), '/usr/share/openvswitch/vswitch.ovsschema'], { env: this.env });
    sh(
      [
        'ovsdb-server', path.join(d, 'conf.db'), `--remote=punix:${path.join(d, 'db.sock')}`,
        `--pidfile=${path.join(d, 'ovsdb.pid')}`, '--detach', '--no-chdir', `--log-file=${path.join(d, 'ovsdb.log')}`,
      ],
      { env: this.env },
    );
    this.dbPid = this.readPid('ovsdb.pid');
    this.vsctl('--no-wait', 'init');
    this.vsctl('--no-wait', 'set', 'Open_vSwitch', '.', 'other_config:userspace-tso-enable=false');
    this.startVswitchd();
    if (this.lab.scenario === 'l2') {
      this.vsctl('add-br', 'br0', '--', 'set', 'bridge', 'br0', 'datapath_type=netdev');
      this.vsctl('add-port', 'br0', 'p1', '--', 'add-port', 'br0', 'p2');
    } else if (this.lab.scenario === 'vlan') {
      // Same shape as tvs's bench: two bridges joined by patch ports; push on ingress, pop on egress.
      this.vsctl('add-br', 'br-a', '--', 'set', 'bridge', 'br-a', 'datapath_type=netdev');
      this.vsctl('add-br', 'br-b', '--', 'set', 'bridge', 'br-b', 'datapath_type=netdev');
      this.vsctl('add-port', 'br-a', 'p1', '--', 'add-port', 'br-b', 'p2');
      this.vsctl('add-port', 'br-a', 'pa', '--', 'set', 'interface', 'pa', 'type=patch', 'options:peer=pb');
      this.vsctl('add-port', 'br-b', 'pb', '--', 'set', 'interface', 'pb', 'type=patch', 'options:peer=pa');
      this.ofctl('del-flows', 'br-a');
      this.ofctl('del-flows', 'br-b');
      this.ofctl('add-flow', 'br-a', 'in_port=p1,actions=mod_vlan_vid:10,output:pa');
      this.ofctl('add-flow', 'br-a', 'in_port=pa,dl_vlan=10,actions=strip_vlan,output:p1');
      this.ofctl('add-flow', 'br-b', 'in_port=pb,dl_vlan=10,actions=strip_vlan,output:p2');
      this.ofctl('add-flow', 'br-b', 'in_port=p2,actions=mod_vlan_vid:10,output:pb');
    } else if (this.lab.scenario === 'fw') {
      this.vsctl('add-br', 'br-int', '--', 'set', 'bridge', 'br-int', 'datapath_type=netdev');
      this.vsctl('add-port', 'br-int', 'p1', 'tag=1', '--', 'set', 'interface', 'p1', `ofport_request=${FW_OFPORTS.p1}`);
      this.vsctl('add-port', 'br-int', 'p2', 'tag=1', '--', 'set', 'interface', 'p2', `ofport_request=${FW_OFPORTS.p2}`);
      this.ofctl('del-flows', 'br-int');
      this.ofctl('add-flows', 'br-int', firewallFlowsFile(this.lab));
    } else {
      // The router as OpenFlow flows with conntrack NAT (ovs-router-flows.ts says what and why).
      this.vsctl('add-br', 'br-r', '--', 'set', 'bridge', 'br-r', 'datapath_type=netdev');
      this.vsctl('add-port', 'br-r', 'p1', '--', 'set', 'interface', 'p1', `ofport_request=${ROUTER_OFPORTS.p1}`);
      this.vsctl('add-port', 'br-r', 'p2', '--', 'set', 'interface', 'p2', `ofport_request=${ROUTER_OFPORTS.p2}`);
      this.ofctl('del-flows', 'br-r');
      this.ofctl('add-flows', 'br-r', routerFlowsFile(this.lab));
    }
    await sleep(500);
  }

  /** userspace TSO is read once at start: set it, restart ovs-vswitchd (the db keeps the bridges). */
  async beforeTcpOffloadsOn(): Promise<void> {
    this.vsctl('--no-wait', 'set', 'Open_vSwitch', '.', 'other_config:userspace-tso-enable=true');
    await stopPid(this.vsPid);
    this.startVswitchd();
    // Wait until vswitchd has reconfigured from the db (ports back).
    this.vsctl('--timeout=20', 'wait-until', 'Interface', 'p1', 'ofport>0');
    await sleep(800);
  }

  async teardown(): Promise<void> {
    await stopPid(this.vsPid);
    await stopPid(this.dbPid);
    this.vsPid = this.dbPid = 0;
  }
}

// ---------------------------------------------------------------- tvs

export class TvsSwitch implements SwitchUnderTest {
  readonly kind = 'tvs';
  readonly tcpOnLabel = 'vnet header (TSO frames carried)';
  private daemonPid = 0;
  private control: string;
  /** Extra `tvs start` options (ab.js / rx-loss.js variants: words `start:--OPTION=VALUE`). */
  startArgs: string[] = [];
  /** The `tvs` script to run (another build's dist/src/cli/tvs.js for an A/B). */
  tvsScript = TVS;
  /** portOpts: extra add-port options for the two host-facing ports p1 and p2 (e.g. tx_ring=on), for A/B runs (l2, vlan, fw). */
  constructor(private lab: Lab, private extraNodeArgs: string[] = [], private portOpts: string[] = []) {
    this.control = path.join(lab.dir, 'tvs.sock');
  }
  pid(): number {
    return this.daemonPid;
  }
  tvs(...args: string[]): string {
    return sh([process.execPath, this.tvsScript, '--control', this.control, ...args]);
  }
  async setup(): Promise<void> {
    this.daemonPid = await startTvsDaemon(this.lab.sw, this.lab.dir, this.control, this.extraNodeArgs, SWITCH_CPU, this.startArgs, this.tvsScript);
    const t = (...a: string[]) => this.tvs(...a);
    if (this.lab.scenario === 'l2') {
      t('add-br', 'br0');
      t('add-port', 'br0', 'p1', ...this.portOpts);
      t('add-port', 'br0', 'p2', ...this.portOpts);
    } else if (this.lab.scenario === 'vlan') {
      t('add-br', 'br-a');
      t('add-br', 'br-b');
      t('add-port', 'br-a', 'p1', ...this.portOpts);
      t('add-port', 'br-a', 'pa', 'type=patch', 'peer=pb');
      t('add-port', 'br-b', 'pb', 'type=patch', 'peer=pa');
      t('add-port', 'br-b', 'p2', ...this.portOpts);
      // Same as the OVS side: the default priority=0,actions=NORMAL flow goes first.
      t('del-flows', 'br-a');
      t('del-flows', 'br-b');
      t('add-flow', 'br-a', 'in_port=p1,actions=mod_vlan_vid:10,output:pa');
      t('add-flow', 'br-a', 'in_port=pa,dl_vlan=10,actions=strip_vlan,output:p1');
      t('add-flow', 'br-b', 'in_port=pb,dl_vlan=10,actions=strip_vlan,output:p2');
      t('add-flow', 'br-b', 'in_port=p2,actions=mod_vlan_vid:10,output:pb');
    } else if (this.lab.scenario === 'fw') {
      t('add-br', 'br-int');
      t('add-port', 'br-int', 'p1', 'tag=1', `ofport=${FW_OFPORTS.p1}`, ...this.portOpts);
      t('add-port', 'br-int', 'p2', 'tag=1', `ofport=${FW_OFPORTS.p2}`, ...this.portOpts);
      t('del-flows', 'br-int');
      t('add-flows', 'br-int', firewallFlowsFile(this.lab));
    } else {
      const a = ADDR.nat;
      t('add-br', 'br-int');
      t('add-br', 'br-ex');
      t('add-port', 'br-int', 'p1', 'tag=1');
      t('add-port', 'br-ex', 'p2');
      t('add-router', 'r1');
      t('router-add-port', 'r1', 'br-int', 'qr-1', 'mac=02:52:00:00:01:01', `ip=${a.gw1}/${a.prefix}`, 'tag=1');
      t('router-add-port', 'r1', 'br-ex', 'qg-1', 'mac=02:52:00:00:ff:01', `ip=${a.gw2}/${a.prefix}`, 'gateway');
      t('add-floating-ip', 'r1', a.fip, a.h1);
    }
  }
  async restart(startArgs: string[]): Promise<void> {
    if (this.daemonPid) await this.teardown();
    this.startArgs = startArgs;
    await this.setup();
  }
  async teardown(): Promise<void> {
    const pid = this.daemonPid;
    this.daemonPid = 0;
    await stopPid(pid, 8000);
    if (pid && pidAlive(pid)) throw new Error(`tvs ${pid} did not stop`);
  }
}

/**
 * The node flags and environment the `tvs` script at `tvs` starts its switch with: another
 * checkout's own (its dist/src/cli/node-flags.js) when an A/B runs one, so a change of flags is
 * part of what is compared; this build's otherwise.
 */
function switchFlagsOf(tvs: string): { flags: readonly string[]; env: Readonly<Record<string, string>> } {
  if (tvs === TVS) return { flags: SWITCH_NODE_FLAGS, env: SWITCH_ENV };
  try {
    const m = require(path.join(path.dirname(tvs), 'node-flags.js')) as { SWITCH_NODE_FLAGS?: string[]; SWITCH_ENV?: Record<string, string> };
    return { flags: m.SWITCH_NODE_FLAGS ?? [], env: m.SWITCH_ENV ?? {} };
  } catch {
    return { flags: SWITCH_NODE_FLAGS, env: SWITCH_ENV };
  }
}

/**
 * Start a tvs daemon inside namespace `ns` (pinned to `cpu` unless undefined), its log in
 * `dir`; resolves with its PID once the control socket is there.
 */
export async function startTvsDaemon(ns: string, dir: string, control: string, nodeArgs: string[] = [], cpu?: string, startArgs: string[] = [], tvs = TVS): Promise<number> {
  const logFile = path.join(dir, `${path.basename(control, '.sock')}.log`);
  const log = fs.openSync(logFile, 'a');
  const pin = cpu !== undefined ? ['taskset', '-c', cpu] : [];
  const own = switchFlagsOf(tvs);
  // `ip netns exec` execs in place, so the child's PID is the daemon's.
  const d = spawn('ip', ['netns', 'exec', ns, ...pin, process.execPath, ...own.flags, ...nodeArgs, tvs, 'start', '--control', control, ...startArgs], {
    stdio: ['ignore', log, log],
    cwd: dir, // profilers' side files (v8 logs) land in the lab dir, removed with it
    env: { ...process.env, ...own.env },
  });
  fs.closeSync(log);
  d.on('error', () => undefined);
  for (let i = 0; i < 100 && !fs.existsSync(control); i++) await sleep(100);
  if (!fs.existsSync(control)) throw new Error(`tvs did not start: ${fs.readFileSync(logFile, 'utf8')}`);
  return d.pid ?? 0;
}

export function makeSwitch(kind: SwitchKind, lab: Lab, tvsNodeArgs: string[] = []): SwitchUnderTest {
  return kind === 'linux' ? new LinuxSwitch(lab) : kind === 'ovs' ? new OvsSwitch(lab) : new TvsSwitch(lab, tvsNodeArgs);
}
