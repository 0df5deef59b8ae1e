import t from 'tap';
import * as of from '../../src/wire/openflow';
import { OFCTL } from '../fixtures/openflow';
import { prng } from '../../src/flow/testing';

const hex = (s: string) => Buffer.from(s, 'hex');

t.test('openflow: ovs-ofctl messages decode and re-encode byte for byte', async (t) => {
  for (const [name, h] of Object.entries(OFCTL)) {
    const m = of.decodeMessage(hex(h));
    t.equal(of.encodeMessage(m).toString('hex'), h, name);
  }
});

t.test('openflow: deconstruct the VLAN FLOW_MOD', async (t) => {
  const m = of.decodeMessage(hex(OFCTL.addVlanFlow));
  if (m.type !== 'flow_mod') throw new Error('not a flow_mod');
  t.equal(m.xid, 6);
  t.equal(m.cookie, 0x1234n);
  t.equal(m.command, of.FC.ADD);
  t.equal(m.priority, 4);
  t.equal(m.bufferId, of.NO_BUFFER);
  t.equal(m.outPort, of.OFPP13_ANY);
  t.same(
    m.match.map((o) => [o.cls, o.field, o.value.toString('hex'), o.mask?.toString('hex')]),
    [
      [0x8000, 0, '00000001', undefined],
      [0x8000, 6, '1001', undefined],
    ],
  );
  t.equal(m.instructions.length, 1);
  const i = m.instructions[0];
  if (i.type !== 'apply_actions') throw new Error('not apply_actions');
  t.same(i.actions[0], { type: 'set_field', field: { cls: 0x8000, field: 6, value: hex('1064'), mask: undefined } });
  t.same(i.actions[1], { type: 'output', port: of.OFPP13_NORMAL, maxLen: 0 });
});

t.test('openflow: HELLO version bitmap', async (t) => {
  const m = of.decodeMessage(hex(OFCTL.hello));
  if (m.type !== 'hello') throw new Error('not hello');
  t.same(of.helloVersions(m), [4]);
  t.equal(of.encodeMessage(of.hello13(1)).toString('hex'), OFCTL.hello);
  // A bitmap offering 1.0, 1.3 and 1.5 (0x01, 0x04, 0x06).
  const multi = of.decodeMessage(hex('04000010000000090001000800000052'));
  if (multi.type !== 'hello') throw new Error('not hello');
  t.same(of.helloVersions(multi), [1, 4, 6]);
});

/** Construct every message type, encode, decode, encode again: identical bytes. */
t.test('openflow: every message type round-trips', async (t) => {
  const match = [of.oxm('in_port', 3), of.oxm('eth_type', 0x0800), of.oxm('ipv4_src', 0x0a000000, 0xff000000), of.oxm('eth_dst', hex('010000000000'), hex('010000000000')), of.oxm('reg3', 5, 0xff)];
  const actions: of.OfAction[] = [
    { type: 'output', port: 2, maxLen: 0 },
    { type: 'output', port: of.OFPP13_CONTROLLER, maxLen: 0xffff },
    { type: 'push_vlan', ethertype: 0x8100 },
    { type: 'pop_vlan' },
    { type: 'dec_nw_ttl' },
    { type: 'set_field', field: of.oxm('eth_src', hex('020000000001')) },
    { type: 'nx_resubmit', inPort: 0xfff8, table: 5 },
    { type: 'nx_resubmit', inPort: 3 },
    { type: 'nx_reg_load', ofsNbits: (4 << 6) | 7, dst: of.oxmHeader(1, 1, false, 4), value: 0x5an },
    { type: 'nx_reg_move', nBits: 16, srcOfs: 0, dstOfs: 16, src: of.oxmHeader(1, 0, false, 4), dst: of.oxmHeader(1, 2, false, 4) },
    { type: 'nx_note', note: hex('010203000000') },
    { type: 'nx_dec_ttl' },
    { type: 'nx_conjunction', clause: 1, nClauses: 3, id: 0x10203 },
    { type: 'group', groupId: 7 },
    { type: 'unknown', actionType: 11, body: hex('00000000') },
  ];
  const port: of.OfPort = { portNo: 1, hwAddr: hex('020000000001'), name: 'tap1', config: 0, state: 4, curr: 0, advertised: 0, supported: 0, peer: 0, currSpeed: 10000000, maxSpeed: 0 };
  const fsr = { tableId: 0xff, outPort: of.OFPP13_ANY, outGroup: of.OFPG_ANY, cookie: 1n, cookieMask: 0xffn, match };
  const msgs: of.OfMessage[] = [
    { type: 'hello', xid: 1, elements: [{ type: 1, data: hex('00000010') }] },
    { type: 'error', xid: 2, errType: of.ET.BAD_ACTION, code: of.BAD_ACTION.BAD_OUT_PORT, data: hex(OFCTL.barrier) },
    { type: 'echo_request', xid: 3, data: hex('abcd') },
    { type: 'echo_reply', xid: 3, data: hex('abcd') },
    { type: 'experimenter', xid: 4, experimenter: 0x2320, expType: 9, data: hex('0001') },
    { type: 'features_request', xid: 5 },
    { type: 'features_reply', xid: 5, datapathId: 0x1234567890n, nBuffers: 0, nTables: 254, auxiliaryId: 0, capabilities: 7, reserved: 0 },
    { type: 'get_config_request', xid: 6 },
    { type: 'get_config_reply', xid: 6, flags: 0, missSendLen: 128 },
    { type: 'set_config', xid: 7, flags: 0, missSendLen: 0xffff },
    { type: 'packet_in', xid: 0, bufferId: of.NO_BUFFER, totalLen: 60, reason: of.PR.NO_MATCH, tableId: 0, cookie: 0xffffffffffffffffn, match: [of.oxm('in_port', 1)], data: Buffer.alloc(60, 0xa5) },
    { type: 'flow_removed', xid: 0, cookie: 9n, priority: 100, reason: of.RR.IDLE_TIMEOUT, tableId: 2, durationSec: 5, durationNsec: 1000, idleTimeout: 5, hardTimeout: 0, packetCount: 3n, byteCount: 180n, match },
    { type: 'port_status', xid: 0, reason: of.PORT_REASON.ADD, port },
    { type: 'packet_out', xid: 8, bufferId: of.NO_BUFFER, inPort: of.OFPP13_CONTROLLER, actions: [{ type: 'output', port: of.OFPP13_FLOOD, maxLen: 0 }], data: Buffer.alloc(42, 1) },
    {
      type: 'flow_mod', xid: 9, cookie: 0x1234n, cookieMask: 0n, tableId: 1, command: of.FC.ADD, idleTimeout: 10, hardTimeout: 20, priority: 300, bufferId: of.NO_BUFFER,
      outPort: of.OFPP13_ANY, outGroup: of.OFPG_ANY, flags: of.FF.SEND_FLOW_REM, match,
      instructions: [
        { type: 'apply_actions', actions },
        { type: 'clear_actions' },
        { type: 'write_actions', actions: [{ type: 'output', port: 1, maxLen: 0 }] },
        { type: 'write_metadata', metadata: 5n, mask: 0xffn },
        { type: 'meter', meterId: 1 },
        { type: 'goto_table', table: 4 },
      ],
    },
    { type: 'multipart_request', xid: 10, flags: 0, body: { mpType: of.MP.DESC } },
    { type: 'multipart_request', xid: 11, flags: 0, body: { mpType: of.MP.FLOW, ...fsr } },
    { type: 'multipart_request', xid: 12, flags: 0, body: { mpType: of.MP.AGGREGATE, ...fsr } },
    { type: 'multipart_request', xid: 13, flags: 0, body: { mpType: of.MP.TABLE } },
    { type: 'multipart_request', xid: 14, flags: 0, body: { mpType: of.MP.PORT_STATS, portNo: of.OFPP13_ANY } },
    { type: 'multipart_request', xid: 15, flags: 0, body: { mpType: of.MP.PORT_DESC } },
    { type: 'multipart_request', xid: 16, flags: 0, body: { mpType: of.MP.TABLE_FEATURES, raw: Buffer.alloc(0) } },
    { type: 'multipart_reply', xid: 10, flags: 0, body: { mpType: of.MP.DESC, mfr: 'tsvswitch', hw: 'hw', sw: 'sw', serial: 'None', dp: 'br-int' } },
    {
      type: 'multipart_reply', xid: 11, flags: of.MPF_REPLY_MORE,
      body: { mpType: of.MP.FLOW, flows: [{ tableId: 0, durationSec: 1, durationNsec: 2, priority: 3, idleTimeout: 0, hardTimeout: 0, flags: 0, cookie: 4n, packetCount: 5n, byteCount: 6n, match, instructions: [{ type: 'apply_actions', actions: actions.slice(0, 3) }, { type: 'goto_table', table: 1 }] }] },
    },
    { type: 'multipart_reply', xid: 12, flags: 0, body: { mpType: of.MP.AGGREGATE, packetCount: 10n, byteCount: 600n, flowCount: 3 } },
    { type: 'multipart_reply', xid: 13, flags: 0, body: { mpType: of.MP.TABLE, tables: [{ tableId: 0, activeCount: 4, lookupCount: 100n, matchedCount: 90n }] } },
    {
      type: 'multipart_reply', xid: 14, flags: 0,
      body: { mpType: of.MP.PORT_STATS, ports: [{ portNo: 1, rxPackets: 1n, txPackets: 2n, rxBytes: 3n, txBytes: 4n, rxDropped: 5n, txDropped: 6n, rxErrors: 0n, txErrors: 0n, rxFrameErr: 0n, rxOverErr: 0n, rxCrcErr: 0n, collisions: 0n, durationSec: 7, durationNsec: 8 }] },
    },
    { type: 'multipart_reply', xid: 15, flags: 0, body: { mpType: of.MP.PORT_DESC, ports: [port] } },
    {
      type: 'multipart_reply', xid: 16, flags: 0,
      body: { mpType: of.MP.TABLE_FEATURES, tables: [{ tableId: 0, name: 'table0', metadataMatch: 0xffffffffffffffffn, metadataWrite: 0xffffffffffffffffn, config: 0, maxEntries: 1000, properties: of.encodeTableProperties({ instructions: [1, 4], nextTables: [1, 2], writeActions: [], applyActions: [0], match: [0x80000004], wildcards: [], writeSetfield: [], applySetfield: [] }) }] },
    },
    { type: 'barrier_request', xid: 17 },
    { type: 'barrier_reply', xid: 17 },
    { type: 'role_request', xid: 18, role: of.ROLE.MASTER, generationId: 42n },
    { type: 'role_reply', xid: 18, role: of.ROLE.MASTER, generationId: 42n },
    { type: 'unsupported', xid: 19, msgType: of.T.GROUP_MOD, data: hex('0000000000000001') },
  ];
  for (const m of msgs) {
    const b = of.encodeMessage(m);
    t.equal(b.readUInt16BE(2), b.length, `${m.type}: length field`);
    t.equal(b.length % 8 === 0 || ['echo_request', 'echo_reply', 'error', 'experimenter', 'packet_in', 'packet_out', 'get_config_reply', 'set_config'].includes(m.type), true, `${m.type}: aligned`);
    const d = of.decodeMessage(b);
    t.equal(of.encodeMessage(d).toString('hex'), b.toString('hex'), `${m.type} round-trips`);
  }
  // Exact layout checks on a few: features reply is 32 bytes, port_status 80, role 24.
  t.equal(of.encodeMessage(msgs[6]).length, 32);
  t.equal(of.encodeMessage(msgs[12]).length, 80);
  t.equal(of.encodeMessage(msgs.find((m) => m.type === 'role_request')!).length, 24);
  t.equal(of.encodeMessage(msgs.find((m) => m.type === 'set_config')!).length, 12);
  // set_field to eth_src: 4 + 4 + 6 = 14, padded to 16.
  const w = new of.Writer();
  of.writeAction(w, actions[5]);
  t.equal(w.done().toString('hex'), '0019001080000806020000000001' + '0000');
});

t.test('openflow: OXM TLVs with masks', async (t) => {
  const w = new of.Writer();
  of.writeMatch(w, [of.oxm('ipv4_dst', 0x0a010000, 0xffff0000), of.oxm('metadata', 5n, 0xffn), of.oxm('eth_type', 0x800)]);
  const b = w.done();
  t.equal(
    b.toString('hex'),
    '0001' + '002a' + '80001908' + '0a010000ffff0000' + '80000510' + '0000000000000005' + '00000000000000ff' + '80000a02' + '0800' + '000000000000',
  );
  const back = of.readMatch(new of.Reader(b));
  t.same(back.map((o) => [o.field, o.value.toString('hex'), o.mask?.toString('hex')]), [
    [12, '0a010000', 'ffff0000'],
    [2, '0000000000000005', '00000000000000ff'],
    [5, '0800', undefined],
  ]);
  // A masked OXM whose length is odd, and a known field with the wrong width.
  t.throws(() => of.readMatch(new of.Reader(hex('0001000b' + '80000103' + '0a0000' + '00000000000000'))), { type: of.ET.BAD_MATCH, code: of.BAD_MATCH.BAD_LEN });
  t.doesNotThrow(() => of.readMatch(new of.Reader(hex('0001000a' + '80000a02' + '0800' + '000000000000'))));
  t.throws(() => of.readMatch(new of.Reader(hex('0001000b' + '80000003' + '000001' + '00000000000000'.slice(0, 10)))), { type: of.ET.BAD_MATCH, code: of.BAD_MATCH.BAD_LEN });
});

t.test('openflow: truncated and lying lengths are OpenFlow errors, never crashes', async (t) => {
  let checked = 0;
  for (const [name, h] of Object.entries(OFCTL)) {
    const full = hex(h);
    for (let n = 8; n < full.length; n++) {
      const cut = Buffer.from(full.subarray(0, n));
      cut.writeUInt16BE(n, 2);
      try {
        of.decodeMessage(cut);
      } catch (e) {
        if (!(e instanceof of.OfError)) t.fail(`${name} cut at ${n}: ${(e as Error).stack}`);
      }
      checked++;
    }
    // A header length that disagrees with the bytes.
    const lie = Buffer.from(full);
    lie.writeUInt16BE(full.length + 8, 2);
    t.throws(() => of.decodeMessage(lie), { type: of.ET.BAD_REQUEST, code: of.BAD_REQUEST.BAD_LEN }, `${name}: lying header length`);
  }
  // The FLOW_MOD's match says 0x7f bytes, more than the message has.
  const m = hex(OFCTL.addVlanFlow);
  m.writeUInt16BE(0x7f, 50);
  t.throws(() => of.decodeMessage(m), { type: of.ET.BAD_MATCH, code: of.BAD_MATCH.BAD_LEN });
  // An action whose length runs past its instruction.
  const a = hex(OFCTL.addVlanFlow);
  a.writeUInt16BE(0x40, 0x4a);
  t.throws(() => of.decodeMessage(a), of.OfError);
  t.ok(checked > 300, `${checked} truncations checked`);
});

t.test('openflow: fuzzed messages decode or fail with OfError', async (t) => {
  const rnd = prng(14);
  const seeds = Object.values(OFCTL).map(hex);
  let errors = 0;
  let ok = 0;
  for (let i = 0; i < 20000; i++) {
    const b = Buffer.from(seeds[i % seeds.length]);
    const flips = 1 + Math.floor(rnd() * 4);
    for (let f = 0; f < flips; f++) b[8 + Math.floor(rnd() * (b.length - 8))] = Math.floor(rnd() * 256);
    try {
      const m = of.decodeMessage(b);
      of.encodeMessage(m);
      ok++;
    } catch (e) {
      if (!(e instanceof of.OfError)) {
        t.fail(`iteration ${i}: ${b.toString('hex')}: ${(e as Error).stack}`);
        return;
      }
      errors++;
    }
  }
  t.ok(errors > 1000 && ok > 1000, `${ok} decoded, ${errors} refused`);
});

t.test('openflow: framer cuts a stream by length and flags a length < 8', async (t) => {
  const f = new of.Framer();
  const two = Buffer.concat([hex(OFCTL.hello), hex(OFCTL.barrier)]);
  f.push(two.subarray(0, 5));
  t.equal(f.next(), null);
  f.push(two.subarray(5, 20));
  t.equal((f.next() as Buffer).toString('hex'), OFCTL.hello);
  t.equal(f.next(), null);
  f.push(two.subarray(20));
  t.equal((f.next() as Buffer).toString('hex'), OFCTL.barrier);
  f.push(hex('0400000400000001'));
  const bad = f.next() as { error: string };
  t.match(bad.error, /shorter than the 8-byte header/);
});
