/*
 * The functions addon.c exports to JS (src/io/binding.ts, NativeBinding), by the file that
 * defines them.
 */
#ifndef TVS_JS_EXPORTS_H
#define TVS_JS_EXPORTS_H

#include <node_api.h>

#define TVS_JS_FN(name) napi_value name(napi_env env, napi_callback_info info)

/* js_open.c */
TVS_JS_FN(js_open_afpacket);
TVS_JS_FN(js_open_tap);
TVS_JS_FN(js_open_scratch);
TVS_JS_FN(js_scratch_inject);
TVS_JS_FN(js_open_underlay);
TVS_JS_FN(js_close);
/* js_info.c */
TVS_JS_FN(js_info);
TVS_JS_FN(js_stats);
TVS_JS_FN(js_stats_into);
TVS_JS_FN(js_if_info);
TVS_JS_FN(js_route_mtu);
/* js_burst.c */
TVS_JS_FN(js_rx_burst);
TVS_JS_FN(js_tx_burst);
/* js_poll.c */
TVS_JS_FN(js_poll_start);
TVS_JS_FN(js_poll_stop);
TVS_JS_FN(js_poll_spin);
TVS_JS_FN(js_poll_wake_ahead);
/* js_process.c */
TVS_JS_FN(js_trim_memory);
TVS_JS_FN(js_set_thread_idle);
TVS_JS_FN(js_set_thread_normal);
TVS_JS_FN(js_set_thread_slice);
TVS_JS_FN(js_get_thread_slice);
/* js_test_hooks.c */
TVS_JS_FN(js_wake_ahead_replay);
TVS_JS_FN(js_wake_ahead_timer_race);

#endif
