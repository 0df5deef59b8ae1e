/**
 * A tagged frame arriving on an access port, on the wire. As in OVS, a port's VLAN mode binds
 * only NORMAL (vswitch.xml, Port table: "does not affect flows set up by an OpenFlow
 * controller, outside of the OpenFlow 'normal action'"; ofproto-dpif-xlate.c checks
 * input_vid_is_valid inside xlate_normal): a flow that matches the tag forwards the frame as it
 * is, NORMAL drops it as vlan_not_allowed. OVS 3.1's ofproto/trace, access port tag=5, dl_vlan=7
 * in on it: with `in_port=vm1,dl_vlan=7,actions=output:vm2` "Datapath actions: <vm2>"; with
 * `actions=NORMAL` "disallowed VLAN VID for this input port, dropping".
 *
 * h1 and h2 on access ports of VLAN 5 (veth, AF_PACKET ports of a `tvs start` daemon). The
 * tagged frames are sent raw from h1 (python3, AF_PACKET); h2's tcpdump is the observer. Needs root.
 */
import t from 'tap';
import { isRoot, haveCmd, Lab } from '../../lab/netns';
import { startDaemon, tvsOk } from '../../lab/daemon';
import { watchUntilControl, rawSend } from '../helpers/capture';
import { bindingAvailable } from '../../src/io/binding';
import { arpRequest } from '../../src/wire/frames';

const why = !isRoot()
  ? 'needs root: creates namespaces and veth devices'
  : !bindingAvailable()
    ? 'native addon not built (run make)'
    : !haveCmd('tcpdump') || !haveCmd('python3')
      ? 'needs tcpdump and python3'
      : '';

const TAGGED = '02:aa:bb:cc:dd:71'; // sends the frame tagged 7
const PRIO = '02:aa:bb:cc:dd:70'; // sends a priority-tagged frame (VID 0, PCP 3)
const CONTROL = '02:aa:bb:cc:dd:7c'; // sends an untagged control broadcast, which NORMAL floods to h2
const FILTER = [TAGGED, PRIO, CONTROL].map((m) => `ether src ${m}`).join(' or ');
const ENDS = new RegExp(`${CONTROL} > ff:ff:ff:ff:ff:ff`);

/** A broadcast ARP request from SRC for 10.214.0.2, tagged with VID when given, as hex for rawSend. */
function arp(src: string, spa: string, vid?: number): string {
  return arpRequest(src, spa, '10.214.0.2', vid).toString('hex');
}
/** The same from PRIO, priority-tagged: VID 0, PCP 3 (TCI 0x6000). */
function priorityTaggedArp(): string {
  const f = arpRequest(PRIO, '10.214.0.112', '10.214.0.2', 0);
  f[14] = 0x60;
  return f.toString('hex');
}

t.test('a tagged frame on an access port: a flow forwards it as it is, NORMAL drops it (as OVS)', { skip: why || false }, async (t) => {
  const lab = Lab.create(t);
  const h1 = lab.netns('tvnat1');
  const h2 = lab.netns('tvnat2');
  const v1 = lab.veth({ ns: h1, address: '10.214.0.1/24' });
  const v2 = lab.veth({ ns: h2, address: '10.214.0.2/24' });
  const d = await startDaemon(t);
  await tvsOk(d.control, ['add-br', 'br0']);
  await tvsOk(d.control, ['add-port', 'br0', v1.host, 'tag=5', 'ofport=1']);
  await tvsOk(d.control, ['add-port', 'br0', v2.host, 'tag=5', 'ofport=2']);
  const drops = async () => (JSON.parse(await tvsOk(d.control, ['--json', 'dump-ports', 'br0'])).drops as Record<string, number>).vlan_not_allowed ?? 0;

  /** Send FRAMES from h1, then the control; what h2 saw up to the control. */
  const exchange = async (frames: string[]): Promise<string> => {
    const cap = await watchUntilControl(h2, v2.peer, FILTER, ENDS);
    const sent = await rawSend(h1, v1.peer, [...frames, arp(CONTROL, '10.214.0.12')]);
    t.equal(sent.code, 0, `raw frames sent ${sent.stderr}`);
    const saw = await cap.done;
    t.match(saw, ENDS, `the control (NORMAL, VLAN 5) reached h2: ${saw.trim()}`);
    return saw;
  };

  // 1. A flow matching the tag: the frame leaves h2's port as it came, tagged 7.
  await tvsOk(d.control, ['add-flow', 'br0', 'priority=100,in_port=1,dl_vlan=7,actions=output:2']);
  const withFlow = await exchange([arp(TAGGED, '10.214.0.113', 7)]);
  t.match(withFlow, new RegExp(`${TAGGED} > ff:ff:ff:ff:ff:ff, ethertype 802\\.1Q \\(0x8100\\), length \\d+: vlan 7, p 0, ethertype ARP`), 'the flow forwarded the tagged frame, tag kept');
  const flows = await tvsOk(d.control, ['dump-flows', 'br0']);
  t.match(flows, new RegExp(`n_packets=1,.*priority=100,in_port=${v1.host},dl_vlan=7 actions=output:${v2.host}`), `the flow counted it:\n${flows}`);
  t.equal(await drops(), 0, 'nothing dropped as vlan_not_allowed');

  // 2. Only NORMAL: the tagged frame is dropped and counted; a priority-tagged frame (VID 0) is
  // in the access VLAN, as in OVS (input_vid_is_valid accepts VID 0 on an access port).
  await tvsOk(d.control, ['del-flows', 'br0', 'priority=100,in_port=1,dl_vlan=7', '--strict']);
  const normalOnly = await exchange([arp(TAGGED, '10.214.0.113', 7), priorityTaggedArp()]);
  t.notMatch(normalOnly, new RegExp(TAGGED), 'NORMAL did not deliver the tagged frame');
  t.match(normalOnly, new RegExp(`${PRIO} > ff:ff:ff:ff:ff:ff, ethertype ARP`), 'the priority-tagged frame reached h2, untagged');
  t.equal(await drops(), 1, 'dump-ports counts one vlan_not_allowed drop');

  // tvs trace says the same: the table's NORMAL, then its drop.
  const tr = await tvsOk(d.control, ['trace', 'br0', `in_port=1,dl_vlan=7,dl_src=${TAGGED},dl_dst=ff:ff:ff:ff:ff:ff,arp`]);
  t.match(tr, /0\. priority=0.*\n\s+NORMAL\n\s+-> disallowed VLAN VID for this input port, dropping/, tr);
});
