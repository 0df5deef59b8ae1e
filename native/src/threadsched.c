/*
 * SCHED_IDLE for the switch's helper threads (src/cli/helper-threads.ts says why).
 *
 * Node has no API for a thread's scheduling policy (os.setPriority only sets the nice value), so
 * the addon does it. Going to SCHED_IDLE needs no privilege (sched(7): an unprivileged thread may
 * lower itself or a thread of its own process to SCHED_IDLE); coming back would.
 */
#include "threadsched.h"

#include <errno.h>
#include <sched.h>

int ts_set_idle(int tid) {
  struct sched_param sp = {0}; /* SCHED_IDLE takes priority 0 */
  return sched_setscheduler(tid, SCHED_IDLE, &sp) == 0 ? 0 : -errno;
}
