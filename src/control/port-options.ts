/**
 * Port options as `key=value` words (CLI: `tvs add-port BR NAME type=tap tag=5`) or as an object
 * (config file, API), validated into a PortConfig. Errors name the option and say what is allowed.
 */
import { PortConfig, PortType, PORT_TYPES, TUNNEL_TYPES, TunnelConfig } from '../datapath/switch-port';
import { VlanSet } from '../l2/vlan-set';
import { kv, show } from './values';

/** Tunnel options (vxlan, gre), with OVS's names. */
export const TUNNEL_KEYS = ['remote_ip', 'local_ip', 'key', 'dst_port', 'tos', 'ttl', 'df_default'] as const;
const KEYS = ['type', 'ofport', 'tag', 'trunks', 'peer', 'offloads', 'ring', 'tx_ring', 'n_rxq_desc', 'persist', 'mtu', 'path', 'mode', ...TUNNEL_KEYS] as const;

/**
 * n_rxq_desc (AF_PACKET RX ring frames): a power of 2, as OVS-DPDK's option of that name. 64 is
 * a few bursts; 32,768 frames of 2 KiB are 64 MiB of mapped, resident ring per port.
 */
export const RXQ_DESC = { min: 64, max: 32768 } as const;

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
    if (type === 'local') throw new OptionError('type', type, "a bridge's LOCAL port is made with the bridge: add-br BR local_port=true (config file: \"localPort\": true)");
    const userTypes = PORT_TYPES.filter((t) => t !== 'internal' && t !== 'local');
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
  if (o.tx_ring !== undefined) {
    check('tx_ring', () => {
      if (type !== 'afpacket') throw new OptionError('tx_ring', o.tx_ring, 'only applies to type=afpacket');
      c.txRing = bool('tx_ring', o.tx_ring);
    });
  }
  if (o.n_rxq_desc !== undefined) {
    check('n_rxq_desc', () => {
      if (type !== 'afpacket') throw new OptionError('n_rxq_desc', o.n_rxq_desc, 'only applies to type=afpacket');
      if (o.ring === 'v3') throw new OptionError('n_rxq_desc', o.n_rxq_desc, 'only applies to ring=v2 (a v3 ring is 16 blocks)');
      const n = intIn('n_rxq_desc', o.n_rxq_desc, RXQ_DESC.min, RXQ_DESC.max);
      if ((n & (n - 1)) !== 0) throw new OptionError('n_rxq_desc', o.n_rxq_desc, `must be a power of 2 in ${RXQ_DESC.min}..${RXQ_DESC.max}`);
      c.nRxqDesc = n;
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
  tunnelOptions(o, typeof type === 'string' ? type : '', c, check);
  if (o.type === 'patch' && o.peer === undefined) check('peer', () => {
    throw new OptionError('peer', undefined, 'a patch port needs peer=PORT');
  });
  if (o.type !== 'patch' && typeof o.type === 'string' && o.peer !== undefined) check('peer', () => {
    throw new OptionError('peer', o.peer, 'only applies to type=patch');
  });
  return c;
}

function ipv4Text(key: string, v: unknown): string {
  if (typeof v !== 'string' || !/^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.test(v) || v.split('.').some((x) => Number(x) > 255)) {
    throw new OptionError(key, v, 'must be an IPv4 address (A.B.C.D)');
  }
  return v;
}

/** remote_ip, local_ip, key, dst_port, tos, ttl, df_default: only for type=vxlan|gre. */
function tunnelOptions(o: Record<string, unknown>, type: string, c: PortConfig, check: (key: string, fn: () => void) => void): void {
  const isTunnel = (TUNNEL_TYPES as readonly string[]).includes(type);
  for (const k of TUNNEL_KEYS) {
    if (o[k] !== undefined && !isTunnel) check(k, () => {
      throw new OptionError(k, o[k], 'only applies to type=vxlan or type=gre');
    });
  }
  if (!isTunnel) return;
  const t: TunnelConfig = { remoteIp: '' };
  check('remote_ip', () => {
    if (o.remote_ip === undefined) throw new OptionError('remote_ip', undefined, `a ${type} port needs remote_ip=A.B.C.D`);
    if (o.remote_ip === 'flow') throw new OptionError('remote_ip', 'flow', 'remote_ip=flow is not supported: give each remote its own port (as Neutron does)');
    const ip = ipv4Text('remote_ip', o.remote_ip);
    if (ip === '0.0.0.0' || Number(ip.split('.')[0]) >= 224) throw new OptionError('remote_ip', ip, 'must be a unicast address');
    t.remoteIp = ip;
  });
  if (o.local_ip !== undefined) check('local_ip', () => (t.localIp = ipv4Text('local_ip', o.local_ip)));
  if (o.key !== undefined) {
    check('key', () => {
      if (o.key === 'flow') {
        t.key = 'flow';
        return;
      }
      t.key = intIn('key', o.key, 0, type === 'vxlan' ? 0xffffff : 0xffffffff);
    });
  }
  if (o.dst_port !== undefined) {
    check('dst_port', () => {
      if (type !== 'vxlan') throw new OptionError('dst_port', o.dst_port, 'only applies to type=vxlan');
      t.dstPort = intIn('dst_port', o.dst_port, 1, 65535);
    });
  }
  if (o.tos !== undefined) check('tos', () => (t.tos = o.tos === 'inherit' ? 'inherit' : intIn('tos', o.tos, 0, 255)));
  if (o.ttl !== undefined) check('ttl', () => (t.ttl = o.ttl === 'inherit' ? 'inherit' : intIn('ttl', o.ttl, 1, 255)));
  if (o.df_default !== undefined) check('df_default', () => (t.dfDefault = bool('df_default', o.df_default)));
  c.tunnel = t;
}

/** A tunnel config back in its option words (save-config, show). */
export function tunnelOptionsOf(t: TunnelConfig): Record<string, unknown> {
  const o: Record<string, unknown> = { remote_ip: t.remoteIp };
  if (t.localIp !== undefined) o.local_ip = t.localIp;
  if (t.key !== undefined) o.key = t.key;
  if (t.dstPort !== undefined) o.dst_port = t.dstPort;
  if (t.tos !== undefined) o.tos = t.tos;
  if (t.ttl !== undefined) o.ttl = t.ttl;
  if (t.dfDefault !== undefined) o.df_default = t.dfDefault;
  return o;
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
