/**
 * Test and benchmark helpers for the flow tables: a BridgeOps that records instead of sending,
 * frame builders with correct checksums, and a fixed port map. Not used by the data path.
 */
import type { PacketArena } from '../packet/arena';
import type { BridgeOps, PacketInReason } from './bridge-ops';
import { FLOW_DROPS } from './flow-drops';
import { KEY_SHIFT, KEY_WORDS } from '../packet/flow-key';
import { checksum, pseudoSumV4 } from '../wire/checksum';

export interface Sent {
  kind: 'output' | 'normal' | 'flood' | 'all' | 'controller' | 'drop';
  port?: number;
  reason?: string;
  cookie?: bigint;
  table?: number;
  /** controller: the action's max_len. */
  maxLen?: number;
  hex: string;
  /** The key words of the slot when it was handed over. */
  key: Uint32Array;
}

/** A BridgeOps that records every call (with the frame bytes) and releases the slot. */
export class RecordingOps implements BridgeOps {
  readonly name = 'test';
  readonly sent: Sent[] = [];
  constructor(
    readonly arena: PacketArena,
    private readonly ports: Record<string, number> = {},
  ) {}
  private rec(kind: Sent['kind'], s: number, extra: Partial<Sent> = {}): void {
    const k = s << KEY_SHIFT;
    this.sent.push({ kind, hex: this.arena.frame(s).toString('hex'), key: this.arena.key.slice(k, k + KEY_WORDS), ...extra });
    this.arena.release(s);
  }
  output(slot: number, ofport: number): void {
    this.rec('output', slot, { port: ofport });
  }
  normal(slot: number): void {
    this.rec('normal', slot);
  }
  flood(slot: number, includeInput: boolean): void {
    this.rec(includeInput ? 'all' : 'flood', slot);
  }
  controller(slot: number, table: number, cookie: bigint, reason: PacketInReason, maxLen: number): void {
    this.rec('controller', slot, { table, cookie, reason, maxLen });
  }
  drop(slot: number, reason: number): void {
    this.rec('drop', slot, { reason: FLOW_DROPS.reasons[reason] });
  }
  ofportByName(name: string): number {
    return this.ports[name] ?? -1;
  }
  portName(ofport: number): string | undefined {
    return Object.keys(this.ports).find((n) => this.ports[n] === ofport);
  }
  inPort(slot: number): number {
    return this.arena.key[slot << KEY_SHIFT];
  }
}

/** Keeps every slot (the bench reuses them); counts what would have left. */
export class SinkOps implements BridgeOps {
  readonly name = 'sink';
  sent = 0;
  dropped = 0;
  constructor(readonly arena: PacketArena) {}
  output(_slot: number): void {
    this.sent++;
  }
  normal(): void {
    this.sent++;
  }
  flood(): void {
    this.sent++;
  }
  controller(): void {
    this.sent++;
  }
  drop(): void {
    this.dropped++;
  }
  ofportByName(): number {
    return -1;
  }
  portName(): string | undefined {
    return undefined;
  }
  inPort(slot: number): number {
    return this.arena.key[slot << KEY_SHIFT];
  }
}

function hexBytes(h: string): number[] {
  const clean = h.replace(/[^0-9a-f]/gi, '');
  const out: number[] = [];
  for (let i = 0; i < clean.length; i += 2) out.push(parseInt(clean.slice(i, i + 2), 16));
  return out;
}

export interface FrameSpec {
  dst?: string;
  src?: string;
  vlan?: number; // VID (802.1Q tag) when set
  pcp?: number;
  outerVlan?: number; // 802.1ad outer tag
  ipSrc?: string;
  ipDst?: string;
  proto?: 'tcp' | 'udp' | 'icmp' | 'none';
  sport?: number;
  dport?: number;
  ttl?: number;
  tos?: number;
  payload?: number; // payload bytes after L4 header
  udpZeroCsum?: boolean;
  /** TCP sequence and acknowledgement numbers and flags (default seq 1, ack 0, PSH|ACK). */
  tcpSeq?: number;
  tcpAck?: number;
  tcpFlags?: number;
  arp?: { op: number; sha: string; spa: string; tha: string; tpa: string };
}

const ip4 = (s: string): number[] => s.split('.').map(Number);

/** Build an Ethernet frame with correct IPv4/L4 checksums. */
export function buildFrame(f: FrameSpec = {}): Uint8Array {
  const b: number[] = [...hexBytes(f.dst ?? '02:00:00:00:00:02'), ...hexBytes(f.src ?? '02:00:00:00:00:01')];
  if (f.outerVlan !== undefined) b.push(0x88, 0xa8, (f.outerVlan >> 8) & 0x0f, f.outerVlan & 0xff);
  if (f.vlan !== undefined) {
    const tci = ((f.pcp ?? 0) << 13) | f.vlan;
    b.push(0x81, 0x00, tci >> 8, tci & 0xff);
  }
  if (f.arp) {
    b.push(0x08, 0x06, 0, 1, 8, 0, 6, 4, 0, f.arp.op, ...hexBytes(f.arp.sha), ...ip4(f.arp.spa), ...hexBytes(f.arp.tha), ...ip4(f.arp.tpa));
    while (b.length < 60) b.push(0);
    return Uint8Array.from(b);
  }
  b.push(0x08, 0x00);
  const l3 = b.length;
  const proto = f.proto ?? 'tcp';
  const pnum = proto === 'tcp' ? 6 : proto === 'udp' ? 17 : proto === 'icmp' ? 1 : 253;
  const l4len = (proto === 'tcp' ? 20 : proto === 'none' ? 0 : 8) + (f.payload ?? 6);
  const tot = 20 + l4len;
  b.push(0x45, f.tos ?? 0, tot >> 8, tot & 0xff, 0x12, 0x34, 0x40, 0, f.ttl ?? 64, pnum, 0, 0, ...ip4(f.ipSrc ?? '10.0.0.1'), ...ip4(f.ipDst ?? '10.0.0.2'));
  const l4 = b.length;
  const sp = f.sport ?? 1234;
  const dp = f.dport ?? 80;
  if (proto === 'tcp') {
    const sq = f.tcpSeq ?? 1;
    const ak = f.tcpAck ?? 0;
    b.push(sp >> 8, sp & 0xff, dp >> 8, dp & 0xff, (sq >>> 24) & 0xff, (sq >>> 16) & 0xff, (sq >>> 8) & 0xff, sq & 0xff);
    b.push((ak >>> 24) & 0xff, (ak >>> 16) & 0xff, (ak >>> 8) & 0xff, ak & 0xff, 0x50, f.tcpFlags ?? 0x18, 0xff, 0xff, 0, 0, 0, 0);
  }
  else if (proto === 'udp') b.push(sp >> 8, sp & 0xff, dp >> 8, dp & 0xff, l4len >> 8, l4len & 0xff, 0, 0);
  else if (proto === 'icmp') b.push(8, 0, 0, 0, 0, 1, 0, 1);
  for (let i = 0; i < (f.payload ?? 6); i++) b.push((i * 7 + 3) & 0xff);
  const u = Uint8Array.from(b);
  const ipc = checksum(u, l3, 20);
  u[l3 + 10] = ipc >> 8;
  u[l3 + 11] = ipc & 0xff;
  if (proto === 'tcp' || proto === 'udp') {
    const off = proto === 'tcp' ? 16 : 6;
    let c = checksum(u, l4, l4len, pseudoSumV4(u, l3, pnum, l4len));
    if (proto === 'udp' && c === 0) c = 0xffff;
    if (f.udpZeroCsum) c = 0;
    u[l4 + off] = c >> 8;
    u[l4 + off + 1] = c & 0xff;
  } else if (proto === 'icmp') {
    const c = checksum(u, l4, l4len);
    u[l4 + 2] = c >> 8;
    u[l4 + 3] = c & 0xff;
  }
  if (u.length >= 60) return u;
  const pad = new Uint8Array(60);
  pad.set(u);
  return pad;
}

/** Deterministic PRNG (mulberry32) for randomized tests and benches. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
