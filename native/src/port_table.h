/*
 * What the glue knows of a port (its kind's ops, its fd, its arena, its poller) and the
 * per-environment state that holds them: the handle table (port_table.c) and the spinner.
 */
#ifndef TVS_PORT_TABLE_H
#define TVS_PORT_TABLE_H

#include <stddef.h>
#include <stdint.h>

#include <node_api.h>

#include "common.h"
#include "netdev.h"

struct poller;
struct spinner;

/* What the glue does with a port, per port kind (AF_PACKET, TAP): one table each, chosen when
 * the port is opened, so no call below asks which kind a port is. The entries adapt the typed
 * functions of afpacket.c / tap.c to an opaque `impl`. */
struct port_ops {
  const char *what; /* for error messages: "AF_PACKET port" */
  const char *(*name)(void *impl);
  /* Small slots slots[0..max), large ones slots[max..max+large); rewrites slots[0..k) in arrival order. */
  int (*rx_burst)(void *impl, const struct tvs_arena *a, uint32_t *slots, int max, int large);
  int (*tx_burst)(void *impl, const struct tvs_arena *a, const uint32_t *slots, int n);
  /* After poll reported an error: 0 if transient, else -errno. */
  int (*check_error)(void *impl);
  int (*info)(void *impl, struct nd_info *out, struct tvs_err *e);
  /* Kind-specific extras for describe() (may be NULL). */
  void (*info_extra)(napi_env env, void *impl, napi_value o);
  void (*stats)(void *impl, struct tvs_stats *out);
  void (*close)(void *impl);
  /* 1 when frames are waiting, checked without a syscall (an rx ring); NULL: poll() the fd. */
  int (*rx_ready)(void *impl);
  /* The kernel's arrival time (CLOCK_REALTIME ns) of the next frame, 0 if unknown; NULL: none. */
  uint64_t (*rx_stamp)(void *impl);
};

struct port {
  int handle;
  const struct port_ops *ops;
  void *impl; /* struct afp_port* or struct tap_port*, as ops expects */
  int fd;
  struct tvs_arena arena;
  napi_ref buf_ref, start_ref, len_ref;
  size_t start_count, len_count; /* element counts at open: 0 later means detached */
  struct poller *poller;
  int transient_errors;
};

struct state {
  struct port **ports; /* index = handle - 1; NULL once closed */
  size_t n, cap;
  struct spinner *spin; /* created with the first poller */
};

/* The calling environment's state (instance data). Inline: once per burst. */
static inline struct state *get_state(napi_env env) {
  void *d = NULL;
  napi_get_instance_data(env, &d);
  return d;
}

/* The open port a JS handle names, or NULL (not a number, unknown, closed). Inline: once per burst. */
static inline struct port *lookup(napi_env env, napi_value v) {
  int32_t h;
  struct state *st = get_state(env);
  if (!st || napi_get_value_int32(env, v, &h) != napi_ok || h < 1 || (size_t)h > st->n) return NULL;
  return st->ports[h - 1];
}

/* A new port of kind `ops`, not yet in the table (register_port enters it); NULL: no memory. */
struct port *new_port(napi_env env, const struct port_ops *ops);
void register_port(napi_env env, struct port *p);
/* Release the arena references take_arena made. */
void drop_refs(napi_env env, struct port *p);

#endif
