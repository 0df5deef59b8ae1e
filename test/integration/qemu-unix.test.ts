/**
 * (c) A QEMU guest attached by a unix stream socket (`-netdev stream`, tvs port type=unix: no
 * root needed for that VM, no TAP) talks to a guest attached by TAP. The TAP guest sends TSO
 * super-frames; the unix port carries no virtio-net header, so the switch segments them in
 * software (src/packet/gso.ts) — the 4 MiB transfer checks that end to end. Then the unix VM
 * goes away (the port goes down, the switch carries on) and another VM connects to the same
 * socket (the port comes back up).
 */
import t from 'tap';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { uniqueName, Lab } from '../../lab/netns';
import { startDaemon, tvsOk } from '../../lab/daemon';
import { bindingAvailable } from '../../src/io/binding';
import { guestImage, guestSkipReason, startGuest, guestsFinished, guestMac, ifupEnv, GuestImage, SERVER, CLIENT } from '../../lab/guest';

const why = guestSkipReason() || (!bindingAvailable() ? 'native addon not built (run make)' : '');

t.test('(c) a VM on a unix stream port talks to a VM on a TAP', { skip: why || false }, async (t) => {
  const img = await guestImage();
  if (typeof img === 'string') {
    t.plan(0, `no guest image: ${img}`); // reported as a skip with its reason, not a pass
    return;
  }
  const lab = Lab.create(t);
  const d = await startDaemon(t);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tvs-qemu-unix-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  const sock = path.join(dir, 'vmu.sock');
  await tvsOk(d.control, ['add-br', 'br-int']);
  await tvsOk(d.control, ['add-port', 'br-int', 'vmu', 'type=unix', `path=${sock}`, 'tag=1']);
  const portOf = async (name: string) => {
    const show = JSON.parse(await tvsOk(d.control, ['--json', 'show']));
    return show[0].ports.find((p: { name: string }) => p.name === name) as { up: boolean; io: Record<string, unknown> } | undefined;
  };
  t.equal((await portOf('vmu'))?.up, false, 'the unix port is down until QEMU connects');

  const tap = uniqueName('tvnqt');
  lab.adoptLink(tap);
  const server = startGuest(t, img as GuestImage, {
    name: 'tap-server',
    nic: { kind: 'tap', ifname: tap, mac: guestMac(0x11), env: ifupEnv(d.control, 'br-int', 1) },
    params: { ip: '10.250.3.11/24', kib: '4096', clients: '2' },
    script: SERVER,
  });
  const client = startGuest(t, img as GuestImage, {
    name: 'unix-client',
    nic: { kind: 'stream', path: sock, mac: guestMac(0x12) },
    params: { ip: '10.250.3.12/24', peer: '10.250.3.11' },
    script: CLIENT,
  });
  await client.waitFor(/TVS-BOOTED/);
  t.equal((await portOf('vmu'))?.up, true, 'up once QEMU connected');
  await client.waitFor(/TVS-RESULT nc_tries/).catch(() => undefined);
  const dump = JSON.parse(await tvsOk(d.control, ['--json', 'dump-ports', 'br-int'])).ports as { name: string; tx_packets: number; tx_bytes: number; rx_packets: number; drops: Record<string, number> }[];
  const [c] = await guestsFinished(t, [client]);
  t.equal(c.results.ping_rx, '5', `unix VM → TAP VM ping: 5/5${c.results.ping_rx === '5' ? '' : `\n${c.console.slice(-2000)}`}`);
  t.equal(c.results.client_bytes, '4194304', `4 MiB received over the unix socket${c.results.client_bytes === '4194304' ? '' : `\n${c.console.slice(-2000)}\nserver:\n${server.console().slice(-2000)}`}`);
  const serverMd5 = /server_md5=(\w+)/.exec(server.console())?.[1];
  t.equal(c.results.client_md5, serverMd5, `content md5 matches (${serverMd5})`);
  const up = dump.find((p) => p.name === 'vmu')!;
  t.comment(`unix port: tx ${up.tx_packets} frames / ${up.tx_bytes} bytes, rx ${up.rx_packets}, drops ${JSON.stringify(up.drops)}`);
  t.ok(up.tx_packets >= 4194304 / 1448, `the TAP VM's TSO frames were segmented for the unix port (${up.tx_packets} frames ≥ ${Math.ceil(4194304 / 1448)})`);
  t.notOk(up.drops.tx_gso_unsupported, 'no GSO frame dropped');

  // The unix VM is gone: the port is down, the switch is fine.
  let p = await portOf('vmu');
  for (const deadline = Date.now() + 20_000; p?.up && Date.now() < deadline; ) {
    await new Promise((r) => setTimeout(r, 100));
    p = await portOf('vmu');
  }
  t.equal(p?.up, false, 'the port went down when the VM exited');
  t.ok(d.alive(), 'the switch is still running');

  // Another VM on the same socket: the port comes back up.
  const again = startGuest(t, img as GuestImage, {
    name: 'unix-again',
    nic: { kind: 'stream', path: sock, mac: guestMac(0x13) },
    params: { ip: '10.250.3.13/24', peer: '10.250.3.11', fetch: '0' },
    script: CLIENT,
  });
  const [a2] = await guestsFinished(t, [again]);
  t.equal(a2.results.ping_rx, '5', `a second VM on the same socket reaches the TAP VM (5/5)${a2.results.ping_rx === '5' ? '' : `\n${a2.console.slice(-2000)}`}`);
  await guestsFinished(t, [server]);
  t.equal((await portOf('vmu'))?.io?.connects, 2, 'two connections over the port\'s life');
});
