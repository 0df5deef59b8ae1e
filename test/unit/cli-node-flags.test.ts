/**
 * The `tvs` script's first line runs node with the same flags and environment as SWITCH_NODE_FLAGS
 * and SWITCH_ENV, which benchmarks and tests use when they start `node tvs.js start` by hand: a
 * flag added to one and not the other would make the measured switch differ from the installed one.
 */
import t from 'tap';
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { SWITCH_ENV, SWITCH_NODE_FLAGS } from '../../src/cli/node-flags';

t.test('the tvs shebang and SWITCH_NODE_FLAGS / SWITCH_ENV agree', async (t) => {
  const first = fs.readFileSync(path.resolve(__dirname, '../../src/cli/tvs.js'), 'utf8').split('\n')[0];
  const m = /^#!\/usr\/bin\/env -S (.*)$/.exec(first);
  t.ok(m, `env -S shebang: ${first}`);
  const words = m![1].split(/\s+/);
  const node = words.indexOf('node');
  t.ok(node >= 0, 'runs node');
  const env = Object.fromEntries(words.slice(0, node).map((w) => w.split('=') as [string, string]));
  t.same(env, SWITCH_ENV, 'same environment');
  t.same(words.slice(node + 1), [...SWITCH_NODE_FLAGS], 'same node flags, same order');
});

t.test('the switch runs with gc exposed: the daemon collects garbage after the warm-up and when it goes quiet', async (t) => {
  // Without it the collection start-up and configuration owed came at the first load: a
  // mark-compact of 1.6-8.6 ms at the generator's maximum (bench/results/README.md, "The switch's
  // own stalls under load").
  t.ok(SWITCH_NODE_FLAGS.includes('--expose-gc'), '--expose-gc');
});

t.test('with the switch\'s flags V8\'s memory reducer never schedules a collection', async (t) => {
  // Its `Mark-Compact (reduce)` came at moments nothing chose (after a load, or under one) and
  // waited for SCHED_IDLE helpers: 542 ms with the switch's core busy (node-flags.ts). A heap of
  // ~20 MB (below ~8 MB committed the reducer stays off anyway), a full collection, then what the
  // reducer says within 1.5 s: with it on, it reports its first decision ~0.3 s after the
  // collection (the start delay shortened to 200 ms), without it nothing.
  const script = "const keep = []; for (let i = 0; i < 200000; i++) keep.push({ i, s: 'x' + i }); gc(); setTimeout(() => console.log('kept', keep.length), 1500);";
  const run = (flags: readonly string[]) =>
    spawnSync(process.execPath, [...flags, '--trace-gc', '--trace-gc-verbose', '--gc-memory-reducer-start-delay-ms=200', '-e', script], { encoding: 'utf8', timeout: 20_000 }).stdout;
  const withFlags = run(SWITCH_NODE_FLAGS);
  t.match(withFlags, /kept 200000/, 'the child ran');
  t.match(withFlags, /Mark-Compact/, 'and collected');
  t.notMatch(withFlags, /Memory reducer:/, 'the memory reducer made no decision');
  // The control: the same child without the flag does hear from the reducer (else the test proves nothing).
  t.match(run(SWITCH_NODE_FLAGS.filter((f) => f !== '--no-memory-reducer')), /Memory reducer:/, 'without the flag the reducer reports');
});
