/**
 * Checks of single values from the outside (config files, control requests): canonical address
 * forms and a safe description of any value for an error message. Each check throws an Error
 * whose message says what is wrong without the field's name; callers prefix the name or path.
 */

/** A value as an error message may quote it: short, never `[object Object]`, never recursive. */
export function show(v: unknown): string {
  if (typeof v === 'string') return JSON.stringify(v.length > 40 ? `${v.slice(0, 40)}…` : v);
  if (typeof v === 'number' || typeof v === 'boolean' || typeof v === 'bigint') return String(v);
  if (v === null) return 'null';
  if (v === undefined) return 'nothing';
  if (Array.isArray(v)) return `an array`;
  return 'an object';
}

/** `key=value` as a CLI user typed it (value strings as they are, anything else described). */
export function kv(key: string, v: unknown): string {
  return typeof v === 'string' ? `${key}=${v.length > 40 ? v.slice(0, 40) + '…' : v}` : `${key}=${show(v)}`;
}

// An octet in canonical decimal: no sign, no leading zero (`010` is octal to inet_aton), 0..255.
const OCTET = '(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])';
const IPV4 = new RegExp(`^${OCTET}\\.${OCTET}\\.${OCTET}\\.${OCTET}$`);
const CIDR = new RegExp(`^${OCTET}\\.${OCTET}\\.${OCTET}\\.${OCTET}/(3[0-2]|[12]?[0-9])$`);
const MAC = /^[0-9a-fA-F]{2}(:[0-9a-fA-F]{2}){5}$/;

function octets(m: RegExpExecArray): number {
  return ((Number(m[1]) << 24) | (Number(m[2]) << 16) | (Number(m[3]) << 8) | Number(m[4])) >>> 0;
}

/** A dotted-quad IPv4 address in canonical form (`10.0.0.1`), as a number. */
export function ipv4(v: unknown): number {
  if (typeof v !== 'string') throw new Error(`must be an IPv4 address string, got ${show(v)}`);
  const m = IPV4.exec(v);
  if (!m) throw new Error(`${show(v)} is not an IPv4 address in canonical form (a.b.c.d, decimal, no leading zeros or spaces)`);
  return octets(m);
}

/** `a.b.c.d/len` in canonical form. */
export function cidr(v: unknown): { addr: number; len: number } {
  if (typeof v !== 'string') throw new Error(`must be an address/prefix string, got ${show(v)}`);
  const m = CIDR.exec(v);
  if (!m) throw new Error(`${show(v)} is not an IPv4 address/prefix in canonical form (a.b.c.d/N, N in 0..32)`);
  return { addr: octets(m), len: Number(m[5]) };
}

export function mask(len: number): number {
  return len === 0 ? 0 : (0xffffffff << (32 - len)) >>> 0;
}

export function fmtIp(a: number): string {
  return `${a >>> 24}.${(a >>> 16) & 0xff}.${(a >>> 8) & 0xff}.${a & 0xff}`;
}

/** A unicast host address: not 0.0.0.0, loopback, multicast, class E or broadcast. */
export function unicastIpv4(v: unknown): number {
  const a = ipv4(v);
  const first = a >>> 24;
  if (a === 0) throw new Error(`${show(v)} is the unspecified address`);
  if (a === 0xffffffff) throw new Error(`${show(v)} is the broadcast address`);
  if (first === 127) throw new Error(`${show(v)} is a loopback address`);
  if (first >= 224) throw new Error(`${show(v)} is a multicast or reserved address`);
  return a;
}

/** A host address with its subnet (`10.0.1.1/24`): unicast, not the subnet's network or broadcast address. */
export function hostCidr(v: unknown, minLen = 1, maxLen = 30): { addr: number; len: number; net: number } {
  const c = cidr(v);
  if (c.len < minLen || c.len > maxLen) throw new Error(`${show(v)}: the prefix length must be ${minLen}..${maxLen}`);
  unicastIpv4(fmtIp(c.addr));
  const m = mask(c.len);
  const net = (c.addr & m) >>> 0;
  if (c.addr === net) throw new Error(`${show(v)} is the network address of its subnet, not a host address`);
  if (c.addr === (net | ~m) >>> 0) throw new Error(`${show(v)} is the broadcast address of its subnet`);
  return { ...c, net };
}

/** A network (`10.0.1.0/24`): no host bits set, as `ip route` requires. */
export function network(v: unknown): { addr: number; len: number } {
  const c = cidr(v);
  if (((c.addr & mask(c.len)) >>> 0) !== c.addr) throw new Error(`${show(v)} has host bits set (the network is ${fmtIp((c.addr & mask(c.len)) >>> 0)}/${c.len})`);
  return c;
}

/** Is `a` inside `net/len`? */
export function inSubnet(a: number, net: number, len: number): boolean {
  return ((a & mask(len)) >>> 0) === ((net & mask(len)) >>> 0);
}

/** A unicast, non-zero MAC in the canonical `aa:bb:cc:dd:ee:ff` form, lower-cased. */
export function unicastMac(v: unknown): string {
  if (typeof v !== 'string') throw new Error(`must be a MAC address string, got ${show(v)}`);
  if (!MAC.test(v)) throw new Error(`${show(v)} is not a MAC address (aa:bb:cc:dd:ee:ff)`);
  const mac = v.toLowerCase();
  if (mac === '00:00:00:00:00:00') throw new Error(`${show(v)} is the zero MAC address`);
  if (mac === 'ff:ff:ff:ff:ff:ff') throw new Error(`${show(v)} is the broadcast MAC address`);
  if (parseInt(mac.slice(0, 2), 16) & 1) throw new Error(`${show(v)} is a multicast MAC address (the first octet is odd)`);
  return mac;
}

/** An integer in lo..hi. */
export function int(v: unknown, lo: number, hi: number): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < lo || v > hi) throw new Error(`must be an integer in ${lo}..${hi}${v === undefined ? '' : `, got ${show(v)}`}`);
  return v;
}

export function bool(v: unknown): boolean {
  if (typeof v !== 'boolean') throw new Error(`must be true or false, got ${show(v)}`);
  return v;
}

export function nonEmptyString(v: unknown): string {
  if (typeof v !== 'string' || v === '') throw new Error(`must be a non-empty string${v === undefined ? '' : `, got ${show(v)}`}`);
  return v;
}

/**
 * The path of the first place deeper than `limit` levels of arrays/objects, or undefined. Walks
 * with an explicit stack, so a hostile nesting cannot overflow the call stack here.
 */
export function tooDeep(root: unknown, limit: number): string | undefined {
  const stack: { v: unknown; path: string; depth: number }[] = [{ v: root, path: '', depth: 0 }];
  while (stack.length > 0) {
    const { v, path, depth } = stack.pop()!;
    if (typeof v !== 'object' || v === null) continue;
    if (depth >= limit) return path || '(top level)';
    if (Array.isArray(v)) v.forEach((x, i) => stack.push({ v: x, path: `${path}[${i}]`, depth: depth + 1 }));
    else for (const [k, x] of Object.entries(v)) stack.push({ v: x, path: path ? `${path}.${k}` : k, depth: depth + 1 });
  }
  return undefined;
}
