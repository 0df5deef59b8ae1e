/**
 * Tunnel encapsulation and decapsulation over an IPv4 underlay (VXLAN, GRE), in place in the
 * packet buffer: decap moves the frame start past the outer headers; encap writes them into the
 * headroom in front of the inner frame (no copy unless the headroom is too small).
 *
 *   VXLAN out: | IPv4 (20) | UDP (8) | VXLAN (8) | inner Ethernet frame ... |
 *   GRE out:   | IPv4 (20) | GRE (4, +4 with a key) | inner Ethernet frame ... |
 *
 * The outer IPv4 header is complete except for what the kernel fills for an IP_HDRINCL socket
 * (identification, and the header checksum, which it always recomputes); the source address
 * is local_ip or 0 (the kernel then picks the route's). The VXLAN UDP source port is a hash of
 * the inner flow in 32768..60999 (Linux's udp_flow_src_port range, so ECMP spreads flows), UDP
 * checksum 0 (allowed over IPv4, what Linux vxlan sends by default).
 *
 * Every check failure is a drop reason of TUNNEL_DROPS, counted by the caller's port.
 * No allocation: results come back in a preallocated record.
 */
import { PacketArena } from './arena';
import { defineDrops } from './drops';
import * as K from './flow-key';
import * as ip4 from '../wire/ipv4';
import * as udp from '../wire/udp';
import * as vxlan from '../wire/vxlan';
import * as gre from '../wire/gre';
import { ETH_P_IPV4, ETH_P_IPV6, HEADER_LEN as ETH_HEADER_LEN } from '../wire/ethernet';
import { get32, put32 } from '../wire/bytes';

export const TUNNEL_DROPS = defineDrops('tunnel', {
  outer_truncated: 'outer header cut short (fewer bytes than the VXLAN/GRE header announces)',
  outer_malformed: 'outer IPv4 header malformed (version, header length, total length)',
  vxlan_no_vni: 'VXLAN header with the I flag clear (no valid VNI)',
  gre_flags: 'GRE header with flags this switch does not take (routing, strict source route, recursion, reserved bits)',
  gre_version: 'GRE version other than 0',
  gre_protocol: 'GRE protocol other than 0x6558 (transparent Ethernet bridging)',
  gre_checksum: 'GRE checksum present and wrong',
  inner_runt: 'inner frame shorter than an Ethernet header (14 bytes)',
  unknown_key: 'a VNI/GRE key that no tunnel port for that remote accepts (a fixed key=N filters)',
  unknown_remote: 'outer source address that is no tunnel port\'s remote_ip',
  rx_backlog_full: 'frames for this tunnel port waiting to be processed reached their bound',
  tx_underlay_mtu: 'outer packet above the underlay route MTU (never fragmented)',
  tx_unreachable: 'no route to remote_ip (the kernel refused the send: ENETUNREACH/EHOSTUNREACH)',
  tx_no_headroom: 'no room in the packet buffer for the outer headers',
  tx_no_key: 'key=flow and the frame has no tun_id wider than the VNI allows',
});
export type TunnelDropReason = (typeof TUNNEL_DROPS.reasons)[number];
const D = TUNNEL_DROPS.id;

export type TunnelKind = 'vxlan' | 'gre';

/** Bytes the outer headers take in front of the inner frame. */
export const VXLAN_OVERHEAD = ip4.MIN_HEADER_LEN + udp.HEADER_LEN + vxlan.HEADER_LEN; // 36
export function greOverhead(keyed: boolean): number {
  return ip4.MIN_HEADER_LEN + gre.BASE_LEN + (keyed ? 4 : 0);
}

/** What decap found (preallocated, overwritten per call). */
export interface Decap {
  /** Inner frame (absolute offset, length). */
  start: number;
  len: number;
  /** VNI or GRE key (0 when the GRE header has none). */
  key: number;
  /** Outer source and destination IPv4 addresses. */
  src: number;
  dst: number;
}
export function newDecap(): Decap {
  return { start: 0, len: 0, key: 0, src: 0, dst: 0 };
}

/** Drop-reason id, or -1 when the frame is good. */
export const DECAP_OK = -1;

/** A VXLAN payload (UDP data) at b[p..p+len): header checked, inner frame found. */
export function decapVxlan(b: Uint8Array, p: number, len: number, out: Decap): number {
  const c = vxlan.check(b, p, len);
  if (c === vxlan.ERR_TRUNCATED) return D.outer_truncated;
  if (c === vxlan.ERR_NO_VNI) return D.vxlan_no_vni;
  if (len - vxlan.HEADER_LEN < ETH_HEADER_LEN) return D.inner_runt;
  out.key = vxlan.vni(b, p);
  out.start = p + vxlan.HEADER_LEN;
  out.len = len - vxlan.HEADER_LEN;
  return DECAP_OK;
}

const GRE_REASON = [DECAP_OK, D.outer_truncated, D.gre_flags, D.gre_version, D.gre_protocol, D.gre_checksum];

/** An IPv4 packet carrying GRE at b[p..p+len) (what a raw IPPROTO_GRE socket delivers). */
export function decapGre(b: Uint8Array, p: number, len: number, out: Decap): number {
  const ic = ip4.check(b, p, len);
  if (ic === ip4.ERR_TRUNCATED) return D.outer_truncated;
  if (ic !== ip4.OK) return D.outer_malformed;
  if (ip4.protocol(b, p) !== gre.IP_PROTO) return D.outer_malformed;
  const hl = ip4.headerLen(b, p);
  const total = ip4.totalLen(b, p);
  const g = p + hl;
  const gc = gre.check(b, g, total - hl);
  if (gc !== gre.OK) return GRE_REASON[gc];
  const glen = gre.headerLen(b, g);
  if (total - hl - glen < ETH_HEADER_LEN) return D.inner_runt;
  out.key = gre.key(b, g);
  out.src = get32(b, p + ip4.SRC);
  out.dst = get32(b, p + ip4.DST);
  out.start = g + glen;
  out.len = total - hl - glen;
  return DECAP_OK;
}

/** How a tunnel port builds its outer headers (fixed per port; the key may come per frame). */
export interface EncapParams {
  kind: TunnelKind;
  /** Network-order-as-number IPv4 addresses (a.b.c.d = a<<24|...); local 0 = the route's. */
  local: number;
  remote: number;
  /** Fixed VNI/key, or -1: take it from the frame's tun_id (key=flow). */
  key: number;
  /** GRE: send a key field (a key option was given). */
  greKeyed: boolean;
  dstPort: number;
  /** Outer TOS, or -1: inherit the inner IPv4/IPv6 TOS byte. */
  tos: number;
  /** Outer TTL, or -1: inherit the inner TTL (64 for non-IP frames). */
  ttl: number;
  df: boolean;
  /** Largest outer packet the route takes (its MTU). */
  mtu: number;
}

/** UDP source port for VXLAN from the inner flow (the parsed key words). */
export function flowSourcePort(keys: Uint32Array, k: number): number {
  let h = 0x9e3779b9 | 0;
  h = Math.imul(h ^ keys[k + K.K_DL_SRC_LO], 0x85ebca6b);
  h = Math.imul(h ^ keys[k + K.K_DL_DST_LO], 0xc2b2ae35);
  h = Math.imul(h ^ keys[k + K.K_NW_SRC], 0x85ebca6b);
  h = Math.imul(h ^ keys[k + K.K_NW_DST], 0xc2b2ae35);
  h = Math.imul(h ^ ((keys[k + K.K_TP_SRC] << 16) | keys[k + K.K_TP_DST]), 0x85ebca6b);
  h = Math.imul(h ^ keys[k + K.K_NW_PROTO] ^ keys[k + K.K_DL_TYPE], 0xc2b2ae35);
  h ^= h >>> 16;
  return 32768 + ((h >>> 0) % 28232);
}

/**
 * Wrap the frame in `slot` in its outer headers (start/len then cover the outer IPv4 packet).
 * Returns DECAP_OK or a drop reason id (the frame is left as it was).
 */
export function encap(a: PacketArena, slot: number, e: EncapParams): number {
  const keys = a.key;
  const k = slot << K.KEY_SHIFT;
  let keyValue = e.key;
  if (keyValue < 0) {
    if (keys[k + K.K_TUN_ID_HI] !== 0 || (e.kind === 'vxlan' && keys[k + K.K_TUN_ID_LO] > vxlan.MAX_VNI)) return D.tx_no_key;
    keyValue = keys[k + K.K_TUN_ID_LO];
  }
  const keyed = e.kind === 'gre' ? e.greKeyed || e.key < 0 : true;
  const over = e.kind === 'vxlan' ? VXLAN_OVERHEAD : greOverhead(keyed);
  const inner = a.len[slot];
  const total = inner + over;
  if (total > e.mtu) return D.tx_underlay_mtu;
  const room = a.headroomLeft(slot);
  if (room < over) {
    // Moved frames (several tag pushes) may have used the headroom: move the frame back.
    if (a.tailroomLeft(slot) < over - room) return D.tx_no_headroom;
    const s = a.start[slot];
    a.bytes.copyWithin(s + over - room, s, s + inner);
    a.start[slot] = s + over - room;
  }
  const b = a.bytes;
  const p = a.start[slot] - over;
  const dlType = keys[k + K.K_DL_TYPE];
  const isIp = dlType === ETH_P_IPV4 || dlType === ETH_P_IPV6;
  const tos = e.tos >= 0 ? e.tos : isIp ? keys[k + K.K_NW_TOS] : 0;
  const ttl = e.ttl >= 0 ? e.ttl : isIp && keys[k + K.K_NW_TTL] !== 0 ? keys[k + K.K_NW_TTL] : 64;
  b[p] = 0x45;
  b[p + 1] = tos;
  b[p + 2] = total >>> 8;
  b[p + 3] = total & 0xff;
  b[p + 4] = 0; // identification: the kernel picks it
  b[p + 5] = 0;
  b[p + 6] = e.df ? ip4.FLAG_DF >>> 8 : 0;
  b[p + 7] = 0;
  b[p + 8] = ttl;
  b[p + 9] = e.kind === 'vxlan' ? ip4.PROTO_UDP : gre.IP_PROTO;
  b[p + 10] = 0; // header checksum: the kernel computes it for IP_HDRINCL
  b[p + 11] = 0;
  put32(b, p + ip4.SRC, e.local);
  put32(b, p + ip4.DST, e.remote);
  const l4 = p + ip4.MIN_HEADER_LEN;
  if (e.kind === 'vxlan') {
    udp.setSrcPort(b, l4, flowSourcePort(keys, k));
    udp.setDstPort(b, l4, e.dstPort);
    udp.setLength(b, l4, total - ip4.MIN_HEADER_LEN);
    udp.setChecksumField(b, l4, 0);
    vxlan.write(b, l4 + udp.HEADER_LEN, keyValue);
  } else {
    gre.write(b, l4, keyed, keyValue >>> 0);
  }
  a.start[slot] = p;
  a.len[slot] = total;
  return DECAP_OK;
}

/** "10.234.0.1" → number (a<<24|b<<16|c<<8|d), or -1. */
export function parseIpv4(s: string): number {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(s);
  if (!m) return -1;
  const o = m.slice(1).map(Number);
  if (o.some((x) => x > 255)) return -1;
  return ((o[0] << 24) | (o[1] << 16) | (o[2] << 8) | o[3]) >>> 0;
}
export function formatIpv4(v: number): string {
  return `${v >>> 24}.${(v >>> 16) & 0xff}.${(v >>> 8) & 0xff}.${v & 0xff}`;
}
