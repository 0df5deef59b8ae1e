/**
 * The flow tables' connection tracker: what OVS's ct() action does to one packet, on the shared
 * Conntrack (packet/conntrack.ts — the same tables, state machine and timeouts as the router's
 * NAT). One CtStage per bridge; zones (ct(zone=N)) keep tenants apart inside its table.
 *
 *   lookup    (zone, proto, src, dst, ports) in the table: either direction of a connection;
 *             IPv4 and IPv6 (128-bit addresses, the same table, bound and state machine)
 *   state     +trk, then +new (no connection yet, or no reply seen), +est (+rpl in the reply
 *             direction), +rel (an ICMP/ICMPv6 error quoting a tracked connection), +inv (what
 *             conntrack cannot accept: bad TCP flags, a segment outside the window, an ICMP
 *             error quoting nothing tracked, a later fragment, IPv6 neighbour discovery and
 *             other ICMPv6 that is neither echo nor error, a packet that is not IP)
 *   commit    creates the connection (bounded table: a full table drops the packet, counted)
 *             and stores ct_mark/ct_label from exec(); a commit of an existing connection
 *             updates them
 *
 * Validity follows OVS's userspace conntrack (lib/conntrack-tcp.c, conntrack-icmp.c): TCP
 * `tcp_invalid_flags` and `tcp_valid_new` (a SYN+ACK cannot open a connection), ICMP echo
 * requests open one, echo replies and errors do not. IPv6 connections are not translated: a
 * ct(nat) on an IPv6 packet tracks it untranslated.
 *
 * One packet, one run of the state machine per zone (OVS caches the connection on the packet):
 * when ct() meets a packet that an earlier ct() of the same pass already tracked in the same
 * zone (its ct_state/ct_zone words say so: ct(table=T) then ct(commit) in T, as Neutron's
 * firewall does), the connection is found again but its counters, TCP state and windows are
 * not advanced a second time.
 *
 * Hot path: an established connection costs one hash lookup, the state machine and a few
 * array writes — no allocation; results land in this object's numeric fields (`state`,
 * `mark`, ...) and, for ct(table=T), in the packet's flow-key words.
 */
import type { PacketArena } from '../packet/arena';
import {
  Conntrack, CF_DNAT, CF_SEEN_REPLY, CF_SNAT, CREATE_CONFLICT, PK_IPV6, REMOVE_EXPIRED, REMOVE_FLUSHED, STATE_NAMES, S_TCP_CLOSE, S_TCP_TIME_WAIT, type ConntrackOptions,
} from '../packet/conntrack';
import { DropCounters } from '../packet/drops';
import * as K from '../packet/flow-key';
import { parseQuoted, quoted, translateIcmpError } from '../packet/nat';
import { parseQuoted6, quoted6 } from '../packet/icmp6-quote';
import * as eth from '../wire/ethernet';
import * as icmp from '../wire/icmp';
import * as icmpv6 from '../wire/icmpv6';
import * as ipv4 from '../wire/ipv4';
import * as ipv6 from '../wire/ipv6';
import * as tcp from '../wire/tcp';
import * as A from './actions';
import { CTF_COMMIT, CTF_FORCE, CTF_LABEL, CTF_MARK } from './actions';
import { rewritePacket } from '../packet/rewrite';
import * as vnet from '../packet/vnet';
import { CS_DST_NAT, CS_ESTABLISHED, CS_INVALID, CS_NEW, CS_RELATED, CS_REPLY_DIR, CS_SRC_NAT, CS_TRACKED } from './fields';

/** Why conntrack marked a packet +inv (counted; the packet is not dropped here, flows decide). */
export const CT_INVALID_REASONS = [
  'not_ip', // neither IPv4 nor IPv6
  'fragment', // a later IPv4/IPv6 fragment (no reassembly: its ports are not in the packet)
  'truncated', // TCP/UDP/ICMP without its header
  'tcp_flags', // a flag combination no TCP sends (OVS tcp_invalid_flags)
  'tcp_new', // a segment that cannot open a connection (SYN+ACK without one)
  'tcp_window', // outside the sequence window the other side advertised
  'icmp_new', // an ICMP type that cannot open a connection (echo reply, IPv6 ND, ...)
  'icmp_quote', // an ICMP error whose quoted datagram is garbage
  'icmp_unrelated', // an ICMP error quoting no tracked connection
  'conflict', // a commit whose reply tuple belongs to another connection
] as const;
export type CtInvalidReason = (typeof CT_INVALID_REASONS)[number];
const INV = (r: CtInvalidReason): number => CT_INVALID_REASONS.indexOf(r);
const INV_NOT_IP = INV('not_ip');
const INV_FRAGMENT = INV('fragment');
const INV_TRUNCATED = INV('truncated');
const INV_TCP_FLAGS = INV('tcp_flags');
const INV_TCP_NEW = INV('tcp_new');
const INV_TCP_WINDOW = INV('tcp_window');
const INV_ICMP_NEW = INV('icmp_new');
const INV_ICMP_QUOTE = INV('icmp_quote');
const INV_ICMP_UNRELATED = INV('icmp_unrelated');
const INV_CONFLICT = INV('conflict');

/** process() results. */
export const CT_OK = 0;
/** A commit found the table (or the source's share of it) full: drop the packet. */
export const CT_FULL = 1;
/** A commit with nat(src|dst=) found no free address/port: drop (never send it untranslated). */
export const CT_NAT_EXHAUSTED = 2;


const ETH_IP = eth.ETH_P_IPV4;
const ETH_IPV6 = eth.ETH_P_IPV6;
const TCP_FIN = tcp.FIN;
const TCP_SYN = tcp.SYN;
const TCP_RST = tcp.RST;
const TCP_PSH = tcp.PSH;
const TCP_ACK = tcp.ACK_FLAG;
const TCP_URG = 0x20;

/** OVS tcp_invalid_flags: combinations no TCP stack sends. */
export function tcpInvalidFlags(f: number): boolean {
  if ((f & TCP_SYN) !== 0) {
    if ((f & (TCP_RST | TCP_FIN)) !== 0) return true;
  } else if ((f & (TCP_ACK | TCP_RST)) === 0) {
    return true; // neither SYN, ACK nor RST
  }
  if ((f & TCP_ACK) === 0 && (f & (TCP_FIN | TCP_PSH | TCP_URG)) !== 0) return true;
  return false;
}

/** Protocol names of dump-conntrack (OVS ct_dpif_format_ipproto); others print as a number. */
const IPPROTO_NAMES: Record<number, string> = { 1: 'icmp', 58: 'icmpv6', 6: 'tcp', 17: 'udp', 132: 'sctp', 136: 'udplite', 33: 'dccp', 2: 'igmp' };

/** Default bound of a bridge's flow conntrack (OVS userspace: ct-set-maxconns default 3,000,000). */
export const DEFAULT_CT_MAX = 262144;

export class CtStage {
  readonly table: Conntrack;
  /** +inv marks by reason. */
  readonly invalid = new DropCounters<CtInvalidReason>(CT_INVALID_REASONS);
  /** Commits refused because the table was full (those packets are dropped by the flow stage). */
  full = 0;
  /** Connections committed. */
  committed = 0;
  /** Commits with nat() that found no free address/port in the range (those packets are dropped). */
  natExhausted = 0;

  // ---- the result of the last process() (read by the executor and trace) ----
  state = 0;
  zone = 0;
  mark = 0;
  label0 = 0;
  label1 = 0;
  label2 = 0;
  label3 = 0;
  /** Original-direction tuple (ct_nw_src.. ct_tp_dst); zero for invalid packets. */
  origSrc = 0;
  origDst = 0;
  origProto = 0;
  origSport = 0;
  origDport = 0;
  /** Connection record the packet belongs to, or -1. */
  rec = -1;
  /**
   * The batch's clock (ms), set once per batch by the executor. A field, not an argument: a
   * clock value is a double, and passing it to a call that is not inlined boxes it — measured,
   * one heap number per packet on the established path.
   */
  now = 0;

  constructor(opts: ConntrackOptions = {}) {
    // No per-source share by default: a firewall's connections are the VMs' own (netfilter has
    // no per-source limit either); the table bound still holds.
    const max = opts.maxSessions ?? DEFAULT_CT_MAX;
    this.table = new Conntrack({ ...opts, maxSessions: max, maxPerSource: opts.maxPerSource ?? max });
    this.table.trackTcpWindows = true;
  }

  /**
   * Run conntrack for the packet in `slot` in `zone`. `flags` CTF_*; the OP_CT instruction at
   * `pc` of `plan` holds exec()'s ct_mark/ct_label writes (applied on commit) and the nat()
   * range. `dry`: decide only (trace) — no connection created, removed or advanced. Results in
   * this object's fields; CT_FULL when a commit could not be stored. With CTF_NAT the packet is
   * translated as its connection says (and a commit with nat(src|dst=) sets that up).
   */
  process(a: PacketArena, slot: number, zone: number, flags: number, dry: boolean, plan: readonly number[], pc: number): number {
    const now = this.now;
    // int32 bits: exec() takes them, and a mark of 2^31 or more as uint32 is a heap number there.
    const markV = plan[pc + A.CT_MARK_V] | 0;
    const markM = plan[pc + A.CT_MARK_M] | 0;
    const labelAt = pc + A.CT_LABEL;
    const key = a.key;
    const k = slot << K.KEY_SHIFT;
    const ct = this.table;
    this.zone = zone;
    this.mark = 0;
    this.label0 = this.label1 = this.label2 = this.label3 = 0;
    this.origSrc = this.origDst = this.origProto = this.origSport = this.origDport = 0;
    this.rec = -1;
    const dlType = key[k + K.K_DL_TYPE];
    const v6 = dlType === ETH_IPV6;
    if (dlType !== ETH_IP && !v6) return this.inv(INV_NOT_IP);
    if ((key[k + K.K_NW_FRAG] & K.NW_FRAG_LATER) !== 0) return this.inv(INV_FRAGMENT);
    // Tracked already in this zone by an earlier ct() of this pass (ct(table=T) then
    // ct(commit)): the connection's state machine has seen this packet once (OVS's cached conn).
    const again = (key[k + K.K_CT_STATE] & (CS_TRACKED | CS_INVALID)) === CS_TRACKED && key[k + K.K_CT_ZONE] === zone;
    const proto = key[k + K.K_NW_PROTO];
    // IPv6: the key's NW_SRC/NW_DST words are zero; the addresses are its K_IPV6_* words.
    const src = key[k + K.K_NW_SRC];
    const dst = key[k + K.K_NW_DST];
    const b = a.bytes;
    const ip = a.start[slot] + a.l3[slot];
    const l4 = a.l4[slot];
    const p = a.start[slot] + l4;
    const tot = v6 ? ipv6.payloadLen(b, ip) : ipv4.totalLen(b, ip);
    const frameEnd = a.start[slot] + a.len[slot];
    // A TSO super-frame may carry 0 here (IPv6: a jumbogram too); Ethernet padding makes the
    // frame longer than the IP packet.
    const ipEnd = tot === 0 ? frameEnd : Math.min(ip + tot + (v6 ? ipv6.HEADER_LEN : 0), frameEnd);
    const icmpProto = v6 ? ipv4.PROTO_ICMPV6 : ipv4.PROTO_ICMP;
    const echoRequest = v6 ? icmpv6.ECHO_REQUEST : icmp.ECHO_REQUEST;
    let pk = v6 ? proto | PK_IPV6 : proto;
    let ports = 0;
    let tflags = 0;
    let tpSrc = 0;
    let tpDst = 0;
    if (proto === ipv4.PROTO_TCP || proto === ipv4.PROTO_UDP) {
      if (l4 === 0) return this.inv(INV_TRUNCATED);
      tpSrc = key[k + K.K_TP_SRC];
      tpDst = key[k + K.K_TP_DST];
      ports = (tpSrc << 16) | tpDst; // int32, see pkz below
      if (proto === ipv4.PROTO_TCP) {
        tflags = tcp.flags(b, p);
        if (tcpInvalidFlags(tflags)) return this.inv(INV_TCP_FLAGS);
      }
    } else if (proto === icmpProto) {
      if (l4 === 0) return this.inv(INV_TRUNCATED);
      const type = key[k + K.K_TP_SRC];
      tpSrc = type;
      tpDst = key[k + K.K_TP_DST];
      if (v6 ? type === icmpv6.ECHO_REQUEST || type === icmpv6.ECHO_REPLY : type === icmp.ECHO_REQUEST || type === icmp.ECHO_REPLY) {
        // ICMPv6 guarantees 4 bytes only; an echo with a code is no echo (OVS extract_l4_icmp6).
        if (v6 && (ipEnd - p < icmpv6.ECHO_LEN || tpDst !== 0)) return this.inv(ipEnd - p < icmpv6.ECHO_LEN ? INV_TRUNCATED : INV_ICMP_NEW);
        const id = v6 ? icmpv6.echoId(b, p) : icmp.echoId(b, p);
        ports = (id << 16) | id;
        pk = proto | (type << 8); // ICMPv6 echo types (128, 129) carry PK_IPV6 themselves
      } else if (v6 ? icmpv6.isError(type) : icmp.isError(type)) {
        return v6 ? this.related6(a, slot, ip, p, ipEnd, zone, now) : this.related(a, slot, p, ipEnd, zone, now, flags);
      } else {
        // Neighbour discovery (NS/NA/RS/RA) among them: OVS's ct() calls it invalid; Neutron's
        // firewall lets it pass by explicit flows ahead of ct().
        return this.inv(INV_ICMP_NEW);
      }
    }
    // The port and protocol words are int32 (the table stores and compares their bits), never
    // uint32: a port word from 2^31 (sport or echo id >= 32768 — which of them depends on the
    // connection) would be a heap number, and code optimized on connections below it
    // deoptimizes at the first one above ("lost precision").
    const pkz = pk | (zone << 16);
    let e = ct.count === 0 ? -1 : v6 ? ct.lookup6(pkz, key, k + K.K_IPV6_SRC, k + K.K_IPV6_DST, ports) : ct.lookup(pkz, src | 0, dst | 0, ports);
    if (e >= 0 && ct.expires[e >> 1] <= now) {
      if (!dry) ct.remove(e >> 1, REMOVE_EXPIRED);
      e = -1;
    }
    const commit = (flags & CTF_COMMIT) !== 0;
    if (e >= 0 && proto === ipv4.PROTO_TCP) {
      const cs = ct.state[e >> 1];
      if ((cs === S_TCP_CLOSE || cs === S_TCP_TIME_WAIT) && (tflags & (TCP_SYN | TCP_ACK)) === TCP_SYN) {
        // A new SYN on a closed connection's tuple starts a new connection (port reuse).
        if (!dry) ct.remove(e >> 1, REMOVE_EXPIRED);
        e = -1;
      } else if (!dry && !again && !this.tcpSegment(e, b, p, ip, ipEnd, tflags)) {
        return this.inv(INV_TCP_WINDOW);
      }
    }
    if (e >= 0 && (flags & CTF_FORCE) !== 0 && commit && (e & 1) === 1) {
      // ct(force): a connection met in its reply direction is ended and this packet starts anew.
      if (!dry) ct.remove(e >> 1, REMOVE_EXPIRED);
      e = -1;
    }
    let st = CS_TRACKED;
    let rec: number;
    if (e >= 0) {
      rec = e >> 1;
      if (!dry && !again) {
        ct.now = now;
        ct.advance(e, tflags);
      }
      if ((e & 1) === 1) st |= CS_REPLY_DIR | CS_ESTABLISHED;
      else st |= (ct.cflags[rec] & CF_SEEN_REPLY) !== 0 ? CS_ESTABLISHED : CS_NEW;
      if (commit && !dry) this.exec(rec, flags, markV, markM, plan, labelAt);
      const nat = ct.cflags[rec] & (CF_SNAT | CF_DNAT);
      if ((flags & A.CTF_NAT) !== 0 && nat !== 0) {
        // OVS nat_packet: the reply direction gets the reverse translation (+dnat for SNAT).
        st |= (nat === CF_SNAT) === ((e & 1) === 0) ? CS_SRC_NAT : CS_DST_NAT;
        this.translate(a, slot, e);
      }
    } else {
      // No connection: may this packet open one? (OVS tcp_valid_new / icmp_valid_new)
      if (proto === ipv4.PROTO_TCP && (tflags & (TCP_SYN | TCP_ACK)) === (TCP_SYN | TCP_ACK)) return this.inv(INV_TCP_NEW);
      if (proto === icmpProto && tpSrc !== echoRequest) return this.inv(INV_ICMP_NEW);
      st |= CS_NEW;
      rec = -1;
      if (commit && !dry) {
        // The reply of an echo request is an echo reply: 8 <-> 0, and 128 <-> 129 for ICMPv6.
        const rpk = proto === icmpProto ? pkz ^ ((v6 ? 1 : icmp.ECHO_REQUEST) << 8) : pkz;
        // The tuple as int32 bits, the time through Conntrack's field (Conntrack.create says
        // why: else a heap number for each word of 2^31 or more, per new connection).
        let nsrc = src | 0;
        let ndst = dst | 0;
        let nports = ports;
        const natKind = v6 ? 0 : flags & (A.CTF_NAT_SRC | A.CTF_NAT_DST);
        if (natKind !== 0) {
          if (ct.admit(src | 0) < 0) {
            this.full++;
            this.state = st;
            return CT_FULL;
          }
          if (!this.natChoice(natKind, proto, rpk, src | 0, dst | 0, ports, plan, pc)) {
            this.natExhausted++;
            this.state = st;
            return CT_NAT_EXHAUSTED;
          }
          nsrc = this.nSrc;
          ndst = this.nDst;
          nports = this.nPorts;
        }
        const init = Conntrack.initialState(proto, tflags);
        ct.now = now;
        const r = v6
          ? ct.create6(pkz, key, k + K.K_IPV6_SRC, k + K.K_IPV6_DST, ports, rpk, init)
          : ct.create(pkz, src | 0, dst | 0, ports, nsrc, ndst, nports, rpk, init);
        if (r === CREATE_CONFLICT) return this.inv(INV_CONFLICT);
        if (r < 0) {
          this.full++;
          this.state = st;
          return CT_FULL;
        }
        rec = r;
        this.committed++;
        ct.ePackets[rec * 2] = 1; // the committing packet is the connection's first
        if (proto === ipv4.PROTO_TCP) this.tcpSegment(rec * 2, b, p, ip, ipEnd, tflags);
        this.exec(rec, flags, markV, markM, plan, labelAt);
        if (natKind !== 0) {
          ct.cflags[rec] |= natKind === A.CTF_NAT_SRC ? CF_SNAT : CF_DNAT;
          st |= natKind === A.CTF_NAT_SRC ? CS_SRC_NAT : CS_DST_NAT;
          this.translate(a, slot, rec * 2);
        }
      }
    }
    this.state = st;
    if (rec >= 0) {
      this.readConn(rec);
    } else {
      this.origSrc = src;
      this.origDst = dst;
      this.origProto = proto;
      this.origSport = tpSrc;
      this.origDport = tpDst;
    }
    return CT_OK;
  }

  // natChoice() result, int32 bits.
  private nSrc = 0;
  private nDst = 0;
  private nPorts = 0;

  /**
   * The translated tuple of a new connection for ct(commit,nat(src|dst=A[-B][:P[-Q]])): SNAT
   * tries each address of the range (at most 16) with the router's port search (the original
   * port kept when free, else bounded rounds of tries from random offsets, unique per reply
   * tuple); DNAT takes the first address and the given port (or the original one). False when
   * no address/port is free (the caller drops the packet; nothing is created).
   */
  private natChoice(kind: number, proto: number, rpk: number, src: number, dst: number, ports: number, plan: readonly number[], pc: number): boolean {
    // Addresses and port words in and out as int32 bits (the Conntrack calls' arguments).
    const ct = this.table;
    const amin = plan[pc + A.CT_NAT_ADDR_MIN] >>> 0;
    const amaxRaw = plan[pc + A.CT_NAT_ADDR_MAX] >>> 0;
    const pmin = plan[pc + A.CT_NAT_PORT_MIN];
    const pmax = Math.max(plan[pc + A.CT_NAT_PORT_MAX], pmin);
    const sport = ports >>> 16;
    const dport = ports & 0xffff;
    const hasPorts = proto === ipv4.PROTO_TCP || proto === ipv4.PROTO_UDP;
    const echo = proto === ipv4.PROTO_ICMP;
    if (kind === A.CTF_NAT_DST) {
      this.nSrc = src;
      this.nDst = amin !== 0 ? amin | 0 : dst;
      this.nPorts = hasPorts && pmin !== 0 ? (sport << 16) | pmin : ports;
      return true;
    }
    const first = amin !== 0 ? amin : src >>> 0;
    const last = amin !== 0 && amaxRaw > amin ? Math.min(amaxRaw, amin + 15) : first;
    for (let addr = first; addr <= last; addr++) {
      let port = sport;
      if (hasPorts || echo) {
        port = ct.natPortIn(rpk, dst, addr | 0, dport, sport, echo, pmin !== 0 ? pmin : 1024, pmin !== 0 ? pmax : 65535);
        if (port < 0) continue;
      } else if (ct.lookup(rpk, dst, addr | 0, 0) >= 0) continue;
      this.nSrc = addr | 0;
      this.nDst = dst;
      this.nPorts = echo ? (port << 16) | port : hasPorts ? (port << 16) | dport : 0;
      return true;
    }
    return false;
  }

  /** Rewrite the packet (addresses, ports or echo id, checksums) and its key to entry `e`'s translation. */
  private translate(a: PacketArena, slot: number, e: number): void {
    const ct = this.table;
    const k = slot << K.KEY_SHIFT;
    const key = a.key;
    const l4 = a.l4[slot];
    const proto = key[k + K.K_NW_PROTO];
    const ns = ct.xSrc[e];
    const nd = ct.xDst[e];
    const np = ct.xPorts[e];
    rewritePacket(a.bytes, a.view, a.start[slot] + a.l3[slot], l4 === 0 ? 0 : a.start[slot] + l4, proto, vnet.needsCsum(a, slot), ns | 0, nd | 0, np | 0, -1);
    key[k + K.K_NW_SRC] = ns;
    key[k + K.K_NW_DST] = nd;
    if (proto === ipv4.PROTO_TCP || proto === ipv4.PROTO_UDP) {
      key[k + K.K_TP_SRC] = np >>> 16;
      key[k + K.K_TP_DST] = np & 0xffff;
    }
  }

  /**
   * An ICMP error: +rel when it quotes a tracked connection of this zone, else +inv. With
   * ct(nat) and a NATed connection, the error and the datagram it quotes are translated as the
   * router translates them (packet/nat.ts translateIcmpError), so traceroute and path-MTU
   * discovery work through the flow tables' NAT too.
   */
  private related(a: PacketArena, slot: number, p: number, ipEnd: number, zone: number, now: number, flags: number): number {
    const b = a.bytes;
    if (!parseQuoted(b, p, ipEnd)) return this.inv(INV_ICMP_QUOTE);
    // As OVS (lib/conntrack.c, going beyond pf): the quoted datagram must have come from the host
    // the error is sent to, so an error cannot be aimed at a third host to ride a connection.
    if ((quoted.src | 0) !== (ipv4.dst(b, a.start[slot] + a.l3[slot]) | 0)) return this.inv(INV_ICMP_QUOTE);
    const ct = this.table;
    // parseQuoted gives the tuple a reply to the quoted datagram would carry; looked up as the
    // decide stage of the router does, the entry found is the direction the error travels.
    const q = ct.count === 0 ? -1 : ct.lookup(quoted.protoKey | (zone << 16), quoted.dst | 0, quoted.src | 0, quoted.ports | 0);
    if (q < 0 || ct.expires[q >> 1] <= now) return this.inv(INV_ICMP_UNRELATED);
    let st = CS_TRACKED | CS_RELATED | ((q & 1) === 1 ? CS_REPLY_DIR : 0);
    const nat = ct.cflags[q >> 1] & (CF_SNAT | CF_DNAT);
    if ((flags & A.CTF_NAT) !== 0 && nat !== 0) {
      st |= (nat === CF_SNAT) === ((q & 1) === 0) ? CS_SRC_NAT : CS_DST_NAT;
      const l3 = a.start[slot] + a.l3[slot];
      translateIcmpError(b, l3, p, ct.xSrc[q], ct.xDst[q], ct.xPorts[q]);
      const k = slot << K.KEY_SHIFT;
      a.key[k + K.K_NW_SRC] = ipv4.src(b, l3);
      a.key[k + K.K_NW_DST] = ipv4.dst(b, l3);
    }
    this.state = st;
    this.readConn(q >> 1);
    return CT_OK;
  }

  /**
   * An ICMPv6 error: +rel when its quote (packet/icmp6-quote.ts) is a tracked connection of this
   * zone, else +inv. IPv6 connections are not translated, so neither is the error.
   */
  private related6(a: PacketArena, slot: number, ip: number, p: number, ipEnd: number, zone: number, now: number): number {
    if (!parseQuoted6(a.bytes, ip, p, ipEnd)) return this.inv(INV_ICMP_QUOTE);
    const ct = this.table;
    const q = ct.count === 0 ? -1 : ct.lookup6((quoted6.protoKey | (zone << 16)) | 0, quoted6.addr, 0, 4, quoted6.ports | 0);
    if (q < 0 || ct.expires[q >> 1] <= now) return this.inv(INV_ICMP_UNRELATED);
    this.state = CS_TRACKED | CS_RELATED | ((q & 1) === 1 ? CS_REPLY_DIR : 0);
    this.readConn(q >> 1);
    return CT_OK;
  }

  private inv(reason: number): number {
    this.invalid.add(reason);
    this.state = CS_TRACKED | CS_INVALID;
    return CT_OK;
  }

  /** The TCP segment against the connection's windows (entry `e`). */
  private tcpSegment(e: number, b: Uint8Array, p: number, ip: number, ipEnd: number, f: number): boolean {
    const doff = tcp.dataOffset(b, p);
    const len = Math.max(0, ipEnd - p - doff);
    const ws = (f & TCP_SYN) !== 0 ? tcp.windowScale(b, p, ipEnd) : -1;
    void ip;
    return this.table.tcpSegment(e, f, tcp.seqBits(b, p), tcp.ackBits(b, p), tcp.window(b, p), len, ws);
  }

  /** ct(commit, exec(...)): store ct_mark / ct_label writes on the connection. */
  private exec(rec: number, flags: number, markV: number, markM: number, plan: readonly number[], at: number): void {
    const ct = this.table;
    if ((flags & CTF_MARK) !== 0) ct.mark[rec] = ((ct.mark[rec] & ~markM) | (markV & markM)) >>> 0;
    if ((flags & CTF_LABEL) !== 0) {
      const l = rec * 4;
      for (let i = 0; i < 4; i++) {
        const m = plan[at + 4 + i];
        ct.label[l + i] = ((ct.label[l + i] & ~m) | (plan[at + i] & m)) >>> 0;
      }
    }
  }

  /** mark, label and original tuple of connection `rec` into the result fields. */
  private readConn(rec: number): void {
    const ct = this.table;
    this.rec = rec;
    this.mark = ct.mark[rec];
    const l = rec * 4;
    this.label0 = ct.label[l];
    this.label1 = ct.label[l + 1];
    this.label2 = ct.label[l + 2];
    this.label3 = ct.label[l + 3];
    const f = rec * 2;
    const pk = ct.eProto[f];
    const proto = pk & 0xff;
    // ct_nw_src/dst are IPv4's; an IPv6 connection's words are digests, not addresses.
    const v6 = (pk & PK_IPV6) !== 0;
    this.origSrc = v6 ? 0 : ct.eSrc[f];
    this.origDst = v6 ? 0 : ct.eDst[f];
    this.origProto = proto;
    if (v6 ? proto === ipv4.PROTO_ICMPV6 : proto === ipv4.PROTO_ICMP) {
      this.origSport = (pk >>> 8) & 0xff; // ICMP type (and code 0) of the opening message
      this.origDport = 0;
    } else {
      this.origSport = ct.ePorts[f] >>> 16;
      this.origDport = ct.ePorts[f] & 0xffff;
    }
  }

  /** Write the last result into the packet's flow-key words (what ct(table=T) matches on). */
  writeKey(key: Uint32Array, slot: number): void {
    const k = slot << K.KEY_SHIFT;
    key[k + K.K_CT_STATE] = this.state;
    key[k + K.K_CT_ZONE] = this.zone;
    key[k + K.K_CT_MARK] = this.mark;
    key[k + K.K_CT_LABEL] = this.label0;
    key[k + K.K_CT_LABEL + 1] = this.label1;
    key[k + K.K_CT_LABEL + 2] = this.label2;
    key[k + K.K_CT_LABEL + 3] = this.label3;
    key[k + K.K_CT_NW_SRC] = this.origSrc;
    key[k + K.K_CT_NW_DST] = this.origDst;
    key[k + K.K_CT_NW_PROTO] = this.origProto;
    key[k + K.K_CT_TP_SRC] = this.origSport;
    key[k + K.K_CT_TP_DST] = this.origDport;
  }

  /**
   * The connections as `ovs-appctl dpctl/dump-conntrack` prints them (OVS ct_dpif_format_entry),
   * optionally of one zone, in table order:
   *   tcp,orig=(src=A,dst=B,sport=P,dport=Q),reply=(...),zone=Z,mark=M,labels=0x..,protoinfo=(state=ESTABLISHED)
   * Control plane (allocates).
   */
  dump(zone?: number): string[] {
    const ct = this.table;
    const out: string[] = [];
    for (const rec of ct.liveRecords()) {
      const f = rec * 2;
      const z = ct.eProto[f] >>> 16;
      if (zone !== undefined && z !== zone) continue;
      const proto = ct.eProto[f] & 0xff;
      let s = `${IPPROTO_NAMES[proto] ?? String(proto)},orig=(${this.tuple(f)}),reply=(${this.tuple(f + 1)})`;
      if (z !== 0) s += `,zone=${z}`;
      if (ct.mark[rec] !== 0) s += `,mark=${ct.mark[rec]}`;
      const l = rec * 4;
      let lv = 0n;
      for (let i = 0; i < 4; i++) lv = (lv << 32n) | BigInt(ct.label[l + i]);
      if (lv !== 0n) s += `,labels=0x${lv.toString(16)}`;
      if (proto === 6) s += `,protoinfo=(state=${STATE_NAMES[ct.state[rec]]})`;
      out.push(s);
    }
    return out;
  }

  /** One direction as OVS ct_dpif_format_tuple prints it (ICMP/ICMPv6: id, type, code; else ports). */
  private tuple(e: number): string {
    const ct = this.table;
    const pk = ct.eProto[e];
    let s: string;
    if ((pk & PK_IPV6) !== 0 && ct.a6 !== null) {
      const w = ct.a6;
      const x = e * 8;
      s = `src=${ipv6.formatAddr6Words(w[x], w[x + 1], w[x + 2], w[x + 3])},dst=${ipv6.formatAddr6Words(w[x + 4], w[x + 5], w[x + 6], w[x + 7])}`;
    } else {
      const ip = (v: number): string => `${v >>> 24}.${(v >>> 16) & 0xff}.${(v >>> 8) & 0xff}.${v & 0xff}`;
      s = `src=${ip(ct.eSrc[e])},dst=${ip(ct.eDst[e])}`;
    }
    const proto = pk & 0xff;
    if (proto === ipv4.PROTO_ICMP || proto === ipv4.PROTO_ICMPV6) s += `,id=${ct.ePorts[e] >>> 16},type=${(pk >>> 8) & 0xff},code=0`;
    else s += `,sport=${ct.ePorts[e] >>> 16},dport=${ct.ePorts[e] & 0xffff}`;
    return s;
  }

  /** Remove every connection, or those of one zone (`flush-conntrack`). Returns how many. */
  flush(zone?: number): number {
    const ct = this.table;
    let n = 0;
    for (const rec of ct.liveRecords()) {
      if (zone !== undefined && ct.eProto[rec * 2] >>> 16 !== zone) continue;
      ct.remove(rec, REMOVE_FLUSHED);
      n++;
    }
    return n;
  }

  /** Reap expired connections (the bridge's tick). */
  expire(now: number): number {
    return this.table.expire(now);
  }
}

/** ct_clear: the packet's conntrack words back to untracked. */
export function clearCtKey(key: Uint32Array, slot: number): void {
  const k = slot << K.KEY_SHIFT;
  for (let w = K.K_CT_STATE; w <= K.K_CT_TP_DST; w++) key[k + w] = 0;
}
