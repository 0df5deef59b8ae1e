/**
 * The `tvs` script's first line runs node with the same flags and environment as SWITCH_NODE_FLAGS
 * and SWITCH_ENV, which benchmarks and tests use when they start `node tvs.js start` by hand: a
 * flag added to one and not the other would make the measured switch differ from the installed one.
 */
import t from 'tap';
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
