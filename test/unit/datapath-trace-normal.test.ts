/**
 * `tvs trace` says what NORMAL does (as ofproto/trace does): the VLAN it switches the frame in,
 * the learned port or the flood's ports, and the tag each copy leaves with, from the bridge's
 * own NORMAL decision; and forwarding sends the frame to exactly those ports. The layout is
 * Neutron's br-int in miniature: two tenants on access ports of local VLANs 1 and 2, a trunk
 * (the patch to the physical bridge), the flows resubmitting to table 94's NORMAL. Memory
 * ports, no root; the same handler the CLI calls.
 */
import t from 'tap';
import { Switch } from '../../src/datapath/switch';
import { MemoryPort } from '../../src/io/memory-port';
import { flowCommands } from '../../src/control/flow-commands';
import { arpRequest, udpFrame, frameVid } from '../../src/wire/frames';

const MAC = { vm1: '02:00:00:00:00:01', vm2: '02:00:00:00:00:02', vm3: '02:00:00:00:00:03', vm4: '02:00:00:00:00:04' };

function rig() {
  const sw = new Switch({ clock: () => 0, arena: { slots: 256, slotSize: 2048 + 128 } });
  sw.addBridge('br-int');
  const port = (name: string, opts: { tag?: number }) => sw.addPort('br-int', name, { type: 'memory', ...opts }).io as MemoryPort;
  const ports = { trunk: port('trunk', {}), vm1: port('vm1', { tag: 1 }), vm2: port('vm2', { tag: 1 }), vm3: port('vm3', { tag: 2 }), vm4: port('vm4', { tag: 2 }) };
  const f = sw.flows('br-int');
  f.addFlow('table=0,priority=0,actions=resubmit(,94)');
  f.addFlow('table=94,priority=1,actions=NORMAL');
  const trace = flowCommands(sw).trace as (a: Record<string, unknown>) => { text: string; outputs: { kind: string; reason?: string }[] };
  const hex = (b: Buffer) => b.toString('hex');
  /** Forward FRAME in from port FROM: which ports sent it, with the VID each copy carried. */
  const forward = (from: keyof typeof ports, frame: Buffer): string[] => {
    for (const p of Object.values(ports)) p.takeTransmitted();
    ports[from].inject(frame);
    sw.runUntilIdle();
    const out: string[] = [];
    for (const [name, p] of Object.entries(ports)) for (const b of p.takeTransmitted()) out.push(`${name} (${frameVid(b) === undefined ? 'untagged' : `tagged ${frameVid(b)}`})`);
    return out;
  };
  return { sw, ports, trace, hex, forward };
}

/** The ports of trace's "in VLAN N: a (..), b (..)" line. */
function traced(text: string): { vlan: number; ports: string[] } | null {
  const m = /in VLAN (\d+): (.*)/.exec(text);
  return m ? { vlan: Number(m[1]), ports: m[2].split(', ') } : null;
}

t.test('a broadcast from an access port floods its VLAN only, and forwarding agrees', async (t) => {
  const { trace, hex, forward } = rig();
  const arp = arpRequest(MAC.vm1, '10.0.0.1', '10.0.0.77');
  const r = trace({ bridge: 'br-int', hex: hex(arp), inPort: 'vm1' });
  t.match(r.text, /94\. .*\n\s+NORMAL\n\s+-> no learned MAC for destination, flooding\n\s+-> in VLAN 1: /, `NORMAL's decision under the action:\n${r.text}`);
  const tr = traced(r.text);
  t.same(tr, { vlan: 1, ports: ['trunk (tagged 1)', 'vm2 (untagged)'] }, 'VLAN 1: the trunk with the tag, vm2 without; not vm3 or vm4');
  t.match(r.outputs.find((o) => o.kind === 'normal')?.reason ?? '', /in VLAN 1/, 'the Outputs line carries it too');
  t.same(forward('vm1', arp).sort(), tr!.ports, 'forwarding sent it to exactly the traced ports, tagged as traced');
});

t.test('a tagged frame on the trunk floods the access ports of its VLAN, untagged', async (t) => {
  const { trace, hex, forward } = rig();
  const arp = arpRequest('02:00:00:00:00:99', '10.0.0.9', '10.0.0.77', 2);
  const tr = traced(trace({ bridge: 'br-int', hex: hex(arp), inPort: 'trunk' }).text);
  t.same(tr, { vlan: 2, ports: ['vm3 (untagged)', 'vm4 (untagged)'] });
  t.same(forward('trunk', arp).sort(), tr!.ports);
});

t.test('a tagged frame on an access port: the flows see it, NORMAL refuses it (as OVS)', async (t) => {
  const { sw, trace, hex, forward } = rig();
  const tagged = arpRequest(MAC.vm1, '10.0.0.1', '10.0.0.77', 2);
  // OVS 3.1 ofproto/trace, access port tag=5, dl_vlan=7 in on it, actions=NORMAL: the table's
  // rule runs, then "dropping VLAN 7 tagged packet received on port vm1 configured as VLAN 5
  // access port" / "disallowed VLAN VID for this input port, dropping" (xlate_normal).
  const bad = trace({ bridge: 'br-int', hex: hex(tagged), inPort: 'vm1' }).text;
  t.match(bad, /0\. priority=0.*\n\s+resubmit\(,94\)\n\s+94\. .*\n\s+NORMAL\n\s+-> disallowed VLAN VID for this input port, dropping/, `the tables, then NORMAL's drop:\n${bad}`);
  t.notMatch(bad, /in VLAN/, 'nothing flooded');
  t.same(forward('vm1', tagged), [], 'forwarding sent it nowhere');
  t.equal(sw.bridge('br-int').normalDrops.get('vlan_not_allowed'), 1, 'NORMAL counted it');
  // A flow that matches the tag forwards it as it is (OVS: "Datapath actions: <vm3>").
  sw.flows('br-int').addFlow('table=0,priority=10,in_port=vm1,dl_vlan=2,actions=output:vm3');
  const ok = trace({ bridge: 'br-int', hex: hex(tagged), inPort: 'vm1' }).text;
  t.match(ok, /0\. priority=10,in_port=vm1,dl_vlan=2.*\n\s+output:vm3/, ok);
  t.same(forward('vm1', tagged), ['vm3 (tagged 2)'], 'the flow sent it out of vm3 with its tag');
  // A priority-tagged frame (VID 0) is in the access VLAN for NORMAL, as in OVS.
  const prio = arpRequest(MAC.vm1, '10.0.0.1', '10.0.0.77', 0);
  t.same(traced(trace({ bridge: 'br-int', hex: hex(prio), inPort: 'vm1' }).text), { vlan: 1, ports: ['trunk (tagged 1)', 'vm2 (untagged)'] });
  t.same(forward('vm1', prio).sort(), ['trunk (tagged 1)', 'vm2 (untagged)']);
});

t.test('a learned destination: one port; trace learns nothing itself', async (t) => {
  const { sw, trace, hex, forward } = rig();
  const toVm2 = udpFrame({ dst: MAC.vm2, src: MAC.vm1, ipSrc: '10.0.0.1', ipDst: '10.0.0.2' });
  t.same(traced(trace({ bridge: 'br-int', hex: hex(toVm2), inPort: 'vm1' }).text)?.ports, ['trunk (tagged 1)', 'vm2 (untagged)'], 'vm2 unknown yet: flooded in VLAN 1');
  t.equal(sw.bridge('br-int').macs.lookup(1, 0x0200, 0x00000001, 0), -1, 'the trace did not learn vm1');
  forward('vm2', udpFrame({ dst: MAC.vm1, src: MAC.vm2, ipSrc: '10.0.0.2', ipDst: '10.0.0.1' }));
  const r = trace({ bridge: 'br-int', hex: hex(toVm2), inPort: 'vm1' }).text;
  t.match(r, /-> forwarding to learned port\n\s+-> in VLAN 1: vm2 \(untagged\)$/m, r);
  t.same(forward('vm1', toVm2), ['vm2 (untagged)']);
  t.equal(sw.bridge('br-int').macs.lookup(1, 0x0200, 0x00000001, 0), sw.bridge('br-int').ofportByName('vm1'), 'forwarding did learn vm1 (the lookup above asks the right entry)');
  // vm2's MAC learned in VLAN 1 means nothing in VLAN 2: vm3's frame to it floods VLAN 2.
  const fromVm3 = udpFrame({ dst: MAC.vm2, src: MAC.vm3, ipSrc: '10.0.0.1', ipDst: '10.0.0.2' });
  const r3 = traced(trace({ bridge: 'br-int', hex: hex(fromVm3), inPort: 'vm3' }).text);
  t.same(r3, { vlan: 2, ports: ['trunk (tagged 2)', 'vm4 (untagged)'] });
  t.same(forward('vm3', fromVm3).sort(), r3!.ports);
});
