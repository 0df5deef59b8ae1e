/*
 * Memory the switch touched once and will not touch again.
 *
 * Start-up and configuration run code no packet ever runs: the module loader, the JS parser and
 * compilers, the ofctl parser. The pages of the node executable they ran are mapped into the
 * process and stay counted in its RSS for good: ~39 MiB of node's text, read-only data and
 * symbol tables, against ~15 MiB that forwarding and idling touch again. They are clean pages of
 * the executable file (shared with the page cache, identical to the file), so MADV_DONTNEED on
 * them only removes our mapping: the next access faults the page back in from the page cache
 * (a minor fault, no I/O). Only mappings without a single private (copied-on-write) page are
 * dropped: relocated read-only data (RELRO) and the data segment keep their contents.
 *
 * malloc_trim gives back free memory at the top and in the middle of every malloc arena (the
 * compiler threads' arenas keep what a compile job freed).
 */
#include "memtrim.h"

#include <malloc.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

void mt_trim(struct mt_result *out) {
  out->exec_bytes = 0;
  out->trimmed = malloc_trim(0);

  char exe[4096];
  ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
  if (n <= 0) return;
  exe[n] = '\0';
  FILE *f = fopen("/proc/self/smaps", "re");
  if (!f) return;
  char line[4096 + 128];
  unsigned long lo = 0, hi = 0;
  int candidate = 0;
  while (fgets(line, sizeof line, f)) {
    unsigned long a, b, kb;
    char perm[8], path[4096 + 1];
    path[0] = '\0';
    /* A mapping's header line ("lo-hi perms offset dev inode path"); field lines ("Rss:  8 kB")
     * never parse three fields. */
    if (sscanf(line, "%lx-%lx %7s %*s %*s %*s %4096s", &a, &b, perm, path) >= 3) {
      lo = a;
      hi = b;
      candidate = strcmp(path, exe) == 0 && perm[1] == '-' && perm[3] == 'p';
      continue;
    }
    if (candidate && sscanf(line, "Anonymous: %lu kB", &kb) == 1) {
      if (kb == 0 && madvise((void *)lo, hi - lo, MADV_DONTNEED) == 0) out->exec_bytes += hi - lo;
      candidate = 0;
    }
  }
  fclose(f);
}
