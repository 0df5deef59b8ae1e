/* Tunnel underlay sockets: see underlay.h for what crosses to JS and why these sockets. */
#include "underlay.h"

#include <errno.h>
#include <linux/filter.h>
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
    p->tx_fd = socket(AF_INET, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, IPPROTO_UDP);
    if (p->tx_fd < 0) { rc = ul_error(e, errno, "socket(raw udp)"); goto fail; }
    if (drop_all_input(p->tx_fd) < 0) { rc = ul_error(e, errno, "setsockopt(SO_ATTACH_FILTER)"); goto fail; }
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

int ul_tx_burst(struct ul_port *p, const struct tvs_arena *a, const uint32_t *slots, int n) {
  int done = 0;
  while (done < n) {
    int k = n - done < UL_BATCH ? n - done : UL_BATCH;
    int ok = 0;
    for (int j = 0; j < k; j++) {
      uint32_t s = slots[done + j];
      struct msghdr *m = &p->msgs[j].msg_hdr;
      memset(m, 0, sizeof *m);
      memset(&p->addr[j], 0, sizeof p->addr[j]);
      p->addr[j].sin_family = AF_INET;
      if (a->len[s] >= 20) memcpy(&p->addr[j].sin_addr.s_addr, a->bytes + a->start[s] + 16, 4);
      else ok = -1;
      m->msg_name = &p->addr[j];
      m->msg_namelen = sizeof p->addr[j];
      p->iov[j].iov_base = a->bytes + a->start[s];
      p->iov[j].iov_len = a->len[s];
      m->msg_iov = &p->iov[j];
      m->msg_iovlen = 1;
    }
    if (ok < 0) return -EINVAL; /* JS always hands whole IPv4 packets */
    int r = sendmmsg(p->tx_fd, p->msgs, (unsigned)k, MSG_DONTWAIT);
    if (r > 0) {
      done += r;
      continue; /* if r < k, the retry reports the error of message r */
    }
    int err = r < 0 ? errno : EAGAIN;
    if (err == EINTR) continue;
    if (err == EAGAIN || err == EWOULDBLOCK || err == ENOBUFS) break; /* the rest are the caller's (tx_full) */
    if (err == EBADF) return done > 0 ? done : -err;
    /* One packet refused: count why, skip it, send the ones behind it. */
    /* The refusal is also marked in the frame's length (the caller releases the slot after the
     * burst and reads these to count it on the port that sent it, without another call). */
    uint32_t s = slots[done];
    if (is_unreachable(err)) { p->stats.tx_unreachable++; a->len[s] = TVS_UL_REFUSED_UNREACHABLE; }
    else if (err == EMSGSIZE) { p->stats.tx_too_big++; a->len[s] = TVS_UL_REFUSED_TOO_BIG; }
    else { p->stats.tx_errors++; a->len[s] = TVS_UL_REFUSED_OTHER; }
    done++;
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
