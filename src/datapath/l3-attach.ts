/**
 * Attaches the L3 stages to bridges, as Neutron's L3 and DHCP agents attach a `qrouter` /
 * `qdhcp` namespace to br-int: a router interface (`qr-…` on a tenant VLAN, `qg-…` on the
 * external bridge) or a DHCP server is an internal port of a bridge, usually an access port of
 * the network's local VLAN. Frames NORMAL (or a flow) sends to that port are queued for the
 * stage and handed over a batch at a time after the bridge pass; what the stage emits enters
 * the bridge through the same port.
 */
import { Batch, BURST } from '../packet/batch';
import { parseSlot } from '../packet/parse';
import { Router, RouterOptions } from '../l3/router';
import { DhcpServer } from '../l3/dhcp';
import { DROP_TX_FULL } from '../io/port';
import type { PacketArena } from '../packet/arena';
import type { BatchClock } from '../packet/batch-clock';
import type { PortConfig, SwitchPort } from './switch-port';

/** What the L3 attachments need from the switch that owns them. */
export interface L3Host {
  readonly arena: PacketArena;
  readonly clock: () => number;
  /** The time of the batch in progress (packet/batch-clock.ts): routers read it per batch. */
  readonly batchClock: BatchClock;
  addPort(bridge: string, name: string, config: PortConfig): SwitchPort;
  delPort(bridge: string, name: string): void;
  /** A stage's frame enters the bridge through its port after the current batch (takes ownership). */
  injectIngress(p: SwitchPort, slot: number): void;
  /** Run `fn` after the current batch's bridge pass. */
  deferStage(fn: () => void): void;
  /** Events for the embedding API ('nat'), built only when someone listens. */
  listenerCount(event: string): number;
  emit(event: string, ...args: unknown[]): boolean;
}

export interface RouterPortSpec {
  bridge: string;
  port: string;
  mac: string;
  cidr: string;
  tag?: number;
  gateway?: boolean;
  mtu?: number;
}

export interface DhcpSpec {
  bridge: string;
  tag?: number;
  subnet: string;
  gateway: string;
  dns?: string[];
  server?: string;
  leaseSec?: number;
  mtu?: number;
}

interface RouterEntry {
  router: Router;
  /**
   * The bridge port of each router interface, by interface index (null: none). An array, not a
   * Map: the router's emitter looks it up for every frame it sends (a Map.get per routed frame).
   */
  ports: (SwitchPort | null)[];
  specs: RouterPortSpec[];
}

export class L3Attachments {
  private readonly routers = new Map<string, RouterEntry>();
  private readonly dhcp = new Map<string, { server: DhcpServer; port: SwitchPort; spec: DhcpSpec }>();

  constructor(private readonly sw: L3Host) {}

  // ---------------------------------------------------------------- routers

  addRouter(name: string, opts: Partial<RouterOptions> = {}): Router {
    if (!/^[A-Za-z0-9_.:-]{1,64}$/.test(name)) throw new Error(`invalid router name '${name}'`);
    if (this.routers.has(name)) throw new Error(`router '${name}' already exists`);
    const router = new Router(name, this.sw.arena, { clock: this.sw.clock, batchClock: this.sw.batchClock, ...opts });
    const entry: RouterEntry = { router, ports: [], specs: [] };
    router.onEmit = (slot, iface) => {
      const p = iface < entry.ports.length ? entry.ports[iface] : null;
      if (p !== null) this.sw.injectIngress(p, slot);
      else this.sw.arena.release(slot);
    };
    // NAT session events reach the embedding API as 'nat' events (only built when listened to).
    router.sessionEventsWanted = () => this.sw.listenerCount('nat') > 0;
    router.onSessionEvent = (ev) => {
      this.sw.emit('nat', { router: name, ...ev });
    };
    this.routers.set(name, entry);
    return router;
  }

  router(name: string): Router {
    return this.entry(name).router;
  }

  private entry(name: string): RouterEntry {
    const e = this.routers.get(name);
    if (!e) throw new Error(`no router named '${name}'`);
    return e;
  }

  delRouter(name: string): void {
    const e = this.entry(name);
    for (const spec of e.specs) this.sw.delPort(spec.bridge, spec.port);
    this.routers.delete(name);
  }

  routerNames(): string[] {
    return [...this.routers.keys()];
  }

  /** Add a router interface as an internal port `port` of `bridge` (access port when `tag`). */
  routerAddPort(routerName: string, spec: RouterPortSpec): number {
    const e = this.entry(routerName);
    const iface = e.router.addInterface({ name: spec.port, mac: spec.mac, cidr: spec.cidr, mtu: spec.mtu, gateway: spec.gateway });
    let port: SwitchPort;
    try {
      port = this.sw.addPort(spec.bridge, spec.port, { type: 'internal', tag: spec.tag, mac: spec.mac });
    } catch (err) {
      e.router.delInterface(iface);
      throw err;
    }
    port.holds = e.router.holdBudget(iface);
    const queue = new Batch(BURST);
    const router = e.router;
    let queued = false;
    const run = () => {
      queued = false;
      router.input(queue, iface);
      queue.count = 0;
    };
    port.sink = (slot) => {
      if (!queue.push(slot)) {
        port.counters.drops.add(DROP_TX_FULL);
        this.sw.arena.release(slot);
        return;
      }
      if (!queued) {
        queued = true;
        this.sw.deferStage(run);
      }
    };
    while (e.ports.length <= iface) e.ports.push(null);
    e.ports[iface] = port;
    e.specs.push(spec);
    return iface;
  }

  /** The router interface with this MAC on `bridge` (what `tvs trace` follows into a router). */
  findRouterPort(bridge: string, mac: string): { router: Router; port: string } | undefined {
    const want = mac.toLowerCase();
    for (const e of this.routers.values()) {
      for (const spec of e.specs) if (spec.bridge === bridge && spec.mac.toLowerCase() === want) return { router: e.router, port: spec.port };
    }
    return undefined;
  }

  routerSpecs(name: string): RouterPortSpec[] {
    return this.entry(name).specs.slice();
  }

  // ---------------------------------------------------------------- DHCP

  private dhcpKey(bridge: string, tag: number | undefined): string {
    return `${bridge}/${tag ?? 0}`;
  }

  addDhcp(spec: DhcpSpec): void {
    const key = this.dhcpKey(spec.bridge, spec.tag);
    if (this.dhcp.has(key)) throw new Error(`a DHCP server already serves ${spec.bridge} tag=${spec.tag ?? 0}`);
    // A stable, locally administered MAC per (bridge, VLAN) for the server port.
    let h = 0;
    for (const ch of key) h = (Math.imul(h, 31) + ch.charCodeAt(0)) >>> 0;
    const serverMac = `02:d4:${[24, 16, 8, 0].map((s) => ((h >>> s) & 0xff).toString(16).padStart(2, '0')).join(':')}`;
    const server = new DhcpServer({
      subnet: spec.subnet,
      gateway: spec.gateway,
      dns: spec.dns,
      leaseSec: spec.leaseSec,
      mtu: spec.mtu,
      serverMac,
      serverIp: spec.server ?? spec.gateway,
    });
    const name = `dhcp${spec.tag ?? 0}-${spec.bridge}`.slice(0, 15);
    const port = this.sw.addPort(spec.bridge, name, { type: 'internal', tag: spec.tag });
    const a = this.sw.arena;
    port.sink = (slot) => {
      // Every broadcast of the VLAN reaches this port; only DHCP requests get an answer.
      const reply = server.handle(a.bytes.subarray(a.start[slot], a.start[slot] + a.len[slot]));
      a.release(slot);
      if (reply === null) return;
      const s = a.allocFrom(reply);
      if (s < 0) return;
      parseSlot(a, s, port.ofport);
      this.sw.injectIngress(port, s);
    };
    this.dhcp.set(key, { server, port, spec });
  }

  delDhcp(bridge: string, tag: number | undefined): void {
    const key = this.dhcpKey(bridge, tag);
    const d = this.dhcp.get(key);
    if (!d) throw new Error(`no DHCP server on ${bridge} tag=${tag ?? 0}`);
    this.sw.delPort(bridge, d.port.name);
    this.dhcp.delete(key);
  }

  /** The DHCP server of a network (reload adjusts its bindings). */
  dhcpServer(bridge: string, tag: number | undefined): DhcpServer | undefined {
    return this.dhcp.get(this.dhcpKey(bridge, tag))?.server;
  }

  /** DHCP networks with their bindings (save-config). */
  dhcpSpecs(): (DhcpSpec & { hosts: { mac: string; ip: string }[] })[] {
    return [...this.dhcp.values()].map((d) => ({ ...d.spec, hosts: d.server.bindings() }));
  }

  dhcpAddHost(bridge: string, tag: number | undefined, mac: string, ip: string): void {
    const d = this.dhcp.get(this.dhcpKey(bridge, tag));
    if (!d) throw new Error(`no DHCP server on ${bridge} tag=${tag ?? 0} (add one with add-dhcp)`);
    d.server.addHost(mac, ip);
  }

  // ---------------------------------------------------------------- housekeeping

  tick(): void {
    for (const e of this.routers.values()) e.router.tick();
  }
}
