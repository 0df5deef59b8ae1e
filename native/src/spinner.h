/*
 * The spinner (spinner.c): the sweep, the adaptive spin and wake-ahead's predicted polls after a
 * wakeup ("Latency" in spinner.c), one per environment; and wake-ahead's timer it owns.
 */
#ifndef TVS_SPINNER_H
#define TVS_SPINNER_H

#include <stdint.h>

#include <node_api.h>
#include <uv.h>

#include "port_table.h"
#include "wakeahead.h"

/* The adaptive spin (see "Latency" in spinner.c). Separate from the state for the same reason as the
 * poller: libuv owns the idle handle until its close callback. */
struct spinner {
  uv_idle_t h;
  struct state *st; /* NULL once the environment is torn down */
  int active;
  uint64_t max_ns;    /* 0: never spin (still one sweep of the other ports after traffic) */
  uint64_t window_ns; /* how long after the last frame this spin keeps polling */
  uint64_t last_ns;   /* when a port last had frames (uv_hrtime) */
  uint64_t spun_ns;   /* time spent spinning, cumulative (pollSpin() reports it) */
  uint64_t backoff_ns;    /* after a preempted spin: no spinning for this long (doubles) */
  uint64_t no_spin_until; /* uv_hrtime */
  uint64_t preempted;     /* spins cut short because the CPU was taken away (pollSpin() reports it) */
  int sched_fd;           /* /proc/self/schedstat, -1 if unavailable */
  uint64_t sched_at, sched_wait; /* last reading: when, and the run-queue wait so far (ns) */
  int contended;          /* the last reading saw us wait for the CPU */
  /* Wake-ahead (see "Latency"): the running spin is a predicted poll, waiting for its frame
   * (AHEAD_WAITING) or polling a short tail after it (AHEAD_CAUGHT); 0: a plain spin or none. */
  int ahead;
  uint64_t ahead_ns; /* time spent in predicted polls, cumulative (not in spun_ns) */
  uint64_t ahead_held; /* predicted polls not made: CPU contended, spinning in backoff, timer too late */
  struct wake_ahead wa;
  struct ahead_timer *timer; /* NULL until wake-ahead is first turned on, or if it failed */
  uint64_t timer_at;         /* what the timerfd is armed for (0: disarmed) */
};

/* The wake-ahead timer: a timerfd watched by libuv (libuv's own timers have millisecond
 * resolution). Separate from the spinner: libuv owns it until its close callback. */
struct ahead_timer {
  uv_poll_t h;
  int fd;
  struct spinner *sp; /* NULL once the environment is torn down */
};

/* Backoff after a spin or a predicted poll lost the CPU (doubles while it keeps happening). */
#define SPIN_BACKOFF_MIN_NS 10000000ull
#define SPIN_BACKOFF_MAX_NS 1000000000ull
/* sp->ahead: a predicted poll waiting for its frame (see "Latency"). */
#define AHEAD_WAITING 1

/* The idle handle's callback: one slice of spinning (a plain spin or a predicted poll). */
void on_spin(uv_idle_t *h);
/* Has this process waited for the CPU lately? */
int cpu_contended(struct spinner *sp, uint64_t now);
/* After a port's callback ran (woken at `woke` by a ring port, else 0): sweep, maybe spin. */
void after_traffic(napi_env env, uint64_t woke);
/* Arm the wake-ahead timer for `at` (monotonic ns, uv_hrtime's clock), or disarm it (0). */
void ahead_sync(struct spinner *sp, uint64_t at);
/* Arm it for `at` unless the CPU is contended or spinning is in backoff (then disarm it). */
void ahead_arm(struct spinner *sp, uint64_t at, uint64_t now);
/* The environment's spinner, made on first use; NULL when libuv has no idle handle for it. */
struct spinner *get_spinner(napi_env env, struct state *st);
/* uv_close callback of the spinner's idle handle. */
void spinner_free(uv_handle_t *h);

#endif
