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

/**
 * Environment the switch process runs with, for the same reason (memory at rest). The `tvs`
 * script's first line sets it (`env -S NAME=value node ...`); whoever starts `node .../tvs.js
 * start` by hand (benchmarks) adds it to the child's environment.
 *
 * MALLOC_MMAP_THRESHOLD_=131072: glibc serves a block above the threshold with its own mmap and
 * unmaps it when freed, but raises the threshold (up to 32 MiB) each time such a block is freed;
 * from then on large blocks come from malloc's heap and, once freed, stay in its free lists. The
 * tables that grow by doubling (NAT sessions, classifier subtables, per-rule arrays) free their
 * previous arrays as they grow: 100,000 NAT sessions left 15–20 MiB of RSS that nothing used
 * (bench/memory-footprint.ts, flows-nat: 121.7–123.7 MiB without, 99–106 MiB with). Setting the
 * variable pins the threshold at glibc's default of 128 KiB and turns the adjustment off; the
 * in-memory routed and SNAT paths are unchanged (nothing is allocated per packet).
 */
export const SWITCH_ENV: Readonly<Record<string, string>> = { MALLOC_MMAP_THRESHOLD_: '131072' };
