/**
 * Memory per flow: 100,000 flows must cost at most 500 bytes each (JS heap plus typed-array
 * backing stores), so a 100k-flow table stays around 50 MB instead of the ~2 KB per flow it
 * once took. This asserts memory, which (unlike speed) does not depend on machine load.
 *
 * The table is shaped like a real one: every match distinct (in_port, source address, TCP
 * port), priorities spread, action lists drawn from a few thousand (a VLAN per tenant network).
 */
import t from 'tap';
import * as v8 from 'v8';
import * as vm from 'vm';
import { FlowPipeline } from '../../src/flow/pipeline';
import { runTrace } from '../../src/flow/trace';
import { PacketArena } from '../../src/packet/arena';

v8.setFlagsFromString('--expose-gc');
const gc = vm.runInNewContext('gc') as () => void;

function used(): number {
  gc();
  gc();
  const m = process.memoryUsage();
  return m.heapUsed + m.arrayBuffers;
}

const N = 100_000;
const BOUND = 500;

function flow(i: number): string {
  const ip = `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`;
  return `table=0,priority=${100 + (i % 7)},in_port=${1 + (i % 3)},tcp,nw_src=${ip},tp_dst=${1 + (i % 1000)},actions=mod_vlan_vid:${1 + (i % 4000)},output:${4 + (i % 2)}`;
}

t.test(`flows cost at most ${BOUND} bytes each (${N} flows)`, async (t) => {
  const p = new FlowPipeline({ arena: new PacketArena({ slots: 64, slotSize: 2048 }), clock: () => 0, resolvePort: () => -1, portName: () => undefined });
  const before = used();
  for (let i = 0; i < N; i += 1000) {
    const chunk: string[] = [];
    for (let j = i; j < i + 1000; j++) chunk.push(flow(j));
    p.addFlows(chunk.join('\n')); // the text is garbage once installed
  }
  const after = used();
  const per = (after - before) / N;
  t.equal(p.ruleCount, N, 'all installed');
  t.ok(per <= BOUND, `${per.toFixed(0)} bytes per flow (bound ${BOUND})`);

  // The compact storage must still be the same table: a strict dump finds flow 12345 with its
  // exact match and actions, and a packet of flow 54321 takes that flow's actions.
  const want = flow(12345);
  const dumped = p.formatFlows(want.replace(/,actions=.*/, ''), { strict: true });
  t.match(dumped, /priority=104,tcp,in_port=1,nw_src=10\.0\.48\.57,tp_dst=346 actions=mod_vlan_vid:346,output:5\n$/, 'flow 12345 dumped as added');
  const tr = runTrace(p, { flow: 'in_port=1,tcp,nw_src=10.0.212.49,tp_dst=322' });
  t.same(tr.outputs.map((o) => o.port), [5], 'flow 54321 forwards to port 5');
  t.match(tr.text, /mod_vlan_vid:2322/, 'with its own VLAN');

});
