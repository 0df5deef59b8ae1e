/**
 * A bridge's controller targets (ovs-vsctl set-controller syntax). Active (`tcp:HOST:PORT`,
 * `unix:PATH`): a connection that keeps itself up: on failure or loss it retries after a backoff
 * that doubles from 1 s up to 8 s (OVS rconn's max_backoff default), and resets to 1 s once a
 * connection has stayed up. Passive (`ptcp:[PORT][:IP]`): a TCP listener; every connection it
 * accepts is a controller of the bridge (OVS makes them primary connections too).
 */
import * as net from 'net';
import { parseControllerTarget } from '../datapath/controller-target';

export interface ControllerTarget {
  text: string;
  /** For a passive target: where to listen. */
  listen?: { host: string; port: number };
  connect(): net.Socket;
}

/** A target's text and how to open a socket to it. */
export function parseTarget(text: string): ControllerTarget {
  const t = parseControllerTarget(text);
  if (t.kind === 'ptcp') {
    return {
      text,
      listen: { host: t.host, port: t.port },
      connect: () => {
        throw new Error(`${text} is a passive target`);
      },
    };
  }
  return { text, connect: () => (t.kind === 'tcp' ? net.connect({ host: t.host, port: t.port }) : net.connect(t.path)) };
}

/** What the OpenFlow service needs from a controller target, active or passive. */
export interface ControllerLink {
  readonly target: ControllerTarget;
  /** Active: the connection is up. Passive: at least one accepted connection is open. */
  readonly connected: boolean;
  /** Active: connection attempts. Passive: connections accepted. */
  readonly attempts: number;
  readonly lastError: string;
  start(): void;
  stop(): void;
}

/** Build the link for a target (passive listener or active connection). */
export function controllerLink(target: ControllerTarget, onConnect: (sock: net.Socket) => void, onState: () => void, maxConnections: number, onRefused: () => void): ControllerLink {
  return target.listen ? new PassiveController(target, onConnect, onState, maxConnections, onRefused) : new ActiveController(target, onConnect, onState);
}

/**
 * `ptcp:`: listen, and run a session on every accepted connection. A listen failure
 * (EADDRINUSE...) is kept in lastError and retried with the active backoff.
 */
export class PassiveController implements ControllerLink {
  private server: net.Server | null = null;
  private readonly socks = new Set<net.Socket>();
  private timer: NodeJS.Timeout | null = null;
  private backoff = BACKOFF_MIN_MS;
  private stopped = false;
  attempts = 0;
  lastError = '';
  /** The port actually bound (tests). */
  boundPort = 0;

  constructor(
    readonly target: ControllerTarget,
    private readonly onConnect: (sock: net.Socket) => void,
    private readonly onState: () => void,
    private readonly maxConnections: number,
    private readonly onRefused: () => void,
  ) {}

  get connected(): boolean {
    return this.socks.size > 0;
  }

  start(): void {
    if (this.stopped) return;
    const { host, port } = this.target.listen!;
    const server = net.createServer((sock) => {
      this.attempts++;
      this.socks.add(sock);
      sock.once('close', () => {
        this.socks.delete(sock);
        if (this.socks.size === 0) this.onState();
      });
      this.onConnect(sock);
      if (this.socks.size === 1) this.onState();
    });
    server.maxConnections = this.maxConnections;
    server.on('drop', () => this.onRefused());
    server.once('error', (e) => {
      this.lastError = e.message;
      server.close();
      if (this.server === server) this.server = null;
      if (this.stopped) return;
      const wait = this.backoff;
      this.backoff = Math.min(BACKOFF_MAX_MS, this.backoff * 2);
      this.timer = setTimeout(() => this.start(), wait);
      this.timer.unref();
    });
    server.listen({ host, port }, () => {
      this.lastError = '';
      this.backoff = BACKOFF_MIN_MS;
      const a = server.address();
      this.boundPort = typeof a === 'object' && a ? a.port : port;
    });
    this.server = server;
  }

  stop(): void {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    this.server?.close();
    this.server = null;
    for (const s of this.socks) s.destroy();
    this.socks.clear();
  }
}

export const BACKOFF_MIN_MS = 1000;
export const BACKOFF_MAX_MS = 8000;

export class ActiveController implements ControllerLink {
  private sock: net.Socket | null = null;
  private timer: NodeJS.Timeout | null = null;
  private backoff = BACKOFF_MIN_MS;
  private stopped = false;
  connected = false;
  attempts = 0;
  connections = 0;
  lastError = '';

  constructor(
    readonly target: ControllerTarget,
    /** A socket just connected: run a session on it. Returns nothing; closing is seen via 'close'. */
    private readonly onConnect: (sock: net.Socket) => void,
    private readonly onState: () => void,
  ) {}

  start(): void {
    this.attemptNow();
  }

  stop(): void {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    this.sock?.destroy();
    this.sock = null;
    this.connected = false;
  }

  private attemptNow(): void {
    if (this.stopped) return;
    this.attempts++;
    const sock = this.target.connect();
    this.sock = sock;
    let upSince = 0;
    sock.once('connect', () => {
      this.connected = true;
      this.connections++;
      upSince = Date.now();
      this.onConnect(sock);
      this.onState();
    });
    sock.on('error', (e) => {
      this.lastError = e.message;
    });
    sock.once('close', () => {
      const wasUp = this.connected;
      this.connected = false;
      this.sock = null;
      if (wasUp) this.onState();
      if (this.stopped) return;
      // A connection that stayed up a while starts the backoff over.
      if (wasUp && Date.now() - upSince > BACKOFF_MAX_MS) this.backoff = BACKOFF_MIN_MS;
      const wait = this.backoff;
      this.backoff = Math.min(BACKOFF_MAX_MS, this.backoff * 2);
      this.timer = setTimeout(() => this.attemptNow(), wait);
      this.timer.unref();
    });
  }
}
