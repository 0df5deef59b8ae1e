/**
 * `make bench`: every benchmark in one run, figures printed and written as JSON lines to
 * bench/results/latest.jsonl with the date, kernel, CPU and Node version. Figures, never
 * assertions. Kernel-path benchmarks need root (namespaces, veth) and say so when skipped.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { runL2Memory } from './l2-memory';
import { runOpenFlowBench } from './openflow-bench';
import { runFirewallMemory } from './fw-memory';
import { runTunnelMemory } from './tunnel-memory';
import { runCtMemory } from './ct-memory';
import { runFootprints } from './memory-footprint';
import { runVethBench } from './veth-l2';
import { runMicro, microMarkdown } from './compare/micro';
import { runCompare, optionsFromEnv } from './compare/compare';
import { runTunnelBench, tunnelMarkdown } from './compare/tunnel';

async function main(): Promise<void> {
  const meta = {
    date: new Date().toISOString(),
    kernel: os.release(),
    cpu: os.cpus()[0]?.model ?? 'unknown',
    cores: os.cpus().length,
    node: process.version,
  };
  console.log(`tsvswitch benchmarks — ${meta.date}, ${meta.cpu} x${meta.cores}, Linux ${meta.kernel}, Node ${meta.node}`);
  const results: Record<string, unknown>[] = [];
  const rec = (name: string, figures: Record<string, unknown>) => {
    results.push({ name, ...figures, ...meta });
    console.log(`${name}: ${JSON.stringify(figures)}`);
  };

  process.stdout.write('[1/5] in-memory learning bridge (64 B)...\n');
  const l2 = runL2Memory();
  rec('memory.l2.normal.64B', { mpps: +l2.mpps.toFixed(2), nsPerPacket: +l2.nsPerPacket.toFixed(1), target: '>= 10 Mpps' });
  const l2v = runL2Memory({ vlan: true });
  rec('memory.l2.normal.vlanpush.64B', { mpps: +l2v.mpps.toFixed(2), nsPerPacket: +l2v.nsPerPacket.toFixed(1) });

  process.stdout.write('[1a/5] VXLAN encap+decap between two switches in memory (64 B, see bench/tunnel-memory)...\n');
  const plainPair = runTunnelMemory({ tunnel: false });
  const vxPair = runTunnelMemory({ tunnel: true });
  rec('memory.pair.plain.64B', { mpps: +plainPair.mpps.toFixed(2), nsPerPacket: +plainPair.nsPerPacket.toFixed(1) });
  rec('memory.pair.vxlan.64B', { mpps: +vxPair.mpps.toFixed(2), nsPerPacket: +vxPair.nsPerPacket.toFixed(1), ofPlain: +(vxPair.mpps / plainPair.mpps).toFixed(2), target: '>= 0.70 of plain' });

  process.stdout.write('[1b/5] memory footprint (RSS, each scenario in a fresh process)...\n');
  for (const f of runFootprints()) rec(`rss.${f.scenario}`, f as unknown as Record<string, unknown>);

  const flowBench = path.join(__dirname, 'flow-bench.js');
  if (fs.existsSync(flowBench)) {
    process.stdout.write('[2/5] flow tables (see bench/flow-bench)...\n');
    // eslint-disable-next-line @typescript-eslint/no-var-requires
    const fb = require(flowBench);
    if (typeof fb.runFlowBench === 'function') rec('memory.flow', await fb.runFlowBench());
  }

  process.stdout.write('[2b/5] security groups in memory (Neutron OVS firewall flows, 50 rules, see bench/fw-memory)...\n');
  const fw = runFirewallMemory({ quick: process.env.TVS_BENCH_QUICK === '1' });
  rec('memory.firewall.64B', { ...fw, target: 'established >= 5 Mpps, new >= 500k/s' });
  const ctm = runCtMemory({ quick: process.env.TVS_BENCH_QUICK === '1' });
  rec('memory.ct.64B', { ...ctm });

  process.stdout.write('[2c/5] OpenFlow: flow-mod install and packet-in rates over the management socket, datapath with a controller (see bench/openflow-bench)...\n');
  rec('openflow', await runOpenFlowBench(process.env.TVS_BENCH_QUICK === '1'));

  if (process.getuid && process.getuid() === 0) {
    process.stdout.write('[3/5] through veth in namespaces (trafgen one core, iperf3)...\n');
    const v = await runVethBench();
    rec('veth.l2', v as unknown as Record<string, unknown>);
    const vv = await runVethBench({ scenario: 'vlan' });
    rec('veth.vlan-push-pop', vv as unknown as Record<string, unknown>);
  } else {
    console.log('[3/5] skipped: the veth benchmark needs root (namespaces, veth)');
  }

  if (process.getuid && process.getuid() === 0) {
    process.stdout.write('[3b/5] VM -> VXLAN -> VM between two tvs nodes, beside tvs L2 and Linux bridge + vxlan (see bench/compare/tunnel)...\n');
    const rows = await runTunnelBench({ seconds: process.env.TVS_BENCH_QUICK === '1' ? 2 : 5, pings: 200 });
    for (const r of rows) rec(`veth.tunnel.${r.setup}`, { ...(r.figures ?? { error: r.error }) } as Record<string, unknown>);
    console.log(tunnelMarkdown(rows));
  } else {
    console.log('[3b/5] skipped: the tunnel benchmark needs root (namespaces, veth)');
  }

  const dir = path.resolve(__dirname, '../../bench/results');
  fs.mkdirSync(dir, { recursive: true });

  process.stdout.write('[4/5] micro-benchmarks (benchmark.js: parse, cache, classifier, actions, NAT)...\n');
  const micro = runMicro();
  for (const m of micro) rec(`micro.${m.name}`, { nsPerPacket: +m.nsPerPacket.toFixed(1), mpps: +m.mpps.toFixed(2), ownNs: m.ownNs === undefined ? undefined : +m.ownNs.toFixed(1) });
  fs.writeFileSync(path.join(dir, 'micro.md'), microMarkdown(micro));

  if (process.getuid && process.getuid() === 0) {
    process.stdout.write('[5/5] side by side: Linux bridge / kernel router, OVS 3.1 userspace, tvs (bench/compare)...\n');
    const cmp = await runCompare({ ...optionsFromEnv(), outDir: dir });
    for (const v of cmp.verdicts) rec(`compare.target`, { ...v });
  } else {
    console.log('[5/5] skipped: the side-by-side comparison needs root (namespaces, veth, OVS)');
  }
  fs.writeFileSync(path.join(dir, 'latest.jsonl'), results.map((r) => JSON.stringify(r)).join('\n') + '\n');
  console.log(`results written to bench/results/latest.jsonl`);
  console.log(`headline: in-memory NORMAL ${l2.mpps.toFixed(2)} Mpps (64 B)`);
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
