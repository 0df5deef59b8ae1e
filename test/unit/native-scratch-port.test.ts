/**
 * The addon's scratch ports (native/src/scratch.h), as the start-up warm-up uses them through
 * AfPacketPort({ scratch: true }): a frame handed over with scratchInject comes out of the next
 * rxBurst in an arena slot, byte for byte, with a zeroed virtio-net header; txBurst takes every
 * frame; nothing can be injected into a port that is not a scratch port or once it is closed.
 * No device and no root needed.
 */
import t from 'tap';
import { bindingAvailable, loadBinding } from '../../src/io/binding';
import { AfPacketPort } from '../../src/io/afpacket-port';
import { PacketArena, VNET_HDR_LEN } from '../../src/packet/arena';
import { Batch } from '../../src/packet/batch';
import { newBatchClock } from '../../src/packet/batch-clock';

const skip = bindingAvailable() ? false : 'the native addon is not built';

t.test('a frame in, the same frame out of rxBurst; txBurst takes all', { skip }, async (t) => {
  const b = loadBinding();
  const arena = new PacketArena({ slots: 64, largeSlots: 0 });
  const p = new AfPacketPort('scratch0', arena, { scratch: true, vnetHdr: true }, b);
  t.teardown(() => b.close(p.handle));
  t.equal(p.kind, 'afpacket', 'the class real AF_PACKET ports have');
  t.equal(p.mtu, 1500);
  // start() sets the batch clock and watches nothing (a scratch port has no fd).
  let woken = 0;
  p.start(() => woken++, newBatchClock(), true);
  const batch = new Batch(32);
  t.equal(p.rxBurst(batch), 0, 'nothing queued: nothing received');
  const frame = Uint8Array.from({ length: 60 }, (_, i) => (i * 7 + 3) & 0xff);
  t.equal(b.scratchInject!(p.handle, frame), 0);
  t.equal(b.scratchInject!(p.handle, frame), -16, 'one frame at a time (EBUSY)');
  t.equal(p.rxBurst(batch), 1);
  const s = batch.slots[0];
  t.same([...arena.frame(s)], [...frame], 'the frame, byte for byte');
  t.same([...arena.bytes.subarray(arena.base(s), arena.base(s) + VNET_HDR_LEN)], new Array(VNET_HDR_LEN).fill(0), 'a zeroed virtio-net header');
  t.equal(p.counters.rxPackets, 1);
  t.equal(p.counters.rxBytes, 60);
  batch.count = 0;
  t.equal(p.rxBurst(batch), 0, 'and it is gone');
  t.equal(p.txBurst(Uint32Array.of(s), 1), 1, 'txBurst takes the frame (to nowhere)');
  t.equal(p.counters.txPackets, 1);
  t.equal(woken, 0, 'nothing polled it');
  t.equal(b.scratchInject!(p.handle, new Uint8Array(2000)), -90, 'longer than a scratch frame: EMSGSIZE');
});

t.test('copies of a frame fill whole bursts, as a saturated port does', { skip }, async (t) => {
  const b = loadBinding();
  const arena = new PacketArena({ slots: 256, largeSlots: 0 });
  const p = new AfPacketPort('scratch2', arena, { scratch: true, vnetHdr: true }, b);
  t.teardown(() => b.close(p.handle));
  p.start(() => undefined, newBatchClock(), true);
  const frame = Uint8Array.from({ length: 60 }, (_, i) => (i * 5 + 1) & 0xff);
  t.equal(b.scratchInject!(p.handle, frame, 0), -22, 'no copies: EINVAL');
  t.equal(b.scratchInject!(p.handle, frame, 65537), -22, 'more than 65,536: EINVAL');
  t.equal(b.scratchInject!(p.handle, frame, 20), 0);
  t.equal(b.scratchInject!(p.handle, frame), -16, 'copies still queued: EBUSY');
  const batch = new Batch(8);
  const got: number[] = [];
  let differ = 0;
  for (;;) {
    batch.count = 0;
    const n = p.rxBurst(batch);
    if (n === 0) break;
    got.push(n);
    for (let i = 0; i < n; i++) if (Buffer.compare(arena.frame(batch.slots[i]), frame) !== 0) differ++;
    t.equal(p.txBurst(batch.slots, n), n);
    for (let i = 0; i < n; i++) arena.release(batch.slots[i]);
  }
  t.same(got, [8, 8, 4], 'full bursts of the batch size, then the rest');
  t.equal(differ, 0, 'every copy is the frame, byte for byte');
  t.equal(p.counters.rxPackets, 20);
  t.equal(b.scratchInject!(p.handle, frame), 0, 'all received: a frame can be queued again');
});

t.test('scratchInject refuses a closed port and a handle that is no scratch port', { skip }, async (t) => {
  const b = loadBinding();
  const arena = new PacketArena({ slots: 64, largeSlots: 0 });
  const p = new AfPacketPort('scratch1', arena, { scratch: true }, b);
  b.close(p.handle);
  t.equal(b.scratchInject!(p.handle, new Uint8Array(60)), -9, 'closed: EBADF');
  t.equal(b.scratchInject!(987654, new Uint8Array(60)), -9, 'no such handle: EBADF');
});
