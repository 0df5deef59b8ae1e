/**
 * A set of VLAN ids (0..4095) as a 4096-bit bitmap, as OVS keeps a port's `trunks`
 * (lib/vlan-bitmap.c). It is 512 bytes whatever it is built from: "10,20,30-35" is scanned once,
 * left to right, and a range sets whole 32-bit words, so 17,000 copies of `0-4095` cost 17,000
 * word fills, not 70 million array entries. Printed back as ranges ("10,20,30-35"), which is
 * also how it is saved and shown.
 */

const WORDS = 4096 / 32;

export class VlanSet {
  private readonly bits = new Uint32Array(WORDS);

  /** Parse "10,20,30-35" (commas, optional spaces); errors name the offending item. */
  static parse(text: string): VlanSet {
    const s = new VlanSet();
    const n = text.length;
    let i = 0;
    const item = (start: number) => {
      const end = text.indexOf(',', start);
      const t = text.slice(start, end < 0 ? n : end).trim();
      return t.length > 32 ? t.slice(0, 32) + '...' : t;
    };
    const number = (): number => {
      let v = 0;
      let digits = 0;
      while (i < n) {
        const c = text.charCodeAt(i);
        if (c < 0x30 || c > 0x39) break;
        // Keep scanning past 4095 (the item is reported whole), without growing the number.
        if (v <= 4095) v = v * 10 + (c - 0x30);
        digits++;
        i++;
      }
      return digits === 0 ? -1 : v;
    };
    const spaces = () => {
      while (i < n && (text.charCodeAt(i) === 0x20 || text.charCodeAt(i) === 0x09)) i++;
    };
    while (i < n) {
      spaces();
      if (i < n && text.charCodeAt(i) === 0x2c) {
        i++; // an empty item ("10,,20" or a trailing comma) is allowed, as before
        continue;
      }
      if (i >= n) break;
      const start = i;
      const a = number();
      let b = a;
      spaces();
      if (a >= 0 && i < n && text.charCodeAt(i) === 0x2d) {
        i++;
        spaces();
        b = number();
        spaces();
      }
      if (a < 0 || b < 0 || (i < n && text.charCodeAt(i) !== 0x2c)) throw new Error(`trunks: '${item(start)}' is not a VLAN id or range`);
      if (a > 4095 || b > 4095 || b < a) throw new Error(`trunks: '${item(start)}' is outside 0..4095`);
      s.addRange(a, b);
    }
    return s;
  }

  /** From a list of ids (a config file's `[10, 20]`); each is checked. */
  static of(ids: readonly unknown[]): VlanSet {
    const s = new VlanSet();
    for (const v of ids) {
      const n = typeof v === 'number' ? v : typeof v === 'string' && /^\d{1,4}$/.test(v) ? Number(v) : NaN;
      if (!Number.isInteger(n) || n < 0 || n > 4095) throw new Error(`trunks: '${String(v).slice(0, 32)}' is not a VLAN id in 0..4095`);
      s.addRange(n, n);
    }
    return s;
  }

  /** A set, a list or a text; null for none (no restriction). */
  static from(x: VlanSet | readonly unknown[] | string | undefined | null): VlanSet | null {
    if (x === undefined || x === null) return null;
    const s = x instanceof VlanSet ? x : typeof x === 'string' ? VlanSet.parse(x) : VlanSet.of(x);
    return s.isEmpty ? null : s;
  }

  addRange(a: number, b: number): void {
    const bits = this.bits;
    const wa = a >>> 5;
    const wb = b >>> 5;
    const lo = (0xffffffff << (a & 31)) >>> 0;
    const hi = 0xffffffff >>> (31 - (b & 31));
    if (wa === wb) {
      bits[wa] |= lo & hi;
      return;
    }
    bits[wa] |= lo;
    for (let w = wa + 1; w < wb; w++) bits[w] = 0xffffffff;
    bits[wb] |= hi;
  }

  /** Hot path (NORMAL's VLAN check): two array reads, no allocation. */
  has(vid: number): boolean {
    return ((this.bits[vid >>> 5] >>> (vid & 31)) & 1) === 1;
  }

  get isEmpty(): boolean {
    for (let w = 0; w < WORDS; w++) if (this.bits[w] !== 0) return false;
    return true;
  }

  get size(): number {
    let n = 0;
    for (let w = 0; w < WORDS; w++) {
      let x = this.bits[w];
      x = x - ((x >>> 1) & 0x55555555);
      x = (x & 0x33333333) + ((x >>> 2) & 0x33333333);
      n += (((x + (x >>> 4)) & 0x0f0f0f0f) * 0x01010101) >>> 24;
    }
    return n;
  }

  /** The ids as [first, last] ranges, in order (at most 2,048). */
  ranges(): [number, number][] {
    const out: [number, number][] = [];
    let v = 0;
    while (v < 4096) {
      if (this.bits[v >>> 5] === 0 && (v & 31) === 0) {
        v += 32;
        continue;
      }
      if (!this.has(v)) {
        v++;
        continue;
      }
      const a = v;
      while (v < 4096 && this.has(v)) v++;
      out.push([a, v - 1]);
    }
    return out;
  }

  /** "10,20,30-35": the config and CLI syntax. */
  toString(): string {
    return this.ranges().map(([a, b]) => (a === b ? `${a}` : `${a}-${b}`)).join(',');
  }

  /** Saved and shown as its ranges text. */
  toJSON(): string {
    return this.toString();
  }
}
