/**
 * The control socket server. Requests are parsed and validated here and dispatched to a
 * handler table; every failure becomes an error response, never an exception that reaches the
 * datapath. Each client has its own bounded buffer and idle timer, and requests run one at a
 * time per client, so a slow or malicious client cannot stall the switch or other clients.
 */
import * as fs from 'fs';
import * as net from 'net';
import * as path from 'path';
import { IDLE_TIMEOUT_MS, MAX_PIPELINED, MAX_REQUEST_BYTES, Request, Response } from './protocol';

export type Handler = (args: Record<string, unknown>) => unknown | Promise<unknown>;

export class ControlServer {
  private server: net.Server | null = null;
  private readonly clients = new Set<net.Socket>();

  constructor(
    readonly socketPath: string,
    private readonly handlers: Record<string, Handler>,
  ) {}

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
    for (const c of this.clients) c.destroy();
    this.clients.clear();
    if (this.server) {
      await new Promise<void>((r) => this.server!.close(() => r()));
      this.server = null;
    }
    try {
      fs.unlinkSync(this.socketPath);
    } catch {
      /* already gone */
    }
  }

  private accept(sock: net.Socket): void {
    this.clients.add(sock);
    sock.setTimeout(IDLE_TIMEOUT_MS);
    let buf = '';
    const queue: string[] = [];
    let busy = false;
    const send = (r: Response) => {
      if (!sock.destroyed) sock.write(JSON.stringify(r) + '\n');
    };
    const pump = async () => {
      if (busy) return;
      busy = true;
      while (queue.length > 0 && !sock.destroyed) {
        send(await this.handle(queue.shift()!));
      }
      busy = false;
    };
    sock.on('data', (chunk) => {
      buf += chunk.toString('utf8');
      if (buf.length > MAX_REQUEST_BYTES && buf.indexOf('\n') < 0) {
        send({ id: null, ok: false, error: `request larger than ${MAX_REQUEST_BYTES} bytes` });
        sock.end();
        sock.destroy();
        return;
      }
      let i;
      while ((i = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, i).trim();
        buf = buf.slice(i + 1);
        if (line === '') continue;
        if (line.length > MAX_REQUEST_BYTES) {
          send({ id: null, ok: false, error: `request larger than ${MAX_REQUEST_BYTES} bytes` });
          continue;
        }
        if (queue.length >= MAX_PIPELINED) {
          send({ id: null, ok: false, error: `too many pipelined requests (max ${MAX_PIPELINED})` });
          continue;
        }
        queue.push(line);
      }
      void pump();
    });
    sock.on('timeout', () => sock.destroy());
    sock.on('error', () => sock.destroy());
    sock.on('close', () => this.clients.delete(sock));
  }

  private async handle(line: string): Promise<Response> {
    let req: Request;
    try {
      req = JSON.parse(line);
    } catch (e) {
      return { id: null, ok: false, error: `bad request: not JSON (${(e as Error).message})` };
    }
    if (typeof req !== 'object' || req === null || Array.isArray(req)) return { id: null, ok: false, error: 'bad request: expected a JSON object' };
    const id = typeof req.id === 'number' || typeof req.id === 'string' ? req.id : null;
    if (typeof req.cmd !== 'string') return { id, ok: false, error: "bad request: missing 'cmd' string" };
    const h = Object.prototype.hasOwnProperty.call(this.handlers, req.cmd) ? this.handlers[req.cmd] : undefined;
    if (!h) return { id, ok: false, error: `unknown command '${req.cmd}'` };
    const args = req.args ?? {};
    if (typeof args !== 'object' || args === null || Array.isArray(args)) return { id, ok: false, error: "bad request: 'args' must be an object" };
    try {
      return { id, ok: true, result: await h(args as Record<string, unknown>) };
    } catch (e) {
      return { id, ok: false, error: (e as Error).message };
    }
  }
}
