/**
 * Wireshark's OpenFlow dissector reads a captured tvs controller session: os-ken's learning switch
 * (test/osken/learning_switch.py) on a loopback TCP port, tcpdump on lo for that port only, one
 * ping between two namespace hosts to produce packet-ins and packet-outs. tshark must find no
 * malformed or error-level packet and must decode the session's OpenFlow 1.3 messages. Only the
 * decode is asserted here; forwarding is the os-ken test's job.
 */
import t from 'tap';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { isRoot, haveCmd, Lab } from '../../lab/netns';
import { startDaemon, tvsOk, nsRun, waitUntil } from '../../lab/daemon';
import { captureOpenflow, stopProcess as stop } from '../helpers/of-capture';
import { haveOsken, oskenAppPath, startOsken } from '../helpers/osken';
import { bindingAvailable } from '../../src/io/binding';

const APP = oskenAppPath('learning_switch.py');

const why = !isRoot()
  ? 'needs root: creates namespaces, veth devices and captures on lo'
  : !bindingAvailable()
    ? 'native addon not built (run make)'
    : !haveOsken() || !haveCmd('ping') || !haveCmd('tcpdump') || !haveCmd('tshark')
      ? 'needs Debian python3-os-ken, ping, tcpdump and tshark (make test installs them)'
      : '';

/** Poll every 200 ms (each poll is a CLI call). */
function until(what: string, fn: () => Promise<boolean>, ms: number): Promise<void> {
  return waitUntil(what, fn, ms, 200);
}

// The capture (helpers/of-capture.ts) runs in immediate mode; the test waits until tcpdump has
// written the PACKET_IN/OUT before stopping it (a lost last block was the full-suite flake).
t.test('tshark decodes a tvs controller session without errors', { skip: why || false }, async (t) => {
  const lab = Lab.create(t);
  const d = await startDaemon(t);
  const port = 20000 + ((process.pid + 7919) % 20000);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tvs-ofpcap-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));

  await tvsOk(d.control, ['add-br', 'br0']);
  const hosts: { ns: string; ip: string }[] = [];
  for (let i = 1; i <= 2; i++) {
    const ns = lab.netns(`tvnoc${i}`);
    const v = lab.veth({ ns, address: `10.233.0.${i}/24` });
    await tvsOk(d.control, ['add-port', 'br0', v.host]);
    hosts.push({ ns, ip: `10.233.0.${i}` });
  }
  await tvsOk(d.control, ['set-fail-mode', 'br0', 'secure']);

  const cap = await captureOpenflow(t, dir, port);

  const app = (await startOsken(t, APP, port, path.join(dir, 'osken.log'))).proc;
  await tvsOk(d.control, ['set-controller', 'br0', `tcp:127.0.0.1:${port}`]);
  const controller = async () => JSON.parse(await tvsOk(d.control, ['--json', 'get-controller', 'br0'])) as { targets: { connected: boolean }[]; packetIns: number; packetOuts: number };
  await until('the switch to connect', async () => (await controller()).targets[0].connected, 15_000);
  await until('the table-miss flow', async () => /actions=CONTROLLER:65535/.test(await tvsOk(d.control, ['dump-flows', 'br0'])), 10_000);
  await nsRun(hosts[0].ns, ['ping', '-c', '2', '-i', '0.2', '-W', '1', hosts[1].ip]);
  await until('packet-ins and packet-outs', async () => {
    const c = await controller();
    return c.packetIns >= 1 && c.packetOuts >= 1;
  }, 10_000);

  const { tshark, decodedTypes } = cap;
  // tcpdump writes each packet as it gets it (-U): wait until the packet-in/out are in the file.
  await until('tcpdump to write the PACKET_IN and PACKET_OUT', async () => {
    try {
      const ty = await decodedTypes();
      return ty.has(10) && ty.has(13);
    } catch {
      return false; // a record being written: read again
    }
  }, 10_000);

  await tvsOk(d.control, ['del-controller', 'br0']);
  await stop(app);
  await new Promise((r) => setTimeout(r, 300));
  await cap.stop();

  t.equal(await tshark('-Y', '_ws.malformed || _ws.expert.severity==error'), '', 'no malformed or error-level packet in the session');
  const types = await decodedTypes();
  const seen = [...types].sort((a, b) => a - b).join(',');
  // HELLO, FEATURES_REQUEST, FEATURES_REPLY, PACKET_IN, PACKET_OUT, FLOW_MOD
  for (const ty of [0, 5, 6, 10, 13, 14]) t.ok(types.has(ty), `an openflow_v4 message of type ${ty} is decoded (saw ${seen})`);
});
