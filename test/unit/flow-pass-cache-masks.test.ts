/**
 * The pass cache's masked keys (flow/pass-cache.ts, megaflow style): an entry is keyed only by
 * the key bits its pass's lookups depended on (Classifier.lookupWc, staged) and what its actions
 * made depend on other words. A cached pass must never answer differently from the full walk:
 * each test sends the same traffic through two identical switches — one replaying cached passes
 * (every miss stored), one walking the tables every time — and compares every frame each port
 * sent, the flow counters, conntrack and drops. Each flow set has a case where a key that left
 * out one needed bit would send a packet to the wrong port (the comments say which).
 */
import t from 'tap';
import { Switch } from '../../src/datapath/switch';
import { MemoryPort } from '../../src/io/memory-port';
import { buildFrame, type FrameSpec } from '../../src/flow/testing';
import { firewallFlows } from '../../bench/fw-memory';

const A = { mac: 'fa:16:3e:00:00:01', ip: '10.231.0.1' };
const B = { mac: 'fa:16:3e:00:00:02', ip: '10.231.0.2' };
/** ofports 3..8: vm1 and vm2 are the firewall's two VMs; 5..8 tell the corner cases' rules apart. */
const PORTS = [3, 4, 5, 6, 7, 8];

interface Rig {
  sw: Switch;
  ports: Map<number, MemoryPort>;
  out: Map<number, string[]>;
}

function rig(cached: boolean, flows: string[]): Rig {
  let now = 1_000_000;
  const sw = new Switch({ clock: () => (now += 1), arena: { slots: 512 } });
  sw.addBridge('br-int');
  const ports = new Map<number, MemoryPort>();
  const out = new Map<number, string[]>();
  for (const p of PORTS) {
    ports.set(p, sw.addPort('br-int', `p${p}`, { type: 'memory', tag: 1, ofport: p }).io as MemoryPort);
    out.set(p, []);
  }
  const fl = sw.flows('br-int');
  fl.exec.passCacheEnabled = cached;
  fl.delFlows();
  fl.addFlows(flows.join('\n'));
  return { sw, ports, out };
}

function send(r: Rig, from: number, frames: Uint8Array[]): void {
  const port = r.ports.get(from)!;
  for (const f of frames) port.inject(f);
  r.sw.runUntilIdle();
  for (const [p, io] of r.ports) for (const f of io.takeTransmitted()) r.out.get(p)!.push(f.toString('hex'));
}

function state(r: Rig): Record<string, unknown> {
  const p = r.sw.flows('br-int');
  return {
    out: Object.fromEntries(r.out),
    flows: p.formatFlows(undefined, { names: false }).replace(/duration=[^,]+,/g, '').replace(/idle_age=[^,]+,/g, ''),
    tables: p.tableStats().filter((s) => s.lookups > 0),
    conntrack: p.conntrack.dump(),
    drops: p.drops.toJSON(),
    invalid: p.conntrack.invalid.toJSON(),
  };
}

/** `a` caches (every miss stored once the cache exists), `b` walks the tables. */
function pair(flows: string[]): [Rig, Rig] {
  const a = rig(true, flows);
  const b = rig(false, flows);
  const warm = buildFrame({ src: A.mac, dst: B.mac, ipSrc: A.ip, ipDst: B.ip, proto: 'udp', sport: 9, dport: 9 });
  send(a, 3, [warm]);
  send(b, 3, [warm]);
  const pc = a.sw.flows('br-int').exec.passCache;
  if (pc === null) throw new Error('no pass cache: the flow set must span several tables');
  pc.insertInvProb = 1;
  return [a, b];
}

/** Both rigs, one frame per batch (each frame's pass is stored before the next probes). */
function both(rigs: Rig[], from: number, spec: FrameSpec): void {
  const f = buildFrame({ src: from === 4 ? B.mac : A.mac, dst: from === 4 ? A.mac : B.mac, ipSrc: from === 4 ? B.ip : A.ip, ipDst: from === 4 ? A.ip : B.ip, ...spec });
  for (const r of rigs) send(r, from, [f]);
}

function hits(r: Rig): { hits: number; inserts: number } {
  const pc = r.sw.flows('br-int').exec.passCache!;
  return { hits: pc.hits, inserts: pc.inserts };
}

/** Deterministic pseudo-random numbers (xorshift32). */
function rng(seed: number): () => number {
  let x = seed;
  return () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return (x >>> 0) / 0x100000000;
  };
}

t.test('masked passes: a TCP packet never probing past L3 shares an entry; a UDP rule on tp_src still decides', async (t) => {
  // Table 1's UDP rule on tp_src is visited by every packet (priority 30 first): a TCP packet is
  // ruled out at nw_proto (L3), so TCP passes share one entry whatever their ports; a UDP one
  // reaches L4, so its tp_src is keyed — a key without it would send sport 67 to port 6.
  const flows = [
    'table=0,priority=10,in_port=3,actions=resubmit(,1)',
    'table=1,priority=30,udp,tp_src=67,actions=output:5',
    'table=1,priority=20,tcp,tp_dst=80,actions=output:7',
    'table=1,priority=10,ip,actions=output:6',
  ];
  const [a, b] = pair(flows);
  const before = hits(a);
  for (let i = 0; i < 40; i++) both([a, b], 3, { proto: 'tcp', sport: 20000 + i, dport: 81, tcpFlags: 0x10 });
  const tcp = hits(a);
  t.ok(tcp.inserts - before.inserts <= 2, `40 TCP connections, ${tcp.inserts - before.inserts} entries`);
  t.ok(tcp.hits - before.hits >= 38, 'the others replayed it');
  for (let i = 0; i < 20; i++) {
    both([a, b], 3, { proto: 'udp', sport: i % 2 === 0 ? 67 : 5000 + i, dport: 68 });
    both([a, b], 3, { proto: 'tcp', sport: 30000 + i, dport: i % 2 === 0 ? 80 : 443, tcpFlags: 0x10 });
  }
  t.ok(a.out.get(5)!.length === 10 && a.out.get(7)!.length === 10, 'sport 67 and dport 80 took their rules');
  t.same(state(a), state(b));
});

t.test('masked passes: a register move keys the moved field; a tag edit keys the packet', async (t) => {
  // The lookup in table 2 reads reg0, which holds tcp_src: without keying tcp_src (the classifier
  // never looked at it), every TCP packet would replay the first one's output.
  const flows = [
    'table=0,priority=10,in_port=3,tcp,actions=move:NXM_OF_TCP_SRC[]->NXM_NX_REG0[0..15],resubmit(,2)',
    'table=0,priority=10,in_port=3,udp,actions=mod_vlan_vid:7,resubmit(,3)',
    'table=2,priority=10,reg0=1000,actions=output:7',
    'table=2,priority=5,actions=output:8',
    'table=3,priority=10,dl_vlan=7,udp,tp_src=67,actions=strip_vlan,output:5',
    'table=3,priority=5,dl_vlan=7,actions=strip_vlan,output:6',
  ];
  const [a, b] = pair(flows);
  for (let i = 0; i < 12; i++) {
    both([a, b], 3, { proto: 'tcp', sport: i % 3 === 0 ? 1000 : 1001 + i, dport: 80, tcpFlags: 0x10 });
    both([a, b], 3, { proto: 'udp', sport: i % 3 === 0 ? 67 : 68, dport: 67 });
    both([a, b], 3, { proto: 'udp', sport: 68, dport: 67, vlan: 9 });
  }
  t.equal(a.out.get(7)!.length, 4, 'sport 1000 matched reg0=1000');
  t.ok(hits(a).hits > 0, 'passes were replayed');
  t.same(state(a), state(b));
});

t.test('masked passes: resubmit(,T,ct) keys the conntrack tuple it looked at, not the packet', async (t) => {
  // Replies from port 4 are looked up in table 2 with the original direction's tuple: the
  // connections from a source port with bit 0x1000 go to port 5. A key that took the lookup's
  // tp_src as the packet's (80 for every reply) would send every reply where the first one went.
  const flows = [
    'table=0,priority=10,tcp,actions=ct(table=1)',
    'table=1,priority=10,ip,ct_state=+trk+new,actions=ct(commit),resubmit(,2,ct)',
    'table=1,priority=5,ip,ct_state=+trk+est,actions=resubmit(,2,ct)',
    'table=2,priority=20,tcp,nw_src=10.231.0.1,tp_src=0x1000/0x1000,actions=output:5',
    'table=2,priority=10,tcp,actions=output:6',
  ];
  const [a, b] = pair(flows);
  for (let i = 0; i < 8; i++) {
    const sport = (i % 2 === 0 ? 0x1000 : 0x2000) + i;
    both([a, b], 3, { proto: 'tcp', sport, dport: 80, tcpFlags: 0x02, tcpSeq: 100, tcpAck: 0 });
    both([a, b], 4, { proto: 'tcp', sport: 80, dport: sport, tcpFlags: 0x12, tcpSeq: 500, tcpAck: 101 });
    both([a, b], 4, { proto: 'tcp', sport: 80, dport: sport, tcpFlags: 0x10, tcpSeq: 501, tcpAck: 101 });
  }
  t.ok(hits(a).hits > 0, 'passes were replayed');
  t.equal(a.out.get(5)!.length, 4 * 3, 'the four connections from 0x1000 ports, both ways, went to port 5');
  t.same(state(a), state(b));
});

t.test('masked passes: Neutron firewall connections share entries; refused ports, flags and states still differ', async (t) => {
  const flows = firewallFlows();
  const [a, b] = pair(flows);
  const rand = rng(0x5eed);
  // Handshakes of allowed and refused ports (the conjunction's tcp_dst dimension), then a mix
  // of segments both ways with random flags (some invalid), UDP (DHCP among it) and ICMP.
  const conns: { sport: number; dport: number }[] = [];
  for (let i = 0; i < 60; i++) {
    const dport = rand() < 0.8 ? 1000 + 2 * Math.floor(rand() * 50) : 1001 + 2 * Math.floor(rand() * 50);
    const sport = 20000 + i;
    conns.push({ sport, dport });
    both([a, b], 3, { proto: 'tcp', sport, dport, tcpFlags: 0x02, tcpSeq: 1000, tcpAck: 0 });
    both([a, b], 4, { proto: 'tcp', sport: dport, dport: sport, tcpFlags: 0x12, tcpSeq: 5000, tcpAck: 1001 });
    both([a, b], 3, { proto: 'tcp', sport, dport, tcpFlags: 0x10, tcpSeq: 1001, tcpAck: 5001 });
  }
  const flagsPool = [0x10, 0x10, 0x10, 0x18, 0x11, 0x04, 0x02, 0x03, 0x00];
  for (let n = 0; n < 600; n++) {
    const c = conns[Math.floor(rand() * conns.length)];
    const x = rand();
    if (x < 0.45) both([a, b], 3, { proto: 'tcp', sport: c.sport, dport: c.dport, tcpFlags: flagsPool[Math.floor(rand() * flagsPool.length)], tcpSeq: 1001, tcpAck: 5001 });
    else if (x < 0.8) both([a, b], 4, { proto: 'tcp', sport: c.dport, dport: c.sport, tcpFlags: 0x10, tcpSeq: 5001, tcpAck: 1001 });
    else if (x < 0.9) both([a, b], 3, { proto: 'udp', sport: rand() < 0.5 ? 68 : 40000 + n, dport: rand() < 0.5 ? 67 : 53 });
    else both([a, b], rand() < 0.5 ? 3 : 4, { proto: 'icmp' });
  }
  const h = hits(a);
  t.ok(h.hits > 600, `replayed (${h.hits} hits, ${h.inserts} entries)`);
  // New connections to ports a connection used before: both passes are there already (the first
  // keyed by the port's addresses, the second by ct_state and tcp_dst), whatever the source port.
  const used = [...new Set(conns.filter((c) => c.dport % 2 === 0).map((c) => c.dport))].slice(0, 10);
  for (let i = 0; i < 30; i++) both([a, b], 3, { proto: 'tcp', sport: 40000 + i, dport: used[i % used.length], tcpFlags: 0x02, tcpSeq: 1000, tcpAck: 0 });
  const added = hits(a).inserts - h.inserts;
  t.ok(added <= 2, `30 new connections to ${used.length} known ports stored ${added} entries`);
  t.ok(a.out.get(4)!.length > 60, 'allowed traffic crossed the firewall');
  t.same(state(a), state(b));
});

t.test('masked passes: UDP flows of a port share entries; a port-rule miss keys only the ports\' leading bits', async (t) => {
  // Neutron's DHCP rules (udp, tp_src=68, tp_dst=67 and the reverse) are visited by every UDP
  // packet up to L4. Keyed by the whole ports, every UDP flow had entries of its own; keyed by the
  // leading bits where the packet parts from those rules (OVS's ports trie), sports 4000-4015 all
  // agree with each other there. Ports next to 67 and 68 share longer prefixes with the rules: a
  // key one bit too short would replay a DHCP packet's pass for its neighbour, or the reverse.
  const flows = firewallFlows();
  const [a, b] = pair(flows);
  const before = hits(a);
  for (let n = 0; n < 3; n++) for (let i = 0; i < 16; i++) both([a, b], 3, { proto: 'udp', sport: 4000 + i, dport: 9 });
  const after = hits(a);
  t.ok(after.inserts - before.inserts <= 4, `16 UDP flows x 3 frames stored ${after.inserts - before.inserts} entries`);
  t.ok(after.hits - before.hits >= 40, `and replayed them (${after.hits - before.hits} hits)`);
  for (let n = 0; n < 2; n++) {
    for (const sport of [60, 64, 66, 67, 68, 69, 70, 71, 76, 4000, 40000]) {
      for (const dport of [66, 67, 68, 69, 9]) {
        both([a, b], 3, { proto: 'udp', sport, dport });
        both([a, b], 4, { proto: 'udp', sport, dport });
      }
    }
  }
  t.same(state(a), state(b));
});
