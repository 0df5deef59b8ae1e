/**
 * Through-the-kernel benchmark: h1 ↔ tvs ↔ h2 over veth pairs in namespaces this bench creates
 * (and removes). Measures 64-byte UDP offered by trafgen on one core vs delivered at h2, the
 * same at 1500 bytes, and iperf3 TCP with veth offloads off and on. Also the switch's CPU time
 * per packet from /proc/PID/stat. Traffic goes only to the bench's own namespaces.
 */
import { execFileSync, spawn } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

const TVS = path.resolve(__dirname, '../src/cli/tvs.js');
const tag = process.pid.toString(36);

function sh(argv: string[], allowFail = false, timeout = 60_000): string {
  try {
    return execFileSync(argv[0], argv.slice(1), { encoding: 'utf8', timeout, stdio: ['ignore', 'pipe', 'pipe'] });
  } catch (e) {
    if (allowFail) return '';
    throw new Error(`${argv.join(' ')}: ${(e as { stderr?: string }).stderr ?? (e as Error).message}`);
  }
}

function cpuTicks(pid: number): number {
  const f = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  const parts = f.slice(f.lastIndexOf(')') + 2).split(' ');
  return Number(parts[11]) + Number(parts[12]); // utime + stime
}

function rxPackets(ns: string, dev: string): number {
  return Number(sh(['ip', 'netns', 'exec', ns, 'cat', `/sys/class/net/${dev}/statistics/rx_packets`]).trim());
}
function txPackets(ns: string, dev: string): number {
  return Number(sh(['ip', 'netns', 'exec', ns, 'cat', `/sys/class/net/${dev}/statistics/tx_packets`]).trim());
}

export interface VethResult {
  udp64: { offeredPps: number; deliveredPps: number; ratio: number; cpuUsPerPacket: number };
  udp1500: { offeredPps: number; deliveredPps: number; ratio: number };
  tcpOffloadsOffGbps: number;
  tcpOffloadsOnGbps: number;
}

/**
 * Scenarios: 'l2' — one bridge, NORMAL. 'vlan' — two bridges joined by patch ports, flows push a
 * VLAN tag on ingress (mod_vlan_vid:10) and pop it on egress (strip_vlan), both directions.
 */
export async function runVethBench(opts: { ring?: 'v2' | 'v3'; seconds?: number; scenario?: 'l2' | 'vlan' } = {}): Promise<VethResult> {
  const seconds = opts.seconds ?? 4;
  const h1 = `tvb1${tag}`.slice(0, 15);
  const h2 = `tvb2${tag}`.slice(0, 15);
  const a = `tvba${tag}`.slice(0, 15);
  const b = `tvbb${tag}`.slice(0, 15);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tvs-bench-'));
  const control = path.join(dir, 'tvs.sock');
  let daemonPid = 0;
  const cleanup = () => {
    if (daemonPid) {
      try {
        process.kill(daemonPid, 'SIGTERM');
      } catch {
        /* gone */
      }
    }
    sh(['ip', 'link', 'del', a], true);
    sh(['ip', 'link', 'del', b], true);
    sh(['ip', 'netns', 'del', h1], true);
    sh(['ip', 'netns', 'del', h2], true);
    fs.rmSync(dir, { recursive: true, force: true });
  };
  try {
    for (const [ns, host, ip] of [[h1, a, '10.220.0.1/24'], [h2, b, '10.220.0.2/24']] as const) {
      sh(['ip', 'netns', 'add', ns]);
      sh(['ip', 'link', 'add', host, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', ns]);
      sh(['sysctl', '-qw', `net.ipv6.conf.${host}.disable_ipv6=1`], true);
      sh(['ip', '-n', ns, 'addr', 'add', ip, 'dev', 'eth0']);
      sh(['ip', '-n', ns, 'link', 'set', 'eth0', 'up']);
      sh(['ip', '-n', ns, 'link', 'set', 'lo', 'up']);
      sh(['ip', 'link', 'set', host, 'up']);
    }
    const d = spawn(process.execPath, [TVS, 'start', '--control', control], { stdio: ['ignore', 'ignore', 'inherit'] });
    daemonPid = d.pid!;
    for (let i = 0; i < 100 && !fs.existsSync(control); i++) await new Promise((r) => setTimeout(r, 100));
    const tvs = (...args: string[]) => sh([process.execPath, TVS, '--control', control, ...args]);
    const ring = opts.ring ? [`ring=${opts.ring}`] : [];
    if (opts.scenario === 'vlan') {
      tvs('add-br', 'br-a');
      tvs('add-br', 'br-b');
      tvs('add-port', 'br-a', a, ...ring);
      tvs('add-port', 'br-a', 'pa', 'type=patch', 'peer=pb');
      tvs('add-port', 'br-b', 'pb', 'type=patch', 'peer=pa');
      tvs('add-port', 'br-b', b, ...ring);
      tvs('del-flows', 'br-a'); // the default priority=0,actions=NORMAL flow, as OVS's bench does
      tvs('del-flows', 'br-b');
      tvs('add-flow', 'br-a', `in_port=${a},actions=mod_vlan_vid:10,output:pa`);
      tvs('add-flow', 'br-a', `in_port=pa,dl_vlan=10,actions=strip_vlan,output:${a}`);
      tvs('add-flow', 'br-b', `in_port=pb,dl_vlan=10,actions=strip_vlan,output:${b}`);
      tvs('add-flow', 'br-b', `in_port=${b},actions=mod_vlan_vid:10,output:pb`);
    } else {
      tvs('add-br', 'br0');
      tvs('add-port', 'br0', a, ...ring);
      tvs('add-port', 'br0', b, ...ring);
    }
    // Learn both MACs so the load is switched, not flooded.
    sh(['ip', 'netns', 'exec', h1, 'ping', '-c', '2', '-i', '0.2', '-W', '1', '10.220.0.2'], true);
    const mac2 = sh(['ip', '-n', h2, '-j', 'link', 'show', 'eth0']);
    const dstMac = JSON.parse(mac2)[0].address as string;
    const mac1 = JSON.parse(sh(['ip', '-n', h1, '-j', 'link', 'show', 'eth0']))[0].address as string;

    const trafgenRun = async (size: number) => {
      const payload = size - 42;
      const conf = path.join(dir, `udp${size}.cfg`);
      fs.writeFileSync(conf, `{ eth(da=${dstMac}, sa=${mac1}), ipv4(saddr=10.220.0.1, daddr=10.220.0.2, ttl=64), udp(sp=4000, dp=9), fill(0x41, ${payload}) }\n`);
      const rx0 = rxPackets(h2, 'eth0');
      const tx0 = txPackets(h1, 'eth0');
      const c0 = cpuTicks(daemonPid);
      const t0 = Date.now();
      sh(['ip', 'netns', 'exec', h1, 'timeout', String(seconds), 'trafgen', '--dev', 'eth0', '--conf', conf, '--cpus', '1', '--no-sock-mem'], true, (seconds + 10) * 1000);
      const elapsed = (Date.now() - t0) / 1000;
      await new Promise((r) => setTimeout(r, 300));
      const offered = txPackets(h1, 'eth0') - tx0;
      const delivered = rxPackets(h2, 'eth0') - rx0;
      const cpuSec = (cpuTicks(daemonPid) - c0) / 100;
      return { offeredPps: offered / elapsed, deliveredPps: delivered / elapsed, ratio: offered ? delivered / offered : 0, cpuUsPerPacket: delivered ? (cpuSec * 1e6) / delivered : 0 };
    };
    const udp64 = await trafgenRun(64);
    const udp1500 = await trafgenRun(1500);

    const iperf = (): number => {
      sh(['ip', 'netns', 'exec', h2, 'iperf3', '-s', '-1', '-D', '-p', '5301']);
      sh(['sleep', '0.3']);
      const out = sh(['ip', 'netns', 'exec', h1, 'iperf3', '-c', '10.220.0.2', '-p', '5301', '-t', String(seconds), '-J'], true, (seconds + 20) * 1000);
      try {
        return JSON.parse(out).end.sum_received.bits_per_second / 1e9;
      } catch {
        return 0;
      }
    };
    const tcpOn = iperf();
    for (const ns of [h1, h2]) sh(['ip', 'netns', 'exec', ns, 'ethtool', '-K', 'eth0', 'tso', 'off', 'gso', 'off', 'gro', 'off', 'tx', 'off', 'rx', 'off'], true);
    const tcpOff = iperf();
    return { udp64, udp1500, tcpOffloadsOffGbps: tcpOff, tcpOffloadsOnGbps: tcpOn };
  } finally {
    cleanup();
  }
}

if (require.main === module) {
  const scenario = process.argv[2] === 'vlan' ? 'vlan' : 'l2';
  runVethBench({ scenario, ring: (process.argv[3] as 'v2' | 'v3') || undefined }).then((r) => {
    console.log(JSON.stringify(r, null, 2));
    console.log(`veth 64 B UDP: offered ${(r.udp64.offeredPps / 1e3).toFixed(0)} kpps, delivered ${(r.udp64.deliveredPps / 1e3).toFixed(0)} kpps (${(r.udp64.ratio * 100).toFixed(1)}%)`);
  });
}
