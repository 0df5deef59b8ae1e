/**
 * Where tvs's time goes under load: one of the comparison's topologies (L2 by default), tvs
 * started with `node --cpu-prof` (and `--perf-basic-prof` so perf can name JIT frames), 64-byte
 * UDP from trafgen at its maximum for a few seconds. Prints the JS self-time profile by
 * function, and, when perf is installed, the user/kernel split and the top kernel and native
 * symbols.
 *
 *   node dist/bench/compare/profile.js [--scenario l2|vlan|nat|fw] [--gen trafgen|pacegen] [seconds] [add-port options, e.g. tx_ring=off]      (root)
 *
 * In 'nat' the load goes h2 → floating IP → h1, as in compare (add-port options apply to L2 only).
 * --gen pacegen: the load from pacegen at its maximum, compare's generator (default trafgen).
 * TVS_PERF_KEEP=DIR keeps perf.data there, and the JIT symbol map /tmp/perf-PID.map, for
 * `perf report -i DIR/perf.data` (call graphs) afterwards.
 */
import { spawn } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { Lab, Scenario, TvsSwitch } from './lab';
import { flowOf, neighbourMac, runPacegen } from './measure';
import { sh, nsx, sleep, cpuTicks, haveCmd } from './sys';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  hitCount?: number;
}

export function summarizeCpuProfile(file: string, top = 25): { total: number; rows: { fn: string; pct: number }[] } {
  const prof = JSON.parse(fs.readFileSync(file, 'utf8')) as { nodes: ProfileNode[]; samples: number[] };
  const byId = new Map(prof.nodes.map((n) => [n.id, n]));
  const self = new Map<string, number>();
  for (const s of prof.samples) {
    const n = byId.get(s)!;
    const f = n.callFrame;
    const where = f.url ? `${path.basename(f.url)}:${f.lineNumber + 1}` : '';
    const key = `${f.functionName || '(anonymous)'}${where ? ' ' + where : ''}`;
    self.set(key, (self.get(key) ?? 0) + 1);
  }
  const total = prof.samples.length;
  const rows = [...self.entries()].sort((a, b) => b[1] - a[1]).slice(0, top).map(([fn, c]) => ({ fn, pct: (c / total) * 100 }));
  return { total, rows };
}

/**
 * Where the tvs process's samples went, by kind: the kernel, JS by the part of the datapath its
 * source file belongs to (perf names JIT'd code `JS:*fn /path/dist/src/DIR/FILE.js:L:C` with
 * --perf-basic-prof), V8's builtins and interpreter, the rest of node, the addon, libc. Inlined
 * functions count where they were inlined. Shares of all samples (every thread of the process).
 */
const JS_STAGES: [RegExp, string][] = [
  [/\/src\/(packet\/(parse|flow-key)|wire\/)/, 'JS parse (packet/parse, wire/)'],
  [/\/src\/(packet\/conntrack|flow\/ct-stage)\.js/, 'JS conntrack (packet/conntrack, flow/ct-stage)'],
  [/\/src\/(l3\/|packet\/(nat|rewrite)\.js)/, 'JS router, NAT (l3/, packet/nat, rewrite)'],
  [/\/src\/l2\//, 'JS NORMAL (l2/)'],
  [/\/src\/flow\//, 'JS flow tables, pass cache, actions (flow/)'],
  [/\/src\/packet\//, 'JS arena, batch, VLAN edits (packet/)'],
  [/\/src\/datapath\//, 'JS drain, ingress, enqueue, flush (datapath/)'],
  [/\/src\/io\//, 'JS port I/O wrappers (io/)'],
  [/\/src\//, 'JS other tvs (cli/, control/)'],
];

export function stageShares(report: string): { stage: string; pct: number }[] {
  const by = new Map<string, number>();
  for (const line of report.split('\n')) {
    const m = /^\s*([\d.]+)%\s+(.+?)\s+\[(.)\]\s+(.*)$/.exec(line);
    if (!m) continue;
    const [pct, dso, kind, sym] = [Number(m[1]), m[2], m[3], m[4]];
    let stage: string;
    if (kind === 'k' || dso.startsWith('[kernel')) stage = 'kernel';
    else if (/^JS:|^Function:|^LazyCompile:/.test(sym)) stage = JS_STAGES.find(([re]) => re.test(sym))?.[1] ?? 'JS Node internals (event loop, timers)';
    else if (/^(Builtin|BytecodeHandler|Stub|Handler|RegExp):/.test(sym)) stage = 'V8 builtins, interpreter (N-API entry, typed array builtins)';
    else if (/tvs_native/.test(dso)) stage = 'addon (C: ring walks, copies)';
    else if (/^libc|^ld-linux/.test(dso)) stage = 'libc';
    else if (dso === 'node') stage = /v8::internal::(Heap|Scavenger|MarkCompact|Sweeper|Concurrent|GC|Mark|Evacuat)/i.test(sym) ? 'V8 GC' : /Compiler|compiler::|Turbofan|Maglev/i.test(sym) ? 'V8 compiler' : 'node, V8 runtime, N-API, libuv';
    else stage = `other (${dso})`;
    by.set(stage, (by.get(stage) ?? 0) + pct);
  }
  return [...by].map(([stage, pct]) => ({ stage, pct })).sort((a, b) => b.pct - a.pct);
}

/**
 * Keep only the newest name for each address in a --perf-basic-prof map. V8 appends a line for
 * every code object it makes; after a collection the code space is reused, so one address range
 * can be named by the warm-up's code (conntrack, classifier) and by what replaced it later, and
 * perf takes the first. Rewrites the file in place; returns the lines dropped.
 */
export function newestJitSymbols(mapFile: string): number {
  if (!fs.existsSync(mapFile)) return 0;
  const lines = fs.readFileSync(mapFile, 'utf8').split('\n').filter(Boolean);
  const kept: { start: number; end: number; line: string }[] = [];
  const sorted: { start: number; end: number }[] = []; // kept ranges, by start
  for (let i = lines.length - 1; i >= 0; i--) {
    const m = /^([0-9a-f]+) ([0-9a-f]+) /.exec(lines[i]);
    if (!m) continue;
    const start = parseInt(m[1], 16);
    const end = start + parseInt(m[2], 16);
    let lo = 0;
    let hi = sorted.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (sorted[mid].start < end) lo = mid + 1;
      else hi = mid;
    }
    // sorted[lo - 1] is the last kept range starting before our end: overlap if it ends after our start.
    if (lo > 0 && sorted[lo - 1].end > start) continue;
    sorted.splice(lo, 0, { start, end });
    kept.push({ start, end, line: lines[i] });
  }
  fs.writeFileSync(mapFile, kept.reverse().map((k) => k.line).join('\n') + '\n');
  return lines.length - kept.length;
}

/** The system calls counted during the run (perf stat on their tracepoints). */
const SYSCALLS = ['epoll_pwait', 'epoll_wait', 'sendto', 'sendmmsg', 'poll', 'getsockopt', 'recvfrom', 'recvmsg', 'read', 'write', 'pread64', 'futex'];

function printSyscalls(file: string, delivered: number): void {
  if (!fs.existsSync(file)) return;
  const counts = new Map<string, number>();
  for (const line of fs.readFileSync(file, 'utf8').split('\n')) {
    const f = line.split(',');
    const m = /sys_enter_(\w+)/.exec(f[2] ?? '');
    if (m && /^\d+$/.test(f[0])) counts.set(m[1], Number(f[0]));
  }
  const wakeups = (counts.get('epoll_pwait') ?? 0) + (counts.get('epoll_wait') ?? 0);
  console.log(`\nsystem calls during the run (perf stat; ${delivered} packets delivered, ${wakeups} epoll waits = ${wakeups ? (delivered / wakeups).toFixed(1) : '—'} packets per wakeup):`);
  for (const [c, n] of counts) if (n > 0) console.log(`${c.padEnd(12)} ${String(n).padStart(10)}  ${(n / delivered).toFixed(3)} per packet  ${wakeups ? (n / wakeups).toFixed(2) : '—'} per wakeup`);
}

async function main(): Promise<void> {
  const argv = process.argv.slice(2);
  let scenario: Scenario = 'l2';
  if (argv[0] === '--scenario') {
    scenario = argv[1] as Scenario;
    argv.splice(0, 2);
    if (!['l2', 'vlan', 'nat', 'fw'].includes(scenario)) throw new Error(`--scenario: unknown scenario '${scenario}'`);
  }
  let gen = 'trafgen';
  if (argv[0] === '--gen') {
    gen = argv[1];
    argv.splice(0, 2);
    if (gen !== 'trafgen' && gen !== 'pacegen') throw new Error('--gen trafgen|pacegen');
  }
  const seconds = Number(argv[0] ?? 6);
  const lab = new Lab(scenario);
  const profDir = path.join(lab.dir, 'prof');
  fs.mkdirSync(profDir);
  // TVS_CPU_PROF=0: perf only (the V8 sampler's own thread and stack walks are then not in the figures).
  const cpuProf = process.env.TVS_CPU_PROF !== '0' ? ['--cpu-prof', `--cpu-prof-dir=${profDir}`] : [];
  const sw = new TvsSwitch(lab, [...cpuProf, '--perf-basic-prof'], argv.slice(1));
  let perfPid = 0;
  let daemonPid = 0;
  try {
    lab.create();
    await sw.setup();
    const f = flowOf(lab);
    sh(nsx(f.src, ['ping', '-c', '3', '-i', '0.2', '-W', '1', f.dstIp]), { allowFail: true });
    if (process.env.TVS_BENCH_SINK !== '0') {
      // Same receiver-side drop as the comparison, so the profile shows tvs, not h2's UDP stack.
      const nft = path.join(lab.dir, 'sink.nft');
      fs.writeFileSync(nft, 'table netdev tvcsink {\n  chain in {\n    type filter hook ingress device "eth0" priority 0;\n    udp dport 9 counter drop\n  }\n}\n');
      sh(nsx(f.dst, ['nft', '-f', nft]));
    }
    const mac = neighbourMac(f.src, f.dstIp);
    const conf = path.join(lab.dir, 'udp64.cfg');
    fs.writeFileSync(conf, `{ eth(da=${mac}, sa=${lab.mac(f.src)}), ipv4(saddr=${f.srcIp}, daddr=${f.dstIp}, ttl=64), udp(sp=dinc(4000, 4015), dp=9), fill(0x41, 22) }\n`);
    const pid = sw.pid();
    daemonPid = pid;
    const perfData = path.join(lab.dir, 'perf.data');
    const statOut = path.join(lab.dir, 'perf-stat.txt');
    let statPid = 0;
    if (haveCmd('perf')) {
      // Syscalls by kind over the same window: per delivered packet and per wakeup (epoll_pwait)
      // they give the batch sizes actually reached and what each wakeup costs in system calls.
      const ev = SYSCALLS.map((c) => `syscalls:sys_enter_${c}`).join(',');
      const st = spawn('perf', ['stat', '-x', ',', '-o', statOut, '-e', ev, '-p', String(pid), '--', 'sleep', String(seconds)], { stdio: 'ignore' });
      statPid = st.pid ?? 0;
      const p = spawn('perf', ['record', '-F', '999', '-g', '-o', perfData, '-p', String(pid), '--', 'sleep', String(seconds)], { stdio: 'ignore' });
      perfPid = p.pid ?? 0;
    }
    const rx0 = Number(sh(nsx(f.dst, ['cat', '/sys/class/net/eth0/statistics/rx_packets'])));
    const stat0 = fs.readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
    const c0 = cpuTicks(pid);
    const tx0 = Number(sh(nsx(f.src, ['cat', '/sys/class/net/eth0/statistics/tx_packets'])));
    if (gen === 'pacegen') {
      runPacegen(f.src, { dev: 'eth0', srcMac: lab.mac(f.src), dstMac: mac, srcIp: f.srcIp, dstIp: f.dstIp, size: 64, count: seconds * 3_000_000, seconds }, (seconds + 10) * 1000);
    } else {
      sh(nsx(f.src, ['timeout', String(seconds), 'trafgen', '--dev', 'eth0', '--conf', conf, '--cpus', '1', '--no-sock-mem', '--num', String(seconds * 3_000_000)]), { allowFail: true, timeoutMs: (seconds + 10) * 1000 });
    }
    await sleep(300);
    const stat1 = fs.readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
    const delivered = Number(sh(nsx(f.dst, ['cat', '/sys/class/net/eth0/statistics/rx_packets']))) - rx0;
    const offered = Number(sh(nsx(f.src, ['cat', '/sys/class/net/eth0/statistics/tx_packets']))) - tx0;
    const user = (Number(stat1[11]) - Number(stat0[11])) / 100;
    const sys = (Number(stat1[12]) - Number(stat0[12])) / 100;
    const cpuUs = (((cpuTicks(pid) - c0) / 100) * 1e6) / delivered;
    console.log(`offered ${offered}, delivered ${delivered} packets in ${seconds} s (${gen}, loss ${(offered ? (1 - delivered / offered) * 100 : NaN).toFixed(1)}%); tvs CPU ${cpuUs.toFixed(2)} µs/packet: user ${((user * 1e6) / delivered).toFixed(2)} µs + system ${((sys * 1e6) / delivered).toFixed(2)} µs`);
    if (statPid) {
      for (let i = 0; i < 100 && fs.existsSync(`/proc/${statPid}`); i++) await sleep(100);
      printSyscalls(statOut, delivered);
    }
    if (perfPid) {
      for (let i = 0; i < 100 && fs.existsSync(`/proc/${perfPid}`); i++) await sleep(100);
      perfPid = 0;
      const dropped = newestJitSymbols(`/tmp/perf-${pid}.map`);
      if (dropped) console.log(`(${dropped} older JIT symbols over reused code addresses left out of the map)`);
      const rep = sh(['perf', 'report', '-i', perfData, '--no-children', '--sort', 'dso,sym', '--stdio', '-g', 'none', '--percent-limit', '1.5'], { allowFail: true, timeoutMs: 120_000 });
      console.log('\nperf (self time, all threads of the tvs process, ≥ 1.5%):');
      console.log(rep.split('\n').filter((l) => /%/.test(l) && !l.startsWith('#')).slice(0, 40).join('\n'));
      // Per stage: inclusive time (children) of the entry points, so the transmit syscall counts
      // the veth and the peer's receive softirq it runs inline.
      const inc = sh(['perf', 'report', '-i', perfData, '--children', '--sort', 'sym', '--stdio', '-g', 'none'], { allowFail: true, timeoutMs: 120_000 });
      const stages: [string, RegExp][] = [
        ['transmit syscalls (sendto = TX ring flush, sendmmsg)', /\] (__x64_sys_sendto|__x64_sys_sendmmsg)$/],
        ['  of which AF_PACKET send (tpacket_snd / packet_snd)', /\] (tpacket_snd|packet_snd|packet_sendmsg)$/],
        ['  of which the veth and the peer namespace receive (softirq)', /\] (veth_xmit|net_rx_action)$/],
        ['poll / epoll_wait (sleeping, wakeups)', /\] (__x64_sys_epoll_wait|__x64_sys_epoll_pwait|__x64_sys_epoll_pwait2|__x64_sys_poll|__x64_sys_ppoll)$/],
        ['recv copy path / PACKET_STATISTICS', /\] (__x64_sys_recvmsg|__x64_sys_recvfrom|__x64_sys_getsockopt)$/],
        ['page faults', /\] (asm_exc_page_fault)$/],
        ['interrupts', /\] (asm_sysvec_apic_timer_interrupt|asm_common_interrupt|asm_sysvec_call_function_single)$/],
      ];
      console.log('\nperf inclusive time by stage (% of the tvs process samples):');
      const lines = inc.split('\n').filter((l) => /%/.test(l) && !l.startsWith('#'));
      for (const [label, re] of stages) {
        const hits = lines.filter((l) => re.test(l.trim()));
        const pct = hits.map((l) => Number(/^\s*([\d.]+)%/.exec(l)?.[1] ?? 0));
        console.log(`${label.padEnd(62)} ${pct.map((x) => x.toFixed(1) + '%').join(' + ') || '—'}  ${hits.map((l) => l.trim().split(/\s+/).pop()).join(', ')}`);
      }
      // Userspace by symbol: what the per-wakeup and per-burst costs are made of (N-API, libuv,
      // the JIT'd burst functions, the addon's ring walks).
      const user = sh(['perf', 'report', '-i', perfData, '--no-children', '--sort', 'dso,sym', '--stdio', '-g', 'none', '--percent-limit', '0.2'], { allowFail: true, timeoutMs: 120_000 });
      console.log('\nperf userspace symbols (self, ≥ 0.2% of the tvs process samples):');
      console.log(user.split('\n').filter((l) => /%/.test(l) && !l.startsWith('#') && !l.includes('[kernel')).slice(0, 60).join('\n'));
      const all = sh(['perf', 'report', '-i', perfData, '--no-children', '--sort', 'dso,sym', '--stdio', '-g', 'none', '--percent-limit', '0'], { allowFail: true, timeoutMs: 120_000 });
      console.log(`\nperf by part (share of the tvs process samples, and µs per delivered packet of its ${cpuUs.toFixed(2)} µs):`);
      for (const r of stageShares(all)) console.log(`${r.stage.padEnd(64)} ${r.pct.toFixed(1).padStart(5)}%  ${((r.pct / 100) * cpuUs).toFixed(3)} µs`);
      const dso = sh(['perf', 'report', '-i', perfData, '--no-children', '--sort', 'dso', '--stdio', '-g', 'none'], { allowFail: true, timeoutMs: 120_000 });
      console.log('\nperf by DSO:');
      console.log(dso.split('\n').filter((l) => /%/.test(l) && !l.startsWith('#')).slice(0, 12).join('\n'));
    }
  } finally {
    if (perfPid) {
      try {
        process.kill(perfPid, 'SIGINT');
      } catch {
        /* gone */
      }
    }
    await sw.teardown(); // SIGTERM: the daemon exits cleanly and writes its .cpuprofile
    const profs = fs.existsSync(profDir) ? fs.readdirSync(profDir).filter((f) => f.endsWith('.cpuprofile')) : [];
    if (profs.length) {
      const keep = path.resolve(__dirname, `../../../bench/results/tvs-${scenario}-64B.cpuprofile`);
      fs.copyFileSync(path.join(profDir, profs[0]), keep);
      const s = summarizeCpuProfile(keep);
      console.log(`\nnode --cpu-prof, JS self time by function (${s.total} samples; saved as bench/results/tvs-${scenario}-64B.cpuprofile):`);
      for (const r of s.rows) console.log(`${r.pct.toFixed(1).padStart(5)}%  ${r.fn}`);
    } else {
      console.log('no .cpuprofile written');
    }
    const keepDir = process.env.TVS_PERF_KEEP;
    if (keepDir && fs.existsSync(path.join(lab.dir, 'perf.data'))) {
      fs.mkdirSync(keepDir, { recursive: true });
      fs.copyFileSync(path.join(lab.dir, 'perf.data'), path.join(keepDir, 'perf.data'));
      console.log(`perf.data kept in ${keepDir} (JIT symbols: /tmp/perf-${daemonPid}.map)`);
    }
    lab.destroy();
    // --perf-basic-prof leaves /tmp/perf-PID.map behind.
    if (daemonPid && !keepDir) fs.rmSync(`/tmp/perf-${daemonPid}.map`, { force: true });
  }
}

if (require.main === module) {
  main().catch((e) => {
    console.error(e);
    process.exit(1);
  });
}
