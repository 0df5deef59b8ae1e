/*
 * Link notifications and link state from rtnetlink (plain C, no N-API): what OpenFlow port
 * descriptions need of a kernel device — admin state, carrier, operstate, Ethernet address.
 * Control path only, never per packet.
 */
#ifndef TVS_LINKMON_H
#define TVS_LINKMON_H

#include <net/if.h>
#include <stdint.h>
#include "common.h"

/* One device as a RTM_NEWLINK / RTM_DELLINK message describes it. */
struct lm_link {
  int ifindex;
  unsigned flags;   /* ifi_flags: IFF_UP, IFF_RUNNING, IFF_LOWER_UP (0x10000)... */
  int operstate;    /* IF_OPER_* (RFC 2863), -1 when the message has none */
  int has_mac;      /* IFLA_ADDRESS was 6 bytes */
  uint8_t mac[6];
  char name[IFNAMSIZ];
  int deleted;      /* RTM_DELLINK: gone from this namespace */
};

/* Most links lm_read returns per call: bounds the work of one wakeup (the rest waits in the
 * socket, and libuv reports it readable again). */
#define LM_MAX_LINKS 64

/* A non-blocking rtnetlink socket subscribed to RTNLGRP_LINK; fd or -errno. */
int lm_open(struct tvs_err *e);
/*
 * Read what is waiting (at most `max` links, at most LM_MAX_LINKS datagrams) into out[].
 * Returns the count (0: nothing waiting), or -errno for a socket that is broken. *overrun is set
 * when the kernel dropped notifications (ENOBUFS: its buffer was full) or a datagram held more
 * than out[] could take: the caller must read every device's state again.
 */
int lm_read(int fd, struct lm_link *out, int max, int *overrun);
/* The state of the device with this index now (RTM_GETLINK); 0 or -errno (-ENODEV: none). */
int lm_query(int ifindex, struct lm_link *out, struct tvs_err *e);

#endif
