/**
 * The lexical layer of ovs-ofctl flow text: items `k=v`, `k:v`, `k(v)` and bare `k`, each with the
 * 1-based columns of its key and value, and the error that names a field and a column. Every
 * other part of the parser reports through `err`/`located` so a message always points at the text.
 */
export class FlowSyntaxError extends Error {
  /** 1-based column in the flow text (0 when not tied to a position). */
  readonly column: number;
  /** The field or action the error is about ('' when none). */
  readonly field: string;
  /** 1-based line, for multi-line input (addFlows). */
  readonly line: number | undefined;
  /** The message without the location prefix. */
  readonly reason: string;
  constructor(reason: string, column: number, field: string, line?: number) {
    const where = line === undefined ? `flow: column ${column}` : `line ${line}, column ${column}`;
    super(`${where}: ${reason}`);
    this.name = 'FlowSyntaxError';
    this.reason = reason;
    this.column = column;
    this.field = field;
    this.line = line;
  }
  /** The same error located on a line of a multi-line text. */
  atLine(line: number): FlowSyntaxError {
    return new FlowSyntaxError(this.reason, this.column, this.field, line);
  }
}

export interface Token {
  key: string;
  value: string;
  hasValue: boolean;
  /** 1-based columns of the key and of the value. */
  keyCol: number;
  valCol: number;
}

/** Separator test by char code (a RegExp per character was a third of the parse time). */
function isSep(c: string): boolean {
  const x = c.charCodeAt(0);
  return x === 44 || x === 32 || x === 9 || x === 10 || x === 13 || x === 11 || x === 12;
}

/** Split `k=v`, `k:v`, `k(v)` and bare `k` items separated by commas/whitespace. */
export function tokenize(s: string, base: number): Token[] {
  const out: Token[] = [];
  let i = 0;
  while (i < s.length) {
    while (i < s.length && isSep(s[i])) i++;
    if (i >= s.length) break;
    const ks = i;
    while (i < s.length && !isSep(s[i]) && s[i] !== '=' && s[i] !== ':' && s[i] !== '(') i++;
    const key = s.slice(ks, i);
    if (i < s.length && (s[i] === '=' || s[i] === ':')) {
      i++;
      const vs = i;
      let depth = 0;
      let quote = false;
      while (i < s.length) {
        const c = s[i];
        if (quote) {
          if (c === '\\') i++;
          else if (c === '"') quote = false;
        } else if (c === '"') quote = true;
        else if (c === '(') depth++;
        else if (c === ')') depth--;
        else if (depth <= 0 && isSep(c)) break;
        i++;
      }
      out.push({ key, value: s.slice(vs, i), hasValue: true, keyCol: base + ks + 1, valCol: base + vs + 1 });
    } else if (i < s.length && s[i] === '(') {
      i++;
      const vs = i;
      let depth = 1;
      while (i < s.length && depth > 0) {
        if (s[i] === '(') depth++;
        else if (s[i] === ')') depth--;
        if (depth > 0) i++;
      }
      if (depth !== 0) throw new FlowSyntaxError(`unbalanced parentheses after '${key}'`, base + ks + 1, key);
      out.push({ key, value: s.slice(vs, i), hasValue: true, keyCol: base + ks + 1, valCol: base + vs + 1 });
      i++;
    } else {
      out.push({ key, value: '', hasValue: false, keyCol: base + ks + 1, valCol: base + i + 1 });
    }
  }
  return out;
}

export function err(reason: string, tok: Token, atValue = true): FlowSyntaxError {
  return new FlowSyntaxError(reason, atValue && tok.hasValue ? tok.valCol : tok.keyCol, tok.key);
}

/** Run `fn`, turning a plain Error from value parsing into a located FlowSyntaxError. */
export function located<T>(tok: Token, fn: () => T): T {
  try {
    return fn();
  } catch (e) {
    if (e instanceof FlowSyntaxError) throw e;
    throw err(`${tok.key}: ${(e as Error).message}`, tok);
  }
}

/** Split at commas outside parentheses, with each part's offset in `v`. */
export function splitTop(v: string): { text: string; at: number }[] {
  const out: { text: string; at: number }[] = [];
  let depth = 0;
  let start = 0;
  for (let i = 0; i <= v.length; i++) {
    const c = v[i];
    if (c === '(') depth++;
    else if (c === ')') depth--;
    if (i === v.length || (c === ',' && depth === 0)) {
      const raw = v.slice(start, i);
      const lead = raw.length - raw.trimStart().length;
      if (raw.trim() !== '') out.push({ text: raw.trim(), at: start + lead });
      start = i + 1;
    }
  }
  return out;
}

/** 1-based column of the comma-separated argument `i` inside a token's value. */
export function argCol(tok: Token, v: string, i: number): number {
  let off = 0;
  for (let k = 0; k < i; k++) off = v.indexOf(',', off) + 1;
  while (off < v.length && v[off] === ' ') off++;
  return tok.valCol + off;
}
