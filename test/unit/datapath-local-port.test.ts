/**
 * A bridge's LOCAL port in memory (its TAP replaced by a memory port through the IoFactory, so
 * no root is needed): OpenFlow port 0xfffe, named after the bridge, with the bridge's MAC; an
 * ordinary port to NORMAL (flooded to, learned on, unicast to); `output:LOCAL`, `in_port=LOCAL`
 * and `in_port=BRIDGE` in flows; the config file's `localPort` (validated, applied, saved,
 * reloaded). The TAP device itself is tested against real peers in
 * test/integration/local-port.test.ts.
 */
import t from 'tap';
import { Switch } from '../../src/datapath/switch';
import { defaultIoFactory, type IoFactory } from '../../src/datapath/io-factory';
import { MemoryPort } from '../../src/io/memory-port';
import type { PortConfig } from '../../src/datapath/switch-port';
import { OFPP_LOCAL } from '../../src/flow/ofport';
import { validateConfig, applyConfig } from '../../src/control/config';
import { snapshotConfig } from '../../src/control/save-config';
import { reloadConfig } from '../../src/control/reload';
import { arpRequest, udpFrame } from '../../src/wire/frames';

/** The default factory, but a LOCAL port is a memory port; `opened` records its configs. */
function fakeLocal(opened: { name: string; config: PortConfig }[], fail = false): IoFactory {
  return {
    open(name, arena, config) {
      if (config.type !== 'local') return defaultIoFactory.open(name, arena, config);
      if (fail) throw new Error("TAP port 'x': EEXIST: an interface of that name exists already");
      opened.push({ name, config });
      return new MemoryPort(name, arena);
    },
  };
}

function rig() {
  const opened: { name: string; config: PortConfig }[] = [];
  const sw = new Switch({ clock: () => 0, arena: { slots: 256, slotSize: 2048 + 128 }, io: fakeLocal(opened) });
  const br = sw.addBridge('br0', { localPort: true });
  const local = br.local!.io as MemoryPort;
  const p1 = sw.addPort('br0', 'p1', { type: 'memory' }).io as MemoryPort;
  return { sw, br, local, p1, opened };
}

t.test('add-br with a LOCAL port: number 0xfffe, the bridge name and MAC', async (t) => {
  const { sw, br, opened } = rig();
  t.equal(br.local?.ofport, OFPP_LOCAL);
  t.equal(br.local?.name, 'br0');
  t.equal(br.local?.type, 'local');
  t.same(opened.map((o) => [o.name, o.config.mac]), [['br0', br.mac]], "the device is opened with the bridge's MAC");
  t.equal(br.mac, br.datapathId.toString(16).padStart(12, '0').match(/../g)!.join(':'), 'the MAC is the low 48 bits of the default datapath id');
  t.ok(/^[0-9a-f][26ae]:/.test(br.mac), 'locally administered unicast');
  t.equal(br.portAt(OFPP_LOCAL), br.local);
  t.equal(br.portName(OFPP_LOCAL), 'br0');
  t.equal(br.ofportByName('br0'), OFPP_LOCAL);
  t.equal(br.nextOfport(), 2, 'ordinary numbering is unaffected (p1 is 1)');
  t.same(sw.dumpPorts('br0').map((p) => [p.name, p.ofport]), [['p1', 1], ['br0', OFPP_LOCAL]]);
  t.throws(() => sw.addLocalPort('br0'), /has a LOCAL port already/);
  t.throws(() => sw.addPort('br0', 'br0', { type: 'memory' }), /already exists/, 'its name is taken');
  sw.delBridge('br0');
  t.equal(sw.bridges.size, 0);
});

t.test('a LOCAL port that cannot be made: add-br adds nothing', async (t) => {
  const sw = new Switch({ clock: () => 0, arena: { slots: 256, slotSize: 2048 + 128 }, io: fakeLocal([], true) });
  t.throws(() => sw.addBridge('br0', { localPort: true }), /bridge br0: LOCAL port: .*EEXIST/);
  t.equal(sw.bridges.size, 0);
  t.throws(() => new Switch({ io: fakeLocal([]) }).addBridge('br:1', { localPort: true }), /invalid bridge name "br:1": ':' is not allowed/);
});

t.test('NORMAL: LOCAL is flooded to, learned on and unicast to', async (t) => {
  const { sw, br, local, p1 } = rig();
  const arp = arpRequest('02:00:00:00:00:01', '10.0.0.1', '10.0.0.2');
  p1.inject(arp);
  sw.runUntilIdle();
  t.same(local.takeTransmitted(), [arp], 'a broadcast from p1 reaches LOCAL');
  const fromLocal = udpFrame({ dst: '02:00:00:00:00:01', src: br.mac, ipSrc: '10.0.0.2', ipDst: '10.0.0.1' });
  local.inject(fromLocal);
  sw.runUntilIdle();
  t.same(p1.takeTransmitted(), [fromLocal], 'unicast from LOCAL to the learned MAC');
  t.ok(sw.fdb('br0').some((e) => e.port === OFPP_LOCAL && e.mac === br.mac && e.portName === 'br0'), 'the bridge MAC learned on LOCAL');
  const toLocal = udpFrame({ dst: br.mac, src: '02:00:00:00:00:01', ipSrc: '10.0.0.1', ipDst: '10.0.0.2' });
  p1.inject(toLocal);
  sw.runUntilIdle();
  t.same(local.takeTransmitted(), [toLocal], 'unicast to LOCAL');
  t.match(br.explainNormal(0).join(' '), /.*/); // explain on an idle slot must not throw
});

t.test('flows: output:LOCAL, in_port=LOCAL, in_port=BRIDGE', async (t) => {
  const { sw, local, p1 } = rig();
  const f = sw.flows('br0');
  f.delFlows();
  f.addFlow('in_port=p1,actions=output:LOCAL');
  f.addFlow('in_port="br0",actions=output:p1');
  t.match(f.formatFlows(), /in_port=LOCAL actions=output:p1/, 'in_port=br0 is in_port=LOCAL, printed LOCAL');
  t.match(f.formatFlows(), /in_port=p1 actions=LOCAL/);
  const a = udpFrame({ dst: '02:00:00:00:00:09', src: '02:00:00:00:00:01', ipSrc: '10.0.0.1', ipDst: '10.0.0.9' });
  p1.inject(a);
  sw.runUntilIdle();
  t.same(local.takeTransmitted(), [a], 'output:LOCAL');
  const b = udpFrame({ dst: '02:00:00:00:00:01', src: '02:00:00:00:00:09', ipSrc: '10.0.0.9', ipDst: '10.0.0.1' });
  local.inject(b);
  sw.runUntilIdle();
  t.same(p1.takeTransmitted(), [b], 'in_port=LOCAL');
  t.same(sw.dumpPorts('br0').find((p) => p.ofport === OFPP_LOCAL)?.rx_packets, 1);
  // Without a LOCAL port, output:LOCAL is an unknown port (as it was before there were any).
  sw.delLocalPort('br0');
  p1.inject(a);
  sw.runUntilIdle();
  t.equal(sw.bridgeDrops('br0').unknown_port, 1, 'no LOCAL port: unknown_port');
});

t.test('config file: localPort validated, applied, saved and reloaded', async (t) => {
  const cfg = { bridges: [{ name: 'br0', localPort: true, ports: [{ name: 'p1', type: 'memory' }], flows: ['in_port=br0,actions=output:p1', 'in_port=p1,actions=LOCAL'] }] };
  t.throws(() => validateConfig({ bridges: [{ name: 'br0', localPort: 'yes', ports: [] }] }), /bridges\[0\]\.localPort/);
  t.throws(() => validateConfig({ bridges: [{ name: 'br0', localPort: true, ports: [{ name: 'br0', type: 'memory' }] }] }), /bridges\[0\]\.ports\[0\]\.name: the name 'br0' is already used by the LOCAL port of bridge 'br0'/);
  t.throws(() => validateConfig({ bridges: [{ name: 'br0', ports: [], flows: ['in_port=br0,actions=drop'] }] }), /unknown port 'br0'/, 'no LOCAL port: the bridge name is no port');
  t.throws(() => validateConfig({ bridges: [{ name: 'br0', ports: [{ name: 'x', type: 'local' }] }] }), /local_port=true/, 'type=local is not a port option');
  const opened: { name: string; config: PortConfig }[] = [];
  const sw = new Switch({ clock: () => 0, io: fakeLocal(opened) });
  const spec = validateConfig(cfg);
  applyConfig(sw, spec, (b, flows) => sw.flows(b).addFlows(flows.join('\n')));
  t.equal(sw.bridge('br0').local?.ofport, OFPP_LOCAL);
  const saved = snapshotConfig(sw);
  t.equal(saved.bridges[0].localPort, true, 'save-config writes localPort');
  t.same(saved.bridges[0].ports.map((p) => p.name), ['p1'], 'and not the LOCAL port among the ports');
  t.match(saved.bridges[0].flows, ['in_port=LOCAL actions=output:p1', 'in_port=p1 actions=LOCAL']);
  // Reload: without localPort the port goes; with it again it comes back (a new device).
  const r1 = reloadConfig(sw, validateConfig({ bridges: [{ ...cfg.bridges[0], localPort: false, flows: ['in_port=p1,actions=LOCAL'] }] }));
  t.ok(r1.removed.includes('LOCAL port of br0'));
  t.equal(sw.bridge('br0').local, undefined);
  const r2 = reloadConfig(sw, spec);
  t.ok(r2.added.includes('LOCAL port of br0'));
  t.equal(sw.bridge('br0').local?.ofport, OFPP_LOCAL);
  t.equal(opened.length, 2);
});
