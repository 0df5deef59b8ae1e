/** The router stage's drop reasons: declared once (ids, names and metric labels, texts). */
import { DropCounters, defineDrops } from '../packet/drops';

export const ROUTER_DROPS = defineDrops('router', {
  no_iface: 'input on an interface index the router does not have',
  not_ipv4: 'neither ARP nor IPv4',
  not_for_router: "a unicast Ethernet destination that is not the router interface's MAC",
  not_unicast: 'L2 or L3 broadcast/multicast (a router does not forward those)',
  ipv4_bad_checksum: 'the IPv4 header checksum does not verify',
  no_route: 'no route to the destination (ICMP net unreachable sent)',
  ttl_exceeded: 'TTL of 1 or less on forwarding (ICMP time exceeded sent)',
  frag_needed: 'DF set and larger than the egress MTU (ICMP fragmentation needed sent)',
  oversize_nodf: 'larger than the egress MTU without DF: the router does not fragment',
  local_unsupported: 'addressed to the router, but not an ICMP echo request',
  local_loop: 'a packet the router made was routed back to the router itself',
  arp_ignored: 'an ARP packet not for one of the router addresses',
  arp_queue_full: 'too many frames waiting for one next hop, or too many next hops being resolved',
  arp_hold_limit: 'frames held while ARP resolves are at their limit: of the arrival interface, the router, or the arena',
  arp_failed: 'the next hop did not answer ARP (ICMP host unreachable sent)',
  nat_unsolicited: 'inbound on the gateway to the gateway address or an unmapped address, with no NAT session',
  nat_table_full: 'the NAT session table is full (maxSessions)',
  nat_source_limit: 'the source address holds maxSessionsPerSource NAT sessions already',
  nat_port_exhausted: 'no free port or ICMP id left for SNAT to the gateway address',
  nat_conflict: "the new NAT session's tuple is already used by another session",
  nat_fragment: 'a non-first fragment that would need port translation (no reassembly)',
  nat_unsupported_proto: 'needs NAT but is not TCP, UDP or ICMP echo',
  no_buffer: 'no free packet buffer while building a frame (reply, ICMP error, ARP request)',
});
export const ROUTER_DROP_REASONS = ROUTER_DROPS.reasons;
export type RouterDropReason = (typeof ROUTER_DROP_REASONS)[number];

export class RouterDrops extends DropCounters<RouterDropReason> {
  constructor() {
    super(ROUTER_DROPS);
  }
}

export const D_NO_IFACE = ROUTER_DROPS.id.no_iface;
export const D_NOT_IPV4 = ROUTER_DROPS.id.not_ipv4;
export const D_NOT_FOR_ROUTER = ROUTER_DROPS.id.not_for_router;
export const D_NOT_UNICAST = ROUTER_DROPS.id.not_unicast;
export const D_BAD_CSUM = ROUTER_DROPS.id.ipv4_bad_checksum;
export const D_NO_ROUTE = ROUTER_DROPS.id.no_route;
export const D_TTL = ROUTER_DROPS.id.ttl_exceeded;
export const D_FRAG_NEEDED = ROUTER_DROPS.id.frag_needed;
export const D_OVERSIZE = ROUTER_DROPS.id.oversize_nodf;
export const D_LOCAL_UNSUPPORTED = ROUTER_DROPS.id.local_unsupported;
export const D_LOCAL_LOOP = ROUTER_DROPS.id.local_loop;
export const D_ARP_IGNORED = ROUTER_DROPS.id.arp_ignored;
export const D_ARP_QUEUE_FULL = ROUTER_DROPS.id.arp_queue_full;
export const D_ARP_HOLD_LIMIT = ROUTER_DROPS.id.arp_hold_limit;
export const D_ARP_FAILED = ROUTER_DROPS.id.arp_failed;
export const D_NAT_UNSOLICITED = ROUTER_DROPS.id.nat_unsolicited;
export const D_NAT_FULL = ROUTER_DROPS.id.nat_table_full;
export const D_NAT_SOURCE = ROUTER_DROPS.id.nat_source_limit;
export const D_NAT_PORTS = ROUTER_DROPS.id.nat_port_exhausted;
export const D_NAT_CONFLICT = ROUTER_DROPS.id.nat_conflict;
export const D_NAT_FRAGMENT = ROUTER_DROPS.id.nat_fragment;
export const D_NAT_PROTO = ROUTER_DROPS.id.nat_unsupported_proto;
