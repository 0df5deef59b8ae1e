/**
 * Service connections, as OVS 3.1 treats them (connmgr.c ofconn_receives_async_msg; OVS's
 * docs, "Asynchronous Messages"): a connection the switch accepted on a listener — the bridge's
 * management socket, a passive `ptcp:` target — gets no asynchronous message (packet-in,
 * port-status, flow-removed) until it sets a nonzero miss_send_len. Open vSwitch's own
 * `ovs-ofctl monitor TARGET` (which sets none) prints nothing, `ovs-ofctl monitor TARGET 65535`
 * (SET_CONFIG miss_send_len 65535) prints the PORT_STATUS and PACKET_IN messages, on both.
 */
import t from 'tap';
import * as path from 'path';
import { Lab, sh } from '../../lab/netns';
import { startDaemon, tvsOk, waitUntil } from '../../lab/daemon';
import { mgmtOfctlSkipReason, mgmtTarget, ofctlMonitor } from '../helpers/mgmt-ofctl';

const why = mgmtOfctlSkipReason();

t.test('ovs-ofctl monitor without a miss_send_len hears nothing; with one, port status and packet-ins', { skip: why || false }, async (t) => {
  const lab = Lab.create(t);
  const sw = lab.netns('tvnssw');
  const peer = lab.netns('tvnspe');
  const v = lab.veth({ hostNs: sw, ns: peer, address: '10.232.7.2/24' });
  const d = await startDaemon(t, [], { ns: sw });
  const port = 20000 + ((process.pid + 6151) % 20000);
  await tvsOk(d.control, ['add-br', 'br0']);
  await tvsOk(d.control, ['add-port', 'br0', v.host]);
  await tvsOk(d.control, ['set-controller', 'br0', `ptcp:${port}:127.0.0.1`]);
  const rundir = path.dirname(d.control);
  const mgmt = mgmtTarget(d.control, 'br0');
  const tcp = `tcp:127.0.0.1:${port}`;
  const quiet = { mgmt: ofctlMonitor(t, mgmt, rundir, undefined, sw), tcp: ofctlMonitor(t, tcp, rundir, undefined, sw) };
  const loud = { mgmt: ofctlMonitor(t, mgmt, rundir, 65535, sw), tcp: ofctlMonitor(t, tcp, rundir, 65535, sw) };
  // All four connected: the bridge counts them (a ptcp connection also counts as a connected target).
  await waitUntil(
    'four OpenFlow connections',
    async () => (JSON.parse(await tvsOk(d.control, ['--json', 'get-controller', 'br0'])) as { connections: number }).connections === 4,
    15_000,
    100,
  );
  // Port status: a port added, heard by the monitors that asked (their SET_CONFIG may still be on
  // its way when the connections count: add until both heard one).
  let n = 0;
  await waitUntil(
    'both 65535 monitors to hear a PORT_STATUS ADD',
    async () => {
      await tvsOk(d.control, ['add-port', 'br0', `m${n++}`, 'type=memory']);
      await new Promise((r) => setTimeout(r, 300));
      return Object.values(loud).every((m) => /OFPT_PORT_STATUS.*ADD: \d+\(m\d+\)/.test(m.out()));
    },
    15_000,
    0,
  );
  // Packet-ins: every frame to the controller (the peer's ARP requests).
  await tvsOk(d.control, ['add-flow', 'br0', 'priority=100,actions=CONTROLLER:65535']);
  sh(['ip', 'netns', 'exec', peer, 'ping', '-c', '2', '-i', '0.2', '-W', '1', '10.232.7.1'], { allowFail: true });
  await waitUntil('both 65535 monitors to hear a PACKET_IN', () => Object.values(loud).every((m) => /OFPT_PACKET_IN/.test(m.out())), 10_000);
  await new Promise((r) => setTimeout(r, 300));
  for (const [name, m] of Object.entries(loud)) t.match(m.out(), /OFPT_PORT_STATUS[\s\S]*OFPT_PACKET_IN/, `${name}, miss_send_len 65535: PORT_STATUS and PACKET_IN`);
  for (const [name, m] of Object.entries(quiet)) {
    t.notMatch(m.out(), /OFPT_PORT_STATUS|OFPT_PACKET_IN|OFPT_FLOW_REMOVED/, `${name}, no miss_send_len: no asynchronous message (printed: ${JSON.stringify(m.out().slice(0, 300))})`);
  }
});
