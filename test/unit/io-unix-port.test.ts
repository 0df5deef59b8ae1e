/**
 * Unix stream ports (QEMU -netdev stream framing: 4-byte big-endian length + frame), no root:
 * a switch with a memory port and a unix port, a Node client playing QEMU.
 */
import t from 'tap';
import * as fs from 'fs';
import * as net from 'net';
import * as os from 'os';
import * as path from 'path';
import { Switch } from '../../src/datapath/switch';
import { MemoryPort } from '../../src/io/memory-port';
import { UnixStreamPort, TX_HIGH_WATER } from '../../src/io/unix-port';
import { portConfigFrom } from '../../src/control/port-options';
import * as vnet from '../../src/packet/vnet';
import { hex, refChecksum, refPseudo4 } from '../fixtures/util';
import type { Teardownable } from '../../lab/netns';

const A = '02000000000a';
const B = '02000000000b';

/** A minimal Ethernet frame A→B (or given), `n` bytes long (no padding rule: may be < 60). */
function frame(n: number, dst = B, src = A, fill = 0x11): Buffer {
  const f = Buffer.alloc(n, fill);
  Buffer.from(dst + src + '88b5', 'hex').copy(f);
  return f;
}

function lp(f: Buffer): Buffer {
  const h = Buffer.alloc(4);
  h.writeUInt32BE(f.length);
  return Buffer.concat([h, f]);
}

/** Client side of the stream: collects frames out of the length-prefixed byte stream. */
class Client {
  readonly sock: net.Socket;
  frames: Buffer[] = [];
  private buf = Buffer.alloc(0);
  constructor(p: string) {
    this.sock = net.connect(p);
    this.sock.on('data', (d) => {
      this.buf = Buffer.concat([this.buf, d]);
      while (this.buf.length >= 4 && this.buf.length >= 4 + this.buf.readUInt32BE(0)) {
        const l = this.buf.readUInt32BE(0);
        this.frames.push(this.buf.subarray(4, 4 + l));
        this.buf = this.buf.subarray(4 + l);
      }
    });
    this.sock.on('error', () => undefined);
  }
  connected(): Promise<void> {
    return new Promise((r) => (this.sock.readyState === 'open' ? r() : this.sock.once('connect', () => r())));
  }
}

async function until(cond: () => boolean, ms = 3000): Promise<boolean> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) return false;
    await new Promise((r) => setTimeout(r, 5));
  }
  return true;
}

function setup(t: Teardownable) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tvs-unix-'));
  const sock = path.join(dir, 'vm1.sock');
  const sw = new Switch({ arena: { slots: 512 } });
  sw.addBridge('br0');
  const mem = sw.addPort('br0', 'mem', { type: 'memory', offloads: true }).io as MemoryPort;
  const up = sw.addPort('br0', 'vm1', portConfigFrom({ type: 'unix', path: sock }));
  sw.start();
  t.teardown(() => {
    sw.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  });
  return { sw, mem, unix: up.io as UnixStreamPort, sock };
}

t.test('unix port: listens at once, frames both ways, split across reads, short frames', async (t) => {
  const { sw, mem, unix, sock } = setup(t);
  t.ok(fs.lstatSync(sock).isSocket(), 'the socket exists as soon as the port is added');
  t.equal(unix.up, false, 'down until a client connects');
  t.equal(sw.show()[0].ports.find((p) => p.name === 'vm1')!.type, 'unix');

  const c = new Client(sock);
  await c.connected();
  t.ok(await until(() => unix.up), 'up once QEMU connects');
  // Three frames (one of 42 bytes: no padding to 60), written in awkward pieces.
  const frames = [frame(42), frame(1514, B, A, 0x22), frame(60, B, A, 0x33)];
  const bytes = Buffer.concat(frames.map(lp));
  for (const cut of [1, 3, 50, 700, bytes.length]) {
    c.sock.write(bytes.subarray(0, cut));
    await new Promise((r) => setTimeout(r, 5));
    c.sock.write(bytes.subarray(cut));
    await until(() => mem.counters.txPackets >= 3);
    const got = mem.takeTransmitted();
    t.same(got, frames, `3 frames out of the memory port (stream cut at ${cut})`);
    mem.counters.txPackets = 0;
  }

  // Memory → unix: B→A after A was learned on vm1.
  mem.inject(frame(42, A, B, 0x44));
  mem.inject(frame(1000, A, B, 0x55));
  t.ok(await until(() => c.frames.length >= 2), 'frames reach the client');
  t.same(c.frames, [frame(42, A, B, 0x44), frame(1000, A, B, 0x55)], 'length-prefixed, unpadded, no vnet header');
  c.sock.destroy();
});

t.test('unix port: GSO frames are segmented, partial checksums finished', async (t) => {
  const { sw, unix, sock } = setup(t);
  const c = new Client(sock);
  await c.connected();
  await until(() => unix.up);
  c.sock.write(lp(frame(60))); // learn A on vm1
  await new Promise((r) => setTimeout(r, 50));
  // A 10000-byte TCPv4 super-frame from the memory port (offloads on) to A.
  const payload = Buffer.alloc(10000);
  for (let i = 0; i < payload.length; i++) payload[i] = (i * 7) & 0xff;
  const ipLen = 20 + 20 + payload.length;
  const head = hex(A + B + '0800' + '4500' + ipLen.toString(16).padStart(4, '0') + '00014000' + '4006' + '0000' + '0afa0001' + '0afa0002' + 'a8ca0050' + '00000001' + '00000000' + '5018' + '01f6' + '0000' + '0000');
  const a = sw.arena;
  const s = a.allocFrom(Buffer.concat([Buffer.from(head), payload]));
  const b = a.base(s);
  a.bytes[b] = vnet.F_NEEDS_CSUM;
  a.bytes[b + 1] = vnet.GSO_TCPV4;
  a.bytes[b + 4] = 1448 & 0xff;
  a.bytes[b + 5] = 1448 >> 8;
  a.bytes[b + 6] = 34;
  a.bytes[b + 8] = 16;
  sw.enqueue(sw.bridge('br0').port('vm1')!, s);
  sw.flush();
  t.ok(await until(() => c.frames.length >= 7), '10000 bytes at MSS 1448 = 7 segments');
  t.ok(c.frames.every((f) => f.length <= 1514), 'all within the MTU');
  t.ok(c.frames.every((f) => refChecksum(f.subarray(34), refPseudo4(f.subarray(26, 30), f.subarray(30, 34), 6, f.length - 34)) === 0), 'TCP checksums complete');
  t.same(Buffer.concat(c.frames.map((f) => f.subarray(54))), payload, 'payload intact');
  c.sock.destroy();
});

t.test('unix port: a VM that goes away and comes back; one client at a time', async (t) => {
  const { sw, mem, unix, sock } = setup(t);
  const downs: string[] = [];
  sw.on('port-down', (e) => downs.push(e.port));
  const c1 = new Client(sock);
  await c1.connected();
  await until(() => unix.up);
  const c2 = new Client(sock);
  const refused = await new Promise<boolean>((r) => {
    c2.sock.on('close', () => r(true));
    setTimeout(() => r(false), 2000);
  });
  t.ok(refused, 'a second client is refused while one is connected');
  t.ok(unix.up, 'the first stays up');
  c1.sock.write(lp(frame(60)));
  await until(() => mem.counters.txPackets >= 1);

  c1.sock.destroy();
  t.ok(await until(() => !unix.up), 'down when the VM goes away');
  t.ok(await until(() => downs.includes('vm1')), 'port-down event');
  mem.inject(frame(60, A, B));
  await until(() => mem.counters.rxPackets >= 1);
  await new Promise((r) => setTimeout(r, 20));
  mem.inject(frame(61, A, B, 0x99));
  await until(() => mem.counters.rxPackets >= 2);

  const c3 = new Client(sock);
  await c3.connected();
  t.ok(await until(() => unix.up), 'up again when a VM connects');
  c3.sock.write(lp(frame(60, B, A, 0x77)));
  t.ok(await until(() => mem.takeTransmitted().some((f) => f[20] === 0x77)), 'forwarding resumes');
  mem.inject(frame(80, A, B, 0x66));
  t.ok(await until(() => c3.frames.some((f) => f.length === 80)), 'and back to the new client');
  t.notOk(c3.frames.some((f) => f.length === 61), 'frames sent while no VM was connected were not kept for the next one');
  c3.sock.destroy();
});

t.test('unix port: a client that stops reading costs drops, not memory', async (t) => {
  const { sw, mem, unix, sock } = setup(t);
  const c = new Client(sock);
  await c.connected();
  await until(() => unix.up);
  c.sock.write(lp(frame(60)));
  await until(() => mem.counters.txPackets >= 1);
  c.sock.pause();
  for (let i = 0; i < 4000; i++) mem.inject(frame(1514, A, B));
  await until(() => mem.counters.rxPackets >= 4000, 10000);
  await new Promise((r) => setTimeout(r, 50));
  const d = sw.dumpPorts('br0').find((p) => p.name === 'vm1')!;
  t.ok((d.drops.tx_full ?? 0) > 0, `tx_full drops counted (${d.drops.tx_full}), ${d.tx_packets} frames taken`);
  t.ok((unix.describe().txQueued as number) <= TX_HIGH_WATER + 2 * 1518, `socket backlog bounded (${unix.describe().txQueued} bytes)`);
  c.sock.destroy();
});

t.test('unix port: options', async (t) => {
  t.same(portConfigFrom({ type: 'unix', path: '/run/tvs/x.sock', mode: 'stream', tag: '3' }), { type: 'unix', tag: 3, path: '/run/tvs/x.sock', mode: 'stream' });
  t.throws(() => portConfigFrom({ type: 'unix', path: 'rel.sock' }), /absolute/);
  t.throws(() => portConfigFrom({ type: 'unix', mode: 'seqpacket' }), /mode=seqpacket/);
  t.throws(() => portConfigFrom({ type: 'afpacket', path: '/x' }), /path=\/x: only applies to type=unix/);
  const sw = new Switch({ arena: { slots: 64 } });
  sw.addBridge('br0');
  t.throws(() => sw.addPort('br0', 'd', { type: 'unix', path: path.join(os.tmpdir(), 'tvs-d.sock'), mode: 'dgram' }), /mode=dgram is not supported/);
  t.throws(() => sw.addPort('br0', 'e', { type: 'unix', path: '/nonexistent-tvs/a/x.sock' }), /cannot create/);
  t.same(sw.bridge('br0').portList.length, 0, 'no port left behind');
});
