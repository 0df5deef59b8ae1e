/*
 * SCHED_IDLE for the switch's helper threads (src/cli/helper-threads.ts says why).
 *
 * Node has no API for a thread's scheduling policy (os.setPriority only sets the nice value), so
 * the addon does it. Going to SCHED_IDLE needs no privilege (sched(7): an unprivileged thread may
 * lower itself or a thread of its own process to SCHED_IDLE); coming back would.
 *
 * The datapath thread's scheduler slice (EEVDF custom slices, Linux 6.12+): sched_setattr's
 * sched_runtime on a SCHED_OTHER/BATCH/IDLE thread is that thread's slice (clamped by the kernel
 * to 0.1-100 ms). A shorter slice gives the thread an earlier virtual deadline, and a woken
 * thread with a shorter slice than the running one preempts it at once (the PREEMPT_SHORT
 * feature) instead of waiting until the running one's slice or the tick ends. Setting it needs
 * no privilege: the policy and nice value are written back as they were. Older kernels ignore
 * the field and report 0 (or the base slice), so the caller reads it back to know.
 */
#include "threadsched.h"

#include <errno.h>
#include <sched.h>
#include <stdint.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

int ts_set_idle(int tid) {
  struct sched_param sp = {0}; /* SCHED_IDLE takes priority 0 */
  return sched_setscheduler(tid, SCHED_IDLE, &sp) == 0 ? 0 : -errno;
}

/* Back to SCHED_OTHER; the kernel keeps the thread's nice value. Leaving SCHED_IDLE needs
 * CAP_SYS_NICE or an RLIMIT_NICE that allows the thread's nice value (-EPERM otherwise). */
int ts_set_normal(int tid) {
  struct sched_param sp = {0};
  return sched_setscheduler(tid, SCHED_OTHER, &sp) == 0 ? 0 : -errno;
}

/* struct sched_attr as of Linux 4.13 (SCHED_ATTR_SIZE_VER1); glibc has no wrapper. */
struct ts_sched_attr {
  uint32_t size;
  uint32_t sched_policy;
  uint64_t sched_flags;
  int32_t sched_nice;
  uint32_t sched_priority;
  uint64_t sched_runtime;
  uint64_t sched_deadline;
  uint64_t sched_period;
  uint32_t sched_util_min;
  uint32_t sched_util_max;
};

#define TS_SCHED_FLAG_RESET_ON_FORK 0x01

static int ts_getattr(int tid, struct ts_sched_attr *a) {
  memset(a, 0, sizeof *a);
  return syscall(SYS_sched_getattr, tid, a, (unsigned)sizeof *a, 0u) == 0 ? 0 : -errno;
}

int64_t ts_get_slice(int tid) {
  struct ts_sched_attr a;
  int r = ts_getattr(tid, &a);
  if (r < 0) return r;
  if (a.sched_policy != SCHED_OTHER && a.sched_policy != SCHED_BATCH && a.sched_policy != SCHED_IDLE) return 0;
  return (int64_t)a.sched_runtime;
}

int ts_set_slice(int tid, uint64_t ns) {
  struct ts_sched_attr a;
  int r = ts_getattr(tid, &a);
  if (r < 0) return r;
  /* Only the fair classes have a slice; a real-time thread is left as it is. */
  if (a.sched_policy != SCHED_OTHER && a.sched_policy != SCHED_BATCH && a.sched_policy != SCHED_IDLE) return -EINVAL;
  a.size = sizeof a;
  a.sched_flags &= TS_SCHED_FLAG_RESET_ON_FORK; /* no util-clamp or keep flags: policy, nice, slice as given */
  a.sched_priority = 0;
  a.sched_runtime = ns; /* 0: back to the kernel's base slice */
  a.sched_deadline = 0;
  a.sched_period = 0;
  return syscall(SYS_sched_setattr, tid, &a, 0u) == 0 ? 0 : -errno;
}
