/**
 * The control socket server. Requests are parsed and validated here and dispatched to a
 * handler table; every failure becomes an error response, never an exception that reaches the
 * datapath. What one client can cost the switch is bounded (ControlLimits, as OVS bounds its
 * unixctl and OVSDB sessions): request size and nesting depth, requests read ahead, reply bytes
 * queued for a client that does not read (it is disconnected), and the number of connections.
 * Requests run one at a time per client, in order.
 *
 * Large replies are a StreamedReply: the handler hands over a generator of JSON text pieces,
 * each a bounded amount of work, and the server yields to the event loop between pieces, so
 * ports keep being served while a 100k-line dump is written.
 */
import * as fs from 'fs';
import * as net from 'net';
import * as path from 'path';
import { ControlLimits, DEFAULT_LIMITS, nestingBeyond, Request, Response } from './protocol';
import type { Logger } from './log';

/** Per-connection state that outlives one request (an add-flows load in progress). */
export interface Session {
  readonly state: Map<string, unknown>;
  /** Called once when the connection ends, however it ends. */
  onClose(fn: () => void): void;
}

/** `session` is absent when a handler is called directly (tests, config): a one-request session. */
export type Handler = (args: Record<string, unknown>, session?: Session) => unknown | Promise<unknown>;

/**
 * A result sent piece by piece: the pieces, concatenated, are the JSON text of `result`.
 * Validate before returning one: once the first piece is sent, a failure can only close the
 * connection.
 */
export class StreamedReply {
  constructor(readonly pieces: Iterable<string>) {}
}

/** What the server counted since start (`control-stats`, metrics). */
export interface ControlCounters {
  connections: number;
  accepted: number;
  refused_connections: number;
  slow_clients: number;
  oversized_requests: number;
  too_deep_requests: number;
  bad_requests: number;
  stream_errors: number;
}

export interface ControlServerOptions {
  limits?: Partial<ControlLimits>;
  log?: Logger;
  /** Called after every request that ran a command (the daemon trims memory once they stop). */
  afterRequest?: () => void;
}

/** Plain replies are written in slices this big, so the queue bound applies to them too. */
const WRITE_SLICE = 64 * 1024;

const yieldToLoop = () => new Promise<void>((r) => setImmediate(r));

export class ControlServer {
  private server: net.Server | null = null;
  private readonly conns = new Set<Connection>();
  /** Refused sockets between their error line and their close. */
  private readonly refusing = new Set<net.Socket>();
  readonly limits: ControlLimits;
  readonly log: Logger | undefined;
  readonly counters: ControlCounters = {
    connections: 0,
    accepted: 0,
    refused_connections: 0,
    slow_clients: 0,
    oversized_requests: 0,
    too_deep_requests: 0,
    bad_requests: 0,
    stream_errors: 0,
  };
  private readonly afterRequest: (() => void) | undefined;
  private refusedSinceLog = 0;
  private refusalLogTimer: NodeJS.Timeout | null = null;

  constructor(
    readonly socketPath: string,
    private readonly handlers: Record<string, Handler>,
    opts: ControlServerOptions = {},
  ) {
    this.limits = { ...DEFAULT_LIMITS, ...opts.limits };
    this.log = opts.log;
    this.afterRequest = opts.afterRequest;
  }

  async listen(): Promise<void> {
    fs.mkdirSync(path.dirname(this.socketPath), { recursive: true, mode: 0o755 });
    // A stale socket from a crashed daemon is removed; a live one is an error.
    if (fs.existsSync(this.socketPath)) {
      const alive = await new Promise<boolean>((resolve) => {
        const c = net.connect(this.socketPath);
        c.once('connect', () => { c.destroy(); resolve(true); });
        c.once('error', () => resolve(false));
      });
      if (alive) throw new Error(`control socket ${this.socketPath} is in use by another tvs (use --control PATH)`);
      fs.unlinkSync(this.socketPath);
    }
    const server = net.createServer((sock) => this.accept(sock));
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      // The umask makes the socket 0600 from the start (no window where others could connect).
      const old = process.umask(0o177);
      server.listen(this.socketPath, () => {
        process.umask(old);
        resolve();
      });
    });
    fs.chmodSync(this.socketPath, 0o600);
    this.server = server;
  }

  async close(): Promise<void> {
    for (const c of this.conns) c.destroy();
    this.conns.clear();
    for (const s of this.refusing) s.destroy();
    this.refusing.clear();
    if (this.refusalLogTimer) clearTimeout(this.refusalLogTimer);
    if (!this.server) return; // never listened: the path may be another switch's socket
    await new Promise<void>((r) => this.server!.close(() => r()));
    this.server = null;
    try {
      fs.unlinkSync(this.socketPath);
    } catch {
      /* already gone */
    }
  }

  private accept(sock: net.Socket): void {
    if (this.conns.size >= this.limits.maxConnections) {
      this.refuse(sock);
      return;
    }
    this.counters.accepted++;
    const c = new Connection(this, sock);
    this.conns.add(c);
    this.counters.connections = this.conns.size;
    sock.on('close', () => {
      this.conns.delete(c);
      this.counters.connections = this.conns.size;
      c.closed();
    });
  }

  /** Over the connection limit: say why, close, count; log at most once a second. */
  private refuse(sock: net.Socket): void {
    this.counters.refused_connections++;
    this.refusing.add(sock);
    sock.on('close', () => this.refusing.delete(sock));
    sock.on('error', () => sock.destroy());
    const msg: Response = { id: null, ok: false, error: `too many control connections (max ${this.limits.maxConnections})` };
    sock.end(JSON.stringify(msg) + '\n');
    setTimeout(() => sock.destroy(), 1000).unref();
    this.refusedSinceLog++;
    if (this.refusalLogTimer === null) {
      this.refusalLogTimer = setTimeout(() => {
        this.refusalLogTimer = null;
        this.log?.warn('control connections refused: limit reached', { refused: this.refusedSinceLog, max: this.limits.maxConnections });
        this.refusedSinceLog = 0;
      }, 1000);
      this.refusalLogTimer.unref();
    }
  }

  /** Parse, check and run one request line. */
  async handle(line: string, session: Session): Promise<Response> {
    const deep = nestingBeyond(line, this.limits.maxDepth);
    if (deep >= 0) {
      this.counters.too_deep_requests++;
      return { id: null, ok: false, error: `bad request: JSON nested deeper than ${this.limits.maxDepth} levels (at character ${deep + 1})` };
    }
    let req: Request;
    try {
      req = JSON.parse(line);
    } catch (e) {
      this.counters.bad_requests++;
      return { id: null, ok: false, error: `bad request: not JSON (${(e as Error).message})` };
    }
    if (typeof req !== 'object' || req === null || Array.isArray(req)) {
      this.counters.bad_requests++;
      return { id: null, ok: false, error: 'bad request: expected a JSON object' };
    }
    const id = typeof req.id === 'number' || typeof req.id === 'string' ? req.id : null;
    if (typeof req.cmd !== 'string') {
      this.counters.bad_requests++;
      return { id, ok: false, error: "bad request: missing 'cmd' string" };
    }
    const h = Object.prototype.hasOwnProperty.call(this.handlers, req.cmd) ? this.handlers[req.cmd] : undefined;
    if (!h) return { id, ok: false, error: `unknown command '${req.cmd.slice(0, 64)}'` };
    const args = req.args ?? {};
    if (typeof args !== 'object' || args === null || Array.isArray(args)) return { id, ok: false, error: "bad request: 'args' must be an object" };
    try {
      return { id, ok: true, result: await h(args as Record<string, unknown>, session) };
    } catch (e) {
      return { id, ok: false, error: e instanceof Error ? e.message : String(e) };
    } finally {
      this.afterRequest?.();
    }
  }
}

/** One client: its input framing, its request queue and its reply flow control. */
class Connection implements Session {
  readonly state = new Map<string, unknown>();
  private closers: (() => void)[] = [];
  /** Bytes of a request line not yet terminated by '\n'. */
  private partial: Buffer[] = [];
  private partialBytes = 0;
  /** Request lines read ahead (or a ready error reply, to keep replies in order). */
  private queue: (string | Response)[] = [];
  private queuedBytes = 0;
  private busy = false;
  private paused = false;
  /** Inside a line that was already refused as too large: drop bytes up to its newline. */
  private discarding = false;

  constructor(
    private readonly server: ControlServer,
    private readonly sock: net.Socket,
  ) {
    sock.setTimeout(server.limits.idleTimeoutMs);
    sock.on('data', (chunk: Buffer) => this.onData(chunk));
    // Idle means no traffic while nothing runs for this client; a long request (capture) or a
    // reply waiting for the reader is governed by its own limits.
    sock.on('timeout', () => {
      if (!this.busy) sock.destroy();
    });
    sock.on('error', () => sock.destroy());
  }

  onClose(fn: () => void): void {
    this.closers.push(fn);
  }

  closed(): void {
    this.queue = [];
    this.partial = [];
    for (const f of this.closers.splice(0)) {
      try {
        f();
      } catch {
        /* cleanup must not throw into the server */
      }
    }
  }

  destroy(): void {
    this.sock.destroy();
  }

  private get limits(): ControlLimits {
    return this.server.limits;
  }

  private onData(chunk: Buffer): void {
    let start = 0;
    for (;;) {
      const nl = chunk.indexOf(0x0a, start);
      if (nl < 0) break;
      const tail = chunk.subarray(start, nl);
      if (this.discarding) {
        this.discarding = false; // the end of the oversized line: back in step
      } else {
        const size = this.partialBytes + tail.length;
        if (size > this.limits.maxRequestBytes) this.refuseOversized();
        else {
          const line = this.partialBytes === 0 ? tail.toString('utf8') : Buffer.concat([...this.partial, tail]).toString('utf8');
          if (line.trim() !== '') this.enqueue(line, size);
        }
      }
      this.partial = [];
      this.partialBytes = 0;
      start = nl + 1;
    }
    if (start < chunk.length && !this.discarding) {
      const rest = chunk.subarray(start);
      this.partial.push(rest);
      this.partialBytes += rest.length;
      if (this.partialBytes > this.limits.maxRequestBytes) {
        // Answer now and drop the rest of the line as it arrives: memory stays bounded and the
        // connection is usable again after the newline.
        this.refuseOversized();
        this.discarding = true;
        this.partial = [];
        this.partialBytes = 0;
      }
    }
    void this.pump();
  }

  private refuseOversized(): void {
    this.server.counters.oversized_requests++;
    this.enqueue({ id: null, ok: false, error: `request larger than ${this.limits.maxRequestBytes} bytes (add-flows sends a large file in parts)` }, 0);
  }

  private enqueue(item: string | Response, bytes: number): void {
    this.queue.push(item);
    this.queuedBytes += bytes;
    // Read-ahead bound: stop reading; the kernel buffer fills and the client waits.
    if (!this.paused && (this.queue.length >= this.limits.maxPipelined || this.queuedBytes >= this.limits.maxRequestBytes)) {
      this.sock.pause();
      this.paused = true;
    }
  }

  private async pump(): Promise<void> {
    if (this.busy) return;
    this.busy = true;
    try {
      while (this.queue.length > 0 && !this.sock.destroyed) {
        const item = this.queue.shift()!;
        if (typeof item === 'string') this.queuedBytes -= Buffer.byteLength(item);
        if (this.paused && this.queue.length < this.limits.maxPipelined / 2 && this.queuedBytes < this.limits.maxRequestBytes / 2) {
          this.paused = false;
          this.sock.resume();
        }
        const reply = typeof item === 'string' ? await this.server.handle(item, this) : item;
        if (!(await this.send(reply))) break;
      }
    } finally {
      this.busy = false;
    }
  }

  /** Write one response; false when the connection was closed meanwhile. */
  private async send(r: Response): Promise<boolean> {
    if (this.sock.destroyed) return false;
    if (r.ok && r.result instanceof StreamedReply) return this.sendStreamed(r.id ?? null, r.result);
    let text: string;
    try {
      text = JSON.stringify(r) + '\n';
    } catch (e) {
      text = JSON.stringify({ id: r.id ?? null, ok: false, error: `reply not serialisable: ${(e as Error).message}` }) + '\n';
    }
    for (let i = 0; i < text.length; i += WRITE_SLICE) {
      this.sock.write(text.length <= WRITE_SLICE ? text : text.slice(i, i + WRITE_SLICE));
      if (!(await this.waitForReader())) return false;
    }
    return true;
  }

  private async sendStreamed(id: number | string | null, reply: StreamedReply): Promise<boolean> {
    this.sock.write(`{"id":${JSON.stringify(id)},"ok":true,"result":`);
    try {
      for (const piece of reply.pieces) {
        if (this.sock.destroyed) return false;
        this.sock.write(piece);
        if (!(await this.waitForReader())) return false;
        await yieldToLoop();
      }
    } catch (e) {
      // Half a reply is on the wire: the only honest end is closing the connection.
      this.server.counters.stream_errors++;
      this.server.log?.error('control reply failed part-way, connection closed', { error: (e as Error).message });
      this.sock.destroy();
      return false;
    }
    this.sock.write('}\n');
    return this.waitForReader();
  }

  /**
   * Reply flow control: with more than maxQueuedReplyBytes queued, produce nothing more until
   * the client has read it; a client that reads nothing for stallTimeoutMs is disconnected.
   */
  private async waitForReader(): Promise<boolean> {
    const sock = this.sock;
    if (sock.destroyed) return false;
    if (sock.writableLength <= this.limits.maxQueuedReplyBytes) return true;
    const drained = await new Promise<boolean>((resolve) => {
      const done = (ok: boolean) => {
        clearTimeout(timer);
        sock.off('drain', onDrain);
        sock.off('close', onClose);
        resolve(ok);
      };
      const onDrain = () => done(true);
      const onClose = () => done(false);
      const timer = setTimeout(() => done(false), this.limits.stallTimeoutMs);
      sock.on('drain', onDrain);
      sock.on('close', onClose);
    });
    if (drained) return true;
    if (!sock.destroyed) {
      this.server.counters.slow_clients++;
      this.server.log?.warn('control client disconnected: it does not read its replies', {
        queued_bytes: sock.writableLength,
        waited_ms: this.limits.stallTimeoutMs,
      });
      sock.destroy();
    }
    return false;
  }
}

/** A JSON array streamed in pieces of `per` items (each piece a bounded amount of work). */
export function* jsonArrayPieces<T>(items: readonly T[], describe: (item: T) => unknown | undefined, per = 500): Generator<string> {
  yield '[';
  let first = true;
  for (let i = 0; i < items.length; i += per) {
    let piece = '';
    const end = Math.min(items.length, i + per);
    for (let j = i; j < end; j++) {
      const v = describe(items[j]);
      if (v === undefined) continue; // gone since the snapshot was taken
      piece += (first ? '' : ',') + JSON.stringify(v);
      first = false;
    }
    yield piece;
  }
  yield ']';
}
