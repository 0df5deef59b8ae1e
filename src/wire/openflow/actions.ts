/**
 * OpenFlow 1.3 actions and instructions (spec 7.2.4-7.2.5) and the Nicira extension actions
 * Neutron's agent uses (OVS `ofp-actions.c`: nx_action_resubmit, nx_action_reg_load,
 * nx_action_reg_move, nx_action_note, dec_ttl, nx_action_conjunction).
 *
 *   action:      type (2) | len (2, multiple of 8) | body
 *   NX action:   0xffff (2) | len (2) | vendor 0x00002320 (4) | subtype (2) | body
 *   instruction: type (2) | len (2) | body
 *
 * Unknown action and instruction types decode to a generic `unknown` entry that re-encodes to
 * the same bytes: whether tvs can run them is the flow mapping's decision (it answers with
 * BAD_ACTION/BAD_TYPE or BAD_INSTRUCTION/UNKNOWN_INST), not a parse failure.
 */
import { AT, BAD_ACTION, BAD_INSTRUCTION, ET, IT, NXAST, NX_NAT_RANGE, NX_VENDOR_ID } from './constants';
import { OfError, Reader, Writer } from './buffer';
import { readOxm, writeOxm, type Oxm } from './oxm';

export type OfAction =
  | { type: 'output'; port: number; maxLen: number }
  | { type: 'push_vlan'; ethertype: number }
  | { type: 'pop_vlan' }
  | { type: 'dec_nw_ttl' }
  | { type: 'set_nw_ttl'; ttl: number }
  | { type: 'group'; groupId: number }
  | { type: 'set_queue'; queueId: number }
  | { type: 'set_field'; field: Oxm }
  /** ct: NXAST_RESUBMIT_TABLE_CT (resubmit(PORT,TABLE,ct)); table is then always present. */
  | { type: 'nx_resubmit'; inPort: number; table?: number; ct?: boolean }
  | { type: 'nx_reg_load'; ofsNbits: number; dst: number; value: bigint }
  | { type: 'nx_reg_move'; nBits: number; srcOfs: number; dstOfs: number; src: number; dst: number }
  | { type: 'nx_note'; note: Buffer }
  | { type: 'nx_dec_ttl' }
  /** nx_action_conjunction: clause is 0-based on the wire (OVS prints clause + 1). */
  | { type: 'nx_conjunction'; clause: number; nClauses: number; id: number }
  /** nx_action_learn (NXAST_LEARN): the flow_mod_specs decoded, fields as NXM/OXM headers. */
  | {
      type: 'nx_learn';
      idleTimeout: number;
      hardTimeout: number;
      priority: number;
      cookie: bigint;
      flags: number;
      table: number;
      finIdleTimeout: number;
      finHardTimeout: number;
      specs: NxLearnSpec[];
    }
  /**
   * nx_action_conntrack (NXAST_CT): flags NX_CT_F_*, zoneSrc the NXM header of the zone field
   * (0: zone is immediate, in zoneOfsNbits), recircTable 0xff = none, then nested actions
   * (nx_action_nat, set_field to ct_mark/ct_label).
   */
  | { type: 'nx_ct'; flags: number; zoneSrc: number; zoneOfsNbits: number; recircTable: number; alg: number; actions: OfAction[] }
  /** nx_action_nat (NXAST_NAT), only inside nx_ct: the range parts range_present says are there. */
  | { type: 'nx_nat'; flags: number; ipv4Min: number | null; ipv4Max: number | null; ipv6Min: Buffer | null; ipv6Max: Buffer | null; protoMin: number | null; protoMax: number | null }
  | { type: 'nx_ct_clear' }
  /** Any other action, kept whole (body = bytes after type and len). */
  | { type: 'unknown'; actionType: number; body: Buffer };

/**
 * One flow_mod_spec of nx_action_learn: header (src bit 13: 0 field, 1 immediate; dst bits 11-12:
 * 0 match, 1 load, 2 output; n_bits bits 0-10), then the source (field header + ofs, or the value
 * in ceil(n_bits/16)*2 bytes), then the destination (field header + ofs; none for output).
 */
export interface NxLearnSpec {
  dst: 'match' | 'load' | 'output';
  nBits: number;
  /** Source field header and offset, or the immediate value (null field). */
  srcField: number | null;
  srcOfs: number;
  value: bigint;
  dstField: number;
  dstOfs: number;
}

export type OfInstruction =
  | { type: 'goto_table'; table: number }
  | { type: 'write_metadata'; metadata: bigint; mask: bigint }
  | { type: 'write_actions'; actions: OfAction[] }
  | { type: 'apply_actions'; actions: OfAction[] }
  | { type: 'clear_actions' }
  | { type: 'meter'; meterId: number }
  | { type: 'unknown'; instType: number; body: Buffer };

function badAction(code: number, msg: string): OfError {
  return new OfError(ET.BAD_ACTION, code, msg);
}

/** Decode one action at r (its len field bounds it). */
export function readAction(r: Reader): OfAction {
  if (r.left < 4) throw badAction(BAD_ACTION.BAD_LEN, 'action list ends inside an action header');
  const type = r.u16();
  const len = r.u16();
  if (len < 8 || len % 8 !== 0 || len - 4 > r.left) throw badAction(BAD_ACTION.BAD_LEN, `action type ${type}: bad length ${len}`);
  const b = r.sub(len - 4, 'action', ET.BAD_ACTION, BAD_ACTION.BAD_LEN);
  const fixed = (want: number): void => {
    if (len !== want) throw badAction(BAD_ACTION.BAD_LEN, `action type ${type}: length ${len}, expected ${want}`);
  };
  switch (type) {
    case AT.OUTPUT: {
      fixed(16);
      const port = b.u32();
      const maxLen = b.u16();
      return { type: 'output', port, maxLen };
    }
    case AT.PUSH_VLAN:
      fixed(8);
      return { type: 'push_vlan', ethertype: b.u16() };
    case AT.POP_VLAN:
      fixed(8);
      return { type: 'pop_vlan' };
    case AT.DEC_NW_TTL:
      fixed(8);
      return { type: 'dec_nw_ttl' };
    case AT.SET_NW_TTL:
      fixed(8);
      return { type: 'set_nw_ttl', ttl: b.u8() };
    case AT.GROUP:
      fixed(8);
      return { type: 'group', groupId: b.u32() };
    case AT.SET_QUEUE:
      fixed(8);
      return { type: 'set_queue', queueId: b.u32() };
    case AT.SET_FIELD: {
      if (b.left < 4) throw badAction(BAD_ACTION.BAD_SET_LEN, 'set_field without an OXM');
      let field: Oxm;
      try {
        field = readOxm(b);
      } catch (e) {
        if (e instanceof OfError) throw badAction(BAD_ACTION.BAD_SET_LEN, `set_field: ${e.message}`);
        throw e;
      }
      if (field.mask !== undefined) throw badAction(BAD_ACTION.BAD_SET_ARGUMENT, 'set_field with a mask (OpenFlow 1.3 has none)');
      // The TLV plus padding must fill the action exactly (OVS: OFPBAC_BAD_SET_LEN).
      if ((4 + 4 + field.value.length + 7) >> 3 !== len >> 3) throw badAction(BAD_ACTION.BAD_SET_LEN, `set_field: length ${len} does not fit its OXM`);
      return { type: 'set_field', field };
    }
    case AT.EXPERIMENTER:
      return readExperimenterAction(b, len);
    default:
      return { type: 'unknown', actionType: type, body: b.bytes(b.left) };
  }
}

function readExperimenterAction(b: Reader, len: number): OfAction {
  const start = b.pos;
  const vendor = b.u32();
  if (vendor !== NX_VENDOR_ID || len < 16) {
    b.pos = start;
    return { type: 'unknown', actionType: AT.EXPERIMENTER, body: b.bytes(b.left) };
  }
  const subtype = b.u16();
  const fixed = (want: number): void => {
    if (len !== want) throw badAction(BAD_ACTION.BAD_LEN, `NX action ${subtype}: length ${len}, expected ${want}`);
  };
  switch (subtype) {
    case NXAST.RESUBMIT:
      fixed(16);
      return { type: 'nx_resubmit', inPort: b.u16() };
    case NXAST.RESUBMIT_TABLE: {
      fixed(16);
      const inPort = b.u16();
      return { type: 'nx_resubmit', inPort, table: b.u8() };
    }
    case NXAST.RESUBMIT_TABLE_CT: {
      fixed(16);
      const inPort = b.u16();
      return { type: 'nx_resubmit', inPort, table: b.u8(), ct: true };
    }
    case NXAST.CT_CLEAR:
      fixed(16);
      return { type: 'nx_ct_clear' };
    case NXAST.CT: {
      if (len < 24) throw badAction(BAD_ACTION.BAD_LEN, `NX ct: length ${len}, at least 24`);
      const flags = b.u16();
      const zoneSrc = b.u32();
      const zoneOfsNbits = b.u16();
      const recircTable = b.u8();
      b.skip(3);
      const alg = b.u16();
      return { type: 'nx_ct', flags, zoneSrc, zoneOfsNbits, recircTable, alg, actions: readActions(b, b.left) };
    }
    case NXAST.NAT:
      return readNat(b, len);
    case NXAST.REG_LOAD: {
      fixed(24);
      const ofsNbits = b.u16();
      const dst = b.u32();
      return { type: 'nx_reg_load', ofsNbits, dst, value: b.u64() };
    }
    case NXAST.REG_MOVE: {
      fixed(24);
      const nBits = b.u16();
      const srcOfs = b.u16();
      const dstOfs = b.u16();
      const src = b.u32();
      return { type: 'nx_reg_move', nBits, srcOfs, dstOfs, src, dst: b.u32() };
    }
    case NXAST.NOTE:
      return { type: 'nx_note', note: b.bytes(b.left) };
    case NXAST.DEC_TTL:
      fixed(16);
      return { type: 'nx_dec_ttl' };
    case NXAST.CONJUNCTION: {
      fixed(16);
      const clause = b.u8();
      const nClauses = b.u8();
      return { type: 'nx_conjunction', clause, nClauses, id: b.u32() };
    }
    case NXAST.LEARN:
      return readLearn(b, len);
    default:
      b.pos = start;
      return { type: 'unknown', actionType: AT.EXPERIMENTER, body: b.bytes(b.left) };
  }
}

function readNat(b: Reader, len: number): OfAction {
  b.skip(2);
  const flags = b.u16();
  const present = b.u16();
  const need = (n: number): void => {
    if (b.left < n) throw badAction(BAD_ACTION.BAD_LEN, `NX nat: length ${len} is too short for its ranges`);
  };
  const u32 = (bit: number): number | null => (present & bit ? (need(4), b.u32()) : null);
  const v6 = (bit: number): Buffer | null => (present & bit ? (need(16), b.bytes(16)) : null);
  const u16 = (bit: number): number | null => (present & bit ? (need(2), b.u16()) : null);
  const ipv4Min = u32(NX_NAT_RANGE.IPV4_MIN);
  const ipv4Max = u32(NX_NAT_RANGE.IPV4_MAX);
  const ipv6Min = v6(NX_NAT_RANGE.IPV6_MIN);
  const ipv6Max = v6(NX_NAT_RANGE.IPV6_MAX);
  const protoMin = u16(NX_NAT_RANGE.PROTO_MIN);
  const protoMax = u16(NX_NAT_RANGE.PROTO_MAX);
  return { type: 'nx_nat', flags, ipv4Min, ipv4Max, ipv6Min, ipv6Max, protoMin, protoMax };
}

function writeNat(w: Writer, a: Extract<OfAction, { type: 'nx_nat' }>): void {
  const start = w.len;
  nxHeader(w, 0, NXAST.NAT);
  const present =
    (a.ipv4Min !== null ? NX_NAT_RANGE.IPV4_MIN : 0) | (a.ipv4Max !== null ? NX_NAT_RANGE.IPV4_MAX : 0) |
    (a.ipv6Min !== null ? NX_NAT_RANGE.IPV6_MIN : 0) | (a.ipv6Max !== null ? NX_NAT_RANGE.IPV6_MAX : 0) |
    (a.protoMin !== null ? NX_NAT_RANGE.PROTO_MIN : 0) | (a.protoMax !== null ? NX_NAT_RANGE.PROTO_MAX : 0);
  w.zeros(2).u16(a.flags).u16(present);
  if (a.ipv4Min !== null) w.u32(a.ipv4Min);
  if (a.ipv4Max !== null) w.u32(a.ipv4Max);
  if (a.ipv6Min !== null) w.bytes(a.ipv6Min);
  if (a.ipv6Max !== null) w.bytes(a.ipv6Max);
  if (a.protoMin !== null) w.u16(a.protoMin);
  if (a.protoMax !== null) w.u16(a.protoMax);
  w.pad8(start);
  w.patch16(start + 2, w.len - start);
}

function readLearn(b: Reader, len: number): OfAction {
  if (len < 32) throw badAction(BAD_ACTION.BAD_LEN, `NX learn: length ${len}, at least 32`);
  const idleTimeout = b.u16();
  const hardTimeout = b.u16();
  const priority = b.u16();
  const cookie = b.u64();
  const flags = b.u16();
  const table = b.u8();
  b.u8();
  const finIdleTimeout = b.u16();
  const finHardTimeout = b.u16();
  const specs: NxLearnSpec[] = [];
  while (b.left >= 2) {
    const h = b.u16();
    if (h === 0) break; // padding
    const nBits = h & 0x7ff;
    const imm = (h & 0x2000) !== 0;
    const d = (h >> 11) & 3;
    if (d === 3 || (h & 0xc000) !== 0 || nBits === 0) throw badAction(BAD_ACTION.BAD_ARGUMENT, `NX learn: bad flow_mod_spec header 0x${h.toString(16)}`);
    const spec: NxLearnSpec = { dst: d === 0 ? 'match' : d === 1 ? 'load' : 'output', nBits, srcField: null, srcOfs: 0, value: 0n, dstField: 0, dstOfs: 0 };
    const need = (n: number): void => {
      if (b.left < n) throw badAction(BAD_ACTION.BAD_LEN, 'NX learn: flow_mod_spec runs past the action');
    };
    if (imm) {
      const n = ((nBits + 15) >> 4) * 2;
      need(n);
      let v = 0n;
      for (let i = 0; i < n; i++) v = (v << 8n) | BigInt(b.u8());
      spec.value = v;
    } else {
      need(6);
      spec.srcField = b.u32();
      spec.srcOfs = b.u16();
    }
    if (spec.dst !== 'output') {
      need(6);
      spec.dstField = b.u32();
      spec.dstOfs = b.u16();
    }
    specs.push(spec);
  }
  return { type: 'nx_learn', idleTimeout, hardTimeout, priority, cookie, flags, table, finIdleTimeout, finHardTimeout, specs };
}

function writeLearn(w: Writer, a: Extract<OfAction, { type: 'nx_learn' }>): void {
  const start = w.len;
  nxHeader(w, 0, NXAST.LEARN); // length patched below
  w.u16(a.idleTimeout).u16(a.hardTimeout).u16(a.priority).u64(a.cookie).u16(a.flags).u8(a.table).u8(0).u16(a.finIdleTimeout).u16(a.finHardTimeout);
  for (const s of a.specs) {
    const d = s.dst === 'match' ? 0 : s.dst === 'load' ? 1 : 2;
    w.u16((s.srcField === null ? 0x2000 : 0) | (d << 11) | s.nBits);
    if (s.srcField === null) {
      const n = ((s.nBits + 15) >> 4) * 2;
      for (let i = n - 1; i >= 0; i--) w.u8(Number((s.value >> BigInt(8 * i)) & 0xffn));
    } else w.u32(s.srcField).u16(s.srcOfs);
    if (s.dst !== 'output') w.u32(s.dstField).u16(s.dstOfs);
  }
  w.pad8(start);
  w.patch16(start + 2, w.len - start);
}

/** Decode `len` bytes of actions. */
export function readActions(r: Reader, len: number): OfAction[] {
  if (len > r.left) throw badAction(BAD_ACTION.BAD_LEN, `actions length ${len} runs past the message`);
  const b = r.sub(len, 'actions', ET.BAD_ACTION, BAD_ACTION.BAD_LEN);
  const out: OfAction[] = [];
  while (b.left > 0) out.push(readAction(b));
  return out;
}

function nxHeader(w: Writer, len: number, subtype: number): void {
  w.u16(AT.EXPERIMENTER).u16(len).u32(NX_VENDOR_ID).u16(subtype);
}

export function writeAction(w: Writer, a: OfAction): void {
  switch (a.type) {
    case 'output':
      w.u16(AT.OUTPUT).u16(16).u32(a.port).u16(a.maxLen).zeros(6);
      return;
    case 'push_vlan':
      w.u16(AT.PUSH_VLAN).u16(8).u16(a.ethertype).zeros(2);
      return;
    case 'pop_vlan':
      w.u16(AT.POP_VLAN).u16(8).zeros(4);
      return;
    case 'dec_nw_ttl':
      w.u16(AT.DEC_NW_TTL).u16(8).zeros(4);
      return;
    case 'set_nw_ttl':
      w.u16(AT.SET_NW_TTL).u16(8).u8(a.ttl).zeros(3);
      return;
    case 'group':
      w.u16(AT.GROUP).u16(8).u32(a.groupId);
      return;
    case 'set_queue':
      w.u16(AT.SET_QUEUE).u16(8).u32(a.queueId);
      return;
    case 'set_field': {
      const start = w.len;
      const len = (4 + 4 + a.field.value.length + 7) & ~7;
      w.u16(AT.SET_FIELD).u16(len);
      writeOxm(w, a.field);
      w.pad8(start);
      return;
    }
    case 'nx_resubmit':
      if (a.table === undefined) {
        nxHeader(w, 16, NXAST.RESUBMIT);
        w.u16(a.inPort).zeros(4);
      } else {
        nxHeader(w, 16, a.ct ? NXAST.RESUBMIT_TABLE_CT : NXAST.RESUBMIT_TABLE);
        w.u16(a.inPort).u8(a.table).zeros(3);
      }
      return;
    case 'nx_reg_load':
      nxHeader(w, 24, NXAST.REG_LOAD);
      w.u16(a.ofsNbits).u32(a.dst).u64(a.value);
      return;
    case 'nx_reg_move':
      nxHeader(w, 24, NXAST.REG_MOVE);
      w.u16(a.nBits).u16(a.srcOfs).u16(a.dstOfs).u32(a.src).u32(a.dst);
      return;
    case 'nx_note': {
      const len = Math.max(16, (10 + a.note.length + 7) & ~7);
      nxHeader(w, len, NXAST.NOTE);
      w.bytes(a.note).zeros(len - 10 - a.note.length);
      return;
    }
    case 'nx_dec_ttl':
      nxHeader(w, 16, NXAST.DEC_TTL);
      w.zeros(6);
      return;
    case 'nx_conjunction':
      nxHeader(w, 16, NXAST.CONJUNCTION);
      w.u8(a.clause).u8(a.nClauses).u32(a.id);
      return;
    case 'nx_learn':
      writeLearn(w, a);
      return;
    case 'nx_ct_clear':
      nxHeader(w, 16, NXAST.CT_CLEAR);
      w.zeros(6);
      return;
    case 'nx_nat':
      writeNat(w, a);
      return;
    case 'nx_ct': {
      const start = w.len;
      nxHeader(w, 0, NXAST.CT);
      w.u16(a.flags).u32(a.zoneSrc).u16(a.zoneOfsNbits).u8(a.recircTable).zeros(3).u16(a.alg);
      writeActions(w, a.actions);
      w.patch16(start + 2, w.len - start);
      return;
    }
    case 'unknown':
      w.u16(a.actionType).u16(4 + a.body.length).bytes(a.body);
      return;
  }
}

export function writeActions(w: Writer, actions: readonly OfAction[]): number {
  const start = w.len;
  for (const a of actions) writeAction(w, a);
  return w.len - start;
}

function badInst(code: number, msg: string): OfError {
  return new OfError(ET.BAD_INSTRUCTION, code, msg);
}

export function readInstructions(r: Reader): OfInstruction[] {
  const out: OfInstruction[] = [];
  while (r.left > 0) {
    if (r.left < 4) throw badInst(BAD_INSTRUCTION.BAD_LEN, 'instructions end inside an instruction header');
    const type = r.u16();
    const len = r.u16();
    if (len < 8 || len % 8 !== 0 || len - 4 > r.left) throw badInst(BAD_INSTRUCTION.BAD_LEN, `instruction type ${type}: bad length ${len}`);
    const b = r.sub(len - 4, 'instruction', ET.BAD_INSTRUCTION, BAD_INSTRUCTION.BAD_LEN);
    const fixed = (want: number): void => {
      if (len !== want) throw badInst(BAD_INSTRUCTION.BAD_LEN, `instruction type ${type}: length ${len}, expected ${want}`);
    };
    switch (type) {
      case IT.GOTO_TABLE:
        fixed(8);
        out.push({ type: 'goto_table', table: b.u8() });
        break;
      case IT.WRITE_METADATA: {
        fixed(24);
        b.skip(4);
        const metadata = b.u64();
        out.push({ type: 'write_metadata', metadata, mask: b.u64() });
        break;
      }
      case IT.WRITE_ACTIONS:
      case IT.APPLY_ACTIONS: {
        b.skip(4);
        const actions = readActions(b, b.left);
        out.push({ type: type === IT.WRITE_ACTIONS ? 'write_actions' : 'apply_actions', actions });
        break;
      }
      case IT.CLEAR_ACTIONS:
        fixed(8);
        out.push({ type: 'clear_actions' });
        break;
      case IT.METER:
        fixed(8);
        out.push({ type: 'meter', meterId: b.u32() });
        break;
      default:
        out.push({ type: 'unknown', instType: type, body: b.bytes(b.left) });
    }
  }
  return out;
}

export function writeInstructions(w: Writer, insts: readonly OfInstruction[]): void {
  for (const i of insts) {
    switch (i.type) {
      case 'goto_table':
        w.u16(IT.GOTO_TABLE).u16(8).u8(i.table).zeros(3);
        break;
      case 'write_metadata':
        w.u16(IT.WRITE_METADATA).u16(24).zeros(4).u64(i.metadata).u64(i.mask);
        break;
      case 'write_actions':
      case 'apply_actions': {
        const start = w.len;
        w.u16(i.type === 'write_actions' ? IT.WRITE_ACTIONS : IT.APPLY_ACTIONS).u16(0).zeros(4);
        writeActions(w, i.actions);
        w.patch16(start + 2, w.len - start);
        break;
      }
      case 'clear_actions':
        w.u16(IT.CLEAR_ACTIONS).u16(8).zeros(4);
        break;
      case 'meter':
        w.u16(IT.METER).u16(8).u32(i.meterId);
        break;
      case 'unknown':
        w.u16(i.instType).u16(4 + i.body.length).bytes(i.body);
        break;
    }
  }
}
