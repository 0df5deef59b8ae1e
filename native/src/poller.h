/* A port's poller (poller.c): the libuv watch on its fd and the JS callback it runs. */
#ifndef TVS_POLLER_H
#define TVS_POLLER_H

#include <node_api.h>
#include <uv.h>

struct port;

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

/* Set the poller's clock (pollStart's third argument). 0, or -1 when `v` is not one. */
int poller_set_clock(napi_env env, struct poller *pl, napi_value v);
/* Stop watching the port (idempotent); the poller is freed once libuv is done with it. */
void stop_polling(struct port *p);
/* Run the port's JS callback. The port may be closed when it returns. */
void dispatch(struct poller *pl, int status, int events);

#endif
