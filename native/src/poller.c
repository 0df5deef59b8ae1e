/*
 * A port's poller: the libuv watch on its fd and the JS callback it runs (dispatch). What a
 * wakeup does around the callback is js_poll.c's (on_poll) and spinner.c's (after_traffic).
 */
#include <stdbool.h>
#include <stdlib.h>

#include <node_api.h>
#include <uv.h>

#include "poller.h"
#include "port_table.h"

static void poller_free(uv_handle_t *h) { free(h->data); }

static void poller_release_js(struct poller *pl) {
  if (pl->cb) napi_delete_reference(pl->env, pl->cb);
  if (pl->ctx) napi_async_destroy(pl->env, pl->ctx);
  if (pl->clock_ref) napi_delete_reference(pl->env, pl->clock_ref);
  pl->cb = NULL;
  pl->ctx = NULL;
  pl->clock_ref = NULL;
  pl->clock = NULL;
}

/* pollStart's optional third argument: a Float64Array of at least one element (its data stays
 * put: the slot's ArrayBuffer is off-heap and the datapath never transfers it). Replaces any
 * clock the poller had. 0, or -1 when `v` is not one (nothing changed). */
int poller_set_clock(napi_env env, struct poller *pl, napi_value v) {
  bool is_ta = false;
  napi_typedarray_type type;
  size_t length;
  void *data;
  if (napi_is_typedarray(env, v, &is_ta) != napi_ok || !is_ta) return -1;
  if (napi_get_typedarray_info(env, v, &type, &length, &data, NULL, NULL) != napi_ok) return -1;
  if (type != napi_float64_array || length < 1 || data == NULL) return -1;
  if (pl->clock_ref) napi_delete_reference(env, pl->clock_ref);
  napi_create_reference(env, v, 1, &pl->clock_ref);
  pl->clock = data;
  return 0;
}

void stop_polling(struct port *p) {
  struct poller *pl = p->poller;
  if (!pl) return;
  p->poller = NULL;
  pl->port = NULL;
  uv_poll_stop(&pl->h); /* after this the fd may be closed (uv docs) */
  uv_close((uv_handle_t *)&pl->h, poller_free);
  if (!pl->in_cb) poller_release_js(pl); /* else on_poll does it once the JS callback returns */
}

/* Run the port's JS callback (the datapath drains the port, processes and transmits). */
void dispatch(struct poller *pl, int status, int events) {
  napi_env env = pl->env;
  napi_handle_scope scope;
  napi_value cb, recv, argv[2];
  napi_open_handle_scope(env, &scope);
  if (napi_get_reference_value(env, pl->cb, &cb) == napi_ok && cb) {
    napi_get_global(env, &recv); /* make_callback needs an object receiver (ToObject(undefined) throws) */
    napi_create_int32(env, status, &argv[0]);
    napi_create_int32(env, events, &argv[1]);
    if (pl->clock) *pl->clock = (double)uv_hrtime() / 1e6;
    pl->in_cb = 1;
    /* make_callback (not call_function): runs the microtask queue afterwards and keeps
     * async_hooks / AsyncLocalStorage context, like any other I/O callback. */
    napi_status s = napi_make_callback(env, pl->ctx, recv, cb, 2, argv, NULL);
    pl->in_cb = 0;
    if (s == napi_pending_exception) {
      napi_value exc;
      napi_get_and_clear_last_exception(env, &exc);
      napi_fatal_exception(env, exc); /* -> process 'uncaughtException', as for a throwing I/O callback */
    }
  }
  napi_close_handle_scope(env, scope);
  /* The callback may have stopped polling or closed the port: `p` may be freed now. */
  if (!pl->port) poller_release_js(pl);
}
