/**
 * No allocation per frame on the datapath: frames pumped through a switch of memory ports leave
 * nothing in V8's young generation (where every short-lived object and every boxed double is
 * born) once the forwarding code is optimised.
 *
 * How: the young generation's used size before and after a round of frames, with no garbage
 * collection in between (v8.GCProfiler says; a round that collected is discarded). Until V8 has
 * optimised the path (a background thread, slower on a loaded machine) a round allocates, so
 * rounds repeat until one is under the bound or the time is up; the figure is the best round.
 * Batches of 16 frames (an arena of 64 slots), so an allocation per batch shows as well (a
 * 16-byte heap number per batch is 1 B per frame). The clock is a virtual one returning an
 * integer: what a clock reading costs is the clock's (native ports stamp the batch clock from
 * the addon instead: packet/batch-clock.ts).
 *
 * With a heap number per frame or per batch (the time passed as an argument, a MAC's low half
 * of 2^31 or more passed to the MAC table) this read 2 B/frame and more.
 */
import t from 'tap';
import type { Test as TapTest } from 'tap';
import v8 from 'v8';
import path from 'path';
import { execFileSync } from 'child_process';
import { Switch } from '../../src/datapath/switch';
import { MemoryPort } from '../../src/io/memory-port';
import { buildFrame } from '../../src/flow/testing';
import { arpRequest } from '../../src/wire/frames';

/** Bytes per frame that still count as "nothing" (the measurement itself allocates ~2 KB). */
const BOUND = 0.25;
const FRAMES = 50_000;

function youngUsed(): number {
  for (const s of v8.getHeapSpaceStatistics()) if (s.space_name === 'new_space') return s.space_used_size;
  throw new Error('no new_space in v8.getHeapSpaceStatistics()');
}

/**
 * Best bytes per unit over rounds of `round()` (each moves `units` units: frames, sessions), and
 * the rounds' figures. Stops early once a round is under `stopBelow`; `reset` runs before each
 * round, outside the measurement. A round during which a scavenge ran is not counted.
 */
function bestBytesPer(units: number, stopBelow: number, round: () => void, reset?: () => void): { best: number; rounds: string[]; shown: string } {
  const rounds: string[] = [];
  let best = Infinity;
  const deadline = Date.now() + 20_000;
  for (let r = 0; r < 200 && Date.now() < deadline && best >= stopBelow; r++) {
    reset?.();
    const gc = new v8.GCProfiler();
    gc.start();
    const before = youngUsed();
    round();
    const after = youngUsed();
    const collected = gc.stop().statistics.length > 0;
    if (collected || after < before) {
      rounds.push('gc');
      continue;
    }
    const b = (after - before) / units;
    rounds.push(b.toFixed(2));
    if (b < best) best = b;
  }
  const shown = rounds.length <= 10 ? rounds.join(' ') : `${rounds.slice(0, 5).join(' ')} ... ${rounds.slice(-5).join(' ')} (${rounds.length})`;
  return { best, rounds, shown };
}

/** Best bytes/frame over rounds of `round()` (each moves FRAMES frames). */
const bytesPerFrame = (round: () => void) => bestBytesPer(FRAMES, BOUND, round);

/** A bridge with two memory ports; batches of at most 16 frames. */
function twoPorts(): { sw: Switch; a: MemoryPort; b: MemoryPort } {
  const sw = new Switch({ arena: { slots: 64, slotSize: 2048 + 128 }, clock: () => 1000 });
  sw.addBridge('br0');
  const a = sw.addPort('br0', 'a', { type: 'memory', ofport: 1 }).io as MemoryPort;
  const b = sw.addPort('br0', 'b', { type: 'memory', ofport: 2 }).io as MemoryPort;
  a.keep = 0;
  b.keep = 0;
  return { sw, a, b };
}

// MACs whose low 32 bits are 2^31 or more (not a small integer when read as uint32).
const MAC_A = '02:aa:cc:dd:ee:f1';
const MAC_B = '02:aa:cc:dd:ee:f2';
const udp = (src: string, dst: string, ipSrc: string, ipDst: string, sport: number, dport: number) =>
  buildFrame({ src, dst, ipSrc, ipDst, proto: 'udp', sport, dport, payload: 18 });

/** Pump FRAMES frames a -> b, and one in 16 b -> a (the reply direction, learning, conntrack's reply path). */
function pump(sw: Switch, a: MemoryPort, b: MemoryPort, ab: Uint8Array[], ba: Uint8Array[]): () => void {
  return () => {
    const before = b.counters.txPackets;
    a.setGenerator(ab, FRAMES - FRAMES / 16);
    b.setGenerator(ba, FRAMES / 16);
    sw.runUntilIdle(1e9);
    if (b.counters.txPackets - before !== FRAMES - FRAMES / 16) throw new Error(`delivered ${b.counters.txPackets - before} of ${FRAMES - FRAMES / 16}`);
  };
}

t.test('L2 NORMAL: no bytes allocated per frame (MAC learning and lookup, both directions)', async (t) => {
  const { sw, a, b } = twoPorts();
  const ab = [udp(MAC_A, MAC_B, '10.1.0.1', '10.1.0.2', 1000, 9), udp(MAC_A, MAC_B, '10.1.0.1', '10.1.0.2', 1001, 9)];
  const ba = [udp(MAC_B, MAC_A, '10.1.0.2', '10.1.0.1', 9, 1000)];
  const { best, shown } = bytesPerFrame(pump(sw, a, b, ab, ba));
  t.ok(best < BOUND, `best round ${best.toFixed(3)} B/frame (< ${BOUND}); rounds: ${shown}`);
  t.equal(sw.bridge('br0').macs.lookup(0, 0x02aa, 0xccddeef2, 1000), 2, 'B learned on port 2 (the low half as uint32)');
  t.equal(sw.bridge('br0').macs.lookup(0, 0x02aa, 0xccddeef2 | 0, 1000), 2, '...and as int32 bits');
});

t.test('flow tables with conntrack (established UDP through ct(table=1), NORMAL): no bytes allocated per frame', async (t) => {
  const { sw, a, b } = twoPorts();
  const flows = sw.flows('br0');
  flows.addFlows(
    [
      'table=0,priority=10,ip,actions=ct(table=1)',
      'table=0,priority=0,actions=NORMAL',
      'table=1,priority=10,ct_state=+trk+new,ip,in_port=1,actions=ct(commit),NORMAL',
      'table=1,priority=10,ct_state=+trk+est,ip,actions=NORMAL',
      'table=1,priority=0,actions=drop',
    ].join('\n'),
  );
  const ab = [udp(MAC_A, MAC_B, '10.1.0.1', '10.1.0.2', 1000, 9), udp(MAC_A, MAC_B, '10.1.0.1', '10.1.0.2', 1001, 9)];
  const ba = [udp(MAC_B, MAC_A, '10.1.0.2', '10.1.0.1', 9, 1000), udp(MAC_B, MAC_A, '10.1.0.2', '10.1.0.1', 9, 1001)];
  // Open both connections first (a -> b commits; the replies then pass as established).
  a.setGenerator(ab, 2);
  sw.runUntilIdle();
  t.equal(flows.conntrack.table.count, 2, 'two connections committed');
  const { best, rounds, shown } = bytesPerFrame(pump(sw, a, b, ab, ba));
  t.ok(best < BOUND, `best round ${best.toFixed(3)} B/frame (< ${BOUND}); rounds: ${shown}`);
  t.equal(a.counters.txPackets, FRAMES / 16 * rounds.length, 'every reply passed as established');
});

/**
 * A router with a floating IP between a VM port (VLAN 1 on br-int) and an external port, both
 * sessions opened; FRAMES frames through it in rounds. `ext` is the external /24 (its .1 the
 * upstream host, .2 the router, .10 the floating IP); `mac` the third byte of the
 * VM's and the upstream's MACs (02:54:mac:00:..); `sport` the upstream's first source port.
 */
function routedRounds(t: TapTest, ext: string, mac: string, sport: number): void {
  // A time that is not a small integer (fractional ms, as the datapath's monotonic clock reads),
  // read from a variable, so a reading allocates nothing here; the monotonic clock's readings
  // are heap numbers, so the router must not read a clock per batch at all: it takes the
  // batch's time from the switch's batch clock (it read its own and passed it on as an
  // argument: 29 of the 34 B per routed + floating IP frame on a running switch).
  const ms = 1000.5;
  let routerReads = 0;
  const sw = new Switch({ arena: { slots: 64, slotSize: 2048 + 128 }, clock: () => ms });
  sw.addBridge('br-int');
  sw.addBridge('br-ex');
  const vm = sw.addPort('br-int', 'vm', { type: 'memory', ofport: 1, tag: 1 }).io as MemoryPort;
  const extPort = sw.addPort('br-ex', 'ext', { type: 'memory', ofport: 1 }).io as MemoryPort;
  vm.keep = 0;
  extPort.keep = 0;
  const r = sw.l3.addRouter('r1', { clock: () => (routerReads++, ms) });
  sw.l3.routerAddPort('r1', { bridge: 'br-int', port: 'qr', mac: '02:52:00:00:01:01', cidr: '10.231.1.1/24', tag: 1 });
  sw.l3.routerAddPort('r1', { bridge: 'br-ex', port: 'qg', mac: '02:52:00:00:ff:01', cidr: `${ext}.2/24`, gateway: true });
  r.addFloatingIp(`${ext}.10`, '10.231.1.10');
  const VM = `02:54:${mac}:00:01:0a`;
  const UP = `02:54:${mac}:00:ff:0e`;
  vm.inject(arpRequest(VM, '10.231.1.10', '10.231.1.1'));
  extPort.inject(arpRequest(UP, `${ext}.1`, `${ext}.2`));
  sw.runUntilIdle();
  sw.settle();
  const ab = [udp(UP, '02:52:00:00:ff:01', `${ext}.1`, `${ext}.10`, sport, 9), udp(UP, '02:52:00:00:ff:01', `${ext}.1`, `${ext}.10`, sport + 1, 9)];
  const ba = [udp(VM, '02:52:00:00:01:01', '10.231.1.10', `${ext}.1`, 9, sport)];
  // Open both sessions first (a new session reads the clock for its event: not per frame).
  extPort.setGenerator(ab, 2);
  sw.runUntilIdle();
  t.equal(r.ct.count, 2, 'two sessions opened');
  const extBefore = extPort.counters.txPackets;
  const readsBefore = routerReads;
  const { best, rounds, shown } = bytesPerFrame(pump(sw, extPort, vm, ab, ba));
  t.ok(best < BOUND, `best round ${best.toFixed(3)} B/frame (< ${BOUND}); rounds: ${shown}`);
  t.equal(extPort.counters.txPackets - extBefore, FRAMES / 16 * rounds.length, 'every reply left through the floating IP');
  t.equal(r.ct.count, 2, 'no more sessions');
  t.equal(routerReads - readsBefore, 0, 'the router read no clock of its own while forwarding');
}

t.test('routed with a floating IP (DNAT in, the session\'s SNAT back, established): no bytes allocated per frame', async (t) => {
  // Addresses, MACs and ports below 2^31 as uint32: the clock alone.
  routedRounds(t, '10.203.0', '00', 1000);
});

t.test('routed with a floating IP, addresses, MAC halves and ports of 2^31 or more: no bytes allocated per frame', async (t) => {
  // 203.0.113.0/24 is 0xcb007100 and up; a MAC 02:54:c0:.. has a low half of 0xc0...; a source
  // port of 40000 makes the session's packed ports (sport<<16|dport) 2^31 or more. Each, as
  // uint32 handed to a call V8 does not inline, was a 16-byte heap number per frame (NAT's
  // addresses and ports to rewritePacket, the next hop's MAC to the transmit): 48 B per frame
  // with all three, what a ping through a floating IP on a running switch showed (16 B/echo).
  routedRounds(t, '203.0.113', 'c0', 40000);
});

/**
 * Frames from a VM (10.231.1.10) routed to 203.0.113.50 (0xcb007132, 2^31 or more) on a
 * directly connected interface where nobody answers ARP. The clock does not move, so the next
 * hop stays pending with one request sent; each measured frame is refused with `reason`: the
 * decision asks the pending queue (queued yet? room?) and, for the hold budget's refusal, the
 * commit hands the frame to the neighbour layer, which asks again. The queue is a Map keyed by
 * the next hop: keyed by the uint32 address, each of those calls V8 did not inline was a
 * 16-byte heap number per frame; keyed (and passed) as int32 bits it is a small integer.
 */
function unresolvedRounds(t: TapTest, opts: { holdLimit?: number; holdPerIface?: number }, reason: 'arp_hold_limit' | 'arp_queue_full', held: (q: number) => number): void {
  const ms = 1000.5;
  const sw = new Switch({ arena: { slots: 64, slotSize: 2048 + 128 }, clock: () => ms });
  sw.addBridge('br-int');
  const vm = sw.addPort('br-int', 'vm', { type: 'memory', ofport: 1, tag: 1 }).io as MemoryPort;
  const far = sw.addPort('br-int', 'far', { type: 'memory', ofport: 2, tag: 2 }).io as MemoryPort;
  vm.keep = 0;
  far.keep = 0;
  const r = sw.l3.addRouter('r1', { clock: () => ms, ...opts });
  sw.l3.routerAddPort('r1', { bridge: 'br-int', port: 'qr1', mac: '02:52:00:00:01:01', cidr: '10.231.1.1/24', tag: 1 });
  sw.l3.routerAddPort('r1', { bridge: 'br-int', port: 'qr2', mac: '02:52:00:00:02:01', cidr: '203.0.113.2/24', tag: 2 });
  const VM = '02:54:c0:00:01:0a';
  vm.inject(arpRequest(VM, '10.231.1.10', '10.231.1.1'));
  sw.runUntilIdle();
  sw.settle();
  const fs = [udp(VM, '02:52:00:00:01:01', '10.231.1.10', '203.0.113.50', 40000, 9), udp(VM, '02:52:00:00:01:01', '10.231.1.10', '203.0.113.50', 40001, 9)];
  // The first frames open resolution (one ARP request out of qr2) and fill what may be held.
  vm.setGenerator(fs, 64);
  sw.runUntilIdle();
  const q = r.nbr.pending.queueLen;
  t.same(r.nbr.pending.list().map((p) => [p.ip, p.slots.length, p.probes]), [[0xcb007132, held(q), 1]], `one next hop pending (its address as uint32), ${held(q)} frames held, one request sent`);
  t.same(r.show().pendingArp.map((p) => [p.ip, p.queued]), [['203.0.113.50', held(q)]], 'shown as 203.0.113.50');
  const { best, rounds, shown } = bytesPerFrame(() => {
    const before = r.drops.get(reason);
    vm.setGenerator(fs, FRAMES);
    sw.runUntilIdle(1e9);
    if (r.drops.get(reason) - before !== FRAMES) throw new Error(`${reason}: ${r.drops.get(reason) - before} of ${FRAMES}`);
  });
  t.ok(best < BOUND, `every frame ${reason}: best round ${best.toFixed(3)} B/frame (< ${BOUND}); rounds: ${shown}`);
  t.ok(rounds.length > 0, 'rounds ran');
  t.equal(r.stats.arpRequestsSent, 1, 'still one ARP request (the clock did not move)');
  t.equal(far.counters.txPackets, 1, 'one frame out of the far port: the request');
}

t.test('routed to an unresolved next hop of 2^31 or more, its queue full (arp_queue_full): no bytes allocated per frame', async (t) => {
  unresolvedRounds(t, { holdLimit: 48, holdPerIface: 24 }, 'arp_queue_full', (q) => q);
});

t.test('routed to an unresolved next hop of 2^31 or more, the interface\'s hold budget spent (arp_hold_limit): no bytes allocated per frame', async (t) => {
  // The default budgets of a 64-slot arena: 8 for the router, 4 per interface (< the queue's 16).
  unresolvedRounds(t, {}, 'arp_hold_limit', () => 4);
});

t.test('parse without the optimising compiler (warm-up, after a deopt): no bytes per frame for words of 2^31 or more', async (t) => {
  // Where parseSlot is not optimised, its DataView reads are calls to V8's builtins, and a
  // 32-bit word of 2^31 or more read unsigned (getUint32) comes back as a 16-byte heap number:
  // 64 B per frame for these two MACs and addresses. Read signed, it is a small integer.
  const child = path.join(__dirname, '../helpers/parse-alloc-child.js');
  // A young generation large enough for a round (the old reads allocated ~1 MB per round).
  const out = JSON.parse(execFileSync(process.execPath, ['--max-opt=1', '--min-semi-space-size=16', '--max-semi-space-size=64', child], { encoding: 'utf8' })) as { best: number | null; parsed: number; words: number[] };
  t.equal(out.parsed, 256, 'every frame parsed');
  if (typeof out.best !== 'number') return void t.fail('no round ran without a garbage collection');
  t.same(out.words, [0xc000ff01, 0xc000ff0e, 0xcb007101, 0xcb00710a], 'MAC low halves and addresses as uint32 key words');
  t.ok(out.best < BOUND, `best round ${out.best.toFixed(3)} B/frame (< ${BOUND})`);
});

// ---- new sessions and connections -------------------------------------------------------------

/** Sessions (connections) one round opens: one frame each, every frame a tuple of its own. */
const SESSIONS = 4096;
/** Bytes per new session that still count as "nothing": a heap number per session is 16 B. */
const SESSION_BOUND = 2;

/**
 * Best bytes per new session over rounds: `reset` (not measured) removes the last round's
 * sessions and loads SESSIONS frames into the generator; the measured part runs the switch
 * until every frame has left, each opening a session. The first round grows the tables (the
 * session table doubles, the caches fill); rounds after it reuse them, as a running switch does.
 */
function bytesPerSession(reset: () => void, run: () => void): { best: number; shown: string } {
  return bestBytesPer(SESSIONS, SESSION_BOUND / 4, run, reset);
}

/** SESSIONS UDP frames from source ports 40000 and up (port words of 2^31 or more). */
function newFlows(src: string, dst: string, ipSrc: string, ipDst: string): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (let i = 0; i < SESSIONS; i++) out.push(udp(src, dst, ipSrc, ipDst, 40000 + i, 9));
  return out;
}

/**
 * A router between a VM port (VLAN 1 on br-int: 10.231.1.0/24, the VM .10 with floating IP
 * 203.0.113.10, a second VM .20 without) and an external port (203.0.113.0/24: the upstream
 * host .1, the router's gateway address .2), every neighbour resolved. Addresses of the
 * external network, MAC halves (02:54:c0:..) and the sessions' port words are all 2^31 or more.
 */
function natRouter(): { sw: Switch; r: ReturnType<Switch['l3']['addRouter']>; vm: MemoryPort; ext: MemoryPort; VM: string; VM2: string; UP: string } {
  const ms = 1000.5;
  const sw = new Switch({ arena: { slots: 64, slotSize: 2048 + 128 }, clock: () => ms });
  sw.addBridge('br-int');
  sw.addBridge('br-ex');
  const vm = sw.addPort('br-int', 'vm', { type: 'memory', ofport: 1, tag: 1 }).io as MemoryPort;
  const ext = sw.addPort('br-ex', 'ext', { type: 'memory', ofport: 1 }).io as MemoryPort;
  vm.keep = 0;
  ext.keep = 0;
  const r = sw.l3.addRouter('r1', { clock: () => ms });
  sw.l3.routerAddPort('r1', { bridge: 'br-int', port: 'qr', mac: '02:52:00:00:01:01', cidr: '10.231.1.1/24', tag: 1 });
  sw.l3.routerAddPort('r1', { bridge: 'br-ex', port: 'qg', mac: '02:52:00:00:ff:01', cidr: '203.0.113.2/24', gateway: true });
  r.addFloatingIp('203.0.113.10', '10.231.1.10');
  const VM = '02:54:c0:00:01:0a';
  const VM2 = '02:54:c0:00:01:14';
  const UP = '02:54:c0:00:ff:0e';
  vm.inject(arpRequest(VM, '10.231.1.10', '10.231.1.1'));
  vm.inject(arpRequest(VM2, '10.231.1.20', '10.231.1.1'));
  ext.inject(arpRequest(UP, '203.0.113.1', '203.0.113.2'));
  sw.runUntilIdle();
  sw.settle();
  return { sw, r, vm, ext, VM, VM2, UP };
}

/** Rounds of SESSIONS new router sessions from `from` to `to`; checks each frame left and opened one. */
function routerSessions(t: TapTest, what: string, from: (n: ReturnType<typeof natRouter>) => MemoryPort, to: (n: ReturnType<typeof natRouter>) => MemoryPort, frames: (n: ReturnType<typeof natRouter>) => Uint8Array[]): void {
  const n = natRouter();
  const fs = frames(n);
  const src = from(n);
  const dst = to(n);
  let sent = 0;
  const { best, shown } = bytesPerSession(
    () => {
      n.r.ct.flushAll();
      src.setGenerator(fs, SESSIONS);
      sent = dst.counters.txPackets;
    },
    () => {
      n.sw.runUntilIdle(1e9);
      if (dst.counters.txPackets - sent !== SESSIONS) throw new Error(`${what}: delivered ${dst.counters.txPackets - sent} of ${SESSIONS}`);
      if (n.r.ct.count !== SESSIONS) throw new Error(`${what}: ${n.r.ct.count} sessions of ${SESSIONS}`);
    },
  );
  t.ok(best < SESSION_BOUND, `${what}: best round ${best.toFixed(3)} B/session (< ${SESSION_BOUND}); rounds: ${shown}`);
}

t.test('new router sessions, SNAT to the gateway address (203.0.113.2, a pool port per session): no bytes allocated per session', async (t) => {
  // peekAdmit, peekSnatPort and lookupExcept take the source, the peer, the gateway address and
  // the port words; create the whole tuple and its translation; the per-source count is a
  // U32Map value: as uint32 of 2^31 or more, each is a heap number at a call V8 does not inline.
  routerSessions(t, 'SNAT gateway', (n) => n.vm, (n) => n.ext, (n) => newFlows(n.VM2, '02:52:00:00:01:01', '10.231.1.20', '203.0.113.1'));
});

t.test('new router sessions, SNAT to a floating IP (203.0.113.10): no bytes allocated per session', async (t) => {
  // The floating IP comes out of U32Map.get (fixedToFip).
  routerSessions(t, 'SNAT floating IP', (n) => n.vm, (n) => n.ext, (n) => newFlows(n.VM, '02:52:00:00:01:01', '10.231.1.10', '203.0.113.1'));
});

t.test('new router sessions, DNAT through a floating IP (203.0.113.1 -> 203.0.113.10): no bytes allocated per session', async (t) => {
  routerSessions(t, 'DNAT floating IP', (n) => n.ext, (n) => n.vm, (n) => newFlows(n.UP, '02:52:00:00:ff:01', '203.0.113.1', '203.0.113.10'));
});

/** Rounds of SESSIONS connections committed by the flow tables a -> b (203.0.113.0/24, high MACs). */
function flowCommits(t: TapTest, what: string, commit: string, check: (b: MemoryPort) => void): void {
  const { sw, a, b } = twoPorts();
  const flows = sw.flows('br0');
  flows.addFlows(
    [
      'table=0,priority=10,ip,actions=ct(table=1)',
      'table=0,priority=0,actions=NORMAL',
      `table=1,priority=10,ct_state=+trk+new,ip,in_port=1,actions=${commit},NORMAL`,
      'table=1,priority=0,actions=drop',
    ].join('\n'),
  );
  // b's MAC learned, so NORMAL forwards instead of flooding.
  b.inject(udp(MAC_B, MAC_A, '203.0.113.2', '203.0.113.1', 9, 9));
  sw.runUntilIdle();
  const fs = newFlows(MAC_A, MAC_B, '203.0.113.1', '203.0.113.2');
  let sent = 0;
  const { best, shown } = bytesPerSession(
    () => {
      flows.conntrack.table.flushAll();
      a.setGenerator(fs, SESSIONS);
      sent = b.counters.txPackets;
    },
    () => {
      sw.runUntilIdle(1e9);
      if (b.counters.txPackets - sent !== SESSIONS) throw new Error(`${what}: delivered ${b.counters.txPackets - sent} of ${SESSIONS}`);
      if (flows.conntrack.table.count !== SESSIONS) throw new Error(`${what}: ${flows.conntrack.table.count} connections of ${SESSIONS}`);
    },
  );
  t.ok(best < SESSION_BOUND, `${what}: best round ${best.toFixed(3)} B/connection (< ${SESSION_BOUND}); rounds: ${shown}`);
  b.keep = 1;
  a.setGenerator(fs.slice(0, 1), 1);
  sw.runUntilIdle();
  check(b);
}

t.test('new connections committed by ct(commit) (203.0.113.1 -> .2, source ports from 40000): no bytes allocated per connection', async (t) => {
  flowCommits(t, 'ct(commit)', 'ct(commit)', () => {});
});

t.test('new connections committed with ct(commit,nat(src=203.0.113.100-203.0.113.101:40000-50000)): no bytes allocated per connection', async (t) => {
  flowCommits(t, 'ct(commit,nat(src))', 'ct(commit,nat(src=203.0.113.100-203.0.113.101:40000-50000))', (b) => {
    const f = b.takeTransmitted()[0];
    if (f === undefined) return void t.fail('no frame left');
    t.equal([...f.subarray(26, 30)].join('.'), '203.0.113.100', 'the source translated to the range\'s first address');
    t.equal(f.readUInt16BE(34), 40000, 'its source port kept (free in the range)');
  });
});

t.test("router session events: built and emitted as 'nat' only while someone listens", async (t) => {
  // Without a listener the router does not describe the session at all (~1 KB of strings and
  // objects per new session: 1,088 B per session before the router asked).
  const n = natRouter();
  const fs = newFlows(n.VM2, '02:52:00:00:01:01', '10.231.1.20', '203.0.113.1');
  const events: { router: string; event: string; session: { kind: string; orig: { src: string; dst: string; sport: number }; reply: { dst: string } } }[] = [];
  const listener = (e: (typeof events)[number]) => events.push(e);
  t.notOk(n.r.sessionEventsWanted(), 'nobody listens: no events wanted');
  n.sw.on('nat', listener);
  t.ok(n.r.sessionEventsWanted(), 'a listener: events wanted');
  n.vm.setGenerator(fs.slice(0, 1), 1);
  n.sw.runUntilIdle();
  t.same(
    events.map((e) => [e.router, e.event, e.session.kind, e.session.orig.src, e.session.orig.dst, e.session.orig.sport, e.session.reply.dst]),
    [['r1', 'created', 'snat', '10.231.1.20', '203.0.113.1', 40000, '203.0.113.2']],
    'the new session as a created event (translated to the gateway address)',
  );
  n.sw.off('nat', listener);
  t.notOk(n.r.sessionEventsWanted(), 'the listener gone: none wanted');
  n.vm.setGenerator(fs.slice(1, 2), 1);
  n.sw.runUntilIdle();
  t.equal(n.r.ct.count, 2, 'the second session opened');
  t.equal(events.length, 1, 'without an event');
});
