/**
 * V8 flags the switch process runs with. The `tvs` script's first line passes the same ones
 * (`#!/usr/bin/env -S node ...`); whoever starts `node .../tvs.js start` by hand (benchmarks)
 * passes these.
 *
 * --max-semi-space-size=1: V8's young generation grows its two semi-spaces up to 8 MiB each
 * after a burst of allocation (a MAC flood learning 200,000 addresses, a config load) and keeps
 * them: 16 MiB of RSS after a flood for a process whose hot path allocates nothing. Capped at
 * 1 MiB the flood leaves RSS at 59 MiB instead of 73 (bench/memory-footprint.ts, two AF_PACKET
 * ports), and in-memory NORMAL forwarding is unchanged (10.4–10.6 vs 10.3–10.6 Mpps, CPU time,
 * 3 alternating runs): nothing per packet reaches the young generation.
 */
export const SWITCH_NODE_FLAGS: readonly string[] = ['--max-semi-space-size=1'];
