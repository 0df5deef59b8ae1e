/**
 * The match of a PACKET_IN: the frame's pipeline context as OXM TLVs, the fields a controller
 * cannot read from the packet data (OpenFlow 1.3 7.4.1). As OVS (flow_get_metadata): in_port
 * always; metadata, registers, tunnel metadata, pkt_mark and conntrack state when non-zero.
 * Registers and the other Nicira fields go as NXM_NX TLVs, which OVS sends in OpenFlow 1.3 too.
 */
import * as K from '../packet/flow-key';
import { port16to32 } from '../wire/openflow/constants';
import { OXM_CLASS_BASIC, oxmByName, type Oxm } from '../wire/openflow/oxm';

function tlv(name: string, key: Uint32Array, base: number, first: number, words: number): Oxm {
  const value = Buffer.alloc(words * 4);
  for (let i = 0; i < words; i++) value.writeUInt32BE(key[base + first + i] >>> 0, i * 4);
  const f = oxmByName(name);
  return { cls: f.cls, field: f.field, value: value.subarray(words * 4 - f.bytes) };
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
  const add = (name: string, first: number, words: number) => {
    if (nonZero(key, base, first, words)) out.push(tlv(name, key, base, first, words));
  };
  add('metadata', K.K_METADATA_HI, 2);
  if (key[base + K.K_TUN_FLAGS] & K.TUN_PRESENT) {
    add('tunnel_id', K.K_TUN_ID_HI, 2);
    add('tun_src', K.K_TUN_SRC, 1);
    add('tun_dst', K.K_TUN_DST, 1);
  }
  for (let r = 0; r < 8; r++) add(`reg${r}`, K.K_REG0 + r, 1);
  add('pkt_mark', K.K_PKT_MARK, 1);
  add('ct_state', K.K_CT_STATE, 1);
  add('ct_zone', K.K_CT_ZONE, 1);
  add('ct_mark', K.K_CT_MARK, 1);
  add('ct_label', K.K_CT_LABEL, 4);
  if (key[base + K.K_CT_STATE] !== 0) {
    add('ct_nw_proto', K.K_CT_NW_PROTO, 1);
    add('ct_nw_src', K.K_CT_NW_SRC, 1);
    add('ct_nw_dst', K.K_CT_NW_DST, 1);
    add('ct_tp_src', K.K_CT_TP_SRC, 1);
    add('ct_tp_dst', K.K_CT_TP_DST, 1);
  }
  return out;
}
