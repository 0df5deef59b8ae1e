/*
 * Wake-ahead's timer: a timerfd watched by libuv (libuv's own timers have millisecond
 * resolution), made when wake-ahead is first turned on. When it fires it starts a predicted poll
 * (spinner.c, "Latency"); when to arm it is spinner.c's (ahead_arm).
 */
#include <errno.h>
#include <stdlib.h>
#include <unistd.h>

#include <sys/timerfd.h>
#include <time.h>

#include <node_api.h>
#include <uv.h>

#include "ahead_timer.h"
#include "spinner.h"
#include "wakeahead.h"

/* The wake-ahead timer fired: start a predicted poll unless something else is polling already. */
void on_ahead_timer(uv_poll_t *h, int status, int events) {
  struct ahead_timer *t = h->data;
  uint64_t n;
  struct spinner *sp = t->sp;
  if (!sp || !sp->st || status < 0) return;
  /* Nothing expired: a frame in the same epoll batch, handled first, re-armed the timer for the
   * next period after this readiness was collected. Not a wakeup of ours: taken as one, its
   * target (the next period's, still ahead) made it "later than the whole budget" and started a
   * backoff that doubled each time this race recurred (10 ms .. 1 s of no wake-ahead). */
  if (read(t->fd, &n, sizeof n) < 0) return;
  sp->timer_at = 0;
  uint64_t now = uv_hrtime();
  uint64_t target = sp->wa.target_ns;
  uint64_t until = wa_timer(&sp->wa, now);
  if (target != 0 && now > target && now - target > sp->wa.max_lead_ns) {
    /* Later than the whole budget: the CPU was busy with something else. Back off as a spin
     * that lost the CPU does. */
    sp->preempted++;
    sp->backoff_ns = sp->backoff_ns ? sp->backoff_ns * 2 : SPIN_BACKOFF_MIN_NS;
    if (sp->backoff_ns > SPIN_BACKOFF_MAX_NS) sp->backoff_ns = SPIN_BACKOFF_MAX_NS;
    sp->no_spin_until = now + sp->backoff_ns;
    sp->ahead_held++;
    return;
  }
  if (sp->active) return;
  if (now < sp->no_spin_until || cpu_contended(sp, now)) {
    sp->ahead_held++;
    return;
  }
  sp->ahead = AHEAD_WAITING;
  sp->active = 1;
  sp->last_ns = now;
  sp->window_ns = until - now;
  uv_idle_start(&sp->h, on_spin);
}

static void ahead_timer_free(uv_handle_t *h) {
  struct ahead_timer *t = h->data;
  close(t->fd);
  free(t);
}

/* Wake-ahead's timer, made when first turned on. 0, or -errno. */
int ahead_timer_open(napi_env env, struct spinner *sp) {
  if (sp->timer) return 0;
  uv_loop_t *loop;
  if (napi_get_uv_event_loop(env, &loop) != napi_ok) return -EINVAL;
  struct ahead_timer *t = calloc(1, sizeof *t);
  if (!t) return -ENOMEM;
  t->fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
  if (t->fd < 0) { int e = errno; free(t); return -e; }
  int r = uv_poll_init(loop, &t->h, t->fd);
  if (r < 0) { close(t->fd); free(t); return r; }
  t->h.data = t;
  t->sp = sp;
  r = uv_poll_start(&t->h, UV_READABLE, on_ahead_timer);
  if (r < 0) { uv_close((uv_handle_t *)&t->h, ahead_timer_free); return r; }
  uv_unref((uv_handle_t *)&t->h); /* a timer alone must not keep the process alive */
  sp->timer = t;
  return 0;
}

void ahead_timer_close(struct spinner *sp) {
  struct ahead_timer *t = sp->timer;
  if (!t) return;
  sp->timer = NULL;
  t->sp = NULL;
  uv_poll_stop(&t->h);
  uv_close((uv_handle_t *)&t->h, ahead_timer_free);
}
