/**
 * A/B of tvs port options on the comparison's L2 topology (h1 → tvs → h2 over veth): CPU time
 * per delivered packet for 64 B UDP at trafgen's maximum (user and system apart), optionally TCP
 * with veth offloads off, and the Linux bridge's TCP in the same round for the ratio. Variants
 * alternate within each repetition, so a change in machine load hits them alike; the report is
 * min–median–max per variant with the load average. CPU per packet is the figure to compare on
 * a shared machine: packets per second move with whatever else runs, CPU time per packet much
 * less.
 *
 *   node dist/bench/compare/ab.js [--reps N] [--seconds S] [--tcp] [--linux] -- 'A opts' 'B opts' ...
 *   e.g. node dist/bench/compare/ab.js --reps 3 -- '' 'tx_ring=on'      (root)
 *
 * A variant whose first word is `@TREE` runs another built checkout's tvs (TREE/dist/src/cli/tvs.js)
 * with the add-port options after it, for an A/B of code changes: `-- '@/path/to/main' ''`.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { ADDR, Lab, LinuxSwitch, SwitchUnderTest, TvsSwitch } from './lab';
import { killIperfServer } from './measure';
import { sh, nsx, sleep, median } from './sys';

interface Sample {
  variant: string;
  deliveredKpps: number;
  offeredKpps: number;
  userUs: number;
  sysUs: number;
  cpuUs: number;
  tcpGbps?: number;
  load1: number;
}

function userSys(pid: number): [number, number] {
  const f = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  const p = f.slice(f.lastIndexOf(')') + 2).split(' ');
  return [Number(p[11]), Number(p[12])];
}

const counter = (ns: string, what: string) => Number(sh(nsx(ns, ['cat', `/sys/class/net/eth0/statistics/${what}`])).trim());

async function udpRun(lab: Lab, pid: number, seconds: number): Promise<Omit<Sample, 'variant' | 'load1' | 'tcpGbps'>> {
  const nft = path.join(lab.dir, 'sink.nft');
  fs.writeFileSync(nft, 'table netdev tvcsink {\n  chain in {\n    type filter hook ingress device "eth0" priority 0;\n    udp dport 9 counter drop\n  }\n}\n');
  sh(nsx(lab.h2, ['nft', '-f', nft]));
  const conf = path.join(lab.dir, 'udp64.cfg');
  fs.writeFileSync(conf, `{ eth(da=${lab.mac(lab.h2)}, sa=${lab.mac(lab.h1)}), ipv4(saddr=${ADDR.l2.h1}, daddr=${ADDR.l2.h2}, ttl=64), udp(sp=dinc(4000, 4015), dp=9), fill(0x41, 22) }\n`);
  const rx0 = counter(lab.h2, 'rx_packets');
  const tx0 = counter(lab.h1, 'tx_packets');
  const [u0, s0] = pid ? userSys(pid) : [0, 0];
  const t0 = Date.now();
  sh(nsx(lab.h1, ['timeout', String(seconds), 'trafgen', '--dev', 'eth0', '--conf', conf, '--cpus', '1', '--no-sock-mem', '--num', String(seconds * 3_000_000)]), {
    allowFail: true,
    timeoutMs: (seconds + 10) * 1000,
  });
  const elapsed = (Date.now() - t0) / 1000;
  await sleep(300);
  const delivered = counter(lab.h2, 'rx_packets') - rx0;
  const offered = counter(lab.h1, 'tx_packets') - tx0;
  const [u1, s1] = pid ? userSys(pid) : [0, 0];
  sh(nsx(lab.h2, ['nft', 'delete', 'table', 'netdev', 'tvcsink']), { allowFail: true });
  const per = (ticks: number) => (delivered ? ((ticks / 100) * 1e6) / delivered : NaN);
  return {
    deliveredKpps: delivered / elapsed / 1000,
    offeredKpps: offered / elapsed / 1000,
    userUs: per(u1 - u0),
    sysUs: per(s1 - s0),
    cpuUs: per(u1 - u0 + s1 - s0),
  };
}

function tcpRun(lab: Lab, seconds: number, port: number): number {
  lab.offloads(false);
  sh(nsx(lab.h2, ['iperf3', '-s', '-1', '-D', '-p', String(port)]));
  sh(['sleep', '0.3']);
  const out = sh(nsx(lab.h1, ['iperf3', '-c', ADDR.l2.h2, '-p', String(port), '-t', String(seconds), '--connect-timeout', '3000', '-J']), {
    allowFail: true,
    timeoutMs: (seconds + 20) * 1000,
  });
  try {
    return JSON.parse(out).end.sum_received.bits_per_second / 1e9;
  } catch {
    return NaN;
  } finally {
    killIperfServer(lab.h2, port); // still waiting if the client never connected
  }
}

async function oneRun(variant: string, opts: string[], seconds: number, tcp: boolean, port: number): Promise<Sample> {
  const lab = new Lab('l2');
  let sw: SwitchUnderTest | undefined;
  try {
    lab.create();
    if (variant === 'linux') sw = new LinuxSwitch(lab);
    else {
      const tree = opts[0]?.startsWith('@') ? opts.shift()!.slice(1) : undefined;
      const tvs = new TvsSwitch(lab, [], opts);
      if (tree !== undefined) tvs.tvsScript = path.resolve(tree, 'dist/src/cli/tvs.js');
      sw = tvs;
    }
    await sw.setup();
    sh(nsx(lab.h1, ['ping', '-c', '3', '-i', '0.2', '-W', '1', ADDR.l2.h2]), { allowFail: true, timeoutMs: 10_000 });
    const load1 = +os.loadavg()[0].toFixed(1);
    const u = variant === 'linux' ? { deliveredKpps: NaN, offeredKpps: NaN, userUs: NaN, sysUs: NaN, cpuUs: NaN } : await udpRun(lab, sw.pid(), seconds);
    const tcpGbps = tcp ? tcpRun(lab, seconds, port) : undefined;
    return { variant, ...u, tcpGbps, load1 };
  } finally {
    if (sw) await sw.teardown().catch(() => undefined);
    lab.destroy();
  }
}

function mmm(xs: number[], digits: number): string {
  const v = xs.filter((x) => !Number.isNaN(x)).sort((a, b) => a - b);
  if (!v.length) return '—';
  return `${v[0].toFixed(digits)}–${median(v).toFixed(digits)}–${v[v.length - 1].toFixed(digits)}`;
}

async function main(): Promise<void> {
  const argv = process.argv.slice(2);
  const dd = argv.indexOf('--');
  const flags = dd >= 0 ? argv.slice(0, dd) : argv;
  const variants = dd >= 0 ? argv.slice(dd + 1) : ['', 'tx_ring=on'];
  const num = (name: string, def: number) => {
    const i = flags.indexOf(name);
    return i >= 0 ? Number(flags[i + 1]) : def;
  };
  const reps = num('--reps', 3);
  const seconds = num('--seconds', 5);
  const tcp = flags.includes('--tcp');
  if (flags.includes('--linux')) variants.push('linux');
  const samples: Sample[] = [];
  let port = 5400;
  for (let r = 0; r < reps; r++) {
    for (const v of variants) {
      const s = await oneRun(v, v.split(/\s+/).filter(Boolean), seconds, tcp, port++);
      samples.push(s);
      console.log(JSON.stringify(s));
    }
  }
  console.log(`\n${reps} alternating runs × ${seconds} s, ${new Date().toISOString()}, load1 during runs ${mmm(samples.map((s) => s.load1), 1)}`);
  console.log('variant | CPU µs/pkt (user + sys) | user | sys | delivered kpps | offered kpps' + (tcp ? ' | TCP off Gbit/s' : ''));
  for (const v of variants) {
    const xs = samples.filter((s) => s.variant === v);
    const col = (k: keyof Sample, d: number) => mmm(xs.map((s) => s[k] as number), d);
    console.log(`${v || '(default)'} | ${col('cpuUs', 2)} | ${col('userUs', 2)} | ${col('sysUs', 2)} | ${col('deliveredKpps', 0)} | ${col('offeredKpps', 0)}` + (tcp ? ` | ${col('tcpGbps', 2)}` : ''));
  }
}

if (require.main === module) {
  main().catch((e) => {
    console.error(e);
    process.exit(1);
  });
}
