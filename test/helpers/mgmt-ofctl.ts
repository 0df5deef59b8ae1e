/**
 * Open vSwitch's own `ovs-ofctl -O OpenFlow13` against a tvs bridge's management socket
 * (DIR/BR.mgmt, next to the daemon's control socket), for tests that check what OpenFlow
 * programmed on the wire between namespaces.
 */
import * as path from 'path';
import { isRoot, haveCmd } from '../../lab/netns';
import { run } from '../../lab/daemon';
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
