/**
 * Memory footprint (RSS) of the switch in the situations the issues name, each measured in a
 * fresh Node process (this file re-runs itself with `--scenario NAME`) after two full GCs:
 *
 *   empty            the Switch class loaded, one bridge, no ports
 *   afpacket-2       two AF_PACKET ports (a veth pair created and deleted here; root), at rest
 *   afpacket-2-flood the same after 200,000 64-byte frames from 200,000 source MACs crossed a
 *                    bridge in memory (the arena's slots and the MAC table at their fullest)
 *   flows-nat        2 ports, 100,000 flows in the bridge and 100,000 NAT sessions in a router
 *                    (reported after each half too)
 *
 * Each runs with the V8 flags and environment the `tvs` daemon runs with (src/cli/node-flags.ts).
 *
 * Memory does not depend on CPU load, so these figures are stable on a shared machine. Figures,
 * never assertions (flow memory per rule is asserted in test/unit/flow-memory.test.ts).
 */
import { execFileSync, spawnSync } from 'child_process';
import * as v8 from 'v8';
import * as vm from 'vm';
import { Switch } from '../src/datapath/switch';
import { SWITCH_NODE_FLAGS, SWITCH_ENV } from '../src/cli/node-flags';
import { MemoryPort } from '../src/io/memory-port';
import { bindingAvailable, loadBinding } from '../src/io/binding';
import { udpFrame, ethFrame } from '../src/wire/frames';
import { emitArp, OP_REPLY } from '../src/wire/arp';
import { parseMac } from '../src/wire/ethernet';
import { parseAddr } from '../src/wire/ipv4';

export interface Footprint {
  scenario: string;
  rssMiB: number;
  heapMiB: number;
  /** ArrayBuffers (the packet arena, typed arrays). */
  arrayBuffersMiB: number;
  /** AF_PACKET ring memory mapped by the ports. */
  ringMiB?: number;
  /** Intermediate figures of a scenario (e.g. after the flows, before the NAT sessions). */
  steps?: Record<string, number>;
  skipped?: string;
}

const MiB = 2 ** 20;
const round = (n: number) => Math.round(n * 10) / 10;

/**
 * Memory at rest: two full GCs, then wait until RSS stops falling. V8 gives the pages a GC
 * freed back to the OS from a background task (its unmapper), not inside gc(): sampled right
 * after gc(), RSS still counted 25-35 MiB of freed pages in the flows-nat scenario, more the
 * busier the machine (the task waits for a core). A daemon at rest has returned them.
 * A daemon at rest has also trimmed what start-up and configuration touched once (malloc's free
 * memory, the node executable's pages: src/cli/quiet-trim.ts); so does this, when the addon is built.
 */
async function settle(): Promise<NodeJS.MemoryUsage> {
  v8.setFlagsFromString('--expose-gc');
  const gc = vm.runInNewContext('gc') as () => void;
  gc();
  gc();
  let m = process.memoryUsage();
  for (let i = 0; i < 40; i++) {
    await new Promise((r) => setTimeout(r, 50));
    gc();
    const n = process.memoryUsage();
    const falling = n.rss < m.rss - 64 * 1024;
    m = n;
    if (!falling && i >= 2) break;
  }
  if (bindingAvailable()) {
    loadBinding().trimMemory?.();
    await new Promise((r) => setTimeout(r, 200));
    m = process.memoryUsage();
  }
  return m;
}

async function figures(scenario: string, extra: Partial<Footprint> = {}): Promise<Footprint> {
  const m = await settle();
  return { scenario, rssMiB: round(m.rss / MiB), heapMiB: round(m.heapUsed / MiB), arrayBuffersMiB: round(m.arrayBuffers / MiB), ...extra };
}

function sh(cmd: string[], allowFail = false): void {
  try {
    execFileSync(cmd[0], cmd.slice(1), { stdio: 'ignore' });
  } catch (e) {
    if (!allowFail) throw e;
  }
}

function ringMiB(sw: Switch, bridge: string): number {
  return round(sw.dumpPorts(bridge).reduce((n, p) => n + (p.ring_bytes ?? 0), 0) / MiB);
}

/** Two AF_PACKET ports on a veth pair that exists only for this process. */
async function afpacketScenario(flood: boolean): Promise<Footprint> {
  const name = flood ? 'afpacket-2-flood' : 'afpacket-2';
  if (!process.getuid || process.getuid() !== 0) return { scenario: name, rssMiB: 0, heapMiB: 0, arrayBuffersMiB: 0, skipped: 'needs root (veth)' };
  const a = `tvsfp${process.pid % 100000}a`;
  const b = `tvsfp${process.pid % 100000}b`;
  sh(['ip', 'link', 'add', a, 'type', 'veth', 'peer', 'name', b]);
  try {
    for (const d of [a, b]) sh(['sysctl', '-qw', `net.ipv6.conf.${d}.disable_ipv6=1`], true);
    const sw = new Switch();
    sw.addBridge('br0');
    sw.addPort('br0', a, { type: 'afpacket' });
    sw.addPort('br0', b, { type: 'afpacket' });
    if (flood) {
      // The flood crosses a second bridge of memory ports (no frame goes on the wire).
      sw.addBridge('brm');
      const src = sw.addPort('brm', 'gen', { type: 'memory' }).io as MemoryPort;
      const dst = sw.addPort('brm', 'sink', { type: 'memory' }).io as MemoryPort;
      src.keep = 0;
      dst.keep = 0;
      // The frames come from the memory port's generator (copied into the arena as a NIC's
      // frames are, nothing allocated per frame): building 200,000 Buffers here instead left
      // ~10 MiB of the bench's own garbage in malloc's free lists and counted it as the switch's.
      const tpl = udpFrame({ dst: '02:ff:00:00:00:02', src: '02:00:00:00:00:01', ipSrc: '10.230.0.1', ipDst: '10.230.0.2' });
      const chunk: Uint8Array[] = [];
      for (let j = 0; j < 1000; j++) chunk.push(new Uint8Array(tpl));
      for (let i = 0; i < 200_000; i += 1000) {
        for (let j = 0; j < 1000; j++) {
          const m = i + j; // source MAC 02:00:00:xx:xx:xx, one per frame
          chunk[j][9] = (m >> 16) & 255;
          chunk[j][10] = (m >> 8) & 255;
          chunk[j][11] = m & 255;
        }
        src.setGenerator(chunk, 1000);
        sw.runUntilIdle(1e6);
      }
    }
    const f = await figures(name, { ringMiB: ringMiB(sw, 'br0') });
    sw.delBridge('br0'); // closes the ports
    return f;
  } finally {
    sh(['ip', 'link', 'del', a], true);
  }
}

function arpReply(fromMac: string, fromIp: string, toMac: string, toIp: string): Buffer {
  const p = Buffer.alloc(28);
  emitArp(p, 0, OP_REPLY, parseMac(fromMac), parseAddr(fromIp), parseMac(toMac), parseAddr(toIp));
  return ethFrame(toMac, fromMac, 0x0806, p);
}

/** 100,000 flows on the tenant bridge and 100,000 SNAT sessions through a router, 2 ports. */
async function flowsNatScenario(): Promise<Footprint> {
  const steps: Record<string, number> = {};
  const sw = new Switch();
  sw.addBridge('br-int');
  sw.addBridge('br-ex');
  const vm1 = sw.addPort('br-int', 'vm1', { type: 'memory' }).io as MemoryPort;
  const ext = sw.addPort('br-ex', 'ext', { type: 'memory' }).io as MemoryPort;
  vm1.keep = 0;
  ext.keep = 0;
  sw.l3.addRouter('r1', { maxSessions: 131072, maxSessionsPerSource: 131072 });
  const QR = '02:52:00:00:01:01';
  const QG = '02:52:00:00:ff:01';
  sw.l3.routerAddPort('r1', { bridge: 'br-int', port: 'qr-1', mac: QR, cidr: '10.231.0.1/16' });
  sw.l3.routerAddPort('r1', { bridge: 'br-ex', port: 'qg-1', mac: QG, cidr: '203.0.113.2/24', gateway: true });
  steps.setupMiB = (await figures('')).rssMiB;

  // Flows: every match distinct, a few thousand action lists, NORMAL for the rest.
  const flows = sw.flows('br-int');
  flows.addFlow('priority=0,actions=NORMAL');
  for (let i = 0; i < 100_000; i += 1000) {
    const chunk: string[] = [];
    for (let j = i; j < i + 1000; j++) {
      chunk.push(`priority=${100 + (j % 7)},tcp,nw_src=10.232.${(j >> 8) & 255}.${j & 255},tp_dst=${1 + (j % 1000)},actions=mod_vlan_vid:${1 + (j % 4000)},NORMAL`);
    }
    flows.addFlows(chunk.join('\n'));
  }
  const afterFlows = await figures('');
  steps.flowsMiB = afterFlows.rssMiB;
  steps.flowsHeapMiB = afterFlows.heapMiB;

  // NAT: 100,000 UDP flows from one VM to two peers on the external network.
  const VM = '02:00:00:00:01:10';
  const peers = ['203.0.113.10', '203.0.113.11'];
  const peerMacs = ['02:00:00:00:fe:10', '02:00:00:00:fe:11'];
  for (let p = 0; p < 2; p++) {
    vm1.inject(udpFrame({ dst: QR, src: VM, ipSrc: '10.231.0.10', ipDst: peers[p], sport: 1024 }));
    sw.runUntilIdle(1e6);
    ext.inject(arpReply(peerMacs[p], peers[p], QG, '203.0.113.2'));
    sw.runUntilIdle(1e6);
  }
  // From the generator, as the flood's frames (no Buffer per frame: their garbage stayed in
  // malloc's free lists and was counted as the sessions'). Frame j goes to peer j & 1 from
  // source port 1025 + (j >> 1); the UDP checksum is 0 (none), so only the port changes.
  const tpl: Uint8Array[] = [];
  for (let j = 0; j < 1000; j++) tpl.push(new Uint8Array(udpFrame({ dst: QR, src: VM, ipSrc: '10.231.0.10', ipDst: peers[j & 1], sport: 1025, dport: 53 })));
  const UDP_SPORT = 14 + 20;
  for (let i = 0; i < 100_000; i += 1000) {
    for (let j = 0; j < 1000; j++) {
      const sport = 1025 + ((i + j) >> 1);
      tpl[j][UDP_SPORT] = sport >> 8;
      tpl[j][UDP_SPORT + 1] = sport & 255;
      tpl[j][UDP_SPORT + 6] = 0;
      tpl[j][UDP_SPORT + 7] = 0;
    }
    vm1.setGenerator(tpl, 1000);
    sw.runUntilIdle(1e6);
  }
  const sessions = sw.l3.router('r1').show().sessions;
  steps.natSessions = sessions;
  steps.flows = flows.ruleCount;
  const f = await figures('flows-nat', { steps });
  f.steps!.natMiB = round(f.rssMiB - afterFlows.rssMiB);
  f.steps!.natHeapMiB = round(f.heapMiB - afterFlows.heapMiB);
  // Still in use after the measurement (the GCs of settle() must not collect what is measured).
  f.steps!.flows = flows.ruleCount + sw.l3.router('r1').show().sessions * 0;
  return f;
}

async function empty(): Promise<Footprint> {
  const sw = new Switch();
  sw.addBridge('br0');
  const f = await figures('empty');
  sw.delBridge('br0'); // keeps the switch alive until measured
  return f;
}

export const SCENARIOS: Record<string, () => Promise<Footprint>> = {
  empty,
  'afpacket-2': () => afpacketScenario(false),
  'afpacket-2-flood': () => afpacketScenario(true),
  'flows-nat': flowsNatScenario,
};

/** Run every scenario in its own process; returns the figures. */
export function runFootprints(names: string[] = Object.keys(SCENARIOS)): Footprint[] {
  const out: Footprint[] = [];
  for (const n of names) {
    const r = spawnSync(process.execPath, [...SWITCH_NODE_FLAGS, __filename, '--scenario', n], { encoding: 'utf8', timeout: 600_000, env: { ...process.env, ...SWITCH_ENV } });
    const last = (r.stdout ?? '').trim().split('\n').pop() ?? '';
    try {
      out.push(JSON.parse(last) as Footprint);
    } catch {
      out.push({ scenario: n, rssMiB: 0, heapMiB: 0, arrayBuffersMiB: 0, skipped: `failed: ${(r.stderr ?? '').trim().split('\n').slice(-3).join(' ')}` });
    }
  }
  return out;
}

if (require.main === module) {
  const i = process.argv.indexOf('--scenario');
  if (i > 0) {
    const fn = SCENARIOS[process.argv[i + 1]];
    if (!fn) throw new Error(`unknown scenario ${process.argv[i + 1]} (${Object.keys(SCENARIOS).join(', ')})`);
    void fn().then((f) => {
      process.stdout.write(JSON.stringify(f) + '\n');
      process.exit(0);
    });
  } else {
    for (const f of runFootprints()) console.log(`${f.scenario}: ${f.skipped ? 'skipped (' + f.skipped + ')' : `RSS ${f.rssMiB} MiB (heap ${f.heapMiB}, array buffers ${f.arrayBuffersMiB}${f.ringMiB !== undefined ? `, rings ${f.ringMiB}` : ''})${f.steps ? ' ' + JSON.stringify(f.steps) : ''}`}`);
  }
}
