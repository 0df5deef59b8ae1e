/**
 * learn() (NXAST_LEARN): the text both ways (OVS 3.1 ovs-ofctl as the oracle when installed),
 * and what it does with Neutron's br-tun table-10 spec: the learned flow in table 20 as
 * dump-flows prints it, forwarding through it, refresh by traffic (no new flow, hard timeout
 * restarted), replacement when a MAC moves to another tunnel, expiry, the flow limit, the EMC
 * generation, delete_learned, and trace's "learned:" line.
 */
import t from 'tap';
import { execFileSync } from 'node:child_process';
import { PacketArena } from '../../src/packet/arena';
import { Batch } from '../../src/packet/batch';
import { parseSlot } from '../../src/packet/parse';
import * as K from '../../src/packet/flow-key';
import { FlowPipeline } from '../../src/flow/pipeline';
import { formatActions } from '../../src/flow/ofctl-format';
import { runTrace } from '../../src/flow/trace';
import { RecordingOps, buildFrame } from '../../src/flow/testing';

const PORTS: Record<string, number> = { 'patch-int': 1, 'vxlan-0a000002': 2, 'vxlan-0a000003': 3, vm1: 4 };
const resolvePort = (n: string): number => PORTS[n] ?? -1;
const portName = (o: number): string | undefined => Object.keys(PORTS).find((k) => PORTS[k] === o);

const LEARN =
  'learn(table=20,hard_timeout=300,priority=1,cookie=0x1234,NXM_OF_VLAN_TCI[0..11],NXM_OF_ETH_DST[]=NXM_OF_ETH_SRC[],load:0->NXM_OF_VLAN_TCI[],load:NXM_NX_TUN_ID[]->NXM_NX_TUN_ID[],output:OXM_OF_IN_PORT[])';

/** [learn text in, as printed] — OVS learn_format output (checked against ovs-ofctl below). */
const TEXTS: [string, string][] = [
  [`${LEARN},output:patch-int`, `${LEARN},output:"patch-int"`],
  ['learn(NXM_OF_ETH_SRC[])', 'learn(table=1,NXM_OF_ETH_SRC[])'],
  ['learn(table=1,idle_timeout=0,hard_timeout=0,priority=32768,cookie=0,NXM_OF_ETH_SRC[])', 'learn(table=1,NXM_OF_ETH_SRC[])'],
  [
    'learn(table=2,vlan_tci=5,NXM_NX_REG0[0..3]=0,in_port=9,tun_id=0x5,tun_src=1.2.3.4,eth_src=00:11:22:33:44:55,reg1=0,load:0->NXM_NX_REG2[],output:NXM_NX_REG0[])',
    'learn(table=2,vlan_tci=0x5,NXM_NX_REG0[0..3]=0,in_port=9,tun_id=0x5,tun_src=1.2.3.4,eth_src=00:11:22:33:44:55,reg1=0,load:0->NXM_NX_REG2[],output:NXM_NX_REG0[])',
  ],
  [
    'learn(table=2,NXM_OF_ETH_DST[]=NXM_OF_ETH_DST[],NXM_OF_ETH_DST[0..7]=NXM_OF_ETH_DST[0..7],NXM_OF_ETH_SRC[8..15]=NXM_OF_ETH_DST[8..15])',
    'learn(table=2,NXM_OF_ETH_DST[],NXM_OF_ETH_DST[0..7],NXM_OF_ETH_SRC[8..15]=NXM_OF_ETH_DST[8..15])',
  ],
  ['learn(table=1,dl_dst=00:11:22:33:44:55,NXM_OF_IN_PORT[]=NXM_NX_REG0[0..15],tun_id=NXM_NX_TUN_ID[])', 'learn(table=1,eth_dst=00:11:22:33:44:55,NXM_OF_IN_PORT[]=NXM_NX_REG0[0..15],NXM_NX_TUN_ID[])'],
  [
    'learn(table=20,idle_timeout=10,fin_idle_timeout=5,fin_hard_timeout=6,send_flow_rem,delete_learned,NXM_OF_VLAN_TCI[0..11],eth_dst=NXM_OF_ETH_SRC[],eth_type=0x800,NXM_OF_IP_DST[]=NXM_OF_IP_SRC[],NXM_NX_REG0[0..3]=5,load:NXM_OF_IN_PORT[]->NXM_NX_REG1[0..15],load:0x5->NXM_NX_REG2[],output:NXM_NX_REG3[0..15])',
    'learn(table=20,idle_timeout=10,fin_idle_timeout=5,fin_hard_timeout=6,send_flow_rem,delete_learned,NXM_OF_VLAN_TCI[0..11],NXM_OF_ETH_DST[]=NXM_OF_ETH_SRC[],eth_type=0x800,NXM_OF_IP_DST[]=NXM_OF_IP_SRC[],NXM_NX_REG0[0..3]=0x5,load:NXM_OF_IN_PORT[]->NXM_NX_REG1[0..15],load:0x5->NXM_NX_REG2[],output:NXM_NX_REG3[0..15])',
  ],
];

function setup(maxFlows?: number, emcMinSubtables?: number) {
  let now = 1_000_000;
  const arena = new PacketArena({ slots: 64, slotSize: 2048 });
  const p = new FlowPipeline({ arena, clock: () => now, resolvePort, portName, maxFlows, emcMinSubtables });
  return { arena, p, advance: (ms: number) => (now += ms), now: () => now };
}

t.test('learn text: parse and print as OVS does; bad specs are refused with the reason', async (t) => {
  const { p } = setup();
  for (const [input, want] of TEXTS) {
    const spec = p.parse(`ip,actions=${input}`, 'add');
    t.equal(formatActions(spec.actions!, portName), want, input);
  }
  const bad: [string, RegExp][] = [
    ['ip,actions=learn(table=1,NXM_OF_IP_DST[]=NXM_OF_IP_SRC[])', /ip_dst requires ip or ipv6 .* in the learned flow/],
    ['actions=learn(table=1,eth_type=0x800,NXM_OF_IP_DST[]=NXM_OF_IP_SRC[])', /ip_src requires ip or ipv6 \(add 'ip,'\) in the match/],
    ['actions=learn(table=1,NXM_OF_ETH_SRC[]=NXM_OF_IP_SRC[])', /32 bits wide but the destination is 48 bits wide/],
    ['actions=learn(table=1,load:5->NXM_NX_REG0[0..1])', /value 5 does not fit in 2 bits/],
    ['actions=learn(table=1,load:1->NXM_OF_ETH_TYPE[])', /NXM_OF_ETH_TYPE is read-only/],
    ['actions=learn(table=1,limit=10,NXM_OF_ETH_SRC[])', /limit is not supported/],
    ['actions=learn(table=255,NXM_OF_ETH_SRC[])', /table 255 is out of range/],
    ['actions=learn(table=1,bogus=3)', /unknown field 'bogus'/],
    ['actions=learn(table=1,NXM_OF_ETH_SRC[0..50])', /bits beyond the 48-bit field/],
  ];
  for (const [flow, re] of bad) t.throws(() => p.parse(flow, 'add'), re, flow);
});

function haveOvsOfctl(): boolean {
  try {
    execFileSync('ovs-ofctl', ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

t.test('ovs-ofctl parse-flow prints each learn exactly as tvs does', { skip: haveOvsOfctl() ? false : 'ovs-ofctl is not installed (openvswitch-common)' }, async (t) => {
  const { p } = setup();
  for (const [input] of TEXTS) {
    const flow = `ip,actions=${input.replace(/output:patch-int$/, 'output:1')}`;
    const out = execFileSync('ovs-ofctl', ['parse-flow', flow], { encoding: 'utf8' });
    const theirs = out.trim().split('\n').pop()!.replace(/^.* actions=/, '');
    t.equal(formatActions(p.parse(flow, 'add').actions!, () => undefined), theirs, input);
  }
});

// ---- Neutron's br-tun learning, run ----

const VM_A = 'fa:16:3e:00:00:0a'; // behind vxlan-0a000002
const VM_B = 'fa:16:3e:00:00:0b'; // local, behind patch-int

/** br-tun tables 0, 4, 10, 20 as the agent installs them for VNI 0x3e9 on local VLAN 7. */
const BR_TUN = [
  'table=0,priority=1,in_port=patch-int,actions=resubmit(,2)',
  'table=0,priority=1,in_port=vxlan-0a000002,actions=resubmit(,4)',
  'table=0,priority=1,in_port=vxlan-0a000003,actions=resubmit(,4)',
  'table=0,priority=0,actions=drop',
  'table=2,priority=0,dl_dst=00:00:00:00:00:00/01:00:00:00:00:00,actions=resubmit(,20)',
  'table=2,priority=0,dl_dst=01:00:00:00:00:00/01:00:00:00:00:00,actions=resubmit(,22)',
  'table=4,priority=1,tun_id=0x3e9,actions=mod_vlan_vid:7,resubmit(,10)',
  'table=4,priority=0,actions=drop',
  `table=10,priority=1,actions=${LEARN},output:patch-int`,
  'table=20,priority=0,actions=resubmit(,22)',
  'table=22,priority=1,dl_vlan=7,actions=strip_vlan,set_tunnel:0x3e9,output:vxlan-0a000002,output:vxlan-0a000003',
  'table=22,priority=0,actions=drop',
].join('\n');

function send(env: ReturnType<typeof setup>, frame: Uint8Array, inPort: number, tunId?: number) {
  const { arena, p } = env;
  const s = arena.allocFrom(frame);
  if (parseSlot(arena, s, inPort) >= 0) throw new Error('fixture does not parse');
  if (tunId !== undefined) {
    const k = s << K.KEY_SHIFT;
    arena.key[k + K.K_TUN_FLAGS] = K.TUN_PRESENT;
    arena.key[k + K.K_TUN_ID_LO] = tunId;
    arena.key[k + K.K_TUN_SRC] = 0x0a000000 | inPort;
    arena.key[k + K.K_TUN_DST] = 0x0a000001;
  }
  const ops = new RecordingOps(arena, PORTS);
  const b = new Batch(4);
  b.push(s);
  p.process(b, ops);
  return ops.sent;
}

const fromA = (): Uint8Array => buildFrame({ src: VM_A, dst: VM_B, ipSrc: '10.1.0.10', ipDst: '10.1.0.11' });
const toA = (): Uint8Array => buildFrame({ src: VM_B, dst: VM_A, vlan: 7, ipSrc: '10.1.0.11', ipDst: '10.1.0.10' });
const learned = (p: FlowPipeline): string[] => p.formatFlows('table=20', { names: true }).trimEnd().split('\n').filter((l) => l.includes('priority=1,'));

t.test("br-tun table 10: a frame from a tunnel teaches table 20 the way back", async (t) => {
  const env = setup();
  const { p, advance } = env;
  p.addFlows(BR_TUN);

  // Before learning, a unicast to A floods to every tunnel of the network (table 22).
  let sent = send(env, toA(), 1);
  t.same(sent.map((s) => s.port), [2, 3], 'unknown unicast: flooded to both tunnels');

  sent = send(env, fromA(), 2, 0x3e9);
  t.equal(sent.length, 1);
  t.equal(sent[0].port, 1, 'delivered to br-int');
  t.equal(sent[0].key[K.K_VLAN_TCI], 0x1007, 'with the local VLAN');
  t.same(p.learnStats, { learned: 1, refreshed: 0, refused: 0 });
  t.same(learned(p), [
    ' cookie=0x1234, duration=0s, table=20, n_packets=0, n_bytes=0, hard_timeout=300, priority=1,vlan_tci=0x0007/0x0fff,dl_dst=fa:16:3e:00:00:0a actions=load:0->NXM_OF_VLAN_TCI[],load:0x3e9->NXM_NX_TUN_ID[],output:"vxlan-0a000002"',
  ]);

  // The way back now goes to A's tunnel only, untagged, with the network's VNI.
  sent = send(env, toA(), 1);
  t.equal(sent.length, 1);
  t.equal(sent[0].port, 2);
  t.equal(sent[0].key[K.K_VLAN_TCI], 0);
  t.equal(sent[0].key[K.K_TUN_ID_LO], 0x3e9);
  t.equal(sent[0].hex.slice(24, 28), '0800', 'tag stripped on the wire');

  // More traffic from A refreshes the same flow: no new flow, no table change, hard timeout restarts.
  const rule = p.select('table=20,priority=1,dl_dst=fa:16:3e:00:00:0a', { strict: false })[0];
  const gen = p.emcStats.generation;
  advance(200_000);
  send(env, fromA(), 2, 0x3e9);
  t.same(p.learnStats, { learned: 1, refreshed: 1, refused: 0 });
  t.equal(p.emcStats.generation, gen, 'a refresh does not touch the tables');
  t.ok(p.isInstalled(rule), 'the same rule');
  t.equal(rule.modified, env.now(), 'modified moved');
  advance(200_000); // 400 s after creation, 200 s after the refresh
  t.same(p.expire().length, 0, 'refreshed: not expired by its hard timeout');
  t.ok(p.isInstalled(rule));
  advance(100_000);
  t.same(p.expire().length, 0, 'exactly 300 s after the last refresh: still there (OVS: now > modified + hard_timeout)');
  advance(1);
  const gone = p.expire();
  t.same(gone.map((r) => r.id), [rule.id], '300.001 s after the last refresh: expired');
  t.same(learned(p), []);
  t.ok(p.emcStats.generation !== gen, 'expiry bumps the generation');
});

t.test('a MAC seen behind another tunnel replaces its learned flow', async (t) => {
  const env = setup();
  const { p } = env;
  p.addFlows(BR_TUN);
  send(env, fromA(), 2, 0x3e9);
  const gen = p.emcStats.generation;
  send(env, fromA(), 3, 0x3e9);
  t.same(p.learnStats, { learned: 2, refreshed: 0, refused: 0 });
  t.ok(p.emcStats.generation !== gen, 'the change bumps the generation');
  const l = learned(p);
  t.equal(l.length, 1, 'one flow for the MAC, not two');
  t.match(l[0], /actions=load:0->NXM_OF_VLAN_TCI\[\],load:0x3e9->NXM_NX_TUN_ID\[\],output:"vxlan-0a000003"$/);
  t.same(send(env, toA(), 1).map((s) => s.port), [3]);
});

t.test('a learn that changes a learned flow modifies it as OVS does (MODIFY_STRICT): counters, duration and last-used time kept, hard timeout restarted', async (t) => {
  const env = setup();
  const { p, advance } = env;
  p.addFlows(BR_TUN);
  send(env, fromA(), 2, 0x3e9);
  const sel = () => p.select('table=20,priority=1,dl_dst=fa:16:3e:00:00:0a', { strict: false });
  const first = sel()[0];
  advance(1000);
  t.same(send(env, toA(), 1).map((s) => s.port), [2]); // the learned flow used 1 s in
  advance(9000);
  send(env, fromA(), 3, 0x3e9); // 10 s in: the MAC moved to the other tunnel
  const [moved] = sel();
  t.not(moved, first, 'a new rule');
  const e = p.entry(moved);
  t.same([e.nPackets, e.durationMs, e.idleMs, moved.hardTimeout, moved.modified], [1, 10_000, 9000, 300, env.now()]);
  advance(300_000);
  t.same(p.expire().map((r) => r.id), [], 'the hard timeout counts from the move');
  advance(1);
  t.same(p.expire().map((r) => r.id), [moved.id]);
});

t.test('learned flows count against maxFlows: a refused learn is counted, the frame still goes on', async (t) => {
  const env = setup(13);
  const { p } = env;
  p.addFlows(BR_TUN); // 12 flows
  send(env, fromA(), 2, 0x3e9);
  t.equal(p.ruleCount, 13);
  const other = buildFrame({ src: 'fa:16:3e:00:00:0c', dst: VM_B });
  const sent = send(env, other, 2, 0x3e9);
  t.same(p.learnStats, { learned: 1, refreshed: 0, refused: 1 });
  t.equal(p.ruleCount, 13);
  t.equal(sent.length, 1);
  t.equal(sent[0].port, 1, 'delivered all the same');
  // Refreshing what exists needs no room.
  send(env, fromA(), 2, 0x3e9);
  t.same(p.learnStats, { learned: 1, refreshed: 1, refused: 1 });
});

t.test('the EMC stays exact when a learn changes table 0', async (t) => {
  // Learning into table 0 itself: the first frame to 00:..:0a is cached as a drop; once port 3
  // teaches that MAC, the same frame must take the learned flow, not the cached drop.
  const env = setup(undefined, 0);
  const { p } = env;
  p.addFlows(
    [
      'table=0,priority=10,in_port=vxlan-0a000003,actions=learn(table=0,priority=20,NXM_OF_ETH_DST[]=NXM_OF_ETH_SRC[],output:NXM_OF_IN_PORT[]),output:vm1',
      'table=0,priority=0,actions=drop',
    ].join('\n'),
  );
  const toX = (): Uint8Array => buildFrame({ src: VM_B, dst: VM_A });
  t.equal(send(env, toX(), 4)[0].kind, 'drop');
  t.equal(send(env, toX(), 4)[0].kind, 'drop', 'second time from the EMC');
  t.ok(p.emcStats.hits >= 1, 'the EMC answered');
  send(env, buildFrame({ src: VM_A, dst: VM_B }), 3);
  const sent = send(env, toX(), 4);
  t.equal(sent[0].kind, 'output');
  t.equal(sent[0].port, 3);
});

t.test('delete_learned: deleting the learning flow deletes what it learned', async (t) => {
  const env = setup();
  const { p } = env;
  p.addFlows(
    [
      'table=0,priority=10,in_port=vxlan-0a000002,actions=learn(table=5,delete_learned,NXM_OF_ETH_DST[]=NXM_OF_ETH_SRC[],output:NXM_OF_IN_PORT[]),output:vm1',
      'table=0,priority=10,in_port=vxlan-0a000003,actions=learn(table=5,NXM_OF_ETH_DST[]=NXM_OF_ETH_SRC[],output:NXM_OF_IN_PORT[]),output:vm1',
    ].join('\n'),
  );
  send(env, buildFrame({ src: VM_A }), 2);
  send(env, buildFrame({ src: 'fa:16:3e:00:00:0c' }), 3);
  t.equal(p.select('table=5').length, 2);
  p.delFlows('table=0,in_port=vxlan-0a000003');
  t.equal(p.select('table=5').length, 2, 'no delete_learned: its flow stays');
  p.delFlows('table=0,in_port=vxlan-0a000002');
  t.same(p.select('table=5').map((r) => r.match.value[K.K_DL_DST_LO].toString(16)), ['3e00000c'], "delete_learned: A's flow went with it");
});

t.test('trace: tunnel metadata on the Flow line and the flow a learn would install; nothing installed', async (t) => {
  const env = setup();
  const { p } = env;
  p.addFlows(BR_TUN);
  const r = runTrace(p, { flow: `in_port=vxlan-0a000002,tun_id=0x3e9,tun_src=10.0.0.2,tun_dst=10.0.0.1,dl_src=${VM_A},dl_dst=${VM_B},ip,nw_src=10.1.0.10,nw_dst=10.1.0.11` });
  t.match(r.text, /^Flow: in_port="vxlan-0a000002",tun_id=0x3e9,tun_src=10\.0\.0\.2,tun_dst=10\.0\.0\.1 /);
  t.match(r.text, /-> learned: cookie=0x1234,table=20,hard_timeout=300,priority=1,vlan_tci=0x0007\/0x0fff,dl_dst=fa:16:3e:00:00:0a actions=load:0->NXM_OF_VLAN_TCI\[\],load:0x3e9->NXM_NX_TUN_ID\[\],output:"vxlan-0a000002"/);
  t.equal(r.outputs.length, 1);
  t.equal(r.outputs[0].port, 1);
  t.same(learned(p), [], 'trace installs nothing');
  t.same(p.learnStats, { learned: 0, refreshed: 0, refused: 0 });
  send(env, fromA(), 2, 0x3e9);
  const again = runTrace(p, { flow: `in_port=vxlan-0a000002,tun_id=0x3e9,tun_src=10.0.0.2,tun_dst=10.0.0.1,dl_src=${VM_A},dl_dst=${VM_B}` });
  t.match(again.text, /-> learn refreshes: cookie=0x1234,table=20,/);
});

t.test('expiry is bounded per call and goes on where it stopped', async (t) => {
  const env = setup();
  const { p, advance } = env;
  const lines: string[] = [];
  for (let i = 0; i < 50; i++) lines.push(`table=1,priority=1,hard_timeout=1,reg0=${i},actions=drop`);
  p.addFlows(lines.join('\n'));
  advance(1001);
  t.equal(p.expire(undefined, 20).length, 20);
  t.equal(p.expire(undefined, 20).length, 20);
  t.equal(p.expire(undefined, 20).length, 10);
  t.equal(p.ruleCount, 0);
  t.equal(p.expire(undefined, 20).length, 0);
});
