/**
 * Controller settings and fail modes: the config file validates and applies them, save-config
 * writes them back, and the bridge forwards as OVS does (secure: an empty table drops;
 * standalone with a configured but unconnected controller: NORMAL regardless of flows).
 */
import t from 'tap';
import { Switch } from '../../src/datapath/switch';
import { MemoryPort } from '../../src/io/memory-port';
import { validateConfig, applyConfig } from '../../src/control/config';
import { snapshotConfig } from '../../src/control/save-config';
import { parseControllerTarget } from '../../src/datapath/controller-target';
import { udpFrame } from '../helpers/frames';

const frame = () => udpFrame({ src: '02:00:00:00:00:01', dst: '02:00:00:00:00:02', ipSrc: '10.0.0.1', ipDst: '10.0.0.2' });

t.test('controller targets: tcp with default port, unix, and clear refusals', async (t) => {
  t.same(parseControllerTarget('tcp:127.0.0.1'), { kind: 'tcp', host: '127.0.0.1', port: 6653 });
  t.same(parseControllerTarget('tcp:127.0.0.1:6633'), { kind: 'tcp', host: '127.0.0.1', port: 6633 });
  t.same(parseControllerTarget('unix:/run/ctl.sock'), { kind: 'unix', path: '/run/ctl.sock' });
  t.throws(() => parseControllerTarget('tcp:localhost:6633'), /'localhost' is not an IP address/);
  t.throws(() => parseControllerTarget('tcp:127.0.0.1:70000'), /out of range/);
  t.throws(() => parseControllerTarget('ssl:1.2.3.4'), /expected tcp:IP\[:PORT\] or unix:/);
});

t.test('config: controller and failMode validate, apply and save back', async (t) => {
  t.throws(() => validateConfig({ bridges: [{ name: 'b', controller: ['tcp:nohost'] }] }), /bridges\[0\]\.controller\[0\]: controller 'tcp:nohost'/);
  t.throws(() => validateConfig({ bridges: [{ name: 'b', failMode: 'open' }] }), /bridges\[0\]\.failMode: one of standalone, secure/);
  const cfg = validateConfig({ bridges: [{ name: 'b', controller: ['tcp:127.0.0.1:6633', 'unix:/tmp/c.sock'], failMode: 'secure', ports: [] }, { name: 'c', ports: [] }] });
  const sw = new Switch({ clock: () => 0, arena: { slots: 128, slotSize: 2048 + 128 } });
  applyConfig(sw, cfg);
  t.same(sw.bridge('b').controllers, ['tcp:127.0.0.1:6633', 'unix:/tmp/c.sock']);
  t.equal(sw.bridge('b').failMode, 'secure');
  t.equal(sw.flows('b').ruleCount, 0, 'a secure bridge from the config has no default NORMAL flow');
  t.equal(sw.flows('c').ruleCount, 1, 'a standalone one has priority=0,actions=NORMAL');
  const saved = snapshotConfig(sw);
  t.notOk('flows' in saved.bridges[0] || 'flows' in saved.bridges[1], 'neither default is written as flows[]');
  t.match(saved.bridges[0], { name: 'b', controller: ['tcp:127.0.0.1:6633', 'unix:/tmp/c.sock'], failMode: 'secure' });
  t.notOk('controller' in saved.bridges[1] || 'failMode' in saved.bridges[1], 'defaults are not written');
  t.same(sw.show()[0].controllers, ['tcp:127.0.0.1:6633', 'unix:/tmp/c.sock']);
});

t.test('fail modes on the wire of memory ports', async (t) => {
  const sw = new Switch({ clock: () => 0, arena: { slots: 128, slotSize: 2048 + 128 } });
  const br = sw.addBridge('br0');
  const p1 = sw.addPort('br0', 'p1', { type: 'memory' }).io as MemoryPort;
  const p2 = sw.addPort('br0', 'p2', { type: 'memory' }).io as MemoryPort;
  const send = () => {
    p1.inject(frame());
    sw.runUntilIdle();
    return p2.takeTransmitted().length;
  };
  t.equal(send(), 1, 'standalone, the default priority=0,actions=NORMAL flow: floods to p2');
  sw.flows('br0').delFlows();
  br.failMode = 'secure';
  t.equal(send(), 0, 'secure, no flows: the table miss drops');
  t.equal(sw.bridgeDrops('br0').fail_secure, 1);
  sw.flows('br0').addFlow('priority=1,actions=drop');
  br.failMode = 'standalone';
  t.equal(send(), 0, 'standalone with a controller connected: the flows rule (drop)');
  br.failOpen = true;
  t.equal(send(), 1, 'fail open: NORMAL despite the drop flow');
  br.failOpen = false;
  t.equal(send(), 0, 'back to the flows when a controller connects');
});
