/**
 * A port on a unix stream socket, for QEMU's `-netdev stream` (QEMU 7.2+) — no root, no TAP:
 *
 *   tvs add-port br-int vm1 type=unix path=/run/tvs/vm1.sock
 *   qemu-system-x86_64 ... -netdev stream,id=n0,server=off,addr.type=unix,addr.path=/run/tvs/vm1.sock \
 *                          -device virtio-net-pci,netdev=n0
 *
 * Wire format (QEMU net/stream.c): each Ethernet frame is preceded by its length as a 4-byte
 * big-endian integer. No virtio-net header (so QEMU offers the guest no offloads: it sends
 * finished checksums and MTU-sized frames, and GSO frames going to it are segmented by the
 * switch, src/packet/gso.ts) and no padding to 60 bytes.
 *
 * The switch listens and QEMU connects. QEMU 7.2 does not reconnect, so the socket exists as
 * soon as the port is added; one client at a time (a second is refused while one is connected).
 * The port is down while no client is connected and comes back up when one connects again;
 * a VM that goes away never hurts the switch.
 *
 * Receive: socket data is copied into a fixed staging buffer; rxBurst cuts whole frames out of
 * it straight into arena slots (no per-frame allocation). When the staging buffer is more than
 * half full the socket is paused, so a fast guest is slowed down by the kernel's socket buffer
 * (flow control) instead of filling our memory.
 * Transmit: one write per burst (length-prefixed frames copied into one Buffer). When the
 * socket already holds more than TX_HIGH_WATER unsent bytes, frames are refused (tx_full)
 * rather than buffered without bound.
 *
 * `mode=dgram` (QEMU `-netdev dgram`, one datagram per frame) needs AF_UNIX SOCK_DGRAM, which
 * Node cannot open: it would need native support (see docs/qemu.md).
 */
import { constants as osConstants } from 'os';
import * as fs from 'fs';
import * as net from 'net';
import * as path from 'path';
import { PacketArena } from '../packet/arena';
import { Batch } from '../packet/batch';
import { DROP_RX_OVERSIZE, Port, PortCounters, PortKind } from './port';

const ENETDOWN = osConstants.errno.ENETDOWN;

export interface UnixPortOptions {
  /** Socket path the switch listens on (default /run/tvs/NAME.sock). */
  path?: string;
  /** Only 'stream' is implemented. */
  mode?: 'stream' | 'dgram';
  /** L3 MTU (default 1500: what the guest's virtio-net uses). */
  mtu?: number;
  /** Staging buffer size for received bytes (default 4 MiB). */
  rxBufferBytes?: number;
}

/** Unsent bytes the socket may hold before tx refuses frames (~700 full frames: a TCG guest reading
 * slowly while a peer bursts 64 KiB TSO frames cut into 45 segments each lost frames at 256 KiB). */
export const TX_HIGH_WATER = 1024 * 1024;
/** Largest frame QEMU sends (NET_BUFSIZE is 68 KiB); a longer length prefix is a broken stream. */
const MAX_WIRE_FRAME = 69632;

export class UnixStreamPort implements Port {
  readonly kind: PortKind = 'unix';
  readonly offloads = false;
  readonly counters = new PortCounters();
  readonly mtu: number;
  readonly path: string;

  private readonly server: net.Server;
  private client: net.Socket | null = null;
  private closed = false;
  private onReadable: (() => void) | null = null;
  private watching = false;
  private wakeScheduled = false;
  /** Received bytes not yet cut into frames: stage[head, tail). */
  private readonly stage: Uint8Array;
  private head = 0;
  private tail = 0;
  private paused = false;
  private connects = 0;
  private refused = 0;
  private lastError = '';

  constructor(
    readonly name: string,
    private readonly arena: PacketArena,
    opts: UnixPortOptions,
  ) {
    if ((opts.mode ?? 'stream') !== 'stream') {
      throw new Error(`port ${name}: mode=${opts.mode} is not supported (Node has no AF_UNIX SOCK_DGRAM; use mode=stream with QEMU -netdev stream)`);
    }
    this.path = path.resolve(opts.path ?? `/run/tvs/${name}.sock`);
    this.mtu = opts.mtu ?? 1500;
    this.stage = new Uint8Array(opts.rxBufferBytes ?? 4 << 20);
    // Only the socket's own directory is created (/run/tvs by default). Not recursive: Node's
    // recursive mkdir loops forever under /proc (measured: node 20.20).
    try {
      fs.mkdirSync(path.dirname(this.path), { mode: 0o755 });
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw new Error(`port ${name}: cannot create ${path.dirname(this.path)}: ${(e as Error).message}`);
    }
    // A socket file left by an earlier run would make listen fail with EADDRINUSE; anything
    // that is not a socket is left alone (and listen reports it).
    try {
      if (fs.lstatSync(this.path).isSocket()) fs.unlinkSync(this.path);
    } catch {
      /* absent */
    }
    this.server = net.createServer({ allowHalfOpen: false }, (s) => this.accept(s));
    this.server.on('error', (e) => (this.lastError = e.message));
    // listen() on a path binds synchronously in libuv; errors still arrive as an event, so
    // check that the socket exists to report them to add-port at once.
    this.server.listen(this.path);
    try {
      fs.chmodSync(this.path, 0o660);
    } catch (e) {
      this.server.close();
      throw new Error(`port ${name}: cannot listen on ${this.path}: ${this.lastError || (e as Error).message}`);
    }
  }

  get up(): boolean {
    return this.client !== null && !this.closed;
  }

  private accept(s: net.Socket): void {
    if (this.closed || this.client !== null) {
      this.refused++;
      s.destroy();
      return;
    }
    this.client = s;
    this.connects++;
    this.head = this.tail = 0;
    this.paused = false;
    s.on('data', (chunk: Buffer) => this.onData(s, chunk));
    const gone = (err?: Error) => {
      if (err) this.lastError = err.message;
      if (this.client !== s) return;
      this.client = null;
      this.head = this.tail = 0;
      s.destroy();
      // Let the datapath see the port go down (it flushes the port's MAC entries).
      this.wake();
    };
    s.on('error', gone);
    s.on('close', () => gone());
    // The link is up: the datapath may have stopped watching while it was down.
    this.watching = this.onReadable !== null;
    this.wake();
  }

  private onData(s: net.Socket, chunk: Buffer): void {
    if (this.client !== s) return;
    const stage = this.stage;
    if (this.tail + chunk.length > stage.length) {
      // Compact: move the unparsed bytes to the front.
      stage.copyWithin(0, this.head, this.tail);
      this.tail -= this.head;
      this.head = 0;
    }
    if (this.tail + chunk.length > stage.length) {
      // Only possible if data keeps coming after pause(); the stream cannot be resynchronised.
      this.lastError = 'receive buffer overrun';
      s.destroy();
      return;
    }
    stage.set(chunk, this.tail);
    this.tail += chunk.length;
    if (!this.paused && this.tail - this.head > stage.length >>> 1) {
      this.paused = true;
      s.pause();
    }
    this.wake();
  }

  private wake(): void {
    if (this.wakeScheduled || this.onReadable === null) return;
    this.wakeScheduled = true;
    setImmediate(() => {
      this.wakeScheduled = false;
      if (this.onReadable !== null && (this.watching || this.client === null)) this.onReadable();
    });
  }

  rxBurst(batch: Batch): number {
    if (this.client === null) return this.closed ? -9 : 0; // -EBADF once closed
    const a = this.arena;
    const u8 = a.bytes;
    const stage = this.stage;
    let h = this.head;
    const t = this.tail;
    let n = 0;
    let bytes = 0;
    const room = batch.capacity - batch.count;
    while (n < room && t - h >= 4) {
      const len = ((stage[h] << 24) | (stage[h + 1] << 16) | (stage[h + 2] << 8) | stage[h + 3]) >>> 0;
      if (len > MAX_WIRE_FRAME) {
        this.lastError = `bad frame length ${len}`;
        this.client.destroy();
        break;
      }
      if (t - h - 4 < len) break; // frame not complete yet
      if (len > a.maxFrame || len < 14) {
        this.counters.drops.add(DROP_RX_OVERSIZE);
        h += 4 + len;
        continue;
      }
      const s = a.alloc(len);
      if (s < 0) {
        // Arena exhausted: leave the frame staged (the socket pauses if it piles up); the
        // next wake retries.
        break;
      }
      u8.set(stage.subarray(h + 4, h + 4 + len), a.start[s]);
      a.len[s] = len;
      batch.slots[batch.count++] = s;
      h += 4 + len;
      bytes += len;
      n++;
    }
    this.head = h;
    if (h === t) this.head = this.tail = 0;
    this.counters.rxPackets += n;
    this.counters.rxBytes += bytes;
    if (this.paused && this.client !== null && this.tail - this.head < stage.length >>> 2) {
      this.paused = false;
      this.client.resume();
    }
    // More complete frames than fit this batch: the datapath drains until a short burst,
    // but a full batch whose caller stops early still needs a wake.
    if (n === room && this.tail - this.head >= 4) this.wake();
    return n;
  }

  txBurst(slots: Uint32Array, n: number): number {
    const s = this.client;
    if (s === null || this.closed) return -ENETDOWN;
    if (n <= 0) return 0;
    const a = this.arena;
    const budget = TX_HIGH_WATER - s.writableLength;
    let total = 0;
    let k = 0;
    for (; k < n; k++) {
      const l = a.len[slots[k]] + 4;
      if (total + l > budget) break;
      total += l;
    }
    // Frames k..n are refused: the switch counts them as tx_full.
    if (k === 0) return 0;
    // One allocation per burst: the socket keeps the buffer until it is written.
    const out = Buffer.allocUnsafe(total);
    const u8 = a.bytes;
    let p = 0;
    for (let i = 0; i < k; i++) {
      const sl = slots[i];
      const len = a.len[sl];
      out[p] = len >>> 24;
      out[p + 1] = (len >>> 16) & 0xff;
      out[p + 2] = (len >>> 8) & 0xff;
      out[p + 3] = len & 0xff;
      const st = a.start[sl];
      out.set(u8.subarray(st, st + len), p + 4);
      p += 4 + len;
    }
    s.write(out);
    this.counters.txPackets += k;
    this.counters.txBytes += total - 4 * k;
    return k;
  }

  start(onReadable: () => void): void {
    if (this.closed) return;
    this.onReadable = onReadable;
    this.watching = true;
    if (this.tail - this.head >= 4) this.wake();
  }

  stop(): void {
    // The datapath stops watching a port that went down; a client connecting again re-arms
    // the same callback (accept), which is how the port "comes back up".
    this.watching = false;
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.watching = false;
    this.onReadable = null;
    if (this.client) this.client.destroy();
    this.client = null;
    this.server.close();
    try {
      if (fs.lstatSync(this.path).isSocket()) fs.unlinkSync(this.path);
    } catch {
      /* already gone */
    }
  }

  describe(): Record<string, unknown> {
    return {
      kind: this.kind,
      path: this.path,
      mode: 'stream',
      mtu: this.mtu,
      vnetHdr: false,
      up: this.up,
      connected: this.client !== null,
      connects: this.connects,
      refused: this.refused,
      staged: this.tail - this.head,
      txQueued: this.client ? this.client.writableLength : 0,
      ...(this.lastError ? { lastError: this.lastError } : {}),
    };
  }
}
