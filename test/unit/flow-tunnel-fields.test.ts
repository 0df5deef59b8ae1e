/**
 * Tunnel metadata in the flow tables: tun_id/tunnel_id, tun_src, tun_dst matches; set_tunnel,
 * set_tunnel64, set_field->tun_id and load/move on NXM_NX_TUN_ID; the NXM/OXM field names and bit
 * ranges Neutron's br-tun flows use. Text both ways (OVS 3.1 ovs-ofctl as the oracle when it is
 * installed), compiled plans, and what the actions do to a real frame and its flow key.
 */
import t from 'tap';
import { execFileSync } from 'node:child_process';
import { PacketArena } from '../../src/packet/arena';
import { Batch } from '../../src/packet/batch';
import { parseSlot } from '../../src/packet/parse';
import * as K from '../../src/packet/flow-key';
import { FlowPipeline } from '../../src/flow/pipeline';
import { FlowSyntaxError } from '../../src/flow/ofctl-parse';
import { formatMatch, formatActions } from '../../src/flow/ofctl-format';
import { RecordingOps, buildFrame } from '../../src/flow/testing';
import * as A from '../../src/flow/actions';
import * as N from '../../src/flow/nxm';

const PORTS: Record<string, number> = { 'patch-int': 1, 'vxlan-0a000002': 2, 'gre-0a000003': 3 };
const resolvePort = (n: string): number => PORTS[n] ?? -1;
const portName = (o: number): string | undefined => Object.keys(PORTS).find((k) => PORTS[k] === o);

function setup() {
  const arena = new PacketArena({ slots: 16, slotSize: 2048 });
  const p = new FlowPipeline({ arena, clock: () => 1000, resolvePort, portName });
  return { arena, p };
}

/** [input, what tvs prints (OVS 3.1 parse-flow output, in tvs's field order)]. */
const MATCHES: [string, string][] = [
  ['tun_id=0x64', 'tun_id=0x64'],
  ['tun_id=100', 'tun_id=0x64'],
  ['tunnel_id=5/0xff', 'tun_id=0x5/0xff'],
  ['tun_id=0', 'tun_id=0'],
  ['tun_id=0/0xffffffff00000000', 'tun_id=0/0xffffffff00000000'],
  ['tunnel_id=18446744073709551615', 'tun_id=0xffffffffffffffff'],
  ['tun_id=0x123456789abcdef0/0xffff0000ffff0000', 'tun_id=0x123400009abc0000/0xffff0000ffff0000'],
  ['tun_src=10.0.0.1', 'tun_src=10.0.0.1'],
  ['tun_src=2.2.2.0/255.255.255.0', 'tun_src=2.2.2.0/24'],
  ['tun_dst=1.2.3.4/255.0.255.0', 'tun_dst=1.0.3.0/255.0.255.0'],
  ['in_port=2,tun_id=0x3e9,tun_src=10.0.0.2,tun_dst=10.0.0.1', 'tun_id=0x3e9,tun_src=10.0.0.2,tun_dst=10.0.0.1,in_port="vxlan-0a000002"'],
  ['reg0=5,tun_id=7,ip', 'ip,reg0=0x5,tun_id=0x7'],
];

t.test('tunnel matches: parse, words, print', async (t) => {
  const { p } = setup();
  for (const [input, want] of MATCHES) {
    const spec = p.parse(input, 'match');
    t.equal(formatMatch(spec.match, 32768, portName), want, input);
  }
  const m = p.parse('tun_id=0x123456789/0xffffffffff,tun_src=10.0.0.2,tun_dst=10.0.0.0/8', 'match').match;
  t.same([m.value[K.K_TUN_ID_HI], m.value[K.K_TUN_ID_LO], m.mask[K.K_TUN_ID_HI], m.mask[K.K_TUN_ID_LO]], [1, 0x23456789, 0xff, 0xffffffff]);
  t.same([m.value[K.K_TUN_SRC], m.mask[K.K_TUN_SRC]], [0x0a000002, 0xffffffff]);
  t.same([m.value[K.K_TUN_DST], m.mask[K.K_TUN_DST]], [0x0a000000, 0xff000000]);
  for (const bad of ['tun_id=0x10000000000000000', 'tun_id=x', 'tun_src=1.2.3', 'tun_dst=300.1.1.1']) {
    t.throws(() => p.parse(bad, 'match'), FlowSyntaxError, bad);
  }
});

/** [actions, printed, compiled plan] (OVS ofp-actions.at style). */
const ACTIONS: [string, string, number[]][] = [
  ['set_tunnel:100,output:2', 'set_tunnel:0x64,output:"vxlan-0a000002"', [A.OP_LOAD, N.F_TUN_ID, -1, -1, 0, 100, A.OP_OUTPUT, 2]],
  ['set_tunnel:0,2', 'set_tunnel:0,output:"vxlan-0a000002"', [A.OP_LOAD, N.F_TUN_ID, -1, -1, 0, 0, A.OP_OUTPUT, 2]],
  ['set_tunnel:0x1ffffffff,2', 'set_tunnel64:0x1ffffffff,output:"vxlan-0a000002"', [A.OP_LOAD, N.F_TUN_ID, -1, -1, 1, -1, A.OP_OUTPUT, 2]],
  ['set_tunnel64:5,2', 'set_tunnel64:0x5,output:"vxlan-0a000002"', [A.OP_LOAD, N.F_TUN_ID, -1, -1, 0, 5, A.OP_OUTPUT, 2]],
  ['set_field:0x3e9->tun_id,2', 'set_field:0x3e9->tun_id,output:"vxlan-0a000002"', [A.OP_LOAD, N.F_TUN_ID, -1, -1, 0, 0x3e9, A.OP_OUTPUT, 2]],
  ['set_field:0x5/0xf->tun_id,2', 'set_field:0x5/0xf->tun_id,output:"vxlan-0a000002"', [A.OP_LOAD, N.F_TUN_ID, 0, 0xf, 0, 5, A.OP_OUTPUT, 2]],
  ['set_field:10.0.0.9->tun_dst,2', 'set_field:10.0.0.9->tun_dst,output:"vxlan-0a000002"', [A.OP_LOAD, N.F_TUN_DST, 0, -1, 0, 0x0a000009, A.OP_OUTPUT, 2]],
  ['load:0x3e9->NXM_NX_TUN_ID[],2', 'load:0x3e9->NXM_NX_TUN_ID[],output:"vxlan-0a000002"', [A.OP_LOAD, N.F_TUN_ID, -1, -1, 0, 0x3e9, A.OP_OUTPUT, 2]],
  ['load:1->NXM_NX_TUN_ID[5],2', 'load:0x1->NXM_NX_TUN_ID[5],output:"vxlan-0a000002"', [A.OP_LOAD, N.F_TUN_ID, 0, 32, 0, 32, A.OP_OUTPUT, 2]],
  ['load:0x1->OXM_OF_TUNNEL_ID[32..39],2', 'load:0x1->NXM_NX_TUN_ID[32..39],output:"vxlan-0a000002"', [A.OP_LOAD, N.F_TUN_ID, 0xff, 0, 1, 0, A.OP_OUTPUT, 2]],
  ['move:NXM_NX_TUN_ID[0..31]->NXM_NX_REG0[],1', 'move:NXM_NX_TUN_ID[0..31]->NXM_NX_REG0[],output:"patch-int"', [A.OP_MOVE, N.F_TUN_ID, 0, N.F_REG0, 0, 32, A.OP_OUTPUT, 1]],
  ['move:NXM_NX_TUN_IPV4_SRC[]->NXM_NX_REG1[],1', 'move:NXM_NX_TUN_IPV4_SRC[]->NXM_NX_REG1[],output:"patch-int"', [A.OP_MOVE, N.F_TUN_SRC, 0, N.F_REG0 + 1, 0, 32, A.OP_OUTPUT, 1]],
  ['move:OXM_OF_IN_PORT[]->NXM_NX_REG2[],1', 'move:OXM_OF_IN_PORT[]->NXM_NX_REG2[],output:"patch-int"', [A.OP_MOVE, N.F_IN_PORT_OXM, 0, N.F_REG0 + 2, 0, 32, A.OP_OUTPUT, 1]],
  ['move:NXM_OF_IN_PORT[]->NXM_NX_REG3[0..15],1', 'move:NXM_OF_IN_PORT[]->NXM_NX_REG3[0..15],output:"patch-int"', [A.OP_MOVE, N.F_IN_PORT, 0, N.F_REG0 + 3, 0, 16, A.OP_OUTPUT, 1]],
  ['move:NXM_OF_VLAN_TCI[0..11]->NXM_NX_REG2[0..11],1', 'move:NXM_OF_VLAN_TCI[0..11]->NXM_NX_REG2[0..11],output:"patch-int"', [A.OP_MOVE, N.F_VLAN_TCI, 0, N.F_REG0 + 2, 0, 12, A.OP_OUTPUT, 1]],
  ['move:OXM_OF_ETH_SRC[]->OXM_OF_ETH_DST[],1', 'move:NXM_OF_ETH_SRC[]->NXM_OF_ETH_DST[],output:"patch-int"', [A.OP_MOVE, N.F_ETH_SRC, 0, N.F_ETH_DST, 0, 48, A.OP_OUTPUT, 1]],
  ['move:OXM_OF_METADATA[0..15]->NXM_NX_REG0[16..31],1', 'move:OXM_OF_METADATA[0..15]->NXM_NX_REG0[16..31],output:"patch-int"', [A.OP_MOVE, N.F_METADATA, 0, N.F_REG0, 16, 16, A.OP_OUTPUT, 1]],
];

t.test('tunnel actions: parse, print, compile', async (t) => {
  const { p } = setup();
  for (const [input, want, plan] of ACTIONS) {
    const spec = p.parse(`actions=${input}`, 'add');
    t.equal(formatActions(spec.actions!, portName), want, input);
    t.same(A.compile(spec.actions!).plan, plan, `plan of ${input}`);
  }
});

t.test('OXM_OF_VLAN_VID as a destination needs a tag in the match (as OVS)', async (t) => {
  const { p } = setup();
  t.throws(() => p.parse('actions=load:6->OXM_OF_VLAN_VID[],1', 'add'), /needs a VLAN tag in the match/);
  const spec = p.parse('dl_vlan=5,actions=load:6->OXM_OF_VLAN_VID[],1', 'add');
  t.equal(formatActions(spec.actions!, portName), 'load:0x6->OXM_OF_VLAN_VID[],output:"patch-int"');
  // OVS: OXM_OF_VLAN_VID is 12 bits wide.
  t.throws(() => p.parse('dl_vlan=5,actions=move:OXM_OF_VLAN_VID[]->NXM_NX_REG0[0..12],1', 'add'), /source has 12 bits but destination 13/);
  t.throws(() => p.parse('actions=load:1->NXM_NX_TUN_IDX[],1', 'add'), /unknown field 'NXM_NX_TUN_IDX' \(did you mean NXM_NX_TUN_ID\?\)/);
  t.throws(() => p.parse('actions=set_tunnel:0x10000000000000000,1', 'add'), /out of range/);
});

// ---- what the actions do to a frame ----

function run(flows: string, frame: Uint8Array, inPort: number, pre?: (key: Uint32Array, k: number) => void) {
  const { arena, p } = setup();
  p.addFlows(flows);
  const s = arena.allocFrom(frame);
  if (parseSlot(arena, s, inPort) >= 0) throw new Error('fixture does not parse');
  if (pre) pre(arena.key, s << K.KEY_SHIFT);
  const ops = new RecordingOps(arena, PORTS);
  const b = new Batch(4);
  b.push(s);
  p.process(b, ops);
  return ops.sent;
}

/** A frame "from a tunnel": the contract with tunnel ports (flow-key.ts). */
function fromTunnel(id: bigint, src: number, dst: number) {
  return (key: Uint32Array, k: number): void => {
    key[k + K.K_TUN_FLAGS] = K.TUN_PRESENT;
    key[k + K.K_TUN_ID_HI] = Number(id >> 32n);
    key[k + K.K_TUN_ID_LO] = Number(id & 0xffffffffn);
    key[k + K.K_TUN_SRC] = src;
    key[k + K.K_TUN_DST] = dst;
  };
}

t.test('set_tunnel / load / move write the tunnel words; matches read them', async (t) => {
  // br-int side: strip the local VLAN, set the VNI, out to the tunnel.
  let sent = run('priority=4,dl_vlan=7,actions=strip_vlan,set_tunnel:0x3e9,output:2', buildFrame({ vlan: 7 }), 1);
  t.equal(sent.length, 1);
  t.equal(sent[0].port, 2);
  t.equal(sent[0].key[K.K_TUN_ID_LO], 0x3e9);
  t.equal(sent[0].key[K.K_TUN_ID_HI], 0);
  t.equal(sent[0].key[K.K_TUN_FLAGS] & K.TUN_PRESENT, K.TUN_PRESENT, 'writing tun_id sets TUN_PRESENT');
  t.equal(sent[0].key[K.K_VLAN_TCI], 0);
  t.equal(sent[0].hex.slice(24, 28), '0800', 'tag gone from the bytes');

  sent = run('actions=set_tunnel64:0x1000003e9,set_field:10.0.0.3->tun_dst,output:3', buildFrame(), 1);
  t.same([sent[0].key[K.K_TUN_ID_HI], sent[0].key[K.K_TUN_ID_LO], sent[0].key[K.K_TUN_DST]], [1, 0x3e9, 0x0a000003]);

  // From a tunnel: tun_id selects the network; tun_src/tun_dst match the outer addresses.
  const flows = [
    'priority=1,tun_id=0x3e9,tun_src=10.0.0.2,actions=mod_vlan_vid:5,output:1',
    'priority=1,tun_id=0x3ea,actions=mod_vlan_vid:6,output:1',
    'priority=0,actions=drop',
  ].join('\n');
  sent = run(flows, buildFrame(), 2, fromTunnel(0x3e9n, 0x0a000002, 0x0a000001));
  t.equal(sent[0].kind, 'output');
  t.equal(sent[0].key[K.K_VLAN_TCI], 0x1005);
  sent = run(flows, buildFrame(), 2, fromTunnel(0x3e9n, 0x0a000009, 0x0a000001));
  t.equal(sent[0].kind, 'drop', 'other tunnel source: no match');
  sent = run(flows, buildFrame(), 2, fromTunnel(0x3ean, 0x0a000009, 0x0a000001));
  t.equal(sent[0].key[K.K_VLAN_TCI], 0x1006);
  sent = run(flows, buildFrame(), 2, fromTunnel(0x1000003e9n, 0x0a000002, 0x0a000001));
  t.equal(sent[0].kind, 'drop', 'tun_id compares all 64 bits');
  sent = run(flows, buildFrame(), 1);
  t.equal(sent[0].kind, 'drop', 'not from a tunnel: tun_id is 0');

  // move/load with bit ranges across tunnel, register, in_port and VLAN fields.
  sent = run(
    'actions=move:NXM_NX_TUN_ID[0..15]->NXM_NX_REG0[16..31],move:OXM_OF_IN_PORT[]->NXM_NX_REG1[],move:NXM_OF_VLAN_TCI[0..11]->NXM_NX_REG2[4..15],load:0xab->NXM_NX_TUN_ID[8..15],move:NXM_NX_TUN_IPV4_SRC[]->NXM_NX_REG3[],output:1',
    buildFrame({ vlan: 0x123 }),
    2,
    fromTunnel(0x12345678n, 0x0a000002, 0x0a000001),
  );
  const k = sent[0].key;
  t.equal(k[K.K_REG0], 0x56780000);
  t.equal(k[K.K_REG0 + 1], 2);
  t.equal(k[K.K_REG0 + 2], 0x1230);
  t.equal(k[K.K_TUN_ID_LO], 0x1234ab78);
  t.equal(k[K.K_REG0 + 3], 0x0a000002);

  // OXM_OF_VLAN_VID rewrites the VID of the tag, keeping the PCP.
  sent = run('dl_vlan=5,actions=load:0x123->OXM_OF_VLAN_VID[],output:1', buildFrame({ vlan: 5, pcp: 3 }), 2);
  t.equal(sent[0].key[K.K_VLAN_TCI], 0x1000 | (3 << 13) | 0x123);
  t.equal(sent[0].hex.slice(28, 32), (((3 << 13) | 0x123) >>> 0).toString(16).padStart(4, '0'));
});

t.test("Neutron's ARP responder (br-tun table 21): move/load on ARP fields, out IN_PORT", async (t) => {
  const flow =
    'table=0,priority=1,arp,dl_vlan=3,arp_tpa=10.0.0.7,actions=move:NXM_OF_ETH_SRC[]->NXM_OF_ETH_DST[],set_field:fa:16:3e:77:88:99->eth_src,load:0x2->NXM_OF_ARP_OP[],move:NXM_NX_ARP_SHA[]->NXM_NX_ARP_THA[],move:NXM_OF_ARP_SPA[]->NXM_OF_ARP_TPA[],load:0xfa163e778899->NXM_NX_ARP_SHA[],load:0xa000007->NXM_OF_ARP_SPA[],IN_PORT';
  const req = buildFrame({ dst: 'ff:ff:ff:ff:ff:ff', src: 'fa:16:3e:00:00:01', vlan: 3, arp: { op: 1, sha: 'fa:16:3e:00:00:01', spa: '10.0.0.5', tha: '00:00:00:00:00:00', tpa: '10.0.0.7' } });
  const sent = run(flow, req, 1);
  t.equal(sent.length, 1);
  t.equal(sent[0].port, 1, 'back out of the port it came in on');
  const want = buildFrame({ dst: 'fa:16:3e:00:00:01', src: 'fa:16:3e:77:88:99', vlan: 3, arp: { op: 2, sha: 'fa:16:3e:77:88:99', spa: '10.0.0.7', tha: 'fa:16:3e:00:00:01', tpa: '10.0.0.5' } });
  t.equal(sent[0].hex, Buffer.from(want).toString('hex'), 'exact ARP reply bytes');
});

// ---- OVS 3.1 as the oracle ----

function haveOvsOfctl(): boolean {
  try {
    execFileSync('ovs-ofctl', ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/** ovs-ofctl parse-flow's reading of a flow: [sorted match items, actions]. */
function ovsReads(flow: string): [string[], string] {
  const out = execFileSync('ovs-ofctl', ['-O', 'OpenFlow13', 'parse-flow', flow], { encoding: 'utf8' });
  const line = out.trim().split('\n').pop()!.replace(/^.*ADD /, '');
  const [m, a] = line.split(' actions=');
  return [m.split(',').filter((x) => x !== '').sort(), a];
}

t.test('ovs-ofctl parse-flow reads what tvs prints as it reads the original', { skip: haveOvsOfctl() ? false : 'ovs-ofctl is not installed (openvswitch-common)' }, async (t) => {
  const { p } = setup();
  const numeric = (): undefined => undefined;
  const flows = [
    ...MATCHES.map(([m]) => `${m.replace(/in_port=2/, 'in_port=2')},actions=drop`),
    ...ACTIONS.map(([a]) => `actions=${a}`),
    'dl_vlan=5,actions=load:6->OXM_OF_VLAN_VID[],1',
  ];
  for (const flow of flows) {
    const spec = p.parse(flow, 'add');
    const ours = `${formatMatch(spec.match, 32768, numeric)}${formatMatch(spec.match, 32768, numeric) ? ' ' : ''}actions=${formatActions(spec.actions!, numeric)}`;
    t.same(ovsReads(ours.replace(' actions=', ',actions=')), ovsReads(flow), flow);
  }
});
