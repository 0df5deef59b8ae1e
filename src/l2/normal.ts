/**
 * OVS's NORMAL action: a VLAN-aware learning switch.
 *
 * For a frame: find its VLAN (access port → the port's tag; trunk → the frame's VID, 0 if
 * untagged; not allowed → drop), learn (VLAN, source MAC) → input port, then send it to the
 * learned port for (VLAN, destination MAC), or flood it to every other port carrying that VLAN
 * when the destination is broadcast, multicast or unknown. Never back out of the input port.
 * On the way out each copy gets the tag its port wants: none on an access port, the VLAN's tag
 * on a trunk (none for VLAN 0).
 */
import { PacketArena } from '../packet/arena';
import { DropCounters, defineDrops } from '../packet/drops';
import { KEY_SHIFT, K_DL_DST_HI, K_DL_DST_LO, K_DL_SRC_HI, K_DL_SRC_LO, K_IN_PORT, K_VLAN_TCI } from '../packet/flow-key';
import { popTag, pushTag, rewriteTci } from '../packet/vlan';
import { ETH_P_8021Q } from '../wire/ethernet';
import { MacTable } from './mac-table';
import { PortVlan } from './port-vlan';

export interface NormalPort {
  readonly ofport: number;
  readonly vlan: PortVlan;
  readonly up: boolean;
}

export interface NormalHost {
  readonly arena: PacketArena;
  readonly macs: MacTable;
  /** The batch clock ([0]: the current batch's time, ms; packet/batch-clock.ts). */
  readonly batchClock: Float64Array;
  /** Changes with every batch the bridge processes (scopes NORMAL's per-batch memo). */
  readonly batchSeq: number;
  /** Ports of the bridge, for flooding. */
  readonly portList: readonly NormalPort[];
  portAt(ofport: number): NormalPort | undefined;
  /** Send on a port (takes ownership). */
  transmit(slot: number, port: NormalPort): void;
}

/** Why NORMAL dropped a frame (counted by NORMAL itself). */
export const NORMAL_DROPS = defineDrops('normal', {
  vlan_not_allowed: "the frame's VLAN is not carried by the input port (tagged frame on an access port, or a VLAN outside its trunks; the flow tables had seen it, as in OVS)",
  no_headroom: 'no room in front of the frame to push a VLAN tag',
  no_buffer: 'no free packet buffer to copy the frame for a flood',
  no_output: 'the destination is the input port itself (or no other port is in the VLAN)',
  unknown_port: 'the frame came from a port the bridge no longer has',
});
const D_VLAN = NORMAL_DROPS.id.vlan_not_allowed;
const D_HEADROOM = NORMAL_DROPS.id.no_headroom;
const D_NO_BUFFER = NORMAL_DROPS.id.no_buffer;
const D_SAMEPORT = NORMAL_DROPS.id.no_output;
const D_UNKNOWN_IN_PORT = NORMAL_DROPS.id.unknown_port;

/**
 * The VLAN NORMAL switches a frame in (OVS input_vid_is_valid + input_vid_to_vlan): an access
 * port's tag for an untagged or priority-tagged frame, the frame's VID (0 untagged) on a trunk
 * that carries it; -1 when the input port does not carry the frame's VLAN. `tci` is the frame's
 * vlan_tci as the flow key has it when NORMAL runs (after the flows' push/strip/mod_vlan).
 */
export function inputVlan(port: PortVlan, tci: number): number {
  const vid = tci === 0 ? 0 : tci & 0x0fff;
  if (port.tag >= 0) return vid === 0 ? port.tag : -1;
  return port.carries(vid) ? vid : -1;
}

/** Does a flood of a frame in `vlan` that came in on `inPort` go out of `p`? Only ports of its VLAN. */
function floodsTo(p: NormalPort, inPort: NormalPort, vlan: number): boolean {
  return p !== inPort && p.up && p.vlan.carries(vlan);
}

/** The VID a frame in `vlan` leaves `port` with: 0 (untagged) on an access port or for VLAN 0. */
export function outputVid(port: PortVlan, vlan: number): number {
  return port.tag >= 0 ? 0 : vlan;
}

/** What NORMAL would do with a frame, for `tvs trace` (computed by the same functions as forward). */
export interface NormalExplanation {
  /** The VLAN it is switched in, or -1 (dropped: see `why`). */
  vlan: number;
  /** OVS's words for the decision ("no learned MAC for destination, flooding", ...). */
  why: string;
  /** The ports it leaves by, with the VID each copy carries (0 = untagged). */
  outputs: { ofport: number; vid: number }[];
}

export class Normal {
  /** Scratch list of flood targets (indices into portList); reused, never reallocated per packet. */
  private targets = new Uint16Array(64);

  // Per-batch memo: frames of one batch mostly share source and destination (a burst of one
  // flow), so the last learn and the last lookup are remembered for the rest of the batch.
  // Measured on bench/l2-memory (64 B, one flow): 6.4 → 7.5 Mpps (best of 3). Any learn that may change
  // the table forgets the lookup memo; a new batch forgets both.
  private memoSeq = -1;
  private lSrcHi = -1;
  private lSrcLo = -1;
  private lSrcVlan = -1;
  private lSrcPort = -1;
  private lDstHi = -1;
  private lDstLo = -1;
  private lDstVlan = -1;
  private lDstOut = -1;

  // The batch's last unicast decision, a one-entry NORMAL decision cache (OVS caches NORMAL's
  // decisions in its megaflows): a frame with the same input port, TCI, destination and source
  // as the frame it was made for leaves by the same port in the same VLAN, without the port,
  // VLAN and memo checks of `decide`. Scoped like the memo: a new batch forgets it, and so does
  // any learn that may change the table (a MAC move within the batch). Across batches it would
  // save one decision per batch (bench/results, "NORMAL, round 3").
  private dSeq = -1;
  private dOut: NormalPort | null = null;
  private dIn = -1;
  private dTci = -1;
  private dDstHi = -1;
  private dDstLo = 0;
  private dSrcHi = -1;
  private dSrcLo = 0;
  private dVlan = 0;

  /** Frames NORMAL dropped, by reason (counted here, once). */
  readonly drops = new DropCounters(NORMAL_DROPS);

  constructor(private readonly host: NormalHost) {}

  private drop(slot: number, reason: number): void {
    this.drops.add(reason);
    this.host.arena.release(slot);
  }

  /**
   * NORMAL's decision for the frame in `slot` without acting on it: no learning, no counting, the
   * slot stays the caller's (OVS's ofproto/trace translates with may_learn off). The VLAN, the
   * learned-port lookup and the flood targets come from the same functions forward uses.
   */
  explain(slot: number): NormalExplanation {
    const h = this.host;
    const key = h.arena.key;
    const k = slot << KEY_SHIFT;
    const inPort = h.portAt(key[k + K_IN_PORT]);
    if (inPort === undefined) return { vlan: -1, why: 'input port not on this bridge, dropping', outputs: [] };
    const vlan = inputVlan(inPort.vlan, key[k + K_VLAN_TCI]);
    if (vlan < 0) return { vlan, why: 'disallowed VLAN VID for this input port, dropping', outputs: [] };
    const dstHi = key[k + K_DL_DST_HI];
    if ((dstHi & 0x0100) === 0) {
      const out = h.macs.lookup(vlan, dstHi, key[k + K_DL_DST_LO], h.batchClock[0]);
      const p = out >= 0 ? h.portAt(out) : undefined;
      if (p !== undefined && p.up) {
        if (p === inPort) return { vlan, why: 'learned port is input port, dropping', outputs: [] };
        return { vlan, why: 'forwarding to learned port', outputs: [{ ofport: p.ofport, vid: outputVid(p.vlan, vlan) }] };
      }
    }
    // (OVS says the same for a broadcast or multicast destination: never learned.)
    const outputs = h.portList.filter((p) => floodsTo(p, inPort, vlan)).map((p) => ({ ofport: p.ofport, vid: outputVid(p.vlan, vlan) }));
    return { vlan, why: 'no learned MAC for destination, flooding', outputs };
  }

  forward(slot: number): void {
    const h = this.host;
    const key = h.arena.key;
    const k = slot << KEY_SHIFT;
    const p = this.dOut;
    if (
      p !== null &&
      this.dSeq === h.batchSeq &&
      (key[k + K_DL_DST_LO] | 0) === this.dDstLo &&
      (key[k + K_DL_SRC_LO] | 0) === this.dSrcLo &&
      key[k + K_DL_DST_HI] === this.dDstHi &&
      key[k + K_DL_SRC_HI] === this.dSrcHi &&
      key[k + K_VLAN_TCI] === this.dTci &&
      key[k + K_IN_PORT] === this.dIn &&
      p.up
    ) {
      this.emit(slot, p, this.dVlan);
      return;
    }
    this.decide(slot);
  }

  /** NORMAL's decision for a frame the decision cache does not know: learn, look up, send. */
  private decide(slot: number): void {
    const h = this.host;
    const a = h.arena;
    const key = a.key;
    const k = slot << KEY_SHIFT;
    const inPort = h.portAt(key[k + K_IN_PORT]);
    if (inPort === undefined) {
      this.drop(slot, D_UNKNOWN_IN_PORT);
      return;
    }
    const vlan = inputVlan(inPort.vlan, key[k + K_VLAN_TCI]);
    if (vlan < 0) {
      this.drop(slot, D_VLAN);
      return;
    }

    if (h.batchSeq !== this.memoSeq) {
      this.memoSeq = h.batchSeq;
      this.lSrcHi = -1;
      this.lDstHi = -1;
    }
    // The MAC table works at the batch's time, handed over in a field (see MacTable.now), and
    // takes the MACs' low halves as int32 bits (small integers, never boxed).
    const macs = h.macs;
    macs.now = h.batchClock[0];
    const srcHi = key[k + K_DL_SRC_HI];
    if ((srcHi & 0x0100) === 0) {
      const srcLo = key[k + K_DL_SRC_LO] | 0;
      if (srcHi !== this.lSrcHi || srcLo !== this.lSrcLo || vlan !== this.lSrcVlan || inPort.ofport !== this.lSrcPort) {
        macs.learnNow(vlan, srcHi, srcLo, inPort.ofport);
        this.dOut = null;
        this.lSrcHi = srcHi;
        this.lSrcLo = srcLo;
        this.lSrcVlan = vlan;
        this.lSrcPort = inPort.ofport;
        this.lDstHi = -1;
      }
    }

    const dstHi = key[k + K_DL_DST_HI];
    if ((dstHi & 0x0100) === 0) {
      const dstLo = key[k + K_DL_DST_LO] | 0;
      let out: number;
      if (dstHi === this.lDstHi && dstLo === this.lDstLo && vlan === this.lDstVlan) {
        out = this.lDstOut;
      } else {
        out = macs.lookupNow(vlan, dstHi, dstLo);
        this.lDstHi = dstHi;
        this.lDstLo = dstLo;
        this.lDstVlan = vlan;
        this.lDstOut = out;
      }
      if (out >= 0) {
        const p = h.portAt(out);
        if (p !== undefined && p.up) {
          if (p === inPort) {
            this.drop(slot, D_SAMEPORT);
            return;
          }
          this.dSeq = h.batchSeq;
          this.dOut = p;
          this.dIn = inPort.ofport;
          this.dTci = key[k + K_VLAN_TCI];
          this.dDstHi = dstHi;
          this.dDstLo = dstLo;
          this.dSrcHi = srcHi;
          this.dSrcLo = key[k + K_DL_SRC_LO] | 0;
          this.dVlan = vlan;
          this.emit(slot, p, vlan);
          return;
        }
      }
    }
    this.flood(slot, inPort, vlan);
  }

  private flood(slot: number, inPort: NormalPort, vlan: number): void {
    const h = this.host;
    const list = h.portList;
    if (this.targets.length < list.length) this.targets = new Uint16Array(list.length * 2);
    const t = this.targets;
    let n = 0;
    for (let i = 0; i < list.length; i++) {
      const p = list[i];
      if (floodsTo(p, inPort, vlan)) t[n++] = i;
    }
    if (n === 0) {
      this.drop(slot, D_SAMEPORT);
      return;
    }
    // Every target but the last gets a copy: each may need a different tag on the way out.
    for (let i = 0; i < n - 1; i++) {
      const c = h.arena.clone(slot);
      if (c < 0) {
        this.drop(slot, D_NO_BUFFER);
        return;
      }
      this.emit(c, list[t[i]], vlan);
    }
    this.emit(slot, list[t[n - 1]], vlan);
  }

  /** Give the frame the tag its output port wants, then send it. */
  private emit(slot: number, p: NormalPort, vlan: number): void {
    const h = this.host;
    const a = h.arena;
    const tci = a.key[(slot << KEY_SHIFT) + K_VLAN_TCI];
    const vid = outputVid(p.vlan, vlan);
    if (vid === 0) {
      if (tci !== 0) popTag(a, slot);
    } else if (tci === 0) {
      if (!pushTag(a, slot, ETH_P_8021Q, vid)) {
        this.drop(slot, D_HEADROOM);
        return;
      }
    } else if ((tci & 0x0fff) !== vid) {
      rewriteTci(a, slot, vid, 0x0fff);
    }
    h.transmit(slot, p);
  }
}
