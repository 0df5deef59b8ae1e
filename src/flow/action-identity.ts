/**
 * Structural identity of action lists, for sharing compiled programs (programs.ts) without
 * printing them: two lists are the same when they have the same actions in the same order and
 * each action has the same fields with the same values, nested lists and objects (ct's exec,
 * learn's specs, subfields, nat) compared the same way, whatever order the fields were set in.
 * A field holding `undefined` counts as absent. Printing (ofctl-format) and compiling
 * (actions.ts) are pure functions of those values, so two lists that are the same here print
 * the same and compile to the same plan.
 *
 * The hash is consistent with `sameActions` (same lists, same hash): fields are combined by
 * addition, so their order does not change it; list items are mixed in order.
 */
import type { Action } from './actions';

function mix(h: number, w: number): number {
  w = Math.imul(w, 0xcc9e2d51);
  w = (w << 15) | (w >>> 17);
  h ^= Math.imul(w, 0x1b873593);
  h = (h << 13) | (h >>> 19);
  return (Math.imul(h, 5) + 0xe6546b64) | 0;
}

const TWO_32 = 4294967296;

function hashValue(v: unknown): number {
  switch (typeof v) {
    case 'number':
      // Low and high 32 bits (ToInt32 wraps; -0 and 0 hash alike, as they compare equal).
      return mix(mix(1, v | 0), (v / TWO_32) | 0);
    case 'bigint': {
      const n = Number(v); // rounding is fine: equal bigints round alike
      return mix(mix(2, n | 0), (n / TWO_32) | 0);
    }
    case 'string': {
      let h = mix(3, v.length);
      for (let i = 0; i < v.length; i++) h = mix(h, v.charCodeAt(i));
      return h;
    }
    case 'boolean':
      return v ? 4 : 5;
    case 'object':
      if (v === null) return 6;
      if (Array.isArray(v)) {
        let h = mix(7, v.length);
        for (let i = 0; i < v.length; i++) h = mix(h, hashValue(v[i]));
        return h;
      }
      if (ArrayBuffer.isView(v)) {
        const b = new Uint8Array(v.buffer, v.byteOffset, v.byteLength);
        let h = mix(8, b.length);
        for (let i = 0; i < b.length; i++) h = mix(h, b[i]);
        return h;
      }
      return hashObject(v as Record<string, unknown>);
    default:
      return 9; // undefined (skipped by hashObject), functions, symbols: never in an action
  }
}

function hashObject(o: Record<string, unknown>): number {
  let sum = 0;
  for (const k in o) {
    const x = o[k];
    if (x === undefined) continue;
    sum = (sum + mix(hashValue(k), hashValue(x))) | 0;
  }
  return mix(10, sum);
}

/** Hash of an action list, consistent with sameActions. */
export function actionsHash(actions: readonly Action[]): number {
  return hashValue(actions) >>> 0;
}

function sameValue(a: unknown, b: unknown): boolean {
  if (a === b) return true; // primitives (bigints by value); NaN never equals, so never shares
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  if (Object.getPrototypeOf(a) !== Object.getPrototypeOf(b)) return false;
  if (Array.isArray(a)) {
    const y = b as unknown[];
    if (a.length !== y.length) return false;
    for (let i = 0; i < a.length; i++) if (!sameValue(a[i], y[i])) return false;
    return true;
  }
  if (ArrayBuffer.isView(a)) {
    const y = b as ArrayBufferView;
    if (a.byteLength !== y.byteLength) return false;
    const p = new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
    const q = new Uint8Array(y.buffer, y.byteOffset, y.byteLength);
    for (let i = 0; i < p.length; i++) if (p[i] !== q[i]) return false;
    return true;
  }
  const x = a as Record<string, unknown>;
  const y = b as Record<string, unknown>;
  let fields = 0;
  for (const k in x) {
    const v = x[k];
    if (v === undefined) continue;
    fields++;
    if (!sameValue(v, y[k])) return false;
  }
  for (const k in y) if (y[k] !== undefined) fields--;
  return fields === 0;
}

/** Are two action lists the same (see the header)? */
export function sameActions(a: readonly Action[], b: readonly Action[]): boolean {
  return sameValue(a, b);
}
