/**
 * Cuts an OpenFlow byte stream into messages by the header's length field. The only checks
 * here are the ones that make the stream unusable (a length shorter than the header): the
 * caller answers with an ERROR and closes, as nothing after it can be trusted. A message is
 * at most 64 KiB (16-bit length), which bounds the buffer per connection.
 */
import { HEADER_LEN } from './constants';

const EMPTY = Buffer.alloc(0);

export class Framer {
  /** Received bytes not yet cut; the shared EMPTY while there are none (idle connections). */
  private buf: Buffer = EMPTY;

  /** Add received bytes. */
  push(chunk: Buffer): void {
    this.buf = this.buf.length === 0 ? chunk : Buffer.concat([this.buf, chunk]);
  }

  /** Bytes received but not yet part of a whole message. */
  get pending(): number {
    return this.buf.length;
  }

  /** The first 8 bytes (a header) once they are here, before the whole message is. */
  header(): Buffer | null {
    return this.buf.length >= HEADER_LEN ? this.buf.subarray(0, HEADER_LEN) : null;
  }

  /**
   * The next whole message, `null` when more bytes are needed, or `{ error }` with the bad
   * header bytes when the stream is broken (length < 8).
   */
  next(): Buffer | null | { error: string; bytes: Buffer } {
    if (this.buf.length < HEADER_LEN) return null;
    const len = this.buf.readUInt16BE(2);
    if (len < HEADER_LEN) {
      const bytes = Buffer.from(this.buf.subarray(0, Math.min(64, this.buf.length)));
      return { error: `message length ${len} is shorter than the 8-byte header`, bytes };
    }
    if (this.buf.length < len) return null;
    // A view, not a copy: the stream's chunks are never written to after they arrive.
    const msg = this.buf.subarray(0, len);
    this.buf = this.buf.length === len ? EMPTY : this.buf.subarray(len);
    return msg;
  }
}
