/*
 * info, stats, statsInto, ifInfo and routeMtu: what a port, an interface or a route is, for
 * describe(), the counters the datapath pulls once a second, and the underlay's path MTU.
 */
#include <stdio.h>

#include <node_api.h>

#include "js_args.h"
#include "js_exports.h"
#include "netdev.h"
#include "port_table.h"
#include "underlay.h"

static napi_value info_object(napi_env env, const struct nd_info *nd) {
  napi_value o, v;
  char mac[18];
  snprintf(mac, sizeof mac, "%02x:%02x:%02x:%02x:%02x:%02x", nd->mac[0], nd->mac[1], nd->mac[2], nd->mac[3], nd->mac[4], nd->mac[5]);
  napi_create_object(env, &o);
  napi_create_string_utf8(env, nd->name, NAPI_AUTO_LENGTH, &v);
  napi_set_named_property(env, o, "name", v);
  napi_set_named_property(env, o, "ifindex", int_result(env, nd->ifindex));
  napi_set_named_property(env, o, "mtu", int_result(env, nd->mtu));
  napi_create_string_utf8(env, mac, NAPI_AUTO_LENGTH, &v);
  napi_set_named_property(env, o, "mac", v);
  return o;
}

napi_value js_info(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  struct nd_info nd;
  struct tvs_err e = {0};
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  struct port *p = argc >= 1 ? lookup(env, argv[0]) : NULL;
  if (!p) return throw_arg(env, "info: no such port handle (closed?)");
  if (p->ops->info(p->impl, &nd, &e) < 0) { throw_sys(env, p->ops->what, p->ops->name(p->impl), &e); return NULL; }
  napi_value o = info_object(env, &nd);
  if (p->ops->info_extra) p->ops->info_extra(env, p->impl, o);
  return o;
}

napi_value js_stats(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1], o, v;
  struct tvs_stats s;
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  struct port *p = argc >= 1 ? lookup(env, argv[0]) : NULL;
  if (!p) return throw_arg(env, "stats: no such port handle (closed?)");
  p->ops->stats(p->impl, &s);
  napi_create_object(env, &o);
  napi_create_double(env, (double)s.kernel_drops, &v);
  napi_set_named_property(env, o, "kernelDrops", v);
  napi_create_double(env, (double)s.rx_oversize, &v);
  napi_set_named_property(env, o, "rxOversize", v);
  napi_create_double(env, (double)s.tx_errors, &v);
  napi_set_named_property(env, o, "txErrors", v);
  napi_create_double(env, (double)s.tx_unreachable, &v);
  napi_set_named_property(env, o, "txUnreachable", v);
  napi_create_double(env, (double)s.tx_too_big, &v);
  napi_set_named_property(env, o, "txTooBig", v);
  return o;
}

/* statsInto(handle, out: Float64Array of >= 5): the same counters as stats(), in the order
 * kernelDrops, rxOversize, txErrors, txUnreachable, txTooBig, written into the caller's array.
 * The datapath pulls them once a second per port: an object of five properties built for that
 * was garbage every second (and its doubles with it); this allocates nothing. */
napi_value js_stats_into(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  napi_typedarray_type t;
  size_t n = 0;
  double *out = NULL;
  struct tvs_stats s;
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  struct port *p = argc >= 1 ? lookup(env, argv[0]) : NULL;
  if (!p) return throw_arg(env, "statsInto: no such port handle (closed?)");
  if (argc < 2 || napi_get_typedarray_info(env, argv[1], &t, &n, (void **)&out, NULL, NULL) != napi_ok || t != napi_float64_array || n < 5)
    return throw_arg(env, "statsInto: out must be a Float64Array of at least 5 elements");
  p->ops->stats(p->impl, &s);
  out[0] = (double)s.kernel_drops;
  out[1] = (double)s.rx_oversize;
  out[2] = (double)s.tx_errors;
  out[3] = (double)s.tx_unreachable;
  out[4] = (double)s.tx_too_big;
  return NULL;
}

napi_value js_if_info(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  char name[64];
  struct nd_info nd;
  struct tvs_err e = {0};
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  if (argc < 1 || !get_string(env, argv[0], name, sizeof name)) return throw_arg(env, "ifInfo(name): name must be a short string");
  if (nd_lookup(name, &nd, &e) < 0) { throw_sys(env, "interface", name, &e); return NULL; }
  return info_object(env, &nd);
}

napi_value js_route_mtu(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  uint32_t remote = 0, local = 0;
  struct tvs_err e = {0};
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  if (argc < 1 || !get_ipv4(env, argv[0], &remote) || remote == 0) return throw_arg(env, "routeMtu(remote, local?): remote must be an IPv4 address");
  if (argc >= 2 && !get_ipv4(env, argv[1], &local)) return throw_arg(env, "routeMtu: local must be an IPv4 address");
  int r = ul_route_mtu(local, remote, &e);
  return int_result(env, r); /* the MTU, or -errno (ENETUNREACH: no route) */
}
