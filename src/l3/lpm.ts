/**
 * IPv4 longest-prefix match, DIR-16-8-8 (a three-level variant of DIR-24-8, Gupta et al. 1998,
 * as DPDK rte_lpm does with 24-8). A lookup is at most three typed-array reads, independent of
 * the number of routes — 10k routes cost the same as 3.
 *
 *   level 1: 65536 entries indexed by dst[31:16]
 *   level 2: 256-entry chunks indexed by dst[15:8], one per /16 that holds a longer prefix
 *   level 3: 256-entry chunks indexed by dst[7:0], one per /24 that holds a longer prefix
 *
 * Entry encoding (Int32): 0 = no route, v > 0 = route id v-1, v < 0 = chunk -v-1 of `tbl`.
 *
 * The table is rebuilt from the prefix list when it changes (prefix expansion painted in
 * ascending prefix length, so longer prefixes overwrite shorter ones). Rebuilds are control
 * plane: 10k routes rebuild in a few ms; memory is 256 KiB + 1 KiB per populated /16 or /24.
 * Why not per-length hash tables: a lookup walks every present length from /32 down (up to 33
 * hash probes with 10k random routes), where this is three reads at worst.
 */
import { prefixMask } from '../wire/ipv4';

export class Lpm {
  private readonly l1 = new Int32Array(65536);
  private tbl = new Int32Array(256 * 64);
  private chunks = 0;
  private readonly prefixes: { addr: number; len: number; id: number }[] = [];

  /** Replace the whole content: ids are the caller's (e.g. indices into its route arrays). */
  build(routes: readonly { addr: number; len: number; id: number }[]): void {
    this.prefixes.length = 0;
    for (const r of routes) this.prefixes.push({ addr: (r.addr & prefixMask(r.len)) >>> 0, len: r.len, id: r.id });
    // Stable sort by length: for two equal prefixes the later one wins (last write).
    const sorted = this.prefixes.map((p, i) => ({ p, i })).sort((a, b) => a.p.len - b.p.len || a.i - b.i);
    this.l1.fill(0);
    this.chunks = 0;
    for (const { p } of sorted) this.paint(p.addr, p.len, p.id + 1);
  }

  /** Route id of the longest prefix containing `dst`, or -1. Hot path: no allocation. */
  lookup(dst: number): number {
    let v = this.l1[dst >>> 16];
    if (v < 0) {
      const t = this.tbl;
      v = t[((-v - 1) << 8) | ((dst >>> 8) & 0xff)];
      if (v < 0) v = t[((-v - 1) << 8) | (dst & 0xff)];
    }
    return v - 1;
  }

  /** Memory held by the chunk table, for show/bench. */
  get chunkCount(): number {
    return this.chunks;
  }

  private newChunk(fill: number): number {
    if ((this.chunks + 1) << 8 > this.tbl.length) {
      const t = new Int32Array(this.tbl.length * 2);
      t.set(this.tbl);
      this.tbl = t;
    }
    const c = this.chunks++;
    this.tbl.fill(fill, c << 8, (c + 1) << 8);
    return c;
  }

  private paint(addr: number, len: number, v: number): void {
    const i1 = addr >>> 16;
    if (len <= 16) {
      // Ascending order guarantees no chunk exists yet under this range.
      this.l1.fill(v, i1, i1 + (1 << (16 - len)));
      return;
    }
    let e1 = this.l1[i1];
    if (e1 >= 0) {
      e1 = -(this.newChunk(e1) + 1);
      this.l1[i1] = e1;
    }
    const c2 = (-e1 - 1) << 8;
    const i2 = (addr >>> 8) & 0xff;
    if (len <= 24) {
      this.tbl.fill(v, c2 + i2, c2 + i2 + (1 << (24 - len)));
      return;
    }
    let e2 = this.tbl[c2 + i2];
    if (e2 >= 0) {
      e2 = -(this.newChunk(e2) + 1);
      this.tbl[c2 + i2] = e2; // newChunk may have replaced tbl: index the current one
    }
    const c3 = (-e2 - 1) << 8;
    const i3 = addr & 0xff;
    this.tbl.fill(v, c3 + i3, c3 + i3 + (1 << (32 - len)));
  }
}
