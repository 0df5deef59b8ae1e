/**
 * Match fields as ovs-ofctl names them (ovs-fields(7)): name → flow-key word(s), value syntax,
 * maskability and prerequisite. Parsing a field writes value/mask bits into a Match; the
 * prerequisites are checked once the whole match is read (so `nw_src=..,ip` also works), and a
 * missing one is an ERROR here (OVS silently drops such a field, which hides typos of intent).
 *
 * Values follow OVS: numbers in decimal or 0x hex, `V/M` masks where OVS allows them, MACs as
 * aa:bb:cc:dd:ee:ff[/mask], IPv4 as a.b.c.d[/len|/mask], ports by number or name.
 */
import * as K from '../packet/flow-key';
import * as eth from '../wire/ethernet';
import * as ipv4 from '../wire/ipv4';
import * as ipv6 from '../wire/ipv6';
import * as vlan from '../wire/vlan';
import { Match } from './match';
import { OFPP_LOCAL, OFPP_MAX } from './ofport';

export const ETH_TYPE_IP = eth.ETH_P_IPV4;
export const ETH_TYPE_ARP = eth.ETH_P_ARP;
export const ETH_TYPE_RARP = 0x8035; // only named here: tvs never parses RARP
export const ETH_TYPE_IPV6 = eth.ETH_P_IPV6;
export const IPPROTO_ICMP = ipv4.PROTO_ICMP;
export const IPPROTO_TCP = ipv4.PROTO_TCP;
export const IPPROTO_UDP = ipv4.PROTO_UDP;
export const IPPROTO_SCTP = 132; // only named here: tvs never parses SCTP
export const IPPROTO_ICMPV6 = ipv4.PROTO_ICMPV6;

export const VLAN_CFI = vlan.TCI_PRESENT;
export const VLAN_VID_MASK = 0x0fff;
export const VLAN_PCP_MASK = 0xe000;
/** OpenFlow 1.0 "no VLAN" value for dl_vlan. */
export const OFP10_VLAN_NONE = 0xffff;

/** What the rest of the match must pin down for a field to make sense (OVS `enum mf_prereqs`). */
export type Prereq = 'none' | 'ip_arp' | 'ip_any' | 'ip_any_arp' | 'arp' | 'l4' | 'tcp' | 'udp' | 'icmp' | 'ct' | 'ct_ip' | 'ct_l4' | 'ipv6' | 'nd' | 'nd_solicit' | 'nd_advert';

/** ICMPv6 neighbour solicitation / advertisement types (the nd_* prerequisites). */
export const ND_NEIGHBOR_SOLICIT = 135;
export const ND_NEIGHBOR_ADVERT = 136;

export interface PortResolver {
  /** OpenFlow port number by name, or -1 when there is no such port. */
  resolvePort(name: string): number;
}

export interface MatchField {
  readonly name: string;
  readonly prereq: Prereq;
  /** Parse `text` and add its bits to `m`; throws Error(message) on a bad value. */
  apply(m: Match, text: string, ports: PortResolver): void;
}

// ---- value parsing (control plane; throws plain Errors that the parser decorates) ----

/** Unsigned integer in decimal or 0x hex, at most `bits` wide. */
export function parseUint(text: string, bits: number, what = 'value'): number {
  const t = text.trim();
  let v: number;
  if (/^0x[0-9a-f]+$/i.test(t)) v = parseInt(t.slice(2), 16);
  else if (/^[0-9]+$/.test(t)) v = Number(t);
  else throw new Error(`${what} '${text}' is not a number`);
  const max = bits >= 53 ? Number.MAX_SAFE_INTEGER : 2 ** bits - 1;
  if (!(v <= max)) throw new Error(`${what} '${text}' is out of range (max ${bits >= 32 ? '0x' + max.toString(16) : max})`);
  return v;
}

/** 64-bit unsigned as a BigInt (cookies, metadata). */
export function parseU64(text: string, what = 'value'): bigint {
  const t = text.trim();
  if (!/^(0x[0-9a-f]+|[0-9]+)$/i.test(t)) throw new Error(`${what} '${text}' is not a number`);
  const v = BigInt(t);
  if (v > 0xffffffffffffffffn) throw new Error(`${what} '${text}' is out of range (64 bits)`);
  return v;
}

/** Split `V/M`; mask defaults to all ones. */
function splitMask(text: string): [string, string | undefined] {
  const i = text.indexOf('/');
  return i < 0 ? [text, undefined] : [text.slice(0, i), text.slice(i + 1)];
}

export function parseMacText(text: string): number {
  const m = /^([0-9a-f]{1,2}):([0-9a-f]{1,2}):([0-9a-f]{1,2}):([0-9a-f]{1,2}):([0-9a-f]{1,2}):([0-9a-f]{1,2})$/i.exec(text.trim());
  if (!m) throw new Error(`'${text}' is not a MAC address (aa:bb:cc:dd:ee:ff)`);
  let v = 0;
  for (let i = 1; i <= 6; i++) v = v * 256 + parseInt(m[i], 16);
  return v;
}

export function parseIpText(text: string): number {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(text.trim());
  if (!m) throw new Error(`'${text}' is not an IPv4 address`);
  let v = 0;
  for (let i = 1; i <= 4; i++) {
    const o = Number(m[i]);
    if (o > 255) throw new Error(`'${text}' is not an IPv4 address (octet ${o} > 255)`);
    v = v * 256 + o;
  }
  return v >>> 0;
}

/** a.b.c.d, a.b.c.d/len or a.b.c.d/m.m.m.m → [value, mask]. */
export function parseIpMasked(text: string): [number, number] {
  const [a, ms] = splitMask(text);
  const addr = parseIpText(a);
  let mask = 0xffffffff;
  if (ms !== undefined) {
    if (/^\d{1,2}$/.test(ms)) {
      const len = Number(ms);
      if (len > 32) throw new Error(`prefix length ${len} in '${text}' is out of range (0..32)`);
      mask = len === 0 ? 0 : (0xffffffff << (32 - len)) >>> 0;
    } else {
      mask = parseIpText(ms);
    }
  }
  return [(addr & mask) >>> 0, mask >>> 0];
}

/** A 128-bit value as four 32-bit words, most significant first. */
export type Words4 = [number, number, number, number];

/** An IPv6 address (any text form) as a 128-bit BigInt (set_field values). */
export function parseAddr6Big(text: string): bigint {
  return ipv6.parseAddr6Words(text).reduce((acc, w) => (acc << 32n) | BigInt(w), 0n);
}

/** The /len mask of an IPv6 prefix as a 128-bit BigInt. */
export function ipv6PrefixBig(len: number): bigint {
  if (len > 128) throw new Error(`prefix length ${len} is out of range (0..128)`);
  return len === 0 ? 0n : ((1n << BigInt(len)) - 1n) << BigInt(128 - len);
}

/**
 * An IPv6 address in any text form, optionally /len (0..128) or /mask (an address) → [value,
 * mask] as four words each, value already masked.
 */
export function parseIpv6Masked(text: string): [Words4, Words4] {
  const [a, ms] = splitMask(text);
  const addr = ipv6.parseAddr6Words(a);
  let mask: Words4 = [0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff];
  if (ms !== undefined) {
    if (/^\d{1,3}$/.test(ms)) {
      const len = Number(ms);
      if (len > 128) throw new Error(`prefix length ${len} in '${text}' is out of range (0..128)`);
      mask = [0, 1, 2, 3].map((i) => {
        const bits = Math.min(32, Math.max(0, len - 32 * i));
        return bits === 0 ? 0 : (0xffffffff << (32 - bits)) >>> 0;
      }) as Words4;
    } else {
      mask = ipv6.parseAddr6Words(ms);
    }
  }
  return [addr.map((w, i) => (w & mask[i]) >>> 0) as Words4, mask];
}

/**
 * Port number (decimal/hex), reserved name (LOCAL) or port name (quoted or bare). `role` names
 * what the port is for in the error message ('input port', 'output port', ...).
 *
 * Port 0 is accepted, as OVS 3.1 does (`ovs-ofctl parse-flow 'in_port=0,actions=output:0'`
 * prints `in_port=0 actions=output:0`): no port is ever numbered 0, so in_port=0 matches
 * nothing and output:0 sends nothing (counted as unknown_port), but the flow installs.
 */
export function parsePort(text: string, ports: PortResolver, role = 'input port'): number {
  let t = text.trim();
  if (t.startsWith('"')) {
    try {
      t = JSON.parse(t) as string;
    } catch {
      throw new Error(`bad quoted port name ${text}`);
    }
    const p = ports.resolvePort(t);
    if (p < 0) throw new Error(`unknown port '${t}'`);
    return p;
  }
  if (/^(0x[0-9a-f]+|[0-9]+)$/i.test(t)) {
    const v = parseUint(t, 16, 'port');
    if (v >= OFPP_MAX && v !== OFPP_LOCAL) throw new Error(`port ${t} is not a valid ${role}`);
    return v;
  }
  if (t.toUpperCase() === 'LOCAL') return OFPP_LOCAL;
  const p = ports.resolvePort(t);
  if (p < 0) throw new Error(`unknown port '${t}'`);
  return p;
}

function setOrThrow(m: Match, word: number, value: number, mask: number, name: string): void {
  if (!m.set(word, value >>> 0, mask >>> 0)) throw new Error(`${name} conflicts with an earlier field of this match`);
}

/** Unsigned field in one word, optional `V/M`. */
function uintField(name: string, word: number, bits: number, prereq: Prereq, maskable: boolean): MatchField {
  const full = bits >= 32 ? 0xffffffff : 2 ** bits - 1;
  return {
    name,
    prereq,
    apply(m, text) {
      const [vs, ms] = splitMask(text);
      if (ms !== undefined && !maskable) throw new Error(`${name} does not take a mask`);
      const v = parseUint(vs, bits);
      const mask = ms === undefined ? full : parseUint(ms, bits, 'mask');
      setOrThrow(m, word, v & mask, mask, name);
    },
  };
}

/** 48-bit MAC over two words (high 16 in `hi`, low 32 in `hi + 1`). */
function macField(name: string, hi: number, prereq: Prereq): MatchField {
  return {
    name,
    prereq,
    apply(m, text) {
      const [vs, ms] = splitMask(text);
      const v = parseMacText(vs);
      const mask = ms === undefined ? 0xffffffffffff : parseMacText(ms);
      const mh = Math.floor(mask / 0x100000000);
      const ml = mask >>> 0;
      setOrThrow(m, hi, Math.floor(v / 0x100000000) & mh, mh, name);
      setOrThrow(m, hi + 1, (v >>> 0) & ml, ml, name);
    },
  };
}

function ipField(name: string, word: number, prereq: Prereq): MatchField {
  return {
    name,
    prereq,
    apply(m, text) {
      const [v, mask] = parseIpMasked(text);
      setOrThrow(m, word, v, mask, name);
    },
  };
}

/** 128-bit IPv6 address field over four words (ipv6_src, ipv6_dst, nd_target). */
function ipv6Field(name: string, word: number, prereq: Prereq): MatchField {
  return {
    name,
    prereq,
    apply(m, text) {
      const [v, mask] = parseIpv6Masked(text);
      for (let i = 0; i < 4; i++) setOrThrow(m, word + i, v[i], mask[i], name);
    },
  };
}

/** A bit-field inside one word: `ip_dscp` (value << shift under 0xfc), `nw_ecn` (0x03). */
function subWordField(name: string, word: number, shift: number, bits: number, prereq: Prereq): MatchField {
  const mask = ((2 ** bits - 1) << shift) >>> 0;
  return {
    name,
    prereq,
    apply(m, text) {
      if (text.includes('/')) throw new Error(`${name} does not take a mask`);
      const v = parseUint(text, bits);
      setOrThrow(m, word, v << shift, mask, name);
    },
  };
}

/** nw_frag names → [value, mask] over the NW_FRAG bits (OVS all_frags[], first match per name). */
const NW_FRAG_VALUES: Record<string, [number, number]> = {
  no: [0, K.NW_FRAG_ANY | K.NW_FRAG_LATER],
  first: [K.NW_FRAG_ANY, K.NW_FRAG_ANY | K.NW_FRAG_LATER],
  later: [K.NW_FRAG_ANY | K.NW_FRAG_LATER, K.NW_FRAG_ANY | K.NW_FRAG_LATER],
  yes: [K.NW_FRAG_ANY, K.NW_FRAG_ANY],
  not_later: [0, K.NW_FRAG_LATER],
};

/** 64-bit field over two words (metadata). */
function u64Field(name: string, hi: number): MatchField {
  return {
    name,
    prereq: 'none',
    apply(m, text) {
      const [vs, ms] = splitMask(text);
      const v = parseU64(vs);
      const mask = ms === undefined ? 0xffffffffffffffffn : parseU64(ms, 'mask');
      const mh = Number(mask >> 32n);
      const ml = Number(mask & 0xffffffffn);
      setOrThrow(m, hi, Number(v >> 32n) & mh, mh, name);
      setOrThrow(m, hi + 1, Number(v & 0xffffffffn) & ml, ml, name);
    },
  };
}

/** `ip`, `tcp`, ...: pin dl_type and maybe nw_proto. */
function shorthand(name: string, dlType: number, nwProto: number): MatchField {
  return {
    name,
    prereq: 'none',
    apply(m, text) {
      if (text !== '') throw new Error(`${name} takes no value`);
      setOrThrow(m, K.K_DL_TYPE, dlType, 0xffff, name);
      if (nwProto >= 0) setOrThrow(m, K.K_NW_PROTO, nwProto, 0xff, name);
    },
  };
}

// ---- connection tracking ----

/** OVS ct_state bits (ovs-fields(7)), in the order OVS prints them. */
export const CS_NEW = 0x01;
export const CS_ESTABLISHED = 0x02;
export const CS_RELATED = 0x04;
export const CS_REPLY_DIR = 0x08;
export const CS_INVALID = 0x10;
export const CS_TRACKED = 0x20;
export const CS_SRC_NAT = 0x40;
export const CS_DST_NAT = 0x80;
export const CT_STATE_NAMES: readonly string[] = ['new', 'est', 'rel', 'rpl', 'inv', 'trk', 'snat', 'dnat'];
/** Every ct_state bit OVS knows: an exact ct_state match has this mask. */
export const CT_STATE_ALL = 0xff;

/**
 * ct_state value/mask from OVS's three spellings: `+trk-inv` (each named flag set or clear,
 * the rest wildcarded), `new|trk` (exactly these flags), or a number `0x21[/0x21]`.
 */
export function parseCtState(text: string): [number, number] {
  const t = text.trim();
  const bit = (name: string): number => {
    const i = CT_STATE_NAMES.indexOf(name.toLowerCase());
    if (i < 0) throw new Error(`unknown ct_state flag '${name}' (flags: ${CT_STATE_NAMES.join(', ')})`);
    return 1 << i;
  };
  if (t.startsWith('+') || t.startsWith('-')) {
    let v = 0;
    let m = 0;
    const re = /([+-])([a-z]+)/gy;
    let at = 0;
    for (let x = re.exec(t); x !== null; x = re.exec(t)) {
      const b = bit(x[2]);
      if (m & b && ((v & b) !== 0) !== (x[1] === '+')) throw new Error(`ct_state flag '${x[2]}' is both set and cleared`);
      m |= b;
      if (x[1] === '+') v |= b;
      at = re.lastIndex;
    }
    if (at !== t.length) throw new Error(`'${t}' is not ct_state flags (e.g. +trk+est-rel)`);
    return [v, m];
  }
  if (/^(0x[0-9a-f]+|[0-9]+)(\/(0x[0-9a-f]+|[0-9]+))?$/i.test(t)) {
    const [vs, ms] = splitMask(t);
    const v = parseUint(vs, 32, 'ct_state');
    const m = ms === undefined ? CT_STATE_ALL : parseUint(ms, 32, 'ct_state mask');
    if ((v | m) & ~CT_STATE_ALL) throw new Error(`${t}: unknown ct_state flag(s) (known bits: 0x${CT_STATE_ALL.toString(16)})`);
    return [v & m, m];
  }
  let v = 0;
  for (const name of t.split('|')) v |= bit(name.trim());
  return [v, CT_STATE_ALL];
}

function ctStateField(): MatchField {
  return {
    name: 'ct_state',
    prereq: 'none',
    apply(m, text) {
      const [v, mask] = parseCtState(text);
      setOrThrow(m, K.K_CT_STATE, v, mask, 'ct_state');
    },
  };
}

/** 128-bit unsigned (ct_label) as a BigInt: decimal or 0x hex, as OVS reads it. */
export function parseU128(text: string, what = 'value'): bigint {
  const t = text.trim();
  if (!/^(0x[0-9a-f]+|[0-9]+)$/i.test(t)) throw new Error(`${what} '${text}' is not a number`);
  const v = BigInt(t);
  if (v >> 128n !== 0n) throw new Error(`${what} '${text}' is too large for the 128-bit ct_label`);
  return v;
}

function ctLabelField(): MatchField {
  return {
    name: 'ct_label',
    prereq: 'none',
    apply(m, text) {
      const [vs, ms] = splitMask(text);
      const mask = ms === undefined ? (1n << 128n) - 1n : parseU128(ms, 'mask');
      const v = parseU128(vs) & mask;
      // Most significant word first (flow-key.ts).
      for (let i = 0; i < 4; i++) {
        const sh = BigInt(96 - 32 * i);
        setOrThrow(m, K.K_CT_LABEL + i, Number((v >> sh) & 0xffffffffn), Number((mask >> sh) & 0xffffffffn), 'ct_label');
      }
    },
  };
}

const FIELDS: MatchField[] = [
  {
    name: 'in_port',
    prereq: 'none',
    apply(m, text, ports) {
      setOrThrow(m, K.K_IN_PORT, parsePort(text, ports), 0xffff, 'in_port');
    },
  },
  macField('dl_src', K.K_DL_SRC_HI, 'none'),
  macField('dl_dst', K.K_DL_DST_HI, 'none'),
  uintField('dl_type', K.K_DL_TYPE, 16, 'none', false),
  {
    // OVS match_set_dl_vlan: 0xffff = no tag (vlan_tci=0/0xffff), else VID with CFI.
    name: 'dl_vlan',
    prereq: 'none',
    apply(m, text) {
      const v = parseUint(text, 16);
      if (v === OFP10_VLAN_NONE) setOrThrow(m, K.K_VLAN_TCI, 0, 0xffff, 'dl_vlan');
      else if (v > VLAN_VID_MASK) throw new Error(`dl_vlan ${v} is out of range (0..4095, or 0xffff for no tag)`);
      else setOrThrow(m, K.K_VLAN_TCI, VLAN_CFI | v, VLAN_CFI | VLAN_VID_MASK, 'dl_vlan');
    },
  },
  {
    // OVS match_set_dl_vlan_pcp: implies a tag is present.
    name: 'dl_vlan_pcp',
    prereq: 'none',
    apply(m, text) {
      const v = parseUint(text, 3);
      setOrThrow(m, K.K_VLAN_TCI, VLAN_CFI | (v << 13), VLAN_CFI | VLAN_PCP_MASK, 'dl_vlan_pcp');
    },
  },
  uintField('vlan_tci', K.K_VLAN_TCI, 16, 'none', true),
  ipField('nw_src', K.K_NW_SRC, 'ip_arp'),
  ipField('nw_dst', K.K_NW_DST, 'ip_arp'),
  uintField('nw_proto', K.K_NW_PROTO, 8, 'ip_any_arp', false),
  {
    // nw_tos is the DSCP part of the TOS byte; OVS rejects values with ECN bits set.
    name: 'nw_tos',
    prereq: 'ip_any',
    apply(m, text) {
      const v = parseUint(text, 8);
      if (v & 3) throw new Error(`nw_tos ${v} has ECN bits set (must be a multiple of 4)`);
      setOrThrow(m, K.K_NW_TOS, v, 0xfc, 'nw_tos');
    },
  },
  uintField('nw_ttl', K.K_NW_TTL, 8, 'ip_any', false),
  uintField('tp_src', K.K_TP_SRC, 16, 'l4', true),
  uintField('tp_dst', K.K_TP_DST, 16, 'l4', true),
  uintField('tcp_src', K.K_TP_SRC, 16, 'tcp', true),
  uintField('tcp_dst', K.K_TP_DST, 16, 'tcp', true),
  uintField('udp_src', K.K_TP_SRC, 16, 'udp', true),
  uintField('udp_dst', K.K_TP_DST, 16, 'udp', true),
  uintField('icmp_type', K.K_TP_SRC, 8, 'icmp', false),
  uintField('icmp_code', K.K_TP_DST, 8, 'icmp', false),
  uintField('arp_op', K.K_NW_PROTO, 8, 'arp', false),
  ipField('arp_spa', K.K_NW_SRC, 'arp'),
  ipField('arp_tpa', K.K_NW_DST, 'arp'),
  macField('arp_sha', K.K_ARP_SHA_HI, 'arp'),
  macField('arp_tha', K.K_ARP_THA_HI, 'arp'),
  u64Field('metadata', K.K_METADATA_HI),
  // Tunnel metadata (OVS flow->tunnel): set by the tunnel port a frame arrived on, zero otherwise.
  u64Field('tun_id', K.K_TUN_ID_HI),
  ipField('tun_src', K.K_TUN_SRC, 'none'),
  ipField('tun_dst', K.K_TUN_DST, 'none'),
  // IPv6 (ovs-fields(7) "IPv6"), ND (nd_sll/nd_tll share the ARP SHA/THA words, as in OVS).
  ipv6Field('ipv6_src', K.K_IPV6_SRC, 'ipv6'),
  ipv6Field('ipv6_dst', K.K_IPV6_DST, 'ipv6'),
  uintField('ipv6_label', K.K_IPV6_LABEL, 20, 'ipv6', true),
  ipv6Field('nd_target', K.K_ND_TARGET, 'nd'),
  macField('nd_sll', K.K_ARP_SHA_HI, 'nd_solicit'),
  macField('nd_tll', K.K_ARP_THA_HI, 'nd_advert'),
  // The two halves of the TOS / traffic class byte (the key keeps it whole).
  subWordField('ip_dscp', K.K_NW_TOS, 2, 6, 'ip_any'),
  subWordField('nw_ecn', K.K_NW_TOS, 0, 2, 'ip_any'),
  {
    // OVS nw_frag / ip_frag (frag_handling): the key's NW_FRAG bits, ANY (1) and LATER (2).
    name: 'nw_frag',
    prereq: 'ip_any',
    apply(m, text) {
      const f = NW_FRAG_VALUES[text.trim()];
      if (f === undefined) throw new Error(`unknown fragment type '${text}' (valid types are no, yes, first, later, not_later)`);
      setOrThrow(m, K.K_NW_FRAG, f[0], f[1], 'nw_frag');
    },
  },
  // skb mark: zero on receive here (no kernel mark is read), written by set_field.
  uintField('pkt_mark', K.K_PKT_MARK, 32, 'none', true),
  shorthand('ip', ETH_TYPE_IP, -1),
  shorthand('arp', ETH_TYPE_ARP, -1),
  shorthand('rarp', ETH_TYPE_RARP, -1),
  shorthand('icmp', ETH_TYPE_IP, IPPROTO_ICMP),
  shorthand('tcp', ETH_TYPE_IP, IPPROTO_TCP),
  shorthand('udp', ETH_TYPE_IP, IPPROTO_UDP),
  shorthand('sctp', ETH_TYPE_IP, IPPROTO_SCTP),
  shorthand('ipv6', ETH_TYPE_IPV6, -1),
  shorthand('icmp6', ETH_TYPE_IPV6, IPPROTO_ICMPV6),
  shorthand('tcp6', ETH_TYPE_IPV6, IPPROTO_TCP),
  shorthand('udp6', ETH_TYPE_IPV6, IPPROTO_UDP),
];
for (let r = 0; r < 8; r++) FIELDS.push(uintField(`reg${r}`, K.K_REG0 + r, 32, 'none', true));
// Connection tracking results (ovs-fields(7) "Connection Tracking Fields"): what ct(table=T)
// leaves in the key. The original-direction tuple needs a tracked, valid connection (OVS's CT
// prerequisite: ct_state=+trk-inv), as OVS refuses it otherwise (OFPBMC_BAD_PREREQ).
FIELDS.push(
  ctStateField(),
  uintField('ct_zone', K.K_CT_ZONE, 16, 'none', false),
  uintField('ct_mark', K.K_CT_MARK, 32, 'none', true),
  ctLabelField(),
  ipField('ct_nw_src', K.K_CT_NW_SRC, 'ct_ip'),
  ipField('ct_nw_dst', K.K_CT_NW_DST, 'ct_ip'),
  uintField('ct_nw_proto', K.K_CT_NW_PROTO, 8, 'ct', false),
  uintField('ct_tp_src', K.K_CT_TP_SRC, 16, 'ct_l4', true),
  uintField('ct_tp_dst', K.K_CT_TP_DST, 16, 'ct_l4', true),
);
/**
 * OVS fields tvs knows and refuses, with the reason (a clear error instead of "unknown field").
 * ct_ipv6_src/dst (NXM_NX_CT_IPV6_SRC/DST): IPv6 connections are tracked, but their original
 * addresses would need 8 words of the flow key, which has 2 spare; a digest in ct_nw_src/dst
 * could not be matched exactly.
 */
const REFUSED_FIELDS: Record<string, string> = {
  ct_ipv6_src: 'not supported: the flow key has no room for a tracked connection\'s IPv6 addresses (ct_state, ct_zone, ct_mark, ct_label, ct_nw_proto and ct_tp_src/dst are matched for IPv6 connections)',
  ct_ipv6_dst: 'not supported: the flow key has no room for a tracked connection\'s IPv6 addresses (ct_state, ct_zone, ct_mark, ct_label, ct_nw_proto and ct_tp_src/dst are matched for IPv6 connections)',
};
/** Why tvs refuses the OVS field `name` (or its NXM spelling), or undefined when it does not. */
export function refusedField(name: string): string | undefined {
  const n = name.toLowerCase();
  const k = n === 'nxm_nx_ct_ipv6_src' ? 'ct_ipv6_src' : n === 'nxm_nx_ct_ipv6_dst' ? 'ct_ipv6_dst' : n;
  const why = REFUSED_FIELDS[k];
  return why === undefined ? undefined : `${name}: ${why}`;
}

// Not maskable, as in OVS ("invalid mask for field conj_id").
FIELDS.push(uintField('conj_id', K.K_CONJ_ID, 32, 'none', false));

/** OVS spellings that mean the same field. */
const ALIASES: Record<string, string> = {
  eth_src: 'dl_src',
  eth_dst: 'dl_dst',
  eth_type: 'dl_type',
  vlan_pcp: 'dl_vlan_pcp',
  ip_src: 'nw_src',
  ip_dst: 'nw_dst',
  ip_proto: 'nw_proto',
  nw_ttl: 'nw_ttl',
  icmpv6_type: 'icmp_type',
  icmpv6_code: 'icmp_code',
  tunnel_id: 'tun_id',
  ip_ecn: 'nw_ecn',
  ip_frag: 'nw_frag',
  ip6: 'ipv6',
  ipv4: 'ip',
  tcp4: 'tcp',
  udp4: 'udp',
};

const BY_NAME = new Map<string, MatchField>();
for (const f of FIELDS) BY_NAME.set(f.name, f);
for (const [a, n] of Object.entries(ALIASES)) BY_NAME.set(a, BY_NAME.get(n)!);

export function matchField(name: string): MatchField | undefined {
  return BY_NAME.get(name.toLowerCase());
}

export function matchFieldNames(): string[] {
  return [...BY_NAME.keys()];
}

/** Is `prereq` satisfied by what the finished match pins down? */
export function prereqOk(p: Prereq, m: Match): boolean {
  const t = m.dlType;
  const ip = t === ETH_TYPE_IP || t === ETH_TYPE_IPV6;
  const arp = t === ETH_TYPE_ARP || t === ETH_TYPE_RARP;
  const proto = m.nwProto;
  switch (p) {
    case 'none':
      return true;
    case 'ip_arp':
      return t === ETH_TYPE_IP || arp;
    case 'ip_any':
      return ip;
    case 'ip_any_arp':
      return ip || arp;
    case 'arp':
      return arp;
    case 'l4':
      return ip && (proto === IPPROTO_TCP || proto === IPPROTO_UDP || proto === IPPROTO_SCTP);
    case 'tcp':
      return ip && proto === IPPROTO_TCP;
    case 'udp':
      return ip && proto === IPPROTO_UDP;
    case 'icmp':
      return (t === ETH_TYPE_IP && proto === IPPROTO_ICMP) || (t === ETH_TYPE_IPV6 && proto === IPPROTO_ICMPV6);
    case 'ct':
      return ctValid(m);
    case 'ct_ip':
      return ctValid(m) && t === ETH_TYPE_IP;
    case 'ct_l4':
      return ctValid(m) && m.isFull(K.K_CT_NW_PROTO);
    case 'ipv6':
      return t === ETH_TYPE_IPV6;
    case 'nd':
    case 'nd_solicit':
    case 'nd_advert': {
      // OVS is_nd(): ICMPv6 with icmp_type 135/136 exactly and icmp_code 0 (or not matched).
      if (t !== ETH_TYPE_IPV6 || proto !== IPPROTO_ICMPV6 || (m.mask[K.K_TP_SRC] & 0xff) !== 0xff || m.value[K.K_TP_DST] !== 0) return false;
      const type = m.value[K.K_TP_SRC];
      if (p === 'nd_solicit') return type === ND_NEIGHBOR_SOLICIT;
      if (p === 'nd_advert') return type === ND_NEIGHBOR_ADVERT;
      return type === ND_NEIGHBOR_SOLICIT || type === ND_NEIGHBOR_ADVERT;
    }
  }
}

/**
 * OVS's CT prerequisite (is_ct_valid on a match): the match requires a state only a valid
 * connection has (+new, +est, +rel, +rpl, +snat or +dnat), or a tracked one that is not
 * invalid (ct_state=+trk-inv).
 */
function ctValid(m: Match): boolean {
  const v = m.value[K.K_CT_STATE];
  if (v & (CS_NEW | CS_ESTABLISHED | CS_RELATED | CS_REPLY_DIR | CS_SRC_NAT | CS_DST_NAT)) return true;
  return (v & CS_TRACKED) !== 0 && (m.mask[K.K_CT_STATE] & CS_INVALID) !== 0 && (v & CS_INVALID) === 0;
}

/** The error text for a missing prerequisite, with the shorthand that fixes it. */
export function prereqHint(p: Prereq): string {
  switch (p) {
    case 'ip_arp':
      return "requires ip or arp (add 'ip,')";
    case 'ip_any':
      return "requires ip or ipv6 (add 'ip,')";
    case 'ip_any_arp':
      return "requires ip, ipv6 or arp (add 'ip,')";
    case 'arp':
      return "requires arp (add 'arp,')";
    case 'l4':
      return "requires tcp, udp or sctp (add 'tcp,' or 'udp,')";
    case 'tcp':
      return "requires tcp (add 'tcp,')";
    case 'udp':
      return "requires udp (add 'udp,')";
    case 'icmp':
      return "requires icmp (add 'icmp,')";
    case 'ct':
      return "requires a tracked, valid connection (add 'ct_state=+trk-inv,')";
    case 'ct_ip':
      return "requires a tracked, valid IPv4 connection (add 'ct_state=+trk-inv,ip,')";
    case 'ct_l4':
      return "requires a tracked, valid connection and its protocol (add 'ct_state=+trk-inv,ct_nw_proto=6,')";
    case 'ipv6':
      return "requires ipv6 (add 'ipv6,')";
    case 'nd':
      return "requires an ND message (add 'icmp6,icmp_type=135,' or 'icmp6,icmp_type=136,')";
    case 'nd_solicit':
      return "requires a neighbour solicitation (add 'icmp6,icmp_type=135,')";
    case 'nd_advert':
      return "requires a neighbour advertisement (add 'icmp6,icmp_type=136,')";
    default:
      return '';
  }
}

/** Levenshtein distance, for "did you mean" hints. */
export function editDistance(a: string, b: string): number {
  const d: number[] = [];
  for (let j = 0; j <= b.length; j++) d[j] = j;
  for (let i = 1; i <= a.length; i++) {
    let prev = d[0];
    d[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const tmp = d[j];
      d[j] = Math.min(d[j] + 1, d[j - 1] + 1, prev + (a[i - 1] === b[j - 1] ? 0 : 1));
      prev = tmp;
    }
  }
  return d[b.length];
}

/** Closest name within distance 2, or undefined. */
export function suggest(name: string, names: readonly string[]): string | undefined {
  let best: string | undefined;
  let bd = 3;
  for (const n of names) {
    const dd = editDistance(name.toLowerCase(), n);
    if (dd < bd) {
      bd = dd;
      best = n;
    }
  }
  return best;
}
