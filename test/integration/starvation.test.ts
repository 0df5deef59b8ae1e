/**
 * Cross-tenant starvation on the wire: tenant A (a namespace behind the router) sends 16 UDP
 * datagrams to each of 220 addresses on the external subnet that nobody answers, again and
 * again for a few seconds — more frames waiting for ARP than the switch has buffers. Tenant B,
 * behind the same router, pings and sends UDP (iperf3) to a host on the external network at
 * the same time. B must lose nothing and its ping RTT must stay within 2x the idle RTT.
 * The exact in-memory twin of this test is test/unit/starvation.test.ts.
 */
import t from 'tap';
import { spawn } from 'child_process';
import { isRoot, haveCmd, Lab } from '../../lab/netns';
import { startDaemon, tvsOk, nsRun, pingLoss, waitListening } from '../../lab/daemon';
import { bindingAvailable } from '../../src/io/binding';

const why = !isRoot()
  ? 'needs root: creates namespaces and veth devices'
  : !bindingAvailable()
    ? 'native addon not built (run make)'
    : !haveCmd('iperf3') || !haveCmd('ping')
      ? 'needs iperf3 and ping (make test installs them)'
      : '';

const EXT = '10.236.0';
const TA = '10.236.1';
const TB = '10.236.2';

/** Median RTT (ms) of a ping run's per-reply lines. */
function medianRtt(out: string): number {
  const v = [...out.matchAll(/time=([\d.]+) ms/g)].map((m) => Number(m[1])).sort((a, b) => a - b);
  return v.length ? v[Math.floor(v.length / 2)] : NaN;
}

t.test('starvation: one tenant floods unresolvable next hops; the other loses nothing', { skip: why || false, timeout: 120_000 }, async (t) => {
  const lab = Lab.create(t);
  const ta = lab.netns('tvnsta');
  const tb = lab.netns('tvnstb');
  const ext = lab.netns('tvnsex');
  const va = lab.veth({ ns: ta, address: `${TA}.10/24` });
  const vb = lab.veth({ ns: tb, address: `${TB}.10/24` });
  const vx = lab.veth({ ns: ext, address: `${EXT}.100/24` });
  await nsRun(ta, ['ip', 'route', 'add', 'default', 'via', `${TA}.1`]);
  await nsRun(tb, ['ip', 'route', 'add', 'default', 'via', `${TB}.1`]);

  const d = await startDaemon(t);
  const c = (...args: string[]) => tvsOk(d.control, args);
  await c('add-br', 'br-int');
  await c('add-br', 'br-ex');
  await c('add-port', 'br-int', va.host, 'tag=1');
  await c('add-port', 'br-int', vb.host, 'tag=2');
  await c('add-port', 'br-ex', vx.host);
  await c('add-router', 'r1');
  await c('router-add-port', 'r1', 'br-int', 'qr-a', 'mac=02:52:00:00:01:01', `ip=${TA}.1/24`, 'tag=1');
  await c('router-add-port', 'r1', 'br-int', 'qr-b', 'mac=02:52:00:00:02:01', `ip=${TB}.1/24`, 'tag=2');
  await c('router-add-port', 'r1', 'br-ex', 'qg', 'mac=02:52:00:00:ff:01', `ip=${EXT}.1/24`, 'gateway');

  // Idle figures for B.
  await nsRun(tb, ['ping', '-c', '3', '-i', '0.2', '-W', '2', `${EXT}.100`]);
  // -w (not -W): ping waits for every reply until the deadline; with -W it gives the last echo
  // only max(2 x the slowest RTT, the interval) and counts a later reply as lost.
  const idle = await nsRun(tb, ['ping', '-c', '30', '-i', '0.05', '-w', '10', `${EXT}.100`]);
  t.equal(pingLoss(idle.stdout), 0, 'idle: B reaches the external host');
  const idleRtt = medianRtt(idle.stdout);

  // A's flood: 16 datagrams to each of 220 silent addresses every 200 ms for 8 s (bounded).
  const flood = `
    const s = require('dgram').createSocket('udp4');
    const buf = Buffer.alloc(64);
    const end = Date.now() + 8000;
    let n = 0;
    const burst = () => {
      if (Date.now() > end) { s.close(); console.log(n); return; }
      for (let h = 10; h < 230; h++) for (let k = 0; k < 16; k++) { s.send(buf, 9, '${EXT}.' + h); n++; }
      setTimeout(burst, 200);
    };
    burst();`;
  const attacker = spawn('ip', ['netns', 'exec', ta, process.execPath, '-e', flood], { stdio: ['ignore', 'pipe', 'ignore'] });
  let sent = '';
  attacker.stdout.on('data', (x) => (sent += x));
  const attackDone = new Promise<void>((r) => attacker.on('close', () => r()));
  t.teardown(() => {
    if (attacker.exitCode === null && attacker.pid) process.kill(attacker.pid, 'SIGKILL');
  });
  // B measures while A's frames fill the hold queues: wait (bounded) until qr-a refuses holds.
  type PortView = { name: string; held?: number; held_limit?: number; hold_refused?: number };
  const qrA = async () => (JSON.parse(await c('--json', 'dump-ports', 'br-int')) as { ports: PortView[] }).ports.find((p) => p.name === 'qr-a');
  for (const deadline = Date.now() + 20_000; ((await qrA())?.hold_refused ?? 0) === 0 && Date.now() < deadline; ) await new Promise((r) => setTimeout(r, 50));

  // B during the flood: ping and UDP.
  await nsRun(ext, ['iperf3', '-s', '-1', '-D', '-p', '5461']);
  await waitListening(ext, 5461);
  const [busy, udp] = await Promise.all([
    nsRun(tb, ['ping', '-c', '40', '-i', '0.05', '-w', '10', `${EXT}.100`]),
    nsRun(tb, ['iperf3', '-c', `${EXT}.100`, '-p', '5461', '-u', '-b', '2M', '-l', '512', '-t', '3', '-J'], 30_000),
  ]);
  const ports = JSON.parse(await c('--json', 'dump-ports', 'br-int')) as { ports: { name: string; held?: number; held_limit?: number; hold_refused?: number }[] };
  const show = JSON.parse(await c('--json', 'router-show', 'r1')) as { drops: Record<string, number> };
  await attackDone;

  t.equal(pingLoss(busy.stdout), 0, `B: no ping lost during the flood (${busy.stdout.split('\n').find((l) => l.includes('loss'))})`);
  const busyRtt = medianRtt(busy.stdout);
  t.ok(busyRtt <= 2 * idleRtt, `B: median RTT ${busyRtt} ms within 2x idle (${idleRtt} ms)`);
  let lost = -1;
  let pkts = 0;
  try {
    const j = JSON.parse(udp.stdout);
    lost = j.end.sum.lost_packets;
    pkts = j.end.sum.packets;
  } catch {
    /* below */
  }
  t.ok(pkts > 100, `B: iperf3 UDP sent ${pkts} datagrams`);
  t.equal(lost, 0, 'B: no UDP datagram lost');
  t.ok(Number(sent) > 50_000, `A sent ${sent.trim()} datagrams`);
  const qa = ports.ports.find((p) => p.name === 'qr-a');
  t.ok(qa && qa.held_limit !== undefined && (qa.hold_refused ?? 0) > 0, `A's frames held are bounded and refusals counted on its router port: ${JSON.stringify(qa)}`);
  t.ok((show.drops.arp_hold_limit ?? 0) + (show.drops.arp_queue_full ?? 0) > 0, `A's excess dropped and counted: ${JSON.stringify(show.drops)}`);
});
