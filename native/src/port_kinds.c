/*
 * One ops table per port kind (AF_PACKET, TAP, tunnel underlay, scratch): the entries adapt the
 * typed functions of afpacket.c / tap.c / underlay.c / scratch.c to the glue's opaque `impl`.
 */
#include <node_api.h>

#include "afpacket.h"
#include "js_args.h"
#include "port_kinds.h"
#include "scratch.h"
#include "tap.h"
#include "underlay.h"

static const char *afp_op_name(void *i) { return afp_name(i); }
static int afp_op_rx(void *i, const struct tvs_arena *a, uint32_t *s, int n, int l) { return afp_rx_burst(i, a, s, n, l); }
static int afp_op_tx(void *i, const struct tvs_arena *a, const uint32_t *s, int n) { return afp_tx_burst(i, a, s, n); }
static int afp_op_check_error(void *i) { return afp_check_error(i); }
static int afp_op_info(void *i, struct nd_info *out, struct tvs_err *e) { return afp_info(i, out, e); }
static void afp_op_stats(void *i, struct tvs_stats *out) { afp_stats(i, out); }
static void afp_op_close(void *i) { afp_close(i); }
/* Which ring and how big, for describe() and dump-ports. */
static void afp_op_info_extra(napi_env env, void *i, napi_value o) {
  napi_value v;
  struct afp_ring_info ri;
  afp_ring_info(i, &ri);
  napi_create_string_utf8(env, afp_ring_name(i), NAPI_AUTO_LENGTH, &v);
  napi_set_named_property(env, o, "ring", v);
  napi_create_double(env, (double)ri.bytes, &v);
  napi_set_named_property(env, o, "ringBytes", v);
  napi_set_named_property(env, o, "ringFrameSize", int_result(env, (int)ri.frame_size));
  napi_set_named_property(env, o, "ringFrames", int_result(env, (int)ri.frames));
  napi_create_double(env, (double)ri.tx_bytes, &v);
  napi_set_named_property(env, o, "txRingBytes", v);
  napi_set_named_property(env, o, "txRingFrameSize", int_result(env, (int)ri.tx_frame_size));
  napi_set_named_property(env, o, "txRingFrames", int_result(env, (int)ri.tx_frames));
}

static int afp_op_rx_ready(void *i) { return afp_rx_ready(i); }
static uint64_t afp_op_rx_stamp(void *i) { return afp_rx_stamp(i); }

const struct port_ops AFP_OPS = {
    "AF_PACKET port", afp_op_name, afp_op_rx, afp_op_tx, afp_op_check_error, afp_op_info, afp_op_info_extra, afp_op_stats, afp_op_close,
    afp_op_rx_ready, afp_op_rx_stamp,
};

static const char *tap_op_name(void *i) { return tap_name(i); }
static int tap_op_rx(void *i, const struct tvs_arena *a, uint32_t *s, int n, int l) { return tap_rx_burst(i, a, s, n, l); }
static int tap_op_tx(void *i, const struct tvs_arena *a, const uint32_t *s, int n) { return tap_tx_burst(i, a, s, n); }
static int tap_op_check_error(void *i) { return tap_check_error(i); }
static int tap_op_info(void *i, struct nd_info *out, struct tvs_err *e) { return tap_info(i, out, e); }
static void tap_op_stats(void *i, struct tvs_stats *out) { tap_stats(i, out); }
static void tap_op_close(void *i) { tap_close(i); }

const struct port_ops TAP_OPS = {
    "TAP port", tap_op_name, tap_op_rx, tap_op_tx, tap_op_check_error, tap_op_info, NULL, tap_op_stats, tap_op_close, NULL, NULL,
};

static const char *ul_op_name(void *i) { return ul_name(i); }
static int ul_op_rx(void *i, const struct tvs_arena *a, uint32_t *s, int n, int l) { return ul_rx_burst(i, a, s, n, l); }
static int ul_op_tx(void *i, const struct tvs_arena *a, const uint32_t *s, int n) { return ul_tx_burst(i, a, s, n); }
static int ul_op_check_error(void *i) { return ul_check_error(i); }
static int ul_op_info(void *i, struct nd_info *out, struct tvs_err *e) { return ul_info(i, out, e); }
static void ul_op_stats(void *i, struct tvs_stats *out) { ul_stats(i, out); }
static void ul_op_close(void *i) { ul_close(i); }

const struct port_ops UL_OPS = {
    "tunnel underlay", ul_op_name, ul_op_rx, ul_op_tx, ul_op_check_error, ul_op_info, NULL, ul_op_stats, ul_op_close, NULL, NULL,
};

static const char *scratch_op_name(void *i) { return scratch_name(i); }
static int scratch_op_rx(void *i, const struct tvs_arena *a, uint32_t *s, int n, int l) { return scratch_rx_burst(i, a, s, n, l); }
static int scratch_op_tx(void *i, const struct tvs_arena *a, const uint32_t *s, int n) { return scratch_tx_burst(i, a, s, n); }
static int scratch_op_check_error(void *i) { return 0; }
static int scratch_op_info(void *i, struct nd_info *out, struct tvs_err *e) { return scratch_info(i, out, e); }
static void scratch_op_stats(void *i, struct tvs_stats *out) { scratch_stats(i, out); }
static void scratch_op_close(void *i) { scratch_close(i); }

const struct port_ops SCRATCH_OPS = {
    "scratch port", scratch_op_name, scratch_op_rx, scratch_op_tx, scratch_op_check_error, scratch_op_info, NULL, scratch_op_stats, scratch_op_close, NULL, NULL,
};
