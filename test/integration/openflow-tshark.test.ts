/**
 * Wireshark's OpenFlow dissector reads a captured tvs controller session: os-ken's learning switch
 * (test/osken/learning_switch.py) on a loopback TCP port, tcpdump on lo for that port only, one
 * ping between two namespace hosts to produce packet-ins and packet-outs. tshark must find no
 * malformed or error-level packet and must decode the session's OpenFlow 1.3 messages. Only the
 * decode is asserted here; forwarding is the os-ken test's job.
 */
import t from 'tap';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { spawn, type ChildProcess } from 'child_process';
import { isRoot, haveCmd, Lab } from '../helpers/netns';
import { startDaemon, tvsOk, nsRun, run, waitUntil } from '../helpers/daemon';
import { bindingAvailable } from '../../src/io/binding';

const PY = '/usr/bin/python3';
const MANAGER = '/usr/bin/osken-manager';
const APP = path.resolve(__dirname, '../../../test/osken/learning_switch.py');

const why = !isRoot()
  ? 'needs root: creates namespaces, veth devices and captures on lo'
  : !bindingAvailable()
    ? 'native addon not built (run make)'
    : !fs.existsSync(MANAGER) || !fs.existsSync(PY) || !haveCmd('ping') || !haveCmd('tcpdump') || !haveCmd('tshark')
      ? 'needs Debian python3-os-ken, ping, tcpdump and tshark (make test installs them)'
      : '';

/** Poll every 200 ms (each poll is a CLI call). */
function until(what: string, fn: () => Promise<boolean>, ms: number): Promise<void> {
  return waitUntil(what, fn, ms, 200);
}

function kill(a: ChildProcess, sig: NodeJS.Signals): void {
  try {
    if (a.exitCode === null && a.signalCode === null && a.pid) process.kill(a.pid, sig);
  } catch {
    /* already gone */
  }
}

async function stop(a: ChildProcess): Promise<void> {
  if (a.exitCode !== null || a.signalCode !== null) return;
  const gone = new Promise((r) => a.once('exit', r));
  kill(a, 'SIGTERM');
  await Promise.race([gone, new Promise((r) => setTimeout(r, 3000))]);
  kill(a, 'SIGKILL');
}

// The capture runs in immediate mode. Without it libpcap reads lo through a TPACKET_V3 ring whose
// blocks reach tcpdump only when full or when their timeout (about a second) retires them;
// stopping tcpdump sooner than that after the ping lost the block holding the PACKET_IN/OUT,
// while HELLO, FEATURES and FLOW_MOD, older, had been written (the full-suite flake: packet-ins
// counted by tvs, absent from the file). The test also waits until tcpdump has written them.
t.test('tshark decodes a tvs controller session without errors', { skip: why || false }, async (t) => {
  const lab = Lab.create(t);
  const d = await startDaemon(t);
  const port = 20000 + ((process.pid + 7919) % 20000);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tvs-ofpcap-'));
  const procs: ChildProcess[] = [];
  t.teardown(() => {
    for (const p of procs) kill(p, 'SIGKILL');
    fs.rmSync(dir, { recursive: true, force: true });
  });

  await tvsOk(d.control, ['add-br', 'br0']);
  const hosts: { ns: string; ip: string }[] = [];
  for (let i = 1; i <= 2; i++) {
    const ns = lab.netns(`tvnoc${i}`);
    const v = lab.veth({ ns, address: `10.233.0.${i}/24` });
    await tvsOk(d.control, ['add-port', 'br0', v.host]);
    hosts.push({ ns, ip: `10.233.0.${i}` });
  }
  await tvsOk(d.control, ['set-fail-mode', 'br0', 'secure']);

  const pcap = path.join(dir, 'session.pcap');
  const capture = spawn('tcpdump', ['-i', 'lo', '--immediate-mode', '-U', '-s', '0', '-w', pcap, 'tcp', 'port', String(port)], { stdio: 'ignore' });
  procs.push(capture);
  await until('tcpdump to start', async () => fs.existsSync(pcap), 5_000);

  const log = path.join(dir, 'osken.log');
  const out = fs.openSync(log, 'w');
  const app = spawn(PY, [MANAGER, '--ofp-listen-host', '127.0.0.1', '--ofp-tcp-listen-port', String(port), APP], { stdio: ['ignore', out, out] });
  fs.closeSync(out);
  procs.push(app);
  await until('os-ken to listen', async () => /instantiating app .*OFPHandler/.test(fs.readFileSync(log, 'utf8')), 15_000);
  await tvsOk(d.control, ['set-controller', 'br0', `tcp:127.0.0.1:${port}`]);
  const controller = async () => JSON.parse(await tvsOk(d.control, ['--json', 'get-controller', 'br0'])) as { targets: { connected: boolean }[]; packetIns: number; packetOuts: number };
  await until('the switch to connect', async () => (await controller()).targets[0].connected, 15_000);
  await until('the table-miss flow', async () => /actions=CONTROLLER:65535/.test(await tvsOk(d.control, ['dump-flows', 'br0'])), 10_000);
  await nsRun(hosts[0].ns, ['ping', '-c', '2', '-i', '0.2', '-W', '1', hosts[1].ip]);
  await until('packet-ins and packet-outs', async () => {
    const c = await controller();
    return c.packetIns >= 1 && c.packetOuts >= 1;
  }, 10_000);

  const tshark = async (...args: string[]) => {
    const r = await run(['tshark', '-n', '-r', pcap, '-d', `tcp.port==${port},openflow`, ...args], 30_000);
    if (r.code !== 0) throw new Error(`tshark ${args.join(' ')} failed (${r.code}): ${r.stderr}`);
    return r.stdout.trim();
  };
  const decodedTypes = async () => new Set((await tshark('-Y', 'openflow_v4', '-T', 'fields', '-e', 'openflow_v4.type')).split(/[\s,]+/).filter(Boolean).map(Number));
  // tcpdump writes each packet as it gets it (-U): wait until the packet-in/out are in the file.
  await until('tcpdump to write the PACKET_IN and PACKET_OUT', async () => {
    try {
      const ty = await decodedTypes();
      return ty.has(10) && ty.has(13);
    } catch {
      return false; // a record being written: read again
    }
  }, 10_000);

  await tvsOk(d.control, ['del-controller', 'br0']);
  await stop(app);
  await new Promise((r) => setTimeout(r, 300));
  await stop(capture);

  t.equal(await tshark('-Y', '_ws.malformed || _ws.expert.severity==error'), '', 'no malformed or error-level packet in the session');
  const types = await decodedTypes();
  const seen = [...types].sort((a, b) => a - b).join(',');
  // HELLO, FEATURES_REQUEST, FEATURES_REPLY, PACKET_IN, PACKET_OUT, FLOW_MOD
  for (const ty of [0, 5, 6, 10, 13, 14]) t.ok(types.has(ty), `an openflow_v4 message of type ${ty} is decoded (saw ${seen})`);
});
