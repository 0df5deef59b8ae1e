/**
 * Giving memory back once the switch is quiet: the QuietTrim timing (after a configuration
 * script, not during one, not while frames flow, at the latest after the wait limit), the control
 * server's afterRequest hook, and the addon's trimMemory on this very process (the executable's
 * clean pages leave the RSS, its relocated and written pages stay, the process runs on).
 */
import t from 'tap';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { QuietTrim } from '../../src/cli/quiet-trim';
import { ControlServer } from '../../src/control/server';
import { request } from '../../src/control/client';
import { bindingAvailable, loadBinding } from '../../src/io/binding';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

t.test('one trim after a burst of pokes, once they stop', async (t) => {
  let trims = 0;
  const q = new QuietTrim(() => trims++, () => 0, () => 0, { quietMs: 150, regrowBytes: 0, minIntervalMs: 0 });
  for (let i = 0; i < 5; i++) {
    q.poke();
    await sleep(20);
  }
  t.equal(trims, 0, 'not while requests keep coming');
  await sleep(400);
  t.equal(trims, 1, 'once they stopped');
  await sleep(300);
  t.equal(trims, 1, 'and only once');
  q.poke();
  await sleep(400);
  t.equal(trims, 2, 'again after the next request');
});

t.test('trims at most once per interval: a trim due sooner waits for the interval to end', async (t) => {
  let trims = 0;
  const q = new QuietTrim(() => trims++, () => 0, () => 0, { quietMs: 50, regrowBytes: 0, minIntervalMs: 600 });
  q.poke();
  await sleep(150);
  t.equal(trims, 1, 'the first trim is not held back');
  q.poke();
  await sleep(250);
  t.equal(trims, 1, 'the next waits for the interval');
  await sleep(500);
  t.equal(trims, 2, 'and happens at its end');
  q.stop();
});

t.test('waits while frames flow, trims in the first quiet period', async (t) => {
  const trims: boolean[] = [];
  let packets = 0;
  const q = new QuietTrim((idle) => trims.push(idle), () => packets, () => 0, { quietMs: 100 });
  q.poke();
  const flow = setInterval(() => packets++, 5);
  await sleep(350);
  t.equal(trims.length, 0, 'not while the packet count moves');
  clearInterval(flow);
  await sleep(400);
  t.same(trims, [true], 'once it stood still for a quiet period: an idle trim (the daemon collects garbage in it)');
});

t.test('under traffic that never pauses, trims after the wait limit', async (t) => {
  const trims: boolean[] = [];
  let packets = 0;
  const q = new QuietTrim((idle) => trims.push(idle), () => packets, () => 0, { quietMs: 30, maxWaitMs: 150 });
  q.poke();
  const flow = setInterval(() => packets++, 5);
  t.teardown(() => clearInterval(flow));
  await sleep(60);
  t.equal(trims.length, 0);
  await sleep(400);
  t.same(trims, [false], 'a trim traffic forced is not idle: no garbage collection in it');
});

t.test('requests that never pause for the quiet time still trim after the wait limit', async (t) => {
  let trims = 0;
  const q = new QuietTrim(() => trims++, () => 0, () => 0, { quietMs: 60, maxWaitMs: 150 });
  const poll = setInterval(() => q.poke(), 20);
  t.teardown(() => clearInterval(poll));
  await sleep(100);
  t.equal(trims, 0);
  await sleep(300);
  t.ok(trims >= 1, `trimmed ${trims} time(s)`);
});

t.test('no second trim unless the RSS grew again after the first', async (t) => {
  let trims = 0;
  let rss = 100;
  const q = new QuietTrim(() => trims++, () => 0, () => rss, { quietMs: 40, regrowBytes: 10, minIntervalMs: 0 });
  q.poke();
  await sleep(150);
  t.equal(trims, 1, 'the first trim');
  rss = 60; // what the switch came back to after it
  q.poke(); // a monitor asks again: same code, nothing new mapped
  await sleep(150);
  t.equal(trims, 1, 'a request that touched nothing new costs no trim');
  rss = 75; // a configuration that touched new code and data
  q.poke();
  await sleep(150);
  t.equal(trims, 2, 'RSS 15 over the baseline: trimmed again');
});

t.test('stop cancels a pending trim', async (t) => {
  let trims = 0;
  const q = new QuietTrim(() => trims++, () => 0, () => 0, { quietMs: 30 });
  q.poke();
  q.stop();
  await sleep(150);
  t.equal(trims, 0);
});

t.test('the control server calls afterRequest for every command it ran, not for refused lines', async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tvs-trim-'));
  const sock = path.join(dir, 'c.sock');
  let after = 0;
  const server = new ControlServer(sock, { ok: () => 1, fail: () => { throw new Error('no'); } }, { afterRequest: () => after++ });
  await server.listen();
  t.teardown(async () => {
    await server.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });
  t.equal(await request(sock, 'ok', {}), 1);
  await t.rejects(request(sock, 'fail', {}), /no/);
  await t.rejects(request(sock, 'nope', {}), /unknown command/);
  t.equal(after, 2, 'the two commands that ran (one failed), not the unknown one');
});

/** Rss and Anonymous (kB) of this process's mappings of its executable. */
function exeMappings(): { range: string; rss: number; anon: number }[] {
  const exe = fs.readlinkSync('/proc/self/exe');
  const out: { range: string; rss: number; anon: number }[] = [];
  let cur: { range: string; rss: number; anon: number } | null = null;
  for (const line of fs.readFileSync('/proc/self/smaps', 'utf8').split('\n')) {
    const m = /^([0-9a-f]+-[0-9a-f]+) \S+ \S+ \S+ \d+\s*(.*)$/.exec(line);
    if (m) {
      cur = m[2] === exe ? { range: m[1], rss: 0, anon: 0 } : null;
      if (cur) out.push(cur);
      continue;
    }
    const f = /^(Rss|Anonymous):\s+(\d+) kB/.exec(line);
    if (f && cur) cur[f[1] === 'Rss' ? 'rss' : 'anon'] = Number(f[2]);
  }
  return out;
}

t.test('trimMemory drops the executable\'s clean pages and keeps its written ones', { skip: bindingAvailable() ? false : 'native addon not built (make)' }, async (t) => {
  const b = loadBinding();
  const before = exeMappings();
  const sum = (ms: { rss: number }[]) => ms.reduce((s, m) => s + m.rss, 0);
  const r = b.trimMemory!();
  const after = exeMappings();
  const clean = before.filter((m) => m.anon === 0);
  const written = before.filter((m) => m.anon > 0);
  t.ok(clean.length > 0 && written.length > 0, 'node maps its executable with clean and written (relocated, data) mappings');
  t.ok(r.execBytes > 0, `dropped ${r.execBytes} bytes of address space`);
  t.ok(sum(after.filter((m) => clean.some((c) => c.range === m.range))) < sum(clean) / 2, `clean mappings' RSS ${sum(clean)} kB -> ${sum(after.filter((m) => clean.some((c) => c.range === m.range)))} kB`);
  for (const w of written) {
    const a = after.find((m) => m.range === w.range);
    t.ok(a !== undefined && a.anon >= w.anon, `written mapping ${w.range} kept its ${w.anon} kB of private pages`);
  }
  // The process runs on: the dropped pages come back from the page cache as they are used.
  t.same(JSON.parse(JSON.stringify({ a: [1, 2, 3], s: 'x'.repeat(3) })), { a: [1, 2, 3], s: 'xxx' });
  t.match(new Date(0).toISOString(), /^1970-01-01T00:00:00/);
});
