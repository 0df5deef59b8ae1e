/*
 * trimMemory and the thread policy calls: process-wide, not per port. Memory the switch no longer
 * uses back to the kernel (memtrim.c), and the scheduling of its threads (threadsched.c).
 */
#include <node_api.h>

#include "js_args.h"
#include "js_exports.h"
#include "memtrim.h"
#include "threadsched.h"

/* trimMemory(): memory start-up and configuration touched once back to the kernel (memtrim.c). */
napi_value js_trim_memory(napi_env env, napi_callback_info info) {
  struct mt_result r;
  napi_value o;
  mt_trim(&r);
  napi_value v;
  napi_create_object(env, &o);
  napi_create_double(env, (double)r.exec_bytes, &v);
  napi_set_named_property(env, o, "execBytes", v);
  napi_set_named_property(env, o, "mallocTrimmed", int_result(env, r.trimmed));
  return o;
}

/* A call that takes one thread id of this process and sets its policy (threadsched.c): the
 * argument check (`usage` is the error when it is not a positive id), then 0 or -errno. */
static napi_value thread_policy_call(napi_env env, napi_callback_info info, const char *usage, int (*set)(int)) {
  size_t argc = 1;
  napi_value argv[1];
  int32_t tid;
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  if (argc < 1 || napi_get_value_int32(env, argv[0], &tid) != napi_ok || tid <= 0) return throw_arg(env, usage);
  return int_result(env, set(tid));
}

/* setThreadIdle(tid): put one of this process's threads in SCHED_IDLE; 0 or -errno. */
napi_value js_set_thread_idle(napi_env env, napi_callback_info info) {
  return thread_policy_call(env, info, "setThreadIdle(tid): tid must be a positive thread id", ts_set_idle);
}

/* setThreadNormal(tid): put one of this process's threads back in SCHED_OTHER; 0 or -errno. */
napi_value js_set_thread_normal(napi_env env, napi_callback_info info) {
  return thread_policy_call(env, info, "setThreadNormal(tid): tid must be a positive thread id", ts_set_normal);
}

/* setThreadSlice(tid, ns): that thread's scheduler slice (0: the kernel's default); 0 or -errno. */
napi_value js_set_thread_slice(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  int32_t tid;
  int64_t ns;
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  if (argc < 2 || napi_get_value_int32(env, argv[0], &tid) != napi_ok || tid <= 0) return throw_arg(env, "setThreadSlice(tid, ns): tid must be a positive thread id");
  if (napi_get_value_int64(env, argv[1], &ns) != napi_ok || ns < 0) return throw_arg(env, "setThreadSlice(tid, ns): ns must be a number >= 0");
  return int_result(env, ts_set_slice(tid, (uint64_t)ns));
}

/* getThreadSlice(tid): that thread's slice in ns as the kernel reports it (0: none), or -errno. */
napi_value js_get_thread_slice(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  int32_t tid;
  napi_value v;
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  if (argc < 1 || napi_get_value_int32(env, argv[0], &tid) != napi_ok || tid <= 0) return throw_arg(env, "getThreadSlice(tid): tid must be a positive thread id");
  napi_create_int64(env, ts_get_slice(tid), &v);
  return v;
}
