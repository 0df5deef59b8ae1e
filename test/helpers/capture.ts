/**
 * Wire-level checks: tcpdump as the real observer, and a raw AF_PACKET sender (python3) for
 * frames a Linux stack will not build itself (802.1Q-tagged frames — this kernel has no 8021q —
 * and malformed ones). Both run inside the test's own namespaces, bounded in count and time.
 */
import { spawn } from 'child_process';
import { nsRun, CliResult } from '../../lab/daemon';

export interface Capture {
  /** Resolves with tcpdump's text output once it has exited (count reached or time limit). */
  done: Promise<string>;
}

/**
 * Start `tcpdump -e -nn` on IFACE inside NS; resolves once it is listening (it says so on
 * stderr; on a loaded machine that can take seconds, so no fixed pause stands in for it).
 * It stops after `count` frames or `seconds` counted from then, whichever comes first: a
 * window counted from the spawn would lose whatever a slow start took (and a start slower than
 * the window failed the test outright). Immediate mode hands each frame to tcpdump as it
 * arrives; otherwise libpcap's TPACKET_V3 ring holds it until its block is retired (~1 s), and
 * a frame still in the ring when the window closes is never printed.
 *
 * A capture that expects frames ends at its count, so its window only bounds a failure: the
 * default is long (15 s) because what it waits for comes after further process starts (another
 * tcpdump, ping, python3), each of which a loaded machine can delay by seconds. A check that a
 * frame does NOT arrive uses watchUntilControl instead: an empty capture proves nothing.
 */
export function startCapture(ns: string, iface: string, filter: string, count: number, seconds = 15): Promise<Capture> {
  return tcpdump(ns, iface, filter, count, seconds, null);
}

/**
 * For a check that a frame does NOT arrive at IFACE: a capture that ends on a control frame.
 * An empty capture over a fixed window proves nothing on a loaded machine — tcpdump may not
 * be reading yet, or the window may close before a wrongly forwarded frame would have come
 * out. So the test sends the forbidden frame, then a control frame that legitimately reaches
 * IFACE through the same switch, on the same path up to the decision (the same ingress port
 * where possible, so the switch handles the two in order), and `filter` keeps both. The
 * capture ends as soon as a line matches `control` (or after `seconds`, which only bounds a
 * failure); the test then asserts the control is there and the forbidden frame is not: had
 * the switch forwarded the forbidden frame, it would have printed before the control.
 */
export function watchUntilControl(ns: string, iface: string, filter: string, control: RegExp, seconds = 15): Promise<Capture> {
  return tcpdump(ns, iface, filter, 1000, seconds, control);
}

async function tcpdump(ns: string, iface: string, filter: string, count: number, seconds: number, endOn: RegExp | null): Promise<Capture> {
  // `timeout` is only the backstop should this process die: the window is the timer below.
  const argv = ['ip', 'netns', 'exec', ns, 'timeout', String(seconds + 60), 'tcpdump', '--immediate-mode', '-i', iface, '-e', '-nn', '-l', '-c', String(count), ...(filter ? filter.split(' ') : [])];
  const p = spawn(argv[0], argv.slice(1), { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  let exited = false;
  // `ip netns exec` execs `timeout`, which passes the SIGTERM on to tcpdump.
  const stop = () => {
    try {
      if (!exited && p.pid) process.kill(p.pid, 'SIGTERM');
    } catch {
      /* already gone */
    }
  };
  p.stdout.on('data', (d) => {
    out += d;
    // tcpdump -l writes whole lines; what it printed before the control stays in `out`.
    if (endOn && endOn.test(out)) stop();
  });
  let readyResolve: () => void;
  const ready = new Promise<void>((r) => (readyResolve = r));
  p.stderr.on('data', (d) => {
    err += d;
    if (err.includes('listening on')) readyResolve();
  });
  let windowTimer: NodeJS.Timeout | undefined;
  const done = new Promise<string>((resolve) =>
    p.on('close', () => {
      exited = true;
      clearTimeout(windowTimer);
      readyResolve();
      resolve(out);
    }),
  );
  let timer: NodeJS.Timeout | undefined;
  const started = await Promise.race([ready.then(() => true), new Promise<boolean>((r) => (timer = setTimeout(() => r(false), 30_000)))]);
  clearTimeout(timer);
  if (!started) {
    if (p.pid) process.kill(p.pid, 'SIGKILL');
    throw new Error(`tcpdump on ${iface} in ${ns} was not listening after 30 s: ${err.trim()}`);
  }
  if (exited && !err.includes('listening on')) throw new Error(`tcpdump on ${iface} in ${ns} exited before listening: ${err.trim()}`);
  windowTimer = setTimeout(stop, seconds * 1000);
  return { done };
}

/**
 * tcpdump filters that keep only IPv4 ICMP carried inside a tunnel, so a capture counted in
 * frames holds the pings and nothing else: the namespaces' own IPv6 router solicitations, MLD
 * reports and ARP also cross a flooding tunnel, and a few of them among a 4-frame count cut off
 * the echo reply the test looks for. The offsets assume the 20-byte outer IPv4 header that tvs,
 * OVS and Linux send: VXLAN puts the inner Ethernet at ip[36] (UDP 8 + VXLAN 8), GRE with only
 * the key bit set (flags 0x2000, protocol 0x6558 Transparent Ethernet Bridging) at ip[28].
 */
export const TUNNELED_ICMP4 = {
  vxlan: 'udp port 4789 and ip[48:2] = 0x0800 and ip[59] = 1',
  gre: 'proto gre and ip[20:2] = 0x2000 and ip[22:2] = 0x6558 and ip[40:2] = 0x0800 and ip[51] = 1',
};

const SENDER = [
  'import socket,sys',
  's=socket.socket(socket.AF_PACKET,socket.SOCK_RAW)',
  's.bind((sys.argv[1],0))',
  '[s.send(bytes.fromhex(h)) for h in sys.argv[2:]]',
].join('\n');

/** Send raw frames (hex) out of IFACE inside NS. */
export function rawSend(ns: string, iface: string, framesHex: string[]): Promise<CliResult> {
  return nsRun(ns, ['python3', '-c', SENDER, iface, ...framesHex]);
}
