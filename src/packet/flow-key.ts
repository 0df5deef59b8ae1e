/**
 * The numeric flow key: a fixed number of 32-bit words per slot, filled once per packet by the
 * parse pass (OVS `miniflow_extract`) and read by every later stage (MAC learning, the flow
 * cache and classifier, the router). One field per word keeps masked matching and hashing a
 * plain loop over words; 48-bit MACs take two words (high 16 bits, low 32 bits).
 *
 * Conventions follow OVS so that ovs-ofctl matches mean the same thing:
 * - VLAN_TCI holds the outermost tag's TCI with TCI_PRESENT (0x1000, OVS's CFI bit) set when a
 *   tag is there; 0 means untagged. `dl_vlan=0xffff` matches VLAN_TCI == 0.
 * - DL_TYPE is the EtherType after up to two tags (what `dl_type`/`ip`/`arp` match).
 * - For ARP, NW_SRC/NW_DST hold SPA/TPA and NW_PROTO holds the low 8 bits of the opcode.
 * - For ICMP, TP_SRC/TP_DST hold type and code.
 * - NW_TOS holds the DSCP bits (tos & 0xfc), as OVS's nw_tos.
 * - METADATA and REG0..7 are pipeline scratch: zero after parsing, written by flow actions.
 * - CONJ_ID is zero after parsing; only the classifier sets it, for the length of one lookup.
 */

export const KEY_WORDS = 32; // stride per slot (power of two: slot << 5)
export const KEY_SHIFT = 5;

export const K_IN_PORT = 0;
export const K_VLAN_TCI = 1;
export const K_DL_DST_HI = 2;
export const K_DL_DST_LO = 3;
export const K_DL_SRC_HI = 4;
export const K_DL_SRC_LO = 5;
export const K_DL_TYPE = 6;
export const K_NW_SRC = 7;
export const K_NW_DST = 8;
export const K_NW_PROTO = 9;
export const K_NW_TOS = 10;
export const K_NW_TTL = 11;
export const K_TP_SRC = 12;
export const K_TP_DST = 13;
export const K_ARP_SHA_HI = 14;
export const K_ARP_SHA_LO = 15;
export const K_ARP_THA_HI = 16;
export const K_ARP_THA_LO = 17;
/** 0 = not a fragment, 1 = first fragment, 3 = later fragment (OVS nw_frag bits). */
export const K_NW_FRAG = 18;
/** Second (inner) VLAN TCI for 802.1ad QinQ frames, with TCI_PRESENT, else 0. */
export const K_VLAN_TCI2 = 19;
export const K_METADATA_HI = 20;
export const K_METADATA_LO = 21;
export const K_REG0 = 22; // ..K_REG0+7 = 29
/**
 * OVS conj_id: zero for every packet; set only while the classifier looks up the rule that acts
 * on a satisfied `conjunction(id,k/n)` (so `conj_id=N` flows match nothing on their own).
 */
export const K_CONJ_ID = 30;
export const K_RESERVED1 = 31;

/** Words that come from the packet itself (the rest is pipeline state). */
export const PACKET_WORDS = 20;

export const NW_FRAG_ANY = 1;
export const NW_FRAG_LATER = 2;

/** Human names of the key words, for traces and debugging. */
export const KEY_WORD_NAMES: readonly string[] = [
  'in_port', 'vlan_tci', 'dl_dst_hi', 'dl_dst_lo', 'dl_src_hi', 'dl_src_lo', 'dl_type', 'nw_src',
  'nw_dst', 'nw_proto', 'nw_tos', 'nw_ttl', 'tp_src', 'tp_dst', 'arp_sha_hi', 'arp_sha_lo',
  'arp_tha_hi', 'arp_tha_lo', 'nw_frag', 'vlan_tci2', 'metadata_hi', 'metadata_lo',
  'reg0', 'reg1', 'reg2', 'reg3', 'reg4', 'reg5', 'reg6', 'reg7', 'conj_id', 'reserved1',
];
