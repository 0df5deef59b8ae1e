/**
 * QEMU guests on tvs bridges, attached the way a hypervisor host does it: QEMU creates the tap,
 * runs scripts/tvs-ifup (which adds it as an AF_PACKET port through the real CLI), and
 * scripts/tvs-ifdown on exit. Guest virtio-net offloads stay at their defaults (on): TCP crosses
 * the switch as TSO super-frames with partial checksums, carried in the virtio-net header.
 *
 *   (a) two VMs on br-int, same local VLAN: ping and an HTTP transfer (busybox nc),
 *       content checked by md5 on both sides
 *   (b) two VMs on different local VLANs (tenants), same subnet: no traffic crosses
 */
import t from 'tap';
import { uniqueName, Lab } from '../../lab/netns';
import { startDaemon, tvsOk } from '../../lab/daemon';
import { bindingAvailable } from '../../src/io/binding';
import { guestImage, guestSkipReason, startGuest, guestsFinished, guestMac, ifupEnv, GuestImage, SERVER, CLIENT, PROBE } from '../../lab/guest';

const why = guestSkipReason() || (!bindingAvailable() ? 'native addon not built (run make)' : '');

t.test('QEMU guests on br-int through tvs-ifup (TAP via AF_PACKET)', { skip: why || false }, async (t) => {
  const img = await guestImage();
  if (typeof img === 'string') {
    t.plan(0, `no guest image: ${img}`); // reported as a skip with its reason, not a pass
    return;
  }
  const d = await startDaemon(t);
  await tvsOk(d.control, ['add-br', 'br-int']);

  await t.test('(a) same local VLAN: ping and a 4 MiB TCP transfer with guest offloads on', async (t) => {
    const lab = Lab.create(t);
    const tapS = uniqueName('tvnqs');
    const tapC = uniqueName('tvnqc');
    lab.adoptLink(tapS);
    lab.adoptLink(tapC);
    const t0 = Date.now();
    const server = startGuest(t, img as GuestImage, {
      name: 'server',
      nic: { kind: 'tap', ifname: tapS, mac: guestMac(1), env: ifupEnv(d.control, 'br-int', 1) },
      params: { ip: '10.250.1.11/24', kib: '4096' },
      script: SERVER,
    });
    const client = startGuest(t, img as GuestImage, {
      name: 'client',
      nic: { kind: 'tap', ifname: tapC, mac: guestMac(2), env: ifupEnv(d.control, 'br-int', 1) },
      params: { ip: '10.250.1.12/24', peer: '10.250.1.11' },
      script: CLIENT,
    });
    await server.waitFor(/TVS-RESULT ready=1/);
    const show = JSON.parse(await tvsOk(d.control, ['--json', 'show']));
    const ports = show[0].ports.map((p: { name: string; tag?: number; type: string }) => `${p.name}:${p.type}:${p.tag}`);
    t.ok(ports.includes(`${tapS}:afpacket:1`) && ports.includes(`${tapC}:afpacket:1`), `tvs-ifup attached both taps as access ports (${ports.join(' ')})`);
    // Sample the server port's counters while the transfer runs: tvs-ifdown detaches the port
    // when the server VM exits, so a single read at the end could find it gone. The last sample
    // is taken after the client has reported its transfer: a 4 MiB transfer can fit between two
    // samples, and the server VM (so its port) stays until the client releases it a second
    // after that report. Bounded by the client's own timeout.
    type PortStats = { name: string; rx_packets: number; rx_bytes: number; drops: unknown };
    let sp: PortStats | undefined;
    let clientDone = false;
    void client.waitFor(/TVS-RESULT nc_tries/).catch(() => undefined).then(() => (clientDone = true));
    for (;;) {
      const done = clientDone;
      const ports = JSON.parse(await tvsOk(d.control, ['--json', 'dump-ports', 'br-int'])).ports as PortStats[];
      sp = ports.find((p) => p.name === tapS) ?? sp;
      if (done) break;
      await new Promise((r) => setTimeout(r, 250));
    }
    const [c, s] = await guestsFinished(t, [client, server]);
    t.comment(`client VM ran ${c.seconds.toFixed(1)} s, server ${s.seconds.toFixed(1)} s, total ${((Date.now() - t0) / 1000).toFixed(1)} s`);
    t.equal(c.results.ping_rx, '5', `client → server ping: 5/5 replies\n${c.results.ping_rx === '5' ? '' : c.console.slice(-2000)}`);
    t.equal(c.results.client_bytes, '4194304', `client received 4 MiB${c.results.client_bytes === '4194304' ? '' : `\nclient:\n${c.console.slice(-2500)}\nserver:\n${s.console.slice(-2500)}`}`);
    t.equal(c.results.client_md5, s.results.server_md5, `content md5 matches (${s.results.server_md5})`);
    t.comment(`transfer: ${c.results.client_bytes} bytes in ~${c.results.seconds} s (TCG guests)`);
    t.ok(sp, 'the server port was seen while the transfer ran');
    if (sp) {
      const avg = sp.rx_bytes / Math.max(1, sp.rx_packets);
      t.comment(`server port: rx ${sp.rx_packets} frames / ${sp.rx_bytes} bytes (avg ${avg.toFixed(0)} B), drops ${JSON.stringify(sp.drops)}`);
      t.ok(avg > 1514, `the server's TCP left its guest as TSO super-frames (average frame ${avg.toFixed(0)} bytes > 1514)`);
    }
    // tvs-ifdown ran when QEMU exited: the ports are gone.
    const after = JSON.parse(await tvsOk(d.control, ['--json', 'show']));
    const names = after[0].ports.map((p: { name: string }) => p.name);
    t.notOk(names.includes(tapS) || names.includes(tapC), `tvs-ifdown detached both ports (left: ${names.join(' ') || 'none'})`);
  });

  await t.test('(b) different tenants (local VLANs 1 and 2), same subnet: isolated', async (t) => {
    const lab = Lab.create(t);
    const tapA = uniqueName('tvnqa');
    const tapB = uniqueName('tvnqb');
    lab.adoptLink(tapA);
    lab.adoptLink(tapB);
    const a = startGuest(t, img as GuestImage, {
      name: 'tenant1',
      nic: { kind: 'tap', ifname: tapA, mac: guestMac(3), env: ifupEnv(d.control, 'br-int', 1) },
      params: { ip: '10.250.2.11/24', peer: '10.250.2.12' },
      script: PROBE,
    });
    const b = startGuest(t, img as GuestImage, {
      name: 'tenant2',
      nic: { kind: 'tap', ifname: tapB, mac: guestMac(4), env: ifupEnv(d.control, 'br-int', 2) },
      params: { ip: '10.250.2.12/24', peer: '10.250.2.11' },
      script: PROBE,
    });
    // Isolation is only shown by guests that ran: both finished, both sent their 6 pings (and
    // the ARP requests they need) out of their NIC.
    const [ra, rb] = await guestsFinished(t, [a, b]);
    for (const [name, r] of [['tenant 1', ra], ['tenant 2', rb]] as const) {
      t.equal(r.results.ping_tx, '6', `${name} sent its 6 pings\n${r.results.ping_tx === '6' ? '' : r.console.slice(-1500)}`);
      t.ok(Number(r.results.tx_frames) > 0, `${name}'s NIC sent ${r.results.tx_frames} frames to the switch`);
    }
    t.equal(ra.results.ping_rx, '0', `tenant 1 gets no reply from tenant 2\n${ra.results.ping_rx === '0' ? '' : ra.console.slice(-1500)}`);
    t.equal(rb.results.ping_rx, '0', `tenant 2 gets no reply from tenant 1\n${rb.results.ping_rx === '0' ? '' : rb.console.slice(-1500)}`);
    t.equal(ra.results.neigh, '0', 'tenant 1 never learned tenant 2\'s MAC (ARP did not cross)');
    t.equal(rb.results.neigh, '0', 'tenant 2 never learned tenant 1\'s MAC');
  });
});
