/**
 * Every port of the switch, indexed by SwitchPort.id, and how a port is made and unmade:
 * name and number checks, its I/O from the factory (all port kinds), its bridge attachment and
 * patch pairing; on removal, the frames still queued for it go back to the arena.
 */
import { PacketArena } from '../packet/arena';
import { Port } from '../io/port';
import { PortVlan } from '../l2/port-vlan';
import { OFPP_LOCAL, OFPP_MAX } from '../flow/ofport';
import type { Bridge } from './bridge';
import { PortConfig, PORT_TYPES, SwitchPort } from './switch-port';
import { IoFactory } from './io-factory';

export class PortTable {
  /** Index = SwitchPort.id; a removed port leaves a hole that the next port reuses. */
  readonly slots: (SwitchPort | undefined)[] = [];

  constructor(
    private readonly arena: PacketArena,
    private readonly io: IoFactory,
  ) {}

  /** Find a port by name on any bridge (port names are unique switch-wide, as in OVS). */
  find(name: string): SwitchPort | undefined {
    for (const p of this.slots) if (p && p.name === name) return p;
    return undefined;
  }

  all(): SwitchPort[] {
    return this.slots.filter((p): p is SwitchPort => p !== undefined);
  }

  add(br: Bridge, name: string, config: PortConfig): SwitchPort {
    checkName('port', name);
    if (!PORT_TYPES.includes(config.type)) {
      throw new Error(`port ${name}: unknown type '${config.type}' (one of ${PORT_TYPES.join(', ')})`);
    }
    if (config.type === 'local') {
      // OVS's LOCAL port: one per bridge, named after it, always OpenFlow port 0xfffe.
      if (name !== br.name) throw new Error(`the LOCAL port of bridge ${br.name} is named ${br.name}, not '${name}'`);
      if (br.local) throw new Error(`bridge ${br.name} has a LOCAL port already`);
      const other = this.find(name);
      if (other) throw new Error(`bridge ${br.name}: its LOCAL port is named after the bridge, but port '${name}' of bridge ${other.bridge.name} has that name`);
    }
    if (this.find(name)) throw new Error(`a port named '${name}' already exists`);
    let ofport = config.ofport;
    if (config.type === 'local') {
      ofport = OFPP_LOCAL;
    } else if (ofport !== undefined) {
      if (!Number.isInteger(ofport) || ofport < 1 || ofport >= OFPP_MAX) throw new Error(`port ${name}: ofport=${ofport} must be in 1..65279`);
      if (br.portAt(ofport)) throw new Error(`port ${name}: ofport ${ofport} is already used by '${br.portName(ofport)}' on ${br.name}`);
    } else {
      ofport = br.nextOfport();
    }
    const vlan = new PortVlan(config.tag, config.trunks);
    if (config.type === 'patch' && !config.peer) throw new Error(`patch port ${name}: needs peer=PORT`);
    if (config.type !== 'patch' && config.peer) throw new Error(`port ${name}: peer= only applies to type=patch`);

    const io: Port | null = this.io.open(name, this.arena, config);

    let id = this.slots.indexOf(undefined);
    if (id < 0) id = this.slots.length;
    const p = new SwitchPort(id, name, br, ofport, vlan, io, { ...config, ofport });
    this.slots[id] = p;
    br.attach(p);
    if (config.type === 'patch') this.linkPatch(p);
    return p;
  }

  private linkPatch(p: SwitchPort): void {
    const peer = this.find(p.config.peer!);
    if (!peer) return; // the peer may be added later; both ends link then
    if (peer.type !== 'patch') throw new Error(`patch port ${p.name}: peer '${peer.name}' is not a patch port`);
    if (peer.config.peer !== p.name) return;
    p.peer = peer;
    peer.peer = p;
  }

  remove(br: Bridge, p: SwitchPort): void {
    if (p.io) {
      p.io.close();
    }
    if (p.peer) {
      p.peer.peer = null;
      p.peer = null;
    }
    // Frames still queued for or from this port go back to the arena.
    for (let i = 0; i < p.txCount; i++) this.arena.release(p.tx[i]);
    p.txCount = 0;
    for (let i = 0; i < p.ingress.count; i++) this.arena.release(p.ingress.slots[i]);
    p.ingress.count = 0;
    br.detach(p);
    this.slots[p.id] = undefined;
  }
}

/** Bridge and port names: at most IFNAMSIZ - 1 bytes, as Linux interface names. */
export const NAME_MAX = 15;
export const PORT_NAME_RULE = "1-15 characters of letters, digits, '_', '.', ':', '@', '-'";
/**
 * A bridge's name is also its LOCAL port's, an interface name (OVS makes that port for every
 * bridge): so besides the port rule, none of what Linux refuses in one (dev_valid_name: ':',
 * '/', whitespace, '.' and '..'), which OVS refuses then too.
 */
export const BRIDGE_NAME_RULE = "1-15 characters of letters, digits, '_', '.', '@', '-', and not '.' or '..' (it is also the name of the bridge's LOCAL port, an interface)";

/** What is wrong with `name` as the name of a bridge or a port (a router's, too), or undefined. */
export function nameProblem(what: 'bridge' | 'port' | 'interface', name: unknown): string | undefined {
  const bridge = what === 'bridge';
  const rule = bridge ? BRIDGE_NAME_RULE : PORT_NAME_RULE;
  if (typeof name !== 'string') return `invalid ${what} name: ${name === undefined ? 'missing' : `a ${typeof name}, not a string`} (${rule})`;
  const shown = JSON.stringify(name);
  if (name.length === 0) return `invalid ${what} name "": empty (${rule})`;
  for (const ch of name) {
    if (!/[A-Za-z0-9_.:@-]/.test(ch) || (bridge && ch === ':')) return `invalid ${what} name ${shown}: ${charName(ch)} is not allowed (${rule})`;
  }
  if (name.length > NAME_MAX) return `invalid ${what} name ${shown}: ${name.length} characters, at most ${NAME_MAX} (${rule})`;
  if (bridge && (name === '.' || name === '..')) return `invalid bridge name ${shown}: '.' and '..' are not interface names (${rule})`;
  return undefined;
}

function charName(ch: string): string {
  if (ch === ' ') return 'a space';
  if (ch === '\t') return 'a tab';
  if (ch === '\n') return 'a newline';
  if (/[\x21-\x7e]/.test(ch)) return `'${ch}'`;
  return `U+${ch.codePointAt(0)!.toString(16).toUpperCase().padStart(4, '0')}`;
}

/** Throw nameProblem's message when `name` is not a valid name of a `what`. */
export function checkName(what: 'bridge' | 'port' | 'interface', name: string): void {
  const problem = nameProblem(what, name);
  if (problem !== undefined) throw new Error(problem);
}
