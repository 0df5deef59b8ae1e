/**
 * Real kernel peers for integration tests and benches (lab/: what both share, so benches never
 * import test code): network namespaces and veth pairs.
 *
 *   import t from 'tap';
 *   import { Lab, isRoot } from '../../lab/netns';
 *
 *   t.test('something on the wire', { skip: isRoot() ? false : 'needs root: creates veth/TAP devices' }, async (t) => {
 *     const lab = Lab.create(t);                   // cleanup() registered with t.teardown
 *     const ns = lab.netns('peer');               // 'tvn-peer-<pid>-<n>'
 *     const v = lab.veth({ ns, address: '10.9.0.2/24' });
 *     // v.host: interface in the root namespace (give it to the switch; `hostNs` puts it in another)
 *     // v.peer: the other end, inside `ns`, up, with the address
 *     lab.nsExec(ns, 'ping -c1 -W1 10.9.0.1');
 *   });
 *
 * Every name carries a per-process suffix so tests running in parallel (tap runs files in
 * separate processes) never collide, and everything a Lab creates is removed by cleanup(),
 * which is idempotent and also runs on failure when registered with t.teardown.
 * Names start with 'tvn' so a leftover device is easy to recognise (and delete by hand).
 * The demos (scripts/) use the same Lab with fixed, readable names (netnsNamed, hostName,
 * peerName) and check beforehand that none of them exists.
 */
import { execFileSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';

/** Linux limits interface names to 15 characters (IFNAMSIZ - 1). */
export const IFNAME_MAX = 15;

export function isRoot(): boolean {
  return typeof process.getuid === 'function' && process.getuid() === 0;
}

/** True when `name` is an executable on PATH (or in the sbin directories, which root's PATH may lack). */
export function haveCmd(name: string): boolean {
  const dirs = (process.env.PATH ?? '').split(':').concat(['/usr/sbin', '/sbin', '/usr/bin', '/bin']);
  for (const d of dirs) {
    if (!d) continue;
    try {
      fs.accessSync(path.join(d, name), fs.constants.X_OK);
      return true;
    } catch {
      /* keep looking */
    }
  }
  return false;
}

export interface ShOptions {
  /** Do not throw on a non-zero exit; return the output anyway. */
  allowFail?: boolean;
  /** Kill the command after this many ms (default 20 s): tests must never hang. */
  timeoutMs?: number;
  /** Bytes written to the command's stdin. */
  input?: string;
}

/**
 * Run a command WITHOUT a shell: `cmd` is split on whitespace (no quoting), or pass an argv
 * array. Returns stdout. Throws an Error that shows the command, exit status and stderr.
 */
export function sh(cmd: string | string[], opts: ShOptions = {}): string {
  const argv = Array.isArray(cmd) ? cmd : cmd.trim().split(/\s+/);
  try {
    return execFileSync(argv[0], argv.slice(1), {
      encoding: 'utf8',
      stdio: ['pipe', 'pipe', 'pipe'],
      timeout: opts.timeoutMs ?? 20_000,
      input: opts.input,
    });
  } catch (e) {
    const err = e as { status?: number | null; signal?: string | null; stdout?: string; stderr?: string; message: string };
    if (opts.allowFail) return err.stdout ?? '';
    const why = err.signal ? `killed by ${err.signal}` : `exit ${err.status}`;
    const stderr = (err.stderr ?? '').toString().trim();
    throw new Error(`command failed (${why}): ${argv.join(' ')}${stderr ? `\n${stderr}` : `\n${err.message}`}`);
  }
}

let counter = 0;

/**
 * A unique name `<prefix><pid base36><n>` of at most 15 characters (valid for interfaces and
 * namespaces). The prefix is cut to fit; keep it short and meaningful ('tvna', 'tvnb'...).
 */
export function uniqueName(prefix: string): string {
  const suffix = process.pid.toString(36) + (counter++).toString(36);
  const room = IFNAME_MAX - suffix.length;
  if (room < 3) throw new Error(`uniqueName: suffix ${suffix} leaves no room for a prefix`);
  return prefix.slice(0, room) + suffix;
}

export interface VethOptions {
  /** Namespace for the peer end (default: the root namespace, like the host end). */
  ns?: string;
  /** Address with prefix for the peer end, e.g. '10.9.0.2/24' (needs ns or is set in root ns). */
  address?: string;
  /** MTU for both ends. */
  mtu?: number;
  /** Name prefixes (default 'tvnh' host end, 'tvnp' peer end). */
  hostPrefix?: string;
  peerPrefix?: string;
  /** Exact names instead of unique ones (a demo's readable names; the caller makes sure they are free). */
  hostName?: string;
  peerName?: string;
  /**
   * Namespace for the host end (default: the root namespace): where the switch under test runs
   * when it runs in a namespace of its own.
   */
  hostNs?: string;
  /** Address with prefix for the host end (in hostNs), e.g. an underlay's '10.234.0.1/24'. */
  hostAddress?: string;
  /** Bring both ends up (default true). */
  up?: boolean;
  /**
   * Disable IPv6 on the root-namespace ends (default true), so the host stack does not send
   * router solicitations / DAD probes into a test that counts frames.
   */
  quiet?: boolean;
}

export interface Veth {
  /** The switch's end: in the root namespace, or in `hostNs` when given. */
  host: string;
  /** Other end (inside `ns` when given). */
  peer: string;
  ns?: string;
  hostNs?: string;
}

/** Anything with a teardown hook (a node-tap Test). */
export interface Teardownable {
  teardown(fn: () => void | Promise<void>): void;
}

/** Creates namespaces, veth pairs and other devices, and removes all of them in cleanup(). */
export class Lab {
  private readonly namespaces: string[] = [];
  /** Links to delete, with the namespace each is in (undefined: the root namespace). */
  private readonly links: { name: string; ns?: string }[] = [];
  private readonly cleanups: Array<() => void> = [];
  private cleaned = false;

  /** A Lab whose cleanup runs in t.teardown (also when the test fails or throws). */
  static create(t: Teardownable): Lab {
    const lab = new Lab();
    t.teardown(() => lab.cleanup());
    return lab;
  }

  /**
   * Create a network namespace with loopback up. Returns its name.
   *
   * Every interface that later arrives in the namespace (a veth end moved in, a TAP, a tunnel
   * device) starts with IPv6 disabled, unless `ipv6` is true: otherwise each one sends router
   * solicitations (backing off 4, 8, 16... s, without end), MLD reports and DAD probes whenever
   * it comes up, and those frames cross the switch at moments no test controls, into captures
   * counted in frames and into counters. A test about IPv6 turns it back on per interface
   * (`sysctl net.ipv6.conf.<dev>.disable_ipv6=0`) or asks for it here.
   */
  netns(prefix = 'tvns', opts: { ipv6?: boolean } = {}): string {
    return this.netnsNamed(uniqueName(prefix.startsWith('tvn') ? prefix : `tvn${prefix}`), opts);
  }

  /** A namespace named exactly `name` (a demo's readable names), otherwise as netns(). */
  netnsNamed(name: string, opts: { ipv6?: boolean } = {}): string {
    sh(['ip', 'netns', 'add', name]);
    this.namespaces.push(name);
    sh(['ip', '-n', name, 'link', 'set', 'lo', 'up']);
    // A device moved into a namespace is registered anew there and takes that namespace's
    // `default` IPv6 settings, so this covers veth ends moved in after this call.
    if (!opts.ipv6) this.nsExec(name, ['sysctl', '-qw', 'net.ipv6.conf.default.disable_ipv6=1'], { allowFail: true });
    return name;
  }

  /** Create a veth pair; see VethOptions. */
  veth(opts: VethOptions = {}): Veth {
    const host = opts.hostName ?? uniqueName(opts.hostPrefix ?? 'tvnh');
    const peer = opts.peerName ?? uniqueName(opts.peerPrefix ?? 'tvnp');
    const { ns, hostNs } = opts;
    // Each end is made in its own namespace: no end passes through the root namespace, where
    // a fixed name could collide and IPv6 would start on it.
    sh(['ip', 'link', 'add', host, ...(hostNs ? ['netns', hostNs] : []), 'type', 'veth', 'peer', 'name', peer, ...(ns ? ['netns', ns] : [])]);
    // Deleting one end deletes both; remembering the host end is enough (deleting a namespace
    // deletes the pair too).
    this.links.push({ name: host, ns: hostNs });
    if (opts.quiet ?? true) {
      if (!hostNs) this.sysctl(`net.ipv6.conf.${host}.disable_ipv6`, '1');
      if (!ns) this.sysctl(`net.ipv6.conf.${peer}.disable_ipv6`, '1');
    }
    const inHost = (args: string[]) => sh(hostNs ? ['ip', '-n', hostNs, ...args] : ['ip', ...args]);
    const inPeer = (args: string[]) => sh(ns ? ['ip', '-n', ns, ...args] : ['ip', ...args]);
    if (opts.mtu) {
      inHost(['link', 'set', host, 'mtu', String(opts.mtu)]);
      inPeer(['link', 'set', peer, 'mtu', String(opts.mtu)]);
    }
    if (opts.hostAddress) inHost(['addr', 'add', opts.hostAddress, 'dev', host]);
    if (opts.address) inPeer(['addr', 'add', opts.address, 'dev', peer]);
    if (opts.up ?? true) {
      inHost(['link', 'set', host, 'up']);
      inPeer(['link', 'set', peer, 'up']);
    }
    return { host, peer, ns, hostNs };
  }

  /** Remember an interface created elsewhere (e.g. a TAP) so cleanup() deletes it. */
  adoptLink(name: string, ns?: string): void {
    this.cleanups.push(() => {
      sh(ns ? ['ip', '-n', ns, 'link', 'del', name] : ['ip', 'link', 'del', name], { allowFail: true });
    });
  }

  /** Run a cleanup function of your own (before links and namespaces are removed). */
  onCleanup(fn: () => void): void {
    this.cleanups.push(fn);
  }

  /** Run a command inside a namespace (argv split on whitespace, or an array). */
  nsExec(ns: string, cmd: string | string[], opts: ShOptions = {}): string {
    const argv = Array.isArray(cmd) ? cmd : cmd.trim().split(/\s+/);
    return sh(['ip', 'netns', 'exec', ns, ...argv], opts);
  }

  /** Set a sysctl (best effort: some do not exist on every kernel). */
  sysctl(key: string, value: string): void {
    const file = path.join('/proc/sys', key.replace(/\./g, '/'));
    try {
      fs.writeFileSync(file, value);
    } catch {
      /* not fatal for a test setup */
    }
  }

  /** Remove everything this Lab created, in reverse order. Idempotent; never throws. */
  cleanup(): void {
    if (this.cleaned) return;
    this.cleaned = true;
    for (const fn of this.cleanups.reverse()) {
      try {
        fn();
      } catch {
        /* keep cleaning */
      }
    }
    for (const l of this.links.reverse()) sh(l.ns ? ['ip', '-n', l.ns, 'link', 'del', l.name] : ['ip', 'link', 'del', l.name], { allowFail: true });
    for (const ns of this.namespaces.reverse()) sh(['ip', 'netns', 'del', ns], { allowFail: true });
  }
}

/** The Linux kernel's own vxlan device as the far end of a tvs VXLAN port; see kernelVxlanPeer. */
export interface KernelVxlanPeer {
  /** tvs's namespace: the underlay's near end (`<underlay>.1`) and the tenant port. */
  nsT: string;
  /** The kernel peer's: the underlay's far end (`<underlay>.2`) and the vxlan device (`<tenant>.2`). */
  nsK: string;
  /** The tenant host behind tvs (`<tenant>.1`, MTU 1450). */
  nsH: string;
  /** The underlay veth: `host` in nsT (10.x.1), `peer` in nsK (10.x.2). */
  underlay: Veth;
  /** The tenant veth: `host` in nsT (the port to give tvs), `peer` in nsH. */
  tenant: Veth;
  /** The vxlan device's name in nsK. */
  vxlanDev: string;
}

/**
 * Three namespaces for a tvs VXLAN port against the kernel's vxlan device:
 *
 *   nsH (tenant .1) ── veth ── nsT: [tvs: tenant port, vxlan port] underlay .1 ──┐
 *                                                                               │ UDP 4789, VNI `vni`
 *   nsK: underlay .2 ── vxlan device id `vni` (tenant .2) ─────────────────────────┘
 *
 * tvs runs in nsT (start it there) with its own underlay, so nothing touches the root
 * namespace's addresses. `underlay` and `tenant` are the first three octets of two /24s
 * ('10.234.0'). The tenant link has MTU 1450, what Neutron's DHCP advertises on VXLAN networks.
 */
export function kernelVxlanPeer(lab: Lab, o: { prefix: string; vni: number; underlay: string; tenant: string }): KernelVxlanPeer {
  const nsT = lab.netns(`${o.prefix}t`);
  const nsK = lab.netns(`${o.prefix}k`);
  const nsH = lab.netns(`${o.prefix}h`);
  const underlay = lab.veth({ hostNs: nsT, hostAddress: `${o.underlay}.1/24`, ns: nsK, address: `${o.underlay}.2/24` });
  const tenant = lab.veth({ hostNs: nsT, ns: nsH, address: `${o.tenant}.1/24`, mtu: 1450 });
  const vxlanDev = `vx${o.vni}`;
  const id = String(o.vni);
  lab.nsExec(nsK, ['ip', 'link', 'add', vxlanDev, 'type', 'vxlan', 'id', id, 'dstport', '4789', 'local', `${o.underlay}.2`, 'remote', `${o.underlay}.1`, 'dev', underlay.peer]);
  lab.nsExec(nsK, ['ip', 'addr', 'add', `${o.tenant}.2/24`, 'dev', vxlanDev]);
  lab.nsExec(nsK, ['ip', 'link', 'set', vxlanDev, 'up']);
  // On a real underlay the kernel completes checksums before a NIC sends; across a veth they
  // stay partial (the inner TCP checksum only holds the pseudo-header sum), and a UDP socket
  // hands the payload over as it is. Have the far end compute them, as a wire would.
  lab.nsExec(nsK, ['ethtool', '-K', vxlanDev, 'tx', 'off'], { allowFail: true });
  return { nsT, nsK, nsH, underlay, tenant, vxlanDev };
}
