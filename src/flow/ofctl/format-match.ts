/**
 * A match as OVS 3.1's match_format() prints it: one fixed field order (see formatMatch),
 * whatever order the flow was written in, so a dump reads like `ovs-ofctl dump-flows`.
 */
import * as K from '../../packet/flow-key';
import { formatAddr6Words } from '../../wire/ipv6';
import type { Match } from '../match';
import { OFP_DEFAULT_PRIORITY } from '../table';
import * as F from '../fields';
import { be16Masked, formatPort, hashX, hex4, ipMasked, macStr, type PortNamer } from './format-values';

/** CIDR length of a 32-bit mask word, or -1 when its ones are not contiguous from the top. */
function cidrBits32(m: number): number {
  const inv = ~m >>> 0;
  if ((inv & (inv + 1)) !== 0) return -1;
  let len = 0;
  for (let x = m >>> 0; x !== 0; x = (x << 1) >>> 0) len++;
  return len;
}

/** OVS ipv6_format_masked over four key words at `w`: addr, addr/len (CIDR) or addr/mask; undefined when wildcarded. */
function ipv6Masked(m: Match, w: number): string | undefined {
  const v = m.value;
  const k = m.mask;
  if (!k[w] && !k[w + 1] && !k[w + 2] && !k[w + 3]) return undefined;
  const addr = formatAddr6Words(v[w], v[w + 1], v[w + 2], v[w + 3]);
  if (k[w] === 0xffffffff && k[w + 1] === 0xffffffff && k[w + 2] === 0xffffffff && k[w + 3] === 0xffffffff) return addr;
  let len = 0;
  let cidr = true;
  for (let i = 0; i < 4 && cidr; i++) {
    const b = cidrBits32(k[w + i]);
    if (b < 0 || (b > 0 && len !== 32 * i)) cidr = false;
    else len += b;
  }
  return cidr ? `${addr}/${len}` : `${addr}/${formatAddr6Words(k[w], k[w + 1], k[w + 2], k[w + 3])}`;
}

function macMasked(m: Match, hiWord: number): string | undefined {
  const mh = m.mask[hiWord];
  const ml = m.mask[hiWord + 1];
  if (mh === 0 && ml === 0) return undefined;
  const v = macStr(m.value[hiWord], m.value[hiWord + 1]);
  return mh === 0xffff && ml === 0xffffffff ? v : `${v}/${macStr(mh, ml)}`;
}

/** OVS format_frag_handling: the nw_frag name for a value/mask over the ANY|LATER bits. */
function nwFragText(v: number, m: number): string | undefined {
  const any = (v & K.NW_FRAG_ANY) !== 0;
  const later = (v & K.NW_FRAG_LATER) !== 0;
  switch (m & (K.NW_FRAG_ANY | K.NW_FRAG_LATER)) {
    case K.NW_FRAG_ANY | K.NW_FRAG_LATER:
      return any ? (later ? 'later' : 'first') : later ? '<error>' : 'no';
    case K.NW_FRAG_ANY:
      return any ? 'yes' : 'no';
    case K.NW_FRAG_LATER:
      return later ? 'later' : 'not_later';
    default:
      return undefined;
  }
}

/** OVS match_format(). */
export function formatMatch(m: Match, priority: number, names?: PortNamer): string {
  const out: string[] = [];
  if (priority !== OFP_DEFAULT_PRIORITY) out.push(`priority=${priority}`);
  const val = m.value;
  const msk = m.mask;
  // OVS match_format's order: pkt_mark, conj_id, the ct_* fields, the dl_type/nw_proto
  // shorthand, registers, tunnel metadata, metadata, in_port, then the packet's own headers
  // outward in. It is not the order of the flow's text: OVS prints every flow this one way.
  if (msk[K.K_PKT_MARK]) out.push(`pkt_mark=${hashX(val[K.K_PKT_MARK])}${msk[K.K_PKT_MARK] === 0xffffffff ? '' : '/' + hashX(msk[K.K_PKT_MARK])}`);
  if (msk[K.K_CONJ_ID]) out.push(`conj_id=${val[K.K_CONJ_ID]}`);
  formatCtMatch(m, out);

  const dlType = m.dlType;
  const protoExact = m.isFull(K.K_NW_PROTO);
  const proto = val[K.K_NW_PROTO];
  let skipType = false;
  let skipProto = false;
  if (dlType >= 0) {
    skipType = true;
    if (dlType === F.ETH_TYPE_IP || dlType === F.ETH_TYPE_IPV6) {
      const v6 = dlType === F.ETH_TYPE_IPV6;
      const names4: Record<number, string> = { 1: 'icmp', 6: 'tcp', 17: 'udp', 132: 'sctp' };
      const names6: Record<number, string> = { 58: 'icmp6', 6: 'tcp6', 17: 'udp6', 132: 'sctp6' };
      const sh = protoExact ? (v6 ? names6 : names4)[proto] : undefined;
      if (sh !== undefined) {
        out.push(sh);
        skipProto = true;
      } else out.push(v6 ? 'ipv6' : 'ip');
    } else if (dlType === F.ETH_TYPE_ARP) out.push('arp');
    else if (dlType === F.ETH_TYPE_RARP) out.push('rarp');
    else skipType = false;
  }

  for (let r = 0; r < 8; r++) {
    const mm = msk[K.K_REG0 + r];
    if (mm) out.push(`reg${r}=${hashX(val[K.K_REG0 + r])}${mm === 0xffffffff ? '' : '/' + hashX(mm)}`);
  }
  // Tunnel metadata (format_flow_tunnel).
  if (msk[K.K_TUN_ID_HI] || msk[K.K_TUN_ID_LO]) {
    const v = (BigInt(val[K.K_TUN_ID_HI]) << 32n) | BigInt(val[K.K_TUN_ID_LO]);
    const mm = (BigInt(msk[K.K_TUN_ID_HI]) << 32n) | BigInt(msk[K.K_TUN_ID_LO]);
    out.push(`tun_id=${hashX(v)}${mm === 0xffffffffffffffffn ? '' : '/' + hashX(mm)}`);
  }
  if (msk[K.K_TUN_SRC]) out.push(`tun_src=${ipMasked(val[K.K_TUN_SRC], msk[K.K_TUN_SRC])}`);
  if (msk[K.K_TUN_DST]) out.push(`tun_dst=${ipMasked(val[K.K_TUN_DST], msk[K.K_TUN_DST])}`);
  if (msk[K.K_METADATA_HI] || msk[K.K_METADATA_LO]) {
    const v = (BigInt(val[K.K_METADATA_HI]) << 32n) | BigInt(val[K.K_METADATA_LO]);
    const mm = (BigInt(msk[K.K_METADATA_HI]) << 32n) | BigInt(msk[K.K_METADATA_LO]);
    out.push(`metadata=${hashX(v)}${mm === 0xffffffffffffffffn ? '' : '/' + hashX(mm)}`);
  }
  if (msk[K.K_IN_PORT]) out.push(`in_port=${formatPort(val[K.K_IN_PORT], names)}`);

  const tm = msk[K.K_VLAN_TCI];
  if (tm) {
    const tv = val[K.K_VLAN_TCI];
    const vidMask = tm & F.VLAN_VID_MASK;
    const pcpMask = tm & F.VLAN_PCP_MASK;
    const cfi = tm & F.VLAN_CFI;
    if (
      cfi && tv & F.VLAN_CFI &&
      (!vidMask || vidMask === F.VLAN_VID_MASK) &&
      (!pcpMask || pcpMask === F.VLAN_PCP_MASK) &&
      (vidMask || pcpMask)
    ) {
      if (vidMask) out.push(`dl_vlan=${tv & F.VLAN_VID_MASK}`);
      if (pcpMask) out.push(`dl_vlan_pcp=${tv >>> 13}`);
    } else if (tm === 0xffff) out.push(`vlan_tci=${hex4(tv)}`);
    else out.push(`vlan_tci=${hex4(tv)}/${hex4(tm)}`);
  }
  const src = macMasked(m, K.K_DL_SRC_HI);
  if (src) out.push(`dl_src=${src}`);
  const dst = macMasked(m, K.K_DL_DST_HI);
  if (dst) out.push(`dl_dst=${dst}`);
  if (!skipType && dlType >= 0) out.push(`dl_type=${hex4(dlType)}`);

  const isArp = dlType === F.ETH_TYPE_ARP || dlType === F.ETH_TYPE_RARP;
  if (dlType === F.ETH_TYPE_IPV6) {
    const s6 = ipv6Masked(m, K.K_IPV6_SRC);
    if (s6) out.push(`ipv6_src=${s6}`);
    const d6 = ipv6Masked(m, K.K_IPV6_DST);
    if (d6) out.push(`ipv6_dst=${d6}`);
    const lm = msk[K.K_IPV6_LABEL];
    const hex5 = (x: number): string => '0x' + x.toString(16).padStart(5, '0');
    if (lm) out.push(`ipv6_label=${hex5(val[K.K_IPV6_LABEL])}${lm === 0xfffff ? '' : '/' + hex5(lm)}`);
  }
  if (msk[K.K_NW_SRC]) out.push(`${isArp ? 'arp_spa' : 'nw_src'}=${ipMasked(val[K.K_NW_SRC], msk[K.K_NW_SRC])}`);
  if (msk[K.K_NW_DST]) out.push(`${isArp ? 'arp_tpa' : 'nw_dst'}=${ipMasked(val[K.K_NW_DST], msk[K.K_NW_DST])}`);
  if (!skipProto && msk[K.K_NW_PROTO]) out.push(`${isArp ? 'arp_op' : 'nw_proto'}=${proto}`);
  if (isArp) {
    const sha = macMasked(m, K.K_ARP_SHA_HI);
    if (sha) out.push(`arp_sha=${sha}`);
    const tha = macMasked(m, K.K_ARP_THA_HI);
    if (tha) out.push(`arp_tha=${tha}`);
  }
  if (msk[K.K_NW_TOS] & 0xfc) out.push(`nw_tos=${val[K.K_NW_TOS] & 0xfc}`);
  if (msk[K.K_NW_TOS] & 0x03) out.push(`nw_ecn=${val[K.K_NW_TOS] & 0x03}`);
  if (msk[K.K_NW_TTL]) out.push(`nw_ttl=${val[K.K_NW_TTL]}`);
  const fragText = nwFragText(val[K.K_NW_FRAG], msk[K.K_NW_FRAG]);
  if (fragText) out.push(`nw_frag=${fragText}`);
  const isIcmp = protoExact && (proto === 1 || proto === 58) && (dlType === F.ETH_TYPE_IP || dlType === F.ETH_TYPE_IPV6);
  if (msk[K.K_TP_SRC]) out.push(`${isIcmp ? 'icmp_type' : 'tp_src'}=${isIcmp ? val[K.K_TP_SRC] : be16Masked(val[K.K_TP_SRC], msk[K.K_TP_SRC])}`);
  if (msk[K.K_TP_DST]) out.push(`${isIcmp ? 'icmp_code' : 'tp_dst'}=${isIcmp ? val[K.K_TP_DST] : be16Masked(val[K.K_TP_DST], msk[K.K_TP_DST])}`);
  if (dlType === F.ETH_TYPE_IPV6) {
    // ND fields after icmp_type/code (OVS match_format, is_nd()); nd_sll/nd_tll are the ARP SHA/THA words.
    const tgt = ipv6Masked(m, K.K_ND_TARGET);
    if (tgt) out.push(`nd_target=${tgt}`);
    const sll = macMasked(m, K.K_ARP_SHA_HI);
    if (sll) out.push(`nd_sll=${sll}`);
    const tll = macMasked(m, K.K_ARP_THA_HI);
    if (tll) out.push(`nd_tll=${tll}`);
  }
  return out.join(',');
}

/** OVS ct_state: `new|trk` when every flag is matched, else `+new-inv+trk` (bit order). */
export function formatCtState(v: number, mask: number): string {
  const names = F.CT_STATE_NAMES;
  if (mask === F.CT_STATE_ALL) {
    if (v === 0) return '0';
    return names.filter((_, i) => v & (1 << i)).join('|');
  }
  let s = '';
  for (let i = 0; i < names.length; i++) if (mask & (1 << i)) s += `${v & (1 << i) ? '+' : '-'}${names[i]}`;
  return s;
}

/** OVS ds_put_hex of a 128-bit value: 0x without leading zeros, "0" for zero. */
function hex128(words: readonly number[], at: number): string {
  let v = 0n;
  for (let i = 0; i < 4; i++) v = (v << 32n) | BigInt(words[at + i] >>> 0);
  return v === 0n ? '0' : '0x' + v.toString(16);
}

/** The connection-tracking fields, in OVS match_format's order (after conj_id, before the shorthand). */
function formatCtMatch(m: Match, out: string[]): void {
  const val = m.value;
  const msk = m.mask;
  if (msk[K.K_CT_STATE]) out.push(`ct_state=${formatCtState(val[K.K_CT_STATE], msk[K.K_CT_STATE])}`);
  if (msk[K.K_CT_ZONE]) out.push(`ct_zone=${val[K.K_CT_ZONE]}`);
  const mm = msk[K.K_CT_MARK];
  if (mm) out.push(`ct_mark=${hashX(val[K.K_CT_MARK])}${mm === 0xffffffff ? '' : '/' + hashX(mm)}`);
  const L = K.K_CT_LABEL;
  if (msk[L] || msk[L + 1] || msk[L + 2] || msk[L + 3]) {
    const full = msk[L] === 0xffffffff && msk[L + 1] === 0xffffffff && msk[L + 2] === 0xffffffff && msk[L + 3] === 0xffffffff;
    out.push(`ct_label=${hex128(val, L)}${full ? '' : '/' + hex128(msk, L)}`);
  }
  if (msk[K.K_CT_NW_SRC]) out.push(`ct_nw_src=${ipMasked(val[K.K_CT_NW_SRC], msk[K.K_CT_NW_SRC])}`);
  if (msk[K.K_CT_NW_DST]) out.push(`ct_nw_dst=${ipMasked(val[K.K_CT_NW_DST], msk[K.K_CT_NW_DST])}`);
  if (msk[K.K_CT_NW_PROTO]) {
    out.push(`ct_nw_proto=${val[K.K_CT_NW_PROTO]}`);
    if (msk[K.K_CT_TP_SRC]) out.push(`ct_tp_src=${be16Masked(val[K.K_CT_TP_SRC], msk[K.K_CT_TP_SRC])}`);
    if (msk[K.K_CT_TP_DST]) out.push(`ct_tp_dst=${be16Masked(val[K.K_CT_TP_DST], msk[K.K_CT_TP_DST])}`);
  }
}
