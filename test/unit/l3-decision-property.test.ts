/**
 * Property: the router's trace says exactly what its forwarding does. Random frames (ARP,
 * IPv4 TCP/UDP/ICMP/other to on-link hosts, routed, floating IPs, SNAT'd and their replies,
 * unsolicited, TTL 0/1, oversize with and without DF, fragments, bad checksums, wrong MACs, to
 * router addresses, broadcast) go through `Router.trace` and then through `Router.input`;
 * what trace predicted is checked against what forwarding observably did (drop counter by
 * reason, the frame leaving on which interface with which addresses/ports/TTL, ARP request
 * and queueing, ICMP error sent, session created, ARP reply / learning). Trace must also leave
 * the router exactly as it was (no session, no ARP, no counter).
 *
 * Seeded and deterministic: a failure prints the seed and the frame's index and description.
 */
import t from 'tap';
import { prng, randInt } from '../fixtures/util';
import { harness, arpFrame, ipFrame, udpDgram, echo, tcpSeg, icmpMsg, ipPacket, ethFrame } from './l3-helpers';
import type { Emitted } from './l3-helpers';

const MAC = { lan: '02:00:00:00:01:01', lan2: '02:00:00:00:02:01', ext: '02:00:00:00:ff:01' };
const HOST_MAC = '52:54:00:00:00:05';
const IFACES = ['lan', 'lan2', 'ext'] as const;

// Addresses a frame may carry, by what they are to the router.
const TENANT = ['10.0.1.10', '10.0.1.11', '10.0.1.12', '10.0.2.5', '10.9.1.1'];
const EXTERNAL = ['198.51.100.7', '203.0.113.7', '203.0.113.1', '8.8.8.8'];
const SPECIAL = ['203.0.113.50', '203.0.113.51', '203.0.113.2', '10.0.1.1', '10.0.2.1', '10.0.1.255', '224.0.0.5', '255.255.255.255', '0.0.0.0', '127.0.0.1', '192.168.77.1'];

function setup(seed: number, snat: boolean) {
  // SNAT-off rig: a hold budget smaller than the queues, so arp_hold_limit happens too.
  const h = harness({ arpQueueLen: 2, arpMaxPending: 3, ...(snat ? {} : { holdLimit: 4, holdPerIface: 3 }), maxSessions: 8, maxSessionsPerSource: 3, natPortMin: 40000, natPortMax: 40000, icmpBurst: 1e9 });
  const r = h.r;
  r.addInterface({ name: 'lan', mac: MAC.lan, cidr: '10.0.1.1/24' });
  r.addInterface({ name: 'lan2', mac: MAC.lan2, cidr: '10.0.2.1/24', mtu: 1000 });
  r.addInterface({ name: 'ext', mac: MAC.ext, cidr: '203.0.113.2/24', gateway: true });
  if (snat) r.addRoute('0.0.0.0/0', '203.0.113.1'); // without it, some destinations have no route
  r.addRoute('10.9.0.0/16', '10.0.2.254');
  r.addFloatingIp('203.0.113.50', '10.0.1.10');
  r.setSnat(snat);
  // Some neighbours known, others not (those make ARP requests and queues).
  h.send(2, arpFrame(1, '52:54:00:00:ff:01', '203.0.113.1', '00:00:00:00:00:00', '203.0.113.2'));
  h.send(0, arpFrame(1, '52:54:00:00:01:0a', '10.0.1.10', '00:00:00:00:00:00', '10.0.1.1'));
  h.send(0, arpFrame(1, '52:54:00:00:01:0b', '10.0.1.11', '00:00:00:00:00:00', '10.0.1.1'));
  return { ...h, rnd: prng(seed) };
}

type Rig = ReturnType<typeof setup>;

function pick<T>(rnd: () => number, xs: readonly T[]): T {
  return xs[randInt(rnd, xs.length)];
}

/** A random frame (and the interface it arrives on), sometimes a reply to a live session. */
function randomFrame(h: Rig, ident: number): { iface: number; frame: Buffer; what: string } {
  const rnd = h.rnd;
  const iface = randInt(rnd, 3);
  const rmac = MAC[IFACES[iface]];
  const roll = rnd();
  if (roll < 0.12) {
    const op = rnd() < 0.7 ? 1 : 2;
    const spa = pick(rnd, [...TENANT, ...EXTERNAL, '203.0.113.9', '10.0.1.20']);
    const tpa = rnd() < 0.15 ? spa : pick(rnd, ['10.0.1.1', '10.0.2.1', '203.0.113.2', '203.0.113.50', '203.0.113.51', '10.0.1.77']);
    const sha = rnd() < 0.05 ? '01:00:5e:00:00:01' : `52:54:00:00:${(ident & 0xff).toString(16).padStart(2, '0')}:01`;
    return { iface, frame: arpFrame(op, sha, spa, '00:00:00:00:00:00', tpa, op === 2 ? rmac : 'ff:ff:ff:ff:ff:ff'), what: `arp op ${op} ${spa} → ${tpa} (${sha})` };
  }
  if (roll < 0.14) {
    return { iface, frame: ethFrame(rmac, HOST_MAC, 0x88b5, Buffer.alloc(46, 7)), what: 'ethertype 0x88b5' };
  }
  let src = pick(rnd, rnd() < 0.5 ? TENANT : rnd() < 0.8 ? EXTERNAL : SPECIAL);
  let dst = pick(rnd, rnd() < 0.35 ? TENANT : rnd() < 0.6 ? EXTERNAL : SPECIAL);
  let sport = 1000 + randInt(rnd, 6);
  let dport = pick(rnd, [53, 80, 443, 40000, 40001]);
  let proto = pick(rnd, [6, 6, 17, 17, 1, 1, 47]);
  let inIf = iface;
  const sessions = h.r.sessions();
  if (sessions.length > 0 && rnd() < 0.3) {
    // Reply (or more original traffic) of a live session, arriving where its sender lives.
    const sn = pick(rnd, sessions);
    const tup = rnd() < 0.7 ? sn.reply : sn.orig;
    src = tup.src;
    dst = tup.dst;
    sport = tup.sport;
    dport = tup.dport;
    proto = sn.proto === 'tcp' ? 6 : sn.proto === 'udp' ? 17 : 1;
    const rt = h.r.lookupRoute(src);
    const idx = rt?.iface ? IFACES.indexOf(rt.iface as (typeof IFACES)[number]) : -1;
    if (idx >= 0) inIf = idx;
  }
  const dmacRoll = rnd();
  const dmac = dmacRoll < 0.88 ? MAC[IFACES[inIf]] : dmacRoll < 0.93 ? 'ff:ff:ff:ff:ff:ff' : dmacRoll < 0.96 ? '52:54:00:99:99:99' : MAC[IFACES[(inIf + 1) % 3]];
  const big = rnd() < 0.1;
  const payload = Buffer.alloc(big ? pick(rnd, [990, 1200, 1490]) : 12, 0x61);
  let l4: Buffer;
  let what: string;
  if (proto === 6) {
    const flags = pick(rnd, [0x02, 0x12, 0x10, 0x11, 0x04, 0x18]);
    l4 = tcpSeg(src, dst, sport, dport, flags, payload);
    what = `tcp ${src}:${sport} > ${dst}:${dport} flags 0x${flags.toString(16)}`;
  } else if (proto === 17) {
    l4 = udpDgram(src, dst, sport, dport, payload);
    what = `udp ${src}:${sport} > ${dst}:${dport}`;
  } else if (proto === 1) {
    const kind = rnd();
    if (kind < 0.75) {
      const type = sessions.length > 0 && rnd() < 0.3 ? 0 : 8;
      l4 = echo(type, sport, 1, payload);
      what = `icmp echo type ${type} id ${sport} ${src} > ${dst}`;
    } else {
      // An ICMP error quoting a datagram from dst to src (as a router on the path would send).
      const q = ipPacket({ src: dst, dst: pick(rnd, [...EXTERNAL, ...TENANT]), proto: 17, l4: udpDgram(dst, '198.51.100.7', dport, sport) });
      l4 = icmpMsg(rnd() < 0.5 ? 3 : 11, 0, 0, q.subarray(0, 28));
      what = `icmp error ${src} > ${dst}`;
    }
  } else {
    l4 = Buffer.alloc(8 + payload.length, 0x47);
    what = `proto 47 ${src} > ${dst}`;
  }
  const ttl = pick(rnd, [64, 64, 64, 2, 1, 0]);
  const df = rnd() < 0.5;
  const frag = rnd() < 0.08;
  const mf = frag && rnd() < 0.5;
  const fragOff = frag && !mf ? 1 + randInt(rnd, 100) : 0;
  let frame = ipFrame(dmac, HOST_MAC, { src, dst, proto, l4, ttl, df, mf, fragOff, id: ident });
  let bad = '';
  if (rnd() < 0.04) {
    frame = Buffer.from(frame);
    frame[14 + 10] ^= 0x5a; // header checksum broken
    bad = ' (bad ip checksum)';
  }
  return { iface: inIf, frame, what: `in ${IFACES[inIf]} dmac ${dmac} ${what} ttl ${ttl}${df ? ' DF' : ''}${mf ? ' MF' : ''}${fragOff ? ` off ${fragOff}` : ''} len ${frame.length}${bad}` };
}

function fingerprint(h: Rig): string {
  return JSON.stringify([h.r.show(), h.r.sessions(), h.arena.available]);
}

function ipv4Of(f: Buffer) {
  const hl = (f[14] & 15) * 4;
  const l4 = 14 + hl;
  const ip = (o: number) => `${f[o]}.${f[o + 1]}.${f[o + 2]}.${f[o + 3]}`;
  return { ident: f.readUInt16BE(18), ttl: f[22], proto: f[23], src: ip(26), dst: ip(30), l4 };
}

interface Check {
  same(a: unknown, b: unknown, msg: string): void;
  ok(a: unknown, msg: string): void;
  equal(a: unknown, b: unknown, msg: string): void;
}

function run(t: Check, seed: number, snat: boolean, n: number, seen: Set<string>): void {
  const h = setup(seed, snat);
  const problems: string[] = [];
  for (let i = 0; i < n && problems.length < 5; i++) {
    if (h.rnd() < 0.05) h.tick(pick(h.rnd, [100, 1000, 3000, 61_000, 400_000]));
    const ident = 1 + (i % 0xfffe);
    const { iface, frame, what } = randomFrame(h, ident);
    const before = fingerprint(h);
    const { decision: d, lines } = h.r.trace(frame, iface);
    const after = fingerprint(h);
    if (before !== after) problems.push(`#${i} ${what}: trace changed the router state`);
    if (h.out.length !== 0) problems.push(`#${i} ${what}: trace emitted frames`);
    seen.add(d.verdict + (d.reason ? ':' + d.reason : '') + (d.arp ? ':' + d.arp : ''));

    const drops0 = h.r.drops.toJSON();
    const st0 = { ...h.r.show().stats };
    const pend0 = h.r.show().pendingArp;
    const out: Emitted[] = h.send(iface, frame);
    const drops1 = h.r.drops.toJSON();
    const st1 = h.r.show().stats;
    const pend1 = h.r.show().pendingArp;
    const dd = (k: string) => (drops1[k] ?? 0) - (drops0[k] ?? 0);
    const ds = (k: keyof typeof st1) => st1[k] - st0[k];
    const bad = (msg: string) => problems.push(`#${i} ${what}\n    trace: ${JSON.stringify(d)}\n    ${lines.join('\n    ')}\n    forwarding: ${msg}`);
    const isIp = frame.readUInt16BE(12) === 0x0800;
    const mine = isIp ? out.filter((o) => o.frame.readUInt16BE(12) === 0x0800 && ipv4Of(o.frame).ident === ident) : [];

    if (d.verdict === 'drop') {
      if (dd(d.reason!) < 1) bad(`no ${d.reason} drop counted (drops ${JSON.stringify(drops1)})`);
      if (mine.length !== 0) bad(`the frame left on ${mine.map((o) => IFACES[o.iface]).join(',')}`);
    }
    if (d.verdict === 'forward') {
      const q0 = pend0.find((p) => p.ip === d.nextHop)?.queued ?? 0;
      const q1 = pend1.find((p) => p.ip === d.nextHop)?.queued ?? 0;
      if (d.arp === 'resolved') {
        if (mine.length !== 1) bad(`expected the frame out of ${d.out}, ${mine.length} copies left`);
        else {
          const o = mine[0];
          const x = ipv4Of(o.frame);
          const want = { out: d.out, src: d.src, dst: d.dst, ttl: d.ttl };
          const got = { out: IFACES[o.iface], src: x.src, dst: x.dst, ttl: x.ttl };
          if (JSON.stringify(want) !== JSON.stringify(got)) bad(`left as ${JSON.stringify(got)}`);
          if (d.sport !== undefined && x.proto !== 1 && (frame.readUInt16BE(20) & 0x1fff) === 0) {
            const sp = o.frame.readUInt16BE(x.l4);
            const dp = o.frame.readUInt16BE(x.l4 + 2);
            if (sp !== d.sport || dp !== d.dport) bad(`ports ${sp} > ${dp}`);
          }
        }
      } else {
        if (mine.length !== 0) bad('the frame left although its next hop is unresolved');
        if (q1 !== q0 + 1 && !(d.arp === 'request' && q1 === 1)) bad(`queue for ${d.nextHop}: ${q0} → ${q1}`);
        const req = out.some((o) => o.frame.readUInt16BE(12) === 0x0806 && o.frame.readUInt16BE(20) === 1 && IFACES[o.iface] === d.out && o.frame.subarray(38, 42).join('.') === d.nextHop);
        if (d.arp === 'request' && !req) bad(`no ARP request for ${d.nextHop} on ${d.out}`);
        if (d.arp === 'queued' && req) bad('a second ARP request was sent');
      }
    }
    const icmpWant = d.icmpError?.allowed ? 1 : 0;
    const icmpGot = ds('icmpErrorsSent') + ds('icmpRateLimited');
    if (icmpGot !== icmpWant) bad(`ICMP errors ${icmpGot}, trace said ${icmpWant}`);
    const newSession = d.nat?.newSession ? 1 : 0;
    if (ds('sessionsCreated') !== newSession) bad(`sessions created ${ds('sessionsCreated')}, trace said ${newSession}`);
    if (ds('echoReplies') !== (d.verdict === 'echo_reply' ? 1 : 0)) bad(`echo replies ${ds('echoReplies')}`);
    if (ds('arpRepliesSent') !== (d.verdict === 'arp_reply' ? 1 : 0)) bad(`ARP replies ${ds('arpRepliesSent')}`);
    if (d.learn !== undefined && ds('arpLearned') !== (d.learn ? 1 : 0)) bad(`ARP learnt ${ds('arpLearned')}, trace said ${d.learn}`);
    if (d.verdict === 'arp_consumed' && Object.keys(drops1).some((k) => dd(k) !== 0 && k !== 'arp_failed')) bad(`dropped ${JSON.stringify(drops1)}`);
  }
  t.same(problems, [], `seed ${seed}, snat ${snat}: trace agrees with forwarding on ${n} frames`);
  t.equal(h.arena.available + h.r.show().pendingArp.reduce((n, p) => n + p.queued, 0), h.arena.capacity, 'every slot is emitted, queued or released');
}

const COMMON_OUTCOMES = [
  'forward:resolved', 'forward:request', 'forward:queued', 'drop:nat_unsolicited', 'drop:ttl_exceeded', 'drop:not_for_router',
  'drop:ipv4_bad_checksum', 'drop:frag_needed', 'drop:oversize_nodf', 'drop:arp_ignored', 'echo_reply', 'arp_reply', 'arp_consumed',
  'drop:local_unsupported', 'drop:not_unicast', 'drop:not_ipv4', 'drop:arp_queue_full',
];

// The generator must reach the interesting outcomes, or the property says little.
function covered(t: Check, seen: Set<string>, want: string[]): void {
  for (const w of want) t.ok(seen.has(w), `outcome ${w} was exercised`);
}

t.test('router: trace and forwarding decide alike (SNAT on)', async (t) => {
  const seen = new Set<string>();
  for (const seed of [1, 2, 3]) run(t, seed, true, 3000, seen);
  covered(t, seen, [...COMMON_OUTCOMES, 'drop:nat_port_exhausted', 'drop:nat_unsupported_proto', 'drop:nat_fragment', 'drop:nat_table_full', 'drop:nat_source_limit']);
});

t.test('router: trace and forwarding decide alike (SNAT off, no default route)', async (t) => {
  const seen = new Set<string>();
  for (const seed of [11, 12]) run(t, seed, false, 2000, seen);
  covered(t, seen, [...COMMON_OUTCOMES, 'drop:no_route', 'drop:arp_hold_limit']);
});
