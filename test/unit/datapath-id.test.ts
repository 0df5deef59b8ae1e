/**
 * The OpenFlow datapath id of a bridge: OVS's other-config:datapath-id (16 hex digits, not all
 * zero) through add-br / set-bridge, the config file, save-config, reload and show; by default
 * different per daemon instance and bridge, the same again for the same instance (a restart).
 */
import t from 'tap';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { Switch } from '../../src/datapath/switch';
import { defaultDatapathId, formatDatapathId, parseDatapathId } from '../../src/datapath/datapath-id';
import { validateConfig, applyConfig } from '../../src/control/config';
import { saveConfig } from '../../src/control/save-config';
import { reloadConfig } from '../../src/control/reload';
import { switchCommands } from '../../src/control/commands';
import { BridgeAgent } from '../../src/openflow/agent';
import { formatShow } from '../../src/cli/format';

t.test('other-config:datapath-id text: 16 hex digits, not all zero', async (t) => {
  t.equal(parseDatapathId('00000000000000a1'), 0xa1n);
  t.equal(parseDatapathId('FEDCBA9876543210'), 0xfedcba9876543210n);
  t.equal(formatDatapathId(0xa1n), '00000000000000a1');
  for (const bad of ['a1', '0x00000000000000a1', '00000000000000a1a', '000000000000000g', '', '0000000000000000']) {
    t.throws(() => parseDatapathId(bad), /other-config:datapath-id/, JSON.stringify(bad));
  }
});

t.test('default ids: per instance and bridge, stable, a locally administered unicast MAC', async (t) => {
  const a = defaultDatapathId('host-a:/run/tvs/tvs.sock', 'br-int');
  t.equal(defaultDatapathId('host-a:/run/tvs/tvs.sock', 'br-int'), a, 'the same daemon instance (a restart) keeps it');
  t.not(defaultDatapathId('host-b:/run/tvs/tvs.sock', 'br-int'), a, 'another host');
  t.not(defaultDatapathId('host-a:/tmp/node2/tvs.sock', 'br-int'), a, 'another daemon on this host');
  t.not(defaultDatapathId('host-a:/run/tvs/tvs.sock', 'br-tun'), a, 'another bridge');
  t.equal(a >> 48n, 0n, '48 bits, as OVS derives it from a MAC');
  t.equal(Number((a >> 40n) & 0x3n), 0x2, 'first octet: locally administered, unicast');
  // Through the switch: FEATURES_REPLY carries it.
  const s1 = new Switch({ instance: 'node-1' });
  const s2 = new Switch({ instance: 'node-2' });
  s1.addBridge('br-tun');
  s2.addBridge('br-tun');
  const f1 = new BridgeAgent(s1, 'br-tun').features(1);
  const f2 = new BridgeAgent(s2, 'br-tun').features(1);
  if (f1.type !== 'features_reply' || f2.type !== 'features_reply') throw new Error('not a features reply');
  t.equal(f1.datapathId, defaultDatapathId('node-1', 'br-tun'));
  t.not(f1.datapathId, f2.datapathId, 'two daemons with the same bridge name report different ids');
});

t.test('add-br / set-bridge: set, clear, refuse with the reason, change nothing when refused', async (t) => {
  const sw = new Switch({ instance: 'x' });
  const cmd = switchCommands(sw);
  cmd['add-br']({ bridge: 'br0', otherConfig: { 'datapath-id': '00000000000000a1' } });
  t.equal(new BridgeAgent(sw, 'br0').datapathId, 0xa1n);
  t.throws(() => cmd['add-br']({ bridge: 'br1', otherConfig: { 'datapath-id': 'zz' } }), /exactly 16 hex digits/);
  t.notOk(sw.bridges.has('br1'), 'a refused add-br makes no bridge');
  t.throws(() => cmd['set-bridge']({ bridge: 'br0', otherConfig: { 'datapath-id': '0000000000000000' } }), /all zeros/);
  t.throws(() => cmd['set-bridge']({ bridge: 'br0', otherConfig: { hwaddr: '02:00:00:00:00:01' } }), /unknown bridge setting other-config:hwaddr \(known: other-config:datapath-id\)/);
  t.throws(() => cmd['set-bridge']({ bridge: 'br0' }), /nothing to set/);
  t.equal(sw.bridge('br0').datapathId, 0xa1n, 'unchanged by the refused ones');
  cmd['set-bridge']({ bridge: 'br0', otherConfig: { 'datapath-id': '0123456789ABCDEF' } });
  t.equal(sw.bridge('br0').datapathId, 0x0123456789abcdefn);
  t.match(formatShow(sw.show()), /Bridge br0\n\s+datapath_id: 0123456789abcdef\n\s+other_config: \{datapath-id="0123456789abcdef"\}/);
  cmd['set-bridge']({ bridge: 'br0', otherConfig: { 'datapath-id': '' } });
  t.equal(sw.bridge('br0').datapathId, defaultDatapathId('x', 'br0'), 'an empty value brings the default back');
  t.equal(formatShow(sw.show()), `    Bridge br0\n        datapath_id: ${formatDatapathId(defaultDatapathId('x', 'br0'))}`);
});

t.test('config file: otherConfig.datapath-id applied, saved, reloaded; bad values named by path', async (t) => {
  t.throws(() => validateConfig({ bridges: [{ name: 'b', ports: [], otherConfig: { 'datapath-id': '12' } }] }), /bridges\[0\]\.otherConfig\.datapath-id: .*16 hex digits/);
  t.throws(() => validateConfig({ bridges: [{ name: 'b', ports: [], otherConfig: { colour: 'red' } }] }), /bridges\[0\]\.otherConfig\.colour: unknown bridge setting/);
  t.throws(() => validateConfig({ bridges: [{ name: 'b', ports: [], otherConfig: 'datapath-id=1' }] }), /bridges\[0\]\.otherConfig/);
  const sw = new Switch({ instance: 'cfg' });
  applyConfig(sw, validateConfig({ bridges: [{ name: 'b1', ports: [], otherConfig: { 'datapath-id': '00000000000000b1' } }, { name: 'b2', ports: [] }] }));
  t.equal(sw.bridge('b1').datapathId, 0xb1n);
  t.equal(sw.bridge('b2').datapathId, defaultDatapathId('cfg', 'b2'));
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tvs-dpid-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  const file = path.join(dir, 'c.json');
  saveConfig(sw, file);
  const saved = JSON.parse(fs.readFileSync(file, 'utf8'));
  t.same(saved.bridges[0].otherConfig, { 'datapath-id': '00000000000000b1' });
  t.notOk('otherConfig' in saved.bridges[1], 'a default id is not written');
  // A restart from the saved file: the same ids.
  const again = new Switch({ instance: 'cfg' });
  applyConfig(again, validateConfig(saved));
  t.equal(again.bridge('b1').datapathId, 0xb1n);
  t.equal(again.bridge('b2').datapathId, sw.bridge('b2').datapathId);
  // Reload: set b2's, drop b1's.
  saved.bridges[1].otherConfig = { 'datapath-id': '00000000000000b2' };
  delete saved.bridges[0].otherConfig;
  const report = reloadConfig(sw, validateConfig(saved));
  t.equal(sw.bridge('b2').datapathId, 0xb2n);
  t.equal(sw.bridge('b1').datapathId, defaultDatapathId('cfg', 'b1'));
  t.ok(report.replaced.includes('other-config:datapath-id of b2: 00000000000000b2'), report.replaced.join('; '));
  t.ok(report.replaced.includes('other-config:datapath-id of b1: (default)'));
});
