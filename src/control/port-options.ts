/**
 * Port options as `key=value` words (CLI: `tvs add-port BR NAME type=tap tag=5`) or as an object
 * (config file, API), validated into a PortConfig. Errors name the option and say what is allowed.
 */
import { PortConfig, PortType, PORT_TYPES } from '../datapath/switch-port';
import { VlanSet } from '../l2/vlan-set';

const KEYS = ['type', 'ofport', 'tag', 'trunks', 'peer', 'offloads', 'ring', 'persist', 'mtu', 'path', 'mode'] as const;

function intIn(key: string, v: unknown, lo: number, hi: number): number {
  const n = typeof v === 'number' ? v : typeof v === 'string' && /^\d+$/.test(v) ? Number(v) : NaN;
  if (!Number.isInteger(n) || n < lo || n > hi) throw new Error(`${key}=${v}: must be an integer in ${lo}..${hi}`);
  return n;
}

function bool(key: string, v: unknown): boolean {
  if (v === true || v === 'true' || v === 'on' || v === 'yes' || v === '1') return true;
  if (v === false || v === 'false' || v === 'off' || v === 'no' || v === '0') return false;
  throw new Error(`${key}=${v}: must be true|false (or on|off)`);
}

/** Validate an options object (values may be strings, as from the CLI). */
export function portConfigFrom(o: Record<string, unknown>, where = ''): PortConfig {
  const at = where ? `${where}: ` : '';
  try {
    for (const k of Object.keys(o)) {
      if (!(KEYS as readonly string[]).includes(k) && k !== 'name') throw new Error(`unknown option '${k}' (known: ${KEYS.join(', ')})`);
    }
    const type = (o.type ?? 'afpacket') as string;
    if (type === 'internal') throw new Error('type=internal: internal ports are created by router-add-port and add-dhcp');
    const userTypes = PORT_TYPES.filter((t) => t !== 'internal');
    if (!PORT_TYPES.includes(type as PortType)) throw new Error(`type=${type}: one of ${userTypes.join(', ')}`);
    const c: PortConfig = { type: type as PortType };
    if (o.ofport !== undefined) c.ofport = intIn('ofport', o.ofport, 1, 0xfeff);
    if (o.tag !== undefined) c.tag = intIn('tag', o.tag, 0, 4095);
    if (o.trunks !== undefined) {
      // A 4096-bit set however long the text or list (ranges are never expanded).
      if (!Array.isArray(o.trunks) && typeof o.trunks !== 'string' && typeof o.trunks !== 'number') throw new Error(`trunks: expected "10,20,30-35" or a list of VLAN ids`);
      const set = VlanSet.from(Array.isArray(o.trunks) ? o.trunks : String(o.trunks));
      if (set !== null) c.trunks = set;
    }
    if (o.peer !== undefined) c.peer = String(o.peer);
    if (o.offloads !== undefined) c.offloads = bool('offloads', o.offloads);
    if (o.ring !== undefined) {
      if (o.ring !== 'v2' && o.ring !== 'v3') throw new Error(`ring=${o.ring}: one of v2, v3`);
      c.ring = o.ring;
    }
    if (o.persist !== undefined) c.persist = bool('persist', o.persist);
    if (o.mtu !== undefined) c.mtu = intIn('mtu', o.mtu, 68, 65535);
    if (o.path !== undefined || o.mode !== undefined) {
      if (type !== 'unix') throw new Error('path= and mode= only apply to type=unix');
      if (o.path !== undefined) {
        if (typeof o.path !== 'string' || !o.path.startsWith('/')) throw new Error(`path=${o.path}: must be an absolute socket path`);
        c.path = o.path;
      }
      if (o.mode !== undefined) {
        if (o.mode !== 'stream' && o.mode !== 'dgram') throw new Error(`mode=${o.mode}: one of stream, dgram`);
        c.mode = o.mode;
      }
    }
    return c;
  } catch (e) {
    throw new Error(at + (e as Error).message);
  }
}

/** `["type=tap", "tag=5"]` → object; a word without '=' is an error. */
export function parseKeyValues(words: string[]): Record<string, string> {
  const o: Record<string, string> = {};
  for (const w of words) {
    const i = w.indexOf('=');
    if (i <= 0) throw new Error(`'${w}': expected key=value`);
    o[w.slice(0, i)] = w.slice(i + 1);
  }
  return o;
}
