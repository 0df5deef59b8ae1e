/*
 * TAP port. The tun driver has no batched read or write on a plain fd (only vhost and
 * XDP get batches), so a burst is a loop of readv/writev inside ONE N-API call: the syscalls
 * stay, the per-packet JS<->C crossings do not.
 *
 * The tun driver re-inserts VLAN tags itself (tun_put_user) and already counts them in the
 * vnet header's csum_start, so unlike AF_PACKET there is nothing to fix up here.
 */
#include "tap.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/if_arp.h>
#include <linux/if_tun.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <sys/uio.h>
#include <unistd.h>

struct tap_port {
  int fd;
  int vnet;
  int dead;
  struct nd_info cached; /* from open time: the device may later move to another netns */
  struct tvs_stats stats;
};

static int tap_error(struct tvs_err *e, int err, const char *syscall) {
  switch (err) {
  case EPERM:
  case EACCES:
    return tvs_fail(e, err, syscall, "needs CAP_NET_ADMIN to create or attach a TAP (run as root)");
  case EBUSY:
    return tvs_fail(e, err, syscall, "a TAP opened by another process cannot be opened again; attach it as type=afpacket");
  case ENOENT:
  case ENODEV:
    return tvs_fail(e, err, syscall, "no /dev/net/tun (is the tun module loaded?)");
  case EINVAL:
    if (strcmp(syscall, "ioctl(TUNSETIFF)") == 0)
      return tvs_fail(e, err, syscall, "the device exists but is not a single-queue TAP (TUN device or other interface type?)");
    return tvs_fail(e, err, syscall, NULL);
  default:
    return tvs_fail(e, err, syscall, NULL);
  }
}

int tap_open(const char *name, const struct tap_opts *o, struct tap_port **out, struct tvs_err *e) {
  struct ifreq ifr;
  int rc;
  *out = NULL;
  if (strlen(name) >= IFNAMSIZ) return tvs_fail(e, EINVAL, "ioctl(TUNSETIFF)", "interface names are at most 15 characters");
  /* Persist=false must only undo persistence of a device WE create: an admin's pre-made
   * persistent tap (ip tuntap add) must not vanish when the switch closes it. */
  int existed = name[0] != '\0' && if_nametoindex(name) != 0;

  struct tap_port *p = calloc(1, sizeof *p);
  if (!p) return tvs_fail(e, ENOMEM, "calloc", NULL);
  p->vnet = o->vnet_hdr;
  p->fd = open("/dev/net/tun", O_RDWR | O_NONBLOCK | O_CLOEXEC);
  if (p->fd < 0) { rc = tap_error(e, errno, "open(/dev/net/tun)"); goto fail; }

  memset(&ifr, 0, sizeof ifr);
  nd_copy_name(ifr.ifr_name, name);
  ifr.ifr_flags = IFF_TAP | IFF_NO_PI | (p->vnet ? IFF_VNET_HDR : 0) | (o->exclusive ? IFF_TUN_EXCL : 0);
  if (ioctl(p->fd, TUNSETIFF, &ifr) < 0) {
    /* With IFF_TUN_EXCL the tun driver answers EBUSY for a name that exists (of any kind). */
    if (o->exclusive && errno == EBUSY) { rc = tvs_fail(e, EEXIST, "ioctl(TUNSETIFF)", "an interface of that name exists already"); goto fail; }
    rc = tap_error(e, errno, "ioctl(TUNSETIFF)");
    goto fail;
  }
  nd_copy_name(p->cached.name, ifr.ifr_name);

  if (p->vnet) {
    int sz = TVS_VNET_HDR_LEN;
    if (ioctl(p->fd, TUNSETVNETHDRSZ, &sz) < 0) { rc = tap_error(e, errno, "ioctl(TUNSETVNETHDRSZ)"); goto fail; }
    /* What we accept from the kernel: partial checksums and TSO super-frames, which we carry
     * (or segment) ourselves instead of making the guest/namespace stack do it. */
    unsigned long off = TUN_F_CSUM | TUN_F_TSO4 | TUN_F_TSO6 | TUN_F_TSO_ECN;
    if (ioctl(p->fd, TUNSETOFFLOAD, off) < 0) { rc = tap_error(e, errno, "ioctl(TUNSETOFFLOAD)"); goto fail; }
  }
  if (o->persist || !existed) {
    if (ioctl(p->fd, TUNSETPERSIST, (unsigned long)(o->persist ? 1 : 0)) < 0) { rc = tap_error(e, errno, "ioctl(TUNSETPERSIST)"); goto fail; }
  }
  if (o->has_mac) {
    /* The tun driver takes SIOCSIFHWADDR on its own fd: no name lookup, no race with a rename. */
    memset(&ifr, 0, sizeof ifr);
    ifr.ifr_hwaddr.sa_family = ARPHRD_ETHER;
    memcpy(ifr.ifr_hwaddr.sa_data, o->mac, 6);
    if (ioctl(p->fd, SIOCSIFHWADDR, &ifr) < 0) { rc = tap_error(e, errno, "ioctl(SIOCSIFHWADDR)"); goto fail; }
  }
  if ((rc = nd_set_up(p->cached.name, e)) < 0) goto fail;
  struct nd_info nd;
  if ((rc = nd_lookup(p->cached.name, &nd, e)) < 0) goto fail;
  p->cached = nd;
  *out = p;
  return 0;
fail:
  tap_close(p);
  return rc;
}

int tap_fd(const struct tap_port *p) { return p->fd; }

const char *tap_name(struct tap_port *p) {
  struct ifreq ifr;
  memset(&ifr, 0, sizeof ifr);
  if (ioctl(p->fd, TUNGETIFF, &ifr) == 0) nd_copy_name(p->cached.name, ifr.ifr_name);
  return p->cached.name;
}

int tap_info(struct tap_port *p, struct nd_info *out, struct tvs_err *e) {
  struct nd_info live;
  const char *name = tap_name(p);
  /* The device may have been moved into another network namespace (a common way to plug a
   * namespace into the switch); name lookups then fail here, so fall back to what we saw at
   * open time. The MAC can still be read through the tun fd itself. */
  if (nd_lookup(name, &live, e) == 0 && live.ifindex == p->cached.ifindex) p->cached = live;
  struct ifreq ifr;
  memset(&ifr, 0, sizeof ifr);
  if (ioctl(p->fd, SIOCGIFHWADDR, &ifr) == 0) memcpy(p->cached.mac, ifr.ifr_hwaddr.sa_data, 6);
  *out = p->cached;
  return 0;
}

/*
 * A read() cannot be sized before it happens, so each read offers the next small slot and,
 * behind it, the next large slot as overflow: a frame that fits the small slot costs nothing
 * extra; a larger one (a GSO super-frame) continues into the large slot at the offset where it
 * would be had it started there, and its first part (at most a small slot's frame area) is
 * copied over. Without a large slot offered, such a frame is truncated by tun and counted.
 */
int tap_rx_burst(struct tap_port *p, const struct tvs_arena *a, uint32_t *slots, int max, int large) {
  if (p->dead) return -p->dead;
  int n = 0, ns = 0, nl = 0;
  uint32_t used[TVS_MAX_OFFER];
  struct iovec v[3];
  while (n < max) {
    uint32_t s = slots[ns];
    uint32_t base = tvs_slot_base(a, s);
    uint32_t big = nl < large ? slots[max + nl] : UINT32_MAX;
    uint32_t bbase = big != UINT32_MAX ? tvs_slot_base(a, big) : 0;
    v[0].iov_base = a->bytes + base;
    v[0].iov_len = TVS_VNET_HDR_LEN;
    v[1].iov_base = a->bytes + base + a->headroom;
    v[1].iov_len = tvs_slot_size(a, s) - a->headroom;
    int iovs = 2;
    if (big != UINT32_MAX && tvs_slot_size(a, big) - a->headroom > v[1].iov_len) {
      v[2].iov_base = a->bytes + bbase + a->headroom + v[1].iov_len;
      v[2].iov_len = tvs_slot_size(a, big) - a->headroom - v[1].iov_len;
      iovs = 3;
    }
    ssize_t r = readv(p->fd, p->vnet ? v : v + 1, p->vnet ? iovs : iovs - 1);
    if (r < 0) {
      int err = errno;
      if (err == EINTR) continue;
      if (err == EAGAIN || err == EWOULDBLOCK) break;
      /* tun drops a frame that does not fit the buffer and fails the read with EFAULT/EINVAL
       * (only possible with slots smaller than 64 KiB): count it and go on. */
      if (err == EFAULT || err == EINVAL || err == EMSGSIZE) { p->stats.rx_oversize++; continue; }
      if (err == EBADFD || err == ENODEV || err == ENXIO || err == EIO || err == EBADF) p->dead = err;
      if (n > 0) break; /* deliver what we have; the error comes back on the next call */
      return -err;
    }
    uint32_t len = (uint32_t)r - (p->vnet ? TVS_VNET_HDR_LEN : 0);
    if (!p->vnet) memset(a->bytes + base, 0, TVS_VNET_HDR_LEN);
    if (len > v[1].iov_len) {
      /* Overflowed into the large slot: move the vnet header and the first part over. */
      memcpy(a->bytes + bbase, a->bytes + base, TVS_VNET_HDR_LEN);
      memcpy(a->bytes + bbase + a->headroom, a->bytes + base + a->headroom, v[1].iov_len);
      a->start[big] = bbase + a->headroom;
      a->len[big] = len;
      used[n++] = big;
      nl++;
      continue;
    }
    a->start[s] = base + a->headroom;
    a->len[s] = len;
    used[n++] = s;
    ns++;
  }
  if (nl > 0) memcpy(slots, used, (size_t)n * sizeof *slots);
  return n;
}

int tap_tx_burst(struct tap_port *p, const struct tvs_arena *a, const uint32_t *slots, int n) {
  if (p->dead) return -p->dead;
  int sent = 0;
  struct iovec v[2];
  for (int i = 0; i < n; i++) {
    uint32_t s = slots[i];
    v[0].iov_base = a->bytes + tvs_slot_base(a, s);
    v[0].iov_len = TVS_VNET_HDR_LEN;
    v[1].iov_base = a->bytes + a->start[s];
    v[1].iov_len = a->len[s];
    ssize_t r = writev(p->fd, p->vnet ? v : v + 1, p->vnet ? 2 : 1);
    if (r >= 0) { sent++; continue; }
    int err = errno;
    if (err == EINTR) { i--; continue; }
    if (err == EAGAIN || err == EWOULDBLOCK || err == ENOBUFS) break;
    if (err == EBADFD || err == ENODEV || err == ENXIO || err == EBADF) {
      p->dead = err;
      return sent > 0 ? sent : -err;
    }
    p->stats.tx_errors++; /* this frame refused (EINVAL bad vnet header, EIO link down...): next */
  }
  return sent;
}

int tap_check_error(struct tap_port *p) {
  if (p->dead) return -p->dead;
  /* tun_chr_poll reports POLLERR only once the device is gone (the fd is detached); TUNGETIFF
   * on a detached fd fails with EBADFD, which confirms it. */
  struct ifreq ifr;
  memset(&ifr, 0, sizeof ifr);
  if (ioctl(p->fd, TUNGETIFF, &ifr) < 0) {
    p->dead = errno;
    return -p->dead;
  }
  return 0;
}

void tap_stats(struct tap_port *p, struct tvs_stats *out) { *out = p->stats; }

void tap_close(struct tap_port *p) {
  if (!p) return;
  if (p->fd >= 0) close(p->fd);
  free(p);
}
