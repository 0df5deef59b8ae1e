/**
 * OXM TLVs and the OpenFlow 1.3 match structure (spec 7.2.3; NXM classes from OVS
 * `meta-flow.h`).
 *
 *   OXM TLV header (32 bits):
 *   +----------------------------+------------------+---+------------------+
 *   | oxm_class (16) (0-1)       | oxm_field (7)    |HM | oxm_length (8) (3)|
 *   +----------------------------+------------------+---+------------------+
 *   then oxm_length bytes: the value, followed by an equal-sized mask when HM is set.
 *
 *   ofp_match: type (2) = OFPMT_OXM, length (2, without padding), OXM TLVs, zero pad to 8.
 *
 * Decoding keeps each TLV generic (class, field, value bytes, mask bytes) so that decode →
 * encode is byte-identical; the meaning of a field is the flow layer's mapping. Known fields
 * are checked for their exact width here (OFPBMC_BAD_LEN), unknown ones are kept as they are.
 */
import { BAD_MATCH, ET, OFPMT_OXM } from './constants';
import { OfError, Reader, Writer } from './buffer';

export const OXM_CLASS_NXM0 = 0x0000;
export const OXM_CLASS_NXM1 = 0x0001;
export const OXM_CLASS_BASIC = 0x8000;
export const OXM_CLASS_EXPERIMENTER = 0xffff;

export interface Oxm {
  cls: number;
  field: number;
  /** Value bytes (for experimenter classes, including the 4-byte experimenter id). */
  value: Buffer;
  /** Mask bytes, or undefined when the TLV has no mask. */
  mask?: Buffer;
}

export interface OxmFieldInfo {
  cls: number;
  field: number;
  name: string;
  /** Width of the value in bytes. */
  bytes: number;
  maskable: boolean;
}

/** The fields tvs knows by (class, field). Names are OVS's (ovs-fields(7)). */
export const OXM_FIELDS: readonly OxmFieldInfo[] = [
  // OpenFlow basic (OXM_OF_*)
  { cls: OXM_CLASS_BASIC, field: 0, name: 'in_port', bytes: 4, maskable: false },
  { cls: OXM_CLASS_BASIC, field: 1, name: 'in_phy_port', bytes: 4, maskable: false },
  { cls: OXM_CLASS_BASIC, field: 2, name: 'metadata', bytes: 8, maskable: true },
  { cls: OXM_CLASS_BASIC, field: 3, name: 'eth_dst', bytes: 6, maskable: true },
  { cls: OXM_CLASS_BASIC, field: 4, name: 'eth_src', bytes: 6, maskable: true },
  { cls: OXM_CLASS_BASIC, field: 5, name: 'eth_type', bytes: 2, maskable: false },
  { cls: OXM_CLASS_BASIC, field: 6, name: 'vlan_vid', bytes: 2, maskable: true },
  { cls: OXM_CLASS_BASIC, field: 7, name: 'vlan_pcp', bytes: 1, maskable: false },
  { cls: OXM_CLASS_BASIC, field: 8, name: 'ip_dscp', bytes: 1, maskable: false },
  { cls: OXM_CLASS_BASIC, field: 9, name: 'ip_ecn', bytes: 1, maskable: false },
  { cls: OXM_CLASS_BASIC, field: 10, name: 'ip_proto', bytes: 1, maskable: false },
  { cls: OXM_CLASS_BASIC, field: 11, name: 'ipv4_src', bytes: 4, maskable: true },
  { cls: OXM_CLASS_BASIC, field: 12, name: 'ipv4_dst', bytes: 4, maskable: true },
  { cls: OXM_CLASS_BASIC, field: 13, name: 'tcp_src', bytes: 2, maskable: true },
  { cls: OXM_CLASS_BASIC, field: 14, name: 'tcp_dst', bytes: 2, maskable: true },
  { cls: OXM_CLASS_BASIC, field: 15, name: 'udp_src', bytes: 2, maskable: true },
  { cls: OXM_CLASS_BASIC, field: 16, name: 'udp_dst', bytes: 2, maskable: true },
  { cls: OXM_CLASS_BASIC, field: 17, name: 'sctp_src', bytes: 2, maskable: true },
  { cls: OXM_CLASS_BASIC, field: 18, name: 'sctp_dst', bytes: 2, maskable: true },
  { cls: OXM_CLASS_BASIC, field: 19, name: 'icmp_type', bytes: 1, maskable: false },
  { cls: OXM_CLASS_BASIC, field: 20, name: 'icmp_code', bytes: 1, maskable: false },
  { cls: OXM_CLASS_BASIC, field: 21, name: 'arp_op', bytes: 2, maskable: false },
  { cls: OXM_CLASS_BASIC, field: 22, name: 'arp_spa', bytes: 4, maskable: true },
  { cls: OXM_CLASS_BASIC, field: 23, name: 'arp_tpa', bytes: 4, maskable: true },
  { cls: OXM_CLASS_BASIC, field: 24, name: 'arp_sha', bytes: 6, maskable: true },
  { cls: OXM_CLASS_BASIC, field: 25, name: 'arp_tha', bytes: 6, maskable: true },
  { cls: OXM_CLASS_BASIC, field: 26, name: 'ipv6_src', bytes: 16, maskable: true },
  { cls: OXM_CLASS_BASIC, field: 27, name: 'ipv6_dst', bytes: 16, maskable: true },
  { cls: OXM_CLASS_BASIC, field: 28, name: 'ipv6_label', bytes: 4, maskable: true },
  { cls: OXM_CLASS_BASIC, field: 29, name: 'icmpv6_type', bytes: 1, maskable: false },
  { cls: OXM_CLASS_BASIC, field: 30, name: 'icmpv6_code', bytes: 1, maskable: false },
  { cls: OXM_CLASS_BASIC, field: 31, name: 'nd_target', bytes: 16, maskable: true },
  { cls: OXM_CLASS_BASIC, field: 32, name: 'nd_sll', bytes: 6, maskable: true },
  { cls: OXM_CLASS_BASIC, field: 33, name: 'nd_tll', bytes: 6, maskable: true },
  { cls: OXM_CLASS_BASIC, field: 34, name: 'mpls_label', bytes: 4, maskable: false },
  { cls: OXM_CLASS_BASIC, field: 35, name: 'mpls_tc', bytes: 1, maskable: false },
  { cls: OXM_CLASS_BASIC, field: 36, name: 'mpls_bos', bytes: 1, maskable: false },
  { cls: OXM_CLASS_BASIC, field: 37, name: 'pbb_isid', bytes: 3, maskable: true },
  { cls: OXM_CLASS_BASIC, field: 38, name: 'tunnel_id', bytes: 8, maskable: true },
  { cls: OXM_CLASS_BASIC, field: 39, name: 'ipv6_exthdr', bytes: 2, maskable: true },
  // Nicira NXM_OF_* (class 0): the OpenFlow 1.0 fields OVS still emits where OXM has no equal.
  { cls: OXM_CLASS_NXM0, field: 0, name: 'nxm_of_in_port', bytes: 2, maskable: false },
  { cls: OXM_CLASS_NXM0, field: 1, name: 'nxm_of_eth_dst', bytes: 6, maskable: true },
  { cls: OXM_CLASS_NXM0, field: 2, name: 'nxm_of_eth_src', bytes: 6, maskable: true },
  { cls: OXM_CLASS_NXM0, field: 3, name: 'nxm_of_eth_type', bytes: 2, maskable: false },
  { cls: OXM_CLASS_NXM0, field: 4, name: 'vlan_tci', bytes: 2, maskable: true },
  { cls: OXM_CLASS_NXM0, field: 5, name: 'nw_tos', bytes: 1, maskable: false },
  { cls: OXM_CLASS_NXM0, field: 6, name: 'nxm_of_ip_proto', bytes: 1, maskable: false },
  { cls: OXM_CLASS_NXM0, field: 7, name: 'nxm_of_ip_src', bytes: 4, maskable: true },
  { cls: OXM_CLASS_NXM0, field: 8, name: 'nxm_of_ip_dst', bytes: 4, maskable: true },
  { cls: OXM_CLASS_NXM0, field: 9, name: 'nxm_of_tcp_src', bytes: 2, maskable: true },
  { cls: OXM_CLASS_NXM0, field: 10, name: 'nxm_of_tcp_dst', bytes: 2, maskable: true },
  { cls: OXM_CLASS_NXM0, field: 11, name: 'nxm_of_udp_src', bytes: 2, maskable: true },
  { cls: OXM_CLASS_NXM0, field: 12, name: 'nxm_of_udp_dst', bytes: 2, maskable: true },
  { cls: OXM_CLASS_NXM0, field: 13, name: 'nxm_of_icmp_type', bytes: 1, maskable: false },
  { cls: OXM_CLASS_NXM0, field: 14, name: 'nxm_of_icmp_code', bytes: 1, maskable: false },
  { cls: OXM_CLASS_NXM0, field: 15, name: 'nxm_of_arp_op', bytes: 2, maskable: false },
  { cls: OXM_CLASS_NXM0, field: 16, name: 'nxm_of_arp_spa', bytes: 4, maskable: true },
  { cls: OXM_CLASS_NXM0, field: 17, name: 'nxm_of_arp_tpa', bytes: 4, maskable: true },
  // Nicira NXM_NX_* (class 1)
  { cls: OXM_CLASS_NXM1, field: 17, name: 'nxm_nx_arp_sha', bytes: 6, maskable: true },
  { cls: OXM_CLASS_NXM1, field: 18, name: 'nxm_nx_arp_tha', bytes: 6, maskable: true },
  { cls: OXM_CLASS_NXM1, field: 19, name: 'nxm_nx_ipv6_src', bytes: 16, maskable: true },
  { cls: OXM_CLASS_NXM1, field: 20, name: 'nxm_nx_ipv6_dst', bytes: 16, maskable: true },
  { cls: OXM_CLASS_NXM1, field: 21, name: 'nxm_nx_icmpv6_type', bytes: 1, maskable: false },
  { cls: OXM_CLASS_NXM1, field: 22, name: 'nxm_nx_icmpv6_code', bytes: 1, maskable: false },
  { cls: OXM_CLASS_NXM1, field: 23, name: 'nxm_nx_nd_target', bytes: 16, maskable: true },
  { cls: OXM_CLASS_NXM1, field: 24, name: 'nxm_nx_nd_sll', bytes: 6, maskable: true },
  { cls: OXM_CLASS_NXM1, field: 25, name: 'nxm_nx_nd_tll', bytes: 6, maskable: true },
  { cls: OXM_CLASS_NXM1, field: 26, name: 'nw_frag', bytes: 1, maskable: true },
  { cls: OXM_CLASS_NXM1, field: 27, name: 'nxm_nx_ipv6_label', bytes: 4, maskable: true },
  { cls: OXM_CLASS_NXM1, field: 28, name: 'nxm_nx_ip_ecn', bytes: 1, maskable: false },
  { cls: OXM_CLASS_NXM1, field: 29, name: 'nw_ttl', bytes: 1, maskable: false },
  { cls: OXM_CLASS_NXM1, field: 16, name: 'nxm_nx_tun_id', bytes: 8, maskable: true },
  { cls: OXM_CLASS_NXM1, field: 31, name: 'tun_src', bytes: 4, maskable: true },
  { cls: OXM_CLASS_NXM1, field: 32, name: 'tun_dst', bytes: 4, maskable: true },
  { cls: OXM_CLASS_NXM1, field: 33, name: 'pkt_mark', bytes: 4, maskable: true },
  { cls: OXM_CLASS_NXM1, field: 37, name: 'conj_id', bytes: 4, maskable: false },
  // Connection tracking (OVS meta-flow.h NXM_NX_CT_*): ct_state is 32 bits on the wire, of which
  // OVS defines the low 8 flags; the original-direction tuple since OVS 2.8.
  { cls: OXM_CLASS_NXM1, field: 105, name: 'ct_state', bytes: 4, maskable: true },
  { cls: OXM_CLASS_NXM1, field: 106, name: 'ct_zone', bytes: 2, maskable: false },
  { cls: OXM_CLASS_NXM1, field: 107, name: 'ct_mark', bytes: 4, maskable: true },
  { cls: OXM_CLASS_NXM1, field: 108, name: 'ct_label', bytes: 16, maskable: true },
  { cls: OXM_CLASS_NXM1, field: 119, name: 'ct_nw_proto', bytes: 1, maskable: false },
  { cls: OXM_CLASS_NXM1, field: 120, name: 'ct_nw_src', bytes: 4, maskable: true },
  { cls: OXM_CLASS_NXM1, field: 121, name: 'ct_nw_dst', bytes: 4, maskable: true },
  { cls: OXM_CLASS_NXM1, field: 122, name: 'ct_ipv6_src', bytes: 16, maskable: true },
  { cls: OXM_CLASS_NXM1, field: 123, name: 'ct_ipv6_dst', bytes: 16, maskable: true },
  { cls: OXM_CLASS_NXM1, field: 124, name: 'ct_tp_src', bytes: 2, maskable: true },
  { cls: OXM_CLASS_NXM1, field: 125, name: 'ct_tp_dst', bytes: 2, maskable: true },
];
const REGS: OxmFieldInfo[] = [];
for (let r = 0; r < 8; r++) REGS.push({ cls: OXM_CLASS_NXM1, field: r, name: `reg${r}`, bytes: 4, maskable: true });

const BY_ID = new Map<number, OxmFieldInfo>();
const BY_NAME = new Map<string, OxmFieldInfo>();
for (const f of [...OXM_FIELDS, ...REGS]) {
  BY_ID.set(f.cls * 128 + f.field, f);
  if (!BY_NAME.has(f.name)) BY_NAME.set(f.name, f);
}

export function oxmInfo(cls: number, field: number): OxmFieldInfo | undefined {
  return BY_ID.get(cls * 128 + field);
}
export function oxmByName(name: string): OxmFieldInfo {
  const f = BY_NAME.get(name);
  if (!f) throw new Error(`no OXM field named ${name}`);
  return f;
}

/** The 32-bit TLV header (NXM header) of a field, as reg_load/reg_move name their operands. */
export function oxmHeader(cls: number, field: number, hasMask: boolean, length: number): number {
  return ((cls << 16) | (field << 9) | (hasMask ? 0x100 : 0) | length) >>> 0;
}
export function headerClass(h: number): number {
  return h >>> 16;
}
export function headerField(h: number): number {
  return (h >>> 9) & 0x7f;
}

/** An OXM TLV by field name with a numeric or bigint value (and optional mask). */
export function oxm(name: string, value: number | bigint | Uint8Array, mask?: number | bigint | Uint8Array): Oxm {
  const f = oxmByName(name);
  const enc = (v: number | bigint | Uint8Array): Buffer => {
    if (v instanceof Uint8Array) return Buffer.from(v);
    const b = Buffer.alloc(f.bytes);
    let x = BigInt(v);
    for (let i = f.bytes - 1; i >= 0; i--) {
      b[i] = Number(x & 0xffn);
      x >>= 8n;
    }
    return b;
  };
  return { cls: f.cls, field: f.field, value: enc(value), mask: mask === undefined ? undefined : enc(mask) };
}

/** Big-endian bytes → bigint (values of any width). */
export function bytesToBig(b: Uint8Array): bigint {
  // Up to 6 bytes fit a double exactly: one BigInt conversion instead of one per byte.
  if (b.length <= 6) {
    let n = 0;
    for (let i = 0; i < b.length; i++) n = n * 256 + b[i];
    return BigInt(n);
  }
  let v = 0n;
  for (let i = 0; i < b.length; i++) v = (v << 8n) | BigInt(b[i]);
  return v;
}

/** Decode one OXM TLV. */
export function readOxm(r: Reader): Oxm {
  const h = r.u32();
  const cls = headerClass(h);
  const field = headerField(h);
  const hasMask = (h & 0x100) !== 0;
  const len = h & 0xff;
  if (len === 0 || r.left < len) throw new OfError(ET.BAD_MATCH, BAD_MATCH.BAD_LEN, `OXM ${cls.toString(16)}:${field}: length ${len} runs past the match`);
  if (hasMask && len % 2 !== 0) throw new OfError(ET.BAD_MATCH, BAD_MATCH.BAD_LEN, `OXM ${cls.toString(16)}:${field}: odd length ${len} with a mask`);
  const info = oxmInfo(cls, field);
  const vlen = hasMask ? len / 2 : len;
  if (info !== undefined && vlen !== info.bytes) {
    throw new OfError(ET.BAD_MATCH, BAD_MATCH.BAD_LEN, `OXM ${info.name}: ${vlen} bytes, expected ${info.bytes}`);
  }
  if (cls === OXM_CLASS_EXPERIMENTER && len < 4) throw new OfError(ET.BAD_MATCH, BAD_MATCH.BAD_LEN, 'experimenter OXM shorter than its experimenter id');
  const value = r.bytes(vlen, 'OXM value');
  const mask = hasMask ? r.bytes(vlen, 'OXM mask') : undefined;
  return { cls, field, value, mask };
}

export function writeOxm(w: Writer, o: Oxm): void {
  const len = o.value.length + (o.mask ? o.mask.length : 0);
  w.u32(oxmHeader(o.cls, o.field, o.mask !== undefined, len));
  w.bytes(o.value);
  if (o.mask) w.bytes(o.mask);
}

/** Decode an ofp_match (consumes its padding). */
export function readMatch(r: Reader): Oxm[] {
  const start = r.pos;
  const type = r.u16();
  const len = r.u16();
  if (type !== OFPMT_OXM) throw new OfError(ET.BAD_MATCH, BAD_MATCH.BAD_TYPE, `match type ${type} is not OXM (1)`);
  if (len < 4) throw new OfError(ET.BAD_MATCH, BAD_MATCH.BAD_LEN, `match length ${len} < 4`);
  const padded = (len + 7) & ~7;
  if (r.left < padded - 4) throw new OfError(ET.BAD_MATCH, BAD_MATCH.BAD_LEN, `match length ${len} runs past the message`);
  const body = r.sub(len - 4, 'match', ET.BAD_MATCH, BAD_MATCH.BAD_LEN);
  const out: Oxm[] = [];
  while (body.left > 0) {
    if (body.left < 4) throw new OfError(ET.BAD_MATCH, BAD_MATCH.BAD_LEN, 'match ends inside an OXM header');
    out.push(readOxm(body));
  }
  r.pos = start + padded;
  return out;
}

export function writeMatch(w: Writer, fields: readonly Oxm[]): void {
  const start = w.len;
  w.u16(OFPMT_OXM).u16(0);
  for (const f of fields) writeOxm(w, f);
  w.patch16(start + 2, w.len - start);
  w.pad8(start);
}
