/**
 * `tvs start`: the switch process. Builds the switch (from --config if given), serves the
 * control socket, runs until SIGINT/SIGTERM, then closes every port (TAP devices it created
 * disappear unless persistent) and removes the socket.
 */
import { Switch } from '../datapath/switch';
import { ControlServer } from '../control/server';
import { switchCommands } from '../control/commands';
import { flowCommands } from '../control/flow-commands';
import { l3Commands } from '../control/l3-commands';
import { applyConfig, loadConfig } from '../control/config';
import { serveMetrics } from '../control/metrics';
import { reloadConfig } from '../control/reload';
import * as path from 'path';

export interface DaemonOptions {
  control: string;
  config?: string;
  busyPoll?: boolean;
  /** HOST:PORT for Prometheus metrics (off unless given). */
  metrics?: string;
}

export async function runDaemon(opts: DaemonOptions): Promise<void> {
  const sw = new Switch({ busyPoll: opts.busyPoll });
  if (opts.config) applyConfig(sw, loadConfig(opts.config), (br, flows) => sw.flows(br).addFlows(flows.join('\n')));
  const configPath = opts.config ? path.resolve(opts.config) : undefined;
  // Reload: the file given (absolute, from the CLI) or the one the switch started with.
  const reload = (file?: string) => {
    const f = file ?? configPath;
    if (!f) throw new Error('reload: no config file (the switch was started without --config; give FILE)');
    const report = reloadConfig(sw, loadConfig(f));
    log(`reloaded ${f}: +${report.added.length} -${report.removed.length} ~${report.replaced.length} =${report.unchanged}`);
    return report;
  };
  const server = new ControlServer(opts.control, switchCommands(sw, {
    ...flowCommands(sw),
    ...l3Commands(sw),
    reload: (a) => reload(typeof a.file === 'string' && a.file !== '' ? a.file : undefined),
  }));
  process.on('SIGHUP', () => {
    try {
      reload();
    } catch (e) {
      log(`SIGHUP reload refused, nothing changed: ${(e as Error).message}`);
    }
  });
  await server.listen();
  const metrics = opts.metrics ? await serveMetrics(sw, opts.metrics) : null;
  if (metrics) log(`metrics on http://${opts.metrics}/metrics`);
  sw.on('port-down', (e) => log(`port ${e.port} on ${e.bridge} is down (its interface went away?)`));
  sw.on('error', (e) => log(`error: ${(e as Error).message}`));
  sw.start();
  log(`tvs ${process.pid} running; control socket ${opts.control}`);
  await new Promise<void>((resolve) => {
    const stop = (sig: string) => {
      log(`${sig}: shutting down`);
      resolve();
    };
    process.once('SIGINT', () => stop('SIGINT'));
    process.once('SIGTERM', () => stop('SIGTERM'));
  });
  sw.stop();
  metrics?.close();
  await server.close();
}

function log(msg: string): void {
  process.stderr.write(`${new Date().toISOString()} tvs: ${msg}\n`);
}
