/**
 * Neutron's br-tun pipeline on two compute nodes, replayed as the agent installs it
 * (src/neutron/br-tun-flows.ts), with the tunnels between the nodes simulated in memory: what
 * node A's br-tun outputs on a tunnel port, with the tun_id in its flow key, enters node B's br-tun
 * on the matching tunnel port with tun_id/tun_src/tun_dst set, as a tunnel port does after decap.
 * br-int is simulated by frames on patch-int tagged with the node's local VLAN.
 *
 *   tenant 1: VXLAN VNI 100 — node A local VLAN 1, node B local VLAN 7
 *   tenant 2: GRE key 200   — node A local VLAN 2, node B local VLAN 8
 *   tenant 3: VXLAN VNI 300 — node A local VLAN 3, node B local VLAN 9
 *
 * Checked exactly: the frames and tags on patch-int, the tunnel port and tun_id on the way out,
 * the flows table 10 learns on both nodes (dump-flows text), l2pop entries and the ARP
 * responder, isolation of the third tenant, a frame with an unknown VNI dropped.
 */
import t from 'tap';
import { PacketArena } from '../../src/packet/arena';
import { Batch } from '../../src/packet/batch';
import { parseSlot } from '../../src/packet/parse';
import * as K from '../../src/packet/flow-key';
import { FlowPipeline } from '../../src/flow/pipeline';
import { runTrace } from '../../src/flow/trace';
import { RecordingOps, buildFrame, type Sent } from '../../src/flow/testing';
import { brTunFlows, type BrTunHost } from '../../src/neutron/br-tun-flows';

const IP_A = 0x0a_ea_00_01; // 10.234.0.1, node A's underlay address
const IP_B = 0x0a_ea_00_02;

interface Node {
  name: string;
  ip: number;
  ports: Record<string, number>;
  p: FlowPipeline;
  arena: PacketArena;
  /** tunnel port name on this node → [peer node name, peer's port name]. */
  links: Record<string, [string, string]>;
}

function node(name: string, ip: number, ports: Record<string, number>, links: Node['links'], host: BrTunHost): Node {
  const arena = new PacketArena({ slots: 64, slotSize: 2048 });
  const p = new FlowPipeline({
    arena,
    clock: () => 5_000_000,
    resolvePort: (n) => ports[n] ?? -1,
    portName: (o) => Object.keys(ports).find((k) => ports[k] === o),
  });
  p.delFlows();
  p.addFlows(brTunFlows(host));
  return { name, ip, ports, p, arena, links };
}

const A_PORTS = { 'patch-int': 1, 'vxlan-0aea0002': 2, 'gre-0aea0002': 3 };
const B_PORTS = { 'patch-int': 1, 'vxlan-0aea0001': 5, 'gre-0aea0001': 6 };

function nodes(opts: { l2pop?: boolean } = {}): Record<string, Node> {
  const A = node('A', IP_A, A_PORTS, { 'vxlan-0aea0002': ['B', 'vxlan-0aea0001'], 'gre-0aea0002': ['B', 'gre-0aea0001'] }, {
    patchInt: 'patch-int',
    arpResponder: true,
    tunnels: [
      { type: 'vxlan', port: 'vxlan-0aea0002' },
      { type: 'gre', port: 'gre-0aea0002' },
    ],
    nets: [
      {
        type: 'vxlan', segId: 100, lvid: 1, ports: ['vxlan-0aea0002'],
        ...(opts.l2pop ? { unicast: [{ mac: MAC.b1, port: 'vxlan-0aea0002' }], arp: [{ ip: '10.1.0.12', mac: MAC.b1 }] } : {}),
      },
      { type: 'gre', segId: 200, lvid: 2, ports: ['gre-0aea0002'] },
      { type: 'vxlan', segId: 300, lvid: 3, ports: ['vxlan-0aea0002'] },
    ],
  });
  const B = node('B', IP_B, B_PORTS, { 'vxlan-0aea0001': ['A', 'vxlan-0aea0002'], 'gre-0aea0001': ['A', 'gre-0aea0002'] }, {
    patchInt: 'patch-int',
    arpResponder: true,
    tunnels: [
      { type: 'vxlan', port: 'vxlan-0aea0001' },
      { type: 'gre', port: 'gre-0aea0001' },
    ],
    nets: [
      { type: 'vxlan', segId: 100, lvid: 7, ports: ['vxlan-0aea0001'] },
      { type: 'gre', segId: 200, lvid: 8, ports: ['gre-0aea0001'] },
      { type: 'vxlan', segId: 300, lvid: 9, ports: ['vxlan-0aea0001'] },
    ],
  });
  return { A, B };
}

const MAC = {
  a1: 'fa:16:3e:00:01:a1', // tenant 1 on A
  b1: 'fa:16:3e:00:01:b1', // tenant 1 on B
  a2: 'fa:16:3e:00:02:a2', // tenant 2 on A
  b2: 'fa:16:3e:00:02:b2',
  b3: 'fa:16:3e:00:03:b3', // tenant 3 on B
};

/** Run one frame into a node's br-tun; returns what left. */
function inject(n: Node, frame: Uint8Array, port: string, tun?: { id: number; src: number }): Sent[] {
  const a = n.arena;
  const s = a.allocFrom(frame);
  if (parseSlot(a, s, n.ports[port]) >= 0) throw new Error('fixture does not parse');
  if (tun) {
    const k = s << K.KEY_SHIFT;
    a.key[k + K.K_TUN_FLAGS] = K.TUN_PRESENT;
    a.key[k + K.K_TUN_ID_LO] = tun.id;
    a.key[k + K.K_TUN_SRC] = tun.src;
    a.key[k + K.K_TUN_DST] = n.ip;
  }
  const ops = new RecordingOps(a, n.ports);
  const b = new Batch(2);
  b.push(s);
  n.p.process(b, ops);
  return ops.sent;
}

/** What a node delivers to br-int: [local VLAN, frame hex without the tag]. */
function toBrInt(sent: Sent[], n: Node): { vlan: number; hex: string }[] {
  return sent
    .filter((s) => s.kind === 'output' && s.port === n.ports['patch-int'])
    .map((s) => ({ vlan: s.key[K.K_VLAN_TCI] & 0xfff, hex: s.hex.slice(0, 24) + s.hex.slice(32) }));
}

/** Carry every tunnel output of `from` across to the peer; returns what the peers sent on. */
function cross(nodesBy: Record<string, Node>, from: Node, sent: Sent[]): { node: Node; sent: Sent[] }[] {
  const out: { node: Node; sent: Sent[] }[] = [];
  for (const s of sent) {
    if (s.kind !== 'output') continue;
    const name = Object.keys(from.ports).find((k) => from.ports[k] === s.port)!;
    const link = from.links[name];
    if (!link) continue;
    const peer = nodesBy[link[0]];
    out.push({ node: peer, sent: inject(peer, Buffer.from(s.hex, 'hex'), link[1], { id: s.key[K.K_TUN_ID_LO], src: from.ip }) });
  }
  return out;
}

const arpReq = (src: string, spa: string, tpa: string, vlan: number): Uint8Array =>
  buildFrame({ dst: 'ff:ff:ff:ff:ff:ff', src, vlan, arp: { op: 1, sha: src, spa, tha: '00:00:00:00:00:00', tpa } });
const untagged = (f: Uint8Array): string => {
  const h = Buffer.from(f).toString('hex');
  return h.slice(0, 24) + h.slice(32);
};
const learned = (n: Node): string[] =>
  n.p
    .formatFlows('table=20', { names: true })
    .split('\n')
    .filter((l) => l.includes('priority=1,'))
    .map((l) => l.replace(/duration=\S+ /, ''));

t.test('VXLAN tenant: broadcast floods to the tunnel, each node learns, unicast then goes straight', async (t) => {
  const N = nodes();
  const { A, B } = N;
  // a1 asks for b1 (ARP broadcast from br-int on A's local VLAN 1).
  const req = arpReq(MAC.a1, '10.1.0.11', '10.1.0.12', 1);
  const outA = inject(A, req, 'patch-int');
  t.same(outA.map((s) => [s.port, s.key[K.K_TUN_ID_LO], s.key[K.K_VLAN_TCI]]), [[2, 100, 0]], 'A floods it to vxlan-0aea0002, VNI 100, untagged');
  t.equal(outA[0].hex, untagged(req), 'the frame itself, only the tag gone');

  const [atB] = cross(N, A, outA);
  t.same(toBrInt(atB.sent, B), [{ vlan: 7, hex: untagged(req) }], "B hands it to br-int on B's local VLAN 7");
  t.same(learned(B), [
    ' cookie=0x1234, table=20, n_packets=0, n_bytes=0, hard_timeout=300, priority=1,vlan_tci=0x0007/0x0fff,dl_dst=fa:16:3e:00:01:a1 actions=load:0->NXM_OF_VLAN_TCI[],load:0x64->NXM_NX_TUN_ID[],output:"vxlan-0aea0001"',
  ]);

  // b1 answers a1 (unicast on B's VLAN 7): B's learned flow sends it to A only.
  const reply = buildFrame({ src: MAC.b1, dst: MAC.a1, vlan: 7, arp: { op: 2, sha: MAC.b1, spa: '10.1.0.12', tha: MAC.a1, tpa: '10.1.0.11' } });
  const outB = inject(B, reply, 'patch-int');
  t.same(outB.map((s) => [s.port, s.key[K.K_TUN_ID_LO], s.key[K.K_VLAN_TCI]]), [[5, 100, 0]], "B: learned flow, A's tunnel only");
  const [atA] = cross(N, B, outB);
  t.same(toBrInt(atA.sent, A), [{ vlan: 1, hex: untagged(reply) }], 'A delivers it on local VLAN 1');
  t.same(learned(A), [
    ' cookie=0x1234, table=20, n_packets=0, n_bytes=0, hard_timeout=300, priority=1,vlan_tci=0x0001/0x0fff,dl_dst=fa:16:3e:00:01:b1 actions=load:0->NXM_OF_VLAN_TCI[],load:0x64->NXM_NX_TUN_ID[],output:"vxlan-0aea0002"',
  ]);

  // Now a1 -> b1 IP traffic takes A's learned flow (no flood) and arrives on B's VLAN 7.
  const ping = buildFrame({ src: MAC.a1, dst: MAC.b1, vlan: 1, proto: 'icmp', ipSrc: '10.1.0.11', ipDst: '10.1.0.12' });
  const out2 = inject(A, ping, 'patch-int');
  t.same(out2.map((s) => s.port), [2]);
  t.equal(A.p.dumpFlows('table=20,priority=1')[0].nPackets, 1, "A's learned flow counted it");
  const [at2] = cross(N, A, out2);
  t.same(toBrInt(at2.sent, B), [{ vlan: 7, hex: untagged(ping) }]);
  t.same(B.p.learnStats, { learned: 1, refreshed: 1, refused: 0 }, 'the same source again only refreshes');
});

t.test('GRE tenant (table 3) next to the VXLAN one, same MAC space, kept apart by key', async (t) => {
  const N = nodes();
  const { A, B } = N;
  const req = arpReq(MAC.a2, '10.2.0.11', '10.2.0.12', 2);
  const outA = inject(A, req, 'patch-int');
  t.same(outA.map((s) => [s.port, s.key[K.K_TUN_ID_LO]]), [[3, 200]], 'A floods tenant 2 to its GRE tunnel, key 200');
  const [atB] = cross(N, A, outA);
  t.same(toBrInt(atB.sent, B), [{ vlan: 8, hex: untagged(req) }], "B: key 200 -> local VLAN 8");
  t.match(learned(B)[0], /vlan_tci=0x0008\/0x0fff,dl_dst=fa:16:3e:00:02:a2 actions=load:0->NXM_OF_VLAN_TCI\[\],load:0xc8->NXM_NX_TUN_ID\[\],output:"gre-0aea0001"$/);
});

t.test('the third tenant sees nothing of the first; an unknown VNI is dropped', async (t) => {
  const N = nodes();
  const { A, B } = N;
  // Tenant 1 broadcast from A reaches B only on VLAN 7 (tenant 3 is VLAN 9 there).
  const bcast = buildFrame({ src: MAC.a1, dst: 'ff:ff:ff:ff:ff:ff', vlan: 1, proto: 'udp', ipDst: '10.1.0.255' });
  const [atB] = cross(N, A, inject(A, bcast, 'patch-int'));
  t.same(toBrInt(atB.sent, B).map((x) => x.vlan), [7]);
  // Tenant 3 on B sends to a1's MAC: B learned a1 on VLAN 7 only, so this floods on VNI 300...
  const spoof = buildFrame({ src: MAC.b3, dst: MAC.a1, vlan: 9, proto: 'udp', ipDst: '10.1.0.11' });
  const outB = inject(B, spoof, 'patch-int');
  t.same(outB.map((s) => [s.port, s.key[K.K_TUN_ID_LO]]), [[5, 300]], 'tenant 3 floods on its own VNI');
  // ...and A delivers it on tenant 3's VLAN 3, never on tenant 1's VLAN 1.
  const [atA] = cross(N, B, outB);
  t.same(toBrInt(atA.sent, A).map((x) => x.vlan), [3]);
  // A frame with a VNI no network has: dropped by table 4's default flow, nothing learned.
  const before = A.p.ruleCount;
  const lost = inject(A, buildFrame({ src: 'fa:16:3e:99:99:99', dst: MAC.a1 }), 'vxlan-0aea0002', { id: 999, src: IP_B });
  t.same(lost.map((s) => s.kind), ['drop']);
  t.equal(A.p.ruleCount, before);
  t.equal(A.p.dumpFlows('table=4,priority=0', { strict: true })[0].nPackets, 1, "counted on table 4's drop flow");
});

t.test('l2pop: unicast entries beat learning, the ARP responder answers on br-tun', async (t) => {
  const N = nodes({ l2pop: true });
  const { A } = N;
  // a1 asks for b1's address: table 21 answers from br-tun, back out of patch-int, tunnel untouched.
  const req = arpReq(MAC.a1, '10.1.0.11', '10.1.0.12', 1);
  const out = inject(A, req, 'patch-int');
  t.equal(out.length, 1);
  t.equal(out[0].port, 1, 'IN_PORT: back to br-int');
  const want = buildFrame({ src: MAC.b1, dst: MAC.a1, vlan: 1, arp: { op: 2, sha: MAC.b1, spa: '10.1.0.12', tha: MAC.a1, tpa: '10.1.0.11' } });
  t.equal(out[0].hex, Buffer.from(want).toString('hex'), 'exact ARP reply, still on VLAN 1');
  // An address with no entry floods as before.
  t.same(inject(A, arpReq(MAC.a1, '10.1.0.11', '10.1.0.99', 1), 'patch-int').map((s) => s.port), [2]);
  // Unicast to b1: the l2pop flow (priority 2), not a flood, before anything was learned.
  const ping = buildFrame({ src: MAC.a1, dst: MAC.b1, vlan: 1, proto: 'icmp' });
  const sent = inject(A, ping, 'patch-int');
  t.same(sent.map((s) => [s.port, s.key[K.K_TUN_ID_LO]]), [[2, 100]]);
  t.equal(A.p.dumpFlows('table=20,priority=2')[0].nPackets, 1);
});

t.test('trace on br-tun: tunnel metadata, the local VLAN, and the flow table 10 would learn', async (t) => {
  const { B } = nodes();
  const r = runTrace(B.p, { flow: `in_port=vxlan-0aea0001,tun_id=0x64,tun_src=10.234.0.1,tun_dst=10.234.0.2,dl_src=${MAC.a1},dl_dst=${MAC.b1},ip,nw_src=10.1.0.11,nw_dst=10.1.0.12` });
  t.match(r.text, /^Flow: in_port="vxlan-0aea0001",tun_id=0x64,tun_src=10\.234\.0\.1,tun_dst=10\.234\.0\.2 /);
  t.match(r.text, /\n +4\. priority=1,tun_id=0x64, cookie 0x1234\n/);
  t.match(r.text, /learned: cookie=0x1234,table=20,hard_timeout=300,priority=1,vlan_tci=0x0007\/0x0fff,dl_dst=fa:16:3e:00:01:a1 actions=load:0->NXM_OF_VLAN_TCI\[\],load:0x64->NXM_NX_TUN_ID\[\],output:"vxlan-0aea0001"/);
  t.equal(r.outputs.length, 1);
  t.equal(r.outputs[0].portName, 'patch-int');
  t.same(learned(B), [], 'trace learned nothing');
});
