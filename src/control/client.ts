/** A minimal client for the control socket (used by the CLI and tests). */
import * as net from 'net';
import { Response } from './protocol';

export class ControlError extends Error {}

export function request(socketPath: string, cmd: string, args: Record<string, unknown> = {}, timeoutMs = 30_000): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const sock = net.connect(socketPath);
    let buf = '';
    const timer = setTimeout(() => {
      sock.destroy();
      reject(new ControlError(`no answer from the switch at ${socketPath} within ${timeoutMs / 1000} s`));
    }, timeoutMs);
    sock.on('connect', () => sock.write(JSON.stringify({ id: 1, cmd, args }) + '\n'));
    sock.on('data', (d) => {
      buf += d.toString();
      const i = buf.indexOf('\n');
      if (i < 0) return;
      clearTimeout(timer);
      sock.end();
      let r: Response;
      try {
        r = JSON.parse(buf.slice(0, i));
      } catch {
        reject(new ControlError('malformed response from the switch'));
        return;
      }
      if (r.ok) resolve(r.result);
      else reject(new ControlError(r.error ?? 'unknown error'));
    });
    sock.on('error', (e: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      if (e.code === 'ENOENT' || e.code === 'ECONNREFUSED') {
        reject(new ControlError(`no switch is running at ${socketPath} (start one with 'tvs start', or pass --control PATH / set TVS_CONTROL)`));
      } else if (e.code === 'EACCES') {
        reject(new ControlError(`permission denied on ${socketPath} (the control socket is 0600: run as the daemon's user)`));
      } else {
        reject(new ControlError(`cannot reach the switch at ${socketPath}: ${e.message}`));
      }
    });
  });
}
