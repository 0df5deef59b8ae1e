/**
 * A private Open vSwitch (ovsdb-server + ovs-vswitchd, userspace datapath) for tests that run
 * the same checks against OVS as the reference: own run/db/log directory (the system's OVS, if
 * any, is never touched), both daemons ended by their PIDs in teardown.
 *
 * The userspace datapath's internal ports (one per bridge, plus `ovs-netdev`) are persistent TAP
 * devices in the namespace ovs-vswitchd runs in, and OVS leaves them behind when it is killed:
 * teardown deletes the bridges first and then any of those TAPs that are still there.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { sh, haveCmd, type Teardownable } from '../../lab/netns';
import { run, type CliResult } from '../../lab/daemon';

export function haveOvs(): boolean {
  return haveCmd('ovs-vswitchd') && haveCmd('ovsdb-server') && haveCmd('ovsdb-tool') && fs.existsSync('/usr/share/openvswitch/vswitch.ovsschema');
}

export interface Ovs {
  vsctl(...args: string[]): string;
  /** ovs-ofctl ARGS (never throws; the exit code is in the result). */
  ofctl(...args: string[]): Promise<CliResult>;
  /** ovs-appctl ARGS */
  appctl(...args: string[]): Promise<CliResult>;
}

/** The PID a detached OVS daemon wrote to `file` (waits up to 10 s for it to appear). */
export function readPid(file: string): number {
  for (let i = 0; i < 200; i++) {
    try {
      const p = Number(fs.readFileSync(file, 'utf8').trim());
      if (p > 0) return p;
    } catch {
      /* not yet */
    }
    sh(['sleep', '0.05']);
  }
  throw new Error(`no pid in ${file}`);
}

export async function startOvs(t: Teardownable): Promise<Ovs> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tvs-ovs-'));
  const env = ['env', `OVS_RUNDIR=${dir}`, `OVS_DBDIR=${dir}`, `OVS_LOGDIR=${dir}`, `OVS_SYSCONFDIR=${dir}`];
  const pids: number[] = [];
  let vsctlForTeardown: ((...args: string[]) => string) | null = null;
  t.teardown(async () => {
    const bridges = vsctlForTeardown ? vsctlForTeardown('list-br').split('\n').filter((b) => b !== '') : [];
    for (const br of bridges) vsctlForTeardown?.('--if-exists', 'del-br', br);
    for (const pid of pids.reverse()) {
      try {
        process.kill(pid, 'SIGTERM');
      } catch {
        continue;
      }
      for (let i = 0; i < 100; i++) {
        try {
          process.kill(pid, 0);
        } catch {
          break;
        }
        await new Promise((r) => setTimeout(r, 50));
      }
    }
    for (const dev of ['ovs-netdev', ...bridges]) {
      if (/\btun type tap\b/.test(sh(['ip', '-d', 'link', 'show', 'dev', dev], { allowFail: true }))) {
        sh(['ip', 'link', 'del', 'dev', dev], { allowFail: true });
      }
    }
    fs.rmSync(dir, { recursive: true, force: true });
  });
  const db = `unix:${path.join(dir, 'db.sock')}`;
  sh([...env, 'ovsdb-tool', 'create', path.join(dir, 'conf.db'), '/usr/share/openvswitch/vswitch.ovsschema']);
  sh([...env, 'ovsdb-server', path.join(dir, 'conf.db'), `--remote=punix:${path.join(dir, 'db.sock')}`, `--pidfile=${path.join(dir, 'ovsdb-server.pid')}`, '--detach', '--no-chdir', `--log-file=${path.join(dir, 'ovsdb.log')}`]);
  pids.push(readPid(path.join(dir, 'ovsdb-server.pid')));
  const vsctl = (...args: string[]): string => sh([...env, 'ovs-vsctl', `--db=${db}`, '--timeout=20', ...args], { timeoutMs: 30_000 });
  vsctl('--no-wait', 'init');
  vsctlForTeardown = (...args: string[]): string => sh([...env, 'ovs-vsctl', `--db=${db}`, '--timeout=5', ...args], { timeoutMs: 10_000, allowFail: true });
  sh([...env, 'ovs-vswitchd', db, `--pidfile=${path.join(dir, 'ovs-vswitchd.pid')}`, '--detach', '--no-chdir', `--log-file=${path.join(dir, 'vswitchd.log')}`]);
  pids.push(readPid(path.join(dir, 'ovs-vswitchd.pid')));
  const withEnv = (argv: string[]): Promise<CliResult> => run([...env, ...argv]);
  return {
    vsctl,
    ofctl: (...args) => withEnv(['ovs-ofctl', ...args]),
    appctl: (...args) => withEnv(['ovs-appctl', ...args]),
  };
}
