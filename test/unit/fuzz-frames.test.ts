/**
 * 1,000,000 mutated and truncated frames through a whole in-memory switch (see
 * test/fuzz/frame-fuzz.ts): no exception, every frame delivered, dropped with a counted reason
 * or held, and no slot leaked. TVS_FUZZ_FRAMES / TVS_FUZZ_SEED change the run (`make fuzz`).
 */
import t from 'tap';
import { runFrameFuzz } from '../fuzz/frame-fuzz';

const frames = Number(process.env.TVS_FUZZ_FRAMES ?? 1_000_000);
const seed = Number(process.env.TVS_FUZZ_SEED ?? 20261130);

t.test(`frame fuzz: ${frames} frames, seed ${seed}`, { timeout: 0 }, async (t) => {
  const r = runFrameFuzz({ frames, seed });
  t.comment(`${r.frames} frames in ${(r.ms / 1000).toFixed(1)} s: delivered ${r.delivered}, dropped ${r.dropped}, held ${r.held}`);
  t.comment(`drop reasons: ${JSON.stringify(r.dropReasons)}`);
  t.equal(r.frames, frames);
  t.same(r.errors, [], 'no exception escaped the datapath');
  t.same(r.unaccounted, [], 'every frame delivered, dropped with a counted reason, or held');
  t.same(r.leaks, [], 'every slot back in the arena after each round');
  t.equal(r.delivered + r.dropped + r.held, r.frames);
  t.ok(r.dropped > frames / 10 && r.delivered > frames / 10, 'the mutations reach both outcomes (the fuzzer is not trivially passing)');
  t.ok(Object.keys(r.dropReasons).length >= 15, `many distinct drop reasons exercised (${Object.keys(r.dropReasons).length})`);
});
