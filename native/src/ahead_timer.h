/* Wake-ahead's timer (ahead_timer.c): a timerfd watched by libuv, owned by the spinner. */
#ifndef TVS_AHEAD_TIMER_H
#define TVS_AHEAD_TIMER_H

#include <node_api.h>
#include <uv.h>

struct spinner;

/* Make the spinner's timer if it has none. 0, or -errno. */
int ahead_timer_open(napi_env env, struct spinner *sp);
/* The timer's readiness callback: start a predicted poll (also called by a test hook). */
void on_ahead_timer(uv_poll_t *h, int status, int events);
/* Close the spinner's timer, if any (freed once libuv is done with it). */
void ahead_timer_close(struct spinner *sp);

#endif
