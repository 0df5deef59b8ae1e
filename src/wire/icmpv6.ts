/**
 * ICMPv6 (RFC 4443) and the Neighbor Discovery messages the flow key looks into (RFC 4861 §4.3,
 * §4.4): a Neighbor Solicitation / Advertisement carries a target address and options, of which
 * the source / target link-layer address options give OVS's `nd_sll` / `nd_tll`.
 *
 *    0                   1                   2                   3
 *    0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 *   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *   |   Type (0)    |   Code (1)    |          Checksum (2-3)       |
 *   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *   |              Reserved / R S O flags (4-7)                     |   NS / NA
 *   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *   |                      Target Address (8-23)                    |
 *   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *   |   Options (24-): Type (1) | Length in 8-octet units (1) | ... |
 */

export const TYPE = 0; // 0
export const CODE = 1; // 1
export const CHECKSUM = 2; // 2-3
/** Bytes every ICMPv6 message has (type, code, checksum). */
export const HEADER_LEN = 4;

export const ND_NEIGHBOR_SOLICIT = 135;
export const ND_NEIGHBOR_ADVERT = 136;
export const ND_TARGET = 8; // 8-23
/** NS/NA up to and including the target address. */
export const ND_MIN_LEN = 24;

export const ND_OPT_SOURCE_LINKADDR = 1;
export const ND_OPT_TARGET_LINKADDR = 2;
export const ND_OPT_TYPE = 0;
export const ND_OPT_LEN = 1; // in units of 8 octets; 0 is invalid (RFC 4861 §4.6)
export const ND_OPT_UNIT = 8;
/** A link-layer address option for Ethernet: type, len=1, 6-byte MAC. */
export const ND_LLA_MAC = 2; // 2-7

export function isNeighborDiscovery(type: number, code: number): boolean {
  return code === 0 && (type === ND_NEIGHBOR_SOLICIT || type === ND_NEIGHBOR_ADVERT);
}

/** Error messages (RFC 4443 §3): each quotes as much of the offending packet as fits after 8 bytes. */
export const DST_UNREACH = 1;
export const PACKET_TOO_BIG = 2;
export const TIME_EXCEEDED = 3;
export const PARAM_PROB = 4;
/** Echo (RFC 4443 §4): type, code, checksum, then identifier (4-5) and sequence (6-7). */
export const ECHO_REQUEST = 128;
export const ECHO_REPLY = 129;
export const ID = 4; // 4-5 (echo)
export const ECHO_LEN = 8;
/** Where an error message's quoted packet starts (after type, code, checksum and 4 bytes). */
export const ERROR_QUOTE = 8;

/** An error message that quotes the packet it is about (what conntrack calls related). */
export function isError(type: number): boolean {
  return type >= DST_UNREACH && type <= PARAM_PROB;
}
export function echoId(b: Uint8Array, p: number): number {
  return (b[p + ID] << 8) | b[p + ID + 1];
}
