/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Checks the segments an earlier run left (every record's CRC, a torn last
 * record) on a thread of its own, oldest first, so a run that restarts on
 * a backlog captures at once: checking takes ~100 ns a record, seconds for
 * a large spool, and no socket would receive meanwhile.
 *
 * A segment becomes readable once checked: the thread sets its
 * checked_end, then its handled (the worker reads nothing of a segment,
 * nor of any later one, before that). The counts are the thread's; the
 * worker reads them.
 */
#ifndef XS_SPOOL_CHECK_H
#define XS_SPOOL_CHECK_H

#include <stdbool.h>
#include <stddef.h>
#include <linux/types.h>
#include "spool_io.h"

struct spool_check_seg {
	struct seg_file *f;
	__u64 from; /* its consumed offset: the records before it were delivered */
	__u64 size; /* of the file */
};

struct spool_check_counts {
	__u64 records; /* intact, not yet delivered: to send first */
	__u64 torn;    /* a last record cut short (the writer died mid-write) */
	__u64 corrupt; /* a record failing its CRC: the rest of its segment skipped */
	bool done;
};

struct spool_check;

/* Starts checking segs[0..n) (copied), oldest first; dir names the spool
 * in its messages. NULL: the thread could not start (errno set). */
struct spool_check *spool_check_start(const char *dir, const struct spool_check_seg *segs,
				      size_t n);
void spool_check_counts(const struct spool_check *c, struct spool_check_counts *out);
/* Stops it (at once, if not done: the segments not checked stay unread on
 * disk for the next run) and frees it; NULL is fine. */
void spool_check_stop(struct spool_check *c);

#endif
