/**
 * In-memory learning-bridge benchmark (Snabb `basic1` style): a generator memory port offers
 * 64-byte UDP frames to a learned destination, a sink memory port counts them. Measures the
 * whole per-batch path (rx copy into the arena, parse, NORMAL lookup/learn, tx queue, release)
 * on one core. Prints Mpps and ns/packet; the last line is the headline figure.
 */
import { Switch } from '../src/datapath/switch';
import { MemoryPort } from '../src/io/memory-port';
import { udpFrame } from '../src/wire/frames';

export interface L2Rig {
  sw: Switch;
  /** Offer `packets` frames and time them (after a warm-up on the first call). */
  run(packets: number): { mpps: number; nsPerPacket: number };
}

/** The bench's switch: a generator port and a sink port on br0, B already learned. */
export function makeL2Memory(opts: { size?: number; vlan?: boolean } = {}): L2Rig {
  const sw = new Switch({ arena: { slots: 1024, slotSize: 2048 + 128 } });
  sw.addBridge('br0');
  const src = sw.addPort('br0', 'gen', opts.vlan ? { type: 'memory', tag: 10 } : { type: 'memory' }).io as MemoryPort;
  const dst = sw.addPort('br0', 'sink', { type: 'memory' }).io as MemoryPort;
  dst.keep = 0;
  src.keep = 0;
  const A = '02:00:00:00:00:01';
  const B = '02:00:00:00:00:02';
  const pad = Buffer.alloc(Math.max(0, (opts.size ?? 64) - 46));
  // Teach the bridge where B lives.
  dst.inject(udpFrame({ dst: A, src: B, ipSrc: '10.0.0.2', ipDst: '10.0.0.1', vid: opts.vlan ? 10 : undefined }));
  sw.runUntilIdle();
  const templates: Buffer[] = [];
  for (let i = 0; i < 16; i++) templates.push(udpFrame({ dst: B, src: A, ipSrc: '10.0.0.1', ipDst: '10.0.0.2', sport: 1000 + i, payload: pad }));
  let warm = false;
  return {
    sw,
    run(packets: number) {
      if (!warm) {
        // Warm-up so the JIT has compiled the hot path before we time it.
        src.setGenerator(templates, 200_000);
        sw.runUntilIdle(1e9);
        warm = true;
      }
      const before = dst.counters.txPackets;
      src.setGenerator(templates, packets);
      const t0 = process.hrtime.bigint();
      sw.runUntilIdle(1e9);
      const ns = Number(process.hrtime.bigint() - t0);
      const got = dst.counters.txPackets - before;
      if (got !== packets) throw new Error(`bench: sent ${packets}, delivered ${got}`);
      return { mpps: (packets / ns) * 1e3, nsPerPacket: ns / packets };
    },
  };
}

export function runL2Memory(opts: { packets?: number; size?: number; vlan?: boolean } = {}): { mpps: number; nsPerPacket: number } {
  return makeL2Memory(opts).run(opts.packets ?? 5_000_000);
}

/**
 * NORMAL flooding: broadcast frames from the generator to three sink ports, so every frame is
 * cloned twice (arena.clone) and sent three times. Returns ns per offered frame.
 */
export function runL2Flood(packets = 2_000_000): { mpps: number; nsPerPacket: number } {
  const sw = new Switch({ arena: { slots: 1024, slotSize: 2048 + 128 } });
  sw.addBridge('br0');
  const src = sw.addPort('br0', 'gen', { type: 'memory' }).io as MemoryPort;
  src.keep = 0;
  const sinks = ['s1', 's2', 's3'].map((n) => sw.addPort('br0', n, { type: 'memory' }).io as MemoryPort);
  for (const p of sinks) p.keep = 0;
  const templates: Buffer[] = [];
  for (let i = 0; i < 16; i++) templates.push(udpFrame({ dst: 'ff:ff:ff:ff:ff:ff', src: '02:00:00:00:00:01', ipSrc: '10.0.0.1', ipDst: '10.0.0.255', sport: 1000 + i, payload: Buffer.alloc(18) }));
  src.setGenerator(templates, 200_000); // warm-up
  sw.runUntilIdle(1e9);
  const before = sinks[2].counters.txPackets;
  src.setGenerator(templates, packets);
  const t0 = process.hrtime.bigint();
  sw.runUntilIdle(1e9);
  const ns = Number(process.hrtime.bigint() - t0);
  const got = sinks[2].counters.txPackets - before;
  if (got !== packets) throw new Error(`flood bench: sent ${packets}, delivered ${got} to the third port`);
  return { mpps: (packets / ns) * 1e3, nsPerPacket: ns / packets };
}

if (require.main === module) {
  const flood = runL2Flood();
  console.log(`l2 NORMAL flood to 3 memory ports (2 clones per frame), 64 B: ${flood.mpps.toFixed(2)} Mpps, ${flood.nsPerPacket.toFixed(1)} ns/packet`);
  const plain = runL2Memory();
  console.log(`l2 NORMAL, memory ports, 64 B: ${plain.nsPerPacket.toFixed(1)} ns/packet`);
  const tagged = runL2Memory({ vlan: true });
  console.log(`l2 NORMAL, access→trunk (VLAN push), 64 B: ${tagged.mpps.toFixed(2)} Mpps, ${tagged.nsPerPacket.toFixed(1)} ns/packet`);
  console.log(`l2 NORMAL, memory ports, 64 B: ${plain.mpps.toFixed(2)} Mpps`);
}
