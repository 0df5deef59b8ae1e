/*
 * Memory the switch touched once and will not touch again.
 *
 * Start-up and configuration run code no packet ever runs: the module loader, the JS parser and
 * compilers, the ofctl parser. The pages of the node executable they ran are mapped into the
 * process and stay counted in its RSS for good: ~39 MiB of node's text, read-only data and
 * symbol tables, of which forwarding touches ~10 again. They are clean pages of the executable
 * file (shared with the page cache, identical to the file), so MADV_DONTNEED on them only removes
 * our mapping: the next access faults the page back in from the page cache (a minor fault, no
 * I/O). Only the executable's read-only PT_LOAD segments are dropped, whole pages inside them:
 * the writable segment (data, and RELRO, which ld.so relocated before making it read-only) keeps
 * its contents. The segments come from the program headers (dl_iterate_phdr), not from
 * /proc/self/smaps, which costs milliseconds to read. Not while a debugger is attached: a
 * breakpoint it wrote into node's text would be dropped with the page.
 *
 * malloc_trim gives back free memory at the top and in the middle of every malloc arena (the
 * compiler threads' arenas keep what a compile job freed).
 */
#include "memtrim.h"

#include <elf.h>
#include <link.h>
#include <malloc.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

static int traced(void) {
  char buf[2048];
  FILE *f = fopen("/proc/self/status", "re");
  if (!f) return 1;
  size_t n = fread(buf, 1, sizeof buf - 1, f);
  fclose(f);
  buf[n] = '\0';
  const char *t = strstr(buf, "TracerPid:");
  return t == NULL || atoi(t + 10) != 0;
}

/* The first object dl_iterate_phdr reports is the executable. */
static int drop_exec(struct dl_phdr_info *info, size_t size, void *data) {
  size_t *total = data;
  uintptr_t page = (uintptr_t)sysconf(_SC_PAGESIZE);
  for (int i = 0; i < info->dlpi_phnum; i++) {
    const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
    if (ph->p_type != PT_LOAD || (ph->p_flags & PF_W)) continue;
    uintptr_t lo = (uintptr_t)info->dlpi_addr + ph->p_vaddr;
    uintptr_t hi = lo + ph->p_filesz;
    lo = (lo + page - 1) & ~(page - 1); /* whole pages only: a shared edge page stays */
    hi &= ~(page - 1);
    if (hi > lo && madvise((void *)lo, hi - lo, MADV_DONTNEED) == 0) *total += hi - lo;
  }
  return 1;
}

void mt_trim(struct mt_result *out) {
  out->exec_bytes = 0;
  out->trimmed = malloc_trim(0);
  if (!traced()) dl_iterate_phdr(drop_exec, &out->exec_bytes);
}
