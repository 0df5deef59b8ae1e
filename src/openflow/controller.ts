/**
 * An active connection to a controller (`tcp:HOST:PORT` or `unix:PATH`, ovs-vsctl
 * set-controller syntax) that keeps itself connected: on failure or loss it retries after a
 * backoff that doubles from 1 s up to 8 s (OVS rconn's max_backoff default), and resets to 1 s
 * once a connection has stayed up.
 */
import * as net from 'net';

export interface ControllerTarget {
  text: string;
  connect(): net.Socket;
}

/** Parse `tcp:IP[:PORT]` (port 6653 by default, as OVS) or `unix:PATH`. */
export function parseTarget(text: string): ControllerTarget {
  const tcp = /^tcp:([0-9.]+|\[[0-9a-fA-F:]+\])(?::(\d{1,5}))?$/.exec(text);
  if (tcp) {
    const host = tcp[1].replace(/^\[|\]$/g, '');
    const port = tcp[2] === undefined ? 6653 : Number(tcp[2]);
    if (net.isIP(host) === 0) throw new Error(`controller '${text}': '${host}' is not an IP address`);
    if (port < 1 || port > 65535) throw new Error(`controller '${text}': port ${port} is out of range`);
    return { text, connect: () => net.connect({ host, port }) };
  }
  const unix = /^unix:(\/.+)$/.exec(text);
  if (unix) return { text, connect: () => net.connect(unix[1]) };
  throw new Error(`controller '${text}': expected tcp:IP[:PORT] or unix:/ABSOLUTE/PATH`);
}

export const BACKOFF_MIN_MS = 1000;
export const BACKOFF_MAX_MS = 8000;

export class ActiveController {
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
