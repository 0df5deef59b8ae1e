/**
 * Whole frames built with the wire emitters, for tests, benches and tools that make traffic
 * (allocating; never used by the datapath). Here because only src/wire knows byte layouts.
 */
import { parseMac } from './ethernet';
import { emitIpv4, parseAddr } from './ipv4';
import { emitArp, OP_REQUEST } from './arp';
import { checksum } from './checksum';
import * as udp from './udp';

function macBytes(mac: string): Buffer {
  const b = Buffer.alloc(6);
  let v = parseMac(mac);
  for (let i = 5; i >= 0; i--) {
    b[i] = v % 256;
    v = Math.floor(v / 256);
  }
  return b;
}

/** Ethernet frame, optionally 802.1Q-tagged (vid) — payload padded to 60 bytes total. */
export function ethFrame(dst: string, src: string, type: number, payload: Buffer, vid?: number, pad = true): Buffer {
  const tag = vid === undefined ? Buffer.alloc(0) : Buffer.from([0x81, 0x00, (vid >> 8) & 0x0f, vid & 0xff]);
  const t = Buffer.from([type >> 8, type & 0xff]);
  let f = Buffer.concat([macBytes(dst), macBytes(src), tag, t, payload]);
  if (pad && f.length < 60) f = Buffer.concat([f, Buffer.alloc(60 - f.length)]);
  return f;
}

/** UDP/IPv4 datagram inside an Ethernet frame, correct checksums. */
export function udpFrame(o: { dst: string; src: string; ipSrc: string; ipDst: string; sport?: number; dport?: number; payload?: Buffer; vid?: number; ttl?: number }): Buffer {
  const payload = o.payload ?? Buffer.from('hello');
  const ip = Buffer.alloc(20 + 8 + payload.length);
  emitIpv4({ totalLength: ip.length, protocol: 17, src: o.ipSrc, dst: o.ipDst, ttl: o.ttl ?? 64 }, ip, 0);
  udp.setSrcPort(ip, 20, o.sport ?? 1234);
  udp.setDstPort(ip, 20, o.dport ?? 5678);
  udp.setLength(ip, 20, 8 + payload.length);
  payload.copy(ip, 28);
  udp.fillChecksumV4(ip, 0, 20);
  return ethFrame(o.dst, o.src, 0x0800, ip, o.vid);
}

/** ICMP echo request (type 8) or reply (type 0) inside an Ethernet frame, correct checksums. */
export function icmpEchoFrame(o: { dst: string; src: string; ipSrc: string; ipDst: string; type: 0 | 8; id?: number; seq?: number; vid?: number }): Buffer {
  const ip = Buffer.alloc(20 + 8 + 56);
  emitIpv4({ totalLength: ip.length, protocol: 1, src: o.ipSrc, dst: o.ipDst }, ip, 0);
  ip[20] = o.type;
  ip.writeUInt16BE(o.id ?? 0, 24);
  ip.writeUInt16BE(o.seq ?? 0, 26);
  ip.writeUInt16BE(checksum(ip, 20, ip.length - 20), 22);
  return ethFrame(o.dst, o.src, 0x0800, ip, o.vid);
}

export function arpRequest(src: string, spa: string, tpa: string, vid?: number): Buffer {
  const p = Buffer.alloc(28);
  emitArp(p, 0, OP_REQUEST, parseMac(src), parseAddr(spa), 0, parseAddr(tpa));
  return ethFrame('ff:ff:ff:ff:ff:ff', src, 0x0806, p, vid);
}

/** VLAN id of a frame's outer 802.1Q tag, or undefined if untagged. */
export function frameVid(f: Buffer): number | undefined {
  const t = f.readUInt16BE(12);
  return t === 0x8100 || t === 0x88a8 ? f.readUInt16BE(14) & 0x0fff : undefined;
}

