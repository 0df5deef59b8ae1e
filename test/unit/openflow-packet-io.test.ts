/**
 * PACKET_IN and PACKET_OUT against a real Switch with memory ports, checked on bytes: the
 * packet-in's match carries the pipeline context (registers, metadata) as OXM/NXM TLVs, its data
 * is cut to the controller action's max_len, a table-miss flow reports OFPR_NO_MATCH (OVS, OF1.3),
 * a packet-in no action asked for carries miss_send_len; a packet-out runs any action list.
 */
import t from 'tap';
import { Switch } from '../../src/datapath/switch';
import { MemoryPort } from '../../src/io/memory-port';
import { BridgeAgent } from '../../src/openflow/agent';
import { OfSession, type OfTransport } from '../../src/openflow/session';
import { OpenFlowService } from '../../src/openflow/service';
import { packetInMatch } from '../../src/openflow/packet-in-match';
import * as K from '../../src/packet/flow-key';
import * as of from '../../src/wire/openflow';
import { udpFrame, arpRequest, frameVid } from '../../src/wire/frames';

class RawIo implements OfTransport {
  out: Buffer[] = [];
  writableLength = 0;
  write(b: Buffer) {
    this.out.push(b);
    return true;
  }
  end() {}
  pause() {}
  resume() {}
  take(): Buffer[] {
    const f = new of.Framer();
    for (const b of this.out) f.push(b);
    this.out = [];
    const r: Buffer[] = [];
    for (let m = f.next(); m !== null; m = f.next()) r.push(m as Buffer);
    return r;
  }
}

function rig() {
  const sw = new Switch({ clock: () => 0, arena: { slots: 256, slotSize: 2048 + 128 } });
  sw.addBridge('br0');
  sw.flows('br0').delFlows();
  const p1 = sw.addPort('br0', 'p1', { type: 'memory' }).io as MemoryPort;
  const p2 = sw.addPort('br0', 'p2', { type: 'memory' }).io as MemoryPort;
  const svc = new OpenFlowService(sw, { controlPath: '/nonexistent/x.sock' });
  const io = new RawIo();
  const agent = new BridgeAgent(sw, 'br0');
  const s = new OfSession(io, agent, { clock: () => 0 });
  s.receive(of.encodeMessage(of.hello13(1)));
  io.take();
  (svc as unknown as { bridges: Map<string, unknown> }).bridges.set('br0', { agent, server: null, socketPath: '', sessions: new Set([s]), generation: { value: null } });
  sw.onPacketIn = (pi) => svc.packetIn(pi);
  return { sw, p1, p2, io, s, svc, agent };
}

const frame = udpFrame({ src: '02:00:00:00:00:01', dst: '02:00:00:00:00:02', ipSrc: '10.0.0.1', ipDst: '10.0.0.2' });

t.test('packet-in: registers and metadata in the match, data cut to max_len, reason action, cookie', async (t) => {
  const { sw, p1, io } = rig();
  sw.flows('br0').addFlow('priority=5,cookie=0x42,udp,actions=load:0xabcd->NXM_NX_REG3[],write_metadata:0x5,controller:32');
  p1.inject(frame);
  sw.runUntilIdle();
  const [pi] = io.take();
  const want =
    '040a005a00000000' + // OF1.3 PACKET_IN, length 90, xid 0
    'ffffffff' + frame.length.toString(16).padStart(4, '0') + '01' + '00' + // NO_BUFFER, total_len, OFPR_ACTION, table 0
    '0000000000000042' + // cookie
    '00010020' + // OFPMT_OXM, length 32
    '8000000400000001' + // in_port=1
    '800004080000000000000005' + // metadata=5
    '000106040000abcd' + // NXM_NX_REG3=0xabcd
    '0000' + // pad
    frame.subarray(0, 32).toString('hex');
  t.equal(pi.toString('hex'), want, 'PACKET_IN bytes');
  t.same(of.encodeMessage(of.decodeMessage(pi)), pi, 'decode → encode is identical');
});

t.test('packet-in: a table-miss flow reports OFPR_NO_MATCH with its cookie, the whole frame for OFPCML_NO_BUFFER', async (t) => {
  const { sw, p1, io } = rig();
  sw.flows('br0').addFlow('priority=0,cookie=0x7,actions=CONTROLLER:65535');
  p1.inject(frame);
  sw.runUntilIdle();
  const m = of.decodeMessage(io.take()[0]);
  t.match(m, { type: 'packet_in', bufferId: of.NO_BUFFER, reason: of.PR.NO_MATCH, cookie: 0x7n, tableId: 0, totalLen: frame.length });
  t.equal((m as { data: Buffer }).data.toString('hex'), frame.toString('hex'));
  // The same action in a flow that is not a table-miss flow is an action packet-in.
  sw.flows('br0').addFlow('priority=1,cookie=0x8,in_port=1,actions=CONTROLLER:65535');
  p1.inject(frame);
  sw.runUntilIdle();
  t.match(of.decodeMessage(io.take()[0]), { reason: of.PR.ACTION, cookie: 0x8n });
});

t.test('packet-in: miss_send_len (SET_CONFIG) cuts packet-ins no action sized; GET_CONFIG reads it back', async (t) => {
  const { s, io, svc } = rig();
  s.receive(of.encodeMessage({ type: 'set_config', xid: 2, flags: 0, missSendLen: 20 }));
  s.receive(of.encodeMessage({ type: 'get_config_request', xid: 3 }));
  t.match(of.decodeMessage(io.take()[0]), { type: 'get_config_reply', missSendLen: 20 });
  const key = new Uint32Array(K.KEY_WORDS);
  key[K.K_IN_PORT] = 2;
  svc.packetIn({ bridge: 'br0', table: 3, cookie: 0n, reason: 'invalid_ttl', inPort: 2, inPortName: 'p2', frame, maxLen: -1, key });
  const m = of.decodeMessage(io.take()[0]);
  t.match(m, { type: 'packet_in', reason: of.PR.INVALID_TTL, tableId: 3, totalLen: frame.length });
  t.equal((m as { data: Buffer }).data.length, 20);
  s.receive(of.encodeMessage({ type: 'set_config', xid: 4, flags: 0, missSendLen: of.OFPCML_NO_BUFFER }));
  svc.packetIn({ bridge: 'br0', table: 3, cookie: 0n, reason: 'invalid_ttl', inPort: 2, inPortName: 'p2', frame, maxLen: -1, key });
  t.equal((of.decodeMessage(io.take()[0]) as { data: Buffer }).data.length, frame.length, 'OFPCML_NO_BUFFER: the whole frame');
});

t.test('packet-in match: conntrack, pkt_mark and tunnel fields as OVS sends them, zeros left out', async (t) => {
  const key = new Uint32Array(K.KEY_WORDS);
  key[K.K_IN_PORT] = 0xfffe; // LOCAL
  key[K.K_TUN_FLAGS] = K.TUN_PRESENT;
  key[K.K_TUN_ID_LO] = 0x64;
  key[K.K_TUN_SRC] = 0x0a000001;
  key[K.K_PKT_MARK] = 9;
  key[K.K_CT_STATE] = 0x21; // +new+trk
  key[K.K_CT_ZONE] = 5;
  key[K.K_CT_NW_PROTO] = 6;
  const w = new of.Writer();
  of.writeMatch(w, packetInMatch(key));
  t.equal(
    w.done().toString('hex'),
    '0001' + '003b' + // OFPMT_OXM, length 59 (4 + the TLVs)
      '80000004fffffffe' + // in_port=LOCAL
      '80004c080000000000000064' + // tunnel_id=0x64
      '00013e040a000001' + // tun_src (NXM_NX_TUN_IPV4_SRC)
      '0001420400000009' + // pkt_mark
      '0001d20400000021' + // ct_state
      '0001d4020005' + // ct_zone
      '0001ee0106' + // ct_nw_proto
      '0000000000', // pad to 64
  );
});

t.test('packet-out: any action list (set_field, push/pop_vlan, IN_PORT, TABLE), checked against the frame', async (t) => {
  const { sw, p1, p2, io, s, agent } = rig();
  const free0 = sw.arena.available;
  const po = (inPort: number, actions: of.OfAction[], data: Buffer = frame) =>
    s.receive(of.encodeMessage({ type: 'packet_out', xid: 9, bufferId: of.NO_BUFFER, inPort, actions, data }));
  po(1, [
    { type: 'set_field', field: of.oxm('eth_dst', Buffer.from('02000000aaaa', 'hex')) },
    { type: 'push_vlan', ethertype: 0x8100 },
    { type: 'set_field', field: of.oxm('vlan_vid', 0x1000 | 42) },
    { type: 'output', port: 2, maxLen: 0 },
  ]);
  t.same(io.take(), []);
  const [tx] = p2.takeTransmitted();
  t.equal(tx.subarray(0, 6).toString('hex'), '02000000aaaa', 'eth_dst rewritten');
  t.equal(frameVid(tx), 42, 'tagged 42');
  t.equal(tx.length, frame.length + 4);
  // pop_vlan back out of the input port (IN_PORT), from a tagged frame.
  po(1, [{ type: 'pop_vlan' }, { type: 'output', port: of.OFPP13_IN_PORT, maxLen: 0 }], Buffer.from(tx));
  const [back] = p1.takeTransmitted();
  t.equal(frameVid(back), undefined, 'untagged');
  t.equal(back.subarray(12).toString('hex'), frame.subarray(12).toString('hex'));
  // output:TABLE runs the flows from table 0, from in_port CONTROLLER too.
  sw.flows('br0').addFlow('priority=1,udp,actions=mod_nw_dst:10.0.0.9,output:2');
  po(of.OFPP13_CONTROLLER, [{ type: 'output', port: of.OFPP13_TABLE, maxLen: 0 }]);
  const [viaTable] = p2.takeTransmitted();
  t.equal(viaTable.subarray(30, 34).toString('hex'), '0a000009', 'the flow rewrote nw_dst');
  t.equal(agent.packetOuts, 3);
  // set_field ipv4_src on an ARP frame: its prerequisite (IPv4) is not met: an error, nothing sent.
  po(1, [{ type: 'set_field', field: of.oxm('ipv4_src', 0x0a000063) }, { type: 'output', port: 2, maxLen: 0 }], arpRequest('02:00:00:00:00:01', '10.0.0.1', '10.0.0.2'));
  const [err] = io.take();
  t.match(of.decodeMessage(err), { type: 'error', errType: of.ET.BAD_ACTION });
  t.equal(p2.takeTransmitted().length, 0);
  t.equal(agent.packetOuts, 3);
  t.equal(sw.arena.available, free0, 'no buffer held');
});
