/* Scratch port (see scratch.h): copies of one queued frame in, every frame out to nowhere. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "scratch.h"

/* Room for an MTU-1500 frame with two tags: the warm-up's frames are small. */
#define SCRATCH_MAX_FRAME 1536

struct scratch_port {
  char name[IFNAMSIZ];
  int vnet;
  uint32_t len;    /* of the queued frame */
  uint32_t copies; /* of it still to receive, 0: none */
  uint8_t frame[SCRATCH_MAX_FRAME];
  struct tvs_stats stats;
};

int scratch_open(const char *name, int vnet_hdr, struct scratch_port **out, struct tvs_err *e) {
  struct scratch_port *p = calloc(1, sizeof *p);
  if (!p) {
    e->err = ENOMEM;
    e->syscall = "calloc";
    return -ENOMEM;
  }
  snprintf(p->name, sizeof p->name, "%s", name);
  p->vnet = vnet_hdr;
  *out = p;
  return 0;
}

const char *scratch_name(struct scratch_port *p) { return p->name; }

int scratch_inject(struct scratch_port *p, const uint8_t *frame, uint32_t len, uint32_t copies) {
  if (p->copies != 0) return -EBUSY;
  if (len == 0 || len > SCRATCH_MAX_FRAME) return -EMSGSIZE;
  if (copies < 1 || copies > SCRATCH_MAX_COPIES) return -EINVAL;
  memcpy(p->frame, frame, len);
  p->len = len;
  p->copies = copies;
  return 0;
}

int scratch_rx_burst(struct scratch_port *p, const struct tvs_arena *a, uint32_t *slots, int max, int large) {
  if (p->copies == 0 || max < 1) return 0;
  uint32_t len = p->len;
  if (len > tvs_small_max(a)) {
    p->copies = 0;
    p->stats.rx_oversize++;
    return 0;
  }
  int n = p->copies < (uint32_t)max ? (int)p->copies : max;
  p->copies -= (uint32_t)n;
  for (int i = 0; i < n; i++) {
    uint32_t s = slots[i];
    uint32_t base = tvs_slot_base(a, s);
    /* A received frame with no offload work: a zeroed virtio-net header, as the kernel writes. */
    memset(a->bytes + base, 0, TVS_VNET_HDR_LEN);
    memcpy(a->bytes + base + a->headroom, p->frame, len);
    a->start[s] = base + a->headroom;
    a->len[s] = len;
  }
  return n;
}

int scratch_tx_burst(struct scratch_port *p, const struct tvs_arena *a, const uint32_t *slots, int n) { return n; }

int scratch_info(struct scratch_port *p, struct nd_info *out, struct tvs_err *e) {
  memset(out, 0, sizeof *out);
  snprintf(out->name, sizeof out->name, "%s", p->name);
  out->mtu = 1500;
  return 0;
}

void scratch_stats(struct scratch_port *p, struct tvs_stats *out) { *out = p->stats; }

void scratch_close(struct scratch_port *p) { free(p); }
