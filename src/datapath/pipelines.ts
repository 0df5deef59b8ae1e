/**
 * How the switch gets the flow tables of a new bridge: through this interface, so the run loop
 * does not construct the flow engine itself and an embedder or test can supply its own
 * (e.g. with the exact-match cache off).
 */
import type { PacketArena } from '../packet/arena';
import { FlowPipeline, type FlowRemovedReason } from '../flow/pipeline';
import { formatFlowEntry } from '../flow/ofctl-format';
import type { Bridge } from './bridge';
import type { FlowEntry } from '../flow/table';

export interface PipelineContext {
  arena: PacketArena;
  clock: () => number;
  /** The switch's batch clock (written once per batch from `clock`; packet/batch-clock.ts). */
  batchClock?: Float64Array;
  /** Most flows the bridge's tables may hold (undefined: the pipeline's default). */
  maxFlows?: number;
  /**
   * A rule left the tables (timeout or delete), formatted as dump-flows prints it, with the rule
   * and its final counters (OpenFlow FLOW_REMOVED needs them).
   */
  onFlowRemoved(flow: string, reason: FlowRemovedReason, entry: FlowEntry): void;
  /** False while nobody listens for removed flows: the rule is then not formatted at all. */
  wantsFlowRemoved(): boolean;
}

export interface PipelineFactory {
  create(br: Bridge, ctx: PipelineContext): FlowPipeline;
}

export const defaultPipelines: PipelineFactory = {
  create(br, ctx) {
    const flows = new FlowPipeline({
      arena: ctx.arena,
      clock: ctx.clock,
      batchClock: ctx.batchClock,
      resolvePort: (n) => br.ofportByName(n),
      portName: (o) => br.portName(o),
      maxFlows: ctx.maxFlows,
    });
    flows.onFlowRemoved = (entry, reason) => {
      if (ctx.wantsFlowRemoved()) ctx.onFlowRemoved(formatFlowEntry(entry, {}), reason, entry);
    };
    return flows;
  },
};
