/*
 * The per-environment handle table: ports by handle (index + 1), never reused, so a stale handle
 * in JS cannot reach a newer port. Worker threads get their own table (instance data).
 */
#include <stdlib.h>

#include <node_api.h>

#include "port_table.h"

struct port *new_port(napi_env env, const struct port_ops *ops) {
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

void register_port(napi_env env, struct port *p) {
  struct state *st = get_state(env);
  st->ports[st->n++] = p;
  p->handle = (int)st->n;
}

void drop_refs(napi_env env, struct port *p) {
  if (p->buf_ref) napi_delete_reference(env, p->buf_ref);
  if (p->start_ref) napi_delete_reference(env, p->start_ref);
  if (p->len_ref) napi_delete_reference(env, p->len_ref);
  p->buf_ref = p->start_ref = p->len_ref = NULL;
}
