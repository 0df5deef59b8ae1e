/**
 * The CLI's option tables: parsing and `--help` come from the same table per verb, an unknown
 * verb or option suggests the nearest one, and the human-readable router and NAT tables.
 */
import t from 'tap';
import { execFile } from 'child_process';
import * as path from 'path';
import { editDistance, nearest, parseArgs, verbHelp, usageOf } from '../../src/cli/tvs';
import { formatControlStats, formatNat, formatRouter, seconds } from '../../src/cli/format';

const TVS = path.resolve(__dirname, '../../src/cli/tvs.js');
function cli(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [TVS, '--control', '/nonexistent/tvs.sock', ...args], { timeout: 20_000 }, (err, stdout, stderr) => {
      resolve({ code: err ? Number((err as { code?: number }).code ?? 1) : 0, stdout, stderr });
    });
  });
}

t.test('edit distance and nearest names', async (t) => {
  t.equal(editDistance('dump-flow', 'dump-flows'), 1);
  t.equal(editDistance('add-rb', 'add-br'), 1, 'a transposition is one edit');
  t.equal(editDistance('show', 'show'), 0);
  t.equal(editDistance('', 'abc'), 3);
  t.same(nearest('dump-flow', ['dump-flows', 'dump-ports', 'show']), ['dump-flows']);
  t.same(nearest('add-prt', ['add-port', 'del-port', 'add-br']), ['add-port']);
  t.same(nearest('xyzzy', ['add-port', 'show']), [], 'nothing close: no suggestion');
});

t.test('an unknown verb or option suggests the nearest one (exit 2)', async (t) => {
  const r = await cli(['dump-flow', 'br0']);
  t.equal(r.code, 2);
  t.equal(r.stderr.trim(), "tvs: unknown verb 'dump-flow' (did you mean 'dump-flows'?) (try 'tvs --help')");
  const r2 = await cli(['addbr', 'x']);
  t.match(r2.stderr, /did you mean 'add-br'\?/);
  const r3 = await cli(['frobnicate']);
  t.equal(r3.stderr.trim(), "tvs: unknown verb 'frobnicate' (try 'tvs --help')");
  const r4 = await cli(['show', '--jsn']);
  t.equal(r4.code, 2);
  t.match(r4.stderr, /unknown option --jsn \(did you mean '--json'\?\)/);
  const r5 = await cli(['show', '--strict']);
  t.equal(r5.code, 2);
  t.match(r5.stderr, /--strict is not an option of 'show'/);
});

t.test('options are parsed from the verb table; --help shows the same table', async (t) => {
  t.same(parseArgs(['--json', 'top', '--count', '1', '--interval=0.2']), { verb: 'top', words: [], opts: { json: true, count: '1', interval: '0.2' } });
  t.same(parseArgs(['capture', 'br0', 'p1', '-w', 'x.pcap', '--direction', 'in']), { verb: 'capture', words: ['br0', 'p1'], opts: { w: 'x.pcap', direction: 'in' } });
  t.throws(() => parseArgs(['top', '--count']), /--count needs a value \(N\)/);
  t.throws(() => parseArgs(['dump-flows', 'br0', '--strict=yes']), /--strict takes no value/);
  t.throws(() => parseArgs(['capture', 'b', 'p', '--count', '1', '--count', '2']), /--count given twice/);
  t.throws(() => parseArgs(['top', '--direction', 'in']), /--direction is not an option of 'top' \(its options: --interval, --count\)/);
  t.equal(usageOf('top'), 'top [--interval S] [--count N]');
  const help = verbHelp('top');
  t.match(help, /^usage: tvs top \[--interval S\] \[--count N\]/);
  t.match(help, /\n {2}--json +print the result as JSON/, 'top --help lists --json');
  t.match(help, /\n {2}--count N +stop after N screens/);
  t.match(verbHelp('start'), /--config FILE +build the switch from this config file/);
  t.match(verbHelp('dump-flows'), /--strict/);
});

t.test('ages in seconds, rounded for people', async (t) => {
  t.equal(seconds(0), '0.0s');
  t.equal(seconds(1234), '1.2s');
  t.equal(seconds(9949), '9.9s');
  t.equal(seconds(10_400), '10s');
  t.equal(seconds(299_600), '300s');
  t.equal(seconds(-5), '0.0s', 'an expiry already past is not negative');
});

t.test('router-show and nat-show print tables', async (t) => {
  const text = formatRouter({
    name: 'r1',
    snat: true,
    interfaces: [
      { name: 'qr-1', mac: '02:52:00:00:01:01', cidr: '10.230.1.1/24', mtu: 1500, gateway: false },
      { name: 'qg-1', mac: '02:52:00:00:ff:01', cidr: '203.0.113.2/24', mtu: 1500, gateway: true },
    ],
    routes: [
      { cidr: '10.230.1.0/24', kind: 'connected', iface: 'qr-1', via: null },
      { cidr: '0.0.0.0/0', kind: 'forward', iface: 'qg-1', via: '203.0.113.1' },
    ],
    arp: [{ ip: '203.0.113.1', mac: '02:00:00:00:00:99', iface: 'qg-1', expiresInMs: 59_500 }],
    pendingArp: [],
    floatingIps: [{ fip: '203.0.113.50', fixed: '10.230.1.10' }],
    sessions: 1,
    drops: { no_route: 2, ttl_expired: 0 },
    stats: { forwarded: 7 },
  });
  t.equal(
    text,
    [
      'Router r1: SNAT on, 1 NAT session',
      '',
      'Interfaces:',
      '  NAME  MAC                ADDRESS         MTU   ROLE',
      '  qr-1  02:52:00:00:01:01  10.230.1.1/24   1500  tenant',
      '  qg-1  02:52:00:00:ff:01  203.0.113.2/24  1500  gateway',
      '',
      'Routes:',
      '  DESTINATION    KIND       VIA          DEV',
      '  10.230.1.0/24  connected  on-link      qr-1',
      '  0.0.0.0/0      forward    203.0.113.1  qg-1',
      '',
      'Floating IPs:',
      '  FLOATING      FIXED',
      '  203.0.113.50  10.230.1.10',
      '',
      'ARP cache:',
      '  IP           MAC                DEV   EXPIRES',
      '  203.0.113.1  02:00:00:00:00:99  qg-1  in 60s',
      '',
      'Drops: no_route=2',
      'Counters: forwarded=7',
    ].join('\n'),
  );
  t.equal(formatNat([]), '(no sessions)');
  t.equal(
    formatNat([
      {
        id: 0, proto: 'tcp', state: 'established', kind: 'snat',
        orig: { src: '10.230.1.10', dst: '203.0.113.9', sport: 40000, dport: 80 },
        reply: { src: '203.0.113.9', dst: '203.0.113.2', sport: 80, dport: 1024 },
        packets: { orig: 5, reply: 4 }, ageMs: 2_340, expiresInMs: 431_999_100,
      },
      {
        id: 1, proto: 'icmp', state: 'new', kind: 'dnat',
        orig: { src: '203.0.113.9', dst: '203.0.113.50', sport: 7, dport: 7 },
        reply: { src: '10.230.1.10', dst: '203.0.113.9', sport: 7, dport: 7 },
        packets: { orig: 1, reply: 0 }, ageMs: 12_600, expiresInMs: 17_400,
      },
    ]),
    [
      'PROTO  STATE        KIND  ORIGINAL (as sent)                  REPLY (as received)                PACKETS  AGE   EXPIRES',
      'tcp    established  snat  10.230.1.10:40000 > 203.0.113.9:80  203.0.113.9:80 > 203.0.113.2:1024  5/4      2.3s  in 431999s',
      'icmp   new          dnat  203.0.113.9 > 203.0.113.50 id 7     10.230.1.10 > 203.0.113.9 id 7     1/0      13s   in 17s',
    ].join('\n'),
  );
});

t.test('control-stats: the states the running daemon test does not reach (no addon, slice refused, saturated)', async (t) => {
  const base = {
    connections: 2, accepted: 40, refused_connections: 3, bad_requests: 1,
    limits: { maxConnections: 128 },
    helper_threads: { nice: 19, sched: 'auto', saturated: true, switches: 4, lowered: 6, idle: 0, failed: 1, threads: 6, error: 'EPERM' },
    datapath_slice: { requested_us: 100, slice_us: 0, applied: false, error: 'EINVAL (kernel before 6.12)' },
  };
  t.equal(
    formatControlStats(base),
    [
      'Control socket:',
      '  connections=2 accepted=40 refused_connections=3 bad_requests=1',
      '  limits: maxConnections=128',
      'Helper threads: nice 19, policy auto (now normal: the datapath is saturated)',
      '  threads=6 lowered=6 idle=0 failed=1 switches=4; last error: EPERM',
      'Datapath thread slice: not applied (asked 100 µs: EINVAL (kernel before 6.12))',
      'Wake-ahead: unknown (no native addon)',
    ].join('\n'),
  );
  const out = formatControlStats({
    ...base,
    helper_threads: { nice: 0, sched: 'normal', lowered: 0, idle: 0, failed: 0, threads: 5 },
    datapath_slice: { requested_us: 100, slice_us: 100, applied: true, saturated: true, saturations: 7 },
    wake_ahead: { wakeAheadUs: 0, caught: 12, missed: 3, periodUs: 1000, leadUs: 60, polledMs: 4, held: 2, preempted: 1 },
  });
  t.match(out, /\nHelper threads: left as they are \(nice 0\), policy normal\n {2}threads=5 lowered=0 idle=0 failed=0\n/);
  const boosted = formatControlStats({ ...base, helper_threads: { ...base.helper_threads, saturatedNice: 0 } });
  t.match(boosted, /\nHelper threads: nice 19, policy auto \(now normal at nice 0: the datapath is saturated\)\n/, 'the nice value while saturated, when it differs');
  t.match(out, /\nDatapath thread slice: 100 µs \(asked 100 µs\); saturated now \(default slice meanwhile\), saturations=7\n/);
  t.match(out, /\nWake-ahead: off; period 1000 µs, lead 60 µs\n {2}caught=12 missed=3 held=2 preempted=1 polledMs=4$/);
});
