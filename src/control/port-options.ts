/**
 * Port options as `key=value` words (CLI: `tvs add-port BR NAME type=tap tag=5`) or as an object
 * (config file, API), validated into a PortConfig. Errors name the option and say what is allowed.
 */
import { PortConfig, PortType, PORT_TYPES } from '../datapath/switch-port';
import { VlanSet } from '../l2/vlan-set';
import { kv, show } from './values';

const KEYS = ['type', 'ofport', 'tag', 'trunks', 'peer', 'offloads', 'ring', 'persist', 'mtu', 'path', 'mode'] as const;

/** A bad option: its key, and what is wrong with its value (the message says `key=value: why`). */
export class OptionError extends Error {
  constructor(
    readonly key: string,
    readonly value: unknown,
    readonly why: string,
  ) {
    super(value === undefined ? `${key}: ${why}` : `${kv(key, value)}: ${why}`);
  }
}

function intIn(key: string, v: unknown, lo: number, hi: number): number {
  const n = typeof v === 'number' ? v : typeof v === 'string' && /^\d+$/.test(v) ? Number(v) : NaN;
  if (!Number.isInteger(n) || n < lo || n > hi) throw new OptionError(key, v, `must be an integer in ${lo}..${hi}`);
  return n;
}

function bool(key: string, v: unknown): boolean {
  if (v === true || v === 'true' || v === 'on' || v === 'yes' || v === '1') return true;
  if (v === false || v === 'false' || v === 'off' || v === 'no' || v === '0') return false;
  throw new OptionError(key, v, 'must be true|false (or on|off)');
}

/**
 * Validate an options object (values may be strings, as from the CLI) for port `name`.
 * Without `report`, the first bad option throws (`WHERE: key=value: why`); with it, every bad
 * option is reported and skipped, so a config file's errors come out all at once.
 */
export function portConfigFrom(o: Record<string, unknown>, where = '', report?: (e: OptionError) => void): PortConfig {
  const at = where ? `${where}: ` : '';
  const c: PortConfig = { type: 'afpacket' };
  const check = (key: string, fn: () => void) => {
    try {
      fn();
    } catch (e) {
      const msg = (e as Error).message;
      // Messages that already name the option (`trunks: '5000' is outside 0..4095`) stay as they are.
      const err = e instanceof OptionError ? e : msg.startsWith(`${key}: `) ? new OptionError(key, undefined, msg.slice(key.length + 2)) : new OptionError(key, o[key], msg);
      if (!report) throw new Error(at + err.message);
      report(err);
    }
  };
  for (const k of Object.keys(o)) {
    if (!(KEYS as readonly string[]).includes(k) && k !== 'name') check(k, () => {
      throw new OptionError(k, o[k], `unknown option (known: ${KEYS.join(', ')})`);
    });
  }
  const type = o.type ?? 'afpacket';
  check('type', () => {
    if (type === 'internal') throw new OptionError('type', type, 'internal ports are created by router-add-port and add-dhcp');
    const userTypes = PORT_TYPES.filter((t) => t !== 'internal');
    if (typeof type !== 'string' || !PORT_TYPES.includes(type as PortType)) throw new OptionError('type', type, `one of ${userTypes.join(', ')}`);
    c.type = type as PortType;
  });
  if (o.ofport !== undefined) check('ofport', () => (c.ofport = intIn('ofport', o.ofport, 1, 0xfeff)));
  if (o.tag !== undefined) check('tag', () => (c.tag = intIn('tag', o.tag, 0, 4095)));
  if (o.trunks !== undefined) {
    check('trunks', () => {
      // A 4096-bit set however long the text or list (ranges are never expanded).
      const t = o.trunks;
      if (!Array.isArray(t) && typeof t !== 'string' && typeof t !== 'number') throw new Error(`trunks: expected "10,20,30-35" or a list of VLAN ids, got ${show(t)}`);
      const set = VlanSet.from(Array.isArray(t) ? t : String(t));
      if (set !== null) c.trunks = set;
    });
  }
  if (o.peer !== undefined) {
    check('peer', () => {
      if (typeof o.peer !== 'string' || o.peer === '') throw new OptionError('peer', o.peer, 'must be the name of the other patch port');
      const self = typeof o.name === 'string' ? o.name : undefined;
      if (o.peer === self) throw new OptionError('peer', o.peer, 'a patch port cannot be its own peer');
      c.peer = o.peer;
    });
  }
  if (o.offloads !== undefined) check('offloads', () => (c.offloads = bool('offloads', o.offloads)));
  if (o.ring !== undefined) {
    check('ring', () => {
      if (o.ring !== 'v2' && o.ring !== 'v3') throw new OptionError('ring', o.ring, 'one of v2, v3');
      c.ring = o.ring;
    });
  }
  if (o.persist !== undefined) check('persist', () => (c.persist = bool('persist', o.persist)));
  if (o.mtu !== undefined) check('mtu', () => (c.mtu = intIn('mtu', o.mtu, 68, 65535)));
  if (o.path !== undefined) {
    check('path', () => {
      if (type !== 'unix') throw new OptionError('path', o.path, 'only applies to type=unix');
      if (typeof o.path !== 'string' || !o.path.startsWith('/')) throw new OptionError('path', o.path, 'must be an absolute socket path');
      c.path = o.path;
    });
  }
  if (o.mode !== undefined) {
    check('mode', () => {
      if (type !== 'unix') throw new OptionError('mode', o.mode, 'only applies to type=unix');
      if (o.mode !== 'stream' && o.mode !== 'dgram') throw new OptionError('mode', o.mode, 'one of stream, dgram');
      c.mode = o.mode;
    });
  }
  if (o.type === 'patch' && o.peer === undefined) check('peer', () => {
    throw new OptionError('peer', undefined, 'a patch port needs peer=PORT');
  });
  if (o.type !== 'patch' && typeof o.type === 'string' && o.peer !== undefined) check('peer', () => {
    throw new OptionError('peer', o.peer, 'only applies to type=patch');
  });
  return c;
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
