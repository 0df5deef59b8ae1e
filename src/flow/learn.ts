/**
 * `learn(...)` at run time (OVS `learn_execute` + `ofproto_flow_mod_learn`): build the flow a
 * packet teaches — its match from the learn's match specs, its actions from the load/output
 * specs — and install it, or refresh it when it is already there.
 *
 * Hot path: Neutron's br-tun learns on every frame that arrives from a tunnel, and nearly every
 * such frame teaches a flow that already exists. So the flow is first built in per-learn
 * scratch (a reused Match and a Float64Array of action values) and looked up strictly in the
 * target table; when the installed flow came from this same learn with the same action values,
 * only its `modified` time moves (OVS restarts the hard timeout the same way). Nothing is
 * allocated then. Only a new or changed flow pays for objects, compilation and installation,
 * and that install bumps the EMC generation like any table change.
 *
 * Learned flows count against the pipeline's flow limit: a learn that finds the tables full is
 * counted (`refused`) and the packet goes on with its other actions.
 */
import type { PacketArena } from '../packet/arena';
import * as K from '../packet/flow-key';
import { outputActionFor, type Action, type LearnAction, type LearnSpec, type Subfield } from './actions';
import { maskHash } from './classifier';
import { Match, MATCH_WORDS, WORD_FULL } from './match';
import * as N from './nxm';

/**
 * Reads packet fields the way load/move do (execute.ts provides it: passed in, so this module
 * does not import the executor that calls it).
 */
export interface FieldReader {
  /** Field `fid` as 32-bit halves in out[i] (hi), out[i+1] (lo). */
  readFieldTo(a: PacketArena, slot: number, fid: number, out: Float64Array, i: number): void;
  /** Bits [ofs, ofs+nbits) of field `fid` moved to bit `dstOfs`, as halves in out[i], out[i+1]. */
  extractField(a: PacketArena, slot: number, fid: number, ofs: number, nbits: number, dstOfs: number, out: Float64Array, i: number): void;
}

/** The part of a learned rule the refresh shortcut needs (a Rule; typed here without table.ts). */
export interface LearnedRef {
  readonly id: number;
  modified: number;
}

/** Flow-key words of each NXM field as [hi word or -1, lo word] (64-bit values split hi/lo). */
const FIELD_WORDS: Record<number, [number, number]> = {
  [N.F_IN_PORT]: [-1, K.K_IN_PORT],
  [N.F_ETH_DST]: [K.K_DL_DST_HI, K.K_DL_DST_LO],
  [N.F_ETH_SRC]: [K.K_DL_SRC_HI, K.K_DL_SRC_LO],
  [N.F_ETH_TYPE]: [-1, K.K_DL_TYPE],
  [N.F_VLAN_TCI]: [-1, K.K_VLAN_TCI],
  [N.F_IP_SRC]: [-1, K.K_NW_SRC],
  [N.F_IP_DST]: [-1, K.K_NW_DST],
  [N.F_IP_PROTO]: [-1, K.K_NW_PROTO],
  [N.F_TCP_SRC]: [-1, K.K_TP_SRC],
  [N.F_TCP_DST]: [-1, K.K_TP_DST],
  [N.F_UDP_SRC]: [-1, K.K_TP_SRC],
  [N.F_UDP_DST]: [-1, K.K_TP_DST],
  [N.F_ARP_OP]: [-1, K.K_NW_PROTO],
  [N.F_ARP_SPA]: [-1, K.K_NW_SRC],
  [N.F_ARP_TPA]: [-1, K.K_NW_DST],
  [N.F_ARP_SHA]: [K.K_ARP_SHA_HI, K.K_ARP_SHA_LO],
  [N.F_ARP_THA]: [K.K_ARP_THA_HI, K.K_ARP_THA_LO],
  [N.F_METADATA]: [K.K_METADATA_HI, K.K_METADATA_LO],
  [N.F_TUN_ID]: [K.K_TUN_ID_HI, K.K_TUN_ID_LO],
  [N.F_TUN_SRC]: [-1, K.K_TUN_SRC],
  [N.F_TUN_DST]: [-1, K.K_TUN_DST],
  [N.F_IN_PORT_OXM]: [-1, K.K_IN_PORT],
  [N.F_VLAN_VID]: [-1, K.K_VLAN_TCI],
};
for (let r = 0; r < 8; r++) FIELD_WORDS[N.F_REG0 + r] = [-1, K.K_REG0 + r];

/** Can a learned flow match on this field? (every field with flow-key words can) */
export function learnMatchable(f: N.NxmField): boolean {
  return FIELD_WORDS[f.id] !== undefined;
}

/** Mask of `nbits` bits at `ofs` split into [hi, lo] 32-bit words. */
function bits64(ofs: number, nbits: number): [number, number] {
  const m = ((1n << BigInt(nbits)) - 1n) << BigInt(ofs);
  return [Number((m >> 32n) & 0xffffffffn), Number(m & 0xffffffffn)];
}

/**
 * Add "bits [ofs, ofs+nbits) of field `f` = value" to a match (control plane: parse-time checks
 * and the constant part of a compiled learn). Masks are clipped to each word's field width.
 */
export function matchSubfield(m: Match, sf: Subfield, value: bigint): void {
  const [wh, wl] = FIELD_WORDS[sf.field.id];
  const [mh, ml] = bits64(sf.ofs, sf.nbits);
  const v = (value << BigInt(sf.ofs)) & (((1n << BigInt(sf.nbits)) - 1n) << BigInt(sf.ofs));
  const vh = Number((v >> 32n) & 0xffffffffn);
  const vl = Number(v & 0xffffffffn);
  const put = (w: number, val: number, mask: number): void => {
    const mk = (mask & WORD_FULL[w]) >>> 0;
    if (mk === 0) return;
    m.mask[w] = (m.mask[w] | mk) >>> 0;
    m.value[w] = ((m.value[w] & ~mk) | (val & mk)) >>> 0;
  };
  put(wl, vl, ml);
  if (wh >= 0) put(wh, vh, mh);
}

/** A learn action compiled for the hot path (one per learn action of a Program). */
export class CompiledLearn {
  readonly ast: LearnAction;
  /** The learned flow's match: constant mask, immediate bits; field bits are ORed in per packet. */
  private readonly base: Match;
  /** Reused per execution: `base` plus this packet's field bits. */
  readonly scratch: Match;
  /**
   * Field-sourced match specs, 8 numbers each: srcFid, srcOfs, nbits, dstOfs, hiWord, loWord,
   * and for the common aligned case (srcOfs = dstOfs = 0) the value masks hi, lo (else -1, -1).
   */
  private readonly mfield: number[];
  /** maskHash of the learned match (constant): saves hashing 62 mask words per lookup. */
  readonly maskHash: number;
  /** Words any field-sourced spec writes (reset to `base` before each build). */
  private readonly varWords: number[];
  /** Resolved action values (hi, lo per load/output spec) of the last build. */
  readonly vals: Float64Array;
  /** The load/output specs, in order, parallel to `vals` pairs. */
  readonly acts: LearnSpec[];
  /** Per action spec: value masks hi, lo when its source starts at bit 0, else -1, -1. */
  private readonly actMask: number[];
  /** Flags the learned flow carries. */
  readonly flags: ('send_flow_rem')[];

  constructor(ast: LearnAction) {
    this.ast = ast;
    this.base = new Match();
    this.mfield = [];
    const vw = new Set<number>();
    for (const s of ast.specs) {
      if (s.kind !== 'match') continue;
      const dst = s.dst as Subfield;
      const [wh, wl] = FIELD_WORDS[dst.field.id];
      // The mask is the same whatever the packet: set it now (value 0 for field-sourced bits).
      matchSubfield(this.base, dst, s.src === null ? s.value : 0n);
      if (s.src !== null) {
        const [mh, ml] = s.src.ofs === 0 && dst.ofs === 0 ? bits64(0, s.src.nbits) : [-1, -1];
        this.mfield.push(s.src.field.id, s.src.ofs, s.src.nbits, dst.ofs, wh, wl, mh, ml);
        vw.add(wl);
        if (wh >= 0) vw.add(wh);
      }
    }
    this.varWords = [...vw];
    this.scratch = this.base.clone();
    this.maskHash = maskHash(this.base);
    // Action values: aligned full reads need no shifting (the usual FIELD[] sources).
    this.actMask = [];
    for (const s of ast.specs) {
      if (s.kind === 'match') continue;
      const src = s.src;
      if (src !== null && src.ofs === 0) this.actMask.push(...bits64(0, src.nbits));
      else this.actMask.push(-1, -1);
    }
    this.acts = ast.specs.filter((s) => s.kind !== 'match');
    this.vals = new Float64Array(this.acts.length * 2);
    this.lastWords = new Float64Array(this.varWords.length);
    this.lastVals = new Float64Array(this.vals.length);
    this.flags = ast.sendFlowRem ? ['send_flow_rem'] : [];
  }

  /**
   * The flow the last learn from this spec installed or refreshed, and the varying words and
   * values it was built from: a burst of one connection teaches the same flow again and again,
   * and then the classifier lookup is skipped (compare a few words instead).
   */
  lastRule: LearnedRef | null = null;
  private readonly lastWords: Float64Array;
  private readonly lastVals: Float64Array;

  /** Did the last build produce exactly the flow of `lastRule`? */
  sameAsLast(): boolean {
    const vw = this.varWords;
    const sv = this.scratch.value;
    const lw = this.lastWords;
    for (let i = 0; i < vw.length; i++) if (sv[vw[i]] !== lw[i]) return false;
    const v = this.vals;
    const lv = this.lastVals;
    for (let i = 0; i < v.length; i++) if (v[i] !== lv[i]) return false;
    return true;
  }

  /** Remember the last build as `rule`'s (see lastRule). */
  remember(rule: LearnedRef): void {
    this.lastRule = rule;
    const vw = this.varWords;
    const sv = this.scratch.value;
    for (let i = 0; i < vw.length; i++) this.lastWords[i] = sv[vw[i]];
    this.lastVals.set(this.vals);
  }

  /** Fill `scratch` and `vals` from the packet in `slot` (hot path: no allocation). */
  build(a: PacketArena, slot: number, tmp: Float64Array, fr: FieldReader): void {
    const sv = this.scratch.value;
    const bv = this.base.value;
    const vw = this.varWords;
    for (let i = 0; i < vw.length; i++) sv[vw[i]] = bv[vw[i]];
    const mf = this.mfield;
    const mask = this.scratch.mask;
    for (let i = 0; i < mf.length; i += 8) {
      // Aligned (the usual FIELD[] or FIELD[0..n]): mask in place; else the general shift.
      if (mf[i + 6] !== -1) {
        fr.readFieldTo(a, slot, mf[i], tmp, 0);
        tmp[0] = (tmp[0] & mf[i + 6]) >>> 0;
        tmp[1] = (tmp[1] & mf[i + 7]) >>> 0;
      } else fr.extractField(a, slot, mf[i], mf[i + 1], mf[i + 2], mf[i + 3], tmp, 0);
      const wh = mf[i + 4];
      const wl = mf[i + 5];
      sv[wl] = (sv[wl] | (tmp[1] & mask[wl])) >>> 0;
      if (wh >= 0) sv[wh] = (sv[wh] | (tmp[0] & mask[wh])) >>> 0;
    }
    const acts = this.acts;
    const am = this.actMask;
    const vals = this.vals;
    for (let i = 0; i < acts.length; i++) {
      const src = acts[i].src;
      if (src === null) continue; // immediate: fixed at install, part of the spec itself
      const j = i * 2;
      if (am[j] !== -1) {
        fr.readFieldTo(a, slot, src.field.id, vals, j);
        vals[j] = (vals[j] & am[j]) >>> 0;
        vals[j + 1] = (vals[j + 1] & am[j + 1]) >>> 0;
      } else fr.extractField(a, slot, src.field.id, src.ofs, src.nbits, 0, vals, j);
    }
  }

  /** The learned flow's actions for the values of the last build (allocates: install only). */
  actions(): Action[] {
    const out: Action[] = [];
    this.acts.forEach((s, i) => {
      const v = (BigInt(this.vals[i * 2]) << 32n) | BigInt(this.vals[i * 2 + 1]);
      if (s.kind === 'load') out.push({ type: 'load', value: s.src === null ? s.value : v, dst: s.dst as Subfield });
      else out.push(outputActionFor(Number(v & 0xffffn)));
    });
    return out;
  }
}

/** OVS learn output: the port number read from the packet, reserved numbers as their actions. */
/** Learn counters (per pipeline). */
export interface LearnStats {
  /** Flows installed by learn (new, or replacing a flow whose actions changed). */
  learned: number;
  /** Learns that found their flow already installed and only refreshed it. */
  refreshed: number;
  /** Learns refused because the tables were full (maxFlows). */
  refused: number;
}


/** Compare a learned rule's recorded action values with the values just built. */
export function sameVals(a: Float64Array | null, b: Float64Array): boolean {
  if (a === null || a.length !== b.length) return false;
  for (let i = 0; i < b.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

export { MATCH_WORDS };
