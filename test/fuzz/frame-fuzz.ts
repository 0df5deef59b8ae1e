/**
 * Seeded in-memory frame fuzzer: a whole switch (NORMAL bridge with access and trunk ports, a
 * guest port with offloads whose frames carry a (mutated) virtio-net header, a
 * patch pair into a bridge with VLAN-translation flows, a router with SNAT, a floating IP and
 * a DHCP server) fed with valid frames of every type the switch parses, mutated and truncated.
 *
 * Checked for every frame, not only at the end:
 *   - no exception escapes the datapath;
 *   - the frame is accounted for: it left through a port (a memory port, or an internal port
 *     of the router/DHCP server), or a drop counter moved (any stage, any reason), or it is
 *     held (a slot still in use, e.g. queued while the router resolves a next hop);
 * and at the end of every round (timers run past every timeout): every slot is back in the
 * arena (no leak).
 *
 * Used by test/unit/fuzz-frames.test.ts (1,000,000 frames in `make test`) and `make fuzz`
 * (longer, a new seed each run, printed so a failure can be replayed with TVS_FUZZ_SEED).
 */
import { Switch } from '../../src/datapath/switch';
import { SwitchPort } from '../../src/datapath/switch-port';
import { MemoryPort } from '../../src/io/memory-port';
import { DropCounters } from '../../src/packet/drops';
import * as fx from '../fixtures/frames';
import { hex, prng } from '../fixtures/util';
import { udpFrame, arpRequest, ethFrame } from '../../src/wire/frames';
import { eth6, extHdr, fragHdr, ip6Packet, llaOpt, ndFrame, udp6 } from '../helpers/ipv6-frames';
import { ipPacket, ethFrame as l3Eth, tcpSeg, udpDgram, echo, icmpMsg } from '../unit/l3-helpers';

export interface FuzzResult {
  frames: number;
  seed: number;
  /** Frames that left or were delivered / dropped / held, summed over the run. */
  delivered: number;
  dropped: number;
  held: number;
  unaccounted: { round: number; index: number; frame: string }[];
  leaks: { round: number; inUse: number }[];
  errors: { frame: string; error: string }[];
  dropReasons: Record<string, number>;
  ms: number;
}

const QR1 = '02:52:00:00:01:01';
const QR2 = '02:52:00:00:02:01';
const QG = '02:52:00:00:ff:01';
const VM1 = '52:54:00:00:01:0a';
const VM2 = '52:54:00:00:02:0b';
const EXT_GW = '52:54:00:00:ff:fe';

/** Drops counted by any stage (a test-only tap on the one counting primitive). */
let dropTotal = 0;
let tapped = false;
function tapDrops(): void {
  if (tapped) return;
  tapped = true;
  const orig = DropCounters.prototype.add;
  DropCounters.prototype.add = function (this: DropCounters<string>, id: number, n = 1): void {
    dropTotal += n;
    orig.call(this, id, n);
  };
}

function dhcpDiscover(chaddr: string, vid?: number): Buffer {
  const bootp = Buffer.alloc(300);
  bootp[0] = 1;
  bootp[1] = 1;
  bootp[2] = 6;
  bootp.writeUInt32BE(0xdeadbeef, 4);
  Buffer.from(chaddr.split(':').map((x) => parseInt(x, 16))).copy(bootp, 28);
  bootp.writeUInt32BE(0x63825363, 236);
  Buffer.from([53, 1, 1, 55, 3, 1, 3, 6, 255]).copy(bootp, 240);
  const u = Buffer.alloc(8 + bootp.length);
  u.writeUInt16BE(68, 0);
  u.writeUInt16BE(67, 2);
  u.writeUInt16BE(u.length, 4);
  bootp.copy(u, 8);
  return ethFrame('ff:ff:ff:ff:ff:ff', chaddr, 0x0800, ipPacket({ src: '0.0.0.0', dst: '255.255.255.255', proto: 17, l4: u }), vid);
}

/** Valid frames of every kind the switch parses or acts on, each tagged with where it enters. */
function corpus(): { port: string; frame: Buffer; vnet?: Buffer }[] {
  const c: { port: string; frame: Buffer; vnet?: Buffer }[] = [];
  const add = (port: string, f: Buffer | string) => c.push({ port, frame: typeof f === 'string' ? Buffer.from(hex(f)) : f });
  // Fixtures decoded by tshark: ARP, ICMP, TCP, UDP, 802.1Q, QinQ, IPv6, fragments.
  for (const f of [fx.arpRequest, fx.arpReplyPadded, fx.icmpEchoRequest, fx.icmpEchoReply, fx.tcpSyn, fx.tcpAckPadded, fx.udpDnsQuery, fx.icmpv6EchoRequest, fx.udp6, fx.ipv4FirstFragment, fx.ipv4LaterFragment]) {
    add('vm1', f);
    add('vm3', f);
  }
  for (const f of [fx.vlanIcmp, fx.qinqUdp]) {
    add('vm3', f);
    add('eth1', f);
  }
  // L2 between tenants, tagged on the trunk and the provider side.
  add('vm1', udpFrame({ dst: VM2, src: VM1, ipSrc: '10.231.1.10', ipDst: '10.231.1.11' }));
  add('vm3', udpFrame({ dst: VM1, src: '52:54:00:00:03:0c', ipSrc: '10.231.1.12', ipDst: '10.231.1.10', vid: 1 }));
  add('eth1', udpFrame({ dst: VM1, src: '52:54:00:00:04:0d', ipSrc: '10.231.1.13', ipDst: '10.231.1.10', vid: 101 }));
  add('eth1', udpFrame({ dst: 'ff:ff:ff:ff:ff:ff', src: '52:54:00:00:04:0e', ipSrc: '10.231.2.13', ipDst: '10.231.2.255', vid: 102 }));
  // ARP to the router, routed traffic (to the other tenant, SNAT out, FIP, the router itself).
  add('vm1', arpRequest(VM1, '10.231.1.10', '10.231.1.1'));
  add('vm2', arpRequest(VM2, '10.231.2.11', '10.231.2.1'));
  add('ext', arpRequest(EXT_GW, '203.0.113.1', '203.0.113.2'));
  add('ext', arpRequest(EXT_GW, '203.0.113.1', '203.0.113.50'));
  const r = (port: string, dmac: string, smac: string, o: Parameters<typeof ipPacket>[0]) => add(port, l3Eth(dmac, smac, 0x0800, ipPacket(o)));
  r('vm1', QR1, VM1, { src: '10.231.1.10', dst: '10.231.2.11', proto: 17, l4: udpDgram('10.231.1.10', '10.231.2.11', 4000, 5000) });
  r('vm1', QR1, VM1, { src: '10.231.1.10', dst: '198.51.100.7', proto: 6, l4: tcpSeg('10.231.1.10', '198.51.100.7', 40000, 443, 0x02) });
  r('vm2', QR2, VM2, { src: '10.231.2.11', dst: '198.51.100.7', proto: 17, l4: udpDgram('10.231.2.11', '198.51.100.7', 5353, 53) });
  r('vm2', QR2, VM2, { src: '10.231.2.11', dst: '198.51.100.7', proto: 1, l4: echo(8, 0x77, 1) });
  r('vm1', QR1, VM1, { src: '10.231.1.10', dst: '10.231.1.1', proto: 1, l4: echo(8, 0x78, 1) });
  r('vm1', QR1, VM1, { src: '10.231.1.10', dst: '198.51.100.7', proto: 17, ttl: 1, l4: udpDgram('10.231.1.10', '198.51.100.7', 33434, 33435) });
  r('vm1', QR1, VM1, { src: '10.231.1.10', dst: '198.51.100.7', proto: 17, df: true, l4: udpDgram('10.231.1.10', '198.51.100.7', 1, 2, Buffer.alloc(1600)) });
  r('vm1', QR1, VM1, { src: '10.231.1.10', dst: '10.231.1.99', proto: 17, l4: udpDgram('10.231.1.10', '10.231.1.99', 1, 2) }); // unresolved
  r('ext', QG, EXT_GW, { src: '198.51.100.7', dst: '203.0.113.50', proto: 6, l4: tcpSeg('198.51.100.7', '203.0.113.50', 5555, 22, 0x02) });
  r('ext', QG, EXT_GW, { src: '198.51.100.7', dst: '203.0.113.2', proto: 6, l4: tcpSeg('198.51.100.7', '203.0.113.2', 443, 40000, 0x12) });
  r('ext', QG, EXT_GW, { src: '198.51.100.9', dst: '203.0.113.2', proto: 1, l4: icmpMsg(3, 3, 0, ipPacket({ src: '203.0.113.2', dst: '198.51.100.9', proto: 17, l4: udpDgram('203.0.113.2', '198.51.100.9', 5353, 53) }).subarray(0, 28)) });
  r('ext', QG, EXT_GW, { src: '198.51.100.7', dst: '10.231.1.10', proto: 17, l4: udpDgram('198.51.100.7', '10.231.1.10', 1, 2) }); // unsolicited
  // IPv6: extension-header chains (the walk is bounded), fragments, ND with link-layer options.
  const v6 = (ext: [number, Buffer][]) => eth6(ip6Packet({ src: '2001:db8::a', dst: '2001:db8::b', proto: 17, l4: udp6('2001:db8::a', '2001:db8::b', 5000, 53), ext }), VM1, VM2);
  add('vm1', v6([[0, extHdr(1)], [43, extHdr(2)], [60, extHdr(1)]]));
  add('vm1', v6([[44, fragHdr(0, true)]]));
  add('vm3', v6([[60, extHdr(1)], [44, fragHdr(100, false)]]));
  add('vm1', v6(Array.from({ length: 8 }, () => [60, extHdr(1)] as [number, Buffer])));
  add('vm3', v6(Array.from({ length: 9 }, () => [0, extHdr(1)] as [number, Buffer])));
  add('vm1', ndFrame({ type: 135, smac: VM1, dmac: '33:33:ff:00:00:0b', src: 'fe80::5054:ff:fe00:10a', dst: 'ff02::1:ff00:b', target: '2001:db8::b', opts: [llaOpt(1, VM1)] }));
  add('vm1', ndFrame({ type: 136, smac: VM1, dmac: VM2, src: '2001:db8::a', dst: '2001:db8::b', target: '2001:db8::a', opts: [llaOpt(2, VM1), Buffer.from([14, 1, 0, 0, 0, 0, 0, 0])], flags: 0x60000000 }));
  // DHCP on tenant 1 (access port) and through the trunk.
  add('vm1', dhcpDiscover(VM1));
  add('vm3', dhcpDiscover('52:54:00:00:03:0c', 1));
  // Odd sizes: runt, minimum, jumbo-ish, unknown EtherType, LLC length field.
  add('vm1', Buffer.alloc(13));
  add('vm1', ethFrame(VM2, VM1, 0x88b5, Buffer.alloc(46)));
  add('vm3', ethFrame(VM2, VM1, 0x0040, Buffer.alloc(64)));
  add('vm1', udpFrame({ dst: VM2, src: VM1, ipSrc: '10.231.1.10', ipDst: '10.231.1.11', payload: Buffer.alloc(1472) }));
  // A guest with offloads: TSO super-frames and partial checksums (virtio-net header), to
  // another VM (segmented / finished in software), through the router and out SNAT.
  const VM4 = '52:54:00:00:01:0d';
  const vh = (flags: number, gso: number, hdrLen: number, gsoSize: number, cs: number, co: number) => {
    const h = Buffer.alloc(10);
    h[0] = flags;
    h[1] = gso;
    h.writeUInt16LE(hdrLen, 2);
    h.writeUInt16LE(gsoSize, 4);
    h.writeUInt16LE(cs, 6);
    h.writeUInt16LE(co, 8);
    return h;
  };
  const tso = (dmac: string, dst: string) => l3Eth(dmac, VM4, 0x0800, ipPacket({ src: '10.231.1.13', dst, proto: 6, l4: tcpSeg('10.231.1.13', dst, 40001, 80, 0x18, Buffer.alloc(4000, 7)) }));
  c.push({ port: 'vm4', frame: tso(VM1, '10.231.1.10'), vnet: vh(1, 1, 54, 1448, 34, 16) });
  c.push({ port: 'vm4', frame: tso(QR1, '198.51.100.7'), vnet: vh(1, 1, 54, 1448, 34, 16) });
  c.push({ port: 'vm4', frame: l3Eth(VM1, VM4, 0x0800, ipPacket({ src: '10.231.1.13', dst: '10.231.1.10', proto: 17, l4: udpDgram('10.231.1.13', '10.231.1.10', 5, 6, Buffer.alloc(3000)) })), vnet: vh(1, 5, 42, 1400, 34, 6) });
  c.push({ port: 'vm4', frame: udpFrame({ dst: VM1, src: VM4, ipSrc: '10.231.1.13', ipDst: '10.231.1.10' }), vnet: vh(1, 0, 0, 0, 34, 6) });
  c.push({ port: 'vm4', frame: udpFrame({ dst: VM1, src: VM4, ipSrc: '10.231.1.13', ipDst: '10.231.1.10' }), vnet: vh(2, 0, 0, 0, 0, 0) });
  return c;
}

/** A virtio-net header mutated: flags, GSO type, lengths and checksum offsets to odd values. */
function mutateVnet(src: Buffer, rnd: () => number, out: Buffer): void {
  src.copy(out, 0, 0, 10);
  const ri = (k: number) => Math.floor(rnd() * k);
  if (rnd() < 0.3) return;
  for (let i = 1 + ri(3); i > 0; i--) {
    const f = ri(6);
    if (f === 0) out[0] = ri(4);
    else if (f === 1) out[1] = [0, 1, 3, 4, 0x81, 5, ri(256)][ri(7)];
    else out.writeUInt16LE([0, 1, 14, 34, 54, 1448, 9000, 65535, ri(0x10000)][ri(9)], 2 * (f - 1));
  }
}

/** Byte positions worth hitting hard: L2/VLAN, the IP header, the first L4 bytes. */
const HOT = [12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 30, 33, 34, 35, 36, 37, 38, 39, 40, 41, 46, 47];
const TYPES = [0x0800, 0x0806, 0x86dd, 0x8100, 0x88a8, 0x9100, 0x0000, 0xffff, 0x05dc, 0x0600];

function mutate(src: Buffer, rnd: () => number, out: Buffer): number {
  let n = src.length;
  src.copy(out, 0, 0, n);
  const kind = Math.floor(rnd() * 10);
  const ri = (k: number) => Math.floor(rnd() * k);
  switch (kind) {
    case 0: // as is
      break;
    case 1: // truncation anywhere (headers cut mid-field)
      n = ri(n + 1);
      break;
    case 2: // random bit flips
      for (let i = 1 + ri(8); i > 0; i--) out[ri(n)] ^= 1 << ri(8);
      break;
    case 3: // header bytes to extremes
      for (let i = 1 + ri(4); i > 0; i--) {
        const p = HOT[ri(HOT.length)];
        if (p < n) out[p] = [0, 0xff, ri(256), out[p] + 1, out[p] - 1][ri(5)] & 0xff;
      }
      break;
    case 4: // another EtherType (outer or inner)
      if (n >= 14) {
        const t = TYPES[ri(TYPES.length)];
        const at = rnd() < 0.7 || n < 18 ? 12 : 16;
        out[at] = t >> 8;
        out[at + 1] = t & 0xff;
      }
      break;
    case 5: { // IPv4 header fields: ihl, total length, fragment, protocol
      const ip = out[12] === 0x81 && out[13] === 0 ? 18 : 14;
      if (n > ip + 10) {
        const f = ri(4);
        if (f === 0) out[ip] = (out[ip] & 0xf0) | ri(16);
        else if (f === 1) out.writeUInt16BE(ri(0x10000), ip + 2);
        else if (f === 2) out.writeUInt16BE(ri(0x10000), ip + 6);
        else out[ip + 9] = [1, 6, 17, 0, 58, 255][ri(6)];
      }
      break;
    }
    case 6: // truncation plus flips
      n = 14 + ri(Math.max(1, n - 13));
      if (n > src.length) n = src.length;
      out[ri(n)] ^= 0xff;
      break;
    case 7: // garbage appended
      if (n + 64 <= out.length) for (let i = 0; i < 64; i++) out[n++] = ri(256);
      break;
    case 8: // random bytes from the L3 header on
      for (let i = 14 + ri(30); i < n && i < 80; i++) if (rnd() < 0.3) out[i] = ri(256);
      break;
    default: // broadcast / multicast / router MAC destination swaps
      if (n >= 6) {
        const d = [[0xff, 0xff, 0xff, 0xff, 0xff, 0xff], [0x01, 0x00, 0x5e, 0, 0, 1], [0x02, 0x52, 0, 0, 1, 1], [0x02, 0x52, 0, 0, 0xff, 0x01]][ri(4)];
        for (let i = 0; i < 6; i++) out[i] = d[i];
      }
  }
  return n;
}

/**
 * The fuzz (and soak) topology: br-int (access vm1 tag 1, vm2 tag 2, trunk vm3) patched to
 * br-eth1 (provider eth1, VLANs 101/102 translated by flows), br-ex (ext); router r1 with SNAT,
 * a floating IP and a default route; DHCP on tenant 1. Returns the memory ports by name and
 * every port a frame can leave through (memory and internal ports).
 */
export function fuzzTopology(clock: { now: number }, arenaSlots = 1024): { sw: Switch; mem: Map<string, MemoryPort>; exits: SwitchPort[] } {
  const sw = new Switch({ clock: () => clock.now, arena: { slots: arenaSlots, slotSize: 8192 + 128 } }); // room for TSO super-frames
  sw.addBridge('br-int');
  sw.addBridge('br-eth1');
  sw.addBridge('br-ex');
  sw.addPort('br-int', 'vm1', { type: 'memory', tag: 1 });
  sw.addPort('br-int', 'vm2', { type: 'memory', tag: 2 });
  sw.addPort('br-int', 'vm3', { type: 'memory', trunks: [1, 2] });
  sw.addPort('br-int', 'vm4', { type: 'memory', tag: 1, offloads: true }); // a guest with offloads (virtio-net header)
  sw.addPort('br-int', 'int-br-eth1', { type: 'patch', peer: 'phy-br-eth1' });
  sw.addPort('br-eth1', 'phy-br-eth1', { type: 'patch', peer: 'int-br-eth1' });
  sw.addPort('br-eth1', 'eth1', { type: 'memory' });
  sw.addPort('br-ex', 'ext', { type: 'memory' });
  // Provider VLANs 101/102 <-> local 1/2 (the Neutron OVS agent's flows).
  sw.flows('br-eth1').addFlows([
    'table=0,priority=4,in_port=phy-br-eth1,dl_vlan=1,actions=mod_vlan_vid:101,NORMAL',
    'table=0,priority=4,in_port=phy-br-eth1,dl_vlan=2,actions=mod_vlan_vid:102,NORMAL',
    'table=0,priority=2,in_port=phy-br-eth1,actions=drop',
    'table=0,priority=1,actions=NORMAL',
  ].join('\n'));
  sw.flows('br-int').addFlows([
    'table=0,priority=3,in_port=int-br-eth1,dl_vlan=101,actions=mod_vlan_vid:1,resubmit(,1)',
    'table=0,priority=3,in_port=int-br-eth1,dl_vlan=102,actions=mod_vlan_vid:2,resubmit(,1)',
    'table=0,priority=2,in_port=int-br-eth1,actions=drop',
    'table=0,priority=0,actions=resubmit(,1)',
    'table=1,priority=0,actions=NORMAL',
  ].join('\n'));
  sw.l3.addRouter('r1');
  sw.l3.routerAddPort('r1', { bridge: 'br-int', port: 'qr-1', mac: QR1, cidr: '10.231.1.1/24', tag: 1 });
  sw.l3.routerAddPort('r1', { bridge: 'br-int', port: 'qr-2', mac: QR2, cidr: '10.231.2.1/24', tag: 2 });
  sw.l3.routerAddPort('r1', { bridge: 'br-ex', port: 'qg-1', mac: QG, cidr: '203.0.113.2/24', gateway: true });
  sw.l3.router('r1').addRoute('0.0.0.0/0', '203.0.113.1');
  sw.l3.router('r1').addFloatingIp('203.0.113.50', '10.231.1.10');
  sw.l3.addDhcp({ bridge: 'br-int', tag: 1, subnet: '10.231.1.0/24', gateway: '10.231.1.1' });

  const memNames = ['vm1', 'vm2', 'vm3', 'vm4', 'eth1', 'ext'];
  const mem = new Map<string, MemoryPort>();
  for (const n of memNames) {
    const io = sw.findPort(n)!.io as MemoryPort;
    io.keep = 0;
    mem.set(n, io);
  }
  // Every port where a frame can leave the switch or reach a local endpoint.
  const exits: SwitchPort[] = [];
  for (const b of sw.show()) for (const p of b.ports) if (p.type !== 'patch') exits.push(sw.findPort(p.name)!);
  sw.settle();
  sw.runUntilIdle();
  return { sw, mem, exits };
}

/** Seed frames: the arrivals a network of these tenants produces, valid (see corpus()). */
export function seedFrames(): { port: string; frame: Buffer }[] {
  return corpus();
}

export { mutate as mutateFrame };

export function runFrameFuzz(opts: { frames: number; seed: number; rounds?: number }): FuzzResult {
  tapDrops();
  const t0 = Date.now();
  const clock = { now: 1_000_000 };
  const { sw, mem, exits } = fuzzTopology(clock);
  const exitTx = (): number => {
    let s = 0;
    for (const p of exits) s += p.counters.txPackets;
    return s;
  };

  const seeds = corpus();
  const rnd = prng(opts.seed);
  const buf = Buffer.alloc(8192);
  const vbuf = Buffer.alloc(10);
  const res: FuzzResult = { frames: 0, seed: opts.seed, delivered: 0, dropped: 0, held: 0, unaccounted: [], leaks: [], errors: [], dropReasons: {}, ms: 0 };
  const rounds = opts.rounds ?? Math.max(1, Math.ceil(opts.frames / 50_000));
  const perRound = Math.ceil(opts.frames / rounds);
  const a = sw.arena;
  const cap = a.capacity;
  for (let round = 0; round < rounds && res.frames < opts.frames; round++) {
    // Resolve the next hops the router needs most, as a live network would.
    mem.get('ext')!.inject(arpRequest(EXT_GW, '203.0.113.1', '203.0.113.2'));
    mem.get('vm1')!.inject(arpRequest(VM1, '10.231.1.10', '10.231.1.1'));
    mem.get('vm2')!.inject(arpRequest(VM2, '10.231.2.11', '10.231.2.1'));
    sw.runUntilIdle();
    sw.settle();
    for (let i = 0; i < perRound && res.frames < opts.frames; i++) {
      const s = seeds[Math.floor(rnd() * seeds.length)];
      const n = mutate(s.frame, rnd, buf);
      const f = buf.subarray(0, n);
      const tx0 = exitTx();
      const d0 = dropTotal;
      const free0 = a.available;
      try {
        if (s.vnet !== undefined) {
          mutateVnet(s.vnet, rnd, vbuf);
          mem.get(s.port)!.inject(f, vbuf);
        } else {
          mem.get(s.port)!.inject(f);
        }
        sw.runUntilIdle();
        sw.settle();
      } catch (e) {
        if (res.errors.length < 20) res.errors.push({ frame: f.toString('hex'), error: (e as Error).stack ?? String(e) });
      }
      res.frames++;
      if (exitTx() > tx0) res.delivered++;
      else if (dropTotal > d0) res.dropped++;
      else if (a.available < free0) res.held++;
      else if (res.unaccounted.length < 20) res.unaccounted.push({ round, index: i, frame: f.toString('hex') });
      if ((i & 1023) === 0) {
        clock.now += 50; // timers move during the round too
        sw.tick();
      }
    }
    // Let every timer run out: ARP probes fail, pending frames are dropped and counted.
    for (let k = 0; k < 10; k++) {
      clock.now += 1000;
      sw.tick();
      sw.runUntilIdle();
    }
    if (a.available !== cap) res.leaks.push({ round, inUse: cap - a.available });
  }
  const reasons: Record<string, number> = {};
  const merge = (o: Record<string, number>, prefix: string) => {
    for (const [k, v] of Object.entries(o)) reasons[`${prefix}${k}`] = (reasons[`${prefix}${k}`] ?? 0) + v;
  };
  for (const b of sw.show()) {
    merge(sw.bridgeDrops(b.name), 'bridge:');
    for (const p of sw.dumpPorts(b.name)) merge(p.drops, 'port:');
  }
  merge(sw.l3.router('r1').show().drops, 'router:');
  res.dropReasons = reasons;
  res.ms = Date.now() - t0;
  return res;
}
