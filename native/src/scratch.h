/* Scratch port: a port on no device, for the start-up warm-up (src/datapath/warm-up.ts). It
 * receives only the frame JS hands it (scratch_inject) and sends nowhere: nothing it does reaches
 * a wire or a socket. It exists so the warm-up runs the very JS code a real AF_PACKET port runs
 * (the same class, the same addon object and calls), which a stand-in JS port cannot. */
#ifndef TVS_SCRATCH_H
#define TVS_SCRATCH_H

#include <stdint.h>
#include "common.h"
#include "netdev.h"

struct scratch_port;

int scratch_open(const char *name, int vnet_hdr, struct scratch_port **out, struct tvs_err *e);
const char *scratch_name(struct scratch_port *p);
/* Queue one frame for the next rx burst (a copy; one at a time): 0, -EBUSY (one is queued) or
 * -EMSGSIZE (longer than a scratch frame). */
int scratch_inject(struct scratch_port *p, const uint8_t *frame, uint32_t len);
/* The queued frame into slots[0] (a small slot), as an AF_PACKET receive fills it. 0 or 1. */
int scratch_rx_burst(struct scratch_port *p, const struct tvs_arena *a, uint32_t *slots, int max, int large);
/* Takes every frame and sends none of them anywhere: n. */
int scratch_tx_burst(struct scratch_port *p, const struct tvs_arena *a, const uint32_t *slots, int n);
int scratch_info(struct scratch_port *p, struct nd_info *out, struct tvs_err *e);
void scratch_stats(struct scratch_port *p, struct tvs_stats *out);
void scratch_close(struct scratch_port *p);

#endif
