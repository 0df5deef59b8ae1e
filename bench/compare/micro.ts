/**
 * Micro-benchmarks with benchmark.js over the real hot-path APIs: parse (packet/parse
 * parseSlot), flow-table cache hit and classifier miss by rule count (flow FlowPipeline), each
 * action, and the router's NAT lookup (l3 Router). Every op handles a batch of 32 frames;
 * figures are per packet: ns/op and Mpps.
 *
 * Frame-modifying benchmarks (actions, NAT) copy the template into the slot and parse it on
 * every op, as an rx burst does; the "copy + parse + output" baseline is printed so an action's
 * own cost is the difference (the "own" column).
 *
 *   node dist/bench/compare/micro.js           # TVS_BENCH_QUICK=1 for short runs
 */
import Benchmark from 'benchmark';
import * as fs from 'fs';
import * as path from 'path';
import { PacketArena } from '../../src/packet/arena';
import { Batch } from '../../src/packet/batch';
import { parseSlot } from '../../src/packet/parse';
import { FlowPipeline } from '../../src/flow/pipeline';
import { buildFrame, prng, SinkOps } from '../../src/flow/testing';
import { Router } from '../../src/l3/router';

const N = 32;

export interface MicroResult {
  name: string;
  nsPerPacket: number;
  mpps: number;
  rme: number;
  /** ns/packet above the baseline named in `over` */
  ownNs?: number;
  over?: string;
}

/** A sink that frees clones (slots outside the bench's batch), as a tx burst would. */
class ReleasingSink extends SinkOps {
  private own: Uint8Array;
  constructor(arena: PacketArena, b: Batch) {
    super(arena);
    this.own = new Uint8Array(arena.capacity);
    for (let i = 0; i < b.count; i++) this.own[b.slots[i]] = 1;
  }
  override output(slot: number): void {
    this.sent++;
    if (this.own[slot] === 0) this.arena.release(slot);
  }
}

const pipeOpts = (arena: PacketArena, emc: boolean, emcMinSubtables?: number) => ({
  arena,
  clock: () => 0,
  resolvePort: (n: string) => (/^\d+$/.test(n) ? Number(n) : -1),
  portName: () => undefined,
  emc,
  emcMinSubtables,
});

/** A batch of N slots holding `frames` (cycled), parsed once. */
function parsedBatch(arena: PacketArena, frames: Uint8Array[], inPort = 1): Batch {
  const b = new Batch(N);
  for (let i = 0; i < N; i++) {
    const s = arena.allocFrom(frames[i % frames.length]);
    if (s < 0 || parseSlot(arena, s, inPort) >= 0) throw new Error('micro: fixture');
    b.push(s);
  }
  return b;
}

/** Refill a batch's slots from templates (what rx does) and parse them. */
function refill(arena: PacketArena, b: Batch, frames: Uint8Array[], inPort = 1): void {
  const u8 = arena.bytes;
  for (let i = 0; i < N; i++) {
    const s = b.slots[i];
    const t = frames[i % frames.length];
    arena.reset(s); // what an rx burst's peek() does
    u8.set(t, arena.start[s]);
    arena.len[s] = t.length;
    parseSlot(arena, s, inPort);
  }
  b.count = N;
}

export function runMicro(opts: { quick?: boolean; log?: (s: string) => void } = {}): MicroResult[] {
  const quick = opts.quick ?? process.env.TVS_BENCH_QUICK === '1';
  const log = opts.log ?? ((s: string) => console.log(s));
  const results: MicroResult[] = [];
  const suite = new Benchmark.Suite('tvs micro');
  const add = (name: string, fn: () => void, over?: string) => {
    suite.add(name, fn, { minSamples: quick ? 5 : 20, maxTime: quick ? 0.5 : 2, initCount: 1 });
    if (over) overOf.set(name, over);
  };
  const overOf = new Map<string, string>();

  // ---- parse ----
  const arena = new PacketArena({ slots: 4096, slotSize: 2048 });
  const udp64 = [buildFrame({ proto: 'udp', payload: 18 })];
  const tagged = [buildFrame({ proto: 'udp', vlan: 10, payload: 18 })];
  const tcpF = [buildFrame({ proto: 'tcp', payload: 6 })];
  for (const [label, frames] of [['UDP 64 B', udp64], ['UDP 64 B, 802.1Q', tagged], ['TCP 64 B', tcpF]] as const) {
    const b = parsedBatch(arena, frames);
    add(`parse ${label}`, () => {
      for (let i = 0; i < N; i++) parseSlot(arena, b.slots[i], 1);
    });
  }

  // ---- flow tables: cache hit ----
  {
    const p = new FlowPipeline(pipeOpts(arena, true, 0));
    p.addFlows(['priority=10,in_port=1,dl_vlan=10,actions=output:2', 'priority=5,ip,nw_dst=10.0.0.2,actions=output:3', 'priority=1,udp,tp_dst=80,actions=output:4', 'priority=0,actions=drop'].join('\n'));
    const frames: Uint8Array[] = [];
    for (let i = 0; i < N; i++) frames.push(buildFrame({ proto: 'udp', sport: 1000 + i, payload: 18 }));
    const b = parsedBatch(arena, frames);
    const ops = new SinkOps(arena);
    add('flow: EMC hit (4 rules, 4 masks)', () => p.process(b, ops));
  }

  // ---- classifier miss by rule count (EMC off: the classifier every packet) ----
  for (const rules of [10, 100, 1000, 10000]) {
    const p = new FlowPipeline(pipeOpts(arena, false));
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
    while (seen.size < rules) seen.add(templates[seen.size < 8 ? seen.size : n(templates.length)]());
    p.addFlows([...seen].join('\n'));
    const masks = p.tables[0]!.cls.subtables.length;
    const frames: Uint8Array[] = [];
    for (let i = 0; i < N; i++) frames.push(buildFrame({ vlan: n(2) ? 1 + n(4000) : undefined, ipSrc: ip(), ipDst: ip(), proto: n(2) ? 'tcp' : 'udp', dport: 1 + n(65000) }));
    const b = parsedBatch(arena, frames, 1 + n(60));
    const ops = new SinkOps(arena);
    add(`flow: classifier, EMC off, ${p.ruleCount} rules / ${masks} masks`, () => p.process(b, ops));
  }

  // ---- each action: copy + parse + one rule + the action + output ----
  const BASE = 'action baseline: copy + parse + actions=output:2';
  const actions: [string, string, Uint8Array[]][] = [
    [BASE, 'output:2', udp64],
    ['action mod_vlan_vid:10 (push)', 'mod_vlan_vid:10,output:2', udp64],
    ['action mod_vlan_vid:20 (rewrite)', 'mod_vlan_vid:20,output:2', tagged],
    ['action strip_vlan', 'strip_vlan,output:2', tagged],
    ['action mod_dl_src', 'mod_dl_src:02:00:00:00:00:99,output:2', udp64],
    ['action mod_nw_src (checksums)', 'mod_nw_src:10.9.9.9,output:2', udp64],
    ['action mod_tp_dst (checksum)', 'mod_tp_dst:53,output:2', udp64],
    ['action dec_ttl', 'dec_ttl,output:2', udp64],
    ['action set_field:5->reg0 + resubmit(,1)', 'set_field:5->reg0,resubmit(,1)', udp64],
    ['action two outputs (one clone)', 'output:2,output:3', udp64],
  ];
  for (const [name, act, frames] of actions) {
    const p = new FlowPipeline(pipeOpts(arena, false));
    p.addFlow(`priority=1,actions=${act}`);
    if (act.includes('resubmit')) p.addFlow('table=1,priority=1,reg0=5,actions=output:2');
    const b = parsedBatch(arena, frames);
    const ops = new ReleasingSink(arena, b);
    add(name, () => {
      refill(arena, b, frames);
      p.process(b, ops);
    }, name === BASE ? undefined : BASE);
  }

  // ---- router: routed and NAT lookups on established sessions ----
  {
    const RBASE = 'router baseline: copy + parse';
    const ra = new PacketArena({ slots: 512, slotSize: 2048 });
    const r = new Router('micro', ra, { clock: () => 1_000_000, maxSessions: 65536, arpTimeoutMs: 1e12 });
    let emitted = 0;
    r.onEmit = () => void emitted++; // slots stay with the bench
    const lan = r.addInterface({ name: 'lan', mac: '02:00:00:00:01:01', cidr: '10.0.0.1/24' });
    const lan2 = r.addInterface({ name: 'lan2', mac: '02:00:00:00:02:01', cidr: '10.0.1.1/24' });
    const ext = r.addInterface({ name: 'ext', mac: '02:00:00:00:ff:01', cidr: '203.0.113.2/24', gateway: true });
    r.addRoute('0.0.0.0/0', '203.0.113.1');
    r.addFloatingIp('203.0.113.50', '10.0.0.6');
    const arpB = new Batch(N);
    const learn = (frame: Uint8Array, iface: number) => {
      const s = ra.allocFrom(frame);
      parseSlot(ra, s, 1);
      arpB.count = 0;
      arpB.push(s);
      r.input(arpB, iface);
    };
    // ARP requests for the router's addresses teach it the hosts' MACs.
    learn(buildFrame({ dst: 'ff:ff:ff:ff:ff:ff', src: '52:54:00:00:00:05', arp: { op: 1, sha: '52:54:00:00:00:05', spa: '10.0.0.5', tha: '00:00:00:00:00:00', tpa: '10.0.0.1' } }), lan);
    learn(buildFrame({ dst: 'ff:ff:ff:ff:ff:ff', src: '52:54:00:00:00:06', arp: { op: 1, sha: '52:54:00:00:00:06', spa: '10.0.0.6', tha: '00:00:00:00:00:00', tpa: '10.0.0.1' } }), lan);
    learn(buildFrame({ dst: 'ff:ff:ff:ff:ff:ff', src: '52:54:00:00:01:07', arp: { op: 1, sha: '52:54:00:00:01:07', spa: '10.0.1.7', tha: '00:00:00:00:00:00', tpa: '10.0.1.1' } }), lan2);
    learn(buildFrame({ dst: 'ff:ff:ff:ff:ff:ff', src: '52:54:00:00:ff:fe', arp: { op: 1, sha: '52:54:00:00:ff:fe', spa: '203.0.113.1', tha: '00:00:00:00:00:00', tpa: '203.0.113.2' } }), ext);
    const mk = (dst: string, src: string, ipSrc: string, ipDst: string) => {
      const out: Uint8Array[] = [];
      for (let i = 0; i < 16; i++) out.push(buildFrame({ dst, src, ipSrc, ipDst, proto: 'udp', sport: 10000 + i, dport: 53, payload: 18 }));
      return out;
    };
    const routed = mk('02:00:00:00:01:01', '52:54:00:00:00:05', '10.0.0.5', '10.0.1.7');
    const snat = mk('02:00:00:00:01:01', '52:54:00:00:00:05', '10.0.0.5', '198.51.100.10');
    const dnat = mk('02:00:00:00:ff:01', '52:54:00:00:ff:fe', '198.51.100.10', '203.0.113.50');
    const b = new Batch(N);
    for (let i = 0; i < N; i++) b.push(ra.alloc());
    const slots = Uint32Array.from(b.slots);
    const run = (frames: Uint8Array[], iface: number) => {
      b.slots.set(slots);
      refill(ra, b, frames);
      r.input(b, iface);
    };
    // Establish the sessions, then check every frame of each kind is forwarded, not dropped.
    run(snat, lan);
    run(dnat, ext);
    run(routed, lan);
    for (const [frames, iface, what] of [[routed, lan, 'routed'], [snat, lan, 'snat'], [dnat, ext, 'dnat']] as const) {
      const e0 = emitted;
      run(frames, iface);
      if (emitted - e0 !== N) throw new Error(`micro: ${what}: ${emitted - e0} of ${N} forwarded (drops ${JSON.stringify(r.drops.toJSON())})`);
    }
    if (r.sessions().length < 16) throw new Error(`micro: NAT sessions not established (${r.sessions().length}; drops ${JSON.stringify(r.drops.toJSON())})`);
    add(RBASE, () => {
      b.slots.set(slots);
      refill(ra, b, routed);
    });
    add('router: routed (LPM, TTL, ARP cache, rewrite)', () => run(routed, lan), RBASE);
    add('router: SNAT established session (lookup + rewrite)', () => run(snat, lan), RBASE);
    add('router: floating IP DNAT (lookup + rewrite)', () => run(dnat, ext), RBASE);
  }

  suite.on('cycle', (e: Benchmark.Event) => {
    const t = e.target as unknown as Benchmark;
    const ns = (t.stats.mean * 1e9) / N;
    const res: MicroResult = { name: String(t.name), nsPerPacket: ns, mpps: 1e3 / ns, rme: t.stats.rme };
    results.push(res);
    const over = overOf.get(res.name);
    const base = over ? results.find((x) => x.name === over) : undefined;
    if (base) {
      res.over = over;
      res.ownNs = ns - base.nsPerPacket;
    }
    log(`${res.name.padEnd(58)} ${ns.toFixed(1).padStart(7)} ns/op ${res.mpps.toFixed(2).padStart(7)} Mpps  ±${t.stats.rme.toFixed(1)}%${base ? `  (own ${res.ownNs!.toFixed(1)} ns)` : ''}`);
  });
  suite.run({ async: false });
  return results;
}

export function microMarkdown(rs: MicroResult[]): string {
  const L = ['| micro-benchmark (batch of 32, per packet) | ns/op | Mpps | own ns ¹ |', '|---|---:|---:|---:|'];
  for (const r of rs) L.push(`| ${r.name} | ${r.nsPerPacket.toFixed(1)} | ${r.mpps.toFixed(2)} | ${r.ownNs !== undefined ? r.ownNs.toFixed(1) : ''} |`);
  L.push('', '¹ above the matching baseline (copy + parse [+ output]).');
  return L.join('\n') + '\n';
}

if (require.main === module) {
  const rs = runMicro();
  const dir = process.env.TVS_BENCH_OUT ?? path.resolve(__dirname, '../../../bench/results');
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(path.join(dir, 'micro.jsonl'), rs.map((r) => JSON.stringify({ type: 'micro', date: new Date().toISOString(), node: process.version, ...r })).join('\n') + '\n');
  fs.writeFileSync(path.join(dir, 'micro.md'), microMarkdown(rs));
  const p = rs.find((r) => r.name === 'parse UDP 64 B');
  console.log(`micro: parse ${p?.nsPerPacket.toFixed(1)} ns/op (${p?.mpps.toFixed(1)} Mpps); results in ${dir}/micro.{jsonl,md}`);
}
