/* Interface lookups and link state by ioctl (setup path only, never per packet). */
#ifndef TVS_NETDEV_H
#define TVS_NETDEV_H

#include <net/if.h>
#include <stdint.h>
#include "common.h"

/* Copy an interface name, always NUL-terminated, never more than IFNAMSIZ - 1 characters. */
static inline void nd_copy_name(char *dst, const char *src) {
  size_t n = strnlen(src, IFNAMSIZ - 1);
  memcpy(dst, src, n);
  dst[n] = '\0';
}

struct nd_info {
  char name[IFNAMSIZ];
  int ifindex;
  int mtu;
  uint8_t mac[6];
  unsigned flags; /* IFF_* */
};

/* 0 when 1 <= strlen(name) < IFNAMSIZ, else -EINVAL with a hint in *e. */
int nd_check_name(const char *name, struct tvs_err *e);
/* Fill *out for the interface called `name` in this network namespace; -errno (ENODEV). */
int nd_lookup(const char *name, struct nd_info *out, struct tvs_err *e);
/* Set IFF_UP if it is not set; -errno. */
int nd_set_up(const char *name, struct tvs_err *e);
/* 1 when an interface with this index still exists in this namespace, 0 when it is gone. */
int nd_index_exists(int ifindex);

#endif
