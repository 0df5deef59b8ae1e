/** A capture is bounded in bytes as well as in frames and time: it ends at the first bound. */
import t from 'tap';
import { Switch } from '../../src/datapath/switch';
import { MemoryPort } from '../../src/io/memory-port';
import { udpFrame } from '../../src/wire/frames';

t.test('capture stops at maxBytes and removes its tap', async (t) => {
  const sw = new Switch({ clock: () => 0, arena: { slots: 256, slotSize: 2048 + 128 } });
  sw.addBridge('br0');
  const a = sw.addPort('br0', 'a', { type: 'memory' }).io as MemoryPort;
  sw.addPort('br0', 'b', { type: 'memory' });
  const f = udpFrame({ dst: '02:00:00:00:00:02', src: '02:00:00:00:00:01', ipSrc: '10.233.0.1', ipDst: '10.233.0.2', payload: Buffer.alloc(958) });
  t.equal(f.length, 1000);
  const done = sw.capture('br0', 'a', { count: 1000, seconds: 5, direction: 'in', maxBytes: 3500 });
  for (let i = 0; i < 10; i++) a.inject(f);
  sw.runUntilIdle();
  const got = await done;
  t.equal(got.length, 3, 'three 1000-byte frames fit in 3500 bytes; the fourth ends the capture');
  t.equal(sw.bridge('br0').port('a')!.taps, null, 'the tap is gone');
});

t.test('a capture whose count is reached mid-batch ends cleanly; the batch is forwarded', async (t) => {
  const sw = new Switch({ clock: () => 0, arena: { slots: 256, slotSize: 2048 + 128 } });
  sw.addBridge('br0');
  const a = sw.addPort('br0', 'a', { type: 'memory' }).io as MemoryPort;
  const b = sw.addPort('br0', 'b', { type: 'memory' }).io as MemoryPort;
  const f = udpFrame({ dst: 'ff:ff:ff:ff:ff:ff', src: '02:00:00:00:00:01', ipSrc: '10.233.0.1', ipDst: '10.233.0.255' });
  const done = sw.capture('br0', 'a', { count: 2, seconds: 5, direction: 'in' });
  for (let i = 0; i < 10; i++) a.inject(f);
  t.doesNotThrow(() => sw.runUntilIdle());
  sw.settle();
  t.equal((await done).length, 2);
  t.equal(b.takeTransmitted().length, 10, 'every frame of the batch forwarded');
});
