/**
 * NXM/OXM headers ↔ the rule model's fields (NxmField): how reg_load, reg_move, learn and
 * set_field name the field they read or write.
 */
import { NXM_FIELDS, nxmField, type NxmField } from '../../flow/nxm';
import * as N from '../../flow/nxm';
import {
  headerClass,
  headerField,
  oxmHeader,
  oxmInfo,
  OXM_CLASS_BASIC,
  OXM_CLASS_NXM0,
  OXM_CLASS_NXM1,
} from '../../wire/openflow/oxm';

/** NxmField id → [class, field, bytes] of its NXM/OXM header (as OVS emits them). */
export const HEADER_OF: Record<number, [number, number, number]> = {
  [N.F_IN_PORT]: [OXM_CLASS_NXM0, 0, 2],
  [N.F_ETH_DST]: [OXM_CLASS_NXM0, 1, 6],
  [N.F_ETH_SRC]: [OXM_CLASS_NXM0, 2, 6],
  [N.F_ETH_TYPE]: [OXM_CLASS_NXM0, 3, 2],
  [N.F_VLAN_TCI]: [OXM_CLASS_NXM0, 4, 2],
  [N.F_IP_PROTO]: [OXM_CLASS_NXM0, 6, 1],
  [N.F_IP_SRC]: [OXM_CLASS_NXM0, 7, 4],
  [N.F_IP_DST]: [OXM_CLASS_NXM0, 8, 4],
  [N.F_TCP_SRC]: [OXM_CLASS_NXM0, 9, 2],
  [N.F_TCP_DST]: [OXM_CLASS_NXM0, 10, 2],
  [N.F_UDP_SRC]: [OXM_CLASS_NXM0, 11, 2],
  [N.F_UDP_DST]: [OXM_CLASS_NXM0, 12, 2],
  [N.F_ARP_OP]: [OXM_CLASS_NXM0, 15, 2],
  [N.F_ARP_SPA]: [OXM_CLASS_NXM0, 16, 4],
  [N.F_ARP_TPA]: [OXM_CLASS_NXM0, 17, 4],
  [N.F_ARP_SHA]: [OXM_CLASS_NXM1, 17, 6],
  [N.F_ARP_THA]: [OXM_CLASS_NXM1, 18, 6],
  [N.F_METADATA]: [OXM_CLASS_BASIC, 2, 8],
  [N.F_TUN_ID]: [OXM_CLASS_NXM1, 16, 8],
  [N.F_TUN_SRC]: [OXM_CLASS_NXM1, 31, 4],
  [N.F_TUN_DST]: [OXM_CLASS_NXM1, 32, 4],
  [N.F_IN_PORT_OXM]: [OXM_CLASS_BASIC, 0, 4],
  [N.F_VLAN_VID]: [OXM_CLASS_BASIC, 6, 2],
  [N.F_IPV6_SRC]: [OXM_CLASS_NXM1, 19, 16],
  [N.F_IPV6_DST]: [OXM_CLASS_NXM1, 20, 16],
  [N.F_IPV6_LABEL]: [OXM_CLASS_NXM1, 27, 4],
  [N.F_ND_TARGET]: [OXM_CLASS_NXM1, 23, 16],
  [N.F_ND_SLL]: [OXM_CLASS_NXM1, 24, 6],
  [N.F_ND_TLL]: [OXM_CLASS_NXM1, 25, 6],
  [N.F_IP_DSCP]: [OXM_CLASS_BASIC, 8, 1],
  [N.F_IP_ECN]: [OXM_CLASS_NXM1, 28, 1],
  [N.F_PKT_MARK]: [OXM_CLASS_NXM1, 33, 4],
  [N.F_IP_TTL]: [OXM_CLASS_NXM1, 29, 1],
  [N.F_CT_MARK]: [OXM_CLASS_NXM1, 107, 4],
  [N.F_CT_LABEL]: [OXM_CLASS_NXM1, 108, 16],
};
for (let r = 0; r < 8; r++) HEADER_OF[N.F_REG0 + r] = [OXM_CLASS_NXM1, r, 4];

/** OXM basic names whose meaning equals an NXM field of the rule model. */
export const BASIC_TO_NXM: Record<string, string> = {
  eth_dst: 'eth_dst',
  eth_src: 'eth_src',
  eth_type: 'eth_type',
  ip_proto: 'nw_proto',
  ipv4_src: 'ip_src',
  ipv4_dst: 'ip_dst',
  tcp_src: 'tcp_src',
  tcp_dst: 'tcp_dst',
  udp_src: 'udp_src',
  udp_dst: 'udp_dst',
  arp_op: 'arp_op',
  arp_spa: 'arp_spa',
  arp_tpa: 'arp_tpa',
  arp_sha: 'arp_sha',
  arp_tha: 'arp_tha',
  metadata: 'metadata',
  tunnel_id: 'tun_id',
  ipv6_src: 'ipv6_src',
  ipv6_dst: 'ipv6_dst',
  ipv6_label: 'ipv6_label',
  ip_ecn: 'nw_ecn',
  nd_target: 'nd_target',
  nd_sll: 'nd_sll',
  nd_tll: 'nd_tll',
};

/** The rule-model field a TLV header names (reg_load/reg_move operands), or undefined. */
export function fieldOfHeader(h: number): NxmField | undefined {
  const cls = headerClass(h);
  const fld = headerField(h);
  for (const [id, [c, f]] of Object.entries(HEADER_OF)) if (c === cls && f === fld) return NXM_FIELDS[Number(id)];
  const info = oxmInfo(cls, fld);
  if (info && cls === OXM_CLASS_BASIC && BASIC_TO_NXM[info.name]) return nxmField(BASIC_TO_NXM[info.name]);
  return undefined;
}

export function headerOfField(f: NxmField): number {
  const [c, fl, bytes] = HEADER_OF[f.id];
  return oxmHeader(c, fl, false, bytes);
}
