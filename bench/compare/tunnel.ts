/**
 * VM → tunnel → VM between two compute nodes, beside plain L2 and beside the kernel:
 *
 *   tvs L2:      h1 ── [tvs br0] ── h2                                  (one node, bench/compare's Lab)
 *   tvs VXLAN:   h1 ── [tvs br0 + vxlan] ══ underlay veth ══ [vxlan + tvs br0] ── h2
 *   Linux VXLAN: h1 ── [bridge + vxlan dev] ══ underlay veth ══ [vxlan dev + bridge] ── h2
 *
 * Node A is the Lab's switch namespace, node B a second one; the underlay is a veth with MTU
 * 1600 (10.234.0.1 ↔ 10.234.0.2), so 1500-byte VM frames fit after 50 bytes of VXLAN. The same
 * measurement pass as bench/compare (measure.ts: ping, pacegen 64 B / 1500 B at its maximum
 * and 64 B at a paced fixed rate, iperf3 with the VMs' offloads off and on). tvs node A is pinned like the L2 switch; node B is left to
 * the scheduler (on two cores there is no third to give it). CPU per packet is node A's.
 *
 *   node dist/bench/compare/tunnel.js          # 5 s per measurement, about 2 minutes
 *   TVS_BENCH_SECONDS=2 node dist/bench/compare/tunnel.js   # smoke run, about 1 minute
 *
 * Writes bench/results/tunnel.json and prints a markdown table.
 */
import * as fs from 'fs';
import * as path from 'path';
import { Lab, TvsSwitch, startTvsDaemon, SWITCH_CPU, type SwitchUnderTest } from './lab';
import { measurePass, type PassFigures } from './measure';
import { sh, nsx, stopPid, busyCheck, machineMeta } from './sys';

const UL = { a: '10.234.0.1', b: '10.234.0.2', prefix: 24, mtu: 1600 };
const VNI = 100;

/** The Lab with h2's switch end (p2) moved to a second node namespace and an underlay between. */
export class TunnelLab extends Lab {
  readonly swB = `tvcsb${this.tag}`;
  constructor() {
    super('l2');
  }
  override create(): void {
    super.create();
    sh(['ip', 'netns', 'add', this.swB]);
    sh(['ip', '-n', this.swB, 'link', 'set', 'lo', 'up']);
    sh(nsx(this.swB, ['sysctl', '-qw', 'net.ipv6.conf.all.disable_ipv6=1', 'net.ipv6.conf.default.disable_ipv6=1']), { allowFail: true });
    sh(['ip', '-n', this.sw, 'link', 'set', 'p2', 'netns', this.swB]);
    sh(['ip', '-n', this.swB, 'link', 'set', 'p2', 'up']);
    sh(['ip', '-n', this.sw, 'link', 'add', 'ul', 'mtu', String(UL.mtu), 'type', 'veth', 'peer', 'name', 'ul', 'mtu', String(UL.mtu), 'netns', this.swB]);
    sh(['ip', '-n', this.sw, 'addr', 'add', `${UL.a}/${UL.prefix}`, 'dev', 'ul']);
    sh(['ip', '-n', this.swB, 'addr', 'add', `${UL.b}/${UL.prefix}`, 'dev', 'ul']);
    sh(['ip', '-n', this.sw, 'link', 'set', 'ul', 'up']);
    sh(['ip', '-n', this.swB, 'link', 'set', 'ul', 'up']);
  }
  override offloads(on: boolean): void {
    const v = on ? 'on' : 'off';
    for (const [ns, dev] of [[this.h1, 'eth0'], [this.h2, 'eth0'], [this.sw, 'p1'], [this.swB, 'p2']]) {
      sh(nsx(ns, ['ethtool', '-K', dev, 'tso', v, 'gso', v, 'gro', v, 'tx', v, 'rx', v]), { allowFail: true });
    }
  }
  override destroy(): void {
    sh(['ip', 'netns', 'del', this.swB], { allowFail: true });
    super.destroy();
  }
}

/** Two tvs daemons, one per node: br0 with the VM port and a vxlan port to the other node. */
class TvsVxlan implements SwitchUnderTest {
  readonly kind = 'tvs';
  readonly tcpOnLabel = 'vnet header (TSO frames segmented before encapsulation)';
  private pids: number[] = [];
  constructor(private lab: TunnelLab) {}
  pid(): number {
    return this.pids[0] ?? 0;
  }
  async setup(): Promise<void> {
    const nodes = [
      { ns: this.lab.sw, port: 'p1', local: UL.a, remote: UL.b, cpu: SWITCH_CPU as string | undefined },
      { ns: this.lab.swB, port: 'p2', local: UL.b, remote: UL.a, cpu: undefined },
    ];
    for (const [i, n] of nodes.entries()) {
      const control = path.join(this.lab.dir, `tvs-${i === 0 ? 'a' : 'b'}.sock`);
      this.pids.push(await startTvsDaemon(n.ns, this.lab.dir, control, [], n.cpu));
      const tvs = (...a: string[]) => sh([process.execPath, path.resolve(__dirname, '../../src/cli/tvs.js'), '--control', control, ...a]);
      tvs('add-br', 'br0');
      tvs('add-port', 'br0', n.port);
      tvs('add-port', 'br0', 'vxlan0', 'type=vxlan', `remote_ip=${n.remote}`, `local_ip=${n.local}`, `key=${VNI}`);
    }
  }
  async teardown(): Promise<void> {
    for (const pid of this.pids.splice(0)) await stopPid(pid, 8000);
  }
}

/** The kernel: a Linux bridge and a vxlan device on each node. */
class LinuxVxlan implements SwitchUnderTest {
  readonly kind = 'linux';
  constructor(private lab: TunnelLab) {}
  pid(): number {
    return 0;
  }
  async setup(): Promise<void> {
    for (const [ns, port, local, remote] of [
      [this.lab.sw, 'p1', UL.a, UL.b],
      [this.lab.swB, 'p2', UL.b, UL.a],
    ]) {
      sh(['ip', '-n', ns, 'link', 'add', 'vx0', 'mtu', '1500', 'type', 'vxlan', 'id', String(VNI), 'dstport', '4789', 'local', local, 'remote', remote, 'dev', 'ul']);
      sh(['ip', '-n', ns, 'link', 'add', 'br0', 'type', 'bridge', 'stp_state', '0', 'forward_delay', '0']);
      for (const dev of [port, 'vx0']) sh(['ip', '-n', ns, 'link', 'set', dev, 'master', 'br0']);
      for (const dev of ['vx0', 'br0']) sh(['ip', '-n', ns, 'link', 'set', dev, 'up']);
    }
  }
  async teardown(): Promise<void> {
    /* the namespaces go with the lab */
  }
}

export interface TunnelBenchRow {
  setup: string;
  figures?: PassFigures;
  error?: string;
}

export async function runTunnelBench(o: { seconds: number; pings: number; log?: (s: string) => void }): Promise<TunnelBenchRow[]> {
  const log = o.log ?? ((s: string) => console.log(s));
  const setups: { name: string; make: () => { lab: Lab; sw: SwitchUnderTest } }[] = [
    { name: 'tvs L2 (one bridge)', make: () => { const lab = new Lab('l2'); return { lab, sw: new TvsSwitch(lab) }; } },
    { name: 'tvs VXLAN (two nodes)', make: () => { const lab = new TunnelLab(); return { lab, sw: new TvsVxlan(lab) }; } },
    { name: 'Linux bridge + vxlan (two nodes)', make: () => { const lab = new TunnelLab(); return { lab, sw: new LinuxVxlan(lab) }; } },
  ];
  const rows: TunnelBenchRow[] = [];
  for (const s of setups) {
    const { lab, sw } = s.make();
    log(`${s.name}...`);
    try {
      lab.create();
      await sw.setup();
      const figures = await measurePass(lab, sw, { seconds: o.seconds, pings: o.pings, fixedRatePps: 50_000, progress: (m) => log(`  ${m}`) });
      rows.push({ setup: s.name, figures });
    } catch (e) {
      rows.push({ setup: s.name, error: (e as Error).message });
    } finally {
      await sw.teardown().catch(() => undefined);
      lab.destroy();
    }
  }
  return rows;
}

export function tunnelMarkdown(rows: TunnelBenchRow[]): string {
  const f = (x: number, d = 0) => (Number.isFinite(x) ? x.toFixed(d) : '-');
  const l2 = rows[0]?.figures?.udp64.deliveredPps ?? NaN;
  const out = [
    '| setup | 64 B delivered pps | vs tvs L2 | 64 B CPU µs/pkt | 1500 B delivered pps | TCP offloads off Gbit/s | TCP offloads on Gbit/s | ping avg ms |',
    '|---|---:|---:|---:|---:|---:|---:|---:|',
  ];
  for (const r of rows) {
    const p = r.figures;
    if (!p) {
      out.push(`| ${r.setup} | failed: ${r.error} ||||||| `);
      continue;
    }
    out.push(`| ${r.setup} | ${f(p.udp64.deliveredPps)} | ${f((p.udp64.deliveredPps / l2) * 100)}% | ${f(p.udp64.cpuUsPerPacket, 2)} | ${f(p.udp1500.deliveredPps)} | ${f(p.tcpOffGbps, 2)} | ${f(p.tcpOnGbps, 2)} | ${f(p.pingAvgMs, 3)} |`);
  }
  return out.join('\n');
}

if (require.main === module) {
  (async () => {
    const seconds = Number(process.env.TVS_BENCH_SECONDS ?? 5);
    const busy = await busyCheck();
    const t0 = Date.now();
    const rows = await runTunnelBench({ seconds, pings: Number(process.env.TVS_BENCH_PINGS ?? 200) });
    const md = tunnelMarkdown(rows);
    const outDir = process.env.TVS_BENCH_OUT ?? path.resolve(__dirname, '../../../bench/results');
    fs.mkdirSync(outDir, { recursive: true });
    fs.writeFileSync(path.join(outDir, 'tunnel.json'), JSON.stringify({ machine: machineMeta(), busy, seconds, wallSeconds: (Date.now() - t0) / 1000, rows }, null, 2) + '\n');
    console.log(md);
    console.log(`load before: ${JSON.stringify(busy)}; ${((Date.now() - t0) / 1000).toFixed(0)} s wall`);
  })().catch((e) => {
    console.error(e);
    process.exit(1);
  });
}
