/**
 * Multipart (statistics) bodies, OpenFlow 1.3 section 7.3.5:
 *
 *   request/reply: header | type (2) | flags (2) | pad (4) | body
 *   FLOW / AGGREGATE request: table_id (1) pad (3) out_port (4) out_group (4) pad (4)
 *                             cookie (8) cookie_mask (8) match
 *   FLOW reply entry (ofp_flow_stats): length (2) table_id (1) pad (1) duration_sec (4)
 *        duration_nsec (4) priority (2) idle_timeout (2) hard_timeout (2) flags (2) pad (4)
 *        cookie (8) packet_count (8) byte_count (8) match instructions
 *   AGGREGATE reply: packet_count (8) byte_count (8) flow_count (4) pad (4)
 *   TABLE reply entry: table_id (1) pad (3) active_count (4) lookup_count (8) matched_count (8)
 *   PORT_STATS request: port_no (4) pad (4); reply entry: port_no (4) pad (4), 12 x u64
 *        counters, duration_sec (4) duration_nsec (4)
 *   DESC reply: mfr_desc[256] hw_desc[256] sw_desc[256] serial_num[32] dp_desc[256]
 *   PORT_DESC reply: ofp_port[]
 */
import { BAD_REQUEST, ET, MP } from './constants';
import { OfError, Reader, Writer } from './buffer';
import { readMatch, writeMatch, type Oxm } from './oxm';
import { readInstructions, writeInstructions, type OfInstruction } from './actions';
import { PORT_LEN, readPort, writePort, type OfPort } from './port';

export interface FlowStatsRequest {
  tableId: number;
  outPort: number;
  outGroup: number;
  cookie: bigint;
  cookieMask: bigint;
  match: Oxm[];
}

export type MpRequestBody =
  | { mpType: typeof MP.DESC }
  | ({ mpType: typeof MP.FLOW } & FlowStatsRequest)
  | ({ mpType: typeof MP.AGGREGATE } & FlowStatsRequest)
  | { mpType: typeof MP.TABLE }
  | { mpType: typeof MP.PORT_STATS; portNo: number }
  | { mpType: typeof MP.PORT_DESC }
  /** Any other multipart type (TABLE_FEATURES, GROUP, METER...), kept whole. */
  | { mpType: number; raw: Buffer };

export interface FlowStats {
  tableId: number;
  durationSec: number;
  durationNsec: number;
  priority: number;
  idleTimeout: number;
  hardTimeout: number;
  flags: number;
  cookie: bigint;
  packetCount: bigint;
  byteCount: bigint;
  match: Oxm[];
  instructions: OfInstruction[];
}

export interface TableStatsEntry {
  tableId: number;
  activeCount: number;
  lookupCount: bigint;
  matchedCount: bigint;
}

export interface PortStats {
  portNo: number;
  rxPackets: bigint;
  txPackets: bigint;
  rxBytes: bigint;
  txBytes: bigint;
  rxDropped: bigint;
  txDropped: bigint;
  rxErrors: bigint;
  txErrors: bigint;
  rxFrameErr: bigint;
  rxOverErr: bigint;
  rxCrcErr: bigint;
  collisions: bigint;
  durationSec: number;
  durationNsec: number;
}
const PORT_STATS_COUNTERS = ['rxPackets', 'txPackets', 'rxBytes', 'txBytes', 'rxDropped', 'txDropped', 'rxErrors', 'txErrors', 'rxFrameErr', 'rxOverErr', 'rxCrcErr', 'collisions'] as const;

export interface Desc {
  mfr: string;
  hw: string;
  sw: string;
  serial: string;
  dp: string;
}

export type MpReplyBody =
  | ({ mpType: typeof MP.DESC } & Desc)
  | { mpType: typeof MP.FLOW; flows: FlowStats[] }
  | { mpType: typeof MP.AGGREGATE; packetCount: bigint; byteCount: bigint; flowCount: number }
  | { mpType: typeof MP.TABLE; tables: TableStatsEntry[] }
  | { mpType: typeof MP.PORT_STATS; ports: PortStats[] }
  | { mpType: typeof MP.PORT_DESC; ports: OfPort[] }
  | { mpType: typeof MP.TABLE_FEATURES; tables: TableFeatures[] }
  | { mpType: number; raw: Buffer };

/**
 * ofp_table_features: length (2) table_id (1) pad (5) name[32] metadata_match (8)
 * metadata_write (8) config (4) max_entries (4) properties (kept as raw TLV bytes).
 */
export interface TableFeatures {
  tableId: number;
  name: string;
  metadataMatch: bigint;
  metadataWrite: bigint;
  config: number;
  maxEntries: number;
  properties: Buffer;
}

function badLen(what: string): OfError {
  return new OfError(ET.BAD_REQUEST, BAD_REQUEST.BAD_LEN, `multipart ${what}: bad length`);
}

function readFlowStatsRequest(r: Reader): FlowStatsRequest {
  const tableId = r.u8();
  r.skip(3);
  const outPort = r.u32();
  const outGroup = r.u32();
  r.skip(4);
  const cookie = r.u64();
  const cookieMask = r.u64();
  const match = readMatch(r);
  if (r.left !== 0) throw badLen('flow request');
  return { tableId, outPort, outGroup, cookie, cookieMask, match };
}

function writeFlowStatsRequest(w: Writer, q: FlowStatsRequest): void {
  w.u8(q.tableId).zeros(3).u32(q.outPort).u32(q.outGroup).zeros(4).u64(q.cookie).u64(q.cookieMask);
  writeMatch(w, q.match);
}

export function readMpRequest(mpType: number, r: Reader): MpRequestBody {
  switch (mpType) {
    case MP.DESC:
    case MP.TABLE:
    case MP.PORT_DESC:
      if (r.left !== 0) throw badLen('request');
      return { mpType } as MpRequestBody;
    case MP.FLOW:
    case MP.AGGREGATE:
      return { mpType, ...readFlowStatsRequest(r) } as MpRequestBody;
    case MP.PORT_STATS: {
      if (r.left !== 8) throw badLen('port stats request');
      const portNo = r.u32();
      r.skip(4);
      return { mpType, portNo };
    }
    default:
      return { mpType, raw: r.bytes(r.left) };
  }
}

export function writeMpRequest(w: Writer, b: MpRequestBody): void {
  if ('raw' in b) {
    w.bytes(b.raw);
    return;
  }
  switch (b.mpType) {
    case MP.FLOW:
    case MP.AGGREGATE:
      writeFlowStatsRequest(w, b as FlowStatsRequest);
      return;
    case MP.PORT_STATS:
      w.u32((b as { portNo: number }).portNo).zeros(4);
      return;
    default:
      return;
  }
}

export function readMpReply(mpType: number, r: Reader): MpReplyBody {
  switch (mpType) {
    case MP.DESC: {
      if (r.left !== 1056) throw badLen('desc reply');
      return { mpType, mfr: r.str(256), hw: r.str(256), sw: r.str(256), serial: r.str(32), dp: r.str(256) };
    }
    case MP.FLOW: {
      const flows: FlowStats[] = [];
      while (r.left > 0) {
        const len = r.u16();
        if (len < 56 || len - 2 > r.left) throw badLen('flow stats entry');
        const e = r.sub(len - 2, 'flow stats entry');
        const tableId = e.u8();
        e.skip(1);
        const durationSec = e.u32();
        const durationNsec = e.u32();
        const priority = e.u16();
        const idleTimeout = e.u16();
        const hardTimeout = e.u16();
        const flags = e.u16();
        e.skip(4);
        const cookie = e.u64();
        const packetCount = e.u64();
        const byteCount = e.u64();
        const match = readMatch(e);
        flows.push({ tableId, durationSec, durationNsec, priority, idleTimeout, hardTimeout, flags, cookie, packetCount, byteCount, match, instructions: readInstructions(e) });
      }
      return { mpType, flows };
    }
    case MP.AGGREGATE: {
      if (r.left !== 24) throw badLen('aggregate reply');
      const packetCount = r.u64();
      const byteCount = r.u64();
      const flowCount = r.u32();
      r.skip(4);
      return { mpType, packetCount, byteCount, flowCount };
    }
    case MP.TABLE: {
      if (r.left % 24 !== 0) throw badLen('table stats');
      const tables: TableStatsEntry[] = [];
      while (r.left > 0) {
        const tableId = r.u8();
        r.skip(3);
        const activeCount = r.u32();
        const lookupCount = r.u64();
        tables.push({ tableId, activeCount, lookupCount, matchedCount: r.u64() });
      }
      return { mpType, tables };
    }
    case MP.PORT_STATS: {
      if (r.left % 112 !== 0) throw badLen('port stats');
      const ports: PortStats[] = [];
      while (r.left > 0) {
        const portNo = r.u32();
        r.skip(4);
        const p = { portNo } as PortStats;
        for (const k of PORT_STATS_COUNTERS) p[k] = r.u64();
        p.durationSec = r.u32();
        p.durationNsec = r.u32();
        ports.push(p);
      }
      return { mpType, ports };
    }
    case MP.TABLE_FEATURES: {
      const tables: TableFeatures[] = [];
      while (r.left > 0) {
        const len = r.u16();
        if (len < 64 || len % 8 !== 0 || len - 2 > r.left) throw badLen('table features entry');
        const e = r.sub(len - 2, 'table features entry');
        const tableId = e.u8();
        e.skip(5);
        const name = e.str(32);
        const metadataMatch = e.u64();
        const metadataWrite = e.u64();
        const config = e.u32();
        const maxEntries = e.u32();
        tables.push({ tableId, name, metadataMatch, metadataWrite, config, maxEntries, properties: e.bytes(e.left) });
      }
      return { mpType, tables };
    }
    case MP.PORT_DESC: {
      if (r.left % PORT_LEN !== 0) throw badLen('port desc');
      const ports: OfPort[] = [];
      while (r.left > 0) ports.push(readPort(r));
      return { mpType, ports };
    }
    default:
      return { mpType, raw: r.bytes(r.left) };
  }
}

export function writeFlowStats(w: Writer, f: FlowStats): void {
  const start = w.len;
  w.u16(0).u8(f.tableId).zeros(1).u32(f.durationSec).u32(f.durationNsec).u16(f.priority).u16(f.idleTimeout).u16(f.hardTimeout).u16(f.flags).zeros(4);
  w.u64(f.cookie).u64(f.packetCount).u64(f.byteCount);
  writeMatch(w, f.match);
  writeInstructions(w, f.instructions);
  w.patch16(start, w.len - start);
}

export function writeMpReply(w: Writer, b: MpReplyBody): void {
  if ('raw' in b) {
    w.bytes(b.raw);
    return;
  }
  switch (b.mpType) {
    case MP.DESC: {
      const d = b as Desc;
      w.str(d.mfr, 256).str(d.hw, 256).str(d.sw, 256).str(d.serial, 32).str(d.dp, 256);
      return;
    }
    case MP.FLOW:
      for (const f of (b as { flows: FlowStats[] }).flows) writeFlowStats(w, f);
      return;
    case MP.AGGREGATE: {
      const a = b as { packetCount: bigint; byteCount: bigint; flowCount: number };
      w.u64(a.packetCount).u64(a.byteCount).u32(a.flowCount).zeros(4);
      return;
    }
    case MP.TABLE:
      for (const t of (b as { tables: TableStatsEntry[] }).tables) w.u8(t.tableId).zeros(3).u32(t.activeCount).u64(t.lookupCount).u64(t.matchedCount);
      return;
    case MP.PORT_STATS:
      for (const p of (b as { ports: PortStats[] }).ports) {
        w.u32(p.portNo).zeros(4);
        for (const k of PORT_STATS_COUNTERS) w.u64(p[k]);
        w.u32(p.durationSec).u32(p.durationNsec);
      }
      return;
    case MP.PORT_DESC:
      for (const p of (b as { ports: OfPort[] }).ports) writePort(w, p);
      return;
    case MP.TABLE_FEATURES:
      for (const t of (b as { tables: TableFeatures[] }).tables) {
        w.u16(64 + t.properties.length).u8(t.tableId).zeros(5).str(t.name, 32).u64(t.metadataMatch).u64(t.metadataWrite).u32(t.config).u32(t.maxEntries).bytes(t.properties);
      }
      return;
  }
}
