/**
 * The wake-ahead default (native-port.ts, native/src/spinner.c "Latency"), apart from the port code
 * so the command line can name it without loading the datapath or the addon.
 *
 * For periodic traffic (a frame every 0.5-100 ms, regular within 1/16) the addon arms a timer to
 * wake a lead before the next expected frame and polls for it, instead of being woken by it: the
 * wakeup of an idle CPU is then paid before the frame comes, not by it. The lead adapts (how late
 * the timer has been, how much arrivals stray); this budget caps it. A poll takes at most 1/8 of
 * the period; only a frame arms the timer, so traffic that stops costs one poll. 0: off.
 */
export const DEFAULT_WAKE_AHEAD_US = 200;
