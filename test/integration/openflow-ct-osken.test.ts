/**
 * An os-ken app (test/osken/ct_firewall.py) programs a stateful firewall on a secure tvs bridge
 * over OpenFlow 1.3 with os-ken's own classes: OFPMatch(ct_state=(value, mask), ct_zone=,
 * ct_mark=, ct_label=(value, mask)) and NXActionCT with set_field to ct_mark/ct_label nested.
 * The switch accepts every message (no OFPT_ERROR), os-ken parses the switch's FLOW stats reply
 * back into the same OFPMatch fields, `tvs dump-flows` shows the flows the
 * ovs-ofctl text of the same firewall makes, and the firewall holds on the wire between two
 * namespace hosts (test/helpers/ct-firewall-wire.ts). Needs root.
 */
import t from 'tap';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { isRoot, haveCmd } from '../../lab/netns';
import { tvsOk, waitUntil } from '../../lab/daemon';
import { haveOsken, oskenAppPath, startOsken } from '../helpers/osken';
import { firewallRig, checkStatefulFirewall } from '../helpers/ct-firewall-wire';
import { captureOpenflow } from '../helpers/of-capture';
import { bindingAvailable } from '../../src/io/binding';
import { FlowPipeline } from '../../src/flow/pipeline';
import { PacketArena } from '../../src/packet/arena';

const why = !isRoot()
  ? 'needs root: creates namespaces, veth devices and AF_PACKET ports'
  : !bindingAvailable()
    ? 'native addon not built (run make)'
    : !haveOsken() || !haveCmd('tcpdump') || !haveCmd('python3')
      ? 'needs Debian python3-os-ken (/usr/bin/osken-manager), tcpdump and python3 (make test installs them)'
      : '';

const tshark = haveCmd('tshark');
const NET = '10.219.1';
const A = `${NET}.1`;
const B = `${NET}.2`; // firewallRig's host addresses

t.test('an os-ken app with OFPMatch(ct_state=...) programs a stateful firewall that holds on the wire', { skip: why || false }, async (t) => {
  const { hA, hB, vA, d } = await firewallRig(t, NET, 'tvco');
  await tvsOk(d.control, ['set-fail-mode', 'br-fw', 'secure']);

  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tvs-ct-osken-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  const conf = path.join(dir, 'fw.json');
  fs.writeFileSync(conf, JSON.stringify({ trusted_port: vA.host, zone: 7, mark: 42, label: 5 }));
  const port = 20000 + ((process.pid * 3 + 2) % 20000);
  const cap = tshark ? await captureOpenflow(t, dir, port) : null;
  const app = await startOsken(t, oskenAppPath('ct_firewall.py'), port, path.join(dir, 'osken.log'), { TVS_CT_FW_CONF: conf });
  await tvsOk(d.control, ['set-controller', 'br-fw', `tcp:127.0.0.1:${port}`]);
  await waitUntil('the app to program the bridge', () => /PROGRAMMED dpid=/.test(app.log()), 20_000, 100);
  t.notMatch(app.log(), /OFPT_ERROR/, 'the switch refused nothing the app sent');
  // os-ken reads the switch's FLOW stats reply: the ct matches come back as the app wrote them.
  await waitUntil('the FLOW stats reply', () => (app.log().match(/FLOWSTATS /g) ?? []).length >= 4, 10_000, 100);
  const stats = app.log();
  t.match(stats, /FLOWSTATS priority=200 match=\{"ct_state": \[48, 48\]\}/, 'ct_state=+inv+trk');
  t.match(stats, /FLOWSTATS priority=100 match=\{"ct_state": \[33, 33\], "eth_type": 2048, "in_port": \d+\}/, 'ct_state=+new+trk,ip,in_port');
  t.match(stats, /FLOWSTATS priority=100 match=\{"ct_label": \[5, 255\], "ct_mark": 42, "ct_state": \[34, 34\], "ct_zone": 7, "eth_type": 2048\}/, 'ct_state=+est+trk,ct_zone,ct_mark,ct_label/mask');

  // Wireshark's OpenFlow dissector reads the session (FLOW_MODs with NXM ct fields and NXAST_CT
  // both ways, the FLOW stats reply) with no malformed or error-level packet.
  await t.test('tshark reads the session', { skip: cap ? false : 'tshark is not installed (make test installs it)' }, async (t) => {
    if (!cap) return;
    await waitUntil('tcpdump to write the FLOW_MODs and the FLOW stats reply', async () => {
      try {
        const ty = await cap.decodedTypes();
        return ty.has(14) && ty.has(19);
      } catch {
        return false;
      }
    }, 10_000, 200);
    await cap.stop();
    t.equal(await cap.tshark('-Y', '_ws.malformed || _ws.expert.severity==error'), '', 'no malformed or error-level packet');
  });

  // The same flows as the ovs-ofctl text of this firewall (openflow-ct-ofctl.test.ts) makes
  // when added with tvs add-flow: one rule model, whoever programmed it.
  const portA = Number(/ofport: (\d+)/.exec((await tvsOk(d.control, ['show'])).split(`Port ${vA.host}\n`)[1])![1]);
  const names = new Map([[portA, vA.host]]);
  const scratch = new FlowPipeline({ arena: new PacketArena({ slots: 4, slotSize: 2048 }), resolvePort: (n) => (n === vA.host ? portA : -1), portName: (o) => names.get(o) });
  scratch.addFlows(
    [
      'table=0,priority=100,ip,actions=ct(table=1,zone=7)',
      'table=0,priority=0,actions=NORMAL',
      'table=1,priority=200,ct_state=+inv+trk,actions=drop',
      `table=1,priority=100,ct_state=+new+trk,ip,in_port=${vA.host},actions=ct(commit,zone=7,exec(set_field:0x2a->ct_mark,set_field:0x5->ct_label)),NORMAL`,
      'table=1,priority=100,ct_state=+est+trk,ct_zone=7,ct_mark=0x2a,ct_label=0x5/0xff,ip,actions=NORMAL',
      'table=1,priority=0,actions=drop',
    ].join('\n'),
  );
  const strip = (dump: string) => dump.split('\n').filter((l) => l.includes('actions=')).map((l) => l.replace(/duration=[\d.]+s, /, '').replace(/n_packets=\d+, n_bytes=\d+, /, '').replace(/idle_age=\d+, (hard_age=\d+, )?/, '')).sort();
  t.same(strip(await tvsOk(d.control, ['dump-flows', 'br-fw'])), strip(scratch.formatFlows()), 'tvs dump-flows: the flows the ovs-ofctl text makes');

  await checkStatefulFirewall(t, { d, bridge: 'br-fw', hA, hB, ifA: vA.peer, A, B, zone: 7, mark: 42, label: 5 });
});
