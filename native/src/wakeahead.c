/*
 * Wake-ahead bookkeeping (see wakeahead.h and spinner.c, "Latency").
 *
 * Frames closer together than WA_QUIET_NS are one burst (a request and the reply that comes back
 * inside our own send). The gap between burst starts is compared with the running estimate of
 * the period: WA_HITS matches in a row (within period/16) make the traffic periodic, and the timer
 * is set to fire `lead` before the next expected burst, where lead = how late our timer wakeups
 * have recently been + how far arrivals have recently strayed from the period + a margin, capped
 * by max_lead_ns and by the poll's share of the period (below). The poll it starts ends
 * `dev + margin` after the expected time. Only a frame arms the timer, so traffic that stops
 * costs one such poll and then the switch sleeps for good. Only periods of
 * WA_MIN_PERIOD_NS..WA_MAX_PERIOD_NS qualify, and the poll takes at most 1/WA_DUTY of the period:
 * faster traffic keeps the switch busy anyway, and slower traffic is rare enough that its wakeup
 * does not matter.
 *
 * Two things the learner must not do (both seen in bench runs, bench/results/README.md "Latency,
 * round 4"): drop a learnt period on one odd gap, and stop arming for good. A sender that is itself
 * late once (a ping delayed by its CPU, a send skipped) makes one odd gap and then keeps its period
 * from its new phase, so an odd gap only re-anchors the phase; the period is re-learnt after
 * WA_ODD_MAX odd gaps in a row (the traffic really changed). And the lateness estimate ages only
 * with samples, so every timer must give one: a lead over the duty limit once meant no timer, and
 * one late wakeup that put it there stopped every timer for good. Now such a lead is shortened to
 * fit (only a tail that alone is over the limit means no timer), and a timer that lost the race
 * to its frame (the frame re-arms it, so it never fires) counts as late by at least the time from
 * its target to the frame: the lead then grows until the timer wins, instead of the estimate
 * decaying while every timer comes after its frame.
 */
#include "wakeahead.h"

#define WA_QUIET_NS 200000ull
#define WA_MIN_PERIOD_NS 500000ull
#define WA_MAX_PERIOD_NS 100000000ull
#define WA_MARGIN_NS 15000ull
#define WA_LATE_GUESS_NS 30000ull /* before the first timer tells us */
#define WA_HITS 2
#define WA_ODD_MAX 2
#define WA_ODD_SPAN 4
#define WA_DUTY 8

static uint64_t absdiff(uint64_t a, uint64_t b) { return a > b ? a - b : b - a; }

/* A decaying maximum: jumps up to a new worst, creeps down by 1/8 per sample otherwise. */
static uint64_t decay_max(uint64_t hi, uint64_t x) {
  uint64_t d = hi - hi / 8;
  return x > d ? x : d;
}

uint64_t wa_lead(const struct wake_ahead *w) {
  uint64_t late = w->late_ns ? w->late_ns : WA_LATE_GUESS_NS;
  uint64_t lead = late + w->dev_ns + WA_MARGIN_NS;
  return lead < w->max_lead_ns ? lead : w->max_lead_ns;
}

uint64_t wa_frame(struct wake_ahead *w, uint64_t t) {
  uint64_t prev = w->last_frame_ns;
  w->last_frame_ns = t;
  if (prev != 0 && t - prev < WA_QUIET_NS) return w->target_ns; /* same burst: keep what is set */
  uint64_t gap = w->burst_ns ? t - w->burst_ns : 0;
  /* A timer still set for before this frame had not fired when the frame came (the frame then
   * re-arms it, so it never will): it was at least this late. */
  if (w->target_ns != 0 && t > w->target_ns) w->late_ns = decay_max(w->late_ns, t - w->target_ns);
  w->burst_ns = t;
  w->target_ns = 0;
  if (gap == 0) return 0;
  if (w->period_ns != 0 && absdiff(gap, w->period_ns) <= w->period_ns / 16) {
    w->hits++;
    w->odd = 0;
    w->dev_ns = decay_max(w->dev_ns, absdiff(gap, w->period_ns));
    w->period_ns = gap > w->period_ns ? w->period_ns + (gap - w->period_ns) / 4 : w->period_ns - (w->period_ns - gap) / 4;
  } else if (w->period_ns != 0 && w->hits >= WA_HITS && gap < WA_ODD_SPAN * w->period_ns && ++w->odd < WA_ODD_MAX) {
    /* One odd gap in a periodic flow: keep the period, count from this burst (its new phase). A
     * gap of WA_ODD_SPAN periods or more is a flow that stopped and started again: re-learnt. */
  } else {
    w->period_ns = gap;
    w->hits = 0;
    w->odd = 0;
    w->dev_ns = 0;
  }
  if (w->max_lead_ns == 0 || w->hits < WA_HITS || w->period_ns < WA_MIN_PERIOD_NS || w->period_ns > WA_MAX_PERIOD_NS) return 0;
  uint64_t after = w->dev_ns + WA_MARGIN_NS;
  uint64_t budget = w->period_ns / WA_DUTY;
  if (after >= budget) return 0;
  uint64_t lead = wa_lead(w);
  if (lead + after > budget) lead = budget - after;
  w->target_ns = t + w->period_ns - lead;
  w->until_ns = t + w->period_ns + after;
  return w->target_ns;
}

uint64_t wa_timer(struct wake_ahead *w, uint64_t now) {
  if (w->target_ns != 0 && now > w->target_ns) w->late_ns = decay_max(w->late_ns, now - w->target_ns);
  w->target_ns = 0;
  return w->until_ns > now ? w->until_ns : now;
}

void wa_end(struct wake_ahead *w, int caught) {
  /* A miss changes nothing else: only a frame arms the timer again (wa_frame), so traffic that
   * stopped costs this one poll; a frame that was merely late widens the next poll (dev_ns). */
  if (caught) w->caught++;
  else w->missed++;
}
