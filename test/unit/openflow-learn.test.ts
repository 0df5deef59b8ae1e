/**
 * NXAST_LEARN on the wire (OVS nx_action_learn): Neutron's native agent sends br-tun's table-10
 * learn as an NXActionLearn. The bytes of that action as OVS 3.1 encodes it (ovs-ofctl
 * -O OpenFlow13 with `learn(...)`, checked field by field against ofp-actions.c's layout: 32-byte
 * header, then flow_mod_specs, zero-padded to 8) decode into the learn `tvs add-flow` makes from the
 * text, and encode back byte for byte.
 */
import t from 'tap';
import { execFileSync } from 'node:child_process';
import * as of from '../../src/wire/openflow';
import { actionsFromOf, actionsToOf, instructionsFromActions, matchToOxm } from '../../src/openflow/rule-map';
import { PacketArena } from '../../src/packet/arena';
import { FlowPipeline } from '../../src/flow/pipeline';
import { formatActions } from '../../src/flow/ofctl-format';

const LEARN =
  'learn(table=20,hard_timeout=300,priority=1,cookie=0x1234,NXM_OF_VLAN_TCI[0..11],NXM_OF_ETH_DST[]=NXM_OF_ETH_SRC[],load:0->NXM_OF_VLAN_TCI[],load:NXM_NX_TUN_ID[]->NXM_NX_TUN_ID[],output:OXM_OF_IN_PORT[])';

// nx_action_learn: ffff len 00002320 0010 | idle 0000 hard 012c prio 0001 cookie 0000000000001234
// flags 0000 table 14 pad 00 fin_idle 0000 fin_hard 0000 | specs:
//  000c 00000802 0000 00000802 0000          match VLAN_TCI[0..11] = VLAN_TCI[0..11] (12 bits)
//  0030 00000406 0000 00000206 0000          match ETH_DST[] = ETH_SRC[] (48 bits): source first
//  2810 0000 00000802 0000                   load immediate 0 (16 bits) -> VLAN_TCI[]
//  0840 00012008 0000 00012008 0000          load TUN_ID[] -> TUN_ID[] (64 bits)
//  1020 80000004 0000                        output OXM_OF_IN_PORT[] (32 bits)
//  then zeros to a multiple of 8.
const SPECS =
  '000c' + '00000802' + '0000' + '00000802' + '0000' +
  '0030' + '00000406' + '0000' + '00000206' + '0000' +
  '2810' + '0000' + '00000802' + '0000' +
  '0840' + '00012008' + '0000' + '00012008' + '0000' +
  '1020' + '80000004' + '0000';
const BODY = '0000' + '012c' + '0001' + '0000000000001234' + '0000' + '14' + '00' + '0000' + '0000' + SPECS;
const LEN = 10 + BODY.length / 2;
const PADDED = (LEN + 7) & ~7;
const HEX = 'ffff' + PADDED.toString(16).padStart(4, '0') + '00002320' + '0010' + BODY + '00'.repeat(PADDED - LEN);

t.test("Neutron's table-10 learn as NXAST_LEARN: decode = the text, encode = the bytes", async (t) => {
  const p = new FlowPipeline({ arena: new PacketArena({ slots: 4, slotSize: 2048 }), resolvePort: () => -1, portName: () => undefined });
  const spec = p.parse(`table=10,priority=1,actions=${LEARN}`, 'add');
  const r = new of.Reader(Buffer.from(HEX, 'hex'));
  const a = of.readAction(r);
  t.equal(a.type, 'nx_learn');
  const back = actionsFromOf([a], { match: spec.match, table: 10, packetOut: false } as Parameters<typeof actionsFromOf>[1]);
  t.equal(formatActions(back), LEARN, 'decodes to the text form');
  const w = new of.Writer();
  for (const x of actionsToOf(spec.actions!, spec.match)) of.writeAction(w, x);
  t.equal(w.done().toString('hex'), HEX, 'encodes to the same bytes');
  // A bad spec header (dst type 3) is refused, never a crash.
  const bad = Buffer.from(HEX, 'hex');
  bad.writeUInt16BE(0x180c, 32); // the first flow_mod_spec header
  t.throws(() => of.readAction(new of.Reader(bad)), /bad flow_mod_spec header/);
});

function haveOvsOfctl(): boolean {
  try {
    execFileSync('ovs-ofctl', ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

t.test('OVS 3.1 ofp-print reads the FLOW_MOD tvs encodes as the same flow', { skip: haveOvsOfctl() ? false : 'ovs-ofctl is not installed (openvswitch-common)' }, async (t) => {
  const p = new FlowPipeline({ arena: new PacketArena({ slots: 4, slotSize: 2048 }), resolvePort: () => -1, portName: () => undefined });
  const text = `table=10,priority=1,tun_id=0x3e9,tun_src=10.0.0.2,actions=${LEARN},output:1`;
  const s = p.parse(text, 'add');
  const hex = of
    .encodeMessage({
      type: 'flow_mod', xid: 1, cookie: 0n, cookieMask: 0n, tableId: 10, command: 0, idleTimeout: 0, hardTimeout: 0,
      priority: 1, bufferId: 0xffffffff, outPort: 0xffffffff, outGroup: 0xffffffff, flags: 0,
      match: matchToOxm(s.match), instructions: instructionsFromActions(s.actions!, s.match),
    } as of.OfMessage)
    .toString('hex');
  const out = execFileSync('ovs-ofctl', ['ofp-print', hex], { encoding: 'utf8' });
  t.match(out, `ADD table:10 priority=1,tun_id=0x3e9,tun_src=10.0.0.2 actions=${LEARN},output:1`);
});
