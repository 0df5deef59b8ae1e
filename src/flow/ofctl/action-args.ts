/**
 * Arguments of single actions that have a syntax of their own: controller(max_len=N),
 * resubmit(PORT,TABLE[,ct]), dec_ttl(IDS), conjunction(id,k/n), bounded numbers.
 */
import * as F from '../fields';
import type { Action } from '../actions';
import type { ParseOptions } from './flow-spec';
import { parsePortArg } from './ports';
import { argCol, err, FlowSyntaxError, located, type Token } from './tokens';

export function rangeUint(v: string, max: number, what: string): number {
  const n = F.parseUint(v, 16, what);
  if (n > max) throw new Error(`${what} ${n} is out of range (0..${max})`);
  return n;
}

export function parseControllerArg(tok: Token): number {
  if (!tok.hasValue || tok.value === '') return 65535;
  const v = tok.value;
  if (/^(0x)?[0-9a-f]+$/i.test(v)) return located(tok, () => F.parseUint(v, 16, 'max_len'));
  let maxLen = 65535;
  for (const part of v.split(',')) {
    const [key, val] = part.split('=');
    if (key.trim() === 'max_len' && val !== undefined) maxLen = located(tok, () => F.parseUint(val, 16, 'max_len'));
    else if (key.trim() !== '') throw err(`controller: unsupported option '${key.trim()}' (only max_len)`, tok);
  }
  return maxLen;
}

export function parseResubmit(v: string, tok: Token, opts: ParseOptions): Action {
  // resubmit:PORT, or resubmit([PORT],[TABLE][,ct]) from the paren form (OVS parse_RESUBMIT).
  const parts = v.split(',');
  if (parts.length > 3) {
    throw new FlowSyntaxError(`resubmit takes (port,table[,ct]); extra argument '${parts.slice(3).join(',')}'`, argCol(tok, v, 3), 'resubmit');
  }
  const ps = parts[0].trim();
  const ts = parts.length > 1 ? parts[1].trim() : '';
  let ct = false;
  if (parts.length === 3) {
    const cs = parts[2].trim();
    if (cs === 'ct') ct = true;
    else if (cs !== '') throw new FlowSyntaxError(`resubmit: unknown argument '${cs}' (the third argument can only be ct)`, argCol(tok, v, 2), 'resubmit');
  }
  const port = ps === '' || ps.toUpperCase() === 'IN_PORT' ? -1 : parsePortArg(ps, tok, opts, 'port for resubmit');
  const table = ts === '' || ts === '*' ? 255 : located(tok, () => F.parseUint(ts, 8, 'table'));
  if (port === -1 && table === 255) throw err('resubmit needs a port or a table', tok);
  return { type: 'resubmit', port, table, ct };
}

/** dec_ttl, dec_ttl(ID,...) or dec_ttl:ID: controller ids (16 bits), comma or space separated. */
export function parseDecTtl(tok: Token): Action {
  if (!tok.hasValue) return { type: 'dec_ttl', ids: null };
  const ids: number[] = [];
  let at = 0;
  for (const raw of tok.value.split(/[\s,]/)) {
    const col = tok.valCol + at;
    at += raw.length + 1;
    if (raw === '') continue;
    if (!/^(0x[0-9a-f]+|[0-9]+)$/i.test(raw)) {
      throw new FlowSyntaxError(`dec_ttl: '${raw}' is not a controller id (a number 0..65535)`, col, 'dec_ttl');
    }
    const n = Number(raw);
    if (n > 0xffff) throw new FlowSyntaxError(`dec_ttl: controller id ${raw} is out of range (0..65535)`, col, 'dec_ttl');
    ids.push(n);
  }
  // OVS prints `dec_ttl()` back as plain `dec_ttl`.
  return { type: 'dec_ttl', ids: ids.length === 0 ? null : ids };
}

/** `conjunction(id,k/n)`: OVS's limits and messages (2 <= n <= 64, 1 <= k <= n, 32-bit id). */
export function parseConjunction(v: string, tok: Token): Action {
  const m = /^\s*(0x[0-9a-f]+|[0-9]+)\s*,\s*([0-9]+)\s*\/\s*([0-9]+)\s*$/i.exec(v);
  if (!m) throw err(`"conjunction" syntax is "conjunction(id,k/n)"`, tok);
  const id = located(tok, () => F.parseUint(m[1], 32, 'conjunction id'));
  const clause = Number(m[2]);
  const nClauses = Number(m[3]);
  if (nClauses < 2) throw err('conjunction must have at least 2 clauses', tok);
  if (nClauses > 64) throw err('conjunction must have at most 64 clauses', tok);
  if (clause < 1) throw err('clause index must be positive', tok);
  if (clause > nClauses) throw err('clause index must be less than or equal to number of clauses', tok);
  return { type: 'conjunction', id, clause, nClauses };
}
