/*
 * pacegen: a paced UDP generator for the comparison bench (bench/compare).
 *
 * Why not trafgen --rate: trafgen's rate is a per-second budget, not a pace. It sends at its
 * maximum until the second's packets are out, then sleeps, so "125 kpps" is a ~250 ms burst at
 * ~500 kpps followed by ~750 ms of silence, and a zero-loss trial measures how large a burst a
 * switch's queues absorb. `trafgen -t GAP` is paced but sleeps per packet (~28 kpps at most).
 *
 * pacegen sends frame k at t0 + k/rate on an absolute CLOCK_MONOTONIC schedule: up to 8 frames
 * per tick at high rates (a tick is then >= 10 us), one at low rates; it clock_nanosleep()s until
 * --spin-us before a tick and busy-waits the rest. A tick missed by more than --max-lag-us
 * (preempted) is skipped, not made up in a burst, so the pace holds; skipped frames are reported. Frames go out with one
 * sendmmsg() per tick on an AF_PACKET socket with PACKET_QDISC_BYPASS (as trafgen), protocol 0,
 * so the socket receives nothing.
 *
 * The frame is the bench's trafgen template: Ethernet / IPv4 (TTL 64) / UDP to --dport, the
 * source port cycling over --flows values from --sport (hashing switches see that many flows),
 * payload 0x41, correct IPv4 and UDP checksums. Every run is bounded in count AND time.
 *
 *   pacegen --dev eth0 --src-mac M --dst-mac M --src-ip A --dst-ip B --rate 100000 --count 500000 --seconds 5
 *   pacegen ... --count 5000000 --seconds 5          # no --rate: as fast as it can (its maximum)
 *   pacegen --rate 250000 --count 20 --plan 5        # print the schedule only (no socket, no root)
 *
 * Prints one JSON line: frames sent, the time from first to last send, the achieved rate, frames
 * skipped, send failures, the histogram of gaps between consecutive sends and (at a rate) of how
 * late each tick went out.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <linux/if_packet.h>
#include <net/ethernet.h>
#include <net/if.h>
#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define MAX_FLOWS 256
#define MAX_BURST 64
#define MAX_FRAME 1514
/* Ticks at least this far apart at high rates: up to 8 frames per tick (auto burst). */
#define MIN_TICK_NS 10000ULL
#define AUTO_BURST_MAX 8
/* Free-running (no --rate): frames per sendmmsg(). */
#define MAX_MODE_BURST 32
/*
 * Before a tick: clock_nanosleep() until --spin-us before it, busy-wait the rest (only spin when
 * the tick is closer than that plus SLEEP_MIN_NS). Sleeping matters on a shared core: a task that
 * sleeps between ticks keeps its claim with the scheduler and is run promptly when it wakes; one
 * that spins through every gap has used its share and waits behind the other runnable tasks.
 */
#define DEFAULT_SPIN_NS 50000ULL
#define SLEEP_MIN_NS 10000ULL

/* ------------------------------------------------------------------ schedule arithmetic */

/* Frames per tick for a rate: enough that ticks are >= MIN_TICK_NS apart, 1..AUTO_BURST_MAX. */
static unsigned auto_burst(uint64_t rate) {
  uint64_t b = rate * MIN_TICK_NS / 1000000000ULL;
  if (b < 1) b = 1;
  if (b > AUTO_BURST_MAX) b = AUTO_BURST_MAX;
  return (unsigned)b;
}

/* Offset of tick j from t0, exact (no accumulated rounding): frame j*burst is due at j*burst/rate s. */
static uint64_t tick_due_ns(uint64_t j, unsigned burst, uint64_t rate) {
  unsigned __int128 n = (unsigned __int128)j * burst * 1000000000ULL;
  return (uint64_t)(n / rate);
}

/* Frames tick j sends: burst, fewer in the last tick when count is not a multiple. */
static unsigned tick_frames(uint64_t j, unsigned burst, uint64_t count) {
  uint64_t first = j * burst;
  if (first >= count) return 0;
  return count - first < burst ? (unsigned)(count - first) : burst;
}

/* ------------------------------------------------------------------ frame */

static uint16_t csum_fold(uint32_t s) {
  while (s >> 16) s = (s & 0xffff) + (s >> 16);
  return (uint16_t)~s;
}

static uint32_t csum_add(uint32_t s, const uint8_t *p, size_t n) {
  for (size_t i = 0; i + 1 < n; i += 2) s += (uint32_t)(p[i] << 8 | p[i + 1]);
  if (n & 1) s += (uint32_t)(p[n - 1] << 8);
  return s;
}

static void put16(uint8_t *p, uint16_t v) {
  p[0] = v >> 8;
  p[1] = v & 0xff;
}

static void build_frame(uint8_t *f, size_t size, const uint8_t dmac[6], const uint8_t smac[6], uint32_t sip, uint32_t dip, uint16_t sport, uint16_t dport) {
  memset(f, 0x41, size);
  memcpy(f, dmac, 6);
  memcpy(f + 6, smac, 6);
  put16(f + 12, 0x0800);
  uint8_t *ip = f + 14;
  ip[0] = 0x45;
  ip[1] = 0;
  put16(ip + 2, (uint16_t)(size - 14));
  put16(ip + 4, 0);      /* id */
  put16(ip + 6, 0x4000); /* DF */
  ip[8] = 64;
  ip[9] = 17;
  put16(ip + 10, 0);
  memcpy(ip + 12, &sip, 4); /* network order already */
  memcpy(ip + 16, &dip, 4);
  put16(ip + 10, csum_fold(csum_add(0, ip, 20)));
  uint8_t *udp = ip + 20;
  uint16_t ulen = (uint16_t)(size - 34);
  put16(udp, sport);
  put16(udp + 2, dport);
  put16(udp + 4, ulen);
  put16(udp + 6, 0);
  uint32_t s = csum_add(0, ip + 12, 8); /* pseudo header: addresses, protocol, UDP length */
  s += 17 + ulen;
  uint16_t c = csum_fold(csum_add(s, udp, ulen));
  put16(udp + 6, c ? c : 0xffff);
}

static int parse_mac(const char *s, uint8_t m[6]) {
  unsigned v[6];
  if (sscanf(s, "%x:%x:%x:%x:%x:%x", &v[0], &v[1], &v[2], &v[3], &v[4], &v[5]) != 6) return -1;
  for (int i = 0; i < 6; i++) {
    if (v[i] > 255) return -1;
    m[i] = (uint8_t)v[i];
  }
  return 0;
}

/* ------------------------------------------------------------------ time */

static uint64_t now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

static void sleep_until_ns(uint64_t t) {
  struct timespec ts = { .tv_sec = (time_t)(t / 1000000000ULL), .tv_nsec = (long)(t % 1000000000ULL) };
  while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) == EINTR) {
  }
}

/* Gaps between consecutive sends, bucketed (upper bounds in us; the last bucket is open). */
static const unsigned GAP_EDGES_US[] = { 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000 };
#define GAP_BUCKETS (sizeof(GAP_EDGES_US) / sizeof(GAP_EDGES_US[0]) + 1)

static void usage(void) {
  fprintf(stderr,
          "usage: pacegen --dev DEV --src-mac MAC --dst-mac MAC --src-ip A --dst-ip B --count N --seconds S\n"
          "               [--rate PPS] [--size BYTES] [--sport P] [--flows N] [--dport P] [--cpu N]\n"
          "               [--burst N] [--max-lag-us US] [--spin-us US]\n"
          "       pacegen --rate PPS --count N [--burst N] --plan TICKS   (print the schedule only)\n"
          "  --rate PPS    constant rate (absolute-time schedule); without it, as fast as possible\n"
          "  --count N     frames at most; --seconds S  seconds at most (both required to send)\n"
          "  --size BYTES  frame length without FCS, 60..1514 (default 64)\n"
          "  --sport P --flows N   UDP source port cycles over P..P+N-1 (default 4000, 16); --dport (9)\n"
          "  --cpu N       pin to CPU N; --burst N frames per tick (default: auto, <= 8, ticks >= 10 us)\n"
          "  --max-lag-us  a tick later than this is skipped instead of sent in a catch-up burst (200)\n"
          "  --spin-us US  busy-wait the last US before a tick, sleep before that (50)\n");
}

int main(int argc, char **argv) {
  const char *dev = NULL, *smac_s = NULL, *dmac_s = NULL, *sip_s = NULL, *dip_s = NULL;
  uint64_t rate = 0, count = 0, plan = 0;
  double seconds = 0;
  unsigned size = 64, flows = 16, burst = 0;
  long sport = 4000, dport = 9, cpu = -1;
  uint64_t max_lag_ns = 200000, spin_ns = DEFAULT_SPIN_NS;
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    const char *v = i + 1 < argc ? argv[i + 1] : NULL;
#define OPT(name) (strcmp(a, name) == 0 && v && (i++, 1))
    if (OPT("--dev")) dev = v;
    else if (OPT("--src-mac")) smac_s = v;
    else if (OPT("--dst-mac")) dmac_s = v;
    else if (OPT("--src-ip")) sip_s = v;
    else if (OPT("--dst-ip")) dip_s = v;
    else if (OPT("--rate")) rate = strtoull(v, NULL, 10);
    else if (OPT("--count")) count = strtoull(v, NULL, 10);
    else if (OPT("--seconds")) seconds = strtod(v, NULL);
    else if (OPT("--size")) size = (unsigned)strtoul(v, NULL, 10);
    else if (OPT("--sport")) sport = strtol(v, NULL, 10);
    else if (OPT("--flows")) flows = (unsigned)strtoul(v, NULL, 10);
    else if (OPT("--dport")) dport = strtol(v, NULL, 10);
    else if (OPT("--cpu")) cpu = strtol(v, NULL, 10);
    else if (OPT("--burst")) burst = (unsigned)strtoul(v, NULL, 10);
    else if (OPT("--max-lag-us")) max_lag_ns = strtoull(v, NULL, 10) * 1000ULL;
    else if (OPT("--spin-us")) spin_ns = strtoull(v, NULL, 10) * 1000ULL;
    else if (OPT("--plan")) plan = strtoull(v, NULL, 10);
    else {
      fprintf(stderr, "pacegen: unknown or incomplete option %s\n", a);
      usage();
      return 2;
    }
#undef OPT
  }
  if (burst > MAX_BURST) {
    fprintf(stderr, "pacegen: --burst at most %d\n", MAX_BURST);
    return 2;
  }
  if (!burst) burst = rate ? auto_burst(rate) : MAX_MODE_BURST;

  if (plan) {
    if (!rate || !count) {
      fprintf(stderr, "pacegen: --plan needs --rate and --count\n");
      return 2;
    }
    printf("{\"burst\":%u,\"tickNs\":%llu,\"ticks\":[", burst, (unsigned long long)tick_due_ns(1, burst, rate));
    for (uint64_t j = 0; j < plan; j++) {
      unsigned n = tick_frames(j, burst, count);
      if (!n) break;
      printf("%s[%llu,%u]", j ? "," : "", (unsigned long long)tick_due_ns(j, burst, rate), n);
    }
    printf("]}\n");
    return 0;
  }

  if (!dev || !smac_s || !dmac_s || !sip_s || !dip_s || !count || !(seconds > 0)) {
    fprintf(stderr, "pacegen: --dev, --src-mac, --dst-mac, --src-ip, --dst-ip, --count and --seconds are required\n");
    usage();
    return 2;
  }
  uint8_t smac[6], dmac[6];
  struct in_addr sip, dip;
  if (parse_mac(smac_s, smac) || parse_mac(dmac_s, dmac)) {
    fprintf(stderr, "pacegen: bad MAC address\n");
    return 2;
  }
  if (!inet_aton(sip_s, &sip) || !inet_aton(dip_s, &dip)) {
    fprintf(stderr, "pacegen: bad IPv4 address\n");
    return 2;
  }
  if (size < 60 || size > MAX_FRAME || flows < 1 || flows > MAX_FLOWS || sport < 0 || sport + flows - 1 > 65535 || dport < 0 || dport > 65535) {
    fprintf(stderr, "pacegen: --size 60..%d, --flows 1..%d, ports 0..65535\n", MAX_FRAME, MAX_FLOWS);
    return 2;
  }

  if (cpu >= 0) {
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET((int)cpu, &set);
    if (sched_setaffinity(0, sizeof set, &set)) {
      perror("pacegen: sched_setaffinity");
      return 1;
    }
  }
  prctl(PR_SET_TIMERSLACK, 1UL, 0, 0, 0); /* wake from clock_nanosleep on time, not 50 us late */

  int ifindex = (int)if_nametoindex(dev);
  if (!ifindex) {
    fprintf(stderr, "pacegen: no device %s\n", dev);
    return 1;
  }
  int fd = socket(AF_PACKET, SOCK_RAW, 0); /* protocol 0: receives nothing */
  if (fd < 0) {
    perror("pacegen: socket(AF_PACKET)");
    return 1;
  }
  int one = 1;
  if (setsockopt(fd, SOL_PACKET, PACKET_QDISC_BYPASS, &one, sizeof one)) perror("pacegen: PACKET_QDISC_BYPASS (sending through the qdisc)");
  struct sockaddr_ll to = { 0 };
  to.sll_family = AF_PACKET;
  to.sll_protocol = htons(ETH_P_IP);
  to.sll_ifindex = ifindex;
  to.sll_halen = 6;
  memcpy(to.sll_addr, dmac, 6);

  static uint8_t frames[MAX_FLOWS][MAX_FRAME];
  for (unsigned i = 0; i < flows; i++) build_frame(frames[i], size, dmac, smac, sip.s_addr, dip.s_addr, (uint16_t)(sport + i), (uint16_t)dport);
  struct iovec iov[MAX_BURST];
  struct mmsghdr msgs[MAX_BURST];
  memset(msgs, 0, sizeof msgs);
  for (unsigned i = 0; i < MAX_BURST; i++) {
    iov[i].iov_len = size;
    msgs[i].msg_hdr.msg_name = &to;
    msgs[i].msg_hdr.msg_namelen = sizeof to;
    msgs[i].msg_hdr.msg_iov = &iov[i];
    msgs[i].msg_hdr.msg_iovlen = 1;
  }

  uint64_t gaps[GAP_BUCKETS] = { 0 }, lates[GAP_BUCKETS] = { 0 };
  uint64_t sent = 0, attempted = 0, skipped = 0, failed = 0, ticks = 0, max_gap = 0, max_late = 0;
  int last_errno = 0;
  const uint64_t t0 = now_ns() + 1000000ULL; /* first tick 1 ms from now: the page-in is done */
  const uint64_t deadline = t0 + (uint64_t)(seconds * 1e9);
  uint64_t first_send = 0, last_send = 0, prev_send = 0;
  uint64_t j = 0;   /* next tick */
  uint64_t seq = 0; /* frames handed to sendmmsg (selects the source port) */
  for (;;) {
    unsigned n = rate ? tick_frames(j, burst, count) : (count - attempted < burst ? (unsigned)(count - attempted) : burst);
    if (!n) break;
    uint64_t now = now_ns();
    if (rate) {
      uint64_t due = t0 + tick_due_ns(j, burst, rate);
      if (due >= deadline) break;
      if (now < due) {
        if (due - now > spin_ns + SLEEP_MIN_NS) sleep_until_ns(due - spin_ns);
        while ((now = now_ns()) < due) {
        }
      } else if (now - due > max_lag_ns) {
        /* Preempted (or asked above what we can send): skip to the tick due now, no catch-up burst. */
        uint64_t k = (uint64_t)((unsigned __int128)(now - t0) * rate / (1000000000ULL * burst));
        if (k <= j) k = j + 1;
        for (uint64_t x = j; x < k; x++) skipped += tick_frames(x, burst, count);
        j = k;
        continue;
      }
      uint64_t late = now - due;
      if (late > max_late) max_late = late;
      unsigned b = 0;
      while (b < GAP_BUCKETS - 1 && late > GAP_EDGES_US[b] * 1000ULL) b++;
      lates[b]++;
    } else if (now >= deadline) break;
    if (now >= deadline) break;

    for (unsigned i = 0; i < n; i++) iov[i].iov_base = frames[(seq + i) % flows];
    seq += n;
    attempted += n;
    unsigned done = 0;
    while (done < n) {
      int r = sendmmsg(fd, msgs + done, n - done, 0);
      if (r > 0) {
        done += (unsigned)r;
        sent += (unsigned)r;
      } else {
        /* ENOBUFS: the device dropped it (veth peer backlog full); count it, go on with the rest */
        last_errno = errno;
        failed++;
        done++;
      }
    }
    if (prev_send) {
      uint64_t g = now - prev_send;
      if (g > max_gap) max_gap = g;
      unsigned b = 0;
      while (b < GAP_BUCKETS - 1 && g > GAP_EDGES_US[b] * 1000ULL) b++;
      gaps[b]++;
    } else first_send = now;
    prev_send = now;
    last_send = now;
    ticks++;
    j++;
  }
  uint64_t end = now_ns();
  close(fd);
  /* Duration: from the first send to one tick after the last (a rate trial of N ticks lasts N ticks). */
  double dur = first_send ? (double)(last_send - first_send) / 1e9 : 0;
  if (rate && ticks) dur += (double)tick_due_ns(1, burst, rate) / 1e9;
  else if (ticks > 1) dur *= (double)ticks / (double)(ticks - 1);
  printf("{\"dev\":\"%s\",\"askPps\":%llu,\"burst\":%u,\"sent\":%llu,\"attempted\":%llu,\"failed\":%llu,\"skipped\":%llu,"
         "\"seconds\":%.6f,\"pps\":%.1f,\"wallSeconds\":%.6f,\"maxGapUs\":%.1f,\"maxLateUs\":%.1f,\"gapEdgesUs\":[",
         dev, (unsigned long long)rate, burst, (unsigned long long)sent, (unsigned long long)attempted, (unsigned long long)failed,
         (unsigned long long)skipped, dur, dur > 0 ? sent / dur : 0.0, (double)(end - t0) / 1e9, max_gap / 1e3, max_late / 1e3);
  for (unsigned b = 0; b < GAP_BUCKETS - 1; b++) printf("%s%u", b ? "," : "", GAP_EDGES_US[b]);
  printf("],\"gaps\":[");
  for (unsigned b = 0; b < GAP_BUCKETS; b++) printf("%s%llu", b ? "," : "", (unsigned long long)gaps[b]);
  printf("]");
  if (rate) {
    printf(",\"late\":[");
    for (unsigned b = 0; b < GAP_BUCKETS; b++) printf("%s%llu", b ? "," : "", (unsigned long long)lates[b]);
    printf("]");
  }
  printf("%s%s%s}\n", last_errno ? ",\"lastError\":\"" : "", last_errno ? strerror(last_errno) : "", last_errno ? "\"" : "");
  return 0;
}
