import t from 'tap';
import { execFileSync } from 'node:child_process';
import { Classifier, type ClsRule } from '../../src/flow/classifier';
import { Match } from '../../src/flow/match';
import * as K from '../../src/packet/flow-key';
import { PacketArena } from '../../src/packet/arena';
import { Batch } from '../../src/packet/batch';
import { parseSlot } from '../../src/packet/parse';
import { FlowPipeline } from '../../src/flow/pipeline';
import { RecordingOps, buildFrame, prng, type FrameSpec } from '../../src/flow/testing';
import * as of from '../../src/wire/openflow';
import { actionsFromInstructions, instructionsFromActions, matchFromOxm, matchToOxm } from '../../src/openflow/rule-map';
import { Writer, Reader } from '../../src/wire/openflow/buffer';
import { readAction, writeAction } from '../../src/wire/openflow/actions';

interface R extends ClsRule {
  id: number;
  priority: number;
  match: Match;
  conj: Int32Array | null;
}

// ---- the naive reference: OVS's conjunctive-match definition, written out plainly ----

function bestHard(rules: R[], key: Uint32Array): R | undefined {
  let best: R | undefined;
  for (const r of rules) {
    if (r.conj !== null || !r.match.matchesKey(key, 0)) continue;
    if (best === undefined || r.priority > best.priority) best = r;
  }
  return best;
}

function reference(rules: R[], key: Uint32Array): R | undefined {
  const hard = bestHard(rules, key);
  const hardPri = hard === undefined ? -1 : hard.priority;
  const soft = rules.filter((r) => r.conj !== null && r.priority > hardPri && r.match.matchesKey(key, 0));
  const pris = [...new Set(soft.map((r) => r.priority))].sort((a, b) => b - a);
  for (const p of pris) {
    // id -> dimensions seen at this priority, and its n
    const dims = new Map<number, { seen: Set<number>; n: number }>();
    for (const r of soft) {
      if (r.priority !== p) continue;
      for (let j = 0; j < r.conj!.length; j += 3) {
        const id = r.conj![j] >>> 0;
        const d = dims.get(id) ?? { seen: new Set<number>(), n: r.conj![j + 2] };
        d.seen.add(r.conj![j + 1]);
        dims.set(id, d);
      }
    }
    const ok = [...dims].filter(([, d]) => d.seen.size === d.n).map(([id]) => id).sort((a, b) => a - b);
    for (const id of ok) {
      const k2 = Uint32Array.from(key);
      k2[K.K_CONJ_ID] = id;
      const r = bestHard(rules, k2);
      if (r !== undefined) return r;
    }
  }
  return hard;
}

// ---- random rule sets: security-group shaped (addresses x ports), plus plain and conj_id rules ----

const SOFT_PRIS = [100, 200, 300]; // shared by the dimensions of a conjunction
function hardPri(r: () => number, used: Set<number>): number {
  for (;;) {
    const p = 1 + Math.floor(r() * 400);
    if (!SOFT_PRIS.includes(p) && !used.has(p)) {
      used.add(p);
      return p;
    }
  }
}

function randomValue(w: number, r: () => number): number {
  const n = (k: number): number => Math.floor(r() * k);
  switch (w) {
    case K.K_IN_PORT:
      return 1 + n(4);
    case K.K_DL_TYPE:
      return n(4) === 0 ? 0x0806 : 0x0800;
    case K.K_NW_SRC:
      return (0x0a000000 | n(8)) >>> 0;
    case K.K_TP_DST:
      return 20 + n(6);
    case K.K_REG0:
      return n(3);
    default:
      return 0;
  }
}

const FIELDS = [K.K_IN_PORT, K.K_DL_TYPE, K.K_NW_SRC, K.K_TP_DST, K.K_REG0];

function randomMatch(r: () => number, nFields: number): Match {
  const m = new Match();
  for (let i = 0; i < nFields; i++) {
    const w = FIELDS[Math.floor(r() * FIELDS.length)];
    const full = w === K.K_IN_PORT || w === K.K_DL_TYPE || w === K.K_TP_DST ? 0xffff : 0xffffffff;
    // NW_SRC sometimes as a /30 prefix, so one address can hit several rules.
    const mask = w === K.K_NW_SRC && r() < 0.3 ? 0xfffffffc : full;
    m.set(w, (randomValue(w, r) & mask) >>> 0, mask);
  }
  return m;
}

function randomRules(seed: number, priorities: Int32Array): R[] {
  const r = prng(seed);
  const rules: R[] = [];
  const used = new Set<number>();
  const seen = new Set<string>();
  const add = (priority: number, match: Match, conj: Int32Array | null): void => {
    const key = `${match.maskKey()}|${match.value.join(',')}|${priority}`;
    if (seen.has(key)) return; // same match and priority: OpenFlow replaces, not the point here
    seen.add(key);
    const id = rules.length;
    priorities[id] = priority;
    rules.push({ id, priority, match, conj });
  };
  // Plain rules, including a low catch-all sometimes.
  for (let i = 0; i < 10; i++) add(hardPri(r, used), randomMatch(r, 2 + Math.floor(r() * 2)), null);
  if (r() < 0.5) add(hardPri(r, used), new Match(), null);
  // Conjunctions: id 1..6, n 2..4, a few flows per dimension; some flows belong to two ids.
  const nOf = new Map<number, number>();
  for (let id = 1; id <= 6; id++) nOf.set(id, r() < 0.7 ? 2 : 3);
  for (let i = 0; i < 60; i++) {
    const id = 1 + Math.floor(r() * 6);
    const n = nOf.get(id)!;
    const clauses = [id, 1 + Math.floor(r() * n), n];
    if (r() < 0.2) {
      const id2 = 1 + Math.floor(r() * 6);
      if (id2 !== id) clauses.push(id2, 1 + Math.floor(r() * nOf.get(id2)!), nOf.get(id2)!);
    }
    add(SOFT_PRIS[Math.floor(r() * SOFT_PRIS.length)], randomMatch(r, 1), Int32Array.from(clauses));
  }
  // conj_id flows: most ids have one, some with an extra field, at random priorities.
  for (let id = 1; id <= 6; id++) {
    if (r() < 0.15) continue;
    const m = r() < 0.4 ? randomMatch(r, 1) : new Match();
    m.set(K.K_CONJ_ID, id, 0xffffffff);
    add(hardPri(r, used), m, null);
  }
  return rules;
}

function randomKey(r: () => number): Uint32Array {
  const key = new Uint32Array(K.KEY_WORDS);
  for (const w of FIELDS) key[w] = randomValue(w, r);
  return key;
}

t.test('conjunctive lookup agrees with the naive reference on random rule sets', async (t) => {
  let conjResults = 0;
  let total = 0;
  for (let seed = 1; seed <= 40; seed++) {
    const priorities = new Int32Array(256);
    const rules = randomRules(seed, priorities);
    const cls = new Classifier<R>(priorities);
    for (const rule of rules) cls.insert(rule);
    const r = prng(1000 + seed);
    let bad = 0;
    for (let i = 0; i < 400; i++) {
      const key = randomKey(r);
      const want = reference(rules, key);
      const got = cls.lookup(key, 0);
      if (got !== (want === undefined ? -1 : want.id)) bad++;
      if (key[K.K_CONJ_ID] !== 0) bad++; // the lookup restores the word it borrows
      total++;
      if (want !== undefined && want.match.mask[K.K_CONJ_ID] !== 0) conjResults++;
    }
    t.equal(bad, 0, `seed ${seed}: 400 lookups agree with the reference`);
    // Remove the conjunctive flows of one dimension: still in agreement.
    const gone = rules.filter((x) => x.conj !== null && x.conj[1] === 1 && x.conj[0] === 1);
    for (const g of gone) t.ok(cls.remove(g));
    const left = rules.filter((x) => !gone.includes(x));
    let bad2 = 0;
    for (let i = 0; i < 200; i++) {
      const key = randomKey(r);
      const want = reference(left, key);
      if (cls.lookup(key, 0) !== (want === undefined ? -1 : want.id)) bad2++;
    }
    t.equal(bad2, 0, `seed ${seed}: after removing dimension 1 of conjunction 1`);
  }
  // The test exercises the feature: a good share of answers came from conj_id flows.
  t.ok(conjResults > total / 20, `${conjResults} of ${total} lookups were decided by a conjunction`);
});

t.test('a conjunction needs every dimension, at one priority, above the hard match', async (t) => {
  const priorities = new Int32Array(16);
  const cls = new Classifier<R>(priorities);
  const mk = (id: number, priority: number, set: [number, number][], conj: number[] | null): R => {
    const m = new Match();
    for (const [w, v] of set) m.set(w, v, w === K.K_IN_PORT || w === K.K_TP_DST ? 0xffff : 0xffffffff);
    priorities[id] = priority;
    const rule = { id, priority, match: m, conj: conj && Int32Array.from(conj) };
    cls.insert(rule);
    return rule;
  };
  mk(0, 10, [[K.K_NW_SRC, 1]], [7, 1, 2]);
  mk(1, 10, [[K.K_NW_SRC, 2]], [7, 1, 2]);
  mk(2, 10, [[K.K_TP_DST, 22]], [7, 2, 2]);
  mk(3, 20, [[K.K_TP_DST, 80]], [7, 2, 2]); // other priority: never pairs with the 10s
  mk(4, 5, [[K.K_CONJ_ID, 7]], null);
  mk(5, 1, [], null); // catch-all
  const key = new Uint32Array(K.KEY_WORDS);
  const look = (src: number, port: number): number => {
    key[K.K_NW_SRC] = src;
    key[K.K_TP_DST] = port;
    return cls.lookup(key, 0);
  };
  t.equal(look(1, 22), 4, 'src 1 and port 22: conj_id=7');
  t.equal(look(2, 22), 4, 'src 2 and port 22: conj_id=7');
  t.equal(look(3, 22), 5, 'only dimension 2: the catch-all');
  t.equal(look(1, 80), 5, 'dimensions at different priorities do not combine');
  t.equal(look(1, 23), 5, 'only dimension 1');
  // A hard flow above the conjunctive ones hides them.
  mk(6, 15, [[K.K_TP_DST, 22]], null);
  t.equal(look(1, 22), 6, 'higher-priority ordinary flow wins');
  t.equal(cls.softCount, 4);
  t.equal(key[K.K_CONJ_ID], 0);
});

// ---- through the pipeline: parse, EMC, dump-flows, ovs-ofctl ----

const PORTS: Record<string, number> = { vm1: 1, vm2: 2 };

function setup(emc: boolean) {
  const arena = new PacketArena({ slots: 256, slotSize: 2048 });
  const p = new FlowPipeline({
    arena,
    resolvePort: (n) => PORTS[n] ?? -1,
    portName: (o) => Object.keys(PORTS).find((k) => PORTS[k] === o),
    emc,
    emcMinSubtables: 0,
  });
  const ops = new RecordingOps(arena, PORTS);
  const send = (inPort: number, frames: FrameSpec[]): void => {
    const b = new Batch(256);
    for (const f of frames) {
      const s = arena.allocFrom(buildFrame(f));
      if (parseSlot(arena, s, inPort) >= 0) throw new Error('fixture does not parse');
      b.push(s);
    }
    p.process(b, ops);
  };
  return { p, ops, send };
}

/** A security group: 3 remote addresses x 3 TCP ports = 6 conjunctive flows + 1 conj_id flow. */
const SG = `
table=0,priority=70,ip,nw_src=10.0.0.1,actions=conjunction(11,1/2)
table=0,priority=70,ip,nw_src=10.0.0.5,actions=conjunction(11,1/2)
table=0,priority=70,ip,nw_src=10.0.1.0/24,actions=note:01.02,conjunction(11,1/2)
table=0,priority=70,tcp,tp_dst=22,actions=conjunction(11,2/2)
table=0,priority=70,tcp,tp_dst=443,actions=conjunction(11,2/2),conjunction(12,2/2)
table=0,priority=70,tcp,tp_dst=0x1f00/0xff00,actions=conjunction(11,2/2)
table=0,priority=70,conj_id=11,tcp,actions=output:2
table=0,priority=1,actions=drop
`;

t.test('security group as conjunctions: same decisions with and without the EMC', async (t) => {
  const cases: [FrameSpec, boolean][] = [
    [{ ipSrc: '10.0.0.1', dport: 22 }, true],
    [{ ipSrc: '10.0.0.5', dport: 443 }, true],
    [{ ipSrc: '10.0.1.77', dport: 0x1f42 }, true],
    [{ ipSrc: '10.0.0.2', dport: 22 }, false],
    [{ ipSrc: '10.0.0.1', dport: 80 }, false],
    [{ ipSrc: '10.0.0.1', dport: 22, proto: 'udp' }, false],
  ];
  for (const emc of [true, false]) {
    const { p, ops, send } = setup(emc);
    p.addFlows(SG);
    for (let round = 0; round < 3; round++) send(1, cases.map(([f]) => f));
    const got = ops.sent.map((s) => s.kind === 'output' && s.port === 2);
    t.same(got, [0, 1, 2].flatMap(() => cases.map(([, ok]) => ok)), `emc=${emc}: allowed exactly the listed pairs`);
    if (emc) t.ok(p.emcStats.hits >= 12, 'rounds 2 and 3 came from the cache');
    // Removing one address's flow stops it at once (the cache is invalidated).
    p.delFlows('table=0,ip,nw_src=10.0.0.5', { strict: false });
    ops.sent.length = 0;
    send(1, [{ ipSrc: '10.0.0.5', dport: 443 }, { ipSrc: '10.0.0.1', dport: 443 }]);
    t.same(ops.sent.map((s) => s.kind), ['drop', 'output'], `emc=${emc}: removed address refused, others still pass`);
    // mod-flows turns a conjunctive flow into an ordinary one and back.
    p.modFlows('table=0,priority=70,ip,nw_src=10.0.0.1,actions=output:3', { strict: true });
    ops.sent.length = 0;
    send(1, [{ ipSrc: '10.0.0.1', dport: 80 }]);
    t.same([ops.sent[0].kind, ops.sent[0].port], ['output', 3], 'now an ordinary flow');
    p.modFlows('table=0,priority=70,ip,nw_src=10.0.0.1,actions=conjunction(11,1/2)', { strict: true });
    ops.sent.length = 0;
    send(1, [{ ipSrc: '10.0.0.1', dport: 80 }, { ipSrc: '10.0.0.1', dport: 22 }]);
    t.same(ops.sent.map((s) => [s.kind, s.port]), [['drop', undefined], ['output', 2]], 'conjunctive again');
  }
});

t.test('conjunction syntax: OVS errors, and dump-flows prints what was given', async (t) => {
  const { p } = setup(true);
  const bad: [string, RegExp][] = [
    ['ip,actions=conjunction(1,1/1)', /at least 2 clauses/],
    ['ip,actions=conjunction(1,1/65)', /at most 64 clauses/],
    ['ip,actions=conjunction(1,0/2)', /clause index must be positive/],
    ['ip,actions=conjunction(1,3/2)', /less than or equal to number of clauses/],
    ['ip,actions=conjunction(1)', /syntax is "conjunction\(id,k\/n\)"/],
    ['ip,actions=conjunction(1,1/2),output:1', /along with "note" but not .*"output"/],
    ['ip,actions=resubmit(,1),conjunction(1,1/2)', /"resubmit" action used here/],
    ['conj_id=1/0xff,actions=drop', /conj_id does not take a mask/],
    ['ip,actions=conjunction(0x100000000,1/2)', /out of range/],
  ];
  for (const [text, re] of bad) t.throws(() => p.addFlow(text), re, text);
  t.ok(p.isEmpty, 'nothing installed by the refused flows');
  p.addFlows(SG);
  const dump = p.formatFlows(undefined, { names: false });
  t.match(dump, /priority=70,conj_id=11,tcp actions=output:2/);
  t.match(dump, /priority=70,tcp,tp_dst=443 actions=conjunction\(11,2\/2\),conjunction\(12,2\/2\)/);
  t.match(dump, /nw_src=10\.0\.1\.0\/24 actions=note:01\.02,conjunction\(11,1\/2\)/);
  t.notMatch(dump, /never output/);
  // Round trip through our own parser.
  const q = setup(true).p;
  for (const line of dump.trim().split('\n')) q.addFlow(line.replace(/^ *cookie=\S+ duration=\S+ table=(\d+), n_packets=\d+, n_bytes=\d+, (idle_age=\d+, )?/, 'table=$1,'));
  t.equal(q.formatFlows(undefined, { names: false }).replace(/duration=\S+/g, ''), dump.replace(/duration=\S+/g, ''));
});

function haveOvsOfctl(): boolean {
  try {
    execFileSync('ovs-ofctl', ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

const noOvs = haveOvsOfctl() ? false : 'ovs-ofctl is not installed (openvswitch-common)';
t.test('ovs-ofctl parse-flow reads what dump-flows prints for conjunction flows', { skip: noOvs }, async (t) => {
  const { p } = setup(true);
  p.addFlows(SG);
  const lines = p.formatFlows(undefined, { names: false }).trim().split('\n');
  t.equal(lines.length, 8);
  for (const line of lines) {
    const flow = line.replace(/^ *cookie=\S+ duration=\S+ (table=\d+), n_packets=\d+, n_bytes=\d+, (idle_age=\d+, )?/, '$1,');
    const ours = flow.replace(/^table=\d+,/, '');
    const out = execFileSync('ovs-ofctl', ['parse-flow', ours], { encoding: 'utf8' });
    const theirs = out.trim().split('\n').pop()!.replace(/^.*ADD /, '');
    // OVS prints fields in its own order: compare the sets of match items and the actions.
    const [om, oa] = ours.split(' actions=');
    const [tm, ta] = theirs.split(' actions=');
    const items = (s: string): string[] => s.split(',').filter((x) => x !== '').sort();
    t.same(items(tm), items(om), `match of ${ours}`);
    t.equal(ta.replace(/note:([0-9a-f.]+?)(\.00)+(?=,|$)/, 'note:$1'), oa, `actions of ${ours}`);
  }
});

t.test('OpenFlow: conjunction action and conj_id match on the wire (NXAST_CONJUNCTION, NXM_NX_CONJ_ID)', async (t) => {
  const w = new Writer();
  writeAction(w, { type: 'nx_conjunction', clause: 1, nClauses: 2, id: 11 });
  const bytes = w.done();
  // ffff 0010 00002320 0022 | clause 1 (0-based) | n 2 | id 11
  t.equal(bytes.toString('hex'), 'ffff00100000232000220102' + '0000000b');
  t.same(readAction(new Reader(bytes)), { type: 'nx_conjunction', clause: 1, nClauses: 2, id: 11 });
  const { p } = setup(true);
  const spec = p.parse('priority=70,tcp,tp_dst=22,actions=conjunction(11,2/2),conjunction(12,1/3)', 'add');
  const ctx = { match: spec.match, table: 0, packetOut: false };
  const insts = instructionsFromActions(spec.actions!, spec.match);
  t.same(actionsFromInstructions(insts, ctx as never), spec.actions, 'actions round-trip through OpenFlow');
  const bad = [{ type: 'apply_actions' as const, actions: [{ type: 'nx_conjunction' as const, clause: 0, nClauses: 2, id: 1 }, { type: 'output' as const, port: 1, maxLen: 0 }] }];
  t.throws(() => actionsFromInstructions(bad, ctx as never), /along with "note"/);
  t.throws(() => actionsFromInstructions([{ type: 'apply_actions', actions: [{ type: 'nx_conjunction', clause: 2, nClauses: 2, id: 1 }] }], ctx as never), /clause 3 of 2/);
  const m = p.parse('conj_id=11,tcp', 'match').match;
  const oxms = matchToOxm(m);
  t.ok(oxms.some((o) => of.oxmInfo(o.cls, o.field)?.name === 'conj_id'));
  t.ok(matchFromOxm(oxms).equals(m), 'conj_id round-trips as an OXM');
});
