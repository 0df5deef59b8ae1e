/**
 * The NORMAL learning switch on memory ports with a virtual clock: learning, flooding rules,
 * access/trunk VLAN handling, aging, the size limit, patch ports between bridges.
 */
import t, { type Test as TapTest } from 'tap';
import { Switch } from '../../src/datapath/switch';
import { MemoryPort } from '../../src/io/memory-port';
import { BURST } from '../../src/packet/batch';
import { udpFrame, arpRequest, frameVid } from '../../src/wire/frames';

const A = '02:00:00:00:00:0a';
const B = '02:00:00:00:00:0b';
const BCAST = 'ff:ff:ff:ff:ff:ff';

function setup(ports: { name: string; tag?: number; trunks?: number[] }[], agingMs?: number) {
  let now = 1000;
  const sw = new Switch({ clock: () => now, arena: { slots: 256, slotSize: 2048 + 128 }, bridge: { macAgingMs: agingMs } });
  sw.addBridge('br0');
  const mem: Record<string, MemoryPort> = {};
  for (const p of ports) mem[p.name] = sw.addPort('br0', p.name, { type: 'memory', tag: p.tag, trunks: p.trunks }).io as MemoryPort;
  const send = (port: string, f: Buffer) => {
    mem[port].inject(f);
    sw.runUntilIdle();
  };
  const out = (port: string) => mem[port].takeTransmitted();
  return { sw, mem, send, out, advance: (ms: number) => (now += ms) };
}

t.test('unknown unicast floods to all but the input port, then learning narrows it', async (t) => {
  const { sw, send, out } = setup([{ name: 'p1' }, { name: 'p2' }, { name: 'p3' }]);
  send('p1', udpFrame({ dst: B, src: A, ipSrc: '10.0.0.1', ipDst: '10.0.0.2' }));
  t.equal(out('p1').length, 0, 'never back out of the input port');
  t.equal(out('p2').length, 1);
  t.equal(out('p3').length, 1);
  // B answers: A is known now, so only p1 gets it; B is learned on p2.
  send('p2', udpFrame({ dst: A, src: B, ipSrc: '10.0.0.2', ipDst: '10.0.0.1' }));
  t.equal(out('p1').length, 1);
  t.equal(out('p3').length, 0, 'known destination: no flood');
  send('p1', udpFrame({ dst: B, src: A, ipSrc: '10.0.0.1', ipDst: '10.0.0.2' }));
  t.equal(out('p2').length, 1);
  t.equal(out('p3').length, 0);
  const fdb = sw.fdb('br0');
  t.same(fdb.map((e) => [e.portName, e.mac, e.vlan]), [['p1', A, 0], ['p2', B, 0]]);
  t.equal(sw.arena.available, sw.arena.capacity, 'every slot returned to the arena');
});

t.test('broadcast and multicast flood; a MAC moving ports is relearned', async (t) => {
  const { sw, send, out } = setup([{ name: 'p1' }, { name: 'p2' }, { name: 'p3' }]);
  const arp = arpRequest(A, '10.0.0.1', '10.0.0.2');
  send('p1', arp);
  t.same([out('p1'), out('p2'), out('p3')], [[], [arp], [arp]], 'broadcast: one unchanged copy to each other port');
  const mcast = udpFrame({ dst: '01:00:5e:00:00:01', src: B, ipSrc: '10.0.0.2', ipDst: '224.0.0.1' });
  send('p2', mcast);
  t.same([out('p1'), out('p2'), out('p3')], [[mcast], [], [mcast]], 'multicast floods: one copy to each other port');
  send('p3', udpFrame({ dst: BCAST, src: A, ipSrc: '10.0.0.1', ipDst: '10.0.0.255' }));
  t.equal(sw.fdb('br0').find((e) => e.mac === A)?.portName, 'p3', 'A moved to p3');
  out('p1'); out('p2');
  send('p2', udpFrame({ dst: A, src: B, ipSrc: '10.0.0.2', ipDst: '10.0.0.1' }));
  t.equal(out('p3').length, 1);
  t.equal(out('p1').length, 0);
});

t.test('access ports tag on trunks, trunks untag to access ports, VLANs isolated', async (t) => {
  const { sw, send, out } = setup([{ name: 'vm1', tag: 1 }, { name: 'vm2', tag: 2 }, { name: 'vm3', tag: 1 }, { name: 'trunk' }]);
  send('vm1', arpRequest(A, '10.0.0.1', '10.0.0.3'));
  const onTrunk = out('trunk');
  t.equal(onTrunk.length, 1);
  t.equal(frameVid(onTrunk[0]), 1, 'access VLAN 1 leaves the trunk tagged 1');
  t.equal(onTrunk[0].length, 64, 'exactly one 4-byte tag was added');
  const onVm3 = out('vm3');
  t.equal(onVm3.length, 1);
  t.equal(frameVid(onVm3[0]), undefined, 'same-VLAN access port gets it untagged');
  t.equal(out('vm2').length, 0, 'VLAN 2 never sees VLAN 1 traffic');

  // A tagged frame on the trunk reaches only access ports of that VLAN, untagged.
  send('trunk', arpRequest(B, '10.0.0.9', '10.0.0.1', 2));
  t.same([out('vm1'), out('vm3')], [[], []], 'VLAN 1 ports never see VLAN 2 traffic');
  const onVm2 = out('vm2');
  t.equal(onVm2.length, 1);
  t.equal(frameVid(onVm2[0]), undefined);
  t.same(onVm2[0].subarray(0, 12), arpRequest(B, '10.0.0.9', '10.0.0.1').subarray(0, 12));

  // A tagged frame arriving on an access port is dropped by NORMAL and counted.
  send('vm1', arpRequest(A, '10.0.0.1', '10.0.0.3', 7));
  t.same([out('trunk'), out('vm3')], [[], []]);
  t.equal(sw.bridgeDrops('br0').vlan_not_allowed, 1);
});

t.test('trunks= restricts VLANs on a trunk', async (t) => {
  const { sw, send, out } = setup([{ name: 'vm1', tag: 5 }, { name: 't10', trunks: [10] }, { name: 't5', trunks: [5, 6] }]);
  send('vm1', arpRequest(A, '10.0.0.1', '10.0.0.3'));
  t.equal(out('t10').length, 0, 'VLAN 5 not carried by trunks=10');
  t.equal(frameVid(out('t5')[0]), 5);
  send('t10', arpRequest(B, '10.0.0.2', '10.0.0.3', 11));
  t.equal(sw.bridgeDrops('br0').vlan_not_allowed, 1, 'VLAN 11 refused on trunks=10');
});

t.test('aging with an injected clock', async (t) => {
  const { sw, send, out, advance } = setup([{ name: 'p1' }, { name: 'p2' }, { name: 'p3' }], 10_000);
  send('p1', udpFrame({ dst: B, src: A, ipSrc: '10.0.0.1', ipDst: '10.0.0.2' }));
  out('p2'); out('p3');
  advance(9_000);
  send('p2', udpFrame({ dst: A, src: B, ipSrc: '10.0.0.2', ipDst: '10.0.0.1' }));
  t.equal(out('p3').length, 0, 'A still known after 9 s');
  out('p1');
  advance(2_000);
  sw.tick();
  t.notOk(sw.fdb('br0').some((e) => e.mac === A), 'A aged out after 10 s');
  send('p2', udpFrame({ dst: A, src: B, ipSrc: '10.0.0.2', ipDst: '10.0.0.1' }));
  t.equal(out('p3').length, 1, 'unknown again: flooded');
});

t.test('MAC table size limit evicts instead of growing', async (t) => {
  let now = 0;
  const sw = new Switch({ clock: () => now, arena: { slots: 512, slotSize: 2048 + 128 }, bridge: { macMaxEntries: 16 } });
  sw.addBridge('br0');
  const p1 = sw.addPort('br0', 'p1', { type: 'memory' }).io as MemoryPort;
  sw.addPort('br0', 'p2', { type: 'memory', mtu: 1500 });
  for (let i = 0; i < 100; i++) {
    now++;
    p1.inject(udpFrame({ dst: B, src: `02:00:00:00:01:${i.toString(16).padStart(2, '0')}`, ipSrc: '10.0.0.1', ipDst: '10.0.0.2' }));
  }
  const events: Record<string, number> = {};
  sw.on('mac', (e: { type: string }) => (events[e.type] = (events[e.type] ?? 0) + 1));
  sw.runUntilIdle();
  t.equal(sw.bridge('br0').macs.size, 16, 'the table is full at its limit, not beyond');
  t.equal(sw.fdb('br0').length, 16);
  t.same(events, { learned: 100, evicted: 84 }, 'every MAC learned; each one past the limit evicted an older one');
  t.ok(sw.fdb('br0').some((e) => e.mac === '02:00:00:00:01:63'), 'the newest MAC was learned');
});

t.test('patch ports join two bridges and carry the VLAN tag', async (t) => {
  const sw = new Switch({ clock: () => 0, arena: { slots: 256, slotSize: 2048 + 128 } });
  sw.addBridge('br-int');
  sw.addBridge('br-eth1');
  const vm = sw.addPort('br-int', 'vm1', { type: 'memory', tag: 3 }).io as MemoryPort;
  sw.addPort('br-int', 'int-br-eth1', { type: 'patch', peer: 'phy-br-eth1' });
  sw.addPort('br-eth1', 'phy-br-eth1', { type: 'patch', peer: 'int-br-eth1' });
  const up = sw.addPort('br-eth1', 'eth1', { type: 'memory' }).io as MemoryPort;
  vm.inject(arpRequest(A, '10.0.0.1', '10.0.0.2'));
  sw.runUntilIdle();
  const f = up.takeTransmitted();
  t.equal(f.length, 1);
  t.equal(frameVid(f[0]), 3, 'crossed the patch and left the uplink tagged with the local VLAN');
  up.inject(udpFrame({ dst: A, src: B, ipSrc: '10.0.0.2', ipDst: '10.0.0.1', vid: 3 }));
  sw.runUntilIdle();
  const back = vm.takeTransmitted();
  t.equal(back.length, 1);
  t.equal(frameVid(back[0]), undefined, 'back to the VM untagged');
  const counters = sw.dumpPorts('br-int').find((p) => p.name === 'int-br-eth1')!;
  t.equal(counters.tx_packets, 1);
  t.equal(counters.rx_packets, 1);
  t.equal(sw.arena.available, sw.arena.capacity);
});

t.test('a port that goes down stops receiving output, the others keep forwarding', async (t) => {
  const { sw, mem, send, out } = setup([{ name: 'p1' }, { name: 'p2' }, { name: 'p3' }]);
  mem.p3.setDown();
  send('p1', arpRequest(A, '10.0.0.1', '10.0.0.2'));
  t.equal(out('p2').length, 1);
  t.equal(out('p3').length, 0);
  t.equal(sw.arena.available, sw.arena.capacity);
});

t.test('config errors are clear and change nothing', async (t) => {
  const { sw } = setup([{ name: 'p1' }]);
  t.throws(() => sw.addPort('br0', 'p1', { type: 'memory' }), /already exists/);
  t.throws(() => sw.addPort('nobr', 'x', { type: 'memory' }), /no bridge named 'nobr'/);
  t.throws(() => sw.addPort('br0', 'x', { type: 'memory', ofport: 1 }), /ofport 1 is already used by 'p1'/);
  t.throws(() => sw.addPort('br0', 'x', { type: 'memory', tag: 5000 }), /0\.\.4095/);
  t.throws(() => sw.addPort('br0', 'x', { type: 'patch' }), /needs peer=/);
  t.throws(() => sw.addPort('br0', 'a-very-long-port-name', { type: 'memory' }), /1-15 characters/);
  t.throws(() => sw.addBridge('br0'), /already exists/);
  t.equal(sw.show()[0].ports.length, 1);
});

t.test('within one batch, a MAC that moves is followed at once (the per-batch memo is invalidated)', async (t) => {
  const { mem, out, send, sw } = setup([{ name: 'p1' }, { name: 'p2' }, { name: 'p3' }]);
  send('p1', udpFrame({ dst: BCAST, src: A, ipSrc: '10.0.0.1', ipDst: '10.0.0.255' }));
  out('p2'); out('p3');
  // One batch from p2: B → A (A is on p1), then A itself shows up on p2, then B → A again.
  mem.p2.inject(udpFrame({ dst: A, src: B, ipSrc: '10.0.0.2', ipDst: '10.0.0.1' }));
  mem.p2.inject(udpFrame({ dst: BCAST, src: A, ipSrc: '10.0.0.1', ipDst: '10.0.0.255' }));
  mem.p2.inject(udpFrame({ dst: A, src: B, ipSrc: '10.0.0.2', ipDst: '10.0.0.1', sport: 9 }));
  sw.runUntilIdle();
  const at1 = out('p1');
  t.equal(at1.length, 2, 'p1 got the first B → A and the broadcast, not the B → A sent after A moved');
  t.equal(sw.fdb('br0').find((e) => e.mac === A)?.portName, 'p2');
  t.equal(sw.bridgeDrops('br0').no_output, 1, 'the last frame was for the input port: dropped');
});

// NORMAL's one-entry decision cache (normal.ts: the batch's last unicast decision is reused for
// frames with the same input port, TCI, destination and source). Each case below breaks when one
// of the cache's checks is left out.

t.test('decision cache: a frame of another VLAN with the same MACs is decided again, in its own VLAN', async (t) => {
  const { mem, out, send, sw } = setup([{ name: 'trunk' }, { name: 'v10', trunks: [10] }, { name: 'v20', trunks: [20] }, { name: 'b10', trunks: [10] }]);
  send('v10', udpFrame({ dst: A, src: B, ipSrc: '10.0.0.2', ipDst: '10.0.0.1', vid: 10 }));
  out('trunk'); out('b10');
  // One batch from the trunk: A → B in VLAN 10 (B learned there: unicast to v10), then the same
  // MACs in VLAN 20, where B is unknown: a flood to v20 only, never a copy into VLAN 10.
  mem.trunk.inject(udpFrame({ dst: B, src: A, ipSrc: '10.0.0.1', ipDst: '10.0.0.2', vid: 10 }));
  mem.trunk.inject(udpFrame({ dst: B, src: A, ipSrc: '10.0.0.1', ipDst: '10.0.0.2', vid: 20 }));
  sw.runUntilIdle();
  const at10 = out('v10');
  t.same(at10.map(frameVid), [10], 'v10 got the VLAN 10 frame only');
  t.same(out('v20').map(frameVid), [20], 'the VLAN 20 frame was flooded in VLAN 20');
  t.equal(out('b10').length, 0, 'nothing else in VLAN 10');
});

t.test('decision cache: a frame from another source to the same destination is still learned', async (t) => {
  const C = '02:00:00:00:00:0c';
  const { mem, out, send, sw } = setup([{ name: 'p1' }, { name: 'p2' }, { name: 'p3' }]);
  send('p2', udpFrame({ dst: A, src: B, ipSrc: '10.0.0.2', ipDst: '10.0.0.1' }));
  out('p1'); out('p3');
  mem.p1.inject(udpFrame({ dst: B, src: A, ipSrc: '10.0.0.1', ipDst: '10.0.0.2' }));
  mem.p1.inject(udpFrame({ dst: B, src: C, ipSrc: '10.0.0.3', ipDst: '10.0.0.2' }));
  sw.runUntilIdle();
  t.equal(out('p2').length, 2);
  t.equal(sw.fdb('br0').find((e) => e.mac === C)?.portName, 'p1', 'C learned on p1');
  // ...so a frame to C goes to p1 alone.
  send('p2', udpFrame({ dst: C, src: B, ipSrc: '10.0.0.2', ipDst: '10.0.0.3' }));
  t.same([out('p1').length, out('p3').length], [1, 0]);
});

t.test('decision cache: scoped to the batch (a destination that ages out between batches floods)', async (t) => {
  const { mem, out, send, sw, advance } = setup([{ name: 'p1' }, { name: 'p2' }, { name: 'p3' }], 10_000);
  send('p2', udpFrame({ dst: BCAST, src: B, ipSrc: '10.0.0.2', ipDst: '10.0.0.255' }));
  out('p1'); out('p3');
  advance(5_000);
  mem.p1.inject(udpFrame({ dst: B, src: A, ipSrc: '10.0.0.1', ipDst: '10.0.0.2' }));
  mem.p1.inject(udpFrame({ dst: B, src: A, ipSrc: '10.0.0.1', ipDst: '10.0.0.2', sport: 7 }));
  sw.runUntilIdle();
  t.same([out('p2').length, out('p3').length], [2, 0], 'B known: unicast');
  advance(6_000); // B was last seen 11 s ago: aged (invisible to lookups before the tick removes it)
  send('p1', udpFrame({ dst: B, src: A, ipSrc: '10.0.0.1', ipDst: '10.0.0.2' }));
  t.same([out('p2').length, out('p3').length], [1, 1], 'B unknown again: flooded');
});

// What a cached decision depends on besides the key words it compares: the output port's state
// and the MAC table. Both change between batches (the cache does not outlive its batch: above),
// and within one batch only as follows. A flow-mod cannot make it stale: the cache compares
// the key as NORMAL gets it, after the flows ran (a new flow's mod_vlan_vid changes the TCI it
// compares; a flow that does not send to NORMAL never reaches it).

/** One batch from p1 (checked: the bridge's batch counter moved by one), then nothing pending. */
function oneBatch(t: TapTest, sw: Switch, p1: MemoryPort, frames: Buffer[]): void {
  const br = sw.bridge('br0');
  const before = br.batchSeq;
  for (const f of frames) p1.inject(f);
  sw.runUntilIdle();
  t.equal(br.batchSeq - before, 1, `the ${frames.length} frames came as one batch`);
}

t.test('decision cache: a port whose device goes away in the middle of a batch gets none of the rest', async (t) => {
  // The device behind p2 disappears as the switch transmits to it mid-batch (a native port
  // then gets ENXIO and marks itself down). Mid-batch: the broadcasts' copies take the arena below
  // its low water, and the switch flushes every queue before the batch ends.
  const names = ['p1', 'p2', 'p3', 'p4', 'p5', 'p6', 'p7', 'p8'];
  const { mem, out, send, sw } = setup(names.map((name) => ({ name })));
  send('p2', udpFrame({ dst: A, src: B, ipSrc: '10.0.0.2', ipDst: '10.0.0.1' }));
  for (const n of names) out(n);
  const toB = (sport: number) => udpFrame({ dst: B, src: A, ipSrc: '10.0.0.1', ipDst: '10.0.0.2', sport });
  const bcast = udpFrame({ dst: BCAST, src: A, ipSrc: '10.0.0.1', ipDst: '10.0.0.255' });
  const capacity = Math.min(BURST, sw.arena.smallSlots >> 2); // the switch's receive batch (switch.ts)
  const nBcast = capacity - 9;
  let seen = 0;
  mem.p2.onTransmit = () => {
    seen++;
    mem.p2.setDown();
  };
  oneBatch(t, sw, mem.p1, [toB(1), ...Array.from({ length: nBcast }, () => bcast), ...[2, 3, 4, 5, 6, 7, 8, 9].map(toB)]);
  t.ok(seen >= 1 && !mem.p2.up, `p2 transmitted ${seen} frames at a mid-batch flush, then went down`);
  const atP3 = out('p3');
  const unicastAtP3 = atP3.filter((f) => f.subarray(0, 6).equals(Buffer.from(B.split(':').map((x) => parseInt(x, 16)))));
  t.equal(atP3.length - unicastAtP3.length, nBcast, 'p3 got every broadcast');
  t.equal(unicastAtP3.length, 8, `and the 8 frames to B after p2 went down (${unicastAtP3.length} seen): decided again, B behind a port that is down, flooded (as without the cache)`);
  const dropped = mem.p2.counters.drops.total();
  t.equal(dropped, 0, `none of them was queued for p2 to be dropped there (${dropped} dropped)`);
  t.equal(sw.arena.available, sw.arena.capacity);
});

/**
 * p1, p2, p3, B learned on p2, and a flow that sends frames to C to the controller; then one
 * batch from p1: A→B, A→C, and `after` more A→B. `callback` is what an embedder's packet-in
 * callback does at the frame to C: it runs synchronously, between the batch's frames.
 */
function midBatchCallback(t: TapTest, callback: (sw: Switch) => void, after: number): ReturnType<typeof setup> {
  const C = '02:00:00:00:00:0c';
  const env = setup([{ name: 'p1' }, { name: 'p2' }, { name: 'p3' }]);
  const { mem, out, send, sw } = env;
  sw.flows('br0').addFlow(`priority=10,dl_dst=${C},actions=controller`);
  send('p2', udpFrame({ dst: A, src: B, ipSrc: '10.0.0.2', ipDst: '10.0.0.1' }));
  out('p1'); out('p3');
  sw.onPacketIn = () => callback(sw);
  const toB = udpFrame({ dst: B, src: A, ipSrc: '10.0.0.1', ipDst: '10.0.0.2' });
  const toC = udpFrame({ dst: C, src: A, ipSrc: '10.0.0.1', ipDst: '10.0.0.3' });
  oneBatch(t, sw, mem.p1, [toB, toC, ...Array.from({ length: after }, () => toB)]);
  return env;
}

t.test('decision cache: a port deleted in the middle of a batch (an embedder\'s packet-in callback) gets none of the rest', async (t) => {
  let sentToP2 = 0;
  const { out, sw } = midBatchCallback(t, (sw) => {
    (sw.bridge('br0').port('p2')!.io as MemoryPort).onTransmit = () => sentToP2++;
    sw.delPort('br0', 'p2');
  }, 2);
  t.equal(sentToP2, 0, 'p2 was deleted before the batch was sent: its queue went back to the arena');
  const atP3 = out('p3').length;
  t.equal(atP3, 2, `the 2 frames to B after the delete (${atP3} seen): B forgotten with its port, flooded to p3`);
  t.equal(sw.arena.available, sw.arena.capacity);
});

t.test('decision cache: a flow-mod in the middle of a batch (an embedder\'s packet-in callback) takes effect at the next frame', async (t) => {
  // From p1, frames get tagged 7 before NORMAL: B is not known in VLAN 7 (p2 and p3 are trunks).
  const { out, sw } = midBatchCallback(t, (sw) => sw.flows('br0').addFlow('priority=20,in_port=p1,actions=mod_vlan_vid:7,NORMAL'), 1);
  t.same(out('p2').map(frameVid), [undefined, 7], 'p2: the first frame to B untagged (VLAN 0, B learned there), the one after the flow-mod tagged 7');
  t.same(out('p3').map(frameVid), [7], 'p3: the one after the flow-mod, flooded in VLAN 7');
  t.equal(sw.arena.available, sw.arena.capacity);
});
