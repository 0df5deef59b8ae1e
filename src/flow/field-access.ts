/**
 * Field access for load/move/learn and ct(zone=FIELD): read and write an NXM field of a slot
 * (64-bit values as hi/lo words in module scratch, so nothing allocates per packet). Writes to
 * packet fields go through packet-edits.ts (bytes, key and checksums together).
 */
import type { PacketArena } from '../packet/arena';
import * as K from '../packet/flow-key';
import { popTag, pushTag, rewriteTci } from '../packet/vlan';
import * as eth from '../wire/ethernet';
import * as ipv4 from '../wire/ipv4';
import * as tcp from '../wire/tcp';
import * as vlan from '../wire/vlan';
import * as N from './nxm';
import type { Plan } from './actions';
import { setArp, setEth, setFlowLabel, setIpv4Addr, setL4Port, setNdLla, setTosBits, setTtl } from './packet-edits';

/** Exchange the packet's nw_src/nw_dst/nw_proto/tp_src/tp_dst with ct_nw_src..ct_tp_dst (its own inverse). */
export function swapCtTuple(key: Uint32Array, k: number): void {
  let x = key[k + K.K_NW_SRC];
  key[k + K.K_NW_SRC] = key[k + K.K_CT_NW_SRC];
  key[k + K.K_CT_NW_SRC] = x;
  x = key[k + K.K_NW_DST];
  key[k + K.K_NW_DST] = key[k + K.K_CT_NW_DST];
  key[k + K.K_CT_NW_DST] = x;
  x = key[k + K.K_NW_PROTO];
  key[k + K.K_NW_PROTO] = key[k + K.K_CT_NW_PROTO];
  key[k + K.K_CT_NW_PROTO] = x;
  x = key[k + K.K_TP_SRC];
  key[k + K.K_TP_SRC] = key[k + K.K_CT_TP_SRC];
  key[k + K.K_CT_TP_SRC] = x;
  x = key[k + K.K_TP_DST];
  key[k + K.K_TP_DST] = key[k + K.K_CT_TP_DST];
  key[k + K.K_CT_TP_DST] = x;
}

let rdHi = 0;
let rdLo = 0;
let mkHi = 0;
let mkLo = 0;

function shr64(hi: number, lo: number, s: number): void {
  if (s === 0) {
    rdHi = hi >>> 0;
    rdLo = lo >>> 0;
  } else if (s < 32) {
    rdLo = ((lo >>> s) | (hi << (32 - s))) >>> 0;
    rdHi = hi >>> s;
  } else {
    rdLo = hi >>> (s - 32);
    rdHi = 0;
  }
}
function shl64(hi: number, lo: number, s: number): void {
  if (s === 0) {
    rdHi = hi >>> 0;
    rdLo = lo >>> 0;
  } else if (s < 32) {
    rdHi = ((hi << s) | (lo >>> (32 - s))) >>> 0;
    rdLo = (lo << s) >>> 0;
  } else {
    rdHi = (lo << (s - 32)) >>> 0;
    rdLo = 0;
  }
}
/** mkHi/mkLo = nbits ones at ofs. */
function mask64(ofs: number, nbits: number): void {
  // ones(nbits) then shift; nbits <= 64.
  const lo = nbits >= 32 ? 0xffffffff : (2 ** nbits - 1) >>> 0;
  const hi = nbits >= 64 ? 0xffffffff : nbits > 32 ? (2 ** (nbits - 32) - 1) >>> 0 : 0;
  shl64(hi, lo, ofs);
  mkHi = rdHi;
  mkLo = rdLo;
}

/** Bits [ofs, ofs+32) of field `fid` (ct(zone=NXM_NX_REGn[a..b]) reads its zone so). */
export function readFieldBits(a: PacketArena, slot: number, fid: number, ofs: number): number {
  readField(a, slot, fid);
  shr64(rdHi, rdLo, ofs);
  return rdLo;
}

/**
 * load / set_field at `pc` of `plan` (field id, mask hi/lo, value hi/lo) on any field.
 * Returns false only when a tag push found no headroom.
 */
export function applyLoad(a: PacketArena, slot: number, plan: Plan, pc: number): boolean {
  const fid = plan[pc + 1];
  readField(a, slot, fid);
  const mh = plan[pc + 2];
  const ml = plan[pc + 3];
  const nh = ((rdHi & ~mh) | plan[pc + 4]) >>> 0;
  const nl = ((rdLo & ~ml) | plan[pc + 5]) >>> 0;
  return writeField(a, slot, fid, nh, nl);
}

/** move at `pc` of `plan`. Returns false only when a tag push found no headroom. */
export function applyMove(a: PacketArena, slot: number, plan: Plan, pc: number): boolean {
  const nbits = plan[pc + 5];
  readField(a, slot, plan[pc + 1]);
  // Bits [sofs, sofs+n) of the source, moved to [dofs, dofs+n) of the destination.
  shr64(rdHi, rdLo, plan[pc + 2]);
  const sh = rdHi;
  const sl = rdLo;
  mask64(0, nbits); // clobbers rdHi/rdLo
  const dofs = plan[pc + 4];
  shl64(sh & mkHi, sl & mkLo, dofs);
  const vh = rdHi;
  const vl = rdLo;
  mask64(dofs, nbits);
  const dmh = mkHi;
  const dml = mkLo;
  const dfid = plan[pc + 3];
  readField(a, slot, dfid);
  const nh = ((rdHi & ~dmh) | (vh & dmh)) >>> 0;
  const nl = ((rdLo & ~dml) | (vl & dml)) >>> 0;
  return writeField(a, slot, dfid, nh, nl);
}

/**
 * Field `fid` of the slot's key as 32-bit halves in out[i] (hi) and out[i+1] (lo); with `ofs` /
 * `nbits` / `dstOfs` (general case), bits [ofs, ofs+nbits) moved to bit `dstOfs`. For learn
 * (learn.ts); no allocation.
 */
export function readFieldTo(a: PacketArena, slot: number, fid: number, out: Float64Array, i: number): void {
  readField(a, slot, fid);
  out[i] = rdHi;
  out[i + 1] = rdLo;
}
export function extractField(a: PacketArena, slot: number, fid: number, ofs: number, nbits: number, dstOfs: number, out: Float64Array, i: number): void {
  readField(a, slot, fid);
  shr64(rdHi, rdLo, ofs);
  const sh = rdHi;
  const sl = rdLo;
  mask64(0, nbits);
  shl64(sh & mkHi, sl & mkLo, dstOfs);
  out[i] = rdHi;
  out[i + 1] = rdLo;
}

function readField(a: PacketArena, slot: number, fid: number): void {
  const key = a.key;
  const k = slot << K.KEY_SHIFT;
  rdHi = 0;
  switch (fid) {
    case N.F_IN_PORT:
      rdLo = key[k + K.K_IN_PORT];
      return;
    case N.F_ETH_DST:
      rdHi = key[k + K.K_DL_DST_HI];
      rdLo = key[k + K.K_DL_DST_LO];
      return;
    case N.F_ETH_SRC:
      rdHi = key[k + K.K_DL_SRC_HI];
      rdLo = key[k + K.K_DL_SRC_LO];
      return;
    case N.F_ETH_TYPE:
      rdLo = key[k + K.K_DL_TYPE];
      return;
    case N.F_VLAN_TCI:
      rdLo = key[k + K.K_VLAN_TCI];
      return;
    case N.F_IP_SRC:
    case N.F_ARP_SPA:
      rdLo = key[k + K.K_NW_SRC];
      return;
    case N.F_IP_DST:
    case N.F_ARP_TPA:
      rdLo = key[k + K.K_NW_DST];
      return;
    case N.F_IP_PROTO:
    case N.F_ARP_OP:
      rdLo = key[k + K.K_NW_PROTO];
      return;
    case N.F_TCP_SRC:
    case N.F_UDP_SRC:
      rdLo = key[k + K.K_TP_SRC];
      return;
    case N.F_TCP_DST:
    case N.F_UDP_DST:
      rdLo = key[k + K.K_TP_DST];
      return;
    case N.F_ARP_SHA:
      rdHi = key[k + K.K_ARP_SHA_HI];
      rdLo = key[k + K.K_ARP_SHA_LO];
      return;
    case N.F_ARP_THA:
      rdHi = key[k + K.K_ARP_THA_HI];
      rdLo = key[k + K.K_ARP_THA_LO];
      return;
    case N.F_METADATA:
      rdHi = key[k + K.K_METADATA_HI];
      rdLo = key[k + K.K_METADATA_LO];
      return;
    case N.F_TUN_ID:
      rdHi = key[k + K.K_TUN_ID_HI];
      rdLo = key[k + K.K_TUN_ID_LO];
      return;
    case N.F_TUN_SRC:
      rdLo = key[k + K.K_TUN_SRC];
      return;
    case N.F_TUN_DST:
      rdLo = key[k + K.K_TUN_DST];
      return;
    case N.F_IN_PORT_OXM:
      rdLo = key[k + K.K_IN_PORT];
      return;
    case N.F_VLAN_VID:
      rdLo = key[k + K.K_VLAN_TCI] & 0x0fff;
      return;
    case N.F_IPV6_LABEL:
      rdLo = key[k + K.K_IPV6_LABEL];
      return;
    case N.F_ND_SLL:
      rdHi = key[k + K.K_ARP_SHA_HI];
      rdLo = key[k + K.K_ARP_SHA_LO];
      return;
    case N.F_ND_TLL:
      rdHi = key[k + K.K_ARP_THA_HI];
      rdLo = key[k + K.K_ARP_THA_LO];
      return;
    case N.F_IP_DSCP:
      rdLo = key[k + K.K_NW_TOS] >>> 2;
      return;
    case N.F_IP_ECN:
      rdLo = key[k + K.K_NW_TOS] & 3;
      return;
    case N.F_PKT_MARK:
      rdLo = key[k + K.K_PKT_MARK];
      return;
    case N.F_IP_TTL:
      rdLo = key[k + K.K_NW_TTL];
      return;
    case N.F_IPV6_SRC:
    case N.F_IPV6_DST:
    case N.F_ND_TARGET:
      rdLo = 0; // 128-bit: never read through here (the parser refuses moves of them)
      return;
    case N.F_CT_MARK:
      rdLo = key[k + K.K_CT_MARK];
      return;
    case N.F_CT_LABEL:
      // Bits 0..63 (move refuses wider reads of the 128-bit label).
      rdHi = key[k + K.K_CT_LABEL + 2];
      rdLo = key[k + K.K_CT_LABEL + 3];
      return;
    default:
      rdLo = key[k + K.K_REG0 + fid - N.F_REG0];
  }
}

/** Write a field (bytes + key). Returns false only when a tag push found no headroom. */
function writeField(a: PacketArena, slot: number, fid: number, hi: number, lo: number): boolean {
  const key = a.key;
  const k = slot << K.KEY_SHIFT;
  switch (fid) {
    case N.F_IN_PORT:
      key[k + K.K_IN_PORT] = lo & 0xffff;
      return true;
    case N.F_ETH_DST:
      setEth(a, slot, eth.DST, K.K_DL_DST_HI, hi & 0xffff, lo);
      return true;
    case N.F_ETH_SRC:
      setEth(a, slot, eth.SRC, K.K_DL_SRC_HI, hi & 0xffff, lo);
      return true;
    case N.F_VLAN_TCI: {
      // NXM_OF_VLAN_TCI semantics: CFI set = tag present with this TCI, clear = no tag.
      const v = lo & 0xffff;
      if ((v & vlan.TCI_PRESENT) === 0) popTag(a, slot);
      else if (key[k + K.K_VLAN_TCI] !== 0) rewriteTci(a, slot, v, 0xefff);
      else return pushTag(a, slot, eth.ETH_P_8021Q, v);
      return true;
    }
    case N.F_IP_SRC:
      setIpv4Addr(a, slot, ipv4.SRC, K.K_NW_SRC, lo);
      return true;
    case N.F_IP_DST:
      setIpv4Addr(a, slot, ipv4.DST, K.K_NW_DST, lo);
      return true;
    case N.F_TCP_SRC:
      setL4Port(a, slot, tcp.SRC_PORT, K.K_TP_SRC, lo & 0xffff, ipv4.PROTO_TCP);
      return true;
    case N.F_TCP_DST:
      setL4Port(a, slot, tcp.DST_PORT, K.K_TP_DST, lo & 0xffff, ipv4.PROTO_TCP);
      return true;
    case N.F_UDP_SRC:
      setL4Port(a, slot, tcp.SRC_PORT, K.K_TP_SRC, lo & 0xffff, ipv4.PROTO_UDP);
      return true;
    case N.F_UDP_DST:
      setL4Port(a, slot, tcp.DST_PORT, K.K_TP_DST, lo & 0xffff, ipv4.PROTO_UDP);
      return true;
    case N.F_ARP_OP:
    case N.F_ARP_SPA:
    case N.F_ARP_TPA:
    case N.F_ARP_SHA:
    case N.F_ARP_THA:
      setArp(a, slot, fid, hi, lo);
      return true;
    case N.F_METADATA:
      key[k + K.K_METADATA_HI] = hi;
      key[k + K.K_METADATA_LO] = lo;
      return true;
    case N.F_TUN_ID:
      // Any K_TUN_* word set means TUN_PRESENT (the EMC's invariant, flow-key.ts); a tunnel
      // port with key=flow sends with this id.
      key[k + K.K_TUN_ID_HI] = hi;
      key[k + K.K_TUN_ID_LO] = lo;
      key[k + K.K_TUN_FLAGS] |= K.TUN_PRESENT;
      return true;
    case N.F_TUN_SRC:
      key[k + K.K_TUN_SRC] = lo;
      key[k + K.K_TUN_FLAGS] |= K.TUN_PRESENT;
      return true;
    case N.F_TUN_DST:
      key[k + K.K_TUN_DST] = lo;
      key[k + K.K_TUN_FLAGS] |= K.TUN_PRESENT;
      return true;
    case N.F_IN_PORT_OXM:
      key[k + K.K_IN_PORT] = lo & 0xffff;
      return true;
    case N.F_VLAN_VID:
      // Only an existing tag changes (the parser requires one in the match, as OVS does).
      if (key[k + K.K_VLAN_TCI] !== 0) rewriteTci(a, slot, lo & 0x0fff, 0x0fff);
      return true;
    case N.F_IPV6_LABEL:
      setFlowLabel(a, slot, lo & 0xfffff);
      return true;
    case N.F_IP_DSCP:
      setTosBits(a, slot, (lo & 0x3f) << 2, 0xfc);
      return true;
    case N.F_IP_ECN:
      setTosBits(a, slot, lo & 3, 0x03);
      return true;
    case N.F_PKT_MARK:
      key[k + K.K_PKT_MARK] = lo;
      return true;
    case N.F_IP_TTL:
      setTtl(a, slot, lo & 0xff);
      return true;
    case N.F_ND_SLL:
    case N.F_ND_TLL:
      setNdLla(a, slot, fid === N.F_ND_SLL, hi, lo);
      return true;
    case N.F_ETH_TYPE:
    case N.F_IP_PROTO:
    case N.F_ND_TARGET: // 128-bit writes compile to OP_SET_IPV6
    case N.F_IPV6_SRC:
    case N.F_IPV6_DST:
      return true; // read-only (the parser refuses them as destinations)
    case N.F_CT_MARK:
    case N.F_CT_LABEL:
      return true; // read-only here (the parser refuses them as destinations; ct(exec) writes them)
    default:
      key[k + K.K_REG0 + fid - N.F_REG0] = lo;
      return true;
  }
}
