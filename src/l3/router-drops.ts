/** The router stage's drop reasons: one list, ids by position (counters and metric labels). */
import { DropCounters } from '../packet/drops';

export const ROUTER_DROP_REASONS = [
  'no_iface', // input on an interface index the router does not have
  'not_ipv4', // neither ARP nor IPv4
  'not_for_router', // unicast Ethernet destination that is not the interface's MAC
  'not_unicast', // L2 or L3 broadcast/multicast (a router does not forward those)
  'ipv4_bad_checksum',
  'no_route', // no route to the destination (ICMP net unreachable sent)
  'ttl_exceeded', // TTL <= 1 on forwarding (ICMP time exceeded sent)
  'frag_needed', // DF set and larger than the egress MTU (ICMP frag-needed sent)
  'oversize_nodf', // larger than the egress MTU without DF: not fragmented here
  'local_unsupported', // to a router address, but not an echo request
  'local_loop', // a router-originated packet routed back to the router itself
  'arp_ignored', // ARP not for one of our addresses
  'arp_queue_full', // too many frames waiting for one next hop, or too many next hops pending
  'arp_hold_limit', // frames held for ARP at their limit: of the arrival interface, the router, or the arena
  'arp_failed', // next hop did not answer ARP (ICMP host unreachable sent)
  'nat_unsolicited', // inbound on the gateway to the gateway address or an unmapped address
  'nat_table_full', // maxSessions reached
  'nat_source_limit', // the source address holds maxSessionsPerSource sessions already
  'nat_port_exhausted', // no free port/id left for SNAT to the gateway address
  'nat_conflict', // the new session's tuple is already in use by another session
  'nat_fragment', // a non-first fragment that would need port translation (no reassembly)
  'nat_unsupported_proto', // needs NAT but is not TCP, UDP or ICMP echo request
  'no_buffer', // arena exhausted while building a frame
] as const;
export type RouterDropReason = (typeof ROUTER_DROP_REASONS)[number];

export class RouterDrops extends DropCounters<RouterDropReason> {
  constructor() {
    super(ROUTER_DROP_REASONS);
  }
}

const dd = new RouterDrops();
export const D_NO_IFACE = dd.id('no_iface');
export const D_NOT_IPV4 = dd.id('not_ipv4');
export const D_NOT_FOR_ROUTER = dd.id('not_for_router');
export const D_NOT_UNICAST = dd.id('not_unicast');
export const D_BAD_CSUM = dd.id('ipv4_bad_checksum');
export const D_NO_ROUTE = dd.id('no_route');
export const D_TTL = dd.id('ttl_exceeded');
export const D_FRAG_NEEDED = dd.id('frag_needed');
export const D_OVERSIZE = dd.id('oversize_nodf');
export const D_LOCAL_UNSUPPORTED = dd.id('local_unsupported');
export const D_LOCAL_LOOP = dd.id('local_loop');
export const D_ARP_IGNORED = dd.id('arp_ignored');
export const D_ARP_QUEUE_FULL = dd.id('arp_queue_full');
export const D_ARP_HOLD_LIMIT = dd.id('arp_hold_limit');
export const D_ARP_FAILED = dd.id('arp_failed');
export const D_NAT_UNSOLICITED = dd.id('nat_unsolicited');
export const D_NAT_FULL = dd.id('nat_table_full');
export const D_NAT_SOURCE = dd.id('nat_source_limit');
export const D_NAT_PORTS = dd.id('nat_port_exhausted');
export const D_NAT_CONFLICT = dd.id('nat_conflict');
export const D_NAT_FRAGMENT = dd.id('nat_fragment');
export const D_NAT_PROTO = dd.id('nat_unsupported_proto');
