/**
 * Control protocol: JSON lines over a unix socket (mode 0600).
 *   request:  {"id": 1, "cmd": "add-port", "args": {...}}
 *   response: {"id": 1, "ok": true, "result": ...}  |  {"id": 1, "ok": false, "error": "..."}
 * One request per line, answered in order. The server's limits (as OVS's unixctl and OVSDB
 * servers have them) keep one client from costing the switch more than a small, fixed amount:
 * see ControlLimits. Large replies (dump-flows, nat-show) are produced and sent in chunks, so
 * the datapath keeps forwarding while they are written.
 */

export const DEFAULT_CONTROL_PATH = '/run/tvs/tvs.sock';

export interface ControlLimits {
  /** A request line longer than this is refused (the rest of the line is skipped). */
  maxRequestBytes: number;
  /** Arrays/objects nested deeper than this are refused before they are parsed. */
  maxDepth: number;
  /** Connections beyond this are answered with an error and closed (counted). */
  maxConnections: number;
  /** Requests read ahead of the one running; reading pauses beyond this (the client waits). */
  maxPipelined: number;
  /**
   * Reply bytes a connection may have queued in the server before it stops producing more and
   * waits for the client to read (per connection; the kernel socket buffer comes on top).
   */
  maxQueuedReplyBytes: number;
  /** A client that reads nothing of a queued reply for this long is disconnected (counted). */
  stallTimeoutMs: number;
  /** A connection with no traffic at all for this long is closed. */
  idleTimeoutMs: number;
}

export const DEFAULT_LIMITS: ControlLimits = {
  maxRequestBytes: 1 << 20,
  maxDepth: 64,
  maxConnections: 128,
  maxPipelined: 64,
  maxQueuedReplyBytes: 1 << 20,
  stallTimeoutMs: 10_000,
  idleTimeoutMs: 30_000,
};

/** Kept for clients that size their requests (the CLI's add-flows chunks). */
export const MAX_REQUEST_BYTES = DEFAULT_LIMITS.maxRequestBytes;
export const IDLE_TIMEOUT_MS = DEFAULT_LIMITS.idleTimeoutMs;
export const MAX_PIPELINED = DEFAULT_LIMITS.maxPipelined;

export interface Request {
  id?: number | string;
  cmd: string;
  args?: Record<string, unknown>;
}

export interface Response {
  id?: number | string | null;
  ok: boolean;
  result?: unknown;
  error?: string;
}

/** Where the CLI and the daemon look for the socket: --control, then $TVS_CONTROL, then the default. */
export function controlPath(explicit?: string): string {
  return explicit ?? process.env.TVS_CONTROL ?? DEFAULT_CONTROL_PATH;
}

/**
 * Deepest array/object nesting in a JSON text, stopping early past `limit` (linear, no
 * recursion, strings skipped). Checked before JSON.parse so a deep value is refused with a
 * clear error instead of reaching code that recurses (`Maximum call stack size exceeded`).
 * Returns the byte offset where `limit` was first exceeded, or -1.
 */
export function nestingBeyond(text: string, limit: number): number {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c) i++; // backslash: skip the escaped character
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) inString = true;
    else if (c === 0x5b || c === 0x7b) {
      if (++depth > limit) return i;
    } else if (c === 0x5d || c === 0x7d) depth--;
  }
  return -1;
}
