/*
 * Shared between the syscall layer (afpacket.c, tap.c, netdev.c) and the N-API glue (addon.c and
 * the files it ties together: js_*.c, port_*.c, poller.c, spinner.c, ahead_timer.c).
 * Nothing here knows about N-API: the I/O files are plain C that could be tested on their own.
 */
#ifndef TVS_COMMON_H
#define TVS_COMMON_H

#include <stdint.h>
#include <string.h>

/* struct virtio_net_hdr without num_buffers: what PACKET_VNET_HDR and IFF_VNET_HDR use. */
#define TVS_VNET_HDR_LEN 10
/* virtio_net_hdr field offsets (little-endian on every host we run on, see VIRTIO_NET_HDR docs) */
#define VNET_FLAGS 0       /* u8 */
#define VNET_GSO_TYPE 1    /* u8 */
#define VNET_HDR_LEN 2     /* u16 2-3 */
#define VNET_GSO_SIZE 4    /* u16 4-5 */
#define VNET_CSUM_START 6  /* u16 6-7 */
#define VNET_CSUM_OFFSET 8 /* u16 8-9 */
#define VNET_F_NEEDS_CSUM 1

/*
 * A view of the JS-owned PacketArena (src/packet/arena.ts): raw pointers into ArrayBuffer
 * backing stores, which V8 never moves. port_arena.c keeps napi_refs so they stay alive, and checks
 * per burst that they were not detached. Slots come in two sizes: [0, small_slots) of
 * slot_size bytes, then the rest of large_size bytes (large_size == slot_size: one size).
 */
struct tvs_arena {
  uint8_t *bytes;       /* the arena ArrayBuffer */
  size_t size;          /* its byte length */
  uint32_t slot_size;   /* small slots */
  uint32_t large_size;  /* large slots */
  uint32_t small_slots;
  uint32_t headroom;    /* where a received frame starts inside its slot */
  uint32_t capacity;    /* slots addressable: min(start.length, len.length, what the buffer holds) */
  uint32_t *start;      /* absolute frame offsets, per slot */
  uint32_t *len;        /* frame lengths, per slot */
};

/* Where slot `s` begins (its vnet header) and how many bytes it has: the same layout as
 * PacketArena.slotBase. */
static inline uint32_t tvs_slot_base(const struct tvs_arena *a, uint32_t s) {
  return s < a->small_slots ? s * a->slot_size : a->small_slots * a->slot_size + (s - a->small_slots) * a->large_size;
}
static inline uint32_t tvs_slot_size(const struct tvs_arena *a, uint32_t s) {
  return s < a->small_slots ? a->slot_size : a->large_size;
}
/* Largest frame a small slot takes at the default headroom; longer ones go to a large slot. */
static inline uint32_t tvs_small_max(const struct tvs_arena *a) { return a->slot_size - a->headroom; }

/* Most slots one rx burst may be offered (small + large): bounds the rx scratch list. */
#define TVS_MAX_OFFER 1024

/* Why a setup call failed: errno, the syscall (for Error.syscall) and an optional hint. */
struct tvs_err {
  int err;
  const char *syscall;
  const char *hint; /* NULL: use strerror(err) */
};

static inline int tvs_fail(struct tvs_err *e, int err, const char *syscall, const char *hint) {
  e->err = err;
  e->syscall = syscall;
  e->hint = hint;
  return -err;
}

#define TVS_HINT_ROOT "needs CAP_NET_RAW and CAP_NET_ADMIN (run as root)"

static inline uint16_t tvs_le16(const uint8_t *p) { return (uint16_t)(p[0] | (p[1] << 8)); }
static inline void tvs_put_le16(uint8_t *p, uint16_t v) {
  p[0] = (uint8_t)v;
  p[1] = (uint8_t)(v >> 8);
}
static inline void tvs_put_be16(uint8_t *p, uint16_t v) {
  p[0] = (uint8_t)(v >> 8);
  p[1] = (uint8_t)v;
}

/* Per-port counters the native side keeps (NativePortStats). */
struct tvs_stats {
  uint64_t kernel_drops; /* ring overflow (PACKET_STATISTICS tp_drops, accumulated: reads reset it) */
  uint64_t rx_oversize;  /* frames that did not fit a slot (or were truncated by the ring) */
  uint64_t tx_errors;    /* frames the kernel refused one by one (EMSGSIZE, EINVAL...) and we skipped */
  uint64_t tx_unreachable; /* tunnel underlay: no route to the remote (ENETUNREACH, EHOSTUNREACH...) */
  uint64_t tx_too_big;     /* tunnel underlay: outer packet above the route MTU (EMSGSIZE) */
};

#endif
