/* N-API glue of the link monitor (linkmon_glue.c): adds its functions to the addon's exports. */
#ifndef TVS_LINKMON_GLUE_H
#define TVS_LINKMON_GLUE_H

#include <node_api.h>

/* linkMonitorOpen, linkMonitorClose, linkState (src/io/binding.ts). */
void linkmon_define(napi_env env, napi_value exports);

#endif
