/**
 * The router as data and text for people: `router-show`, `nat-show`, and the router part of
 * `tvs trace` — the rendering of the forwarding decision (decide.ts) for one frame. Control
 * plane only; allocates freely.
 */
import * as eth from '../wire/ethernet';
import * as arp from '../wire/arp';
import * as ipv4 from '../wire/ipv4';
import * as icmp from '../wire/icmp';
import { Conntrack, STATE_NAMES } from '../packet/conntrack';
import type { Iface } from './router-iface';
import { ROUTER_DROP_REASONS, RouterDrops } from './router-drops';
import { RT_KIND_NAMES, RT_LOCAL, RT_BCAST } from './route-table';
import {
  type Decision, type ForwardingState, VERDICT_NAMES, NAT_MODE_NAMES,
  V_DROP, V_FORWARD, V_ECHO_REPLY, V_ARP_REPLY, M_NONE, M_SNAT_GW, M_SNAT_FIP, NH_RESOLVED, NH_REQUEST,
} from './decide';

export interface NatTuple {
  src: string;
  dst: string;
  sport: number;
  dport: number;
}
export interface NatSession {
  id: number;
  proto: string;
  state: string;
  kind: string; // 'snat' | 'dnat' | 'snat+dnat'
  orig: NatTuple; // as the originator sent it
  reply: NatTuple; // as the reply arrives at the router (before reverse translation)
  packets: { orig: number; reply: number };
  ageMs: number;
  expiresInMs: number;
}

export interface RouterShow {
  name: string;
  snat: boolean;
  interfaces: { index: number; name: string; mac: string; cidr: string; mtu: number; gateway: boolean }[];
  routes: { cidr: string; kind: string; iface: string | null; via: string | null }[];
  arp: { ip: string; mac: string; iface: string; expiresInMs: number }[];
  pendingArp: { ip: string; iface: string; queued: number; probes: number }[];
  /** Frames held while next hops resolve: now, the router's limit, and refusals. */
  held: { used: number; limit: number; refused: number };
  floatingIps: { fip: string; fixed: string }[];
  sessions: number;
  /** NAT limits: table size, per-source quota, records allocated now. */
  natLimits: { maxSessions: number; maxSessionsPerSource: number; allocated: number };
  drops: Record<string, number>;
  stats: Record<string, number>;
}

/** What the views read from a router (Router implements it). */
export interface ViewedRouter extends ForwardingState {
  readonly name: string;
  readonly drops: RouterDrops;
  readonly stats: object;
}

const fmt = ipv4.formatAddr;

export function showRouter(r: ViewedRouter, now: number): RouterShow {
  const name = (i: number): string => r.ifaces[i]?.name ?? String(i);
  const fips: { fip: string; fixed: string }[] = [];
  r.fipToFixed.forEach((f, x) => fips.push({ fip: fmt(f), fixed: fmt(x) }));
  const routes = [];
  for (let id = 0; id < r.routes.size; id++) routes.push(r.routes.describe(id, name));
  return {
    name: r.name,
    snat: r.snat,
    interfaces: r.ifaces.filter((i): i is Iface => i !== null).map((i) => ({
      index: i.index, name: i.name, mac: eth.formatMac(i.mac), cidr: `${fmt(i.addr)}/${i.len}`, mtu: i.mtu, gateway: i.gateway,
    })),
    routes,
    arp: r.nbr.cache.entries().map((e) => ({
      ip: fmt(e.ip), mac: eth.formatMac(e.macHi * 0x100000000 + e.macLo), iface: name(e.iface), expiresInMs: e.expires - now,
    })),
    pendingArp: r.nbr.pending.list().map((p) => ({ ip: fmt(p.ip), iface: name(p.iface), queued: p.slots.length, probes: p.probes })),
    held: { used: r.nbr.holds.used, limit: r.nbr.holds.limit, refused: r.nbr.holds.refused },
    floatingIps: fips,
    sessions: r.ct.count,
    natLimits: { maxSessions: r.ct.max, maxSessionsPerSource: r.ct.maxPerSource, allocated: r.ct.capacity },
    drops: r.drops.toJSON(),
    stats: { ...(r.stats as Record<string, number>) },
  };
}

export function protoName(p: number): string {
  return p === ipv4.PROTO_TCP ? 'tcp' : p === ipv4.PROTO_UDP ? 'udp' : p === ipv4.PROTO_ICMP ? 'icmp' : String(p);
}

export function describeSession(ct: Conntrack, rec: number, now: number): NatSession {
  const f = rec * 2;
  const r = f + 1;
  const tuple = (e: number): NatTuple => ({
    src: fmt(ct.eSrc[e]), dst: fmt(ct.eDst[e]), sport: ct.ePorts[e] >>> 16, dport: ct.ePorts[e] & 0xffff,
  });
  const snat = ct.xSrc[f] !== ct.eSrc[f] || ct.xPorts[f] >>> 16 !== ct.ePorts[f] >>> 16;
  const dnat = ct.xDst[f] !== ct.eDst[f];
  return {
    id: rec,
    proto: protoName(ct.eProto[f] & 0xff),
    state: STATE_NAMES[ct.state[rec]],
    kind: snat && dnat ? 'snat+dnat' : dnat ? 'dnat' : 'snat',
    orig: tuple(f),
    reply: tuple(r),
    packets: { orig: ct.ePackets[f], reply: ct.ePackets[r] },
    ageMs: now - ct.created[rec],
    expiresInMs: ct.expires[rec] - now,
  };
}

/** The decision as plain data (trace JSON, tests). */
export interface DecisionView {
  verdict: string;
  /** Drop reason name (verdict 'drop'). */
  reason?: string;
  /** ICMP error the router sends before dropping; `allowed` false when RFC 1812 forbids one. */
  icmpError?: { type: number; code: number; allowed: boolean };
  /** Output interface name and the frame's addresses, ports and TTL as it leaves. */
  out?: string;
  src?: string;
  dst?: string;
  sport?: number;
  dport?: number;
  ttl?: number;
  nat?: { mode: string; session: number; newSession: boolean; expiredSession: number; icmpQuote: number };
  nextHop?: string;
  /** 'resolved', 'request' (new ARP request, frame queued) or 'queued' (behind an outstanding one). */
  arp?: string;
  /** ARP input: the sender is learnt. */
  learn?: boolean;
}

function ports(d: Decision): { sport?: number; dport?: number } {
  if (d.proto === ipv4.PROTO_TCP || d.proto === ipv4.PROTO_UDP) return { sport: d.nPorts >>> 16, dport: d.nPorts & 0xffff };
  const t = d.pkey >>> 8; // ICMP type
  if (d.proto === ipv4.PROTO_ICMP && (t === icmp.ECHO_REQUEST || t === icmp.ECHO_REPLY)) return { sport: d.nPorts >>> 16, dport: d.nPorts & 0xffff };
  return {};
}

export function decisionView(r: ViewedRouter, d: Decision): DecisionView {
  const v: DecisionView = { verdict: VERDICT_NAMES[d.verdict] };
  if (d.verdict === V_DROP) v.reason = ROUTER_DROP_REASONS[d.reason];
  if (d.icmpType >= 0) v.icmpError = { type: d.icmpType, code: d.icmpCode, allowed: d.icmpAllowed };
  if (d.arpOp !== 0) v.learn = d.arpLearn;
  if (d.verdict === V_FORWARD) {
    v.out = r.ifaces[d.out]?.name;
    v.src = fmt(d.nSrc);
    v.dst = fmt(d.nDst);
    Object.assign(v, ports(d));
    v.ttl = d.decTtl ? d.ttl - 1 : d.ttl;
    v.nextHop = fmt(d.nextHop);
    v.arp = d.nhState === NH_RESOLVED ? 'resolved' : d.nhState === NH_REQUEST ? 'request' : 'queued';
  }
  if (d.natMode !== M_NONE || d.session >= 0 || d.expired >= 0 || d.icmpQuote >= 0) {
    v.nat = { mode: NAT_MODE_NAMES[d.natMode], session: d.session >> 1, newSession: d.newSession, expiredSession: d.expired, icmpQuote: d.icmpQuote >> 1 };
  }
  return v;
}

/**
 * The decision as `tvs trace` lines (like ofproto/trace's view of a qrouter): one line per
 * stage the frame went through, ending at the verdict.
 */
export function renderDecision(r: ViewedRouter, ifName: string, d: Decision): string[] {
  const out: string[] = [];
  const reason = d.verdict === V_DROP ? ROUTER_DROP_REASONS[d.reason] : '';
  const head = `router ${r.name}: in ${ifName}`;
  const icmpNote = (what: string): string => (d.icmpType < 0 ? '' : d.icmpAllowed ? `ICMP ${what} to ${fmt(d.src)}, ` : `no ICMP ${what} (RFC 1812 §4.3.2.7), `);
  switch (reason) {
    case 'no_iface':
      return [`${head}: no such interface, drop no_iface`];
    case 'not_ipv4':
      return [`${head}: neither ARP nor IPv4, drop not_ipv4`];
    case 'not_for_router':
      return [`${head}: Ethernet destination is not the interface's MAC, drop not_for_router`];
    case 'ipv4_bad_checksum':
      return [`${head}: IPv4 header checksum is wrong, drop ipv4_bad_checksum`];
  }
  if (d.arpOp !== 0) {
    out.push(`${head}, ARP ${d.arpOp === arp.OP_REQUEST ? 'request' : d.arpOp === arp.OP_REPLY ? 'reply' : 'op ' + d.arpOp} who-has ${fmt(d.arpTpa)} tell ${fmt(d.arpSpa)}`);
    if (d.arpLearn) out.push(`  learn ${fmt(d.arpSpa)} is-at ${eth.formatMac(d.arpShaHi * 0x100000000 + d.arpShaLo)}`);
    out.push(d.verdict === V_ARP_REPLY ? `  ${fmt(d.arpTpa)} is ours → ARP reply out ${ifName}` : d.verdict === V_DROP ? '  not for one of our addresses, drop arp_ignored' : '  a reply to us or an announcement: consumed');
    return out;
  }
  if (reason === 'not_unicast' && d.proto === 0) return [`${head}: Ethernet broadcast/multicast, drop not_unicast`];
  out.push(`${head}, ${fmt(d.src)} > ${fmt(d.dst)} proto ${d.proto}`);
  const ct = r.ct;
  if (d.expired >= 0) out.push(`  NAT: session #${d.expired} has expired (removed now; treated as absent)`);
  if (d.session >= 0) {
    const e = d.session;
    const x = ct.xPorts[e];
    out.push(`  NAT: existing session #${e >> 1}: rewrite to ${fmt(ct.xSrc[e])}:${x >>> 16} > ${fmt(ct.xDst[e])}:${x & 0xffff}`);
  }
  if (d.icmpQuote >= 0) out.push(`  NAT: ICMP error about session #${d.icmpQuote >> 1}: quote and outer header translated back`);
  const rt = r.routes;
  if (d.route < 0) {
    if (reason === 'no_route' && d.fip === 0) {
      out.push(`  route: none for ${fmt(d.nDst || d.dst)} → ${icmpNote('destination unreachable (net)')}drop no_route`);
      return out;
    }
    if (reason === 'not_unicast') {
      out.push(`  ${fmt(d.dst)} is a broadcast/multicast address: not forwarded, drop not_unicast`);
      return out;
    }
  }
  if (d.verdict === V_ECHO_REPLY || (d.route >= 0 && rt.kind[d.route] === RT_LOCAL)) {
    out.push(`  local: ${fmt(d.dst)} is the router's own address → ${d.verdict === V_ECHO_REPLY ? 'echo reply' : `not served, drop ${reason}`}`);
    return out;
  }
  if (d.route >= 0 && rt.kind[d.route] === RT_BCAST) {
    out.push(`  ${fmt(d.dst)} is a broadcast/multicast address: not forwarded, drop not_unicast`);
    return out;
  }
  if (reason === 'local_loop') {
    out.push('  a frame the router built, routed back to the router: drop local_loop');
    return out;
  }
  if (d.fip !== 0) {
    out.push(`  floating IP ${fmt(d.fip)} → DNAT to fixed ${fmt(d.nDst)} (new session)`);
    if (reason === 'no_route' && d.out < 0) {
      out.push('  route: none for the fixed address, drop no_route');
      return out;
    }
    if (d.nSrc !== d.src) {
      const fip = r.fixedToFip.get(d.src);
      out.push(`  hairpin: source becomes ${fmt(d.nSrc)} (${fip !== -1 ? 'its floating IP' : 'gateway address, pool port'})`);
    }
  } else if (d.natMode === M_SNAT_FIP) {
    out.push(`  SNAT: ${fmt(d.src)} has floating IP ${fmt(d.nSrc)} → source ${fmt(d.nSrc)} (new session)`);
  } else if (d.natMode === M_SNAT_GW) {
    out.push(`  SNAT: source → ${fmt(d.nSrc)} (gateway address, port from the pool; new session)`);
  } else if (d.session < 0 && d.icmpQuote < 0 && d.out === r.gw && d.inIf !== r.gw && d.inIf >= 0 && r.gw >= 0 && !r.snat) {
    out.push('  SNAT is off: forwarded with the tenant address');
  }
  if (reason === 'nat_unsolicited') {
    out.push(
      d.out === r.gw || d.route < 0
        ? `  unsolicited: from the external network back out to ${fmt(d.dst)} on it (no floating IP or session) → drop nat_unsolicited`
        : '  unsolicited: from the external network to a tenant address without a floating IP or session → drop nat_unsolicited',
    );
    return out;
  }
  if (d.out < 0) {
    out.push(`  route: none → drop ${reason}`);
    return out;
  }
  const ifo = r.ifaces[d.out]!;
  out.push(`  route: ${RT_KIND_NAMES[rt.kind[d.route]]} via ${d.via !== 0 ? fmt(d.via) : 'on-link'} dev ${ifo.name} (mtu ${ifo.mtu})`);
  if (reason === 'ttl_exceeded') {
    out.push(`  TTL ${d.ttl} → ${icmpNote('time exceeded')}drop ttl_exceeded`);
    return out;
  }
  out.push(d.decTtl ? `  TTL ${d.ttl} → ${d.ttl - 1}` : `  TTL ${d.ttl} (built by the router: not decremented)`);
  if (reason === 'frag_needed' || reason === 'oversize_nodf') {
    out.push(
      reason === 'frag_needed'
        ? `  ${d.ipLen} bytes > mtu ${ifo.mtu} with DF → ${icmpNote(`fragmentation needed (mtu ${ifo.mtu})`)}drop frag_needed`
        : `  ${d.ipLen} bytes > mtu ${ifo.mtu}, no DF → drop oversize_nodf`,
    );
    return out;
  }
  if (reason.startsWith('nat_')) {
    const why: Record<string, string> = {
      nat_fragment: 'a later fragment carries no ports to translate (no reassembly)',
      nat_unsupported_proto: `${protoName(d.proto)}${d.proto === ipv4.PROTO_ICMP ? ' other than echo request' : ''} cannot open a session that needs port translation`,
      nat_port_exhausted: 'no free gateway port towards this peer',
      nat_source_limit: 'the source holds its quota of sessions (maxSessionsPerSource)',
      nat_table_full: 'the session table is full',
      nat_conflict: "the new session's tuple is in use by another session",
    };
    out.push(`  NAT: ${why[reason] ?? reason} → drop ${reason}`);
    return out;
  }
  if (d.newSession || (d.natMode !== M_NONE && d.laterFrag)) {
    const p = ports(d);
    const pp = (x: number | undefined): string => (x === undefined ? '' : `:${x}`);
    out.push(`  NAT: ${d.newSession ? 'new session' : 'later fragment, stateless 1:1'}; leaves as ${fmt(d.nSrc)}${pp(p.sport)} > ${fmt(d.nDst)}${pp(p.dport)}`);
  }
  if (reason === 'arp_hold_limit') {
    out.push(`  next hop ${fmt(d.nextHop)}: not resolved${d.nhState === NH_REQUEST ? ' → ARP request' : ''}; frames held for ARP are at their limit (interface, router or arena) → drop arp_hold_limit`);
    return out;
  }
  if (reason === 'arp_queue_full') {
    out.push(`  next hop ${fmt(d.nextHop)}: not resolved and its queue (or the pending table) is full → drop arp_queue_full`);
    return out;
  }
  const arpText = d.nhState === NH_RESOLVED ? 'ARP resolved' : d.nhState === NH_REQUEST ? 'not resolved → ARP request, packet queued' : 'ARP request outstanding → packet queued';
  out.push(`  next hop ${fmt(d.nextHop)}: ${arpText}; out ${ifo.name} from ${eth.formatMac(ifo.mac)}`);
  return out;
}
