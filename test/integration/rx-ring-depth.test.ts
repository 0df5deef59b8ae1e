/**
 * n_rxq_desc: an AF_PACKET port's receive ring depth, in frames.
 *
 * - The kernel's own view of the ring (packet_diag, `ss -0 -e -p`: ring_rx frm_nr) matches the
 *   option, and dump-ports shows the same figure (JSON and text); the default port's ring is
 *   the documented default.
 * - The depth is what it claims: the switch is stopped (SIGSTOP, its core "taken away") while a
 *   sender behind each port sends 3,000 frames; after SIGCONT, the frames behind the
 *   4,096-frame ring all reach the receiver, the ones behind the 1,024-frame ring exactly
 *   1,024 of them, the rest counted as rx_kernel_ring on that port.
 * - Bad values are refused with an error naming the port and the option, and change nothing
 *   (no port added, no packet socket opened on the interface).
 */
import t from 'tap';
import { isRoot, haveCmd, Lab, sh } from '../../lab/netns';
import { startDaemon, tvs, tvsOk, nsRun, pingEach, waitUntil } from '../../lab/daemon';
import { bindingAvailable } from '../../src/io/binding';

const why = !isRoot()
  ? 'needs root: creates namespaces and veth devices'
  : !bindingAvailable()
    ? 'native addon not built (run make)'
    : !haveCmd('ss') || !haveCmd('python3') || !haveCmd('ping')
      ? 'needs ss (iproute2), python3 and ping'
      : '';

const NET = '10.237.0';
const FRAMES = 3000;
/** The default ring at MTU 1500 (README, port options): 2,048 frames of 2 KiB. */
const DEFAULT_FRAMES = 2048;

/** The kernel's rx ring frame count of `pid`'s AF_PACKET socket on `ifname` (packet_diag), or undefined. */
function kernelRxFrames(pid: number, ifname: string): number | undefined {
  const out = sh(['ss', '-0', '-e', '-p']);
  // One socket per "p_raw" line, its details on the indented lines under it.
  for (const block of out.split(/\n(?=p_raw)/)) {
    if (!block.includes(`*:${ifname} `) || !block.includes(`pid=${pid},`)) continue;
    const m = /ring_rx\([^)]*frm_nr:(\d+)/.exec(block);
    if (m) return Number(m[1]);
  }
  return undefined;
}

/** Packet sockets `pid` has on `ifname` (any kind). */
function socketsOn(pid: number, ifname: string): number {
  return sh(['ss', '-0', '-p']).split('\n').filter((l) => l.includes(`:${ifname} `) && l.includes(`pid=${pid},`)).length;
}

const rxPackets = async (ns: string, dev: string) => Number((await nsRun(ns, ['cat', `/sys/class/net/${dev}/statistics/rx_packets`])).stdout.trim());

/** `n` UDP datagrams from `ns` to `dst`:9 as fast as python sends them (no pacing, bounded in count). */
async function burst(ns: string, dst: string, n: number): Promise<void> {
  const py = `import socket\ns = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)\nfor i in range(${n}):\n    s.sendto(b'x' * 18, ('${dst}', 9))\n`;
  const r = await nsRun(ns, ['python3', '-c', py], 20_000);
  if (r.code !== 0) throw new Error(`sender failed: ${r.stderr}`);
}

t.test('n_rxq_desc: the ring the kernel maps, the stall it absorbs, the values it refuses', { skip: why || false, timeout: 120_000 }, async (t) => {
  const lab = Lab.create(t);
  const nsDeep = lab.netns('tvnrqa');
  const nsShallow = lab.netns('tvnrqb');
  const nsRecv = lab.netns('tvnrqc');
  const deep = lab.veth({ ns: nsDeep, address: `${NET}.1/24` });
  const shallow = lab.veth({ ns: nsShallow, address: `${NET}.2/24` });
  const recv = lab.veth({ ns: nsRecv, address: `${NET}.3/24` });
  const spare = lab.veth();

  const d = await startDaemon(t);
  const pid = d.proc.pid!;
  // A stopped daemon cannot take SIGTERM: whatever happens, let it run again before teardown.
  t.teardown(() => {
    try {
      process.kill(pid, 'SIGCONT');
    } catch {
      /* gone */
    }
  });
  const c = (...args: string[]) => tvsOk(d.control, args);
  await c('add-br', 'br0');
  await c('add-port', 'br0', deep.host, 'n_rxq_desc=4096');
  await c('add-port', 'br0', shallow.host, 'n_rxq_desc=1024');
  await c('add-port', 'br0', recv.host);

  // What the kernel mapped, and what dump-ports says.
  t.equal(kernelRxFrames(pid, deep.host), 4096, 'n_rxq_desc=4096: the kernel ring has 4,096 frames');
  t.equal(kernelRxFrames(pid, shallow.host), 1024, 'n_rxq_desc=1024: 1,024 frames');
  t.equal(kernelRxFrames(pid, recv.host), DEFAULT_FRAMES, `default: ${DEFAULT_FRAMES} frames`);
  const dump = JSON.parse(await c('--json', 'dump-ports', 'br0')) as { ports: { name: string; ring_frames?: number; ring_frame_size?: number; ring_bytes?: number; drops: Record<string, number> }[] };
  const row = (name: string) => dump.ports.find((p) => p.name === name)!;
  t.match(row(deep.host), { ring_frames: 4096, ring_frame_size: 2048, ring_bytes: 8 << 20 }, 'dump-ports: 4,096 frames of 2 KiB, 8 MiB');
  t.match(row(shallow.host), { ring_frames: 1024, ring_bytes: 2 << 20 });
  t.match(row(recv.host), { ring_frames: DEFAULT_FRAMES, ring_bytes: DEFAULT_FRAMES * 2048 });
  t.match(await c('dump-ports', 'br0'), /ring=8\.0 MiB \(4096 frames × 2048 B\)/, 'the text shows it too');

  // Learn every MAC (and resolve ARP) while the switch runs.
  for (const ns of [nsDeep, nsShallow]) t.equal((await pingEach(ns, `${NET}.3`, 2)).loss, 0, `${ns} reaches the receiver`);

  // Stall: the switch is stopped while 3,000 frames arrive behind each port.
  const stalled = async (ns: string): Promise<number> => {
    const before = await rxPackets(nsRecv, recv.peer);
    process.kill(pid, 'SIGSTOP');
    try {
      await burst(ns, `${NET}.3`, FRAMES);
      await new Promise((r) => setTimeout(r, 200));
    } finally {
      process.kill(pid, 'SIGCONT');
    }
    // Delivered once the switch has drained its ring (the count stops moving).
    let last = -1;
    let now = await rxPackets(nsRecv, recv.peer);
    await waitUntil('the receiver count settles', async () => {
      [last, now] = [now, await rxPackets(nsRecv, recv.peer)];
      return now === last && now - before >= 1024;
    }, 10_000, 300);
    return now - before;
  };
  const gotDeep = await stalled(nsDeep);
  t.ok(gotDeep >= FRAMES && gotDeep <= FRAMES + 4, `4,096-frame ring: all ${FRAMES} frames sent during the stall delivered (${gotDeep})`);
  const gotShallow = await stalled(nsShallow);
  t.ok(gotShallow >= 1024 && gotShallow <= 1024 + 4, `1,024-frame ring: 1,024 of ${FRAMES} delivered (${gotShallow})`);
  const after = JSON.parse(await c('--json', 'dump-ports', 'br0')) as typeof dump;
  const drops = (name: string) => after.ports.find((p) => p.name === name)!.drops.rx_kernel_ring ?? 0;
  t.equal(drops(deep.host), 0, 'the deep ring dropped nothing');
  t.equal(drops(shallow.host), FRAMES - 1024, 'the shallow ring: the rest counted as rx_kernel_ring');

  // Bad values: refused, naming the port and the option; nothing added, no socket opened.
  const refused: [string[], RegExp][] = [
    [['n_rxq_desc=1000'], /port \S+: n_rxq_desc=1000: must be a power of 2 in 64\.\.32768/],
    [['n_rxq_desc=32'], /n_rxq_desc=32: must be an integer in 64\.\.32768/],
    [['n_rxq_desc=65536'], /n_rxq_desc=65536: must be an integer in 64\.\.32768/],
    [['n_rxq_desc=lots'], /n_rxq_desc=lots: must be an integer/],
    [['ring=v3', 'n_rxq_desc=2048'], /n_rxq_desc=2048: only applies to ring=v2/],
    [['type=tap', 'n_rxq_desc=2048'], /n_rxq_desc=2048: only applies to type=afpacket/],
  ];
  for (const [opts, msg] of refused) {
    const r = await tvs(d.control, ['add-port', 'br0', spare.host, ...opts]);
    t.equal(r.code, 1, `${opts.join(' ')}: refused`);
    t.match(r.stderr, msg, `${opts.join(' ')}: says why`);
    t.match(r.stderr, new RegExp(`port ${spare.host}`), `${opts.join(' ')}: names the port`);
  }
  const show = JSON.parse(await c('--json', 'show')) as { ports: unknown[] }[];
  t.equal(show[0].ports.length, 3, 'no port added');
  t.equal(socketsOn(pid, spare.host), 0, 'no packet socket opened on the interface');
  t.ok(d.alive(), 'the switch still runs');
});
