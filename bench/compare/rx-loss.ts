/**
 * Where a paced 64 B trial through tvs loses its frames, and an A/B of add-port options on the
 * zero-loss rate: the comparison's topology (lab.ts), tvs only, every trial paced by pacegen
 * after the RFC 2544 learning frames (as bench/compare). Per trial it prints the frames lost at
 * each place they can be lost, from the counters of every hop:
 *
 *   h1 eth0 tx → [veth: sw p1 rx / rx_dropped] → [AF_PACKET RX ring: tvs rx_kernel (tp_drops)]
 *   → tvs (its drops by reason, dump-ports) → [TX ring / sendmmsg: tx_full] → sw p2 tx / tx_dropped
 *   → [veth: h2 eth0 rx / rx_dropped]; plus the per-CPU backlog drops (/proc/net/softnet_stat)
 *   and the ticks pacegen skipped (its core taken).
 *
 *   node dist/bench/compare/rx-loss.js [--scenarios l2,vlan,fw] [--reps N] [--seconds S]
 *        [--rates 300000,400000] [--search N] [--node-args '--trace-gc'] -- 'A opts' 'B opts' ...  (root)
 *
 * --rates: fixed-rate trials per pass. --search N: a zero-loss search of at most N trials per
 * pass (as compare.ts: the top is the generator maximum's offered rate, then halving and
 * bisection), its trials broken down the same way. Variants alternate within each repetition.
 * RSS of the switch at rest (5 s after configuration: the daemon's quiet trim has run) and after
 * the pass's UDP trials is reported per variant (the memory goal's "at rest" and "after the UDP
 * runs"). The add-port options go to both host-facing ports. --node-args: extra node flags for
 * the switch; with --trace-gc each trial lists the collections V8 did during it (a pause of the
 * switch's own making, as opposed to its core being taken away). As in ab.js, a variant whose
 * first word is `@TREE` runs another built checkout's tvs, a variant's words that start with `--`
 * are node flags for it alone and `start:OPTION` words `tvs start` options.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { Lab, type Scenario, TvsSwitch } from './lab';
import { flowOf, runPacegen, searchZeroLoss, WARMUP, type UdpFigures } from './measure';
import { sh, nsx, sleep, median, rssKiB, runAsRoot } from './sys';
import { gcSummary, parseGcLog } from './gc-log';

type Counters = Record<string, number>;

const stat = (ns: string, dev: string, what: string) => Number(sh(nsx(ns, ['cat', `/sys/class/net/${dev}/statistics/${what}`])).trim());

/** Per-CPU frames dropped because the backlog queue was full (second column of softnet_stat, hex). */
function backlogDrops(): number {
  return fs
    .readFileSync('/proc/net/softnet_stat', 'utf8')
    .trim()
    .split('\n')
    .reduce((s, l) => s + parseInt(l.split(/\s+/)[1], 16), 0);
}

interface DumpPort {
  name: string;
  rx_packets: number;
  tx_packets: number;
  drops: Record<string, number>;
  ring_bytes?: number;
  ring_frames?: number;
}

function bridgesOf(scenario: Scenario): string[] {
  return scenario === 'vlan' ? ['br-a', 'br-b'] : scenario === 'l2' ? ['br0'] : ['br-int'];
}

function snapshot(lab: Lab, sw: TvsSwitch): Counters {
  const c: Counters = {
    h1Tx: stat(lab.h1, 'eth0', 'tx_packets'),
    p1Rx: stat(lab.sw, 'p1', 'rx_packets'),
    p1RxDropped: stat(lab.sw, 'p1', 'rx_dropped'),
    h1TxDropped: stat(lab.h1, 'eth0', 'tx_dropped'),
    p2Tx: stat(lab.sw, 'p2', 'tx_packets'),
    p2TxDropped: stat(lab.sw, 'p2', 'tx_dropped'),
    h2Rx: stat(lab.h2, 'eth0', 'rx_packets'),
    h2RxDropped: stat(lab.h2, 'eth0', 'rx_dropped'),
    backlog: backlogDrops(),
  };
  for (const br of bridgesOf(lab.scenario)) {
    const r = JSON.parse(sw.tvs('--json', 'dump-ports', br)) as { ports: DumpPort[]; drops: Record<string, number> };
    for (const p of r.ports) {
      if (p.name !== 'p1' && p.name !== 'p2') continue;
      c[`tvs.${p.name}.rx`] = p.rx_packets;
      c[`tvs.${p.name}.tx`] = p.tx_packets;
      for (const [k, v] of Object.entries(p.drops)) c[`tvs.${p.name}.drop.${k}`] = v;
    }
    for (const [k, v] of Object.entries(r.drops)) c[`tvs.${br}.drop.${k}`] = (c[`tvs.${br}.drop.${k}`] ?? 0) + v;
  }
  return c;
}

function diff(a: Counters, b: Counters): Counters {
  const d: Counters = {};
  for (const k of new Set([...Object.keys(a), ...Object.keys(b)])) {
    const v = (b[k] ?? 0) - (a[k] ?? 0);
    if (v !== 0 || ['h1Tx', 'h2Rx'].includes(k)) d[k] = v;
  }
  return d;
}

interface Trial extends UdpFigures {
  askPps: number;
  lost: number;
  where: Counters;
  maxLateUs: number;
  /** with --node-args --trace-gc: the collections V8 logged during the trial (kind, pause, reason) */
  gc?: string[];
}

/** The daemon's log (lab.ts startTvsDaemon: LABDIR/tvs.log), from byte `from` on. */
function logSince(lab: Lab, from: number): { text: string; end: number } {
  try {
    const b = fs.readFileSync(`${lab.dir}/tvs.log`);
    return { text: b.subarray(from).toString('utf8'), end: b.length };
  } catch {
    return { text: '', end: from };
  }
}

async function trial(lab: Lab, sw: TvsSwitch, askPps: number | undefined, seconds: number): Promise<Trial> {
  const f = flowOf(lab); // l2, vlan, fw: h1 -> h2, aimed at h2's MAC (not nat)
  const gen = { dev: 'eth0', srcMac: lab.mac(f.src), dstMac: lab.mac(f.dst), srcIp: f.srcIp, dstIp: f.dstIp };
  runPacegen(f.src, { ...gen, size: 64, ratePps: WARMUP.pps, count: WARMUP.frames, seconds: 1 }, 11_000);
  await sleep(WARMUP.settleMs);
  const log0 = logSince(lab, 0).end;
  const a = snapshot(lab, sw);
  const r = askPps
    ? runPacegen(f.src, { ...gen, size: 64, ratePps: Math.round(askPps), count: Math.ceil(seconds * askPps), seconds }, (seconds + 10) * 1000)
    : runPacegen(f.src, { ...gen, size: 64, count: Math.ceil(seconds * 3_000_000), seconds }, (seconds + 10) * 1000);
  await sleep(300);
  const gc = gcSummary(parseGcLog(logSince(lab, log0).text));
  const d = diff(a, snapshot(lab, sw));
  const elapsed = r.seconds > 0 ? r.seconds : seconds;
  const offered = d.h1Tx;
  const delivered = d.h2Rx;
  return {
    askPps: askPps ?? 0,
    offeredPps: offered / elapsed,
    deliveredPps: delivered / elapsed,
    lossPct: offered ? Math.max(0, (1 - delivered / offered) * 100) : NaN,
    cpuUsPerPacket: NaN,
    cpuPct: NaN,
    genSkippedPct: askPps ? (r.skipped / Math.max(1, r.sent + r.skipped)) * 100 : 0,
    lost: offered - delivered,
    where: d,
    maxLateUs: r.maxLateUs,
    ...(gc.length ? { gc } : {}),
  };
}

function line(variant: string, scenario: string, t: Trial): string {
  const w = { ...t.where };
  delete w.h1Tx;
  delete w.h2Rx;
  delete w.p1Rx;
  delete w.p2Tx;
  for (const k of Object.keys(w)) if (/\.(rx|tx)$/.test(k)) delete w[k];
  const ask = t.askPps ? `${(t.askPps / 1e3).toFixed(0)}k` : 'max';
  return `${scenario} ${variant || '(default)'} ask=${ask} offered=${(t.offeredPps / 1e3).toFixed(1)}k loss=${t.lossPct.toFixed(3)}% lost=${t.lost} skipped=${t.genSkippedPct?.toFixed(2)}% maxLate=${t.maxLateUs}us ${JSON.stringify(w)}${t.gc ? ` gc=${JSON.stringify(t.gc)}` : ''}`;
}

async function main(): Promise<void> {
  const argv = process.argv.slice(2);
  const dd = argv.indexOf('--');
  const flags = dd >= 0 ? argv.slice(0, dd) : argv;
  const variants = dd >= 0 ? argv.slice(dd + 1) : [''];
  const opt = (name: string, def: string) => {
    const i = flags.indexOf(name);
    return i >= 0 ? flags[i + 1] : def;
  };
  const scenarios = opt('--scenarios', 'vlan').split(',') as Scenario[];
  const reps = Number(opt('--reps', '1'));
  const seconds = Number(opt('--seconds', '5'));
  const rates = opt('--rates', '').split(',').filter(Boolean).map(Number);
  const search = Number(opt('--search', '0'));
  const nodeArgs = opt('--node-args', '').split(/\s+/).filter(Boolean);
  const out: { scenario: string; variant: string; zeroLossPps?: number; maxLossPct?: number; maxDeliveredPps?: number; rssMiB: number; rssRestMiB: number; load1: number }[] = [];
  for (let rep = 0; rep < reps; rep++) {
    for (const scenario of scenarios) {
      for (const v of variants) {
        const lab = new Lab(scenario);
        const words = v.split(/\s+/).filter(Boolean);
        const tree = words[0]?.startsWith('@') ? words.shift()!.slice(1) : undefined;
        const sw = new TvsSwitch(lab, [...nodeArgs, ...words.filter((o) => o.startsWith('--'))], words.filter((o) => !o.startsWith('--') && !o.startsWith('start:')));
        sw.startArgs = words.filter((o) => o.startsWith('start:')).map((o) => o.slice(6));
        if (tree !== undefined) sw.tvsScript = path.resolve(tree, 'dist/src/cli/tvs.js');
        try {
          lab.create();
          await sw.setup();
          const f = flowOf(lab);
          sh(nsx(f.src, ['ping', '-c', '3', '-i', '0.2', '-W', '1', f.dstIp]), { allowFail: true, timeoutMs: 10_000 });
          const nft = `${lab.dir}/sink.nft`;
          fs.writeFileSync(nft, 'table netdev tvcsink {\n  chain in {\n    type filter hook ingress device "eth0" priority 0;\n    udp dport 9 counter drop\n  }\n}\n');
          sh(nsx(f.dst, ['nft', '-f', nft]));
          // The daemon gives back start-up memory once no control request came for 2 s
          // and no frame for 2 s (src/cli/quiet-trim.ts), as it did in compare.ts's ping phase
          // before its UDP runs.
          await sleep(5000);
          const rssRestMiB = +(rssKiB(sw.pid()) / 1024).toFixed(1);
          const load1 = +os.loadavg()[0].toFixed(2);
          const row: (typeof out)[number] = { scenario, variant: v, rssMiB: NaN, rssRestMiB, load1 };
          for (const rate of rates) console.log(line(v, scenario, await trial(lab, sw, rate, seconds)));
          if (search > 0) {
            const top = await trial(lab, sw, undefined, seconds);
            console.log(line(v, scenario, top));
            row.maxLossPct = top.lossPct;
            row.maxDeliveredPps = top.deliveredPps;
            const zl = await searchZeroLoss({ topPps: top.offeredPps, steps: search, maxLossPct: 0.1, floorPps: 1000 }, async (ask) => {
              const t = await trial(lab, sw, ask, seconds);
              console.log(line(v, scenario, t));
              return t;
            }, () => undefined);
            row.zeroLossPps = zl.pps;
          }
          row.rssMiB = +(rssKiB(sw.pid()) / 1024).toFixed(1);
          out.push(row);
          console.log(JSON.stringify({ rep, ...row }));
        } finally {
          await sw.teardown().catch(() => undefined);
          lab.destroy();
        }
      }
    }
  }
  const mmm = (xs: number[], d: number) => {
    const s = xs.filter((x) => Number.isFinite(x)).sort((a, b) => a - b);
    return s.length ? `${s[0].toFixed(d)}–${median(s).toFixed(d)}–${s[s.length - 1].toFixed(d)}` : '—';
  };
  console.log(`\n${new Date().toISOString()} ${os.hostname()} load1 ${mmm(out.map((r) => r.load1), 2)}; ${reps} alternating rep(s), ${seconds} s trials`);
  console.log('scenario | variant | zero-loss kpps | delivered at max kpps | loss at max % | RSS at rest MiB | RSS after MiB');
  for (const s of scenarios) {
    for (const v of variants) {
      const xs = out.filter((r) => r.scenario === s && r.variant === v);
      console.log(`${s} | ${v || '(default)'} | ${mmm(xs.map((r) => (r.zeroLossPps ?? NaN) / 1e3), 0)} | ${mmm(xs.map((r) => (r.maxDeliveredPps ?? NaN) / 1e3), 0)} | ${mmm(xs.map((r) => r.maxLossPct ?? NaN), 2)} | ${mmm(xs.map((r) => r.rssRestMiB), 1)} | ${mmm(xs.map((r) => r.rssMiB), 1)}`);
    }
  }
}

if (require.main === module) runAsRoot('rx-loss', 'namespaces, veth, AF_PACKET', main);
