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
