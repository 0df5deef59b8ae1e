/**
 * Flow-table micro-benchmarks (plain node script): in-memory frames → FlowPipeline.process →
 * a BridgeOps that does nothing (the slots stay with the bench and are reused, so only the
 * pipeline is measured). Prints ns/op and Mpps; the last line is the headline figure.
 *
 *   node dist/bench/flow-bench.js [--quick]
 */
import { PacketArena } from '../src/packet/arena';
import { Batch } from '../src/packet/batch';
import { parseSlot } from '../src/packet/parse';
import { FlowPipeline } from '../src/flow/pipeline';
import { buildFrame, prng, SinkOps } from '../src/flow/testing';

const quick = process.argv.includes('--quick');
const BATCH = 32;

function makeBatches(arena: PacketArena, frames: Uint8Array[], inPorts: number[]): Batch[] {
  const batches: Batch[] = [];
  let b = new Batch(BATCH);
  frames.forEach((f, i) => {
    const s = arena.allocFrom(f);
    if (s < 0 || parseSlot(arena, s, inPorts[i]) >= 0) throw new Error('bench fixture');
    if (!b.push(s)) {
      batches.push(b);
      b = new Batch(BATCH);
      b.push(s);
    }
  });
  if (b.count > 0) batches.push(b);
  return batches;
}

function measure(name: string, packetsPerRound: number, round: () => void, seconds: number): number {
  for (let i = 0; i < 200; i++) round(); // warm up (JIT, caches)
  let rounds = 0;
  const t0 = process.hrtime.bigint();
  const limit = BigInt(Math.floor(seconds * 1e9));
  let el = 0n;
  while (el < limit) {
    for (let i = 0; i < 50; i++) round();
    rounds += 50;
    el = process.hrtime.bigint() - t0;
  }
  const ns = Number(el) / (rounds * packetsPerRound);
  const mpps = 1e3 / ns;
  console.log(`${name.padEnd(58)} ${ns.toFixed(1).padStart(7)} ns/pkt  ${mpps.toFixed(2).padStart(6)} Mpps`);
  return mpps;
}

const opts = (arena: PacketArena, emc = true, emcMinSubtables?: number) => ({ arena, clock: () => 0, resolvePort: () => -1, portName: () => undefined, emc, emcMinSubtables });

// ---- 1. VLAN translation, 1k rules, cache hits ----
function vlanTranslation(emc: boolean, label: string): number {
  const arena = new PacketArena({ slots: 512, slotSize: 2048 });
  const p = new FlowPipeline(opts(arena, emc, emc ? 0 : undefined));
  // 500 VIDs, each translated V -> V+1000 and back, so the same frames can be replayed forever.
  const lines: string[] = [];
  for (let v = 1; v <= 500; v++) {
    lines.push(`priority=4,in_port=1,dl_vlan=${v},actions=mod_vlan_vid:${v + 1000},NORMAL`);
    lines.push(`priority=4,in_port=1,dl_vlan=${v + 1000},actions=mod_vlan_vid:${v},NORMAL`);
  }
  lines.push('priority=2,in_port=1,actions=drop', 'priority=0,actions=NORMAL');
  p.addFlows(lines.join('\n'));
  const frames: Uint8Array[] = [];
  for (let i = 0; i < 256; i++) frames.push(buildFrame({ vlan: 1 + ((i * 37) % 500), sport: 1000 + i }));
  const batches = makeBatches(arena, frames, frames.map(() => 1));
  const ops = new SinkOps(arena);
  const mpps = measure(`VLAN translation, ${p.ruleCount} rules, ${label}`, 256, () => {
    for (let i = 0; i < batches.length; i++) p.process(batches[i], ops);
  }, quick ? 0.5 : 2);
  if (ops.dropped !== 0) throw new Error('unexpected drops');
  return mpps;
}

// ---- 1b. TTL edits: dec_ttl, then set_field back (so the same frames replay forever) ----
function ttlEdits(): number {
  const arena = new PacketArena({ slots: 512, slotSize: 2048 });
  const p = new FlowPipeline(opts(arena));
  p.addFlows('priority=1,in_port=1,ip,actions=dec_ttl,set_field:64->nw_ttl,output:2\npriority=0,actions=drop');
  const frames: Uint8Array[] = [];
  for (let i = 0; i < 256; i++) frames.push(buildFrame({ proto: i & 1 ? 'udp' : 'tcp', sport: 1000 + i, ttl: 64 }));
  const batches = makeBatches(arena, frames, frames.map(() => 1));
  const ops = new SinkOps(arena);
  const mpps = measure('dec_ttl + set_field nw_ttl, IPv4, 1 rule', 256, () => {
    for (let i = 0; i < batches.length; i++) p.process(batches[i], ops);
  }, quick ? 0.5 : 2);
  if (ops.dropped !== 0) throw new Error('unexpected drops');
  return mpps;
}

// ---- 2. classifier miss path: 10k rules over 8 masks, EMC off ----
function missPath(emc: boolean): number {
  const arena = new PacketArena({ slots: 1100, slotSize: 2048 });
  const p = new FlowPipeline(opts(arena, emc));
  const r = prng(7);
  const n = (k: number) => Math.floor(r() * k);
  const ip = () => `10.${n(4)}.${n(256)}.${n(256)}`;
  const templates = [
    () => `priority=${100 + n(100)},in_port=${1 + n(50)},dl_vlan=${1 + n(4000)},actions=output:2`,
    () => `priority=${100 + n(100)},ip,nw_dst=${ip()},actions=output:3`,
    () => `priority=${100 + n(100)},ip,nw_src=${ip()}/24,actions=output:3`,
    () => `priority=${100 + n(100)},tcp,nw_dst=${ip()},tp_dst=${1 + n(65000)},actions=output:4`,
    () => `priority=${100 + n(100)},udp,tp_dst=${1 + n(65000)},actions=output:4`,
    () => `priority=${100 + n(100)},dl_dst=02:00:00:${n(256).toString(16)}:${n(256).toString(16)}:${n(256).toString(16)},actions=output:5`,
    () => `priority=${100 + n(100)},in_port=${1 + n(50)},ip,nw_dst=${ip()}/16,actions=output:6`,
    () => `priority=${n(50)},in_port=${1 + n(50)},actions=output:7`,
  ];
  const seen = new Set<string>();
  while (seen.size < 10000) seen.add(templates[n(templates.length)]());
  p.addFlows([...seen].join('\n'));
  const masks = p.tables[0]!.cls.subtables.length;
  const frames: Uint8Array[] = [];
  const ports: number[] = [];
  for (let i = 0; i < 1024; i++) {
    frames.push(buildFrame({ vlan: n(2) ? 1 + n(4000) : undefined, ipSrc: ip(), ipDst: ip(), proto: n(2) ? 'tcp' : 'udp', dport: 1 + n(65000) }));
    ports.push(1 + n(60));
  }
  const batches = makeBatches(arena, frames, ports);
  const ops = new SinkOps(arena);
  return measure(`${p.ruleCount} rules over ${masks} masks, ${emc ? 'EMC warm (default)' : 'EMC off: classifier every packet'}`, 1024, () => {
    for (let i = 0; i < batches.length; i++) p.process(batches[i], ops);
  }, quick ? 0.5 : 2);
}

// ---- 3. flow insertion rate ----
function insertion(): number {
  const arena = new PacketArena({ slots: 4, slotSize: 2048 });
  const N = quick ? 20000 : 100000;
  const lines: string[] = [];
  for (let i = 0; i < N; i++) {
    lines.push(`table=0,priority=${i % 1000},in_port=${1 + (i % 50)},ip,nw_dst=10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255},actions=mod_vlan_vid:${1 + (i % 4000)},output:2`);
  }
  const p = new FlowPipeline(opts(arena));
  const t0 = process.hrtime.bigint();
  for (const l of lines) p.addFlow(l);
  const ns = Number(process.hrtime.bigint() - t0) / N;
  console.log(`${`flow insertion (parse + compile + classify), ${N} rules`.padEnd(58)} ${ns.toFixed(0).padStart(7)} ns/rule ${(1e9 / ns / 1000).toFixed(0).padStart(6)} k rules/s`);
  // Pre-parsed specs (what a controller connection would hand over).
  const q = new FlowPipeline(opts(arena));
  const specs = lines.map((l) => q.parse(l, 'add'));
  const t1 = process.hrtime.bigint();
  for (const s of specs) q.addFlow(s);
  const ns2 = Number(process.hrtime.bigint() - t1) / N;
  console.log(`${`flow insertion (pre-parsed specs), ${N} rules`.padEnd(58)} ${ns2.toFixed(0).padStart(7)} ns/rule ${(1e9 / ns2 / 1000).toFixed(0).padStart(6)} k rules/s`);
  // The same rules as one add-flows text (what `tvs add-flows` and a config load hand over):
  // parsed line by line, then applied all or nothing.
  const r = new FlowPipeline(opts(arena));
  const text = lines.join('\n');
  const t2 = process.hrtime.bigint();
  r.addFlows(text);
  const ns3 = Number(process.hrtime.bigint() - t2) / N;
  console.log(`${`flow insertion (one add-flows text), ${N} rules`.padEnd(58)} ${ns3.toFixed(0).padStart(7)} ns/rule ${(1e9 / ns3 / 1000).toFixed(0).padStart(6)} k rules/s`);
  return 1e9 / ns;
}

vlanTranslation(true, 'EMC forced on (all hits)');
const hit = vlanTranslation(false, 'default (3 masks: classifier)');
ttlEdits();
const emcMiss = missPath(true);
const miss = missPath(false);
const ins = insertion();
console.log(`flow-bench: VLAN translation (1k rules) ${hit.toFixed(2)} Mpps, 10k rules/8 masks ${emcMiss.toFixed(2)} Mpps with EMC / ${miss.toFixed(2)} Mpps classifier-only, insertion ${(ins / 1000).toFixed(0)}k rules/s`);
