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
 * - NW_TOS holds the whole IPv4 TOS / IPv6 traffic class byte, as OVS's flow->nw_tos: the
 *   `nw_tos`/`ip_dscp` fields are its bits 0xfc, `nw_ecn`/`ip_ecn` its bits 0x03.
 * - METADATA and REG0..7 are pipeline scratch: zero after parsing, written by flow actions.
 * - CONJ_ID is zero after parsing; only the classifier sets it, for the length of one lookup.
 */

export const KEY_WORDS = 64; // stride per slot (power of two: slot << 6)
export const KEY_SHIFT = 6;

// ---- words filled from the packet (and the tunnel it arrived by): [0, PACKET_WORDS) ----
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
/** ARP SHA/THA; for an IPv6 neighbour solicitation/advertisement nd_sll/nd_tll (as OVS shares them). */
export const K_ARP_SHA_HI = 14;
export const K_ARP_SHA_LO = 15;
export const K_ARP_THA_HI = 16;
export const K_ARP_THA_LO = 17;
/** 0 = not a fragment, 1 = first fragment, 3 = later fragment (OVS nw_frag bits). */
export const K_NW_FRAG = 18;
/** Second (inner) VLAN TCI for 802.1ad QinQ frames, with TCI_PRESENT, else 0. */
export const K_VLAN_TCI2 = 19;
/**
 * Bit 0 (TUN_PRESENT): the frame came from a tunnel port and K_TUN_* hold its outer header (OVS
 * flow->tunnel). Zero otherwise, and then every K_TUN_* word is zero too.
 */
export const K_TUN_FLAGS = 20;
export const TUN_PRESENT = 1;

/**
 * Words [BASE_WORDS, PACKET_WORDS) are non-zero only for IPv6 frames (dl_type 0x86dd) or tunnel
 * frames (K_TUN_FLAGS != 0): the exact-match cache hashes them only then, so IPv4 and ARP
 * frames pay for the base words alone.
 */
export const BASE_WORDS = 21;
/** IPv6 source/destination, 4 words each, most significant word first. Zero for IPv4. */
export const K_IPV6_SRC = 21; // ..24
export const K_IPV6_DST = 25; // ..28
/** IPv6 flow label (20 bits). */
export const K_IPV6_LABEL = 29;
/** IPv6 ND target address (NS/NA), 4 words. */
export const K_ND_TARGET = 30; // ..33
/** Tunnel metadata (valid when K_TUN_FLAGS has TUN_PRESENT). */
export const K_TUN_ID_HI = 34;
export const K_TUN_ID_LO = 35;
export const K_TUN_SRC = 36;
export const K_TUN_DST = 37;

/** Words that come from the packet itself (the rest is pipeline state). */
export const PACKET_WORDS = 38;

/**
 * The key's last two 64-byte cache lines, words [KEY_TAIL, KEY_WORDS): the last ND target words,
 * the tunnel metadata and all pipeline state. Non-zero only for an IPv6 neighbour discovery frame,
 * a frame from a tunnel port, or one the flow tables ran actions on; the parse pass clears them
 * only when the slot's PacketArena.keyTail flag says they may be dirty (see there).
 */
export const KEY_TAIL = 32;

// ---- pipeline state: zero after parsing, written by flow actions and ct() ----
export const K_METADATA_HI = 38;
export const K_METADATA_LO = 39;
export const K_REG0 = 40; // ..K_REG0+7 = 47
/**
 * OVS conj_id: zero for every packet; set only while the classifier looks up the rule that acts
 * on a satisfied `conjunction(id,k/n)` (so `conj_id=N` flows match nothing on their own).
 */
export const K_CONJ_ID = 48;
/** Connection-tracking results written by ct() (OVS ct_state bits: 0x01 new .. 0x80 dnat, 0x20 trk). */
export const K_CT_STATE = 49;
export const K_CT_ZONE = 50;
export const K_CT_MARK = 51;
/** ct_label, 128 bits, most significant word first. */
export const K_CT_LABEL = 52; // ..55
/** The original-direction tuple of the tracked connection (OVS ct_nw_src.. ct_tp_dst). */
export const K_CT_NW_SRC = 56;
export const K_CT_NW_DST = 57;
export const K_CT_NW_PROTO = 58;
export const K_CT_TP_SRC = 59;
export const K_CT_TP_DST = 60;
/** skb mark (OVS pkt_mark): zero on receive, set by set_field. */
export const K_PKT_MARK = 61;
export const K_RESERVED1 = 62;
export const K_RESERVED2 = 63;

export const NW_FRAG_ANY = 1;
export const NW_FRAG_LATER = 2;

/** Human names of the key words, for traces and debugging. */
export const KEY_WORD_NAMES: readonly string[] = [
  'in_port', 'vlan_tci', 'dl_dst_hi', 'dl_dst_lo', 'dl_src_hi', 'dl_src_lo', 'dl_type', 'nw_src',
  'nw_dst', 'nw_proto', 'nw_tos', 'nw_ttl', 'tp_src', 'tp_dst', 'arp_sha_hi', 'arp_sha_lo',
  'arp_tha_hi', 'arp_tha_lo', 'nw_frag', 'vlan_tci2', 'tun_flags',
  'ipv6_src0', 'ipv6_src1', 'ipv6_src2', 'ipv6_src3', 'ipv6_dst0', 'ipv6_dst1', 'ipv6_dst2', 'ipv6_dst3',
  'ipv6_label', 'nd_target0', 'nd_target1', 'nd_target2', 'nd_target3',
  'tun_id_hi', 'tun_id_lo', 'tun_src', 'tun_dst',
  'metadata_hi', 'metadata_lo',
  'reg0', 'reg1', 'reg2', 'reg3', 'reg4', 'reg5', 'reg6', 'reg7', 'conj_id',
  'ct_state', 'ct_zone', 'ct_mark', 'ct_label0', 'ct_label1', 'ct_label2', 'ct_label3',
  'ct_nw_src', 'ct_nw_dst', 'ct_nw_proto', 'ct_tp_src', 'ct_tp_dst', 'pkt_mark', 'reserved1', 'reserved2',
];
