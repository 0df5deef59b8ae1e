/* Scheduling class of the process's own threads (control path only, never per packet). */
#ifndef TVS_THREADSCHED_H
#define TVS_THREADSCHED_H

#include <stdint.h>

/* Put thread `tid` of this process in SCHED_IDLE. 0, or -errno (-ESRCH: the thread ended). */
int ts_set_idle(int tid);
/* Put thread `tid` back in SCHED_OTHER, keeping its nice value. 0, or -errno (-EPERM: leaving
 * SCHED_IDLE needs CAP_SYS_NICE or RLIMIT_NICE). */
int ts_set_normal(int tid);
/* Set thread `tid`'s scheduler slice to `ns` nanoseconds (0: the kernel's default), keeping its
 * policy and nice value. 0, or -errno. Kernels before 6.12 accept and ignore it: read it back. */
int ts_set_slice(int tid, uint64_t ns);
/* Thread `tid`'s slice in nanoseconds as the kernel reports it (0 where it has none), or -errno. */
int64_t ts_get_slice(int tid);

#endif
