/**
 * DHCP responder for one network (Neutron's dnsmasq role, static host entries only): a pure
 * function from a client frame to a reply frame. DISCOVER → OFFER and REQUEST → ACK for a
 * known MAC; REQUEST for another address → NAK; an unknown MAC gets no answer (another server
 * may own it). RFC 2131 / RFC 2132.
 *
 *   BOOTP (RFC 951) after Ethernet(14) + IPv4(20) + UDP(8):
 *   0 op | 1 htype | 2 hlen | 3 hops | 4-7 xid | 8-9 secs | 10-11 flags | 12-15 ciaddr
 *   16-19 yiaddr | 20-23 siaddr | 24-27 giaddr | 28-43 chaddr | 44-107 sname | 108-235 file
 *   236-239 magic cookie 99.130.83.99 | 240- options (code, len, value), 255 = end
 *
 * Control-plane speed (allocates per message): DHCP is a handful of frames per VM boot.
 */
import * as ipv4 from '../wire/ipv4';
import { parseMac, formatMac, readMac, writeMac } from '../wire/ethernet';
import * as udp from '../wire/udp';

const BOOTP = 42; // Ethernet + IPv4 (no options) + UDP
const COOKIE = 0x63825363;
const OPT_PAD = 0;
const OPT_END = 255;

export const DHCPDISCOVER = 1;
export const DHCPOFFER = 2;
export const DHCPREQUEST = 3;
export const DHCPACK = 5;
export const DHCPNAK = 6;

export interface DhcpConfig {
  /** The network, 'a.b.c.d/len' (option 1 comes from the length). */
  subnet: string;
  /** Default router (option 3). */
  gateway: string;
  dns?: string[];
  /** Lease time in seconds (option 51). Default 86400. */
  leaseSec?: number;
  /** Interface MTU (option 26), e.g. 1450 on an overlay. */
  mtu?: number;
  serverMac: string;
  serverIp: string;
}

export interface DhcpEvent {
  type: 'offer' | 'ack' | 'nak';
  mac: string;
  ip: string;
}

export class DhcpServer {
  private readonly mask: number;
  private readonly net: number;
  private readonly gateway: number;
  private readonly dns: number[];
  private readonly lease: number;
  private readonly mtu: number | undefined;
  private readonly serverMac: number;
  private readonly serverIp: number;
  private readonly hosts = new Map<number, number>(); // MAC → IP
  onEvent: ((ev: DhcpEvent) => void) | null = null;

  constructor(cfg: DhcpConfig) {
    const { addr, len } = ipv4.parseCidr(cfg.subnet);
    this.mask = ipv4.prefixMask(len);
    this.net = (addr & this.mask) >>> 0;
    this.gateway = ipv4.parseAddr(cfg.gateway);
    this.dns = (cfg.dns ?? []).map(ipv4.parseAddr);
    this.lease = cfg.leaseSec ?? 86400;
    this.mtu = cfg.mtu;
    if (this.mtu !== undefined && (this.mtu < 68 || this.mtu > 65535)) throw new Error(`dhcp: mtu must be 68..65535, got ${this.mtu}`);
    this.serverMac = parseMac(cfg.serverMac);
    this.serverIp = ipv4.parseAddr(cfg.serverIp);
  }

  /** Static bindings, for save-config and show. */
  bindings(): { mac: string; ip: string }[] {
    return [...this.hosts].map(([m, a]) => ({ mac: formatMac(m), ip: ipv4.formatAddr(a) }));
  }

  addHost(mac: string, ip: string): void {
    const a = ipv4.parseAddr(ip);
    if (((a & this.mask) >>> 0) !== this.net) throw new Error(`dhcp: ${ip} is not in the subnet`);
    this.hosts.set(parseMac(mac), a);
  }

  delHost(mac: string): boolean {
    return this.hosts.delete(parseMac(mac));
  }

  /** A client frame (Ethernet, untagged) in; the reply frame, or null for no answer. */
  handle(frame: Uint8Array): Uint8Array | null {
    const b = frame;
    if (b.length < BOOTP + 240 || b[12] !== 0x08 || b[13] !== 0x00) return null;
    if (ipv4.check(b, 14, b.length - 14) !== ipv4.OK || b[14 + ipv4.PROTOCOL] !== 17) return null;
    const u = 14 + ipv4.headerLen(b, 14);
    if (udp.dstPort(b, u) !== 67) return null;
    const p = u + 8;
    if (p + 240 > b.length || b[p] !== 1 || b[p + 1] !== 1 || b[p + 2] !== 6) return null;
    if (read32(b, p + 236) !== COOKIE) return null;
    const opts = parseOptions(b, p + 240, 14 + ipv4.totalLen(b, 14));
    const type = opts.get(53)?.[0];
    const chaddr = readMac(b, p + 28);
    const host = this.hosts.get(chaddr);
    if (host === undefined) return null;
    if (type === DHCPDISCOVER) return this.reply(b, p, DHCPOFFER, host, chaddr);
    if (type !== DHCPREQUEST) return null;
    const sid = opts.get(54);
    if (sid !== undefined && (sid.length !== 4 || read32(sid, 0) !== this.serverIp)) return null; // chose another server
    const req = opts.get(50);
    const wanted = req !== undefined && req.length === 4 ? read32(req, 0) : read32(b, p + 12);
    return this.reply(b, p, wanted === host ? DHCPACK : DHCPNAK, host, chaddr);
  }

  private reply(req: Uint8Array, p: number, type: number, host: number, chaddr: number): Uint8Array {
    const opts: number[] = [53, 1, type, 54, 4, ...bytes32(this.serverIp)];
    if (type !== DHCPNAK) {
      opts.push(51, 4, ...bytes32(this.lease));
      opts.push(1, 4, ...bytes32(this.mask));
      opts.push(3, 4, ...bytes32(this.gateway));
      if (this.dns.length > 0) opts.push(6, 4 * this.dns.length, ...this.dns.flatMap(bytes32));
      if (this.mtu !== undefined) opts.push(26, 2, this.mtu >>> 8, this.mtu & 0xff);
    }
    opts.push(OPT_END);
    // BOOTP messages are at least 300 bytes (RFC 1542 §2.1): pad the options.
    const bootpLen = Math.max(300, 240 + opts.length);
    const out = new Uint8Array(BOOTP + bootpLen);
    const q = BOOTP;
    out[q] = 2;
    out[q + 1] = 1;
    out[q + 2] = 6;
    out.set(req.subarray(p + 4, p + 8), q + 4); // xid
    out.set(req.subarray(p + 10, p + 12), q + 10); // flags
    const ciaddr = read32(req, p + 12);
    if (type !== DHCPNAK) {
      ipv4.writeAddr(out, q + 12, ciaddr);
      ipv4.writeAddr(out, q + 16, host);
    }
    out.set(req.subarray(p + 24, p + 28), q + 24); // giaddr
    out.set(req.subarray(p + 28, p + 44), q + 28); // chaddr
    ipv4.writeAddr(out, q + 236, COOKIE);
    out.set(opts, q + 240);
    // RFC 2131 §4.1: NAK and broadcast-flag replies go to broadcast; otherwise to the
    // client's hardware address and the address being assigned (or its current one).
    const bcast = type === DHCPNAK || (req[p + 10] & 0x80) !== 0;
    writeMac(out, 0, bcast ? 0xffffffffffff : chaddr);
    writeMac(out, 6, this.serverMac);
    out[12] = 0x08;
    out[13] = 0x00;
    const dst = bcast ? 0xffffffff : ciaddr !== 0 ? ciaddr : host;
    ipv4.emitIpv4({ totalLength: 20 + 8 + bootpLen, protocol: 17, src: this.serverIp, dst, ttl: 64 }, out, 14);
    udp.setSrcPort(out, 34, 67);
    udp.setDstPort(out, 34, 68);
    udp.setLength(out, 34, 8 + bootpLen);
    udp.fillChecksumV4(out, 14, 34);
    this.onEvent?.({ type: type === DHCPOFFER ? 'offer' : type === DHCPACK ? 'ack' : 'nak', mac: formatMac(chaddr), ip: ipv4.formatAddr(host) });
    return out;
  }
}

function read32(b: Uint8Array, p: number): number {
  return ((b[p] << 24) | (b[p + 1] << 16) | (b[p + 2] << 8) | b[p + 3]) >>> 0;
}
function bytes32(v: number): number[] {
  return [v >>> 24, (v >>> 16) & 0xff, (v >>> 8) & 0xff, v & 0xff];
}

/** Options as code → value bytes (first occurrence wins); stops at END or the data end. */
export function parseOptions(b: Uint8Array, p: number, end: number): Map<number, Uint8Array> {
  const m = new Map<number, Uint8Array>();
  while (p < end) {
    const code = b[p];
    if (code === OPT_END) break;
    if (code === OPT_PAD) {
      p++;
      continue;
    }
    if (p + 1 >= end) break;
    const len = b[p + 1];
    if (p + 2 + len > end) break;
    if (!m.has(code)) m.set(code, b.subarray(p + 2, p + 2 + len));
    p += 2 + len;
  }
  return m;
}
