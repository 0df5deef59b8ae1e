/** The flow tables' drop reasons (counted by the executor, once; the bridge only releases the frame). */
import { defineDrops } from '../packet/drops';

/** Why the flow tables dropped a frame (counted here, once; the bridge only releases it). */
export const FLOW_DROPS = defineDrops('flow', {
  table_miss: 'no flow matched in table 0 (OpenFlow 1.3 table-miss: drop)',
  action_drop: "the matching flow's actions are empty or `drop`",
  no_output: 'the actions ran to the end without sending the frame anywhere',
  ttl_exceeded: 'dec_ttl on a TTL of 0 or 1',
  no_headroom: 'no room in front of the frame to push a VLAN tag or rewrite a field',
  no_buffer: 'no free packet buffer to copy the frame for one of several outputs (that output is skipped)',
  resubmit_depth: 'resubmit/goto_table nested deeper than 64',
  output_to_in_port: 'output:N to the input port is skipped, as OpenFlow requires (use in_port); not a frame drop by itself',
  ct_table_full: 'ct(commit) found the connection-tracking table full (the connection is not created)',
  recirc_depth: 'ct(table=T) recirculated the packet more than 8 times',
  ct_nat_exhausted: 'ct(commit,nat(src|dst=...)) found no free address/port in its range (the packet is never sent untranslated)',
});
export const FLOW_DROP_REASONS = FLOW_DROPS.reasons;
export type FlowDropReason = (typeof FLOW_DROP_REASONS)[number];
