/*
 * After a wakeup: sweep the ring ports, spin for a while, and arm wake-ahead's timer (the
 * "Latency" comment below says why each). The timer's handle and its firing are ahead_timer.c's.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include <sys/timerfd.h>
#include <time.h>

#include <node_api.h>
#include <uv.h>

#include "poller.h"
#include "port_table.h"
#include "spinner.h"
#include "wakeahead.h"

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
/* SPIN_BACKOFF_MIN_NS, SPIN_BACKOFF_MAX_NS and AHEAD_WAITING: spinner.h (ahead_timer.c uses them). */
#define SCHED_CHECK_NS 10000000ull
/* Sweeps after one wakeup while ports keep having frames (each runs every ready callback). */
#define MAX_SWEEPS 16
/* A predicted poll that saw its frame keeps polling this long after the last frame (the reply
 * to what we sent usually comes back inside the send, so little is needed). */
#define AHEAD_TAIL_NS 10000ull
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


/* The spin stops: a predicted poll still waiting missed its frame (wake-ahead, see above). */
static void spin_stop(struct spinner *sp) {
  if (sp->ahead == AHEAD_WAITING) wa_end(&sp->wa, 0);
  sp->ahead = 0;
  uv_idle_stop(&sp->h);
  sp->active = 0;
}

void on_spin(uv_idle_t *h) {
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
int cpu_contended(struct spinner *sp, uint64_t now) {
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
void after_traffic(napi_env env, uint64_t woke) {
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
void ahead_sync(struct spinner *sp, uint64_t at) {
  if (at == sp->timer_at) return;
  struct itimerspec its = {{0, 0}, {(time_t)(at / 1000000000ull), (long)(at % 1000000000ull)}};
  if (timerfd_settime(sp->timer->fd, TFD_TIMER_ABSTIME, &its, NULL) == 0) sp->timer_at = at;
}

/* Arm the wake-ahead timer for `at` (0: disarm), unless the CPU is contended or spinning is in
 * backoff: a task woken by a timer on a busy CPU spends the lag that lets its next wakeup (the
 * frame's) preempt the task that runs there. */
void ahead_arm(struct spinner *sp, uint64_t at, uint64_t now) {
  if (at != 0 && (now < sp->no_spin_until || cpu_contended(sp, now))) {
    at = 0;
    sp->ahead_held++;
    sp->wa.target_ns = 0; /* no timer: nothing to learn lateness from */
  }
  ahead_sync(sp, at);
}

void spinner_free(uv_handle_t *h) {
  struct spinner *sp = h->data;
  if (sp->sched_fd >= 0) close(sp->sched_fd);
  free(sp);
}

struct spinner *get_spinner(napi_env env, struct state *st) {
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
