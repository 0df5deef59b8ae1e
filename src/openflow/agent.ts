/**
 * The switch side of OpenFlow for one bridge: answers requests from the bridge's flow tables,
 * ports and counters, and applies FLOW_MOD / PACKET_OUT. Stateless about connections (the
 * session keeps hello/role/config state); every failure is an OfError the session turns into an
 * OpenFlow ERROR. Flows go into the same FlowPipeline `tvs add-flow` uses.
 */
import type { Switch } from '../datapath/switch';
import type { Bridge } from '../datapath/bridge';
import type { SwitchPort } from '../datapath/switch-port';
import { randomBytes } from 'crypto';
import { K_DL_TYPE, K_NW_PROTO, K_VLAN_TCI } from '../packet/flow-key';
import type { FlowPipeline } from '../flow/pipeline';
import { Match } from '../flow/match';
import type { OfAction } from '../wire/openflow/actions';
import { OfError, Writer } from '../wire/openflow/buffer';
import {
  BAD_REQUEST,
  CAP,
  ET,
  FLOW_MOD_FAILED,
  IT,
  AT,
  MP,
  MPF_REPLY_MORE,
  NO_BUFFER,
  OFPG_ANY,
  OFPP13_ANY,
  OFPP13_CONTROLLER,
  OFPTT_ALL,
  port16to32,
  port32to16,
} from '../wire/openflow/constants';
import { encodeMessage, type FlowMod, type OfMessage } from '../wire/openflow/messages';
import { writeFlowStats, type FlowStatsRequest, type MpReplyBody } from '../wire/openflow/multipart';
import { OXM_FIELDS, oxmHeader } from '../wire/openflow/oxm';
import type { OfPort } from '../wire/openflow/port';
import type { LinkInfo } from '../io/binding';
import { encodeTableProperties } from '../wire/openflow/table-features';
import { actionsFromOf } from './rule-map/actions-from-of';
import { flowModToSpec, ruleToFlowStats } from './rule-map/flow-mod';
import { matchFromOxm, oxmMatchable } from './rule-map/match-from-oxm';
import { OFPP_LOCAL } from '../flow/ofport';
import { deviceBits, logicalBits, PortStates, type DeviceLink, type PortBits } from './port-state';

/** "aa:bb:cc:dd:ee:ff" as 6 bytes. */
function macBytes(mac: string): Buffer {
  return Buffer.from(mac.replace(/:/g, ''), 'hex');
}

/** Tables OpenFlow sees (0..253, as OVS: 254 is reserved). */
export const OF_N_TABLES = 254;
const MAX_BODY = 0xffff - 16;

export class BridgeAgent {
  /** PACKET_OUTs applied and PACKET_INs sent (any connection), for get-controller. */
  packetOuts = 0;
  packetIns = 0;
  /** Addresses made up for ports without a device (portAddress), dropped with the port. */
  private readonly randomAddrs = new WeakMap<SwitchPort, Buffer>();
  /**
   * What each port with a device was last announced with (ADD, MODIFY) or first seen with:
   * link notifications are measured against it (linkChanged), as OVS measures them against its
   * ofport's ofp_port.
   */
  private readonly states = new PortStates<SwitchPort>();

  constructor(
    readonly sw: Switch,
    readonly bridgeName: string,
  ) {
    // The ports the bridge has already: their state now is what later changes are measured from.
    const br = sw.bridges.get(bridgeName);
    for (const p of br?.portList ?? []) this.portBits(p, true);
  }

  private get br(): Bridge {
    return this.sw.bridge(this.bridgeName);
  }
  private get flows(): FlowPipeline {
    return this.sw.flows(this.bridgeName);
  }

  /** other-config:datapath-id, else the bridge's default (datapath/datapath-id.ts). */
  get datapathId(): bigint {
    return this.br.datapathId;
  }

  features(xid: number): OfMessage {
    return {
      type: 'features_reply',
      xid,
      datapathId: this.datapathId,
      nBuffers: 0,
      nTables: OF_N_TABLES,
      auxiliaryId: 0,
      capabilities: CAP.FLOW_STATS | CAP.TABLE_STATS | CAP.PORT_STATS,
      reserved: 0,
    };
  }

  /**
   * ofp_port of a port: number, name, config/state bits and Ethernet address (the LOCAL port's
   * is the bridge's, as in OVS: ovs-ofctl show: LOCAL(br0): addr:...).
   */
  ofPort(ofport: number, name: string, bits: PortBits): OfPort {
    return {
      portNo: port16to32(ofport),
      hwAddr: ofport === OFPP_LOCAL ? macBytes(this.br.mac) : bits.addr,
      name,
      config: bits.config,
      state: bits.state,
      curr: 0,
      advertised: 0,
      supported: 0,
      peer: 0,
      currSpeed: 0,
      maxSpeed: 0,
    };
  }

  /**
   * ofp_port of the bridge's port numbered `ofport` named `name` for a PORT_STATUS: ADD (`up`:
   * its state now, remembered for later changes), DELETE or its device gone (not `up`: down,
   * with the address it had while it still exists).
   */
  ofPortNamed(ofport: number, name: string, up: boolean): OfPort {
    const p = this.br.portAt(ofport);
    if (p === undefined || p.name !== name) return this.ofPort(ofport, name, logicalBits(false, Buffer.alloc(6)));
    return this.ofPort(ofport, name, up ? this.portBits(p, true) : logicalBits(false, this.portAddress(p)));
  }

  /**
   * ofp_ports for the PORT_STATUS MODIFYs OVS 3.1 sends when the kernel reports a change of the
   * device behind port `p` (`ip link set DEV down/up/address ...`, carrier lost or back), in
   * order: none when nothing an ofp_port says changed (port-state.ts).
   */
  linkChanged(p: SwitchPort, link: LinkInfo): OfPort[] {
    return this.states.change(p, this.deviceLink(p, link)).map((b) => this.ofPort(p.ofport, p.name, b));
  }

  portDesc(): OfPort[] {
    return this.br.portList
      .slice()
      .sort((a, b) => a.ofport - b.ofport)
      .map((p) => this.ofPort(p.ofport, p.name, this.portBits(p, false)));
  }

  /**
   * A port's config/state bits and address now: a device's from its link (read now: admin
   * state, carrier, address), a port without one's from whether it is up. `remember`: the
   * state later link changes are announced against (an ADD, a port first seen).
   */
  private portBits(p: SwitchPort, remember: boolean): PortBits {
    const io = p.io;
    if (io === null || io.linkState === undefined) return logicalBits(p.up, this.portAddress(p));
    const link = io.up ? io.linkState() : undefined;
    if (link === undefined) return logicalBits(false, this.portAddress(p)); // the device is gone
    const dev = this.deviceLink(p, link);
    return remember ? this.states.remember(p, dev) : deviceBits(dev);
  }

  /** A device's link as port-state takes it; the LOCAL port's address is the bridge's. */
  private deviceLink(p: SwitchPort, link: LinkInfo): DeviceLink {
    const addr = p.ofport === OFPP_LOCAL ? macBytes(this.br.mac) : link.mac !== '' ? macBytes(link.mac) : this.portAddress(p);
    return { adminUp: link.adminUp, running: link.running, addr };
  }

  /**
   * A port's Ethernet address as OVS reports it: the kernel device's own (AF_PACKET, TAP), read
   * now, so a MAC changed after add-port shows; a router interface's (Neutron's qr- port, an OVS
   * internal port with the router's MAC); for a port with no device (patch, tunnel, memory,
   * unix, DHCP) a random locally administered address made the first time it is asked for and
   * kept for the port's life, as OVS's netdev-vport gives patch and tunnel ports.
   */
  portAddress(p: SwitchPort): Buffer {
    const mac = p.io?.hwAddr?.() ?? p.config.mac;
    if (mac !== undefined) return macBytes(mac);
    let a = this.randomAddrs.get(p);
    if (a === undefined) {
      a = randomBytes(6);
      a[0] = (a[0] & 0xfe) | 0x02; // unicast, locally administered (eth_addr_random)
      this.randomAddrs.set(p, a);
    }
    return a;
  }

  // ---------------------------------------------------------------- flow_mod

  flowMod(fm: FlowMod): void {
    if (fm.bufferId !== NO_BUFFER) throw new OfError(ET.BAD_REQUEST, BAD_REQUEST.BUFFER_UNKNOWN, `buffer ${fm.bufferId}: tvs does not buffer packets (n_buffers 0)`);
    const plan = flowModToSpec(fm);
    const flows = this.flows;
    const spec = plan.spec;
    if (spec.table !== null && spec.table >= OF_N_TABLES && plan.command === 'add') {
      throw new OfError(ET.FLOW_MOD_FAILED, FLOW_MOD_FAILED.BAD_TABLE_ID, `table ${spec.table} does not exist (0..${OF_N_TABLES - 1})`);
    }
    switch (plan.command) {
      case 'add':
        if (spec.flags.includes('check_overlap') && this.overlaps(spec.table ?? 0, spec.priority ?? 0, spec.match)) {
          throw new OfError(ET.FLOW_MOD_FAILED, FLOW_MOD_FAILED.OVERLAP, 'check_overlap: a flow with the same priority overlaps this one');
        }
        // OpenFlow 1.3: replacing a flow keeps its counters unless the add says reset_counts
        // (OVS; in 1.0/1.1, and so from ovs-ofctl's default protocol, an add resets them).
        flows.addFlow(spec, { keepCounts: !spec.flags.includes('reset_counts') });
        return;
      case 'modify':
        flows.modFlows(spec, { strict: plan.strict });
        return;
      case 'delete':
        flows.delFlows(spec, { strict: plan.strict });
        return;
    }
  }

  /** Does a rule of `table` with this priority match some packet `m` also matches? */
  private overlaps(table: number, priority: number, m: Match): boolean {
    const t = this.flows.tables[table];
    if (!t) return false;
    for (const r of t.cls.rules()) {
      if (r.priority !== priority) continue;
      let disjoint = false;
      for (let i = 0; i < m.value.length && !disjoint; i++) {
        if (((m.value[i] ^ r.match.value[i]) & m.mask[i] & r.match.mask[i]) !== 0) disjoint = true;
      }
      if (!disjoint) return true;
    }
    return false;
  }

  // ---------------------------------------------------------------- stats

  private selectFlows(q: FlowStatsRequest) {
    const match = matchFromOxm(q.match);
    const outPort = q.outPort === OFPP13_ANY ? null : port32to16(q.outPort);
    const filter = {
      table: q.tableId === OFPTT_ALL ? null : q.tableId,
      priority: null,
      cookie: q.cookieMask !== 0n ? q.cookie : null,
      cookieMask: q.cookieMask !== 0n ? q.cookieMask : null,
      idleTimeout: 0,
      hardTimeout: 0,
      importance: 0,
      flags: [],
      outPort: q.outGroup !== OFPG_ANY ? 0xffff : outPort,
      match,
      actions: null,
      actionColumns: [],
      warnings: [],
    };
    return this.flows.dumpFlows(filter);
  }

  /** FLOW stats bodies, split into messages that fit 64 KiB. */
  flowStats(q: FlowStatsRequest): Buffer[] {
    const entries = this.selectFlows(q).map((e) => {
      const w = new Writer();
      writeFlowStats(w, ruleToFlowStats(e.rule, e.nPackets, e.nBytes, e.durationMs));
      return w.done();
    });
    return entries;
  }

  aggregate(q: FlowStatsRequest): MpReplyBody {
    let packetCount = 0n;
    let byteCount = 0n;
    const es = this.selectFlows(q);
    for (const e of es) {
      packetCount += BigInt(e.nPackets);
      byteCount += BigInt(e.nBytes);
    }
    return { mpType: MP.AGGREGATE, packetCount, byteCount, flowCount: es.length };
  }

  tableStats(): Buffer[] {
    const byId = new Map(this.flows.tableStats().map((t) => [t.table, t]));
    const out: Buffer[] = [];
    for (let i = 0; i < OF_N_TABLES; i++) {
      const t = byId.get(i);
      const w = new Writer();
      w.u8(i).zeros(3).u32(t?.activeCount ?? 0).u64(BigInt(t?.lookups ?? 0)).u64(BigInt(t?.matched ?? 0));
      out.push(w.done());
    }
    return out;
  }

  portStats(portNo: number): Buffer[] {
    const want = portNo === OFPP13_ANY ? -1 : port32to16(portNo);
    const ports = this.sw.dumpPorts(this.bridgeName).filter((p) => want < 0 || p.ofport === want);
    if (want >= 0 && ports.length === 0) throw new OfError(ET.BAD_REQUEST, BAD_REQUEST.BAD_PORT, `port ${portNo} does not exist`);
    return ports.map((p) => {
      let rxDropped = 0;
      let txDropped = 0;
      for (const [k, v] of Object.entries(p.drops)) {
        if (k.startsWith('tx')) txDropped += v;
        else rxDropped += v;
      }
      const w = new Writer();
      w.u32(port16to32(p.ofport)).zeros(4);
      for (const v of [p.rx_packets, p.tx_packets, p.rx_bytes, p.tx_bytes, rxDropped, txDropped, 0, 0, 0, 0, 0, 0]) w.u64(BigInt(v));
      w.u32(0).u32(0);
      return w.done();
    });
  }

  private static tableFeatureCache: Buffer[] | undefined;

  /** TABLE_FEATURES entries: what every table can match, set and do (same for all tables). */
  tableFeatures(): Buffer[] {
    if (BridgeAgent.tableFeatureCache) return BridgeAgent.tableFeatureCache;
    const supported = OXM_FIELDS.filter((f) => oxmMatchable(f.name));
    const hdr = (f: { cls: number; field: number; bytes: number }) => oxmHeader(f.cls, f.field, false, f.bytes);
    const match = supported.map(hdr);
    for (let r = 0; r < 8; r++) match.push(oxmHeader(1, r, false, 4));
    const wildcards = supported.filter((f) => f.maskable).map(hdr);
    const setfield = supported.filter((f) => /^(eth_|vlan_|ip_dscp|ipv4_|tcp_|udp_|arp_|metadata)/.test(f.name) && f.name !== 'eth_type').map(hdr);
    const out: Buffer[] = [];
    for (let i = 0; i < OF_N_TABLES; i++) {
      const next: number[] = [];
      for (let j = i + 1; j < OF_N_TABLES; j++) next.push(j);
      const props = encodeTableProperties({
        instructions: [IT.GOTO_TABLE, IT.WRITE_METADATA, IT.APPLY_ACTIONS, IT.CLEAR_ACTIONS],
        nextTables: next,
        writeActions: [],
        applyActions: [AT.OUTPUT, AT.PUSH_VLAN, AT.POP_VLAN, AT.DEC_NW_TTL, AT.SET_FIELD],
        match,
        wildcards,
        writeSetfield: [],
        applySetfield: setfield,
      });
      const w = new Writer();
      w.u16(64 + props.length).u8(i).zeros(5).str(`table${i}`, 32).u64(0xffffffffffffffffn).u64(0xffffffffffffffffn).u32(0).u32(1000000).bytes(props);
      out.push(w.done());
    }
    BridgeAgent.tableFeatureCache = out;
    return out;
  }

  // ---------------------------------------------------------------- packet_out

  /**
   * PACKET_OUT with its data (tvs keeps no buffers): the frame enters as if received on
   * in_port (a port, CONTROLLER or LOCAL) and runs the message's action list — any action a
   * flow may have (set_field, push/pop_vlan, resubmit, output to a port, IN_PORT, FLOOD, ALL,
   * NORMAL, CONTROLLER) — with output:TABLE running it through the flow tables from table 0
   * (OVS treats it as a resubmit to table 0). The actions are checked against the frame's own
   * headers, as OVS checks them against the packet's flow.
   */
  packetOut(bufferId: number, inPort32: number, actions: readonly OfAction[], data: Buffer): void {
    if (bufferId !== NO_BUFFER) throw new OfError(ET.BAD_REQUEST, BAD_REQUEST.BUFFER_UNKNOWN, `buffer ${bufferId}: tvs does not buffer packets`);
    if (data.length < 14) throw new OfError(ET.BAD_REQUEST, BAD_REQUEST.BAD_PACKET, `packet_out data of ${data.length} bytes is not an Ethernet frame`);
    const br = this.br;
    let inPort = inPort32 === OFPP13_CONTROLLER || inPort32 === OFPP13_ANY ? 0xfffd : port32to16(inPort32);
    if (inPort < 0 || (inPort < 0xff00 && br.portAt(inPort) === undefined)) throw new OfError(ET.BAD_REQUEST, BAD_REQUEST.BAD_PORT, `packet_out in_port ${inPort32} does not exist`);
    if (inPort >= 0xff00 && inPort !== 0xfffd && inPort !== 0xfffe) inPort = 0xfffd;
    try {
      this.sw.packetOutActions(this.bridgeName, data, inPort, (key, base) => {
        const acts = actionsFromOf(actions, { match: packetMatch(key, base), table: 0, packetOut: true });
        return acts.map((a) => (a.type === 'output' && a.port === 0xfff9 ? { type: 'resubmit', port: -1, table: 0, ct: false } : a));
      });
    } catch (e) {
      if (e instanceof OfError) throw e;
      throw new OfError(ET.BAD_REQUEST, BAD_REQUEST.BAD_PACKET, `packet_out: ${(e as Error).message}`);
    }
    this.packetOuts++;
  }
}

/**
 * The headers a packet-out's actions may need (set_field prerequisites): the frame's EtherType,
 * VLAN and IP protocol as an exact match.
 */
function packetMatch(key: Uint32Array, base: number): Match {
  const m = new Match();
  m.set(K_DL_TYPE, key[base + K_DL_TYPE], 0xffff);
  m.set(K_VLAN_TCI, key[base + K_VLAN_TCI], 0xffff);
  const t = key[base + K_DL_TYPE];
  if (t === 0x0800 || t === 0x86dd || t === 0x0806) m.set(K_NW_PROTO, key[base + K_NW_PROTO], 0xff);
  return m;
}

/** Wrap multipart reply entries into as many messages as needed (REPLY_MORE on all but the last). */
export function multipartReplies(xid: number, mpType: number, entries: readonly Buffer[]): Buffer[] {
  const out: Buffer[] = [];
  let cur: Buffer[] = [];
  let size = 0;
  const flush = (more: boolean) => {
    out.push(encodeMessage({ type: 'multipart_reply', xid, flags: more ? MPF_REPLY_MORE : 0, body: { mpType, raw: Buffer.concat(cur) } }));
    cur = [];
    size = 0;
  };
  for (const e of entries) {
    if (size + e.length > MAX_BODY && cur.length > 0) flush(true);
    cur.push(e);
    size += e.length;
  }
  flush(false);
  return out;
}
