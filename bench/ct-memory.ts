/**
 * ct() alone in memory: the minimal stateful firewall (no security-group rules around it),
 * so its figure is what connection tracking itself costs per packet.
 *
 *   table=0  ip                              -> ct(table=1,zone=1)
 *   table=1  ct_state=+trk+new,tcp           -> ct(commit,zone=1),output:vm2
 *   table=1  ct_state=+trk+est               -> output:vm2
 *
 *   established: 1,024 TCP connections set up by a real handshake, then ACK segments of those
 *                connections cycled (one ct lookup + window check + one recirculated lookup)
 *   new:         SYNs of never-seen connections (each one a committed conntrack entry)
 *   baseline:    the same established frames through `ip,actions=output:vm2` (no ct)
 *
 *   node dist/bench/ct-memory.js [--quick]
 *
 * Figures, not assertions; the last line is the headline.
 */
import { Switch } from '../src/datapath/switch';
import { MemoryPort } from '../src/io/memory-port';
import { buildFrame } from '../src/flow/testing';
import * as tcp from '../src/wire/tcp';

const VM1 = { mac: '02:00:00:00:00:01', ip: '10.232.0.1' };
const VM2 = { mac: '02:00:00:00:00:02', ip: '10.232.0.2' };
const CONNS = 1024;
const SYN = 0x02;
const ACK = 0x10;

function segment(fromVm1: boolean, sport: number, dport: number, flags: number, seqNo: number, ackNo: number): Uint8Array {
  const [a, b] = fromVm1 ? [VM1, VM2] : [VM2, VM1];
  const f = buildFrame({ src: a.mac, dst: b.mac, ipSrc: a.ip, ipDst: b.ip, proto: 'tcp', sport, dport, payload: 0 });
  const l4 = 14 + 20;
  const dv = new DataView(f.buffer, f.byteOffset);
  dv.setUint32(l4 + 4, seqNo >>> 0);
  dv.setUint32(l4 + 8, ackNo >>> 0);
  f[l4 + 13] = flags;
  tcp.fillChecksumV4(f, 14, l4, 20);
  return f;
}

interface Rig {
  sw: Switch;
  vm1: MemoryPort;
  vm2: MemoryPort;
}

function rig(firewall: boolean): Rig {
  const sw = new Switch({ arena: { slots: 4096, slotSize: 2048 + 128 } });
  sw.addBridge('br0');
  const vm1 = sw.addPort('br0', 'vm1', { type: 'memory', ofport: 1 }).io as MemoryPort;
  const vm2 = sw.addPort('br0', 'vm2', { type: 'memory', ofport: 2 }).io as MemoryPort;
  vm1.keep = 0;
  vm2.keep = 0;
  const f = sw.flows('br0');
  f.delFlows();
  f.addFlows(
    firewall
      ? [
          'table=0,priority=10,ip,actions=ct(table=1,zone=1)',
          'table=1,priority=10,ct_state=+trk+new,tcp,in_port=1,actions=ct(commit,zone=1),output:2',
          'table=1,priority=10,ct_state=+trk+est,in_port=1,actions=output:2',
          'table=1,priority=10,ct_state=+trk+est,in_port=2,actions=output:1',
          'table=1,priority=0,actions=drop',
        ].join('\n')
      : 'table=0,ip,in_port=1,actions=output:2\ntable=0,ip,in_port=2,actions=output:1',
  );
  return { sw, vm1, vm2 };
}

function pump(r: Rig, from: MemoryPort, to: MemoryPort, templates: Uint8Array[], count: number): { ns: number; delivered: number } {
  const before = to.counters.txPackets;
  from.setGenerator(templates, count);
  const t0 = process.hrtime.bigint();
  r.sw.runUntilIdle(1e9);
  return { ns: Number(process.hrtime.bigint() - t0), delivered: to.counters.txPackets - before };
}

export interface CtBench {
  baselineMpps: number;
  establishedMpps: number;
  newPerSecond: number;
  connections: number;
}

export function runCtMemory(opts: { quick?: boolean } = {}): CtBench {
  const packets = opts.quick ? 1_000_000 : 5_000_000;
  const newCount = opts.quick ? 100_000 : 400_000;
  const est: Uint8Array[] = [];
  for (let i = 0; i < CONNS; i++) est.push(segment(true, 20000 + i, 22, ACK, 1001, 5001));

  const b = rig(false);
  pump(b, b.vm1, b.vm2, est, 200_000);
  const base = pump(b, b.vm1, b.vm2, est, packets);

  const r = rig(true);
  for (let i = 0; i < CONNS; i++) {
    const sport = 20000 + i;
    const steps: [MemoryPort, MemoryPort, Uint8Array][] = [
      [r.vm1, r.vm2, segment(true, sport, 22, SYN, 1000, 0)],
      [r.vm2, r.vm1, segment(false, 22, sport, SYN | ACK, 5000, 1001)],
      [r.vm1, r.vm2, segment(true, sport, 22, ACK, 1001, 5001)],
    ];
    for (const [from, to, f] of steps) if (pump(r, from, to, [f], 1).delivered !== 1) throw new Error(`ct bench: handshake of connection ${i} did not cross`);
  }
  pump(r, r.vm1, r.vm2, est, 200_000);
  const e = pump(r, r.vm1, r.vm2, est, packets);
  if (e.delivered !== packets) throw new Error(`ct bench: ${packets - e.delivered} established segments dropped`);

  const syns: Uint8Array[] = [];
  for (let i = 0; i < newCount; i++) syns.push(segment(true, 1024 + (i % 60000), 23 + Math.floor(i / 60000), SYN, 7000, 0));
  let delivered = 0;
  let ns = 0;
  for (let i = 0; i < syns.length; i += 4096) {
    const part = syns.slice(i, i + 4096);
    const x = pump(r, r.vm1, r.vm2, part, part.length);
    delivered += x.delivered;
    ns += x.ns;
  }
  return {
    baselineMpps: (base.delivered / base.ns) * 1e3,
    establishedMpps: (e.delivered / e.ns) * 1e3,
    newPerSecond: (delivered / ns) * 1e9,
    connections: r.sw.flows('br0').conntrack.table.count,
  };
}

if (require.main === module) {
  const r = runCtMemory({ quick: process.argv.includes('--quick') });
  console.log(`no ct (ip,actions=output), 64 B TCP ACKs: ${r.baselineMpps.toFixed(2)} Mpps`);
  console.log(`ct new connections (SYN -> ct(table=1) -> ct(commit)): ${(r.newPerSecond / 1e3).toFixed(0)}k/s (${r.connections} connections in the table)`);
  console.log(`ct established (1,024 connections, ct(table=1) + window check), 64 B: ${r.establishedMpps.toFixed(2)} Mpps`);
}
