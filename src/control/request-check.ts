/**
 * Control requests are validated as completely as a config file: the request is applied to a
 * model of the running state (its config, without the flow tables), the model is checked by
 * validate.ts, and the problems found in what the request adds are the request's errors — so
 * `router-add-port` is refused for an address in another interface's subnet exactly as a file
 * with those two interfaces would be. Nothing is applied when there is a problem.
 */
import type { Switch } from '../datapath/switch';
import type { SwitchConfig } from './config';
import { snapshotConfig } from './save-config';
import { checkConfig, ConfigError } from './validate';

/**
 * `change` edits the model and returns the path of what it added or changed (e.g.
 * `routers[0].ports[2]`). Problems under that path are thrown as `field: message`.
 */
export function checkRequest(sw: Switch, change: (model: SwitchConfig) => string): void {
  const model = snapshotConfig(sw, { flows: false });
  const at = change(model);
  try {
    checkConfig(JSON.parse(JSON.stringify(model)), { flows: false });
  } catch (e) {
    if (!(e instanceof ConfigError)) throw e;
    const mine = e.problems.filter((p) => p.path === at || p.path.startsWith(`${at}.`) || p.path.startsWith(`${at}[`));
    if (mine.length === 0) return; // only problems the running state already had
    const field = (path: string) => (path === at ? '' : path.slice(at.length).replace(/^\./, ''));
    // Paths inside messages point into the model, which the requester never saw: drop them.
    const plain = (m: string) => m.replace(/ \((bridges|routers|dhcp)\[[^)]*\)/g, '');
    throw new Error(mine.map((p) => (field(p.path) ? `${field(p.path)}: ${plain(p.message)}` : plain(p.message))).join('; '));
  }
}

/** Index of the router or DHCP network in the model (the handler already knows it exists). */
export function routerIndex(model: SwitchConfig, name: string): number {
  const i = (model.routers ?? []).findIndex((r) => r.name === name);
  if (i < 0) throw new Error(`no router named '${name}'`);
  return i;
}

export function dhcpIndex(model: SwitchConfig, bridge: string, tag: number | undefined): number {
  const i = (model.dhcp ?? []).findIndex((d) => d.bridge === bridge && (d.tag ?? 0) === (tag ?? 0));
  if (i < 0) throw new Error(`no DHCP server on ${bridge} tag=${tag ?? 0} (add one with add-dhcp)`);
  return i;
}
