/*
 * N-API glue: implements the NativeBinding interface of src/io/binding.ts and nothing else.
 *
 * - Ports live in a per-environment handle table (worker threads get their own); handles are
 *   never reused, so a stale handle in JS cannot reach a newer port.
 * - A port keeps napi_refs to the arena ArrayBuffer and the start/len Uint32Arrays, plus raw
 *   pointers into them: V8 never moves an ArrayBuffer backing store, so the pointers stay valid
 *   as long as the buffers are alive and not detached (checked once per burst).
 * - Bursts validate every argument and return -errno, never throw: out-of-range slots or frame
 *   bounds give -EINVAL before any memory is touched. Setup calls throw Errors with code,
 *   errno (negative, Node's convention), syscall and interface.
 * - One N-API call per burst, never per packet: the per-frame work is in afpacket.c / tap.c / underlay.c.
 */
#include <errno.h>
#include <fcntl.h>
#include <unistd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <node_api.h>
#include <uv.h>

#include "afpacket.h"
#include "common.h"
#include "memtrim.h"
#include "netdev.h"
#include "scratch.h"
#include "tap.h"
#include "threadsched.h"
#include "underlay.h"
#include "wakeahead.h"

#include <sys/timerfd.h>
#include <time.h>

#include <arpa/inet.h>

struct poller;

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

/* Separate from the port: libuv owns it until the close callback, which may run after the
 * port is gone. */
struct poller {
  uv_poll_t h;
  napi_env env;
  struct port *port; /* NULL once stopped */
  napi_ref cb;
  napi_async_context ctx;
  int in_cb; /* JS callback running: defer releasing cb/ctx until it returns */
  /* pollStart's optional clock: a Float64Array whose [0] gets the time (ms, uv_hrtime: the
   * clock process.hrtime() reads) before every callback, so the datapath need not read a
   * clock per wakeup (in JS each reading allocates a heap number). NULL when not given. */
  double *clock;
  napi_ref clock_ref;
};

/* The adaptive spin (see "polling" below). Separate from the state for the same reason as the
 * poller: libuv owns the idle handle until its close callback. */
struct spinner {
  uv_idle_t h;
  struct state *st; /* NULL once the environment is torn down */
  int active;
  uint64_t max_ns;    /* 0: never spin (still one sweep of the other ports after traffic) */
  uint64_t window_ns; /* how long after the last frame this spin keeps polling */
  uint64_t last_ns;   /* when a port last had frames (uv_hrtime) */
  uint64_t spun_ns;   /* time spent spinning, cumulative (pollSpin() reports it) */
  uint64_t backoff_ns;    /* after a preempted spin: no spinning for this long (doubles) */
  uint64_t no_spin_until; /* uv_hrtime */
  uint64_t preempted;     /* spins cut short because the CPU was taken away (pollSpin() reports it) */
  int sched_fd;           /* /proc/self/schedstat, -1 if unavailable */
  uint64_t sched_at, sched_wait; /* last reading: when, and the run-queue wait so far (ns) */
  int contended;          /* the last reading saw us wait for the CPU */
  /* Wake-ahead (see "Latency"): the running spin is a predicted poll, waiting for its frame
   * (AHEAD_WAITING) or polling a short tail after it (AHEAD_CAUGHT); 0: a plain spin or none. */
  int ahead;
  uint64_t ahead_ns; /* time spent in predicted polls, cumulative (not in spun_ns) */
  uint64_t ahead_held; /* predicted polls not made: CPU contended, spinning in backoff, timer too late */
  struct wake_ahead wa;
  struct ahead_timer *timer; /* NULL until wake-ahead is first turned on, or if it failed */
  uint64_t timer_at;         /* what the timerfd is armed for (0: disarmed) */
};

/* The wake-ahead timer: a timerfd watched by libuv (libuv's own timers have millisecond
 * resolution). Separate from the spinner: libuv owns it until its close callback. */
struct ahead_timer {
  uv_poll_t h;
  int fd;
  struct spinner *sp; /* NULL once the environment is torn down */
};

struct state {
  struct port **ports; /* index = handle - 1; NULL once closed */
  size_t n, cap;
  struct spinner *spin; /* created with the first poller */
};

#define POLL_EVENTS (UV_READABLE | UV_DISCONNECT)
/* Consecutive POLLERRs that turned out transient (link down/up) before we report anyway:
 * a guard against a wakeup loop, not a tuned figure. */
#define MAX_TRANSIENT_ERRORS 64

/* ---------------------------------------------------------------- errors */

static const char *errno_name(int err) {
  const char *n = uv_err_name(-err); /* libuv's UV_E* are -errno on Unix */
  return (n && strncmp(n, "Unknown", 7) != 0) ? n : "EUNKNOWN";
}

/* Throw `<what> '<name>': <CODE>: <hint or strerror>` with code/errno/syscall/interface. */
static void throw_sys(napi_env env, const char *what, const char *ifname, const struct tvs_err *e) {
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

static napi_value throw_arg(napi_env env, const char *msg) {
  napi_throw_type_error(env, "ERR_INVALID_ARG_VALUE", msg);
  return NULL;
}

/* ---------------------------------------------------------------- argument helpers */

static struct state *get_state(napi_env env) {
  void *d = NULL;
  napi_get_instance_data(env, &d);
  return d;
}

static struct port *lookup(napi_env env, napi_value v) {
  int32_t h;
  struct state *st = get_state(env);
  if (!st || napi_get_value_int32(env, v, &h) != napi_ok || h < 1 || (size_t)h > st->n) return NULL;
  return st->ports[h - 1];
}

/* Called once per burst for the slot list: napi_get_typedarray_info fails on anything but a typed
 * array, and it only materialises the ArrayBuffer handle and offset when asked for them. */
static int get_u32_array(napi_env env, napi_value v, uint32_t **data, size_t *count) {
  napi_typedarray_type t;
  if (napi_get_typedarray_info(env, v, &t, count, (void **)data, NULL, NULL) != napi_ok) return 0;
  return t == napi_uint32_array;
}

static int get_prop(napi_env env, napi_value obj, const char *key, napi_value *out) {
  bool has = false;
  napi_valuetype t;
  if (napi_has_named_property(env, obj, key, &has) != napi_ok || !has) return 0;
  if (napi_get_named_property(env, obj, key, out) != napi_ok) return 0;
  napi_typeof(env, *out, &t);
  return t != napi_undefined && t != napi_null;
}

/* Optional unsigned option: 1 ok (default when absent), 0 invalid. */
static int get_opt_uint(napi_env env, napi_value obj, const char *key, unsigned dflt, unsigned max, unsigned *out) {
  napi_value v;
  double d;
  *out = dflt;
  if (!get_prop(env, obj, key, &v)) return 1;
  if (napi_get_value_double(env, v, &d) != napi_ok || d < 0 || d > max || d != (double)(unsigned)d) return 0;
  *out = (unsigned)d;
  return 1;
}

static int get_opt_bool(napi_env env, napi_value obj, const char *key, int *out) {
  napi_value v;
  bool b = false;
  *out = 0;
  if (!get_prop(env, obj, key, &v)) return 1;
  if (napi_get_value_bool(env, v, &b) != napi_ok) return 0;
  *out = b;
  return 1;
}

static int get_string(napi_env env, napi_value v, char *buf, size_t cap) {
  size_t n;
  return napi_get_value_string_utf8(env, v, buf, cap, &n) == napi_ok && n < cap - 1;
}

/* Read the ArenaView object into p->arena and take references. 0 and a pending exception on error. */
static int take_arena(napi_env env, napi_value obj, struct port *p) {
  napi_value buf, start, len, v;
  bool is = false;
  void *data;
  size_t size;
  uint32_t slot_size, headroom;
  if (!get_prop(env, obj, "buffer", &buf) || napi_is_arraybuffer(env, buf, &is) != napi_ok || !is) {
    throw_arg(env, "arena.buffer must be an ArrayBuffer");
    return 0;
  }
  napi_get_arraybuffer_info(env, buf, &data, &size);
  if (!get_prop(env, obj, "slotSize", &v) || napi_get_value_uint32(env, v, &slot_size) != napi_ok ||
      !get_prop(env, obj, "headroom", &v) || napi_get_value_uint32(env, v, &headroom) != napi_ok) {
    throw_arg(env, "arena.slotSize and arena.headroom must be numbers");
    return 0;
  }
  /* The vnet header takes the first 10 bytes of a slot; a frame area under 64 bytes is useless. */
  if (headroom < TVS_VNET_HDR_LEN || slot_size < headroom + 64) {
    throw_arg(env, "arena: need headroom >= 10 and slotSize >= headroom + 64");
    return 0;
  }
  if (!get_prop(env, obj, "start", &start) || !get_u32_array(env, start, &p->arena.start, &p->start_count) ||
      !get_prop(env, obj, "len", &len) || !get_u32_array(env, len, &p->arena.len, &p->len_count)) {
    throw_arg(env, "arena.start and arena.len must be Uint32Arrays");
    return 0;
  }
  /* Two slot sizes (optional: without them every slot is slotSize): smallSlots of slotSize,
   * then large slots of largeSlotSize to the end of the buffer. */
  uint32_t small_slots = 0, large_size = slot_size;
  bool has_small = get_prop(env, obj, "smallSlots", &v);
  if (has_small && (napi_get_value_uint32(env, v, &small_slots) != napi_ok || !get_prop(env, obj, "largeSlotSize", &v) ||
                    napi_get_value_uint32(env, v, &large_size) != napi_ok || large_size < slot_size ||
                    (uint64_t)small_slots * slot_size > size)) {
    throw_arg(env, "arena.smallSlots and arena.largeSlotSize must be numbers that fit the buffer");
    return 0;
  }
  size_t cap = has_small ? small_slots + (size - (size_t)small_slots * slot_size) / large_size : size / slot_size;
  if (!has_small) small_slots = (uint32_t)(cap > UINT32_MAX ? UINT32_MAX : cap);
  if (p->start_count < cap) cap = p->start_count;
  if (p->len_count < cap) cap = p->len_count;
  if (cap == 0 || cap > UINT32_MAX) {
    throw_arg(env, "arena: no usable slot (buffer, start or len too small)");
    return 0;
  }
  p->arena.bytes = data;
  p->arena.size = size;
  p->arena.slot_size = slot_size;
  p->arena.large_size = large_size;
  p->arena.small_slots = small_slots;
  p->arena.headroom = headroom;
  p->arena.capacity = (uint32_t)cap;
  napi_create_reference(env, buf, 1, &p->buf_ref);
  napi_create_reference(env, start, 1, &p->start_ref);
  napi_create_reference(env, len, 1, &p->len_ref);
  return 1;
}

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

static napi_value int_result(napi_env env, int r) {
  napi_value v;
  napi_create_int32(env, r, &v);
  return v;
}

static napi_value undefined(napi_env env) {
  napi_value v;
  napi_get_undefined(env, &v);
  return v;
}

/* ---------------------------------------------------------------- handle table */

static struct port *new_port(napi_env env, const struct port_ops *ops) {
  struct state *st = get_state(env);
  struct port *p = calloc(1, sizeof *p);
  if (!p) return NULL;
  if (st->n == st->cap) {
    size_t cap = st->cap ? st->cap * 2 : 16;
    struct port **np = realloc(st->ports, cap * sizeof *np);
    if (!np) { free(p); return NULL; }
    st->ports = np;
    st->cap = cap;
  }
  p->ops = ops;
  p->fd = -1;
  return p;
}

static void register_port(napi_env env, struct port *p) {
  struct state *st = get_state(env);
  st->ports[st->n++] = p;
  p->handle = (int)st->n;
}

static void drop_refs(napi_env env, struct port *p) {
  if (p->buf_ref) napi_delete_reference(env, p->buf_ref);
  if (p->start_ref) napi_delete_reference(env, p->start_ref);
  if (p->len_ref) napi_delete_reference(env, p->len_ref);
  p->buf_ref = p->start_ref = p->len_ref = NULL;
}

/* ---------------------------------------------------------------- polling */

static void poller_free(uv_handle_t *h) { free(h->data); }

static void poller_release_js(struct poller *pl) {
  if (pl->cb) napi_delete_reference(pl->env, pl->cb);
  if (pl->ctx) napi_async_destroy(pl->env, pl->ctx);
  if (pl->clock_ref) napi_delete_reference(pl->env, pl->clock_ref);
  pl->cb = NULL;
  pl->ctx = NULL;
  pl->clock_ref = NULL;
  pl->clock = NULL;
}

/* pollStart's optional third argument: a Float64Array of at least one element (its data stays
 * put: the slot's ArrayBuffer is off-heap and the datapath never transfers it). Replaces any
 * clock the poller had. 0, or -1 when `v` is not one (nothing changed). */
static int poller_set_clock(napi_env env, struct poller *pl, napi_value v) {
  bool is_ta = false;
  napi_typedarray_type type;
  size_t length;
  void *data;
  if (napi_is_typedarray(env, v, &is_ta) != napi_ok || !is_ta) return -1;
  if (napi_get_typedarray_info(env, v, &type, &length, &data, NULL, NULL) != napi_ok) return -1;
  if (type != napi_float64_array || length < 1 || data == NULL) return -1;
  if (pl->clock_ref) napi_delete_reference(env, pl->clock_ref);
  napi_create_reference(env, v, 1, &pl->clock_ref);
  pl->clock = data;
  return 0;
}

static void stop_polling(struct port *p) {
  struct poller *pl = p->poller;
  if (!pl) return;
  p->poller = NULL;
  pl->port = NULL;
  uv_poll_stop(&pl->h); /* after this the fd may be closed (uv docs) */
  uv_close((uv_handle_t *)&pl->h, poller_free);
  if (!pl->in_cb) poller_release_js(pl); /* else on_poll does it once the JS callback returns */
}


static void dispatch(struct poller *pl, int status, int events);
static void after_traffic(napi_env env, uint64_t woke);

/*
 * When the frame that woke us arrived, on uv_hrtime's clock: the ring's kernel timestamp when the
 * port has one (a wakeup comes tens of us after the frame, and by a varying amount; measured from
 * the wakeup, the phase of wake-ahead's timer would be late by as much, and a timer that fires
 * just after each frame catches none), else now.
 */
static uint64_t arrival_time(struct port *p) {
  uint64_t now = uv_hrtime();
  uint64_t stamp = p->ops->rx_stamp ? p->ops->rx_stamp(p->impl) : 0;
  if (stamp == 0) return now;
  struct timespec rt;
  if (clock_gettime(CLOCK_REALTIME, &rt) != 0) return now;
  uint64_t real = (uint64_t)rt.tv_sec * 1000000000ull + (uint64_t)rt.tv_nsec;
  /* Only a plausible age: a clock step or a stale stamp must not move the phase. */
  if (stamp > real || real - stamp > 10000000ull) return now;
  return now - (real - stamp);
}

static void on_poll(uv_poll_t *h, int status, int events) {
  struct poller *pl = h->data;
  struct port *p = pl->port;
  if (!p) return;
  if (status < 0) {
    /* libuv turns POLLERR into UV_EBADF and stops the watcher. Ask the port what it really
     * was: a link that went down (and will come back) is not worth waking JS for. */
    int real = p->ops->check_error(p->impl);
    if (real == 0 && ++p->transient_errors < MAX_TRANSIENT_ERRORS) {
      uv_poll_start(h, POLL_EVENTS, on_poll);
      return;
    }
    status = real < 0 ? real : status;
  } else {
    p->transient_errors = 0;
  }
  napi_env env = pl->env;
  /* Wake-ahead learns only from ports its poll can see (a ring), see port_ready. */
  uint64_t woke = p->ops->rx_ready != NULL ? arrival_time(p) : 0;
  dispatch(pl, status, events);
  if (status >= 0) after_traffic(env, woke);
}

/* Run the port's JS callback (the datapath drains the port, processes and transmits). */
static void dispatch(struct poller *pl, int status, int events) {
  napi_env env = pl->env;
  napi_handle_scope scope;
  napi_value cb, recv, argv[2];
  napi_open_handle_scope(env, &scope);
  if (napi_get_reference_value(env, pl->cb, &cb) == napi_ok && cb) {
    napi_get_global(env, &recv); /* make_callback needs an object receiver (ToObject(undefined) throws) */
    napi_create_int32(env, status, &argv[0]);
    napi_create_int32(env, events, &argv[1]);
    if (pl->clock) *pl->clock = (double)uv_hrtime() / 1e6;
    pl->in_cb = 1;
    /* make_callback (not call_function): runs the microtask queue afterwards and keeps
     * async_hooks / AsyncLocalStorage context, like any other I/O callback. */
    napi_status s = napi_make_callback(env, pl->ctx, recv, cb, 2, argv, NULL);
    pl->in_cb = 0;
    if (s == napi_pending_exception) {
      napi_value exc;
      napi_get_and_clear_last_exception(env, &exc);
      napi_fatal_exception(env, exc); /* -> process 'uncaughtException', as for a throwing I/O callback */
    }
  }
  napi_close_handle_scope(env, scope);
  /* The callback may have stopped polling or closed the port: `p` may be freed now. */
  if (!pl->port) poller_release_js(pl);
}

/*
 * Latency: what a frame waits for between its arrival and the switch reading it.
 *
 * Woken by epoll, the switch drains one port and transmits. What it sent often comes straight
 * back: a veth peer's stack answers inside our sendmmsg (an echo reply, a TCP ACK), so the
 * answer is already in another port's ring when the callback returns. Going back to libuv for it
 * costs a loop turn and an epoll_wait (measured ~10 us from ring to read); instead we sweep
 * every AF_PACKET port right away (a ring check is a load of its status word, no syscall) and
 * run the callbacks of those with frames, repeating while a sweep found any.
 *
 * Then, with a spin budget set (pollSpin, default 0), we keep sweeping from a libuv idle handle for a
 * window after the last frame instead of sleeping: a frame that arrives while we spin is read
 * within a microsecond or two, where waking a sleeping process costs ~10-20 us (more on a busy
 * or virtual CPU). The window adapts to the traffic: when a frame wakes us from sleep, the gap
 * since the previous one predicts the next, so the window becomes twice that gap, capped at the
 * budget (regular traffic at any rate under the cap keeps us spinning); a gap longer than the
 * budget gives a short window (SPIN_MIN_NS, for the answer to a request that went out through
 * another switch or a VM). A window that passes with no frame ends the spin: the process sleeps
 * in epoll_wait again, so an idle switch uses no CPU. The idle handle returns to libuv every
 * SPIN_SLICE_NS so timers and the control socket are served while we spin.
 *
 * Spinning only pays on a CPU of our own. On a shared, busy one the scheduler takes the CPU
 * away from a spinning process at the end of its slice, and a frame then waits for the next one
 * (measured: p99 of 6-245 ms at load 15 on 2 cores, where sleeping gave 2-3 ms): a task that
 * slept is woken ahead of the others, a task that spun is not. So an empty sweep that took
 * longer than SPIN_PREEMPT_NS (we were descheduled in it: a slice is >= 0.75 ms, while
 * interrupts and softirqs on our CPU take tens of us and are no reason to stop) ends the spin,
 * and spinning stays off
 * for a backoff that doubles while it keeps happening (SPIN_BACKOFF_MIN_NS..SPIN_BACKOFF_MAX_NS)
 * and halves after a window that ran undisturbed. And since the time a spinner took beyond its
 * share is paid back later (the scheduler delays its wakeups: max 300 ms at load 15), a spin
 * does not even start while the process has recently waited for the CPU: more than 1/20 of the
 * time since the last look (the wakeup latency of a sleeping switch alone stays near 1-2%) (at most every SCHED_CHECK_NS) in the run queue, per
 * /proc/self/schedstat. A switch on a CPU of its own never waits there.
 *
 * Wake-ahead (pollWakeAhead, on by default): spinning through the gaps of periodic traffic (a
 * ping every 2 ms, a heartbeat, a media stream) costs a core, yet sleeping makes every frame pay
 * the wakeup of an idle CPU (~20-30 us on this kind of VM, most of a lone frame's time through
 * the switch). When frames come at a regular period (wakeahead.c: 0.5-100 ms, 3 gaps in a row
 * within 1/16), a timerfd wakes us a lead before the next expected frame, and a predicted poll
 * (the spin above, from the same idle handle) waits for it and stops a few us after it came, or
 * shortly after the expected time without it: the timer's wakeup is paid while nothing waits.
 * The lead is how late our timer has lately been plus how far arrivals stray from the period
 * plus a margin, capped at the budget; the poll takes at most 1/8 of the period (a few % of a
 * core at 2 ms). Only a frame arms the timer, so traffic that stops costs one poll that misses,
 * and an idle switch sleeps. The same contention guards as the spin apply.
 */
#define SPIN_MIN_NS 50000ull
#define SPIN_SLICE_NS 200000ull
#define SPIN_PREEMPT_NS 200000ull
#define SPIN_BACKOFF_MIN_NS 10000000ull
#define SPIN_BACKOFF_MAX_NS 1000000000ull
#define SCHED_CHECK_NS 10000000ull
/* Sweeps after one wakeup while ports keep having frames (each runs every ready callback). */
#define MAX_SWEEPS 16
/* A predicted poll that saw its frame keeps polling this long after the last frame (the reply
 * to what we sent usually comes back inside the send, so little is needed). */
#define AHEAD_TAIL_NS 10000ull
#define AHEAD_WAITING 1
#define AHEAD_CAUGHT 2

/* Only ports that can answer without a syscall (an rx ring) are swept: a poll() per TAP per
 * sweep would cost more than it saves with many ports. The others wait for libuv, as before. */
static int port_ready(struct port *p) {
  return p->ops->rx_ready != NULL && p->ops->rx_ready(p->impl);
}

/* One pass over the polled ports: run the callback of each with frames waiting. */
static int sweep(struct state *st) {
  int ran = 0;
  /* By index, re-read every time: a callback may close ports or open new ones (realloc). */
  for (size_t i = 0; i < st->n; i++) {
    struct port *p = st->ports[i];
    if (!p || !p->poller || p->poller->in_cb || !port_ready(p)) continue;
    dispatch(p->poller, 0, UV_READABLE);
    ran++;
  }
  return ran;
}

static void ahead_sync(struct spinner *sp, uint64_t at);
static void ahead_arm(struct spinner *sp, uint64_t at, uint64_t now);

/* The spin stops: a predicted poll still waiting missed its frame (wake-ahead, see above). */
static void spin_stop(struct spinner *sp) {
  if (sp->ahead == AHEAD_WAITING) wa_end(&sp->wa, 0);
  sp->ahead = 0;
  uv_idle_stop(&sp->h);
  sp->active = 0;
}

static void on_spin(uv_idle_t *h) {
  struct spinner *sp = h->data;
  struct state *st = sp->st;
  if (!st) return;
  uint64_t start = uv_hrtime(), now = start;
  uint64_t *spent = sp->ahead ? &sp->ahead_ns : &sp->spun_ns;
  for (;;) {
    uint64_t before = now;
    int ran = sweep(st);
    now = uv_hrtime();
    if (ran > 0) {
      sp->last_ns = now;
      if (sp->timer) ahead_arm(sp, wa_frame(&sp->wa, before), now);
      if (sp->ahead == AHEAD_WAITING) {
        /* The predicted frame came: poll a short tail for what follows it, then sleep. */
        wa_end(&sp->wa, 1);
        sp->ahead = AHEAD_CAUGHT;
        if (sp->window_ns > AHEAD_TAIL_NS) sp->window_ns = AHEAD_TAIL_NS;
      }
    } else if (now - before > SPIN_PREEMPT_NS) {
      /* An empty sweep is well under a microsecond: this one lost the CPU. */
      sp->preempted++;
      sp->backoff_ns = sp->backoff_ns ? sp->backoff_ns * 2 : SPIN_BACKOFF_MIN_NS;
      if (sp->backoff_ns > SPIN_BACKOFF_MAX_NS) sp->backoff_ns = SPIN_BACKOFF_MAX_NS;
      sp->no_spin_until = now + sp->backoff_ns;
      spin_stop(sp);
      break;
    } else if (now - sp->last_ns > sp->window_ns) {
      sp->backoff_ns /= 2; /* a whole window on the CPU: spinning works here */
      if (sp->backoff_ns < SPIN_BACKOFF_MIN_NS) sp->backoff_ns = 0;
      spin_stop(sp);
      break;
    }
    if (now - start > SPIN_SLICE_NS) break;
  }
  *spent += now - start;
}

/* Has this process waited for the CPU lately (see above)? Re-read at most every SCHED_CHECK_NS. */
static int cpu_contended(struct spinner *sp, uint64_t now) {
  if (sp->sched_fd < 0 || now - sp->sched_at < SCHED_CHECK_NS) return sp->contended;
  char buf[96];
  ssize_t n = pread(sp->sched_fd, buf, sizeof buf - 1, 0);
  if (n <= 0) return sp->contended;
  buf[n] = '\0';
  unsigned long long run, wait;
  if (sscanf(buf, "%llu %llu", &run, &wait) != 2) return sp->contended;
  if (sp->sched_at != 0) sp->contended = (wait - sp->sched_wait) * 20 > now - sp->sched_at;
  sp->sched_at = now;
  sp->sched_wait = wait;
  return sp->contended;
}

/* After a port's callback ran (woken at `woke` by a ring port, else 0): sweep the others, then
 * maybe spin (see above). */
static void after_traffic(napi_env env, uint64_t woke) {
  struct state *st = get_state(env);
  if (!st) return;
  for (int k = 0; k < MAX_SWEEPS && sweep(st) > 0; k++) {}
  struct spinner *sp = st->spin;
  if (!sp) return;
  /* Off the frame's path: what we read has been sent on by now. */
  uint64_t now = uv_hrtime();
  if (sp->timer && woke != 0) ahead_arm(sp, wa_frame(&sp->wa, woke), now);
  if (sp->max_ns == 0) return;
  if (!sp->active && now >= sp->no_spin_until && !cpu_contended(sp, now)) {
    /* Woken from sleep: the gap since the last frame predicts the next one. */
    uint64_t gap = now - sp->last_ns;
    uint64_t w = gap <= sp->max_ns ? 2 * gap : SPIN_MIN_NS;
    sp->window_ns = w < sp->max_ns ? w : sp->max_ns;
    sp->active = 1;
    uv_idle_start(&sp->h, on_spin);
  }
  sp->last_ns = now;
}

/* Arm the wake-ahead timer for `at` (monotonic ns, uv_hrtime's clock), or disarm it (0). */
static void ahead_sync(struct spinner *sp, uint64_t at) {
  if (at == sp->timer_at) return;
  struct itimerspec its = {{0, 0}, {(time_t)(at / 1000000000ull), (long)(at % 1000000000ull)}};
  if (timerfd_settime(sp->timer->fd, TFD_TIMER_ABSTIME, &its, NULL) == 0) sp->timer_at = at;
}

/* Arm the wake-ahead timer for `at` (0: disarm), unless the CPU is contended or spinning is in
 * backoff: a task woken by a timer on a busy CPU spends the lag that lets its next wakeup (the
 * frame's) preempt the task that runs there. */
static void ahead_arm(struct spinner *sp, uint64_t at, uint64_t now) {
  if (at != 0 && (now < sp->no_spin_until || cpu_contended(sp, now))) {
    at = 0;
    sp->ahead_held++;
    sp->wa.target_ns = 0; /* no timer: nothing to learn lateness from */
  }
  ahead_sync(sp, at);
}

/* The wake-ahead timer fired: start a predicted poll unless something else is polling already. */
static void on_ahead_timer(uv_poll_t *h, int status, int events) {
  struct ahead_timer *t = h->data;
  uint64_t n;
  struct spinner *sp = t->sp;
  if (!sp || !sp->st || status < 0) return;
  /* Nothing expired: a frame in the same epoll batch, handled first, re-armed the timer for the
   * next period after this readiness was collected. Not a wakeup of ours: taken as one, its
   * target (the next period's, still ahead) made it "later than the whole budget" and started a
   * backoff that doubled each time this race recurred (10 ms .. 1 s of no wake-ahead). */
  if (read(t->fd, &n, sizeof n) < 0) return;
  sp->timer_at = 0;
  uint64_t now = uv_hrtime();
  uint64_t target = sp->wa.target_ns;
  uint64_t until = wa_timer(&sp->wa, now);
  if (target != 0 && now > target && now - target > sp->wa.max_lead_ns) {
    /* Later than the whole budget: the CPU was busy with something else. Back off as a spin
     * that lost the CPU does. */
    sp->preempted++;
    sp->backoff_ns = sp->backoff_ns ? sp->backoff_ns * 2 : SPIN_BACKOFF_MIN_NS;
    if (sp->backoff_ns > SPIN_BACKOFF_MAX_NS) sp->backoff_ns = SPIN_BACKOFF_MAX_NS;
    sp->no_spin_until = now + sp->backoff_ns;
    sp->ahead_held++;
    return;
  }
  if (sp->active) return;
  if (now < sp->no_spin_until || cpu_contended(sp, now)) {
    sp->ahead_held++;
    return;
  }
  sp->ahead = AHEAD_WAITING;
  sp->active = 1;
  sp->last_ns = now;
  sp->window_ns = until - now;
  uv_idle_start(&sp->h, on_spin);
}

static void ahead_timer_free(uv_handle_t *h) {
  struct ahead_timer *t = h->data;
  close(t->fd);
  free(t);
}

/* Wake-ahead's timer, made when first turned on. 0, or -errno. */
static int ahead_timer_open(napi_env env, struct spinner *sp) {
  if (sp->timer) return 0;
  uv_loop_t *loop;
  if (napi_get_uv_event_loop(env, &loop) != napi_ok) return -EINVAL;
  struct ahead_timer *t = calloc(1, sizeof *t);
  if (!t) return -ENOMEM;
  t->fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
  if (t->fd < 0) { int e = errno; free(t); return -e; }
  int r = uv_poll_init(loop, &t->h, t->fd);
  if (r < 0) { close(t->fd); free(t); return r; }
  t->h.data = t;
  t->sp = sp;
  r = uv_poll_start(&t->h, UV_READABLE, on_ahead_timer);
  if (r < 0) { uv_close((uv_handle_t *)&t->h, ahead_timer_free); return r; }
  uv_unref((uv_handle_t *)&t->h); /* a timer alone must not keep the process alive */
  sp->timer = t;
  return 0;
}

static void ahead_timer_close(struct spinner *sp) {
  struct ahead_timer *t = sp->timer;
  if (!t) return;
  sp->timer = NULL;
  t->sp = NULL;
  uv_poll_stop(&t->h);
  uv_close((uv_handle_t *)&t->h, ahead_timer_free);
}

static void spinner_free(uv_handle_t *h) {
  struct spinner *sp = h->data;
  if (sp->sched_fd >= 0) close(sp->sched_fd);
  free(sp);
}

static struct spinner *get_spinner(napi_env env, struct state *st) {
  if (st->spin) return st->spin;
  uv_loop_t *loop;
  if (napi_get_uv_event_loop(env, &loop) != napi_ok) return NULL;
  struct spinner *sp = calloc(1, sizeof *sp);
  if (!sp) return NULL;
  if (uv_idle_init(loop, &sp->h) < 0) { free(sp); return NULL; }
  sp->h.data = sp;
  sp->st = st;
  sp->sched_fd = open("/proc/self/schedstat", O_RDONLY | O_CLOEXEC);
  /* An idle handle must not keep the process alive by itself. */
  uv_unref((uv_handle_t *)&sp->h);
  st->spin = sp;
  return sp;
}

/* ---------------------------------------------------------------- close */

static void close_port(napi_env env, struct state *st, struct port *p) {
  stop_polling(p);
  p->ops->close(p->impl); /* AF_PACKET: unmaps the ring; both: close the fd */
  drop_refs(env, p);
  st->ports[p->handle - 1] = NULL;
  free(p);
}

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

/* ---------------------------------------------------------------- port kinds */

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

static const struct port_ops AFP_OPS = {
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

static const struct port_ops TAP_OPS = {
    "TAP port", tap_op_name, tap_op_rx, tap_op_tx, tap_op_check_error, tap_op_info, NULL, tap_op_stats, tap_op_close, NULL, NULL,
};

static const char *ul_op_name(void *i) { return ul_name(i); }
static int ul_op_rx(void *i, const struct tvs_arena *a, uint32_t *s, int n, int l) { return ul_rx_burst(i, a, s, n, l); }
static int ul_op_tx(void *i, const struct tvs_arena *a, const uint32_t *s, int n) { return ul_tx_burst(i, a, s, n); }
static int ul_op_check_error(void *i) { return ul_check_error(i); }
static int ul_op_info(void *i, struct nd_info *out, struct tvs_err *e) { return ul_info(i, out, e); }
static void ul_op_stats(void *i, struct tvs_stats *out) { ul_stats(i, out); }
static void ul_op_close(void *i) { ul_close(i); }

static const struct port_ops UL_OPS = {
    "tunnel underlay", ul_op_name, ul_op_rx, ul_op_tx, ul_op_check_error, ul_op_info, NULL, ul_op_stats, ul_op_close, NULL, NULL,
};

static const char *scratch_op_name(void *i) { return scratch_name(i); }
static int scratch_op_rx(void *i, const struct tvs_arena *a, uint32_t *s, int n, int l) { return scratch_rx_burst(i, a, s, n, l); }
static int scratch_op_tx(void *i, const struct tvs_arena *a, const uint32_t *s, int n) { return scratch_tx_burst(i, a, s, n); }
static int scratch_op_check_error(void *i) { return 0; }
static int scratch_op_info(void *i, struct nd_info *out, struct tvs_err *e) { return scratch_info(i, out, e); }
static void scratch_op_stats(void *i, struct tvs_stats *out) { scratch_stats(i, out); }
static void scratch_op_close(void *i) { scratch_close(i); }

static const struct port_ops SCRATCH_OPS = {
    "scratch port", scratch_op_name, scratch_op_rx, scratch_op_tx, scratch_op_check_error, scratch_op_info, NULL, scratch_op_stats, scratch_op_close, NULL, NULL,
};

/* ---------------------------------------------------------------- exported functions */

static napi_value js_open_afpacket(napi_env env, napi_callback_info info) {
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
static napi_value js_open_scratch(napi_env env, napi_callback_info info) {
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
static napi_value js_scratch_inject(napi_env env, napi_callback_info info) {
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

static napi_value js_open_tap(napi_env env, napi_callback_info info) {
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

/* "a.b.c.d" -> network-order address; 0 on a bad string ("" is 0.0.0.0, also 1). */
static int get_ipv4(napi_env env, napi_value v, uint32_t *out) {
  char buf[32];
  struct in_addr a;
  if (!get_string(env, v, buf, sizeof buf)) return 0;
  if (buf[0] == '\0') { *out = 0; return 1; }
  if (inet_pton(AF_INET, buf, &a) != 1) return 0;
  *out = a.s_addr;
  return 1;
}

static napi_value js_open_underlay(napi_env env, napi_callback_info info) {
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

static napi_value js_route_mtu(napi_env env, napi_callback_info info) {
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

/* Common burst argument parsing: (handle, slots: Uint32Array, n[, large]). Returns 0 or -errno.
 * rx only: `large` more slots follow the first n in `slots` (see afp_rx_burst). */
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

static napi_value js_rx_burst(napi_env env, napi_callback_info info) {
  struct port *p;
  uint32_t *slots;
  int n, large, r = burst_args(env, info, &p, &slots, &n, &large);
  if (r < 0) return int_result(env, r);
  r = p->ops->rx_burst(p->impl, &p->arena, slots, n, large);
  return int_result(env, r);
}

static napi_value js_tx_burst(napi_env env, napi_callback_info info) {
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

static napi_value js_poll_start(napi_env env, napi_callback_info info) {
  size_t argc = 3;
  napi_value argv[3], name;
  napi_valuetype t;
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  struct port *p = argc >= 1 ? lookup(env, argv[0]) : NULL;
  if (!p) return throw_arg(env, "pollStart: no such port handle (closed?)");
  if (argc < 2 || napi_typeof(env, argv[1], &t) != napi_ok || t != napi_function) return throw_arg(env, "pollStart: cb must be a function");
  int want_clock = argc >= 3 && napi_typeof(env, argv[2], &t) == napi_ok && t != napi_undefined;
  if (want_clock) {
    bool ok = false;
    size_t len = 0;
    napi_typedarray_type type;
    if (napi_is_typedarray(env, argv[2], &ok) != napi_ok || !ok ||
        napi_get_typedarray_info(env, argv[2], &type, &len, NULL, NULL, NULL) != napi_ok || type != napi_float64_array || len < 1)
      return throw_arg(env, "pollStart: clock must be a Float64Array of at least one element");
  }
  /* A port with no fd (a scratch port) has nothing to watch: whoever feeds it drains it. */
  if (p->fd < 0) return undefined(env);
  if (p->poller) {
    /* Already watching: just swap the callback (and the clock, when one is given). */
    napi_delete_reference(env, p->poller->cb);
    napi_create_reference(env, argv[1], 1, &p->poller->cb);
    if (want_clock) poller_set_clock(env, p->poller, argv[2]);
    return undefined(env);
  }
  uv_loop_t *loop;
  if (napi_get_uv_event_loop(env, &loop) != napi_ok) { napi_throw_error(env, "EINVAL", "no event loop"); return NULL; }
  struct poller *pl = calloc(1, sizeof *pl);
  if (!pl) { napi_throw_error(env, "ENOMEM", "out of memory"); return NULL; }
  int r = uv_poll_init(loop, &pl->h, p->fd);
  if (r < 0) {
    struct tvs_err e = {-r, "uv_poll_init", NULL};
    free(pl);
    throw_sys(env, "port", p->ops->name(p->impl), &e);
    return NULL;
  }
  pl->h.data = pl;
  pl->env = env;
  pl->port = p;
  get_spinner(env, get_state(env));
  napi_create_string_utf8(env, "tvs:port-poll", NAPI_AUTO_LENGTH, &name);
  napi_async_init(env, NULL, name, &pl->ctx);
  napi_create_reference(env, argv[1], 1, &pl->cb);
  if (want_clock) poller_set_clock(env, pl, argv[2]);
  p->poller = pl;
  p->transient_errors = 0;
  r = uv_poll_start(&pl->h, POLL_EVENTS, on_poll);
  if (r < 0) {
    struct tvs_err e = {-r, "uv_poll_start", NULL};
    stop_polling(p);
    throw_sys(env, "port", p->ops->name(p->impl), &e);
    return NULL;
  }
  return undefined(env);
}

/* pollSpin(us?): set the spin budget in microseconds (0: sleep as soon as the ports are empty);
 * returns { spinUs, spunMs, preempted } (time spent spinning so far; spins ended because the
 * CPU was taken away). */
static napi_value js_poll_spin(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1], o, v;
  napi_valuetype t = napi_undefined;
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  struct state *st = get_state(env);
  struct spinner *sp = get_spinner(env, st);
  if (!sp) { napi_throw_error(env, "ENOMEM", "pollSpin: no idle handle"); return NULL; }
  if (argc >= 1) napi_typeof(env, argv[0], &t);
  if (t != napi_undefined) {
    double us;
    if (napi_get_value_double(env, argv[0], &us) != napi_ok || !(us >= 0 && us <= 1e6))
      return throw_arg(env, "pollSpin(us): us must be a number of microseconds in 0..1000000");
    sp->max_ns = (uint64_t)(us * 1000.0);
  }
  napi_create_object(env, &o);
  napi_create_double(env, (double)sp->max_ns / 1000.0, &v);
  napi_set_named_property(env, o, "spinUs", v);
  napi_create_double(env, (double)sp->spun_ns / 1e6, &v);
  napi_set_named_property(env, o, "spunMs", v);
  napi_create_double(env, (double)sp->preempted, &v);
  napi_set_named_property(env, o, "preempted", v);
  return o;
}

static napi_value js_poll_wake_ahead(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1], o, v;
  napi_valuetype t = napi_undefined;
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  struct spinner *sp = get_spinner(env, get_state(env));
  if (!sp) { napi_throw_error(env, "ENOMEM", "pollWakeAhead: no idle handle"); return NULL; }
  if (argc >= 1) napi_typeof(env, argv[0], &t);
  if (t != napi_undefined) {
    double us;
    if (napi_get_value_double(env, argv[0], &us) != napi_ok || !(us >= 0 && us <= 1e6))
      return throw_arg(env, "pollWakeAhead(us): us must be a number of microseconds in 0..1000000");
    if (us > 0) {
      int r = ahead_timer_open(env, sp);
      if (r < 0) {
        struct tvs_err e = {-r, "timerfd_create", NULL};
        throw_sys(env, "wake-ahead", "timerfd", &e);
        return NULL;
      }
    } else if (sp->timer) {
      ahead_sync(sp, 0);
      sp->wa.target_ns = 0;
    }
    sp->wa.max_lead_ns = (uint64_t)(us * 1000.0);
    sp->wa.hits = 0;
  }
  napi_create_object(env, &o);
  napi_create_double(env, (double)sp->wa.max_lead_ns / 1000.0, &v);
  napi_set_named_property(env, o, "wakeAheadUs", v);
  napi_create_double(env, (double)sp->wa.caught, &v);
  napi_set_named_property(env, o, "caught", v);
  napi_create_double(env, (double)sp->wa.missed, &v);
  napi_set_named_property(env, o, "missed", v);
  napi_create_double(env, (double)sp->wa.period_ns / 1000.0, &v);
  napi_set_named_property(env, o, "periodUs", v);
  napi_create_double(env, sp->wa.max_lead_ns ? (double)wa_lead(&sp->wa) / 1000.0 : 0, &v);
  napi_set_named_property(env, o, "leadUs", v);
  napi_create_double(env, (double)sp->ahead_ns / 1e6, &v);
  napi_set_named_property(env, o, "polledMs", v);
  napi_create_double(env, (double)sp->ahead_held, &v);
  napi_set_named_property(env, o, "held", v);
  napi_create_double(env, (double)sp->preempted, &v);
  napi_set_named_property(env, o, "preempted", v);
  return o;
}

/*
 * wakeAheadReplay(maxLeadUs, frameUs, lateUs): the wake-ahead learner (wakeahead.c) replayed
 * without a network, for tests. A fresh learner sees a frame at each frameUs[i] (a Float64Array,
 * ascending); when that frame set a timer, the timer fires lateUs[i] after its target (our wakeup's
 * lateness) unless the next frame came first, and the predicted poll runs to its end as in the
 * addon. Returns a Uint8Array: [i] for frame i (i >= 1) is 0 no timer was set before it, 1 a timer
 * was set but its poll did not see it (the poll ended first or the timer fired after it), 2 a
 * predicted poll caught it.
 */
static napi_value js_wake_ahead_replay(napi_env env, napi_callback_info info) {
  size_t argc = 3;
  napi_value argv[3];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  const char *usage = "wakeAheadReplay(maxLeadUs, frameUs, lateUs): a budget in 0..1000000 us and two Float64Arrays of one length, times >= 0 and frames ascending";
  double lead_us;
  if (argc < 3 || napi_get_value_double(env, argv[0], &lead_us) != napi_ok || !(lead_us >= 0 && lead_us <= 1e6)) return throw_arg(env, usage);
  double *frames, *late;
  size_t n, n2;
  napi_typedarray_type ty;
  bool is;
  if (napi_is_typedarray(env, argv[1], &is) != napi_ok || !is || napi_get_typedarray_info(env, argv[1], &ty, &n, (void **)&frames, NULL, NULL) != napi_ok || ty != napi_float64_array) return throw_arg(env, usage);
  if (napi_is_typedarray(env, argv[2], &is) != napi_ok || !is || napi_get_typedarray_info(env, argv[2], &ty, &n2, (void **)&late, NULL, NULL) != napi_ok || ty != napi_float64_array || n2 != n) return throw_arg(env, usage);
  uint8_t *out;
  napi_value buf, res;
  if (napi_create_arraybuffer(env, n, (void **)&out, &buf) != napi_ok) return NULL;
  napi_create_typedarray(env, napi_uint8_array, n, buf, 0, &res);
  struct wake_ahead w = {0};
  w.max_lead_ns = (uint64_t)(lead_us * 1000.0);
  const uint64_t base = 1000000000ull; /* 0 means "none" to the learner */
  memset(out, 0, n);
  for (size_t i = 0; i < n; i++) {
    if (!(frames[i] >= 0 && frames[i] < 1e12 && late[i] >= 0 && late[i] < 1e12) || (i > 0 && frames[i] < frames[i - 1])) return throw_arg(env, usage);
    uint64_t t = base + (uint64_t)(frames[i] * 1000.0);
    uint64_t target = wa_frame(&w, t);
    if (i + 1 == n || target == 0) continue;
    uint64_t next = base + (uint64_t)(frames[i + 1] * 1000.0);
    uint64_t fired = target + (uint64_t)(late[i] * 1000.0);
    out[i + 1] = 1;
    if (fired >= next) continue; /* the frame woke us first; the timer is re-armed from it */
    uint64_t until = wa_timer(&w, fired);
    int caught = next <= until;
    wa_end(&w, caught);
    if (caught) out[i + 1] = 2;
  }
  return res;
}

/*
 * wakeAheadTimerRace(agoUs): for tests, the race between a frame and the wake-ahead timer in one
 * epoll batch (on_ahead_timer) on the real learner, timerfd and callback. Frames that arrived
 * agoUs[i] us ago (a Float64Array, oldest first, each within a second) take a ring port's path
 * (after_traffic: the learner, then the timer armed or held); then the timer's readiness is
 * delivered to its callback as libuv delivers one collected before the last frame re-armed the
 * timer: nothing to read. Returns { armedUs: how long the timer had still to run at the readiness
 * (0: held, or expired already: this process was late and the readiness was a real one),
 * leadUs: the lead before the readiness, polling: a predicted poll runs after it }. Wake-ahead
 * must be on (pollWakeAhead(us > 0)).
 */
static napi_value js_wake_ahead_timer_race(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1], o, v;
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  const char *usage = "wakeAheadTimerRace(agoUs): a Float64Array of frame ages in 0..1000000 us, oldest first, with wake-ahead on";
  struct state *st = get_state(env);
  struct spinner *sp = st ? st->spin : NULL;
  double *ago;
  size_t n;
  napi_typedarray_type ty;
  bool is;
  if (!sp || !sp->timer || argc < 1 || napi_is_typedarray(env, argv[0], &is) != napi_ok || !is || napi_get_typedarray_info(env, argv[0], &ty, &n, (void **)&ago, NULL, NULL) != napi_ok || ty != napi_float64_array) return throw_arg(env, usage);
  uint64_t now = uv_hrtime();
  for (size_t i = 0; i < n; i++)
    if (!(ago[i] >= 0 && ago[i] <= 1e6) || (i > 0 && ago[i] > ago[i - 1]) || (uint64_t)(ago[i] * 1000.0) >= now) return throw_arg(env, usage);
  for (size_t i = 0; i < n; i++) ahead_arm(sp, wa_frame(&sp->wa, now - (uint64_t)(ago[i] * 1000.0)), uv_hrtime());
  /* How long the timer has still to run now (0: held, or expired already: a late process). */
  struct itimerspec left;
  uint64_t armed = 0;
  if (sp->timer_at != 0 && timerfd_gettime(sp->timer->fd, &left) == 0) armed = (uint64_t)left.it_value.tv_sec * 1000000000ull + (uint64_t)left.it_value.tv_nsec;
  uint64_t lead = wa_lead(&sp->wa);
  on_ahead_timer(&sp->timer->h, 0, UV_READABLE);
  napi_create_object(env, &o);
  napi_create_double(env, (double)armed / 1000.0, &v);
  napi_set_named_property(env, o, "armedUs", v);
  napi_create_double(env, (double)lead / 1000.0, &v);
  napi_set_named_property(env, o, "leadUs", v);
  napi_get_boolean(env, sp->ahead == AHEAD_WAITING, &v);
  napi_set_named_property(env, o, "polling", v);
  return o;
}

static napi_value js_poll_stop(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  struct port *p = argc >= 1 ? lookup(env, argv[0]) : NULL;
  if (p) stop_polling(p); /* idempotent: unknown or closed handles are fine */
  return undefined(env);
}

static napi_value js_close(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  struct port *p = argc >= 1 ? lookup(env, argv[0]) : NULL;
  if (p) close_port(env, get_state(env), p);
  return undefined(env);
}

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

static napi_value js_info(napi_env env, napi_callback_info info) {
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

static napi_value js_stats(napi_env env, napi_callback_info info) {
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
static napi_value js_stats_into(napi_env env, napi_callback_info info) {
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

static napi_value js_if_info(napi_env env, napi_callback_info info) {
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

/* trimMemory(): memory start-up and configuration touched once back to the kernel (memtrim.c). */
static napi_value js_trim_memory(napi_env env, napi_callback_info info) {
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
static napi_value js_set_thread_idle(napi_env env, napi_callback_info info) {
  return thread_policy_call(env, info, "setThreadIdle(tid): tid must be a positive thread id", ts_set_idle);
}

/* setThreadNormal(tid): put one of this process's threads back in SCHED_OTHER; 0 or -errno. */
static napi_value js_set_thread_normal(napi_env env, napi_callback_info info) {
  return thread_policy_call(env, info, "setThreadNormal(tid): tid must be a positive thread id", ts_set_normal);
}

/* setThreadSlice(tid, ns): that thread's scheduler slice (0: the kernel's default); 0 or -errno. */
static napi_value js_set_thread_slice(napi_env env, napi_callback_info info) {
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
static napi_value js_get_thread_slice(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  int32_t tid;
  napi_value v;
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  if (argc < 1 || napi_get_value_int32(env, argv[0], &tid) != napi_ok || tid <= 0) return throw_arg(env, "getThreadSlice(tid): tid must be a positive thread id");
  napi_create_int64(env, ts_get_slice(tid), &v);
  return v;
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
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)
