/**
 * IPv6 frame builders for tests (allocating; never used by the datapath): the fixed header,
 * extension headers, ICMPv6 with its pseudo-header checksum, and ND solicitations/advertisements
 * with link-layer address options (RFC 4861).
 */
import { parseAddr6Words } from '../../src/wire/ipv6';
import { ethFrame } from '../../src/wire/frames';

export function addr6(text: string): Buffer {
  const b = Buffer.alloc(16);
  parseAddr6Words(text).forEach((w, i) => b.writeUInt32BE(w, 4 * i));
  return b;
}

function mac6(mac: string): Buffer {
  return Buffer.from(mac.split(':').map((x) => parseInt(x, 16)));
}

/** Internet checksum over `parts` (sum of big-endian 16-bit words, complemented). */
function csum(...parts: Buffer[]): number {
  const b = Buffer.concat(parts);
  let s = 0;
  for (let i = 0; i < b.length; i += 2) s += (b[i] << 8) | (i + 1 < b.length ? b[i + 1] : 0);
  while (s > 0xffff) s = (s & 0xffff) + (s >>> 16);
  return ~s & 0xffff;
}

export interface Ip6Opts {
  src: string;
  dst: string;
  /** Next Header of the upper-layer payload (after `ext`). */
  proto: number;
  /** Upper-layer payload (its checksum already filled, see icmp6/udp6 below). */
  l4: Buffer;
  /** Extension headers in order, each [its own type, bytes without the Next Header byte filled]. */
  ext?: [number, Buffer][];
  tclass?: number;
  label?: number;
  hlim?: number;
  /** Override the payload length field. */
  payloadLen?: number;
}

/** An IPv6 packet; extension headers get their Next Header bytes chained. */
export function ip6Packet(o: Ip6Opts): Buffer {
  const ext = o.ext ?? [];
  const exts = ext.map(([, b], i) => {
    const c = Buffer.from(b);
    c[0] = i + 1 < ext.length ? ext[i + 1][0] : o.proto;
    return c;
  });
  const body = Buffer.concat([...exts, o.l4]);
  const h = Buffer.alloc(40);
  const tc = o.tclass ?? 0;
  const fl = o.label ?? 0;
  h.writeUInt32BE(((6 << 28) | (tc << 20) | fl) >>> 0, 0);
  h.writeUInt16BE(o.payloadLen ?? body.length, 4);
  h[6] = ext.length > 0 ? ext[0][0] : o.proto;
  h[7] = o.hlim ?? 64;
  addr6(o.src).copy(h, 8);
  addr6(o.dst).copy(h, 24);
  return Buffer.concat([h, body]);
}

/** The pseudo-header checksum of an upper-layer payload (RFC 8200 §8.1). */
export function l4Checksum6(src: string, dst: string, proto: number, l4: Buffer): number {
  const ph = Buffer.alloc(40);
  addr6(src).copy(ph, 0);
  addr6(dst).copy(ph, 16);
  ph.writeUInt32BE(l4.length, 32);
  ph[39] = proto;
  return csum(ph, l4);
}

/** ICMPv6 message (type, code, 4 bytes of header data, body) with its checksum. */
export function icmp6(src: string, dst: string, type: number, code: number, rest: Buffer = Buffer.alloc(4), body: Buffer = Buffer.alloc(0)): Buffer {
  const m = Buffer.concat([Buffer.from([type, code, 0, 0]), rest, body]);
  m.writeUInt16BE(l4Checksum6(src, dst, 58, m), 2);
  return m;
}

/** A link-layer address option (type 1 = source, 2 = target). */
export function llaOpt(type: number, mac: string): Buffer {
  return Buffer.concat([Buffer.from([type, 1]), mac6(mac)]);
}

/** NS (135) or NA (136) for `target`, with options, as an Ethernet frame. */
export function ndFrame(o: { type: 135 | 136; smac: string; dmac: string; src: string; dst: string; target: string; opts?: Buffer[]; flags?: number; code?: number }): Buffer {
  const rest = Buffer.alloc(4);
  rest.writeUInt32BE((o.flags ?? 0) >>> 0, 0);
  const l4 = icmp6(o.src, o.dst, o.type, o.code ?? 0, rest, Buffer.concat([addr6(o.target), ...(o.opts ?? [])]));
  return ethFrame(o.dmac, o.smac, 0x86dd, ip6Packet({ src: o.src, dst: o.dst, proto: 58, l4, hlim: 255 }), undefined, false);
}

/** UDP over IPv6 with its checksum. */
export function udp6(src: string, dst: string, sport: number, dport: number, payload: Buffer = Buffer.from('hello v6')): Buffer {
  const u = Buffer.alloc(8 + payload.length);
  u.writeUInt16BE(sport, 0);
  u.writeUInt16BE(dport, 2);
  u.writeUInt16BE(u.length, 4);
  payload.copy(u, 8);
  u.writeUInt16BE(l4Checksum6(src, dst, 17, u) || 0xffff, 6);
  return u;
}

/** A generic extension header (hop-by-hop, routing, destination options) of `len8` 8-byte units. */
export function extHdr(len8 = 1): Buffer {
  const b = Buffer.alloc(len8 * 8);
  b[1] = len8 - 1;
  if (len8 * 8 >= 8) { b[2] = 1; b[3] = len8 * 8 - 4; } // one PadN option filling the rest
  return b;
}

/** A fragment header: offset in 8-byte units, M flag, identification. */
export function fragHdr(offset: number, more: boolean, id = 0x12345678): Buffer {
  const b = Buffer.alloc(8);
  b.writeUInt16BE((offset << 3) | (more ? 1 : 0), 2);
  b.writeUInt32BE(id, 4);
  return b;
}

export function eth6(payload: Buffer, smac = '52:54:00:12:34:56', dmac = '52:54:00:ab:cd:ef'): Buffer {
  return ethFrame(dmac, smac, 0x86dd, payload, undefined, false);
}

/** TCP over IPv6 (20-byte header, flags) with its checksum. */
export function tcp6(src: string, dst: string, sport: number, dport: number, flags = 0x02): Buffer {
  const s = Buffer.alloc(20);
  s.writeUInt16BE(sport, 0);
  s.writeUInt16BE(dport, 2);
  s.writeUInt32BE(1000, 4);
  s[12] = 0x50;
  s[13] = flags;
  s.writeUInt16BE(65535, 14);
  s.writeUInt16BE(l4Checksum6(src, dst, 6, s), 16);
  return s;
}

/**
 * Is the upper-layer checksum of the IPv6 frame right (no extension headers)? Recomputed from
 * the addresses and payload as they are now; `at` is the checksum's offset in the L4 header.
 */
export function l4ChecksumOk6(frame: Uint8Array, at: number): boolean {
  const f = Buffer.from(frame);
  const l3 = 14;
  const plen = f.readUInt16BE(l3 + 4);
  const proto = f[l3 + 6];
  const fmt = (p: number) => Array.from({ length: 8 }, (_, i) => f.readUInt16BE(p + 2 * i).toString(16)).join(':');
  const l4 = Buffer.from(f.subarray(l3 + 40, l3 + 40 + plen));
  const have = l4.readUInt16BE(at);
  l4.writeUInt16BE(0, at);
  const want = l4Checksum6(fmt(l3 + 8), fmt(l3 + 24), proto, l4);
  return have === (proto === 17 && want === 0 ? 0xffff : want);
}
