/**
 * A flow pipeline with its conntrack, driven one frame at a time for the ct unit tests: what left
 * (output port or drop reason) and the ct_state the packet carried when it left.
 */
import { PacketArena } from '../../src/packet/arena';
import { Batch } from '../../src/packet/batch';
import { parseSlot } from '../../src/packet/parse';
import * as K from '../../src/packet/flow-key';
import { FlowPipeline } from '../../src/flow/pipeline';
import { RecordingOps } from '../../src/flow/testing';

/** `flows` installed on a fresh pipeline; `ctMax` bounds the conntrack table when given. */
export function ctPipeline(flows: string, ctMax?: number) {
  const now = 1_000_000;
  const arena = new PacketArena({ slots: 512, slotSize: 2048 });
  const p = new FlowPipeline({ arena, clock: () => now, resolvePort: () => -1, portName: () => undefined });
  if (ctMax !== undefined) p.conntrack.table.setLimits(ctMax, ctMax);
  p.addFlows(flows);
  const ops = new RecordingOps(arena, {});
  /** Send one frame on `inPort`; returns what left: [kind, port or drop reason, ct_state]. */
  const send = (inPort: number, frame: Uint8Array): [string, number | string | undefined, number][] => {
    ops.sent.length = 0;
    const b = new Batch(4);
    const s = arena.allocFrom(frame);
    if (parseSlot(arena, s, inPort) >= 0) throw new Error('fixture does not parse');
    b.push(s);
    p.process(b, ops);
    return ops.sent.map((x) => [x.kind, x.kind === 'drop' ? x.reason : x.port, x.key[K.K_CT_STATE]]);
  };
  return { arena, p, ops, send };
}
