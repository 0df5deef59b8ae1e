/**
 * A capture of an OpenFlow session on loopback TCP, read back with tshark's OpenFlow dissector.
 *
 * tcpdump runs in immediate mode. Without it libpcap reads lo through a TPACKET_V3 ring whose
 * blocks reach tcpdump only when full or when their timeout (about a second) retires them;
 * stopping tcpdump sooner than that lost the last block (messages counted by tvs, absent from
 * the file). Callers wait until tshark decodes the messages they need before stopping.
 */
import * as fs from 'fs';
import * as path from 'path';
import { spawn, type ChildProcess } from 'child_process';
import { run, waitUntil } from '../../lab/daemon';
import type { Teardownable } from '../../lab/netns';

export interface OfCapture {
  /** tshark on the file with the port decoded as OpenFlow, plus `args`: its stdout. */
  tshark: (...args: string[]) => Promise<string>;
  /** The openflow_v4 message types decoded so far (throws while a record is half written). */
  decodedTypes: () => Promise<Set<number>>;
  /** Stop tcpdump (the file is complete afterwards). */
  stop: () => Promise<void>;
}

/** SIGTERM, up to 3 s to exit, then SIGKILL (by PID). */
export async function stopProcess(a: ChildProcess): Promise<void> {
  const kill = (sig: NodeJS.Signals) => {
    try {
      if (a.exitCode === null && a.signalCode === null && a.pid) process.kill(a.pid, sig);
    } catch {
      /* already gone */
    }
  };
  if (a.exitCode !== null || a.signalCode !== null) return;
  const gone = new Promise((r) => a.once('exit', r));
  kill('SIGTERM');
  await Promise.race([gone, new Promise((r) => setTimeout(r, 3000))]);
  kill('SIGKILL');
}

/** Capture TCP `port` on lo into `dir`/session.pcap until stop() or the test's end. */
export async function captureOpenflow(t: Teardownable, dir: string, port: number): Promise<OfCapture> {
  const pcap = path.join(dir, 'session.pcap');
  const capture = spawn('tcpdump', ['-i', 'lo', '--immediate-mode', '-U', '-s', '0', '-w', pcap, 'tcp', 'port', String(port)], { stdio: 'ignore' });
  t.teardown(() => stopProcess(capture));
  await waitUntil('tcpdump to start', () => fs.existsSync(pcap), 5_000, 200);
  const tshark = async (...args: string[]) => {
    const r = await run(['tshark', '-n', '-r', pcap, '-d', `tcp.port==${port},openflow`, ...args], 30_000);
    if (r.code !== 0) throw new Error(`tshark ${args.join(' ')} failed (${r.code}): ${r.stderr}`);
    return r.stdout.trim();
  };
  const decodedTypes = async () => new Set((await tshark('-Y', 'openflow_v4', '-T', 'fields', '-e', 'openflow_v4.type')).split(/[\s,]+/).filter(Boolean).map(Number));
  return { tshark, decodedTypes, stop: () => stopProcess(capture) };
}
