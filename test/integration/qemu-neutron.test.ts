/**
 * QEMU guests in the Neutron layouts:
 *
 *   (d) provider VLAN: a guest on br-eth1 (a trunk port, like a VM or host on the physical
 *       network) configures eth0.101 with the guest kernel's 8021q and talks to a guest on
 *       br-int's local VLAN 1, through the patch ports and the OVS agent's translation flows
 *       (local 1 ↔ provider 101). The host kernel has no 8021q: the guest is the VLAN endpoint.
 *   (e) a guest gets its address by DHCP from the switch (udhcpc), reaches an external namespace
 *       through the router's SNAT, and is reached from outside through its floating IP (ping
 *       and a TCP transfer through DNAT).
 */
import t from 'tap';
import * as crypto from 'crypto';
import { spawn } from 'child_process';
import { uniqueName, Lab, haveCmd } from '../../lab/netns';
import { startDaemon, tvsOk, tvs, pingEach } from '../../lab/daemon';
import { startCapture } from '../helpers/capture';
import { bindingAvailable } from '../../src/io/binding';
import { guestImage, guestSkipReason, startGuest, guestsFinished, guestMac, ifupEnv, GuestImage, SERVER, CLIENT } from '../../lab/guest';

const why =
  guestSkipReason() ||
  (!bindingAvailable() ? 'native addon not built (run make)' : !haveCmd('tcpdump') || !haveCmd('ping') ? 'needs tcpdump and ping (make test installs them)' : '');

/** `ip netns exec NS busybox nc HOST PORT`, stdin kept open; resolves with what it received. */
function nsNc(ns: string, host: string, port: number, timeoutMs: number): Promise<Buffer> {
  return new Promise((resolve) => {
    const p = spawn('ip', ['netns', 'exec', ns, 'busybox', 'nc', '-w', '10', host, String(port)], { stdio: ['pipe', 'pipe', 'ignore'] });
    const chunks: Buffer[] = [];
    p.stdout.on('data', (d: Buffer) => chunks.push(d));
    const timer = setTimeout(() => p.pid && process.kill(p.pid, 'SIGKILL'), timeoutMs);
    p.on('close', () => {
      clearTimeout(timer);
      resolve(Buffer.concat(chunks));
    });
  });
}

t.test('QEMU guests in Neutron layouts', { skip: why || false }, async (t) => {
  const img = await guestImage();
  if (typeof img === 'string') {
    t.plan(0, `no guest image: ${img}`); // reported as a skip with its reason, not a pass
    return;
  }

  await t.test('(d) provider VLAN 101 in a guest ↔ local VLAN 1 on br-int, through the translation flows', async (t) => {
    const lab = Lab.create(t);
    const d = await startDaemon(t);
    const c = (...a: string[]) => tvsOk(d.control, a);
    await c('add-br', 'br-int');
    await c('add-br', 'br-eth1');
    await c('add-port', 'br-int', 'int-br-eth1', 'type=patch', 'peer=phy-br-eth1');
    await c('add-port', 'br-eth1', 'phy-br-eth1', 'type=patch', 'peer=int-br-eth1');
    for (const f of [
      'table=0,priority=4,in_port=phy-br-eth1,dl_vlan=1,actions=mod_vlan_vid:101,NORMAL',
      'table=0,priority=2,in_port=phy-br-eth1,actions=drop',
      'table=0,priority=0,actions=NORMAL',
    ]) await c('add-flow', 'br-eth1', f);
    for (const f of [
      'table=0,priority=3,in_port=int-br-eth1,dl_vlan=101,actions=mod_vlan_vid:1,NORMAL',
      'table=0,priority=2,in_port=int-br-eth1,actions=drop',
      'table=0,priority=0,actions=NORMAL',
    ]) await c('add-flow', 'br-int', f);

    const tapI = uniqueName('tvnqi');
    const tapP = uniqueName('tvnqp');
    lab.adoptLink(tapI);
    lab.adoptLink(tapP);
    const tenant = startGuest(t, img as GuestImage, {
      name: 'tenant',
      nic: { kind: 'tap', ifname: tapI, mac: guestMac(0x31), env: ifupEnv(d.control, 'br-int', 1) },
      params: { ip: '10.250.4.11/24', kib: '2048' },
      script: SERVER,
    });
    const provider = startGuest(t, img as GuestImage, {
      name: 'provider',
      // A trunk port on br-eth1 (no tag): the guest sees the provider VLANs tagged.
      nic: { kind: 'tap', ifname: tapP, mac: guestMac(0x32), env: ifupEnv(d.control, 'br-eth1') },
      params: { vlan: '101', ip: '10.250.4.21/24', peer: '10.250.4.11' },
      script: CLIENT,
    });
    await provider.waitFor(/TVS-BOOTED dev=eth0\.101/);
    // Everything br-eth1 sends the provider guest comes from br-int's VLAN 1: tagged 101 on the wire.
    const cap = tvs(d.control, ['--json', 'capture', 'br-eth1', tapP, '--count', '4', '--seconds', '40', '--direction', 'out'], 60_000);
    const [p, s] = await guestsFinished(t, [provider, tenant]);
    t.equal(p.results.ping_rx, '5', `eth0.101 in the provider guest → tenant guest on local VLAN 1: 5/5${p.results.ping_rx === '5' ? '' : `\n${p.console.slice(-2000)}`}`);
    t.equal(p.results.client_bytes, '2097152', `2 MiB TCP transfer across the translation (guest offloads on)${p.results.client_bytes === '2097152' ? '' : `\n${p.console.slice(-2000)}\ntenant:\n${s.console.slice(-1500)}`}`);
    t.equal(p.results.client_md5, s.results.server_md5, 'content md5 matches');
    const frames = (JSON.parse((await cap).stdout || '{"frames":[]}').frames as { hex: string }[]).map((f) => f.hex);
    t.ok(frames.length > 0, `captured ${frames.length} frames toward the provider guest`);
    t.ok(frames.every((h) => h.slice(24, 32) === '81000065'), `all tagged 802.1Q VLAN 101 on the wire (${frames.map((h) => h.slice(24, 32)).join(' ')})`);
    const flows = await c('dump-flows', 'br-int');
    const m = /n_packets=(\d+).*dl_vlan=101/.exec(flows);
    t.ok(m && Number(m[1]) > 0, `br-int's 101 → 1 translation flow matched (${m?.[1]} packets)`);
  });

  await t.test('(e) DHCP from the switch, SNAT out, floating IP in', async (t) => {
    const lab = Lab.create(t);
    const ext = lab.netns('tvnqex');
    const vx = lab.veth({ ns: ext, address: '10.250.6.100/24' });
    const d = await startDaemon(t);
    const c = (...a: string[]) => tvsOk(d.control, a);
    await c('add-br', 'br-int');
    await c('add-br', 'br-ex');
    await c('add-port', 'br-ex', vx.host);
    await c('add-router', 'r1');
    await c('router-add-port', 'r1', 'br-int', 'qr-1', 'mac=02:52:00:00:05:01', 'ip=10.250.5.1/24', 'tag=1');
    await c('router-add-port', 'r1', 'br-ex', 'qg-1', 'mac=02:52:00:00:06:01', 'ip=10.250.6.1/24', 'gateway');
    await c('add-dhcp', 'br-int', 'tag=1', 'subnet=10.250.5.0/24', 'gateway=10.250.5.1', 'dns=10.250.5.1', 'mtu=1450');
    const mac = guestMac(0x41);
    await c('dhcp-add-host', 'br-int', 'tag=1', `mac=${mac}`, 'ip=10.250.5.10');
    await c('add-floating-ip', 'r1', '10.250.6.50', '10.250.5.10');

    const capSnat = await startCapture(ext, vx.peer, 'icmp', 1, 300);
    const tap = uniqueName('tvnqd');
    lab.adoptLink(tap);
    const vm = startGuest(t, img as GuestImage, {
      name: 'dhcp-vm',
      nic: { kind: 'tap', ifname: tap, mac, env: ifupEnv(d.control, 'br-int', 1) },
      params: { dhcp: '1', ext: '10.250.6.100' },
      script: `
rx=0; for k in 1 2 3; do ping -c 1 -W 5 $TVS_ext >> /tmp/ping 2>&1 && rx=$((rx+1)); done
echo "TVS-RESULT ext_ping_rx=$rx mtu=$(cat /sys/class/net/eth0/mtu)"
dd if=/dev/urandom of=/www/data bs=1024 count=1024 2>/dev/null
echo "TVS-RESULT vm_md5=$(md5sum /www/data | cut -d' ' -f1)"
nc -l -p 5003 -e cat /www/data &
echo "TVS-RESULT ready=1"
timeout 100 nc -l -p 5002 -e /bin/true
`,
    });
    await vm.waitFor(/TVS-RESULT ready=1/);
    const early = vm.console();
    t.match(early, /TVS-RESULT dhcp_ip=10\.250\.5\.10 dhcp_router=10\.250\.5\.1 dhcp_mtu=1450/, 'udhcpc in the guest got its fixed address, gateway and MTU from the switch');
    t.match(early, /ext_ping_rx=3 mtu=1450/, 'the guest reaches the external host (SNAT), MTU 1450 applied');
    t.match(await capSnat.done, /10\.250\.6\.50 > 10\.250\.6\.100: ICMP echo request/, 'the external host sees the guest as its floating IP');

    const pf = await pingEach(ext, '10.250.6.50', 3);
    t.equal(pf.loss, 0, `the external host reaches the guest through its floating IP: ${pf.summary}`);
    const got = await nsNc(ext, '10.250.6.50', 5003, 60_000);
    const vmMd5 = /vm_md5=(\w+)/.exec(vm.console())?.[1];
    t.equal(got.length, 1048576, '1 MiB over TCP from the guest through DNAT (guest offloads on)');
    t.equal(crypto.createHash('md5').update(got).digest('hex'), vmMd5, 'content md5 matches');
    await nsNc(ext, '10.250.6.50', 5002, 10_000);
    await guestsFinished(t, [vm]);
  });
});
