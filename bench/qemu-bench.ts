/**
 * VM ↔ VM TCP through tvs against the Linux bridge: two TCG guests (lab/guest.ts), one
 * serving a file with busybox nc, the other fetching it, attached by taps either to a tvs bridge
 * (scripts/tvs-ifup, AF_PACKET ports, offloads on) or to a Linux bridge. QEMU under TCG is the
 * bottleneck on this machine, so the figure that matters is the ratio, not the Mbit/s.
 *
 *   node dist/bench/qemu-bench.js [MiB] [runs]      (root; qemu-system-x86; fetches the guest kernel)
 *
 * The time is taken on the host between two console lines of the fetching guest (start of the
 * fetch, result), so it includes the TCP handshake and the serial console's latency (~ms).
 * Prints one line per run and the ratio on the last line.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { execFileSync } from 'child_process';
import { guestImage, guestSkipReason, startGuest, guestMac, ifupEnv, GuestImage, SERVER, CLIENT } from '../lab/guest';
import { startDaemon, tvsOk } from '../lab/daemon';
import { uniqueName } from '../lab/netns';

/**
 * The guests' scripts, with a readiness check: the server also listens on port 5003 once its
 * file is written and nc serves it on 5001, and the client waits for that port before it marks
 * the fetch start. Both guests boot at once; without the check the client could reach the fetch
 * while the server was still writing and hashing the file under TCG, and its retries (0.5 s
 * apart) were timed as transfer, or after the 20th the run failed with 0 bytes.
 */
function withReadiness(script: string, anchor: string, insert: string): string {
  if (!script.includes(anchor)) throw new Error(`qemu-bench: the guest script no longer has '${anchor}'`);
  return script.replace(anchor, `${insert}\n${anchor}`);
}
// (The pause gives the nc on 5001, started in the background just before, time to bind.)
const BENCH_SERVER = withReadiness(SERVER, 'echo "TVS-RESULT ready=1"', 'sleep 1; nc -ll -p 5003 -e /bin/true &');
const BENCH_CLIENT = withReadiness(CLIENT, 'echo "TVS-MARK fetch-start"', 'i=0; until nc -w 2 $TVS_peer 5003 </dev/null >/dev/null 2>&1; do i=$((i+1)); [ $i -ge 600 ] && break; sleep 0.2; done');

interface Teardowns {
  fns: (() => void | Promise<void>)[];
  teardown(fn: () => void | Promise<void>): void;
}

async function runPair(img: GuestImage, kind: 'tvs' | 'linux', mib: number, env: Record<string, string>, scripts: { script?: string; downscript?: string }, n: number): Promise<number> {
  const td: Teardowns = { fns: [], teardown(fn) { this.fns.push(fn); } };
  try {
    const base = 0x60 + n * 2;
    const nic = (name: string, mac: string) => ({ kind: 'tap' as const, ifname: name, mac, env, ...scripts });
    const tapS = uniqueName('tvnbs');
    const tapC = uniqueName('tvnbc');
    const server = startGuest(td, img, { name: `${kind}-server`, nic: nic(tapS, guestMac(base)), params: { ip: '10.250.9.11/24', kib: String(mib * 1024) }, script: BENCH_SERVER, timeoutMs: 300_000 });
    const client = startGuest(td, img, { name: `${kind}-client`, nic: nic(tapC, guestMac(base + 1)), params: { ip: '10.250.9.12/24', peer: '10.250.9.11' }, script: BENCH_CLIENT, timeoutMs: 300_000 });
    await client.waitFor(/TVS-MARK fetch-start/, 240_000);
    const t0 = Date.now();
    const line = await client.waitFor(/TVS-RESULT nc_tries=\S+ client_md5=\S* client_bytes=\d*/, 280_000);
    const secs = (Date.now() - t0) / 1000;
    const bytes = Number(/client_bytes=(\d+)/.exec(line)?.[1] ?? 0);
    const tries = Number(/nc_tries=(\d+)/.exec(line)?.[1] ?? 0);
    if (tries > 0) console.log(`(${kind}: the fetch was retried ${tries} times: that run's time includes the retries)`);
    await client.done;
    await server.done;
    if (bytes !== mib * 1048576) throw new Error(`${kind}: received ${bytes} bytes, expected ${mib * 1048576}`);
    return (bytes * 8) / secs / 1e6;
  } finally {
    for (const fn of td.fns.reverse()) await fn();
  }
}

async function main(): Promise<void> {
  const mib = Number(process.argv[2] ?? 32);
  const runs = Number(process.argv[3] ?? 2);
  const why = guestSkipReason();
  if (why) {
    console.log(`qemu-bench skipped: ${why}`);
    return;
  }
  const img = await guestImage();
  if (typeof img === 'string') {
    console.log(`qemu-bench skipped: ${img}`);
    return;
  }
  const td: Teardowns = { fns: [], teardown(fn) { this.fns.push(fn); } };
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tvs-qbench-'));
  const lbr = uniqueName('tvnlbr');
  try {
    const d = await startDaemon(td);
    await tvsOk(d.control, ['add-br', 'br-int']);
    // Linux bridge with its own if-up/down scripts, in place of tvs-ifup/tvs-ifdown.
    execFileSync('ip', ['link', 'add', lbr, 'type', 'bridge']);
    execFileSync('ip', ['link', 'set', lbr, 'up']);
    const lbScripts = { script: path.join(dir, 'lb-ifup'), downscript: path.join(dir, 'lb-ifdown') };
    fs.writeFileSync(lbScripts.script, `#!/bin/sh\nip link set "$1" master ${lbr}\nip link set "$1" up\n`, { mode: 0o755 });
    fs.writeFileSync(lbScripts.downscript, '#!/bin/sh\nexit 0\n', { mode: 0o755 });
    const tvsEnv = ifupEnv(d.control, 'br-int', 1);
    const res: { tvs: number[]; linux: number[] } = { tvs: [], linux: [] };
    for (let r = 0; r < runs; r++) {
      for (const kind of ['tvs', 'linux'] as const) {
        const mbps = await runPair(img, kind, mib, tvsEnv, kind === 'tvs' ? {} : lbScripts, r * 2 + (kind === 'tvs' ? 0 : 1));
        res[kind].push(mbps);
        console.log(`run ${r + 1} ${kind.padEnd(5)} ${mib} MiB: ${mbps.toFixed(0)} Mbit/s`);
      }
    }
    const med = (a: number[]) => {
      const v = a.slice().sort((x, y) => x - y);
      const m = v.length >> 1;
      return v.length % 2 ? v[m] : (v[m - 1] + v[m]) / 2;
    };
    const tv = med(res.tvs);
    const lb = med(res.linux);
    console.log(`qemu VM↔VM TCP (TCG guests, ${mib} MiB, median of ${runs}): tvs ${tv.toFixed(0)} Mbit/s, Linux bridge ${lb.toFixed(0)} Mbit/s, ratio tvs/linux = ${(tv / lb).toFixed(2)}`);
  } finally {
    for (const fn of td.fns.reverse()) await fn();
    try {
      execFileSync('ip', ['link', 'del', lbr], { stdio: 'ignore' });
    } catch { /* not created */ }
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
