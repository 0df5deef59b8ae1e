/**
 * A bridge's `other-config` keys, as OVS names them (ovs-vsctl set bridge BR
 * other-config:KEY=VALUE): the one tvs has is `datapath-id` (16 hex digits, not all zero; an
 * empty value removes it and the default id comes back). Read by `tvs add-br` / `tvs
 * set-bridge`, the config file's `otherConfig` object and reload (save-config and show print
 * datapath/views.ts bridgeOtherConfig); every value is checked before anything changes.
 */
import type { Bridge } from '../datapath/bridge';
import { parseDatapathId } from '../datapath/datapath-id';

export const OTHER_CONFIG_KEYS = ['datapath-id'] as const;

/** Checked other-config settings: undefined = leave as it is, null = remove. */
export interface OtherConfig {
  datapathId?: bigint | null;
}

/** key → value text (from `other-config:KEY=VALUE` words or the config file) → checked settings. */
export function parseOtherConfig(kv: Record<string, unknown>): OtherConfig {
  const out: OtherConfig = {};
  for (const [key, value] of Object.entries(kv)) {
    if (typeof value !== 'string') throw new Error(`other-config:${key} must be a string, got ${JSON.stringify(value)}`);
    switch (key) {
      case 'datapath-id':
        out.datapathId = value === '' ? null : parseDatapathId(value);
        break;
      default:
        throw new Error(`unknown bridge setting other-config:${key} (known: ${OTHER_CONFIG_KEYS.map((k) => `other-config:${k}`).join(', ')})`);
    }
  }
  return out;
}

/** `other-config:KEY=VALUE` words (tvs add-br / set-bridge) → key → value. */
export function otherConfigWords(words: readonly string[]): Record<string, string> {
  const kv: Record<string, string> = {};
  for (const w of words) {
    const m = /^other[-_]config:([a-z0-9_-]+)=(.*)$/.exec(w);
    if (!m) throw new Error(`'${w}' is not other-config:KEY=VALUE (e.g. other-config:datapath-id=00000000000000a1) or local_port=true|false`);
    kv[m[1]] = m[2];
  }
  return kv;
}

/**
 * The words after BRIDGE in `tvs add-br` / `tvs set-bridge`: `other-config:KEY=VALUE` and
 * `local_port=true|false` (the bridge's LOCAL port, see Switch.addLocalPort).
 */
export function bridgeWords(words: readonly string[]): { otherConfig: Record<string, string>; localPort?: boolean } {
  const rest: string[] = [];
  let localPort: boolean | undefined;
  for (const w of words) {
    const m = /^local[-_]port=(.*)$/.exec(w);
    if (!m) {
      rest.push(w);
      continue;
    }
    if (m[1] === 'true') localPort = true;
    else if (m[1] === 'false') localPort = false;
    else throw new Error(`'${w}': local_port must be true or false`);
  }
  const otherConfig = otherConfigWords(rest);
  return localPort === undefined ? { otherConfig } : { otherConfig, localPort };
}

export function applyOtherConfig(br: Bridge, oc: OtherConfig): void {
  if (oc.datapathId !== undefined) br.datapathIdConfig = oc.datapathId;
}
