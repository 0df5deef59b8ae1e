/** An OpenFlow session's transport in memory: what the switch writes, decoded message by message. */
import type { OfTransport } from '../../src/openflow/session';
import * as of from '../../src/wire/openflow';

export class FakeIo implements OfTransport {
  out: Buffer[] = [];
  ended = false;
  paused = false;
  writableLength = 0;
  write(b: Buffer) {
    this.out.push(b);
    return true;
  }
  end() {
    this.ended = true;
  }
  pause() {
    this.paused = true;
  }
  resume() {
    this.paused = false;
  }
  /** Decoded messages written since the last call. */
  take(): of.OfMessage[] {
    const f = new of.Framer();
    for (const b of this.out) f.push(b);
    this.out = [];
    const r: of.OfMessage[] = [];
    for (let m = f.next(); m !== null; m = f.next()) r.push(of.decodeMessage(m as Buffer));
    return r;
  }
}
