/**
 * One measurement pass over a switch already set up in a Lab: ping RTT, UDP with trafgen on
 * one core (64 B and 1500 B at the generator's maximum, 64 B at a fixed rate), TCP with iperf3
 * (veth offloads off, then on). Every traffic loop is bounded by a packet count and a timeout,
 * and goes only between the lab's namespaces.
 */
import * as fs from 'fs';
import * as path from 'path';
import { ADDR, Lab, SwitchUnderTest } from './lab';
import { sh, nsx, sleep, cpuTicks, rssKiB } from './sys';

export interface UdpFigures {
  offeredPps: number;
  deliveredPps: number;
  lossPct: number;
  /** switch process CPU (user + system) per delivered packet; NaN for the in-kernel switch */
  cpuUsPerPacket: number;
  cpuPct: number;
}

/**
 * Zero-loss throughput (RFC 2544 §26.1 style): the highest offered 64 B rate whose loss was at
 * most `maxLossPct`, found by binary search over trafgen rates between 0 and the generator's
 * maximum. `pps` is the offered rate of the best passing trial (what trafgen really sent, not the
 * rate asked for); the generator's maximum when that already passes.
 */
export interface ZeroLossFigures {
  pps: number;
  maxLossPct: number;
  /** every trial, in order: asked rate, offered, delivered, loss */
  trials: { askPps: number; offeredPps: number; deliveredPps: number; lossPct: number }[];
}

/** One ping run (500 echoes 2 ms apart) and the switch's CPU during it and right after it. */
export interface PingFigures {
  avgMs: number;
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
  lossPct: number;
  /** every RTT in µs, in order (the histogram) */
  rttUs: number[];
  /** switch process CPU (user + system) during the ping run, % of a core; NaN for the in-kernel switch */
  cpuPct: number;
  /** switch process CPU over IDLE_SECONDS right after the ping run (no traffic), % of a core */
  idleCpuPct: number;
}

/** Idle measurement after the ping run: long enough for 1 clock tick (10 ms) to be 0.2%. */
export const IDLE_SECONDS = 5;

export interface PassFigures {
  pingAvgMs: number;
  pingP99Ms: number;
  pingLossPct: number;
  ping: PingFigures;
  /** tvs restarted with `--spin-us N` for a second ping run (absent for the others, or with spinUs 0) */
  pingSpin?: PingFigures & { spinUs: number };
  udp64: UdpFigures;
  udp1500: UdpFigures;
  udp64Fixed: UdpFigures;
  /** absent when the search was not run (TVS_BENCH_ZEROLOSS=0) */
  zeroLoss?: ZeroLossFigures;
  tcpOffGbps: number;
  tcpOnGbps: number;
  rssMiB: number;
}

export interface MeasureOptions {
  seconds: number;
  fixedRatePps: number;
  pings: number;
  /** drop the UDP load at the receiver's netdev ingress (default true) */
  sink?: boolean;
  /** zero-loss search: trials (0 = no search), seconds per trial, loss allowed (%) */
  zeroLossSteps?: number;
  zeroLossSeconds?: number;
  zeroLossMaxPct?: number;
  /** only ping, 64 B at the maximum and the zero-loss search (no 1500 B, fixed rate, TCP) */
  zeroLossOnly?: boolean;
  /** tvs: also ping with `tvs start --spin-us N` (0: not) */
  spinUs?: number;
  progress: (msg: string) => void;
}

const counter = (ns: string, dev: string, what: 'rx_packets' | 'tx_packets') =>
  Number(sh(nsx(ns, ['cat', `/sys/class/net/${dev}/statistics/${what}`])).trim());

/** Who sends to whom in a scenario: the sender, the receiver, and the address/MAC to aim at. */
export function flowOf(lab: Lab): { src: string; dst: string; srcIp: string; dstIp: string } {
  if (lab.scenario === 'nat') {
    // External host → floating IP (DNAT), the Neutron "north-south" direction.
    return { src: lab.h2, dst: lab.h1, srcIp: ADDR.nat.h2, dstIp: ADDR.nat.fip };
  }
  return { src: lab.h1, dst: lab.h2, srcIp: ADDR.l2.h1, dstIp: ADDR.l2.h2 };
}

function dstMac(lab: Lab, src: string, dstIp: string): string {
  // After a ping the sender's neighbour table holds the next hop's MAC (h2 or the router).
  const n = JSON.parse(sh(['ip', '-n', src, '-j', 'neigh', 'show', dstIp]) || '[]') as { lladdr?: string }[];
  if (n[0]?.lladdr) return n[0].lladdr;
  throw new Error(`no neighbour entry for ${dstIp} in ${src}`);
}

export function parsePing(out: string): { avg: number; p50: number; p99: number; max: number; lossPct: number; times: number[] } {
  const inOrder = [...out.matchAll(/time=([\d.]+) ms/g)].map((m) => Number(m[1]));
  const times = [...inOrder].sort((a, b) => a - b);
  const lossM = /([\d.]+)% packet loss/.exec(out);
  if (times.length === 0) return { avg: NaN, p50: NaN, p99: NaN, max: NaN, lossPct: lossM ? Number(lossM[1]) : 100, times: [] };
  const avg = times.reduce((a, b) => a + b, 0) / times.length;
  const q = (p: number) => times[Math.min(times.length - 1, Math.ceil(times.length * p) - 1)];
  return { avg, p50: q(0.5), p99: q(0.99), max: times[times.length - 1], lossPct: lossM ? Number(lossM[1]) : NaN, times: inOrder };
}

/**
 * Ping h1 → h2 (`pings` echoes 2 ms apart, after a warm-up for ARP/MAC learning), with the
 * switch's CPU during the run, then IDLE_SECONDS of no traffic: the switch must go back to
 * sleep (an adaptive spin may run a few ms past the last echo, no more).
 */
export async function pingRun(f: { src: string; dst: string; dstIp: string }, back: string, pid: number, pings: number, pingPrefix: string[] = []): Promise<PingFigures> {
  sh(nsx(f.src, ['ping', '-c', '3', '-i', '0.2', '-W', '1', f.dstIp]), { allowFail: true, timeoutMs: 10_000 });
  sh(nsx(f.dst, ['ping', '-c', '1', '-W', '1', back]), { allowFail: true, timeoutMs: 10_000 });
  const c0 = pid ? cpuTicks(pid) : NaN;
  const t0 = Date.now();
  const out = sh(nsx(f.src, [...pingPrefix, 'ping', '-i', '0.002', '-c', String(pings), '-W', '1', f.dstIp]), { allowFail: true, timeoutMs: 20_000 + pings * 20 });
  const c1 = pid ? cpuTicks(pid) : NaN;
  const t1 = Date.now();
  await sleep(IDLE_SECONDS * 1000);
  const c2 = pid ? cpuTicks(pid) : NaN;
  const p = parsePing(out);
  return {
    avgMs: p.avg, p50Ms: p.p50, p99Ms: p.p99, maxMs: p.max, lossPct: p.lossPct,
    rttUs: p.times.map((x) => Math.round(x * 1000)),
    cpuPct: (c1 - c0) / ((t1 - t0) / 1000),
    idleCpuPct: (c2 - c1) / ((Date.now() - t1) / 1000),
  };
}

export async function measurePass(lab: Lab, sw: SwitchUnderTest, o: MeasureOptions): Promise<PassFigures> {
  const f = flowOf(lab);
  // Warm (inside pingRun): ARP/MAC learning, NAT sessions for ICMP.
  const back = lab.scenario === 'nat' ? ADDR.nat.h2 : ADDR.l2.h1;
  o.progress(`ping ×${o.pings}, then ${IDLE_SECONDS} s idle`);
  const ping = await pingRun(f, back, sw.pid(), o.pings);
  let pingSpin: PassFigures['pingSpin'];
  if ((o.spinUs ?? 0) > 0 && sw.restart) {
    o.progress(`ping ×${o.pings} with --spin-us ${o.spinUs}, then ${IDLE_SECONDS} s idle`);
    await sw.restart(['--spin-us', String(o.spinUs)]);
    pingSpin = { ...(await pingRun(f, back, sw.pid(), o.pings)), spinUs: o.spinUs! };
    await sw.restart([]);
    sh(nsx(f.src, ['ping', '-c', '3', '-i', '0.2', '-W', '1', f.dstIp]), { allowFail: true, timeoutMs: 10_000 });
  }

  // The receiver drops the UDP load at its netdev ingress hook (after the veth counts it): without
  // this, every packet runs h2's whole UDP stack and an ICMP port-unreachable route lookup, and
  // that cost is charged to whoever transmitted on the veth — the switch process (perf showed
  // ~90% of tvs's "CPU per packet" there). Same sink for every switch.
  if (o.sink !== false) {
    const nft = path.join(lab.dir, 'sink.nft');
    fs.writeFileSync(nft, 'table netdev tvcsink {\n  chain in {\n    type filter hook ingress device "eth0" priority 0;\n    udp dport 9 counter drop\n  }\n}\n');
    sh(nsx(f.dst, ['nft', '-f', nft]));
  }
  const mac = dstMac(lab, f.src, f.dstIp);
  const srcMac = lab.mac(f.src);
  const pid = sw.pid();

  const udp = async (size: number, ratePps?: number, seconds = o.seconds): Promise<UdpFigures> => {
    const conf = path.join(lab.dir, `udp${size}.cfg`);
    // UDP to the discard port; 16 source ports so hashing switches see several flows.
    fs.writeFileSync(conf, `{ eth(da=${mac}, sa=${srcMac}), ipv4(saddr=${f.srcIp}, daddr=${f.dstIp}, ttl=64), udp(sp=dinc(4000, 4015), dp=9), fill(0x41, ${size - 42}) }\n`);
    const rx0 = counter(f.dst, 'eth0', 'rx_packets');
    const tx0 = counter(f.src, 'eth0', 'tx_packets');
    const c0 = pid ? cpuTicks(pid) : NaN;
    // Bounded in time (timeout) and in count (--num: more than the generator can send).
    const num = String(Math.ceil(seconds * (ratePps ?? 3_000_000)));
    const rate = ratePps ? ['--rate', `${ratePps}pps`] : [];
    const t0 = Date.now();
    sh(nsx(f.src, ['timeout', String(seconds), 'trafgen', '--dev', 'eth0', '--conf', conf, '--cpus', '1', '--no-sock-mem', '--num', num, ...rate]), {
      allowFail: true,
      timeoutMs: (seconds + 10) * 1000,
    });
    const elapsed = (Date.now() - t0) / 1000;
    await sleep(300); // let the switch drain its queues
    const offered = counter(f.src, 'eth0', 'tx_packets') - tx0;
    const delivered = counter(f.dst, 'eth0', 'rx_packets') - rx0;
    const cpuSec = pid ? (cpuTicks(pid) - c0) / 100 : NaN;
    return {
      offeredPps: offered / elapsed,
      deliveredPps: delivered / elapsed,
      lossPct: offered ? Math.max(0, (1 - delivered / offered) * 100) : NaN,
      cpuUsPerPacket: delivered ? (cpuSec * 1e6) / delivered : NaN,
      cpuPct: (cpuSec / (elapsed + 0.3)) * 100,
    };
  };

  o.progress('UDP 64 B at the generator maximum');
  const udp64 = await udp(64);
  const zlSteps = o.zeroLossSteps ?? 0;
  let zeroLoss: ZeroLossFigures | undefined;
  if (zlSteps > 0) {
    zeroLoss = await searchZeroLoss(udp64, zlSteps, o.zeroLossMaxPct ?? 0.1, (ask) => udp(64, ask, o.zeroLossSeconds ?? o.seconds), o.progress);
  }
  if (o.zeroLossOnly) {
    const nan: UdpFigures = { offeredPps: NaN, deliveredPps: NaN, lossPct: NaN, cpuUsPerPacket: NaN, cpuPct: NaN };
    return {
      pingAvgMs: ping.avgMs, pingP99Ms: ping.p99Ms, pingLossPct: ping.lossPct, ping, pingSpin, udp64, udp1500: nan, udp64Fixed: nan, zeroLoss,
      tcpOffGbps: NaN, tcpOnGbps: NaN, rssMiB: pid ? rssKiB(pid) / 1024 : NaN,
    };
  }
  o.progress('UDP 1500 B at the generator maximum');
  const udp1500 = await udp(1500);
  o.progress(`UDP 64 B at ${o.fixedRatePps / 1000} kpps`);
  const udp64Fixed = await udp(64, o.fixedRatePps);
  const rss = pid ? rssKiB(pid) / 1024 : NaN;

  let port = 5310;
  const iperf = (): number => {
    port++;
    sh(nsx(f.dst, ['iperf3', '-s', '-1', '-D', '-p', String(port)]));
    sh(['sleep', '0.3']);
    const out = sh(nsx(f.src, ['iperf3', '-c', f.dstIp, '-p', String(port), '-t', String(o.seconds), '--connect-timeout', '3000', '-J']), {
      allowFail: true,
      timeoutMs: (o.seconds + 20) * 1000,
    });
    try {
      return JSON.parse(out).end.sum_received.bits_per_second / 1e9;
    } catch {
      // The one-off server is still waiting if the client never connected: end it by its port.
      return 0;
    } finally {
      killIperfServer(f.dst, port);
    }
  };
  o.progress('TCP, veth offloads off');
  lab.offloads(false);
  const tcpOff = iperf();
  lab.offloads(true);
  if (sw.beforeTcpOffloadsOn) {
    o.progress('restarting for offloads on');
    await sw.beforeTcpOffloadsOn();
    sh(nsx(f.src, ['ping', '-c', '2', '-i', '0.2', '-W', '1', f.dstIp]), { allowFail: true, timeoutMs: 10_000 });
  }
  o.progress('TCP, veth offloads on');
  const tcpOn = iperf();

  return {
    pingAvgMs: ping.avgMs,
    pingP99Ms: ping.p99Ms,
    pingLossPct: ping.lossPct,
    ping,
    pingSpin,
    udp64,
    udp1500,
    udp64Fixed,
    zeroLoss,
    tcpOffGbps: tcpOff,
    tcpOnGbps: tcpOn,
    rssMiB: rss,
  };
}

/**
 * Binary search for the zero-loss rate. `atMax` is the trial at the generator's maximum: when it
 * lost at most `maxLossPct`, that is the answer (the switch kept up with everything offered).
 * Otherwise the rate is halved towards the highest passing one, `steps` trials in all (7 trials
 * pin it to 1/128 of the maximum). A trial that passes raises the floor to what it offered.
 */
export async function searchZeroLoss(
  atMax: UdpFigures, steps: number, maxLossPct: number,
  trial: (askPps: number) => Promise<UdpFigures>, progress: (msg: string) => void,
): Promise<ZeroLossFigures> {
  const trials: ZeroLossFigures['trials'] = [];
  const max = atMax.offeredPps;
  if (!(max > 0)) return { pps: NaN, maxLossPct, trials };
  if (atMax.lossPct <= maxLossPct) return { pps: max, maxLossPct, trials };
  let lo = 0;
  let hi = max;
  let best = 0;
  for (let i = 0; i < steps; i++) {
    const ask = Math.round((lo + hi) / 2);
    if (ask < 1000) break;
    progress(`zero-loss search ${i + 1}/${steps}: 64 B at ${(ask / 1e3).toFixed(0)} kpps`);
    const r = await trial(ask);
    trials.push({ askPps: ask, offeredPps: r.offeredPps, deliveredPps: r.deliveredPps, lossPct: r.lossPct });
    if (r.lossPct <= maxLossPct) {
      lo = ask;
      best = Math.max(best, r.offeredPps);
    } else hi = ask;
  }
  return { pps: best, maxLossPct, trials };
}

/** A `-1` iperf3 server left waiting (client failed to connect): find its PID by port in the namespace, end it. */
export function killIperfServer(ns: string, port: number): void {
  const out = sh(nsx(ns, ['ss', '-Hltnp', `sport = :${port}`]), { allowFail: true });
  for (const m of out.matchAll(/pid=(\d+)/g)) {
    try {
      process.kill(Number(m[1]), 'SIGTERM');
    } catch {
      /* gone */
    }
  }
}
