/*
 * N-API glue of the link monitor (linkmon.c): its socket is watched by libuv like a port's fd,
 * on the same event loop, but it is no port — the datapath's bursts and its spin/sweep never
 * look at it; libuv wakes JS only when the kernel sent link news. Each wakeup reads at most
 * LM_MAX_LINKS links and calls the JS callback once with them.
 *
 * Ownership: a monitor is freed when both libuv has closed its handle and the JS object that
 * wraps it is gone (finalized), whichever comes last; close (JS), the wrapper's finalizer and
 * environment teardown all stop it, and stopping twice is harmless.
 */
#include "linkmon_glue.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <uv.h>

#include "linkmon.h"

#ifndef IFF_LOWER_UP
#define IFF_LOWER_UP 0x10000 /* linux/if.h; glibc's net/if.h stops at 0x8000 */
#endif

struct linkmon {
  uv_poll_t h;
  int fd;
  napi_env env;
  napi_ref cb;
  napi_async_context ctx;
  int stopped;
  int in_cb;      /* the JS callback is running: it may stop us, JS refs are released after it */
  int uv_open;    /* libuv still owns h (until the close callback) */
  int js_owned;   /* the wrapping JS object still exists */
  int hook;       /* the environment cleanup hook is registered */
};

static void maybe_free(struct linkmon *m) {
  if (!m->uv_open && !m->js_owned) free(m);
}

static void on_closed(uv_handle_t *h) {
  struct linkmon *m = h->data;
  m->uv_open = 0;
  maybe_free(m);
}

static void release_js(struct linkmon *m) {
  if (m->cb) {
    napi_delete_reference(m->env, m->cb);
    m->cb = NULL;
  }
  if (m->ctx) {
    napi_async_destroy(m->env, m->ctx);
    m->ctx = NULL;
  }
}

static void cleanup_hook(void *arg);

/* Stop watching and close the socket (idempotent). `from_hook`: environment teardown. */
static void stop(struct linkmon *m, int from_hook) {
  if (m->stopped) return;
  m->stopped = 1;
  if (m->hook && !from_hook) napi_remove_env_cleanup_hook(m->env, cleanup_hook, m);
  m->hook = 0;
  uv_poll_stop(&m->h);
  uv_close((uv_handle_t *)&m->h, on_closed);
  close(m->fd);
  m->fd = -1;
  if (!m->in_cb) release_js(m);
}

static void cleanup_hook(void *arg) {
  stop(arg, 1);
}

static void finalize(napi_env env, void *data, void *hint) {
  struct linkmon *m = data;
  stop(m, 0);
  m->js_owned = 0;
  maybe_free(m);
}

static const char *operstate_name(int s) {
  /* IF_OPER_* (linux/if.h, RFC 2863) */
  static const char *names[] = {"unknown", "notpresent", "down", "lowerlayerdown", "testing", "dormant", "up"};
  return s >= 0 && s < (int)(sizeof names / sizeof names[0]) ? names[s] : "unknown";
}

static napi_value link_object(napi_env env, const struct lm_link *l) {
  napi_value o, v;
  char mac[18] = "";
  if (l->has_mac) snprintf(mac, sizeof mac, "%02x:%02x:%02x:%02x:%02x:%02x", l->mac[0], l->mac[1], l->mac[2], l->mac[3], l->mac[4], l->mac[5]);
  napi_create_object(env, &o);
  napi_create_int32(env, l->ifindex, &v);
  napi_set_named_property(env, o, "ifindex", v);
  napi_create_string_utf8(env, l->name, NAPI_AUTO_LENGTH, &v);
  napi_set_named_property(env, o, "name", v);
  napi_get_boolean(env, (l->flags & IFF_UP) != 0, &v);
  napi_set_named_property(env, o, "adminUp", v);
  /* IFF_RUNNING: the kernel's "operationally up" (carrier, RFC 2863), what OVS calls carrier. */
  napi_get_boolean(env, (l->flags & IFF_RUNNING) != 0, &v);
  napi_set_named_property(env, o, "running", v);
  napi_get_boolean(env, (l->flags & IFF_LOWER_UP) != 0, &v);
  napi_set_named_property(env, o, "lowerUp", v);
  napi_create_string_utf8(env, operstate_name(l->operstate), NAPI_AUTO_LENGTH, &v);
  napi_set_named_property(env, o, "operstate", v);
  napi_create_string_utf8(env, mac, NAPI_AUTO_LENGTH, &v);
  napi_set_named_property(env, o, "mac", v);
  napi_get_boolean(env, l->deleted != 0, &v);
  napi_set_named_property(env, o, "deleted", v);
  return o;
}

/* Call the JS callback with (links, overrun, errno): errno < 0 means the socket broke and the
 * monitor stopped. */
static void deliver(struct linkmon *m, const struct lm_link *links, int n, int overrun, int err) {
  napi_env env = m->env;
  napi_handle_scope scope;
  napi_value cb, recv, argv[3];
  napi_open_handle_scope(env, &scope);
  if (m->cb && napi_get_reference_value(env, m->cb, &cb) == napi_ok && cb) {
    napi_get_global(env, &recv);
    napi_create_array_with_length(env, (size_t)n, &argv[0]);
    for (int i = 0; i < n; i++) napi_set_element(env, argv[0], (uint32_t)i, link_object(env, &links[i]));
    napi_get_boolean(env, overrun != 0, &argv[1]);
    napi_create_int32(env, err, &argv[2]);
    m->in_cb = 1;
    napi_status s = napi_make_callback(env, m->ctx, recv, cb, 3, argv, NULL);
    m->in_cb = 0;
    if (s == napi_pending_exception) {
      napi_value exc;
      napi_get_and_clear_last_exception(env, &exc);
      napi_fatal_exception(env, exc);
    }
  }
  napi_close_handle_scope(env, scope);
  if (m->stopped) release_js(m); /* the callback closed us */
}

static void on_readable(uv_poll_t *h, int status, int events) {
  struct linkmon *m = h->data;
  if (m->stopped) return;
  struct lm_link links[LM_MAX_LINKS];
  int overrun = 0;
  /* A full socket buffer shows as POLLERR (sk_err ENOBUFS), which libuv reports as an error and
   * stops watching: recvmsg collects that error (an overrun), and watching starts again. */
  int n = lm_read(m->fd, links, LM_MAX_LINKS, &overrun);
  if (n < 0) {
    deliver(m, NULL, 0, 1, n);
    stop(m, 0);
    return;
  }
  if (status < 0 && uv_poll_start(&m->h, UV_READABLE, on_readable) < 0) {
    deliver(m, links, n, 1, -EIO);
    stop(m, 0);
    return;
  }
  if (n > 0 || overrun) deliver(m, links, n, overrun, 0);
}

static napi_value throw_errno(napi_env env, const char *what, const struct tvs_err *e) {
  char msg[256];
  const char *code = uv_err_name(-e->err); /* libuv's UV_E* are -errno on Unix */
  if (code && strncmp(code, "Unknown", 7) == 0) code = NULL;
  snprintf(msg, sizeof msg, "%s: %s: %s", what, e->syscall ? e->syscall : "", e->hint ? e->hint : strerror(e->err));
  napi_value m, c, err, v;
  napi_create_string_utf8(env, msg, NAPI_AUTO_LENGTH, &m);
  napi_create_string_utf8(env, code ? code : "EUNKNOWN", NAPI_AUTO_LENGTH, &c);
  napi_create_error(env, c, m, &err);
  napi_create_int32(env, -e->err, &v);
  napi_set_named_property(env, err, "errno", v);
  napi_create_string_utf8(env, e->syscall ? e->syscall : "", NAPI_AUTO_LENGTH, &v);
  napi_set_named_property(env, err, "syscall", v);
  napi_throw(env, err);
  return NULL;
}

/* linkMonitorOpen(cb): a monitor object; cb(links, overrun, errno) on each batch of news. */
static napi_value js_open(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1], obj, name;
  napi_valuetype t;
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  if (argc < 1 || napi_typeof(env, argv[0], &t) != napi_ok || t != napi_function) {
    napi_throw_type_error(env, "ERR_INVALID_ARG_VALUE", "linkMonitorOpen(cb): cb must be a function");
    return NULL;
  }
  uv_loop_t *loop;
  if (napi_get_uv_event_loop(env, &loop) != napi_ok) {
    napi_throw_error(env, "EINVAL", "linkMonitorOpen: no event loop");
    return NULL;
  }
  struct tvs_err e = {0};
  int fd = lm_open(&e);
  if (fd < 0) return throw_errno(env, "link monitor", &e);
  struct linkmon *m = calloc(1, sizeof *m);
  if (!m) {
    close(fd);
    napi_throw_error(env, "ENOMEM", "linkMonitorOpen: out of memory");
    return NULL;
  }
  int r = uv_poll_init(loop, &m->h, fd);
  if (r < 0) {
    free(m);
    close(fd);
    struct tvs_err ue = {-r, "uv_poll_init", NULL};
    return throw_errno(env, "link monitor", &ue);
  }
  m->h.data = m;
  m->fd = fd;
  m->env = env;
  m->uv_open = 1;
  napi_create_string_utf8(env, "tvs:link-monitor", NAPI_AUTO_LENGTH, &name);
  napi_async_init(env, NULL, name, &m->ctx);
  napi_create_reference(env, argv[0], 1, &m->cb);
  napi_create_object(env, &obj);
  if (napi_wrap(env, obj, m, finalize, NULL, NULL) != napi_ok) {
    stop(m, 0); /* frees once libuv closed the handle */
    napi_throw_error(env, "EINVAL", "linkMonitorOpen: cannot wrap the monitor");
    return NULL;
  }
  m->js_owned = 1;
  napi_add_env_cleanup_hook(env, cleanup_hook, m);
  m->hook = 1;
  r = uv_poll_start(&m->h, UV_READABLE, on_readable);
  if (r < 0) {
    stop(m, 0);
    struct tvs_err ue = {-r, "uv_poll_start", NULL};
    return throw_errno(env, "link monitor", &ue);
  }
  return obj;
}

/* linkMonitorClose(monitor): stop it (idempotent). */
static napi_value js_close(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  void *data = NULL;
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  if (argc >= 1 && napi_unwrap(env, argv[0], &data) == napi_ok && data) stop(data, 0);
  return NULL;
}

/* linkState(ifindex): the device's state now (the same object the callback gets); throws ENODEV. */
static napi_value js_state(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  int32_t ifindex;
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  if (argc < 1 || napi_get_value_int32(env, argv[0], &ifindex) != napi_ok || ifindex <= 0) {
    napi_throw_type_error(env, "ERR_INVALID_ARG_VALUE", "linkState(ifindex): ifindex must be a positive interface index");
    return NULL;
  }
  struct lm_link l;
  struct tvs_err e = {0};
  if (lm_query(ifindex, &l, &e) < 0) return throw_errno(env, "link state", &e);
  return link_object(env, &l);
}

void linkmon_define(napi_env env, napi_value exports) {
  napi_property_descriptor props[] = {
    {"linkMonitorOpen", NULL, js_open, NULL, NULL, NULL, napi_enumerable, NULL},
    {"linkMonitorClose", NULL, js_close, NULL, NULL, NULL, napi_enumerable, NULL},
    {"linkState", NULL, js_state, NULL, NULL, NULL, napi_enumerable, NULL},
  };
  napi_define_properties(env, exports, sizeof props / sizeof props[0], props);
}
