/**
 * How ovs-ofctl prints single values: port numbers and names, MAC and IPv4 addresses, numbers
 * with C's "%#x", 16-bit masked numbers (OVS ofputil_format_port, ip_format_masked,
 * format_be16_masked). Shared by the match and the action printers.
 */
import { OFPP_ALL, OFPP_CONTROLLER, OFPP_FLOOD, OFPP_IN_PORT, OFPP_LOCAL, OFPP_NONE, OFPP_NORMAL, OFPP_TABLE } from '../ofport';

/** Port number → name, or undefined to print the number. */
export type PortNamer = (ofport: number) => string | undefined;

const RESERVED_NAMES: Record<number, string> = {
  [OFPP_IN_PORT]: 'IN_PORT',
  [OFPP_TABLE]: 'TABLE',
  [OFPP_NORMAL]: 'NORMAL',
  [OFPP_FLOOD]: 'FLOOD',
  [OFPP_ALL]: 'ALL',
  [OFPP_CONTROLLER]: 'CONTROLLER',
  [OFPP_LOCAL]: 'LOCAL',
  [OFPP_NONE]: 'NONE',
};

/** OVS `name_needs_quotes`: only a letter followed by letters/digits prints bare. */
export function formatPortName(name: string): string {
  return /^[A-Za-z][A-Za-z0-9]*$/.test(name) ? name : JSON.stringify(name);
}

export function formatPort(port: number, names?: PortNamer): string {
  const r = RESERVED_NAMES[port];
  if (r !== undefined) return r;
  const n = names?.(port);
  return n !== undefined ? formatPortName(n) : String(port);
}

/** C printf "%#x": 0 prints as "0", anything else as 0x... */
export function hashX(v: number | bigint): string {
  return v === 0 || v === 0n ? '0' : '0x' + v.toString(16);
}

export function hex4(v: number): string {
  return '0x' + v.toString(16).padStart(4, '0');
}

export function macStr(hi: number, lo: number): string {
  const b = [hi >>> 8, hi & 0xff, lo >>> 24, (lo >>> 16) & 0xff, (lo >>> 8) & 0xff, lo & 0xff];
  return b.map((x) => x.toString(16).padStart(2, '0')).join(':');
}
export function formatMac(mac: number): string {
  return macStr(Math.floor(mac / 0x100000000), mac >>> 0);
}
export function formatIp(v: number): string {
  return `${v >>> 24}.${(v >>> 16) & 0xff}.${(v >>> 8) & 0xff}.${v & 0xff}`;
}

/** OVS ip_format_masked: a.b.c.d, a.b.c.d/len for CIDR masks, else a.b.c.d/m.m.m.m. */
export function ipMasked(v: number, m: number): string {
  if (m === 0xffffffff) return formatIp(v);
  const inv = ~m >>> 0;
  if ((inv & (inv + 1)) === 0) {
    let len = 0;
    for (let x = m; x !== 0; x = (x << 1) >>> 0) len++;
    return `${formatIp(v)}/${len}`;
  }
  return `${formatIp(v)}/${formatIp(m)}`;
}

/** format_be16_masked: decimal when exact, 0xV/0xM otherwise. */
export function be16Masked(v: number, m: number): string {
  return m === 0xffff ? String(v) : `0x${v.toString(16)}/0x${m.toString(16)}`;
}
