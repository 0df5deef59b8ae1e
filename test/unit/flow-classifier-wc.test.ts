/**
 * Classifier.lookupWc: the answer of lookup() plus the key bits it depended on (OVS megaflow
 * wildcards, staged: metadata, L2, L3, L4). The property the pass cache relies on: every key
 * that agrees with the looked-up key on those bits gets the same answer — checked on random
 * rule sets (hard rules, conjunctions, conj_id flows) and random keys, whose other bits are
 * then scrambled. And the point of the stages: a TCP packet ruled out by a UDP rule's nw_proto
 * does not depend on that rule's ports.
 */
import t from 'tap';
import { Classifier, type ClsRule } from '../../src/flow/classifier';
import { Match, MATCH_WORDS, WORD_FULL } from '../../src/flow/match';
import * as K from '../../src/packet/flow-key';
import { prng } from '../../src/flow/testing';

interface R extends ClsRule {
  id: number;
  priority: number;
  match: Match;
  conj: Int32Array | null;
}

/** Fields over every stage, with small value domains so keys hit rules. */
const FIELDS = [K.K_IN_PORT, K.K_REG0, K.K_CT_STATE, K.K_DL_TYPE, K.K_DL_SRC_LO, K.K_NW_PROTO, K.K_NW_SRC, K.K_TP_SRC, K.K_TP_DST];

function value(w: number, r: () => number): number {
  const n = (k: number): number => Math.floor(r() * k);
  switch (w) {
    case K.K_IN_PORT:
      return 1 + n(3);
    case K.K_REG0:
      return n(3);
    case K.K_CT_STATE:
      return [0, 0x21, 0x22, 0x2a, 0x30][n(5)];
    case K.K_DL_TYPE:
      return n(4) === 0 ? 0x0806 : 0x0800;
    case K.K_DL_SRC_LO:
      return n(3);
    case K.K_NW_PROTO:
      return n(2) === 0 ? 6 : 17;
    case K.K_NW_SRC:
      return (0x0a000000 | n(6)) >>> 0;
    case K.K_TP_SRC:
    case K.K_TP_DST:
      return 60 + n(8);
    default:
      return 0;
  }
}

function randomMatch(r: () => number, nFields: number): Match {
  const m = new Match();
  for (let i = 0; i < nFields; i++) {
    const w = FIELDS[Math.floor(r() * FIELDS.length)];
    const full = WORD_FULL[w];
    // Some prefixes and bit masks, so one key can match several entries of a subtable.
    const mask = w === K.K_NW_SRC && r() < 0.3 ? 0xfffffffc : w === K.K_CT_STATE && r() < 0.5 ? 0x22 : full;
    m.set(w, (value(w, r) & mask) >>> 0, mask);
  }
  return m;
}

function randomRules(seed: number, priorities: Int32Array): R[] {
  const r = prng(seed);
  const rules: R[] = [];
  const seen = new Set<string>();
  const add = (priority: number, match: Match, conj: Int32Array | null): void => {
    const key = `${match.maskKey()}|${match.value.join(',')}|${priority}`;
    if (seen.has(key)) return;
    seen.add(key);
    const id = rules.length;
    priorities[id] = priority;
    rules.push({ id, priority, match, conj });
  };
  for (let i = 0; i < 40; i++) add(1 + Math.floor(r() * 300), randomMatch(r, 1 + Math.floor(r() * 4)), null);
  if (r() < 0.5) add(0, new Match(), null);
  // Conjunctions at priorities 100/200 (ids 1..4, two dimensions), and their conj_id flows.
  for (let i = 0; i < 30; i++) {
    const id = 1 + Math.floor(r() * 4);
    add(r() < 0.5 ? 100 : 200, randomMatch(r, 1 + Math.floor(r() * 2)), Int32Array.from([id, 1 + Math.floor(r() * 2), 2]));
  }
  for (let id = 1; id <= 4; id++) {
    const m = r() < 0.4 ? randomMatch(r, 1) : new Match();
    m.set(K.K_CONJ_ID, id, 0xffffffff);
    add(r() < 0.5 ? 100 : 200, m, null);
  }
  return rules;
}

t.test('lookupWc: same answer as lookup, and every key agreeing on its bits gets that answer', async (t) => {
  for (const seed of [11, 12, 13, 14, 15, 16]) {
    const priorities = new Int32Array(1000);
    const rules = randomRules(seed, priorities);
    const cls = new Classifier<R>(priorities);
    for (const rule of rules) cls.insert(rule);
    const r = prng(seed * 31);
    const key = new Uint32Array(K.KEY_WORDS);
    const other = new Uint32Array(K.KEY_WORDS);
    const wc = new Uint32Array(K.KEY_WORDS);
    let bad = 0;
    let narrow = 0;
    for (let i = 0; i < 400; i++) {
      for (const w of FIELDS) key[w] = value(w, r);
      wc.fill(0);
      const want = cls.lookup(key, 0);
      const got = cls.lookupWc(key, 0, wc);
      if (got !== want) bad++;
      if (FIELDS.some((w) => wc[w] !== WORD_FULL[w])) narrow++;
      for (let j = 0; j < 10; j++) {
        // The bits wc names stay; every other bit of the fields is drawn again.
        for (let w = 0; w < MATCH_WORDS; w++) other[w] = key[w];
        for (const w of FIELDS) other[w] = ((key[w] & wc[w]) | (value(w, r) & ~wc[w])) >>> 0;
        if (cls.lookup(other, 0) !== want) bad++;
      }
    }
    t.equal(bad, 0, `seed ${seed}: 400 keys x 10 variants agree`);
    t.ok(narrow > 0, `seed ${seed}: some answers left bits out (${narrow} of 400)`);
  }
});

t.test('lookupWc: a TCP packet ruled out at nw_proto by a UDP port rule does not depend on the ports', async (t) => {
  const priorities = new Int32Array(8);
  const cls = new Classifier<R>(priorities);
  const mk = (id: number, priority: number, set: [number, number][]): R => {
    const m = new Match();
    for (const [w, v] of set) m.set(w, v, WORD_FULL[w]);
    priorities[id] = priority;
    return { id, priority, match: m, conj: null };
  };
  // Neutron table 71's shape: DHCP (udp, tp_src=68, tp_dst=67) above the port's IPv4 rule.
  cls.insert(mk(0, 80, [[K.K_IN_PORT, 3], [K.K_DL_TYPE, 0x0800], [K.K_NW_PROTO, 17], [K.K_TP_SRC, 68], [K.K_TP_DST, 67]]));
  cls.insert(mk(1, 65, [[K.K_IN_PORT, 3], [K.K_DL_TYPE, 0x0800]]));
  const key = new Uint32Array(K.KEY_WORDS);
  key[K.K_IN_PORT] = 3;
  key[K.K_DL_TYPE] = 0x0800;
  key[K.K_NW_PROTO] = 6;
  key[K.K_TP_SRC] = 40000;
  key[K.K_TP_DST] = 80;
  const wc = new Uint32Array(K.KEY_WORDS);
  t.equal(cls.lookupWc(key, 0, wc), 1);
  t.equal(wc[K.K_NW_PROTO], 0xff, 'nw_proto decided');
  t.equal(wc[K.K_TP_SRC] | wc[K.K_TP_DST], 0, 'the ports did not');
  key[K.K_NW_PROTO] = 17;
  wc.fill(0);
  t.equal(cls.lookupWc(key, 0, wc), 1);
  t.equal(wc[K.K_TP_SRC], 0x8000, 'a UDP packet reaches L4: its ports decide, up to the first bit where they part from 68/67 (the top one)');
  t.equal(wc[K.K_TP_DST], 0, 'and tp_dst not at all');
  // The stage index follows inserts and removes.
  const dhcp = mk(2, 90, [[K.K_IN_PORT, 3], [K.K_DL_TYPE, 0x0800], [K.K_NW_PROTO, 6], [K.K_TP_SRC, 68], [K.K_TP_DST, 67]]);
  cls.insert(dhcp);
  key[K.K_NW_PROTO] = 6;
  wc.fill(0);
  cls.lookupWc(key, 0, wc);
  t.equal(wc[K.K_TP_SRC], 0x8000, 'after an insert, a TCP rule on the ports makes them decide');
  cls.remove(dhcp);
  wc.fill(0);
  cls.lookupWc(key, 0, wc);
  t.equal(wc[K.K_TP_SRC], 0, 'and after its removal no longer');
});

t.test('lookupWc: a miss on a port rule depends on the ports up to the first bit where they part from it (OVS ports trie)', async (t) => {
  const priorities = new Int32Array(200);
  const cls = new Classifier<R>(priorities);
  const mk = (id: number, priority: number, set: [number, number, number?][]): R => {
    const m = new Match();
    for (const [w, v, mask] of set) m.set(w, v, mask ?? WORD_FULL[w]);
    priorities[id] = priority;
    return { id, priority, match: m, conj: null };
  };
  cls.insert(mk(0, 80, [[K.K_DL_TYPE, 0x0800], [K.K_NW_PROTO, 17], [K.K_TP_SRC, 68], [K.K_TP_DST, 67]]));
  cls.insert(mk(1, 10, [[K.K_DL_TYPE, 0x0800]]));
  const key = new Uint32Array(K.KEY_WORDS);
  const wc = new Uint32Array(K.KEY_WORDS);
  key[K.K_DL_TYPE] = 0x0800;
  key[K.K_NW_PROTO] = 17;
  const ask = (sport: number, dport: number): [number, number, number] => {
    key[K.K_TP_SRC] = sport;
    key[K.K_TP_DST] = dport;
    wc.fill(0);
    const r = cls.lookupWc(key, 0, wc);
    return [r, wc[K.K_TP_SRC], wc[K.K_TP_DST]];
  };
  // 4000 = 0x0fa0 parts from 68 = 0x0044 at its fifth bit: the first five decide.
  t.same(ask(4000, 9), [1, 0xf800, 0], 'sport 4000: five leading bits');
  t.same(ask(69, 67), [1, 0xffff, 0], 'sport 69: all of tp_src (it parts from 68 at the last bit)');
  t.same(ask(68, 9), [1, 0xffff, 0xffc0], 'sport 68: tp_src and tp_dst up to where 9 parts from 67');
  t.same(ask(68, 67), [0, 0xffff, 0xffff], 'the DHCP packet matches: every bit');
  t.equal(wc[K.K_NW_PROTO], 0xff, 'the other words of a reached subtable decide whole');
  // A masked port (a range as Neutron writes it) and a second entry: the longest shared prefix.
  cls.insert(mk(2, 70, [[K.K_DL_TYPE, 0x0800], [K.K_NW_PROTO, 17], [K.K_TP_SRC, 0x0f00, 0xff00], [K.K_TP_DST, 67]]));
  t.same(ask(4000, 9), [1, 0xff00, 0xffc0], 'sport 4000 against 0x0f00/0xff00 too: it agrees on tp_src there and parts in tp_dst');
  // A subtable of more than 64 entries keeps the whole mask (the scan is bounded).
  for (let i = 0; i < 70; i++) cls.insert(mk(100 + i, 60, [[K.K_DL_TYPE, 0x0800], [K.K_NW_PROTO, 17], [K.K_TP_SRC, 68], [K.K_TP_DST, 1000 + i]]));
  t.same(ask(4000, 9).slice(1), [0xffff, 0xffff], 'large subtable: the whole ports');
});
