/**
 * The match of a PACKET_IN: the frame's pipeline context as OXM TLVs, the fields a controller
 * cannot read from the packet data (OpenFlow 1.3 7.4.1). As OVS (flow_get_metadata): in_port
 * always; metadata, registers, tunnel metadata, pkt_mark and conntrack state when non-zero.
 * Registers and the other Nicira fields go as NXM_NX TLVs, which OVS sends in OpenFlow 1.3 too.
 */
import * as K from '../packet/flow-key';
import { OXM_CLASS_BASIC, OXM_CLASS_NXM1, port16to32, type Oxm } from '../wire/openflow';

/** OVS meta-flow.h NXM_NX field numbers of the pipeline fields (class 0x0001). */
const NX_TUN_IPV4_SRC = 31;
const NX_TUN_IPV4_DST = 32;
const NX_PKT_MARK = 33;
const NX_CT_STATE = 105;
const NX_CT_ZONE = 106;
const NX_CT_MARK = 107;
const NX_CT_LABEL = 108;
const NX_CT_NW_PROTO = 119;
const NX_CT_NW_SRC = 120;
const NX_CT_NW_DST = 121;
const NX_CT_TP_SRC = 124;
const NX_CT_TP_DST = 125;
/** OXM_OF_METADATA, OXM_OF_TUNNEL_ID. */
const OF_METADATA = 2;
const OF_TUNNEL_ID = 38;

function tlv(cls: number, field: number, key: Uint32Array, base: number, first: number, words: number, bytes: number): Oxm {
  const value = Buffer.alloc(words * 4);
  for (let i = 0; i < words; i++) value.writeUInt32BE(key[base + first + i] >>> 0, i * 4);
  return { cls, field, value: value.subarray(words * 4 - bytes) };
}

function nonZero(key: Uint32Array, base: number, first: number, words: number): boolean {
  for (let i = 0; i < words; i++) if (key[base + first + i] !== 0) return true;
  return false;
}

/** Packet-in match from a flow key (words at `base`). */
export function packetInMatch(key: Uint32Array, base = 0): Oxm[] {
  const inPort = key[base + K.K_IN_PORT];
  const pv = Buffer.alloc(4);
  pv.writeUInt32BE(inPort >= 0xff00 ? port16to32(inPort) : inPort);
  const out: Oxm[] = [{ cls: OXM_CLASS_BASIC, field: 0, value: pv }];
  const add = (cls: number, field: number, first: number, words: number, bytes: number) => {
    if (nonZero(key, base, first, words)) out.push(tlv(cls, field, key, base, first, words, bytes));
  };
  add(OXM_CLASS_BASIC, OF_METADATA, K.K_METADATA_HI, 2, 8);
  if (key[base + K.K_TUN_FLAGS] & K.TUN_PRESENT) {
    add(OXM_CLASS_BASIC, OF_TUNNEL_ID, K.K_TUN_ID_HI, 2, 8);
    add(OXM_CLASS_NXM1, NX_TUN_IPV4_SRC, K.K_TUN_SRC, 1, 4);
    add(OXM_CLASS_NXM1, NX_TUN_IPV4_DST, K.K_TUN_DST, 1, 4);
  }
  for (let r = 0; r < 8; r++) add(OXM_CLASS_NXM1, r, K.K_REG0 + r, 1, 4);
  add(OXM_CLASS_NXM1, NX_PKT_MARK, K.K_PKT_MARK, 1, 4);
  add(OXM_CLASS_NXM1, NX_CT_STATE, K.K_CT_STATE, 1, 4);
  add(OXM_CLASS_NXM1, NX_CT_ZONE, K.K_CT_ZONE, 1, 2);
  add(OXM_CLASS_NXM1, NX_CT_MARK, K.K_CT_MARK, 1, 4);
  add(OXM_CLASS_NXM1, NX_CT_LABEL, K.K_CT_LABEL, 4, 16);
  if (key[base + K.K_CT_STATE] !== 0) {
    add(OXM_CLASS_NXM1, NX_CT_NW_PROTO, K.K_CT_NW_PROTO, 1, 1);
    add(OXM_CLASS_NXM1, NX_CT_NW_SRC, K.K_CT_NW_SRC, 1, 4);
    add(OXM_CLASS_NXM1, NX_CT_NW_DST, K.K_CT_NW_DST, 1, 4);
    add(OXM_CLASS_NXM1, NX_CT_TP_SRC, K.K_CT_TP_SRC, 1, 2);
    add(OXM_CLASS_NXM1, NX_CT_TP_DST, K.K_CT_TP_DST, 1, 2);
  }
  return out;
}
