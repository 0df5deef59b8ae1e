/* Tunnel underlay sockets: see underlay.h for what crosses to JS and why these sockets. */
#include "underlay.h"

#include <errno.h>
#include <linux/filter.h>
#include <linux/udp.h>
#include <netinet/in.h>
#include <netinet/ip.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>
#include <arpa/inet.h>

#define UL_BATCH 64 /* recvmmsg/sendmmsg chunk; preallocated in the port, so bursts never allocate */
/* Kernel memory for outer packets waiting between two reads (used only while they wait). */
#define UL_RCVBUF (4 << 20)
#define UL_SNDBUF (4 << 20)
#define PKTINFO_SPACE CMSG_SPACE(sizeof(struct in_pktinfo))
#ifndef UDP_SEGMENT
#define UDP_SEGMENT 103
#endif
/* VXLAN send sockets: UDP sockets on ephemeral ports of local_ip; a frame goes out of the one
 * its flow's hashed source port picks (so one flow keeps one port), and a run of same-flow,
 * same-size frames (a segmented TSO frame, a flood) leaves in ONE sendmsg with UDP_SEGMENT: the
 * kernel routes, queues and forwards one GSO packet instead of one per frame (a NIC or the
 * receiver's kernel splits it). */
#define UL_POOL 8
/* Frames per GSO send: UDP_MAX_SEGMENTS is 64 on older kernels; bytes: one IPv4 datagram. */
#define UL_GSO_MAX_SEGS 64
#define UL_GSO_MAX_BYTES (65535 - 20 - 8)
/* IP_TOS + IP_TTL + UDP_SEGMENT per message. */
#define TXCTL_SPACE (2 * CMSG_SPACE(sizeof(int)) + CMSG_SPACE(sizeof(uint16_t)))

struct ul_port {
  int kind;
  int rx_fd, tx_fd; /* GRE: the same socket */
  uint32_t local;
  uint16_t port;
  char name[IFNAMSIZ];
  struct tvs_stats stats;
  struct mmsghdr msgs[UL_BATCH];
  struct iovec iov[UL_BATCH];
  struct sockaddr_in addr[UL_BATCH];
  uint8_t ctl[UL_BATCH][PKTINFO_SPACE];
  int pool[UL_POOL]; /* VXLAN UDP send sockets; pool_n = 0: raw only */
  int pool_n;
  uint8_t txctl[UL_BATCH][TXCTL_SPACE];
  int msg_first[UL_BATCH], msg_cnt[UL_BATCH]; /* a message's frames: slots[first .. first+cnt) */
};

static int ul_error(struct tvs_err *e, int err, const char *syscall) {
  switch (err) {
  case EPERM:
  case EACCES:
    return tvs_fail(e, err, syscall, "raw IP sockets need CAP_NET_RAW (run as root)");
  case EADDRINUSE:
    return tvs_fail(e, err, syscall, "the UDP port is already bound on that address (a kernel vxlan device or another switch?)");
  case EADDRNOTAVAIL:
    return tvs_fail(e, err, syscall, "local_ip is not an address of this host (or of the namespace the switch runs in)");
  default:
    return tvs_fail(e, err, syscall, NULL);
  }
}

/* A raw socket also receives a copy of every matching packet of the namespace: a send-only one
 * takes none (a filter that accepts 0 bytes drops them before they are queued). */
static int drop_all_input(int fd) {
  struct sock_filter code[] = {{BPF_RET | BPF_K, 0, 0, 0}};
  struct sock_fprog prog = {1, code};
  return setsockopt(fd, SOL_SOCKET, SO_ATTACH_FILTER, &prog, sizeof prog);
}

static void set_bufs(int fd) {
  int v = UL_RCVBUF;
  /* FORCE (root) goes past net.core.rmem_max; the plain one is the fallback. */
  if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &v, sizeof v) < 0) setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &v, sizeof v);
  v = UL_SNDBUF;
  if (setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &v, sizeof v) < 0) setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &v, sizeof v);
}

/* Best effort: without the pool every frame takes the raw socket (as before). */
static void open_pool(struct ul_port *p, const struct sockaddr_in *local) {
  int pmtu = IP_PMTUDISC_DO; /* DF, never fragmented: frames without DF take the raw socket */
  struct sockaddr_in sa = *local;
  sa.sin_port = 0;
  for (int i = 0; i < UL_POOL; i++) {
    int fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) break;
    if (bind(fd, (struct sockaddr *)&sa, sizeof sa) < 0 || drop_all_input(fd) < 0 ||
        setsockopt(fd, IPPROTO_IP, IP_MTU_DISCOVER, &pmtu, sizeof pmtu) < 0) {
      close(fd);
      break;
    }
    set_bufs(fd);
    p->pool[p->pool_n++] = fd;
  }
}

int ul_open(const struct ul_opts *o, struct ul_port **out, struct tvs_err *e) {
  int rc, one = 1;
  *out = NULL;
  if (o->kind != TVS_UL_VXLAN && o->kind != TVS_UL_GRE) return tvs_fail(e, EINVAL, "socket", "kind must be vxlan or gre");
  struct ul_port *p = calloc(1, sizeof *p);
  if (!p) return tvs_fail(e, ENOMEM, "calloc", NULL);
  p->kind = o->kind;
  p->local = o->local;
  p->port = o->port;
  p->rx_fd = p->tx_fd = -1;
  snprintf(p->name, sizeof p->name, o->kind == TVS_UL_VXLAN ? "udp:%u" : "gre", (unsigned)o->port);
  struct sockaddr_in sa;
  memset(&sa, 0, sizeof sa);
  sa.sin_family = AF_INET;
  sa.sin_addr.s_addr = o->local;

  if (o->kind == TVS_UL_VXLAN) {
    p->rx_fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (p->rx_fd < 0) { rc = ul_error(e, errno, "socket(udp)"); goto fail; }
    if (setsockopt(p->rx_fd, IPPROTO_IP, IP_PKTINFO, &one, sizeof one) < 0) { rc = ul_error(e, errno, "setsockopt(IP_PKTINFO)"); goto fail; }
    sa.sin_port = htons(o->port);
    if (bind(p->rx_fd, (struct sockaddr *)&sa, sizeof sa) < 0) { rc = ul_error(e, errno, "bind(udp)"); goto fail; }
    /* IPPROTO_RAW, not IPPROTO_UDP: a raw socket of protocol UDP is handed a clone of every UDP
     * packet the namespace receives (the filter below then drops it), one per VXLAN packet in. */
    p->tx_fd = socket(AF_INET, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, IPPROTO_RAW);
    if (p->tx_fd < 0) { rc = ul_error(e, errno, "socket(raw udp)"); goto fail; }
    if (drop_all_input(p->tx_fd) < 0) { rc = ul_error(e, errno, "setsockopt(SO_ATTACH_FILTER)"); goto fail; }
    open_pool(p, &sa);
  } else {
    p->rx_fd = p->tx_fd = socket(AF_INET, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, IPPROTO_GRE);
    if (p->rx_fd < 0) { rc = ul_error(e, errno, "socket(raw gre)"); goto fail; }
    if (setsockopt(p->rx_fd, IPPROTO_IP, IP_PKTINFO, &one, sizeof one) < 0) { rc = ul_error(e, errno, "setsockopt(IP_PKTINFO)"); goto fail; }
    /* Bound to local_ip: only GRE packets addressed to it arrive. */
    if (o->local != 0 && bind(p->rx_fd, (struct sockaddr *)&sa, sizeof sa) < 0) { rc = ul_error(e, errno, "bind(gre)"); goto fail; }
  }
  if (setsockopt(p->tx_fd, IPPROTO_IP, IP_HDRINCL, &one, sizeof one) < 0) { rc = ul_error(e, errno, "setsockopt(IP_HDRINCL)"); goto fail; }
  set_bufs(p->rx_fd);
  if (p->tx_fd != p->rx_fd) set_bufs(p->tx_fd);
  *out = p;
  return 0;
fail:
  ul_close(p);
  return rc;
}

int ul_fd(const struct ul_port *p) { return p->rx_fd; }
const char *ul_name(const struct ul_port *p) { return p->name; }

int ul_info(const struct ul_port *p, struct nd_info *out, struct tvs_err *e) {
  memset(out, 0, sizeof *out);
  nd_copy_name(out->name, p->name);
  return 0;
}

int ul_rx_burst(struct ul_port *p, const struct tvs_arena *a, uint32_t *slots, int max, int large) {
  int n = 0;
  while (n < max) {
    int k = max - n < UL_BATCH ? max - n : UL_BATCH;
    for (int j = 0; j < k; j++) {
      uint32_t s = slots[n + j];
      uint32_t base = tvs_slot_base(a, s);
      struct msghdr *m = &p->msgs[j].msg_hdr;
      p->iov[j].iov_base = a->bytes + base + a->headroom;
      p->iov[j].iov_len = tvs_slot_size(a, s) - a->headroom;
      m->msg_name = &p->addr[j];
      m->msg_namelen = sizeof p->addr[j];
      m->msg_iov = &p->iov[j];
      m->msg_iovlen = 1;
      m->msg_control = p->ctl[j];
      m->msg_controllen = PKTINFO_SPACE;
      m->msg_flags = 0;
    }
    int r = recvmmsg(p->rx_fd, p->msgs, (unsigned)k, MSG_DONTWAIT, NULL);
    if (r < 0) {
      int err = errno;
      if (err == EINTR) continue;
      if (err == EAGAIN || err == EWOULDBLOCK) break;
      if (n > 0) break;
      return -err;
    }
    if (r == 0) break;
    /* Fill a prefix of the offered slots (JS takes exactly slots[0..n) from its free list):
     * a truncated packet leaves a hole that the packets behind it are copied down into (rare:
     * a UDP payload above a small slot's frame area). */
    int kept = 0;
    for (int j = 0; j < r; j++) {
      struct msghdr *m = &p->msgs[j].msg_hdr;
      if (m->msg_flags & (MSG_TRUNC | MSG_CTRUNC)) {
        p->stats.rx_oversize++;
        continue;
      }
      uint32_t s = slots[n + kept];
      uint32_t base = tvs_slot_base(a, s);
      uint32_t len = p->msgs[j].msg_len;
      if (kept != j) memcpy(a->bytes + base + a->headroom, p->iov[j].iov_base, len);
      uint32_t dst = p->local;
      for (struct cmsghdr *c = CMSG_FIRSTHDR(m); c; c = CMSG_NXTHDR(m, c))
        if (c->cmsg_level == IPPROTO_IP && c->cmsg_type == IP_PKTINFO) dst = ((struct in_pktinfo *)CMSG_DATA(c))->ipi_addr.s_addr;
      uint8_t *meta = a->bytes + base + a->headroom - TVS_UL_META;
      memcpy(meta, &p->addr[j].sin_addr.s_addr, 4);
      memcpy(meta + 4, &dst, 4);
      memset(a->bytes + base, 0, TVS_VNET_HDR_LEN); /* no offload state: a plain frame */
      a->start[s] = base + a->headroom;
      a->len[s] = len;
      kept++;
    }
    n += kept;
    if (r < k) break;
  }
  return n;
}

static int is_unreachable(int err) {
  return err == ENETUNREACH || err == EHOSTUNREACH || err == EHOSTDOWN || err == ENETDOWN || err == EADDRNOTAVAIL;
}

/* The pool socket a frame leaves by, or -1 for the raw socket: only a plain DF-marked IPv4/UDP
 * packet from local_ip (no options, not a fragment, a TTL) can, since the kernel then writes the
 * outer IPv4 and UDP headers itself (TOS and TTL from the frame, per message). */
static int pool_pick(const struct ul_port *p, const uint8_t *b, uint32_t len) {
  if (p->pool_n == 0 || len < 28 || b[0] != 0x45 || b[9] != IPPROTO_UDP || (b[6] & 0xff) != 0x40 || b[7] != 0 || b[8] == 0) return -1;
  uint32_t src;
  memcpy(&src, b + 12, 4);
  if (src != p->local) return -1;
  return (int)(((uint32_t)b[20] << 8 | b[21]) % (uint32_t)p->pool_n);
}

static struct cmsghdr *put_cmsg(struct cmsghdr *c, int level, int type, const void *v, size_t n) {
  c->cmsg_level = level;
  c->cmsg_type = type;
  c->cmsg_len = CMSG_LEN(n);
  memcpy(CMSG_DATA(c), v, n);
  return (struct cmsghdr *)((uint8_t *)c + CMSG_SPACE(n));
}

/* How many frames from slots[j] (which pool_pick gave `pi`) make one GSO send: the same outer
 * addresses, ports, TOS and TTL, the same UDP payload size, except a shorter last one. */
static int gso_run(const struct ul_port *p, const struct tvs_arena *a, const uint32_t *slots, int j, int k, int pi) {
  const uint8_t *b = a->bytes + a->start[slots[j]];
  uint32_t seg = a->len[slots[j]] - 28, total = seg;
  int c = 1;
  while (seg > 0 && j + c < k && c < UL_GSO_MAX_SEGS) {
    uint32_t s2 = slots[j + c];
    const uint8_t *b2 = a->bytes + a->start[s2];
    uint32_t len2 = a->len[s2];
    if (pool_pick(p, b2, len2) != pi || memcmp(b2 + 16, b + 16, 4) != 0 || memcmp(b2 + 20, b + 20, 4) != 0 || b2[1] != b[1] || b2[8] != b[8]) break;
    uint32_t l2 = len2 - 28;
    if (l2 == 0 || l2 > seg || total + l2 > UL_GSO_MAX_BYTES) break;
    total += l2;
    c++;
    if (l2 < seg) break; /* a shorter one ends a GSO run (the last segment) */
  }
  return c;
}

/* One message from frames slots[j..): the whole packet by the raw socket, or (pool) the UDP
 * payload of it and of the same-flow, same-size frames behind it as one GSO send. Returns the
 * frames it takes. */
static int build_msg(struct ul_port *p, const struct tvs_arena *a, const uint32_t *slots, int j, int k, int nm, int pi) {
  uint32_t s = slots[j];
  const uint8_t *b = a->bytes + a->start[s];
  uint32_t len = a->len[s];
  struct msghdr *m = &p->msgs[nm].msg_hdr;
  memset(m, 0, sizeof *m);
  struct sockaddr_in *sa = &p->addr[nm];
  memset(sa, 0, sizeof *sa);
  sa->sin_family = AF_INET;
  memcpy(&sa->sin_addr.s_addr, b + 16, 4);
  m->msg_name = sa;
  m->msg_namelen = sizeof *sa;
  m->msg_iov = &p->iov[j];
  p->msg_first[nm] = j;
  if (pi < 0) {
    p->iov[j].iov_base = (void *)b;
    p->iov[j].iov_len = len;
    m->msg_iovlen = 1;
    return p->msg_cnt[nm] = 1;
  }
  memcpy(&sa->sin_port, b + 22, 2);
  int c = gso_run(p, a, slots, j, k, pi);
  for (int i = 0; i < c; i++) {
    uint32_t si = slots[j + i];
    p->iov[j + i].iov_base = a->bytes + a->start[si] + 28;
    p->iov[j + i].iov_len = a->len[si] - 28;
  }
  uint32_t seg = len - 28;
  m->msg_iovlen = (size_t)c;
  struct cmsghdr *cm = (struct cmsghdr *)p->txctl[nm];
  int tos = b[1], ttl = b[8];
  cm = put_cmsg(cm, IPPROTO_IP, IP_TOS, &tos, sizeof tos);
  cm = put_cmsg(cm, IPPROTO_IP, IP_TTL, &ttl, sizeof ttl);
  {
    uint16_t gso = (uint16_t)seg;
    cm = put_cmsg(cm, IPPROTO_UDP, UDP_SEGMENT, &gso, sizeof gso);
  }
  m->msg_control = p->txctl[nm];
  m->msg_controllen = (size_t)((uint8_t *)cm - p->txctl[nm]);
  return p->msg_cnt[nm] = c;
}

int ul_tx_burst(struct ul_port *p, const struct tvs_arena *a, const uint32_t *slots, int n) {
  int done = 0;
  while (done < n) {
    int k = n - done < UL_BATCH ? n - done : UL_BATCH;
    /* Messages for the frames ahead that leave by the same socket (one sendmmsg). */
    int fd = -1, nm = 0, j = 0;
    while (j < k) {
      uint32_t s = slots[done + j];
      if (a->len[s] < 20) return -EINVAL; /* JS always hands whole IPv4 packets */
      int pi = p->kind == TVS_UL_VXLAN ? pool_pick(p, a->bytes + a->start[s], a->len[s]) : -1;
      /* A lone frame keeps the raw socket: its outer UDP checksum stays 0 and its source port
       * the flow hash (a GSO send's checksum is left partial across a veth, which a reader of
       * the underlay by AF_PACKET, such as OVS's userspace datapath, would take as wrong). */
      if (pi >= 0 && gso_run(p, a, slots + done, j, k, pi) < 2) pi = -1;
      int f = pi < 0 ? p->tx_fd : p->pool[pi];
      if (nm > 0 && f != fd) break;
      fd = f;
      j += build_msg(p, a, slots + done, j, k, nm, pi);
      nm++;
    }
    int r = sendmmsg(fd, p->msgs, (unsigned)nm, MSG_DONTWAIT);
    if (r > 0) {
      done += r < nm ? p->msg_first[r] : j;
      continue; /* if r < nm, the retry reports the error of message r */
    }
    int err = r < 0 ? errno : EAGAIN;
    if (err == EINTR) continue;
    if (err == EAGAIN || err == EWOULDBLOCK || err == ENOBUFS) break; /* the rest are the caller's (tx_full) */
    if (err == EBADF) return done > 0 ? done : -err;
    /* One message refused: count why, skip its frames, send the ones behind it. */
    /* The refusal is also marked in the frames' lengths (the caller releases the slots after the
     * burst and reads these to count them on the port that sent them, without another call). */
    for (int i = 0; i < p->msg_cnt[0]; i++) {
      uint32_t s = slots[done + i];
      if (is_unreachable(err)) { p->stats.tx_unreachable++; a->len[s] = TVS_UL_REFUSED_UNREACHABLE; }
      else if (err == EMSGSIZE) { p->stats.tx_too_big++; a->len[s] = TVS_UL_REFUSED_TOO_BIG; }
      else { p->stats.tx_errors++; a->len[s] = TVS_UL_REFUSED_OTHER; }
    }
    done += p->msg_cnt[0];
  }
  return done;
}

int ul_check_error(struct ul_port *p) {
  int err = 0;
  socklen_t l = sizeof err;
  /* Unconnected sockets do not queue ICMP errors without IP_RECVERR; read and clear anyway. */
  if (getsockopt(p->rx_fd, SOL_SOCKET, SO_ERROR, &err, &l) < 0) return -errno;
  return 0;
}

void ul_stats(struct ul_port *p, struct tvs_stats *out) { *out = p->stats; }

void ul_close(struct ul_port *p) {
  if (!p) return;
  for (int i = 0; i < p->pool_n; i++) close(p->pool[i]);
  if (p->tx_fd >= 0 && p->tx_fd != p->rx_fd) close(p->tx_fd);
  if (p->rx_fd >= 0) close(p->rx_fd);
  free(p);
}

int ul_route_mtu(uint32_t local, uint32_t remote, struct tvs_err *e) {
  int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return ul_error(e, errno, "socket(udp)");
  struct sockaddr_in sa;
  memset(&sa, 0, sizeof sa);
  sa.sin_family = AF_INET;
  int rc;
  if (local != 0) {
    sa.sin_addr.s_addr = local;
    if (bind(fd, (struct sockaddr *)&sa, sizeof sa) < 0) { rc = ul_error(e, errno, "bind(udp)"); goto out; }
  }
  sa.sin_addr.s_addr = remote;
  sa.sin_port = htons(9); /* any port: connect() on UDP only looks up the route */
  if (connect(fd, (struct sockaddr *)&sa, sizeof sa) < 0) { rc = ul_error(e, errno, "connect(udp)"); goto out; }
  int mtu = 0;
  socklen_t l = sizeof mtu;
  if (getsockopt(fd, IPPROTO_IP, IP_MTU, &mtu, &l) < 0) { rc = ul_error(e, errno, "getsockopt(IP_MTU)"); goto out; }
  rc = mtu;
out:
  close(fd);
  return rc;
}
