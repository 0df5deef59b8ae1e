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
  /**
   * Packet-in to the embedding API (bridge name, table, cookie, reason reach the callback).
   * maxLen: the controller action's max_len (bytes of the frame the controller wants;
   * 65535 = OFPCML_NO_BUFFER, the whole frame).
   */
  controller(slot: number, table: number, cookie: bigint, reason: PacketInReason, maxLen: number): void;
  /**
   * Release a frame the flow tables dropped. They counted it already, under `reason` (a
   * FLOW_DROPS id, src/flow/execute.ts): the bridge does not count it again; trace and tests
   * read the reason.
   */
  drop(slot: number, reason: number): void;
  /** OpenFlow port number of a port of this bridge by name, or -1. */
  ofportByName(name: string): number;
  /** Name of the port with this OpenFlow port number, or undefined. */
  portName(ofport: number): string | undefined;
  /** Input OpenFlow port of a frame (from its flow key). */
  inPort(slot: number): number;
}
