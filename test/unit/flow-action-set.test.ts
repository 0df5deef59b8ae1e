/**
 * The OpenFlow 1.3 action set (write_actions / clear_actions) on byte fixtures: what the set
 * holds runs when the pipeline ends, in the spec's order (pop, push_vlan, dec_ttl, set, output)
 * whatever the write order; a later write of the same kind replaces the earlier one;
 * clear_actions empties it; it survives ct(table=T) recirculation. Expected frames are built
 * independently with their own checksums and compared byte for byte.
 */
import t from 'tap';
import { PacketArena } from '../../src/packet/arena';
import { Batch } from '../../src/packet/batch';
import { parseSlot } from '../../src/packet/parse';
import { FlowPipeline } from '../../src/flow/pipeline';
import { runTrace } from '../../src/flow/trace';
import { FlowSyntaxError } from '../../src/flow/ofctl-parse';
import { formatActions } from '../../src/flow/ofctl-format';
import { RecordingOps, buildFrame, type FrameSpec } from '../../src/flow/testing';

const PORTS: Record<string, number> = { p1: 1, p2: 2, p3: 3, p4: 4 };
const hex = (f: FrameSpec): string => Buffer.from(buildFrame(f)).toString('hex');
const UDP: FrameSpec = { ipSrc: '10.201.0.1', ipDst: '10.201.0.2', proto: 'udp', sport: 1000, dport: 2000, ttl: 64 };

function setup() {
  const arena = new PacketArena({ slots: 64, slotSize: 2048 });
  const p = new FlowPipeline({
    arena,
    clock: () => 1_000_000,
    resolvePort: (n) => PORTS[n] ?? -1,
    portName: (o) => Object.keys(PORTS).find((k) => PORTS[k] === o),
  });
  const ops = new RecordingOps(arena, PORTS);
  const send = (inPort: number, f: FrameSpec): void => {
    const b = new Batch(4);
    const s = arena.allocFrom(buildFrame(f));
    if (parseSlot(arena, s, inPort) >= 0) throw new Error('fixture does not parse');
    b.push(s);
    p.process(b, ops);
  };
  return { arena, p, ops, send };
}

t.test('the action set runs at the end of the pipeline, after the apply-actions outputs', async (t) => {
  const { p, ops, send, arena } = setup();
  p.addFlows(`
table=0,in_port=1,actions=write_actions(output:2),goto_table:1
table=1,actions=mod_dl_src:02:00:00:00:00:99,output:3
`);
  send(1, UDP);
  t.same(ops.sent.map((s) => [s.kind, s.port]), [['output', 3], ['output', 2]], 'output:3 during table 1, output:2 when the pipeline ended');
  const want = hex({ ...UDP, src: '02:00:00:00:00:99' });
  t.equal(ops.sent[0].hex, want);
  t.equal(ops.sent[1].hex, want, 'the set outputs the packet as the apply-actions left it');
  t.equal(arena.available, arena.capacity, 'every slot returned');
});

t.test('spec order, not write order: pop, push_vlan, dec_ttl, set, output', async (t) => {
  const { p, ops, send, arena } = setup();
  // Written output first and push before pop: run in write order this would leave VLAN 5 and TTL 64.
  p.addFlow('in_port=1,actions=write_actions(output:2,set_field:4102->vlan_vid,mod_nw_dst:10.201.0.9,dec_ttl,push_vlan:0x8100,pop_vlan)');
  send(1, { ...UDP, vlan: 5 });
  t.same(ops.sent.map((s) => [s.kind, s.port]), [['output', 2]]);
  t.equal(ops.sent[0].hex, hex({ ...UDP, vlan: 6, ttl: 63, ipDst: '10.201.0.9' }), 'old tag popped, new tag pushed and set to 6, TTL 63, nw_dst rewritten (checksums fixed)');
  t.equal(arena.available, arena.capacity);
});

t.test('a later write replaces the earlier action of the same kind; other kinds accumulate', async (t) => {
  const { p, ops, send } = setup();
  p.addFlows(`
table=0,in_port=1,actions=write_actions(output:2,mod_dl_dst:02:00:00:00:00:aa,mod_nw_src:10.201.0.7),goto_table:1
table=1,actions=write_actions(mod_dl_dst:02:00:00:00:00:bb,output:3)
`);
  send(1, UDP);
  t.same(ops.sent.map((s) => [s.kind, s.port]), [['output', 3]], 'one output: the later one');
  t.equal(ops.sent[0].hex, hex({ ...UDP, dst: '02:00:00:00:00:bb', ipSrc: '10.201.0.7' }), 'eth_dst from the later write, ip_src kept from the earlier');
});

t.test('clear_actions empties the set; writing after it in the same flow starts afresh', async (t) => {
  const { p, ops, send } = setup();
  p.addFlows(`
table=0,in_port=1,actions=write_actions(output:2,mod_dl_dst:02:00:00:00:00:aa),goto_table:1
table=0,in_port=4,actions=write_actions(output:2,mod_dl_dst:02:00:00:00:00:aa),goto_table:2
table=1,actions=clear_actions
table=2,actions=clear_actions,write_actions(output:3)
`);
  send(1, UDP);
  t.same(ops.sent.map((s) => [s.kind, s.reason]), [['drop', 'no_output']], 'nothing left to run: dropped as sent nowhere');
  ops.sent.length = 0;
  send(4, UDP);
  t.same(ops.sent.map((s) => [s.kind, s.port]), [['output', 3]]);
  t.equal(ops.sent[0].hex, hex(UDP), 'the cleared mod_dl_dst did not run');
});

t.test('a set without an output changes nothing (OVS drops it) and does not block apply outputs', async (t) => {
  const { p, ops, send } = setup();
  p.addFlow('in_port=1,actions=output:2,write_actions(mod_dl_dst:02:00:00:00:00:aa,dec_ttl)');
  send(1, UDP);
  t.same(ops.sent.map((s) => [s.kind, s.port]), [['output', 2]]);
  t.equal(ops.sent[0].hex, hex(UDP));
});

t.test('dec_ttl in the set on TTL 1 drops with the reason; apply outputs already left', async (t) => {
  const { p, ops, send, arena } = setup();
  p.addFlow('in_port=1,actions=output:3,write_actions(dec_ttl,output:2)');
  send(1, { ...UDP, ttl: 1 });
  t.same(ops.sent.map((s) => [s.kind, s.port ?? s.reason]), [['output', 3], ['drop', 'ttl_exceeded']]);
  t.equal(arena.available, arena.capacity);
});

t.test('the action set survives ct(table=T) recirculation and runs at the end of the recirculated pass', async (t) => {
  const { p, ops, send } = setup();
  p.addFlows(`
table=0,in_port=1,ip,actions=write_actions(output:2),goto_table:1
table=1,ip,actions=ct(table=2,zone=1)
table=2,ct_state=+trk+new,ip,actions=write_actions(mod_dl_dst:02:00:00:00:00:cc)
`);
  send(1, UDP);
  t.same(ops.sent.map((s) => [s.kind, s.port]), [['output', 2]]);
  t.equal(ops.sent[0].hex, hex({ ...UDP, dst: '02:00:00:00:00:cc' }));
  t.equal(ops.sent[0].key[0], 1, 'in_port kept');
});

t.test('a CONTROLLER output in the set reports the table and cookie of the flow that wrote it', async (t) => {
  const { p, ops, send } = setup();
  p.addFlows(`
table=0,cookie=0x77,in_port=1,actions=write_actions(controller:128),goto_table:3
table=3,cookie=0x5,actions=mod_nw_tos:8
`);
  send(1, UDP);
  t.same(ops.sent.map((s) => [s.kind, s.table, s.cookie, s.reason, s.maxLen]), [['controller', 0, 0x77n, 'action', 128]]);
  t.equal(ops.sent[0].hex, hex({ ...UDP, tos: 8 }));
});

t.test('trace shows the action set running at the end', async (t) => {
  const { p } = setup();
  p.addFlows(`
table=0,in_port=1,actions=write_actions(output:2,dec_ttl),goto_table:1
table=1,actions=mod_dl_src:02:00:00:00:00:99
`);
  const tr = runTrace(p, { frame: buildFrame(UDP), inPort: 1 });
  t.match(tr.text, /write_actions\(output:p2,dec_ttl\)[\s\S]*goto_table:1[\s\S]*mod_dl_src[\s\S]*action set: dec_ttl[\s\S]*action set: output:p2/);
  t.same(tr.outputs.map((o) => [o.kind, o.port]), [['output', 2]]);
});

t.test('syntax: as ovs-ofctl 3.1 reads and prints it; OpenFlow instruction order enforced', async (t) => {
  const { p } = setup();
  const round = (text: string): string => formatActions(p.parse(text, 'add').actions!);
  t.equal(round('actions=write_actions(output:2),goto_table:1'), 'write_actions(output:2),goto_table:1');
  t.equal(round('actions=clear_actions'), 'clear_actions');
  t.equal(
    round('actions=output:3,clear_actions,write_actions(pop_vlan,set_field:5->reg0,dec_ttl,output:2),write_metadata:1,goto_table:2'),
    'output:3,clear_actions,write_actions(pop_vlan,set_field:0x5->reg0,dec_ttl,output:2),write_metadata:0x1,goto_table:2',
  );
  t.equal(round('actions=write_actions(normal,controller)'), 'write_actions(NORMAL,CONTROLLER:65535)');
  t.equal(round('actions=write_actions(),output:1'.replace(',output:1', '')), 'drop', 'write_actions() writes nothing (OVS prints drop)');
  const bad: [string, RegExp][] = [
    ['actions=write_actions(output:2),write_actions(output:3)', /duplicate write_actions/],
    ['actions=clear_actions,clear_actions', /duplicate clear_actions/],
    ['actions=write_actions(output:1),clear_actions', /clear_actions must appear before write_actions/],
    ['actions=write_actions(output:1),output:3', /apply_actions must appear before write_actions/],
    ['actions=clear_actions,output:3', /apply_actions must appear before clear_actions/],
    ['actions=write_metadata:1,write_actions(output:1)', /write_actions must appear before write_metadata/],
    ['actions=goto_table:1,write_actions(output:1)', /goto_table must be the last/],
    ['ip,actions=write_actions(ct(commit))', /ct cannot be in the action set/],
    ['actions=write_actions(resubmit(,2))', /resubmit cannot be in the action set/],
    ['actions=write_actions(learn(table=1))', /learn cannot be in the action set/],
    ['actions=write_actions(write_metadata:1)', /write_metadata cannot be in the action set/],
    ['actions=write_actions(clear_actions)', /clear_actions is an instruction/],
    ['actions=write_actions(output:2,drop)', /'drop' must be the only action/],
  ];
  for (const [text, re] of bad) {
    t.throws(() => p.parse(text, 'add'), FlowSyntaxError, text);
    t.throws(() => p.parse(text, 'add'), re, text);
  }
});

t.test('out_port filters see the outputs inside write_actions (OVS ofpacts_output_to_port)', async (t) => {
  const { p } = setup();
  p.addFlows(`
table=0,priority=5,in_port=1,actions=write_actions(output:2),goto_table:1
table=0,priority=5,in_port=3,actions=output:4
table=1,priority=5,actions=write_actions(output:4)
`);
  t.equal(p.dumpFlows('out_port=2').length, 1);
  t.equal(p.dumpFlows('out_port=4').length, 2);
});

t.test('a ct(table=T) fork: the tracked copy gets the set as it was, the rest of the list keeps its own', async (t) => {
  const { p, ops, send, arena } = setup();
  p.addFlows(`
table=0,in_port=1,ip,actions=write_actions(output:2),goto_table:1
table=1,ip,actions=ct(table=2,zone=1),output:3
table=2,ct_state=+trk,ip,actions=write_actions(mod_dl_dst:02:00:00:00:00:cc)
`);
  send(1, UDP);
  t.same(ops.sent.map((s) => [s.kind, s.port]), [['output', 2], ['output', 3], ['output', 2]], 'the copy leaves by the set first; then output:3 and the set of the original pass');
  t.equal(ops.sent[0].hex, hex({ ...UDP, dst: '02:00:00:00:00:cc' }), "the copy's set gained its own mod_dl_dst");
  t.equal(ops.sent[2].hex, hex(UDP), "the original's set did not");
  t.equal(arena.available, arena.capacity);
});
