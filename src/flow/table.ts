/**
 * Rules and tables. A Rule is the control-plane record of one installed flow; its hot-path
 * state (priority, plan, counters, last-used time) lives in the pipeline's per-rule typed
 * arrays indexed by `rule.id`, so the packet loop never touches these objects except to read
 * a controller cookie.
 */
import type { Action } from './actions';
import { Classifier } from './classifier';
import type { Match } from './match';

export const N_TABLES = 255; // 0..254; 255 means "all tables" / "current table" in OpenFlow
export const OFP_DEFAULT_PRIORITY = 0x8000;

/** OpenFlow flow_mod flags ovs-ofctl accepts in flow text and prints back. */
export type FlowFlag = 'send_flow_rem' | 'check_overlap' | 'reset_counts' | 'no_packet_counts' | 'no_byte_counts';

export class Rule {
  constructor(
    readonly id: number,
    readonly table: number,
    readonly priority: number,
    readonly match: Match,
    public cookie: bigint,
    public actions: Action[],
    public idleTimeout: number,
    public hardTimeout: number,
    public flags: FlowFlag[],
    public importance: number,
    /** Clock (ms) when installed. */
    readonly created: number,
    /** pc of each action in the compiled plan (for traces). */
    public pcs: number[],
  ) {}
}

export class FlowTable {
  readonly cls: Classifier<Rule>;
  /** OpenFlow table stats: lookups and matches (OVS `ofp_table_stats`). */
  lookups = 0;
  matched = 0;
  constructor(
    readonly id: number,
    priorities: Int32Array,
  ) {
    this.cls = new Classifier<Rule>(priorities);
  }
  get count(): number {
    return this.cls.count;
  }
}

/** A snapshot of one rule with its counters, as dump-flows prints it. */
export interface FlowEntry {
  rule: Rule;
  nPackets: number;
  nBytes: number;
  /** Milliseconds since the rule was installed. */
  durationMs: number;
  /** Milliseconds since the rule last matched a packet (or since installed). */
  idleMs: number;
}

export interface TableStats {
  table: number;
  activeCount: number;
  lookups: number;
  matched: number;
}
