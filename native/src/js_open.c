/*
 * openAfPacket, openTap, openUnderlay, openScratch (+ scratchInject) and close: making a port of
 * each kind, entering it in the handle table, and taking it out again.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <node_api.h>

#include "afpacket.h"
#include "js_args.h"
#include "js_exports.h"
#include "poller.h"
#include "port_arena.h"
#include "port_kinds.h"
#include "port_table.h"
#include "scratch.h"
#include "tap.h"
#include "underlay.h"

napi_value js_open_afpacket(napi_env env, napi_callback_info info) {
  size_t argc = 3;
  napi_value argv[3], v;
  char name[64], ring[8] = "v3";
  struct afp_opts o;
  struct tvs_err e = {0};
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  if (argc < 3) return throw_arg(env, "openAfPacket(ifname, opts, arena)");
  if (!get_string(env, argv[0], name, sizeof name)) return throw_arg(env, "ifname must be a short string");
  memset(&o, 0, sizeof o);
  if (!get_opt_bool(env, argv[1], "vnetHdr", &o.vnet_hdr)) return throw_arg(env, "opts.vnetHdr must be a boolean");
  if (!get_opt_bool(env, argv[1], "txRing", &o.tx_ring)) return throw_arg(env, "opts.txRing must be a boolean");
  if (get_prop(env, argv[1], "ring", &v) && (!get_string(env, v, ring, sizeof ring) || (strcmp(ring, "v3") && strcmp(ring, "v2"))))
    return throw_arg(env, "opts.ring must be 'v3' or 'v2'");
  o.version = ring[1] == '2' ? 2 : 3;
  if (!get_opt_uint(env, argv[1], "blockTimeoutMs", 1, 60000, &o.block_timeout_ms) ||
      !get_opt_uint(env, argv[1], "blockSize", 0, 1u << 30, &o.block_size) ||
      !get_opt_uint(env, argv[1], "blockCount", 0, 1u << 16, &o.block_count) ||
      !get_opt_uint(env, argv[1], "ringFrames", 0, 1u << 16, &o.frame_count))
    return throw_arg(env, "opts.blockTimeoutMs/blockSize/blockCount/ringFrames must be non-negative integers in range");

  struct port *p = new_port(env, &AFP_OPS);
  if (!p) { napi_throw_error(env, "ENOMEM", "out of memory"); return NULL; }
  if (!take_arena(env, argv[2], p)) { drop_refs(env, p); free(p); return NULL; }
  o.max_frame = p->arena.large_size - p->arena.headroom;
  struct afp_port *ap;
  if (afp_open(name, &o, &ap, &e) < 0) {
    drop_refs(env, p);
    free(p);
    throw_sys(env, "AF_PACKET port", name, &e);
    return NULL;
  }
  p->impl = ap;
  p->fd = afp_fd(ap);
  register_port(env, p);
  return int_result(env, p->handle);
}

/* openScratch(name, opts, arena): a scratch port (scratch.h) on `arena`; its handle. No fd: it is
 * never polled, the warm-up drains it itself. */
napi_value js_open_scratch(napi_env env, napi_callback_info info) {
  size_t argc = 3;
  napi_value argv[3];
  char name[64];
  int vnet = 0;
  struct tvs_err e = {0};
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  if (argc < 3) return throw_arg(env, "openScratch(name, opts, arena)");
  if (!get_string(env, argv[0], name, sizeof name)) return throw_arg(env, "name must be a short string");
  if (!get_opt_bool(env, argv[1], "vnetHdr", &vnet)) return throw_arg(env, "opts.vnetHdr must be a boolean");
  struct port *p = new_port(env, &SCRATCH_OPS);
  if (!p) { napi_throw_error(env, "ENOMEM", "out of memory"); return NULL; }
  if (!take_arena(env, argv[2], p)) { drop_refs(env, p); free(p); return NULL; }
  struct scratch_port *sp;
  if (scratch_open(name, vnet, &sp, &e) < 0) {
    drop_refs(env, p);
    free(p);
    throw_sys(env, "scratch port", name, &e);
    return NULL;
  }
  p->impl = sp;
  register_port(env, p);
  return int_result(env, p->handle);
}

/* scratchInject(handle, frame[, copies]): queue `copies` (default 1) copies of `frame` (a
 * Uint8Array, copied) for the scratch port's next rx bursts. 0 or -errno; -EBADF for any handle
 * that is not a scratch port's. */
napi_value js_scratch_inject(napi_env env, napi_callback_info info) {
  size_t argc = 3;
  napi_value argv[3];
  napi_typedarray_type t;
  napi_valuetype vt;
  size_t len;
  void *data;
  uint32_t copies = 1;
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  struct port *p = argc >= 2 ? lookup(env, argv[0]) : NULL;
  if (!p || p->ops != &SCRATCH_OPS) return int_result(env, -EBADF);
  if (napi_get_typedarray_info(env, argv[1], &t, &len, &data, NULL, NULL) != napi_ok || t != napi_uint8_array) return int_result(env, -EINVAL);
  if (argc >= 3 && napi_typeof(env, argv[2], &vt) == napi_ok && vt != napi_undefined) {
    if (vt != napi_number || napi_get_value_uint32(env, argv[2], &copies) != napi_ok) return int_result(env, -EINVAL);
  }
  return int_result(env, scratch_inject(p->impl, data, (uint32_t)len, copies));
}

napi_value js_open_tap(napi_env env, napi_callback_info info) {
  size_t argc = 3;
  napi_value argv[3], out, v;
  char name[64];
  struct tap_opts o;
  struct tvs_err e = {0};
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  if (argc < 3) return throw_arg(env, "openTap(name, opts, arena)");
  if (!get_string(env, argv[0], name, sizeof name)) return throw_arg(env, "name must be a short string");
  memset(&o, 0, sizeof o);
  if (!get_opt_bool(env, argv[1], "vnetHdr", &o.vnet_hdr) || !get_opt_bool(env, argv[1], "persist", &o.persist) ||
      !get_opt_bool(env, argv[1], "exclusive", &o.exclusive))
    return throw_arg(env, "opts.vnetHdr, opts.persist and opts.exclusive must be booleans");
  if (get_prop(env, argv[1], "mac", &v)) {
    char mac[32];
    unsigned m[6];
    int used = 0;
    if (!get_string(env, v, mac, sizeof mac) || sscanf(mac, "%2x:%2x:%2x:%2x:%2x:%2x%n", &m[0], &m[1], &m[2], &m[3], &m[4], &m[5], &used) != 6 || mac[used] != '\0')
      return throw_arg(env, "opts.mac must be a MAC address aa:bb:cc:dd:ee:ff");
    for (int i = 0; i < 6; i++) o.mac[i] = (uint8_t)m[i];
    o.has_mac = 1;
  }
  struct port *p = new_port(env, &TAP_OPS);
  if (!p) { napi_throw_error(env, "ENOMEM", "out of memory"); return NULL; }
  if (!take_arena(env, argv[2], p)) { drop_refs(env, p); free(p); return NULL; }
  struct tap_port *tp;
  if (tap_open(name, &o, &tp, &e) < 0) {
    drop_refs(env, p);
    free(p);
    throw_sys(env, "TAP port", name, &e);
    return NULL;
  }
  p->impl = tp;
  p->fd = tap_fd(tp);
  register_port(env, p);
  napi_create_object(env, &out);
  napi_set_named_property(env, out, "handle", int_result(env, p->handle));
  napi_create_string_utf8(env, tap_name(tp), NAPI_AUTO_LENGTH, &v);
  napi_set_named_property(env, out, "name", v);
  return out;
}

napi_value js_open_underlay(napi_env env, napi_callback_info info) {
  size_t argc = 3;
  napi_value argv[3], v;
  char kind[8];
  struct ul_opts o;
  struct tvs_err e = {0};
  unsigned port;
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  if (argc < 3) return throw_arg(env, "openUnderlay(kind, opts, arena)");
  if (!get_string(env, argv[0], kind, sizeof kind) || (strcmp(kind, "vxlan") && strcmp(kind, "gre")))
    return throw_arg(env, "kind must be 'vxlan' or 'gre'");
  memset(&o, 0, sizeof o);
  o.kind = kind[0] == 'v' ? TVS_UL_VXLAN : TVS_UL_GRE;
  if (get_prop(env, argv[1], "localIp", &v) && !get_ipv4(env, v, &o.local)) return throw_arg(env, "opts.localIp must be an IPv4 address");
  if (!get_opt_uint(env, argv[1], "dstPort", 4789, 65535, &port) || port == 0) return throw_arg(env, "opts.dstPort must be in 1..65535");
  o.port = (uint16_t)port;
  struct port *p = new_port(env, &UL_OPS);
  if (!p) { napi_throw_error(env, "ENOMEM", "out of memory"); return NULL; }
  if (!take_arena(env, argv[2], p)) { drop_refs(env, p); free(p); return NULL; }
  if (p->arena.headroom < TVS_VNET_HDR_LEN + TVS_UL_META) {
    drop_refs(env, p);
    free(p);
    return throw_arg(env, "arena: a tunnel underlay needs headroom >= 18");
  }
  struct ul_port *up;
  if (ul_open(&o, &up, &e) < 0) {
    drop_refs(env, p);
    free(p);
    char what[64];
    snprintf(what, sizeof what, "%s underlay", kind);
    throw_sys(env, what, kind, &e);
    return NULL;
  }
  p->impl = up;
  p->fd = ul_fd(up);
  register_port(env, p);
  return int_result(env, p->handle);
}

static void close_port(napi_env env, struct state *st, struct port *p) {
  stop_polling(p);
  p->ops->close(p->impl); /* AF_PACKET: unmaps the ring; both: close the fd */
  drop_refs(env, p);
  st->ports[p->handle - 1] = NULL;
  free(p);
}

napi_value js_close(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  struct port *p = argc >= 1 ? lookup(env, argv[0]) : NULL;
  if (p) close_port(env, get_state(env), p);
  return undefined(env);
}
