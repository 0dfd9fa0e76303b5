/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * One worker's disk spool: the records its producer could not take, in
 * segment files (segment.h) under one directory, read back oldest first.
 *
 * A record read from the spool gets a ticket; the spool keeps it on disk
 * until its ticket is acknowledged (delivered, or failed for good), and
 * moves each segment's `consumed` offset past the records acknowledged in
 * order: a run that dies sends the rest again at the next start
 * (at-least-once). Records the producer hands back (purged: the broker
 * stalled, or the run ends) are put back in front of every unread record.
 *
 * Owned by one thread (the worker's), which keeps all its bookkeeping; the
 * file system calls of the steady state (writes, new segments, the
 * delivered offsets, removals) are done by the spool's own I/O thread
 * (spool_io.h), in the order the worker hands them over, so the worker
 * does not wait behind the disk. Records are readable once written.
 */
#ifndef XS_SPOOL_H
#define XS_SPOOL_H

#include <stdbool.h>
#include "segment.h"

/* What the spool found at open, left by an earlier run: its records are
 * checked on a thread of their own while the run captures, and counted
 * (struct spool_stats) as they are. */
struct spool_found {
	__u64 segments; /* with records not yet delivered: sent first */
	__u64 bytes;    /* in them, not yet delivered */
};

/* A record the producer handed back, with its ticket if it came from the spool. */
struct spool_back {
	struct seg_meta meta;
	const void *key, *value;
	__u32 key_len, value_len;
	bool from_spool; /* read from this spool (ticket valid), or produced directly */
	__u32 ticket;
};

struct spool;

/*
 * Opens dir (made if missing) for a spool of at most max_bytes on disk, its
 * write buffers in a file under stage_dir (staging.h; NULL: in memory), and
 * first writes what a killed run left there. NULL after one line saying
 * why (errno set).
 */
struct spool *spool_open(const char *dir, __u64 max_bytes, const char *stage_dir,
			 struct spool_found *found);
/* 0, -ENOSPC (spool or disk full) or another -errno; the record is then not kept. */
int spool_append(struct spool *sp, const struct seg_meta *m, const void *key, __u32 key_len,
		 const void *value, __u32 value_len);
/* Hands buffered appends to the spool's I/O thread (once per RX batch);
 * records it cannot write are counted as lost (struct spool_stats). */
void spool_flush(struct spool *sp);
/* Hands them over and waits until all handed over is written (or lost). */
void spool_sync(struct spool *sp);
/* The oldest unread record, or NULL; valid until the next call. Records
 * the I/O thread has not written yet are not readable yet. */
const struct seg_rec *spool_peek(struct spool *sp);
/* Room for another ticket (records read and not yet acknowledged are bounded). */
bool spool_can_take(const struct spool *sp);
/* The ticket the record peeked will get (its producer's opaque). */
__u32 spool_next_ticket(const struct spool *sp);
/* Marks the record peeked as read; returns its ticket. */
__u32 spool_take(struct spool *sp);
/* The ticket's record is delivered or failed for good: it may leave the disk. */
void spool_ack(struct spool *sp, __u32 ticket);
/* Metadata of a record read and not yet acknowledged. */
const struct seg_meta *spool_ticket_meta(const struct spool *sp, __u32 ticket);
/* Puts records back in front of every unread one, in the order given. */
int spool_put_back(struct spool *sp, const struct spool_back *recs, size_t n);
/* Persists how far each segment is delivered; removes delivered segments. */
void spool_commit(struct spool *sp);
/* Closes; a spool left empty leaves no file nor directory. */
void spool_close(struct spool *sp);

struct spool_stats {
	__u64 unread;    /* records kept and not yet read */
	__u64 bytes;     /* on disk */
	__u64 oldest_ns; /* capture time of the oldest unread record (0: none) */
	__u64 lost_full; /* appended, then not written: disk full */
	__u64 lost_err;  /* appended, then not written: another I/O error */
	/* left by an earlier run (counted as they are checked) */
	__u64 recovered; /* intact records not yet delivered: sent first */
	__u64 torn;      /* a last record cut short (the writer died mid-write) */
	__u64 corrupt;   /* a segment with a record failing its CRC, or an unreadable header */
	bool checking;   /* not all checked yet: more may be counted */
};

void spool_get_stats(const struct spool *sp, struct spool_stats *st);

#endif
