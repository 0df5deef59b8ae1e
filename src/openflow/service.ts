/**
 * OpenFlow for a running switch: one passive management socket per bridge (`punix:`, as OVS's
 * `/var/run/openvswitch/BR.mgmt`), sessions on it, and the switch events that become
 * asynchronous messages (packet-in, flow-removed, port-status). Listeners follow bridges as
 * they are added and deleted.
 */
import * as fs from 'fs';
import * as net from 'net';
import * as path from 'path';
import type { Switch, PacketIn } from '../datapath/switch';
import type { FlowEntry } from '../flow/table';
import type { LinkInfo } from '../io/binding';
import type { FlowRemovedReason } from '../flow/pipeline';
import { NO_BUFFER, PORT_REASON, PR, ROLE, RR, OFPCML_NO_BUFFER } from '../wire/openflow/constants';
import type { OfMessage } from '../wire/openflow/messages';
import { packetInMatch } from './packet-in-match';
import { BridgeAgent } from './agent';
import { OfSession, SEND_QUEUE_FULL } from './session';
import { ruleToFlowStats } from './rule-map/flow-mod';
import { controllerLink, parseTarget, type ControllerLink } from './controller';

import type { FailMode } from '../datapath/controller-target';
import { formatDatapathId } from '../datapath/datapath-id';


/** The management socket of a bridge next to the control socket (`DIR/BR.mgmt`). */
export function mgmtSocketPath(controlPath: string, bridge: string): string {
  return path.join(path.dirname(controlPath), `${bridge}.mgmt`);
}

/**
 * Bounds on OpenFlow connections: per listener (a bridge's management socket, a ptcp target)
 * and for the whole service. An idle connection costs 4.5-5.5 KB of RSS (10,000 measured:
 * +43 to +55 MB, mostly Node's socket), so the bound is under 90 MB, and it stays below the
 * 20,000 descriptors this system's hard limit allows. Beyond it a connection is accepted and
 * closed at once, and counted (connectionsRefused).
 */
export const DEFAULT_MAX_CONNECTIONS = 16384;

export interface OpenFlowOptions {
  /** Control socket path; management sockets go next to it. */
  controlPath: string;
  /** Echo probe after this much silence, disconnect after twice (ms; OVS default 5 s). */
  probeMs?: number;
  /** At most this many connections per listener (bounds memory). */
  maxConnections?: number;
  /** At most this many OpenFlow connections in all (default DEFAULT_MAX_CONNECTIONS). */
  maxTotalConnections?: number;
  log?: (msg: string, fields?: Record<string, unknown>) => void;
}

interface BridgeOf {
  agent: BridgeAgent;
  server: net.Server | null;
  socketPath: string;
  sessions: Set<OfSession>;
  generation: { value: bigint | null };
  controllers: ControllerLink[];
  /** The datapath id the controllers were told (a change makes them reconnect, as OVS does). */
  datapathId: bigint;
  /** Port numbers by name, so a PORT_STATUS delete still names the number the port had. */
  ofports: Map<string, number>;
}

export interface OpenFlowStats {
  connectionsAccepted: number;
  /** Refused: a listener or the whole service at its bound, or accept() failing (EMFILE...). */
  connectionsRefused: number;
  /** Closed by tvs because the peer stopped reading (its send queue stayed full). */
  connectionsDropped: number;
  /** OpenFlow connections open now (all bridges, passive and active). */
  connectionsOpen: number;
  packetIns: number;
  packetInsDropped: number;
}

export class OpenFlowService {
  private readonly bridges = new Map<string, BridgeOf>();
  private timer: NodeJS.Timeout | null = null;
  readonly stats: OpenFlowStats = { connectionsAccepted: 0, connectionsRefused: 0, connectionsDropped: 0, connectionsOpen: 0, packetIns: 0, packetInsDropped: 0 };
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  private readonly listeners: [string, (...a: any[]) => void][] = [];

  constructor(
    private readonly sw: Switch,
    private readonly opts: OpenFlowOptions,
  ) {}

  /** Connections one listener (management socket, ptcp target) accepts at once. */
  private get maxConnections(): number {
    return this.opts.maxConnections ?? DEFAULT_MAX_CONNECTIONS;
  }

  async start(): Promise<void> {
    // eslint-disable-next-line @typescript-eslint/no-explicit-any
    const on = (ev: string, fn: (e: any) => void) => {
      this.sw.on(ev, fn);
      this.listeners.push([ev, fn]);
    };
    on('bridge-added', (e: { bridge: string }) => void this.addBridge(e.bridge).catch((err) => this.log('management socket failed', { bridge: e.bridge, error: (err as Error).message })));
    on('bridge-deleted', (e: { bridge: string }) => this.delBridge(e.bridge));
    on('flow-removed', (e: { bridge: string; reason: FlowRemovedReason; entry?: FlowEntry }) => this.flowRemoved(e.bridge, e.reason, e.entry));
    on('port-added', (e: { bridge: string; port: string; ofport: number }) => this.portStatus(e.bridge, PORT_REASON.ADD, e.port, e.ofport, true));
    on('port-deleted', (e: { bridge: string; port: string; ofport?: number }) => this.portStatus(e.bridge, PORT_REASON.DELETE, e.port, e.ofport ?? 0, false));
    on('port-down', (e: { bridge: string; port: string }) => this.portStatus(e.bridge, PORT_REASON.MODIFY, e.port, -1, false));
    on('port-link', (e: { bridge: string; port: string; link: LinkInfo }) => this.portLink(e.bridge, e.port, e.link));
    if (this.sw.onPacketIn === null) this.sw.onPacketIn = (pi) => this.packetIn(pi);
    for (const b of this.sw.bridges.keys()) await this.addBridge(b);
    for (const b of this.sw.bridges.keys()) this.reconcile(b);
    const probe = this.opts.probeMs ?? 5000;
    this.timer = setInterval(() => {
      for (const [name, b] of this.bridges) {
        this.reconcile(name);
        for (const s of b.sessions) s.tick(probe);
      }
    }, 1000);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    for (const [ev, fn] of this.listeners) this.sw.off(ev, fn);
    for (const b of [...this.bridges.keys()]) this.delBridge(b);
  }

  private log(msg: string, fields?: Record<string, unknown>): void {
    this.opts.log?.(msg, fields);
  }

  /** Sessions of a bridge (tests, `show`). */
  sessions(bridge: string): OfSession[] {
    return [...(this.bridges.get(bridge)?.sessions ?? [])];
  }

  socketPath(bridge: string): string {
    return mgmtSocketPath(this.opts.controlPath, bridge);
  }

  async addBridge(name: string): Promise<void> {
    if (this.bridges.has(name)) return;
    const b: BridgeOf = {
      agent: new BridgeAgent(this.sw, name),
      server: null,
      socketPath: this.socketPath(name),
      sessions: new Set(),
      generation: { value: null },
      controllers: [],
      datapathId: this.sw.bridge(name).datapathId,
      ofports: new Map(this.sw.bridge(name).portList.map((p) => [p.name, p.ofport])),
    };
    this.bridges.set(name, b);
    const p = b.socketPath;
    fs.mkdirSync(path.dirname(p), { recursive: true, mode: 0o755 });
    try {
      fs.unlinkSync(p); // a stale socket of an earlier run (the control socket already proved we own the directory)
    } catch {
      /* none */
    }
    const server = net.createServer((sock) => this.accept(b, sock));
    server.maxConnections = this.maxConnections;
    server.on('drop', () => this.stats.connectionsRefused++);
    // accept() failing (EMFILE when descriptors run out) is a refused connection, not a crash.
    server.on('error', (e) => {
      this.stats.connectionsRefused++;
      this.log('management socket accept failed', { bridge: name, error: e.message });
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      const old = process.umask(0o177); // 0600 from the first moment
      server.listen(p, () => {
        process.umask(old);
        resolve();
      });
    });
    fs.chmodSync(p, 0o600);
    if (!this.bridges.has(name)) {
      server.close();
      return;
    }
    b.server = server;
    this.reconcile(name);
  }

  delBridge(name: string): void {
    const b = this.bridges.get(name);
    if (!b) return;
    this.bridges.delete(name);
    for (const c of b.controllers) c.stop();
    for (const s of [...b.sessions]) s.close('bridge deleted');
    if (b.server) {
      b.server.close();
      try {
        fs.unlinkSync(b.socketPath);
      } catch {
        /* gone */
      }
    }
  }

  // ---------------------------------------------------------------- controllers, fail mode

  private bridgeOf(name: string): BridgeOf {
    this.sw.bridge(name); // throws "no bridge named" for an unknown one
    const b = this.bridges.get(name);
    if (!b) throw new Error(`bridge '${name}' has no OpenFlow state yet (retry)`);
    return b;
  }

  /** Replace the bridge's controllers (empty = none). Targets are checked before anything changes. */
  setController(bridge: string, targets: string[]): void {
    this.bridgeOf(bridge);
    targets.forEach(parseTarget);
    this.sw.bridge(bridge).controllers = [...targets];
    this.reconcile(bridge);
  }

  /**
   * Make the bridge's connections match its `controllers` (set by set-controller, the config
   * file or reload); connections to unchanged targets are kept.
   */
  reconcile(bridge: string): void {
    const b = this.bridges.get(bridge);
    const br = this.sw.bridges.get(bridge);
    if (!b || !br) return;
    const want = br.controllers;
    const have = b.controllers.map((c) => c.target.text);
    // A new datapath id cannot be announced: drop the controller connections so they
    // reconnect and ask again (OVS ofproto_set_datapath_id).
    const newId = br.datapathId !== b.datapathId;
    if (newId) {
      b.datapathId = br.datapathId;
      if (b.controllers.length > 0) this.log('datapath id changed: controllers reconnect', { bridge, datapathId: formatDatapathId(b.datapathId) });
    }
    if (newId || want.length !== have.length || want.some((w, i) => w !== have[i])) {
      for (const c of b.controllers) c.stop();
      b.controllers = [];
      for (const text of want) {
        let target;
        try {
          target = parseTarget(text);
        } catch (e) {
          this.log('controller target refused', { bridge, error: (e as Error).message });
          continue;
        }
        const c = controllerLink(
          target,
          (sock) => {
            void this.attach(b, sock, target.listen !== undefined);
          },
          () => this.updateFailOpen(bridge),
          this.maxConnections,
          () => this.stats.connectionsRefused++,
        );
        b.controllers.push(c);
        c.start();
      }
    }
    this.updateFailOpen(bridge);
  }

  getController(bridge: string): {
    targets: { target: string; connected: boolean; attempts: number; lastError: string }[];
    failMode: FailMode;
    failOpen: boolean;
    packetIns: number;
    packetOuts: number;
    /** OpenFlow connections of this bridge open now (management socket, controllers). */
    connections: number;
    /** Service-wide connection counters (all bridges). */
    service: OpenFlowStats;
  } {
    const b = this.bridgeOf(bridge);
    return {
      connections: b.sessions.size,
      service: { ...this.stats },
      packetIns: b.agent.packetIns,
      packetOuts: b.agent.packetOuts,
      targets: b.controllers.map((c) => ({ target: c.target.text, connected: c.connected, attempts: c.attempts, lastError: c.lastError })),
      failMode: this.sw.bridge(bridge).failMode,
      failOpen: this.sw.bridge(bridge).failOpen,
    };
  }

  setFailMode(bridge: string, mode: string): void {
    if (mode !== 'standalone' && mode !== 'secure') throw new Error(`fail mode '${mode}': standalone or secure`);
    const b = this.bridgeOf(bridge);
    const br = this.sw.bridge(bridge);
    const changed = br.failMode !== mode;
    br.failMode = mode;
    // As OVS (connmgr_set_fail_mode): changing the fail mode of a bridge without controllers
    // flushes its flows, and only standalone gets the default priority=0,actions=NORMAL back, so
    // a secure bridge never forwards on its own.
    if (changed && b.controllers.length === 0) {
      const flows = this.sw.flows(bridge);
      flows.delFlows();
      if (mode === 'standalone') flows.addDefaultFlow();
    }
    this.updateFailOpen(bridge);
  }

  /**
   * OVS semantics: with controllers configured, 'standalone' forwards by NORMAL while none is
   * connected (fail open) and 'secure' keeps the flows, dropping table misses. Without
   * controllers 'secure' still never sets up forwarding on its own: an empty table drops.
   */
  private updateFailOpen(bridge: string): void {
    const b = this.bridges.get(bridge);
    let br;
    try {
      br = this.sw.bridge(bridge);
    } catch {
      return;
    }
    if (!b) return;
    const have = b.controllers.length > 0;
    const up = b.controllers.some((c) => c.connected);
    const open = have && br.failMode === 'standalone' && !up;
    if (open !== br.failOpen) this.log(open ? 'fail open: no controller connected, forwarding by NORMAL' : 'controller connected: flows in charge', { bridge });
    br.failOpen = open;
  }

  private accept(b: BridgeOf, sock: net.Socket): void {
    this.attach(b, sock, true);
  }

  /** Run a session over a connected socket (passive accept or active controller). */
  private attach(b: BridgeOf, sock: net.Socket, accepted: boolean): OfSession | null {
    if (accepted) {
      if (this.stats.connectionsOpen >= (this.opts.maxTotalConnections ?? DEFAULT_MAX_CONNECTIONS)) {
        this.stats.connectionsRefused++;
        sock.destroy();
        return null;
      }
      this.stats.connectionsAccepted++;
    }
    this.stats.connectionsOpen++;
    const s = new OfSession(sock, b.agent, {
      clock: () => Date.now(),
      generation: b.generation,
      // Accepted on a listener (the management socket, a ptcp target): OVS's service connection.
      service: accepted,
      onClose: (x, reason) => {
        this.stats.connectionsOpen--;
        if (reason === SEND_QUEUE_FULL) this.stats.connectionsDropped++;
        b.sessions.delete(x);
        sock.destroy();
      },
      onMaster: (x) => {
        for (const o of b.sessions) if (o !== x && o.role === ROLE.MASTER) o.role = ROLE.SLAVE;
      },
    });
    b.sessions.add(s);
    sock.on('data', (c) => s.receive(c));
    sock.on('drain', () => s.drained());
    sock.on('error', () => s.close('socket error'));
    sock.on('close', () => s.close('peer closed'));
    return s;
  }

  // ---------------------------------------------------------------- async messages

  private broadcast(bridge: string, m: OfMessage, toSlaves: boolean): number {
    const b = this.bridges.get(bridge);
    if (!b) return 0;
    let n = 0;
    for (const s of b.sessions) {
      if (!s.receivesAsync || (!toSlaves && s.role === ROLE.SLAVE)) continue;
      if (s.sendAsync(m)) n++;
    }
    return n;
  }

  packetIn(pi: PacketIn): void {
    const b = this.bridges.get(pi.bridge);
    if (!b) return;
    this.stats.packetIns++;
    const reason = pi.reason === 'no_match' ? PR.NO_MATCH : pi.reason === 'invalid_ttl' ? PR.INVALID_TTL : PR.ACTION;
    const match = packetInMatch(pi.key);
    for (const s of b.sessions) {
      if (!s.receivesAsync || s.role === ROLE.SLAVE) continue;
      // tvs keeps no buffers (buffer_id is always NO_BUFFER): the data is the frame cut to the
      // controller action's max_len (OFPCML_NO_BUFFER = all of it). A packet-in no action asked
      // for (maxLen < 0: an implicit miss, invalid TTL) carries the connection's miss_send_len.
      const want = pi.maxLen >= 0 ? pi.maxLen : s.missSendLen;
      const max = want === OFPCML_NO_BUFFER ? pi.frame.length : Math.min(want, pi.frame.length);
      const ok = s.sendAsync({
        type: 'packet_in',
        xid: 0,
        bufferId: NO_BUFFER,
        totalLen: pi.frame.length,
        reason,
        tableId: pi.table,
        cookie: pi.cookie,
        match,
        data: pi.frame.subarray(0, max),
      });
      if (!ok) this.stats.packetInsDropped++;
      else b.agent.packetIns++;
    }
  }

  private flowRemoved(bridge: string, reason: FlowRemovedReason, e: FlowEntry | undefined): void {
    if (!e || !e.rule.flags.includes('send_flow_rem')) return;
    let st: ReturnType<typeof ruleToFlowStats>;
    try {
      st = ruleToFlowStats(e.rule, e.nPackets, e.nBytes, e.durationMs);
    } catch (err) {
      // A match OpenFlow cannot carry: no FLOW_REMOVED rather than one naming another flow.
      this.log('flow_removed not sent', { bridge, error: (err as Error).message });
      return;
    }
    this.broadcast(
      bridge,
      {
        type: 'flow_removed',
        xid: 0,
        cookie: st.cookie,
        priority: st.priority,
        reason: reason === 'idle_timeout' ? RR.IDLE_TIMEOUT : reason === 'hard_timeout' ? RR.HARD_TIMEOUT : RR.DELETE,
        tableId: st.tableId,
        durationSec: st.durationSec,
        durationNsec: st.durationNsec,
        idleTimeout: st.idleTimeout,
        hardTimeout: st.hardTimeout,
        packetCount: st.packetCount,
        byteCount: st.byteCount,
        match: st.match,
      },
      false,
    );
  }

  /**
   * The kernel reported the device behind a port (`ip link set DEV down/up/address`, carrier):
   * the PORT_STATUS MODIFYs OVS 3.1 sends for it, at once (the switch's link monitor).
   */
  private portLink(bridge: string, name: string, link: LinkInfo): void {
    const b = this.bridges.get(bridge);
    const p = this.sw.bridges.get(bridge)?.port(name);
    if (!b || !p) return;
    for (const port of b.agent.linkChanged(p, link)) this.broadcast(bridge, { type: 'port_status', xid: 0, reason: PORT_REASON.MODIFY, port }, true);
  }

  private portStatus(bridge: string, reason: number, name: string, ofport: number, up: boolean): void {
    const b = this.bridges.get(bridge);
    if (!b) return;
    let no = ofport > 0 ? ofport : (b.ofports.get(name) ?? 0);
    if (reason === PORT_REASON.ADD) b.ofports.set(name, ofport);
    if (reason === PORT_REASON.DELETE) b.ofports.delete(name);
    if (no <= 0) {
      try {
        no = this.sw.bridge(bridge).ofportByName(name);
      } catch {
        return;
      }
    }
    this.broadcast(bridge, { type: 'port_status', xid: 0, reason, port: b.agent.ofPortNamed(Math.max(0, no), name, up) }, true);
  }
}
