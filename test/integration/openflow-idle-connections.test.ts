/**
 * 10,000 idle OpenFlow connections on a bridge's management socket (a separate client process
 * opens them, at most 200 connecting at once, and each waits for the switch's HELLO): all are
 * accepted, the datapath keeps forwarding (ping between two namespaces through the bridge),
 * new connections are still served (the CLI, ovs-ofctl), and the daemon's RSS growth is
 * measured and bounded. The bound beyond which connections are refused and counted is the
 * unit test's (openflow-failmode); here the default bound must admit 10,000.
 */
import t from 'tap';
import * as fs from 'fs';
import * as path from 'path';
import { spawn } from 'child_process';
import { isRoot, haveCmd, Lab } from '../../lab/netns';
import { startDaemon, tvsOk, run, pingEach, waitUntil } from '../../lab/daemon';
import { bindingAvailable } from '../../src/io/binding';

const N = 10_000;

const why = !isRoot()
  ? 'needs root: creates namespaces and veth devices'
  : !bindingAvailable()
    ? 'native addon not built (run make)'
    : !haveCmd('ping')
      ? 'needs ping'
      : '';

/** Opens N connections to a unix socket, prints {"got","failed"} once each got 8 bytes or failed; exits when stdin ends. */
const CLIENT = `
const net = require('net');
const [p, n] = [process.argv[1], Number(process.argv[2])];
let started = 0, got = 0, failed = 0, inflight = 0;
const socks = [];
function more() {
  while (inflight < 200 && started < n) {
    started++; inflight++;
    const s = net.connect(p); socks.push(s);
    let seen = 0, done = false;
    const fin = (ok) => { if (done) return; done = true; inflight--; ok ? got++ : failed++; if (got + failed === n) console.log(JSON.stringify({ got, failed })); else more(); };
    s.on('data', (c) => { seen += c.length; if (seen >= 8) fin(true); });
    s.on('error', () => fin(false));
    s.on('close', () => fin(false));
  }
}
more();
process.stdin.on('end', () => process.exit(0));
process.stdin.resume();
`;

function rssKb(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) : NaN;
}

t.test(`${N} idle OpenFlow connections: accepted, cheap, and the datapath keeps forwarding`, { skip: why || false }, async (t) => {
  const lab = Lab.create(t);
  const d = await startDaemon(t);
  await tvsOk(d.control, ['add-br', 'br0']);
  const hosts: string[] = [];
  for (let i = 1; i <= 2; i++) {
    const ns = lab.netns(`tvnidle${i}`);
    const v = lab.veth({ ns, address: `10.234.0.${i}/24` });
    await tvsOk(d.control, ['add-port', 'br0', v.host]);
    hosts.push(ns);
  }
  const first = await pingEach(hosts[0], '10.234.0.2', 2);
  t.equal(first.loss, 0, `forwarding before: ${first.summary}`);
  const pid = d.proc.pid!;
  const before = rssKb(pid);

  const mgmt = path.join(path.dirname(d.control), 'br0.mgmt');
  const client = spawn(process.execPath, ['-e', CLIENT, mgmt, String(N)], { stdio: ['pipe', 'pipe', 'inherit'] });
  t.teardown(() => {
    if (client.exitCode === null && client.pid) process.kill(client.pid, 'SIGKILL');
  });
  let out = '';
  client.stdout!.on('data', (c) => (out += c));
  const t0 = Date.now();
  await waitUntil(`${N} connections to be opened`, () => out.includes('}'), 120_000, 100);
  const took = Date.now() - t0;
  const res = JSON.parse(out) as { got: number; failed: number };
  t.same(res, { got: N, failed: 0 }, `all ${N} connections accepted (each got the switch's HELLO) in ${took} ms`);
  const ctl = JSON.parse(await tvsOk(d.control, ['--json', 'get-controller', 'br0'])) as { connections: number; service: { connectionsOpen: number; connectionsRefused: number } };
  t.equal(ctl.connections, N, 'the bridge holds them');
  t.equal(ctl.service.connectionsRefused, 0);

  const busy = await pingEach(hosts[0], '10.234.0.2', 5);
  t.equal(busy.loss, 0, `forwarding with ${N} idle connections open: ${busy.summary}`);
  if (haveCmd('ovs-ofctl')) {
    const r = await run(['ovs-ofctl', '-O', 'OpenFlow13', 'dump-flows', `unix:${mgmt}`], 20_000);
    t.match(r.stdout, /priority=0 actions=NORMAL/, 'a new connection (ovs-ofctl) is still served');
  }
  const after = rssKb(pid);
  const perConn = ((after - before) * 1024) / N;
  t.comment(`daemon RSS ${Math.round(before / 1024)} MB before, ${Math.round(after / 1024)} MB with ${N} idle connections: ${Math.round(perConn)} bytes each`);
  t.ok(perConn < 20_000, `an idle connection costs ${Math.round(perConn)} bytes of RSS (bound 20 KB)`);

  client.stdin!.end();
  await waitUntil('the connections to be closed', async () => JSON.parse(await tvsOk(d.control, ['--json', 'get-controller', 'br0'])).connections === 0, 30_000, 200);
  t.ok(d.alive(), 'the daemon is alive');
});
