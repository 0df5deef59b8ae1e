/**
 * os-ken (Debian's python3-os-ken, the framework Neutron's agent is built on) controls a tvs
 * bridge over TCP on loopback: the classic OpenFlow 1.3 learning switch (test/osken/
 * learning_switch.py) with the bridge in fail_mode=secure and three namespace hosts. Pings pass
 * only through the controller's packet-outs and flows; its flows show in `tvs dump-flows`; when
 * the app dies the flows stay (secure) and the switch reconnects to the restarted app.
 */
import t from 'tap';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { spawn, type ChildProcess } from 'child_process';
import { isRoot, haveCmd, Lab } from '../../lab/netns';
import { startDaemon, tvsOk, pingEach, pingNone, waitUntil } from '../../lab/daemon';
import { bindingAvailable } from '../../src/io/binding';

const PY = '/usr/bin/python3';
const MANAGER = '/usr/bin/osken-manager';
const APP = path.resolve(__dirname, '../../../test/osken/learning_switch.py');

const why = !isRoot()
  ? 'needs root: creates namespaces, veth devices and AF_PACKET ports'
  : !bindingAvailable()
    ? 'native addon not built (run make)'
    : !fs.existsSync(MANAGER) || !fs.existsSync(PY) || !haveCmd('ping')
      ? 'needs Debian python3-os-ken (/usr/bin/osken-manager) and ping'
      : '';

/** Poll every 200 ms (each poll is a CLI call). */
function until(what: string, fn: () => Promise<boolean>, ms: number): Promise<void> {
  return waitUntil(what, fn, ms, 200);
}

t.test('os-ken learning switch controls a secure tvs bridge', { skip: why || false }, async (t) => {
  const lab = Lab.create(t);
  const d = await startDaemon(t);
  const port = 20000 + (process.pid % 20000);
  const logDir = fs.mkdtempSync(path.join(os.tmpdir(), 'tvs-osken-'));
  const apps: ChildProcess[] = [];
  const kill = (a: ChildProcess, sig: NodeJS.Signals) => {
    try {
      if (a.exitCode === null && a.signalCode === null && a.pid) process.kill(a.pid, sig);
    } catch {
      /* already gone */
    }
  };
  t.teardown(() => {
    for (const a of apps) kill(a, 'SIGKILL');
    fs.rmSync(logDir, { recursive: true, force: true });
  });
  let run = 0;
  const startApp = () => {
    const log = path.join(logDir, `osken-${run++}.log`);
    const out = fs.openSync(log, 'w');
    const a = spawn(PY, [MANAGER, '--ofp-listen-host', '127.0.0.1', '--ofp-tcp-listen-port', String(port), APP], { stdio: ['ignore', out, out] });
    fs.closeSync(out);
    apps.push(a);
    return { proc: a, log: () => fs.readFileSync(log, 'utf8') };
  };
  const stopApp = async (a: ChildProcess) => {
    if (a.exitCode !== null || a.signalCode !== null) return;
    const gone = new Promise((r) => a.once('exit', r));
    kill(a, 'SIGTERM');
    await Promise.race([gone, new Promise((r) => setTimeout(r, 3000))]);
    kill(a, 'SIGKILL');
  };
  const controller = async () => JSON.parse(await tvsOk(d.control, ['--json', 'get-controller', 'br0'])) as { targets: { connected: boolean }[]; packetIns: number; packetOuts: number };

  await tvsOk(d.control, ['add-br', 'br0']);
  const hosts: { ns: string; ip: string }[] = [];
  for (let i = 1; i <= 3; i++) {
    const ns = lab.netns(`tvnos${i}`);
    const v = lab.veth({ ns, address: `10.232.0.${i}/24` });
    await tvsOk(d.control, ['add-port', 'br0', v.host]);
    hosts.push({ ns, ip: `10.232.0.${i}` });
  }
  await tvsOk(d.control, ['set-fail-mode', 'br0', 'secure']);
  // Every echo must cross; each has 5 s for its reply (the first goes through the controller
  // for ARP and the echo itself, a Python process that a loaded machine can hold up).
  const ping = async (from: number, to: number) => {
    const r = await pingEach(hosts[from].ns, hosts[to].ip, 3);
    t.comment(r.summary);
    return r.loss;
  };

  const silent = await pingNone(hosts[0].ns, hosts[1].ip);
  t.equal(silent.answered, 0, `secure and no controller: nothing is forwarded: ${silent.summary}`);

  const app1 = startApp();
  await until('os-ken to listen', async () => /instantiating app .*OFPHandler/.test(app1.log()), 15_000);
  await tvsOk(d.control, ['set-controller', 'br0', `tcp:127.0.0.1:${port}`]);
  await until('the switch to connect', async () => (await controller()).targets[0].connected, 15_000);
  await until('the table-miss flow', async () => /priority=0 actions=CONTROLLER:65535/.test(await tvsOk(d.control, ['dump-flows', 'br0'])), 10_000);

  t.equal(await ping(0, 1), 0, 'h1 -> h2 through the learning switch');
  t.equal(await ping(0, 2), 0, 'h1 -> h3');
  t.equal(await ping(2, 1), 0, 'h3 -> h2');
  const flows = await tvsOk(d.control, ['dump-flows', 'br0']);
  const learned = flows.split('\n').filter((l) => /cookie=0x5ec, .*priority=1,in_port=\S+,dl_src=\S+,dl_dst=\S+ actions=output:/.test(l));
  t.ok(learned.length >= 4, `the controller's unicast flows are in tvs dump-flows:\n${flows}`);
  t.ok(learned.some((l) => /n_packets=[1-9]/.test(l)), 'and carry traffic');
  const c = await controller();
  t.ok(c.packetIns >= 3 && c.packetOuts >= 3, `packet-in ${c.packetIns}, packet-out ${c.packetOuts}`);
  // A table-miss flow's packet-in says OFPR_NO_MATCH (0), as OVS reports it to OpenFlow 1.3.
  t.match(app1.log(), /PACKET_IN reason=0 table=0 cookie=5ec in_port=\d+ len=\d+/);

  // Kill the app: secure keeps the flows, the learned paths keep working.
  await stopApp(app1.proc);
  await until('the switch to see the controller gone', async () => !(await controller()).targets[0].connected, 15_000);
  t.match(await tvsOk(d.control, ['dump-flows', 'br0']), /priority=1,in_port/, 'flows stay in secure mode');
  t.equal(await ping(0, 1), 0, 'h1 -> h2 still forwarded by the learned flows');

  // Restart: the switch reconnects by itself (backoff at most 8 s).
  const app2 = startApp();
  await until('the switch to reconnect', async () => (await controller()).targets[0].connected, 20_000);
  await until('the restarted app to see the switch', async () => /CONNECTED dpid=/.test(app2.log()), 10_000);
  t.pass('reconnected');
  t.equal(await ping(1, 2), 0, 'h2 -> h3 with the restarted controller');

  await tvsOk(d.control, ['del-controller', 'br0']);
  await stopApp(app2.proc);
});
