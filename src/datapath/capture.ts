/**
 * Packet capture on a port (`tvs capture`): taps that receive a copy of each frame crossing the
 * port. Copies allocate, so they are only made while someone captures; a port without taps costs
 * the run loop one comparison per batch (`p.taps !== null`).
 */
import type { PacketArena } from '../packet/arena';
import type { CaptureTap, SwitchPort } from './switch-port';

export type Direction = 'in' | 'out';

export interface CapturedFrame {
  tsUs: number;
  dir: Direction;
  frame: Buffer;
}

export interface CaptureOptions {
  count: number;
  seconds: number;
  direction: Direction | 'both';
  /** Bytes of frames kept at most (default 64 MiB): 100,000 jumbo frames would be ~900 MB. */
  maxBytes?: number;
}

export const CAPTURE_MAX_BYTES_DEFAULT = 64 << 20;

/** Copy frames to the port's capture taps (only runs while a capture is active). */
export function tapBatch(arena: PacketArena, p: SwitchPort, slots: Uint32Array, n: number, dir: Direction): void {
  for (let i = 0; i < n; i++) tapOne(arena, p, slots[i], dir);
}

export function tapOne(arena: PacketArena, p: SwitchPort, slot: number, dir: Direction): void {
  // A capture that ends mid-batch (count or bytes reached) removes its tap: re-read each frame.
  const taps = p.taps;
  if (taps === null) return;
  let copy: Buffer | null = null;
  for (const t of taps) {
    if (dir === 'in' ? !t.rx : !t.tx) continue;
    if (copy === null) copy = arena.frame(slot);
    t.onFrame(copy, dir);
  }
}

/**
 * Capture up to `count` frames (and `maxBytes` of them) on a port for at most `seconds`, in the
 * given direction(s). Resolves with the frames and wall-clock timestamps; the capture ends at
 * whichever bound comes first.
 */
export function capture(p: SwitchPort, opts: CaptureOptions): Promise<CapturedFrame[]> {
  if (!Number.isInteger(opts.count) || opts.count < 1 || opts.count > 100000) throw new Error('capture: count must be in 1..100000');
  if (!(opts.seconds > 0 && opts.seconds <= 3600)) throw new Error('capture: seconds must be in (0, 3600]');
  const maxBytes = opts.maxBytes ?? CAPTURE_MAX_BYTES_DEFAULT;
  if (!(maxBytes >= 1)) throw new Error('capture: maxBytes must be >= 1');
  return new Promise((resolve) => {
    const got: CapturedFrame[] = [];
    let bytes = 0;
    const tap: CaptureTap = {
      rx: opts.direction !== 'out',
      tx: opts.direction !== 'in',
      onFrame: (frame, dir) => {
        if (got.length >= opts.count) return;
        if (bytes + frame.length > maxBytes) {
          finish();
          return;
        }
        bytes += frame.length;
        got.push({ tsUs: Math.round((performance.timeOrigin + performance.now()) * 1000), dir, frame });
        if (got.length >= opts.count) finish();
      },
    };
    const finish = () => {
      clearTimeout(timer);
      if (p.taps) {
        p.taps = p.taps.filter((x) => x !== tap);
        if (p.taps.length === 0) p.taps = null;
      }
      resolve(got);
    };
    const timer = setTimeout(finish, opts.seconds * 1000);
    p.taps = p.taps ? [...p.taps, tap] : [tap];
  });
}
