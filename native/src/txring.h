/* AF_PACKET transmit ring (PACKET_TX_RING, TPACKET_V2) on its own send-only socket. */
#ifndef TVS_TXRING_H
#define TVS_TXRING_H

#include <stddef.h>
#include <stdint.h>
#include "common.h"

struct txring;

/* Open a send-only packet socket bound to `ifindex` with a TX ring sized for `mtu`. `vnet`: the
 * arena's vnet headers are meaningful (offloads on); the ring socket always carries one. */
int txr_open(int ifindex, unsigned mtu, int vnet, struct txring **out, struct tvs_err *e);
/* Can slot `s` go through the ring? Small, non-GSO, well-formed frames only: the rest (GSO
 * super-frames, frames above the ring frame or the MTU, odd vnet headers) take sendmmsg, which
 * reports refusals frame by frame. */
int txr_fits(const struct txring *t, const struct tvs_arena *a, uint32_t s);
/* Queue slots[0..n) (all txr_fits) and flush them with one send() per ring-full. Frames the
 * kernel took, or -errno when none were taken and the port itself is unusable. Fewer than n:
 * the ring was full (frames still held by the kernel) or the socket's send buffer was; the
 * rest are the caller's. */
int txr_burst(struct txring *t, const struct tvs_arena *a, const uint32_t *slots, int n, struct tvs_stats *st);
/* The port's MTU changed (seen by afp_info): frames above it must take sendmmsg, which refuses
 * and counts them, instead of being dropped quietly by the device. */
void txr_set_mtu(struct txring *t, unsigned mtu);
size_t txr_bytes(const struct txring *t);
unsigned txr_frame_size(const struct txring *t);
unsigned txr_frames(const struct txring *t);
void txr_close(struct txring *t);

#endif
