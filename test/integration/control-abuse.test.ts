/**
 * The control socket under abuse, without root (memory ports): a client that pipelines dumps
 * and never reads, huge and deeply nested requests, garbage bytes, 2,000 connections. Each
 * time: the daemon stays up, its RSS stays within a stated bound, another client's `show`
 * keeps answering within a stated latency, and the refusal is counted and says why.
 */
import t from 'tap';
import * as fs from 'fs';
import * as net from 'net';
import * as os from 'os';
import * as path from 'path';
import { spawn } from 'child_process';
import { startDaemon, tvsOk, TVS, Daemon } from '../../lab/daemon';
import type { Teardownable } from '../../lab/netns';
import { request } from '../../src/control/client';

/** Stated bounds (a 2-core machine shared with other work: generous, yet far from the failures). */
const RSS_GROWTH_MB = 100; // before: +1.9 GB for 480 pipelined dumps that were never read
const SHOW_LATENCY_MS = 1000; // before: `show` stopped answering

function rssMb(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) / 1024 : NaN;
}

async function stats(d: Daemon): Promise<Record<string, number>> {
  return (await request(d.control, 'control-stats')) as Record<string, number>;
}

/** Time one `show` over the socket (ms). */
async function showMs(d: Daemon): Promise<number> {
  const t0 = process.hrtime.bigint();
  await request(d.control, 'show');
  return Number(process.hrtime.bigint() - t0) / 1e6;
}

/** Send raw bytes on a fresh connection; resolve with what came back before it closed (or timeout). */
function raw(control: string, bytes: Buffer | string, waitMs = 3000): Promise<{ text: string; closed: boolean }> {
  return new Promise((resolve) => {
    const s = net.connect(control);
    let text = '';
    let closed = false;
    s.on('data', (d) => (text += d.toString()));
    s.on('error', () => {});
    s.on('close', () => {
      closed = true;
      clearTimeout(timer);
      resolve({ text, closed });
    });
    const timer = setTimeout(() => {
      s.destroy();
      resolve({ text, closed });
    }, waitMs);
    s.on('connect', () => s.write(bytes));
  });
}

async function setup(t: Teardownable, flows: number): Promise<Daemon> {
  const d = await startDaemon(t);
  await tvsOk(d.control, ['add-br', 'br0']);
  await tvsOk(d.control, ['add-port', 'br0', 'm1', 'type=memory']);
  await tvsOk(d.control, ['add-port', 'br0', 'm2', 'type=memory']);
  // Only the test's flows: the default priority=0 actions=NORMAL goes, as the agent removes it.
  await tvsOk(d.control, ['del-flows', 'br0']);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tvs-abuse-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  const file = path.join(dir, 'flows.txt');
  const lines: string[] = [];
  for (let i = 0; i < flows; i++) lines.push(`priority=${10 + (i % 5)},ip,nw_dst=10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255},actions=output:m2`);
  fs.writeFileSync(file, lines.join('\n') + '\n');
  await tvsOk(d.control, ['add-flows', 'br0', file]);
  return d;
}

t.test('a client that pipelines dumps and never reads is disconnected; the daemon stays small and responsive', async (t) => {
  const d = await setup(t, 10_000);
  const pid = d.proc.pid!;
  const rss0 = rssMb(pid);
  const before = await stats(d);

  const hog = net.connect(d.control);
  hog.on('error', () => {});
  await new Promise((r) => hog.once('connect', r));
  hog.pause(); // never read a byte
  const req = JSON.stringify({ id: 1, cmd: 'dump-flows', args: { bridge: 'br0' } }) + '\n';
  hog.write(req.repeat(480));

  let maxRss = rss0;
  let maxShow = 0;
  let shows = 0;
  let hogClosed = false;
  const deadline = Date.now() + 30_000;
  while (!hogClosed && Date.now() < deadline) {
    maxShow = Math.max(maxShow, await showMs(d));
    shows++;
    maxRss = Math.max(maxRss, rssMb(pid));
    hogClosed = (await stats(d)).slow_clients > before.slow_clients;
    await new Promise((r) => setTimeout(r, 100));
  }
  t.ok(hogClosed, 'the non-reading client was disconnected');
  const after = await stats(d);
  t.equal(after.slow_clients - before.slow_clients, 1, 'counted as a slow client');
  t.match(d.log(), /control client disconnected: it does not read its replies/, 'and logged');
  t.ok(maxRss - rss0 < RSS_GROWTH_MB, `daemon RSS grew ${(maxRss - rss0).toFixed(1)} MB (bound ${RSS_GROWTH_MB} MB; ${rss0.toFixed(0)} MB before)`);
  t.ok(shows >= 10 && maxShow < SHOW_LATENCY_MS, `show answered ${shows} times meanwhile, slowest ${maxShow.toFixed(1)} ms (bound ${SHOW_LATENCY_MS} ms)`);
  t.ok(d.alive());

  // A large reply to a client that does read arrives whole, while `show` keeps answering.
  const dump = request(d.control, 'dump-flows', { bridge: 'br0' }) as Promise<{ flows: string[]; tables: { activeCount: number }[] }>;
  let during = 0;
  let done = false;
  void dump.finally(() => (done = true));
  while (!done) {
    during = Math.max(during, await showMs(d));
    await new Promise((r) => setTimeout(r, 5));
  }
  const r = await dump;
  t.equal(r.flows.length, 10_000, 'all 10,000 flows in one streamed reply');
  t.equal(r.tables[0].activeCount, 10_000);
  t.match(r.flows[0], /priority=14,ip,nw_dst=10\.0\.0\.4 actions=output:m2/);
  t.ok(during < SHOW_LATENCY_MS, `show during the dump: slowest ${during.toFixed(1)} ms`);
});

t.test('huge, deep and garbage requests are refused with clear errors; the daemon stays up', async (t) => {
  const d = await startDaemon(t);
  const pid = d.proc.pid!;
  const rss0 = rssMb(pid);

  // 2 MiB in one line: refused as soon as it passes the limit, the rest of the line skipped;
  // the next request on the same connection is answered.
  const big = await raw(d.control, '{"cmd":"show","args":{"x":"' + 'a'.repeat(2 << 20) + '"}}\n' + JSON.stringify({ id: 7, cmd: 'ping' }) + '\n', 2000);
  const lines = big.text.trim().split('\n').map((l) => JSON.parse(l));
  t.match(lines[0], { ok: false, error: /^request larger than 1048576 bytes/ });
  t.match(lines[1], { id: 7, ok: true, result: { pid } }, 'the connection is usable again after the oversized line');
  t.equal(lines.length, 2);

  // 100,000 levels of nesting: refused before parsing, no stack overflow.
  for (const deep of ['[', '{"a":']) {
    const body = JSON.stringify({ id: 2, cmd: 'add-port', args: {} }).slice(0, -2) + ',"options":' + deep.repeat(100_000) + '1' + (deep === '[' ? ']' : '}').repeat(100_000) + '}}\n';
    const r = await raw(d.control, body, 2000);
    t.match(r.text, /"ok":false,"error":"bad request: JSON nested deeper than 64 levels \(at character \d+\)"/, `deep ${deep}`);
    t.notMatch(r.text, /call stack/);
  }
  // Nesting inside a string is just text.
  const s = await raw(d.control, JSON.stringify({ id: 3, cmd: 'add-br', args: { bridge: '['.repeat(1000) } }) + '\n', 1000);
  t.match(s.text, /"id":3/);
  t.notMatch(s.text, /nested deeper/);

  // VLAN sets that used to be expanded into arrays (1.8 GB, 10 s; or a V8 abort): a 4096-bit set now.
  await request(d.control, 'add-br', { bridge: 'brv' });
  for (const [name, trunks, back] of [
    ['v1', Array(17_000).fill('0-4095').join(','), '0-4095'],
    ['v2', Array(140_000).fill('0-4095').join(','), '0-4095'],
    ['v3', Array.from({ length: 140_000 }, (_, i) => `${i % 4000}`).join(','), '0-3999'],
  ] as const) {
    const t0 = Date.now();
    await request(d.control, 'add-port', { bridge: 'brv', port: name, options: { type: 'memory', trunks } });
    const ms = Date.now() - t0;
    t.ok(ms < SHOW_LATENCY_MS, `add-port trunks= of ${trunks.length} characters answered in ${ms} ms`);
    const port = ((await request(d.control, 'show')) as { name: string; ports: { name: string; trunks?: string }[] }[]).find((b) => b.name === 'brv')!.ports.find((p) => p.name === name)!;
    t.equal(port.trunks, back, `${name}: shown as ranges`);
  }
  await t.rejects(request(d.control, 'add-port', { bridge: 'brv', port: 'v4', options: { type: 'memory', trunks: Array(140_000).fill('0-4095').join(',') + ',4096' } }), /trunks: '4096' is outside 0\.\.4095/);
  t.match(await tvsOk(d.control, ['show']), /Port v1\n\s+ofport: 1, type: memory, trunks: \[0-4095\], up/);

  // Garbage: 1 MB of seeded random bytes (newlines included) on 4 connections.
  let seed = 12345;
  const rnd = () => ((seed = (seed * 1103515245 + 12345) >>> 0) >>> 16) & 0xff;
  for (let c = 0; c < 4; c++) {
    const g = Buffer.alloc(256 * 1024);
    for (let i = 0; i < g.length; i++) g[i] = rnd();
    const r = await raw(d.control, g, 1500);
    const replies = r.text.split('\n').filter((l) => l !== '');
    t.ok(replies.length > 0 && replies.every((l) => /"ok":false/.test(l)), `garbage ${c}: ${replies.length} error replies, no success`);
  }
  const st = await stats(d);
  t.ok(st.oversized_requests === 1 && st.too_deep_requests === 2 && st.bad_requests > 0, `counted: ${JSON.stringify(st)}`);
  t.ok(d.alive(), 'daemon alive');
  await tvsOk(d.control, ['show']);
  t.ok(rssMb(pid) - rss0 < RSS_GROWTH_MB, `RSS +${(rssMb(pid) - rss0).toFixed(1)} MB`);
});

t.test('2,000 connections: those over the limit are refused and counted, the daemon keeps answering', async (t) => {
  const d = await startDaemon(t);
  const max = (await request(d.control, 'control-stats') as { limits: { maxConnections: number } }).limits.maxConnections;
  const socks: net.Socket[] = [];
  t.teardown(() => socks.forEach((s) => s.destroy()));
  let refused = 0;
  let failed = 0; // the kernel's listen backlog may refuse a burst outright (EAGAIN)
  let open = 0;
  await Promise.all(
    Array.from({ length: 2000 }, () =>
      new Promise<void>((resolve) => {
        const s = net.connect(d.control);
        socks.push(s);
        s.on('error', () => {
          failed++;
          resolve();
        });
        s.on('data', (x) => {
          if (/too many control connections \(max \d+\)/.test(x.toString())) refused++;
        });
        s.on('connect', () => {
          open++;
          resolve();
        });
      }),
    ),
  );
  // Wait for the refusals to arrive.
  for (let i = 0; i < 100 && refused < open - max; i++) await new Promise((r) => setTimeout(r, 50));
  t.equal(open + failed, 2000);
  t.equal(refused, open - max, `${open} connected, ${refused} refused with a message (limit ${max}), ${failed} refused by the kernel backlog`);
  // Free one slot so `show` gets in.
  const st = await (async () => {
    socks[0].destroy();
    for (let i = 0; i < 50; i++) {
      try {
        return (await request(d.control, 'control-stats')) as Record<string, number>;
      } catch {
        await new Promise((r) => setTimeout(r, 50));
      }
    }
    throw new Error('never got in');
  })();
  t.ok(st.refused_connections >= open - max, `refused_connections=${st.refused_connections}`);
  for (const s of socks) s.destroy();
  let conns = -1;
  // The daemon releases the destroyed connections as their close events reach it; until then a
  // new request may still be refused over the limit, which is the behaviour under test: retry.
  for (let i = 0; i < 50 && conns !== 1; i++) {
    try {
      conns = ((await request(d.control, 'control-stats')) as { connections: number }).connections;
    } catch (e) {
      if (!/too many control connections/.test(String(e))) throw e;
    }
    if (conns !== 1) await new Promise((r) => setTimeout(r, 50));
  }
  t.equal(conns, 1, 'all closed connections released (only this one open)');
  for (let i = 0; i < 40 && !/control connections refused/.test(d.log()); i++) await new Promise((r) => setTimeout(r, 50));
  t.match(d.log(), /control connections refused: limit reached.*refused=\d+/, 'logged (once a second at most)');
  t.ok(d.alive());
});

t.test('SIGTERM at any moment after start: clean shutdown, socket removed', async (t) => {
  const delays = [0, 50, 100, 200, 300, 400, 500, 600, 700, 800, 900, 1000, 1200, 1500];
  for (const ms of delays) {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tvs-term-'));
    t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
    const control = path.join(dir, 'tvs.sock');
    const proc = spawn(process.execPath, [TVS, 'start', '--control', control], { stdio: ['ignore', 'pipe', 'pipe'] });
    let log = '';
    proc.stderr!.on('data', (x) => (log += x));
    const exited = new Promise<{ code: number | null; signal: string | null }>((r) => proc.on('exit', (code, signal) => r({ code, signal })));
    await new Promise((r) => setTimeout(r, ms));
    const hadSocket = fs.existsSync(control);
    process.kill(proc.pid!, 'SIGTERM');
    const killer = setTimeout(() => proc.kill('SIGKILL'), 10_000);
    const { code, signal } = await exited;
    clearTimeout(killer);
    t.notOk(fs.existsSync(control), `SIGTERM after ${ms} ms: no socket left behind (code ${code}, signal ${signal})`);
    // Once the socket exists the handlers are installed: the exit is the clean one.
    if (hadSocket) t.ok(code === 0 && /shutting down/.test(log), `after ${ms} ms (socket up): clean exit 0 with 'shutting down'`);
  }
});
