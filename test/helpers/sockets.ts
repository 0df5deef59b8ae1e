/**
 * Real TCP/UDP peers inside test namespaces (python3, which every test machine has; nc is not
 * always installed): a logging echo server, one-shot clients that report what happened
 * (connected and the reply, refused by RST or ICMP, or timed out), and a long-lived TCP client
 * driven line by line, for connections that must outlive a flow change. Every process is
 * bounded in time and ended by its PID in teardown.
 */
import { spawn, type ChildProcess } from 'child_process';
import { nsRun } from '../../lab/daemon';
import type { Teardownable } from '../../lab/netns';

const SERVER = String.raw`
import socket, sys, threading
proto, port = sys.argv[1], int(sys.argv[2])
fam = socket.AF_INET6 if ':' in sys.argv[3] else socket.AF_INET
def log(*a):
    print(*a, flush=True)
if proto == 'udp':
    s = socket.socket(fam, socket.SOCK_DGRAM)
    s.bind((sys.argv[3], port))
    log('listening')
    while True:
        d, a = s.recvfrom(2048)
        log('recv', a[0], a[1], d.decode(errors='replace').strip())
        s.sendto(b'echo:' + d, a)
else:
    s = socket.socket(fam, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind((sys.argv[3], port))
    s.listen(16)
    log('listening')
    def serve(c, a):
        log('accept', a[0], a[1])
        f = c.makefile('rb')
        for line in f:
            log('recv', line.decode(errors='replace').strip())
            c.sendall(b'echo:' + line)
    while True:
        c, a = s.accept()
        threading.Thread(target=serve, args=(c, a), daemon=True).start()
`;

const TRY = String.raw`
import socket, sys, errno
proto, host, port, sport, msg, tmo = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), sys.argv[5], float(sys.argv[6])
fam = socket.AF_INET6 if ':' in host else socket.AF_INET
s = socket.socket(fam, socket.SOCK_DGRAM if proto == 'udp' else socket.SOCK_STREAM)
s.settimeout(tmo)
if sport:
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(('', sport))
try:
    s.connect((host, port))
    if proto == 'tcp':
        print('connected', flush=True)
    s.send((msg + '\n').encode())
    print('reply', s.recv(2048).decode(errors='replace').strip(), flush=True)
except socket.timeout:
    print('timeout', flush=True)
except ConnectionRefusedError:
    print('refused', flush=True)
except OSError as e:
    print('error', errno.errorcode.get(e.errno, e.errno), flush=True)
`;

const HOLD = String.raw`
import socket, sys
host, port, tmo = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])
s = socket.create_connection((host, port), timeout=tmo)
print('connected', flush=True)
for line in sys.stdin:
    try:
        s.sendall(line.encode())
        print('reply', s.recv(2048).decode(errors='replace').strip(), flush=True)
    except socket.timeout:
        print('noreply', flush=True)
    except OSError as e:
        print('error', e, flush=True)
`;

function killOnTeardown(t: Teardownable, p: ChildProcess): void {
  t.teardown(() => {
    if (p.exitCode === null && p.signalCode === null && p.pid) {
      try {
        // SIGTERM: `timeout` passes it on to the python child (SIGKILL would orphan it, still bound to its port)
        process.kill(p.pid, 'SIGTERM');
      } catch {
        /* already gone */
      }
    }
  });
}

export interface Server {
  /** Everything the server logged so far ("accept IP PORT", "recv ...", for UDP "recv IP PORT DATA"). */
  log(): string;
}

/** An echo server on PROTO/PORT bound to ADDR in NS, alive at most `seconds`. Resolves once bound. */
export async function startServer(t: Teardownable, ns: string, proto: 'tcp' | 'udp', addr: string, port: number, seconds = 120): Promise<Server> {
  const p = spawn('ip', ['netns', 'exec', ns, 'timeout', String(seconds), 'python3', '-u', '-c', SERVER, proto, String(port), addr], { stdio: ['ignore', 'pipe', 'pipe'] });
  killOnTeardown(t, p);
  let out = '';
  let err = '';
  p.stdout!.on('data', (d) => (out += d));
  p.stderr!.on('data', (d) => (err += d));
  const deadline = Date.now() + 20_000;
  while (!out.includes('listening')) {
    if (p.exitCode !== null || Date.now() > deadline) throw new Error(`${proto} server on ${addr}:${port} in ${ns} did not start: ${err.trim()}`);
    await new Promise((r) => setTimeout(r, 30));
  }
  return { log: () => out };
}

/**
 * One client attempt: "connected" (TCP) then "reply echo:MSG", or "refused" (RST, or ICMP
 * port unreachable on a connected UDP socket), "timeout", "error E".
 */
export async function tryConnect(ns: string, proto: 'tcp' | 'udp', host: string, port: number, o: { sport?: number; msg?: string; timeoutS?: number } = {}): Promise<string> {
  const tmo = o.timeoutS ?? 3;
  const r = await nsRun(ns, ['python3', '-c', TRY, proto, host, String(port), String(o.sport ?? 0), o.msg ?? 'hello', String(tmo)], (tmo + 10) * 1000);
  return (r.stdout + (r.code !== 0 ? ` (exit ${r.code}: ${r.stderr.trim()})` : '')).trim();
}

export interface HeldConnection {
  /** Send MSG, resolve with "reply echo:MSG", "noreply" (no answer in time) or "error ...". */
  send(msg: string): Promise<string>;
}

/** A TCP connection kept open across checks; resolves once connected (throws if it cannot). */
export async function holdConnection(t: Teardownable, ns: string, host: string, port: number, timeoutS = 3): Promise<HeldConnection> {
  const p = spawn('ip', ['netns', 'exec', ns, 'timeout', '120', 'python3', '-u', '-c', HOLD, host, String(port), String(timeoutS)], { stdio: ['pipe', 'pipe', 'pipe'] });
  killOnTeardown(t, p);
  const lines: string[] = [];
  let buf = '';
  let err = '';
  p.stdout!.on('data', (d) => {
    buf += d;
    let i;
    while ((i = buf.indexOf('\n')) >= 0) {
      lines.push(buf.slice(0, i));
      buf = buf.slice(i + 1);
    }
  });
  p.stderr!.on('data', (d) => (err += d));
  const next = async (ms: number): Promise<string> => {
    const deadline = Date.now() + ms;
    while (lines.length === 0) {
      if (p.exitCode !== null) return `error: client exited: ${err.trim()}`;
      if (Date.now() > deadline) return 'error: client silent';
      await new Promise((r) => setTimeout(r, 20));
    }
    return lines.shift()!;
  };
  const first = await next((timeoutS + 10) * 1000);
  if (first !== 'connected') throw new Error(`TCP connection to ${host}:${port} from ${ns} failed: ${first}`);
  return {
    send: async (msg: string) => {
      p.stdin!.write(msg + '\n');
      return next((timeoutS + 10) * 1000);
    },
  };
}
