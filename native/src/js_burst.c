/*
 * rxBurst and txBurst: the datapath's one native call per batch per port. They validate every
 * argument and return -errno, never throw: out-of-range slots or frame bounds give -EINVAL before
 * any memory is touched. The per-frame work is the port kind's (afpacket.c, tap.c, underlay.c).
 */
#include <errno.h>
#include <stdbool.h>

#include <node_api.h>

#include "js_args.h"
#include "js_exports.h"
#include "port_arena.h"
#include "port_table.h"

/* Once per burst: the raw pointers are only valid while no buffer was detached (transferred). */
static int arena_alive(napi_env env, struct port *p) {
  napi_value v;
  bool detached = true;
  size_t n;
  if (napi_get_reference_value(env, p->buf_ref, &v) != napi_ok || !v) return 0;
  if (napi_is_detached_arraybuffer(env, v, &detached) != napi_ok || detached) return 0;
  /* Only the length: a detached view reads 0. Asking for the type, data or buffer as well costs
   * a chain of type tests and an ArrayBuffer handle each, twice per burst, for nothing. */
  if (napi_get_reference_value(env, p->start_ref, &v) != napi_ok || !v) return 0;
  if (napi_get_typedarray_info(env, v, NULL, &n, NULL, NULL, NULL) != napi_ok || n != p->start_count) return 0;
  if (napi_get_reference_value(env, p->len_ref, &v) != napi_ok || !v) return 0;
  if (napi_get_typedarray_info(env, v, NULL, &n, NULL, NULL, NULL) != napi_ok || n != p->len_count) return 0;
  return 1;
}

/*
 * The largest of n slot indices (0 for none). An rx burst offers every free slot it could fill
 * (256 + 16) however few frames wait, so this runs over all of them per burst: as a max with
 * independent lanes and no early exit the compiler vectorises it, where a compare-and-return
 * per slot was ~1% of the switch's CPU at the generator maximum (routed path, perf).
 */
static uint32_t slot_max(const uint32_t *s, int n) {
  uint32_t m[8] = {0};
  int i = 0;
  for (; i + 8 <= n; i += 8)
    for (int j = 0; j < 8; j++) m[j] = s[i + j] > m[j] ? s[i + j] : m[j];
  for (; i < n; i++) m[0] = s[i] > m[0] ? s[i] : m[0];
  for (int j = 1; j < 8; j++) m[0] = m[j] > m[0] ? m[j] : m[0];
  return m[0];
}

/* Common burst argument parsing: (handle, slots: Uint32Array, n[, large]). Returns 0 or -errno.
 * rx only: `large` more slots follow the first n in `slots` (see afp_rx_burst). */
static int burst_args(napi_env env, napi_callback_info info, struct port **pp, uint32_t **slots, int *n, int *large) {
  size_t argc = 4, count;
  napi_value argv[4];
  int32_t want, more = 0;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < 3) return -EINVAL;
  struct port *p = lookup(env, argv[0]);
  if (!p) return -EBADF;
  if (!get_u32_array(env, argv[1], slots, &count)) return -EINVAL;
  if (napi_get_value_int32(env, argv[2], &want) != napi_ok || want < 0 || (size_t)want > count) return -EINVAL;
  if (large && argc >= 4 && (napi_get_value_int32(env, argv[3], &more) != napi_ok || more < 0 || (size_t)want + (size_t)more > count ||
                             want + more > TVS_MAX_OFFER)) return -EINVAL;
  if (large && want > TVS_MAX_OFFER) return -EINVAL;
  if (!arena_alive(env, p)) return -EINVAL;
  if (slot_max(*slots, want + more) >= p->arena.capacity) return -EINVAL;
  *pp = p;
  *n = want;
  if (large) *large = more;
  return 0;
}

napi_value js_rx_burst(napi_env env, napi_callback_info info) {
  struct port *p;
  uint32_t *slots;
  int n, large, r = burst_args(env, info, &p, &slots, &n, &large);
  if (r < 0) return int_result(env, r);
  r = p->ops->rx_burst(p->impl, &p->arena, slots, n, large);
  return int_result(env, r);
}

napi_value js_tx_burst(napi_env env, napi_callback_info info) {
  struct port *p;
  uint32_t *slots;
  int n, r = burst_args(env, info, &p, &slots, &n, NULL);
  if (r < 0) return int_result(env, r);
  const struct tvs_arena *a = &p->arena;
  for (int i = 0; i < n; i++) {
    uint32_t s = slots[i];
    /* 64-bit sum: start + len must not wrap past the end of the buffer. */
    if ((uint64_t)a->start[s] + a->len[s] > a->size) return int_result(env, -EINVAL);
  }
  r = p->ops->tx_burst(p->impl, a, slots, n);
  return int_result(env, r);
}
