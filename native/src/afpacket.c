/*
 * AF_PACKET port.
 *
 * RX uses an mmap'ed ring so a burst costs no syscall while frames are waiting: the kernel
 * writes frames into shared memory and flips a status word, we copy them into arena slots and
 * flip it back. Two ring flavours, both kept because they trade differently (to be benchmarked):
 *  - TPACKET_V3: variable-size frames packed into large blocks. Dense (a 60-byte frame takes
 *    ~100 bytes of ring, not a whole frame slot) but the reader is only woken when a block
 *    retires: full, or after tp_retire_blk_tov ms. A lone ping waits up to the block timeout.
 *  - TPACKET_V2: fixed-size frames, the reader is woken per frame (lowest latency). Frames are
 *    sized for the link's MTU, not for the largest (64 KiB GSO) frame: a ring of 64 KiB frames
 *    cost 32 MiB of locked, mapped memory per port for a 480-frame ring. A frame that does not
 *    fit a ring frame (a GSO super-frame, or the MTU grew after open) takes the kernel's copy
 *    path (PACKET_COPY_THRESH): the ring frame is marked TP_STATUS_COPY and the whole frame is
 *    queued on the socket, where we recvmsg() it straight into its arena slot, in ring order.
 * TX uses sendmmsg: one syscall per burst (what OVS netdev-linux uses too), or, with the
 * tx_ring option, a PACKET_TX_RING on a second socket for the frames that fit it (txring.c)
 * and sendmmsg for the rest (GSO super-frames), in order.
 *
 * The kernel strips 802.1Q/802.1ad tags before AF_PACKET sees them and reports them out of
 * band (tp_vlan_tci/tp_vlan_tpid); we put them back so JS sees the frame as it was on the wire.
 */
#include "afpacket.h"
#include "txring.h"

#include <errno.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <poll.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>
#include <arpa/inet.h>

#ifndef PACKET_IGNORE_OUTGOING
#define PACKET_IGNORE_OUTGOING 23
#endif

#define DEFAULT_BLOCK_COUNT 16u
/* V2 ring: frames of one MTU-sized frame each, 8 per block, 4 MiB in all but at least 256
 * frames (2,048 frames at MTU 1500: 6.8 ms at 300 kpps). The depth is how long the switch's core
 * may be taken away before the kernel drops (tp_drops, rx_kernel_ring): on a shared 2-vCPU VM
 * that happens for 1-8 ms now and then, and the 1,024-frame ring of before (3.4 ms at 300 kpps)
 * set the zero-loss rate (bench/results/README.md, "Zero-loss throughput"). The port option
 * n_rxq_desc sets the frame count instead (o->frame_count). Every byte of it counts in RSS from
 * mmap on (the kernel maps all the ring's pages at once). */
#define V2_FRAMES_PER_BLOCK 8u
#define V2_RING_BYTES (4u << 20)
#define V2_MIN_FRAMES 256u
/* V3: blocks must hold the largest frame (no copy path), 16 of them. */
#define V3_MIN_BLOCK_SIZE (64u << 10)
/* Socket receive buffer for the copy path: room for a burst of 64 KiB GSO frames between two
 * reads (kernel memory, used only while frames wait). Without it the default (~208 KiB) lets
 * only a few through and the rest arrive truncated (dropped as rx_oversize). */
#define RCVBUF_BYTES (4 << 20)
#define V3_FRAME_SIZE 2048u /* V3 ignores frame size for RX but the kernel checks its arithmetic */
/*
 * Bytes in front of the frame inside a ring frame/block: tpacket header + sockaddr_ll, aligned,
 * a 16-byte minimum MAC area, the vnet header, plus (V3) the block descriptor. 256 covers all.
 */
#define RING_OVERHEAD 256u
#define TX_BATCH 256 /* sendmmsg chunk; preallocated so TX never allocates */
#define SNDBUF_BYTES (4 << 20)

struct afp_port {
  int fd;
  int version; /* 2 or 3 */
  int vnet;
  int ifindex;
  char name[IFNAMSIZ];
  int dead; /* errno once the interface is gone for good; bursts then return -dead */

  uint8_t *ring;
  size_t ring_len;
  unsigned block_size, block_nr;
  unsigned frame_size, frames_per_block, frame_nr; /* V2 (V3: frame_nr 0, frame_size = block size) */

  /* Cursor: V3 block index (+ position inside a partially consumed block), or V2 frame index. */
  unsigned cur;
  uint8_t *pkt;       /* V3: next packet in block `cur`, NULL when no block is open */
  unsigned pkt_left;  /* V3: packets left in block `cur` */

  struct tvs_stats stats;
  struct txring *txr; /* NULL: every frame goes through sendmmsg */
  struct mmsghdr msgs[TX_BATCH];
  struct iovec iov[TX_BATCH][2];
};

static unsigned round_pow2(unsigned v) {
  unsigned p = 1;
  while (p < v) p <<= 1;
  return p;
}

static int sys_error(struct tvs_err *e, int err, const char *syscall) {
  if (err == EPERM || err == EACCES) return tvs_fail(e, err, syscall, TVS_HINT_ROOT);
  if (err == ENODEV || err == ENXIO) return tvs_fail(e, err, syscall, "no such interface");
  return tvs_fail(e, err, syscall, NULL);
}

static int setup_ring(struct afp_port *p, const struct afp_opts *o, unsigned mtu, struct tvs_err *e) {
  long page = sysconf(_SC_PAGESIZE);
  unsigned bs = o->block_size;
  unsigned bn = o->block_count;
  if (bs % (unsigned)page != 0) return tvs_fail(e, EINVAL, "setsockopt(PACKET_RX_RING)", "blockSize must be a multiple of the page size");

  if (p->version == 3) {
    /* A block must hold the largest frame (a 64 KiB GSO frame with the default arena). */
    unsigned need = o->max_frame + RING_OVERHEAD;
    if (bs == 0) bs = round_pow2(need < V3_MIN_BLOCK_SIZE ? V3_MIN_BLOCK_SIZE : need);
    else if (bs < need) return tvs_fail(e, EINVAL, "setsockopt(PACKET_RX_RING)", "blockSize too small for the arena's largest frame");
    if (bn == 0) bn = DEFAULT_BLOCK_COUNT;
    if (o->frame_count) return tvs_fail(e, EINVAL, "setsockopt(PACKET_RX_RING)", "a frame count applies to the v2 ring only");
    struct tpacket_req3 req;
    memset(&req, 0, sizeof req);
    req.tp_block_size = bs;
    req.tp_block_nr = bn;
    req.tp_frame_size = V3_FRAME_SIZE;
    req.tp_frame_nr = (bs / V3_FRAME_SIZE) * bn;
    req.tp_retire_blk_tov = o->block_timeout_ms;
    if (setsockopt(p->fd, SOL_PACKET, PACKET_RX_RING, &req, sizeof req) < 0) return sys_error(e, errno, "setsockopt(PACKET_RX_RING)");
    p->frame_size = bs;
  } else {
    /* A ring frame holds one MTU-sized frame (+ a tag, + the headers in front); anything larger
     * comes through the copy path (see the top of this file). Powers of two up to a page pack
     * blocks without waste. */
    unsigned ordinary = mtu + 14 + 4 + RING_OVERHEAD;
    unsigned fs = ordinary <= (unsigned)page ? round_pow2(ordinary) : (ordinary + TPACKET_ALIGNMENT - 1) & ~(TPACKET_ALIGNMENT - 1);
    if (bs == 0) bs = round_pow2(fs * V2_FRAMES_PER_BLOCK);
    else if (bs < fs) return tvs_fail(e, EINVAL, "setsockopt(PACKET_RX_RING)", "blockSize too small for one MTU-sized frame");
    unsigned per = bs / fs;
    unsigned want = o->frame_count ? o->frame_count : V2_RING_BYTES / fs < V2_MIN_FRAMES ? V2_MIN_FRAMES : V2_RING_BYTES / fs;
    if (o->frame_count && o->block_count) return tvs_fail(e, EINVAL, "setsockopt(PACKET_RX_RING)", "give a frame count or a block count, not both");
    if (bn == 0) bn = (want + per - 1) / per;
    struct tpacket_req req;
    memset(&req, 0, sizeof req);
    req.tp_block_size = bs;
    req.tp_block_nr = bn;
    req.tp_frame_size = fs;
    req.tp_frame_nr = per * bn;
    p->frame_size = fs;
    p->frames_per_block = per;
    p->frame_nr = req.tp_frame_nr;
    if (setsockopt(p->fd, SOL_PACKET, PACKET_RX_RING, &req, sizeof req) < 0) return sys_error(e, errno, "setsockopt(PACKET_RX_RING)");
  }
  p->block_size = bs;
  p->block_nr = bn;
  p->ring_len = (size_t)bs * bn;
  void *m = mmap(NULL, p->ring_len, PROT_READ | PROT_WRITE, MAP_SHARED, p->fd, 0);
  if (m == MAP_FAILED) return sys_error(e, errno, "mmap");
  p->ring = m;
  return 0;
}

int afp_open(const char *ifname, const struct afp_opts *o, struct afp_port **out, struct tvs_err *e) {
  struct nd_info nd;
  int one = 1, rc;
  *out = NULL;
  if (nd_check_name(ifname, e) < 0) return -e->err;

  struct afp_port *p = calloc(1, sizeof *p);
  if (!p) return tvs_fail(e, ENOMEM, "calloc", NULL);
  p->version = o->version == 2 ? 2 : 3;
  p->vnet = o->vnet_hdr;
  nd_copy_name(p->name, ifname);

  /* Protocol 0: the socket receives nothing until bind(), so no frame can arrive before the
   * ring exists (and none from other interfaces). */
  p->fd = socket(AF_PACKET, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (p->fd < 0) { rc = sys_error(e, errno, "socket(AF_PACKET)"); goto fail; }

  if ((rc = nd_lookup(ifname, &nd, e)) < 0) goto fail;
  p->ifindex = nd.ifindex;

  int ver = p->version == 3 ? TPACKET_V3 : TPACKET_V2;
  if (setsockopt(p->fd, SOL_PACKET, PACKET_VERSION, &ver, sizeof ver) < 0) { rc = sys_error(e, errno, "setsockopt(PACKET_VERSION)"); goto fail; }
  /* Must precede the ring: the kernel refuses PACKET_VNET_HDR (EBUSY) once a ring is mapped. */
  if (p->vnet && setsockopt(p->fd, SOL_PACKET, PACKET_VNET_HDR, &one, sizeof one) < 0) { rc = sys_error(e, errno, "setsockopt(PACKET_VNET_HDR)"); goto fail; }
  /* Without this the ring also holds every frame anyone transmits on the interface,
   * including the ones the switch itself sends out of other sockets on it. */
  if (setsockopt(p->fd, SOL_PACKET, PACKET_IGNORE_OUTGOING, &one, sizeof one) < 0) { rc = sys_error(e, errno, "setsockopt(PACKET_IGNORE_OUTGOING)"); goto fail; }
  if (p->version == 2) {
    /* The copy path for frames larger than a ring frame (see the top of this file). */
    if (setsockopt(p->fd, SOL_PACKET, PACKET_COPY_THRESH, &one, sizeof one) < 0) { rc = sys_error(e, errno, "setsockopt(PACKET_COPY_THRESH)"); goto fail; }
    int rcvbuf = RCVBUF_BYTES;
    if (setsockopt(p->fd, SOL_SOCKET, SO_RCVBUFFORCE, &rcvbuf, sizeof rcvbuf) < 0)
      (void)setsockopt(p->fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof rcvbuf);
  }
  if ((rc = setup_ring(p, o, (unsigned)nd.mtu, e)) < 0) goto fail;

  struct packet_mreq mr;
  memset(&mr, 0, sizeof mr);
  mr.mr_ifindex = p->ifindex;
  mr.mr_type = PACKET_MR_PROMISC;
  if (setsockopt(p->fd, SOL_PACKET, PACKET_ADD_MEMBERSHIP, &mr, sizeof mr) < 0) { rc = sys_error(e, errno, "setsockopt(PACKET_ADD_MEMBERSHIP)"); goto fail; }
  if (!(nd.flags & IFF_UP) && (rc = nd_set_up(ifname, e)) < 0) goto fail;

  struct sockaddr_ll sll;
  memset(&sll, 0, sizeof sll);
  sll.sll_family = AF_PACKET;
  sll.sll_protocol = htons(ETH_P_ALL);
  sll.sll_ifindex = p->ifindex;
  if (bind(p->fd, (struct sockaddr *)&sll, sizeof sll) < 0) { rc = sys_error(e, errno, "bind"); goto fail; }

  /* A full burst of 64 KiB GSO frames must fit the send queue or sendmmsg stops early.
   * SO_SNDBUFFORCE ignores wmem_max (needs CAP_NET_ADMIN, which we have by now). */
  int sndbuf = SNDBUF_BYTES;
  if (setsockopt(p->fd, SOL_SOCKET, SO_SNDBUFFORCE, &sndbuf, sizeof sndbuf) < 0)
    (void)setsockopt(p->fd, SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof sndbuf);
  if (o->tx_ring && (rc = txr_open(p->ifindex, (unsigned)nd.mtu, p->vnet, &p->txr, e)) < 0) goto fail;

  *out = p;
  return 0;
fail:
  afp_close(p);
  return rc;
}

int afp_fd(const struct afp_port *p) { return p->fd; }
const char *afp_name(const struct afp_port *p) { return p->name; }
const char *afp_ring_name(const struct afp_port *p) { return p->version == 3 ? "v3" : "v2"; }

void afp_ring_info(const struct afp_port *p, struct afp_ring_info *out) {
  out->bytes = p->ring_len;
  out->frame_size = p->frame_size;
  out->frames = p->version == 3 ? p->block_nr : p->frame_nr;
  out->tx_bytes = txr_bytes(p->txr);
  out->tx_frame_size = txr_frame_size(p->txr);
  out->tx_frames = txr_frames(p->txr);
}

int afp_info(const struct afp_port *p, struct nd_info *out, struct tvs_err *e) {
  /* Resolve by index: the interface may have been renamed since it was opened. */
  char name[IFNAMSIZ];
  if (if_indextoname((unsigned)p->ifindex, name) == NULL) return tvs_fail(e, ENODEV, "if_indextoname", "no such interface");
  int rc = nd_lookup(name, out, e);
  if (rc == 0 && p->txr) txr_set_mtu(p->txr, (unsigned)out->mtu);
  return rc;
}

/* The kernel stripped a tag: put it back between the MACs and the EtherType of the frame at
 * `dst`, whose bytes from offset 12 on are already at dst + 16. */
static inline void put_tag(const struct afp_port *p, uint8_t *hdr, uint8_t *dst, uint32_t status, uint16_t tci, uint16_t tpid) {
  tvs_put_be16(dst + 12, (status & TP_STATUS_VLAN_TPID_VALID) ? tpid : ETH_P_8021Q);
  tvs_put_be16(dst + 14, tci);
  if (p->vnet) {
    /* The offload offsets count from the start of the frame, which just grew by 4 in front
     * of L3. hdr_len is only a hint, but keep it consistent (and <= frame length). */
    if (hdr[VNET_FLAGS] & VNET_F_NEEDS_CSUM) tvs_put_le16(hdr + VNET_CSUM_START, tvs_le16(hdr + VNET_CSUM_START) + 4);
    uint16_t hl = tvs_le16(hdr + VNET_HDR_LEN);
    if (hl) tvs_put_le16(hdr + VNET_HDR_LEN, hl + 4);
  }
}

/* Take the next frame off the socket queue and throw it away (it did not fit a slot). */
static void discard_queued(struct afp_port *p) {
  uint8_t b;
  (void)recv(p->fd, &b, 1, MSG_DONTWAIT | MSG_TRUNC);
}

/*
 * A ring frame marked TP_STATUS_COPY only holds the first bytes of its frame; the whole frame
 * (vnet header first, when enabled) waits on the socket queue, in ring order. Read it straight
 * into the slot, 4 bytes further in when a tag has to be put back in front of its EtherType.
 */
static int recv_copied(struct afp_port *p, const struct tvs_arena *a, uint32_t slot, uint32_t len, uint32_t status,
                       uint16_t tci, uint16_t tpid) {
  int tagged = (status & TP_STATUS_VLAN_VALID) != 0;
  uint32_t base = tvs_slot_base(a, slot);
  uint8_t *hdr = a->bytes + base;
  uint8_t *dst = hdr + a->headroom;
  uint32_t shift = tagged ? 4 : 0;
  struct iovec v[2];
  v[0].iov_base = hdr;
  v[0].iov_len = TVS_VNET_HDR_LEN;
  v[1].iov_base = dst + shift;
  v[1].iov_len = tvs_slot_size(a, slot) - a->headroom - shift;
  struct msghdr m;
  memset(&m, 0, sizeof m);
  m.msg_iov = p->vnet ? v : v + 1;
  m.msg_iovlen = p->vnet ? 2 : 1;
  ssize_t r = recvmsg(p->fd, &m, MSG_DONTWAIT | MSG_TRUNC);
  uint32_t got = r < 0 ? 0 : (uint32_t)r - (p->vnet ? TVS_VNET_HDR_LEN : 0);
  /* Not there (cannot happen: the kernel queues it before it marks the ring frame) or not the
   * frame the ring announced: drop it rather than forward the wrong bytes. */
  if (r < (p->vnet ? TVS_VNET_HDR_LEN : 0) || got != len || (m.msg_flags & MSG_TRUNC) || (tagged && len < 12)) {
    p->stats.rx_oversize++;
    return 0;
  }
  if (!p->vnet) memset(hdr, 0, TVS_VNET_HDR_LEN);
  if (tagged) {
    memmove(dst, dst + 4, 12);
    put_tag(p, hdr, dst, status, tci, tpid);
  }
  a->start[slot] = base + a->headroom;
  a->len[slot] = len + shift;
  return 1;
}

/*
 * Copy one ring frame into an arena slot. Returns 1 if the slot now holds the frame, 0 if the
 * frame was dropped (counted) and the slot is still free for the next one.
 */
static inline int copy_frame(struct afp_port *p, const struct tvs_arena *a, uint32_t slot, const uint8_t *mac,
                             uint32_t snaplen, uint32_t len, uint32_t status, uint16_t tci, uint16_t tpid) {
  int tagged = (status & TP_STATUS_VLAN_VALID) != 0; /* the flag, not tci != 0: tci 0 is a priority tag */
  uint32_t out = len + (tagged ? 4 : 0);
  if (out > tvs_slot_size(a, slot) - a->headroom) {
    if (status & TP_STATUS_COPY) discard_queued(p);
    p->stats.rx_oversize++;
    return 0;
  }
  if (status & TP_STATUS_COPY) return recv_copied(p, a, slot, len, status, tci, tpid);
  /* snaplen < len without TP_STATUS_COPY: the ring truncated it and the socket queue was full
   * (rcvbuf): a truncated frame must never be forwarded as if it were whole. */
  if (snaplen < len || (tagged && len < 12)) {
    p->stats.rx_oversize++;
    return 0;
  }
  uint32_t base = tvs_slot_base(a, slot);
  uint8_t *hdr = a->bytes + base;
  uint8_t *dst = hdr + a->headroom;
  if (p->vnet) memcpy(hdr, mac - TVS_VNET_HDR_LEN, TVS_VNET_HDR_LEN); /* the kernel puts it right before the MAC header */
  else memset(hdr, 0, TVS_VNET_HDR_LEN);
  if (tagged) {
    memcpy(dst, mac, 12); /* dst + src MAC */
    memcpy(dst + 16, mac + 12, len - 12);
    put_tag(p, hdr, dst, status, tci, tpid);
  } else {
    memcpy(dst, mac, len);
  }
  a->start[slot] = base + a->headroom;
  a->len[slot] = out;
  return 1;
}

/* The status words are shared with the kernel: acquire before reading the frame, release
 * after we are done with it (the kernel's side does the matching smp_wmb / smp_rmb). */
static inline uint32_t load_status(volatile uint32_t *s) { return __atomic_load_n(s, __ATOMIC_ACQUIRE); }
static inline void give_back(volatile uint32_t *s) { __atomic_store_n(s, TP_STATUS_KERNEL, __ATOMIC_RELEASE); }

/*
 * Which offered slot the next frame goes to: a small one when it fits (slots[0..max) in order),
 * else a large one (slots[max..max+large) in order). 0 when that class has none left this burst
 * (the frame stays in the ring for the next call). A frame too big for any slot takes a small
 * slot, where copy_frame drops and counts it, so it never blocks the ring.
 */
struct rx_pick {
  uint32_t *slots;
  int max, large, ns, nl;
};

static inline int pick_slot(struct rx_pick *r, const struct tvs_arena *a, uint32_t out, uint32_t *slot) {
  if (out <= tvs_small_max(a) || out > a->large_size - a->headroom) {
    if (r->ns == r->max) return 0;
    *slot = r->slots[r->ns];
    return 1;
  }
  if (r->nl == r->large) return 0;
  *slot = r->slots[r->max + r->nl];
  return 2;
}

static inline void took(struct rx_pick *r, int cls) {
  if (cls == 1) r->ns++;
  else r->nl++;
}

static inline uint32_t out_len(uint32_t len, uint32_t status) {
  return len + ((status & TP_STATUS_VLAN_VALID) ? 4 : 0);
}

static int rx_v3(struct afp_port *p, const struct tvs_arena *a, struct rx_pick *r, uint32_t *used) {
  int n = 0;
  while (n < r->max) {
    struct tpacket_block_desc *bd = (struct tpacket_block_desc *)(p->ring + (size_t)p->cur * p->block_size);
    if (p->pkt == NULL) {
      if (!(load_status(&bd->hdr.bh1.block_status) & TP_STATUS_USER)) break;
      p->pkt = (uint8_t *)bd + bd->hdr.bh1.offset_to_first_pkt;
      p->pkt_left = bd->hdr.bh1.num_pkts;
    }
    /* Stopping mid-block is normal (the batch is full): the cursor stays here and the next
     * call resumes with the next packet of this block. */
    int stalled = 0;
    while (p->pkt_left > 0 && n < r->max) {
      struct tpacket3_hdr *h = (struct tpacket3_hdr *)p->pkt;
      uint32_t slot;
      int cls = pick_slot(r, a, out_len(h->tp_len, h->tp_status), &slot);
      if (!cls) { stalled = 1; break; }
      if (copy_frame(p, a, slot, p->pkt + h->tp_mac, h->tp_snaplen, h->tp_len, h->tp_status,
                     h->hv1.tp_vlan_tci, h->hv1.tp_vlan_tpid)) {
        used[n++] = slot;
        took(r, cls);
      }
      p->pkt += h->tp_next_offset;
      p->pkt_left--;
    }
    if (p->pkt_left == 0) {
      give_back(&bd->hdr.bh1.block_status);
      p->pkt = NULL;
      p->cur = p->cur + 1 == p->block_nr ? 0 : p->cur + 1;
    }
    if (stalled) break;
  }
  return n;
}

static int rx_v2(struct afp_port *p, const struct tvs_arena *a, struct rx_pick *r, uint32_t *used) {
  int n = 0;
  while (n < r->max) {
    /* Frames never straddle blocks: address = block * block_size + index_in_block * frame_size. */
    unsigned b = p->cur / p->frames_per_block, i = p->cur % p->frames_per_block;
    struct tpacket2_hdr *h = (struct tpacket2_hdr *)(p->ring + (size_t)b * p->block_size + (size_t)i * p->frame_size);
    uint32_t st = load_status(&h->tp_status);
    if (!(st & TP_STATUS_USER)) break;
    uint32_t slot;
    int cls = pick_slot(r, a, out_len(h->tp_len, st), &slot);
    if (!cls) break;
    if (copy_frame(p, a, slot, (uint8_t *)h + h->tp_mac, h->tp_snaplen, h->tp_len, st, h->tp_vlan_tci, h->tp_vlan_tpid)) {
      used[n++] = slot;
      took(r, cls);
    }
    give_back(&h->tp_status);
    p->cur = p->cur + 1 == p->frame_nr ? 0 : p->cur + 1;
  }
  return n;
}

int afp_check_error(struct afp_port *p) {
  if (p->dead) return -p->dead;
  int err = 0;
  socklen_t l = sizeof err;
  /* Reading SO_ERROR clears it, so POLLERR stops firing. The kernel sets ENETDOWN both when
   * the link goes admin-down (it re-arms the socket when the link comes back up) and when the
   * device is unregistered (the socket is then unbound forever): only the second is fatal. */
  if (getsockopt(p->fd, SOL_SOCKET, SO_ERROR, &err, &l) < 0) err = errno;
  if (!nd_index_exists(p->ifindex)) {
    p->dead = err ? err : ENETDOWN;
    return -p->dead;
  }
  return 0;
}

int afp_rx_burst(struct afp_port *p, const struct tvs_arena *a, uint32_t *slots, int max, int large) {
  if (p->dead) return -p->dead;
  struct rx_pick r = {slots, max, large, 0, 0};
  uint32_t used[TVS_MAX_OFFER];
  int n = p->version == 3 ? rx_v3(p, a, &r, used) : rx_v2(p, a, &r, used);
  /* Only a burst that used a large slot is out of offer order: report the arrival order. */
  if (r.nl > 0) memcpy(slots, used, (size_t)n * sizeof *slots);
  if (n > 0 || max == 0) return n;
  /* Ring empty: the only time we pay a syscall, to notice a vanished interface (POLLERR). */
  struct pollfd pfd = {.fd = p->fd, .events = POLLIN};
  if (poll(&pfd, 1, 0) > 0 && (pfd.revents & (POLLERR | POLLNVAL))) return afp_check_error(p);
  return 0;
}

/*
 * Frames waiting in the ring, without a syscall: the status word at the read cursor (V2: the
 * next frame; V3: the open block still has packets, or the next block was retired to us). The
 * adaptive spin in the addon asks this between bursts; it is a couple of loads.
 */
int afp_rx_ready(const struct afp_port *p) {
  if (p->dead) return 0;
  if (p->version == 3) {
    if (p->pkt != NULL && p->pkt_left > 0) return 1;
    const struct tpacket_block_desc *bd = (const struct tpacket_block_desc *)(p->ring + (size_t)p->cur * p->block_size);
    return (load_status((volatile uint32_t *)&bd->hdr.bh1.block_status) & TP_STATUS_USER) != 0;
  }
  unsigned b = p->cur / p->frames_per_block, i = p->cur % p->frames_per_block;
  const struct tpacket2_hdr *h = (const struct tpacket2_hdr *)(p->ring + (size_t)b * p->block_size + (size_t)i * p->frame_size);
  return (load_status((volatile uint32_t *)&h->tp_status) & TP_STATUS_USER) != 0;
}

uint64_t afp_rx_stamp(const struct afp_port *p) {
  if (p->dead || p->version == 3) return 0;
  unsigned b = p->cur / p->frames_per_block, i = p->cur % p->frames_per_block;
  const struct tpacket2_hdr *h = (const struct tpacket2_hdr *)(p->ring + (size_t)b * p->block_size + (size_t)i * p->frame_size);
  if (!(load_status((volatile uint32_t *)&h->tp_status) & TP_STATUS_USER)) return 0;
  return (uint64_t)h->tp_sec * 1000000000ull + h->tp_nsec;
}

/* Errors that mean the port itself is unusable, as opposed to one frame being refused. */
static int port_level_error(int err) {
  return err == ENXIO || err == ENODEV || err == ENETDOWN || err == EBADF || err == EBADFD || err == ENOTCONN;
}

/* sendmmsg slots[0..n): frames taken or -errno. Stops at a full send queue (the rest are the
 * caller's); a frame the kernel refuses is counted and skipped. */
static int tx_mmsg(struct afp_port *p, const struct tvs_arena *a, const uint32_t *slots, int n) {
  int sent = 0, i = 0;
  while (i < n) {
    int k = n - i < TX_BATCH ? n - i : TX_BATCH;
    for (int j = 0; j < k; j++) {
      uint32_t s = slots[i + j];
      struct iovec *v = p->iov[j];
      struct msghdr *m = &p->msgs[j].msg_hdr;
      memset(m, 0, sizeof *m);
      v[0].iov_base = a->bytes + tvs_slot_base(a, s); /* vnet header at the slot base */
      v[0].iov_len = TVS_VNET_HDR_LEN;
      v[1].iov_base = a->bytes + a->start[s];
      v[1].iov_len = a->len[s];
      m->msg_iov = p->vnet ? v : v + 1;
      m->msg_iovlen = p->vnet ? 2 : 1;
    }
    int r = sendmmsg(p->fd, p->msgs, (unsigned)k, MSG_DONTWAIT);
    if (r > 0) {
      sent += r;
      i += r;
      continue; /* if r < k, the retry reports the error of message r (sendmmsg drops it) */
    }
    int err = r < 0 ? errno : EAGAIN;
    if (err == EINTR) continue;
    if (err == EAGAIN || err == EWOULDBLOCK || err == ENOBUFS) break; /* queue full: the rest are the caller's */
    if (port_level_error(err)) {
      if (sent == 0) return -err;
      break;
    }
    /* One frame refused (EMSGSIZE above MTU, EINVAL bad vnet header...): skip it rather than
     * dropping the frames behind it. */
    p->stats.tx_errors++;
    i++;
  }
  return sent;
}

/*
 * With a TX ring: runs of frames that fit it go through it, the others through sendmmsg, in
 * order (each call is synchronous, so the order on the wire is the burst's order). The ring and
 * sendmmsg fill two different things (the ring's frames, the port socket's send buffer): a run
 * that comes back short says nothing about the next run of the other kind, so every run is
 * tried. The frames a short run left are the caller's (tx_full); the frames sent after them
 * still leave in the burst's order.
 */
static int tx_mixed(struct afp_port *p, const struct tvs_arena *a, const uint32_t *slots, int n) {
  int sent = 0, i = 0;
  while (i < n) {
    int ring = txr_fits(p->txr, a, slots[i]), j = i + 1;
    while (j < n && txr_fits(p->txr, a, slots[j]) == ring) j++;
    int r = ring ? txr_burst(p->txr, a, slots + i, j - i, &p->stats) : tx_mmsg(p, a, slots + i, j - i);
    if (r < 0) return sent ? sent : r;
    sent += r;
    i = j;
  }
  return sent;
}

int afp_tx_burst(struct afp_port *p, const struct tvs_arena *a, const uint32_t *slots, int n) {
  return p->txr ? tx_mixed(p, a, slots, n) : tx_mmsg(p, a, slots, n);
}

void afp_stats(struct afp_port *p, struct tvs_stats *out) {
  /* PACKET_STATISTICS resets the kernel counters on every read: accumulate. */
  struct tpacket_stats_v3 st;
  socklen_t l = sizeof st;
  memset(&st, 0, sizeof st);
  if (p->fd >= 0 && getsockopt(p->fd, SOL_PACKET, PACKET_STATISTICS, &st, &l) == 0) p->stats.kernel_drops += st.tp_drops;
  *out = p->stats;
}

void afp_close(struct afp_port *p) {
  if (!p) return;
  txr_close(p->txr);
  if (p->ring) munmap(p->ring, p->ring_len);
  if (p->fd >= 0) close(p->fd);
  free(p);
}
