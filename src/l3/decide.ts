/**
 * The router's forwarding decision: what happens to one frame, computed without doing it.
 * Forwarding applies the record (router.ts `commit`), `tvs trace` prints it (router-view.ts):
 * one function, two consumers, so the explanation cannot drift from what forwarding does.
 *
 * Deciding is pure: it reads the frame, the routes, the NAT sessions (expired ones count as
 * absent), the neighbour cache and the pending queues, and writes only the Decision record. No
 * session is created or removed, no port taken, no ARP sent, no counter moved — those are the
 * commit. What the commit may still find different from the decision: a frame built by the
 * router (ICMP error) can be rate limited, and an arena slot can run out.
 *
 * Order of the IPv4 decision (as RFC 1812 and Linux ip_forward + nf_nat):
 *   1. NAT lookup      session entry (either direction) or a translatable ICMP error
 *   2. route           LPM on the (translated) destination: forward / local / floating IP
 *   3. NAT choice      new session? SNAT to gateway, SNAT/DNAT floating IP, hairpin
 *   4. checks          TTL, MTU (DF → frag-needed) — on the UNTRANSLATED frame, so an error
 *                      quotes what the sender sent
 *   5. new session     quotas (table, per source), gateway port, tuple conflict
 *   6. next hop        ARP resolved, or queue behind a request (new or outstanding), or full
 *
 * Hot path: the record is a preallocated object with numeric fields (one per router and
 * purpose), written in place; nothing is allocated per frame.
 */
import type { PacketArena } from '../packet/arena';
import * as K from '../packet/flow-key';
import * as vnet from '../packet/vnet';
import * as eth from '../wire/ethernet';
import * as arp from '../wire/arp';
import * as ipv4 from '../wire/ipv4';
import * as icmp from '../wire/icmp';
import * as tcp from '../wire/tcp';
import * as udp from '../wire/udp';
import { Conntrack, CREATE_FULL, swapPorts } from '../packet/conntrack';
import { parseQuoted, quoted } from '../packet/nat';
import { errorAllowed } from './icmp-error';
import type { Neighbours } from './neighbours';
import type { Iface } from './router-iface';
import type { U32Map } from '../packet/u32-map';
import type { BatchClock } from '../packet/batch-clock';
import { RouteTable, RT_FWD, RT_LOCAL, RT_FIP, RT_BCAST } from './route-table';
import {
  D_NO_IFACE, D_NOT_IPV4, D_NOT_FOR_ROUTER, D_NOT_UNICAST, D_BAD_CSUM, D_NO_ROUTE, D_TTL, D_FRAG_NEEDED, D_OVERSIZE,
  D_LOCAL_UNSUPPORTED, D_LOCAL_LOOP, D_ARP_IGNORED, D_ARP_QUEUE_FULL, D_NAT_UNSOLICITED, D_NAT_FULL, D_NAT_PORTS,
  D_NAT_CONFLICT, D_NAT_FRAGMENT, D_NAT_PROTO, D_NAT_SOURCE, D_ARP_HOLD_LIMIT,
} from './router-drops';

/** What happens to the frame. */
export const V_DROP = 0; // released, counted as `reason` (after the ICMP error, if any)
export const V_FORWARD = 1; // rewritten (NAT, TTL, Ethernet) and sent out `out`, or queued for ARP
export const V_ECHO_REPLY = 2; // to a router address: answered in place, the reply then routed
export const V_ARP_REPLY = 3; // an ARP request for one of our addresses: answered in place
export const V_ARP_CONSUMED = 4; // an ARP reply to us or a gratuitous announcement
export const VERDICT_NAMES = ['drop', 'forward', 'echo_reply', 'arp_reply', 'arp_consumed'];

/** NAT choice for a packet without a session. */
export const M_NONE = 0;
export const M_SNAT_GW = 1; // tenant → outside, source to the gateway address with a port from a pool
export const M_SNAT_FIP = 2; // fixed → outside, source to its floating IP (ports kept)
export const M_DNAT = 3; // to a floating IP: destination to the fixed IP (source may change too: hairpin)
export const NAT_MODE_NAMES = ['none', 'snat_gateway', 'snat_floating_ip', 'dnat_floating_ip'];

/** Next-hop state at decision time. */
export const NH_RESOLVED = 0; // ARP entry valid: transmit now
export const NH_QUEUED = 1; // a request is outstanding: queue behind it
export const NH_REQUEST = 2; // unknown: send an ARP request and queue

/** The router state the decision reads (implemented by Router; never written here). */
export interface ForwardingState {
  readonly routes: RouteTable;
  readonly ifaces: readonly (Iface | null)[];
  readonly gw: number;
  readonly snat: boolean;
  readonly fipToFixed: U32Map;
  readonly fixedToFip: U32Map;
  readonly ct: Conntrack;
  readonly nbr: Neighbours;
  /** [0]: the time (ms) the decision is taken at (packet/batch-clock.ts; input and trace stamp it). */
  readonly time: BatchClock;
}

export class Decision {
  verdict = V_DROP;
  /** Drop reason id (router-drops.ts) when verdict is V_DROP. */
  reason = -1;
  /** ICMP error to send before dropping (type, code, extra word), or icmpType -1. */
  icmpType = -1;
  icmpCode = 0;
  icmpExtra = 0;
  /** RFC 1812 §4.3.2.7 lets the error go (the rate limit is the commit's). */
  icmpAllowed = false;
  /** Arrival interface; -1 for a frame the router built itself. */
  inIf = -1;

  // ---- the frame as it arrived
  proto = 0;
  src = 0;
  dst = 0;
  /** sport<<16|dport for TCP/UDP, id<<16|id for ICMP echo, 0 otherwise. */
  ports = 0;
  /** Conntrack protocol key: proto, or 1|type<<8 for ICMP. */
  pkey = 0;
  tcpFlags = 0;
  laterFrag = false;
  ttl = 0;
  /** IP length on the wire (a GSO super-frame's segment length). */
  ipLen = 0;

  // ---- NAT
  /** Existing session entry that matched (forward or reply direction), or -1. */
  session = -1;
  /** An expired record the lookup hit: the commit removes it, the decision treats it as absent. */
  expired = -1;
  /** An ICMP error whose quote matched this session entry (translated at commit), or -1. */
  icmpQuote = -1;
  /** The floating IP the frame was sent to (DNAT), or 0. */
  fip = 0;
  /** New-session NAT choice (M_*), M_NONE with an existing session or none needed. */
  natMode = M_NONE;
  /** A new session is opened at commit (false: later fragment with 1:1 NAT, stateless). */
  newSession = false;
  /** The gateway port (or echo id) a new session takes for port translation, or -1. */
  snatPort = -1;
  /** The port search's random state after finding `snatPort` (the commit claims the port). */
  snatRnd = 0;
  /** The frame after NAT: addresses and ports as they will leave. */
  nSrc = 0;
  nDst = 0;
  nPorts = 0;

  // ---- route and next hop
  route = -1;
  out = -1;
  via = 0;
  nextHop = 0;
  mtu = 0;
  /** TTL is decremented (not for frames the router built). */
  decTtl = false;
  nhState = NH_RESOLVED;
  /** ARP cache entry when NH_RESOLVED. */
  arpEntry = -1;

  // ---- ARP input
  /** Learn (arpSpa → arpShaHi/Lo) on `inIf` (RFC 826 merge). */
  arpLearn = false;
  arpOp = 0;
  arpSpa = 0;
  arpTpa = 0;
  arpShaHi = 0;
  arpShaLo = 0;

  /**
   * Start a decision for a frame from `inIf`: only the fields some path reads without writing
   * them first (the verdict, drop reason and ICMP error; the NAT entries a commit acts on; the
   * ARP learn flag). Every other field is written by the path that sets a verdict needing it,
   * so forwarding pays ~9 stores per frame instead of one per field (measured on
   * bench/l3-bench.ts: routed 64 B). `trace` clears the whole record first (`clear`).
   */
  begin(inIf: number): void {
    this.verdict = V_DROP;
    this.reason = -1;
    this.icmpType = -1;
    this.inIf = inIf;
    this.session = -1;
    this.expired = -1;
    this.icmpQuote = -1;
    this.newSession = false;
    this.arpLearn = false;
  }

  /** Every field back to its default (trace prints the record: nothing from an earlier frame). */
  clear(inIf: number): void {
    this.begin(inIf);
    this.icmpCode = 0;
    this.icmpExtra = 0;
    this.icmpAllowed = false;
    this.proto = 0;
    this.src = 0;
    this.dst = 0;
    this.ports = 0;
    this.pkey = 0;
    this.tcpFlags = 0;
    this.laterFrag = false;
    this.ttl = 0;
    this.ipLen = 0;
    this.fip = 0;
    this.natMode = M_NONE;
    this.snatPort = -1;
    this.snatRnd = 0;
    this.nSrc = 0;
    this.nDst = 0;
    this.nPorts = 0;
    this.route = -1;
    this.out = -1;
    this.via = 0;
    this.nextHop = 0;
    this.mtu = 0;
    this.decTtl = false;
    this.nhState = NH_RESOLVED;
    this.arpEntry = -1;
    this.arpOp = 0;
    this.arpSpa = 0;
    this.arpTpa = 0;
    this.arpShaHi = 0;
    this.arpShaLo = 0;
  }
}

function drop(d: Decision, reason: number): void {
  d.verdict = V_DROP;
  d.reason = reason;
  d.newSession = false;
}

/** Drop with an ICMP error to the sender (when RFC 1812 allows one and the frame came in). */
function dropWithError(d: Decision, a: PacketArena, s: number, reason: number, type: number, code: number, extra: number): void {
  d.verdict = V_DROP;
  d.reason = reason;
  if (d.inIf < 0) return; // the router never answers its own frames with errors
  d.icmpType = type;
  d.icmpCode = code;
  d.icmpExtra = extra;
  const f = a.start[s];
  d.icmpAllowed = errorAllowed(a.bytes, f + a.l3[s], a.l4[s] === 0 ? 0 : f + a.l4[s]);
}

/**
 * A frame that arrived on router interface `inIf` (parsed, untagged): interface and L2 checks,
 * ARP, IPv4 header checksum, then the IPv4 decision.
 */
export function decideInput(st: ForwardingState, a: PacketArena, s: number, inIf: number, d: Decision): void {
  d.begin(inIf);
  const ifc = inIf >= 0 && inIf < st.ifaces.length ? st.ifaces[inIf] : null;
  if (ifc === null) return drop(d, D_NO_IFACE);
  const key = a.key;
  const k = s << K.KEY_SHIFT;
  const type = key[k + K.K_DL_TYPE];
  if (type === eth.ETH_P_ARP && a.l3[s] !== 0) return decideArp(st, a, s, ifc, d);
  if (type !== eth.ETH_P_IPV4 || a.l3[s] === 0) return drop(d, D_NOT_IPV4);
  const dhi = key[k + K.K_DL_DST_HI];
  if (dhi !== ifc.macHi || key[k + K.K_DL_DST_LO] !== ifc.macLo) {
    return drop(d, (dhi & 0x100) !== 0 ? D_NOT_UNICAST : D_NOT_FOR_ROUTER);
  }
  const b = a.bytes;
  const l3 = a.start[s] + a.l3[s];
  // RFC 1812 §5.2.2: a router verifies the header checksum of what it forwards.
  if (!ipv4.checksumValid(a.view, l3, ipv4.headerLen(b, l3))) return drop(d, D_BAD_CSUM);
  routeIpv4(st, a, s, inIf, d);
}

/** ARP on `ifc`: answer requests for our addresses (and floating IPs on the gateway), learn. */
function decideArp(st: ForwardingState, a: PacketArena, s: number, ifc: Iface, d: Decision): void {
  const b = a.bytes;
  const l3 = a.start[s] + a.l3[s];
  const k = s << K.KEY_SHIFT;
  const op = arp.op(b, l3);
  const spa = arp.spa(b, l3);
  const tpa = arp.tpa(b, l3);
  const shaHi = a.key[k + K.K_ARP_SHA_HI];
  const shaLo = a.key[k + K.K_ARP_SHA_LO];
  d.arpOp = op;
  d.arpSpa = spa;
  d.arpTpa = tpa;
  d.arpShaHi = shaHi;
  d.arpShaLo = shaLo;
  const forUs = tpa === ifc.addr || (ifc.index === st.gw && st.fipToFixed.has(tpa));
  // RFC 826 merge: update a known sender; add it when the packet is addressed to us. Never a
  // multicast sender MAC.
  d.arpLearn = ifc.onLinkHost(spa) && (forUs || st.nbr.cache.has(spa)) && (shaHi & 0x100) === 0;
  if (op === arp.OP_REQUEST && forUs) d.verdict = V_ARP_REPLY;
  else if (forUs || spa === tpa) d.verdict = V_ARP_CONSUMED; // a reply to us, or gratuitous: not a drop
  else drop(d, D_ARP_IGNORED);
}

/**
 * Route one IPv4 datagram. `inIf` is the arrival interface, or -1 for a frame the router built
 * itself (echo reply, ICMP error): those skip TTL handling, never create NAT sessions and never
 * cause ICMP errors of their own.
 */
export function decideIpv4(st: ForwardingState, a: PacketArena, s: number, inIf: number, d: Decision): void {
  d.begin(inIf);
  routeIpv4(st, a, s, inIf, d);
}

function routeIpv4(st: ForwardingState, a: PacketArena, s: number, inIf: number, d: Decision): void {
  const b = a.bytes;
  const key = a.key;
  const f = a.start[s];
  const l3 = f + a.l3[s];
  const l4o = a.l4[s];
  const l4 = l4o === 0 ? 0 : f + l4o;
  const k = s << K.KEY_SHIFT;
  const src = key[k + K.K_NW_SRC];
  let dst = key[k + K.K_NW_DST];
  const proto = ipv4.protocol(b, l3);
  const laterFrag = (key[k + K.K_NW_FRAG] & K.NW_FRAG_LATER) !== 0;
  d.src = src;
  d.dst = dst;
  d.proto = proto;
  d.laterFrag = laterFrag;
  d.ttl = ipv4.ttl(b, l3);

  // ---- 1. the NAT tuple and session lookup
  let pkey = proto;
  let ports = 0;
  let tcpFlags = 0;
  let canCreate = false; // TCP, UDP, ICMP echo request: may open a session
  let icmpErr = false;
  if (l4 !== 0) {
    if (proto === ipv4.PROTO_TCP) {
      ports = ((tcp.srcPort(b, l4) << 16) | tcp.dstPort(b, l4)) >>> 0;
      tcpFlags = tcp.flags(b, l4);
      canCreate = true;
    } else if (proto === ipv4.PROTO_UDP) {
      ports = ((udp.srcPort(b, l4) << 16) | udp.dstPort(b, l4)) >>> 0;
      canCreate = true;
    } else if (proto === ipv4.PROTO_ICMP) {
      const t = icmp.type(b, l4);
      pkey = ipv4.PROTO_ICMP | (t << 8);
      if (t === icmp.ECHO_REQUEST || t === icmp.ECHO_REPLY) {
        const id = icmp.echoId(b, l4);
        ports = ((id << 16) | id) >>> 0;
        canCreate = t === icmp.ECHO_REQUEST;
      } else {
        icmpErr = icmp.isError(t);
      }
    }
  }
  d.ports = ports;
  d.pkey = pkey;
  d.tcpFlags = tcpFlags;
  const ct = st.ct;
  let e = -1;
  if (ct.count !== 0) {
    const now = st.time[0];
    if (icmpErr) {
      // An error about a NAT'd datagram goes back through the session it quotes (nat.ts).
      if (parseQuoted(b, l4, l3 + ipv4.totalLen(b, l3))) {
        const q = ct.lookup(quoted.protoKey, quoted.dst, quoted.src, quoted.ports);
        if (q >= 0 && ct.expires[q >> 1] > now) {
          d.icmpQuote = q;
          // translateIcmpError: the outer destination follows when it is the quoted sender.
          if (dst === quoted.src) dst = ct.xDst[q];
        }
      }
    } else if (!laterFrag) {
      // Addresses and ports as int32 bits here and at the lookups below: as uint32, each of
      // 2^31 or more (128.0.0.0/1, a source port of 32768 or more) is a 16-byte heap number when
      // V8 does not inline the call.
      e = ct.lookup(pkey, src | 0, dst | 0, ports | 0);
      if (e >= 0) {
        if (ct.expires[e >> 1] <= now) {
          d.expired = e >> 1;
          e = -1;
        } else {
          dst = ct.xDst[e];
        }
      }
    }
  }
  d.session = e;

  // ---- 2./3. route and NAT choice
  const rt = st.routes;
  let r = rt.lookup(dst | 0);
  let mode = M_NONE;
  // The new source as int32 bits, from every branch: were one branch a uint32 (an address
  // read from the frame) and another a field read (the gateway's address), the merged value
  // would be a heap number — one per new session.
  let ns = src | 0;
  if (e < 0 && d.icmpQuote < 0) {
    if (r < 0) return dropWithError(d, a, s, D_NO_ROUTE, icmp.DEST_UNREACH, icmp.UNREACH_NET, 0);
    const kind = rt.kind[r];
    if (kind === RT_LOCAL) {
      d.route = r;
      return decideLocal(st, a, s, inIf, l3, l4, d);
    }
    if (kind === RT_BCAST) return drop(d, D_NOT_UNICAST);
    if (kind === RT_FIP) {
      if (inIf < 0) return drop(d, D_LOCAL_LOOP);
      d.fip = dst;
      dst = rt.data[r];
      r = rt.lookup(dst | 0);
      if (r < 0 || rt.kind[r] !== RT_FWD) return drop(d, D_NO_ROUTE);
      mode = M_DNAT;
      if (inIf !== st.gw) {
        // Hairpin (Neutron: SNAT of DNAT'd traffic not from the external network): the fixed
        // IP must answer through the router, so the source becomes the sender's own floating
        // IP, or the gateway address with a pool port.
        const fip = st.fixedToFip.get(src | 0); // int32 bits (U32Map.get says why)
        ns = fip !== -1 ? fip : st.gw >= 0 ? st.ifaces[st.gw]!.addr | 0 : src | 0;
      }
    } else if (inIf >= 0 && st.gw >= 0) {
      const out = rt.iface[r];
      if (out === st.gw) {
        if (inIf !== st.gw) {
          const fip = st.fixedToFip.get(src | 0);
          if (fip !== -1) {
            mode = M_SNAT_FIP;
            ns = fip;
          } else if (st.snat) {
            mode = M_SNAT_GW;
            ns = st.ifaces[st.gw]!.addr | 0;
          }
        } else if (rt.via[r] === 0) {
          // In on the external network and straight back out to a neighbour on it: an address
          // nobody mapped (e.g. a floating IP just removed). A gateway does not bounce such
          // traffic (Linux would, with a redirect).
          return drop(d, D_NAT_UNSOLICITED);
        }
      } else if (inIf === st.gw && st.snat) {
        // With SNAT on, tenant subnets are not reachable from outside except through a
        // floating IP or a session (Neutron routes them only with enable_snat=false).
        return drop(d, D_NAT_UNSOLICITED);
      }
    }
  } else if (r < 0) {
    return dropWithError(d, a, s, D_NO_ROUTE, icmp.DEST_UNREACH, icmp.UNREACH_NET, 0);
  } else if (rt.kind[r] !== RT_FWD) {
    return drop(d, D_LOCAL_LOOP);
  }
  d.natMode = mode;
  d.nSrc = ns >>> 0;
  d.nDst = dst;
  const out = rt.iface[r];
  const ifo = st.ifaces[out]!;
  d.route = r;
  d.out = out;
  d.via = rt.via[r];
  d.mtu = ifo.mtu;

  // ---- 4. checks, on the frame as the sender sent it
  if (inIf >= 0 && d.ttl <= 1) return dropWithError(d, a, s, D_TTL, icmp.TIME_EXCEEDED, 0, 0);
  d.decTtl = inIf >= 0;
  // A GSO super-frame: what goes on the wire are segments of hdr_len + gso_size bytes.
  const ipLen = vnet.isGso(a, s) ? vnet.hdrLen(a, s) - (l3 - f) + vnet.gsoSize(a, s) : ipv4.totalLen(b, l3);
  d.ipLen = ipLen;
  if (ipLen > ifo.mtu) {
    if (ipv4.dontFragment(b, l3)) return dropWithError(d, a, s, D_FRAG_NEEDED, icmp.DEST_UNREACH, icmp.UNREACH_FRAG_NEEDED, ifo.mtu);
    return drop(d, D_OVERSIZE);
  }

  // ---- 5. NAT: the session to open, and the frame as it will leave
  if (e >= 0) {
    d.nSrc = ct.xSrc[e];
    d.nDst = ct.xDst[e];
    d.nPorts = ct.xPorts[e];
  } else if (d.icmpQuote >= 0) {
    // The outer header changes only where it names the quoted hosts (translateIcmpError).
    const q = d.icmpQuote;
    d.nSrc = src === quoted.dst ? ct.xSrc[q] : src;
    d.nDst = dst;
    d.nPorts = 0;
  } else if (mode === M_NONE) {
    d.nSrc = src;
    d.nDst = dst;
    d.nPorts = ports;
  } else if (!decideSession(st, d, mode, canCreate, src | 0, ns, dst | 0)) {
    return;
  }

  // ---- 6. next hop
  const nh = d.via !== 0 ? d.via : dst;
  d.nextHop = nh;
  const ai = st.nbr.resolved(nh | 0, out);
  d.arpEntry = ai;
  if (ai >= 0) d.nhState = NH_RESOLVED;
  else {
    // The pending queue's calls take the next hop as int32 bits (arp-pending.ts: as uint32,
    // one of 128.0.0.0 or more was a heap number per call while it is being resolved).
    const p = st.nbr.pending;
    d.nhState = p.get(nh | 0) === undefined ? NH_REQUEST : NH_QUEUED;
    if (!p.hasRoom(nh | 0)) return drop(d, D_ARP_QUEUE_FULL);
    // The hold budgets (arrival interface, router, arena) — the commit still hands the frame
    // to the neighbour layer, which starts resolution and counts the refusal on its budget.
    if (!st.nbr.holdBudget(inIf).canTake()) return drop(d, D_ARP_HOLD_LIMIT);
  }
  d.verdict = V_FORWARD;
}

/**
 * A datagram that needs NAT and has no session: the translation and the session it opens
 * (table and per-source quota, gateway port, tuple conflicts — what the commit's Conntrack calls
 * will say). False: dropped. Once per new session.
 *
 * The addresses (`src`, `ns`, `nd`) and port words reach here and the Conntrack calls as int32
 * bits, the decision's fields are written as uint32: a uint32 of 2^31 or more handed to a call
 * V8 does not inline is a heap number (an address of 128.0.0.0/1, a source port of 32768 or
 * more) — seven per new session to or from such an address.
 */
function decideSession(st: ForwardingState, d: Decision, mode: number, canCreate: boolean, src: number, ns: number, nd: number): boolean {
  const ct = st.ct;
  const proto = d.proto;
  const ports = d.ports | 0;
  const needsPool = mode === M_SNAT_GW || (mode === M_DNAT && ns !== src && st.fixedToFip.get(src) === -1);
  d.snatPort = -1;
  d.nSrc = ns >>> 0;
  d.nDst = nd >>> 0;
  if (d.laterFrag) {
    // No reassembly: a later fragment carries no ports. 1:1 floating-IP translation is
    // stateless and still works; port translation cannot.
    if (needsPool) {
      drop(d, D_NAT_FRAGMENT);
      return false;
    }
    d.nPorts = 0;
    return true;
  }
  if (!canCreate && (needsPool || proto === ipv4.PROTO_ICMP)) {
    // Port translation needs ports/ids; ICMP other than echo request never opens a session
    // (errors are translated through the session they quote).
    drop(d, D_NAT_PROTO);
    return false;
  }
  // Quotas first (Conntrack.admit), then the port, then what Conntrack.create checks — each
  // with the expired record, which the commit removes first, counted as absent.
  const adm = ct.peekAdmit(src, d.expired);
  if (adm < 0) {
    drop(d, adm === CREATE_FULL ? D_NAT_FULL : D_NAT_SOURCE);
    return false;
  }
  const rkey = replyKey(proto, d.pkey);
  let nports = ports;
  if (needsPool) {
    const port = ct.peekSnatPort(rkey, nd, ns, ports & 0xffff, ports >>> 16, proto === ipv4.PROTO_ICMP, d.expired);
    if (port < 0) {
      drop(d, D_NAT_PORTS);
      return false;
    }
    d.snatPort = port;
    d.snatRnd = ct.peekRnd;
    nports = proto === ipv4.PROTO_ICMP ? (port << 16) | port : (port << 16) | (ports & 0xffff);
  }
  d.nPorts = nports >>> 0;
  if (ct.lookupExcept(d.pkey, src, d.dst | 0, ports, d.expired) >= 0 || ct.lookupExcept(rkey, nd, ns, swapPorts(nports), d.expired) >= 0) {
    drop(d, D_NAT_CONFLICT);
    return false;
  }
  d.newSession = true;
  return true;
}

/** The reply to an echo request is an echo reply (type is part of the ICMP key). */
export function replyKey(proto: number, pkey: number): number {
  return proto === ipv4.PROTO_ICMP ? pkey ^ (icmp.ECHO_REQUEST << 8) : pkey;
}

/** A datagram for one of the router's own addresses: answer pings, drop the rest. */
function decideLocal(st: ForwardingState, a: PacketArena, s: number, inIf: number, l3: number, l4: number, d: Decision): void {
  const b = a.bytes;
  if (inIf < 0) return drop(d, D_LOCAL_LOOP);
  if (l4 !== 0 && ipv4.protocol(b, l3) === ipv4.PROTO_ICMP && icmp.type(b, l4) === icmp.ECHO_REQUEST && !ipv4.isFragment(b, l3)) {
    d.verdict = V_ECHO_REPLY;
    return;
  }
  drop(d, inIf === st.gw ? D_NAT_UNSOLICITED : D_LOCAL_UNSUPPORTED);
}
