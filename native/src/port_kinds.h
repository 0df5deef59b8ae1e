/* The ops table of each port kind (port_kinds.c), chosen when a port is opened. */
#ifndef TVS_PORT_KINDS_H
#define TVS_PORT_KINDS_H

#include "port_table.h"

extern const struct port_ops AFP_OPS;
extern const struct port_ops TAP_OPS;
extern const struct port_ops UL_OPS;
extern const struct port_ops SCRATCH_OPS;

#endif
