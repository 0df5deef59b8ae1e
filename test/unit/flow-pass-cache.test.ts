/**
 * The pass cache (flow/pass-cache.ts) changes nothing but speed: the same traffic through two
 * identical switches, one replaying cached passes (every miss stored: insertInvProb = 1) and
 * one walking the tables every time, must leave the same frames on every port, the same
 * dump-flows counters (n_packets, n_bytes), table stats, conntrack entries and drop counters —
 * also across flow deletions and additions (exact invalidation), learn actions, and trace.
 */
import t from 'tap';
import { Switch } from '../../src/datapath/switch';
import { MemoryPort } from '../../src/io/memory-port';
import { buildFrame } from '../../src/flow/testing';
import { runTrace } from '../../src/flow/trace';
import { firewallFlows } from '../../bench/fw-memory';

const VM1 = { ofport: 3, mac: 'fa:16:3e:00:00:01', ip: '10.231.0.1' };
const VM2 = { ofport: 4, mac: 'fa:16:3e:00:00:02', ip: '10.231.0.2' };

interface Rig {
  sw: Switch;
  vm1: MemoryPort;
  vm2: MemoryPort;
  out: { vm1: string[]; vm2: string[] };
}

function rig(cached: boolean, flows: string[]): Rig {
  let now = 1_000_000;
  const sw = new Switch({ clock: () => (now += 1), arena: { slots: 512 } });
  sw.addBridge('br-int');
  const vm1 = sw.addPort('br-int', 'vm1', { type: 'memory', tag: 1, ofport: VM1.ofport }).io as MemoryPort;
  const vm2 = sw.addPort('br-int', 'vm2', { type: 'memory', tag: 1, ofport: VM2.ofport }).io as MemoryPort;
  const p = sw.flows('br-int');
  p.exec.passCacheEnabled = cached;
  p.delFlows();
  p.addFlows(flows.join('\n'));
  return { sw, vm1, vm2, out: { vm1: [], vm2: [] } };
}

function storeEveryMiss(r: Rig): void {
  const pc = r.sw.flows('br-int').exec.passCache;
  if (pc !== null) pc.insertInvProb = 1;
}

/**
 * The A/B pair every test compares: `a` with the pass cache, `b` walking the tables. One batch
 * through each creates the cache; then `a` stores every miss.
 */
function pair(flows: string[]): [Rig, Rig] {
  const a = rig(true, flows);
  const b = rig(false, flows);
  send(a, 'vm1', [segment(true, 1, 1, ACK, 1, 1)]);
  send(b, 'vm1', [segment(true, 1, 1, ACK, 1, 1)]);
  storeEveryMiss(a);
  return [a, b];
}

function segment(fromVm1: boolean, sport: number, dport: number, flags: number, seqNo: number, ackNo: number, payload = 0, ipSrc?: string): Uint8Array {
  const [a, b] = fromVm1 ? [VM1, VM2] : [VM2, VM1];
  return buildFrame({ src: a.mac, dst: b.mac, ipSrc: ipSrc ?? a.ip, ipDst: b.ip, proto: 'tcp', sport, dport, payload, tcpSeq: seqNo, tcpAck: ackNo, tcpFlags: flags });
}
const SYN = 0x02;
const ACK = 0x10;

/** Send frames into a port (one batch), collect what every port sent, as hex. */
function send(r: Rig, from: 'vm1' | 'vm2', frames: Uint8Array[]): void {
  const port = r[from];
  for (const f of frames) port.inject(f);
  r.sw.runUntilIdle();
  for (const name of ['vm1', 'vm2'] as const) {
    for (const f of r[name].takeTransmitted()) r.out[name].push(f.toString('hex'));
  }
}

/** Everything observable: frames out, dump-flows, table stats, conntrack, drops. */
function state(r: Rig): Record<string, unknown> {
  const p = r.sw.flows('br-int');
  return {
    out: r.out,
    flows: p.formatFlows(undefined, { names: false }).replace(/duration=[^,]+,/g, '').replace(/idle_age=[^,]+,/g, ''),
    tables: p.tableStats().filter((s) => s.lookups > 0),
    conntrack: p.conntrack.dump(),
    drops: p.drops.toJSON(),
    invalid: p.conntrack.invalid.toJSON(),
  };
}

/** The handshake of `n` connections vm1 -> vm2 and `rounds` of data both ways. */
function traffic(r: Rig, n: number, rounds: number, port0 = 1000): void {
  for (let i = 0; i < n; i++) {
    const sport = 20000 + i;
    const dport = port0 + 2 * (i % 50);
    send(r, 'vm1', [segment(true, sport, dport, SYN, 1000, 0)]);
    send(r, 'vm2', [segment(false, dport, sport, SYN | ACK, 5000, 1001)]);
    send(r, 'vm1', [segment(true, sport, dport, ACK, 1001, 5001)]);
  }
  for (let k = 0; k < rounds; k++) {
    const a: Uint8Array[] = [];
    const b: Uint8Array[] = [];
    for (let i = 0; i < n; i++) {
      const sport = 20000 + i;
      const dport = port0 + 2 * (i % 50);
      // Data of growing length (n_bytes must follow the frame, not a cached length).
      a.push(segment(true, sport, dport, ACK, 1001 + 10 * k, 5001, 10));
      b.push(segment(false, dport, sport, ACK, 5001, 1011 + 10 * k));
    }
    send(r, 'vm1', a);
    send(r, 'vm2', b);
  }
}

t.test('pass cache: Neutron firewall traffic leaves the same frames, counters and conntrack as the full walk', async (t) => {
  const flows = firewallFlows();
  const [a, b] = pair(flows);
  traffic(a, 40, 6);
  traffic(b, 40, 6);
  // Refused traffic: a port no rule allows, a spoofed source.
  for (const r of [a, b]) {
    send(r, 'vm1', [segment(true, 30000, 81, SYN, 1, 0), segment(true, 30000, 81, SYN, 1, 0)]);
    send(r, 'vm1', [segment(true, 30001, 1000, SYN, 1, 0, 0, '10.231.0.99'), segment(true, 30001, 1000, SYN, 1, 0, 0, '10.231.0.99')]);
  }
  const pc = a.sw.flows('br-int').exec.passCache!;
  t.ok(pc.hits > 40 * 6 * 2, `passes replayed from the cache (${pc.hits} hits, ${pc.misses} misses)`);
  t.equal(b.sw.flows('br-int').exec.passCache === null || b.sw.flows('br-int').exec.passCache!.hits === 0, true, 'the reference walks the tables');
  t.ok(a.out.vm2.length > 40 * 6, 'established data crossed the firewall');
  t.same(state(a), state(b));
});

t.test('pass cache: deleting and adding flows takes effect on the next packet (exact invalidation)', async (t) => {
  const flows = firewallFlows();
  const [a, b] = pair(flows);
  traffic(a, 10, 3);
  traffic(b, 10, 3);
  const before = a.out.vm2.length;
  // Remove what lets vm2 accept established traffic (table 82's conj_id flows), as the agent
  // does when a rule goes; established packets now take the lower-priority flows.
  for (const r of [a, b]) r.sw.flows('br-int').delFlows('table=82,conj_id=22');
  traffic(a, 10, 2);
  traffic(b, 10, 2);
  t.same(state(a), state(b), 'after a delete');
  // And back: a new flow is used at once.
  for (const r of [a, b]) r.sw.flows('br-int').addFlows(flows.filter((f) => /table=82,.*conj_id=22/.test(f) || /conj_id=22.*table=82/.test(f)).join('\n'));
  traffic(a, 10, 2);
  traffic(b, 10, 2);
  t.same(state(a), state(b), 'after an add');
  t.ok(a.out.vm2.length > before, 'traffic went on');
});

t.test('pass cache: a pipeline with learn() and vlan edits counts and forwards as the full walk', async (t) => {
  const flows = [
    'table=0,priority=10,in_port=3,actions=learn(table=10,priority=5,NXM_OF_ETH_DST[]=NXM_OF_ETH_SRC[],output:NXM_OF_IN_PORT[]),resubmit(,1)',
    'table=0,priority=10,in_port=4,actions=mod_vlan_vid:7,resubmit(,1)',
    'table=1,priority=1,actions=resubmit(,10),resubmit(,2)',
    'table=2,priority=1,dl_vlan=7,actions=strip_vlan,output:3',
    'table=2,priority=0,actions=drop',
    'table=10,priority=0,actions=output:4',
  ];
  const [a, b] = pair(flows);
  for (const r of [a, b]) {
    for (let k = 0; k < 5; k++) {
      send(r, 'vm1', [segment(true, 10, 20, ACK, k, 0, k), segment(true, 11, 20, ACK, k, 0)]);
      send(r, 'vm2', [segment(false, 20, 10, ACK, k, 0, k), segment(false, 20, 11, ACK, k, 0)]);
    }
  }
  t.ok(a.sw.flows('br-int').exec.passCache!.hits > 0, 'vm2 -> vm1 passes (no learn) were replayed');
  t.same(state(a), state(b));
});

t.test('pass cache: trace decides as forwarding does, with the cache warm', async (t) => {
  const flows = firewallFlows();
  const [a, b] = pair(flows);
  traffic(a, 5, 3);
  traffic(b, 5, 3);
  const frame = segment(true, 20000, 1000, ACK, 1031, 5001);
  const ta = runTrace(a.sw.flows('br-int'), { frame, inPort: VM1.ofport });
  const tb = runTrace(b.sw.flows('br-int'), { frame, inPort: VM1.ofport });
  t.equal(ta.text, tb.text);
  t.ok(ta.outputs.length === 1, 'the established segment is sent');
  t.same(state(a), state(b), 'trace moved no counter');
});
