/**
 * An active connection to a controller (`tcp:HOST:PORT` or `unix:PATH`, ovs-vsctl
 * set-controller syntax) that keeps itself connected: on failure or loss it retries after a
 * backoff that doubles from 1 s up to 8 s (OVS rconn's max_backoff default), and resets to 1 s
 * once a connection has stayed up.
 */
import * as net from 'net';
import { parseControllerTarget } from '../datapath/controller-target';

export interface ControllerTarget {
  text: string;
  connect(): net.Socket;
}

/** A target's text and how to open a socket to it. */
export function parseTarget(text: string): ControllerTarget {
  const t = parseControllerTarget(text);
  return { text, connect: () => (t.kind === 'tcp' ? net.connect({ host: t.host, port: t.port }) : net.connect(t.path)) };
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
