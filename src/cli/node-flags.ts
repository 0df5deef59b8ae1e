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
 *
 * --interrupt-budget=16384 (V8's default 67584): a function is handed to the optimizing compiler
 * after a quarter of the bytecode it used to run first. A freshly started switch runs its
 * forwarding code unoptimized until then, and on the firewall path (conntrack, recirculation)
 * that took the first ~0.5-1 s of a 64 B flood at the generator's maximum: at full CPU the
 * switch delivered half the frames in the first 250 ms and lost 14-145k frames in the first
 * second (two of three cold starts over 140k, 5% of a 5 s trial) where the same process, warm,
 * lost none. With the smaller budget
 * the first second lost 1.5-8.5k (bench/compare topology, tvs pinned to CPU 1, three alternating
 * cold starts each, 2026-11-30); once warm, CPU per packet is the same.
 *
 * --no-lazy-feedback-allocation: V8 gives a function its feedback vector (the record of which
 * branches ran, with which types) only after it has run a while, so what a function does in its
 * first calls is not recorded. The optimizing compiler turns every branch without feedback into a
 * deoptimization exit. In the switch a function's first calls are the first packets — the first
 * packet of a connection among them: conntrack's "no connection yet" branch (ct-stage process()),
 * and in the executor and parser the branches only a new connection's recirculation takes, ran
 * without feedback; every later connection (each new ping) then deoptimized process(), runCt(),
 * runPacket() and parseSlot() ("Insufficient type feedback"), and at ping rates they ran
 * interpreted for the next hundreds of packets (--trace-opt --trace-deopt on the firewall path,
 * 500 echoes at -i 0.002 after 3,000: never re-optimized within them). With feedback from the
 * first call they are optimized with the new-connection branches compiled in and no deopt follows.
 *
 * --expose-gc: the daemon runs a full collection when it goes quiet after being configured, with
 * no frame flowing (quiet-trim.ts, daemon.ts): otherwise the collection that start-up and
 * configuration owed came at the first load, a mark-compact of 7-9 ms at the generator's maximum
 * (~6,000 frames at 800 kpps, three times the RX ring).
 *
 * --no-memory-reducer: V8's memory reducer runs up to three `Mark-Compact (reduce)` collections
 * ~8 s after a mark-compact once the allocation rate looks low, at a moment nothing chooses: for
 * the switch, right after a load ends or while a saturated datapath allocates little. Their
 * marking is shared with helper threads, which sit in SCHED_IDLE while the datapath is calm and
 * get no CPU while anything else runs on the core: with a busy loop on the switch's core after a
 * load, one such collection paused the main thread 542 ms (a ping through the switch waited
 * 772 ms), where without the reducer the largest ping was 8-30 ms and no collection ran. It gave
 * nothing back that the quiet trim's full collection (--expose-gc above) had not: RSS at rest
 * after a 5 s load 40.6-41.2 MiB with it, 40.3 without (bench/results/README.md, "The memory
 * reducer"). Garbage of later traffic is young and goes with the scavenges it causes.
 */
export const SWITCH_NODE_FLAGS: readonly string[] = ['--max-semi-space-size=1', '--interrupt-budget=16384', '--no-lazy-feedback-allocation', '--expose-gc', '--no-memory-reducer'];

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
