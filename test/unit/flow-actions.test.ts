import t from 'tap';
import { PacketArena } from '../../src/packet/arena';
import { Batch } from '../../src/packet/batch';
import { parseSlot } from '../../src/packet/parse';
import { KEY_SHIFT, PACKET_WORDS } from '../../src/packet/flow-key';
import { FlowPipeline } from '../../src/flow/pipeline';
import { RecordingOps, buildFrame, type FrameSpec } from '../../src/flow/testing';
import { pseudoSumV4, sum16 } from '../../src/wire/checksum';

const hex = (u: Uint8Array): string => Buffer.from(u).toString('hex');

/** Run `actions,output:2` on a frame from port 1; return the output bytes and key. */
function run(actions: string, input: FrameSpec | Uint8Array, match = '') {
  const arena = new PacketArena({ slots: 16, slotSize: 4096 });
  const p = new FlowPipeline({ arena, clock: () => 0, resolvePort: () => -1, portName: () => undefined });
  p.addFlow(`in_port=1,${match}actions=${actions}`);
  const ops = new RecordingOps(arena);
  const s = arena.allocFrom(input instanceof Uint8Array ? input : buildFrame(input));
  t.equal(parseSlot(arena, s, 1), -1, 'fixture parses');
  const b = new Batch(4);
  b.push(s);
  p.process(b, ops);
  return { ops, arena };
}

/** Key words a fresh parse of `bytes` gives (to check the pipeline kept the key in step). */
function freshKey(bytes: string): number[] {
  const a = new PacketArena({ slots: 2, slotSize: 4096 });
  const s = a.allocFrom(Buffer.from(bytes, 'hex'));
  parseSlot(a, s, 1);
  return Array.from(a.key.slice(s << KEY_SHIFT, (s << KEY_SHIFT) + PACKET_WORDS));
}

/** [actions, match prefix, input frame, expected output frame (checksums computed from scratch)]. */
const CASES: [string, string, FrameSpec, FrameSpec][] = [
  ['mod_dl_src:0a:0b:0c:0d:0e:0f,mod_dl_dst:01:02:03:04:05:06', '', {}, { src: '0a:0b:0c:0d:0e:0f', dst: '01:02:03:04:05:06' }],
  ['mod_nw_src:192.168.7.9', '', {}, { ipSrc: '192.168.7.9' }],
  ['mod_nw_dst:172.16.0.1', '', { proto: 'udp' }, { proto: 'udp', ipDst: '172.16.0.1' }],
  ['mod_nw_dst:172.16.0.1', '', { proto: 'udp', udpZeroCsum: true }, { proto: 'udp', ipDst: '172.16.0.1', udpZeroCsum: true }],
  ['mod_nw_src:10.0.0.99', '', { proto: 'icmp' }, { proto: 'icmp', ipSrc: '10.0.0.99' }],
  ['mod_nw_tos:184', '', { tos: 1 }, { tos: 185 }],
  ['mod_tp_src:4321,mod_tp_dst:8080', '', {}, { sport: 4321, dport: 8080 }],
  ['mod_tp_src:53', '', { proto: 'udp' }, { proto: 'udp', sport: 53 }],
  ['set_field:8443->tcp_dst', 'tcp,', {}, { dport: 8443 }],
  ['set_field:10.1.1.1->ip_src,set_field:99->udp_src', 'udp,', { proto: 'udp' }, { proto: 'udp', ipSrc: '10.1.1.1', sport: 99 }],
  ['dec_ttl', '', { ttl: 64 }, { ttl: 63 }],
  ['mod_vlan_vid:5', '', {}, { vlan: 5 }],
  ['mod_vlan_vid:5', '', { vlan: 3, pcp: 2 }, { vlan: 5, pcp: 2 }],
  ['mod_vlan_pcp:6', '', { vlan: 3 }, { vlan: 3, pcp: 6 }],
  ['mod_vlan_pcp:6', '', {}, { vlan: 0, pcp: 6 }],
  ['strip_vlan', '', { vlan: 9 }, {}],
  ['pop_vlan', '', {}, {}],
  ['push_vlan:0x8100,set_field:4097->vlan_vid', '', {}, { vlan: 1 }],
  ['push_vlan:0x88a8,set_field:4196->vlan_vid', '', { vlan: 7 }, { outerVlan: 100, vlan: 7 }],
  ['set_field:4097->vlan_vid', '', {}, {}],
  ['load:0x1234->NXM_OF_TCP_DST[]', 'tcp,', {}, { dport: 0x1234 }],
  ['load:0x1007->NXM_OF_VLAN_TCI[]', '', {}, { vlan: 7 }],
  ['load:0->NXM_OF_VLAN_TCI[]', '', { vlan: 7 }, {}],
  ['move:NXM_OF_ETH_SRC[]->NXM_OF_ETH_DST[]', '', {}, { dst: '02:00:00:00:00:01' }],
  ['move:NXM_OF_IP_SRC[]->NXM_OF_IP_DST[]', 'ip,', {}, { ipDst: '10.0.0.1' }],
  ['load:0x5->NXM_NX_REG0[],move:NXM_NX_REG0[0..11]->NXM_OF_VLAN_TCI[0..11]', '', { vlan: 3 }, { vlan: 5 }],
  ['move:NXM_OF_TCP_SRC[0..7]->NXM_OF_TCP_DST[8..15]', 'tcp,', { sport: 0x12ab, dport: 0x0050 }, { sport: 0x12ab, dport: 0xab50 }],
  ['load:0xc0a8->NXM_OF_IP_SRC[16..31]', 'ip,', {}, { ipSrc: '192.168.0.1' }],
];

t.test('every action on byte fixtures: bytes, checksums and key', async (t) => {
  for (const [acts, match, input, expected] of CASES) {
    const { ops, arena } = run(`${acts},output:2`, input, match);
    t.equal(ops.sent.length, 1, acts);
    const out = ops.sent[0];
    t.equal(out.hex, hex(buildFrame(expected)), `${acts} on ${JSON.stringify(input)}`);
    t.same(Array.from(out.key.slice(0, PACKET_WORDS)), freshKey(out.hex), `${acts}: key in step with the bytes`);
    t.equal(arena.available, arena.capacity);
  }
});

t.test('ARP field writes', async (t) => {
  const arp = { op: 1, sha: '02:00:00:00:00:01', spa: '10.0.0.1', tha: '00:00:00:00:00:00', tpa: '10.0.0.2' };
  const { ops } = run(
    'load:0x2->NXM_OF_ARP_OP[],move:NXM_NX_ARP_SHA[]->NXM_NX_ARP_THA[],move:NXM_OF_ARP_SPA[]->NXM_OF_ARP_TPA[],load:0xa000009->NXM_OF_ARP_SPA[],load:0x0200000000aa->NXM_NX_ARP_SHA[],output:2',
    { arp },
    'arp,',
  );
  const want = buildFrame({ arp: { op: 2, sha: '02:00:00:00:00:aa', spa: '10.0.0.9', tha: '02:00:00:00:00:01', tpa: '10.0.0.1' } });
  t.equal(ops.sent[0].hex, hex(want));
  t.same(Array.from(ops.sent[0].key.slice(0, PACKET_WORDS)), freshKey(ops.sent[0].hex));
});

t.test('ports and reserved outputs', async (t) => {
  const { ops } = run('output:3,IN_PORT,FLOOD,ALL,LOCAL,CONTROLLER:64,NORMAL', {});
  t.same(
    ops.sent.map((s) => [s.kind, s.port]),
    [['output', 3], ['output', 1], ['flood', undefined], ['all', undefined], ['output', 0xfffe], ['controller', undefined], ['normal', undefined]],
  );
  t.ok(ops.sent.every((s) => s.hex === ops.sent[0].hex), 'identical copies');
});

t.test('multi-output: mod_vlan_vid:5,output:1,strip_vlan,output:2 (and copies are independent)', async (t) => {
  const { ops, arena } = run('mod_vlan_vid:5,output:3,strip_vlan,output:2,mod_nw_dst:1.2.3.4,output:4', {});
  t.same(ops.sent.map((s) => s.port), [3, 2, 4]);
  t.equal(ops.sent[0].hex, hex(buildFrame({ vlan: 5 })));
  t.equal(ops.sent[1].hex, hex(buildFrame({})));
  t.equal(ops.sent[2].hex, hex(buildFrame({ ipDst: '1.2.3.4' })));
  t.equal(arena.available, arena.capacity, 'clones and original all returned');
});

t.test('a modification after the last output changes nothing that left', async (t) => {
  const { ops, arena } = run('output:2,mod_vlan_vid:9', {});
  t.equal(ops.sent.length, 1);
  t.equal(ops.sent[0].hex, hex(buildFrame({})));
  t.equal(arena.available, arena.capacity);
});

t.test('partial checksum (vnet NEEDS_CSUM): the pseudo-header sum is updated, ports leave it alone', async (t) => {
  const arena = new PacketArena({ slots: 8, slotSize: 4096 });
  const p = new FlowPipeline({ arena, clock: () => 0, resolvePort: () => -1, portName: () => undefined });
  p.addFlow('in_port=1,actions=mod_nw_src:192.168.1.77,mod_tp_dst:8080,mod_vlan_vid:12,output:2');
  const f = buildFrame({ payload: 20 });
  const l3 = 14;
  const l4 = 34;
  const tcpLen = f.length - l4;
  // Put the frame in CHECKSUM_PARTIAL form: field = folded pseudo-header sum, not complemented.
  const fold = (s: number) => {
    while (s > 0xffff) s = (s & 0xffff) + (s >>> 16);
    return s;
  };
  const ps = fold(pseudoSumV4(f, l3, 6, tcpLen));
  f[l4 + 16] = ps >> 8;
  f[l4 + 17] = ps & 0xff;
  const s = arena.allocFrom(f);
  const base = s * arena.slotSize;
  arena.bytes[base] = 1; // NEEDS_CSUM
  arena.bytes[base + 6] = l4; // csum_start (LE)
  arena.bytes[base + 8] = 16; // csum_offset
  parseSlot(arena, s, 1);
  const captured: { bytes: Buffer; vnet: Buffer }[] = [];
  const ops = new RecordingOps(arena);
  ops.output = (slot: number) => {
    captured.push({ bytes: arena.frame(slot), vnet: Buffer.from(arena.bytes.subarray(slot * arena.slotSize, slot * arena.slotSize + 10)) });
    arena.release(slot);
  };
  const b = new Batch(1);
  b.push(s);
  p.process(b, ops);
  const out = captured[0].bytes;
  const nl3 = l3 + 4;
  const nl4 = l4 + 4;
  t.equal(captured[0].vnet.readUInt16LE(6), nl4, 'csum_start moved with the tag');
  const field = (out[nl4 + 16] << 8) | out[nl4 + 17];
  t.equal(field, fold(pseudoSumV4(out, nl3, 6, tcpLen)), 'field = pseudo-header sum of the new addresses');
  // Completing it as the kernel would gives a valid checksum.
  const done = Buffer.from(out);
  const c = ~sum16(done, nl4, tcpLen) & 0xffff;
  done[nl4 + 16] = c >> 8;
  done[nl4 + 17] = c & 0xff;
  t.equal(~sum16(done, nl4, tcpLen, pseudoSumV4(done, nl3, 6, tcpLen)) & 0xffff, 0, 'completed checksum verifies');
});
