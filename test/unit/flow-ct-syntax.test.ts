/**
 * Connection-tracking syntax: ct_* matches and the ct()/ct_clear actions, both ways. Every
 * expected text below is what `ovs-ofctl parse-flow` (OVS 3.1) prints for the input.
 */
import t from 'tap';
import { FlowSyntaxError, parseFlow } from '../../src/flow/ofctl-parse';
import { formatActions, formatMatch } from '../../src/flow/ofctl-format';
import * as K from '../../src/packet/flow-key';

const opts = { resolvePort: (_n: string) => -1 };

const MATCHES: [string, string][] = [
  ['ct_state=+trk+new', 'ct_state=+new+trk'],
  ['ct_state=-trk', 'ct_state=-trk'],
  ['ct_state=0x21/0x21', 'ct_state=+new+trk'],
  ['ct_state=0x21', 'ct_state=new|trk'],
  ['ct_state=trk|new', 'ct_state=new|trk'],
  ['ct_state=0x21/0xff', 'ct_state=new|trk'],
  ['ct_state=0x20/0x21', 'ct_state=-new+trk'],
  ['ct_state=0', 'ct_state=0'],
  ['ct_state=0xff', 'ct_state=new|est|rel|rpl|inv|trk|snat|dnat'],
  ['ct_state=+est-rel-rpl', 'ct_state=+est-rel-rpl'],
  ['ct_state=+inv+trk', 'ct_state=+inv+trk'],
  ['ct_state=+snat+dnat', 'ct_state=+snat+dnat'],
  ['ct_state=+trk,ct_zone=5,ct_mark=0x1/0x1', 'ct_state=+trk,ct_zone=5,ct_mark=0x1/0x1'],
  ['ct_zone=0x10,ct_mark=5', 'ct_zone=16,ct_mark=0x5'],
  ['ct_mark=0xffffffff,ct_label=0xff/0xf0', 'ct_mark=0xffffffff,ct_label=0xf0/0xf0'],
  ['ct_label=0x1', 'ct_label=0x1'],
  ['ct_label=0x00000000000000000000000000000001', 'ct_label=0x1'],
  ['ct_label=0x1/0x0000000000000000ffff000000000000', 'ct_label=0/0xffff000000000000'],
  ['ct_label=0x10000000000000000', 'ct_label=0x10000000000000000'],
  ['ct_label=0xffffffffffffffffffffffffffffffff', 'ct_label=0xffffffffffffffffffffffffffffffff'],
  ['ct_state=+trk-inv,ip,ct_nw_src=10.0.0.1', 'ct_state=-inv+trk,ct_nw_src=10.0.0.1,ip'],
  ['ct_state=+trk-inv,ip,ct_nw_dst=10.0.0.0/8', 'ct_state=-inv+trk,ct_nw_dst=10.0.0.0/8,ip'],
  ['ct_state=+trk-inv,ct_nw_proto=6', 'ct_state=-inv+trk,ct_nw_proto=6'],
  ['ct_state=+trk-inv+new,ip,ct_nw_proto=6', 'ct_state=+new-inv+trk,ct_nw_proto=6,ip'],
  [
    'ct_state=+trk-inv,ip,ct_nw_proto=6,ct_tp_src=5,ct_tp_dst=0x50/0xfff0,ct_nw_src=1.2.3.4',
    'ct_state=-inv+trk,ct_nw_src=1.2.3.4,ct_nw_proto=6,ct_tp_src=5,ct_tp_dst=0x50/0xfff0,ip',
  ],
  ['ct_state=+trk-inv,ip,ct_nw_proto=6,ct_tp_src=5/0xffff', 'ct_state=-inv+trk,ct_nw_proto=6,ct_tp_src=5,ip'],
  ['conj_id=5,ct_state=+trk,ct_zone=3,ct_mark=1,ct_label=1', 'conj_id=5,ct_state=+trk,ct_zone=3,ct_mark=0x1,ct_label=0x1'],
  // OVS is_ct_valid: a state only a valid connection has also satisfies the CT prerequisite.
  ['ct_state=+est+trk,ip,ct_nw_src=10.0.0.1', 'ct_state=+est+trk,ct_nw_src=10.0.0.1,ip'],
  ['ct_state=+rpl,ip,ct_nw_src=10.0.0.1', 'ct_state=+rpl,ct_nw_src=10.0.0.1,ip'],
  ['ct_state=+dnat,ct_nw_proto=17', 'ct_state=+dnat,ct_nw_proto=17'],
  ['ct_state=+new+inv+trk,ct_nw_proto=17', 'ct_state=+new+inv+trk,ct_nw_proto=17'],
];

t.test('ct matches print back as OVS 3.1 prints them', async (t) => {
  for (const [input, want] of MATCHES) {
    const spec = parseFlow(input, 'match', opts);
    t.equal(formatMatch(spec.match, 32768), want, input);
    const again = parseFlow(want, 'match', opts);
    t.ok(again.match.equals(spec.match), `${want} reads back to the same match`);
  }
});

t.test('ct matches fill the conntrack words of the key', async (t) => {
  const m = parseFlow('ct_state=+trk-inv,ip,ct_label=0x00000001000000000000000000000002/0x000000010000000000000000000000ff,ct_mark=7/0xf,ct_nw_src=10.1.2.3', 'match', opts).match;
  t.equal(m.value[K.K_CT_STATE], 0x20);
  t.equal(m.mask[K.K_CT_STATE], 0x30);
  t.same(m.value.slice(K.K_CT_LABEL, K.K_CT_LABEL + 4), [0x1, 0, 0, 0x2], 'label most significant word first');
  t.same(m.mask.slice(K.K_CT_LABEL, K.K_CT_LABEL + 4), [0x1, 0, 0, 0xff]);
  t.equal(m.value[K.K_CT_MARK], 7);
  t.equal(m.mask[K.K_CT_MARK], 0xf);
  t.equal(m.value[K.K_CT_NW_SRC], 0x0a010203);
});

/** [flow text, substring the error names] — what OVS refuses, refused here with a reason. */
const BAD: [string, RegExp][] = [
  ['ct_state=+foo', /unknown ct_state flag 'foo'/],
  ['ct_state=0x100', /unknown ct_state flag/],
  ['ct_state=+trk-trk', /both set and cleared/],
  ['ct_state=+trk,junk', /unknown field/],
  ['ct_zone=0x10/0xff', /ct_zone does not take a mask/],
  ['ct_zone=65536', /out of range/],
  ['ct_label=0x100000000000000000000000000000001/0xffffffffffffffffffffffffffffffff', /too large for the 128-bit ct_label/],
  ['ct_nw_src=10.0.0.1', /ct_nw_src requires a tracked, valid IPv4 connection/],
  ['ip,ct_nw_src=10.0.0.1', /ct_nw_src requires/],
  ['ct_state=+trk,ip,ct_nw_src=10.0.0.1', /ct_nw_src requires/], // OVS: OFPBMC_BAD_PREREQ (inv not excluded)
  ['ct_state=+trk-inv,ct_nw_src=10.0.0.1', /ct_nw_src requires/], // OVS: OFPBAC_MATCH_INCONSISTENT
  ['ct_state=+trk,ip,ct_nw_proto=6', /ct_nw_proto requires a tracked, valid connection/],
  ['ct_state=-est+trk,ip,ct_nw_src=10.0.0.1', /ct_nw_src requires/], // OVS: OFPBMC_BAD_PREREQ
  ['ct_state=+trk-inv,tcp,ct_tp_src=5', /ct_tp_src requires/], // OVS drops it silently from the match
  ['ct_nw_proto=6/0xff,ct_state=+trk-inv', /does not take a mask/],
];

t.test('bad ct matches are refused with the field named', async (t) => {
  for (const [input, re] of BAD) {
    t.throws(() => parseFlow(input, 'match', opts), FlowSyntaxError, input);
    try {
      parseFlow(input, 'match', opts);
    } catch (e) {
      t.match((e as Error).message, re, input);
    }
  }
});

/** [actions input, OVS 3.1 output] (ovs-ofctl parse-flow 'ip,actions=...'; exec() set_field as OVS's OpenFlow 1.3 dump-flows prints it). */
const ACTIONS: [string, string][] = [
  ['ct(commit,zone=5,table=3)', 'ct(commit,table=3,zone=5)'],
  ['ct(table=1,zone=1)', 'ct(table=1,zone=1)'],
  ['ct(commit,zone=NXM_NX_REG6[0..15])', 'ct(commit,zone=NXM_NX_REG6[0..15])'],
  ['ct(commit,zone=NXM_NX_REG6[0..15],exec(set_field:0x1->ct_mark))', 'ct(commit,zone=NXM_NX_REG6[0..15],exec(set_field:0x1->ct_mark))'],
  ['ct(commit,exec(load:0x1->NXM_NX_CT_MARK[]))', 'ct(commit,exec(load:0x1->NXM_NX_CT_MARK[]))'],
  ['ct(commit,exec(load:0x1->NXM_NX_CT_LABEL[0]))', 'ct(commit,exec(load:0x1->NXM_NX_CT_LABEL[0]))'],
  ['ct(commit,exec(load:0x1->NXM_NX_CT_LABEL[0..63],load:0->NXM_NX_CT_LABEL[64..127]))', 'ct(commit,exec(load:0x1->NXM_NX_CT_LABEL[0..63],load:0->NXM_NX_CT_LABEL[64..127]))'],
  ['ct(nat)', 'ct(nat)'],
  ['ct(table=54,zone=NXM_NX_REG5[0..15],nat)', 'ct(table=54,zone=NXM_NX_REG5[0..15],nat)'],
  ['ct(commit,nat(src=10.0.0.1))', 'ct(commit,nat(src=10.0.0.1))'],
  ['ct(commit,nat(src=10.0.0.1-10.0.0.5:1000-2000))', 'ct(commit,nat(src=10.0.0.1-10.0.0.5:1000-2000))'],
  ['ct(commit,nat(dst=10.0.0.1:80))', 'ct(commit,nat(dst=10.0.0.1:80))'],
  ['ct(commit,nat(src=10.0.0.1,random))', 'ct(commit,nat(src=10.0.0.1,random))'],
  ['ct(commit,nat(src=10.0.0.1,persistent,hash))', 'ct(commit,nat(src=10.0.0.1,persistent,hash))'],
  ['ct(commit,nat(src))', 'ct(commit,nat(src))'],
  ['ct(commit,table=5,zone=5,nat(dst=10.1.1.1-10.1.1.2))', 'ct(commit,table=5,zone=5,nat(dst=10.1.1.1-10.1.1.2))'],
  ['ct(commit,nat(src=10.0.0.1),exec(set_field:1->ct_mark))', 'ct(commit,nat(src=10.0.0.1),exec(set_field:0x1->ct_mark))'],
  ['ct_clear', 'ct_clear'],
  ['ct', 'ct()'],
  ['ct()', 'ct()'],
  ['ct(zone=0)', 'ct()'],
  ['ct(table=0)', 'ct(table=0)'],
  ['ct(commit,force)', 'ct(commit,force)'],
  ['ct(nat,commit)', 'ct(commit,nat)'],
  ['ct(commit,commit)', 'ct(commit)'],
  ['ct(commit,zone=0x10)', 'ct(commit,zone=16)'],
  ['ct(commit,zone=NXM_NX_REG6[16..31])', 'ct(commit,zone=NXM_NX_REG6[16..31])'],
  ['ct(table=1),output:2', 'ct(table=1),output:2'],
  ['move:NXM_NX_CT_MARK[]->NXM_NX_REG0[]', 'move:NXM_NX_CT_MARK[]->NXM_NX_REG0[]'],
];

t.test('ct() and ct_clear print back as OVS prints them', async (t) => {
  for (const [input, want] of ACTIONS) {
    const spec = parseFlow(`ip,actions=${input}`, 'add', opts);
    t.equal(formatActions(spec.actions ?? []), want, input);
    const again = parseFlow(`ip,actions=${want}`, 'add', opts);
    t.equal(formatActions(again.actions ?? []), want, `${want} reads back`);
  }
});
