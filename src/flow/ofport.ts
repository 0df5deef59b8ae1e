/**
 * Special OpenFlow port numbers (OpenFlow 1.0 numbering, as ovs-ofctl prints them). They name
 * where a flow sends a frame (`output:NORMAL`, `in_port=LOCAL`); the bridge assigns real ports
 * below OFPP_MAX.
 */
export const OFPP_MAX = 0xff00;
export const OFPP_IN_PORT = 0xfff8;
export const OFPP_TABLE = 0xfff9;
export const OFPP_NORMAL = 0xfffa;
export const OFPP_FLOOD = 0xfffb;
export const OFPP_ALL = 0xfffc;
export const OFPP_CONTROLLER = 0xfffd;
export const OFPP_LOCAL = 0xfffe;
export const OFPP_NONE = 0xffff;
