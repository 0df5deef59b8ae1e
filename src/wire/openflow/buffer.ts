/**
 * Bounds-checked reading and growable writing for the OpenFlow codec. Every read checks the
 * remaining length first and throws an OfError (BAD_LEN of the given error type) instead of
 * reading past the message, so a truncated or lying message is an OpenFlow error, never a crash.
 * Control plane only: these allocate freely.
 */
import { BAD_REQUEST, ET } from './constants';

/** A decode failure that maps to an OpenFlow ERROR message (type, code). */
export class OfError extends Error {
  constructor(
    readonly type: number,
    readonly code: number,
    message: string,
  ) {
    super(message);
    this.name = 'OfError';
  }
}

export function badLen(what: string, errType: number = ET.BAD_REQUEST, code: number = BAD_REQUEST.BAD_LEN): OfError {
  return new OfError(errType, code, `${what}: length is wrong (truncated or lying length field)`);
}

export class Reader {
  pos: number;
  constructor(
    readonly buf: Buffer,
    start = 0,
    /** One past the last readable byte. */
    readonly end = buf.length,
    /** Error type/code a short read raises (BAD_LEN of the structure being read). */
    private readonly errType: number = ET.BAD_REQUEST,
    private readonly errCode: number = BAD_REQUEST.BAD_LEN,
  ) {
    this.pos = start;
    if (end > buf.length || start > end) throw badLen('message', errType, errCode);
  }
  get left(): number {
    return this.end - this.pos;
  }
  need(n: number, what: string): void {
    if (n < 0 || this.pos + n > this.end) throw badLen(what, this.errType, this.errCode);
  }
  u8(): number {
    this.need(1, 'u8');
    return this.buf[this.pos++];
  }
  u16(): number {
    this.need(2, 'u16');
    const v = this.buf.readUInt16BE(this.pos);
    this.pos += 2;
    return v;
  }
  u32(): number {
    this.need(4, 'u32');
    const v = this.buf.readUInt32BE(this.pos);
    this.pos += 4;
    return v;
  }
  u64(): bigint {
    this.need(8, 'u64');
    const v = this.buf.readBigUInt64BE(this.pos);
    this.pos += 8;
    return v;
  }
  bytes(n: number, what = 'bytes'): Buffer {
    this.need(n, what);
    // A copy (the message's buffer is not kept), made without an intermediate view.
    const b = Buffer.allocUnsafe(n);
    const src = this.buf;
    const at = this.pos;
    // OXM values are a few bytes: a loop beats Buffer#copy's argument handling.
    if (n <= 16) for (let i = 0; i < n; i++) b[i] = src[at + i];
    else src.copy(b, 0, at, at + n);
    this.pos += n;
    return b;
  }
  skip(n: number, what = 'padding'): void {
    this.need(n, what);
    this.pos += n;
  }
  /** A fixed-size NUL-padded string field. */
  str(n: number): string {
    const b = this.bytes(n, 'string');
    const z = b.indexOf(0);
    return b.subarray(0, z < 0 ? n : z).toString('utf8');
  }
  /** A sub-reader over the next `n` bytes (advances this one past them). */
  sub(n: number, what: string, errType = this.errType, errCode = this.errCode): Reader {
    this.need(n, what);
    const r = new Reader(this.buf, this.pos, this.pos + n, errType, errCode);
    this.pos += n;
    return r;
  }
}

export class Writer {
  private buf = Buffer.alloc(256);
  len = 0;
  private room(n: number): void {
    if (this.len + n <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < this.len + n) size *= 2;
    const b = Buffer.alloc(size);
    this.buf.copy(b, 0, 0, this.len);
    this.buf = b;
  }
  u8(v: number): this {
    this.room(1);
    this.buf[this.len++] = v & 0xff;
    return this;
  }
  u16(v: number): this {
    this.room(2);
    this.buf.writeUInt16BE(v & 0xffff, this.len);
    this.len += 2;
    return this;
  }
  u32(v: number): this {
    this.room(4);
    this.buf.writeUInt32BE(v >>> 0, this.len);
    this.len += 4;
    return this;
  }
  u64(v: bigint): this {
    this.room(8);
    this.buf.writeBigUInt64BE(BigInt.asUintN(64, v), this.len);
    this.len += 8;
    return this;
  }
  bytes(b: Uint8Array): this {
    this.room(b.length);
    this.buf.set(b, this.len);
    this.len += b.length;
    return this;
  }
  zeros(n: number): this {
    this.room(n);
    this.buf.fill(0, this.len, this.len + n);
    this.len += n;
    return this;
  }
  /** Fixed-size NUL-padded string (truncated to leave a NUL). */
  str(s: string, n: number): this {
    const b = Buffer.from(s, 'utf8').subarray(0, n - 1);
    this.bytes(b);
    return this.zeros(n - b.length);
  }
  /** Pad with zeros to a multiple of 8 counted from `from`. */
  pad8(from = 0): this {
    return this.zeros((8 - ((this.len - from) % 8)) % 8);
  }
  /** Overwrite a u16 at an earlier position (length fields). */
  patch16(at: number, v: number): void {
    this.buf.writeUInt16BE(v & 0xffff, at);
  }
  done(): Buffer {
    return Buffer.from(this.buf.subarray(0, this.len));
  }
}
