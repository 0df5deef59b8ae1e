/**
 * Finding the ovs-compat corpus (test/helpers/ovs-compat-dir.ts) from a clone, from a git
 * worktree far from its main checkout, from deeper down, and not at all: in directory trees
 * made here with real `git init` / `git worktree add`.
 */
import t from 'tap';
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { corpusSkipReason, findOvsCompat } from '../helpers/ovs-compat-dir';

const root = mkdtempSync(join(tmpdir(), 'tvs-corpus-dir-'));
t.teardown(() => rmSync(root, { recursive: true, force: true }));
const mk = (...p: string[]): string => {
  const d = join(root, ...p);
  mkdirSync(d, { recursive: true });
  return d;
};
const git = (...args: string[]): string =>
  execFileSync('git', ['-c', 'user.name=t', '-c', 'user.email=t@example.invalid', ...args], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 20_000 });

t.test('beside the checkout (a CI clone)', async (t) => {
  const corpus = mk('c', 'shared', 'ovs-compat');
  const clone = mk('c', 'clone');
  t.equal(findOvsCompat(clone, undefined).dir, corpus);
});

t.test('a git worktree far from its main checkout: beside the main checkout', async (t) => {
  const corpus = mk('m', 'shared', 'ovs-compat');
  const main = mk('m', 'main');
  git('-C', main, 'init', '-q');
  git('-C', main, 'commit', '-q', '--allow-empty', '-m', 'first');
  mk('w', 'deep');
  const wt = join(root, 'w', 'deep', 'wt');
  git('-C', main, 'worktree', 'add', '-q', '-b', 'side', wt);
  const found = findOvsCompat(wt, undefined);
  t.equal(found.dir, corpus, `found beside the main checkout (looked: ${found.looked.join(', ')})`);
  t.equal(found.looked[0], join(root, 'w', 'deep', 'shared', 'ovs-compat'), 'after beside the worktree itself');
  t.equal(findOvsCompat(main, undefined).dir, corpus, 'and from the main checkout');
});

t.test('further up from the checkout', async (t) => {
  const corpus = mk('u', 'shared', 'ovs-compat');
  t.equal(findOvsCompat(mk('u', 'a', 'b', 'checkout'), undefined).dir, corpus);
});

t.test('nowhere: null, and the skip reason says where it looked', async (t) => {
  const checkout = mk('n', 'checkout');
  const s = findOvsCompat(checkout, undefined);
  t.equal(s.dir, null);
  t.ok(s.looked.includes(join(root, 'n', 'shared', 'ovs-compat')), 'beside the checkout was looked at');
  t.match(corpusSkipReason(s), /^corpus not found \(looked in .*n\/shared\/ovs-compat.*; set TVS_OVS_COMPAT to its directory\)$/);
});

t.test('TVS_OVS_COMPAT is the only place looked at when set', async (t) => {
  const own = mk('e', 'corpus');
  mk('e', 'shared', 'ovs-compat');
  const checkout = mk('e', 'checkout');
  t.same(findOvsCompat(checkout, own), { dir: own, looked: [own] });
  t.equal(findOvsCompat(checkout, join(root, 'e', 'missing')).dir, null);
});
