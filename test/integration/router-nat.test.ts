/**
 * The router and NAT stage on the wire, Neutron style: two tenant subnets on local VLANs of
 * br-int behind one router, an external network namespace on br-ex with no route to the tenant
 * subnets. Real Linux stacks on every side; tcpdump at the external host checks addresses.
 *
 * One lab and daemon for the file (built in t.before), one subtest per behaviour. The subtests
 * run in order and the later ones use the floating IP the earlier one adds. Nothing waits a
 * fixed time for a condition: servers and running pings are polled with bounded timeouts.
 */
import t from 'tap';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { spawn } from 'child_process';
import { isRoot, haveCmd, Lab, type Veth } from '../../lab/netns';
import { startDaemon, tvs, tvsOk, nsRun, pingLoss, pingEach, pingNone, waitListening, waitUntil, type Daemon } from '../../lab/daemon';
import { startCapture } from '../helpers/capture';
import { bindingAvailable } from '../../src/io/binding';

const why = !isRoot()
  ? 'needs root: creates namespaces and veth devices'
  : !bindingAvailable()
    ? 'native addon not built (run make)'
    : !haveCmd('tcpdump') || !haveCmd('iperf3') || !haveCmd('ping') || !haveCmd('busybox') || !haveCmd('traceroute') || !haveCmd('ss')
      ? 'needs tcpdump, iperf3, ping, traceroute, ss and busybox (make test installs them)'
      : '';
const skip = why || false;

const EXT = '10.241.0';
const T1 = '10.240.1';
const T2 = '10.240.2';
const re = (s: string) => s.replace(/\./g, '\\.');

interface Env {
  d: Daemon;
  c: (...args: string[]) => Promise<string>;
  t1: string;
  t2: string;
  t3: string;
  ext: string;
  vx: Veth;
  v3: Veth;
}
let env: Env;


/** Start a one-shot iperf3 server in NS and return once it listens on PORT. */
async function iperfServer(ns: string, port: number): Promise<void> {
  await nsRun(ns, ['iperf3', '-s', '-1', '-D', '-p', String(port)]);
  await waitListening(ns, port);
}

t.before(async () => {
  if (why) return;
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
  env = { d, c, t1, t2, t3, ext, vx, v3 };
});

t.test('inter-subnet routing: ping, the router as hop 1, TTL exceeded, the gateway answers', { skip }, async (t) => {
  const { t1 } = env;
  const p12 = await pingEach(t1, `${T2}.10`, 3);
  t.equal(p12.loss, 0, `t1 → t2 routed: ${p12.summary}`);
  const ttl1 = await nsRun(t1, ['ping', '-c', '1', '-t', '1', '-W', '2', `${T2}.10`]);
  t.match(ttl1.stdout, new RegExp(`From ${re(T1)}\\.1 .*Time to live exceeded`), 'TTL 1: time-exceeded from the router hop');
  const tr = await nsRun(t1, ['traceroute', '-n', '-q', '1', '-w', '2', '-m', '4', `${T2}.10`], 30_000);
  t.match(tr.stdout, new RegExp(`\\n\\s*1\\s+${re(T1)}\\.1\\s`), `traceroute shows the router as hop 1:\n${tr.stdout}`);
  t.match(tr.stdout, new RegExp(`\\n\\s*2\\s+${re(T2)}\\.10\\s`), 'and the destination as hop 2');
  const gwPing = await pingEach(t1, `${T1}.1`, 2);
  t.equal(gwPing.loss, 0, `the router answers pings to its address: ${gwPing.summary}`);
});

t.test('SNAT: the external host sees the gateway address', { skip }, async (t) => {
  const { t1, ext, vx } = env;
  const cap = await startCapture(ext, vx.peer, 'icmp', 1);
  const p = await pingEach(t1, `${EXT}.100`, 3);
  t.equal(p.loss, 0, `tenant without a floating IP reaches the external host: ${p.summary}`);
  t.match(await cap.done, new RegExp(`${re(EXT)}\\.1 > ${re(EXT)}\\.100: ICMP echo request`), 'the source seen outside is the gateway address');
});

t.test('floating IP: reachable from outside, and the tenant leaves as it', { skip }, async (t) => {
  const { c, t2, ext, vx } = env;
  await c('add-floating-ip', 'r1', `${EXT}.50`, `${T2}.10`);
  const pFip = await pingEach(ext, `${EXT}.50`, 3);
  t.equal(pFip.loss, 0, `external host reaches t2 through its floating IP: ${pFip.summary}`);
  const cap = await startCapture(ext, vx.peer, 'icmp', 1);
  await nsRun(t2, ['ping', '-c', '2', '-i', '0.2', '-W', '2', `${EXT}.100`]);
  t.match(await cap.done, new RegExp(`${re(EXT)}\\.50 > ${re(EXT)}\\.100`), 't2 leaves as its floating IP (not the SNAT address)');
});

t.test('TCP and UDP through the floating IP (iperf3)', { skip }, async (t) => {
  const { t2, ext } = env;
  await iperfServer(t2, 5401);
  const tcp = await nsRun(ext, ['iperf3', '-c', `${EXT}.50`, '-p', '5401', '-t', '2', '-J'], 30_000);
  let tcpBytes = 0;
  try {
    tcpBytes = JSON.parse(tcp.stdout).end.sum_received.bytes;
  } catch {
    /* reported below */
  }
  t.ok(tcpBytes > 1_000_000, `iperf3 TCP to the floating IP moved ${tcpBytes} bytes ${tcpBytes ? '' : tcp.stdout.slice(0, 300) + tcp.stderr}`);
  await iperfServer(t2, 5402);
  const udp = await nsRun(ext, ['iperf3', '-c', `${EXT}.50`, '-p', '5402', '-u', '-b', '20M', '-t', '2', '-J'], 30_000);
  let sent = 0;
  let lost = -1;
  try {
    const j = JSON.parse(udp.stdout);
    sent = j.end.sum.packets;
    lost = j.end.sum.lost_packets;
  } catch {
    /* reported below */
  }
  t.ok(sent > 100, `iperf3 UDP sent ${sent} datagrams`);
  // A broken UDP NAT loses everything; 5% leaves room for a loaded shared test machine.
  t.ok(lost >= 0 && lost <= sent / 20, `at most 5% of them lost on a 20 Mbit/s stream (lost ${lost} of ${sent})`);
});

t.test("hairpin: a tenant reaches another tenant's floating IP", { skip }, async (t) => {
  const hp = await pingEach(env.t1, `${EXT}.50`, 3);
  t.equal(hp.loss, 0, hp.summary);
});

t.test('unsolicited inbound to a tenant without a floating IP is dropped and counted', { skip }, async (t) => {
  const { c, ext } = env;
  const before = JSON.parse(await c('--json', 'router-show', 'r1')).drops.nat_unsolicited ?? 0;
  await nsRun(ext, ['ip', 'route', 'add', '10.240.0.0/16', 'via', `${EXT}.1`]);
  const uns = await pingNone(ext, `${T1}.10`);
  t.equal(uns.answered, 0, `no way in: ${uns.summary}`);
  const show = JSON.parse(await c('--json', 'router-show', 'r1'));
  t.equal(show.drops.nat_unsolicited - before, 2, `both echo requests counted as nat_unsolicited: ${JSON.stringify(show.drops)}`);
  t.same(show.floatingIps, [{ fip: `${EXT}.50`, fixed: `${T2}.10` }], 'router-show lists the floating IP');
  t.same(show.interfaces.map((i: { name: string }) => i.name), ['qr-1', 'qr-2', 'qg-1']);
  const sessions = JSON.parse(await c('--json', 'nat-show', 'r1')) as unknown[];
  t.ok(sessions.length > 0, `nat-show lists the sessions of the earlier traffic (${sessions.length})`);
});

t.test('removing the floating IP cuts a live session', { skip }, async (t) => {
  const { c, ext } = env;
  // Condition-based on both sides: the removal happens once the ping has had replies, and
  // whatever the CLI's latency, the ping keeps going long enough after it to show that
  // nothing answers any more.
  const live = spawn('ip', ['netns', 'exec', ext, 'ping', '-c', '100', '-i', '0.1', '-W', '1', `${EXT}.50`], { stdio: ['ignore', 'pipe', 'ignore'] });
  let out = '';
  live.stdout.on('data', (x) => (out += x));
  const done = new Promise<void>((r) => live.on('close', () => r()));
  t.teardown(() => {
    if (live.exitCode === null && live.pid) process.kill(live.pid, 'SIGKILL');
  });
  const seqs = () => [...out.matchAll(/icmp_seq=(\d+)/g)].map((m) => Number(m[1]));
  await waitUntil('5 replies through the floating IP', () => seqs().length >= 5, 15_000);
  await c('del-floating-ip', 'r1', `${EXT}.50`);
  // Replies already on their way (or in the pipe) when the removal returned are not "after" it.
  const cutAt = Math.max(...seqs()) + 2;
  await done;
  const sent = Number(/(\d+) packets transmitted/.exec(out)?.[1] ?? 0);
  t.ok(sent - cutAt >= 20, `the ping went on after the removal (${sent - cutAt} echo requests after seq ${cutAt})`);
  t.same(seqs().filter((s) => s > cutAt), [], `no replies after the removal (seq > ${cutAt}; ${pingLoss(out)}% loss overall)`);
});

t.test('DHCP: a real client gets its address, gateway and MTU', { skip }, async (t) => {
  const { c, t3, v3 } = env;
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
  t.match(got, new RegExp(`ip=${re(T1)}\\.20 subnet=255\\.255\\.255\\.0 router=${re(T1)}\\.1 mtu=1400 dns=${re(T1)}\\.1`), `udhcpc got its lease: ${got || dh.stdout + dh.stderr}`);
});

t.test('errors say what is wrong', { skip }, async (t) => {
  const bad = await tvs(env.d.control, ['add-floating-ip', 'r1', 'not-an-ip', `${T2}.10`]);
  t.equal(bad.code, 1);
  t.match(bad.stderr, /not-an-ip/);
});
