/**
 * Shared helpers of the l3-*.test.ts files: a router wired to a capture list, frame builders
 * with checksums from the reference implementation (test/fixtures/util.ts, independent of
 * src/wire/checksum.ts), and from-scratch checksum verification of emitted frames.
 */
import { PacketArena } from '../../src/packet/arena';
import { Batch } from '../../src/packet/batch';
import { parseSlot } from '../../src/packet/parse';
import { Router, RouterOptions } from '../../src/l3/router';
import { parseMac } from '../../src/wire/ethernet';
import { parseAddr } from '../../src/wire/ipv4';
import { refChecksum } from '../fixtures/util';

export function mac(m: string): Buffer {
  const b = Buffer.alloc(6);
  let v = parseMac(m);
  for (let i = 5; i >= 0; i--) {
    b[i] = v % 256;
    v = Math.floor(v / 256);
  }
  return b;
}
export function ip(a: string): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(parseAddr(a));
  return b;
}
export function ipStr(b: Buffer, off: number): string {
  return `${b[off]}.${b[off + 1]}.${b[off + 2]}.${b[off + 3]}`;
}
export function macStr(b: Buffer, off: number): string {
  return [...b.subarray(off, off + 6)].map((x) => x.toString(16).padStart(2, '0')).join(':');
}

function pseudo(src: Buffer, dst: Buffer, proto: number, len: number): Buffer {
  const p = Buffer.alloc(12);
  src.copy(p, 0);
  dst.copy(p, 4);
  p[9] = proto;
  p.writeUInt16BE(len, 10);
  return p;
}

/** L4 checksum from scratch (pseudo header + segment with the field zeroed). */
export function refL4(src: Buffer, dst: Buffer, proto: number, seg: Buffer, field: number): number {
  const s = Buffer.from(seg);
  s.writeUInt16BE(0, field);
  return refChecksum(Buffer.concat([pseudo(src, dst, proto, seg.length), s]));
}

export interface IpOpts {
  src: string;
  dst: string;
  proto: number;
  l4: Buffer;
  ttl?: number;
  df?: boolean;
  mf?: boolean;
  fragOff?: number;
  id?: number;
  tos?: number;
}
export function ipPacket(o: IpOpts): Buffer {
  const h = Buffer.alloc(20);
  h[0] = 0x45;
  h[1] = o.tos ?? 0;
  h.writeUInt16BE(20 + o.l4.length, 2);
  h.writeUInt16BE(o.id ?? 0x1234, 4);
  h.writeUInt16BE((o.df ? 0x4000 : 0) | (o.mf ? 0x2000 : 0) | (o.fragOff ?? 0), 6);
  h[8] = o.ttl ?? 64;
  h[9] = o.proto;
  ip(o.src).copy(h, 12);
  ip(o.dst).copy(h, 16);
  h.writeUInt16BE(refChecksum(h), 10);
  return Buffer.concat([h, o.l4]);
}
export function ethFrame(dmac: string, smac: string, type: number, payload: Buffer): Buffer {
  const t = Buffer.alloc(2);
  t.writeUInt16BE(type);
  let f = Buffer.concat([mac(dmac), mac(smac), t, payload]);
  if (f.length < 60) f = Buffer.concat([f, Buffer.alloc(60 - f.length)]);
  return f;
}
export function ipFrame(dmac: string, smac: string, o: IpOpts): Buffer {
  return ethFrame(dmac, smac, 0x0800, ipPacket(o));
}

export function tcpSeg(src: string, dst: string, sport: number, dport: number, flags: number, payload: Buffer = Buffer.alloc(0), seq = 1000): Buffer {
  const s = Buffer.alloc(20 + payload.length);
  s.writeUInt16BE(sport, 0);
  s.writeUInt16BE(dport, 2);
  s.writeUInt32BE(seq, 4);
  s[12] = 0x50;
  s[13] = flags;
  s.writeUInt16BE(65535, 14);
  payload.copy(s, 20);
  s.writeUInt16BE(refL4(ip(src), ip(dst), 6, s, 16), 16);
  return s;
}
export function udpDgram(src: string, dst: string, sport: number, dport: number, payload: Buffer = Buffer.from('hello, router'), zero = false): Buffer {
  const s = Buffer.alloc(8 + payload.length);
  s.writeUInt16BE(sport, 0);
  s.writeUInt16BE(dport, 2);
  s.writeUInt16BE(s.length, 4);
  payload.copy(s, 8);
  if (!zero) {
    let c = refL4(ip(src), ip(dst), 17, s, 6);
    if (c === 0) c = 0xffff;
    s.writeUInt16BE(c, 6);
  }
  return s;
}
export function icmpMsg(type: number, code: number, rest: number, payload: Buffer = Buffer.from('0123456789abcdef')): Buffer {
  const m = Buffer.alloc(8 + payload.length);
  m[0] = type;
  m[1] = code;
  m.writeUInt32BE(rest >>> 0, 4);
  payload.copy(m, 8);
  m.writeUInt16BE(refChecksum(m), 2);
  return m;
}
export function echo(type: number, id: number, seq: number, payload?: Buffer): Buffer {
  return icmpMsg(type, 0, ((id << 16) | seq) >>> 0, payload);
}
export function arpFrame(op: number, smac: string, spa: string, tmac: string, tpa: string, dmac = 'ff:ff:ff:ff:ff:ff'): Buffer {
  const p = Buffer.alloc(28);
  p.writeUInt16BE(1, 0);
  p.writeUInt16BE(0x0800, 2);
  p[4] = 6;
  p[5] = 4;
  p.writeUInt16BE(op, 6);
  mac(smac).copy(p, 8);
  ip(spa).copy(p, 14);
  mac(tmac).copy(p, 18);
  ip(tpa).copy(p, 24);
  return ethFrame(dmac, smac, 0x0806, p);
}

/** Decoded IPv4 frame (Ethernet + IP + L4 view) for assertions. */
export interface Decoded {
  dmac: string;
  smac: string;
  type: number;
  ip: Buffer; // from the IP header to the end of the datagram (total length)
  src: string;
  dst: string;
  ttl: number;
  proto: number;
  l4: Buffer;
}
export function decode(f: Buffer): Decoded {
  const type = f.readUInt16BE(12);
  const ipb = f.subarray(14, type === 0x0800 ? 14 + f.readUInt16BE(16) : f.length);
  const hl = (ipb[0] & 15) * 4;
  return {
    dmac: macStr(f, 0), smac: macStr(f, 6), type, ip: ipb, src: ipStr(ipb, 12), dst: ipStr(ipb, 16), ttl: ipb[8], proto: ipb[9], l4: ipb.subarray(hl),
  };
}

/**
 * Every checksum of an emitted IPv4 frame recomputed from scratch and compared: IPv4 header,
 * TCP, UDP (0 allowed only when `udpZeroOk`), ICMP, and for ICMP errors the quoted IP header.
 * Returns a list of problems (empty = all good).
 */
export function checksumProblems(f: Buffer, udpZeroOk = false): string[] {
  const bad: string[] = [];
  const d = decode(f);
  if (d.type !== 0x0800) return ['not ipv4'];
  const hl = (d.ip[0] & 15) * 4;
  const h = Buffer.from(d.ip.subarray(0, hl));
  const stored = h.readUInt16BE(10);
  h.writeUInt16BE(0, 10);
  if (refChecksum(h) !== stored) bad.push(`ip header checksum ${stored.toString(16)} != ${refChecksum(h).toString(16)}`);
  const frag = (d.ip.readUInt16BE(6) & 0x3fff) !== 0;
  if (frag) return bad;
  const src = d.ip.subarray(12, 16);
  const dst = d.ip.subarray(16, 20);
  if (d.proto === 6) {
    const want = refL4(src, dst, 6, d.l4, 16);
    if (d.l4.readUInt16BE(16) !== want) bad.push(`tcp checksum ${d.l4.readUInt16BE(16).toString(16)} != ${want.toString(16)}`);
  } else if (d.proto === 17) {
    const got = d.l4.readUInt16BE(6);
    let want = refL4(src, dst, 17, d.l4, 6);
    if (want === 0) want = 0xffff;
    if (got === 0 ? !udpZeroOk : got !== want) bad.push(`udp checksum ${got.toString(16)} != ${want.toString(16)}`);
  } else if (d.proto === 1) {
    const m = Buffer.from(d.l4);
    const got = m.readUInt16BE(2);
    m.writeUInt16BE(0, 2);
    if (refChecksum(m) !== got) bad.push(`icmp checksum ${got.toString(16)} != ${refChecksum(m).toString(16)}`);
    if ([3, 4, 5, 11, 12].includes(m[0]) && m.length >= 28) {
      const iq = Buffer.from(m.subarray(8, 8 + (m[8] & 15) * 4));
      const ig = iq.readUInt16BE(10);
      iq.writeUInt16BE(0, 10);
      if (refChecksum(iq) !== ig) bad.push(`inner ip checksum ${ig.toString(16)} != ${refChecksum(iq).toString(16)}`);
    }
  }
  return bad;
}

export interface Emitted {
  iface: number;
  frame: Buffer;
}

/** A router on a fresh arena whose emitted frames are captured (and their slots released). */
export function harness(opts: Partial<RouterOptions> = {}) {
  const clock = { now: 1_000_000 };
  const arena = new PacketArena({ slots: 512, slotSize: 4096 });
  const r = new Router('r1', arena, { clock: () => clock.now, ...opts });
  const out: Emitted[] = [];
  r.onEmit = (slot, iface) => {
    out.push({ iface, frame: arena.frame(slot) });
    arena.release(slot);
  };
  const batch = new Batch(64);
  /** Hand frames to router interface `iface`; `vnetHdr` (10 bytes) goes to the slot base. */
  function send(iface: number, frames: Buffer | Buffer[], vnetHdr?: Uint8Array): Emitted[] {
    const list = Array.isArray(frames) ? frames : [frames];
    out.length = 0;
    for (const f of list) {
      const s = arena.allocFrom(f);
      if (s < 0) throw new Error('arena exhausted in test');
      if (vnetHdr) arena.bytes.set(vnetHdr, arena.base(s));
      const rc = parseSlot(arena, s, 7);
      if (rc !== -1) throw new Error(`test frame does not parse (reason ${rc})`);
      batch.push(s);
    }
    r.input(batch, iface);
    return out.splice(0);
  }
  function tick(ms = 0): Emitted[] {
    clock.now += ms;
    out.length = 0;
    r.tick();
    return out.splice(0);
  }
  return { r, arena, clock, send, tick, out };
}
