/**
 * OpenFlow sessions over a fake transport against a real Switch with memory ports: the flow
 * mapping lands in the one rule model (tvs dump-flows text), FLOW stats come back from flows
 * added as text, bad input gets the right ERROR with the offending bytes, packet-in/out move
 * frames.
 */
import t from 'tap';
import { Switch } from '../../src/datapath/switch';
import { MemoryPort } from '../../src/io/memory-port';
import { BridgeAgent } from '../../src/openflow/agent';
import { OfSession, SEND_HIGH, SEND_QUEUE_FULL, STALL_MS } from '../../src/openflow/session';
import { FakeIo } from '../helpers/of-session';
import * as K from '../../src/packet/flow-key';
import { OpenFlowService } from '../../src/openflow/service';
import * as of from '../../src/wire/openflow';
import { matchFromOxm, matchToOxm, ruleToFlowStats } from '../../src/openflow/rule-map';
import { OFCTL } from '../fixtures/openflow';
import { udpFrame } from '../../src/wire/frames';

const hex = (s: string) => Buffer.from(s, 'hex');

function rig() {
  const sw = new Switch({ clock: () => 0, arena: { slots: 256, slotSize: 2048 + 128 } });
  sw.addBridge('br0');
  sw.flows('br0').delFlows(); // start from no flows (a new bridge has the default NORMAL flow), as a controller does
  const p1 = sw.addPort('br0', 'p1', { type: 'memory' }).io as MemoryPort;
  const p2 = sw.addPort('br0', 'p2', { type: 'memory' }).io as MemoryPort;
  const io = new FakeIo();
  const s = new OfSession(io, new BridgeAgent(sw, 'br0'), { clock: () => 0 });
  t.equal(io.take()[0].type, 'hello');
  return { sw, p1, p2, io, s };
}

function connected() {
  const r = rig();
  r.s.receive(hex(OFCTL.hello));
  return r;
}

t.test('openflow session: ovs-ofctl add-flow lands in the rule model with its cookie', async (t) => {
  const { sw, io, s } = connected();
  s.receive(hex(OFCTL.addVlanFlow));
  s.receive(hex(OFCTL.barrier));
  t.same(io.take().map((m) => m.type), ['barrier_reply']);
  t.equal(sw.flows('br0').formatFlows().replace(/duration=[\d.]+s, /, ''), ' cookie=0x1234, table=0, n_packets=0, n_bytes=0, priority=4,in_port=p1,dl_vlan=1 actions=set_field:4196->vlan_vid,NORMAL\n');
  s.receive(hex(OFCTL.modFlows)); // table=1: selects nothing, changes nothing
  t.equal(sw.flows('br0').ruleCount, 1);
  s.receive(hex(OFCTL.delOutPort)); // the flow outputs to NORMAL, not port 2
  t.equal(sw.flows('br0').ruleCount, 1);
  t.same(io.take(), []);
});

t.test('openflow session: a tvs add-flow shows in FLOW stats, with counters; aggregate agrees', async (t) => {
  const { sw, p1, io, s } = connected();
  sw.flows('br0').addFlow('table=0,priority=7,cookie=0x99,ip,nw_dst=10.0.0.0/24,reg1=0x0/0xf,actions=load:0x3->NXM_NX_REG2[0..3],resubmit(,3),output:2');
  sw.flows('br0').addFlow('table=3,priority=1,actions=drop');
  p1.inject(udpFrame({ src: '02:00:00:00:00:01', dst: '02:00:00:00:00:02', ipSrc: '10.0.0.1', ipDst: '10.0.0.2' }));
  sw.runUntilIdle();
  const req = hex(OFCTL.aggregateRequest);
  s.receive(req);
  const [agg] = io.take();
  t.match(agg, { type: 'multipart_reply', body: { mpType: of.MP.AGGREGATE, flowCount: 2, packetCount: 2n } }, 'one packet, counted by the table 0 flow and the table 3 flow it resubmitted to');
  // FLOW stats for everything.
  const q = of.decodeMessage(hex(OFCTL.aggregateRequest));
  if (q.type !== 'multipart_request') throw new Error('x');
  s.receive(of.encodeMessage({ ...q, xid: 77, body: { ...(q.body as object), mpType: of.MP.FLOW } as never }));
  const [rep] = io.take();
  if (rep.type !== 'multipart_reply' || !('flows' in rep.body)) throw new Error('no flow stats');
  const flows = rep.body.flows as of.FlowStats[];
  t.equal(flows.length, 2);
  t.match(flows[0], { tableId: 0, priority: 7, cookie: 0x99n });
  t.same(flows[0].instructions, [
    {
      type: 'apply_actions',
      actions: [
        { type: 'nx_reg_load', ofsNbits: 3, dst: of.oxmHeader(1, 2, false, 4), value: 3n },
        { type: 'nx_resubmit', inPort: 0xfff8, table: 3 },
        { type: 'output', port: 2, maxLen: 0 },
      ],
    },
  ]);
  // Its match goes back to the same rule model match.
  t.ok(matchFromOxm(flows[0].match).equals(sw.flows('br0').dumpFlows()[0].rule.match));
  t.same(flows[0].match.map((o) => of.oxmInfo(o.cls, o.field)!.name), ['eth_type', 'ipv4_dst', 'reg1']);
  t.equal(flows[0].packetCount, 1n);
});

t.test('openflow session: FLOW stats carry reset_counts on flows tvs add-flow made (an OpenFlow 1.0 add, as OVS stores it), not on OpenFlow 1.3 adds without it, modify-made adds or the default flow', async (t) => {
  const { sw, io, s } = connected();
  const f = sw.flows('br0');
  f.addFlow('priority=1,in_port=p1,actions=drop');
  f.addFlow('priority=2,in_port=p1,check_overlap,send_flow_rem,actions=drop');
  f.modOrAddFlows('priority=3,in_port=p2,actions=drop'); // selects nothing: added
  f.addFlows('priority=4,in_port=p1,actions=drop\nmodify priority=5,ip,actions=drop');
  f.addDefaultFlow();
  const fm = of.decodeMessage(hex(OFCTL.addVlanFlow));
  if (fm.type !== 'flow_mod') throw new Error('x');
  s.receive(of.encodeMessage(fm)); // priority 4, in_port=p1,dl_vlan=1, no flags
  s.receive(of.encodeMessage({ ...fm, priority: 6, flags: of.FF.RESET_COUNTS }));
  const q = of.decodeMessage(hex(OFCTL.aggregateRequest));
  if (q.type !== 'multipart_request') throw new Error('x');
  s.receive(of.encodeMessage({ ...q, xid: 78, body: { ...(q.body as object), mpType: of.MP.FLOW } as never }));
  const [rep] = io.take();
  if (rep.type !== 'multipart_reply' || !('flows' in rep.body)) throw new Error('no flow stats');
  const flags = (rep.body.flows as of.FlowStats[]).map((x) => [x.priority, x.match.length, x.flags]).sort((a, b) => a[0] - b[0] || a[1] - b[1]);
  const { SEND_FLOW_REM: SFR, CHECK_OVERLAP: CO, RESET_COUNTS: RC } = of.FF;
  t.same(flags, [[0, 0, 0], [1, 1, RC], [2, 1, SFR | CO | RC], [3, 1, 0], [4, 1, RC], [4, 2, 0], [5, 1, 0], [6, 2, RC]]);
  // tvs dump-flows is the OpenFlow 1.0 view: reset_counts is left out there, as in OVS's.
  t.notMatch(f.formatFlows(), /reset_counts/);
  t.match(f.formatFlows('priority=2,in_port=p1', { strict: true }), / send_flow_rem check_overlap priority=2,in_port=p1 actions=drop\n$/, "flags in OVS's order");
});

t.test('FLOW stats durations in whole milliseconds, as OVS calc_duration (ovs-ofctl prints duration=1.374s)', async (t) => {
  const sw = new Switch({ clock: () => 0, arena: { slots: 64, slotSize: 2048 + 128 } });
  sw.addBridge('br0');
  const rule = sw.flows('br0').dumpFlows()[0].rule;
  t.match(ruleToFlowStats(rule, 0, 0, 1374.549756), { durationSec: 1, durationNsec: 374_000_000 });
  t.match(ruleToFlowStats(rule, 0, 0, 999.9999), { durationSec: 0, durationNsec: 999_000_000 });
  t.match(ruleToFlowStats(rule, 0, 0, 65_000), { durationSec: 65, durationNsec: 0 });
});

t.test('openflow session: an add replacing a flow keeps its counters unless reset_counts; a modify with reset_counts restarts them (OVS, OpenFlow 1.3)', async (t) => {
  const { sw, p1, io, s } = connected();
  const fm = of.decodeMessage(hex(OFCTL.addVlanFlow));
  if (fm.type !== 'flow_mod') throw new Error('x');
  const count = () => sw.flows('br0').dumpFlows().map((e) => [e.nPackets, e.rule.cookie]);
  const hit = () => {
    p1.inject(udpFrame({ src: '02:00:00:00:00:01', dst: '02:00:00:00:00:02', ipSrc: '10.0.0.1', ipDst: '10.0.0.2', vid: 1 }));
    sw.runUntilIdle();
  };
  s.receive(of.encodeMessage(fm));
  hit();
  hit();
  t.same(count(), [[2, 0x1234n]]);
  s.receive(of.encodeMessage({ ...fm, cookie: 0x55n })); // same match and priority, no flags
  t.same(count(), [[2, 0x55n]], 'replaced (new cookie), counters carried over');
  s.receive(of.encodeMessage({ ...fm, flags: of.FF.RESET_COUNTS }));
  t.same(count(), [[0, 0x1234n]], 'reset_counts: counters restart');
  hit();
  s.receive(of.encodeMessage({ ...fm, command: of.FC.MODIFY_STRICT, cookieMask: 0n }));
  t.same(count(), [[1, 0x1234n]], 'a modify keeps them');
  s.receive(of.encodeMessage({ ...fm, command: of.FC.MODIFY_STRICT, cookieMask: 0n, flags: of.FF.RESET_COUNTS }));
  t.same(count(), [[0, 0x1234n]], 'a modify with reset_counts restarts them');
  t.same(io.take(), [], 'no error');
  // Text adds (ovs-ofctl's default OpenFlow 1.0 semantics) restart them.
  hit();
  sw.flows('br0').addFlow('cookie=0x1234,priority=4,in_port=p1,dl_vlan=1,actions=mod_vlan_vid:100,NORMAL');
  t.same(count(), [[0, 0x1234n]], 'tvs add-flow: counters restart');
});

t.test('openflow session: OXM masks and prerequisites map exactly', async (t) => {
  const m = matchFromOxm([of.oxm('eth_type', 0x0800), of.oxm('ipv4_src', 0x0a000000, 0xff000000), of.oxm('ip_proto', 6), of.oxm('tcp_dst', 80), of.oxm('vlan_vid', 0x1000, 0x1000), of.oxm('metadata', 0x5n, 0xffn)]);
  const back = matchToOxm(m);
  t.ok(matchFromOxm(back).equals(m), 'round trip through the rule model');
  t.throws(() => matchFromOxm([of.oxm('ipv4_src', 1)]), { type: of.ET.BAD_MATCH, code: of.BAD_MATCH.BAD_PREREQ });
  t.throws(() => matchFromOxm([of.oxm('eth_type', 0x800), of.oxm('eth_type', 0x800)]), { type: of.ET.BAD_MATCH, code: of.BAD_MATCH.DUP_FIELD });
  t.throws(() => matchFromOxm([of.oxm('eth_dst', 3n, 1n)]), { type: of.ET.BAD_MATCH, code: of.BAD_MATCH.BAD_WILDCARDS });
  // A field the flow key lacks (IPv6 addresses map since the key has them; MPLS does not).
  t.throws(() => matchFromOxm([of.oxm('eth_type', 0x8847), of.oxm('mpls_label', 5)]), { type: of.ET.BAD_MATCH, code: of.BAD_MATCH.BAD_FIELD });
});

t.test('openflow session: unsupported and malformed requests get the right ERROR, offending bytes echoed', async (t) => {
  const { io, s, sw } = connected();
  const groupMod = of.encodeMessage({ type: 'unsupported', xid: 5, msgType: of.T.GROUP_MOD, data: Buffer.alloc(8) });
  s.receive(groupMod);
  let [e] = io.take();
  t.match(e, { type: 'error', xid: 5, errType: of.ET.BAD_REQUEST, code: of.BAD_REQUEST.BAD_TYPE });
  t.equal((e as { data: Buffer }).data.toString('hex'), groupMod.toString('hex'));
  // A type no OpenFlow version defines: the same error, and the session carries on.
  s.receive(hex('04c8000c000000060a0b0c0d'));
  t.match(io.take(), [{ type: 'error', xid: 6, errType: of.ET.BAD_REQUEST, code: of.BAD_REQUEST.BAD_TYPE, data: hex('04c8000c000000060a0b0c0d') }]);
  t.equal(s.state, 'active');
  // write_actions with an action that has no place in the action set: BAD_ACTION /
  // UNSUPPORTED_ORDER (OVS ofpacts_verify); a group action: bad out group.
  const fm = of.decodeMessage(hex(OFCTL.addVlanFlow));
  if (fm.type !== 'flow_mod') throw new Error('x');
  s.receive(of.encodeMessage({ ...fm, instructions: [{ type: 'write_actions', actions: [{ type: 'nx_resubmit', inPort: 0xfff8, table: 2 }] }] }));
  [e] = io.take();
  t.match(e, { type: 'error', errType: of.ET.BAD_ACTION, code: of.BAD_ACTION.UNSUPPORTED_ORDER });
  s.receive(of.encodeMessage({ ...fm, instructions: [{ type: 'apply_actions', actions: [{ type: 'group', groupId: 1 }] }] }));
  [e] = io.take();
  t.match(e, { type: 'error', errType: of.ET.BAD_ACTION, code: of.BAD_ACTION.BAD_OUT_GROUP });
  s.receive(of.encodeMessage({ ...fm, tableId: 0xff }));
  [e] = io.take();
  t.match(e, { type: 'error', errType: of.ET.FLOW_MOD_FAILED, code: of.FLOW_MOD_FAILED.BAD_TABLE_ID });
  // A FLOW_MOD whose match length lies: BAD_MATCH/BAD_LEN, and the connection stays up.
  const lie = hex(OFCTL.addVlanFlow);
  lie.writeUInt16BE(0x7f, 50);
  s.receive(lie);
  [e] = io.take();
  t.match(e, { type: 'error', xid: 6, errType: of.ET.BAD_MATCH, code: of.BAD_MATCH.BAD_LEN });
  t.equal((e as { data: Buffer }).data.length, 64, 'the first 64 bytes are echoed');
  t.equal(s.state, 'active');
  t.equal(sw.flows('br0').ruleCount, 0, 'nothing installed by the refused flow_mods');
  // Echo.
  s.receive(of.encodeMessage({ type: 'echo_request', xid: 9, data: hex('0102') }));
  t.match(io.take(), [{ type: 'echo_reply', xid: 9, data: hex('0102') }]);
  // TABLE_FEATURES: a full reply in several messages (ovs-ofctl asks before flow commands).
  s.receive(hex('0412001000000004000c000000000000'));
  const tf = io.take();
  t.ok(tf.length >= 2, `${tf.length} messages`);
  t.equal(tf.filter((m) => m.type === 'multipart_reply' && (m.flags & of.MPF_REPLY_MORE) === 0).length, 1, 'the last one has no REPLY_MORE');
});

t.test('openflow session: garbage, a lying length and a wrong version close the connection', async (t) => {
  {
    const { io, s } = rig();
    s.receive(hex('0400000300000001'));
    t.match(io.take(), [{ type: 'error', errType: of.ET.BAD_REQUEST, code: of.BAD_REQUEST.BAD_LEN }]);
    t.equal(s.state, 'closed');
    t.ok(io.ended);
  }
  {
    const { io, s } = rig();
    s.receive(Buffer.from('GET / HTTP/1.1\r\n\r\n'));
    t.match(io.take(), [{ type: 'error', errType: of.ET.HELLO_FAILED }]);
    t.equal(s.state, 'closed');
  }
  {
    const { io, s } = rig();
    s.receive(hex('01000008000000aa')); // OpenFlow 1.0 HELLO without a bitmap
    const [e] = io.take();
    t.match(e, { type: 'error', xid: 0xaa, errType: of.ET.HELLO_FAILED, code: of.HELLO_FAILED.INCOMPATIBLE });
    t.match((e as { data: Buffer }).data.toString(), /version 0x04/);
    t.equal(s.state, 'closed');
  }
  {
    const { io, s } = connected();
    s.receive(hex('0114000800000003')); // barrier with version 1 after a 1.3 hello
    t.match(io.take(), [{ type: 'error', errType: of.ET.BAD_REQUEST, code: of.BAD_REQUEST.BAD_VERSION }]);
    t.equal(s.state, 'active');
  }
});

t.test('openflow session: roles; a slave may not modify', async (t) => {
  const { io, s } = connected();
  s.receive(of.encodeMessage({ type: 'role_request', xid: 1, role: of.ROLE.SLAVE, generationId: 1n }));
  t.match(io.take(), [{ type: 'role_reply', role: of.ROLE.SLAVE }]);
  s.receive(hex(OFCTL.addVlanFlow));
  t.match(io.take(), [{ type: 'error', errType: of.ET.BAD_REQUEST, code: of.BAD_REQUEST.IS_SLAVE }]);
});

t.test('openflow service: packet-in to the controller, packet-out back out', async (t) => {
  const sw = new Switch({ clock: () => 0, arena: { slots: 256, slotSize: 2048 + 128 } });
  sw.addBridge('br0');
  const p1 = sw.addPort('br0', 'p1', { type: 'memory' }).io as MemoryPort;
  const p2 = sw.addPort('br0', 'p2', { type: 'memory' }).io as MemoryPort;
  const svc = new OpenFlowService(sw, { controlPath: '/nonexistent/x.sock' });
  const io = new FakeIo();
  const agent = new BridgeAgent(sw, 'br0');
  const s = new OfSession(io, agent, { clock: () => 0 });
  s.receive(hex(OFCTL.hello));
  io.take();
  // Reach into the service's bridge table the way a listener would.
  (svc as unknown as { bridges: Map<string, unknown> }).bridges.set('br0', { agent, server: null, socketPath: '', sessions: new Set([s]), generation: { value: null } });
  sw.onPacketIn = (pi) => svc.packetIn(pi);
  sw.flows('br0').addFlow('priority=0,cookie=0x7,actions=CONTROLLER:65535');
  const frame = udpFrame({ src: '02:00:00:00:00:01', dst: '02:00:00:00:00:02', ipSrc: '10.0.0.1', ipDst: '10.0.0.2' });
  p1.inject(frame);
  sw.runUntilIdle();
  const [pi] = io.take();
  t.match(pi, { type: 'packet_in', bufferId: of.NO_BUFFER, reason: of.PR.NO_MATCH, cookie: 0x7n, tableId: 0, totalLen: frame.length });
  t.same((pi as { match: of.Oxm[] }).match, [of.oxm('in_port', 1)]);
  t.equal((pi as { data: Buffer }).data.toString('hex'), Buffer.from(frame).toString('hex'));
  // packet-out to port 2 and FLOOD (from in_port 1: only p2).
  s.receive(of.encodeMessage({ type: 'packet_out', xid: 3, bufferId: of.NO_BUFFER, inPort: 1, actions: [{ type: 'output', port: 2, maxLen: 0 }, { type: 'output', port: of.OFPP13_FLOOD, maxLen: 0 }], data: Buffer.from(frame) }));
  t.same(io.take(), []);
  const tx = p2.takeTransmitted();
  t.equal(tx.length, 2);
  t.equal(Buffer.from(tx[0]).toString('hex'), Buffer.from(frame).toString('hex'));
  t.equal(p1.takeTransmitted().length, 0);
});

t.test('openflow service: FLOW_REMOVED for send_flow_rem flows, PORT_STATUS on port add/delete', async (t) => {
  const fs = await import('fs');
  const os = await import('os');
  const path = await import('path');
  let now = 0;
  const sw = new Switch({ clock: () => now, arena: { slots: 256, slotSize: 2048 + 128 } });
  sw.addBridge('br0');
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tvs-of-unit-'));
  const svc = new OpenFlowService(sw, { controlPath: path.join(dir, 'x.sock') });
  await svc.start();
  t.teardown(async () => {
    await svc.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  });
  t.equal(fs.statSync(path.join(dir, 'br0.mgmt')).mode & 0o777, 0o600, 'br0.mgmt is 0600');
  const io = new FakeIo();
  const agent = new BridgeAgent(sw, 'br0');
  const s = new OfSession(io, agent, { clock: () => now });
  s.receive(hex(OFCTL.hello));
  io.take();
  (svc as unknown as { bridges: Map<string, { sessions: Set<OfSession> }> }).bridges.get('br0')!.sessions.add(s);
  sw.addPort('br0', 'p1', { type: 'memory' });
  const [ps] = io.take();
  t.match(ps, { type: 'port_status', reason: of.PORT_REASON.ADD, port: { portNo: 1, name: 'p1' } });
  const fm = of.decodeMessage(hex(OFCTL.addVlanFlow));
  if (fm.type !== 'flow_mod') throw new Error('x');
  s.receive(of.encodeMessage({ ...fm, idleTimeout: 2, flags: of.FF.SEND_FLOW_REM }));
  now += 2500;
  sw.tick();
  const [fr] = io.take();
  t.match(fr, { type: 'flow_removed', cookie: 0x1234n, priority: 4, reason: of.RR.IDLE_TIMEOUT, tableId: 0, idleTimeout: 2, packetCount: 0n, durationSec: 2 });
  t.same((fr as { match: of.Oxm[] }).match, fm.match, 'the match goes back as it came');
  // A flow whose match OpenFlow cannot carry (the inner VLAN word): no FLOW_REMOVED naming a
  // wider match, and the switch carries on.
  const odd = sw.flows('br0').parse('priority=5,idle_timeout=2,send_flow_rem,actions=drop', 'add');
  odd.match.set(K.K_VLAN_TCI2, 0x1005, 0x1fff);
  const before = sw.flows('br0').ruleCount;
  sw.flows('br0').addFlow(odd);
  t.equal(sw.flows('br0').ruleCount, before + 1);
  now += 2500;
  sw.tick();
  t.equal(sw.flows('br0').ruleCount, before, 'the flow timed out');
  t.same(io.take(), [], 'and no FLOW_REMOVED went out for it');
  sw.delPort('br0', 'p1');
  t.match(io.take(), [{ type: 'port_status', reason: of.PORT_REASON.DELETE, port: { portNo: 1, name: 'p1' } }]);
});

t.test('openflow session: a peer that stops reading is dropped once its queue stays full for STALL_MS', async (t) => {
  let now = 0;
  const sw = new Switch({ clock: () => 0, arena: { slots: 64, slotSize: 2048 + 128 } });
  sw.addBridge('br0');
  const io = new FakeIo();
  let closedWith = '';
  const s = new OfSession(io, new BridgeAgent(sw, 'br0'), { clock: () => now, onClose: (_x, r) => (closedWith = r) });
  s.receive(hex(OFCTL.hello));
  io.take();
  io.writableLength = SEND_HIGH + 1; // replies pile up: the peer reads nothing
  s.tick(5000);
  now += 20_000;
  s.tick(5000);
  t.same(io.take(), [], 'no echo probe while reading is paused (its reply could not be read)');
  t.equal(s.state, 'active');
  t.notOk(s.sendAsync({ type: 'barrier_reply', xid: 0 }), 'async messages are dropped meanwhile');
  t.equal(s.counters.asyncDropped, 1);
  now += STALL_MS;
  s.tick(5000);
  t.equal(s.state, 'closed');
  t.equal(closedWith, SEND_QUEUE_FULL);
  t.ok(io.ended);
});

t.test('openflow session: a service connection asks for asynchronous messages with a miss_send_len, as in OVS', async (t) => {
  const sw = new Switch({ clock: () => 0, arena: { slots: 256, slotSize: 2048 + 128 } });
  sw.addBridge('br0');
  const io = new FakeIo();
  const s = new OfSession(io, new BridgeAgent(sw, 'br0'), { clock: () => 0, service: true });
  s.receive(hex(OFCTL.hello));
  io.take();
  t.equal(s.receivesAsync, false, 'a service connection: none until it asks');
  s.receive(of.encodeMessage({ type: 'get_config_request', xid: 7 }));
  t.match(io.take(), [{ type: 'get_config_reply', xid: 7, missSendLen: 0 }], "its miss_send_len is OVS's service default, 0");
  s.receive(of.encodeMessage({ type: 'set_config', xid: 8, flags: 0, missSendLen: 65535 }));
  t.equal(s.receivesAsync, true, 'after SET_CONFIG with a miss_send_len (ovs-ofctl monitor BR 65535): asynchronous messages');
  const c = new OfSession(new FakeIo(), new BridgeAgent(sw, 'br0'), { clock: () => 0 });
  c.receive(hex(OFCTL.hello));
  t.equal(c.missSendLen, 128, 'a controller connection: 128');
  t.equal(c.receivesAsync, true, 'and asynchronous messages from the start');
});
