/**
 * Open vSwitch's own `ovs-ofctl -O OpenFlow13` against a tvs bridge's management socket
 * (DIR/BR.mgmt, next to the daemon's control socket), for tests that check what OpenFlow
 * programmed on the wire between namespaces.
 */
import * as path from 'path';
import { spawn } from 'child_process';
import { isRoot, haveCmd, type Teardownable } from '../../lab/netns';
import { run } from '../../lab/daemon';
import { stopProcess } from './of-capture';
import { bindingAvailable } from '../../src/io/binding';

/** Why an ovs-ofctl-on-the-wire test cannot run here ('' when it can). */
export function mgmtOfctlSkipReason(): string {
  return !isRoot()
    ? 'needs root: creates namespaces, veth devices and AF_PACKET ports'
    : !bindingAvailable()
      ? 'native addon not built (run make)'
      : !haveCmd('ovs-ofctl') || !haveCmd('ping')
        ? 'needs ovs-ofctl (Debian openvswitch-common) and ping (make test installs them)'
        : '';
}

/** The `unix:` target of bridge `bridge`'s management socket for the daemon on `control`. */
export function mgmtTarget(control: string, bridge: string): string {
  return `unix:${path.join(path.dirname(control), `${bridge}.mgmt`)}`;
}

/** `ovs-ofctl -O OpenFlow13 ARGS`: its stdout; throws with its stderr when it fails. */
export async function ofctl13(args: string[]): Promise<string> {
  const r = await run(['ovs-ofctl', '-O', 'OpenFlow13', ...args], 20_000);
  if (r.code !== 0) throw new Error(`ovs-ofctl ${args.join(' ')} failed (${r.code}): ${r.stderr}`);
  return r.stdout;
}

/** A running `ovs-ofctl monitor`: everything it printed so far. */
export interface OfctlMonitor {
  out(): string;
}

/**
 * Open vSwitch's own client printing every asynchronous message the switch sends it
 * (`ovs-ofctl -O OpenFlow13 monitor TARGET [N]`), stopped at teardown. `missSendLen`: sent with
 * SET_CONFIG, as `monitor TARGET N` does; OVS sends nothing to a management-socket connection
 * that has not set one. `rundir`: where its own control socket goes (OVS_RUNDIR: the daemon's
 * private directory, not the system's). `ns`: run it in that network namespace (a tcp: target
 * of a daemon there).
 */
export function ofctlMonitor(t: Teardownable, target: string, rundir: string, missSendLen?: number, ns?: string): OfctlMonitor {
  const argv = ['ovs-ofctl', '-O', 'OpenFlow13', 'monitor', target, ...(missSendLen !== undefined ? [String(missSendLen)] : [])];
  // `ip netns exec` execs the command: the PID stopProcess ends is ovs-ofctl's own.
  const cmd = ns !== undefined ? ['ip', 'netns', 'exec', ns, ...argv] : argv;
  const mon = spawn(cmd[0], cmd.slice(1), {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, OVS_RUNDIR: rundir },
  });
  t.teardown(() => stopProcess(mon));
  let out = '';
  mon.stdout.on('data', (b) => (out += b));
  mon.stderr.on('data', (b) => (out += b));
  return { out: () => out };
}
