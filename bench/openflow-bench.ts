/**
 * OpenFlow benchmarks, in one process over a real unix socket (the bridge's management
 * socket): the switch side is the daemon's own OpenFlowService; the "controller" is a plain
 * socket writing pre-encoded messages, so its own cost is near zero.
 *
 * - flow-mod install rate: N distinct FLOW_MOD adds (OXM match on in_port + eth_dst, one
 *   output action) pipelined, then a BARRIER; the time until the BARRIER_REPLY. (tvs has no
 *   OpenFlow bundles: pipelined + barrier is the equivalent commit point.)
 * - packet-in rate: frames injected on a memory port against a table-miss flow
 *   (CONTROLLER:65535), the time until the controller has read every PACKET_IN; injection is
 *   paced so the switch's send queue never drops one.
 * - datapath pps (in-memory NORMAL, bench/l2-memory's path) with no OpenFlow connection and
 *   with an idle connected controller: the controller costs the datapath nothing unless it
 *   sends or receives.
 * Figures, never assertions; the last line is the headline.
 */
import * as fs from 'fs';
import * as net from 'net';
import * as os from 'os';
import * as path from 'path';
import { Switch } from '../src/datapath/switch';
import { MemoryPort } from '../src/io/memory-port';
import { OpenFlowService } from '../src/openflow/service';
import * as of from '../src/wire/openflow';
import { udpFrame } from '../src/wire/frames';
import { makeL2Memory } from './l2-memory';

interface Client {
  sock: net.Socket;
  /** Resolves when `count` messages of this type have arrived (every type is counted). */
  until(type: number, count?: number, ms?: number): Promise<void>;
  counts: Map<number, number>;
}

async function connect(sockPath: string): Promise<Client> {
  const sock = net.connect(sockPath);
  await new Promise<void>((res, rej) => {
    sock.once('connect', () => res());
    sock.once('error', rej);
  });
  const counts = new Map<number, number>();
  const waiters: { type: number; count: number; res: () => void }[] = [];
  let buf = Buffer.alloc(0);
  sock.on('data', (c) => {
    buf = buf.length === 0 ? c : Buffer.concat([buf, c]);
    let off = 0;
    while (buf.length - off >= 8) {
      const len = buf.readUInt16BE(off + 2);
      if (buf.length - off < len) break;
      const ty = buf[off + 1];
      counts.set(ty, (counts.get(ty) ?? 0) + 1);
      off += len;
    }
    buf = buf.subarray(off);
    for (let i = waiters.length - 1; i >= 0; i--) {
      if ((counts.get(waiters[i].type) ?? 0) >= waiters[i].count) {
        waiters[i].res();
        waiters.splice(i, 1);
      }
    }
  });
  sock.write(of.encodeMessage(of.hello13(1)));
  // Bounded: a benchmark that loses a message fails instead of hanging.
  const until = (type: number, count = 1, ms = 60_000) =>
    new Promise<void>((res, rej) => {
      if ((counts.get(type) ?? 0) >= count) return res();
      const timer = setTimeout(() => rej(new Error(`openflow bench: ${counts.get(type) ?? 0} messages of type ${type} after ${ms} ms, waiting for ${count}`)), ms);
      waiters.push({ type, count, res: () => (clearTimeout(timer), res()) });
    });
  await until(of.T.HELLO);
  // The switch's session is active once it has answered a request after our HELLO.
  sock.write(of.encodeMessage({ type: 'echo_request', xid: 2, data: Buffer.alloc(0) }));
  await until(of.T.ECHO_REPLY);
  return { sock, until, counts };
}

async function withService<T>(sw: Switch, fn: (mgmt: string) => Promise<T>): Promise<T> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tvs-ofbench-'));
  const svc = new OpenFlowService(sw, { controlPath: path.join(dir, 'x.sock'), probeMs: 0 });
  await svc.start();
  try {
    return await fn(path.join(dir, 'br0.mgmt'));
  } finally {
    await svc.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/** CPU seconds (user + system) this process used since `from`: on a shared machine, wall-clock
 * rates measure the load; rates per CPU second measure tvs. */
function cpuSeconds(from: NodeJS.CpuUsage): number {
  const d = process.cpuUsage(from);
  return (d.user + d.system) / 1e6;
}

export async function flowModRate(n = 100_000): Promise<{ flowMods: number; seconds: number; perSecond: number; perCpuSecond: number }> {
  const sw = new Switch({ arena: { slots: 256, slotSize: 2048 + 128 } });
  sw.addBridge('br0');
  sw.addPort('br0', 'p1', { type: 'memory' });
  return withService(sw, async (mgmt) => {
    const c = await connect(mgmt);
    const msgs: Buffer[] = [];
    const mac = Buffer.alloc(6);
    for (let i = 0; i < n; i++) {
      mac.writeUInt16BE(0x0200, 0);
      mac.writeUInt32BE(i, 2);
      msgs.push(of.encodeMessage({
        type: 'flow_mod', xid: i + 10, cookie: 0x1n, cookieMask: 0n, tableId: 0, command: of.FC.ADD, idleTimeout: 0, hardTimeout: 0, priority: 100,
        bufferId: of.NO_BUFFER, outPort: of.OFPP13_ANY, outGroup: of.OFPG_ANY, flags: 0,
        match: [of.oxm('in_port', 1), of.oxm('eth_dst', Buffer.from(mac))],
        instructions: [{ type: 'apply_actions', actions: [{ type: 'output', port: 1, maxLen: 0 }] }],
      }));
    }
    const wire = Buffer.concat([...msgs, of.encodeMessage({ type: 'barrier_request', xid: 1 })]);
    const t0 = process.hrtime.bigint();
    const cpu0 = process.cpuUsage();
    c.sock.write(wire);
    await c.until(of.T.BARRIER_REPLY);
    const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
    const cpu = cpuSeconds(cpu0);
    c.sock.destroy();
    const installed = sw.flows('br0').ruleCount;
    if (installed < n) throw new Error(`flow-mod bench: ${installed} flows installed of ${n} (errors: ${c.counts.get(of.T.ERROR) ?? 0})`);
    return { flowMods: n, seconds: +seconds.toFixed(3), perSecond: Math.round(n / seconds), perCpuSecond: Math.round(n / cpu) };
  });
}

export async function packetInRate(n = 50_000): Promise<{ packetIns: number; seconds: number; perSecond: number; perCpuSecond: number }> {
  const sw = new Switch({ arena: { slots: 1024, slotSize: 2048 + 128 } });
  sw.addBridge('br0');
  const p1 = sw.addPort('br0', 'p1', { type: 'memory' }).io as MemoryPort;
  sw.flows('br0').delFlows();
  sw.flows('br0').addFlow('priority=0,actions=CONTROLLER:65535');
  return withService(sw, async (mgmt) => {
    const c = await connect(mgmt);
    const frame = udpFrame({ src: '02:00:00:00:00:01', dst: '02:00:00:00:00:02', ipSrc: '10.0.0.1', ipDst: '10.0.0.2' });
    const BATCH = 256;
    const t0 = process.hrtime.bigint();
    const cpu0 = process.cpuUsage();
    let sent = 0;
    while (sent < n) {
      const k = Math.min(BATCH, n - sent);
      for (let i = 0; i < k; i++) p1.inject(frame);
      sw.runUntilIdle();
      sent += k;
      // Pace: let the controller read before the switch's queue would drop packet-ins.
      if (sent - (c.counts.get(of.T.PACKET_IN) ?? 0) > 4 * BATCH) await c.until(of.T.PACKET_IN, sent - 2 * BATCH);
    }
    await c.until(of.T.PACKET_IN, n);
    const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
    const cpu = cpuSeconds(cpu0);
    c.sock.destroy();
    // (The controller's reading runs in this process too: per CPU second is a lower bound.)
    return { packetIns: n, seconds: +seconds.toFixed(3), perSecond: Math.round(n / seconds), perCpuSecond: Math.round(n / cpu) };
  });
}

/**
 * In-memory NORMAL pps on one switch, first with no OpenFlow connection, then with a controller
 * connected to its bridge (idle: the inactivity probe off) — runs alternate to even out noise.
 */
export async function datapathWithController(packets = 2_000_000, rounds = 3): Promise<{ withoutMpps: number; withMpps: number }> {
  const l2 = makeL2Memory();
  const best = (a: number, b: number) => Math.max(a, b);
  let without = 0;
  let withC = 0;
  await withService(l2.sw, async (mgmt) => {
    for (let r = 0; r < rounds; r++) {
      without = best(without, l2.run(packets).mpps);
      const c = await connect(mgmt);
      withC = best(withC, l2.run(packets).mpps);
      c.sock.destroy();
      await new Promise((res) => setTimeout(res, 20));
    }
  });
  return { withoutMpps: +without.toFixed(2), withMpps: +withC.toFixed(2) };
}

export async function runOpenFlowBench(quick = false): Promise<Record<string, unknown>> {
  const fm = await flowModRate(100_000);
  const pi = await packetInRate(quick ? 20_000 : 100_000);
  const dp = await datapathWithController(quick ? 1_000_000 : 5_000_000);
  return {
    flowModsPerSec: fm.perSecond,
    flowModsPerCpuSec: fm.perCpuSecond,
    flowMods: fm.flowMods,
    flowModSeconds: fm.seconds,
    packetInsPerSec: pi.perSecond,
    packetInsPerCpuSec: pi.perCpuSecond,
    packetIns: pi.packetIns,
    l2MppsNoController: dp.withoutMpps,
    l2MppsIdleController: dp.withMpps,
    target: 'flow-mods >= 100k/s',
  };
}

if (require.main === module) {
  runOpenFlowBench(process.env.TVS_BENCH_QUICK === '1').then((r) => {
    console.log(JSON.stringify(r));
    console.log(`openflow: ${r.flowModsPerSec} flow-mods/s (${r.flowModsPerCpuSec} per CPU second; 100k pipelined + barrier), ${r.packetInsPerSec} packet-ins/s`);
  });
}
