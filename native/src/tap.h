/* TAP port: /dev/net/tun in IFF_TAP mode, one readv/writev per frame. */
#ifndef TVS_TAP_H
#define TVS_TAP_H

#include <stdint.h>
#include "common.h"
#include "netdev.h"

struct tap_opts {
  int vnet_hdr; /* IFF_VNET_HDR + TUNSETOFFLOAD: partial checksums and TSO frames pass through */
  int persist;  /* TUNSETPERSIST: the device outlives the fd */
  int exclusive; /* IFF_TUN_EXCL: create the device, fail with EEXIST if `name` exists (any kind) */
  int has_mac;   /* set the device's MAC to `mac` (SIOCSIFHWADDR on the tun fd) before it goes up */
  uint8_t mac[6];
};

struct tap_port;

/* Create or attach to the TAP `name` ("" lets the kernel pick tapN). 0 or -errno with *e filled. */
int tap_open(const char *name, const struct tap_opts *o, struct tap_port **out, struct tvs_err *e);
int tap_fd(const struct tap_port *p);
/* The device's current name (the kernel's choice when opened with ""). */
const char *tap_name(struct tap_port *p);
int tap_info(struct tap_port *p, struct nd_info *out, struct tvs_err *e);
/* Like afp_rx_burst: small slots slots[0..max), large ones slots[max..max+large); on return
 * slots[0..n) lists the filled slots in arrival order. */
int tap_rx_burst(struct tap_port *p, const struct tvs_arena *a, uint32_t *slots, int max, int large);
int tap_tx_burst(struct tap_port *p, const struct tvs_arena *a, const uint32_t *slots, int n);
/* After poll reported an error: 0 if transient, else -errno (device deleted: EBADFD). */
int tap_check_error(struct tap_port *p);
void tap_stats(struct tap_port *p, struct tvs_stats *out);
void tap_close(struct tap_port *p);

#endif
