/**
 * The batch clock: element 0 of a Float64Array holding the time (ms) of the batch the datapath
 * is processing. The switch writes it once per batch; the stages that keep time per packet
 * (NORMAL's MAC learning, the flow tables' `used` stamps and conntrack) read it from there.
 *
 * Why a typed-array slot and not an argument or a return value: a clock reading is a double
 * (fractional ms, or ms since 1970, far past the small-integer range), and V8 passes arguments
 * and return values tagged: a double handed to a call V8 does not inline, or returned from one,
 * is boxed in a fresh 16-byte heap number. Loaded from a Float64Array element, or kept in a
 * number field (which V8 mutates in place), it stays an unboxed double. Before this slot, a
 * ping through the L2 bridge allocated two such boxes per frame for time alone (the switch's
 * and the flow tables' own clock reads; sampling heap profiler on a running switch, see
 * bench/results/README.md, "Allocation on the live path").
 */
export type BatchClock = Float64Array;

export function newBatchClock(): BatchClock {
  return new Float64Array(1);
}
