/*
 * Calls that exist for tests only: they run the addon's logic on made-up input (frame times,
 * timer lateness, a timer's readiness) without a network.
 */
#include <stdbool.h>
#include <string.h>

#include <sys/timerfd.h>
#include <time.h>

#include <node_api.h>
#include <uv.h>

#include "ahead_timer.h"
#include "js_args.h"
#include "js_exports.h"
#include "port_table.h"
#include "spinner.h"
#include "wakeahead.h"

/*
 * wakeAheadReplay(maxLeadUs, frameUs, lateUs): the wake-ahead learner (wakeahead.c) replayed
 * without a network, for tests. A fresh learner sees a frame at each frameUs[i] (a Float64Array,
 * ascending); when that frame set a timer, the timer fires lateUs[i] after its target (our wakeup's
 * lateness) unless the next frame came first, and the predicted poll runs to its end as in the
 * addon. Returns a Uint8Array: [i] for frame i (i >= 1) is 0 no timer was set before it, 1 a timer
 * was set but its poll did not see it (the poll ended first or the timer fired after it), 2 a
 * predicted poll caught it.
 */
napi_value js_wake_ahead_replay(napi_env env, napi_callback_info info) {
  size_t argc = 3;
  napi_value argv[3];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  const char *usage = "wakeAheadReplay(maxLeadUs, frameUs, lateUs): a budget in 0..1000000 us and two Float64Arrays of one length, times >= 0 and frames ascending";
  double lead_us;
  if (argc < 3 || napi_get_value_double(env, argv[0], &lead_us) != napi_ok || !(lead_us >= 0 && lead_us <= 1e6)) return throw_arg(env, usage);
  double *frames, *late;
  size_t n, n2;
  napi_typedarray_type ty;
  bool is;
  if (napi_is_typedarray(env, argv[1], &is) != napi_ok || !is || napi_get_typedarray_info(env, argv[1], &ty, &n, (void **)&frames, NULL, NULL) != napi_ok || ty != napi_float64_array) return throw_arg(env, usage);
  if (napi_is_typedarray(env, argv[2], &is) != napi_ok || !is || napi_get_typedarray_info(env, argv[2], &ty, &n2, (void **)&late, NULL, NULL) != napi_ok || ty != napi_float64_array || n2 != n) return throw_arg(env, usage);
  uint8_t *out;
  napi_value buf, res;
  if (napi_create_arraybuffer(env, n, (void **)&out, &buf) != napi_ok) return NULL;
  napi_create_typedarray(env, napi_uint8_array, n, buf, 0, &res);
  struct wake_ahead w = {0};
  w.max_lead_ns = (uint64_t)(lead_us * 1000.0);
  const uint64_t base = 1000000000ull; /* 0 means "none" to the learner */
  memset(out, 0, n);
  for (size_t i = 0; i < n; i++) {
    if (!(frames[i] >= 0 && frames[i] < 1e12 && late[i] >= 0 && late[i] < 1e12) || (i > 0 && frames[i] < frames[i - 1])) return throw_arg(env, usage);
    uint64_t t = base + (uint64_t)(frames[i] * 1000.0);
    uint64_t target = wa_frame(&w, t);
    if (i + 1 == n || target == 0) continue;
    uint64_t next = base + (uint64_t)(frames[i + 1] * 1000.0);
    uint64_t fired = target + (uint64_t)(late[i] * 1000.0);
    out[i + 1] = 1;
    if (fired >= next) continue; /* the frame woke us first; the timer is re-armed from it */
    uint64_t until = wa_timer(&w, fired);
    int caught = next <= until;
    wa_end(&w, caught);
    if (caught) out[i + 1] = 2;
  }
  return res;
}

/*
 * wakeAheadTimerRace(agoUs): for tests, the race between a frame and the wake-ahead timer in one
 * epoll batch (on_ahead_timer) on the real learner, timerfd and callback. Frames that arrived
 * agoUs[i] us ago (a Float64Array, oldest first, each within a second) take a ring port's path
 * (after_traffic: the learner, then the timer armed or held); then the timer's readiness is
 * delivered to its callback as libuv delivers one collected before the last frame re-armed the
 * timer: nothing to read. Returns { armedUs: how long the timer had still to run at the readiness
 * (0: held, or expired already: this process was late and the readiness was a real one),
 * leadUs: the lead before the readiness, polling: a predicted poll runs after it }. Wake-ahead
 * must be on (pollWakeAhead(us > 0)).
 */
napi_value js_wake_ahead_timer_race(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1], o, v;
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  const char *usage = "wakeAheadTimerRace(agoUs): a Float64Array of frame ages in 0..1000000 us, oldest first, with wake-ahead on";
  struct state *st = get_state(env);
  struct spinner *sp = st ? st->spin : NULL;
  double *ago;
  size_t n;
  napi_typedarray_type ty;
  bool is;
  if (!sp || !sp->timer || argc < 1 || napi_is_typedarray(env, argv[0], &is) != napi_ok || !is || napi_get_typedarray_info(env, argv[0], &ty, &n, (void **)&ago, NULL, NULL) != napi_ok || ty != napi_float64_array) return throw_arg(env, usage);
  uint64_t now = uv_hrtime();
  for (size_t i = 0; i < n; i++)
    if (!(ago[i] >= 0 && ago[i] <= 1e6) || (i > 0 && ago[i] > ago[i - 1]) || (uint64_t)(ago[i] * 1000.0) >= now) return throw_arg(env, usage);
  for (size_t i = 0; i < n; i++) ahead_arm(sp, wa_frame(&sp->wa, now - (uint64_t)(ago[i] * 1000.0)), uv_hrtime());
  /* How long the timer has still to run now (0: held, or expired already: a late process). */
  struct itimerspec left;
  uint64_t armed = 0;
  if (sp->timer_at != 0 && timerfd_gettime(sp->timer->fd, &left) == 0) armed = (uint64_t)left.it_value.tv_sec * 1000000000ull + (uint64_t)left.it_value.tv_nsec;
  uint64_t lead = wa_lead(&sp->wa);
  on_ahead_timer(&sp->timer->h, 0, UV_READABLE);
  napi_create_object(env, &o);
  napi_create_double(env, (double)armed / 1000.0, &v);
  napi_set_named_property(env, o, "armedUs", v);
  napi_create_double(env, (double)lead / 1000.0, &v);
  napi_set_named_property(env, o, "leadUs", v);
  napi_get_boolean(env, sp->ahead == AHEAD_WAITING, &v);
  napi_set_named_property(env, o, "polling", v);
  return o;
}
