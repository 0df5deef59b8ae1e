/**
 * Software segmentation (GSO) — the fallback for a GSO super-frame that must leave through a port
 * that cannot take the virtio-net header (`offloads=false`, unix-socket ports).
 *
 *   super-frame in slot S (vnet hdr: gso_type, gso_size = MSS)
 *   | eth [+tags] | IPv4/IPv6 | TCP/UDP | payload ..................................... |
 *                                      '-- mss --'-- mss --'-- ... --'-- rest --'
 *   segment k (new slot):  | same headers, fixed up | payload[k*mss, k*mss + mss) |
 *
 * What each segment gets, as Linux's tcp_gso_segment / __udp_gso_segment do:
 * - IPv4: total length, identification + k (the sender's ids are consecutive), header checksum;
 *   IPv6: payload length.
 * - TCP: sequence number + k*mss; FIN and PSH only on the last segment, CWR only on the first;
 *   a full checksum computed from scratch (pseudo-header + header + payload).
 * - UDP (VIRTIO_NET_HDR_GSO_UDP_L4, "USO"): each segment is a datagram with its own length
 *   and full checksum (0 computed is sent as 0xffff).
 * UFO (GSO_UDP, IP fragmentation) is not done: Linux stopped generating it in 4.14 and virtio
 * guests do not send it; such frames are counted as tx_gso_unsupported by the caller.
 *
 * The API is stateless and allocation-free so the switch can queue each segment as it is made
 * (a 64 KiB frame at MSS 1448 is 46 slots; making them all first could starve the arena):
 *
 *   const n = gso.segmentCount(a, s);            // 0 = cannot segment this frame
 *   for (let k = 0; k < n; k++) { const seg = gso.segment(a, s, k); ... }   // -1 = no buffer
 *   a.release(s);
 *
 * The headers are re-read for every segment (a few dozen loads): cheaper to reason about than
 * per-frame state, and negligible next to copying and checksumming a 1.4 KB payload.
 */
import { PacketArena } from './arena';
import * as vnet from './vnet';
import { GSO_TCPV4, GSO_TCPV6 } from './vnet';
import { sum16, pseudoSumV4, pseudoSumV6 } from '../wire/checksum';
import * as eth from '../wire/ethernet';
import * as vlan from '../wire/vlan';
import { get16 } from '../wire/bytes';
import * as ip4 from '../wire/ipv4';
import * as ip6 from '../wire/ipv6';
import * as tcp from '../wire/tcp';
import * as udp from '../wire/udp';

/** VIRTIO_NET_HDR_GSO_UDP_L4 (virtio 1.2 / Linux 5.18+): UDP segmentation, one datagram per MSS. */
export const GSO_UDP_L4 = 5;

const TCP_CWR = 0x80;
/** Fewer bytes than this per segment is a broken header, not a real MSS. */
const MIN_MSS = 8;

// Header layout of the frame being segmented, filled by `layout` (module scratch: no allocation).
let lIp = 0; // offset of the IP header from the frame start
let lV6 = false;
let lL4 = 0; // offset of the L4 header
let lHdr = 0; // bytes of headers (copied into every segment)
let lMss = 0;
let lUdp = false;
let lPayload = 0; // payload bytes after the headers

/**
 * Check the super-frame and find its headers. Returns the number of segments it becomes, or 0
 * when it is not something this module can segment (unknown GSO type, headers that do not match
 * the type, IPv6 extension headers, a zero MSS...).
 */
export function segmentCount(a: PacketArena, slot: number): number {
  return layout(a, slot) ? Math.ceil(lPayload / lMss) : 0;
}

function layout(a: PacketArena, slot: number): boolean {
  const u8 = a.bytes;
  const type = vnet.gsoType(a, slot);
  const mss = vnet.gsoSize(a, slot);
  if (mss < MIN_MSS) return false;
  const f = a.start[slot];
  const len = a.len[slot];
  // Ethernet, then any number of 802.1Q/802.1ad tags (a trunk egress carries one).
  if (len < eth.HEADER_LEN) return false;
  let tag = eth.ETHERTYPE; // where a tag's TPID, or the final EtherType, sits
  let et = eth.etherType(u8, f);
  while (et === eth.ETH_P_8021Q || et === eth.ETH_P_8021AD) {
    if (len < tag + vlan.TAG_LEN + 2) return false;
    et = get16(u8, f + tag + vlan.INNER_TYPE);
    tag += vlan.TAG_LEN;
  }
  let p = tag + 2; // the L3 header follows the EtherType
  let proto: number;
  if (et === eth.ETH_P_IPV4) {
    if (type !== GSO_TCPV4 && type !== GSO_UDP_L4) return false;
    if (ip4.check(u8, f + p, len - p) !== ip4.OK) return false;
    const ihl = (u8[f + p] & 0x0f) << 2;
    // A fragment cannot be segmented (and a GSO frame is never one).
    if ((((u8[f + p + 6] << 8) | u8[f + p + 7]) & (ip4.FLAG_MF | ip4.FRAG_OFFSET_MASK)) !== 0) return false;
    proto = u8[f + p + ip4.PROTOCOL];
    lV6 = false;
    lL4 = p + ihl;
  } else if (et === eth.ETH_P_IPV6) {
    if (type !== GSO_TCPV6 && type !== GSO_UDP_L4) return false;
    if (len < p + ip6.HEADER_LEN) return false;
    proto = u8[f + p + ip6.NEXT_HEADER]; // extension headers: not handled (proto mismatch below)
    lV6 = true;
    lL4 = p + ip6.HEADER_LEN;
  } else {
    return false;
  }
  lIp = p;
  if (type === GSO_UDP_L4) {
    if (proto !== ip4.PROTO_UDP) return false;
    lUdp = true;
    lHdr = lL4 + udp.HEADER_LEN;
  } else {
    if (proto !== ip4.PROTO_TCP) return false;
    if (len < lL4 + tcp.MIN_HEADER_LEN) return false;
    const thl = (u8[f + lL4 + tcp.DATA_OFFSET] >>> 4) << 2;
    if (thl < tcp.MIN_HEADER_LEN) return false;
    lUdp = false;
    lHdr = lL4 + thl;
  }
  if (len <= lHdr) return false;
  lPayload = len - lHdr;
  lMss = mss;
  return true;
}

/**
 * Build segment `k` (0-based) of the super-frame in `slot` in a new slot and return it, or -1
 * when the frame cannot be segmented or the arena is exhausted. The super-frame is not changed
 * (the caller releases it after the last segment). Segments carry no offload state (their vnet
 * header is zero) and full checksums.
 */
export function segment(a: PacketArena, slot: number, k: number): number {
  if (!layout(a, slot)) return -1;
  const off = k * lMss;
  if (k < 0 || off >= lPayload) return -1;
  const hdr = lHdr;
  const last = off + lMss >= lPayload;
  const plen = last ? lPayload - off : lMss;
  const d = a.alloc(hdr + plen); // a small slot for MTU-sized segments
  if (d < 0) return -1;
  const u8 = a.bytes;
  const src = a.start[slot];
  const dst = a.start[d];
  u8.copyWithin(dst, src, src + hdr);
  u8.copyWithin(dst + hdr, src + hdr + off, src + hdr + off + plen);
  const segLen = hdr + plen;
  a.len[d] = segLen;
  a.l3[d] = lIp;
  a.l4[d] = lL4;
  a.inPort[d] = a.inPort[slot];

  const ip = dst + lIp;
  const l4 = dst + lL4;
  const l4len = segLen - lL4;
  let s: number;
  const proto = lUdp ? ip4.PROTO_UDP : ip4.PROTO_TCP;
  if (lV6) {
    const pl = segLen - lIp - ip6.HEADER_LEN;
    u8[ip + ip6.PAYLOAD_LEN] = pl >>> 8;
    u8[ip + ip6.PAYLOAD_LEN + 1] = pl & 0xff;
    s = pseudoSumV6(u8, ip, proto, l4len);
  } else {
    const tl = segLen - lIp;
    u8[ip + ip4.TOTAL_LEN] = tl >>> 8;
    u8[ip + ip4.TOTAL_LEN + 1] = tl & 0xff;
    const id = (((u8[ip + ip4.IDENT] << 8) | u8[ip + ip4.IDENT + 1]) + k) & 0xffff;
    u8[ip + ip4.IDENT] = id >>> 8;
    u8[ip + ip4.IDENT + 1] = id & 0xff;
    const ihl = (u8[ip] & 0x0f) << 2;
    u8[ip + ip4.CHECKSUM] = 0;
    u8[ip + ip4.CHECKSUM + 1] = 0;
    const hc = ~sum16(u8, ip, ihl) & 0xffff;
    u8[ip + ip4.CHECKSUM] = hc >>> 8;
    u8[ip + ip4.CHECKSUM + 1] = hc & 0xff;
    s = pseudoSumV4(u8, ip, proto, l4len);
  }

  let cfield: number;
  if (lUdp) {
    u8[l4 + udp.LENGTH] = l4len >>> 8;
    u8[l4 + udp.LENGTH + 1] = l4len & 0xff;
    cfield = l4 + udp.CHECKSUM;
  } else {
    const seq = (((u8[l4 + tcp.SEQ] << 24) | (u8[l4 + tcp.SEQ + 1] << 16) | (u8[l4 + tcp.SEQ + 2] << 8) | u8[l4 + tcp.SEQ + 3]) + off) >>> 0;
    u8[l4 + tcp.SEQ] = seq >>> 24;
    u8[l4 + tcp.SEQ + 1] = (seq >>> 16) & 0xff;
    u8[l4 + tcp.SEQ + 2] = (seq >>> 8) & 0xff;
    u8[l4 + tcp.SEQ + 3] = seq & 0xff;
    let fl = u8[l4 + tcp.FLAGS];
    if (!last) fl &= ~(tcp.FIN | tcp.PSH);
    if (k !== 0) fl &= ~TCP_CWR;
    u8[l4 + tcp.FLAGS] = fl;
    cfield = l4 + tcp.CHECKSUM;
  }
  u8[cfield] = 0;
  u8[cfield + 1] = 0;
  let c = ~sum16(u8, l4, l4len, s) & 0xffff;
  if (c === 0 && lUdp) c = 0xffff;
  u8[cfield] = c >>> 8;
  u8[cfield + 1] = c & 0xff;
  return d;
}
