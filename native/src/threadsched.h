/* Scheduling class of the process's own threads (control path only, never per packet). */
#ifndef TVS_THREADSCHED_H
#define TVS_THREADSCHED_H

/* Put thread `tid` of this process in SCHED_IDLE. 0, or -errno (-ESRCH: the thread ended). */
int ts_set_idle(int tid);

#endif
