/*
 * Wake-ahead: for periodic traffic, wake just before the next expected frame and poll for it,
 * instead of being woken by it (the wakeup of an idle CPU is most of a lone frame's latency on
 * a virtual machine). Pure bookkeeping on times (ns, one monotonic clock); the timer and the
 * polling are the addon's (ahead_timer.c, spinner.c "Latency").
 */
#ifndef TVS_WAKEAHEAD_H
#define TVS_WAKEAHEAD_H

#include <stdint.h>

struct wake_ahead {
  uint64_t max_lead_ns;   /* 0: off */
  uint64_t burst_ns;      /* when the current burst's first frame was seen */
  uint64_t last_frame_ns; /* when a frame was last seen */
  uint64_t period_ns;     /* estimated time between burst starts (0: none yet) */
  uint64_t dev_ns;        /* recent worst deviation of a gap from the period (decays) */
  uint64_t late_ns;       /* recent worst lateness of our timer (decays per sample) */
  int hits;               /* gaps in a row that matched the period */
  int odd;                /* gaps in a row that did not (the period is re-learnt at WA_ODD_MAX) */
  uint64_t target_ns;     /* the timer is armed for this time (0: not armed; clear it when not arming) */
  uint64_t until_ns;      /* a predicted poll runs until this time */
  uint64_t caught, missed; /* predicted polls that saw their frame / ended without it */
};

/* A frame was seen at `t`. Returns the time the timer should fire at, or 0 for no timer. */
uint64_t wa_frame(struct wake_ahead *w, uint64_t t);
/* The timer fired; we run at `now`. Returns when the predicted poll should end (>= now). */
uint64_t wa_timer(struct wake_ahead *w, uint64_t now);
/* A predicted poll ended: it saw a frame (1) or not (0). */
void wa_end(struct wake_ahead *w, int caught);
/* The lead (ns before the expected frame) the next timer would use. */
uint64_t wa_lead(const struct wake_ahead *w);

#endif
