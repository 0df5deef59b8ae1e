/* AF_PACKET port: an mmap'ed TPACKET_V3 (or V2) RX ring, sendmmsg for TX. */
#ifndef TVS_AFPACKET_H
#define TVS_AFPACKET_H

#include <stdint.h>
#include "common.h"
#include "netdev.h"

struct afp_opts {
  int vnet_hdr;          /* PACKET_VNET_HDR */
  int version;           /* 3 (TPACKET_V3, default) or 2 */
  unsigned block_timeout_ms;
  unsigned block_size;   /* 0: default */
  unsigned block_count;  /* 0: default */
  unsigned frame_count;  /* V2 ring frames wanted (rounded up to whole blocks; n_rxq_desc); 0: default */
  unsigned max_frame;    /* largest frame the arena takes (slot size - headroom): V3 blocks must hold it */
  int tx_ring;           /* send MTU-sized frames through a PACKET_TX_RING (txring.c) */
};

/* Ring geometry, for dump-ports and metrics. */
struct afp_ring_info {
  size_t bytes;        /* mapped ring memory */
  unsigned frame_size; /* V2 frame size, V3 block size */
  unsigned frames;     /* V2 frames, V3 blocks */
  size_t tx_bytes;     /* mapped TX ring memory (0: no TX ring) */
  unsigned tx_frame_size, tx_frames;
};

struct afp_port;

/* Open a port on the existing interface `ifname`. 0 or -errno with *e filled. */
int afp_open(const char *ifname, const struct afp_opts *o, struct afp_port **out, struct tvs_err *e);
int afp_fd(const struct afp_port *p);
const char *afp_name(const struct afp_port *p);
const char *afp_ring_name(const struct afp_port *p);
void afp_ring_info(const struct afp_port *p, struct afp_ring_info *out);
int afp_info(const struct afp_port *p, struct nd_info *out, struct tvs_err *e);

/* Receive up to `max` frames: those that fit a small slot into slots[0..max) in order, larger
 * ones into slots[max..max+large) in order (caller validated: every slot < capacity,
 * max + large <= TVS_MAX_OFFER). On return slots[0..n) lists the filled slots in arrival order. */
int afp_rx_burst(struct afp_port *p, const struct tvs_arena *a, uint32_t *slots, int max, int large);
/* Send slots[0..n) (caller validated slot and frame bounds); frames taken or -errno. */
int afp_tx_burst(struct afp_port *p, const struct tvs_arena *a, const uint32_t *slots, int n);
/* After poll reported an error: 0 if transient (link went down but still exists), else -errno. */
int afp_check_error(struct afp_port *p);
/* 1 when frames wait in the rx ring (no syscall: reads the ring's status word at the cursor). */
int afp_rx_ready(const struct afp_port *p);
/* The kernel's arrival time (CLOCK_REALTIME, ns) of the frame at the read cursor, 0 when there is
 * none or the ring does not say (V3). No syscall. */
uint64_t afp_rx_stamp(const struct afp_port *p);
void afp_stats(struct afp_port *p, struct tvs_stats *out);
void afp_close(struct afp_port *p);

#endif
