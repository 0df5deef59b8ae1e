/**
 * OpenFlow 1.3 wire structures ↔ the one rule model of the flow tables (Match, Action,
 * FlowSpec — what ovs-ofctl text parses into). A flow added over OpenFlow is the same Rule a
 * `tvs add-flow` makes, so dump-flows, trace and FLOW stats see one set of flows.
 *
 * Decoding refuses what tvs cannot do with the OpenFlow error OVS would send (BAD_MATCH /
 * BAD_FIELD for a field the flow key lacks, BAD_ACTION / UNSUPPORTED_ORDER for an action that
 * has no place in the action set (write_actions),
 * ...), so a controller learns at once instead of seeing a flow silently mean something else.
 */
export { matchFromOxm, oxmMatchable } from './match-from-oxm';
export { matchToOxm } from './match-to-oxm';
export { actionsFromOf, type ActionContext } from './actions-from-of';
export { actionsToOf } from './actions-to-of';
export { actionsFromInstructions, instructionsFromActions } from './instructions';
export { flagsFromBits, flagsToBits, flowModToSpec, ruleToFlowStats, type FlowModPlan } from './flow-mod';
