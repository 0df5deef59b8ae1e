/*
 * Link notifications from the kernel: an rtnetlink socket in RTNLGRP_LINK hears every
 * RTM_NEWLINK / RTM_DELLINK of this network namespace the moment a device's flags, carrier or
 * address change (`ip link set DEV down`, a veth whose peer went down, `ip link set DEV address`)
 * — the group OVS's netdev-linux listens to, so that tvs can announce a port's new state as soon
 * as OVS does, instead of finding it by polling. And RTM_GETLINK for one device's state now
 * (port descriptions, and reading every port again after the kernel dropped notifications).
 *
 * Control path only: the socket is watched by libuv beside the ports (linkmon_glue.c) and read
 * only when the kernel has news; reads are bounded (LM_MAX_LINKS per wakeup).
 */
#include "linkmon.h"

#include <errno.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

/* One datagram: a link message is 1-3 KB (more with SR-IOV VF lists); a truncated one counts as
 * an overrun (the caller reads every device again). */
#define LM_BUF 32768

/* Fill *out from a link message; 0 when the message is not one (or not about a device). */
static int parse_link(struct nlmsghdr *h, struct lm_link *out) {
  if (h->nlmsg_type != RTM_NEWLINK && h->nlmsg_type != RTM_DELLINK) return 0;
  if (h->nlmsg_len < NLMSG_LENGTH(sizeof(struct ifinfomsg))) return 0;
  struct ifinfomsg *ifi = NLMSG_DATA(h);
  /* AF_BRIDGE messages (a Linux bridge's port events) travel in the same group: not a device's state. */
  if (ifi->ifi_family != AF_UNSPEC) return 0;
  memset(out, 0, sizeof *out);
  out->ifindex = ifi->ifi_index;
  out->flags = ifi->ifi_flags;
  out->operstate = -1;
  out->deleted = h->nlmsg_type == RTM_DELLINK;
  int len = (int)(h->nlmsg_len - NLMSG_LENGTH(sizeof *ifi));
  for (struct rtattr *a = IFLA_RTA(ifi); RTA_OK(a, len); a = RTA_NEXT(a, len)) {
    size_t n = RTA_PAYLOAD(a);
    switch (a->rta_type) {
      case IFLA_ADDRESS:
        if (n == 6) {
          memcpy(out->mac, RTA_DATA(a), 6);
          out->has_mac = 1;
        }
        break;
      case IFLA_OPERSTATE:
        if (n >= 1) out->operstate = *(const uint8_t *)RTA_DATA(a);
        break;
      case IFLA_IFNAME: {
        size_t k = strnlen(RTA_DATA(a), n);
        if (k >= IFNAMSIZ) k = IFNAMSIZ - 1;
        memcpy(out->name, RTA_DATA(a), k);
        out->name[k] = '\0';
        break;
      }
      default:
        break;
    }
  }
  return out->ifindex > 0;
}

int lm_open(struct tvs_err *e) {
  int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, NETLINK_ROUTE);
  if (fd < 0) return tvs_fail(e, errno, "socket(AF_NETLINK)", NULL);
  struct sockaddr_nl sa;
  memset(&sa, 0, sizeof sa);
  sa.nl_family = AF_NETLINK;
  sa.nl_groups = RTMGRP_LINK;
  if (bind(fd, (struct sockaddr *)&sa, sizeof sa) < 0) {
    int err = errno;
    close(fd);
    return tvs_fail(e, err, "bind(RTMGRP_LINK)", NULL);
  }
  /* Room for a burst of notifications (many devices changing at once) before the kernel drops
   * some (ENOBUFS, then every port is read again). Best effort: the default is used if refused. */
  int rcvbuf = 1 << 20;
  setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof rcvbuf);
  return fd;
}

int lm_read(int fd, struct lm_link *out, int max, int *overrun) {
  uint8_t buf[LM_BUF] __attribute__((aligned(8)));
  int n = 0;
  for (int d = 0; d < LM_MAX_LINKS && n < max; d++) {
    struct sockaddr_nl from;
    struct iovec iov = {buf, sizeof buf};
    struct msghdr mh;
    memset(&mh, 0, sizeof mh);
    mh.msg_name = &from;
    mh.msg_namelen = sizeof from;
    mh.msg_iov = &iov;
    mh.msg_iovlen = 1;
    ssize_t r = recvmsg(fd, &mh, MSG_DONTWAIT);
    if (r < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK) break;
      if (errno == ENOBUFS) { /* the kernel dropped notifications: the caller reads all again */
        *overrun = 1;
        continue;
      }
      return n > 0 ? n : -errno;
    }
    if (r == 0) break;
    if (mh.msg_flags & MSG_TRUNC) {
      *overrun = 1;
      continue;
    }
    if (from.nl_pid != 0) continue; /* only the kernel speaks for devices */
    int len = (int)r;
    for (struct nlmsghdr *h = (struct nlmsghdr *)buf; NLMSG_OK(h, len); h = NLMSG_NEXT(h, len)) {
      if (n >= max) {
        *overrun = 1;
        break;
      }
      if (parse_link(h, &out[n])) n++;
    }
  }
  return n;
}

int lm_query(int ifindex, struct lm_link *out, struct tvs_err *e) {
  if (ifindex <= 0) return tvs_fail(e, EINVAL, "RTM_GETLINK", "no interface index");
  int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
  if (fd < 0) return tvs_fail(e, errno, "socket(AF_NETLINK)", NULL);
  /* The kernel answers at once; the timeout only guards against a reply that never comes. */
  struct timeval tv = {1, 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  struct {
    struct nlmsghdr h;
    struct ifinfomsg i;
  } req;
  memset(&req, 0, sizeof req);
  req.h.nlmsg_len = NLMSG_LENGTH(sizeof req.i);
  req.h.nlmsg_type = RTM_GETLINK;
  req.h.nlmsg_flags = NLM_F_REQUEST;
  req.h.nlmsg_seq = 1;
  req.i.ifi_family = AF_UNSPEC;
  req.i.ifi_index = ifindex;
  struct sockaddr_nl to;
  memset(&to, 0, sizeof to);
  to.nl_family = AF_NETLINK;
  int rc = -EIO;
  if (sendto(fd, &req, req.h.nlmsg_len, 0, (struct sockaddr *)&to, sizeof to) < 0) {
    rc = tvs_fail(e, errno, "sendto(RTM_GETLINK)", NULL);
    goto out;
  }
  uint8_t buf[LM_BUF] __attribute__((aligned(8)));
  for (int tries = 0; tries < 8; tries++) {
    ssize_t r = recv(fd, buf, sizeof buf, MSG_TRUNC);
    if (r < 0) {
      if (errno == EINTR) continue;
      rc = tvs_fail(e, errno, "recv(RTM_GETLINK)", NULL);
      goto out;
    }
    if ((size_t)r > sizeof buf) {
      rc = tvs_fail(e, EMSGSIZE, "recv(RTM_GETLINK)", "the link message is larger than the buffer");
      goto out;
    }
    int len = (int)r;
    for (struct nlmsghdr *h = (struct nlmsghdr *)buf; NLMSG_OK(h, len); h = NLMSG_NEXT(h, len)) {
      if (h->nlmsg_seq != 1) continue;
      if (h->nlmsg_type == NLMSG_ERROR) {
        const struct nlmsgerr *ne = NLMSG_DATA(h);
        int err = ne->error < 0 ? -ne->error : EIO;
        rc = tvs_fail(e, err, "RTM_GETLINK", err == ENODEV ? "no such interface" : NULL);
        goto out;
      }
      if (parse_link(h, out)) {
        rc = 0;
        goto out;
      }
    }
  }
  rc = tvs_fail(e, EIO, "RTM_GETLINK", "no answer from the kernel");
out:
  close(fd);
  return rc;
}
