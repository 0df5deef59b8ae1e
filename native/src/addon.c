/*
 * N-API glue: implements the NativeBinding interface of src/io/binding.ts and nothing else.
 * This file is the entry point: the exports table and the per-environment state's life.
 *
 * - Ports live in a per-environment handle table (port_table.c; worker threads get their own);
 *   handles are never reused, so a stale handle in JS cannot reach a newer port.
 * - A port keeps napi_refs to the arena ArrayBuffer and the start/len Uint32Arrays, plus raw
 *   pointers into them (port_arena.c): V8 never moves an ArrayBuffer backing store, so the
 *   pointers stay valid as long as the buffers are alive and not detached (checked once per burst).
 * - Bursts (js_burst.c) validate every argument and return -errno, never throw: out-of-range
 *   slots or frame bounds give -EINVAL before any memory is touched. Setup calls (js_open.c,
 *   js_info.c) throw Errors with code, errno (negative, Node's convention), syscall and interface.
 * - One N-API call per burst, never per packet: the per-frame work is in afpacket.c / tap.c / underlay.c.
 * - Wakeups: poller.c runs a port's JS callback, js_poll.c's on_poll is what a wakeup does, and
 *   spinner.c / ahead_timer.c keep the latency low after it ("Latency" in spinner.c).
 */
#include <stdlib.h>

#include <node_api.h>
#include <uv.h>

#include "ahead_timer.h"
#include "js_exports.h"
#include "linkmon_glue.h"
#include "poller.h"
#include "port_table.h"
#include "spinner.h"

static void cleanup_hook(void *arg) {
  /* Environment teardown (process exit, worker end): close every port still open. */
  struct state *st = arg;
  if (st->spin) {
    st->spin->st = NULL;
    ahead_timer_close(st->spin);
    uv_idle_stop(&st->spin->h);
    uv_close((uv_handle_t *)&st->spin->h, spinner_free);
  }
  for (size_t i = 0; i < st->n; i++) {
    struct port *p = st->ports[i];
    if (!p) continue;
    stop_polling(p);
    p->ops->close(p->impl);
    free(p); /* the napi_refs die with the environment */
  }
  free(st->ports);
  free(st);
}

static napi_value init(napi_env env, napi_value exports) {
  struct state *st = calloc(1, sizeof *st);
  if (!st) return NULL;
  napi_set_instance_data(env, st, NULL, NULL);
  napi_add_env_cleanup_hook(env, cleanup_hook, st);
  napi_property_descriptor props[] = {
    {"openAfPacket", NULL, js_open_afpacket, NULL, NULL, NULL, napi_enumerable, NULL},
    {"openTap", NULL, js_open_tap, NULL, NULL, NULL, napi_enumerable, NULL},
    {"openScratch", NULL, js_open_scratch, NULL, NULL, NULL, napi_enumerable, NULL},
    {"scratchInject", NULL, js_scratch_inject, NULL, NULL, NULL, napi_enumerable, NULL},
    {"openUnderlay", NULL, js_open_underlay, NULL, NULL, NULL, napi_enumerable, NULL},
    {"routeMtu", NULL, js_route_mtu, NULL, NULL, NULL, napi_enumerable, NULL},
    {"rxBurst", NULL, js_rx_burst, NULL, NULL, NULL, napi_enumerable, NULL},
    {"txBurst", NULL, js_tx_burst, NULL, NULL, NULL, napi_enumerable, NULL},
    {"pollStart", NULL, js_poll_start, NULL, NULL, NULL, napi_enumerable, NULL},
    {"pollStop", NULL, js_poll_stop, NULL, NULL, NULL, napi_enumerable, NULL},
    {"pollSpin", NULL, js_poll_spin, NULL, NULL, NULL, napi_enumerable, NULL},
    {"pollWakeAhead", NULL, js_poll_wake_ahead, NULL, NULL, NULL, napi_enumerable, NULL},
    {"wakeAheadReplay", NULL, js_wake_ahead_replay, NULL, NULL, NULL, napi_enumerable, NULL},
    {"wakeAheadTimerRace", NULL, js_wake_ahead_timer_race, NULL, NULL, NULL, napi_enumerable, NULL},
    {"close", NULL, js_close, NULL, NULL, NULL, napi_enumerable, NULL},
    {"info", NULL, js_info, NULL, NULL, NULL, napi_enumerable, NULL},
    {"stats", NULL, js_stats, NULL, NULL, NULL, napi_enumerable, NULL},
    {"statsInto", NULL, js_stats_into, NULL, NULL, NULL, napi_enumerable, NULL},
    {"ifInfo", NULL, js_if_info, NULL, NULL, NULL, napi_enumerable, NULL},
    {"trimMemory", NULL, js_trim_memory, NULL, NULL, NULL, napi_enumerable, NULL},
    {"setThreadIdle", NULL, js_set_thread_idle, NULL, NULL, NULL, napi_enumerable, NULL},
    {"setThreadNormal", NULL, js_set_thread_normal, NULL, NULL, NULL, napi_enumerable, NULL},
    {"setThreadSlice", NULL, js_set_thread_slice, NULL, NULL, NULL, napi_enumerable, NULL},
    {"getThreadSlice", NULL, js_get_thread_slice, NULL, NULL, NULL, napi_enumerable, NULL},
  };
  napi_define_properties(env, exports, sizeof props / sizeof props[0], props);
  linkmon_define(env, exports);
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)
