/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * A spool's I/O thread: it does the file system calls the worker hands it
 * (segment creation, data writes, header rewrites, removal), one after the
 * other in the order handed (one FIFO), so the worker does not wait behind
 * the file system (a pwrite or an unlink can take tens of ms behind the
 * journal, longer than the worker's RX ring holds).
 *
 * The worker owns the spool's bookkeeping; this thread owns only the calls
 * it is handed and what they find out: how far each file is written, and
 * what could not be written (counted, said once every 10 s).
 */
#ifndef XS_SPOOL_IO_H
#define XS_SPOOL_IO_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <linux/types.h>

#define SPOOL_IO_BUF (256u << 10) /* one write buffer */

/*
 * One segment file. The worker makes it and hands it over for good with
 * IO_REMOVE (the thread frees it), or frees it after spool_io_stop(). The
 * thread sets fd (IO_CREATE) and advances written, then handled; the worker
 * reads them with acquire loads, and the fd only once written says there
 * is something to read.
 */
struct seg_file {
	int fd;                /* -1 until created, and if the creation failed */
	int create_err;        /* why the creation failed: its records are lost with it */
	_Atomic __u64 written; /* bytes in the file: records readable up to here */
	_Atomic __u64 handled; /* bytes handed over and done with: written or lost */
	/* an earlier run's segment: readable up to here once checked
	 * (spool_check.h; until then its consumed offset); UINT64_MAX: ours */
	_Atomic __u64 checked_end;
	char path[PATH_MAX + 32];
};

enum spool_io_kind {
	IO_CREATE,   /* a new file (O_EXCL) holding only its header */
	IO_WRITE,    /* appends buf[0..len), `records` whole records */
	IO_CONSUMED, /* rewrites the header's consumed offset */
	IO_REMOVE,   /* closes, unlinks and frees the seg_file */
};

struct spool_io_op {
	enum spool_io_kind kind;
	struct seg_file *f;
	__u8 *buf;      /* IO_WRITE: from spool_io_buffer(); free again once written */
	size_t len;     /* IO_WRITE: of buf; IO_CREATE: of the header */
	__u64 records;  /* IO_WRITE: in buf */
	__u64 consumed; /* IO_CONSUMED */
};

/* What the thread could not write since it started: records, and bytes. */
struct spool_io_lost {
	__u64 full; /* ENOSPC, EDQUOT, a short write */
	__u64 err;  /* another error */
	__u64 bytes;
};

struct spool_io;

/* Starts the thread for the spool in dir, its write buffers in a staging
 * file under stage_dir (staging.h; NULL: in memory). NULL: errno set. */
struct spool_io *spool_io_start(const char *dir, const char *stage_dir);
/* A free write buffer of SPOOL_IO_BUF bytes; waits while all are handed over. */
__u8 *spool_io_buffer(struct spool_io *io);
/* The buffer holds len bytes of records (whole ones) for segment seq. */
void spool_io_filled(struct spool_io *io, const __u8 *buf, __u64 seq, size_t len,
		     __u64 records);
/* A write is handed over and not begun yet. */
bool spool_io_write_waiting(struct spool_io *io);
/* Hands an operation over; waits while the FIFO is full. */
void spool_io_submit(struct spool_io *io, const struct spool_io_op *op);
/* Waits until everything handed over is done. */
void spool_io_sync(struct spool_io *io);
void spool_io_lost(const struct spool_io *io, struct spool_io_lost *lost);
/* Does what is left, then ends the thread; NULL is fine. */
void spool_io_stop(struct spool_io *io);

/* Creates f->path with its header, at once (on the caller's thread):
 * 0, or -errno (nothing left behind). */
int seg_file_create(struct seg_file *f);

#endif
