/**
 * Soak: the fuzz topology (test/fuzz/frame-fuzz.ts) under mixed load for a long time, with the
 * process's RSS sampled every second and charted. Per slice of work:
 *   - mutated and truncated frames of every kind (the fuzzer's corpus and mutations);
 *   - NAT churn: new UDP sessions from tenant 1 (expired as the virtual clock moves);
 *   - MAC churn: new source MACs on the trunk (the table stays at its limit);
 *   - flow churn: a flow added and deleted on the provider bridge;
 *   - every ~5 s a tenant port is removed and added back while traffic flows to it.
 * The virtual clock moves 10 ms per slice and the switch ticks every 100 slices.
 *
 * Pass: no exception; after timers run out every slot is back in the arena; RSS after the
 * warm-up (first 10% of the run, at least 10 s) grows by at most `maxGrowthMiB`.
 *
 * `make soak` runs it for 10 minutes: `node dist/test/fuzz/soak.js [SECONDS] [OUT_DIR]`,
 * writing OUT_DIR/soak-rss.svg and OUT_DIR/soak.json; the last line is the verdict.
 */
import * as fs from 'fs';
import * as path from 'path';
import { fuzzTopology, seedFrames, mutateFrame } from './frame-fuzz';
import { lineChartSvg } from '../../bench/compare/svg';
import { prng } from '../fixtures/util';
import { ipPacket, ethFrame, udpDgram } from '../unit/l3-helpers';
import { MemoryPort } from '../../src/io/memory-port';

export interface SoakResult {
  seconds: number;
  frames: number;
  slices: number;
  portCycles: number;
  samples: { t: number; rssMiB: number; heapMiB: number; freeSlots: number; natSessions: number; macs: number }[];
  warmRssMiB: number;
  maxRssMiB: number;
  growthMiB: number;
  leakedSlots: number;
  errors: string[];
  pass: boolean;
}

export async function soak(opts: { seconds: number; seed?: number; maxGrowthMiB?: number; onSample?: (s: SoakResult['samples'][number]) => void }): Promise<SoakResult> {
  const clock = { now: 1_000_000 };
  const { sw, mem } = fuzzTopology(clock, 2048);
  const seeds = seedFrames();
  const rnd = prng(opts.seed ?? 7);
  const buf = Buffer.alloc(4096);
  const res: SoakResult = {
    seconds: opts.seconds, frames: 0, slices: 0, portCycles: 0, samples: [], warmRssMiB: 0, maxRssMiB: 0, growthMiB: 0, leakedSlots: 0, errors: [], pass: false,
  };
  const t0 = Date.now();
  const end = t0 + opts.seconds * 1000;
  let nextSample = t0;
  let nextPortCycle = t0 + 5000;
  let sport = 1024;
  let macN = 0;
  const far = '198.51.100.7';
  const r1 = sw.l3.router('r1');
  const br = sw.bridge('br-int');
  const sample = () => {
    const m = process.memoryUsage();
    const s = {
      t: (Date.now() - t0) / 1000, rssMiB: m.rss / 1048576, heapMiB: m.heapUsed / 1048576, freeSlots: sw.arena.available,
      natSessions: r1.show().sessions, macs: br.macs.sizeAt(clock.now),
    };
    res.samples.push(s);
    opts.onSample?.(s);
  };
  while (Date.now() < end) {
    if (Date.now() >= nextSample) {
      sample();
      nextSample += 1000;
    }
    try {
      for (let i = 0; i < 200; i++) {
        const s = seeds[Math.floor(rnd() * seeds.length)];
        const n = mutateFrame(s.frame, rnd, buf);
        mem.get(s.port)!.inject(buf.subarray(0, n));
        res.frames++;
      }
      for (let i = 0; i < 20; i++) {
        sport = sport >= 65000 ? 1024 : sport + 1;
        mem.get('vm1')!.inject(ethFrame('02:52:00:00:01:01', '52:54:00:00:01:0a', 0x0800, ipPacket({ src: '10.231.1.10', dst: far, proto: 17, l4: udpDgram('10.231.1.10', far, sport, 53, Buffer.alloc(0), true) })));
        const m = (macN++ % 0xffffff).toString(16).padStart(6, '0');
        mem.get('vm3')!.inject(ethFrame('52:54:00:00:01:0a', `02:aa:00:${m.slice(0, 2)}:${m.slice(2, 4)}:${m.slice(4, 6)}`, 0x0800, ipPacket({ src: '10.231.1.77', dst: '10.231.1.10', proto: 17, l4: udpDgram('10.231.1.77', '10.231.1.10', 1, 2) }), ));
        res.frames += 2;
      }
      sw.runUntilIdle();
      sw.settle();
      const f = sw.flows('br-eth1');
      f.addFlow(`table=0,priority=3,in_port=eth1,dl_vlan=${100 + (res.slices % 50)},actions=drop`);
      f.delFlows(`table=0,in_port=eth1,dl_vlan=${100 + (res.slices % 50)}`);
      if (Date.now() >= nextPortCycle) {
        // Port removal under traffic: frames queued for vm2 are released, counters go with it.
        mem.get('vm2')!.inject(ethFrame('ff:ff:ff:ff:ff:ff', '52:54:00:00:02:0b', 0x0800, ipPacket({ src: '10.231.2.11', dst: '10.231.2.255', proto: 17, l4: udpDgram('10.231.2.11', '10.231.2.255', 1, 2) })));
        sw.delPort('br-int', 'vm2');
        const io = sw.addPort('br-int', 'vm2', { type: 'memory', tag: 2 }).io as MemoryPort;
        io.keep = 0;
        mem.set('vm2', io);
        res.portCycles++;
        nextPortCycle += 5000;
      }
      clock.now += 10;
      if (++res.slices % 100 === 0) sw.tick();
    } catch (e) {
      if (res.errors.length < 10) res.errors.push((e as Error).stack ?? String(e));
    }
    await new Promise<void>((r) => setImmediate(r));
  }
  sample();
  for (let k = 0; k < 600; k++) {
    clock.now += 1000;
    sw.tick();
    sw.runUntilIdle();
  }
  res.leakedSlots = sw.arena.capacity - sw.arena.available;
  const warmT = Math.max(10, opts.seconds / 10);
  const after = res.samples.filter((s) => s.t >= warmT);
  const warm = after.slice(0, 5).map((s) => s.rssMiB).sort((a, b) => a - b);
  res.warmRssMiB = warm.length ? warm[Math.floor(warm.length / 2)] : res.samples[0]?.rssMiB ?? 0;
  res.maxRssMiB = Math.max(...res.samples.map((s) => s.rssMiB));
  res.growthMiB = Math.max(0, Math.max(...(after.length ? after : res.samples).map((s) => s.rssMiB)) - res.warmRssMiB);
  res.pass = res.errors.length === 0 && res.leakedSlots === 0 && res.growthMiB <= (opts.maxGrowthMiB ?? 32);
  return res;
}

export function soakChart(r: SoakResult): string {
  return lineChartSvg({
    title: `tvs soak: RSS over ${Math.round(r.seconds)} s (${(r.frames / 1e6).toFixed(1)} M frames, ${r.portCycles} port removals)`,
    unit: 'MiB',
    xLabel: 'seconds',
    series: [
      { name: 'RSS', color: '#1f77b4', points: r.samples.map((s) => [s.t, s.rssMiB]) },
      { name: 'JS heap used', color: '#ff7f0e', points: r.samples.map((s) => [s.t, s.heapMiB]) },
    ],
    note: `after warm-up: ${r.warmRssMiB.toFixed(1)} MiB, growth ${r.growthMiB.toFixed(1)} MiB; leaked slots ${r.leakedSlots}; ${r.pass ? 'PASS' : 'FAIL'}`,
  });
}

async function main(): Promise<void> {
  const seconds = Number(process.argv[2] ?? 600);
  const out = process.argv[3] ?? 'soak-results';
  if (!(seconds > 0)) throw new Error(`soak: SECONDS must be a positive number, got ${process.argv[2]}`);
  fs.mkdirSync(out, { recursive: true });
  const r = await soak({
    seconds,
    onSample: (s) => {
      if (Math.round(s.t) % 30 === 0) console.log(`t=${s.t.toFixed(0)}s rss=${s.rssMiB.toFixed(1)}MiB heap=${s.heapMiB.toFixed(1)}MiB free_slots=${s.freeSlots} nat=${s.natSessions} macs=${s.macs}`);
    },
  });
  fs.writeFileSync(path.join(out, 'soak-rss.svg'), soakChart(r));
  fs.writeFileSync(path.join(out, 'soak.json'), JSON.stringify(r, null, 1) + '\n');
  for (const e of r.errors) console.error(e);
  console.log(`soak ${r.pass ? 'PASS' : 'FAIL'}: ${r.seconds} s, ${r.frames} frames, ${r.portCycles} port removals, RSS ${r.warmRssMiB.toFixed(1)} -> max ${r.maxRssMiB.toFixed(1)} MiB (growth ${r.growthMiB.toFixed(1)} MiB after warm-up, bound 32), leaked slots ${r.leakedSlots}, chart ${path.join(out, 'soak-rss.svg')}`);
  process.exitCode = r.pass ? 0 : 1;
}

if (require.main === module) main().catch((e) => {
  console.error((e as Error).message);
  process.exitCode = 1;
});
