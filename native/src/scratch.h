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
/* Copies of one queued frame a scratch port may hold at once (scratch_inject). */
#define SCRATCH_MAX_COPIES 65536

/* Queue `copies` copies of one frame for the next rx bursts (the frame is copied once; one frame
 * at a time): 0, -EBUSY (copies of one are still queued), -EMSGSIZE (longer than a scratch frame)
 * or -EINVAL (copies outside 1..SCRATCH_MAX_COPIES). Several copies let the warm-up fill whole
 * receive bursts, as a saturated port does. */
int scratch_inject(struct scratch_port *p, const uint8_t *frame, uint32_t len, uint32_t copies);
/* Up to `max` of the queued copies into slots[0..] (small slots), as an AF_PACKET receive fills
 * them: how many. */
int scratch_rx_burst(struct scratch_port *p, const struct tvs_arena *a, uint32_t *slots, int max, int large);
/* Takes every frame and sends none of them anywhere: n. */
int scratch_tx_burst(struct scratch_port *p, const struct tvs_arena *a, const uint32_t *slots, int n);
int scratch_info(struct scratch_port *p, struct nd_info *out, struct tvs_err *e);
void scratch_stats(struct scratch_port *p, struct tvs_stats *out);
void scratch_close(struct scratch_port *p);

#endif
