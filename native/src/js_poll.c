/*
 * pollStart, pollStop, pollSpin and pollWakeAhead, and on_poll: what a port's wakeup does (run
 * the port's JS callback, then spinner.c's after_traffic).
 */
#include <stdbool.h>
#include <stdlib.h>
#include <time.h>

#include <node_api.h>
#include <uv.h>

#include "ahead_timer.h"
#include "js_args.h"
#include "js_exports.h"
#include "poller.h"
#include "port_table.h"
#include "spinner.h"
#include "wakeahead.h"

#define POLL_EVENTS (UV_READABLE | UV_DISCONNECT)
/* Consecutive POLLERRs that turned out transient (link down/up) before we report anyway:
 * a guard against a wakeup loop, not a tuned figure. */
#define MAX_TRANSIENT_ERRORS 64

/*
 * When the frame that woke us arrived, on uv_hrtime's clock: the ring's kernel timestamp when the
 * port has one (a wakeup comes tens of us after the frame, and by a varying amount; measured from
 * the wakeup, the phase of wake-ahead's timer would be late by as much, and a timer that fires
 * just after each frame catches none), else now.
 */
static uint64_t arrival_time(struct port *p) {
  uint64_t now = uv_hrtime();
  uint64_t stamp = p->ops->rx_stamp ? p->ops->rx_stamp(p->impl) : 0;
  if (stamp == 0) return now;
  struct timespec rt;
  if (clock_gettime(CLOCK_REALTIME, &rt) != 0) return now;
  uint64_t real = (uint64_t)rt.tv_sec * 1000000000ull + (uint64_t)rt.tv_nsec;
  /* Only a plausible age: a clock step or a stale stamp must not move the phase. */
  if (stamp > real || real - stamp > 10000000ull) return now;
  return now - (real - stamp);
}

static void on_poll(uv_poll_t *h, int status, int events) {
  struct poller *pl = h->data;
  struct port *p = pl->port;
  if (!p) return;
  if (status < 0) {
    /* libuv turns POLLERR into UV_EBADF and stops the watcher. Ask the port what it really
     * was: a link that went down (and will come back) is not worth waking JS for. */
    int real = p->ops->check_error(p->impl);
    if (real == 0 && ++p->transient_errors < MAX_TRANSIENT_ERRORS) {
      uv_poll_start(h, POLL_EVENTS, on_poll);
      return;
    }
    status = real < 0 ? real : status;
  } else {
    p->transient_errors = 0;
  }
  napi_env env = pl->env;
  /* Wake-ahead learns only from ports its poll can see (a ring), see port_ready in spinner.c. */
  uint64_t woke = p->ops->rx_ready != NULL ? arrival_time(p) : 0;
  dispatch(pl, status, events);
  if (status >= 0) after_traffic(env, woke);
}

napi_value js_poll_start(napi_env env, napi_callback_info info) {
  size_t argc = 3;
  napi_value argv[3], name;
  napi_valuetype t;
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  struct port *p = argc >= 1 ? lookup(env, argv[0]) : NULL;
  if (!p) return throw_arg(env, "pollStart: no such port handle (closed?)");
  if (argc < 2 || napi_typeof(env, argv[1], &t) != napi_ok || t != napi_function) return throw_arg(env, "pollStart: cb must be a function");
  int want_clock = argc >= 3 && napi_typeof(env, argv[2], &t) == napi_ok && t != napi_undefined;
  if (want_clock) {
    bool ok = false;
    size_t len = 0;
    napi_typedarray_type type;
    if (napi_is_typedarray(env, argv[2], &ok) != napi_ok || !ok ||
        napi_get_typedarray_info(env, argv[2], &type, &len, NULL, NULL, NULL) != napi_ok || type != napi_float64_array || len < 1)
      return throw_arg(env, "pollStart: clock must be a Float64Array of at least one element");
  }
  /* A port with no fd (a scratch port) has nothing to watch: whoever feeds it drains it. */
  if (p->fd < 0) return undefined(env);
  if (p->poller) {
    /* Already watching: just swap the callback (and the clock, when one is given). */
    napi_delete_reference(env, p->poller->cb);
    napi_create_reference(env, argv[1], 1, &p->poller->cb);
    if (want_clock) poller_set_clock(env, p->poller, argv[2]);
    return undefined(env);
  }
  uv_loop_t *loop;
  if (napi_get_uv_event_loop(env, &loop) != napi_ok) { napi_throw_error(env, "EINVAL", "no event loop"); return NULL; }
  struct poller *pl = calloc(1, sizeof *pl);
  if (!pl) { napi_throw_error(env, "ENOMEM", "out of memory"); return NULL; }
  int r = uv_poll_init(loop, &pl->h, p->fd);
  if (r < 0) {
    struct tvs_err e = {-r, "uv_poll_init", NULL};
    free(pl);
    throw_sys(env, "port", p->ops->name(p->impl), &e);
    return NULL;
  }
  pl->h.data = pl;
  pl->env = env;
  pl->port = p;
  get_spinner(env, get_state(env));
  napi_create_string_utf8(env, "tvs:port-poll", NAPI_AUTO_LENGTH, &name);
  napi_async_init(env, NULL, name, &pl->ctx);
  napi_create_reference(env, argv[1], 1, &pl->cb);
  if (want_clock) poller_set_clock(env, pl, argv[2]);
  p->poller = pl;
  p->transient_errors = 0;
  r = uv_poll_start(&pl->h, POLL_EVENTS, on_poll);
  if (r < 0) {
    struct tvs_err e = {-r, "uv_poll_start", NULL};
    stop_polling(p);
    throw_sys(env, "port", p->ops->name(p->impl), &e);
    return NULL;
  }
  return undefined(env);
}

/* pollSpin(us?): set the spin budget in microseconds (0: sleep as soon as the ports are empty);
 * returns { spinUs, spunMs, preempted } (time spent spinning so far; spins ended because the
 * CPU was taken away). */
napi_value js_poll_spin(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1], o, v;
  napi_valuetype t = napi_undefined;
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  struct state *st = get_state(env);
  struct spinner *sp = get_spinner(env, st);
  if (!sp) { napi_throw_error(env, "ENOMEM", "pollSpin: no idle handle"); return NULL; }
  if (argc >= 1) napi_typeof(env, argv[0], &t);
  if (t != napi_undefined) {
    double us;
    if (napi_get_value_double(env, argv[0], &us) != napi_ok || !(us >= 0 && us <= 1e6))
      return throw_arg(env, "pollSpin(us): us must be a number of microseconds in 0..1000000");
    sp->max_ns = (uint64_t)(us * 1000.0);
  }
  napi_create_object(env, &o);
  napi_create_double(env, (double)sp->max_ns / 1000.0, &v);
  napi_set_named_property(env, o, "spinUs", v);
  napi_create_double(env, (double)sp->spun_ns / 1e6, &v);
  napi_set_named_property(env, o, "spunMs", v);
  napi_create_double(env, (double)sp->preempted, &v);
  napi_set_named_property(env, o, "preempted", v);
  return o;
}

napi_value js_poll_wake_ahead(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1], o, v;
  napi_valuetype t = napi_undefined;
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  struct spinner *sp = get_spinner(env, get_state(env));
  if (!sp) { napi_throw_error(env, "ENOMEM", "pollWakeAhead: no idle handle"); return NULL; }
  if (argc >= 1) napi_typeof(env, argv[0], &t);
  if (t != napi_undefined) {
    double us;
    if (napi_get_value_double(env, argv[0], &us) != napi_ok || !(us >= 0 && us <= 1e6))
      return throw_arg(env, "pollWakeAhead(us): us must be a number of microseconds in 0..1000000");
    if (us > 0) {
      int r = ahead_timer_open(env, sp);
      if (r < 0) {
        struct tvs_err e = {-r, "timerfd_create", NULL};
        throw_sys(env, "wake-ahead", "timerfd", &e);
        return NULL;
      }
    } else if (sp->timer) {
      ahead_sync(sp, 0);
      sp->wa.target_ns = 0;
    }
    sp->wa.max_lead_ns = (uint64_t)(us * 1000.0);
    sp->wa.hits = 0;
  }
  napi_create_object(env, &o);
  napi_create_double(env, (double)sp->wa.max_lead_ns / 1000.0, &v);
  napi_set_named_property(env, o, "wakeAheadUs", v);
  napi_create_double(env, (double)sp->wa.caught, &v);
  napi_set_named_property(env, o, "caught", v);
  napi_create_double(env, (double)sp->wa.missed, &v);
  napi_set_named_property(env, o, "missed", v);
  napi_create_double(env, (double)sp->wa.period_ns / 1000.0, &v);
  napi_set_named_property(env, o, "periodUs", v);
  napi_create_double(env, sp->wa.max_lead_ns ? (double)wa_lead(&sp->wa) / 1000.0 : 0, &v);
  napi_set_named_property(env, o, "leadUs", v);
  napi_create_double(env, (double)sp->ahead_ns / 1e6, &v);
  napi_set_named_property(env, o, "polledMs", v);
  napi_create_double(env, (double)sp->ahead_held, &v);
  napi_set_named_property(env, o, "held", v);
  napi_create_double(env, (double)sp->preempted, &v);
  napi_set_named_property(env, o, "preempted", v);
  return o;
}

napi_value js_poll_stop(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  struct port *p = argc >= 1 ? lookup(env, argv[0]) : NULL;
  if (p) stop_polling(p); /* idempotent: unknown or closed handles are fine */
  return undefined(env);
}
