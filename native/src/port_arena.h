/* A port's view of the JS PacketArena (port_arena.c). */
#ifndef TVS_PORT_ARENA_H
#define TVS_PORT_ARENA_H

#include <node_api.h>

struct port;

/* Read the ArenaView object into p->arena and take references. 0 and a pending exception on error. */
int take_arena(napi_env env, napi_value obj, struct port *p);

#endif
