/**
 * os-ken (Debian's python3-os-ken, the framework Neutron's OVS agent is built on) as the
 * controller of a test: an app from test/osken/ run by Debian's `osken-manager` with Debian's
 * python (a python3 earlier on PATH may not see Debian's packages), listening on loopback TCP,
 * its log in a file, killed when the test ends.
 */
import * as fs from 'fs';
import * as path from 'path';
import { spawn, type ChildProcess } from 'child_process';
import { waitUntil } from '../../lab/daemon';
import type { Teardownable } from '../../lab/netns';

export const OSKEN_PY = '/usr/bin/python3';
export const OSKEN_MANAGER = '/usr/bin/osken-manager';

/** Is Debian's os-ken there to run apps with? */
export function haveOsken(): boolean {
  return fs.existsSync(OSKEN_MANAGER) && fs.existsSync(OSKEN_PY);
}

/** The path of an app in test/osken/ (from the compiled test tree). */
export function oskenAppPath(file: string): string {
  return path.resolve(__dirname, '../../../test/osken', file);
}

export interface OskenApp {
  proc: ChildProcess;
  /** Its log so far. */
  log: () => string;
}

/**
 * Start `app` on 127.0.0.1:`port` with `env` added, logging to `logFile`; resolves once
 * osken-manager has instantiated its OpenFlow handler (it accepts switches from then on).
 */
export async function startOsken(t: Teardownable, app: string, port: number, logFile: string, env: Record<string, string> = {}): Promise<OskenApp> {
  const out = fs.openSync(logFile, 'w');
  const proc = spawn(OSKEN_PY, [OSKEN_MANAGER, '--ofp-listen-host', '127.0.0.1', '--ofp-tcp-listen-port', String(port), app], {
    stdio: ['ignore', out, out],
    env: { ...process.env, ...env },
  });
  fs.closeSync(out);
  t.teardown(() => {
    try {
      if (proc.exitCode === null && proc.signalCode === null && proc.pid) process.kill(proc.pid, 'SIGKILL');
    } catch {
      /* already gone */
    }
  });
  const log = () => fs.readFileSync(logFile, 'utf8');
  await waitUntil(`os-ken (${path.basename(app)}) to listen`, () => /instantiating app .*OFPHandler/.test(log()), 15_000, 100);
  return { proc, log };
}
