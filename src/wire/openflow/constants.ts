/**
 * OpenFlow 1.3 numbers (OpenFlow Switch Specification 1.3.5, `openflow.h`) and the Nicira
 * extension numbers Open vSwitch and Neutron use (OVS `nicira-ext.h`, `ofp-actions.c`).
 * Names follow the specification with the OFP prefix dropped.
 */

export const OFP13_VERSION = 0x04;
export const HEADER_LEN = 8;
/** The length field is 16 bits: no message is longer. */
export const MAX_MESSAGE_LEN = 0xffff;

/** ofp_type */
export const T = {
  HELLO: 0,
  ERROR: 1,
  ECHO_REQUEST: 2,
  ECHO_REPLY: 3,
  EXPERIMENTER: 4,
  FEATURES_REQUEST: 5,
  FEATURES_REPLY: 6,
  GET_CONFIG_REQUEST: 7,
  GET_CONFIG_REPLY: 8,
  SET_CONFIG: 9,
  PACKET_IN: 10,
  FLOW_REMOVED: 11,
  PORT_STATUS: 12,
  PACKET_OUT: 13,
  FLOW_MOD: 14,
  GROUP_MOD: 15,
  PORT_MOD: 16,
  TABLE_MOD: 17,
  MULTIPART_REQUEST: 18,
  MULTIPART_REPLY: 19,
  BARRIER_REQUEST: 20,
  BARRIER_REPLY: 21,
  QUEUE_GET_CONFIG_REQUEST: 22,
  QUEUE_GET_CONFIG_REPLY: 23,
  ROLE_REQUEST: 24,
  ROLE_REPLY: 25,
  GET_ASYNC_REQUEST: 26,
  GET_ASYNC_REPLY: 27,
  SET_ASYNC: 28,
  METER_MOD: 29,
} as const;

/** ofp_error_type and the codes tvs sends (ofp_*_code). */
export const ET = {
  HELLO_FAILED: 0,
  BAD_REQUEST: 1,
  BAD_ACTION: 2,
  BAD_INSTRUCTION: 3,
  BAD_MATCH: 4,
  FLOW_MOD_FAILED: 5,
  GROUP_MOD_FAILED: 6,
  PORT_MOD_FAILED: 7,
  TABLE_MOD_FAILED: 8,
  QUEUE_OP_FAILED: 9,
  SWITCH_CONFIG_FAILED: 10,
  ROLE_REQUEST_FAILED: 11,
  METER_MOD_FAILED: 12,
  TABLE_FEATURES_FAILED: 13,
  EXPERIMENTER: 0xffff,
} as const;
export const HELLO_FAILED = { INCOMPATIBLE: 0, EPERM: 1 } as const;
export const BAD_REQUEST = {
  BAD_VERSION: 0,
  BAD_TYPE: 1,
  BAD_MULTIPART: 2,
  BAD_EXPERIMENTER: 3,
  BAD_EXP_TYPE: 4,
  EPERM: 5,
  BAD_LEN: 6,
  BUFFER_EMPTY: 7,
  BUFFER_UNKNOWN: 8,
  BAD_TABLE_ID: 9,
  IS_SLAVE: 10,
  BAD_PORT: 11,
  BAD_PACKET: 12,
  MULTIPART_BUFFER_OVERFLOW: 13,
} as const;
export const BAD_ACTION = {
  BAD_TYPE: 0,
  BAD_LEN: 1,
  BAD_EXPERIMENTER: 2,
  BAD_EXP_TYPE: 3,
  BAD_OUT_PORT: 4,
  BAD_ARGUMENT: 5,
  EPERM: 6,
  TOO_MANY: 7,
  BAD_QUEUE: 8,
  BAD_OUT_GROUP: 9,
  MATCH_INCONSISTENT: 10,
  UNSUPPORTED_ORDER: 11,
  BAD_TAG: 12,
  BAD_SET_TYPE: 13,
  BAD_SET_LEN: 14,
  BAD_SET_ARGUMENT: 15,
} as const;
export const BAD_INSTRUCTION = {
  UNKNOWN_INST: 0,
  UNSUP_INST: 1,
  BAD_TABLE_ID: 2,
  UNSUP_METADATA: 3,
  UNSUP_METADATA_MASK: 4,
  BAD_EXPERIMENTER: 5,
  BAD_EXP_TYPE: 6,
  BAD_LEN: 7,
  EPERM: 8,
} as const;
export const BAD_MATCH = {
  BAD_TYPE: 0,
  BAD_LEN: 1,
  BAD_TAG: 2,
  BAD_DL_ADDR_MASK: 3,
  BAD_NW_ADDR_MASK: 4,
  BAD_WILDCARDS: 5,
  BAD_FIELD: 6,
  BAD_VALUE: 7,
  BAD_MASK: 8,
  BAD_PREREQ: 9,
  DUP_FIELD: 10,
  EPERM: 11,
} as const;
export const FLOW_MOD_FAILED = {
  UNKNOWN: 0,
  TABLE_FULL: 1,
  BAD_TABLE_ID: 2,
  OVERLAP: 3,
  EPERM: 4,
  BAD_TIMEOUT: 5,
  BAD_COMMAND: 6,
  BAD_FLAGS: 7,
} as const;
export const ROLE_REQUEST_FAILED = { STALE: 0, UNSUP: 1, BAD_ROLE: 2 } as const;
export const TABLE_FEATURES_FAILED = { BAD_TABLE: 0, BAD_METADATA: 1, BAD_TYPE: 2, BAD_LEN: 3, BAD_ARGUMENT: 4, EPERM: 5 } as const;

/** ofp_port_no: OpenFlow 1.3 port numbers are 32 bits; the reserved ones sit at the top. */
export const OFPP13_MAX = 0xffffff00;
export const OFPP13_IN_PORT = 0xfffffff8;
export const OFPP13_TABLE = 0xfffffff9;
export const OFPP13_NORMAL = 0xfffffffa;
export const OFPP13_FLOOD = 0xfffffffb;
export const OFPP13_ALL = 0xfffffffc;
export const OFPP13_CONTROLLER = 0xfffffffd;
export const OFPP13_LOCAL = 0xfffffffe;
export const OFPP13_ANY = 0xffffffff;

/** ofp_vlan_id: the bit of an OXM vlan_vid that says a tag is present (0 = no tag). */
export const OFPVID_PRESENT = 0x1000;
export const OFPG_ANY = 0xffffffff;
export const OFPTT_ALL = 0xff;
export const NO_BUFFER = 0xffffffff;
/** max_len of an output to the controller meaning "send the whole packet". */
export const OFPCML_NO_BUFFER = 0xffff;

/** OpenFlow 1.0 (16-bit) port numbers → 1.3 (32-bit): reserved ports move to the top. */
export function port16to32(p: number): number {
  return p >= 0xff00 ? (0xffff0000 + p) >>> 0 : p;
}
/** OpenFlow 1.3 port → 1.0 numbering, or -1 when it has no 16-bit equivalent. */
export function port32to16(p: number): number {
  if (p >= OFPP13_MAX) return (p - 0xffff0000) >>> 0;
  return p < 0xff00 ? p : -1;
}

export const FC = { ADD: 0, MODIFY: 1, MODIFY_STRICT: 2, DELETE: 3, DELETE_STRICT: 4 } as const;
/** ofp_flow_mod_flags */
export const FF = { SEND_FLOW_REM: 1, CHECK_OVERLAP: 2, RESET_COUNTS: 4, NO_PKT_COUNTS: 8, NO_BYT_COUNTS: 16 } as const;

/** ofp_multipart_type */
export const MP = {
  DESC: 0,
  FLOW: 1,
  AGGREGATE: 2,
  TABLE: 3,
  PORT_STATS: 4,
  QUEUE: 5,
  GROUP: 6,
  GROUP_DESC: 7,
  GROUP_FEATURES: 8,
  METER: 9,
  METER_CONFIG: 10,
  METER_FEATURES: 11,
  TABLE_FEATURES: 12,
  PORT_DESC: 13,
  EXPERIMENTER: 0xffff,
} as const;
export const MPF_REPLY_MORE = 1;

/** ofp_instruction_type */
export const IT = { GOTO_TABLE: 1, WRITE_METADATA: 2, WRITE_ACTIONS: 3, APPLY_ACTIONS: 4, CLEAR_ACTIONS: 5, METER: 6, EXPERIMENTER: 0xffff } as const;

/** ofp_action_type */
export const AT = {
  OUTPUT: 0,
  COPY_TTL_OUT: 11,
  COPY_TTL_IN: 12,
  SET_MPLS_TTL: 15,
  DEC_MPLS_TTL: 16,
  PUSH_VLAN: 17,
  POP_VLAN: 18,
  PUSH_MPLS: 19,
  POP_MPLS: 20,
  SET_QUEUE: 21,
  GROUP: 22,
  SET_NW_TTL: 23,
  DEC_NW_TTL: 24,
  SET_FIELD: 25,
  PUSH_PBB: 26,
  POP_PBB: 27,
  EXPERIMENTER: 0xffff,
} as const;

/** Nicira's experimenter id and the NXAST_* subtypes tvs knows. */
export const NX_VENDOR_ID = 0x00002320;
export const NXAST = {
  RESUBMIT: 1,
  REG_MOVE: 6,
  REG_LOAD: 7,
  NOTE: 8,
  RESUBMIT_TABLE: 14,
  LEARN: 16,
  DEC_TTL: 18,
  CONJUNCTION: 34,
  CT: 35,
  NAT: 36,
  CT_CLEAR: 43,
  RESUBMIT_TABLE_CT: 44,
} as const;

/** nx_action_conntrack flags (NX_CT_F_*) and nx_action_nat flags / range_present bits. */
export const NX_CT_F = { COMMIT: 1, FORCE: 2 } as const;
export const NX_NAT_F = { SRC: 1, DST: 2, PERSISTENT: 4, PROTO_HASH: 8, PROTO_RANDOM: 16 } as const;
export const NX_NAT_RANGE = { IPV4_MIN: 1, IPV4_MAX: 2, IPV6_MIN: 4, IPV6_MAX: 8, PROTO_MIN: 16, PROTO_MAX: 32 } as const;

/** nx_action_learn flags (NX_LEARN_F_*). */
export const NX_LEARN_F = { SEND_FLOW_REM: 1, DELETE_LEARNED: 2, WRITE_RESULT: 4 } as const;

/** ofp_packet_in_reason / ofp_flow_removed_reason / ofp_port_reason */
export const PR = { NO_MATCH: 0, ACTION: 1, INVALID_TTL: 2 } as const;
export const RR = { IDLE_TIMEOUT: 0, HARD_TIMEOUT: 1, DELETE: 2, GROUP_DELETE: 3 } as const;
export const PORT_REASON = { ADD: 0, DELETE: 1, MODIFY: 2 } as const;
/** ofp_port_config / ofp_port_state bits tvs reports. */
export const OFPPC_PORT_DOWN = 1;
export const OFPPS_LINK_DOWN = 1;
export const OFPPS_LIVE = 4;

/** ofp_controller_role */
export const ROLE = { NOCHANGE: 0, EQUAL: 1, MASTER: 2, SLAVE: 3 } as const;

/** ofp_capabilities */
export const CAP = { FLOW_STATS: 1, TABLE_STATS: 2, PORT_STATS: 4, GROUP_STATS: 8, IP_REASM: 0x20, QUEUE_STATS: 0x40, PORT_BLOCKED: 0x100 } as const;

/** HELLO element type: the version bitmap. */
export const HELLO_ELEM_VERSIONBITMAP = 1;
export const OFPMT_OXM = 1;
