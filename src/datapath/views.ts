/**
 * What `tvs show`, `dump-ports`, `fdb-show` and the metrics endpoint read from the switch:
 * plain objects built on request (allocating; never on the forwarding path).
 */
import { formatMac } from '../wire/ethernet';
import { explainDrop } from '../packet/drops';
import type { Bridge } from './bridge';
import type { PortType } from './switch-port';
import { formatDatapathId } from './datapath-id';

export interface ShowBridge {
  name: string;
  /** OpenFlow controllers and fail mode (ovs-vsctl show prints them the same way). */
  controllers: string[];
  failMode: string;
  /** The OpenFlow datapath id (16 hex digits) and the other-config keys set (datapath-id). */
  datapathId: string;
  otherConfig?: Record<string, string>;
  ports: { name: string; ofport: number; type: PortType; up: boolean; tag?: number; trunks?: string; peer?: string; io?: Record<string, unknown> }[];
}
export interface DumpPort {
  name: string;
  /** Frames held for this port now, their limit, holds refused (router interfaces only). */
  held?: number;
  held_limit?: number;
  hold_refused?: number;
  ofport: number;
  up: boolean;
  rx_packets: number;
  rx_bytes: number;
  tx_packets: number;
  tx_bytes: number;
  drops: Record<string, number>;
  /** Mapped rx ring memory of an AF_PACKET port. */
  ring_bytes?: number;
  /** A v2 rx ring's frames (n_rxq_desc, rounded up to whole blocks) and bytes per frame. */
  ring_frames?: number;
  ring_frame_size?: number;
  /** Mapped TX ring memory (tx_ring=on). */
  tx_ring_bytes?: number;
}
export interface FdbEntry {
  port: number;
  portName: string | undefined;
  vlan: number;
  mac: string;
  age: number;
}

/** A bridge's other-config as set (OVS keys → value text): what save-config writes back. */
export function bridgeOtherConfig(br: Bridge): Record<string, string> {
  return br.datapathIdConfig === null ? {} : { 'datapath-id': formatDatapathId(br.datapathIdConfig) };
}

export function showBridges(bridges: Iterable<Bridge>): ShowBridge[] {
  return [...bridges].map((br) => ({
    name: br.name,
    controllers: [...br.controllers],
    failMode: br.failMode,
    datapathId: formatDatapathId(br.datapathId),
    ...(br.datapathIdConfig !== null ? { otherConfig: bridgeOtherConfig(br) } : {}),
    ports: br.portList
      .slice()
      .sort((a, b) => a.ofport - b.ofport)
      .map((p) => ({
        name: p.name,
        ofport: p.ofport,
        type: p.type,
        up: p.up,
        ...(p.vlan.tag >= 0 ? { tag: p.vlan.tag } : {}),
        ...(p.vlan.trunks ? { trunks: p.vlan.trunks.toString() } : {}),
        ...(p.config.peer ? { peer: p.config.peer } : {}),
        ...(p.io ? { io: p.io.describe() } : {}),
      })),
  }));
}

export function dumpPorts(br: Bridge): DumpPort[] {
  for (const p of br.portList) p.io?.refreshStats?.();
  return br.portList
    .slice()
    .sort((a, b) => a.ofport - b.ofport)
    .map((p) => ({ name: p.name, ofport: p.ofport, up: p.up, ...(p.counters.toJSON() as object), ...(p.io?.ringBytes ? { ring_bytes: p.io.ringBytes } : {}), ...(p.io?.rxRingFrames ? { ring_frames: p.io.rxRingFrames, ring_frame_size: p.io.rxRingFrameSize } : {}), ...(p.io?.txRingBytes ? { tx_ring_bytes: p.io.txRingBytes } : {}),
      ...(p.holds ? { held: p.holds.used, held_limit: p.holds.limit, hold_refused: p.holds.refused } : {}) }) as DumpPort);
}

export function fdb(br: Bridge, now: number): FdbEntry[] {
  return br.macs.entries(now).map((e) => ({ port: e.port, portName: br.portName(e.port), vlan: e.vlan, mac: formatMac(e.mac), age: Math.floor(e.ageMs / 1000) }));
}

/**
 * Per-bridge drops by reason, over every stage a bridge runs (parse, the bridge itself, the flow
 * tables, NORMAL). Each frame is counted by the one stage that dropped it; a reason that two
 * stages share (e.g. no_output) is summed.
 */
export function bridgeDrops(br: Bridge): Record<string, number> {
  const out: Record<string, number> = {};
  br.parseDrops.addTo(out);
  br.drops.addTo(out);
  if (br.flows !== null) br.flows.drops.addTo(out);
  br.normalDrops.addTo(out);
  return out;
}

/** What each of these drop reasons means, in words (the legend of `tvs dump-ports`). */
export function dropLegend(reasons: Iterable<string>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const r of reasons) {
    const text = explainDrop(r);
    if (text !== undefined) out[r] = text;
  }
  return out;
}
