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
import { establishedAcks, handshake, pump, pumpEach, SYN, tcpSegment, twoPortRig, type Connections, type Rig } from './memory-rig';

const VM1 = { ofport: 1, mac: '02:00:00:00:00:01', ip: '10.232.0.1' };
const VM2 = { ofport: 2, mac: '02:00:00:00:00:02', ip: '10.232.0.2' };
const CONNS: Connections = { count: 1024, dport: () => 22 };

function rig(firewall: boolean): Rig {
  const r = twoPortRig('br0', VM1, VM2);
  const f = r.sw.flows('br0');
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
  return r;
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
  const est = establishedAcks(VM1, VM2, CONNS);

  const b = rig(false);
  pump(b, b.vm1, b.vm2, est, 200_000);
  const base = pump(b, b.vm1, b.vm2, est, packets);

  const r = rig(true);
  handshake(r, CONNS, 'ct bench');
  pump(r, r.vm1, r.vm2, est, 200_000);
  const e = pump(r, r.vm1, r.vm2, est, packets);
  if (e.delivered !== packets) throw new Error(`ct bench: ${packets - e.delivered} established segments dropped`);

  const syns: Uint8Array[] = [];
  for (let i = 0; i < newCount; i++) syns.push(tcpSegment(VM1, VM2, 1024 + (i % 60000), 23 + Math.floor(i / 60000), SYN, 7000, 0));
  const { delivered, ns } = pumpEach(r, r.vm1, r.vm2, syns);
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
