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

if (require.main === module) {
  const r = runL3Bench();
  const mpps = (ns: number) => (1e3 / ns).toFixed(2);
  console.log(`baseline (copy 64 B + parse + release, no router): ${r.baseNs.toFixed(1)} ns/packet, ${mpps(r.baseNs)} Mpps`);
  console.log(`routed, 64 B UDP, 1000+ routes: ${r.routedNs.toFixed(1)} ns/packet (${(r.routedNs - r.baseNs).toFixed(1)} ns in the router), ${mpps(r.routedNs)} Mpps`);
  console.log(`NAT established, reply direction (DNAT back): ${r.natRevNs.toFixed(1)} ns/packet, ${mpps(r.natRevNs)} Mpps`);
  console.log(`NAT session setup: ${r.setupNs.toFixed(1)} ns/session, ${(1e3 / r.setupNs).toFixed(2)} M sessions/s`);
  console.log(`NAT established, SNAT out, 64 B UDP: ${r.natNs.toFixed(1)} ns/packet (${(r.natNs - r.baseNs).toFixed(1)} ns in the router), ${mpps(r.natNs)} Mpps`);
}
