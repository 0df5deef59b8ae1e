/* Reading JS arguments and throwing JS errors (js_args.c): shared by every js_*.c file. */
#ifndef TVS_JS_ARGS_H
#define TVS_JS_ARGS_H

#include <stddef.h>
#include <stdint.h>

#include <node_api.h>

#include "common.h"

/* Throw `<what> '<name>': <CODE>: <hint or strerror>` with code/errno/syscall/interface. */
void throw_sys(napi_env env, const char *what, const char *ifname, const struct tvs_err *e);
/* Throw a TypeError (ERR_INVALID_ARG_VALUE); returns NULL for `return throw_arg(...)`. */
napi_value throw_arg(napi_env env, const char *msg);

/* Called once per burst for the slot list: napi_get_typedarray_info fails on anything but a typed
 * array, and it only materialises the ArrayBuffer handle and offset when asked for them. */
static inline int get_u32_array(napi_env env, napi_value v, uint32_t **data, size_t *count) {
  napi_typedarray_type t;
  if (napi_get_typedarray_info(env, v, &t, count, (void **)data, NULL, NULL) != napi_ok) return 0;
  return t == napi_uint32_array;
}

/* obj[key] when present and neither undefined nor null: 1, else 0. */
int get_prop(napi_env env, napi_value obj, const char *key, napi_value *out);
/* Optional unsigned option: 1 ok (default when absent), 0 invalid. */
int get_opt_uint(napi_env env, napi_value obj, const char *key, unsigned dflt, unsigned max, unsigned *out);
/* Optional boolean option: 1 ok (0 when absent), 0 invalid. */
int get_opt_bool(napi_env env, napi_value obj, const char *key, int *out);
/* A string that fits `cap` with room to spare: 1, else 0. */
int get_string(napi_env env, napi_value v, char *buf, size_t cap);
/* "a.b.c.d" -> network-order address; 0 on a bad string ("" is 0.0.0.0, also 1). */
int get_ipv4(napi_env env, napi_value v, uint32_t *out);

/* Inline: once per burst. */
static inline napi_value int_result(napi_env env, int r) {
  napi_value v;
  napi_create_int32(env, r, &v);
  return v;
}
napi_value undefined(napi_env env);

#endif
