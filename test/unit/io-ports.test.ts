/**
 * AfPacketPort / TapPort over a fake NativeBinding: counters, arena bookkeeping, going down,
 * polling and close — no kernel, no root.
 */
import t from 'tap';
import { constants as osConstants } from 'os';
import { AfPacketOptions, ArenaView, NativeBinding, NativePortStats, PortInfo, TapOptions } from '../../src/io/binding';
import { AfPacketPort } from '../../src/io/afpacket-port';
import { TapPort } from '../../src/io/tap-port';
import { DROP_RX_KERNEL, DROP_RX_OVERSIZE, DROP_TX_DOWN } from '../../src/io/port';
import { PacketArena } from '../../src/packet/arena';
import { Batch } from '../../src/packet/batch';
import { portConfigFrom } from '../../src/control/port-options';
import { formatDumpPorts } from '../../src/cli/format';
import { Switch } from '../../src/datapath/switch';
import { defaultIoFactory, type IoFactory } from '../../src/datapath/io-factory';
import { applyConfig, validateConfig } from '../../src/control/config';
import { snapshotConfig } from '../../src/control/save-config';
import { reloadConfig } from '../../src/control/reload';
import { renderMetrics } from '../../src/control/metrics';

const E = osConstants.errno;
const EBADFD = 77; // Linux; not in os.constants.errno

/** Fake addon: rx hands out queued frames, tx records what it was given. */
class FakeBinding implements NativeBinding {
  arena?: ArenaView;
  rxQueue: Buffer[] = [];
  rxResult: number | undefined; // force a return value
  txTaken: number | undefined; // how many a tx burst takes (default all)
  txResult: number | undefined;
  sent: Buffer[] = [];
  stat: NativePortStats & { txErrors: number } = { kernelDrops: 0, rxOversize: 0, txErrors: 0 };
  statsCalls = 0;
  pollCb?: (status: number, events: number) => void;
  closed = 0;
  opened: unknown[] = [];

  openAfPacket(ifname: string, opts: AfPacketOptions, arena: ArenaView): number {
    this.arena = arena;
    this.opened.push({ ifname, opts });
    return 7;
  }
  openTap(name: string, opts: TapOptions, arena: ArenaView): { handle: number; name: string } {
    this.arena = arena;
    this.opened.push({ name, opts });
    return { handle: 8, name: name || 'tap3' };
  }
  openUnderlay(): number {
    throw new Error('not used by these tests (see tunnel-port.test.ts)');
  }
  routeMtu(): number {
    return 1500;
  }
  rxBurst(_h: number, slots: Uint32Array, max: number): number {
    if (this.rxResult !== undefined) return this.rxResult;
    const a = this.arena!;
    const u8 = new Uint8Array(a.buffer);
    let n = 0;
    while (n < max && this.rxQueue.length > 0) {
      const f = this.rxQueue.shift()!;
      const s = slots[n++];
      a.start[s] = s * a.slotSize + a.headroom;
      a.len[s] = f.length;
      u8.set(f, a.start[s]);
    }
    return n;
  }
  txBurst(_h: number, slots: Uint32Array, n: number): number {
    if (this.txResult !== undefined) return this.txResult;
    const a = this.arena!;
    const k = Math.min(n, this.txTaken ?? n);
    for (let i = 0; i < k; i++) this.sent.push(Buffer.from(new Uint8Array(a.buffer, a.start[slots[i]], a.len[slots[i]])));
    return k;
  }
  pollStart(_h: number, cb: (status: number, events: number) => void): void {
    this.pollCb = cb;
  }
  pollStop(): void {
    this.pollCb = undefined;
  }
  close(): void {
    this.closed++;
  }
  info(): PortInfo {
    return { name: 'veth0', ifindex: 4, mtu: 1500, mac: '02:00:00:00:00:01' };
  }
  stats(): NativePortStats {
    this.statsCalls++;
    return { ...this.stat };
  }
  ifInfo(): PortInfo {
    return this.info();
  }
}

t.test('rx: frames land in arena slots, counters and arena bookkeeping', async (t) => {
  const fake = new FakeBinding();
  const arena = new PacketArena({ slots: 16, slotSize: 2048 });
  const port = new AfPacketPort('veth0', arena, { ring: 'v2', blockCount: 4 }, fake);
  t.same(fake.opened[0], { ifname: 'veth0', opts: { vnetHdr: true, ring: 'v2', blockCount: 4, txRing: true } });
  t.equal(port.mtu, 1500);
  t.equal(port.offloads, true);
  t.equal(port.kind, 'afpacket');
  fake.rxQueue = [Buffer.alloc(60, 1), Buffer.alloc(100, 2), Buffer.alloc(70, 3)];
  const batch = new Batch(2); // smaller than what waits: a full burst
  t.equal(port.rxBurst(batch), 2);
  t.equal(batch.count, 2);
  t.equal(arena.available, 14, 'exactly the used slots were taken');
  t.ok(arena.frame(batch.slots[0]).equals(Buffer.alloc(60, 1)));
  t.ok(arena.frame(batch.slots[1]).equals(Buffer.alloc(100, 2)));
  t.equal(port.counters.rxPackets, 2);
  t.equal(port.counters.rxBytes, 160);
  t.equal(port.rxBurst(batch), 0, 'a full batch takes nothing');

  const b2 = new Batch();
  fake.stat.kernelDrops = 5;
  fake.stat.rxOversize = 2;
  t.equal(port.rxBurst(b2), 1, 'short burst');
  t.equal(arena.available, 13);
  t.equal(fake.statsCalls, 1, 'a short burst refreshed the stats');
  t.equal(port.counters.drops.get('rx_kernel_ring'), 5);
  t.equal(port.counters.drops.get('rx_oversize'), 2);
  t.equal(port.rxBurst(b2), 0);
  t.equal(fake.statsCalls, 1, '...but not on every short burst');
  t.equal(DROP_RX_KERNEL !== DROP_RX_OVERSIZE, true);
});

t.test('rx: arena exhausted and errors', async (t) => {
  const fake = new FakeBinding();
  const arena = new PacketArena({ slots: 2, slotSize: 2048 });
  const port = new AfPacketPort('veth0', arena, {}, fake);
  arena.alloc();
  arena.alloc();
  fake.rxQueue = [Buffer.alloc(60)];
  t.equal(port.rxBurst(new Batch()), 0, 'no free slot: nothing received, nothing thrown');
  fake.rxResult = -E.ENETDOWN;
  arena.release(0);
  t.equal(port.rxBurst(new Batch()), -E.ENETDOWN);
  t.notOk(port.up);
  t.equal(port.downReason, E.ENETDOWN);
  t.equal(arena.available, 1, 'no slot leaked on error');
  t.equal(port.rxBurst(new Batch()), -E.ENETDOWN, 'stays down');
});

t.test('tx: counters, partial bursts, down', async (t) => {
  const fake = new FakeBinding();
  const arena = new PacketArena({ slots: 8, slotSize: 2048 });
  const port = new TapPort('', arena, { vnetHdr: false }, fake);
  t.equal(port.device, 'tap3');
  t.equal(port.name, 'tap3');
  t.equal(port.offloads, false);
  const slots = new Uint32Array([arena.allocFrom(Buffer.alloc(60, 9)), arena.allocFrom(Buffer.alloc(80, 8))]);
  t.equal(port.txBurst(slots, 2), 2);
  t.equal(port.counters.txPackets, 2);
  t.equal(port.counters.txBytes, 140);
  fake.txTaken = 1;
  t.equal(port.txBurst(slots, 2), 1, 'short: the rest is the caller\'s to count');
  t.equal(port.counters.txPackets, 3);
  fake.txResult = -E.ENETDOWN;
  t.equal(port.txBurst(slots, 2), -E.ENETDOWN);
  t.ok(port.up, 'ENETDOWN on tx (link admin-down) does not take the port down');
  t.equal(port.counters.drops.get('tx_port_down'), 2);
  fake.txResult = -EBADFD;
  t.equal(port.txBurst(slots, 2), -EBADFD);
  t.notOk(port.up, 'a deleted device does');
  t.equal(port.txBurst(slots, 2), -EBADFD);
  t.equal(port.counters.drops.get('tx_port_down'), 6);
  t.equal(DROP_TX_DOWN >= 0, true);
});

t.test('polling, going down through poll, close', async (t) => {
  const fake = new FakeBinding();
  const arena = new PacketArena({ slots: 4, slotSize: 2048 });
  const port = new AfPacketPort('veth0', arena, {}, fake);
  let wakeups = 0;
  port.start(() => wakeups++);
  t.ok(fake.pollCb);
  fake.pollCb!(0, 1);
  t.equal(wakeups, 1);
  t.ok(port.up);
  fake.pollCb!(-E.ENETDOWN, 0);
  t.equal(wakeups, 2, 'woken once more so the datapath notices');
  t.notOk(port.up);
  t.equal(fake.pollCb, undefined, 'polling stopped');
  const d = port.describe();
  t.match(d, { kind: 'afpacket', device: 'veth0', ifindex: 4, mac: '02:00:00:00:00:01', mtu: 1500, ring: 'v2', up: false });
  port.close();
  port.close();
  t.equal(fake.closed, 1, 'close is idempotent');
  t.notOk(port.up);
  t.equal(port.rxBurst(new Batch()) < 0, true);
});

t.test('tx_ring: port option, default, and the ring shown by describe() and dump-ports', async (t) => {
  t.same(portConfigFrom({ tx_ring: 'off' }), { type: 'afpacket', txRing: false });
  t.same(portConfigFrom({ tx_ring: 'on' }), { type: 'afpacket', txRing: true });
  t.throws(() => portConfigFrom({ tx_ring: 'maybe' }), { message: 'tx_ring=maybe: must be true|false (or on|off)' });
  t.throws(() => portConfigFrom({ type: 'tap', tx_ring: 'on' }), { message: 'tx_ring=on: only applies to type=afpacket' });

  const fake = new FakeBinding();
  fake.info = () => ({ name: 'veth0', ifindex: 4, mtu: 1500, mac: '02:00:00:00:00:01', txRingBytes: 512 << 10, txRingFrameSize: 2048, txRingFrames: 256 }) as PortInfo;
  const arena = new PacketArena({ slots: 16, slotSize: 2048 });
  const on = new AfPacketPort('veth0', arena, {}, fake);
  t.equal((fake.opened[0] as { opts: AfPacketOptions }).opts.txRing, true, 'on by default');
  t.equal(on.txRingBytes, 512 << 10);
  t.match(on.describe(), { txRingBytes: 512 << 10, txRingFrameSize: 2048, txRingFrames: 256 });
  new AfPacketPort('veth0', arena, { txRing: false }, fake);
  t.equal((fake.opened[1] as { opts: AfPacketOptions }).opts.txRing, false, 'tx_ring=off passes through');
  t.match(
    formatDumpPorts('br0', { ports: [{ name: 'p1', ofport: 1, up: true, rx_packets: 0, rx_bytes: 0, tx_packets: 0, tx_bytes: 0, drops: {}, ring_bytes: 2 << 20, tx_ring_bytes: 512 << 10 }], drops: {} }),
    /ring=2\.0 MiB, tx_ring=0\.5 MiB/,
  );
});

t.test('n_rxq_desc: port option (a power of 2, afpacket ring=v2 only), passed to the addon, shown by dump-ports', async (t) => {
  t.same(portConfigFrom({ n_rxq_desc: '4096' }), { type: 'afpacket', nRxqDesc: 4096 });
  t.same(portConfigFrom({ n_rxq_desc: 64, ring: 'v2' }), { type: 'afpacket', nRxqDesc: 64, ring: 'v2' });
  t.same(portConfigFrom({ n_rxq_desc: '32768' }), { type: 'afpacket', nRxqDesc: 32768 });
  t.throws(() => portConfigFrom({ n_rxq_desc: '1000' }, 'port p1'), { message: 'port p1: n_rxq_desc=1000: must be a power of 2 in 64..32768' });
  t.throws(() => portConfigFrom({ n_rxq_desc: '32' }), { message: 'n_rxq_desc=32: must be an integer in 64..32768' });
  t.throws(() => portConfigFrom({ n_rxq_desc: '65536' }), { message: 'n_rxq_desc=65536: must be an integer in 64..32768' });
  t.throws(() => portConfigFrom({ n_rxq_desc: '2k' }), { message: 'n_rxq_desc=2k: must be an integer in 64..32768' });
  t.throws(() => portConfigFrom({ ring: 'v3', n_rxq_desc: '2048' }), { message: 'n_rxq_desc=2048: only applies to ring=v2 (a v3 ring is 16 blocks)' });
  t.throws(() => portConfigFrom({ type: 'tap', n_rxq_desc: '2048' }), { message: 'n_rxq_desc=2048: only applies to type=afpacket' });

  const fake = new FakeBinding();
  fake.info = () => ({ name: 'veth0', ifindex: 4, mtu: 1500, mac: '02:00:00:00:00:01', ringBytes: 8 << 20, ringFrameSize: 2048, ringFrames: 4096 }) as PortInfo;
  const arena = new PacketArena({ slots: 16, slotSize: 2048 });
  const p = new AfPacketPort('veth0', arena, { ringFrames: 4096 }, fake);
  t.equal((fake.opened[0] as { opts: AfPacketOptions }).opts.ringFrames, 4096, 'the frame count reaches the addon');
  t.equal(p.rxRingFrames, 4096);
  t.equal(p.rxRingFrameSize, 2048);
  new AfPacketPort('veth0', arena, {}, fake);
  t.notOk('ringFrames' in (fake.opened[1] as { opts: AfPacketOptions }).opts, 'not given: the addon sizes the ring');
  const v3 = new AfPacketPort('veth0', arena, { ring: 'v3' }, fake);
  t.equal(v3.rxRingFrames, undefined, 'a v3 ring has blocks, not frames');
  t.match(
    formatDumpPorts('br0', { ports: [{ name: 'p1', ofport: 1, up: true, rx_packets: 0, rx_bytes: 0, tx_packets: 0, tx_bytes: 0, drops: {}, ring_bytes: 8 << 20, ring_frames: 4096, ring_frame_size: 2048 }], drops: {} }),
    /ring=8\.0 MiB \(4096 frames × 2048 B\)/,
  );
});

t.test('n_rxq_desc in the config file: apply, save-config, reload (a changed depth replaces the port), metrics', async (t) => {
  const fake = new FakeBinding();
  let frames = 0;
  fake.info = () => ({ name: 'veth0', ifindex: 4, mtu: 1500, mac: '02:00:00:00:00:01', ringBytes: frames * 2048, ringFrameSize: 2048, ringFrames: frames }) as PortInfo;
  const io: IoFactory = {
    open(name, arena, config) {
      if (config.type !== 'afpacket') return defaultIoFactory.open(name, arena, config);
      frames = config.nRxqDesc ?? 2048;
      return new AfPacketPort(name, arena, { ring: config.ring, txRing: config.txRing, ringFrames: config.nRxqDesc }, fake);
    },
  };
  const sw = new Switch({ arena: { slots: 256 }, io });
  applyConfig(sw, validateConfig({ bridges: [{ name: 'br0', ports: [{ name: 'eth1', n_rxq_desc: 4096 }, { name: 'eth2' }] }] }));
  const opened = () => fake.opened.map((o) => (o as { opts: AfPacketOptions }).opts.ringFrames);
  t.same(opened(), [4096, undefined]);
  const saved = snapshotConfig(sw, { flows: false });
  t.same(saved.bridges[0].ports.map((p) => (p as unknown as Record<string, unknown>).n_rxq_desc), [4096, undefined], 'save-config writes n_rxq_desc back (only where given)');
  t.same(reloadConfig(sw, validateConfig(JSON.parse(JSON.stringify(saved)))).replaced, [], 'reload of the same file keeps the ports');
  const changed = JSON.parse(JSON.stringify(saved));
  changed.bridges[0].ports[0].n_rxq_desc = 1024;
  t.same(reloadConfig(sw, validateConfig(changed)).replaced, ['port eth1'], 'a new depth reopens the port');
  t.same(opened(), [4096, undefined, 1024]);
  t.match(sw.dumpPorts('br0').find((p) => p.name === 'eth1'), { ring_frames: 1024, ring_frame_size: 2048, ring_bytes: 2 << 20 });
  t.match(renderMetrics(sw), /tvs_port_ring_frames\{bridge="br0",port="eth1",ofport="1"\} 1024/);
  // The kernel dropped frames and then traffic stopped (no rx burst to refresh the counters):
  // dump-ports reads them itself.
  fake.stat.kernelDrops = 7;
  t.match(sw.dumpPorts('br0').find((p) => p.name === 'eth1'), { drops: { rx_kernel_ring: 7 } }, 'dump-ports shows the ring drops up to now');
});
