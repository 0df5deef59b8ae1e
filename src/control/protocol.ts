/**
 * Control protocol: JSON lines over a unix socket (mode 0600).
 *   request:  {"id": 1, "cmd": "add-port", "args": {...}}
 *   response: {"id": 1, "ok": true, "result": ...}  |  {"id": 1, "ok": false, "error": "..."}
 * One request per line; a line longer than MAX_REQUEST_BYTES is refused and the connection
 * closed; a client that leaves half a line for IDLE_TIMEOUT_MS is disconnected.
 */

export const DEFAULT_CONTROL_PATH = '/run/tvs/tvs.sock';
export const MAX_REQUEST_BYTES = 1 << 20;
export const IDLE_TIMEOUT_MS = 30_000;
/** A client may have at most this many requests queued; further ones are refused. */
export const MAX_PIPELINED = 64;

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
