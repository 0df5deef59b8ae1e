import t from 'tap';
import { PacketArena } from '../../src/packet/arena';
import { Batch } from '../../src/packet/batch';
import { parseSlot, parseBatch, ParseDrops, ParseDropReason, PARSE_DROP_REASONS, D_OVERSIZE } from '../../src/packet/parse';
import * as K from '../../src/packet/flow-key';
import * as ip from '../../src/wire/ipv4';
import * as udp from '../../src/wire/udp';
import * as F from '../fixtures/frames';
import { hex } from '../fixtures/util';
import { eth6, extHdr, fragHdr, icmp6, ip6Packet, llaOpt, ndFrame, udp6 } from '../helpers/ipv6-frames';

const OK = -1;
const PORT = 7;

function arena(): PacketArena {
  return new PacketArena({ slots: 16, slotSize: 2048, headroom: 128 });
}

/** The packet words of a slot's key by name, skipping zeros (so expectations list only set words). */
function keyOf(a: PacketArena, s: number): Record<string, number> {
  const o: Record<string, number> = {};
  for (let i = 0; i < K.KEY_WORDS; i++) {
    const v = a.key[(s << K.KEY_SHIFT) + i];
    if (v !== 0) o[K.KEY_WORD_NAMES[i]] = v;
  }
  return o;
}

const MAC_A = { hi: 0x5254, lo: 0x00123456 };
const MAC_B = { hi: 0x5254, lo: 0x00abcdef };
const aToB = { in_port: PORT, dl_dst_hi: MAC_B.hi, dl_dst_lo: MAC_B.lo, dl_src_hi: MAC_A.hi, dl_src_lo: MAC_A.lo };
/** 2001:db8::1 -> 2001:db8::2 in the IPv6 address words (zero words are left out, as keyOf does). */
const v6AToB = { ipv6_src0: 0x20010db8, ipv6_src3: 1, ipv6_dst0: 0x20010db8, ipv6_dst3: 2 };
const bToA = { in_port: PORT, dl_dst_hi: MAC_A.hi, dl_dst_lo: MAC_A.lo, dl_src_hi: MAC_B.hi, dl_src_lo: MAC_B.lo };

interface Expect { l3: number; l4: number; key: Record<string, number> }
const good: Record<string, Expect> = {
  arpRequest: {
    l3: 14, l4: 0,
    key: {
      in_port: PORT, dl_dst_hi: 0xffff, dl_dst_lo: 0xffffffff, dl_src_hi: MAC_A.hi, dl_src_lo: MAC_A.lo,
      dl_type: 0x0806, nw_src: 0x0a000001, nw_dst: 0x0a000002, nw_proto: 1, arp_sha_hi: MAC_A.hi, arp_sha_lo: MAC_A.lo,
    },
  },
  arpReplyPadded: {
    l3: 14, l4: 0,
    key: {
      ...bToA, dl_type: 0x0806, nw_src: 0x0a000002, nw_dst: 0x0a000001, nw_proto: 2,
      arp_sha_hi: MAC_B.hi, arp_sha_lo: MAC_B.lo, arp_tha_hi: MAC_A.hi, arp_tha_lo: MAC_A.lo,
    },
  },
  icmpEchoRequest: {
    l3: 14, l4: 34,
    key: { ...aToB, dl_type: 0x0800, nw_src: 0x0a000001, nw_dst: 0x0a000002, nw_proto: 1, nw_ttl: 64, tp_src: 8 },
  },
  icmpEchoReply: {
    l3: 14, l4: 34,
    key: { ...bToA, dl_type: 0x0800, nw_src: 0x0a000002, nw_dst: 0x0a000001, nw_proto: 1, nw_ttl: 64 },
  },
  tcpSyn: {
    l3: 14, l4: 34,
    key: { ...aToB, dl_type: 0x0800, nw_src: 0x0a000001, nw_dst: 0x0a000002, nw_proto: 6, nw_tos: 0x10, nw_ttl: 64, tp_src: 43210, tp_dst: 80 },
  },
  tcpAckPadded: {
    l3: 14, l4: 34,
    key: { ...aToB, dl_type: 0x0800, nw_src: 0x0a000001, nw_dst: 0x0a000002, nw_proto: 6, nw_ttl: 64, tp_src: 43210, tp_dst: 80 },
  },
  udpDnsQuery: {
    l3: 14, l4: 34,
    key: { ...aToB, dl_type: 0x0800, nw_src: 0x0a000001, nw_dst: 0x08080808, nw_proto: 17, nw_ttl: 64, tp_src: 53000, tp_dst: 53 },
  },
  vlanIcmp: {
    l3: 18, l4: 38,
    key: { ...aToB, vlan_tci: 0xa064 | 0x1000, dl_type: 0x0800, nw_src: 0x0a000001, nw_dst: 0x0a000002, nw_proto: 1, nw_ttl: 64, tp_src: 8 },
  },
  qinqUdp: {
    l3: 22, l4: 42,
    key: {
      ...aToB, vlan_tci: 0x60c8 | 0x1000, vlan_tci2: 0x0064 | 0x1000, dl_type: 0x0800,
      nw_src: 0x0a000001, nw_dst: 0x08080808, nw_proto: 17, nw_ttl: 64, tp_src: 53000, tp_dst: 53,
    },
  },
  icmpv6EchoRequest: {
    l3: 14, l4: 54,
    key: { ...aToB, ...v6AToB, ipv6_label: 0x5a5a5, dl_type: 0x86dd, nw_proto: 58, nw_tos: 0xb8, nw_ttl: 64, tp_src: 128 },
  },
  udp6: {
    l3: 14, l4: 54,
    key: { ...aToB, ...v6AToB, dl_type: 0x86dd, nw_proto: 17, nw_ttl: 255, tp_src: 40001, tp_dst: 9 },
  },
  ipv4FirstFragment: {
    l3: 14, l4: 34,
    key: { ...aToB, dl_type: 0x0800, nw_src: 0x0a000001, nw_dst: 0x0a000002, nw_proto: 17, nw_ttl: 64, nw_frag: 1, tp_src: 40000, tp_dst: 9000 },
  },
  ipv4LaterFragment: {
    l3: 14, l4: 0,
    key: { ...aToB, dl_type: 0x0800, nw_src: 0x0a000001, nw_dst: 0x0a000002, nw_proto: 17, nw_ttl: 64, nw_frag: 3 },
  },
};

t.test('parseSlot: key words and offsets for every fixture', async (t) => {
  const a = arena();
  for (const [name, exp] of Object.entries(good)) {
    const s = a.allocFrom(hex((F as Record<string, string>)[name]));
    // Stale state from a previous user of the slot must not survive the parse (a writer of the
    // key's tail marks it, PacketArena.keyTail).
    a.key.fill(0xdeadbeef, s << K.KEY_SHIFT, (s + 1) << K.KEY_SHIFT);
    a.keyTail[s] = 1;
    a.l3[s] = 999; a.l4[s] = 999;
    t.equal(parseSlot(a, s, PORT), OK, `${name} parses`);
    t.same(keyOf(a, s), exp.key, `${name} key`);
    t.equal(a.l3[s], exp.l3, `${name} l3`);
    t.equal(a.l4[s], exp.l4, `${name} l4`);
    a.release(s);
  }
});

t.test('parseSlot: conventions', async (t) => {
  const a = arena();
  // The key keeps the whole TOS byte (OVS flow->nw_tos): nw_tos matches its 0xfc bits, nw_ecn 0x03.
  const tos = hex(F.tcpSyn);
  ip.setTos(tos, 14, 0xbb);
  let s = a.allocFrom(tos);
  t.equal(parseSlot(a, s, 1), OK);
  t.equal(a.key[(s << K.KEY_SHIFT) + K.K_NW_TOS], 0xbb);
  a.release(s);

  // VID 0 priority 0 tag is still "tagged": TCI_PRESENT alone.
  const v0 = hex(F.vlanIcmp);
  v0[14] = 0; v0[15] = 0;
  s = a.allocFrom(v0);
  t.equal(parseSlot(a, s, 1), OK);
  t.equal(a.key[(s << K.KEY_SHIFT) + K.K_VLAN_TCI], 0x1000);
  a.release(s);

  // ARP opcode goes to NW_PROTO as its low 8 bits.
  const op = hex(F.arpRequest);
  op[20] = 0x01; op[21] = 0x02; // opcode 0x0102
  s = a.allocFrom(op);
  t.equal(parseSlot(a, s, 1), OK);
  t.equal(a.key[(s << K.KEY_SHIFT) + K.K_NW_PROTO], 0x02);
  a.release(s);

  // 802.3 length field instead of an EtherType (an STP BPDU): dl_type 0x05ff, no L3.
  const stp = hex('0180c2000000' + '525400123456' + '0026' + '424203' + '0000000000' + '00'.repeat(32));
  s = a.allocFrom(stp);
  t.equal(parseSlot(a, s, 1), OK);
  t.equal(a.key[(s << K.KEY_SHIFT) + K.K_DL_TYPE], 0x05ff);
  t.equal(a.l3[s], 0);
  a.release(s);

  // Unknown EtherType (LLDP): accepted, dl_type as is, no L3.
  const lldp = hex('0180c200000e' + '525400123456' + '88cc' + '00'.repeat(46));
  s = a.allocFrom(lldp);
  t.equal(parseSlot(a, s, 1), OK);
  t.equal(a.key[(s << K.KEY_SHIFT) + K.K_DL_TYPE], 0x88cc);
  t.equal(a.l3[s], 0);
  a.release(s);

  // An unknown IP protocol (GRE) has L3 but no L4 fields.
  const gre = hex(F.icmpEchoRequest);
  gre[14 + 9] = 47;
  s = a.allocFrom(gre);
  t.equal(parseSlot(a, s, 1), OK);
  t.equal(a.l3[s], 14);
  t.equal(a.l4[s], 0);
  t.equal(a.key[(s << K.KEY_SHIFT) + K.K_NW_PROTO], 47);
  t.equal(a.key[(s << K.KEY_SHIFT) + K.K_TP_SRC], 0);
  a.release(s);

  // ICMPv6 next-header inside IPv4 is not ICMP (no type/code in tp_src/tp_dst).
  const v6in4 = hex(F.icmpEchoRequest);
  v6in4[14 + 9] = 58;
  s = a.allocFrom(v6in4);
  t.equal(parseSlot(a, s, 1), OK);
  t.equal(a.l4[s], 0);
  t.equal(a.key[(s << K.KEY_SHIFT) + K.K_TP_SRC], 0);
  a.release(s);

  // The frame may sit anywhere in its slot (after a pop, say): offsets are frame-relative.
  s = a.allocFrom(hex(F.tcpSyn));
  const f = a.start[s];
  a.bytes.copyWithin(f - 6, f, f + a.len[s]);
  a.start[s] = f - 6;
  t.equal(parseSlot(a, s, 1), OK);
  t.equal(a.l3[s], 14);
  t.equal(a.l4[s], 34);
  t.equal(a.key[(s << K.KEY_SHIFT) + K.K_TP_SRC], 43210);
  a.release(s);

  // IPv6 payload length 0 (jumbogram): what follows the header is the payload.
  const jumbo = hex(F.udp6);
  jumbo[18] = 0; jumbo[19] = 0;
  s = a.allocFrom(jumbo);
  t.equal(parseSlot(a, s, 1), OK);
  t.equal(a.key[(s << K.KEY_SHIFT) + K.K_TP_DST], 9);
  a.release(s);
  t.equal(a.available, 16);
});

const S6 = 'fe80::5054:ff:fe12:3456';
const D6 = 'ff02::1:ff00:2';
const MAC_S = '52:54:00:12:34:56';
const ns = (opts: Buffer[], target = '2001:db8::2') => ndFrame({ type: 135, smac: MAC_S, dmac: '33:33:ff:00:00:02', src: S6, dst: D6, target, opts });
const udpVia = (ext: [number, Buffer][]) => eth6(ip6Packet({ src: '2001:db8::1', dst: '2001:db8::2', proto: 17, l4: udp6('2001:db8::1', '2001:db8::2', 5000, 53), ext }));

t.test('parseSlot: IPv4 with options: the L4 header and its ports come after them', async (t) => {
  const a = arena();
  const plain = hex(F.udpDnsQuery);
  let s = a.allocFrom(plain);
  t.equal(parseSlot(a, s, 1), OK);
  const want = { tp_src: a.key[(s << K.KEY_SHIFT) + K.K_TP_SRC], tp_dst: a.key[(s << K.KEY_SHIFT) + K.K_TP_DST] };
  a.release(s);
  // The same datagram with a 4-byte Router Alert option: IHL 6, total length + 4.
  const f = Buffer.concat([plain.subarray(0, 34), Buffer.from([0x94, 0x04, 0x00, 0x00]), plain.subarray(34)]);
  f[14] = 0x46;
  ip.setTotalLen(f, 14, ip.totalLen(f, 14) + 4);
  s = a.allocFrom(f);
  t.equal(parseSlot(a, s, 1), OK);
  t.equal(a.l4[s], 38, 'L4 at 14 + 24');
  t.same({ tp_src: a.key[(s << K.KEY_SHIFT) + K.K_TP_SRC], tp_dst: a.key[(s << K.KEY_SHIFT) + K.K_TP_DST] }, want, 'the UDP ports, not option bytes');
  t.equal(a.key[(s << K.KEY_SHIFT) + K.K_NW_PROTO], 17);
  a.release(s);
});

t.test('parseSlot: IPv6 addresses, label, extension headers, fragments, ND', async (t) => {
  const a = arena();
  const word = (s: number, w: number) => a.key[(s << K.KEY_SHIFT) + w];
  const parse = (f: Uint8Array) => {
    const s = a.allocFrom(f);
    a.key.fill(0xdeadbeef, s << K.KEY_SHIFT, (s + 1) << K.KEY_SHIFT);
    a.keyTail[s] = 1;
    t.equal(parseSlot(a, s, PORT), OK);
    return s;
  };
  // Addresses MSW first, label, traffic class as the whole TOS byte.
  let s = parse(eth6(ip6Packet({ src: 'fe80::f816:3eff:fe11:2233', dst: '2001:db8:1:2:3:4:5:6', proto: 17, l4: udp6('fe80::1', '::1', 1, 2), tclass: 0x2d, label: 0xabcde })));
  t.same([0, 1, 2, 3].map((i) => word(s, K.K_IPV6_SRC + i)), [0xfe800000, 0, 0xf8163eff, 0xfe112233]);
  t.same([0, 1, 2, 3].map((i) => word(s, K.K_IPV6_DST + i)), [0x20010db8, 0x00010002, 0x00030004, 0x00050006]);
  t.equal(word(s, K.K_IPV6_LABEL), 0xabcde);
  t.equal(word(s, K.K_NW_TOS), 0x2d);
  a.release(s);

  // Hop-by-hop, routing, destination options, AH: walked to the UDP header.
  const ah = Buffer.alloc(16); ah[1] = 2; // (2 + 2) * 4 = 16 bytes
  s = parse(udpVia([[0, extHdr(1)], [43, extHdr(2)], [51, ah], [60, extHdr(1)]]));
  t.equal(word(s, K.K_NW_PROTO), 17);
  t.equal(word(s, K.K_TP_SRC), 5000);
  t.equal(word(s, K.K_TP_DST), 53);
  t.equal(word(s, K.K_NW_FRAG), 0);
  t.equal(a.l4[s], 14 + 40 + 8 + 16 + 16 + 8);
  a.release(s);

  // First fragment: nw_frag=first, ports parsed. Later fragment: nw_frag=later, nw_proto 44 (OVS).
  s = parse(udpVia([[44, fragHdr(0, true)]]));
  t.same([word(s, K.K_NW_FRAG), word(s, K.K_NW_PROTO), word(s, K.K_TP_DST)], [K.NW_FRAG_ANY, 17, 53]);
  a.release(s);
  s = parse(udpVia([[0, extHdr(1)], [44, fragHdr(185, false)]]));
  t.same([word(s, K.K_NW_FRAG), word(s, K.K_NW_PROTO), word(s, K.K_TP_SRC), a.l4[s]], [K.NW_FRAG_ANY | K.NW_FRAG_LATER, 44, 0, 0]);
  a.release(s);
  // An atomic fragment header (offset 0, M clear) is not a fragment (OVS: ip6f_offlg == 0).
  s = parse(udpVia([[44, fragHdr(0, false)]]));
  t.same([word(s, K.K_NW_FRAG), word(s, K.K_NW_PROTO), word(s, K.K_TP_DST)], [0, 17, 53]);
  a.release(s);
  // Eight extension headers is the most walked.
  s = parse(udpVia(Array.from({ length: 8 }, () => [60, extHdr(1)] as [number, Buffer])));
  t.equal(word(s, K.K_TP_DST), 53);
  a.release(s);
  // ESP (50) ends the walk: nw_proto 50, no L4.
  s = parse(eth6(ip6Packet({ src: '::1', dst: '::2', proto: 50, l4: Buffer.alloc(16) })));
  t.same([word(s, K.K_NW_PROTO), a.l4[s]], [50, 0]);
  a.release(s);

  // NS with SLL: nd_target and nd_sll (in the ARP SHA words); NA with TLL: nd_tll (ARP THA).
  s = parse(ns([llaOpt(1, '52:54:00:12:34:56')]));
  t.same([0, 1, 2, 3].map((i) => word(s, K.K_ND_TARGET + i)), [0x20010db8, 0, 0, 2]);
  t.same([word(s, K.K_TP_SRC), word(s, K.K_TP_DST)], [135, 0]);
  t.same([word(s, K.K_ARP_SHA_HI), word(s, K.K_ARP_SHA_LO), word(s, K.K_ARP_THA_HI), word(s, K.K_ARP_THA_LO)], [0x5254, 0x00123456, 0, 0]);
  a.release(s);
  const na = ndFrame({ type: 136, smac: MAC_S, dmac: '52:54:00:ab:cd:ef', src: '2001:db8::2', dst: '2001:db8::1', target: 'fe80::f816:3eff:fe11:2233', opts: [Buffer.from([14, 1, 1, 2, 3, 4, 5, 6]), llaOpt(2, 'fa:16:3e:11:22:33')], flags: 0x60000000 });
  s = parse(na);
  t.same([0, 1, 2, 3].map((i) => word(s, K.K_ND_TARGET + i)), [0xfe800000, 0, 0xf8163eff, 0xfe112233]);
  t.same([word(s, K.K_ARP_SHA_HI), word(s, K.K_ARP_SHA_LO), word(s, K.K_ARP_THA_HI), word(s, K.K_ARP_THA_LO)], [0, 0, 0xfa16, 0x3e112233]);
  a.release(s);
  // No options, and trailing bytes shorter than an option: fine (OVS ignores them).
  s = parse(ns([Buffer.from([1, 1, 0, 0])]));
  t.same([word(s, K.K_ARP_SHA_HI), word(s, K.K_ARP_SHA_LO), word(s, K.K_ND_TARGET + 3)], [0, 0, 2]);
  a.release(s);
  // Not ND (router solicitation 133, or NS with code 1): no target, no link-layer words.
  s = parse(eth6(ip6Packet({ src: S6, dst: 'ff02::2', proto: 58, l4: icmp6(S6, 'ff02::2', 133, 0, Buffer.alloc(4), llaOpt(1, MAC_S)) })));
  t.same([word(s, K.K_TP_SRC), word(s, K.K_ARP_SHA_LO), word(s, K.K_ND_TARGET + 3)], [133, 0, 0]);
  a.release(s);
  const ns1 = Buffer.from(ns([llaOpt(1, MAC_S)]));
  ns1[14 + 40 + 1] = 1;
  s = parse(ns1);
  t.same([word(s, K.K_TP_DST), word(s, K.K_ARP_SHA_LO), word(s, K.K_ND_TARGET + 3)], [1, 0, 0]);
  a.release(s);
  t.equal(a.available, 16);
});

/** Frame bytes with a modification applied. */
function mod(fx: string, f: (b: Uint8Array) => void): Uint8Array {
  const b = hex(fx);
  f(b);
  return b;
}
const cut = (fx: string, n: number) => hex(fx).slice(0, n);

const bad: [string, Uint8Array, ParseDropReason][] = [
  ['empty frame', new Uint8Array(0), 'runt'],
  ['13-byte runt', cut(F.icmpEchoRequest, 13), 'runt'],
  ['802.1Q tag cut at 17 bytes', cut(F.vlanIcmp, 17), 'vlan_truncated'],
  ['802.1Q tag cut at 16 bytes', cut(F.vlanIcmp, 16), 'vlan_truncated'],
  ['QinQ inner tag cut at 21 bytes', cut(F.qinqUdp, 21), 'vlan_truncated'],
  ['IPv4 header cut at 19 bytes', cut(F.icmpEchoRequest, 14 + 19), 'ipv4_truncated'],
  ['IPv4 after tag cut', cut(F.vlanIcmp, 18 + 10), 'ipv4_truncated'],
  ['IPv4 version 6', mod(F.icmpEchoRequest, (b) => { b[14] = 0x65; }), 'ipv4_bad_version'],
  ['IPv4 IHL 4', mod(F.icmpEchoRequest, (b) => { b[14] = 0x44; }), 'ipv4_bad_ihl'],
  ['IPv4 IHL 15 past the end', mod(F.icmpEchoRequest, (b) => { b[14] = 0x4f; }).slice(0, 14 + 40), 'ipv4_bad_ihl'],
  ['IPv4 total length past the frame', mod(F.icmpEchoRequest, (b) => ip.setTotalLen(b, 14, 85)), 'ipv4_bad_length'],
  ['IPv4 frame cut by one byte', cut(F.icmpEchoRequest, 97), 'ipv4_bad_length'],
  ['IPv4 total length < IHL', mod(F.icmpEchoRequest, (b) => ip.setTotalLen(b, 14, 19)), 'ipv4_bad_length'],
  ['TCP header 19 bytes (IP length says so, padding follows)', mod(F.tcpAckPadded, (b) => ip.setTotalLen(b, 14, 39)), 'tcp_truncated'],
  ['TCP SYN frame cut inside options', mod(F.tcpSyn, (b) => ip.setTotalLen(b, 14, 50)).slice(0, 64), 'tcp_truncated'],
  ['TCP data offset 4', mod(F.tcpAckPadded, (b) => { b[34 + 12] = 0x40; }), 'tcp_truncated'],
  ['TCP data offset 0', mod(F.tcpAckPadded, (b) => { b[34 + 12] = 0x00; }), 'tcp_truncated'],
  ['TCP data offset 6 past the IP payload', mod(F.tcpAckPadded, (b) => { b[34 + 12] = 0x60; }), 'tcp_truncated'],
  ['UDP header 7 bytes', mod(F.udpDnsQuery, (b) => ip.setTotalLen(b, 14, 27)).slice(0, 14 + 27), 'udp_truncated'],
  ['UDP length past the IP payload', mod(F.udpDnsQuery, (b) => udp.setLength(b, 34, 49)), 'udp_truncated'],
  ['UDP length 7', mod(F.udpDnsQuery, (b) => udp.setLength(b, 34, 7)), 'udp_truncated'],
  ['UDP first fragment with length 7', mod(F.ipv4FirstFragment, (b) => udp.setLength(b, 34, 7)), 'udp_truncated'],
  ['UDP/IPv6 length past the payload', mod(F.udp6, (b) => udp.setLength(b, 54, 17)), 'udp_truncated'],
  ['UDP/IPv6 header cut', mod(F.udp6, (b) => { b[19] = 6; }).slice(0, 14 + 40 + 6), 'udp_truncated'],
  ['ICMP 3 bytes', mod(F.icmpEchoRequest, (b) => ip.setTotalLen(b, 14, 23)), 'icmp_truncated'],
  ['ICMP echo 7 bytes (no room for id/seq)', mod(F.icmpEchoRequest, (b) => ip.setTotalLen(b, 14, 27)), 'icmp_truncated'],
  ['ICMPv6 3 bytes', mod(F.icmpv6EchoRequest, (b) => { b[19] = 3; }).slice(0, 14 + 43), 'icmp_truncated'],
  ['ARP hlen 8', mod(F.arpRequest, (b) => { b[18] = 8; }), 'arp_malformed'],
  ['ARP ptype IPv6', mod(F.arpRequest, (b) => { b[16] = 0x86; b[17] = 0xdd; }), 'arp_malformed'],
  ['ARP cut at 27 bytes', cut(F.arpRequest, 14 + 27), 'arp_malformed'],
  ['IPv6 header cut at 39 bytes', cut(F.icmpv6EchoRequest, 14 + 39), 'ipv6_truncated'],
  ['IPv6 payload length past the end', cut(F.icmpv6EchoRequest, 117), 'ipv6_bad_length'],
  ['IPv6 hop-by-hop header cut at 7 bytes', eth6(ip6Packet({ src: '::1', dst: '::2', proto: 0, l4: Buffer.alloc(7) })), 'ipv6_ext_truncated'],
  ['IPv6 routing header longer than the payload', udpVia([[43, extHdr(1)]]).fill(200, 14 + 41, 14 + 42), 'ipv6_ext_truncated'],
  ['IPv6 fragment header cut', eth6(ip6Packet({ src: '::1', dst: '::2', proto: 44, l4: Buffer.alloc(6) })), 'ipv6_ext_truncated'],
  ['IPv6 AH header length past the end', udpVia([[51, Buffer.from([0, 40, 0, 0, 0, 0, 0, 0])]]), 'ipv6_ext_truncated'],
  ['nine IPv6 destination-options headers', udpVia(Array.from({ length: 9 }, () => [60, extHdr(1)] as [number, Buffer])), 'ipv6_ext_chain_too_long'],
  ['a chain of 200 hop-by-hop headers', eth6(ip6Packet({ src: '::1', dst: '::2', proto: 0, l4: Buffer.alloc(1600) })), 'ipv6_ext_chain_too_long'],
  ['UDP after extension headers cut', udpVia([[60, extHdr(1)]]).fill(12, 19, 20).subarray(0, 14 + 52), 'udp_truncated'],
  ['NS without its target (20 bytes)', ns([]).subarray(0, 14 + 40 + 20).fill(20, 19, 20), 'nd_truncated'],
  ['NS option of length 0', ns([Buffer.from([1, 0, 0, 0, 0, 0, 0, 0])]), 'nd_bad_option'],
  ['NS option past the end', ns([Buffer.from([1, 2, 0, 0, 0, 0, 0, 0])]), 'nd_bad_option'],
  ['NS with two source link-layer options', ns([llaOpt(1, MAC_S), llaOpt(1, '52:54:00:00:00:01')]), 'nd_bad_option'],
];

t.test('parseBatch: malformed frames are dropped, released and counted', async (t) => {
  const a = arena();
  const drops = new ParseDrops();
  for (const [name, frame, reason] of bad) {
    const b = new Batch(8);
    const g1 = a.allocFrom(hex(F.tcpSyn));
    const x = a.allocFrom(frame);
    const g2 = a.allocFrom(hex(F.udpDnsQuery));
    t.ok(x >= 0, `${name}: allocated`);
    b.push(g1); b.push(x); b.push(g2);
    const avail = a.available;
    const before = drops.get(reason);
    const total = drops.total();
    parseBatch(a, b, PORT, 1518, drops);
    t.equal(b.count, 2, `${name}: one frame dropped`);
    t.same([b.slots[0], b.slots[1]], [g1, g2], `${name}: the good frames stay, in order`);
    t.equal(a.available, avail + 1, `${name}: slot released`);
    t.equal(drops.get(reason), before + 1, `${name}: counted as ${reason}`);
    t.equal(drops.total(), total + 1, `${name}: counted once`);
    // The direct call reports the same reason id and leaves no offsets behind.
    const y = a.allocFrom(frame);
    t.equal(parseSlot(a, y, PORT), drops.id(reason), `${name}: parseSlot returns ${reason}`);
    t.equal(a.l4[y], 0);
    a.release(y);
    a.release(g1); a.release(g2);
  }
  t.equal(a.available, 16, 'no slot leaked');
  t.same(Object.keys(drops.toJSON()).sort(), [...new Set(bad.map((x) => x[2]))].sort());
  // Every reason but 'oversize' (tested below) has a case here.
  t.same(PARSE_DROP_REASONS.filter((r) => drops.get(r) === 0), ['oversize']);
});

t.test('parseBatch: IPv6 with a bad version is dropped', async (t) => {
  const a = arena();
  const drops = new ParseDrops();
  const b = new Batch();
  b.push(a.allocFrom(mod(F.icmpv6EchoRequest, (x) => { x[14] = 0x4b; })));
  parseBatch(a, b, PORT, 1518, drops);
  t.equal(b.count, 0);
  t.equal(a.available, 16);
  t.equal(drops.total(), 1);
  // There is no ipv6_bad_version reason; the parser counts it as truncated.
  t.equal(drops.get('ipv6_truncated'), 1);
});

t.test('parseBatch: padding, oversize, GSO', async (t) => {
  const a = arena();
  const drops = new ParseDrops();
  const b = new Batch();
  const pad = a.allocFrom(hex(F.tcpAckPadded));
  const arp = a.allocFrom(hex(F.arpReplyPadded));
  const big = a.allocFrom(hex(F.ipv4FirstFragment)); // 1514 bytes
  const gso = a.allocFrom(hex(F.ipv4FirstFragment));
  a.bytes[a.base(gso) + 1] = 1; // gso_type TCPV4: a super-frame may exceed the MTU
  const fits = a.allocFrom(hex(F.ipv4FirstFragment));
  for (const s of [pad, arp, big, gso]) b.push(s);
  parseBatch(a, b, PORT, 1500, drops);
  t.same(Array.from(b.slots.subarray(0, b.count)), [pad, arp, gso]);
  t.equal(drops.get('oversize'), 1);
  t.equal(drops.total(), 1);
  t.equal(drops.id('oversize'), D_OVERSIZE);
  t.equal(a.l4[pad], 34, 'Ethernet padding after a short IPv4 packet is fine');
  t.equal(a.key[(pad << K.KEY_SHIFT) + K.K_TP_DST], 80);
  b.clear();
  b.push(fits);
  parseBatch(a, b, PORT, 1514, drops);
  t.equal(b.count, 1, 'exactly maxFrame is not oversize');
  t.equal(drops.total(), 1);
  // An empty batch is fine.
  b.clear();
  parseBatch(a, b, PORT, 1514, drops);
  t.equal(b.count, 0);
});
