/**
 * Controller settings and fail modes: the config file validates and applies them, save-config
 * writes them back, and the bridge forwards as OVS does (secure: an empty table drops;
 * standalone with a configured but unconnected controller: NORMAL regardless of flows).
 */
import t from 'tap';
import * as fs from 'fs';
import * as net from 'net';
import * as os from 'os';
import * as path from 'path';
import * as of from '../../src/wire/openflow';
import { OpenFlowService } from '../../src/openflow/service';
import { Switch } from '../../src/datapath/switch';
import { MemoryPort } from '../../src/io/memory-port';
import { validateConfig, applyConfig } from '../../src/control/config';
import { snapshotConfig } from '../../src/control/save-config';
import { parseControllerTarget } from '../../src/datapath/controller-target';
import { udpFrame } from '../../src/wire/frames';

const frame = () => udpFrame({ src: '02:00:00:00:00:01', dst: '02:00:00:00:00:02', ipSrc: '10.0.0.1', ipDst: '10.0.0.2' });

t.test('controller targets: tcp with default port, unix, and clear refusals', async (t) => {
  t.same(parseControllerTarget('tcp:127.0.0.1'), { kind: 'tcp', host: '127.0.0.1', port: 6653 });
  t.same(parseControllerTarget('tcp:127.0.0.1:6633'), { kind: 'tcp', host: '127.0.0.1', port: 6633 });
  t.same(parseControllerTarget('unix:/run/ctl.sock'), { kind: 'unix', path: '/run/ctl.sock' });
  t.throws(() => parseControllerTarget('tcp:localhost:6633'), /'localhost' is not an IP address/);
  t.throws(() => parseControllerTarget('tcp:127.0.0.1:70000'), /out of range/);
  t.throws(() => parseControllerTarget('ssl:1.2.3.4'), /expected tcp:IP\[:PORT\], unix:\/ABSOLUTE\/PATH or ptcp:/);
  // Passive, OVS's ptcp:[PORT][:IP]: port 6653 and every address by default.
  t.same(parseControllerTarget('ptcp:'), { kind: 'ptcp', host: '0.0.0.0', port: 6653 });
  t.same(parseControllerTarget('ptcp:6633'), { kind: 'ptcp', host: '0.0.0.0', port: 6633 });
  t.same(parseControllerTarget('ptcp:6633:127.0.0.1'), { kind: 'ptcp', host: '127.0.0.1', port: 6633 });
  t.same(parseControllerTarget('ptcp:6633:[::1]'), { kind: 'ptcp', host: '::1', port: 6633 });
  t.throws(() => parseControllerTarget('ptcp:6633:localhost'), /'localhost' is not an IP address/);
  t.throws(() => parseControllerTarget('ptcp:0'), /out of range/);
});

t.test('config: controller and failMode validate, apply and save back', async (t) => {
  t.throws(() => validateConfig({ bridges: [{ name: 'b', controller: ['tcp:nohost'] }] }), /bridges\[0\]\.controller\[0\]: controller 'tcp:nohost'/);
  t.throws(() => validateConfig({ bridges: [{ name: 'b', failMode: 'open' }] }), /bridges\[0\]\.failMode: one of standalone, secure/);
  const cfg = validateConfig({ bridges: [{ name: 'b', controller: ['tcp:127.0.0.1:6633', 'unix:/tmp/c.sock', 'ptcp:6653:127.0.0.1'], failMode: 'secure', ports: [] }, { name: 'c', ports: [] }] });
  const sw = new Switch({ clock: () => 0, arena: { slots: 128, slotSize: 2048 + 128 } });
  applyConfig(sw, cfg);
  t.same(sw.bridge('b').controllers, ['tcp:127.0.0.1:6633', 'unix:/tmp/c.sock', 'ptcp:6653:127.0.0.1']);
  t.equal(sw.bridge('b').failMode, 'secure');
  t.equal(sw.flows('b').ruleCount, 0, 'a secure bridge from the config has no default NORMAL flow');
  t.equal(sw.flows('c').ruleCount, 1, 'a standalone one has priority=0,actions=NORMAL');
  const saved = snapshotConfig(sw);
  t.notOk('flows' in saved.bridges[0] || 'flows' in saved.bridges[1], 'neither default is written as flows[]');
  t.match(saved.bridges[0], { name: 'b', controller: ['tcp:127.0.0.1:6633', 'unix:/tmp/c.sock', 'ptcp:6653:127.0.0.1'], failMode: 'secure' });
  t.notOk('controller' in saved.bridges[1] || 'failMode' in saved.bridges[1], 'defaults are not written');
  t.same(sw.show()[0].controllers, ['tcp:127.0.0.1:6633', 'unix:/tmp/c.sock', 'ptcp:6653:127.0.0.1']);
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

t.test('ptcp: a passive listener on loopback: accepted connections are controllers; fail open follows them', async (t) => {
  const sw = new Switch({ clock: () => 0, arena: { slots: 128, slotSize: 2048 + 128 } });
  sw.addBridge('br0');
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tvs-ptcp-'));
  const svc = new OpenFlowService(sw, { controlPath: path.join(dir, 'x.sock') });
  await svc.start();
  t.teardown(async () => {
    await svc.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  });
  const port = 30000 + (process.pid % 20000);
  svc.setController('br0', [`ptcp:${port}:127.0.0.1`]);
  t.equal(sw.bridge('br0').failOpen, true, 'standalone, a controller configured, none connected: fail open');
  // Connect (the listen is asynchronous: retry briefly).
  let sock: net.Socket | undefined;
  for (let i = 0; i < 50 && !sock; i++) {
    sock = await new Promise<net.Socket | undefined>((res) => {
      const s = net.connect({ host: '127.0.0.1', port });
      s.once('connect', () => res(s));
      s.once('error', () => res(undefined));
    });
    if (!sock) await new Promise((r) => setTimeout(r, 20));
  }
  if (!sock) throw new Error('could not connect to the ptcp listener');
  const framer = new of.Framer();
  const msgs: of.OfMessage[] = [];
  sock.on('data', (c) => {
    framer.push(c);
    for (let m = framer.next(); m !== null && Buffer.isBuffer(m); m = framer.next()) msgs.push(of.decodeMessage(m));
  });
  sock.write(of.encodeMessage(of.hello13(1)));
  sock.write(of.encodeMessage({ type: 'features_request', xid: 2 }));
  const deadline = Date.now() + 5000;
  while (!msgs.some((m) => m.type === 'features_reply') && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
  t.match(msgs.map((m) => m.type), ['hello', 'features_reply']);
  t.match(svc.getController('br0').targets, [{ target: `ptcp:${port}:127.0.0.1`, connected: true, attempts: 1 }]);
  t.equal(sw.bridge('br0').failOpen, false, 'a controller connected through the listener: flows in charge');
  t.equal(svc.stats.connectionsAccepted, 1);
  sock.destroy();
  while (svc.getController('br0').targets[0].connected && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
  t.equal(svc.getController('br0').targets[0].connected, false);
  t.equal(sw.bridge('br0').failOpen, true, 'fail open again once it left');
  svc.setController('br0', []);
  const refused = await new Promise<boolean>((res) => {
    const s = net.connect({ host: '127.0.0.1', port });
    s.once('connect', () => {
      s.destroy();
      res(false);
    });
    s.once('error', () => res(true));
  });
  t.ok(refused, 'del-controller closes the listener');
});

t.test('connection bounds: per listener and in all; beyond them a connection is closed at once and counted', async (t) => {
  const sw = new Switch({ clock: () => 0, arena: { slots: 128, slotSize: 2048 + 128 } });
  sw.addBridge('br0');
  sw.addBridge('br1');
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tvs-ofbound-'));
  const svc = new OpenFlowService(sw, { controlPath: path.join(dir, 'x.sock'), maxConnections: 3, maxTotalConnections: 4 });
  await svc.start();
  const socks: net.Socket[] = [];
  t.teardown(async () => {
    for (const s of socks) s.destroy();
    await svc.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  });
  /** Connect and report whether the switch's HELLO arrived (true) or the socket closed (false). */
  const dial = (br: string) =>
    new Promise<boolean>((res) => {
      const s = net.connect(path.join(dir, `${br}.mgmt`));
      socks.push(s);
      s.on('data', () => res(true));
      s.on('close', () => res(false));
      s.on('error', () => res(false));
    });
  const first = [];
  for (let i = 0; i < 5; i++) first.push(await dial('br0'));
  t.same(first, [true, true, true, false, false], 'br0: 3 accepted, then its listener is full');
  t.same([await dial('br1'), await dial('br1')], [true, false], 'br1: one more, then the service-wide bound (4)');
  t.match(svc.stats, { connectionsAccepted: 4, connectionsRefused: 3, connectionsOpen: 4 });
  t.equal(svc.getController('br0').connections, 3);
  socks[0].destroy();
  const deadline = Date.now() + 5000;
  while (svc.stats.connectionsOpen > 3 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
  t.equal(svc.stats.connectionsOpen, 3, 'a closed connection frees its place');
  t.equal(await dial('br1'), true, 'so a new one is accepted');
});
