/**
 * VXLAN encap + decap in memory: two switches joined by a tunnel whose underlay is an in-memory
 * ring instead of sockets, so the figure is tvs's own per-packet cost (outer headers written,
 * checked and stripped, demultiplexing, tun_id in the key) and not the kernel's UDP path.
 *
 *   gen ─ A: br0 ── vxlan port ══ memory underlay ══ vxlan port ── B: br0 ─ sink
 *
 * Beside it, the same two switches joined by the same ring carrying the frames as they are (a
 * plain link: same copies, no outer headers), so the ratio isolates the tunnel. Both sides
 * forward by NORMAL. 64-byte inner frames. Not asserted.
 */
import { Switch } from '../src/datapath/switch';
import { SwitchPort } from '../src/datapath/switch-port';
import { MemoryPort } from '../src/io/memory-port';
import type { ArenaView, NativeBinding, NativePortStats, PortInfo } from '../src/io/binding';
import { udpFrame } from '../src/wire/frames';
import { defaultIoFactory, IoFactory } from '../src/datapath/io-factory';
import { TunnelPort } from '../src/io/tunnel-port';
import { Port, PortCounters, PortKind } from '../src/io/port';
import { PacketArena } from '../src/packet/arena';
import { Batch } from '../src/packet/batch';

const RING = 4096;
const CELL = 2048;

/** A preallocated ring of UDP payloads standing in for the network between two underlays. */
class Wire {
  readonly buf = new Uint8Array(RING * CELL);
  readonly len = new Uint32Array(RING);
  head = 0;
  tail = 0;
}

/** The NativeBinding of one side: tx writes UDP payloads into `out`, rx reads them from `in`. */
class MemoryUnderlay implements NativeBinding {
  private arena?: ArenaView;
  private u8?: Uint8Array;
  constructor(
    private readonly out: Wire,
    private readonly inn: Wire,
    private readonly src: number,
  ) {}
  openAfPacket(): number {
    throw new Error('unused');
  }
  openTap(): { handle: number; name: string } {
    throw new Error('unused');
  }
  openUnderlay(_k: 'vxlan' | 'gre', _o: unknown, arena: ArenaView): number {
    this.arena = arena;
    this.u8 = new Uint8Array(arena.buffer);
    return 1;
  }
  routeMtu(): number {
    return 1500;
  }
  rxBurst(_h: number, slots: Uint32Array, max: number): number {
    const a = this.arena!;
    const u8 = this.u8!;
    const w = this.inn;
    let n = 0;
    while (n < max && w.tail !== w.head) {
      const s = slots[n++];
      const start = s * a.slotSize + a.headroom;
      const cell = (w.tail % RING) * CELL;
      const l = w.len[w.tail % RING];
      u8.set(w.buf.subarray(cell, cell + l), start);
      u8[start - 8] = this.src >>> 24;
      u8[start - 7] = (this.src >>> 16) & 0xff;
      u8[start - 6] = (this.src >>> 8) & 0xff;
      u8[start - 5] = this.src & 0xff;
      a.start[s] = start;
      a.len[s] = l;
      w.tail++;
    }
    return n;
  }
  txBurst(_h: number, slots: Uint32Array, n: number): number {
    const a = this.arena!;
    const u8 = this.u8!;
    const w = this.out;
    let k = 0;
    for (; k < n && w.head - w.tail < RING; k++) {
      const s = slots[k];
      const cell = (w.head % RING) * CELL;
      const l = a.len[s] - 28; // the UDP payload: what the kernel would deliver to the far socket
      w.buf.set(u8.subarray(a.start[s] + 28, a.start[s] + 28 + l), cell);
      w.len[w.head % RING] = l;
      w.head++;
    }
    return k;
  }
  pollStart(): void {}
  pollStop(): void {}
  close(): void {}
  info(): PortInfo {
    return { name: 'mem', ifindex: 0, mtu: 1500, mac: '00:00:00:00:00:00' };
  }
  stats(): NativePortStats {
    return { kernelDrops: 0, rxOversize: 0 };
  }
  ifInfo(): PortInfo {
    return this.info();
  }
}

/** The plain baseline: the same ring, frames copied in and out as they are (no outer headers). */
class RingPort implements Port {
  readonly kind: PortKind = 'memory';
  readonly offloads = false;
  readonly mtu = 1500;
  readonly up = true;
  readonly counters = new PortCounters();
  constructor(
    readonly name: string,
    private readonly arena: PacketArena,
    private readonly out: Wire,
    private readonly inn: Wire,
  ) {}
  rxBurst(batch: Batch): number {
    const a = this.arena;
    const w = this.inn;
    let n = 0;
    while (batch.count < batch.capacity && w.tail !== w.head) {
      const s = a.alloc(0);
      if (s < 0) break;
      const cell = (w.tail % RING) * CELL;
      const l = w.len[w.tail % RING];
      a.bytes.set(w.buf.subarray(cell, cell + l), a.start[s]);
      a.len[s] = l;
      w.tail++;
      batch.slots[batch.count++] = s;
      n++;
    }
    return n;
  }
  txBurst(slots: Uint32Array, n: number): number {
    const a = this.arena;
    const w = this.out;
    let k = 0;
    for (; k < n && w.head - w.tail < RING; k++) {
      const s = slots[k];
      w.buf.set(a.bytes.subarray(a.start[s], a.start[s] + a.len[s]), (w.head % RING) * CELL);
      w.len[w.head % RING] = a.len[s];
      w.head++;
    }
    return k;
  }
  start(): void {}
  stop(): void {}
  close(): void {}
  describe(): Record<string, unknown> {
    return { kind: 'ring' };
  }
}

function factory(binding: NativeBinding, out: Wire, inn: Wire): IoFactory {
  return {
    open(name, arena, config) {
      if (config.type === 'vxlan') return new TunnelPort(name, 'vxlan', arena, config.tunnel!, binding);
      if (name === 'link') return new RingPort(name, arena, out, inn);
      return defaultIoFactory.open(name, arena, config);
    },
  };
}

export function runTunnelMemory(opts: { packets?: number; tunnel?: boolean } = {}): { mpps: number; nsPerPacket: number } {
  const packets = opts.packets ?? 2_000_000;
  const tunnel = opts.tunnel ?? true;
  const ab = new Wire();
  const ba = new Wire();
  const arena = { slots: 1024, slotSize: 2048 + 128 };
  const A = new Switch({ arena, io: factory(new MemoryUnderlay(ab, ba, 0x0aea0002), ab, ba) });
  const B = new Switch({ arena, io: factory(new MemoryUnderlay(ba, ab, 0x0aea0001), ba, ab) });
  A.addBridge('br0');
  B.addBridge('br0');
  const gen = A.addPort('br0', 'gen', { type: 'memory' }).io as MemoryPort;
  const sink = B.addPort('br0', 'sink', { type: 'memory' }).io as MemoryPort;
  let la: SwitchPort;
  let lb: SwitchPort;
  if (tunnel) {
    la = A.addPort('br0', 'vx', { type: 'vxlan', tunnel: { remoteIp: '10.234.0.2', key: 100 } });
    lb = B.addPort('br0', 'vx', { type: 'vxlan', tunnel: { remoteIp: '10.234.0.1', key: 100 } });
  } else {
    la = A.addPort('br0', 'link', { type: 'memory' });
    lb = B.addPort('br0', 'link', { type: 'memory' });
  }
  for (const p of [gen, sink]) p.keep = 0;
  const M1 = '02:00:00:00:00:01';
  const M2 = '02:00:00:00:00:02';
  // Teach both bridges where M2 lives (a frame from the sink side).
  sink.inject(udpFrame({ dst: M1, src: M2, ipSrc: '10.0.0.2', ipDst: '10.0.0.1' }));
  B.runUntilIdle();
  const move = (): void => {
    B.drain(lb);
    A.drain(la);
  };
  move();
  const templates: Buffer[] = [];
  for (let i = 0; i < 16; i++) templates.push(udpFrame({ dst: M2, src: M1, ipSrc: '10.0.0.1', ipDst: '10.0.0.2', sport: 1000 + i, payload: Buffer.alloc(18) }));
  const drive = (n: number): void => {
    gen.setGenerator(templates, n);
    for (let left = true; left; ) {
      const got = A.runUntilIdle(4);
      move();
      left = got > 0;
    }
  };
  drive(100_000); // warm-up: the JIT compiles the hot path first
  const before = sink.counters.txPackets;
  const t0 = process.hrtime.bigint();
  drive(packets);
  const ns = Number(process.hrtime.bigint() - t0);
  const got = sink.counters.txPackets - before;
  if (got !== packets) throw new Error(`bench: sent ${packets}, delivered ${got}`);
  return { mpps: packets / ns * 1e3, nsPerPacket: ns / packets };
}

if (require.main === module) {
  const plain = runTunnelMemory({ tunnel: false });
  console.log(`two switches, plain memory link, 64 B: ${plain.mpps.toFixed(2)} Mpps, ${plain.nsPerPacket.toFixed(1)} ns/packet`);
  const vx = runTunnelMemory({ tunnel: true });
  console.log(`two switches, VXLAN encap+decap (memory underlay), 64 B: ${vx.mpps.toFixed(2)} Mpps, ${vx.nsPerPacket.toFixed(1)} ns/packet (${((vx.mpps / plain.mpps) * 100).toFixed(0)}% of the plain link)`);
}
