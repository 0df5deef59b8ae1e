/* Giving memory the switch no longer uses back to the kernel (control path only, never per packet). */
#ifndef TVS_MEMTRIM_H
#define TVS_MEMTRIM_H

#include <stddef.h>

struct mt_result {
  size_t exec_bytes;  /* address space of the executable's clean mappings dropped */
  int trimmed;        /* malloc_trim: 1 if it gave memory back */
};

/* malloc_trim(0), then MADV_DONTNEED on the executable's clean read-only private mappings. */
void mt_trim(struct mt_result *out);

#endif
