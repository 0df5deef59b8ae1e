/**
 * add-flows in parts over one connection (flow-load.ts), through a real control socket: line
 * numbers across parts, lines split between parts, a bad line in any part applies nothing,
 * later parts of a refused load are refused too, a closed connection drops its load, and the
 * bridge must still be the one the flows were parsed against.
 */
import t from 'tap';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { Readable } from 'stream';
import type { Teardownable } from '../../lab/netns';
import { Switch } from '../../src/datapath/switch';
import { ControlServer } from '../../src/control/server';
import { switchCommands } from '../../src/control/commands';
import { flowCommands } from '../../src/control/flow-commands';
import { ControlConnection, addFlowsFromStream, request } from '../../src/control/client';

async function setup(t: Teardownable) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tvs-load-'));
  const sock = path.join(dir, 'tvs.sock');
  const sw = new Switch({ clock: () => 0, arena: { slots: 256, slotSize: 2048 + 128 } });
  sw.addBridge('br0');
  sw.flows('br0').delFlows(); // start from no flows (a new bridge has the default NORMAL flow)
  sw.addPort('br0', 'm1', { type: 'memory' });
  sw.addPort('br0', 'm2', { type: 'memory' });
  const server = new ControlServer(sock, switchCommands(sw, flowCommands(sw)));
  await server.listen();
  t.teardown(async () => {
    await server.close();
    sw.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  });
  return { sw, sock, count: () => sw.flows('br0').ruleCount };
}

const flow = (i: number) => `priority=${i % 100},ip,nw_dst=10.0.${(i >> 8) & 255}.${i & 255},actions=output:m2`;

t.test('parts split anywhere, even inside a line; applied once, at the last part', async (t) => {
  const { sock, count } = await setup(t);
  const text = Array.from({ length: 3000 }, (_, i) => flow(i)).join('\r\n') + '\n# the end\n';
  const c = await ControlConnection.open(sock);
  t.teardown(() => c.close());
  // Cut at odd places: mid-token, right after '\r', on a newline.
  const cuts = [0, 7, text.indexOf('\r') + 1, 1000, 50_000, 50_001, 99_999, text.length];
  for (let i = 0; i + 2 < cuts.length; i++) {
    const r = (await c.call('add-flows', { bridge: 'br0', text: text.slice(cuts[i], cuts[i + 1]), more: true })) as { staged: number };
    t.ok(r.staged >= 0);
    t.equal(count(), 0, `nothing applied after part ${i + 1}`);
  }
  const r = (await c.call('add-flows', { bridge: 'br0', text: text.slice(cuts[cuts.length - 2]) })) as { added: number };
  t.equal(r.added, 3000);
  t.equal(count(), 3000);
});

t.test('a bad line in a later part: its line number, and nothing applied', async (t) => {
  const { sock, count, sw } = await setup(t);
  sw.flows('br0').addFlow('priority=7,actions=drop');
  const lines = Array.from({ length: 5000 }, (_, i) => flow(i));
  lines[4321] = 'priority=5,ip,nw_dst=10.0.0.300,actions=drop';
  const text = lines.join('\n');
  await t.rejects(
    addFlowsFromStream(sock, 'br0', Readable.from([text.slice(0, 100_000), text.slice(100_000)])),
    /line 4322, column \d+: .*10\.0\.0\.300.* \(nothing applied\)/,
  );
  t.equal(count(), 1, 'only the flow that was there before');
  t.match(sw.flows('br0').formatFlows(), /priority=7 actions=drop/);

  // Parts sent after the refused one are refused with the same message, until the last part.
  const c = await ControlConnection.open(sock);
  t.teardown(() => c.close());
  await t.rejects(c.call('add-flows', { bridge: 'br0', text: 'priority=1,actions=drop\nbogus=1,actions=drop\n', more: true }), /line 2, column 1: .*bogus/);
  await t.rejects(c.call('add-flows', { bridge: 'br0', text: 'priority=2,actions=drop\n', more: true }), /line 2, column 1: .*bogus.*nothing applied/);
  await t.rejects(c.call('add-flows', { bridge: 'br0', text: 'priority=3,actions=drop\n' }), /line 2.*nothing applied/);
  // The connection is clean again: a new load starts at line 1.
  t.same(await c.call('add-flows', { bridge: 'br0', text: 'priority=4,actions=drop' }), { added: 1, modified: 0, deleted: 0, warnings: [] });
  t.equal(count(), 2);
});

t.test('a load whose connection closes is dropped; another bridge or a deleted bridge is refused', async (t) => {
  const { sock, count, sw } = await setup(t);
  const c = await ControlConnection.open(sock);
  await c.call('add-flows', { bridge: 'br0', text: flow(1) + '\n', more: true });
  await t.rejects(c.call('add-flows', { bridge: 'br1', text: flow(2) }), /loading flows into br0, not br1/);
  c.close();
  await new Promise((r) => setTimeout(r, 50));
  t.equal(count(), 0, 'nothing from the abandoned load');

  const d = await ControlConnection.open(sock);
  t.teardown(() => d.close());
  await d.call('add-flows', { bridge: 'br0', text: 'priority=1,in_port=m1,actions=output:m2\n', more: true });
  sw.delBridge('br0');
  sw.addBridge('br0');
  await t.rejects(d.call('add-flows', { bridge: 'br0', text: '' }), /bridge br0 was deleted while its flows were being sent; nothing applied/);
  t.equal(count(), 1, 'only the new bridge\'s default flow');
});

t.test('add/modify/delete lines and comments, in file order, through the streaming client', async (t) => {
  const { sock, sw } = await setup(t);
  const text = ['priority=5,ip,actions=drop  # first', 'add priority=6,arp,actions=NORMAL', 'modify ip,actions=output:m1', 'delete_strict priority=6,arp'].join('\n');
  const r = await addFlowsFromStream(sock, 'br0', Readable.from([text]));
  t.same(r, { added: 2, modified: 1, deleted: 1, warnings: [] });
  t.match(sw.flows('br0').formatFlows(), /^ *cookie=0x0, .*priority=5,ip actions=output:m1\n$/);
  // An empty file is fine and changes nothing.
  t.same(await addFlowsFromStream(sock, 'br0', Readable.from([])), { added: 0, modified: 0, deleted: 0, warnings: [] });
  // One request with the whole text (no `more`) still works, as before.
  t.same(await request(sock, 'add-flows', { bridge: 'br0', text: 'priority=9,actions=drop' }), { added: 1, modified: 0, deleted: 0, warnings: [] });
});
