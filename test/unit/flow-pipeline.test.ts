import t from 'tap';
import { PacketArena } from '../../src/packet/arena';
import { Batch } from '../../src/packet/batch';
import { parseSlot } from '../../src/packet/parse';
import { FlowPipeline } from '../../src/flow/pipeline';
import { runTrace } from '../../src/flow/trace';
import { RecordingOps, buildFrame, type FrameSpec } from '../../src/flow/testing';
import { formatRule } from '../../src/flow/ofctl-format';

const PORTS: Record<string, number> = { 'phy-br-eth1': 1, 'int-br-eth1': 2, tap1: 3, eth1: 4, 'patch-tun': 5 };

function setup(opts: { emc?: boolean } = {}) {
  let now = 1_000_000;
  const arena = new PacketArena({ slots: 256, slotSize: 4096 });
  const p = new FlowPipeline({
    arena,
    clock: () => now,
    resolvePort: (n) => PORTS[n] ?? -1,
    portName: (o) => Object.keys(PORTS).find((k) => PORTS[k] === o),
    emc: opts.emc,
    emcMinSubtables: 0,
  });
  const ops = new RecordingOps(arena, PORTS);
  const send = (inPort: number, frames: FrameSpec[]): void => {
    const b = new Batch(256);
    for (const f of frames) {
      const s = arena.allocFrom(buildFrame(f));
      if (parseSlot(arena, s, inPort) >= 0) throw new Error('fixture does not parse');
      b.push(s);
    }
    p.process(b, ops);
  };
  return { arena, p, ops, send, advance: (ms: number) => (now += ms), now: () => now };
}

t.test('an empty pipeline drops every frame as a table miss (OVS after del-flows)', async (t) => {
  const { p, ops, send } = setup();
  t.ok(p.isEmpty);
  send(1, [{}, { vlan: 5 }]);
  t.same(ops.sent.map((s) => [s.kind, s.reason]), [['drop', 'table_miss'], ['drop', 'table_miss']]);
  t.equal(p.drops.get('table_miss'), 2);
});

t.test('Neutron br-eth1/br-int VLAN translation', async (t) => {
  const { p, ops, send, arena } = setup();
  p.addFlows(`
# br-int side: traffic from the physical bridge
table=0,priority=4,in_port=phy-br-eth1,dl_vlan=1,actions=mod_vlan_vid:101,NORMAL
priority=2,in_port=phy-br-eth1,actions=drop
priority=0,actions=NORMAL
# flat network: untagged in, tag with local VLAN 1
table=0,priority=3,in_port=int-br-eth1,vlan_tci=0x0000/0x1fff,actions=push_vlan:0x8100,set_field:4097->vlan_vid,NORMAL
`);
  send(1, [{ vlan: 1 }, { vlan: 7 }, {}]);
  send(3, [{ vlan: 9 }]);
  send(2, [{}]);
  t.equal(ops.sent.length, 5);
  t.equal(ops.sent[0].kind, 'normal');
  t.match(ops.sent[0].hex.slice(24, 32), '81000065', 'VLAN 1 became 101');
  t.equal(ops.sent[0].key[1], 0x1000 | 101, 'key follows the rewrite');
  t.same([ops.sent[1].kind, ops.sent[1].reason], ['drop', 'action_drop']);
  t.same([ops.sent[2].kind, ops.sent[2].reason], ['drop', 'action_drop']);
  t.equal(ops.sent[3].kind, 'normal', 'other ports: NORMAL');
  t.match(ops.sent[3].hex.slice(24, 32), '81000009', 'unchanged');
  t.match(ops.sent[4].hex.slice(24, 32), '81000001', 'flat: tagged with VLAN 1');
  t.equal(arena.available, arena.capacity, 'every slot returned');
});

t.test('multi-output: each output sees the packet as modified so far', async (t) => {
  const { p, ops, send, arena } = setup();
  p.addFlow('in_port=3,actions=mod_vlan_vid:5,output:1,strip_vlan,output:2');
  send(3, [{}]);
  t.equal(ops.sent.length, 2);
  t.same(ops.sent.map((s) => s.port), [1, 2]);
  t.match(ops.sent[0].hex.slice(24, 32), '81000005', 'tagged to 1');
  t.equal(ops.sent[1].hex.slice(24, 28), '0800', 'untagged to 2');
  t.equal(ops.sent[1].hex.length + 8, ops.sent[0].hex.length);
  t.equal(arena.available, arena.capacity);
});

t.test('counters are exact with the EMC warm, and table changes invalidate it', async (t) => {
  const { p, ops, send } = setup();
  const { rule } = p.addFlow('priority=4,in_port=1,dl_vlan=1,actions=mod_vlan_vid:101,NORMAL');
  const other = p.addFlow('priority=1,actions=NORMAL').rule;
  for (let i = 0; i < 10; i++) send(1, Array.from({ length: 32 }, () => ({ vlan: 1 })));
  const e = p.dumpFlows().find((x) => x.rule === rule)!;
  t.equal(e.nPackets, 320);
  t.equal(e.nBytes, 320 * 64);
  // emcMinSubtables 0: every packet goes through the EMC. 320 identical frames: the first
  // misses and fills the entry, the other 319 hit it.
  t.same([p.emcStats.hits, p.emcStats.misses], [319, 1], 'one miss, then every lookup hit the cache');
  const gen = p.emcStats.generation;
  // A higher-priority drop for the same traffic must win immediately.
  p.addFlow('priority=10,in_port=1,actions=drop');
  t.ok(p.emcStats.generation > gen);
  ops.sent.length = 0;
  send(1, [{ vlan: 1 }]);
  t.equal(ops.sent[0].kind, 'drop');
  t.equal(p.entry(rule).nPackets, 320, 'old rule not counted any more');
  p.delFlows('in_port=1', { strict: false });
  t.equal(p.ruleCount, 1, 'non-strict delete removed both in_port=1 rules');
  ops.sent.length = 0;
  send(1, [{ vlan: 1 }]);
  t.equal(ops.sent[0].kind, 'normal');
  t.equal(p.entry(other).nPackets, 1);
  const ts = p.tableStats()[0];
  t.equal(ts.lookups, 322);
  t.equal(ts.matched, 322);
});

t.test('timeouts with an injected clock', async (t) => {
  const { p, send, advance } = setup();
  const removed: string[] = [];
  p.onFlowRemoved = (e, why) => removed.push(`${e.rule.priority}:${why}:${e.nPackets}`);
  p.addFlow('priority=5,idle_timeout=10,in_port=1,actions=NORMAL');
  p.addFlow('priority=6,hard_timeout=30,in_port=2,actions=NORMAL');
  advance(9000);
  send(1, [{}]);
  advance(9000);
  t.same(p.expire(), [], 'idle timer restarted by the packet');
  advance(1000);
  t.same(p.expire(), [], 'exactly 10 s idle: still there (OVS expires at now > used + idle_timeout)');
  advance(1);
  t.same(p.expire().map((r) => r.priority), [5], '10.001 s idle: gone');
  send(2, [{}]);
  advance(30000 - 19001);
  t.same(p.expire(), [], 'exactly 30 s old: still there');
  advance(1);
  t.same(p.expire().map((r) => r.priority), [6], '30.001 s old: gone');
  t.same(removed, ['5:idle_timeout:1', '6:hard_timeout:1']);
  t.ok(p.isEmpty);
});

t.test('add replaces same match+priority; strict and non-strict del/mod', async (t) => {
  const { p, ops, send } = setup();
  p.addFlow('table=0,priority=5,in_port=1,actions=output:2');
  p.addFlow('table=0,priority=5,in_port=1,dl_vlan=3,actions=output:4');
  p.addFlow('table=1,priority=5,in_port=1,actions=output:4');
  const r = p.addFlow('table=0,priority=5,in_port=1,actions=output:3');
  t.ok(r.replaced);
  t.equal(p.ruleCount, 3);
  send(1, [{}]);
  t.same(p.modFlows('table=0,in_port=1,actions=output:5', { strict: true }).length, 0, 'strict needs the priority');
  t.same(p.modFlows('table=0,priority=5,in_port=1,actions=output:5', { strict: true }).length, 1);
  t.equal(p.dumpFlows('table=0,in_port=1', { strict: false }).length, 2);
  t.equal(p.entry(r.rule).nPackets, 1, 'mod keeps counters');
  t.equal(p.dumpFlows('in_port=1').length, 3, 'no table = all tables');
  t.equal(p.delFlows('table=0,priority=5,in_port=1', { strict: true }).length, 1);
  t.equal(p.ruleCount, 2);
  ops.sent.length = 0;
  send(1, [{ vlan: 3 }]);
  t.same([ops.sent[0].kind, ops.sent[0].port], ['output', 4]);
  // cookie filters
  p.addFlow('cookie=0xab,priority=9,in_port=2,actions=drop');
  t.equal(p.delFlows('cookie=0xab/0xff').length, 1);
  t.equal(p.delFlows().length, 2);
  t.ok(p.isEmpty);
});

t.test('addFlows: an add with the match and priority of an installed flow or of an earlier line replaces it, counters restarting (ovs-ofctl add-flows, OpenFlow 1.0)', async (t) => {
  const { p, ops, send } = setup();
  const first = p.addFlow('priority=5,in_port=1,actions=output:2');
  send(1, [{}]);
  t.equal(p.entry(first.rule).nPackets, 1);
  const r = p.addFlows('priority=5,in_port=1,actions=output:3\npriority=6,in_port=1,actions=output:4\npriority=6,in_port=1,actions=output:3');
  t.equal(r.added.length, 3);
  t.equal(r.added[0].replaced, first.rule, 'line 1 replaces the installed flow');
  t.equal(r.added[1].replaced, undefined, 'line 2 is new');
  t.equal(r.added[2].replaced, r.added[1].rule, 'line 3 replaces line 2');
  t.equal(p.ruleCount, 2);
  t.equal(p.entry(r.added[0].rule).nPackets, 0, 'the replacement starts from zero');
  ops.sent.length = 0;
  send(1, [{}]);
  t.same([ops.sent[0].kind, ops.sent[0].port], ['output', 3], 'the last line for priority 6 holds');
});

t.test('resubmit, goto_table, registers and metadata', async (t) => {
  const { p, ops, send } = setup();
  p.addFlows(`
table=0,in_port=1,actions=load:0x7->NXM_NX_REG0[0..3],write_metadata:0x5/0xff,resubmit(,1),output:4
table=1,reg0=0x7,metadata=0x5/0xff,actions=mod_vlan_vid:9,goto_table:2
table=2,dl_vlan=9,actions=output:2
table=0,in_port=3,actions=resubmit(1,1)
table=1,in_port=1,priority=1,actions=output:5
`);
  send(1, [{}]);
  t.same(ops.sent.map((s) => [s.kind, s.port]), [['output', 2], ['output', 4]]);
  t.match(ops.sent[0].hex.slice(24, 32), '81000009');
  t.match(ops.sent[1].hex.slice(24, 32), '81000009', 'later output sees the tag too');
  ops.sent.length = 0;
  send(3, [{}]);
  t.same(ops.sent.map((s) => [s.kind, s.port]), [['output', 5]], 'resubmit(1,1) looks up with in_port=1');
  t.equal(ops.sent[0].key[0], 3, 'in_port restored after the lookup');
});

t.test('table miss, no output, ttl, VLAN 4095, output to in_port', async (t) => {
  const { p, ops, send } = setup();
  p.addFlows(`
in_port=1,actions=load:1->NXM_NX_REG1[]
in_port=2,ip,actions=dec_ttl,output:3
in_port=3,actions=mod_vlan_vid:4095,output:1
in_port=4,actions=output:4
priority=40000,dl_vlan=4095,actions=drop
`);
  send(5, [{}]);
  send(1, [{}]);
  send(2, [{ ttl: 1 }, { ttl: 9 }]);
  send(3, [{}]);
  send(4, [{}]);
  send(3, [{ vlan: 4095 }]);
  t.same(
    ops.sent.map((s) => s.reason ?? s.kind),
    ['table_miss', 'no_output', 'ttl_exceeded', 'output', 'output', 'no_output', 'action_drop'],
  );
  t.equal(ops.sent[3].hex.slice(44, 46), '08', 'ttl 9 → 8');
  // OVS 3.1 ofproto/trace of `in_port=1,actions=mod_vlan_vid:4095,output:2`:
  // "Datapath actions: push_vlan(vid=4095,pcp=0),..." — the frame leaves tagged 4095.
  t.same([ops.sent[4].port, ops.sent[4].hex], [1, Buffer.from(buildFrame({ vlan: 4095 })).toString('hex')], 'mod_vlan_vid:4095 + output: sent tagged 4095');
  const d = p.drops.toJSON();
  t.same(d, { table_miss: 1, no_output: 2, ttl_exceeded: 1, action_drop: 1, output_to_in_port: 1 }, "the dead-VLAN drop is Neutron's dl_vlan=4095 flow, not the switch");
});

t.test('controller action carries table and cookie', async (t) => {
  const { p, ops, send } = setup();
  p.addFlow('table=0,actions=resubmit(,3)');
  p.addFlow('table=3,cookie=0x1234,actions=controller:128');
  send(1, [{}]);
  t.same([ops.sent[0].kind, ops.sent[0].table, ops.sent[0].cookie, ops.sent[0].reason], ['controller', 3, 0x1234n, 'action']);
});

t.test('trace', async (t) => {
  const { p, arena } = setup();
  p.addFlows(`
table=0,priority=4,in_port=phy-br-eth1,dl_vlan=1,actions=mod_vlan_vid:101,resubmit(,1)
table=1,priority=1,actions=output:tap1,strip_vlan,NORMAL
`);
  const before = p.dumpFlows().map((e) => e.nPackets);
  const tr = runTrace(p, { flow: 'in_port=phy-br-eth1,dl_vlan=1,dl_src=02:00:00:00:00:aa,tcp,nw_dst=10.0.0.9,tp_dst=22' });
  t.same(
    tr.steps.filter((s) => s.kind === 'lookup').map((s) => (s as { table: number }).table),
    [0, 1],
  );
  t.same(
    tr.steps.filter((s) => s.kind === 'action').map((s) => (s as { action: string }).action),
    ['mod_vlan_vid:101', 'resubmit(,1)', 'output:tap1', 'strip_vlan', 'NORMAL'],
  );
  t.same(tr.outputs.map((o) => o.kind), ['output', 'normal']);
  t.match(tr.outputs[0].headers, /802\.1Q vlan 101/);
  t.notMatch(tr.outputs[1].headers, /802\.1Q/);
  t.match(tr.outputs[0].headers, /TCP \d+ > 22/);
  t.match(tr.text, /0\. priority=4,in_port="phy-br-eth1",dl_vlan=1/);
  t.same(p.dumpFlows().map((e) => e.nPackets), before, 'trace does not count');
  t.equal(arena.available, arena.capacity);
  const miss = runTrace(p, { frame: buildFrame({}), inPort: 3 });
  t.equal(miss.outputs[0].kind, 'drop');
  t.same(miss.steps[0], { kind: 'lookup', depth: 0, table: 0, rule: null });
});

t.test('EMC on and off give the same results: same outputs, same bytes, same keys', async (t) => {
  const FLOWS = [
    'priority=4,in_port=1,dl_vlan=1,actions=mod_vlan_vid:101,NORMAL',
    'priority=5,in_port=1,tcp,tp_dst=80,actions=mod_nw_dst:10.9.9.9,mod_tp_dst:8080,dec_ttl,output:2',
    'priority=3,in_port=1,actions=output:2',
    'priority=6,in_port=1,udp,nw_dst=10.0.0.7,actions=strip_vlan,set_field:02:00:00:00:00:99->eth_dst,output:3',
  ];
  const FRAMES: FrameSpec[] = [
    { vlan: 1, proto: 'udp', dport: 53 },
    { vlan: 2, proto: 'udp', dport: 53 },
    { vlan: 1, proto: 'udp', dport: 53 },
    { proto: 'tcp', dport: 80, ttl: 9 },
    { proto: 'tcp', dport: 81 },
    { proto: 'tcp', dport: 80, ttl: 9 },
    { vlan: 4, proto: 'udp', ipDst: '10.0.0.7' },
    { vlan: 4, proto: 'udp', ipDst: '10.0.0.7' },
  ];
  const runWith = (emc: boolean) => {
    const { p, ops, send, arena } = setup({ emc });
    for (const f of FLOWS) p.addFlow(f);
    for (let round = 0; round < 3; round++) send(1, FRAMES); // rounds 2-3 hit a warm EMC
    t.equal(arena.available, arena.capacity, `emc=${emc}: every slot back`);
    if (emc) t.same([p.emcStats.misses, p.emcStats.hits], [5, 19], 'the EMC was really used: 5 distinct keys, the rest hits');
    return ops.sent.map((s) => ({ kind: s.kind, port: s.port, hex: s.hex, key: Array.from(s.key) }));
  };
  const on = runWith(true);
  const off = runWith(false);
  t.equal(on.length, 24);
  t.same(on, off, 'per packet: same output, same rewritten bytes, same key');
  // And the rewrites themselves are right (so "same" is not "equally broken").
  const tcp80 = on[3];
  t.same([tcp80.kind, tcp80.port], ['output', 2]);
  const hex = (f: FrameSpec) => Buffer.from(buildFrame(f)).toString('hex');
  t.equal(tcp80.hex, hex({ proto: 'tcp', dport: 8080, ttl: 8, ipDst: '10.9.9.9' }), 'NAT-style rewrite with checksums and TTL');
  t.same([on[0].kind, on[0].hex], ['normal', hex({ vlan: 101, proto: 'udp', dport: 53 })], 'VLAN 1 became 101');
  t.same([on[1].kind, on[1].port, on[1].hex], ['output', 2, hex({ vlan: 2, proto: 'udp', dport: 53 })], 'unchanged to port 2');
  t.same([on[4].kind, on[4].port, on[4].hex], ['output', 2, hex({ proto: 'tcp', dport: 81 })]);
  const tagged = hex({ vlan: 4, proto: 'udp', ipDst: '10.0.0.7', dst: '02:00:00:00:00:99' });
  t.same([on[6].kind, on[6].port, on[6].hex], ['output', 3, tagged.slice(0, 24) + tagged.slice(32)], 'tag stripped (4 bytes out), eth_dst set');
});

t.test('a replacing add keeps the last-used time: idle age goes on and the idle timeout is not restarted; duration and hard timeout restart (OVS rule_insert forwards stats.used)', async (t) => {
  const { p, send, advance } = setup();
  const removed: string[] = [];
  p.onFlowRemoved = (e, why) => removed.push(`${e.rule.priority}:${why}`);
  p.addFlow('priority=5,idle_timeout=10,in_port=1,actions=output:2');
  p.addFlow('priority=6,hard_timeout=10,in_port=2,actions=output:2');
  advance(3000);
  send(1, [{}]); // last used 3 s in
  advance(4000);
  const r = p.addFlow('priority=5,idle_timeout=10,in_port=1,actions=output:3');
  t.ok(r.replaced);
  const e = p.entry(r.rule);
  t.same([e.durationMs, e.idleMs, e.nPackets], [0, 4000, 0], 'duration restarts, idle age goes on, counters restart (OpenFlow 1.0 add)');
  const k = p.addFlow('priority=5,idle_timeout=10,in_port=1,actions=output:4', { keepCounts: true });
  const ek = p.entry(k.rule);
  t.same([ek.durationMs, ek.idleMs, ek.nPackets], [0, 4000, 0], 'an OpenFlow 1.3 add keeps the (restarted) counters and the last-used time too');
  p.addFlow('priority=6,hard_timeout=10,in_port=2,actions=output:3');
  advance(6000);
  t.same(p.expire(), [], '10 s after the last use');
  advance(1);
  t.same(p.expire().map((x) => x.priority), [5], 'idle 10.001 s since the packet 3 s in, not since the replacement 7 s in');
  advance(3999);
  t.same(p.expire(), [], 'the hard timeout counts from the replacement');
  advance(1);
  t.same(p.expire().map((x) => x.priority), [6]);
  t.same(removed, ['5:idle_timeout', '6:hard_timeout']);
});

t.test('dump-flows ages: idle_age from the last use, hard_age only once the flow was modified (OVS 3.1 over OpenFlow 1.0)', async (t) => {
  const { p, send, advance } = setup();
  const line = (prio: number) => p.formatFlows(`in_port=${prio - 4}`, { ages: true }).trimEnd();
  p.addFlow('priority=5,idle_timeout=100,in_port=1,actions=output:2');
  p.addFlow('priority=6,in_port=2,actions=output:3');
  t.equal(line(5), ' cookie=0x0, duration=0s, table=0, n_packets=0, n_bytes=0, idle_timeout=100, idle_age=0, priority=5,in_port="phy-br-eth1" actions=output:"int-br-eth1"');
  advance(2500);
  send(1, [{}]);
  advance(1200);
  t.equal(line(5), ' cookie=0x0, duration=3.700s, table=0, n_packets=1, n_bytes=60, idle_timeout=100, idle_age=1, priority=5,in_port="phy-br-eth1" actions=output:"int-br-eth1"', 'idle_age from the packet, no hard_age');
  p.modFlows('priority=6,in_port=2,actions=output:4', { strict: true });
  advance(1100);
  t.equal(line(6), ' cookie=0x0, duration=4.800s, table=0, n_packets=0, n_bytes=0, idle_age=4, hard_age=1, priority=6,in_port="int-br-eth1" actions=output:eth1', 'a modify: hard_age from it, duration and idle_age go on');
  p.addFlow('priority=6,in_port=2,actions=output:3');
  advance(300);
  t.equal(line(6), ' cookie=0x0, duration=0.300s, table=0, n_packets=0, n_bytes=0, idle_age=5, priority=6,in_port="int-br-eth1" actions=output:tap1', 'a replacing add: new duration, hard_age equal to it (not printed), the old last-used time');
  t.notMatch(p.formatFlows(), /_age=/, 'without ages: as an OpenFlow 1.3 dump');
});

t.test('an OpenFlow 1.0 add (tvs add-flow) is stored with reset_counts, shown only where OpenFlow 1.2+ shows it (OVS ofputil_decode_flow_mod_flags)', async (t) => {
  const { p } = setup();
  const a = p.addFlow('priority=5,in_port=1,actions=drop').rule;
  t.same(a.flags, ['reset_counts']);
  const b = p.addFlow('priority=6,in_port=1,idle_timeout=5,send_flow_rem,actions=drop').rule;
  t.same(b.flags, ['send_flow_rem', 'reset_counts']);
  t.same([b.idleTimeout, b.hardTimeout], [5, 0]);
  t.same(p.addFlow('priority=7,in_port=1,actions=drop', { keepCounts: true }).rule.flags, [], 'an OpenFlow 1.3 add without it: none');
  t.same(p.addFlow('priority=8,in_port=1,reset_counts,actions=drop', { keepCounts: false }).rule.flags, ['reset_counts'], 'named: once');
  t.same(p.modOrAddFlows('priority=9,in_port=3,actions=drop').added!.rule.flags, [], 'a modify that adds: none (not an "add" command)');
  t.same(p.addDefaultFlow().rule.flags, [], 'the default flow: none (ofproto adds it itself)');
  p.modFlows('priority=5,in_port=1,actions=output:2', { strict: true });
  t.same(p.select('priority=5,in_port=1', { strict: true })[0].flags, ['reset_counts'], 'a modify keeps the flags');
  const c = p.addFlow('priority=5,in_port=1,actions=drop', { keepCounts: true }).rule;
  t.same(c.flags, [], 'a replacing OpenFlow 1.3 add without it takes its own (none)');
  // A rule sharing the flag-only extras gets its own on a later write, the others keep theirs.
  const d = p.addFlow('priority=10,in_port=1,actions=drop').rule;
  d.hardTimeout = 9;
  t.same([d.hardTimeout, d.flags, a.hardTimeout, a.flags], [9, ['reset_counts'], 0, ['reset_counts']]);
  t.equal(p.formatFlows('priority=5,in_port=1', { strict: true }).includes('reset_counts'), false);
  t.match(p.formatFlows('priority=6,in_port=1', { strict: true }), /idle_timeout=5, send_flow_rem priority=6,/, 'dump-flows: the OpenFlow 1.0 view leaves it out');
  t.match(p.formatFlows('priority=6,in_port=1', { strict: true, resetCounts: true }), /idle_timeout=5, send_flow_rem reset_counts priority=6,/, 'an OpenFlow 1.2+ dump shows it');
  t.equal(formatRule(b), 'table=0,idle_timeout=5,send_flow_rem,priority=6,in_port=1 actions=drop', 'add-flow text (OpenFlow 1.0): left out');
});

t.test('a modify keeps duration, last-used time, timeouts and flags; the hard timeout restarts (OVS replace_rule_start for a modify)', async (t) => {
  const { p, advance } = setup();
  p.addFlow('priority=5,idle_timeout=10,hard_timeout=20,send_flow_rem,in_port=1,actions=output:2');
  advance(4000);
  const [r] = p.modFlows('priority=5,idle_timeout=30,in_port=1,actions=output:3', { strict: true });
  const e = p.entry(r);
  t.same([e.durationMs, e.idleMs, r.idleTimeout, r.hardTimeout, r.flags], [4000, 4000, 10, 20, ['send_flow_rem', 'reset_counts']], "the modify's idle_timeout=30 is not taken (OVS); the add's flags are kept, reset_counts too");
  advance(6000);
  t.same(p.expire(), []);
  advance(1);
  t.same(p.expire().map((x) => x.priority), [5], 'idle timeout from the install, not from the modify');
  p.addFlow('priority=6,hard_timeout=10,in_port=2,actions=output:2');
  advance(6000);
  p.modFlows('in_port=2,actions=output:3');
  advance(10000);
  t.same(p.expire(), [], 'hard timeout restarted by the modify');
  advance(1);
  t.same(p.expire().map((x) => x.priority), [6]);
});

t.test('mod-flows selecting nothing: modFlows (OpenFlow 1.3) adds nothing; modOrAddFlows (ovs-ofctl over OpenFlow 1.0) adds the flow unless it selects by cookie', async (t) => {
  const { p, advance } = setup();
  p.delFlows();
  t.same(p.modFlows('priority=7,ip,nw_dst=10.250.0.1,actions=drop'), []);
  t.same(p.modFlows('priority=7,ip,nw_dst=10.250.0.1,actions=drop', { strict: true }), []);
  t.equal(p.ruleCount, 0, 'OpenFlow 1.2+: nothing added');
  const a = p.modOrAddFlows('cookie=0x5,idle_timeout=30,hard_timeout=40,send_flow_rem,ip,nw_dst=10.250.0.1,actions=drop');
  t.same(a.modified, []);
  t.ok(a.added);
  const s = p.modOrAddFlows('table=3,priority=9,arp,actions=output:2', { strict: true });
  t.ok(s.added, '--strict adds too');
  t.same(p.modOrAddFlows('cookie=0x5/0xff,udp,actions=drop'), { modified: [], added: undefined }, 'a cookie mask selects only');
  advance(1500);
  t.equal(
    p.formatFlows(undefined, { names: false }),
    ' cookie=0x5, duration=1.500s, table=0, n_packets=0, n_bytes=0, idle_timeout=30, hard_timeout=40, send_flow_rem ip,nw_dst=10.250.0.1 actions=drop\n' +
      ' cookie=0x0, duration=1.500s, table=3, n_packets=0, n_bytes=0, priority=9,arp actions=output:2\n',
  );
  const m = p.modOrAddFlows('ip,actions=output:1');
  t.same([m.modified.length, m.added], [1, undefined], 'a modify that selects a flow only modifies it');
  t.equal(p.ruleCount, 2);
  // add-flows: modify and modify_strict lines that select nothing add (ovs-ofctl add-flows).
  const r = p.addFlows('modify priority=4,udp,actions=drop\nmodify_strict priority=3,tcp,actions=drop\nmodify priority=4,udp,actions=output:2');
  t.same([r.added.length, r.modified], [2, 1]);
  t.same(p.dumpFlows('udp').map((e) => formatRule(e.rule)), ['table=0,priority=4,udp actions=output:2']);
  t.equal(p.ruleCount, 4);
});

t.test('add-flows: a modify line that would add a flow past maxFlows refuses the whole file', async (t) => {
  const { p } = setup();
  p.maxFlows = 2;
  p.addFlow('priority=1,arp,actions=drop');
  t.throws(() => p.addFlows('priority=2,ip,actions=drop\nmodify priority=3,udp,actions=drop'), /table full: 2 new flows would exceed the limit of 2/);
  t.equal(p.ruleCount, 1, 'nothing applied');
  const r = p.addFlows('priority=2,ip,actions=drop\nmodify arp,actions=output:2');
  t.same([r.added.length, r.modified, p.ruleCount], [1, 1, 2], 'a modify that selects a flow is no new flow');
});
