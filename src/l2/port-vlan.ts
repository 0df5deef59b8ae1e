/**
 * A port's VLAN mode, as OVS's `tag` and `trunks` columns:
 * - access port (`tag=N`): untagged on the wire, VLAN N inside the bridge. NORMAL drops tagged
 *   frames with a non-zero VID arriving on it (priority-tagged VID 0 frames are accepted); the
 *   flow tables see them as they are (in OVS too the VLAN mode binds only NORMAL).
 * - trunk port (no tag): frames keep their tag; an untagged frame is in VLAN 0. With a
 *   `trunks=` list, only those VLANs pass (VLAN 0 only if listed), as in OVS.
 */

import { VlanSet } from './vlan-set';

export class PortVlan {
  /** Access VLAN (1..4094) or -1 for a trunk. */
  readonly tag: number;
  /** Allowed VLANs on a trunk (a 4096-bit set), or null for all. */
  readonly trunks: VlanSet | null;

  constructor(tag: number | undefined, trunks: VlanSet | readonly number[] | undefined) {
    if (tag !== undefined && (!Number.isInteger(tag) || tag < 0 || tag > 4095)) {
      throw new Error(`tag=${tag}: a VLAN id is an integer in 0..4095`);
    }
    this.tag = tag === undefined ? -1 : tag;
    this.trunks = VlanSet.from(trunks);
    if (this.trunks !== null && tag !== undefined) throw new Error('a port is either an access port (tag=) or a trunk (trunks=), not both');
  }

  get isAccess(): boolean {
    return this.tag >= 0;
  }

  /** May a frame in `vlan` leave (or enter) through this port? */
  carries(vlan: number): boolean {
    if (this.tag >= 0) return vlan === this.tag;
    return this.trunks === null || this.trunks.has(vlan);
  }
}
