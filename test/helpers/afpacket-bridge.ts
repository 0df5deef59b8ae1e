/**
 * A switch in this process with one bridge (br0) joining two kernel interfaces through AF_PACKET
 * ports (offloads off), started, and stopped when the test ends: the set-up the wakeup-path tests
 * (poll-spin, wake-ahead) share, so they exercise the addon's real rings and poller.
 */
import type { Test } from 'tap';
import { Switch } from '../../src/datapath/switch';

export function startAfpacketBridge(t: Test, spinUs: number, ifA: string, ifB: string): Switch {
  const sw = new Switch({ spinUs, arena: { slots: 256 } });
  t.teardown(() => sw.stop());
  sw.addBridge('br0');
  sw.addPort('br0', ifA, { type: 'afpacket', offloads: false });
  sw.addPort('br0', ifB, { type: 'afpacket', offloads: false });
  sw.start();
  return sw;
}
