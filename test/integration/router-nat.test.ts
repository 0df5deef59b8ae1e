/**
 * The router and NAT stage on the wire, Neutron style: two tenant subnets on local VLANs of
 * br-int behind one router, an external network namespace on br-ex with no route to the tenant
 * subnets. Real Linux stacks on every side; tcpdump at the external host checks addresses.
 */
import t from 'tap';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { spawn } from 'child_process';
import { isRoot, haveCmd, Lab } from '../helpers/netns';
import { startDaemon, tvs, tvsOk, nsRun, pingLoss, waitListening } from '../helpers/daemon';
import { startCapture } from '../helpers/capture';
import { bindingAvailable } from '../../src/io/binding';

const why = !isRoot()
  ? 'needs root: creates namespaces and veth devices'
  : !bindingAvailable()
    ? 'native addon not built (run make)'
    : !haveCmd('tcpdump') || !haveCmd('iperf3') || !haveCmd('ping') || !haveCmd('busybox') || !haveCmd('traceroute')
      ? 'needs tcpdump, iperf3, ping, traceroute and busybox (make test installs them)'
      : '';

const EXT = '10.241.0';
const T1 = '10.240.1';
const T2 = '10.240.2';

t.test('router: inter-subnet, SNAT, floating IP, hairpin, unsolicited drops, DHCP', { skip: why || false }, async (t) => {
  const lab = Lab.create(t);
  const t1 = lab.netns('tvnrt1');
  const t2 = lab.netns('tvnrt2');
  const t3 = lab.netns('tvnrt3');
  const ext = lab.netns('tvnrex');
  const v1 = lab.veth({ ns: t1, address: `${T1}.10/24` });
  const v2 = lab.veth({ ns: t2, address: `${T2}.10/24` });
  const v3 = lab.veth({ ns: t3 });
  const vx = lab.veth({ ns: ext, address: `${EXT}.100/24` });
  await nsRun(t1, ['ip', 'route', 'add', 'default', 'via', `${T1}.1`]);
  await nsRun(t2, ['ip', 'route', 'add', 'default', 'via', `${T2}.1`]);

  const d = await startDaemon(t);
  const c = (...args: string[]) => tvsOk(d.control, args);
  await c('add-br', 'br-int');
  await c('add-br', 'br-ex');
  await c('add-port', 'br-int', v1.host, 'tag=1');
  await c('add-port', 'br-int', v2.host, 'tag=2');
  await c('add-port', 'br-int', v3.host, 'tag=1');
  await c('add-port', 'br-ex', vx.host);
  await c('add-router', 'r1');
  await c('router-add-port', 'r1', 'br-int', 'qr-1', 'mac=02:52:00:00:01:01', `ip=${T1}.1/24`, 'tag=1');
  await c('router-add-port', 'r1', 'br-int', 'qr-2', 'mac=02:52:00:00:02:01', `ip=${T2}.1/24`, 'tag=2');
  await c('router-add-port', 'r1', 'br-ex', 'qg-1', 'mac=02:52:00:00:ff:01', `ip=${EXT}.1/24`, 'gateway');

  // Between tenant subnets through the router; the router is the first hop.
  const p12 = await nsRun(t1, ['ping', '-c', '3', '-i', '0.2', '-W', '2', `${T2}.10`]);
  t.equal(pingLoss(p12.stdout), 0, `t1 → t2 routed: ${p12.stdout.split('\n').find((l) => l.includes('loss'))}`);
  const ttl1 = await nsRun(t1, ['ping', '-c', '1', '-t', '1', '-W', '2', `${T2}.10`]);
  t.match(ttl1.stdout, new RegExp(`From ${T1.replace(/\./g, '\\.')}\\.1 .*Time to live exceeded`), 'TTL 1: time-exceeded from the router hop');
  const tr = await nsRun(t1, ['traceroute', '-n', '-q', '1', '-w', '2', '-m', '4', `${T2}.10`], 30_000);
  t.match(tr.stdout, new RegExp(`\\n\\s*1\\s+${T1.replace(/\./g, '\\.')}\\.1\\s`), `traceroute shows the router as hop 1:\n${tr.stdout}`);
  t.match(tr.stdout, new RegExp(`\\n\\s*2\\s+${T2.replace(/\./g, '\\.')}\\.10\\s`), 'and the destination as hop 2');
  const gwPing = await nsRun(t1, ['ping', '-c', '2', '-i', '0.2', '-W', '2', `${T1}.1`]);
  t.equal(pingLoss(gwPing.stdout), 0, 'the router answers pings to its address');

  // SNAT: the external host sees the gateway address as the source.
  const capSnat = await startCapture(ext, vx.peer, 'icmp', 1);
  const pExt = await nsRun(t1, ['ping', '-c', '3', '-i', '0.2', '-W', '2', `${EXT}.100`]);
  t.equal(pingLoss(pExt.stdout), 0, 'tenant without a floating IP reaches the external host');
  t.match(await capSnat.done, new RegExp(`${EXT.replace(/\./g, '\\.')}\\.1 > ${EXT.replace(/\./g, '\\.')}\\.100: ICMP echo request`), 'the external host sees the gateway address');

  // Floating IP for t2: reachable from outside, t2's traffic leaves as the floating IP.
  await c('add-floating-ip', 'r1', `${EXT}.50`, `${T2}.10`);
  const pFip = await nsRun(ext, ['ping', '-c', '3', '-i', '0.2', '-W', '2', `${EXT}.50`]);
  t.equal(pingLoss(pFip.stdout), 0, 'external host reaches t2 through its floating IP');
  const capFipOut = await startCapture(ext, vx.peer, 'icmp', 1);
  await nsRun(t2, ['ping', '-c', '2', '-i', '0.2', '-W', '2', `${EXT}.100`]);
  t.match(await capFipOut.done, new RegExp(`${EXT.replace(/\./g, '\\.')}\\.50 > ${EXT.replace(/\./g, '\\.')}\\.100`), 't2 leaves as its floating IP (not the SNAT address)');

  // TCP and UDP through the floating IP.
  await nsRun(t2, ['iperf3', '-s', '-1', '-D', '-p', '5401']);
  await waitListening(t2, 5401);
  const tcp = await nsRun(ext, ['iperf3', '-c', `${EXT}.50`, '-p', '5401', '-t', '2', '-J'], 30_000);
  let tcpBps = 0;
  try {
    tcpBps = JSON.parse(tcp.stdout).end.sum_received.bits_per_second;
  } catch { /* below */ }
  t.ok(tcpBps > 1e6, `iperf3 TCP to the floating IP: ${(tcpBps / 1e9).toFixed(2)} Gbit/s`);
  await nsRun(t2, ['iperf3', '-s', '-1', '-D', '-p', '5402']);
  await waitListening(t2, 5402);
  const udp = await nsRun(ext, ['iperf3', '-c', `${EXT}.50`, '-p', '5402', '-u', '-b', '20M', '-t', '2', '-J'], 30_000);
  let udpPkts = 0;
  try {
    const j = JSON.parse(udp.stdout);
    udpPkts = j.end.sum_received?.packets ?? j.end.sum.packets - j.end.sum.lost_packets;
  } catch { /* below */ }
  t.ok(udpPkts > 100, `iperf3 UDP to the floating IP delivered ${udpPkts} datagrams`);

  // Hairpin: t1 reaches t2 by its floating IP.
  const hp = await nsRun(t1, ['ping', '-c', '3', '-i', '0.2', '-W', '2', `${EXT}.50`]);
  t.equal(pingLoss(hp.stdout), 0, 'hairpin: a tenant reaches another tenant\'s floating IP');

  // Unsolicited inbound: the external host routes the tenant subnet to the router → dropped.
  await nsRun(ext, ['ip', 'route', 'add', '10.240.0.0/16', 'via', `${EXT}.1`]);
  const uns = await nsRun(ext, ['ping', '-c', '2', '-i', '0.2', '-W', '1', `${T1}.10`]);
  t.equal(pingLoss(uns.stdout), 100, 'no way in to a tenant without a floating IP');
  const show = JSON.parse(await c('--json', 'router-show', 'r1'));
  t.same(show.floatingIps, [{ fip: `${EXT}.50`, fixed: `${T2}.10` }], 'router-show lists the floating IP');
  t.same(show.interfaces.map((i: { name: string }) => i.name), ['qr-1', 'qr-2', 'qg-1']);
  t.ok(show.drops.nat_unsolicited >= 2, `unsolicited inbound counted: ${JSON.stringify(show.drops)}`);
  const sessions = JSON.parse(await c('--json', 'nat-show', 'r1')) as unknown[];
  t.ok(sessions.length > 0, `nat-show lists sessions (${sessions.length})`);

  // Removing the floating IP cuts a live session. Condition-based on both sides: the removal
  // happens once the ping has had replies, and whatever the CLI's latency, the ping keeps
  // going long enough after it to show that nothing answers any more.
  const live = spawn('ip', ['netns', 'exec', ext, 'ping', '-c', '100', '-i', '0.1', '-W', '1', `${EXT}.50`], { stdio: ['ignore', 'pipe', 'ignore'] });
  t.teardown(() => {
    if (live.exitCode === null && live.pid) process.kill(live.pid, 'SIGKILL');
  });
  let liveOut = '';
  live.stdout.on('data', (x) => (liveOut += x));
  const liveDone = new Promise<void>((r) => live.on('close', () => r()));
  const seqs = () => [...liveOut.matchAll(/icmp_seq=(\d+)/g)].map((m) => Number(m[1]));
  for (const deadline = Date.now() + 15_000; seqs().length < 3 && Date.now() < deadline; ) await new Promise((r) => setTimeout(r, 20));
  const before = seqs().length;
  await c('del-floating-ip', 'r1', `${EXT}.50`);
  // Replies already on their way (or in the pipe) when the removal returned are not "after" it.
  const cutAt = Math.max(0, ...seqs()) + 2;
  await liveDone;
  const sent = Number(/(\d+) packets transmitted/.exec(liveOut)?.[1] ?? 0);
  const late = seqs().filter((s) => s > cutAt);
  t.ok(before >= 3, `the ping had replies before the removal (${before})`);
  t.ok(sent - cutAt >= 20, `the ping went on after the removal (${sent - cutAt} echo requests after seq ${cutAt})`);
  t.same(late, [], `no replies after the removal (seq > ${cutAt}; ${pingLoss(liveOut)}% loss overall)`);

  // DHCP: a real client gets its address, gateway and MTU from the switch.
  await c('add-dhcp', 'br-int', 'tag=1', `subnet=${T1}.0/24`, `gateway=${T1}.1`, 'mtu=1400', `dns=${T1}.1`);
  const mac3 = JSON.parse((await nsRun(t3, ['ip', '-j', 'link', 'show', v3.peer])).stdout)[0].address;
  await c('dhcp-add-host', 'br-int', 'tag=1', `mac=${mac3}`, `ip=${T1}.20`);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tvs-dhcp-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  const script = path.join(dir, 'script.sh');
  const envFile = path.join(dir, 'env');
  fs.writeFileSync(script, `#!/bin/sh\n[ "$1" = bound ] && echo "ip=$ip subnet=$subnet router=$router mtu=$mtu dns=$dns lease=$lease" > ${envFile}\nexit 0\n`, { mode: 0o755 });
  const dh = await nsRun(t3, ['busybox', 'udhcpc', '-i', v3.peer, '-n', '-q', '-f', '-t', '4', '-T', '1', '-O', 'mtu', '-s', script], 20_000);
  const got = fs.existsSync(envFile) ? fs.readFileSync(envFile, 'utf8') : '';
  t.match(got, new RegExp(`ip=${T1.replace(/\./g, '\\.')}\\.20 subnet=255\\.255\\.255\\.0 router=${T1.replace(/\./g, '\\.')}\\.1 mtu=1400`), `udhcpc got its lease: ${got || dh.stdout + dh.stderr}`);

  // Errors say what is wrong.
  const bad = await tvs(d.control, ['add-floating-ip', 'r1', 'not-an-ip', `${T2}.10`]);
  t.equal(bad.code, 1);
  t.match(bad.stderr, /not-an-ip/);
});
