/*
 * Tunnel underlay: the sockets a VXLAN or GRE tunnel port sends and receives outer packets
 * through, so the kernel routes them (as Linux vxlan devices and OVS's kernel datapath do).
 *
 * VXLAN: receive on a UDP socket bound to local_ip:dst_port (recvmmsg: the kernel demultiplexes
 * by port and never answers "port unreachable"); send on a raw IPPROTO_RAW socket with
 * IP_HDRINCL (sendmmsg), because the UDP source port is a hash of the inner flow per packet (as
 * Linux and OVS do) and one bound UDP socket can only send from its own port. A run of frames of
 * one flow with the same size (the segments of a TSO frame, a flood; a shorter last one ends it)
 * instead leaves as ONE UDP GSO send (UDP_SEGMENT) from one of a few UDP sockets on ephemeral
 * ports, picked by that hash: the kernel routes and forwards one packet per run, not one per
 * frame, and the NIC or the receiving kernel cuts it (its outer UDP checksum is computed).
 * GRE: one raw IPPROTO_GRE socket with IP_HDRINCL for both directions.
 *
 * The outer headers are written and checked in JS (src/packet/tunnel.ts, with src/wire); this
 * file only moves bytes. What it hands JS per received frame:
 *   - the UDP payload (VXLAN) or the whole IPv4 packet (GRE, as raw sockets deliver it) at the
 *     slot's headroom, like any received frame;
 *   - TVS_UL_META bytes just in front of it: the outer source and destination IPv4 addresses
 *     (network order), from the sender's address and IP_PKTINFO.
 * What it expects per frame to send: a complete IPv4 packet at start/len; it is sent to the
 * destination address at bytes 16-19 (the kernel needs it as msg_name to route an IP_HDRINCL
 * packet), never fragmented (EMSGSIZE above the route MTU: JS checks first).
 */
#ifndef TVS_UNDERLAY_H
#define TVS_UNDERLAY_H

#include <stdint.h>
#include "common.h"
#include "netdev.h"

#define TVS_UL_VXLAN 1
#define TVS_UL_GRE 2
/* Outer source + destination address in front of each received frame. */
#define TVS_UL_META 8

struct ul_opts {
  int kind;       /* TVS_UL_VXLAN or TVS_UL_GRE */
  uint32_t local; /* network order; 0 = any */
  uint16_t port;  /* VXLAN UDP port (host order) */
};

struct ul_port;

int ul_open(const struct ul_opts *o, struct ul_port **out, struct tvs_err *e);
int ul_fd(const struct ul_port *p);
const char *ul_name(const struct ul_port *p);
int ul_info(const struct ul_port *p, struct nd_info *out, struct tvs_err *e);
/* Small slots only (large = 0 is fine): on return slots[0..n) lists the filled slots. */
int ul_rx_burst(struct ul_port *p, const struct tvs_arena *a, uint32_t *slots, int max, int large);
/* Frames handled (sent, or refused one by one and counted: unreachable, too big), or -errno.
 * A refused frame's length is overwritten with one of these codes (a sent IPv4 packet is never
 * that short), so the caller learns which frames were refused and why from the same call. */
#define TVS_UL_REFUSED_UNREACHABLE 0
#define TVS_UL_REFUSED_TOO_BIG 1
#define TVS_UL_REFUSED_OTHER 2
int ul_tx_burst(struct ul_port *p, const struct tvs_arena *a, const uint32_t *slots, int n);
int ul_check_error(struct ul_port *p);
void ul_stats(struct ul_port *p, struct tvs_stats *out);
void ul_close(struct ul_port *p);
/* MTU of the route from `local` (0: any) to `remote` (network order), or -errno (ENETUNREACH). */
int ul_route_mtu(uint32_t local, uint32_t remote, struct tvs_err *e);

#endif
