/**
 * Table-feature properties (OpenFlow 1.3 section 7.3.5.5): what a TABLE_FEATURES reply says
 * each table can match, set and do. ovs-ofctl 3.x asks for them before every flow command
 * and insists on the eight required properties.
 *
 *   property: type (2) | length (2, without padding) | data | zero pad to 8
 *   INSTRUCTIONS (0):                  ofp_instruction headers (type, len=4)
 *   NEXT_TABLES (2):                   table ids, one byte each
 *   WRITE_ACTIONS (4), APPLY_ACTIONS (6): ofp_action headers (type, len=4)
 *   MATCH (8), WILDCARDS (10), WRITE_SETFIELD (12), APPLY_SETFIELD (14): OXM headers (u32)
 */
import { Writer } from './buffer';

export const TFPT = {
  INSTRUCTIONS: 0,
  NEXT_TABLES: 2,
  WRITE_ACTIONS: 4,
  APPLY_ACTIONS: 6,
  MATCH: 8,
  WILDCARDS: 10,
  WRITE_SETFIELD: 12,
  APPLY_SETFIELD: 14,
} as const;

export interface TableCapabilities {
  instructions: number[];
  nextTables: number[];
  writeActions: number[];
  applyActions: number[];
  match: number[];
  wildcards: number[];
  writeSetfield: number[];
  applySetfield: number[];
}

function prop(w: Writer, type: number, body: (w: Writer) => void): void {
  const start = w.len;
  w.u16(type).u16(0);
  body(w);
  w.patch16(start + 2, w.len - start);
  w.pad8(start);
}

/** The property bytes of one table (the `properties` of a TableFeatures entry). */
export function encodeTableProperties(c: TableCapabilities): Buffer {
  const w = new Writer();
  const headers = (list: number[]) => (x: Writer) => list.forEach((t) => x.u16(t).u16(4));
  const oxms = (list: number[]) => (x: Writer) => list.forEach((h) => x.u32(h));
  prop(w, TFPT.INSTRUCTIONS, headers(c.instructions));
  prop(w, TFPT.NEXT_TABLES, (x) => c.nextTables.forEach((t) => x.u8(t)));
  prop(w, TFPT.WRITE_ACTIONS, headers(c.writeActions));
  prop(w, TFPT.APPLY_ACTIONS, headers(c.applyActions));
  prop(w, TFPT.MATCH, oxms(c.match));
  prop(w, TFPT.WILDCARDS, oxms(c.wildcards));
  prop(w, TFPT.WRITE_SETFIELD, oxms(c.writeSetfield));
  prop(w, TFPT.APPLY_SETFIELD, oxms(c.applySetfield));
  return w.done();
}
