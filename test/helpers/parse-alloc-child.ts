/**
 * Run by datapath-alloc.test.ts in a node started with --max-opt=1 (no optimising compiler: the
 * tier parseSlot runs in before V8 optimises it and after a deopt). Parses 256 frames whose
 * addresses and MAC halves are 2^31 or more, round after round, and prints the best round's
 * bytes allocated per frame and the parsed key words of one frame as JSON.
 */
import v8 from 'v8';
import { PacketArena } from '../../src/packet/arena';
import { Batch } from '../../src/packet/batch';
import * as K from '../../src/packet/flow-key';
import { parseBatch, ParseDrops } from '../../src/packet/parse';
import { buildFrame } from '../../src/flow/testing';

const FRAMES = 256;
const ROUNDS = 20;
/** Batches per round: the measurement allocates ~2 KB itself, spread over 64 * 256 frames. */
const REPEAT = 64;
const a = new PacketArena({ slots: 2 * FRAMES, slotSize: 2048 + 128 });
const batch = new Batch(FRAMES);
const drops = new ParseDrops();
const slots: number[] = [];
for (let i = 0; i < FRAMES; i++) {
  const f = buildFrame({ src: '02:54:c0:00:ff:0e', dst: '02:52:c0:00:ff:01', ipSrc: '203.0.113.1', ipDst: '203.0.113.10', proto: 'udp', sport: 40000, dport: 9, payload: 18 });
  slots.push(a.allocFrom(f));
}
const young = (): number => v8.getHeapSpaceStatistics().find((s) => s.space_name === 'new_space')!.space_used_size;
let best = Infinity;
for (let r = 0; r < ROUNDS; r++) {
  const gc = new v8.GCProfiler();
  gc.start();
  const before = young();
  for (let j = 0; j < REPEAT; j++) {
    batch.count = FRAMES;
    for (let i = 0; i < FRAMES; i++) batch.slots[i] = slots[i];
    parseBatch(a, batch, 1, 1522, drops);
  }
  const after = young();
  if (gc.stop().statistics.length > 0 || after < before) continue;
  best = Math.min(best, (after - before) / (REPEAT * FRAMES));
}
const k = slots[0] << K.KEY_SHIFT;
const words = [K.K_DL_DST_LO, K.K_DL_SRC_LO, K.K_NW_SRC, K.K_NW_DST].map((w) => a.key[k + w]);
// best is null in the JSON when every round collected garbage (the test fails then).
process.stdout.write(JSON.stringify({ best: Number.isFinite(best) ? best : null, parsed: batch.count, words }));
