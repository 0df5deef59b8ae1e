/** Public API of the flow tables (what bridges, the control socket and the CLI use). */
export { FlowPipeline, type PipelineOptions, type AddResult, type SelectOptions, type FlowRemovedReason } from './pipeline';
export { FlowSyntaxError, parseFlow, type FlowSpec, type ParseMode } from './ofctl-parse';
export { formatFlowEntry, formatRule, formatMatch, formatActions, formatAction, type DumpOptions, type PortNamer } from './ofctl-format';
export { Rule, FlowTable, N_TABLES, OFP_DEFAULT_PRIORITY, type FlowEntry, type TableStats } from './table';
export { Match, MATCH_WORDS } from './match';
export { FLOW_DROP_REASONS, type FlowDropReason } from './flow-drops';
export { synthesizeFrame, type TraceInput, type TraceResult, type TraceStep, type TraceOutput } from './trace';
export type { Action } from './actions';
