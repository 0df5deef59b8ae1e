import t from 'tap';
import { Classifier, type ClsRule } from '../../src/flow/classifier';
import { Match, MATCH_WORDS } from '../../src/flow/match';
import { Emc } from '../../src/flow/emc';
import * as K from '../../src/packet/flow-key';
import { prng } from '../../src/flow/testing';

/** Mask templates (OVS test-classifier style: few masks, many rules). */
const TEMPLATES: [number, number][][] = [
  [[K.K_IN_PORT, 0xffff]],
  [[K.K_IN_PORT, 0xffff], [K.K_VLAN_TCI, 0x1fff]],
  [[K.K_DL_TYPE, 0xffff], [K.K_NW_DST, 0xfffffff0]],
  [[K.K_DL_TYPE, 0xffff], [K.K_NW_SRC, 0xffff0000], [K.K_TP_DST, 0xffff]],
  [[K.K_REG0, 0xffffffff], [K.K_METADATA_LO, 0xffffffff]],
  [[K.K_DL_DST_HI, 0xffff], [K.K_DL_DST_LO, 0xffffffff]],
  [[K.K_IN_PORT, 0xffff], [K.K_TP_DST, 0xf000], [K.K_VLAN_TCI, 0xe000]],
];

/** Small value domains so random packets hit random rules. */
function randWord(w: number, r: () => number): number {
  const n = (k: number): number => Math.floor(r() * k);
  switch (w) {
    case K.K_IN_PORT:
      return 1 + n(200);
    case K.K_VLAN_TCI:
      return n(4) === 0 ? 0 : 0x1000 | (n(4) << 13) | (1 + n(24));
    case K.K_DL_TYPE:
      return n(3) === 0 ? 0x0806 : 0x0800;
    case K.K_NW_SRC:
    case K.K_NW_DST:
      return (0x0a000000 | (n(4) << 16) | (n(4) << 8) | n(16)) >>> 0;
    case K.K_TP_DST:
      return n(2) === 0 ? 1 + n(64) : (n(16) << 12) | n(4);
    case K.K_REG0:
      return n(2) === 0 ? n(8) : 0x100 | n(8);
    case K.K_METADATA_LO:
      return n(4);
    case K.K_DL_DST_HI:
      return n(2) === 0 ? 0x0200 : 0xffff;
    case K.K_DL_DST_LO:
      return n(64);
    default:
      return 0;
  }
}

interface R extends ClsRule {
  id: number;
  priority: number;
  match: Match;
}

function randomRules(n: number, r: () => number, priorities: Int32Array): R[] {
  const rules: R[] = [];
  const seen = new Set<string>();
  while (rules.length < n) {
    const tpl = TEMPLATES[Math.floor(r() * TEMPLATES.length)];
    const m = new Match();
    for (const [w, mask] of tpl) m.set(w, (randWord(w, r) & mask) >>> 0, mask);
    const priority = Math.floor(r() * 1000);
    const id = rules.length;
    const key = `${m.maskKey()}|${Array.from(m.value).join(',')}|${priority}`;
    if (seen.has(key)) continue;
    seen.add(key);
    priorities[id] = priority;
    rules.push({ id, priority, match: m, conj: null });
  }
  return rules;
}

function randomKeys(n: number, r: () => number): Uint32Array {
  const keys = new Uint32Array(n * K.KEY_WORDS);
  for (let i = 0; i < n; i++) for (let w = 0; w < MATCH_WORDS; w++) keys[i * K.KEY_WORDS + w] = randWord(w, r);
  return keys;
}

/** Naive reference: best priority among matching rules (-1 if none). */
function reference(rules: Iterable<R>, keys: Uint32Array, k: number): number {
  let best = -1;
  for (const rule of rules) if (rule.priority > best && rule.match.matchesKey(keys, k)) best = rule.priority;
  return best;
}

function check(cls: Classifier<R>, live: Set<R>, keys: Uint32Array, n: number, priorities: Int32Array): [number, number] {
  let bad = 0;
  let hits = 0;
  for (let i = 0; i < n; i++) {
    const k = i * K.KEY_WORDS;
    const got = cls.lookup(keys, k);
    const want = reference(live, keys, k);
    const gotPri = got < 0 ? -1 : priorities[got];
    if (gotPri !== want) bad++;
    // The rule returned must really match and be live.
    if (got >= 0) {
      hits++;
      const rule = [...live].find((x) => x.id === got);
      if (!rule || !rule.match.matchesKey(keys, k)) bad++;
    }
  }
  return [bad, hits];
}


t.test('classifier matches a linear scan on random rules, also after deletions', async (t) => {
  for (const seed of [1, 2, 3]) {
    const r = prng(seed);
    const priorities = new Int32Array(5000);
    const rules = randomRules(600, r, priorities);
    const cls = new Classifier<R>(priorities);
    for (const rule of rules) cls.insert(rule);
    t.ok(cls.subtables.length <= TEMPLATES.length);
    const live = new Set(rules);
    const keys = randomKeys(3000, r);
    {
      const [bad, hits] = check(cls, live, keys, 3000, priorities);
      t.equal(bad, 0, `seed ${seed}: 3000 lookups agree with the linear scan (${hits} hits)`);
      t.ok(hits > 0 && hits < 3000, 'both hits and misses');
    }
    // Delete a random half, then check again.
    for (const rule of rules) {
      if (r() < 0.5) {
        if (!cls.remove(rule)) t.fail(`remove of rule ${rule.id} failed`);
        live.delete(rule);
      }
    }
    t.equal(cls.count, live.size);
    {
      const [bad, hits] = check(cls, live, keys, 3000, priorities);
      t.equal(bad, 0, `seed ${seed} after deletions: 3000 lookups agree with the linear scan (${hits} hits)`);
      t.ok(hits > 0 && hits < 3000, 'both hits and misses');
    }
    // Re-insert some and delete everything.
    for (const rule of rules) if (!live.has(rule) && r() < 0.3) {
      cls.insert(rule);
      live.add(rule);
    }
    {
      const [bad, hits] = check(cls, live, keys, 1000, priorities);
      t.equal(bad, 0, `seed ${seed} after re-insert: 1000 lookups agree with the linear scan (${hits} hits)`);
      t.ok(hits > 0 && hits < 1000, 'both hits and misses');
    }
    for (const rule of live) cls.remove(rule);
    t.equal(cls.count, 0);
    t.equal(cls.subtables.length, 0, 'empty subtables are dropped');
    t.equal(cls.lookup(keys, 0), -1);
  }
});

t.test('the lookup cache returns what the search returns, and nothing stale after a change', async (t) => {
  const r = prng(7);
  const priorities = new Int32Array(5000);
  const rules = randomRules(400, r, priorities);
  const cls = new Classifier<R>(priorities);
  const live = new Set<R>();
  for (const rule of rules.slice(0, 300)) {
    cls.insert(rule);
    live.add(rule);
  }
  t.ok(cls.subtableCount >= 4, 'enough subtables for the cache');
  const keys = randomKeys(500, r);
  check(cls, live, keys, 500, priorities); // fills the cache
  const hits0 = cls.cacheHits;
  t.equal(check(cls, live, keys, 500, priorities)[0], 0, 'second pass (from the cache) agrees with the linear scan');
  t.ok(cls.cacheHits - hits0 > 400, `second pass served from the cache (${cls.cacheHits - hits0} hits)`);
  // A new best rule for a cached key, then its removal: the next lookup sees each change.
  const k = 3 * K.KEY_WORDS;
  const top: R = { id: 4000, priority: 5000, match: new Match(), conj: null };
  top.match.set(K.K_IN_PORT, keys[k + K.K_IN_PORT], 0xffff);
  priorities[top.id] = top.priority;
  cls.insert(top);
  t.equal(cls.lookup(keys, k), top.id, 'an inserted rule wins at once');
  cls.remove(top);
  t.not(cls.lookup(keys, k), top.id, 'a removed rule is gone at once');
  for (const rule of rules.slice(0, 150)) {
    cls.remove(rule);
    live.delete(rule);
  }
  for (const rule of rules.slice(300)) {
    cls.insert(rule);
    live.add(rule);
  }
  t.equal(check(cls, live, keys, 500, priorities)[0], 0, 'after removes and inserts: agrees with the linear scan');
  t.equal(check(cls, live, keys, 500, priorities)[0], 0, 'and again from the cache');
});

t.test('subtables are visited by max priority and the search stops early', async (t) => {
  const priorities = new Int32Array(16);
  const cls = new Classifier<R>(priorities);
  const mk = (id: number, priority: number, set: [number, number, number][]): R => {
    const m = new Match();
    for (const [w, v, mask] of set) m.set(w, v, mask);
    priorities[id] = priority;
    return { id, priority, match: m, conj: null };
  };
  cls.insert(mk(0, 10, [[K.K_IN_PORT, 1, 0xffff]]));
  cls.insert(mk(1, 100, [[K.K_IN_PORT, 1, 0xffff], [K.K_VLAN_TCI, 0x1005, 0x1fff]]));
  cls.insert(mk(2, 5, []));
  t.same(cls.subtables.map((s) => s.maxPriority), [100, 10, 5]);
  const key = new Uint32Array(K.KEY_WORDS);
  key[K.K_IN_PORT] = 1;
  key[K.K_VLAN_TCI] = 0x1005;
  t.equal(cls.lookup(key, 0), 1);
  key[K.K_VLAN_TCI] = 0;
  t.equal(cls.lookup(key, 0), 0);
  key[K.K_IN_PORT] = 2;
  t.equal(cls.lookup(key, 0), 2);
});

t.test('EMC: hit after insert, miss after invalidation, two candidates', async (t) => {
  const emc = new Emc();
  const W = K.KEY_WORDS;
  const key = new Uint32Array(W * 4);
  key[W + K.K_IN_PORT] = 7;
  t.equal(emc.lookup(key, 1), -2);
  emc.insert(key, 1, 42);
  t.equal(emc.lookup(key, 1), 42);
  key.copyWithin(2 * W, W, 2 * W);
  t.equal(emc.lookup(key, 2), 42, 'same words in another slot hit');
  key[2 * W + K.K_TP_DST] = 1;
  t.equal(emc.lookup(key, 2), -2, 'one word differs: miss');
  emc.invalidate();
  t.equal(emc.lookup(key, 1), -2, 'generation bump invalidates');
});
