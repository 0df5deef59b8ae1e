/**
 * A port's VLAN mode, as OVS's `tag` and `trunks` columns:
 * - access port (`tag=N`): untagged on the wire, VLAN N inside the bridge. Tagged frames with a
 *   non-zero VID arriving on it are dropped (priority-tagged VID 0 frames are accepted).
 * - trunk port (no tag): frames keep their tag; an untagged frame is in VLAN 0. With a
 *   `trunks=` list, only those VLANs pass (VLAN 0 only if listed), as in OVS.
 */

export class PortVlan {
  /** Access VLAN (1..4094) or -1 for a trunk. */
  readonly tag: number;
  /** Allowed VLANs on a trunk, or null for all. Index = VID. */
  readonly trunks: Uint8Array | null;

  constructor(tag: number | undefined, trunks: readonly number[] | undefined) {
    if (tag !== undefined && (!Number.isInteger(tag) || tag < 0 || tag > 4095)) {
      throw new Error(`tag=${tag}: a VLAN id is an integer in 0..4095`);
    }
    this.tag = tag === undefined ? -1 : tag;
    if (trunks && trunks.length > 0) {
      if (tag !== undefined) throw new Error('a port is either an access port (tag=) or a trunk (trunks=), not both');
      this.trunks = new Uint8Array(4096);
      for (const v of trunks) {
        if (!Number.isInteger(v) || v < 0 || v > 4095) throw new Error(`trunks: '${v}' is not a VLAN id in 0..4095`);
        this.trunks[v] = 1;
      }
    } else {
      this.trunks = null;
    }
  }

  get isAccess(): boolean {
    return this.tag >= 0;
  }

  /** May a frame in `vlan` leave (or enter) through this port? */
  carries(vlan: number): boolean {
    if (this.tag >= 0) return vlan === this.tag;
    return this.trunks === null || this.trunks[vlan] === 1;
  }

  trunkList(): number[] {
    if (!this.trunks) return [];
    const out: number[] = [];
    for (let v = 0; v < 4096; v++) if (this.trunks[v]) out.push(v);
    return out;
  }
}

/** Parse "10,20,30-35" (OVS accepts commas; ranges are a convenience). */
export function parseTrunks(text: string): number[] {
  const out: number[] = [];
  for (const part of text.split(',')) {
    const p = part.trim();
    if (p === '') continue;
    const m = /^(\d+)(?:-(\d+))?$/.exec(p);
    if (!m) throw new Error(`trunks: '${p}' is not a VLAN id or range`);
    const a = Number(m[1]);
    const b = m[2] === undefined ? a : Number(m[2]);
    if (a > 4095 || b > 4095 || b < a) throw new Error(`trunks: '${p}' is outside 0..4095`);
    for (let v = a; v <= b; v++) out.push(v);
  }
  return out;
}
