/**
 * The key's tail (words KEY_TAIL..63: the last ND target words, tunnel metadata, metadata,
 * registers, pkt_mark, conntrack state) is cleared by the parse pass only when the slot's
 * PacketArena.keyTail flag says something may have written it. These check the invariant behind
 * that — a slot whose flag is 0 has an all-zero tail — after every kind of frame that writes the
 * tail, and that no stale register, metadata, mark or ct_state from a slot's previous frame
 * reaches the flows that see the next frame in it.
 */
import t from 'tap';
import { Switch } from '../../src/datapath/switch';
import { MemoryPort } from '../../src/io/memory-port';
import { PacketArena } from '../../src/packet/arena';
import { parseSlot } from '../../src/packet/parse';
import * as K from '../../src/packet/flow-key';
import { udpFrame } from '../../src/wire/frames';
import { ndFrame } from '../helpers/ipv6-frames';

const A = '02:00:00:00:00:0a';
const B = '02:00:00:00:00:0b';
const C = '02:00:00:00:00:0c';

/** Slots whose flag says "clean" but whose tail has a non-zero word (must be none). */
function dirtyButClean(a: PacketArena): string[] {
  const bad: string[] = [];
  for (let s = 0; s < a.capacity; s++) {
    if (a.keyTail[s] !== 0) continue;
    const k = s << K.KEY_SHIFT;
    for (let w = K.KEY_TAIL; w < K.KEY_WORDS; w++) {
      if (a.key[k + w] !== 0) {
        bad.push(`slot ${s}: ${K.KEY_WORD_NAMES[w]}=${a.key[k + w]}`);
        break;
      }
    }
  }
  return bad;
}

function rig() {
  const sw = new Switch({ clock: () => 1000, arena: { slots: 256, slotSize: 2048 + 128 } });
  sw.addBridge('br0');
  const mem: Record<string, MemoryPort> = {};
  for (const n of ['p1', 'p2', 'p3', 'p4']) mem[n] = sw.addPort('br0', n, { type: 'memory' }).io as MemoryPort;
  const send = (port: string, frames: Buffer[]) => {
    for (const f of frames) mem[port].inject(f);
    sw.runUntilIdle();
    for (const n of Object.keys(mem)) mem[n].takeTransmitted();
  };
  return { sw, mem, send };
}

const many = (n: number, src: string, dst: string) => Array.from({ length: n }, (_, i) => udpFrame({ dst, src, ipSrc: '10.0.0.1', ipDst: '10.0.0.2', sport: 1000 + i }));

t.test('frames the flow tables wrote registers, metadata, pkt_mark and ct_state into leave no trace in the next frames of their slots', async (t) => {
  const { sw, mem, send } = rig();
  const f = sw.flows('br0');
  f.addFlows([
    // p1's frames get every kind of pipeline state, then are tracked and leave by p2.
    'table=0,priority=10,ip,in_port=p1,actions=load:0x5->NXM_NX_REG0[],write_metadata:0x7,set_field:0x9->pkt_mark,ct(table=1)',
    'table=1,priority=10,ip,actions=ct(commit),output:p2',
    // p4's frames are flooded with a register set: the clones carry it.
    'table=0,priority=10,in_port=p4,actions=load:0x6->NXM_NX_REG1[],FLOOD',
    // What p3's frames must never see: any of that state left in their slot.
    'table=0,priority=30,in_port=p3,reg0=0x5,actions=drop',
    'table=0,priority=30,in_port=p3,reg1=0x6,actions=drop',
    'table=0,priority=30,in_port=p3,metadata=0x7,actions=drop',
    'table=0,priority=30,in_port=p3,pkt_mark=0x9,actions=drop',
    'table=0,priority=30,ip,in_port=p3,ct_state=+trk,actions=drop',
    'table=0,priority=20,in_port=p3,actions=output:p2',
  ].join('\n'));
  send('p1', many(100, A, B));
  t.equal(mem.p2.counters.txPackets, 100, 'p1 → p2 with its pipeline state');
  t.same(dirtyButClean(sw.arena), [], 'every slot with a written tail is marked');
  send('p4', many(50, C, B));
  t.same(dirtyButClean(sw.arena), [], 'and every flood clone');
  const before = mem.p2.counters.txPackets;
  send('p3', many(200, B, A)); // more frames than the slots p1's and p4's frames used
  t.equal(mem.p2.counters.txPackets - before, 200, "no stale state matched p3's drop flows");
  t.same(f.drops.toJSON(), {}, 'nothing dropped by the flows');
  t.equal(sw.arena.available, sw.arena.capacity);
});

t.test('a bridge with only NORMAL leaves the tail clean; an ND frame and a packet-out dirty it', async (t) => {
  const { sw, send } = rig();
  const a = sw.arena;
  send('p1', many(100, A, B));
  t.same(dirtyButClean(a), []);
  // An IPv6 neighbour solicitation: its target's last words are in the tail.
  const ns = ndFrame({ type: 135, smac: A, dmac: '33:33:ff:00:00:02', src: 'fe80::1', dst: 'ff02::1:ff00:2', target: '2001:db8::2' });
  send('p1', [ns, ns]);
  t.same(dirtyButClean(a), [], 'ND target words marked');
  // A packet-out with its own actions runs the executor on the frame.
  const actions = sw.flows('br0').parse('actions=load:0x3->NXM_NX_REG2[],output:p2', 'add').actions!;
  sw.packetOutActions('br0', udpFrame({ dst: B, src: A, ipSrc: '10.0.0.1', ipDst: '10.0.0.2' }), 1, () => actions);
  t.same(dirtyButClean(a), [], 'packet-out actions marked');
  t.equal(a.available, a.capacity);
});

t.test('parse clears a marked tail and leaves an unmarked one alone', async (t) => {
  const a = new PacketArena({ slots: 8, slotSize: 2048 });
  const f = udpFrame({ dst: B, src: A, ipSrc: '10.0.0.1', ipDst: '10.0.0.2' });
  const s = a.allocFrom(f);
  const k = s << K.KEY_SHIFT;
  a.key.fill(0xdeadbeef, k, k + K.KEY_WORDS);
  a.keyTail[s] = 1;
  t.equal(parseSlot(a, s, 1), -1);
  t.same(Array.from(a.key.subarray(k + K.KEY_TAIL, k + K.KEY_WORDS)), new Array(K.KEY_WORDS - K.KEY_TAIL).fill(0), 'a marked tail is zeroed');
  t.equal(a.keyTail[s], 0, 'and unmarked');
  t.equal(a.key[k + K.K_TUN_FLAGS], 0, 'the head is always cleared');
  // A clone carries its source's mark with the key.
  a.keyTail[s] = 1;
  const c = a.clone(s);
  t.equal(a.keyTail[c], 1);
});
