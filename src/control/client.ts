/**
 * A client for the control socket (used by the CLI and tests). Replies are read in linear time:
 * each chunk is scanned once for the end of line and the parts are joined once, so a reply of
 * tens of megabytes (nat-show, dump-flows) costs what parsing it costs.
 */
import * as net from 'net';
import { Response } from './protocol';

export class ControlError extends Error {}

interface Pending {
  resolve: (v: unknown) => void;
  reject: (e: Error) => void;
}

/** One connection carrying several requests, answered in order. */
export class ControlConnection {
  private chunks: Buffer[] = [];
  private pending: Pending[] = [];
  private timer: NodeJS.Timeout | null = null;
  private failed: ControlError | null = null;
  private nextId = 1;

  private constructor(
    private readonly sock: net.Socket,
    private readonly socketPath: string,
    /** No byte of an awaited reply for this long: give up. */
    private readonly timeoutMs: number,
  ) {
    sock.on('data', (d: Buffer) => this.onData(d));
    sock.on('error', (e) => this.fail(connectError(socketPath, e as NodeJS.ErrnoException)));
    sock.on('close', () => this.fail(new ControlError(`the switch at ${socketPath} closed the connection before answering`)));
  }

  static open(socketPath: string, timeoutMs = 30_000): Promise<ControlConnection> {
    return new Promise((resolve, reject) => {
      const sock = net.connect(socketPath);
      const onError = (e: NodeJS.ErrnoException) => reject(connectError(socketPath, e));
      sock.once('error', onError);
      sock.once('connect', () => {
        sock.off('error', onError);
        resolve(new ControlConnection(sock, socketPath, timeoutMs));
      });
    });
  }

  /** Send one request; resolves with its result, rejects with the switch's error. */
  call(cmd: string, args: Record<string, unknown> = {}): Promise<unknown> {
    if (this.failed) return Promise.reject(this.failed);
    return new Promise((resolve, reject) => {
      this.pending.push({ resolve, reject });
      this.sock.write(JSON.stringify({ id: this.nextId++, cmd, args }) + '\n');
      this.armTimer();
    });
  }

  close(): void {
    this.pending = [];
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    this.sock.end();
    this.sock.destroy();
  }

  private armTimer(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    if (this.pending.length === 0) return;
    this.timer = setTimeout(() => {
      this.fail(new ControlError(`no answer from the switch at ${this.socketPath} within ${this.timeoutMs / 1000} s`));
      this.sock.destroy();
    }, this.timeoutMs);
  }

  private onData(d: Buffer): void {
    let start = 0;
    for (;;) {
      const nl = d.indexOf(0x0a, start);
      if (nl < 0) break;
      const head = d.subarray(start, nl);
      const line = this.chunks.length === 0 ? head : Buffer.concat([...this.chunks, head]);
      this.chunks = [];
      start = nl + 1;
      this.deliver(line);
    }
    if (start < d.length) this.chunks.push(start === 0 ? d : d.subarray(start));
    this.armTimer();
  }

  private deliver(line: Buffer): void {
    const p = this.pending.shift();
    if (!p) return; // an unsolicited line (a refusal after close): nothing waits for it
    let r: Response;
    try {
      r = JSON.parse(line.toString('utf8'));
    } catch {
      p.reject(new ControlError('malformed response from the switch'));
      return;
    }
    if (r.ok) p.resolve(r.result);
    else p.reject(new ControlError(r.error ?? 'unknown error'));
  }

  private fail(e: ControlError): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    this.failed ??= e;
    for (const p of this.pending.splice(0)) p.reject(e);
  }
}

function connectError(socketPath: string, e: NodeJS.ErrnoException): ControlError {
  if (e.code === 'ENOENT' || e.code === 'ECONNREFUSED') {
    return new ControlError(`no switch is running at ${socketPath} (start one with 'tvs start', or pass --control PATH / set TVS_CONTROL)`);
  }
  if (e.code === 'EACCES') return new ControlError(`permission denied on ${socketPath} (the control socket is 0600: run as the daemon's user)`);
  return new ControlError(`cannot reach the switch at ${socketPath}: ${e.message}`);
}

/** One request on its own connection. */
export async function request(socketPath: string, cmd: string, args: Record<string, unknown> = {}, timeoutMs = 30_000): Promise<unknown> {
  const c = await ControlConnection.open(socketPath, timeoutMs);
  try {
    return await c.call(cmd, args);
  } finally {
    c.close();
  }
}

/** Characters of a flow file per add-flows part (JSON escaping stays well under the request limit). */
export const ADD_FLOWS_PART_CHARS = 128 * 1024;

/**
 * `add-flows` of a file of any size: the text is sent in parts over one connection as it is
 * read, each part answered before the next is read (memory stays one part); the switch parses
 * every part as it arrives and applies the whole file after the last one, or nothing.
 */
export async function addFlowsFromStream(socketPath: string, bridge: string, text: AsyncIterable<string>, timeoutMs = 300_000): Promise<unknown> {
  const c = await ControlConnection.open(socketPath, timeoutMs);
  try {
    let pending: string | null = null;
    for await (const chunk of text) {
      for (let i = 0; i < chunk.length; i += ADD_FLOWS_PART_CHARS) {
        // One part is held back so the last one can be sent as the last (more: false).
        if (pending !== null) await c.call('add-flows', { bridge, text: pending, more: true });
        pending = chunk.slice(i, i + ADD_FLOWS_PART_CHARS);
      }
    }
    return await c.call('add-flows', { bridge, text: pending ?? '' });
  } finally {
    c.close();
  }
}
