/**
 * Software segmentation (src/packet/gso.ts): super-frames built from byte fixtures, segments
 * checked field by field, every checksum recomputed from scratch with the reference checksum
 * (test/fixtures/util.ts, independent of src/wire/checksum.ts), and the payload reassembled.
 */
import t from 'tap';
import { PacketArena } from '../../src/packet/arena';
import * as vnet from '../../src/packet/vnet';
import * as gso from '../../src/packet/gso';
import { MemoryPort } from '../../src/io/memory-port';
import { Switch } from '../../src/datapath/switch';
import * as K from '../../src/packet/flow-key';
import { hex, refChecksum, refPseudo4, prng, randInt } from '../fixtures/util';

const MAC = '525400abcdef525400123456';

/** Ethernet + IPv4 (id 0x1234, DF, TTL 64) + TCP (32-byte header: NOP NOP TS) + payload. */
function tcp4Super(payload: Uint8Array, flags: number, opts: { vlan?: number; seq?: number } = {}): Uint8Array {
  const tcpHdr = 32;
  const ipLen = 20 + tcpHdr + payload.length;
  const tag = opts.vlan !== undefined ? '8100' + opts.vlan.toString(16).padStart(4, '0') : '';
  const seq = (opts.seq ?? 0xfffff000) >>> 0;
  const head = hex(
    MAC + tag + '0800' +
      '4500' + ipLen.toString(16).padStart(4, '0') + '12344000' + '4006' + '0000' + '0a000001' + '0a000002' +
      'a8ca0050' + seq.toString(16).padStart(8, '0') + '0badcafe' + '80' + flags.toString(16).padStart(2, '0') + '01f6' + '0000' + '0000' +
      '0101080a0012d687000001c8',
  );
  const f = new Uint8Array(head.length + payload.length);
  f.set(head);
  f.set(payload, head.length);
  return f;
}

/** Ethernet + IPv6 + UDP + payload. */
function udp6Super(payload: Uint8Array): Uint8Array {
  const l4 = 8 + payload.length;
  const head = hex(
    MAC + '86dd' + '60000000' + l4.toString(16).padStart(4, '0') + '1140' +
      'fd000000000000000000000000000001' + 'fd000000000000000000000000000002' +
      'd6d81389' + l4.toString(16).padStart(4, '0') + '0000',
  );
  const f = new Uint8Array(head.length + payload.length);
  f.set(head);
  f.set(payload, head.length);
  return f;
}

/** Ethernet + IPv6 + TCP (20-byte header) + payload. */
function tcp6Super(payload: Uint8Array, flags: number): Uint8Array {
  const l4 = 20 + payload.length;
  const head = hex(
    MAC + '86dd' + '60000000' + l4.toString(16).padStart(4, '0') + '0640' +
      'fd000000000000000000000000000001' + 'fd000000000000000000000000000002' +
      'a8ca0050' + '00000001' + '00000000' + '50' + flags.toString(16).padStart(2, '0') + '01f6' + '0000' + '0000',
  );
  const f = new Uint8Array(head.length + payload.length);
  f.set(head);
  f.set(payload, head.length);
  return f;
}

function setVnet(a: PacketArena, s: number, type: number, mss: number, cs: number, co: number): void {
  const b = a.base(s);
  const u8 = a.bytes;
  u8.fill(0, b, b + 10);
  u8[b] = vnet.F_NEEDS_CSUM;
  u8[b + 1] = type;
  u8[b + 4] = mss & 0xff;
  u8[b + 5] = mss >>> 8;
  u8[b + 6] = cs & 0xff;
  u8[b + 7] = cs >>> 8;
  u8[b + 8] = co & 0xff;
  u8[b + 9] = co >>> 8;
}

function payloadOf(n: number, seed: number): Uint8Array {
  const r = prng(seed);
  const p = new Uint8Array(n);
  for (let i = 0; i < n; i++) p[i] = randInt(r, 256);
  return p;
}

const be16 = (b: Uint8Array, p: number) => (b[p] << 8) | b[p + 1];
const be32 = (b: Uint8Array, p: number) => ((b[p] << 24) | (b[p + 1] << 16) | (b[p + 2] << 8) | b[p + 3]) >>> 0;

/** Pseudo-header sum for IPv6 by hand. */
function refPseudo6(f: Uint8Array, ip: number, proto: number, len: number): number {
  let s = 0;
  for (let i = 8; i < 40; i += 2) s += be16(f, ip + i);
  return s + proto + len;
}

function segmentAll(a: PacketArena, s: number): Buffer[] {
  const n = gso.segmentCount(a, s);
  const out: Buffer[] = [];
  for (let k = 0; k < n; k++) {
    const d = gso.segment(a, s, k);
    if (d < 0) throw new Error(`segment ${k} failed`);
    const vb = a.base(d);
    if (a.bytes.subarray(vb, vb + 10).some((x) => x !== 0)) throw new Error('segment carries offload state');
    out.push(a.frame(d));
    a.release(d);
  }
  return out;
}

t.test('gso: TCPv4 super-frame → MSS segments with fixed headers and full checksums', async (t) => {
  const a = new PacketArena({ slots: 8, slotSize: 65536 + 128 });
  const payload = payloadOf(4000, 7);
  // PSH|ACK|FIN|CWR on the super-frame; seq near the wrap so the +k*mss arithmetic wraps.
  const frame = tcp4Super(payload, 0x80 | 0x10 | 0x08 | 0x01);
  const s = a.allocFrom(frame);
  setVnet(a, s, vnet.GSO_TCPV4, 1448, 34, 16);
  const before = Buffer.from(a.frame(s));
  t.equal(gso.segmentCount(a, s), 3, '4000 bytes at MSS 1448 = 3 segments');
  const segs = segmentAll(a, s);
  t.same(a.frame(s), before, 'the super-frame is left as it was');
  t.same(segs.map((f) => f.length), [14 + 52 + 1448, 14 + 52 + 1448, 14 + 52 + 1104], 'lengths');
  const got: Buffer[] = [];
  segs.forEach((f, k) => {
    const ip = 14;
    const l4 = 34;
    t.equal(be16(f, ip + 2), f.length - 14, `seg ${k}: IPv4 total length`);
    t.equal(be16(f, ip + 4), 0x1234 + k, `seg ${k}: IPv4 id incremented`);
    t.equal(be16(f, ip + 6), 0x4000, `seg ${k}: DF kept, no fragment bits`);
    t.equal(refChecksum(f.subarray(ip, ip + 20)), 0, `seg ${k}: IPv4 header checksum verifies`);
    t.equal(be32(f, l4 + 4), (0xfffff000 + k * 1448) >>> 0, `seg ${k}: sequence number`);
    t.equal(be32(f, l4 + 8), 0x0badcafe, `seg ${k}: ack unchanged`);
    const fl = f[l4 + 13];
    t.equal((fl & 0x80) !== 0, k === 0, `seg ${k}: CWR only on the first`);
    t.equal((fl & 0x09) !== 0, k === 2, `seg ${k}: FIN/PSH only on the last`);
    t.ok(fl & 0x10, `seg ${k}: ACK on every segment`);
    const l4len = f.length - l4;
    const ps = refPseudo4(f.subarray(26, 30), f.subarray(30, 34), 6, l4len);
    t.equal(refChecksum(f.subarray(l4, f.length), ps), 0, `seg ${k}: TCP checksum verifies from scratch`);
    t.same(f.subarray(l4 + 20, l4 + 32), frame.subarray(l4 + 20, l4 + 32), `seg ${k}: TCP options copied`);
    got.push(f.subarray(14 + 52));
  });
  t.same(Buffer.concat(got), Buffer.from(payload), 'segments reassemble to the payload');
});

t.test('gso: VLAN-tagged TCPv4, odd last segment, single-segment frame', async (t) => {
  const a = new PacketArena({ slots: 8, slotSize: 65536 + 128 });
  const payload = payloadOf(2897, 9);
  const s = a.allocFrom(tcp4Super(payload, 0x18, { vlan: 101, seq: 1000 }));
  setVnet(a, s, vnet.GSO_TCPV4 | vnet.GSO_ECN, 1448, 38, 16);
  const segs = segmentAll(a, s);
  t.same(segs.map((f) => f.length - 18 - 52), [1448, 1448, 1], 'payload sizes (last is 1 odd byte)');
  segs.forEach((f, k) => {
    t.equal(be16(f, 12), 0x8100, `seg ${k}: tag kept`);
    t.equal(be16(f, 14), 101, `seg ${k}: VLAN 101`);
    t.equal(refChecksum(f.subarray(18, 38)), 0, `seg ${k}: IPv4 header checksum`);
    const ps = refPseudo4(f.subarray(30, 34), f.subarray(34, 38), 6, f.length - 38);
    t.equal(refChecksum(f.subarray(38), ps), 0, `seg ${k}: TCP checksum (odd length)`);
    t.equal(be32(f, 38 + 4), 1000 + k * 1448, `seg ${k}: seq`);
  });
  a.release(s);

  const one = a.allocFrom(tcp4Super(payloadOf(500, 3), 0x18));
  setVnet(a, one, vnet.GSO_TCPV4, 1448, 34, 16);
  const segs1 = segmentAll(a, one);
  t.equal(segs1.length, 1, 'a GSO frame smaller than its MSS is one segment');
  t.equal(segs1[0][34 + 13], 0x18, 'PSH kept on the only (= last) segment');
});

t.test('gso: TCPv6 and UDP (USO) over IPv6', async (t) => {
  const a = new PacketArena({ slots: 8, slotSize: 65536 + 128 });
  const payload = payloadOf(3000, 11);
  const s = a.allocFrom(tcp6Super(payload, 0x19));
  setVnet(a, s, vnet.GSO_TCPV6, 1428, 54, 16);
  const segs = segmentAll(a, s);
  t.same(segs.map((f) => f.length - 74), [1428, 1428, 144]);
  segs.forEach((f, k) => {
    t.equal(be16(f, 14 + 4), f.length - 54, `seg ${k}: IPv6 payload length`);
    t.equal(refChecksum(f.subarray(54), refPseudo6(f, 14, 6, f.length - 54)), 0, `seg ${k}: TCP/IPv6 checksum`);
    t.equal(be32(f, 54 + 4), 1 + k * 1428, `seg ${k}: seq`);
    t.equal((f[54 + 13] & 0x09) !== 0, k === 2, `seg ${k}: FIN/PSH only last`);
  });
  a.release(s);

  const up = payloadOf(2500, 13);
  const u = a.allocFrom(udp6Super(up));
  setVnet(a, u, gso.GSO_UDP_L4, 1200, 54, 6);
  const us = segmentAll(a, u);
  t.same(us.map((f) => f.length - 62), [1200, 1200, 100], 'USO: one datagram per gso_size');
  us.forEach((f, k) => {
    t.equal(be16(f, 54 + 4), f.length - 54, `dgram ${k}: UDP length`);
    t.equal(be16(f, 14 + 4), f.length - 54, `dgram ${k}: IPv6 payload length`);
    t.equal(refChecksum(f.subarray(54), refPseudo6(f, 14, 17, f.length - 54)), 0, `dgram ${k}: UDP checksum`);
    t.not(be16(f, 54 + 6), 0, `dgram ${k}: checksum present`);
  });
  t.same(Buffer.concat(us.map((f) => f.subarray(62))), Buffer.from(up));
});

t.test('gso: what it refuses', async (t) => {
  const a = new PacketArena({ slots: 8, slotSize: 65536 + 128 });
  const s = a.allocFrom(tcp4Super(payloadOf(3000, 1), 0x10));
  setVnet(a, s, vnet.GSO_TCPV6, 1448, 34, 16);
  t.equal(gso.segmentCount(a, s), 0, 'TCPV6 type on an IPv4 frame');
  setVnet(a, s, vnet.GSO_UDP, 1448, 34, 6);
  t.equal(gso.segmentCount(a, s), 0, 'UFO (IP fragmentation) is not done');
  setVnet(a, s, vnet.GSO_TCPV4, 0, 34, 16);
  t.equal(gso.segmentCount(a, s), 0, 'zero MSS');
  setVnet(a, s, vnet.GSO_TCPV4, 1448, 34, 16);
  t.equal(gso.segment(a, s, 3), -1, 'segment index past the end');
  a.len[s] = 40;
  t.equal(gso.segmentCount(a, s), 0, 'truncated headers');
});

t.test('gso: the switch segments for a port without offloads', async (t) => {
  const sw = new Switch({ arena: { slots: 256 } });
  sw.addBridge('br0');
  const inp = sw.addPort('br0', 'in', { type: 'memory', offloads: true });
  const out = sw.addPort('br0', 'out', { type: 'memory', offloads: false, mtu: 1500 }).io as MemoryPort;
  const free0 = sw.arena.available;
  // 20000 bytes at MSS 1448 → 14 segments; dst MAC unknown → flooded to 'out'.
  const payload = payloadOf(20000, 5);
  const s = sw.arena.allocFrom(tcp4Super(payload, 0x18));
  setVnet(sw.arena, s, vnet.GSO_TCPV4, 1448, 34, 16);
  sw.enqueue(inp.bridge.port('out')!, s);
  sw.flush();
  const frames = out.takeTransmitted();
  t.equal(frames.length, 14, '14 segments left the port');
  t.ok(frames.every((f) => f.length <= 1514), 'each fits the 1500 MTU');
  t.same(Buffer.concat(frames.map((f) => f.subarray(66))), Buffer.from(payload), 'payload intact and in order');
  t.ok(frames.every((f) => refChecksum(f.subarray(34), refPseudo4(f.subarray(26, 30), f.subarray(30, 34), 6, f.length - 34)) === 0), 'every TCP checksum verifies');
  t.same(out.counters.drops.toJSON(), {}, 'nothing dropped');
  t.equal(sw.arena.available, free0, 'every slot back in the arena');
});

t.test('gso: every segment carries its super-frame flow key (a tunnel port encapsulates from it)', async (t) => {
  const sw = new Switch({ arena: { slots: 256 } });
  sw.addBridge('br0');
  const inp = sw.addPort('br0', 'in', { type: 'memory', offloads: true });
  const out = sw.addPort('br0', 'out', { type: 'memory', offloads: false, mtu: 1500 }).io as MemoryPort;
  const keys: number[][] = [];
  const txBurst = out.txBurst.bind(out);
  out.txBurst = (slots: Uint32Array, n: number) => {
    for (let i = 0; i < n; i++) {
      const k = slots[i] << K.KEY_SHIFT;
      keys.push(Array.from(sw.arena.key.subarray(k, k + K.KEY_WORDS)));
    }
    return txBurst(slots, n);
  };
  const s = sw.arena.allocFrom(tcp4Super(payloadOf(5000, 9), 0x18));
  setVnet(sw.arena, s, vnet.GSO_TCPV4, 1448, 34, 16);
  // What the flow tables left in the key: set_tunnel:0x64 (key=flow), the parsed TOS/TTL.
  const k = s << K.KEY_SHIFT;
  sw.arena.key[k + K.K_TUN_FLAGS] = K.TUN_PRESENT;
  sw.arena.key[k + K.K_TUN_ID_LO] = 0x64;
  sw.arena.key[k + K.K_NW_TOS] = 0xb8;
  sw.arena.key[k + K.K_NW_TTL] = 63;
  const want = Array.from(sw.arena.key.subarray(k, k + K.KEY_WORDS));
  // Slots the segments will take may hold an older frame's key.
  for (let i = 0; i < sw.arena.key.length; i += K.KEY_WORDS) if (i !== k) sw.arena.key[i + K.K_TUN_ID_LO] = 999;
  sw.enqueue(inp.bridge.port('out')!, s);
  sw.flush();
  t.equal(keys.length, 4, '5000 bytes at MSS 1448: 4 segments');
  t.ok(keys.every((w) => w.every((v, i) => v === want[i])), 'each segment has the super-frame key, tun_id 0x64 included');
});
