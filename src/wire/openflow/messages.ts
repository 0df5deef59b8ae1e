/**
 * OpenFlow 1.3 messages: decode one framed message into a typed object, encode it back
 * (spec section 7; layouts as os-ken's `ofproto_v1_3_parser` and OVS `ofp-msgs.h` give them).
 *
 *   ofp_header:  version (0) | type (1) | length (2-3) | xid (4-7)
 *
 * `decodeMessage` takes exactly one message (the framer in `framing.ts` cuts the stream by the
 * length field) and throws OfError with the OpenFlow error type/code on anything malformed.
 * Types tvs does not implement decode to `unsupported` so the connection can answer them with
 * the right error instead of failing the parse.
 */
import { BAD_REQUEST, ET, HEADER_LEN, HELLO_ELEM_VERSIONBITMAP, MAX_MESSAGE_LEN, MP, OFP13_VERSION, T } from './constants';
import { OfError, Reader, Writer } from './buffer';
import { readMatch, writeMatch, type Oxm } from './oxm';
import { readActions, readInstructions, writeActions, writeInstructions, type OfAction, type OfInstruction } from './actions';
import { readMpReply, readMpRequest, writeMpReply, writeMpRequest, type MpReplyBody, type MpRequestBody } from './multipart';
import { readPort, writePort, type OfPort } from './port';

export interface HelloElement {
  type: number;
  /** Element body (for the version bitmap: the 32-bit bitmap words). */
  data: Buffer;
}

export type OfBody =
  | { type: 'hello'; elements: HelloElement[] }
  | { type: 'error'; errType: number; code: number; data: Buffer }
  | { type: 'echo_request'; data: Buffer }
  | { type: 'echo_reply'; data: Buffer }
  | { type: 'experimenter'; experimenter: number; expType: number; data: Buffer }
  | { type: 'features_request' }
  | { type: 'features_reply'; datapathId: bigint; nBuffers: number; nTables: number; auxiliaryId: number; capabilities: number; reserved: number }
  | { type: 'get_config_request' }
  | { type: 'get_config_reply'; flags: number; missSendLen: number }
  | { type: 'set_config'; flags: number; missSendLen: number }
  | { type: 'packet_in'; bufferId: number; totalLen: number; reason: number; tableId: number; cookie: bigint; match: Oxm[]; data: Buffer }
  | {
      type: 'flow_removed';
      cookie: bigint;
      priority: number;
      reason: number;
      tableId: number;
      durationSec: number;
      durationNsec: number;
      idleTimeout: number;
      hardTimeout: number;
      packetCount: bigint;
      byteCount: bigint;
      match: Oxm[];
    }
  | { type: 'port_status'; reason: number; port: OfPort }
  | { type: 'packet_out'; bufferId: number; inPort: number; actions: OfAction[]; data: Buffer }
  | FlowMod
  | { type: 'multipart_request'; flags: number; body: MpRequestBody }
  | { type: 'multipart_reply'; flags: number; body: MpReplyBody }
  | { type: 'barrier_request' }
  | { type: 'barrier_reply' }
  | { type: 'role_request'; role: number; generationId: bigint }
  | { type: 'role_reply'; role: number; generationId: bigint }
  /** A message type tvs does not implement (group_mod, meter_mod, ...), kept whole. */
  | { type: 'unsupported'; msgType: number; data: Buffer };

export interface FlowMod {
  type: 'flow_mod';
  cookie: bigint;
  cookieMask: bigint;
  tableId: number;
  command: number;
  idleTimeout: number;
  hardTimeout: number;
  priority: number;
  bufferId: number;
  outPort: number;
  outGroup: number;
  flags: number;
  match: Oxm[];
  instructions: OfInstruction[];
}

export type OfMessage = OfBody & { xid: number; version?: number };

const TYPE_OF: Record<string, number> = {
  hello: T.HELLO,
  error: T.ERROR,
  echo_request: T.ECHO_REQUEST,
  echo_reply: T.ECHO_REPLY,
  experimenter: T.EXPERIMENTER,
  features_request: T.FEATURES_REQUEST,
  features_reply: T.FEATURES_REPLY,
  get_config_request: T.GET_CONFIG_REQUEST,
  get_config_reply: T.GET_CONFIG_REPLY,
  set_config: T.SET_CONFIG,
  packet_in: T.PACKET_IN,
  flow_removed: T.FLOW_REMOVED,
  port_status: T.PORT_STATUS,
  packet_out: T.PACKET_OUT,
  flow_mod: T.FLOW_MOD,
  multipart_request: T.MULTIPART_REQUEST,
  multipart_reply: T.MULTIPART_REPLY,
  barrier_request: T.BARRIER_REQUEST,
  barrier_reply: T.BARRIER_REPLY,
  role_request: T.ROLE_REQUEST,
  role_reply: T.ROLE_REPLY,
};

/** The wire type number of a message. */
export function messageType(m: OfBody): number {
  return m.type === 'unsupported' ? m.msgType : TYPE_OF[m.type];
}

/** Header fields of a framed message (no checks beyond the 8 bytes). */
export function peekHeader(b: Buffer): { version: number; type: number; length: number; xid: number } {
  return { version: b[0], type: b[1], length: b.readUInt16BE(2), xid: b.readUInt32BE(4) };
}

function badLenFor(what: string): OfError {
  return new OfError(ET.BAD_REQUEST, BAD_REQUEST.BAD_LEN, `${what}: bad length`);
}

/**
 * Decode one whole message. HELLO is accepted at any version (negotiation needs it); every
 * other message must be OpenFlow 1.3.
 */
export function decodeMessage(buf: Buffer): OfMessage {
  if (buf.length < HEADER_LEN) throw badLenFor('header');
  const h = peekHeader(buf);
  if (h.length !== buf.length) throw new OfError(ET.BAD_REQUEST, BAD_REQUEST.BAD_LEN, `header length ${h.length} != message size ${buf.length}`);
  if (h.type !== T.HELLO && h.version !== OFP13_VERSION) {
    throw new OfError(ET.BAD_REQUEST, BAD_REQUEST.BAD_VERSION, `version 0x${h.version.toString(16)} is not OpenFlow 1.3 (0x04)`);
  }
  const r = new Reader(buf, HEADER_LEN);
  // decodeBody returns a fresh object: add the header fields to it rather than copy it with a
  // spread (a spread per message was a tenth of the FLOW_MOD install cost).
  const m = decodeBody(h.type, r) as OfMessage;
  m.xid = h.xid;
  m.version = h.version;
  return m;
}

function fixedLen(r: Reader, n: number, what: string): void {
  if (r.left !== n) throw badLenFor(what);
}

function decodeBody(type: number, r: Reader): OfBody {
  switch (type) {
    case T.HELLO: {
      const elements: HelloElement[] = [];
      while (r.left >= 4) {
        const et = r.u16();
        const el = r.u16();
        if (el < 4 || el - 4 > r.left) throw new OfError(ET.HELLO_FAILED, 0, `hello element length ${el} is wrong`);
        const data = r.bytes(el - 4);
        r.skip(Math.min(r.left, ((el + 7) & ~7) - el));
        elements.push({ type: et, data });
      }
      // Trailing bytes too short for an element are ignored, as OVS does.
      return { type: 'hello', elements };
    }
    case T.ERROR: {
      const errType = r.u16();
      const code = r.u16();
      return { type: 'error', errType, code, data: r.bytes(r.left) };
    }
    case T.ECHO_REQUEST:
    case T.ECHO_REPLY:
      return { type: type === T.ECHO_REQUEST ? 'echo_request' : 'echo_reply', data: r.bytes(r.left) };
    case T.EXPERIMENTER: {
      const experimenter = r.u32();
      const expType = r.u32();
      return { type: 'experimenter', experimenter, expType, data: r.bytes(r.left) };
    }
    case T.FEATURES_REQUEST:
    case T.GET_CONFIG_REQUEST:
    case T.BARRIER_REQUEST:
    case T.BARRIER_REPLY:
      fixedLen(r, 0, 'request without a body');
      return { type: type === T.FEATURES_REQUEST ? 'features_request' : type === T.GET_CONFIG_REQUEST ? 'get_config_request' : type === T.BARRIER_REQUEST ? 'barrier_request' : 'barrier_reply' };
    case T.FEATURES_REPLY: {
      fixedLen(r, 24, 'features_reply');
      const datapathId = r.u64();
      const nBuffers = r.u32();
      const nTables = r.u8();
      const auxiliaryId = r.u8();
      r.skip(2);
      const capabilities = r.u32();
      return { type: 'features_reply', datapathId, nBuffers, nTables, auxiliaryId, capabilities, reserved: r.u32() };
    }
    case T.GET_CONFIG_REPLY:
    case T.SET_CONFIG: {
      fixedLen(r, 4, 'switch config');
      const flags = r.u16();
      return { type: type === T.SET_CONFIG ? 'set_config' : 'get_config_reply', flags, missSendLen: r.u16() };
    }
    case T.PACKET_IN: {
      const bufferId = r.u32();
      const totalLen = r.u16();
      const reason = r.u8();
      const tableId = r.u8();
      const cookie = r.u64();
      const match = readMatch(r);
      r.skip(2);
      return { type: 'packet_in', bufferId, totalLen, reason, tableId, cookie, match, data: r.bytes(r.left) };
    }
    case T.FLOW_REMOVED: {
      const cookie = r.u64();
      const priority = r.u16();
      const reason = r.u8();
      const tableId = r.u8();
      const durationSec = r.u32();
      const durationNsec = r.u32();
      const idleTimeout = r.u16();
      const hardTimeout = r.u16();
      const packetCount = r.u64();
      const byteCount = r.u64();
      const match = readMatch(r);
      fixedLen(r, 0, 'flow_removed');
      return { type: 'flow_removed', cookie, priority, reason, tableId, durationSec, durationNsec, idleTimeout, hardTimeout, packetCount, byteCount, match };
    }
    case T.PORT_STATUS: {
      fixedLen(r, 72, 'port_status');
      const reason = r.u8();
      r.skip(7);
      return { type: 'port_status', reason, port: readPort(r) };
    }
    case T.PACKET_OUT: {
      const bufferId = r.u32();
      const inPort = r.u32();
      const actionsLen = r.u16();
      r.skip(6);
      const actions = readActions(r, actionsLen);
      return { type: 'packet_out', bufferId, inPort, actions, data: r.bytes(r.left) };
    }
    case T.FLOW_MOD: {
      const cookie = r.u64();
      const cookieMask = r.u64();
      const tableId = r.u8();
      const command = r.u8();
      const idleTimeout = r.u16();
      const hardTimeout = r.u16();
      const priority = r.u16();
      const bufferId = r.u32();
      const outPort = r.u32();
      const outGroup = r.u32();
      const flags = r.u16();
      r.skip(2);
      const match = readMatch(r);
      const instructions = readInstructions(r);
      return { type: 'flow_mod', cookie, cookieMask, tableId, command, idleTimeout, hardTimeout, priority, bufferId, outPort, outGroup, flags, match, instructions };
    }
    case T.MULTIPART_REQUEST:
    case T.MULTIPART_REPLY: {
      const mpType = r.u16();
      const flags = r.u16();
      r.skip(4);
      if (type === T.MULTIPART_REQUEST) return { type: 'multipart_request', flags, body: readMpRequest(mpType, r) };
      return { type: 'multipart_reply', flags, body: readMpReply(mpType, r) };
    }
    case T.ROLE_REQUEST:
    case T.ROLE_REPLY: {
      fixedLen(r, 16, 'role message');
      const role = r.u32();
      r.skip(4);
      return { type: type === T.ROLE_REQUEST ? 'role_request' : 'role_reply', role, generationId: r.u64() };
    }
    default:
      return { type: 'unsupported', msgType: type, data: r.bytes(r.left) };
  }
}

/** Encode a message (version 1.3 unless `version` says otherwise: HELLO negotiation). */
export function encodeMessage(m: OfMessage): Buffer {
  const w = new Writer();
  w.u8(m.version ?? OFP13_VERSION).u8(messageType(m)).u16(0).u32(m.xid);
  encodeBody(w, m);
  if (w.len > MAX_MESSAGE_LEN) throw new RangeError(`OpenFlow message of ${w.len} bytes exceeds ${MAX_MESSAGE_LEN}`);
  w.patch16(2, w.len);
  return w.done();
}

function encodeBody(w: Writer, m: OfBody): void {
  switch (m.type) {
    case 'hello':
      for (const e of m.elements) {
        const start = w.len;
        w.u16(e.type).u16(4 + e.data.length).bytes(e.data);
        w.pad8(start);
      }
      return;
    case 'error':
      w.u16(m.errType).u16(m.code).bytes(m.data);
      return;
    case 'echo_request':
    case 'echo_reply':
      w.bytes(m.data);
      return;
    case 'experimenter':
      w.u32(m.experimenter).u32(m.expType).bytes(m.data);
      return;
    case 'features_request':
    case 'get_config_request':
    case 'barrier_request':
    case 'barrier_reply':
      return;
    case 'features_reply':
      w.u64(m.datapathId).u32(m.nBuffers).u8(m.nTables).u8(m.auxiliaryId).zeros(2).u32(m.capabilities).u32(m.reserved);
      return;
    case 'get_config_reply':
    case 'set_config':
      w.u16(m.flags).u16(m.missSendLen);
      return;
    case 'packet_in':
      w.u32(m.bufferId).u16(m.totalLen).u8(m.reason).u8(m.tableId).u64(m.cookie);
      writeMatch(w, m.match);
      w.zeros(2).bytes(m.data);
      return;
    case 'flow_removed':
      w.u64(m.cookie).u16(m.priority).u8(m.reason).u8(m.tableId).u32(m.durationSec).u32(m.durationNsec);
      w.u16(m.idleTimeout).u16(m.hardTimeout).u64(m.packetCount).u64(m.byteCount);
      writeMatch(w, m.match);
      return;
    case 'port_status':
      w.u8(m.reason).zeros(7);
      writePort(w, m.port);
      return;
    case 'packet_out': {
      w.u32(m.bufferId).u32(m.inPort);
      const at = w.len;
      w.u16(0).zeros(6);
      w.patch16(at, writeActions(w, m.actions));
      w.bytes(m.data);
      return;
    }
    case 'flow_mod':
      w.u64(m.cookie).u64(m.cookieMask).u8(m.tableId).u8(m.command).u16(m.idleTimeout).u16(m.hardTimeout).u16(m.priority);
      w.u32(m.bufferId).u32(m.outPort).u32(m.outGroup).u16(m.flags).zeros(2);
      writeMatch(w, m.match);
      writeInstructions(w, m.instructions);
      return;
    case 'multipart_request':
      w.u16(m.body.mpType).u16(m.flags).zeros(4);
      writeMpRequest(w, m.body);
      return;
    case 'multipart_reply':
      w.u16(m.body.mpType).u16(m.flags).zeros(4);
      writeMpReply(w, m.body);
      return;
    case 'role_request':
    case 'role_reply':
      w.u32(m.role).zeros(4).u64(m.generationId);
      return;
    case 'unsupported':
      w.bytes(m.data);
      return;
  }
}

/** The versions a HELLO offers: its bitmap if it has one, else just its header version. */
export function helloVersions(m: OfMessage & { type: 'hello' }): number[] {
  const bm = m.elements.find((e) => e.type === HELLO_ELEM_VERSIONBITMAP);
  if (!bm) return [m.version ?? 0];
  const out: number[] = [];
  for (let i = 0; i + 4 <= bm.data.length; i++) {
    if (i % 4 !== 0) continue;
    const word = bm.data.readUInt32BE(i);
    for (let bit = 0; bit < 32; bit++) if (word & (1 << bit)) out.push((i / 4) * 32 + bit);
  }
  return out;
}

/** A HELLO offering exactly OpenFlow 1.3 (header version 4 and a bitmap with bit 4). */
export function hello13(xid: number): OfMessage {
  const bm = Buffer.alloc(4);
  bm.writeUInt32BE(1 << OFP13_VERSION);
  return { type: 'hello', xid, elements: [{ type: HELLO_ELEM_VERSIONBITMAP, data: bm }] };
}

export { MP };
