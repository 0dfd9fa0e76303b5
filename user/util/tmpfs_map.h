/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* Memory that outlives the process: a file on a tmpfs, mapped shared. */
#ifndef XS_TMPFS_MAP_H
#define XS_TMPFS_MAP_H

#include <stddef.h>

/*
 * Creates path, or reuses it as it is (its pages already allocated: a
 * restart neither zeroes nor frees them), at len bytes, all allocated now
 * (a full tmpfs says ENOSPC here, not SIGBUS at a later store), and maps it
 * shared read-write. Refuses a directory that is not a tmpfs (-EXDEV): a disk's
 * writeback would make the stores wait. The mapping, or NULL with *err
 * set to -errno and nothing left behind.
 */
void *tmpfs_map(const char *path, size_t len, int *err);

#endif
