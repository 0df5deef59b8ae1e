/** What one line of ovs-ofctl flow text parses to, before it becomes a rule in a table. */
import type { Match } from '../match';
import type { Action } from '../actions';
import { OFP_DEFAULT_PRIORITY, type FlowFlag } from '../table';

export interface FlowSpec {
  table: number | null;
  priority: number | null;
  cookie: bigint | null;
  /** Cookie mask for del/mod/dump filters (`cookie=V/M`); null = exact. */
  cookieMask: bigint | null;
  idleTimeout: number;
  hardTimeout: number;
  importance: number;
  flags: FlowFlag[];
  /** out_port filter for del-flows/dump-flows. */
  outPort: number | null;
  match: Match;
  /** null when the text had no actions (match-only filters). */
  actions: Action[] | null;
  /** 1-based column of each action in the text (parallel to `actions`). */
  actionColumns: number[];
  warnings: string[];
}

/** 'add' needs actions; 'modify' needs actions and accepts filter keys; 'match' refuses actions. */
export type ParseMode = 'add' | 'modify' | 'match';

export interface ParseOptions {
  resolvePort(name: string): number;
}

/** The default priority when a flow does not give one. */
export function effectivePriority(spec: FlowSpec): number {
  return spec.priority ?? OFP_DEFAULT_PRIORITY;
}
