/**
 * A stateful firewall programmed over OpenFlow 1.3 by Open vSwitch's own `ovs-ofctl`, with the
 * conntrack match fields on the wire (NXM_NX_CT_STATE/ZONE/MARK/LABEL) and ct(commit,exec(...)):
 *
 *   table=0  ip                                          -> ct(table=1,zone=7)
 *   table=0  anything else (ARP)                         -> NORMAL
 *   table=1  ct_state=+inv+trk                           -> drop
 *   table=1  ct_state=+new+trk,ip,in_port=A              -> ct(commit,zone=7,exec(mark 0x2a, label 0x5)),NORMAL
 *   table=1  ct_state=+est+trk,ct_zone=7,ct_mark=0x2a,ct_label=0x5/0xff,ip -> NORMAL
 *   table=1  anything else                               -> drop
 *
 * Host A opens TCP to B and data flows both ways (the replies are +est with the mark and label
 * the commit wrote); B cannot open a connection to A (a +new from B meets the drop; tcpdump on A
 * sees no SYN); ICMP echo replies B sends unasked are +inv and dropped. `ovs-ofctl dump-flows`
 * prints every flow as `ovs-ofctl parse-flow` prints the text it was added with. Needs root.
 */
import t from 'tap';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { haveCmd } from '../../lab/netns';
import { tvsOk, nsRun, waitListening } from '../../lab/daemon';
import { firewallRig, checkStatefulFirewall, echoClient, echoServer } from '../helpers/ct-firewall-wire';
import { mgmtOfctlSkipReason, mgmtTarget, ofctl13 } from '../helpers/mgmt-ofctl';

const why = mgmtOfctlSkipReason() || (!haveCmd('tcpdump') || !haveCmd('python3') ? 'needs tcpdump and python3 (make test installs them)' : '');

const NET = '10.219.0';
const A = `${NET}.1`;
const B = `${NET}.2`; // firewallRig's host addresses

t.test('ovs-ofctl programs a stateful firewall with ct_* matches; it holds on the wire', { skip: why || false }, async (t) => {
  const { hA, hB, vA, d } = await firewallRig(t, NET, 'tvcf');
  const mgmt = mgmtTarget(d.control, 'br-fw');
  const ofctl = (args: string[]) => ofctl13(['--no-names', ...args]);
  const portA = Number(/ (\d+)\(/.exec((await ofctl(['show', mgmt])).split('\n').find((l) => l.includes(vA.host))!)![1]);

  const FLOWS = [
    'table=0,priority=100,ip,actions=ct(table=1,zone=7)',
    'table=0,priority=0,actions=NORMAL',
    'table=1,priority=200,ct_state=+inv+trk,actions=drop',
    `table=1,priority=100,ct_state=+new+trk,ip,in_port=${portA},actions=ct(commit,zone=7,exec(set_field:0x2a->ct_mark,set_field:0x5->ct_label)),NORMAL`,
    'table=1,priority=100,ct_state=+est+trk,ct_zone=7,ct_mark=0x2a,ct_label=0x5/0xff,ip,actions=NORMAL',
    'table=1,priority=0,actions=drop',
  ];
  await ofctl(['del-flows', mgmt]);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tvs-ct-ofctl-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  fs.writeFileSync(path.join(dir, 'flows'), FLOWS.join('\n') + '\n');
  await ofctl(['add-flows', mgmt, path.join(dir, 'flows')]);

  await t.test('dump-flows prints each flow as ovs-ofctl parse-flow prints its text', async (t) => {
    const dump = (await ofctl(['dump-flows', mgmt])).split('\n').filter((l) => l.includes('actions='));
    const shown = dump.map((l) => l.replace(/^\s*cookie=\S+ duration=\S+ (table=(\d+), )?n_packets=\d+, n_bytes=\d+, /, (_m, _x, tb) => (tb && tb !== '0' ? `table:${tb} ` : '')));
    for (const f of FLOWS) {
      const parsed = /ADD (.*)$/m.exec(await ofctl(['parse-flow', f]))![1].trim();
      if (!shown.includes(parsed)) t.comment(`dump-flows:\n  ${shown.join('\n  ')}`);
      t.ok(shown.includes(parsed), parsed);
    }
    t.equal(dump.length, FLOWS.length);
  });

  await checkStatefulFirewall(t, { d, bridge: 'br-fw', hA, hB, ifA: vA.peer, A, B, zone: 7, mark: 42, label: 5 });

  await t.test('the +est flow carried the replies; its ct_mark/ct_label match is what admitted them', async (t) => {
    const est = (await ofctl(['dump-flows', mgmt, 'table=1,ct_state=+est+trk,ct_zone=7,ct_mark=0x2a,ct_label=0x5/0xff,ip'])).split('\n').find((l) => l.includes('actions=NORMAL'));
    t.match(est, /n_packets=[1-9]\d*/, `${est}`);
    // Change what the commit writes: new connections no longer match the +est flow.
    await ofctl(['--strict', 'mod-flows', mgmt, `table=1,priority=100,ct_state=+new+trk,ip,in_port=${portA},actions=ct(commit,zone=7,exec(set_field:0x2b->ct_mark,set_field:0x5->ct_label)),NORMAL`]);
    await tvsOk(d.control, ['flush-conntrack', 'br-fw']);
    const srv = nsRun(hB, ['timeout', '12', 'python3', '-c', echoServer(B, 23, 5)], 15_000);
    await waitListening(hB, 23);
    const c = await nsRun(hA, ['timeout', '6', 'python3', '-c', echoClient(B, 23)], 10_000);
    t.match(c.stdout, /connect failed/, `with ct_mark 0x2b the SYN+ACK is +est but not admitted: ${c.stdout}`);
    await srv;
  });
});
