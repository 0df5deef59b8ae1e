/**
 * The config file (JSON): what `tvs start --config FILE` builds.
 *
 *   {
 *     "macAgingSec": 300,                       // optional, default for every bridge
 *     "bridges": [
 *       { "name": "br-int", "macAgingSec": 300, "macTableSize": 8192,
 *         "ports": [ { "name": "vm1", "type": "afpacket", "tag": 1 },
 *                    { "name": "int-br-eth1", "type": "patch", "peer": "phy-br-eth1" } ] }
 *     ]
 *   }
 *
 * Errors give the path in the file (`bridges[0].ports[1].tag: ...`). Everything is validated
 * before anything is applied, so a bad file changes nothing.
 */
import * as fs from 'fs';
import { Switch } from '../datapath/switch';
import { PortConfig } from '../datapath/switch-port';
import { portConfigFrom } from './port-options';

export interface PortSpec extends PortConfig {
  name: string;
}
export interface BridgeSpec {
  name: string;
  macAgingSec?: number;
  macTableSize?: number;
  ports: PortSpec[];
  flows?: string[];
}
export interface SwitchConfig {
  macAgingSec?: number;
  bridges: BridgeSpec[];
}

function isObj(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function posInt(path: string, v: unknown, lo: number, hi: number): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < lo || v > hi) throw new Error(`${path}: must be an integer in ${lo}..${hi}`);
  return v;
}

export function validateConfig(raw: unknown): SwitchConfig {
  if (!isObj(raw)) throw new Error('config: the top level must be an object');
  for (const k of Object.keys(raw)) if (!['macAgingSec', 'bridges'].includes(k)) throw new Error(`${k}: unknown key (known: macAgingSec, bridges)`);
  const cfg: SwitchConfig = { bridges: [] };
  if (raw.macAgingSec !== undefined) cfg.macAgingSec = posInt('macAgingSec', raw.macAgingSec, 1, 86400);
  const brs = raw.bridges ?? [];
  if (!Array.isArray(brs)) throw new Error('bridges: must be an array');
  const portNames = new Set<string>();
  const brNames = new Set<string>();
  brs.forEach((b, i) => {
    const at = `bridges[${i}]`;
    if (!isObj(b)) throw new Error(`${at}: must be an object`);
    for (const k of Object.keys(b)) if (!['name', 'macAgingSec', 'macTableSize', 'ports', 'flows'].includes(k)) throw new Error(`${at}.${k}: unknown key`);
    if (typeof b.name !== 'string' || b.name === '') throw new Error(`${at}.name: must be a non-empty string`);
    if (brNames.has(b.name)) throw new Error(`${at}.name: bridge '${b.name}' is defined twice`);
    brNames.add(b.name);
    const spec: BridgeSpec = { name: b.name, ports: [] };
    if (b.macAgingSec !== undefined) spec.macAgingSec = posInt(`${at}.macAgingSec`, b.macAgingSec, 1, 86400);
    if (b.macTableSize !== undefined) spec.macTableSize = posInt(`${at}.macTableSize`, b.macTableSize, 1, 1 << 20);
    const ports = b.ports ?? [];
    if (!Array.isArray(ports)) throw new Error(`${at}.ports: must be an array`);
    ports.forEach((p, j) => {
      const pat = `${at}.ports[${j}]`;
      if (!isObj(p)) throw new Error(`${pat}: must be an object`);
      if (typeof p.name !== 'string' || p.name === '') throw new Error(`${pat}.name: must be a non-empty string`);
      if (portNames.has(p.name)) throw new Error(`${pat}.name: port '${p.name}' is defined twice`);
      portNames.add(p.name);
      spec.ports.push({ name: p.name, ...portConfigFrom(p, pat) });
    });
    if (b.flows !== undefined) {
      if (!Array.isArray(b.flows) || b.flows.some((f) => typeof f !== 'string')) throw new Error(`${at}.flows: must be an array of ovs-ofctl flow strings`);
      spec.flows = b.flows as string[];
    }
    cfg.bridges.push(spec);
  });
  return cfg;
}

export function loadConfig(file: string): SwitchConfig {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (e) {
    throw new Error(`config ${file}: ${(e as Error).message}`);
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (e) {
    throw new Error(`config ${file}: not valid JSON: ${(e as Error).message}`);
  }
  try {
    return validateConfig(raw);
  } catch (e) {
    throw new Error(`config ${file}: ${(e as Error).message}`);
  }
}

/**
 * Build the configured bridges and ports. On any failure, what this call created is removed
 * again (the switch is left as it was) and the error names the bridge/port.
 */
export function applyConfig(sw: Switch, cfg: SwitchConfig, applyFlows?: (bridge: string, flows: string[]) => void): void {
  const made: { bridge?: string; port?: [string, string] }[] = [];
  try {
    for (const b of cfg.bridges) {
      const aging = b.macAgingSec ?? cfg.macAgingSec;
      sw.addBridge(b.name, { macAgingMs: aging !== undefined ? aging * 1000 : undefined, macMaxEntries: b.macTableSize });
      made.push({ bridge: b.name });
    }
    for (const b of cfg.bridges) {
      for (const p of b.ports) {
        const { name, ...pc } = p;
        try {
          sw.addPort(b.name, name, pc);
        } catch (e) {
          throw new Error(`bridge ${b.name}, port ${name}: ${(e as Error).message}`);
        }
        made.push({ port: [b.name, name] });
      }
      if (b.flows && b.flows.length > 0) {
        if (!applyFlows) throw new Error(`bridge ${b.name}: flows are not supported by this build`);
        applyFlows(b.name, b.flows);
      }
    }
  } catch (e) {
    for (const m of made.reverse()) {
      try {
        if (m.port) sw.delPort(m.port[0], m.port[1]);
        else if (m.bridge) sw.delBridge(m.bridge);
      } catch {
        /* best effort rollback */
      }
    }
    throw e;
  }
}
