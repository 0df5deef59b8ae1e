/**
 * One bounded iperf3 TCP run between two namespaces: a one-shot server (`-1`, idle timeout) that
 * is ended by its PID in teardown, so a failed transfer leaves nothing behind.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { nsRun, waitListening } from '../../lab/daemon';
import type { Teardownable } from '../../lab/netns';

export interface IperfResult {
  /** Client exit status 0 and a JSON report with an `end` section: the test ran to its end. */
  completed: boolean;
  /** Bytes the server received (iperf3's end.sum_received). */
  bytes: number;
  bitsPerSecond: number;
  /** What to print when the run did not complete. */
  detail: string;
}

export async function iperfTcp(
  t: Teardownable,
  server: { ns: string; ip: string },
  clientNs: string,
  opts: { port?: number; seconds?: number } = {},
): Promise<IperfResult> {
  const port = opts.port ?? 5301;
  const seconds = opts.seconds ?? 2;
  const pidfile = path.join(os.tmpdir(), `tvs-iperf-${process.pid}-${port}.pid`);
  t.teardown(() => {
    try {
      process.kill(Number(fs.readFileSync(pidfile, 'utf8').trim()), 'SIGKILL');
    } catch {
      /* already gone */
    }
    fs.rmSync(pidfile, { force: true });
  });
  await nsRun(server.ns, ['iperf3', '-s', '-1', '-D', '-I', pidfile, '--idle-timeout', '30', '-B', server.ip, '-p', String(port)]);
  await waitListening(server.ns, port);
  const r = await nsRun(clientNs, ['iperf3', '-c', server.ip, '-p', String(port), '-t', String(seconds), '-J'], (seconds + 28) * 1000);
  let bytes = 0;
  let bps = 0;
  let ended = false;
  try {
    const j = JSON.parse(r.stdout);
    ended = j.end !== undefined && j.error === undefined;
    bytes = j.end?.sum_received?.bytes ?? 0;
    bps = j.end?.sum_received?.bits_per_second ?? 0;
  } catch {
    /* reported in detail */
  }
  return { completed: r.code === 0 && ended, bytes, bitsPerSecond: bps, detail: `exit ${r.code}: ${r.stdout.slice(0, 400)}${r.stderr}` };
}
