/**
 * Limits chosen by the user: MAC table, flows, NAT sessions (table and per source). Each is set
 * from the config file (and reload), refused past its range with the path, kept by save-config,
 * counted when hit and shown as gauges in the metrics.
 */
import t from 'tap';
import { Switch } from '../../src/datapath/switch';
import { MemoryPort } from '../../src/io/memory-port';
import { validateConfig, applyConfig } from '../../src/control/config';
import { snapshotConfig } from '../../src/control/save-config';
import { reloadConfig } from '../../src/control/reload';
import { renderMetrics } from '../../src/control/metrics';
import { l3Commands } from '../../src/control/l3-commands';
import { udpFrame } from '../../src/wire/frames';
import { formatRouter } from '../../src/cli/format';

const cfg = () => ({
  bridges: [
    { name: 'br0', macTableSize: 4, maxFlows: 3, ports: [{ name: 'p1', type: 'memory' }, { name: 'p2', type: 'memory' }] },
    { name: 'br-ex', ports: [{ name: 'ext', type: 'memory' }] },
  ],
  routers: [
    {
      name: 'r1', maxSessions: 1000, maxSessionsPerSource: 10,
      ports: [
        { bridge: 'br0', name: 'qr-1', mac: '02:52:00:00:01:01', ip: '10.231.1.1/24' },
        { bridge: 'br-ex', name: 'qg-1', mac: '02:52:00:00:ff:01', ip: '203.0.113.2/24', gateway: true },
      ],
    },
  ],
});
const mk = () => new Switch({ clock: () => 0, arena: { slots: 256, slotSize: 2048 + 128 } });

t.test('limits from the config file; save-config keeps them; bad values name the path', async (t) => {
  const sw = mk();
  applyConfig(sw, validateConfig(cfg()), (br, flows) => sw.flows(br).addFlows(flows.join('\n')));
  t.equal(sw.flows('br0').maxFlows, 3);
  t.equal(sw.bridge('br0').macs.maxEntries, 4);
  t.same(sw.l3.router('r1').show().natLimits, { maxSessions: 1000, maxSessionsPerSource: 10, allocated: 1024 });
  const snap = snapshotConfig(sw);
  t.equal(snap.bridges[0].maxFlows, 3);
  t.equal(snap.bridges[1].maxFlows, undefined, 'defaults are not written');
  t.equal(snap.routers![0].maxSessions, 1000);
  t.equal(snap.routers![0].maxSessionsPerSource, 10);

  const bad = (f: (c: ReturnType<typeof cfg>) => void, re: RegExp) => {
    const c = cfg();
    f(c);
    t.throws(() => validateConfig(c), re);
  };
  bad((c) => ((c.routers[0] as Record<string, unknown>).maxSessions = 0), /routers\[0\]\.maxSessions: must be an integer in 1\.\.4194304/);
  bad((c) => ((c.routers[0] as Record<string, unknown>).maxSessionsPerSource = 1001), /routers\[0\]\.maxSessionsPerSource: must be an integer in 1\.\.1000/);
  bad((c) => ((c.bridges[0] as Record<string, unknown>).maxFlows = 'many'), /bridges\[0\]\.maxFlows: must be an integer/);

  // Reload changes the limits in place (sessions stay); absent means the default again.
  const c2 = cfg();
  c2.routers[0].maxSessions = 2000;
  delete (c2.routers[0] as Record<string, unknown>).maxSessionsPerSource;
  delete (c2.bridges[0] as Record<string, unknown>).maxFlows;
  reloadConfig(sw, validateConfig(c2));
  t.same(sw.l3.router('r1').show().natLimits.maxSessions, 2000);
  t.same(sw.l3.router('r1').show().natLimits.maxSessionsPerSource, 500);
  t.equal(sw.flows('br0').maxFlows, 1_000_000);
});

t.test('add-router options set the NAT limits; bad values change nothing', async (t) => {
  const sw = mk();
  const h = l3Commands(sw);
  h['add-router']({ router: 'ra', options: { 'max-sessions': '5000', 'max-sessions-per-source': '50' } });
  t.same(sw.l3.router('ra').show().natLimits, { maxSessions: 5000, maxSessionsPerSource: 50, allocated: 1024 });
  t.throws(() => h['add-router']({ router: 'rb', options: { 'max-sessions': '10', 'max-sessions-per-source': '11' } }), /max-sessions-per-source=11: must be an integer in 1\.\.10/);
  t.same(sw.l3.routerNames(), ['ra'], 'the refused router was not created');
  h['set-router']({ router: 'ra', options: { 'max-sessions': '200000' } });
  t.same(sw.l3.router('ra').show().natLimits, { maxSessions: 200000, maxSessionsPerSource: 50, allocated: 1024 });
  t.throws(() => h['set-router']({ router: 'ra', options: { 'max-sessions': '100', 'max-sessions-per-source': '101' } }), /must be an integer in 1\.\.100/);
  t.throws(() => h['set-router']({ router: 'ra', options: {} }), /nothing to set/);
  t.equal(sw.l3.router('ra').show().natLimits.maxSessions, 200000, 'refused: unchanged');
});

t.test('flow limit: past maxFlows an add is refused and counted; a batch is all or nothing', async (t) => {
  const sw = mk();
  sw.addBridge('br0', { maxFlows: 3 });
  const f = sw.flows('br0');
  f.delFlows(); // start from no flows (a new bridge has the default NORMAL flow)
  f.addFlows('priority=1,actions=drop\npriority=2,actions=drop');
  t.throws(() => f.addFlows('priority=3,actions=drop\npriority=4,actions=drop'), /table full: 2 new flows would exceed the limit of 3 \(2 installed\)/);
  t.equal(f.ruleCount, 2, 'nothing of the refused batch went in');
  f.addFlows('priority=1,actions=NORMAL\npriority=3,actions=drop'); // one replaces, one is new
  t.equal(f.ruleCount, 3);
  t.throws(() => f.addFlow('priority=9,actions=drop'), /table full: the limit of 3 flows is reached/);
  f.addFlow('priority=2,actions=NORMAL'); // a replacement still fits
  t.equal(f.refusedFull, 2);
  const m = renderMetrics(sw);
  t.match(m, /tvs_flows\{bridge="br0"\} 3/);
  t.match(m, /tvs_flows_max\{bridge="br0"\} 3/);
  t.match(m, /tvs_flow_table_full_total\{bridge="br0"\} 2/);
});

t.test('MAC table full: new stations counted; gauges in the metrics', async (t) => {
  const sw = mk();
  sw.addBridge('br0', { macMaxEntries: 4 });
  const p1 = sw.addPort('br0', 'p1', { type: 'memory' }).io as MemoryPort;
  sw.addPort('br0', 'p2', { type: 'memory' });
  for (let i = 0; i < 10; i++) {
    p1.inject(udpFrame({ dst: '02:00:00:00:00:ff', src: `02:00:00:00:01:${i.toString(16).padStart(2, '0')}`, ipSrc: '10.231.0.1', ipDst: '10.231.0.2' }));
  }
  sw.runUntilIdle();
  const macs = sw.bridge('br0').macs;
  t.equal(macs.size, 4, 'never past the limit');
  t.equal(macs.fullHits, 6, 'six stations met a full table');
  const m = renderMetrics(sw);
  t.match(m, /tvs_mac_table_entries\{bridge="br0"\} 4/);
  t.match(m, /tvs_mac_table_max\{bridge="br0"\} 4/);
  t.match(m, /tvs_mac_table_full_total\{bridge="br0"\} 6/);
});

t.test('NAT limit gauges in the metrics', async (t) => {
  const sw = mk();
  applyConfig(sw, validateConfig(cfg()));
  const m = renderMetrics(sw);
  t.match(m, /tvs_nat_sessions_max\{router="r1"\} 1000/);
  t.match(m, /tvs_nat_sessions_per_source_max\{router="r1"\} 10/);
  t.match(m, /tvs_arena_held_slots_max\{\} 64/, 'a quarter of the 256-slot arena');
  t.match(m, /tvs_port_held_frames_max\{bridge="br0",port="qr-1",ofport="\d+"\} 16/, 'half of the router\'s eighth');
  const text = formatRouter(sw.l3.router('r1').show());
  t.match(text, /Router r1: SNAT on, 0 NAT sessions \(limit 1000, 10 per source\)/);
  t.match(text, /Frames waiting for ARP: 0 of 32 \(refused 0\)/);
});
