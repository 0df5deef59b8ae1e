/**
 * `tvs start`: the switch process. Builds the switch (from --config if given), serves the
 * control socket (and metrics if asked), logs what happens, reloads on SIGHUP, runs until
 * SIGINT/SIGTERM, then closes every port (TAP devices it created disappear unless persistent)
 * and removes the socket.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { Switch } from '../datapath/switch';
import { ControlServer } from '../control/server';
import { switchCommands } from '../control/commands';
import { flowCommands } from '../control/flow-commands';
import { l3Commands } from '../control/l3-commands';
import { applyConfig, loadConfig } from '../control/config';
import { serveMetrics } from '../control/metrics';
import { reloadConfig } from '../control/reload';
import { ConfigError } from '../control/validate';
import { Level, Logger } from '../control/log';
import { OpenFlowService } from '../openflow/service';
import { openflowCommands } from '../openflow/commands';
import { DEFAULT_HELPER_NICE, DEFAULT_HELPER_SATURATED_NICE, DEFAULT_HELPER_SCHED, HelperThreads, canLeaveIdle, type HelperSched, type SetThreadNormal } from './helper-threads';
import { DEFAULT_DATAPATH_SLICE_US, applyDatapathSlice, sliceOnSaturation, type DatapathSliceState } from './datapath-slice';
import { loadBinding } from '../io/binding';
import { wakeAheadStats } from '../io/native-port';
import { QuietTrim } from './quiet-trim';
import { DEFAULT_WARM_UP_FRAMES, warmUpDatapath } from '../datapath/warm-up';

export interface DaemonOptions {
  control: string;
  config?: string;
  busyPoll?: boolean;
  /** Spin budget in µs after traffic (Switch spinUs). */
  spinUs?: number;
  /** Wake-ahead budget in µs for periodic traffic (Switch wakeAheadUs). */
  wakeAheadUs?: number;
  /** HOST:PORT for Prometheus metrics (off unless given). */
  metrics?: string;
  logLevel?: Level;
  logFormat?: 'text' | 'json';
  /**
   * Nice value for the process's helper threads (V8 compiler/GC workers, libuv's pool), so they
   * never preempt the datapath thread (helper-threads.ts); 0 leaves them alone. Default 19.
   */
  helperNice?: number;
  /** 'auto' (default): SCHED_IDLE while the datapath is calm; 'normal': the nice value only; 'idle': always SCHED_IDLE. */
  helperSched?: HelperSched;
  /** 'auto': helpers' nice value while the datapath is saturated. Default DEFAULT_HELPER_SATURATED_NICE where allowed. */
  helperSaturatedNice?: number;
  /** Scheduler slice of the datapath thread in µs (datapath-slice.ts); 0 keeps the kernel's. Default 100. */
  datapathSliceUs?: number;
  /**
   * Synthetic frames run through the datapath code on a private scratch switch before anything is
   * configured, so V8 has compiled it before the first real frame (datapath/warm-up.ts); 0: none.
   * Default DEFAULT_WARM_UP_FRAMES.
   */
  warmUpFrames?: number;
}

export async function runDaemon(opts: DaemonOptions): Promise<void> {
  const log = new Logger(opts.logLevel ?? 'info', opts.logFormat ?? 'text');
  // The signal handlers come first: a SIGTERM at any moment from here on takes the shutdown
  // path (ports closed, socket removed) instead of Node's default of dying where it stands.
  let stopSignal: string | null = null;
  let wake: () => void = () => {};
  const stopped = new Promise<void>((resolve) => (wake = resolve));
  const onSignal = (sig: string) => {
    if (stopSignal === null) {
      stopSignal = sig;
      log.info('shutting down', { signal: sig });
    }
    wake();
  };
  const onInt = () => onSignal('SIGINT');
  const onTerm = () => onSignal('SIGTERM');
  process.on('SIGINT', onInt);
  process.on('SIGTERM', onTerm);
  try {
    await serve(opts, log, () => stopSignal !== null, stopped);
  } finally {
    process.off('SIGINT', onInt);
    process.off('SIGTERM', onTerm);
  }
}

/**
 * One of the addon's per-thread policy calls (SCHED_IDLE, back to SCHED_OTHER), or null without
 * the addon (helpers then only get a nice value).
 */
function threadPolicySetter(call: 'setThreadIdle' | 'setThreadNormal'): ((tid: number) => number) | null {
  try {
    const b = loadBinding();
    const set = b[call];
    return set ? (tid) => set.call(b, tid) : null;
  } catch {
    return null;
  }
}

/**
 * Give the datapath (this, the main) thread its short scheduler slice; never throws. Logged:
 * `datapath thread slice` when the kernel took it, a warning naming why when it did not.
 */
function setDatapathSlice(us: number, log: Logger): DatapathSliceState {
  let set = null;
  let get = null;
  try {
    const b = loadBinding();
    if (b.setThreadSlice && b.getThreadSlice) {
      set = (tid: number, ns: number) => b.setThreadSlice!(tid, ns);
      get = (tid: number) => b.getThreadSlice!(tid);
    }
  } catch {
    /* no addon: reported below */
  }
  const st = applyDatapathSlice(us, process.pid, set, get);
  if (st.applied) log.info('datapath thread slice', { slice_us: st.slice_us });
  else if (us !== 0) log.warn('datapath thread slice left at the kernel default', { requested_us: us, slice_us: st.slice_us, error: st.error });
  return st;
}

/**
 * What tells this daemon from others, stable across restarts: the host (its machine-id, else
 * its name) and the control socket (two daemons on one host never share one). Bridges' default
 * OpenFlow datapath ids derive from it.
 */
function daemonInstance(control: string): string {
  let host = os.hostname();
  try {
    host = fs.readFileSync('/etc/machine-id', 'utf8').trim() || host;
  } catch {
    /* no machine-id: the host name */
  }
  return `${host}:${path.resolve(control)}`;
}

async function serve(opts: DaemonOptions, log: Logger, stopping: () => boolean, stopped: Promise<void>): Promise<void> {
  const sw = new Switch({ busyPoll: opts.busyPoll, spinUs: opts.spinUs, wakeAheadUs: opts.wakeAheadUs, instance: daemonInstance(opts.control) });
  const configPath = opts.config ? path.resolve(opts.config) : undefined;
  // Reload: the file given (absolute, from the CLI) or the one the switch started with.
  const reload = (file?: string) => {
    const f = file ?? configPath;
    if (!f) throw new Error('reload: no config file (the switch was started without --config; give FILE)');
    let report;
    try {
      report = reloadConfig(sw, loadConfig(f));
    } catch (e) {
      if (e instanceof ConfigError && e.where === undefined) throw new ConfigError(e.problems, `config ${f}`);
      throw e;
    }
    log.info('config reloaded', { file: f, added: report.added.length, removed: report.removed.length, replaced: report.replaced.length, unchanged: report.unchanged });
    return report;
  };
  // The datapath thread's slice, set once the switch is about to run (helpers.check() below);
  // helper threads created after that inherit it and are put back to the default.
  let slice: DatapathSliceState = { requested_us: 0, slice_us: 0, applied: false };
  const helperNice = opts.helperNice ?? DEFAULT_HELPER_NICE;
  let helperSched = opts.helperSched ?? DEFAULT_HELPER_SCHED;
  let setNormal: SetThreadNormal | null = null;
  let saturatedNice = helperNice;
  if (helperSched === 'auto') {
    // Without the right to leave SCHED_IDLE a saturated switch could not give its compiler the
    // core back: keep the nice value only.
    setNormal = canLeaveIdle(helperNice) ? threadPolicySetter('setThreadNormal') : null;
    if (setNormal === null) {
      // Asked for, it is a warning; as the default (an unprivileged user), only information.
      const say = opts.helperSched === 'auto' ? log.warn.bind(log) : log.info.bind(log);
      say('--helper-sched auto needs CAP_SYS_NICE or RLIMIT_NICE to leave SCHED_IDLE: helpers keep the normal policy', { nice: helperNice });
      helperSched = 'normal';
    } else {
      // At most the nice value (a lower priority while saturated than while calm would make no
      // sense), and only as high a priority as the process may give a thread back.
      const asked = Math.min(opts.helperSaturatedNice ?? DEFAULT_HELPER_SATURATED_NICE, helperNice);
      if (canLeaveIdle(asked)) saturatedNice = asked;
      else if (opts.helperSaturatedNice !== undefined) log.warn('--helper-nice-saturated needs CAP_SYS_NICE or RLIMIT_NICE: helpers keep their nice value while saturated', { nice: helperNice, asked });
    }
  }
  const helpers = new HelperThreads(
    helperNice,
    (msg, fields, failed) => (failed ? log.warn(msg, fields) : log.info(msg, fields)),
    undefined,
    undefined,
    helperSched !== 'normal' ? threadPolicySetter('setThreadIdle') : null,
    (tid) => (slice.applied ? loadBinding().setThreadSlice!(tid, 0) : 0),
    setNormal,
    saturatedNice,
  );
  // OpenFlow: management sockets (DIR/BR.mgmt next to the control socket) and controllers.
  const openflow = new OpenFlowService(sw, { controlPath: opts.control, log: (m, f) => log.info(m, f) });
  // Memory start-up and configuration touched once goes back once they are over (quiet-trim.ts).
  // `gc` is there when node runs with --expose-gc (the tvs script's flags: node-flags.ts).
  const fullGc = (globalThis as { gc?: () => void }).gc;
  const trim = new QuietTrim(
    (idle) => {
      // While nothing flows (never in a trim that traffic forced): a full collection, so the
      // garbage of start-up and configuration (the warm-up's scratch switch, the requests' parsing)
      // goes now, and V8 sets its next old-generation limit from what stays; otherwise the
      // collection it owed ran at the first load, a mark-compact of 7-9 ms at the generator's
      // maximum (bench/results/README.md, "The switch's own stalls under load").
      if (idle && fullGc !== undefined) fullGc();
      try {
        const t0 = process.hrtime.bigint();
        const r = loadBinding().trimMemory?.();
        if (r) log.debug('memory trimmed', { exec_bytes: r.execBytes, malloc_trimmed: r.mallocTrimmed, us: Number(process.hrtime.bigint() - t0) / 1000, rss: process.memoryUsage.rss() });
      } catch {
        /* no addon: nothing mapped by it either */
      }
    },
    () => {
      let n = 0;
      for (const p of sw.allPorts()) n += p.counters.rxPackets;
      return n;
    },
    () => process.memoryUsage.rss(),
  );
  const server: ControlServer = new ControlServer(
    opts.control,
    switchCommands(sw, {
      ...flowCommands(sw),
      ...openflowCommands(openflow),
      ...l3Commands(sw),
      reload: (a) => reload(typeof a.file === 'string' && a.file !== '' ? a.file : undefined),
      'control-stats': () => ({ ...server.counters, limits: server.limits, helper_threads: helpers.stats, datapath_slice: slice, wake_ahead: wakeAheadStats() }),
    }),
    { log, afterRequest: () => trim.poke() },
  );
  process.on('SIGHUP', () => {
    try {
      reload();
      trim.poke();
    } catch (e) {
      log.warn('SIGHUP reload refused, nothing changed', { error: (e as Error).message });
    }
  });
  let metrics: Awaited<ReturnType<typeof serveMetrics>> | null = null;
  try {
    // The config file is read and checked first: a bad one is refused at once, before any warm-up.
    const config = configPath ? loadConfig(configPath) : undefined;
    // Before the first port exists: nothing of the user's switch is touched by it.
    const warmUpFrames = opts.warmUpFrames ?? DEFAULT_WARM_UP_FRAMES;
    if (warmUpFrames > 0) {
      const t0 = process.hrtime.bigint();
      const w = await warmUpDatapath({ frames: warmUpFrames });
      log.info('datapath warmed up', { frames: w.frames, forwarded: w.forwarded, cpu_ms: w.cpuMs, ms: Math.round(Number(process.hrtime.bigint() - t0) / 1e6) });
    }
    // Before the first port: the warm-up's scratch switch and start-up's garbage go now, in a
    // full collection nothing waits for (see fullGc above).
    fullGc?.();
    if (stopping()) return;
    if (configPath && config) {
      applyConfig(sw, config, (br, flows) => sw.flows(br).addFlows(flows.join('\n')));
      log.info('config applied', { file: configPath });
    }
    if (stopping()) return;
    await server.listen();
    if (stopping()) return;
    await openflow.start();
    if (stopping()) return;
    metrics = opts.metrics ? await serveMetrics(sw, opts.metrics, () => server.counters, () => helpers.stats) : null;
    if (metrics) log.info('metrics served', { url: `http://${opts.metrics}/metrics` });
    sw.on('port-added', (e) => log.info('port added', e));
    sw.on('port-deleted', (e) => log.info('port deleted', e));
    sw.on('port-down', (e) => log.warn('port down (its interface went away?)', e));
    sw.on('flow-removed', (e) => log.debug('flow removed', e));
    sw.on('error', (e) => log.error('error', { error: (e as Error).message }));
    sw.on('warning', (e) => log.warn('warning', { error: (e as Error).message }));
    sw.on('port-link', (e) => log.debug('port link', { bridge: e.bridge, port: e.port, adminUp: e.link.adminUp, carrier: e.link.running, operstate: e.link.operstate, mac: e.link.mac }));
    if (opts.logLevel === 'debug') {
      sw.on('mac', (e) => log.debug('mac', e));
      sw.on('nat', (e) => log.debug('nat session', { router: e.router, event: e.event, proto: e.session.proto, kind: e.session.kind }));
    }
    if (stopping()) return;
    slice = setDatapathSlice(opts.datapathSliceUs ?? DEFAULT_DATAPATH_SLICE_US, log);
    if (slice.applied) sw.on('saturation', sliceOnSaturation(slice, process.pid, (tid, ns) => loadBinding().setThreadSlice!(tid, ns)));
    if (helpers.stats.sched === 'auto') sw.on('saturation', (on: boolean) => helpers.setSaturated(on));
    // Helper threads started so far (V8's, Node's) now; later ones (libuv's pool is made on
    // first use) on the housekeeping tick.
    helpers.check();
    sw.on('tick', () => helpers.check());
    sw.start();
    log.info('running', { pid: process.pid, control: opts.control });
    trim.poke();
    await stopped;
  } finally {
    trim.stop();
    // Every step is attempted even if one fails, so the socket never outlives the process.
    try {
      sw.stop();
    } catch (e) {
      log.error('stopping the switch failed', { error: (e as Error).message });
    }
    metrics?.close();
    await openflow.stop();
    await server.close();
  }
}
