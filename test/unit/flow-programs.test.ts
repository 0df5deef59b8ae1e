/**
 * Shared compiled programs (programs.ts, action-identity.ts): two rules share a program only
 * when their action lists are the same. Near misses — lists that differ in one value, in order,
 * in spelling, or only where the plan does not show it (notes, conjunction clauses, learn's
 * table) — must each keep their own program, print back their own text and act on their own
 * values; the same list from the text parser and from an OpenFlow FLOW_MOD shares.
 */
import t from 'tap';
import { FlowPipeline } from '../../src/flow/pipeline';
import { PacketArena } from '../../src/packet/arena';
import { ProgramCache } from '../../src/flow/programs';
import { actionsHash, sameActions } from '../../src/flow/action-identity';
import { compile, type Action } from '../../src/flow/actions';
import { formatActions } from '../../src/flow/ofctl-format';
import { actionsFromInstructions, instructionsFromActions } from '../../src/openflow/rule-map';

function pipeline(): FlowPipeline {
  return new FlowPipeline({ arena: new PacketArena({ slots: 4, slotSize: 2048 }), clock: () => 0, resolvePort: () => -1, portName: () => undefined });
}

/** [match, actions A, actions B]: A and B are different programs. */
const NEAR_MISSES: [string, string, string][] = [
  ['', 'output:1', 'output:2'],
  ['', 'mod_vlan_vid:5,output:1', 'output:1,mod_vlan_vid:5'],
  ['', 'output:1,output:1', 'output:1'],
  ['', 'strip_vlan', 'pop_vlan'],
  ['', 'set_field:5->reg0', 'load:5->NXM_NX_REG0[]'],
  ['', 'load:1->NXM_NX_REG0[0..3]', 'load:1->NXM_NX_REG0[1..4]'],
  ['', 'set_field:0x1/0x1->reg1', 'set_field:0x1/0x3->reg1'],
  ['', 'set_tunnel:5', 'set_tunnel64:5'],
  ['', 'set_field:0x10->tun_id', 'set_tunnel:0x10'],
  ['', 'mod_vlan_vid:5', 'set_field:5->vlan_vid'],
  ['', 'note:01', 'note:02'],
  ['', 'drop', 'note:00'],
  ['', 'dec_ttl', 'dec_ttl(0)'],
  ['', 'controller:100', 'controller:200'],
  ['', 'resubmit(,1)', 'resubmit(,1,ct)'],
  ['', 'goto_table:1', 'resubmit(,1)'],
  ['', 'write_actions(output:1)', 'output:1'],
  ['', 'mod_nw_src:10.0.0.1', 'mod_nw_src:10.0.0.2'],
  ['', 'conjunction(1,1/2)', 'conjunction(1,2/2)'],
  ['', 'conjunction(1,1/2)', 'conjunction(2,1/2)'],
  ['', 'learn(table=1,NXM_OF_VLAN_TCI[0..11],output:NXM_OF_IN_PORT[])', 'learn(table=2,NXM_OF_VLAN_TCI[0..11],output:NXM_OF_IN_PORT[])'],
  ['', 'learn(table=1,NXM_OF_VLAN_TCI[0..11],output:NXM_OF_IN_PORT[])', 'learn(table=1,NXM_OF_VLAN_TCI[0..10],output:NXM_OF_IN_PORT[])'],
  ['ip,', 'ct(commit,zone=1)', 'ct(commit,zone=2)'],
  ['ip,', 'ct(commit,exec(set_field:1->ct_mark))', 'ct(commit,exec(set_field:2->ct_mark))'],
  ['ip,', 'ct(commit,nat(src=10.0.0.1))', 'ct(commit,nat(src=10.0.0.1:80))'],
  ['ip,', 'ct(commit,nat(src=10.0.0.1))', 'ct(commit,nat(dst=10.0.0.1))'],
];

t.test('near-miss action lists never share a program', async (t) => {
  for (const [m, a, b] of NEAR_MISSES) {
    const p = pipeline();
    const ra = p.addFlow(`priority=1,${m}in_port=1,actions=${a}`).rule;
    const rb = p.addFlow(`priority=1,${m}in_port=2,actions=${b}`).rule;
    t.not(ra.program, rb.program, `${a} / ${b}: two programs`);
    // The two lists are really different: in text, or in what they compile to.
    const key = (x: readonly Action[]) => formatActions(x) + '|' + compile(x).plan.join(',') + '|' + JSON.stringify(compile(x).learns, (_, v) => (typeof v === 'bigint' ? `${v}n` : v));
    t.not(key(ra.actions), key(rb.actions), `${a} / ${b}: not the same list`);
    const dump = p.formatFlows('', { names: false });
    t.match(dump, `in_port=1 actions=${formatActions(ra.actions)}\n`, `${a}: printed back as installed`);
    t.match(dump, `in_port=2 actions=${formatActions(rb.actions)}\n`, `${b}: printed back as installed`);
  }
});

t.test('near misses stay apart through hash chains (every list hashing alike)', async (t) => {
  const c = new ProgramCache(() => 7);
  const p = pipeline();
  const lists = NEAR_MISSES.flatMap(([m, a, b]) => [a, b].map((x) => p.parse(`${m}actions=${x}`, 'add').actions!));
  const progs = lists.map((l) => c.acquire(l));
  for (let i = 0; i < lists.length; i++) {
    for (let j = i + 1; j < lists.length; j++) {
      const same = formatActions(lists[i]) === formatActions(lists[j]) && compile(lists[i]).plan.join() === compile(lists[j]).plan.join();
      if (progs[i] === progs[j]) t.ok(same, `${formatActions(lists[i])} shares only with the same list`);
    }
  }
  const distinct = new Set(progs).size;
  t.equal(c.size, distinct);
  // A second acquire of each finds its own program, wherever it is in the chain.
  for (let i = 0; i < lists.length; i++) t.equal(c.acquire(p.parse(`${NEAR_MISSES[i >> 1][0]}actions=${[NEAR_MISSES[i >> 1][1], NEAR_MISSES[i >> 1][2]][i & 1]}`, 'add').actions!), progs[i]);
  // Release from the middle, the head and the tail of the chain: the others stay found.
  const order = [...new Set(progs)];
  const gone = new Set<unknown>();
  for (const k of [Math.floor(order.length / 2), order.length - 1, 0]) {
    const pr = order[k];
    while (pr.refs > 0) c.release(pr);
    gone.add(pr);
    for (let i = 0; i < lists.length; i++) {
      if (gone.has(progs[i])) continue;
      const again = c.acquire(lists[i]);
      t.equal(again, progs[i], 'still shared after a release elsewhere in the chain');
      c.release(again);
    }
  }
  t.equal(c.size, distinct - 3);
  t.equal(c.acquire(lists[0]).refs, 1, 'a released list compiles again');
});

t.test('the same list shares: from text, from OpenFlow, with its fields in another order', async (t) => {
  const p = pipeline();
  const text = 'load:0x1->NXM_NX_REG0[0..3],output:1';
  const a = p.addFlow(`priority=1,in_port=1,actions=${text}`).rule;
  const b = p.addFlow(`priority=1,in_port=2,actions=${text}`).rule;
  t.equal(a.program, b.program, 'two text flows');
  const spec = p.parse(`priority=1,in_port=3,actions=${text}`, 'add');
  const fromOf = actionsFromInstructions(instructionsFromActions(spec.actions!, spec.match), { match: spec.match, table: 0 });
  const c = p.addFlow({ ...spec, actions: fromOf }).rule;
  t.equal(c.program, a.program, 'the OpenFlow-decoded list');
  const reordered: Action[] = [{ dst: { nbits: 4, ofs: 0, field: (a.actions[0] as Extract<Action, { type: 'load' }>).dst.field }, value: 1n, type: 'load' }, { port: 1, type: 'output' }];
  t.ok(sameActions(reordered, a.actions));
  t.equal(actionsHash(reordered), actionsHash(a.actions), 'field order does not change the hash');
  const d = p.addFlow({ ...spec, match: p.parse('in_port=4', 'match').match, actions: reordered }).rule;
  t.equal(d.program, a.program, 'fields set in another order');
  const e = p.addFlow(`priority=1,in_port=5,actions=controller`).rule;
  const f = p.addFlow(`priority=1,in_port=6,actions=controller:65535`).rule;
  t.equal(e.program, f.program, 'controller = controller:65535');
  t.equal(a.program.refs, 4);
  p.delFlows('in_port=1');
  p.delFlows('in_port=2');
  t.equal(a.program.refs, 2, 'references follow the rules');
});

t.test('undefined fields count as absent; NaN never shares', async (t) => {
  t.ok(sameActions([{ type: 'output', port: 1 }], [{ type: 'output', port: 1, extra: undefined } as unknown as Action]));
  t.equal(actionsHash([{ type: 'output', port: 1 }]), actionsHash([{ type: 'output', port: 1, extra: undefined } as unknown as Action]));
  t.notOk(sameActions([{ type: 'output', port: 1 }], [{ type: 'output', port: 1, extra: 0 } as unknown as Action]));
  t.notOk(sameActions([{ type: 'output', port: NaN }], [{ type: 'output', port: NaN }]));
  t.notOk(sameActions([{ type: 'note', bytes: [1, 2] }], [{ type: 'note', bytes: [1, 2, 0] }]));
  t.notOk(sameActions([{ type: 'set_tunnel', value: 5n, wide: false }], [{ type: 'set_tunnel', value: 5n, wide: true }]));
  t.notOk(sameActions([{ type: 'set_tunnel', value: 5n, wide: false }], [{ type: 'set_tunnel', value: 6n, wide: false }]));
});
