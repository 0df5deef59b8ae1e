/**
 * `tvs save-config FILE`: the running state as a config file that `tvs start --config` builds
 * again (bridges, ports, flows, routers, floating IPs, DHCP). Written atomically: a temporary
 * file in the same directory, fsync, rename — a crash leaves the old file or the new one.
 */
import * as fs from 'fs';
import * as path from 'path';
import { Switch } from '../datapath/switch';
import { formatRule } from '../flow/ofctl-format';
import { DEFAULT_MAX_FLOWS } from '../flow/pipeline';
import { DEFAULT_MAX_SESSIONS } from '../packet/conntrack';
import { SwitchConfig, validateConfig } from './config';
import { VlanSet } from '../l2/vlan-set';
import { tunnelOptionsOf } from './port-options';
import { bridgeOtherConfig } from '../datapath/views';

/** formatRule() of the default flow every new bridge has (flow/pipeline.ts DEFAULT_FLOW). */
export const DEFAULT_FLOW_TEXT = 'table=0,priority=0 actions=NORMAL';

/** The running state as a config; without `flows` (false) the flow tables are left out (cheap). */
export function snapshotConfig(sw: Switch, opts: { flows?: boolean } = {}): SwitchConfig {
  const cfg: SwitchConfig = { bridges: [] };
  for (const br of sw.bridges.values()) {
    const ports = br.portList
      .filter((p) => p.type !== 'internal' && p.type !== 'local')
      .sort((a, b) => a.ofport - b.ofport)
      .map((p) => {
        const { type, ofport, tag, trunks, peer, offloads, ring, txRing, nRxqDesc, persist, mtu } = p.config;
        const o: Record<string, unknown> = { name: p.name, type, ofport };
        if (tag !== undefined) o.tag = tag;
        const vlans = VlanSet.from(trunks);
        if (vlans) o.trunks = vlans.toString();
        if (peer !== undefined) o.peer = peer;
        if (offloads !== undefined) o.offloads = offloads;
        if (ring !== undefined) o.ring = ring;
        if (txRing !== undefined) o.tx_ring = txRing;
        if (nRxqDesc !== undefined) o.n_rxq_desc = nRxqDesc;
        if (persist !== undefined) o.persist = persist;
        if (mtu !== undefined) o.mtu = mtu;
        if (p.config.tunnel) Object.assign(o, tunnelOptionsOf(p.config.tunnel));
        return o;
      });
    // Omitted when the bridge has exactly the default flow a new bridge gets, so the file
    // reloads to the same state; `flows: []` when it has none (it then drops everything).
    // Left out entirely when the caller asked for no flows.
    const flows = opts.flows === false ? [] : sw.flows(br.name).select().map((r) => formatRule(r, (o) => br.portName(o)));
    // (A secure bridge's default is no flow at all: see applyConfig.)
    const isDefault = opts.flows === false || (br.failMode === 'secure' ? flows.length === 0 : flows.length === 1 && flows[0] === DEFAULT_FLOW_TEXT);
    cfg.bridges.push({
      name: br.name,
      macAgingSec: Math.round(br.macs.agingMs / 1000),
      macTableSize: br.macs.maxEntries,
      ...(sw.flows(br.name).maxFlows !== DEFAULT_MAX_FLOWS ? { maxFlows: sw.flows(br.name).maxFlows } : {}),
      ...(br.local ? { localPort: true } : {}),
      ports: ports as unknown as SwitchConfig['bridges'][number]['ports'],
      ...(isDefault ? {} : { flows }),
      ...(br.controllers.length ? { controller: [...br.controllers] } : {}),
      ...(br.failMode !== 'standalone' ? { failMode: br.failMode } : {}),
      ...(br.datapathIdConfig !== null ? { otherConfig: bridgeOtherConfig(br) } : {}),
    });
  }
  const routers = sw.l3.routerNames().map((name) => {
    const show = sw.l3.router(name).show();
    return {
      name,
      snat: show.snat,
      ...(show.natLimits.maxSessions !== DEFAULT_MAX_SESSIONS ? { maxSessions: show.natLimits.maxSessions } : {}),
      ...(show.natLimits.maxSessionsPerSource !== Math.ceil(show.natLimits.maxSessions / 4) ? { maxSessionsPerSource: show.natLimits.maxSessionsPerSource } : {}),
      ports: sw.l3.routerSpecs(name).map((s) => ({
        bridge: s.bridge,
        name: s.port,
        mac: s.mac,
        ip: s.cidr,
        ...(s.tag !== undefined ? { tag: s.tag } : {}),
        ...(s.gateway ? { gateway: true } : {}),
        ...(s.mtu !== undefined ? { mtu: s.mtu } : {}),
      })),
      routes: show.routes.filter((r) => r.via !== null && r.kind === 'forward').map((r) => ({ cidr: r.cidr, via: r.via! })),
      floatingIps: show.floatingIps,
    };
  });
  if (routers.length) cfg.routers = routers;
  const dhcp = sw.l3.dhcpSpecs();
  if (dhcp.length) cfg.dhcp = dhcp;
  return cfg;
}

export function saveConfig(sw: Switch, file: string): SwitchConfig {
  const cfg = snapshotConfig(sw);
  // What we write must be what we read: validate before touching the file.
  validateConfig(JSON.parse(JSON.stringify(cfg)));
  const abs = path.resolve(file);
  const tmp = path.join(path.dirname(abs), `.${path.basename(abs)}.${process.pid}.tmp`);
  const fd = fs.openSync(tmp, 'w', 0o600);
  try {
    fs.writeSync(fd, JSON.stringify(cfg, null, 2) + '\n');
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
  fs.renameSync(tmp, abs);
  return cfg;
}
