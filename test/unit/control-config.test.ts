/**
 * Config file validation (errors name the path in the file), applying a config to a switch
 * (memory ports, no root), rollback on failure, and the control socket against bad clients.
 */
import t from 'tap';
import * as fs from 'fs';
import * as net from 'net';
import * as os from 'os';
import * as path from 'path';
import { Switch } from '../../src/datapath/switch';
import { validateConfig, applyConfig } from '../../src/control/config';
import { ControlServer } from '../../src/control/server';
import { switchCommands } from '../../src/control/commands';
import { flowCommands } from '../../src/control/flow-commands';
import { l3Commands } from '../../src/control/l3-commands';
import { request } from '../../src/control/client';
import { MAX_REQUEST_BYTES } from '../../src/control/protocol';
import { formatRule } from '../../src/flow/ofctl-format';

const good = {
  macAgingSec: 60,
  bridges: [
    { name: 'br-int', ports: [{ name: 'vm1', type: 'memory', tag: 1 }, { name: 'int-br-eth1', type: 'patch', peer: 'phy-br-eth1' }] },
    {
      name: 'br-eth1',
      ports: [{ name: 'phy-br-eth1', type: 'patch', peer: 'int-br-eth1' }, { name: 'eth1', type: 'memory' }],
      flows: ['table=0,priority=4,in_port=phy-br-eth1,dl_vlan=1,actions=mod_vlan_vid:101,NORMAL', 'priority=0,actions=NORMAL'],
    },
    { name: 'br-ex', ports: [{ name: 'ext', type: 'memory' }] },
  ],
  routers: [
    {
      name: 'r1',
      ports: [
        { bridge: 'br-int', name: 'qr-1', mac: '02:52:00:00:01:01', ip: '10.0.1.1/24', tag: 1 },
        { bridge: 'br-ex', name: 'qg-1', mac: '02:52:00:00:ff:01', ip: '203.0.113.2/24', gateway: true },
      ],
      routes: [{ cidr: '0.0.0.0/0', via: '203.0.113.1' }],
      floatingIps: [{ fip: '203.0.113.50', fixed: '10.0.1.10' }],
    },
  ],
  dhcp: [{ bridge: 'br-int', tag: 1, subnet: '10.0.1.0/24', gateway: '10.0.1.1', hosts: [{ mac: '02:00:00:00:01:10', ip: '10.0.1.10' }] }],
};

t.test('a valid config builds bridges, ports, flows, a router and DHCP', async (t) => {
  const sw = new Switch({ clock: () => 0, arena: { slots: 256, slotSize: 2048 + 128 } });
  applyConfig(sw, validateConfig(JSON.parse(JSON.stringify(good))), (br, flows) => sw.flows(br).addFlows(flows.join('\n')));
  t.same(sw.show().map((b) => b.name), ['br-int', 'br-eth1', 'br-ex']);
  t.same(sw.show()[0].ports.map((p) => p.name), ['vm1', 'int-br-eth1', 'qr-1', 'dhcp1-br-int']);
  t.equal(sw.flows('br-eth1').dumpFlows().length, 2);
  t.same(sw.l3.router('r1').show().floatingIps, [{ fip: '203.0.113.50', fixed: '10.0.1.10' }]);
});

t.test('errors give the path in the file and what is wrong', async (t) => {
  const cases: [unknown, RegExp][] = [
    [[], /^config: the top level must be an object, got an array$/],
    [{ bridge: [] }, /bridge: unknown key/],
    [{ bridges: {} }, /bridges: must be an array/],
    [{ bridges: [{ name: 'b', ports: [{ name: 'p', type: 'memory', tag: 5000 }] }] }, /^bridges\[0\]\.ports\[0\]\.tag: must be an integer in 0\.\.4095, got 5000$/],
    [{ bridges: [{ name: 'b', ports: [{ name: 'p', type: 'bogus' }] }] }, /^bridges\[0\]\.ports\[0\]\.type: one of afpacket, .*, got "bogus"$/],
    [{ bridges: [{ name: 'b', ports: [{ name: 'p', n_rxq_desc: 1000 }] }] }, /^bridges\[0\]\.ports\[0\]\.n_rxq_desc: must be a power of 2 in 64\.\.32768, got 1000$/],
    [{ bridges: [{ name: 'b', ports: [{ name: 'p', type: 'memory', n_rxq_desc: 2048 }] }] }, /^bridges\[0\]\.ports\[0\]\.n_rxq_desc: only applies to type=afpacket, got 2048$/],
    [{ bridges: [{ name: 'b', ports: [{ name: 'p' }, { name: 'p' }] }] }, /^bridges\[0\]\.ports\[1\]\.name: the name 'p' is already used by port 'p' of bridge 'b' \(bridges\[0\]\.ports\[0\]\.name\)$/],
    [{ bridges: [{ name: 'b' }], routers: [{ name: 'r', ports: [{ bridge: 'nope', name: 'q', mac: 'm', ip: 'i' }] }] }, /routers\[0\]\.ports\[0\]\.bridge: no bridge 'nope'/],
    [{ bridges: [{ name: 'b' }], dhcp: [{ bridge: 'b', subnet: 's' }] }, /dhcp\[0\]\.gateway: must be an IPv4 address string, got nothing/],
  ];
  for (const [cfg, re] of cases) t.throws(() => validateConfig(cfg), re, String(re));
});

t.test('a config that fails while applying changes nothing', async (t) => {
  const sw = new Switch({ clock: () => 0, arena: { slots: 256, slotSize: 2048 + 128 } });
  sw.addBridge('keep');
  // Valid as a file, but the interface does not exist: found only while applying.
  const bad = validateConfig({ bridges: [{ name: 'b', ports: [{ name: 'p1', type: 'memory' }, { name: 'tvs-nosuch0', type: 'afpacket' }] }] });
  t.throws(() => applyConfig(sw, bad), /^bridges\[0\]\.ports\[1\]: port 'tvs-nosuch0': /);
  t.same(sw.show().map((b) => b.name), ['keep'], 'the half-applied bridge was rolled back');
});

t.test("mod-flows request: a modify that selects nothing adds the flow (ovs-ofctl mod-flows over OpenFlow 1.0), warnings included; one that selects modifies only", async (t) => {
  const sw = new Switch({ clock: () => 0, arena: { slots: 256, slotSize: 2048 + 128 } });
  sw.addBridge('br0');
  const h = flowCommands(sw);
  t.same(await h['mod-flows']({ bridge: 'br0', flow: 'priority=5,in_port=1,actions=output:1', strict: true }), { modified: 0, added: 1, warnings: ['column 30: output:1 is the input port (in_port=1); OpenFlow silently skips it — use in_port to send a packet back'] });
  t.same(await h['mod-flows']({ bridge: 'br0', flow: 'in_port=1,actions=drop' }), { modified: 1, added: 0 }, 'covers the added flow; the default flow has no in_port');
  t.same(sw.flows('br0').dumpFlows().map((e) => formatRule(e.rule)), ['table=0,priority=5,in_port=1 actions=drop', 'table=0,priority=0 actions=NORMAL']);
});

t.test('control socket: garbage, huge and half requests get errors; the switch keeps serving', async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tvs-ctl-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  const sock = path.join(dir, 'tvs.sock');
  const sw = new Switch({ clock: () => 0, arena: { slots: 256, slotSize: 2048 + 128 } });
  const server = new ControlServer(sock, switchCommands(sw, { ...flowCommands(sw), ...l3Commands(sw) }));
  await server.listen();
  t.teardown(() => server.close());
  t.equal(fs.statSync(sock).mode & 0o777, 0o600, 'socket is 0600');

  const raw = (payload: string | Buffer, end = true): Promise<string> =>
    new Promise((resolve) => {
      const c = net.connect(sock);
      let out = '';
      c.on('data', (d) => (out += d));
      c.on('close', () => resolve(out));
      c.on('error', () => resolve(out));
      c.on('connect', () => {
        c.write(payload);
        if (end) c.end();
        setTimeout(() => c.destroy(), 500);
      });
    });
  t.match(await raw('this is not json\n'), /"ok":false,"error":"bad request: not JSON/);
  t.match(await raw('[1,2,3]\n'), /expected a JSON object/);
  t.match(await raw('{"cmd":"no-such-verb"}\n'), /unknown command 'no-such-verb'/);
  t.match(await raw('{"cmd":"add-port","args":{"bridge":"x"}}\n'), /missing argument 'port'|no bridge named 'x'/);
  t.match(await raw(Buffer.alloc(MAX_REQUEST_BYTES + 10, 0x61)), /request larger than/);
  t.equal(await raw('{"cmd":"sh', false), '', 'half a request: no answer, no harm');
  // Still serving, and nothing was installed by the bad requests.
  await request(sock, 'add-br', { bridge: 'br0' });
  t.same(((await request(sock, 'show')) as { name: string }[]).map((b) => b.name), ['br0']);
  await t.rejects(request(sock, 'add-flow', { bridge: 'br0', flow: 'priority=1,nw_src=10.0.0.1,actions=drop' }), /nw_src requires ip or arp/);
  t.same(sw.flows('br0').dumpFlows().map((e) => formatRule(e.rule)), ['table=0,priority=0 actions=NORMAL'], 'the refused flow left nothing behind (only the default flow)');
});

t.test('save-config → start from it → the same state', async (t) => {
  const { saveConfig, snapshotConfig } = await import('../../src/control/save-config');
  const { loadConfig } = await import('../../src/control/config');
  const a = new Switch({ clock: () => 0, arena: { slots: 256, slotSize: 2048 + 128 } });
  applyConfig(a, validateConfig(JSON.parse(JSON.stringify(good))), (br, flows) => a.flows(br).addFlows(flows.join('\n')));
  a.flows('br-int').addFlow('cookie=0x7,table=3,priority=9,idle_timeout=30,tcp,nw_dst=10.0.0.0/8,tp_dst=80,actions=mod_vlan_vid:7,output:int-br-eth1');
  a.addPort('br-int', 'vm9', { type: 'memory', trunks: [5, 6, 7] });
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tvs-save-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  const file = path.join(dir, 'saved.json');
  saveConfig(a, file);
  t.equal(fs.statSync(file).mode & 0o777, 0o600);
  t.same(fs.readdirSync(dir), ['saved.json'], 'no temporary file left behind');
  const b = new Switch({ clock: () => 0, arena: { slots: 256, slotSize: 2048 + 128 } });
  applyConfig(b, loadConfig(file), (br, flows) => b.flows(br).addFlows(flows.join('\n')));
  t.same(b.show(), a.show(), 'same bridges and ports (numbers, tags, trunks, peers)');
  for (const br of ['br-int', 'br-eth1', 'br-ex']) t.equal(b.flows(br).formatFlows(), a.flows(br).formatFlows(), `same flows on ${br}`);
  const ra = a.l3.router('r1').show();
  const rb = b.l3.router('r1').show();
  t.same([rb.interfaces, rb.routes, rb.floatingIps, rb.snat], [ra.interfaces, ra.routes, ra.floatingIps, ra.snat], 'same router');
  t.same(snapshotConfig(b), snapshotConfig(a), 'and saving again gives the same file');
});

t.test('reload: only what changed is touched; counters and sessions survive; a bad config changes nothing', async (t) => {
  const { reloadConfig } = await import('../../src/control/reload');
  const sw = new Switch({ clock: () => 0, arena: { slots: 256, slotSize: 2048 + 128 } });
  const base = JSON.parse(JSON.stringify(good));
  applyConfig(sw, validateConfig(base), (br, flows) => sw.flows(br).addFlows(flows.join('\n')));
  const eth1 = sw.findPort('eth1')!;
  const { udpFrame } = await import('../../src/wire/frames');
  (eth1.io as import('../../src/io/memory-port').MemoryPort).inject(udpFrame({ dst: 'ff:ff:ff:ff:ff:ff', src: '02:00:00:00:00:05', ipSrc: '10.0.0.5', ipDst: '10.0.0.255' }));
  sw.runUntilIdle();
  const countersBefore = sw.flows('br-eth1').formatFlows().match(/n_packets=(\d+)[^\n]*priority=0 actions=NORMAL/)![1];
  t.equal(countersBefore, '1');

  const next = JSON.parse(JSON.stringify(base));
  next.bridges[1].flows = ['table=0,priority=4,in_port=phy-br-eth1,dl_vlan=1,actions=mod_vlan_vid:201,NORMAL', 'priority=0,actions=NORMAL'];
  next.bridges[0].ports.push({ name: 'vm2', type: 'memory', tag: 2 });
  next.bridges[2].ports = [{ name: 'ext', type: 'memory' }];
  next.routers[0].floatingIps = [];
  const report = reloadConfig(sw, validateConfig(next));
  t.same(report.added.filter((x) => x.startsWith('port')), ['port vm2']);
  t.ok(report.added.some((x) => x.includes('mod_vlan_vid:201')) && report.removed.some((x) => x.includes('mod_vlan_vid:101')), 'the changed flow was replaced');
  t.equal(sw.findPort('eth1'), eth1, 'an unchanged port is the same running port');
  t.match(sw.flows('br-eth1').formatFlows(), /n_packets=1, [^\n]*priority=0 actions=NORMAL/, 'an unchanged flow kept its counters');
  t.same(sw.l3.router('r1').show().floatingIps, [], 'floating IP removed');

  const snapshot = JSON.stringify([sw.show(), sw.flows('br-eth1').formatFlows()]);
  const bad = JSON.parse(JSON.stringify(next));
  bad.bridges[0].ports.push({ name: 'vm3', type: 'memory' });
  bad.bridges[1].flows.push('priority=9,in_port=nosuchport,actions=drop');
  t.throws(() => reloadConfig(sw, validateConfig(bad)), /bridges\[1\]\.flows\[2\]: .*nosuchport/);
  const bad2 = JSON.parse(JSON.stringify(next));
  bad2.bridges[0].ports.push({ name: 'vm3', type: 'memory' });
  bad2.routers[0].ports[0].ip = '10.9.9.1/24';
  t.throws(() => reloadConfig(sw, validateConfig(bad2)), /routers\[0\]\.ports: changing the interfaces/);
  t.equal(JSON.stringify([sw.show(), sw.flows('br-eth1').formatFlows()]), snapshot, 'refused reloads changed nothing');
  t.equal(sw.findPort('vm3'), undefined);
});

t.test('every error in a file is reported at once, each with its path, in file order', async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tvs-cfg-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  const file = path.join(dir, 'tvs.json');
  const cfg = JSON.parse(JSON.stringify(good));
  cfg.bridges[0].ports[0].tag = 5000;
  cfg.bridges[1].flows.push('priority=1,nw_src=10.0.0.1,actions=drop');
  cfg.routers[0].ports[0].ip = '010.0.1.1/24';
  cfg.routers[0].ports[1].mac = 'ff:ff:ff:ff:ff:ff';
  cfg.dhcp[0].hosts.push({ mac: '02:00:00:00:01:11', ip: '10.0.1.10' });
  fs.writeFileSync(file, JSON.stringify(cfg));
  const { loadConfig } = await import('../../src/control/config');
  t.throws(() => loadConfig(file), {
    message: [
      `config ${file}: 5 errors:`,
      '  bridges[0].ports[0].tag: must be an integer in 0..4095, got 5000',
      "  bridges[1].flows[2]: flow: column 12: nw_src requires ip or arp (add 'ip,')",
      '  routers[0].ports[0].ip: "010.0.1.1/24" is not an IPv4 address/prefix in canonical form (a.b.c.d/N, N in 0..32)',
      '  routers[0].ports[1].mac: "ff:ff:ff:ff:ff:ff" is the broadcast MAC address',
      '  dhcp[0].hosts[1].ip: 10.0.1.10 is already bound to 02:00:00:00:01:10: one MAC per address',
    ].join('\n'),
  });
});

t.test('control requests are validated against the running state, as a file would be; a refusal changes nothing', async (t) => {
  const sw = new Switch({ clock: () => 0, arena: { slots: 256, slotSize: 2048 + 128 } });
  applyConfig(sw, validateConfig(JSON.parse(JSON.stringify(good))), (br, flows) => sw.flows(br).addFlows(flows.join('\n')));
  const h = switchCommands(sw, { ...flowCommands(sw), ...l3Commands(sw) });
  const before = JSON.stringify([sw.show(), sw.l3.router('r1').show(), sw.l3.dhcpSpecs()]);
  const refused: [string, Record<string, unknown>, string][] = [
    ['router-add-port', { router: 'r1', bridge: 'br-int', port: 'qr-2', options: { mac: '02:52:00:00:02:01', ip: '10.0.1.129/25', tag: '2' } },
      "ip: 10.0.1.129/25 overlaps qr-1's subnet 10.0.1.0/24: each interface of a router needs its own subnet"],
    ['router-add-port', { router: 'r1', bridge: 'br-int', port: 'qr-2', options: { mac: '01:00:5e:00:00:01', ip: '10.230.71.1/24/1' } },
      'mac: "01:00:5e:00:00:01" is a multicast MAC address (the first octet is odd); ip: "10.230.71.1/24/1" is not an IPv4 address/prefix in canonical form (a.b.c.d/N, N in 0..32)'],
    ['router-add-port', { router: 'r1', bridge: 'br-int', port: 'qr-2', options: { mac: '02:52:00:00:02:01', ip: '10.0.2.1/24', tag: { x: 1 } } }, 'tag=an object: must be an integer in 0..4095'],
    ['router-add-route', { router: 'r1', cidr: '10.9.0.0/16', options: { via: '255.255.255.255' } }, 'via: "255.255.255.255" is the broadcast address'],
    ['router-add-route', { router: 'r1', cidr: '10.9.0.0/16', options: { via: '10.8.0.1' } },
      "via: next hop 10.8.0.1 is not on a subnet of the router's interfaces (10.0.1.0/24, 203.0.113.0/24)"],
    ['add-floating-ip', { router: 'r1', fip: '203.0.113.2', fixed: '10.0.1.11' }, "fip: 203.0.113.2 is the gateway interface's own address"],
    ['add-floating-ip', { router: 'r1', fip: '203.0.113.51', fixed: '10.0.1.10' }, 'fixed: 10.0.1.10 already has a floating IP'],
    ['add-dhcp', { bridge: 'br-int', options: { tag: '2', subnet: '10.0.2.0/24', gateway: '10.0.3.1' } }, 'gateway: gateway 10.0.3.1 is not in the subnet 10.0.2.0/24'],
    ['dhcp-add-host', { bridge: 'br-int', options: { tag: '1', mac: '02:00:00:00:01:99', ip: '10.0.1.10' } }, 'ip: 10.0.1.10 is already bound to 02:00:00:00:01:10: one MAC per address'],
    ['add-port', { bridge: 'br-ex', port: 'x', options: { type: 'patch', peer: 'x' } }, 'port x: peer=x: a patch port cannot be its own peer'],
    ['add-port', { bridge: 'br-ex', port: 'y', options: { type: 'patch', peer: 42 } }, 'port y: peer=42: must be the name of the other patch port'],
    ['add-port', { bridge: 'br-ex', port: 'qr-1', options: { type: 'patch', peer: 'z' } }, "a port named 'qr-1' already exists"],
    ['add-port', { bridge: 'br-ex', port: 'm9', options: { type: 'memory', tag: { a: 1 } } }, 'port m9: tag=an object: must be an integer in 0..4095'],
    ['capture', { bridge: 'br-int', port: 'vm1', direction: { a: 1 } }, '--direction an object: one of in, out, both'],
  ];
  for (const [cmd, args, msg] of refused) {
    await t.rejects(async () => h[cmd](args), { message: msg }, cmd);
  }
  t.equal(JSON.stringify([sw.show(), sw.l3.router('r1').show(), sw.l3.dhcpSpecs()]), before, 'nothing changed');
  // The same requests, made valid, are applied.
  await h['router-add-port']({ router: 'r1', bridge: 'br-int', port: 'qr-2', options: { mac: '02:52:00:00:02:01', ip: '10.0.2.1/24', tag: '2' } });
  await h['router-add-route']({ router: 'r1', cidr: '10.9.0.0/16', options: { via: '10.0.2.254' } });
  t.same(sw.l3.router('r1').show().routes.filter((r) => r.cidr === '10.9.0.0/16').map((r) => r.via), ['10.0.2.254']);
});

t.test("flows[] replaces a bridge's default flow; without flows[] it stays; flows: [] leaves none", async (t) => {
  const sw = new Switch({ clock: () => 0, arena: { slots: 256, slotSize: 2048 + 128 } });
  const cfg = {
    bridges: [
      { name: 'b-default', ports: [] },
      { name: 'b-flows', ports: [], flows: ['priority=5,arp,actions=NORMAL'] },
      { name: 'b-none', ports: [], flows: [] },
    ],
  };
  applyConfig(sw, validateConfig(cfg), (br, flows) => sw.flows(br).addFlows(flows.join('\n')));
  const rules = (b: string) => sw.flows(b).dumpFlows().map((e) => formatRule(e.rule));
  t.same(rules('b-default'), ['table=0,priority=0 actions=NORMAL']);
  t.same(rules('b-flows'), ['table=0,priority=5,arp actions=NORMAL'], 'the default flow was replaced, not kept beside');
  t.same(rules('b-none'), []);
});

t.test('save-config of fresh and emptied bridges reloads to the same state', async (t) => {
  const { snapshotConfig } = await import('../../src/control/save-config');
  const { reloadConfig } = await import('../../src/control/reload');
  const a = new Switch({ clock: () => 0, arena: { slots: 256, slotSize: 2048 + 128 } });
  a.addBridge('fresh');
  a.addBridge('emptied');
  a.flows('emptied').delFlows();
  a.addBridge('custom');
  a.flows('custom').addFlow('priority=7,ip,actions=drop');
  const saved = snapshotConfig(a);
  t.same(
    saved.bridges.map((b) => [b.name, b.flows]),
    [['fresh', undefined], ['emptied', []], ['custom', ['table=0,priority=7,ip actions=drop', 'table=0,priority=0 actions=NORMAL']]],
    'the default flow alone is left implicit; an emptied bridge says flows: []',
  );
  const rules = (sw: Switch, b: string) => sw.flows(b).dumpFlows().map((e) => formatRule(e.rule));
  const b = new Switch({ clock: () => 0, arena: { slots: 256, slotSize: 2048 + 128 } });
  applyConfig(b, validateConfig(JSON.parse(JSON.stringify(saved))), (br, flows) => b.flows(br).addFlows(flows.join('\n')));
  for (const br of ['fresh', 'emptied', 'custom']) t.same(rules(b, br), rules(a, br), `start from the file: same flows on ${br}`);
  // Reloading the saved file into the running switch changes nothing.
  const report = reloadConfig(a, validateConfig(JSON.parse(JSON.stringify(saved))));
  t.same([report.added, report.removed], [[], []]);
  for (const br of ['fresh', 'emptied', 'custom']) t.same(rules(a, br), rules(b, br), `reload: same flows on ${br}`);
});
