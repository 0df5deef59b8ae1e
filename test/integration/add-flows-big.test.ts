/**
 * `tvs add-flows` of a large file through the real CLI and daemon (no root): 100,000 flows in
 * `make test`, 1,000,000 with `make test-big` (TVS_ADD_FLOWS=1000000). The file is streamed in
 * parts; the count is checked in the table stats, the time and the daemon's RSS are reported.
 * A bad line near the end of a large file applies nothing and names its line.
 */
import t from 'tap';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { spawn } from 'child_process';
import { startDaemon, tvs, tvsOk, TVS } from '../../lab/daemon';

const N = Number(process.env.TVS_ADD_FLOWS ?? 100_000);

function rssMb(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) / 1024 : NaN;
}

function writeFlows(file: string, n: number, bad?: number): void {
  const fd = fs.openSync(file, 'w');
  let buf: string[] = [];
  for (let i = 0; i < n; i++) {
    const dst = i === bad ? '10.9.0.256' : `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`;
    buf.push(`table=0,priority=${10 + (i % 7)},ip,in_port=m1,nw_dst=${dst},actions=mod_vlan_vid:${1 + (i % 4000)},output:m2`);
    if (buf.length === 10_000) {
      fs.writeSync(fd, buf.join('\n') + '\n');
      buf = [];
    }
  }
  if (buf.length) fs.writeSync(fd, buf.join('\n') + '\n');
  fs.closeSync(fd);
}

async function flowCount(control: string): Promise<number> {
  // A filter that selects nothing still returns the table stats (ovs-ofctl dump-aggregate's flow_count).
  const r = JSON.parse(await tvsOk(control, ['--json', 'dump-flows', 'br0', 'table=254'])) as { tables: { activeCount: number }[]; flows: string[] };
  return r.tables.reduce((s, x) => s + x.activeCount, 0);
}

t.test(`add-flows of ${N} flows through the CLI`, { timeout: 600_000 }, async (t) => {
  const d = await startDaemon(t);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tvs-bigflows-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  await tvsOk(d.control, ['add-br', 'br0']);
  await tvsOk(d.control, ['add-port', 'br0', 'm1', 'type=memory']);
  await tvsOk(d.control, ['add-port', 'br0', 'm2', 'type=memory']);
  // A new bridge holds OVS's default flow (priority=0 actions=NORMAL): counts are on top of it.
  const base = await flowCount(d.control);
  t.equal(base, 1, 'the new bridge holds only the default flow');

  // A bad line near the end: refused with its line number, nothing applied.
  const badFile = path.join(dir, 'bad.txt');
  writeFlows(badFile, Math.min(N, 100_000), Math.min(N, 100_000) - 2);
  const bad = await tvs(d.control, ['add-flows', 'br0', badFile], 120_000);
  t.equal(bad.code, 1);
  t.match(bad.stderr, new RegExp(`line ${Math.min(N, 100_000) - 1}, column \\d+: .*10\\.9\\.0\\.256.*nothing applied`));
  t.equal(await flowCount(d.control), base, 'nothing applied from the refused file');
  fs.rmSync(badFile);

  const file = path.join(dir, 'flows.txt');
  writeFlows(file, N);
  const mb = fs.statSync(file).size / 1e6;
  const pid = d.proc.pid!;
  const rss0 = rssMb(pid);
  let peak = rss0;
  const sampler = setInterval(() => (peak = Math.max(peak, rssMb(pid))), 100);
  const t0 = Date.now();
  const r = await tvs(d.control, ['--json', 'add-flows', 'br0', file], 600_000);
  const secs = (Date.now() - t0) / 1000;
  clearInterval(sampler);
  t.equal(r.code, 0, r.stderr);
  t.match(JSON.parse(r.stdout), { added: N, modified: 0, deleted: 0 });
  t.equal(await flowCount(d.control), base + N, `${N} flows installed beside the default flow`);
  const rss = rssMb(pid);
  t.comment(`add-flows ${N} flows (${mb.toFixed(1)} MB file): ${secs.toFixed(1)} s; daemon RSS ${rss0.toFixed(0)} MB before, ${peak.toFixed(0)} MB peak, ${rss.toFixed(0)} MB after`);
  t.ok(secs < (N / 100_000) * 30, `finished in ${secs.toFixed(1)} s (bound ${(N / 100_000) * 30} s)`);

  if (N <= 200_000) {
    // The CLI reads a 16 MB reply in linear time.
    const out = path.join(dir, 'dump.txt');
    const fd = fs.openSync(out, 'w');
    const t1 = Date.now();
    const code = await new Promise<number | null>((resolve) => {
      const c = spawn(process.execPath, [TVS, '--control', d.control, 'dump-flows', 'br0'], { stdio: ['ignore', fd, 'inherit'] });
      const timer = setTimeout(() => c.kill('SIGKILL'), 60_000);
      c.on('exit', (code) => {
        clearTimeout(timer);
        resolve(code);
      });
    });
    const dumpSecs = (Date.now() - t1) / 1000;
    fs.closeSync(fd);
    t.equal(code, 0);
    const dump = fs.readFileSync(out, 'utf8');
    const lines = dump.split('\n').filter((l) => l !== '');
    t.equal(lines.length, base + N, 'dump-flows prints every flow (the default flow too)');
    t.match(lines[0], /priority=16,ip,in_port=m1,nw_dst=10\.0\.0\.6 actions=mod_vlan_vid:7,output:m2/);
    t.ok(dumpSecs < 15, `dump-flows of ${N} flows through the CLI: ${dumpSecs.toFixed(1)} s`);
  }
  t.ok(d.alive());
});
