/**
 * Structured logs with levels, to stderr: one JSON object per line (`--log-format json`, for
 * journald/Loki) or a readable line (`text`, default). Only the control plane logs; the
 * datapath counts instead.
 */

/**
 * JSON.stringify throws on a BigInt, and events carry them (a flow's cookie and counters are
 * 64-bit): written as decimal strings, so a debug line never fails the request that logged it.
 */
function jsonField(_key: string, v: unknown): unknown {
  return typeof v === 'bigint' ? v.toString() : v;
}

export const LEVELS = ['debug', 'info', 'warn', 'error'] as const;
export type Level = (typeof LEVELS)[number];

export class Logger {
  private readonly min: number;

  constructor(
    level: Level = 'info',
    private readonly format: 'text' | 'json' = 'text',
    private readonly write: (line: string) => void = (l) => process.stderr.write(l + '\n'),
  ) {
    this.min = LEVELS.indexOf(level);
  }

  static parseLevel(v: string): Level {
    if (!(LEVELS as readonly string[]).includes(v)) throw new Error(`--log-level ${v}: one of ${LEVELS.join(', ')}`);
    return v as Level;
  }

  log(level: Level, msg: string, fields: Record<string, unknown> = {}): void {
    if (LEVELS.indexOf(level) < this.min) return;
    const time = new Date().toISOString();
    if (this.format === 'json') {
      this.write(JSON.stringify({ time, level, msg, ...fields }, jsonField));
    } else {
      const extra = Object.entries(fields).map(([k, v]) => `${k}=${typeof v === 'string' ? v : JSON.stringify(v, jsonField)}`).join(' ');
      this.write(`${time} ${level.toUpperCase().padEnd(5)} ${msg}${extra ? ' ' + extra : ''}`);
    }
  }
  debug(msg: string, f?: Record<string, unknown>): void {
    this.log('debug', msg, f);
  }
  info(msg: string, f?: Record<string, unknown>): void {
    this.log('info', msg, f);
  }
  warn(msg: string, f?: Record<string, unknown>): void {
    this.log('warn', msg, f);
  }
  error(msg: string, f?: Record<string, unknown>): void {
    this.log('error', msg, f);
  }
}
