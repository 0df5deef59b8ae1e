/**
 * Router / NAT in-memory benchmark (Snabb `basic1` style). Frames are copied from a template
 * into arena slots and parsed (what an rx burst does), handed to the router in batches of 32,
 * and the emitter releases them (what a tx burst does). Measured:
 *   - routed: UDP 64 B between two subnets (LPM, TTL, ARP cache, Ethernet rewrite, re-parse)
 *   - NAT established: SNAT'd UDP 64 B hitting an existing session (lookup + rewrite + checksums)
 *   - session setup: new UDP flows, each allocating a port and a session
 * The baseline (copy + parse + release, no router) is printed so the router's own share is
 * visible. Last line: the headline figure (NAT established Mpps).
 */
import { PacketArena } from '../src/packet/arena';
import { Batch } from '../src/packet/batch';
import { parseSlot } from '../src/packet/parse';
import { Router } from '../src/l3/router';
import { arpRequest, udpFrame } from '../src/wire/frames';
import { Switch } from '../src/datapath/switch';
import { MemoryPort } from '../src/io/memory-port';

const LAN_MAC = '02:00:00:00:01:01';
const LAN2_MAC = '02:00:00:00:02:01';
const EXT_MAC = '02:00:00:00:ff:01';
const A_MAC = '52:54:00:00:00:05';
const BURST = 32;

function setup(maxSessions = 65536) {
  let now = 1_000_000;
  const arena = new PacketArena({ slots: 256, slotSize: 2048 });
  const r = new Router('bench', arena, { clock: () => now, maxSessions, arpTimeoutMs: 1e12 });
  let emitted = 0;
  r.onEmit = (slot) => {
    emitted++;
    arena.release(slot);
  };
  const lan = r.addInterface({ name: 'lan', mac: LAN_MAC, cidr: '10.0.0.1/24' });
  const lan2 = r.addInterface({ name: 'lan2', mac: LAN2_MAC, cidr: '10.0.1.1/24' });
  const ext = r.addInterface({ name: 'ext', mac: EXT_MAC, cidr: '203.0.113.2/24', gateway: true });
  r.addRoute('0.0.0.0/0', '203.0.113.1');
  for (let i = 0; i < 1000; i++) r.addRoute(`${100 + (i >> 8)}.${i & 255}.0.0/16`, '10.0.1.254');
  const batch = new Batch(BURST);
  const feed = (frame: Buffer, iface: number) => {
    const s = arena.allocFrom(frame);
    parseSlot(arena, s, 1);
    batch.push(s);
    r.input(batch, iface);
  };
  feed(arpRequest(A_MAC, '10.0.0.5', '10.0.0.1'), lan);
  feed(arpRequest('52:54:00:00:01:07', '10.0.1.7', '10.0.1.1'), lan2);
  feed(arpRequest('52:54:00:00:ff:fe', '203.0.113.1', '203.0.113.2'), ext);
  return { r, arena, batch, lan, lan2, ext, emittedCount: () => emitted, tick: (ms: number) => (now += ms) };
}

/** Run `packets` frames cycling over `templates` through `iface`; returns ns per packet. */
function run(env: ReturnType<typeof setup>, templates: Uint8Array[], iface: number, packets: number, withRouter = true): number {
  const { arena, batch, r } = env;
  const u8 = arena.bytes;
  const nt = templates.length;
  let ti = 0;
  const t0 = process.hrtime.bigint();
  for (let sent = 0; sent < packets; sent += BURST) {
    for (let i = 0; i < BURST; i++) {
      const s = arena.alloc();
      const tpl = templates[ti];
      ti = ti + 1 === nt ? 0 : ti + 1;
      u8.set(tpl, arena.start[s]);
      arena.len[s] = tpl.length;
      parseSlot(arena, s, 1);
      batch.slots[i] = s;
    }
    batch.count = BURST;
    if (withRouter) {
      r.input(batch, iface);
    } else {
      for (let i = 0; i < BURST; i++) arena.release(batch.slots[i]);
      batch.count = 0;
    }
  }
  return Number(process.hrtime.bigint() - t0) / packets;
}

function udpTemplates(dmac: string, smac: string, src: string, dst: string, n: number, sportBase = 10000): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (let i = 0; i < n; i++) out.push(new Uint8Array(udpFrame({ dst: dmac, src: smac, ipSrc: src, ipDst: dst, sport: sportBase + i, dport: 53, payload: Buffer.alloc(18) })));
  return out;
}

export function runL3Bench(packets = 4_000_000): { routedNs: number; natNs: number; natRevNs: number; baseNs: number; setupNs: number } {
  // Routed (no NAT: east-west between tenant subnets).
  const e1 = setup();
  const routed = udpTemplates(LAN_MAC, A_MAC, '10.0.0.5', '10.0.1.7', 16);
  run(e1, routed, e1.lan, 200_000, false);
  const baseNs = run(e1, routed, e1.lan, packets, false);
  run(e1, routed, e1.lan, 200_000);
  const before = e1.emittedCount();
  const routedNs = run(e1, routed, e1.lan, packets);
  if (e1.emittedCount() - before !== packets) throw new Error(`routed: ${e1.emittedCount() - before} of ${packets} emitted (drops ${JSON.stringify(e1.r.drops.toJSON())})`);

  // NAT established: 16 SNAT sessions, then steady traffic on them, both directions.
  const e2 = setup();
  const out = udpTemplates(LAN_MAC, A_MAC, '10.0.0.5', '198.51.100.10', 16);
  run(e2, out, e2.lan, 200_000);
  const sess = e2.r.sessions();
  if (sess.length !== 16) throw new Error(`nat: ${sess.length} sessions`);
  const before2 = e2.emittedCount();
  const natNs = run(e2, out, e2.lan, packets);
  if (e2.emittedCount() - before2 !== packets) throw new Error(`nat: ${e2.emittedCount() - before2} of ${packets} emitted (drops ${JSON.stringify(e2.r.drops.toJSON())})`);
  const back = sess.map((s) => new Uint8Array(udpFrame({ dst: EXT_MAC, src: '52:54:00:00:ff:fe', ipSrc: s.reply.src, ipDst: s.reply.dst, sport: s.reply.sport, dport: s.reply.dport, payload: Buffer.alloc(18) })));
  run(e2, back, e2.ext, 200_000);
  const natRevNs = run(e2, back, e2.ext, packets);

  // Session setup: 60000 new flows (distinct source ports / hosts) to 8 servers. Gateway ports
  // are unique per peer (as netfilter's tuple uniqueness), and the port search is bounded as
  // netfilter's is, so one peer alone cannot take the whole range: past ~85% of one peer's
  // ports, new sessions to it fail as nat_port_exhausted. Eight peers keep each at ~12%.
  const flows = 60000;
  const fresh: Uint8Array[] = [];
  for (let i = 0; i < flows; i++) {
    const host = `10.0.0.${5 + (i % 200)}`;
    const server = `198.51.100.${10 + (Math.floor(i / 200) % 8)}`;
    fresh.push(new Uint8Array(udpFrame({ dst: LAN_MAC, src: A_MAC, ipSrc: host, ipDst: server, sport: 1024 + Math.floor(i / 200), dport: 53, payload: Buffer.alloc(18) })));
  }
  // Warm-up on a throwaway router (as the other scenarios warm up before measuring): without it
  // the figure is mostly the JIT compiling the session path, not the path itself.
  const warm = setup(65536);
  run(warm, fresh, warm.lan, flows - (flows % BURST));
  // The 200 hosts share one MAC here; the router only needs the next hop resolved.
  const e3 = setup(65536);
  const created0 = e3.r.stats.sessionsCreated;
  const setupNs = run(e3, fresh, e3.lan, flows - (flows % BURST));
  const made = e3.r.stats.sessionsCreated - created0;
  if (made !== flows - (flows % BURST)) throw new Error(`setup: ${made} sessions created (drops ${JSON.stringify(e3.r.drops.toJSON())})`);
  return { routedNs, natNs, natRevNs, baseNs, setupNs };
}

/**
 * The whole switch on the routed + floating IP path of bench/compare's 'nat' scenario, with
 * memory ports for its veths: h2 (port p2 on br-ex) sends 64 B UDP (16 source ports) to h1's
 * floating IP; br-ex's NORMAL hands it to the router's gateway port qg-1, the router DNATs it
 * (established sessions) and routes it out of qr-1 (access VLAN 1 on br-int), br-int's NORMAL
 * sends it out of p1 (h1). Both bridges have OVS's default NORMAL flow. Everything the
 * datapath does per burst is in the figure: receive copy, parse, two bridge passes, the
 * router stage and its ingress hand-off, transmit. Returns ns per delivered frame.
 */
export function makeRoutedSwitch(): { sw: Switch; pump(n: number): number } {
  const sw = new Switch(); // the daemon's arena
  sw.addBridge('br-int');
  sw.addBridge('br-ex');
  const p1 = sw.addPort('br-int', 'p1', { type: 'memory', tag: 1 }).io as MemoryPort;
  const p2 = sw.addPort('br-ex', 'p2', { type: 'memory' }).io as MemoryPort;
  p1.keep = 0;
  p2.keep = 0;
  sw.l3.addRouter('r1');
  const QR = '02:52:00:00:01:01';
  const QG = '02:52:00:00:ff:01';
  const H1 = '02:00:00:00:01:10';
  const H2 = '02:00:00:00:02:64';
  sw.l3.routerAddPort('r1', { bridge: 'br-int', port: 'qr-1', mac: QR, cidr: '10.222.1.1/24', tag: 1 });
  sw.l3.routerAddPort('r1', { bridge: 'br-ex', port: 'qg-1', mac: QG, cidr: '10.222.2.1/24', gateway: true });
  sw.l3.router('r1').addFloatingIp('10.222.2.50', '10.222.1.10');
  // Each host asks for its gateway (the router learns it, each bridge learns both ends).
  p1.inject(arpRequest(H1, '10.222.1.10', '10.222.1.1'));
  p2.inject(arpRequest(H2, '10.222.2.100', '10.222.2.50'));
  sw.runUntilIdle();
  const templates: Buffer[] = [];
  for (let i = 0; i < 16; i++) templates.push(udpFrame({ dst: QG, src: H2, ipSrc: '10.222.2.100', ipDst: '10.222.2.50', sport: 4000 + i, dport: 9, payload: Buffer.alloc(18) }));
  const pump = (n: number): number => {
    const before = p1.counters.txPackets;
    p2.setGenerator(templates, n);
    const t0 = process.hrtime.bigint();
    sw.runUntilIdle(1e9);
    const ns = Number(process.hrtime.bigint() - t0);
    const got = p1.counters.txPackets - before;
    if (got !== n) throw new Error(`routed switch: sent ${n}, delivered ${got} (router drops ${JSON.stringify(sw.l3.router('r1').drops.toJSON())})`);
    return ns / n;
  };
  pump(400_000); // sessions opened, JIT warm
  return { sw, pump };
}

export function runRoutedSwitch(packets = 4_000_000): { nsPerPacket: number } {
  return { nsPerPacket: makeRoutedSwitch().pump(packets) };
}

if (require.main === module) {
  const sw = runRoutedSwitch();
  console.log(`whole switch, routed + floating IP (br-ex → router → br-int, memory ports), 64 B UDP: ${sw.nsPerPacket.toFixed(1)} ns/packet, ${(1e3 / sw.nsPerPacket).toFixed(2)} Mpps`);
  const r = runL3Bench();
  const mpps = (ns: number) => (1e3 / ns).toFixed(2);
  console.log(`baseline (copy 64 B + parse + release, no router): ${r.baseNs.toFixed(1)} ns/packet, ${mpps(r.baseNs)} Mpps`);
  console.log(`routed, 64 B UDP, 1000+ routes: ${r.routedNs.toFixed(1)} ns/packet (${(r.routedNs - r.baseNs).toFixed(1)} ns in the router), ${mpps(r.routedNs)} Mpps`);
  console.log(`NAT established, reply direction (DNAT back): ${r.natRevNs.toFixed(1)} ns/packet, ${mpps(r.natRevNs)} Mpps`);
  console.log(`NAT session setup: ${r.setupNs.toFixed(1)} ns/session, ${(1e3 / r.setupNs).toFixed(2)} M sessions/s`);
  console.log(`NAT established, SNAT out, 64 B UDP: ${r.natNs.toFixed(1)} ns/packet (${(r.natNs - r.baseNs).toFixed(1)} ns in the router), ${mpps(r.natNs)} Mpps`);
}
