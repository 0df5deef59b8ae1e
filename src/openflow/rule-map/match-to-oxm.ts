/**
 * The rule model's Match → OXM/NXM TLVs, for FLOW stats replies and FLOW_REMOVED. Fields go in
 * OVS's nx_put_raw order (conj_id, in_port, Ethernet, VLAN, L3/L4 under their prerequisites,
 * tunnel, registers, pkt_mark, conntrack, metadata) with OVS's widths and masks, so a flow
 * added with ovs-ofctl comes back in the bytes OVS sent and prints as OVS prints it.
 *
 * Nothing is dropped silently: every match bit a TLV expresses is recorded, and a match with
 * bits left over (a field with no OXM/NXM encoding, or one whose prerequisite the match lacks)
 * is an OfError BAD_MATCH/BAD_FIELD naming the key word, not a shorter match that would mean
 * a different flow to the controller.
 */
import * as K from '../../packet/flow-key';
import { MATCH_WORDS, Match } from '../../flow/match';
import { BAD_MATCH, OFPVID_PRESENT, port16to32 } from '../../wire/openflow/constants';
import { oxm, oxmByName, type Oxm } from '../../wire/openflow/oxm';
import { badMatch } from './errors';

const ETH_IP = 0x0800;
const ETH_ARP = 0x0806;
const ETH_RARP = 0x8035;
const ETH_IPV6 = 0x86dd;

/** TLVs being built and, per key word, the match bits they already express. */
class OxmBuilder {
  readonly out: Oxm[] = [];
  private readonly covered = new Array<number>(MATCH_WORDS).fill(0);

  constructor(private readonly m: Match) {}

  mask(word: number): number {
    return this.m.mask[word];
  }
  value(word: number): number {
    return this.m.value[word];
  }

  /** One TLV; `covers` lists the [word, bits] of the match it expresses. */
  put(tlv: Oxm, ...covers: [number, number][]): void {
    this.out.push(tlv);
    for (const [w, bits] of covers) this.covered[w] |= bits;
  }
  exact(name: string, v: number | bigint, ...covers: [number, number][]): void {
    this.put(oxm(name, v), ...covers);
  }

  /**
   * A field stored in `n` consecutive key words (most significant first): nothing when
   * wildcarded, no mask when the mask is `full` (default: the TLV's width), else a masked TLV
   * if the field may be masked (an unmaskable field with a partial mask stays unexpressed).
   */
  field(name: string, first: number, n = 1, full?: bigint): void {
    let v = 0n;
    let mk = 0n;
    for (let i = 0; i < n; i++) {
      v = (v << 32n) | BigInt(this.m.value[first + i]);
      mk = (mk << 32n) | BigInt(this.m.mask[first + i]);
    }
    if (mk === 0n) return;
    const info = oxmByName(name);
    const all = full ?? (1n << BigInt(info.bytes * 8)) - 1n;
    if (mk === all) this.out.push(oxm(name, v));
    else if (info.maskable) this.out.push(oxm(name, v, mk));
    else return;
    for (let i = 0; i < n; i++) this.covered[first + i] |= this.m.mask[first + i];
  }

  /** The TLVs, or BAD_MATCH/BAD_FIELD naming the first key word with bits no TLV expresses. */
  done(): Oxm[] {
    for (let w = 0; w < MATCH_WORDS; w++) {
      const left = (this.m.mask[w] & ~this.covered[w]) >>> 0;
      if (left !== 0) {
        throw badMatch(BAD_MATCH.BAD_FIELD, `match on ${K.KEY_WORD_NAMES[w]} (mask 0x${left.toString(16)}) has no OXM/NXM encoding (a field OpenFlow cannot carry, or one without its prerequisite)`);
      }
    }
    return this.out;
  }
}

function putVlan(b: OxmBuilder): void {
  const tv = b.value(K.K_VLAN_TCI);
  const tm = b.mask(K.K_VLAN_TCI);
  if (tm === 0) return;
  // OpenFlow 1.3 vlan_vid: 0 = no tag, OFPVID_PRESENT|vid, OFPVID_PRESENT/OFPVID_PRESENT = any tag;
  // vlan_pcp only beside a present tag. Other TCI masks need NXM's vlan_tci.
  const pcp = tm & 0xe000;
  const wholePcp = pcp === 0 || pcp === 0xe000;
  if (tm === 0xffff && tv === 0) b.exact('vlan_vid', 0, [K.K_VLAN_TCI, 0xffff]);
  else if ((tm & 0x1fff) === 0x1fff && wholePcp && tv & OFPVID_PRESENT) {
    b.exact('vlan_vid', tv & 0x1fff, [K.K_VLAN_TCI, 0x1fff]);
    if (pcp) b.exact('vlan_pcp', tv >> 13, [K.K_VLAN_TCI, 0xe000]);
  } else if ((tm & 0x1fff) === OFPVID_PRESENT && wholePcp && tv & OFPVID_PRESENT) {
    b.put(oxm('vlan_vid', OFPVID_PRESENT, OFPVID_PRESENT), [K.K_VLAN_TCI, OFPVID_PRESENT]);
    if (pcp) b.exact('vlan_pcp', tv >> 13, [K.K_VLAN_TCI, 0xe000]);
  } else b.field('vlan_tci', K.K_VLAN_TCI);
}

function putArp(b: OxmBuilder): void {
  if (b.mask(K.K_NW_PROTO)) b.exact('arp_op', b.value(K.K_NW_PROTO), [K.K_NW_PROTO, 0xff]);
  b.field('arp_spa', K.K_NW_SRC);
  b.field('arp_tpa', K.K_NW_DST);
  b.field('arp_sha', K.K_ARP_SHA_HI, 2);
  b.field('arp_tha', K.K_ARP_THA_HI, 2);
}

/** IP, in OVS's nxm_put_ip order: addresses, frag, dscp, ecn, ttl, label, proto, L4, ND. */
function putIp(b: OxmBuilder, dl: number, proto: number): void {
  if (dl === ETH_IPV6) {
    b.field('ipv6_src', K.K_IPV6_SRC, 4);
    b.field('ipv6_dst', K.K_IPV6_DST, 4);
  } else {
    b.field('ipv4_src', K.K_NW_SRC);
    b.field('ipv4_dst', K.K_NW_DST);
  }
  b.field('nw_frag', K.K_NW_FRAG, 1, 3n);
  const tos = b.mask(K.K_NW_TOS);
  if ((tos & 0xfc) === 0xfc) b.exact('ip_dscp', b.value(K.K_NW_TOS) >> 2, [K.K_NW_TOS, 0xfc]);
  if ((tos & 0x03) === 0x03) b.exact('ip_ecn', b.value(K.K_NW_TOS) & 3, [K.K_NW_TOS, 0x03]);
  if (b.mask(K.K_NW_TTL) === 0xff) b.exact('nw_ttl', b.value(K.K_NW_TTL), [K.K_NW_TTL, 0xff]);
  b.field('ipv6_label', K.K_IPV6_LABEL, 1, 0xfffffn);
  if (b.mask(K.K_NW_PROTO) === 0xff) b.exact('ip_proto', proto, [K.K_NW_PROTO, 0xff]);
  const l4 = proto === 6 ? 'tcp' : proto === 17 ? 'udp' : proto === 132 ? 'sctp' : proto === 1 && dl === ETH_IP ? 'icmp' : proto === 58 && dl === ETH_IPV6 ? 'icmpv6' : '';
  if (l4 === 'icmp' || l4 === 'icmpv6') {
    if (b.mask(K.K_TP_SRC) === 0xff) b.exact(`${l4}_type`, b.value(K.K_TP_SRC), [K.K_TP_SRC, 0xff]);
    if (b.mask(K.K_TP_DST) === 0xff) b.exact(`${l4}_code`, b.value(K.K_TP_DST), [K.K_TP_DST, 0xff]);
    if (l4 === 'icmpv6') {
      b.field('nd_target', K.K_ND_TARGET, 4);
      b.field('nd_sll', K.K_ARP_SHA_HI, 2);
      b.field('nd_tll', K.K_ARP_THA_HI, 2);
    }
  } else if (l4 !== '') {
    b.field(`${l4}_src`, K.K_TP_SRC);
    b.field(`${l4}_dst`, K.K_TP_DST);
  }
}

/** Connection tracking, as OVS nx_put_raw: ct_state always masked to its 8 flag bits. */
function putCt(b: OxmBuilder): void {
  b.field('ct_state', K.K_CT_STATE);
  b.field('ct_zone', K.K_CT_ZONE);
  b.field('ct_mark', K.K_CT_MARK);
  b.field('ct_label', K.K_CT_LABEL, 4);
  b.field('ct_nw_src', K.K_CT_NW_SRC);
  b.field('ct_nw_dst', K.K_CT_NW_DST);
  b.field('ct_nw_proto', K.K_CT_NW_PROTO);
  b.field('ct_tp_src', K.K_CT_TP_SRC);
  b.field('ct_tp_dst', K.K_CT_TP_DST);
}

/** Match → OXM fields in OVS's nx_put_raw order (prerequisites before the fields that need them). */
export function matchToOxm(m: Match): Oxm[] {
  const b = new OxmBuilder(m);
  b.field('conj_id', K.K_CONJ_ID);
  if (m.mask[K.K_IN_PORT] === 0xffff) b.exact('in_port', port16to32(m.value[K.K_IN_PORT]), [K.K_IN_PORT, 0xffff]);
  b.field('eth_src', K.K_DL_SRC_HI, 2);
  b.field('eth_dst', K.K_DL_DST_HI, 2);
  b.field('eth_type', K.K_DL_TYPE);
  putVlan(b);
  const dl = m.dlType;
  if (dl === ETH_ARP || dl === ETH_RARP) putArp(b);
  else if (dl === ETH_IP || dl === ETH_IPV6) putIp(b, dl, m.nwProto);
  b.field('tunnel_id', K.K_TUN_ID_HI, 2);
  b.field('tun_src', K.K_TUN_SRC);
  b.field('tun_dst', K.K_TUN_DST);
  for (let r = 0; r < 8; r++) b.field(`reg${r}`, K.K_REG0 + r);
  b.field('pkt_mark', K.K_PKT_MARK);
  putCt(b);
  b.field('metadata', K.K_METADATA_HI, 2);
  return b.done();
}
