/*
 * Interface lookups by ioctl on a throwaway AF_INET datagram socket. The generic SIOCGIF* /
 * SIOCSIFFLAGS ioctls reach dev_ioctl() from any socket family, and a UDP socket needs no
 * privilege to create. Setup path only: one socket per call is fine.
 */
#include "netdev.h"

#include <errno.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

static int ctl_socket(struct tvs_err *e) {
  int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (s < 0) tvs_fail(e, errno, "socket", NULL);
  return s;
}

static int name_error(struct tvs_err *e, int err, const char *syscall) {
  if (err == ENODEV || err == ENXIO) return tvs_fail(e, ENODEV, syscall, "no such interface");
  if (err == EPERM || err == EACCES) return tvs_fail(e, err, syscall, TVS_HINT_ROOT);
  return tvs_fail(e, err, syscall, NULL);
}

int nd_check_name(const char *name, struct tvs_err *e) {
  size_t n = strlen(name);
  if (n == 0 || n >= IFNAMSIZ) return tvs_fail(e, EINVAL, "if_nametoindex", "interface names are 1 to 15 characters");
  return 0;
}

int nd_lookup(const char *name, struct nd_info *out, struct tvs_err *e) {
  if (nd_check_name(name, e) < 0) return -e->err;
  int s = ctl_socket(e);
  if (s < 0) return -e->err;
  struct ifreq ifr;
  int rc = 0;
  memset(out, 0, sizeof *out);
  memset(&ifr, 0, sizeof ifr);
  nd_copy_name(ifr.ifr_name, name);
  nd_copy_name(out->name, name);
  if (ioctl(s, SIOCGIFINDEX, &ifr) < 0) { rc = name_error(e, errno, "ioctl(SIOCGIFINDEX)"); goto out; }
  out->ifindex = ifr.ifr_ifindex;
  if (ioctl(s, SIOCGIFMTU, &ifr) < 0) { rc = name_error(e, errno, "ioctl(SIOCGIFMTU)"); goto out; }
  out->mtu = ifr.ifr_mtu;
  if (ioctl(s, SIOCGIFHWADDR, &ifr) < 0) { rc = name_error(e, errno, "ioctl(SIOCGIFHWADDR)"); goto out; }
  memcpy(out->mac, ifr.ifr_hwaddr.sa_data, 6);
  if (ioctl(s, SIOCGIFFLAGS, &ifr) < 0) { rc = name_error(e, errno, "ioctl(SIOCGIFFLAGS)"); goto out; }
  out->flags = (unsigned)(unsigned short)ifr.ifr_flags;
out:
  close(s);
  return rc;
}

int nd_set_up(const char *name, struct tvs_err *e) {
  int s = ctl_socket(e);
  if (s < 0) return -e->err;
  struct ifreq ifr;
  int rc = 0;
  memset(&ifr, 0, sizeof ifr);
  nd_copy_name(ifr.ifr_name, name);
  if (ioctl(s, SIOCGIFFLAGS, &ifr) < 0) { rc = name_error(e, errno, "ioctl(SIOCGIFFLAGS)"); goto out; }
  if (!(ifr.ifr_flags & IFF_UP)) {
    ifr.ifr_flags |= IFF_UP;
    if (ioctl(s, SIOCSIFFLAGS, &ifr) < 0) rc = name_error(e, errno, "ioctl(SIOCSIFFLAGS)");
  }
out:
  close(s);
  return rc;
}

int nd_index_exists(int ifindex) {
  char name[IFNAMSIZ];
  /* if_indextoname fails with ENXIO once the device is unregistered. Other failures (no
   * sockets left, ...) are not proof the device is gone, so they count as "exists". */
  if (if_indextoname((unsigned)ifindex, name) != NULL) return 1;
  return errno == ENXIO || errno == ENODEV ? 0 : 1;
}
