/*
 * Reading JS arguments and throwing JS errors: the small N-API helpers every js_*.c file uses.
 * Setup calls throw Errors with code, errno (negative, Node's convention), syscall and
 * interface (throw_sys); bad arguments throw TypeErrors (throw_arg).
 */
#include <stdio.h>
#include <string.h>

#include <arpa/inet.h>
#include <node_api.h>
#include <uv.h>

#include "js_args.h"

static const char *errno_name(int err) {
  const char *n = uv_err_name(-err); /* libuv's UV_E* are -errno on Unix */
  return (n && strncmp(n, "Unknown", 7) != 0) ? n : "EUNKNOWN";
}

/* Throw `<what> '<name>': <CODE>: <hint or strerror>` with code/errno/syscall/interface. */
void throw_sys(napi_env env, const char *what, const char *ifname, const struct tvs_err *e) {
  char msg[512];
  const char *code = errno_name(e->err);
  snprintf(msg, sizeof msg, "%s '%s': %s: %s", what, ifname, code, e->hint ? e->hint : strerror(e->err));
  napi_value m, c, err, v;
  napi_create_string_utf8(env, msg, NAPI_AUTO_LENGTH, &m);
  napi_create_string_utf8(env, code, NAPI_AUTO_LENGTH, &c);
  napi_create_error(env, c, m, &err);
  napi_create_int32(env, -e->err, &v);
  napi_set_named_property(env, err, "errno", v);
  napi_create_string_utf8(env, e->syscall ? e->syscall : "", NAPI_AUTO_LENGTH, &v);
  napi_set_named_property(env, err, "syscall", v);
  napi_create_string_utf8(env, ifname, NAPI_AUTO_LENGTH, &v);
  napi_set_named_property(env, err, "interface", v);
  napi_throw(env, err);
}

napi_value throw_arg(napi_env env, const char *msg) {
  napi_throw_type_error(env, "ERR_INVALID_ARG_VALUE", msg);
  return NULL;
}

int get_prop(napi_env env, napi_value obj, const char *key, napi_value *out) {
  bool has = false;
  napi_valuetype t;
  if (napi_has_named_property(env, obj, key, &has) != napi_ok || !has) return 0;
  if (napi_get_named_property(env, obj, key, out) != napi_ok) return 0;
  napi_typeof(env, *out, &t);
  return t != napi_undefined && t != napi_null;
}

/* Optional unsigned option: 1 ok (default when absent), 0 invalid. */
int get_opt_uint(napi_env env, napi_value obj, const char *key, unsigned dflt, unsigned max, unsigned *out) {
  napi_value v;
  double d;
  *out = dflt;
  if (!get_prop(env, obj, key, &v)) return 1;
  if (napi_get_value_double(env, v, &d) != napi_ok || d < 0 || d > max || d != (double)(unsigned)d) return 0;
  *out = (unsigned)d;
  return 1;
}

int get_opt_bool(napi_env env, napi_value obj, const char *key, int *out) {
  napi_value v;
  bool b = false;
  *out = 0;
  if (!get_prop(env, obj, key, &v)) return 1;
  if (napi_get_value_bool(env, v, &b) != napi_ok) return 0;
  *out = b;
  return 1;
}

int get_string(napi_env env, napi_value v, char *buf, size_t cap) {
  size_t n;
  return napi_get_value_string_utf8(env, v, buf, cap, &n) == napi_ok && n < cap - 1;
}

napi_value undefined(napi_env env) {
  napi_value v;
  napi_get_undefined(env, &v);
  return v;
}

/* "a.b.c.d" -> network-order address; 0 on a bad string ("" is 0.0.0.0, also 1). */
int get_ipv4(napi_env env, napi_value v, uint32_t *out) {
  char buf[32];
  struct in_addr a;
  if (!get_string(env, v, buf, sizeof buf)) return 0;
  if (buf[0] == '\0') { *out = 0; return 1; }
  if (inet_pton(AF_INET, buf, &a) != 1) return 0;
  *out = a.s_addr;
  return 1;
}
