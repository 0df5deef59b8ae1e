/**
 * Tunnel decap/encap on packet buffers (packet/tunnel.ts) — every decap drop reason on a bad
 * outer header, the exact outer bytes encap writes, a round trip — and the tunnel port's
 * receive demultiplexing and tunnel metadata (io/tunnel-port.ts) over a fake underlay binding.
 */
import t from 'tap';
import { PacketArena } from '../../src/packet/arena';
import { Batch } from '../../src/packet/batch';
import * as K from '../../src/packet/flow-key';
import * as tun from '../../src/packet/tunnel';
import { parseBatch, ParseDrops } from '../../src/packet/parse';
import { checksum } from '../../src/wire/checksum';
import { TunnelPort } from '../../src/io/tunnel-port';
import { newBatchClock } from '../../src/packet/batch-clock';
import type { ArenaView, NativeBinding, NativePortStats, PortInfo } from '../../src/io/binding';
import { portConfigFrom } from '../../src/control/port-options';
import { hex, toHex } from '../fixtures/util';
import { Switch } from '../../src/datapath/switch';
import { defaultIoFactory, type IoFactory } from '../../src/datapath/io-factory';
import { applyConfig, validateConfig } from '../../src/control/config';
import { snapshotConfig } from '../../src/control/save-config';
import { reloadConfig } from '../../src/control/reload';
import { formatShow } from '../../src/cli/format';
import { renderMetrics } from '../../src/control/metrics';

const D = tun.TUNNEL_DROPS.id;
// An ARP request, 42 bytes: 10.235.0.1 asks for 10.235.0.2.
const INNER = '020000000002' + '020000000001' + '0806' + '0001080006040001' + '020000000001' + '0aeb0001' + '000000000000' + '0aeb0002';

function bytes(h: string): Uint8Array {
  return hex(h);
}

t.test('decap VXLAN: good header and every drop reason', async (t) => {
  const out = tun.newDecap();
  const good = bytes('0800000000006400' + INNER);
  t.equal(tun.decapVxlan(good, 0, good.length, out), tun.DECAP_OK);
  t.same({ start: out.start, len: out.len, key: out.key }, { start: 8, len: 42, key: 100 });
  t.equal(tun.decapVxlan(good, 0, 7, out), D.outer_truncated, 'fewer than 8 bytes');
  const noI = bytes('0000000000006400' + INNER);
  t.equal(tun.decapVxlan(noI, 0, noI.length, out), D.vxlan_no_vni, 'I flag clear');
  const runt = bytes('0800000000006400' + INNER.slice(0, 26));
  t.equal(tun.decapVxlan(runt, 0, runt.length, out), D.inner_runt, '13-byte inner frame');
});

function ipGre(gre: string, inner: string, patch?: (b: Uint8Array) => void): Uint8Array {
  const b = bytes('4500' + '0000' + '0000' + '4000' + '402f' + '0000' + '0aea0002' + '0aea0001' + gre + inner);
  b[2] = b.length >>> 8;
  b[3] = b.length & 0xff;
  if (patch) patch(b);
  return b;
}

t.test('decap GRE: good packet and every drop reason', async (t) => {
  const out = tun.newDecap();
  const good = ipGre('2000655800000064', INNER);
  t.equal(tun.decapGre(good, 0, good.length, out), tun.DECAP_OK);
  t.same({ ...out }, { start: 28, len: 42, key: 100, src: 0x0aea0002, dst: 0x0aea0001 });
  const nokey = ipGre('00006558', INNER);
  t.equal(tun.decapGre(nokey, 0, nokey.length, out), tun.DECAP_OK);
  t.equal(out.key, 0, 'no key field: key 0');
  t.equal(tun.decapGre(good, 0, 19, out), D.outer_truncated, 'IPv4 header cut short');
  t.equal(tun.decapGre(ipGre('2000655800000064', INNER, (b) => (b[0] = 0x65)), 0, good.length, out), D.outer_malformed, 'IP version 6 in an IPv4 socket');
  t.equal(tun.decapGre(ipGre('2000655800000064', INNER, (b) => (b[3] += 4)), 0, good.length, out), D.outer_malformed, 'total length past the end');
  t.equal(tun.decapGre(ipGre('2000655800000064', INNER, (b) => (b[9] = 17)), 0, good.length, out), D.outer_malformed, 'not GRE');
  const cut = ipGre('200065580000', '');
  t.equal(tun.decapGre(cut, 0, cut.length, out), D.outer_truncated, 'K flag but no key');
  const routing = ipGre('4000655800000064', INNER);
  t.equal(tun.decapGre(routing, 0, routing.length, out), D.gre_flags, 'routing bit');
  const v1 = ipGre('2001655800000064', INNER);
  t.equal(tun.decapGre(v1, 0, v1.length, out), D.gre_version, 'version 1');
  const ip = ipGre('2000080000000064', INNER);
  t.equal(tun.decapGre(ip, 0, ip.length, out), D.gre_protocol, 'IPv4 payload, not Ethernet');
  const ck = ipGre('a0006558' + '00000000' + '00000064', INNER);
  t.equal(tun.decapGre(ck, 0, ck.length, out), D.gre_checksum, 'checksum present and wrong');
  const c = checksum(ck, 20, ck.length - 20, 0);
  ck[24] = c >>> 8;
  ck[25] = c & 0xff;
  t.equal(tun.decapGre(ck, 0, ck.length, out), tun.DECAP_OK, 'right checksum accepted');
  const runt = ipGre('2000655800000064', INNER.slice(0, 26));
  t.equal(tun.decapGre(runt, 0, runt.length, out), D.inner_runt);
});

function slotWith(a: PacketArena, h: string): number {
  const s = a.allocFrom(bytes(h));
  const b = new Batch(1);
  b.push(s);
  parseBatch(a, b, 1, 1522, new ParseDrops());
  return s;
}

const PARAMS: tun.EncapParams = { kind: 'vxlan', local: 0x0aea0001, remote: 0x0aea0002, key: 100, greKeyed: false, dstPort: 4789, tos: 0, ttl: 64, df: true, mtu: 1500 };

t.test('encap VXLAN: the outer bytes', async (t) => {
  const a = new PacketArena({ slots: 8 });
  const s = slotWith(a, INNER);
  t.equal(tun.encap(a, s, PARAMS), tun.DECAP_OK);
  t.equal(a.len[s], 42 + 36);
  const b = a.bytes.subarray(a.start[s], a.start[s] + a.len[s]);
  const sport = (b[20] << 8) | b[21];
  t.ok(sport >= 32768 && sport <= 60999, `UDP source port ${sport} from the flow hash`);
  t.equal(toHex(b, 0, 20), '4500004e00004000401100000aea00010aea0002', 'IPv4: len 78, DF, TTL 64, UDP, id/checksum for the kernel');
  t.equal(toHex(b, 22, 36), '12b5003a0000' + '0800000000006400', 'UDP to 4789, length 58, checksum 0; VXLAN I, VNI 100');
  t.equal(toHex(b, 36), INNER, 'inner frame untouched');
  // Same flow, same port; the round trip gives the frame back.
  const s2 = slotWith(a, INNER);
  tun.encap(a, s2, PARAMS);
  t.equal((a.bytes[a.start[s2] + 20] << 8) | a.bytes[a.start[s2] + 21], sport, 'the source port is stable per flow');
  const out = tun.newDecap();
  t.equal(tun.decapVxlan(a.bytes, a.start[s] + 28, a.len[s] - 28, out), tun.DECAP_OK);
  t.equal(toHex(a.bytes, out.start, out.start + out.len), INNER);
});

t.test('encap: tos/ttl inherit, df off, key=flow, MTU, GRE', async (t) => {
  const a = new PacketArena({ slots: 8 });
  const s = slotWith(a, INNER);
  a.key[(s << K.KEY_SHIFT) + K.K_TUN_ID_LO] = 0x1234;
  t.equal(tun.encap(a, s, { ...PARAMS, key: -1, df: false, ttl: 7, tos: 0xb8 }), tun.DECAP_OK);
  const b = a.bytes;
  const p = a.start[s];
  t.equal(b[p + 1], 0xb8, 'tos=184');
  t.equal(b[p + 6], 0, 'no DF');
  t.equal(b[p + 8], 7, 'ttl=7');
  t.equal(toHex(b, p + 28, p + 36), '0800000000123400', 'key=flow: the VNI is tun_id');

  const big = slotWith(a, INNER);
  t.equal(tun.encap(a, big, { ...PARAMS, mtu: 42 + 35 }), D.tx_underlay_mtu, 'outer 78 bytes on a route MTU of 77');
  t.equal(a.len[big], 42, 'the frame is left as it was');
  const wide = slotWith(a, INNER);
  a.key[(wide << K.KEY_SHIFT) + K.K_TUN_ID_LO] = 0x1000000;
  t.equal(tun.encap(a, wide, { ...PARAMS, key: -1 }), D.tx_no_key, 'a tun_id wider than 24 bits');

  const g = slotWith(a, INNER);
  t.equal(tun.encap(a, g, { ...PARAMS, kind: 'gre', key: 0xdeadbeef, greKeyed: true }), tun.DECAP_OK);
  t.equal(toHex(b, a.start[g], a.start[g] + 28), '4500004600004000402f00000aea00010aea0002' + '20006558deadbeef');
  const out = tun.newDecap();
  t.equal(tun.decapGre(b, a.start[g], a.len[g], out), tun.DECAP_OK, 'what encap writes, decap takes');
  t.equal(out.key, 0xdeadbeef);
  t.equal(toHex(b, out.start, out.start + out.len), INNER);
  const g0 = slotWith(a, INNER);
  tun.encap(a, g0, { ...PARAMS, kind: 'gre', key: 0, greKeyed: false });
  t.equal(toHex(b, a.start[g0] + 20, a.start[g0] + 24), '00006558', 'no key option: no key field');
  t.equal(a.len[g0], 42 + 24);

  // No headroom left (a frame pushed to the slot start): moved back, not dropped.
  const h = slotWith(a, INNER);
  const base = a.base(h) + 10;
  a.bytes.copyWithin(base, a.start[h], a.start[h] + 42);
  a.start[h] = base;
  t.equal(tun.encap(a, h, PARAMS), tun.DECAP_OK);
  t.equal(toHex(a.bytes, a.start[h] + 36, a.start[h] + 78), INNER);
});

/** A fake underlay: rx hands out (payload, src) pairs with the meta prefix; tx records. */
class FakeUnderlay implements NativeBinding {
  arena?: ArenaView;
  rx: { payload: Uint8Array; src: number }[] = [];
  sent: Uint8Array[] = [];
  refuse = -1;
  opened = 0;
  closed = 0;
  openAfPacket(): number {
    throw new Error('unused');
  }
  openTap(): { handle: number; name: string } {
    throw new Error('unused');
  }
  openUnderlay(_k: 'vxlan' | 'gre', _o: unknown, arena: ArenaView): number {
    this.arena = arena;
    return ++this.opened;
  }
  routeMtuCalls = 0;
  routeMtu(): number {
    this.routeMtuCalls++;
    return 1500;
  }
  rxCalls = 0;
  statsCalls = 0;
  pollCb?: (status: number, events: number) => void;
  pollClock?: Float64Array;
  rxBurst(_h: number, slots: Uint32Array, max: number): number {
    this.rxCalls++;
    const a = this.arena!;
    const u8 = new Uint8Array(a.buffer);
    let n = 0;
    while (n < max && this.rx.length > 0) {
      const f = this.rx.shift()!;
      const s = slots[n++];
      const st = s * a.slotSize + a.headroom;
      a.start[s] = st;
      a.len[s] = f.payload.length;
      u8.set(f.payload, st);
      new DataView(a.buffer).setUint32(st - 8, f.src);
      new DataView(a.buffer).setUint32(st - 4, 0x0aea0001);
    }
    return n;
  }
  txBurst(_h: number, slots: Uint32Array, n: number): number {
    const a = this.arena!;
    for (let i = 0; i < n; i++) {
      if (i === this.refuse) {
        a.len[slots[i]] = 0; // UNDERLAY_REFUSED_UNREACHABLE
        continue;
      }
      this.sent.push(new Uint8Array(a.buffer, a.start[slots[i]], a.len[slots[i]]).slice());
    }
    return n;
  }
  pollStart(_h: number, cb: (status: number, events: number) => void, clock?: Float64Array): void {
    this.pollCb = cb;
    this.pollClock = clock;
  }
  pollStop(): void {
    this.pollCb = undefined;
  }
  close(): void {
    this.closed++;
  }
  info(): PortInfo {
    return { name: 'udp:4789', ifindex: 0, mtu: 0, mac: '00:00:00:00:00:00' };
  }
  stats(): NativePortStats {
    this.statsCalls++;
    return { kernelDrops: 0, rxOversize: 0 };
  }
  ifInfo(): PortInfo {
    return this.info();
  }
}

t.test('tunnel ports share one underlay and demultiplex by remote_ip and key', async (t) => {
  const a = new PacketArena({ slots: 64 });
  const fake = new FakeUnderlay();
  const p2 = new TunnelPort('vx2', 'vxlan', a, { remoteIp: '10.234.0.2', key: 100 }, fake);
  const p2f = new TunnelPort('vx2f', 'vxlan', a, { remoteIp: '10.234.0.2', key: 'flow' }, fake);
  const p3 = new TunnelPort('vx3', 'vxlan', a, { remoteIp: '10.234.0.3', key: 100 }, fake);
  t.equal(fake.opened, 1, 'one socket for three ports');
  t.throws(() => new TunnelPort('dup', 'vxlan', a, { remoteIp: '10.234.0.3', key: 100 }, fake), /already has remote_ip=10\.234\.0\.3 key=100/);
  t.equal(p2.mtu, 1450);
  const vx = (vni: number) => bytes('08000000' + vni.toString(16).padStart(6, '0') + '00' + INNER);
  fake.rx = [
    { payload: vx(100), src: 0x0aea0002 },
    { payload: vx(7), src: 0x0aea0002 },
    { payload: vx(100), src: 0x0aea0003 },
    { payload: vx(100), src: 0x0aea0009 },
    { payload: bytes('0000000000006400' + INNER), src: 0x0aea0003 },
  ];
  const free = a.available;
  const b = new Batch(32);
  t.equal(p3.rxBurst(b), 1, 'vx3 pulled the burst and kept its own frame');
  t.equal(p2.backlog.count, 1, 'the sibling on .2 key 100 got its frame');
  t.equal(p2f.backlog.count, 1, 'VNI 7 from .2 went to the key=flow port');
  t.equal(p3.counters.tunnel.toJSON().vxlan_no_vni, 1);
  t.equal(p2.counters.tunnel.toJSON().unknown_remote, 1, 'unknown remote counted on the first port of the socket');
  const b2 = new Batch(32);
  t.equal(p2f.rxBurst(b2), 1);
  const s = b2.slots[0];
  // markParsed after the parse pass: tun_id, tun_src, tun_dst, TUN_PRESENT.
  parseBatch(a, b2, 2, 1522, new ParseDrops());
  p2f.markParsed(b2);
  const k = s << K.KEY_SHIFT;
  t.same([a.key[k + K.K_TUN_FLAGS], a.key[k + K.K_TUN_ID_HI], a.key[k + K.K_TUN_ID_LO], a.key[k + K.K_TUN_SRC], a.key[k + K.K_TUN_DST]], [K.TUN_PRESENT, 0, 7, 0x0aea0002, 0x0aea0001]);
  t.equal(a.keyTail[s], 1, 'the tunnel words are in the key tail: marked for the next parse of the slot to clear');
  t.equal(toHex(a.bytes, a.start[s], a.start[s] + a.len[s]), INNER, 'the inner frame, outer headers stripped');
  t.equal(a.key[k + K.K_DL_TYPE], 0x0806, 'parsed as the inner ARP');

  // Transmit: key=flow takes tun_id; a refused (unreachable) send is counted on the port.
  a.key[k + K.K_TUN_ID_LO] = 555;
  const s1 = a.allocFrom(bytes(INNER));
  const list = new Uint32Array([s, s1]);
  fake.refuse = 1;
  t.equal(p2f.txBurst(list, 2), 2);
  t.equal(fake.sent.length, 1);
  t.equal(toHex(fake.sent[0], 28, 36), '0800000000022b00', 'VNI 555 from tun_id');
  t.equal(p2f.counters.tunnel.toJSON().tx_unreachable, 1);
  t.equal(p2f.counters.txPackets, 1);
  const dump = p2f.counters.toJSON() as { drops: Record<string, number> };
  t.equal(dump.drops.tx_unreachable, 1, 'tunnel drops appear in the port drops (dump-ports, metrics)');
  for (const x of [s, s1, ...b.slots.subarray(0, b.count)]) a.release(x);
  for (const p of [p2, p2f, p3]) p.close();
  t.equal(fake.closed, 1, 'the socket closes with its last port');
  t.equal(a.available, free, 'every slot back (backlogs released on close)');
});

t.test('a readiness wake costs one receive call per burst, however many ports share the socket', async (t) => {
  const a = new PacketArena({ slots: 256 });
  const fake = new FakeUnderlay();
  const ports = [2, 3, 4, 5].map((h) => new TunnelPort(`vx${h}`, 'vxlan', a, { remoteIp: `10.234.0.${h}`, key: 100 }, fake));
  const got = new Map<string, number>();
  for (const p of ports) {
    p.start(() => {
      const b = new Batch(64);
      for (let n = p.rxBurst(b); n > 0; n = p.rxBurst(b)) got.set(p.name, (got.get(p.name) ?? 0) + n);
      for (let i = 0; i < b.count; i++) a.release(b.slots[i]);
    });
  }
  const vx = bytes('0800000000006400' + INNER);
  fake.rx = [0x0aea0002, 0x0aea0004, 0x0aea0005, 0x0aea0004].map((src) => ({ payload: vx, src }));
  fake.pollCb!(0, 1);
  t.equal(fake.rxCalls, 1, 'one native call: a short burst ends the wake');
  t.same(Object.fromEntries(got), { vx2: 1, vx4: 2, vx5: 1 }, 'each port got its own frames');
  for (const p of ports) p.close();
  t.equal(fake.pollCb, undefined, 'the socket stops being watched with its last port');
});

t.test('tunnel ports keep time by the batch clock the addon stamps per wakeup, not Date.now()', async (t) => {
  const a = new PacketArena({ slots: 64 });
  const fake = new FakeUnderlay();
  const p = new TunnelPort('vx2', 'vxlan', a, { remoteIp: '10.234.0.2', key: 100 }, fake);
  const mtuLookups = fake.routeMtuCalls;
  const clock = newBatchClock();
  clock[0] = 1000.5;
  const stamps: (boolean | undefined)[] = [];
  const b = new Batch(64);
  p.start((stamped) => {
    stamps.push(stamped);
    p.rxBurst(b);
  }, clock, true);
  t.equal(fake.pollClock, clock, 'the socket is watched with the clock for the addon to stamp');
  const vx = bytes('0800000000006400' + INNER);
  const realNow = Date.now;
  let nowCalls = 0;
  Date.now = () => (nowCalls++, realNow());
  try {
    const wakeAt = (ms: number) => {
      clock[0] = ms; // what the addon does before the callback
      fake.rx = [{ payload: vx, src: 0x0aea0002 }];
      fake.pollCb!(0, 1);
    };
    const send = () => {
      const s = a.allocFrom(bytes(INNER));
      t.equal(p.txBurst(new Uint32Array([s]), 1), 1);
      a.release(s);
    };
    wakeAt(1500);
    send();
    t.same(stamps, [true], 'the wake tells the datapath the clock is stamped');
    t.equal(fake.statsCalls, 0, 'native counters: not yet a second since the clock came');
    t.equal(fake.routeMtuCalls, mtuLookups, 'route MTU: not yet 5 s');
    wakeAt(2000.5);
    t.equal(fake.statsCalls, 1, 'a short burst a second later pulls the native counters');
    wakeAt(2500);
    t.equal(fake.statsCalls, 1, '...and not again within the second');
    clock[0] = 5000;
    send();
    t.equal(fake.routeMtuCalls, mtuLookups + 1, 'the route MTU is looked up again 5 s on the clock');
    clock[0] = 9999;
    send();
    t.equal(fake.routeMtuCalls, mtuLookups + 1, '...and not again within 5 s');
    t.equal(nowCalls, 0, 'no Date.now() on the receive and transmit bursts');
  } finally {
    Date.now = realNow;
  }
  for (let i = 0; i < b.count; i++) a.release(b.slots[i]);
  p.close();
});

t.test('tunnel options: OVS names, each bad one refused by name', async (t) => {
  const c = portConfigFrom({ type: 'vxlan', remote_ip: '10.234.0.2', local_ip: '10.234.0.1', key: '100', dst_port: '4790', tos: 'inherit', ttl: '32', df_default: 'false' });
  t.same(c.tunnel, { remoteIp: '10.234.0.2', localIp: '10.234.0.1', key: 100, dstPort: 4790, tos: 'inherit', ttl: 32, dfDefault: false });
  t.same(portConfigFrom({ type: 'gre', remote_ip: '10.234.0.2', key: 'flow' }).tunnel, { remoteIp: '10.234.0.2', key: 'flow' });
  const bad: [Record<string, unknown>, RegExp][] = [
    [{ type: 'vxlan' }, /remote_ip: a vxlan port needs remote_ip/],
    [{ type: 'vxlan', remote_ip: '10.234.0' }, /remote_ip=10\.234\.0: must be an IPv4 address/],
    [{ type: 'vxlan', remote_ip: 'flow' }, /remote_ip=flow: remote_ip=flow is not supported/],
    [{ type: 'vxlan', remote_ip: '224.0.0.1' }, /remote_ip=224\.0\.0\.1: must be a unicast address/],
    [{ type: 'vxlan', remote_ip: '10.234.0.2', key: '16777216' }, /key=16777216: must be an integer in 0\.\.16777215/],
    [{ type: 'gre', remote_ip: '10.234.0.2', dst_port: '4789' }, /dst_port=4789: only applies to type=vxlan/],
    [{ type: 'vxlan', remote_ip: '10.234.0.2', ttl: '0' }, /ttl=0: must be an integer in 1\.\.255/],
    [{ type: 'vxlan', remote_ip: '10.234.0.2', tos: 'x' }, /tos=x: must be an integer in 0\.\.255/],
    [{ type: 'vxlan', remote_ip: '10.234.0.2', df_default: 'maybe' }, /df_default=maybe: must be true\|false/],
    [{ type: 'tap', remote_ip: '10.234.0.2' }, /remote_ip=10\.234\.0\.2: only applies to type=vxlan or type=gre/],
  ];
  for (const [o, re] of bad) t.throws(() => portConfigFrom(o), re, JSON.stringify(o));
});

t.test('tunnel ports in the config file: validate, apply, save-config, reload', async (t) => {
  const fake = new FakeUnderlay();
  const io: IoFactory = {
    open(name, arena, config) {
      if (config.type === 'vxlan' || config.type === 'gre') return new TunnelPort(name, config.type, arena, config.tunnel!, fake);
      return defaultIoFactory.open(name, arena, config);
    },
  };
  const sw = new Switch({ arena: { slots: 256 }, io });
  const file = {
    bridges: [
      {
        name: 'br-tun',
        ports: [
          { name: 'vxlan-0aea0002', type: 'vxlan', remote_ip: '10.234.0.2', local_ip: '10.234.0.1', key: 100, ttl: 32 },
          { name: 'gre-0aea0003', type: 'gre', remote_ip: '10.234.0.3', key: 'flow', df_default: false },
        ],
      },
    ],
  };
  applyConfig(sw, validateConfig(file));
  const saved = snapshotConfig(sw, { flows: false });
  t.same(
    saved.bridges[0].ports.map((p) => ({ ...p })),
    [
      { name: 'vxlan-0aea0002', type: 'vxlan', ofport: 1, remote_ip: '10.234.0.2', local_ip: '10.234.0.1', key: 100, ttl: 32 },
      { name: 'gre-0aea0003', type: 'gre', ofport: 2, remote_ip: '10.234.0.3', key: 'flow', df_default: false },
    ],
    'save-config writes the OVS option names back',
  );
  t.same(validateConfig(JSON.parse(JSON.stringify(saved))).bridges[0].ports[0].tunnel, { remoteIp: '10.234.0.2', localIp: '10.234.0.1', key: 100, ttl: 32 }, 'and reads them again');
  // reload: unchanged ports stay, a changed key replaces the port.
  const same = reloadConfig(sw, validateConfig(JSON.parse(JSON.stringify(saved))));
  t.same(same.replaced, []);
  const changed = JSON.parse(JSON.stringify(saved));
  changed.bridges[0].ports[0].key = 101;
  const r = reloadConfig(sw, validateConfig(changed));
  t.same(r.replaced, ['port vxlan-0aea0002']);
  t.equal(sw.show()[0].ports[0].io!.key, 101);
  const bad = JSON.parse(JSON.stringify(saved));
  bad.bridges[0].ports[1].remote_ip = '10.234.0';
  t.throws(() => validateConfig(bad), /bridges\[0\]\.ports\[1\]\.remote_ip: must be an IPv4 address/);
  // show (ovs-vsctl style options line) and metrics (tunnel drops by reason).
  t.match(formatShow(sw.show()), /Port gre-0aea0003\n\s+ofport: 2, type: gre, up\n\s+options: \{key="flow", remote_ip="10\.234\.0\.3"\}/);
  const gre = sw.show()[0].ports[1];
  t.equal(gre.io!.df_default, false);
  ((sw as unknown as { bridges: Map<string, { port(n: string): { counters: { tunnel: { add(id: number): void } } } }> }).bridges.get('br-tun')!.port('gre-0aea0003')!.counters.tunnel).add(D.tx_unreachable);
  t.match(renderMetrics(sw), /tvs_port_drops_total\{bridge="br-tun",port="gre-0aea0003",ofport="2",reason="tx_unreachable"\} 1/);
});
