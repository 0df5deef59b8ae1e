/**
 * The daemon and the CLI end to end, without root (memory ports only): config at start,
 * structured JSON logs, reload by CLI and by SIGHUP (a bad file changes nothing), save-config,
 * `tvs top`, `tvs control-stats`, `--help` for every verb, exit codes.
 */
import t from 'tap';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as net from 'net';
import { run, startDaemon, tvs, tvsOk, TVS } from '../../lab/daemon';
import { request } from '../../src/control/client';
import { bindingAvailable, loadBinding } from '../../src/io/binding';

const cfg = {
  bridges: [
    {
      name: 'br0',
      ports: [{ name: 'm1', type: 'memory' }, { name: 'm2', type: 'memory', tag: 5 }],
      flows: ['priority=10,in_port=m1,actions=output:m2', 'priority=0,actions=NORMAL'],
    },
  ],
};

t.test('daemon + CLI without root', async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tvs-cli-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  const file = path.join(dir, 'tvs.json');
  fs.writeFileSync(file, JSON.stringify(cfg));
  const d = await startDaemon(t, ['--config', file, '--log-format', 'json', '--wake-ahead-us', '350']);
  const c = (...a: string[]) => tvsOk(d.control, a);

  const logs = () => d.log().split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l));
  t.ok(logs().some((l) => l.level === 'info' && l.msg === 'config applied'), 'JSON log line for the config');

  t.match(await c('dump-flows', 'br0'), /priority=10,in_port=m1 actions=output:m2/);

  // The start-up warm-up ran (its frames through a scratch switch's bridges, forwarded there but
  // for the few its firewall drops on purpose) and left nothing in the configured switch: no
  // frame counted on its ports, no MAC learned, no flow hit.
  const warm = logs().find((l) => l.msg === 'datapath warmed up');
  t.ok(warm && warm.frames >= 250 && warm.forwarded >= 0.9 * warm.frames, `logged: datapath warmed up (${JSON.stringify(warm)})`);
  const { ports } = JSON.parse(await c('--json', 'dump-ports', 'br0')) as { ports: { name: string; rx_packets: number; tx_packets: number }[] };
  t.same(ports.map((p) => [p.name, p.rx_packets, p.tx_packets]), [['m1', 0, 0], ['m2', 0, 0]], 'no frame on the configured ports');
  t.same(JSON.parse(await c('--json', 'fdb-show', 'br0')), [], 'no MAC learned');
  t.match(await c('dump-flows', 'br0'), /^ cookie=0x0, duration=[\d.]+s, table=0, n_packets=0, n_bytes=0, idle_age=\d+, priority=10,in_port=m1 actions=output:m2\n cookie=0x0, duration=[\d.]+s, table=0, n_packets=0, n_bytes=0, idle_age=\d+, priority=0 actions=NORMAL\n$/, 'no flow hit');

  // Helper threads at nice 19 and (the default --helper-sched auto, the switch calm) in
  // SCHED_IDLE, the datapath (main) thread at the daemon's own priority and policy. Without
  // CAP_SYS_NICE auto could not leave SCHED_IDLE again, so it runs as normal (nice only).
  const auto = process.getuid?.() === 0;
  const pid = d.proc.pid!;
  const statOf = (tid: string) => fs.readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8').replace(/^.*\) /s, '').split(' ');
  const niceOf = (tid: string) => Number(statOf(tid)[16]);
  const policyOf = (tid: string) => Number(statOf(tid)[38]); // 0 normal, 5 SCHED_IDLE
  const tasks = fs.readdirSync(`/proc/${pid}/task`);
  const lowered = logs().find((l) => l.msg === 'helper threads lowered');
  t.ok(lowered && lowered.nice === 19 && lowered.threads >= 1 && lowered.sched_idle === (auto ? lowered.threads : 0), 'logged: helper threads lowered');
  t.equal(niceOf(String(pid)), os.getPriority(), 'main thread keeps the priority it was started with');
  t.equal(policyOf(String(pid)), 0, 'main thread keeps the normal policy');
  for (const tid of tasks) {
    if (Number(tid) === pid) continue;
    t.equal(niceOf(tid), 19, `thread ${tid} at nice 19`);
    t.equal(policyOf(tid), auto ? 5 : 0, `thread ${tid} ${auto ? 'in SCHED_IDLE' : 'in the normal policy'}`);
  }
  const stats = (await request(d.control, 'control-stats')) as { helper_threads: { nice: number; sched: string; lowered: number; idle: number; failed: number } };
  t.match(stats.helper_threads, { nice: 19, sched: auto ? 'auto' : 'normal', failed: 0 });
  t.equal(stats.helper_threads.idle, auto ? stats.helper_threads.lowered : 0, 'every lowered helper also in SCHED_IDLE while calm');
  t.ok(stats.helper_threads.lowered >= tasks.length - 1, 'control-stats counts them');

  // tvs control-stats: the same state, readable. A line that is not JSON on the socket is
  // answered with an error and counted as a bad request; every tvs call is one connection.
  const before = JSON.parse(await c('--json', 'control-stats')) as { accepted: number; bad_requests: number; wake_ahead?: { wakeAheadUs: number } };
  t.equal(before.bad_requests, 0, 'control-stats --json: no bad request yet');
  const answer = await new Promise<string>((resolve, reject) => {
    const sock = net.connect(d.control, () => sock.write('this is not json\n'));
    let got = '';
    sock.on('data', (b) => {
      got += b;
      if (got.includes('\n')) (sock.end(), resolve(got));
    });
    sock.on('error', reject);
  });
  t.match(JSON.parse(answer), { ok: false, error: /^bad request: not JSON/ }, 'the bad line refused');
  const text = await c('control-stats');
  t.match(text, new RegExp(`^Control socket:\n  connections=1 accepted=${before.accepted + 2} refused_connections=0 .* bad_requests=1 `), `tvs control-stats: the bad line and both connections counted\n${text}`);
  t.match(text, /\n {2}limits: maxRequestBytes=1048576 maxDepth=64 maxConnections=128 /, 'the limits');
  t.match(text, new RegExp(`\nHelper threads: nice 19, policy ${auto ? 'auto \\(now SCHED_IDLE: calm\\)' : 'normal'}\n  threads=\\d+ lowered=${stats.helper_threads.lowered} `), 'the helper threads');
  if (bindingAvailable()) {
    t.equal(before.wake_ahead?.wakeAheadUs, 350, 'control-stats --json: the --wake-ahead-us budget');
    t.match(text, /\nWake-ahead: 350 µs; period none seen yet, lead \d+ µs\n {2}caught=0 missed=0 /, 'the --wake-ahead-us budget, no traffic yet');
  } else t.match(text, /\nWake-ahead: unknown \(no native addon\)/);
  const after = JSON.parse(await c('--json', 'control-stats')) as { accepted: number; bad_requests: number };
  t.same([after.accepted, after.bad_requests], [before.accepted + 3, 1], 'control-stats --json after');

  // The datapath thread's short scheduler slice (Linux 6.12+), read back from the kernel; the
  // helpers keep the default one.
  const rel = /^(\d+)\.(\d+)/.exec(os.release());
  const hasSlices = rel !== null && (Number(rel[1]) > 6 || (Number(rel[1]) === 6 && Number(rel[2]) >= 12));
  const noSlice = !bindingAvailable() ? 'native addon not built (make)' : !hasSlices ? `kernel ${os.release()} has no per-thread slices (Linux 6.12+)` : false;
  await t.test('the datapath thread has the 100 µs slice, helpers the default', { skip: noSlice }, async (t) => {
    const { datapath_slice: slice } = (await request(d.control, 'control-stats')) as { datapath_slice: unknown };
    t.same(slice, { requested_us: 100, slice_us: 100, applied: true, saturated: false, saturations: 0 }, 'control-stats: the 100 µs slice applied');
    t.ok(logs().some((l) => l.msg === 'datapath thread slice' && l.slice_us === 100), 'logged: datapath thread slice');
    const b = loadBinding();
    t.equal(b.getThreadSlice!(pid), 100_000, 'the kernel reports 100 µs for the datapath thread');
    for (const tid of fs.readdirSync(`/proc/${pid}/task`)) {
      if (Number(tid) !== pid) t.not(b.getThreadSlice!(Number(tid)), 100_000, `helper ${tid} keeps the default slice`);
    }
  });

  // reload by CLI: a flow changes, a port appears; the unchanged flow stays.
  cfg.bridges[0].flows[0] = 'priority=10,in_port=m1,actions=drop';
  cfg.bridges[0].ports.push({ name: 'm3', type: 'memory' } as never);
  fs.writeFileSync(file, JSON.stringify(cfg));
  const out = await c('reload');
  t.match(out, /\+ port m3/);
  t.match(out, /\+ flow on br0: .*actions=drop/);
  t.match(out, /- flow on br0: .*output:m2/);

  // SIGHUP with a broken file: refused, logged, nothing changed.
  fs.writeFileSync(file, '{"bridges": [ {"name": "br0", "ports": [ {"name": "m1", "type": "bogus"} ] } ] }');
  process.kill(d.proc.pid!, 'SIGHUP');
  for (const deadline = Date.now() + 20_000; !logs().some((l) => l.level === 'warn') && Date.now() < deadline; ) await new Promise((r) => setTimeout(r, 50));
  const warn = logs().find((l) => l.level === 'warn');
  t.match(warn, { msg: 'SIGHUP reload refused, nothing changed', error: /: bridges\[0\]\.ports\[0\]\.type: one of afpacket, .*, got "bogus"$/ });
  t.match(await c('show'), /Port m3/);

  // save-config → the running state as a file.
  const saved = path.join(dir, 'saved.json');
  await c('save-config', saved);
  const s = JSON.parse(fs.readFileSync(saved, 'utf8'));
  t.same(s.bridges[0].ports.map((p: { name: string }) => p.name), ['m1', 'm2', 'm3']);
  t.ok(s.bridges[0].flows.some((f: string) => /actions=drop/.test(f)));

  // tvs top, one JSON screen.
  const top = await tvs(d.control, ['--json', 'top', '--count', '1', '--interval', '0.2']);
  t.equal(top.code, 0, top.stderr);
  const screen = JSON.parse(top.stdout.trim().split('\n')[0]);
  t.same(screen.ports.map((p: { port: string }) => p.port), ['m1', 'm2', 'm3']);
  t.ok(screen.flows.length === 2 && 'pps' in screen.flows[0]);

  // --help for every verb, exit codes.
  const help = await tvs(d.control, ['--help']);
  const verbs = [...help.stdout.matchAll(/^ {2}([a-z][a-z-]+)(?: |$)/gm)].map((m) => m[1]);
  t.ok(verbs.length >= 25, `verbs listed: ${verbs.join(' ')}`);
  for (const v of verbs) {
    const h = await tvs(d.control, [v, '--help']);
    t.equal(h.code, 0, `tvs ${v} --help`);
    t.match(h.stdout, new RegExp(`^usage: tvs ${v}`));
  }
  t.equal((await tvs(d.control, ['no-such-verb'])).code, 2);
  t.equal((await tvs(d.control, ['add-br'])).code, 2, 'missing argument: usage error');
  const badWarm = await tvs(d.control, ['start', '--warm-up-frames', 'many']);
  t.equal(badWarm.code, 2, 'start --warm-up-frames many: usage error');
  t.match(badWarm.stderr, /--warm-up-frames many: a whole number of frames, 0\.\.100000/);
  const refused = await tvs(d.control, ['add-flow', 'br0', 'priority=1,nw_src=10.0.0.1,actions=drop']);
  t.equal(refused.code, 1);
  t.match(refused.stderr, /column \d+: nw_src requires ip or arp/);
  // tvs start --config: every error in the file at once, each with its path (README's format).
  const bad = path.join(dir, 'bad.json');
  fs.writeFileSync(bad, JSON.stringify({ bridges: [{ name: 'br0', ports: [{ name: 'm1', type: 'memory', tag: 5000 }, { name: 'm1', type: 'memory' }] }], routers: [{ name: 'r1', ports: [{ bridge: 'br0', name: 'qr-1', mac: 'ff:ff:ff:ff:ff:ff', ip: '10.230.1.1/24' }] }] }));
  const started = await run([process.execPath, TVS, 'start', '--control', path.join(dir, 'bad.sock'), '--config', bad], 15_000);
  t.equal(started.code, 1);
  t.equal(
    started.stderr.trim(),
    [
      `tvs start: config ${bad}: 3 errors:`,
      '  bridges[0].ports[0].tag: must be an integer in 0..4095, got 5000',
      "  bridges[0].ports[1].name: the name 'm1' is already used by port 'm1' of bridge 'br0' (bridges[0].ports[0].name)",
      '  routers[0].ports[0].mac: "ff:ff:ff:ff:ff:ff" is the broadcast MAC address',
    ].join('\n'),
  );
  const noSwitch = await tvs(path.join(dir, 'nope.sock'), ['show']);
  t.equal(noSwitch.code, 1);
  t.match(noSwitch.stderr, /no switch is running/);
});
