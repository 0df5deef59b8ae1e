/**
 * What the flow tables call to send a frame on: declared here, by the stage that calls it, and
 * implemented by the bridge (src/datapath/bridge.ts), so the flow engine never imports the
 * datapath. Every call takes OWNERSHIP of the slot: the callee queues it
 * for transmit, hands it to another stage, or releases it. A stage that wants to send one frame
 * to several places clones it first (PacketArena.clone) for all but the last.
 */
import { PacketArena } from '../packet/arena';

/** Why a frame was sent to the controller (OpenFlow packet-in reasons). */
export type PacketInReason = 'no_match' | 'action' | 'invalid_ttl';

export interface BridgeOps {
  readonly name: string;
  readonly arena: PacketArena;
  /** Queue the frame on the port with this OpenFlow port number; unknown/down ports count a drop. */
  output(slot: number, ofport: number): void;
  /** OVS NORMAL: MAC learning + VLAN-aware forwarding/flooding. */
  normal(slot: number): void;
  /** OVS FLOOD (all ports but the input one, honouring VLANs is NOT done: raw flood) / ALL (incl. input). */
  flood(slot: number, includeInput: boolean): void;
  /** Packet-in to the embedding API (bridge name, table, cookie, reason reach the callback). */
  controller(slot: number, table: number, cookie: bigint, reason: PacketInReason): void;
  /** Release a frame, counted under a bridge drop reason id (`bridgeDropId('...')`, resolved once). */
  drop(slot: number, reason: number): void;
  /** OpenFlow port number of a port of this bridge by name, or -1. */
  ofportByName(name: string): number;
  /** Name of the port with this OpenFlow port number, or undefined. */
  portName(ofport: number): string | undefined;
  /** Input OpenFlow port of a frame (from its flow key). */
  inPort(slot: number): number;
}

export const BRIDGE_DROP_REASONS = [
  'no_output', // the actions ended without sending the frame anywhere
  'action_drop', // an explicit drop / empty action list
  'vlan_dead', // VLAN 4095 (Neutron's dead VLAN)
  'vlan_not_allowed', // tag not in the port's trunks, or a tagged frame on an access port
  'no_headroom', // a tag push found no room in front of the frame
  'no_buffer', // the arena ran out while cloning for a multi-output
  'resubmit_depth', // resubmit/goto loop deeper than the limit
  'patch_loop', // a frame crossed too many patch ports in one pass
  'ttl_exceeded', // dec_ttl with TTL <= 1 and no controller
  'unknown_port', // output to a port number the bridge does not have
  'port_down', // output to a port that is down
  'checksum_offload', // a partial checksum that could not be completed
  'controller_unset', // packet-in with no controller callback installed
  'table_miss', // no flow matched in table 0 (OpenFlow 1.3 table-miss: drop)
] as const;
export type BridgeDropReason = (typeof BRIDGE_DROP_REASONS)[number];

/** Numeric id of a drop reason: resolve once at module load, pass the number on the hot path. */
export function bridgeDropId(reason: BridgeDropReason): number {
  return BRIDGE_DROP_REASONS.indexOf(reason);
}
