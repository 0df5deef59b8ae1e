/**
 * Tiny QEMU guests for integration tests and benches (bench/qemu-bench): the Debian cloud
 * kernel (fetched with apt-get download, unpacked with dpkg-deb -x into a cache dir — never installed on the host) and a
 * busybox-static initramfs that loads virtio-net (and 8021q), configures eth0 from the kernel
 * command line, runs a scenario script, prints `TVS-RESULT key=value` lines on the serial
 * console and powers off.
 *
 *   const g = await guestImage();                  // string = skip reason
 *   const vm = startGuest(t, g, { name: 'vm1', nic: tapNic(...), params: { ip: '10.250.1.11/24' },
 *                                 script: 'ping -c 3 $TVS_peer ...' });
 *   await vm.waitFor(/TVS-RESULT ready=1/);        // bounded by the VM's own time limit
 *   const [r] = await guestsFinished(t, [vm]);     // { results, console, finished, timedOut, seconds }
 *
 * Every QEMU process is bounded in time and ended by its PID (in teardown too). TCG only: a
 * guest boots in ~2.5 s on a quiet 2-core machine, but many times that on a loaded one, so
 * nothing here waits a fixed time: waits are for console lines, bounded by generous limits.
 *
 * The guest does not power itself off: it prints `TVS-DONE` after its script and idles; the
 * host ends QEMU once it has read that line. (A guest that powers off right after its last
 * echo can lose the tail of its console output still queued in its serial driver, and a
 * result line that never arrives cannot be told from a script that never ran.)
 *
 * Inside the guest, `tvs.KEY=VALUE` words on the kernel command line become $TVS_KEY in the
 * script's environment; `tvs.ip` (address/prefix), `tvs.gw` and `tvs.vlan` (configure
 * eth0.VLAN instead of eth0) are applied by /init before the script runs, `tvs.dhcp=1` runs
 * udhcpc on the interface instead.
 */
import { ChildProcess, execFileSync, spawn } from 'child_process';
import * as crypto from 'crypto';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as zlib from 'zlib';
import { haveCmd, isRoot, Teardownable } from './netns';

export const GUEST_CACHE = process.env.TVS_GUEST_CACHE ?? '/var/cache/tvs-test-guest';
export const QEMU = 'qemu-system-x86_64';
export const SCRIPTS_DIR = path.resolve(__dirname, '../../scripts');

/** Modules the guest loads, by name; their dependencies are resolved from the .ko files. */
const GUEST_MODULES = ['virtio_pci', 'virtio_net', '8021q'];

export interface GuestImage {
  kernel: string;
  initrd: string;
  release: string;
}

function sh(argv: string[], opts: { cwd?: string; timeoutMs?: number } = {}): string {
  return execFileSync(argv[0], argv.slice(1), { cwd: opts.cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: opts.timeoutMs ?? 120_000 });
}

/** Why guest tests cannot run here, or '' when they can (cheap checks only). */
export function guestSkipReason(): string {
  if (!isRoot()) return 'needs root: QEMU taps, namespaces, AF_PACKET';
  if (!haveCmd(QEMU)) return `needs ${QEMU} (make test installs qemu-system-x86)`;
  if (!haveCmd('busybox') || !isStaticBusybox()) return 'needs busybox-static for the guest initramfs';
  if (!haveCmd('apt-get') || !haveCmd('dpkg-deb') || !haveCmd('apt-cache')) return 'needs apt-get, apt-cache and dpkg-deb to fetch the guest kernel';
  return '';
}

function busyboxPath(): string {
  for (const p of ['/bin/busybox', '/usr/bin/busybox']) if (fs.existsSync(p)) return fs.realpathSync(p);
  return '';
}

function isStaticBusybox(): boolean {
  const p = busyboxPath();
  if (!p) return false;
  // A static ELF has no PT_INTERP: look for the dynamic loader's path in the first 4 KiB.
  const fd = fs.openSync(p, 'r');
  const b = Buffer.alloc(4096);
  fs.readSync(fd, b, 0, 4096, 0);
  fs.closeSync(fd);
  return !b.includes('ld-linux');
}

/** Serialize cache builds between test processes (mkdir is atomic). */
async function withLock<T>(fn: () => Promise<T> | T): Promise<T> {
  fs.mkdirSync(GUEST_CACHE, { recursive: true });
  const lock = path.join(GUEST_CACHE, '.lock');
  const deadline = Date.now() + 300_000;
  for (;;) {
    try {
      fs.mkdirSync(lock);
      break;
    } catch {
      // A lock older than 10 minutes is from a process that died.
      try {
        if (Date.now() - fs.statSync(lock).mtimeMs > 600_000) fs.rmdirSync(lock);
      } catch { /* gone meanwhile */ }
      if (Date.now() > deadline) throw new Error(`guest cache lock ${lock} held for 5 minutes`);
      await new Promise((r) => setTimeout(r, 200));
    }
  }
  try {
    return await fn();
  } finally {
    fs.rmdirSync(lock);
  }
}

/** The real package behind linux-image-cloud-amd64 (e.g. linux-image-6.1.0-56-cloud-amd64). */
function kernelPackage(): string {
  const out = sh(['apt-cache', 'depends', 'linux-image-cloud-amd64']);
  const m = /Depends:\s*(linux-image-[0-9][^\s]*-cloud-amd64)/.exec(out);
  if (!m) throw new Error(`apt-cache depends linux-image-cloud-amd64 names no kernel package:\n${out}`);
  return m[1];
}

function fetchKernel(): { root: string; release: string } {
  const pkg = kernelPackage();
  const root = path.join(GUEST_CACHE, pkg);
  const done = path.join(root, '.unpacked');
  if (!fs.existsSync(done)) {
    const dl = path.join(GUEST_CACHE, 'dl');
    fs.mkdirSync(dl, { recursive: true });
    const find = () => fs.readdirSync(dl).find((f) => f.startsWith(`${pkg}_`) && f.endsWith('.deb'));
    if (!find()) {
      try {
        sh(['apt-get', 'download', '-q', pkg], { cwd: dl, timeoutMs: 300_000 });
      } catch {
        // Stale package lists: refresh once and retry.
        sh(['apt-get', 'update', '-qq'], { timeoutMs: 300_000 });
        sh(['apt-get', 'download', '-q', pkg], { cwd: dl, timeoutMs: 300_000 });
      }
    }
    const deb = find();
    if (!deb) throw new Error(`apt-get download ${pkg} left no .deb in ${dl}`);
    fs.rmSync(root, { recursive: true, force: true });
    fs.mkdirSync(root, { recursive: true });
    sh(['dpkg-deb', '-x', path.join(dl, deb), root]);
    fs.writeFileSync(done, deb);
  }
  const release = fs.readdirSync(path.join(root, 'lib/modules'))[0];
  return { root, release };
}

/** Module name → .ko path and its `depends=` list, read from the .modinfo strings. */
function moduleIndex(modDir: string): Map<string, { file: string; deps: string[] }> {
  const idx = new Map<string, { file: string; deps: string[] }>();
  const walk = (d: string) => {
    for (const e of fs.readdirSync(d, { withFileTypes: true })) {
      const p = path.join(d, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.name.endsWith('.ko')) idx.set(e.name.slice(0, -3).replace(/-/g, '_'), { file: p, deps: [] });
    }
  };
  walk(path.join(modDir, 'kernel'));
  return idx;
}

function moduleDeps(file: string): string[] {
  const s = fs.readFileSync(file).toString('latin1');
  const m = /\0depends=([^\0]*)\0/.exec(s);
  return m && m[1] ? m[1].split(',').map((x) => x.replace(/-/g, '_')) : [];
}

/** Modules to insmod, dependencies first. Built-in modules (not in the tree) are skipped. */
function loadOrder(modDir: string, wanted: string[]): { name: string; file: string }[] {
  const idx = moduleIndex(modDir);
  const order: { name: string; file: string }[] = [];
  const seen = new Set<string>();
  const visit = (name: string) => {
    if (seen.has(name)) return;
    seen.add(name);
    const e = idx.get(name);
    if (!e) return; // built in
    for (const d of moduleDeps(e.file)) visit(d);
    order.push({ name, file: e.file });
  };
  for (const w of wanted) visit(w);
  return order;
}

const INIT = `#!/bin/busybox sh
/bin/busybox mkdir -p /proc /sys /dev /tmp /sbin /usr/bin /usr/sbin /www
/bin/busybox --install -s
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev
for m in $(cat /modules.order); do insmod /lib/modules/$m.ko || echo "TVS-ERROR insmod $m"; done
for w in $(cat /proc/cmdline); do
  case "$w" in tvs.*=*) k="\${w%%=*}"; k="\${k#tvs.}"; export "TVS_$k=\${w#*=}" ;; esac
done
ip link set lo up
i=0; while [ ! -e /sys/class/net/eth0 ] && [ $i -lt 600 ]; do sleep 0.1; i=$((i+1)); done
[ -e /sys/class/net/eth0 ] || echo "TVS-ERROR no eth0 after 60 s"
ip link set eth0 up
dev=eth0
if [ -n "$TVS_vlan" ]; then
  ip link add link eth0 name eth0.$TVS_vlan type vlan id $TVS_vlan || echo "TVS-ERROR vlan"
  dev=eth0.$TVS_vlan
  ip link set $dev up
fi
export TVS_dev=$dev
if [ -n "$TVS_ip" ]; then ip addr add $TVS_ip dev $dev; fi
if [ -n "$TVS_gw" ]; then ip route add default via $TVS_gw; fi
if [ "$TVS_dhcp" = 1 ]; then
  udhcpc -i $dev -n -q -f -t 10 -T 1 -O mtu -s /udhcpc.sh >/tmp/udhcpc.log 2>&1 || { echo "TVS-ERROR dhcp"; cat /tmp/udhcpc.log; }
  grep TVS-RESULT /tmp/udhcpc.log
fi
echo "TVS-BOOTED dev=$dev $(ip -4 -o addr show dev $dev | awk '{print $4}')"
sh /script.sh 2>&1
echo "TVS-DONE rc=$?"
# The host ends QEMU once it has read TVS-DONE; power off only if it never does.
sleep 600
poweroff -f
`;

const UDHCPC = `#!/bin/sh
case "$1" in
  bound|renew)
    ip addr flush dev $interface
    ip addr add $ip/\${mask:-24} dev $interface
    [ -n "$mtu" ] && ip link set $interface mtu $mtu
    [ -n "$router" ] && ip route add default via \${router%% *}
    echo "TVS-RESULT dhcp_ip=$ip dhcp_router=$router dhcp_mtu=$mtu" ;;
esac
exit 0
`;

interface CpioEntry {
  name: string;
  mode: number; // full st_mode (type bits included)
  data?: Buffer;
}

/** A "newc" cpio archive (what the kernel's initramfs unpacker reads). */
export function cpioNewc(entries: CpioEntry[]): Buffer {
  const parts: Buffer[] = [];
  let ino = 1;
  const pad4 = (n: number) => (4 - (n % 4)) % 4;
  const push = (e: CpioEntry) => {
    const data = e.data ?? Buffer.alloc(0);
    const name = Buffer.from(e.name + '\0');
    const f = (n: number) => n.toString(16).padStart(8, '0');
    const hdr =
      '070701' + f(ino++) + f(e.mode) + f(0) + f(0) + f(1) + f(0) + f(data.length) + f(0) + f(0) + f(0) + f(0) + f(name.length) + f(0);
    parts.push(Buffer.from(hdr, 'ascii'), name, Buffer.alloc(pad4(110 + name.length)), data, Buffer.alloc(pad4(data.length)));
  };
  for (const e of entries) push(e);
  push({ name: 'TRAILER!!!', mode: 0 });
  return Buffer.concat(parts);
}

const DIR = 0o040755;
const FILE = 0o100755;

/** Fetch the kernel (once) and build the base initramfs (once per init/module set). */
export async function guestImage(): Promise<GuestImage | string> {
  const why = guestSkipReason();
  if (why) return why;
  try {
    return await withLock(() => {
      const { root, release } = fetchKernel();
      const kernel = path.join(root, 'boot', `vmlinuz-${release}`);
      const modDir = path.join(root, 'lib/modules', release);
      const mods = loadOrder(modDir, GUEST_MODULES);
      const bb = busyboxPath();
      const key = crypto.createHash('sha256').update(INIT).update(UDHCPC).update(mods.map((m) => m.name).join(',')).update(String(fs.statSync(bb).size)).digest('hex').slice(0, 16);
      const initrd = path.join(root, `initrd-${key}.cpio.gz`);
      if (!fs.existsSync(initrd)) {
        const entries: CpioEntry[] = [
          { name: 'bin', mode: DIR },
          { name: 'lib', mode: DIR },
          { name: 'lib/modules', mode: DIR },
          { name: 'bin/busybox', mode: FILE, data: fs.readFileSync(bb) },
          { name: 'bin/sh', mode: 0o120777, data: Buffer.from('busybox') },
          { name: 'init', mode: FILE, data: Buffer.from(INIT) },
          { name: 'udhcpc.sh', mode: FILE, data: Buffer.from(UDHCPC) },
          { name: 'modules.order', mode: 0o100644, data: Buffer.from(mods.map((m) => m.name).join('\n') + '\n') },
          ...mods.map((m) => ({ name: `lib/modules/${m.name}.ko`, mode: 0o100644, data: fs.readFileSync(m.file) })),
        ];
        const tmp = `${initrd}.${process.pid}`;
        fs.writeFileSync(tmp, zlib.gzipSync(cpioNewc(entries)));
        fs.renameSync(tmp, initrd);
      }
      return { kernel, initrd, release };
    });
  } catch (e) {
    return `cannot fetch/build the guest kernel: ${(e as Error).message.split('\n')[0]}`;
  }
}

export type GuestNic =
  /** A tap created by QEMU and attached by scripts/tvs-ifup (env: TVS_BRIDGE, TVS_TAG, TVS_CONTROL...). */
  | { kind: 'tap'; ifname: string; mac: string; env: Record<string, string>; script?: string; downscript?: string }
  /** A unix stream socket the switch listens on (type=unix port). */
  | { kind: 'stream'; path: string; mac: string };

export interface GuestOptions {
  name: string;
  nic: GuestNic;
  /** tvs.KEY=VALUE on the kernel command line → $TVS_KEY in the script (no spaces in values). */
  params?: Record<string, string>;
  /** Shell script run after boot (busybox sh); print `TVS-RESULT k=v` lines. */
  script: string;
  /** Hard limit for the whole VM run (default 300 s): then it is killed by PID. */
  timeoutMs?: number;
}

export interface GuestResult {
  code: number | null;
  /** The script ran to its end: `TVS-DONE` reached the host. */
  finished: boolean;
  timedOut: boolean;
  console: string;
  /** Every `TVS-RESULT k=v ...` pair seen on the console (last value wins). */
  results: Record<string, string>;
  /** Seconds from spawn to exit. */
  seconds: number;
}

export interface Guest {
  name: string;
  proc: ChildProcess;
  console: () => string;
  /**
   * Resolves with the matching line once it appears on the console; rejects (with the console
   * tail) when the VM exits without it or after timeoutMs (default: the VM's time limit).
   */
  waitFor: (re: RegExp, timeoutMs?: number) => Promise<string>;
  done: Promise<GuestResult>;
  /** End the VM now (SIGTERM, then SIGKILL): QEMU runs the downscript on SIGTERM. */
  stop: () => Promise<GuestResult>;
}

export function qemuArgs(img: GuestImage, initrd: string, o: GuestOptions): string[] {
  const params = Object.entries(o.params ?? {}).map(([k, v]) => `tvs.${k}=${v}`);
  const netdev =
    o.nic.kind === 'tap'
      ? `tap,id=n0,ifname=${o.nic.ifname},script=${o.nic.script ?? path.join(SCRIPTS_DIR, 'tvs-ifup')},downscript=${o.nic.downscript ?? path.join(SCRIPTS_DIR, 'tvs-ifdown')},vhost=off`
      : `stream,id=n0,server=off,addr.type=unix,addr.path=${o.nic.path}`;
  return [
    '-machine', 'q35', '-accel', 'tcg', '-m', '256', '-smp', '1',
    '-nodefaults', '-no-user-config', '-display', 'none', '-serial', 'stdio', '-monitor', 'none', '-no-reboot',
    '-kernel', img.kernel, '-initrd', initrd,
    '-append', ['console=ttyS0', 'quiet', 'loglevel=3', 'panic=-1', ...params].join(' '),
    '-netdev', netdev,
    '-device', `virtio-net-pci,netdev=n0,mac=${o.nic.mac}`,
  ];
}

/** Boot a guest; it is killed by PID at its time limit and in teardown. */
export function startGuest(t: Teardownable, img: GuestImage, o: GuestOptions): Guest {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `tvs-guest-${o.name}-`));
  // The scenario script rides in a second (uncompressed) cpio appended to the base initramfs:
  const initrd = path.join(dir, 'initrd');
  // the kernel unpacks concatenated archives in order; an uncompressed one must start 4-byte
  // aligned (zero bytes in between are skipped).
  const base = fs.readFileSync(img.initrd);
  const pad = Buffer.alloc((4 - (base.length % 4)) % 4);
  fs.writeFileSync(initrd, Buffer.concat([base, pad, cpioNewc([{ name: 'script.sh', mode: FILE, data: Buffer.from(o.script) }])]));
  const env = { ...process.env, ...(o.nic.kind === 'tap' ? o.nic.env : {}) };
  const t0 = Date.now();
  const proc = spawn(QEMU, qemuArgs(img, initrd, o), { stdio: ['ignore', 'pipe', 'pipe'], env });
  let out = '';
  const waiters: { re: RegExp; resolve: (l: string) => void; reject: (e: Error) => void; timer: NodeJS.Timeout }[] = [];
  const check = () => {
    for (let i = waiters.length - 1; i >= 0; i--) {
      const m = waiters[i].re.exec(out);
      if (m) {
        clearTimeout(waiters[i].timer);
        waiters[i].resolve(m[0]);
        waiters.splice(i, 1);
      }
    }
  };
  let finished = false;
  proc.stdout!.on('data', (d) => {
    out += d.toString().replace(/\r/g, '');
    check();
    // Everything the script printed has arrived: end the VM (QEMU runs the downscript).
    if (!finished && /^TVS-DONE rc=\d+$/m.test(out)) {
      finished = true;
      // Generous grace: QEMU runs the downscript (a CLI call) before it exits.
      kill(30_000);
    }
  });
  proc.stderr!.on('data', (d) => (out += `[qemu] ${d}`));
  let exited = false;
  const limit = o.timeoutMs ?? 300_000;
  let timedOut = false;
  const killTimer = setTimeout(() => {
    timedOut = true;
    kill();
  }, limit);
  /** SIGTERM now, SIGKILL after graceMs if QEMU is still there. */
  const kill = (graceMs = 5000) => {
    if (exited || !proc.pid) return;
    try {
      process.kill(proc.pid, 'SIGTERM');
    } catch { /* gone */ }
    setTimeout(() => {
      if (!exited && proc.pid) {
        try {
          process.kill(proc.pid, 'SIGKILL');
        } catch { /* gone */ }
      }
    }, graceMs).unref();
  };
  const done = new Promise<GuestResult>((resolve) => {
    proc.on('close', (code) => {
      exited = true;
      clearTimeout(killTimer);
      for (const w of waiters.splice(0)) {
        clearTimeout(w.timer);
        w.reject(new Error(`${o.name} exited after ${((Date.now() - t0) / 1000).toFixed(1)} s before ${w.re} appeared; console:\n${out.slice(-3000)}`));
      }
      const results: Record<string, string> = {};
      for (const m of out.matchAll(/TVS-RESULT ([^\n]*)/g)) {
        for (const kv of m[1].trim().split(/\s+/)) {
          const i = kv.indexOf('=');
          if (i > 0) results[kv.slice(0, i)] = kv.slice(i + 1);
        }
      }
      resolve({ code, finished, timedOut: timedOut && !finished, console: out, results, seconds: (Date.now() - t0) / 1000 });
    });
  });
  t.teardown(async () => {
    kill();
    await Promise.race([done, new Promise((r) => setTimeout(r, 8000))]);
    fs.rmSync(dir, { recursive: true, force: true });
  });
  return {
    name: o.name,
    proc,
    console: () => out,
    waitFor: (re, timeoutMs = limit) =>
      new Promise<string>((resolve, reject) => {
        const m = re.exec(out);
        if (m) return resolve(m[0]);
        if (exited) return reject(new Error(`${o.name} has exited after ${((Date.now() - t0) / 1000).toFixed(1)} s; ${re} never appeared; console:\n${out.slice(-3000)}`));
        const timer = setTimeout(() => {
          const i = waiters.findIndex((w) => w.timer === timer);
          if (i >= 0) waiters.splice(i, 1);
          reject(new Error(`${o.name}: ${re} did not appear within ${timeoutMs} ms (${((Date.now() - t0) / 1000).toFixed(1)} s since start); console:\n${out.slice(-3000)}`));
        }, timeoutMs);
        waiters.push({ re, resolve, reject, timer });
      }),
    done,
    stop: () => {
      kill();
      return done;
    },
  };
}

/** Why a guest did not finish its script, for a failure message (console tail included). */
export function unfinishedReason(name: string, r: GuestResult): string {
  const how = r.timedOut ? 'was killed at its time limit' : `exited (code ${r.code}) without TVS-DONE`;
  return `${name} ${how} after ${r.seconds.toFixed(1)} s: its script did not run to the end; console tail:\n${r.console.slice(-2500)}`;
}

/**
 * Wait for every guest to end and assert that each ran its script to the end (TVS-DONE seen):
 * results from a guest that never ran prove nothing, so that is a failure of its own, with the
 * console tail and the elapsed time. Resolves with the results in the order given.
 */
export async function guestsFinished(t: { ok: (v: unknown, msg: string) => unknown }, guests: Guest[]): Promise<GuestResult[]> {
  const rs = await Promise.all(guests.map((g) => g.done));
  rs.forEach((r, i) => t.ok(r.finished, r.finished ? `${guests[i].name} ran its script to the end (${r.seconds.toFixed(1)} s)` : unfinishedReason(guests[i].name, r)));
  return rs;
}

/** A locally administered MAC for guest n: 52:54:00:fa:XX:YY. */
export function guestMac(n: number): string {
  return `52:54:00:fa:${((n >> 8) & 0xff).toString(16).padStart(2, '0')}:${(n & 0xff).toString(16).padStart(2, '0')}`;
}

/** Environment for scripts/tvs-ifup|ifdown run by QEMU. */
export function ifupEnv(control: string, bridge: string, tag?: number, extra: Record<string, string> = {}): Record<string, string> {
  return {
    TVS_CONTROL: control,
    TVS_BRIDGE: bridge,
    TVS_TAG: tag !== undefined ? String(tag) : '',
    TVS_NODE: process.execPath,
    // Ignore a host-wide /etc/tvs/ifup.conf: the test says everything.
    TVS_IFUP_CONF: '/nonexistent',
    ...extra,
  };
}

// ---------------------------------------------------------------- scenario scripts

/**
 * Server: a random file ($TVS_kib KiB), md5 printed, served once to whoever connects to :5001
 * (busybox nc runs `cat FILE` on the connection; the static busybox's wget crashes in glibc's
 * NSS, so no HTTP). Ends when $TVS_clients clients (default 1) have connected to :5002.
 */
export const SERVER = `
dd if=/dev/urandom of=/www/data bs=1024 count=\${TVS_kib:-4096} 2>/dev/null
echo "TVS-RESULT server_md5=$(md5sum /www/data | cut -d' ' -f1) server_bytes=$(wc -c < /www/data)"
nc -l -p 5001 -e cat /www/data &
echo "TVS-RESULT ready=1"
for i in $(seq \${TVS_clients:-1}); do timeout 100 nc -l -p 5002 -e /bin/true; done
`;

/**
 * Client: wait for $TVS_peer, ping it, fetch the file (unless tvs.fetch=0; stdin is the serial
 * console, so nc never sees EOF on it and waits for the server to close), report, release it.
 * The pings go one at a time, each with 5 s for its reply (as pingEach on the host): busybox's
 * `ping -c 5 -W 2` gives the last echo only about a second once a reply is in, and counts a
 * later reply (two emulated guests on a loaded host) as lost.
 */
export const CLIENT = `
i=0; until ping -c 1 -W 1 $TVS_peer >/dev/null 2>&1; do i=$((i+1)); [ $i -ge 60 ] && break; done
rx=0; for k in 1 2 3 4 5; do ping -c 1 -W 5 $TVS_peer >> /tmp/ping 2>&1 && rx=$((rx+1)); done
echo "TVS-RESULT ping_rx=$rx"
if [ "$TVS_fetch" != 0 ]; then
echo "TVS-MARK fetch-start"
t0=$(date +%s)
i=0; until nc -w 30 $TVS_peer 5001 > /tmp/data && [ -s /tmp/data ]; do i=$((i+1)); [ $i -ge 20 ] && break; sleep 0.5; t0=$(date +%s); done
t1=$(date +%s)
echo "TVS-RESULT nc_tries=$i client_md5=$(md5sum /tmp/data | cut -d' ' -f1) client_bytes=$(wc -c < /tmp/data) seconds=$((t1-t0))"
fi
sleep 1
# Release the server. Bounded: nc's -w bounds only the connect, and with stdin on the serial
# console a connection the server never closes (it was already released) would hang here.
timeout 10 nc -w 3 $TVS_peer 5002 </dev/null >/dev/null 2>&1
`;

/** Isolated side: may not reach the peer at all. */
export const PROBE = `
ping -c 6 -i 0.5 -W 1 $TVS_peer > /tmp/ping 2>&1
echo "TVS-RESULT ping_tx=$(sed -n 's/^\\([0-9]*\\) packets transmitted.*/\\1/p' /tmp/ping) ping_rx=$(sed -n 's/.* \\([0-9]*\\) packets received.*/\\1/p' /tmp/ping)"
echo "TVS-RESULT neigh=$(ip neigh show $TVS_peer | grep -c lladdr) tx_frames=$(cat /sys/class/net/eth0/statistics/tx_packets)"
`;
