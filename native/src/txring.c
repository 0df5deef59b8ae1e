/*
 * AF_PACKET transmit ring (PACKET_TX_RING, TPACKET_V2).
 *
 * sendmmsg costs the kernel a msghdr copy, an iovec import, a security hook and a device lookup
 * per frame. With a TX ring we copy each frame into shared memory, flip its status word to
 * SEND_REQUEST, and one send(fd, NULL, 0) hands the whole burst to the kernel, which walks the
 * ring in order. Frames are returned (status AVAILABLE) when their skb is freed.
 *
 * Why a socket of its own: once a packet socket has a TX ring, every send on it goes through
 * the ring, but GSO super-frames (up to 64 KiB) do not fit an MTU-sized ring frame. They keep
 * using sendmmsg on the port's receive socket. This socket is bound with protocol 0, so it
 * receives nothing.
 *
 * Why every frame is copied whole into the skb (vnet hdr_len = frame length): by default the
 * kernel copies only the Ethernet header and attaches the rest of the ring frame as page
 * fragments marked zero-copy. A veth peer (or any local delivery) must then copy those
 * fragments into freshly allocated pages (skb_copy_ubufs) before the skb may cross into the
 * other namespace: a page allocation per frame, more than the copy it saves. The vnet header's
 * hdr_len tells tpacket_snd how much to copy into the linear part; the socket therefore always
 * carries a vnet header, even for ports without offloads (a zero header: no checksum, no GSO).
 *
 * Frames the kernel could still refuse (malformed vnet header, above the MTU) never enter the
 * ring (txr_fits): without PACKET_LOSS a refused frame stops the ring for good, with it the
 * frame is skipped silently. We set PACKET_LOSS so the ring can never stall, keep those frames
 * on sendmmsg (which reports refusals frame by frame), and count a short byte total from send()
 * as a refusal.
 */
#include "txring.h"

#include <errno.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>
#include <arpa/inet.h>

/* Ring memory per port: 256 frames of 2 KiB at MTU 1500, one full burst. A burst larger than
 * the free frames is flushed in parts (txr_burst): through a veth most frames come back before
 * send() returns, so the ring only has to cover one flush. Its pages count in the switch's RSS. */
#define TXR_RING_BYTES (512u << 10)
/* Frames above this go through sendmmsg (jumbo MTUs would otherwise make the ring huge). */
#define TXR_MAX_FRAME 4096u
/* Where the frame (its vnet header first) starts inside a ring frame, without PACKET_TX_HAS_OFF. */
#define TXR_DATA_OFF (TPACKET2_HDRLEN - sizeof(struct sockaddr_ll))
#define TXR_SNDBUF (4 << 20)
#define VNET_F_DATA_VALID 2
/* Status bits the kernel owns a frame with; the rest (timestamp flags) are informational. */
#define TXR_BUSY (TP_STATUS_SEND_REQUEST | TP_STATUS_SENDING | TP_STATUS_WRONG_FORMAT)

struct txring {
  int fd;
  int vnet;          /* the arena's vnet headers are meaningful (the port has offloads) */
  unsigned mtu;      /* at open: frames above MTU + Ethernet header (+ one tag) take sendmmsg */
  uint8_t *ring;
  size_t ring_len;
  unsigned frame_size, frame_nr, frames_per_block, block_size;
  unsigned cur;      /* next frame to fill; the kernel's own cursor is always here after a flush */
};

static inline uint8_t *frame_at(const struct txring *t, unsigned i) {
  return t->ring + (size_t)(i / t->frames_per_block) * t->block_size + (size_t)(i % t->frames_per_block) * t->frame_size;
}

static int fail(struct tvs_err *e, int err, const char *syscall) {
  return tvs_fail(e, err, syscall, err == EPERM || err == EACCES ? TVS_HINT_ROOT : NULL);
}

int txr_open(int ifindex, unsigned mtu, int vnet, struct txring **out, struct tvs_err *e) {
  int one = 1, rc;
  *out = NULL;
  struct txring *t = calloc(1, sizeof *t);
  if (!t) return tvs_fail(e, ENOMEM, "calloc", NULL);
  t->vnet = vnet;
  t->mtu = mtu;
  t->fd = socket(AF_PACKET, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (t->fd < 0) { rc = fail(e, errno, "socket(AF_PACKET)"); goto bad; }
  int ver = TPACKET_V2;
  if (setsockopt(t->fd, SOL_PACKET, PACKET_VERSION, &ver, sizeof ver) < 0) { rc = fail(e, errno, "setsockopt(PACKET_VERSION)"); goto bad; }
  if (setsockopt(t->fd, SOL_PACKET, PACKET_VNET_HDR, &one, sizeof one) < 0) { rc = fail(e, errno, "setsockopt(PACKET_VNET_HDR)"); goto bad; }
  if (setsockopt(t->fd, SOL_PACKET, PACKET_LOSS, &one, sizeof one) < 0) { rc = fail(e, errno, "setsockopt(PACKET_LOSS)"); goto bad; }

  long page = sysconf(_SC_PAGESIZE);
  unsigned need = (unsigned)TXR_DATA_OFF + TVS_VNET_HDR_LEN + mtu + 14 + 4, fs = 1024;
  while (fs < need && fs < TXR_MAX_FRAME) fs <<= 1;
  t->frame_size = fs;
  t->block_size = fs > (unsigned)page ? fs : (unsigned)page;
  t->frames_per_block = t->block_size / fs;
  t->frame_nr = TXR_RING_BYTES / fs;
  struct tpacket_req req;
  memset(&req, 0, sizeof req);
  req.tp_block_size = t->block_size;
  req.tp_block_nr = t->frame_nr / t->frames_per_block;
  req.tp_frame_size = fs;
  req.tp_frame_nr = t->frame_nr;
  if (setsockopt(t->fd, SOL_PACKET, PACKET_TX_RING, &req, sizeof req) < 0) { rc = fail(e, errno, "setsockopt(PACKET_TX_RING)"); goto bad; }
  t->ring_len = (size_t)req.tp_block_size * req.tp_block_nr;
  void *m = mmap(NULL, t->ring_len, PROT_READ | PROT_WRITE, MAP_SHARED, t->fd, 0);
  if (m == MAP_FAILED) { rc = fail(e, errno, "mmap(PACKET_TX_RING)"); goto bad; }
  t->ring = m;

  /* Protocol 0: no receive hook, the socket only sends. */
  struct sockaddr_ll sll;
  memset(&sll, 0, sizeof sll);
  sll.sll_family = AF_PACKET;
  sll.sll_ifindex = ifindex;
  if (bind(t->fd, (struct sockaddr *)&sll, sizeof sll) < 0) { rc = fail(e, errno, "bind(PACKET_TX_RING)"); goto bad; }
  /* Frames in flight are charged to the send buffer: room for the whole ring. */
  int sndbuf = TXR_SNDBUF;
  if (setsockopt(t->fd, SOL_SOCKET, SO_SNDBUFFORCE, &sndbuf, sizeof sndbuf) < 0)
    (void)setsockopt(t->fd, SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof sndbuf);
  *out = t;
  return 0;
bad:
  txr_close(t);
  return rc;
}

int txr_fits(const struct txring *t, const struct tvs_arena *a, uint32_t s) {
  uint32_t len = a->len[s];
  if (len < ETH_HLEN || len + TVS_VNET_HDR_LEN + TXR_DATA_OFF > t->frame_size) return 0;
  if (len > t->mtu + ETH_HLEN) {
    /* What packet_snd allows: one tag's worth more when the frame is tagged. */
    const uint8_t *f = a->bytes + a->start[s];
    uint16_t type = (uint16_t)(f[12] << 8 | f[13]);
    if (len > t->mtu + ETH_HLEN + 4 || (type != ETH_P_8021Q && type != ETH_P_8021AD)) return 0;
  }
  if (!t->vnet) return 1;
  const uint8_t *h = a->bytes + tvs_slot_base(a, s);
  if (h[VNET_GSO_TYPE] != 0 || (h[VNET_FLAGS] & ~(VNET_F_NEEDS_CSUM | VNET_F_DATA_VALID))) return 0;
  if ((h[VNET_FLAGS] & VNET_F_NEEDS_CSUM) && (uint32_t)tvs_le16(h + VNET_CSUM_START) + tvs_le16(h + VNET_CSUM_OFFSET) + 2 > len) return 0;
  return 1;
}

static inline uint32_t status_of(const uint8_t *f) {
  return __atomic_load_n(&((const struct tpacket2_hdr *)f)->tp_status, __ATOMIC_ACQUIRE);
}
static inline void set_status(uint8_t *f, uint32_t st) {
  __atomic_store_n(&((struct tpacket2_hdr *)f)->tp_status, st, __ATOMIC_RELEASE);
}

static int port_level(int err) {
  return err == ENXIO || err == ENODEV || err == ENETDOWN || err == EBADF || err == ENOTCONN;
}

/* Fill free ring frames from slots[0..n) and flush them with one send(). Frames the kernel took;
 * *err: errno of the send (0 if none). Fewer than *filled taken: the kernel stopped. */
static int fill_and_flush(struct txring *t, const struct tvs_arena *a, const uint32_t *slots, int n, struct tvs_stats *st, int *filled, int *err) {
  unsigned first = t->cur, i = t->cur;
  int k = 0;
  size_t bytes = 0;
  *err = 0;
  for (; k < n; k++) {
    uint8_t *f = frame_at(t, i);
    if (status_of(f) & TXR_BUSY) break; /* still held by the kernel */
    uint32_t s = slots[k], len = a->len[s];
    uint8_t *d = f + TXR_DATA_OFF;
    if (t->vnet) memcpy(d, a->bytes + tvs_slot_base(a, s), TVS_VNET_HDR_LEN);
    else memset(d, 0, TVS_VNET_HDR_LEN);
    tvs_put_le16(d + VNET_HDR_LEN, (uint16_t)len); /* copy it all into the skb (see the top) */
    memcpy(d + TVS_VNET_HDR_LEN, a->bytes + a->start[s], len);
    ((struct tpacket2_hdr *)f)->tp_len = len + TVS_VNET_HDR_LEN;
    set_status(f, TP_STATUS_SEND_REQUEST);
    bytes += len;
    i = i + 1 == t->frame_nr ? 0 : i + 1;
  }
  *filled = k;
  if (k == 0) return 0;
  t->cur = i;
  ssize_t r = send(t->fd, NULL, 0, MSG_DONTWAIT);
  if (r < 0) *err = errno;
  /* The kernel stops at the first frame it could not take (send buffer full, link down) and
   * leaves it and the ones behind it in SEND_REQUEST; nothing touches them once send() has
   * returned. Take them back so the ring and the kernel's cursor stay in step. */
  int sent = 0;
  for (i = first; sent < k; sent++, i = i + 1 == t->frame_nr ? 0 : i + 1)
    if (status_of(frame_at(t, i)) & TP_STATUS_SEND_REQUEST) break;
  if (sent < k) {
    t->cur = i;
    for (int j = sent; j < k; j++, i = i + 1 == t->frame_nr ? 0 : i + 1) {
      bytes -= a->len[slots[j]];
      set_status(frame_at(t, i), TP_STATUS_AVAILABLE);
    }
  }
  /* PACKET_LOSS skipped a frame the kernel refused (txr_fits should have kept it out). */
  if (r >= 0 && (size_t)r < bytes) st->tx_errors++;
  return sent;
}

int txr_burst(struct txring *t, const struct tvs_arena *a, const uint32_t *slots, int n, struct tvs_stats *st) {
  int sent = 0;
  while (sent < n) {
    int filled, err;
    int r = fill_and_flush(t, a, slots + sent, n - sent, st, &filled, &err);
    if (r == 0 && err && port_level(err) && sent == 0) return -err;
    sent += r;
    /* Ring full (no frame came back during the flush) or the kernel stopped: the rest are the
     * caller's. Otherwise the flush freed frames: go on with the rest of the burst. */
    if (filled == 0 || r < filled) break;
  }
  return sent;
}

void txr_set_mtu(struct txring *t, unsigned mtu) { t->mtu = mtu; }

size_t txr_bytes(const struct txring *t) { return t ? t->ring_len : 0; }
unsigned txr_frame_size(const struct txring *t) { return t ? t->frame_size : 0; }
unsigned txr_frames(const struct txring *t) { return t ? t->frame_nr : 0; }

void txr_close(struct txring *t) {
  if (!t) return;
  if (t->ring) munmap(t->ring, t->ring_len);
  if (t->fd >= 0) close(t->fd);
  free(t);
}
