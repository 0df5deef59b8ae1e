/**
 * Datapath ids as controllers see them, from real daemons: two daemons with the same bridge
 * name (two tvs nodes) report different ids to `ovs-ofctl show`; a restart on the same control
 * socket keeps the id; other-config:datapath-id set with `tvs set-bridge` is what FEATURES_REPLY
 * says, a connected controller is made to reconnect and reads the new id, and the setting
 * survives save-config, a restart from the file and a reload. No root needed (no ports).
 */
import t from 'tap';
import * as fs from 'fs';
import * as net from 'net';
import * as os from 'os';
import * as path from 'path';
import { haveCmd, type Teardownable } from '../../lab/netns';
import { startDaemon, tvs, tvsOk, waitUntil, type Daemon } from '../../lab/daemon';
import { mgmtTarget, ofctl13 } from '../helpers/mgmt-ofctl';
import * as of from '../../src/wire/openflow';

const why = haveCmd('ovs-ofctl') ? '' : 'needs ovs-ofctl (Debian openvswitch-common; make test installs it)';

/** The dpid `ovs-ofctl show` reads from the bridge's FEATURES_REPLY. */
async function ofctlDpid(d: Daemon, br: string): Promise<string> {
  const m = /dpid:([0-9a-f]{16})/.exec(await ofctl13(['show', mgmtTarget(d.control, br)]));
  if (!m) throw new Error('no dpid in ovs-ofctl show');
  return m[1];
}

/** The datapath_id line of `tvs show` for `br`. */
async function shownDpid(d: Daemon, br: string): Promise<string> {
  const show = await tvsOk(d.control, ['show']);
  const m = new RegExp(`Bridge ${br}\\n\\s+datapath_id: ([0-9a-f]{16})`).exec(show);
  if (!m) throw new Error(`no datapath_id for ${br} in:\n${show}`);
  return m[1];
}

async function stop(d: Daemon): Promise<void> {
  process.kill(d.proc.pid!, 'SIGTERM');
  await waitUntil('the daemon to exit', () => !d.alive(), 10_000);
}

/** A minimal controller: asks every connection for FEATURES and records the dpids it is told. */
function fakeController(t: Teardownable): Promise<{ port: number; dpids: string[] }> {
  const dpids: string[] = [];
  const socks = new Set<net.Socket>();
  const server = net.createServer((sock) => {
    socks.add(sock);
    sock.on('close', () => socks.delete(sock));
    sock.on('error', () => {});
    const framer = new of.Framer();
    sock.write(of.encodeMessage(of.hello13(1)));
    sock.write(of.encodeMessage({ type: 'features_request', xid: 2 }));
    sock.on('data', (d) => {
      framer.push(d);
      for (let m = framer.next(); m !== null; m = framer.next()) {
        const msg = of.decodeMessage(m as Buffer);
        if (msg.type === 'features_reply') dpids.push(msg.datapathId.toString(16).padStart(16, '0'));
        else if (msg.type === 'echo_request') sock.write(of.encodeMessage({ type: 'echo_reply', xid: msg.xid, data: msg.data }));
      }
    });
  });
  t.teardown(() => {
    for (const s of socks) s.destroy();
    server.close();
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve({ port: (server.address() as net.AddressInfo).port, dpids })));
}

t.test('datapath ids: unique per daemon, stable across restarts, settable as other-config:datapath-id', { skip: why || false }, async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tvs-dpid-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  const sock1 = path.join(dir, 'node1', 'tvs.sock');
  fs.mkdirSync(path.dirname(sock1));
  fs.mkdirSync(path.join(dir, 'node2'));
  let d1 = await startDaemon(t, [], { control: sock1 });
  const d2 = await startDaemon(t, [], { control: path.join(dir, 'node2', 'tvs.sock') });
  for (const d of [d1, d2]) await tvsOk(d.control, ['add-br', 'br-tun']);

  const id1 = await ofctlDpid(d1, 'br-tun');
  const id2 = await ofctlDpid(d2, 'br-tun');
  t.not(id1, id2, `two daemons, one bridge name: ${id1} vs ${id2}`);
  t.equal(await shownDpid(d1, 'br-tun'), id1, 'tvs show prints the id controllers see');

  await stop(d1);
  d1 = await startDaemon(t, [], { control: sock1 });
  await tvsOk(d1.control, ['add-br', 'br-tun']);
  t.equal(await ofctlDpid(d1, 'br-tun'), id1, 'the same daemon restarted: the same id');

  // A connected controller learns a new id by being made to reconnect (as OVS does).
  const ctl = await fakeController(t);
  await tvsOk(d1.control, ['set-controller', 'br-tun', `tcp:127.0.0.1:${ctl.port}`]);
  await waitUntil('the controller to get FEATURES', () => ctl.dpids.length >= 1, 10_000);
  t.equal(ctl.dpids[0], id1);
  await tvsOk(d1.control, ['set-bridge', 'br-tun', 'other-config:datapath-id=00000000000000a1']);
  t.equal(await ofctlDpid(d1, 'br-tun'), '00000000000000a1');
  await waitUntil('the controller to reconnect with the new id', () => ctl.dpids.includes('00000000000000a1'), 15_000);
  t.match(await tvsOk(d1.control, ['show']), /Bridge br-tun\n\s+datapath_id: 00000000000000a1\n\s+other_config: \{datapath-id="00000000000000a1"\}/);
  const bad = await tvs(d1.control, ['set-bridge', 'br-tun', 'other-config:datapath-id=12']);
  t.match(bad.stderr, /must be exactly 16 hex digits/, 'a bad value is refused with the reason');
  t.equal(await ofctlDpid(d1, 'br-tun'), '00000000000000a1', 'and changes nothing');

  // save-config → restart from the file → the id; reload with another → that one.
  const file = path.join(dir, 'node1.json');
  await tvsOk(d1.control, ['save-config', file]);
  t.same(JSON.parse(fs.readFileSync(file, 'utf8')).bridges[0].otherConfig, { 'datapath-id': '00000000000000a1' });
  await stop(d1);
  d1 = await startDaemon(t, ['--config', file], { control: sock1 });
  t.equal(await ofctlDpid(d1, 'br-tun'), '00000000000000a1', 'restarted from the saved file');
  const cfg = JSON.parse(fs.readFileSync(file, 'utf8'));
  cfg.bridges[0].otherConfig['datapath-id'] = '00000000000000b2';
  fs.writeFileSync(file, JSON.stringify(cfg));
  t.match(await tvsOk(d1.control, ['reload']), /other-config:datapath-id of br-tun: 00000000000000b2/);
  t.equal(await ofctlDpid(d1, 'br-tun'), '00000000000000b2', 'reloaded');
});
