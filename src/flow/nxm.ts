/**
 * The fields that load/move/set_field can read or write, by their NXM/OXM names (as OVS's
 * `mf_format_subfield` prints them) and the short names ovs-fields(7) also accepts.
 * `id` is what a compiled plan carries; execute.ts reads/writes by id with a switch.
 */
import type { Prereq } from './fields';

export const F_IN_PORT = 0;
export const F_ETH_DST = 1;
export const F_ETH_SRC = 2;
export const F_ETH_TYPE = 3;
export const F_VLAN_TCI = 4;
export const F_IP_SRC = 5;
export const F_IP_DST = 6;
export const F_IP_PROTO = 7;
export const F_TCP_SRC = 8;
export const F_TCP_DST = 9;
export const F_UDP_SRC = 10;
export const F_UDP_DST = 11;
export const F_ARP_OP = 12;
export const F_ARP_SPA = 13;
export const F_ARP_TPA = 14;
export const F_ARP_SHA = 15;
export const F_ARP_THA = 16;
export const F_METADATA = 17;
export const F_REG0 = 18; // ..F_REG0 + 7
/** Tunnel metadata (flow-key K_TUN_*): what a tunnel port received with / sends with. */
export const F_TUN_ID = 26;
export const F_TUN_SRC = 27;
export const F_TUN_DST = 28;
/** OXM_OF_IN_PORT: the same in_port word as NXM_OF_IN_PORT, 32 bits wide (OpenFlow 1.1+ ports). */
export const F_IN_PORT_OXM = 29;
/** OXM_OF_VLAN_VID: the 12-bit VID of the outer tag (writing it needs a tag: see ofctl/subfields checkDstWritable). */
export const F_VLAN_VID = 30;
/** IPv6 addresses and the ND target: 128 bits, written by set_field/load only (never moved). */
export const F_IPV6_SRC = 31;
export const F_IPV6_DST = 32;
export const F_IPV6_LABEL = 33;
export const F_ND_TARGET = 34;
export const F_ND_SLL = 35;
export const F_ND_TLL = 36;
/** OXM_OF_IP_DSCP: the DSCP as a 6-bit number (OVS "ip_dscp"; nw_tos is it shifted left by 2). */
export const F_IP_DSCP = 37;
export const F_IP_ECN = 38;
export const F_PKT_MARK = 39;
/** Conntrack mark and label: written only inside ct(commit,exec(...)), read by move. */
export const F_CT_MARK = 40;
export const F_CT_LABEL = 41;
/** NXM_NX_IP_TTL: the IPv4 TTL / IPv6 hop limit (mod_nw_ttl). */
export const F_IP_TTL = 42;

export interface NxmField {
  readonly id: number;
  /** Canonical name printed in load/move (NXM_OF_ETH_SRC, OXM_OF_METADATA, NXM_NX_REG0). */
  readonly nxm: string;
  /** Name used by set_field (OVS `mf_field.name`). */
  readonly name: string;
  readonly bits: number;
  readonly writable: boolean;
  readonly prereq: Prereq;
  /** How set_field values print (OVS `mf_format`). */
  readonly style: 'dec' | 'hex' | 'mac' | 'ip' | 'ipv6';
  /** A conntrack field: set only inside ct(commit,exec(...)), as OVS requires. */
  readonly ctOnly?: boolean;
}

const LIST: NxmField[] = [
  { id: F_IN_PORT, nxm: 'NXM_OF_IN_PORT', name: 'in_port', bits: 16, writable: true, prereq: 'none', style: 'dec' },
  { id: F_ETH_DST, nxm: 'NXM_OF_ETH_DST', name: 'eth_dst', bits: 48, writable: true, prereq: 'none', style: 'mac' },
  { id: F_ETH_SRC, nxm: 'NXM_OF_ETH_SRC', name: 'eth_src', bits: 48, writable: true, prereq: 'none', style: 'mac' },
  { id: F_ETH_TYPE, nxm: 'NXM_OF_ETH_TYPE', name: 'eth_type', bits: 16, writable: false, prereq: 'none', style: 'hex' },
  { id: F_VLAN_TCI, nxm: 'NXM_OF_VLAN_TCI', name: 'vlan_tci', bits: 16, writable: true, prereq: 'none', style: 'hex' },
  { id: F_IP_SRC, nxm: 'NXM_OF_IP_SRC', name: 'ip_src', bits: 32, writable: true, prereq: 'ip_any', style: 'ip' },
  { id: F_IP_DST, nxm: 'NXM_OF_IP_DST', name: 'ip_dst', bits: 32, writable: true, prereq: 'ip_any', style: 'ip' },
  { id: F_IP_PROTO, nxm: 'NXM_OF_IP_PROTO', name: 'nw_proto', bits: 8, writable: false, prereq: 'ip_any', style: 'dec' },
  { id: F_TCP_SRC, nxm: 'NXM_OF_TCP_SRC', name: 'tcp_src', bits: 16, writable: true, prereq: 'tcp', style: 'dec' },
  { id: F_TCP_DST, nxm: 'NXM_OF_TCP_DST', name: 'tcp_dst', bits: 16, writable: true, prereq: 'tcp', style: 'dec' },
  { id: F_UDP_SRC, nxm: 'NXM_OF_UDP_SRC', name: 'udp_src', bits: 16, writable: true, prereq: 'udp', style: 'dec' },
  { id: F_UDP_DST, nxm: 'NXM_OF_UDP_DST', name: 'udp_dst', bits: 16, writable: true, prereq: 'udp', style: 'dec' },
  { id: F_ARP_OP, nxm: 'NXM_OF_ARP_OP', name: 'arp_op', bits: 16, writable: true, prereq: 'arp', style: 'dec' },
  { id: F_ARP_SPA, nxm: 'NXM_OF_ARP_SPA', name: 'arp_spa', bits: 32, writable: true, prereq: 'arp', style: 'ip' },
  { id: F_ARP_TPA, nxm: 'NXM_OF_ARP_TPA', name: 'arp_tpa', bits: 32, writable: true, prereq: 'arp', style: 'ip' },
  { id: F_ARP_SHA, nxm: 'NXM_NX_ARP_SHA', name: 'arp_sha', bits: 48, writable: true, prereq: 'arp', style: 'mac' },
  { id: F_ARP_THA, nxm: 'NXM_NX_ARP_THA', name: 'arp_tha', bits: 48, writable: true, prereq: 'arp', style: 'mac' },
  { id: F_METADATA, nxm: 'OXM_OF_METADATA', name: 'metadata', bits: 64, writable: true, prereq: 'none', style: 'hex' },
];
for (let r = 0; r < 8; r++) {
  LIST.push({ id: F_REG0 + r, nxm: `NXM_NX_REG${r}`, name: `reg${r}`, bits: 32, writable: true, prereq: 'none', style: 'hex' });
}
LIST.push(
  { id: F_TUN_ID, nxm: 'NXM_NX_TUN_ID', name: 'tun_id', bits: 64, writable: true, prereq: 'none', style: 'hex' },
  { id: F_TUN_SRC, nxm: 'NXM_NX_TUN_IPV4_SRC', name: 'tun_src', bits: 32, writable: true, prereq: 'none', style: 'ip' },
  { id: F_TUN_DST, nxm: 'NXM_NX_TUN_IPV4_DST', name: 'tun_dst', bits: 32, writable: true, prereq: 'none', style: 'ip' },
  { id: F_IN_PORT_OXM, nxm: 'OXM_OF_IN_PORT', name: 'in_port_oxm', bits: 32, writable: true, prereq: 'none', style: 'dec' },
  { id: F_VLAN_VID, nxm: 'OXM_OF_VLAN_VID', name: 'vlan_vid', bits: 12, writable: true, prereq: 'none', style: 'dec' },
  { id: F_IPV6_SRC, nxm: 'NXM_NX_IPV6_SRC', name: 'ipv6_src', bits: 128, writable: true, prereq: 'ipv6', style: 'ipv6' },
  { id: F_IPV6_DST, nxm: 'NXM_NX_IPV6_DST', name: 'ipv6_dst', bits: 128, writable: true, prereq: 'ipv6', style: 'ipv6' },
  { id: F_IPV6_LABEL, nxm: 'NXM_NX_IPV6_LABEL', name: 'ipv6_label', bits: 20, writable: true, prereq: 'ipv6', style: 'hex' },
  // ND: the target and the link-layer address option already in the message are rewritten.
  { id: F_ND_TARGET, nxm: 'NXM_NX_ND_TARGET', name: 'nd_target', bits: 128, writable: true, prereq: 'nd', style: 'ipv6' },
  { id: F_ND_SLL, nxm: 'NXM_NX_ND_SLL', name: 'nd_sll', bits: 48, writable: true, prereq: 'nd_solicit', style: 'mac' },
  { id: F_ND_TLL, nxm: 'NXM_NX_ND_TLL', name: 'nd_tll', bits: 48, writable: true, prereq: 'nd_advert', style: 'mac' },
  { id: F_IP_DSCP, nxm: 'OXM_OF_IP_DSCP', name: 'ip_dscp', bits: 6, writable: true, prereq: 'ip_any', style: 'dec' },
  { id: F_IP_ECN, nxm: 'NXM_NX_IP_ECN', name: 'nw_ecn', bits: 2, writable: true, prereq: 'ip_any', style: 'dec' },
  { id: F_PKT_MARK, nxm: 'NXM_NX_PKT_MARK', name: 'pkt_mark', bits: 32, writable: true, prereq: 'none', style: 'hex' },
);
LIST.push(
  { id: F_CT_MARK, nxm: 'NXM_NX_CT_MARK', name: 'ct_mark', bits: 32, writable: true, prereq: 'none', style: 'hex', ctOnly: true },
  { id: F_CT_LABEL, nxm: 'NXM_NX_CT_LABEL', name: 'ct_label', bits: 128, writable: true, prereq: 'none', style: 'hex', ctOnly: true },
);
LIST.push({ id: F_IP_TTL, nxm: 'NXM_NX_IP_TTL', name: 'nw_ttl', bits: 8, writable: true, prereq: 'ip_any', style: 'dec' });
for (let i = 0; i < LIST.length; i++) if (LIST[i].id !== i) throw new Error(`nxm: field ${LIST[i].nxm} is not at index ${LIST[i].id}`);

export const NXM_FIELDS: readonly NxmField[] = LIST;

const BY_NAME = new Map<string, NxmField>();
for (const f of LIST) {
  BY_NAME.set(f.nxm.toLowerCase(), f);
  BY_NAME.set(f.name, f);
}
const SHORT: Record<string, number> = {
  dl_src: F_ETH_SRC,
  dl_dst: F_ETH_DST,
  dl_type: F_ETH_TYPE,
  nw_src: F_IP_SRC,
  nw_dst: F_IP_DST,
  ip_proto: F_IP_PROTO,
  nxm_nx_arp_tha: F_ARP_THA,
  nxm_of_metadata: F_METADATA,
  // OXM names OVS also accepts for these fields (it prints them with the NXM name).
  oxm_of_eth_src: F_ETH_SRC,
  oxm_of_eth_dst: F_ETH_DST,
  oxm_of_eth_type: F_ETH_TYPE,
  oxm_of_ip_proto: F_IP_PROTO,
  oxm_of_ipv4_src: F_IP_SRC,
  oxm_of_ipv4_dst: F_IP_DST,
  oxm_of_tcp_src: F_TCP_SRC,
  oxm_of_tcp_dst: F_TCP_DST,
  oxm_of_udp_src: F_UDP_SRC,
  oxm_of_udp_dst: F_UDP_DST,
  oxm_of_arp_op: F_ARP_OP,
  oxm_of_arp_spa: F_ARP_SPA,
  oxm_of_arp_tpa: F_ARP_TPA,
  oxm_of_arp_sha: F_ARP_SHA,
  oxm_of_arp_tha: F_ARP_THA,
  oxm_of_tunnel_id: F_TUN_ID,
  tunnel_id: F_TUN_ID,
  ipv4_src: F_IP_SRC,
  ipv4_dst: F_IP_DST,
  oxm_of_ipv6_src: F_IPV6_SRC,
  oxm_of_ipv6_dst: F_IPV6_DST,
  oxm_of_ipv6_flabel: F_IPV6_LABEL,
  oxm_of_ipv6_nd_target: F_ND_TARGET,
  oxm_of_ipv6_nd_sll: F_ND_SLL,
  oxm_of_ipv6_nd_tll: F_ND_TLL,
  ip_ecn: F_IP_ECN,
  oxm_of_ip_ecn: F_IP_ECN,
};
for (const [n, id] of Object.entries(SHORT)) BY_NAME.set(n, LIST[id]);

export function nxmField(name: string): NxmField | undefined {
  return BY_NAME.get(name.toLowerCase());
}
export function nxmFieldNames(): string[] {
  return [...BY_NAME.keys()];
}
