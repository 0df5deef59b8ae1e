/** The L3 stage: router (ARP, IPv4 forwarding, ICMP errors), NAT on the shared conntrack (packet/conntrack.ts), DHCP responder. */
export { Router, RouterOptions, InterfaceConfig, NatSession, NatTuple, SessionEvent, RouterStats, RouterDrops, ROUTER_DROP_REASONS, ROUTER_IN_PORT } from './router';
export { NatTimeouts, DEFAULT_TIMEOUTS } from '../packet/conntrack';
export { DhcpServer, DhcpConfig, DhcpEvent } from './dhcp';
