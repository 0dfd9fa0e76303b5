/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * The spool's write buffers (spool_io.h), kept in a file of the run's state
 * directory (/run: tmpfs) instead of the process's memory, so that records
 * the worker appended and the I/O thread had not written yet outlive a
 * kill -9: the next run on the same spool writes them into their segments
 * (staging_restore) before it reads the spool. On tmpfs the worker's stores
 * never wait for the disk, as they did not in plain memory.
 *
 * Each buffer has a slot saying what it holds. The worker fills one buffer
 * at a time (FILLING: its length grows by whole records), hands it to the
 * I/O thread (HANDED, in FIFO order), which writes it (WRITING, at a known
 * offset of its segment) and frees it. The slot's length is stored after
 * the records it counts, so a kill leaves no half record counted.
 */
#ifndef XS_STAGING_H
#define XS_STAGING_H

#include <stdbool.h>
#include <stddef.h>
#include <linux/types.h>

enum stage_state { STAGE_FREE, STAGE_FILLING, STAGE_HANDED, STAGE_WRITING };

struct stage_slot {
	_Atomic __u32 state;
	__u32 reserved;
	__u64 seq;          /* the segment its records go to */
	__u64 order;        /* HANDED, WRITING: place in the I/O thread's FIFO */
	__u64 off;          /* WRITING: where in the segment */
	__u64 records;
	_Atomic __u64 len;  /* bytes of whole records */
};

struct staging {
	struct stage_slot *slots;
	__u8 *bufs; /* nbufs of buf_size bytes */
	unsigned int nbufs;
	size_t buf_size;
	void *map;
	size_t map_len;
	char path[4096]; /* empty: in memory only */
};

/*
 * Maps nbufs buffers of buf_size bytes, for the spool in dir, in a file
 * under stage_dir (an earlier run's reused: restore it first), allocated
 * whole. stage_dir NULL keeps them in memory only; so does one
 * that is not a tmpfs, or a file that cannot be made (said in one line).
 * 0, or -errno (no memory).
 */
int staging_open(struct staging *st, const char *stage_dir, const char *dir,
		 unsigned int nbufs, size_t buf_size);
/* The slot of a buffer (a pointer staging_open's bufs gave). */
struct stage_slot *staging_slot(const struct staging *st, const __u8 *buf);
/* Unmaps; remove: the file goes too (everything in it is written). */
void staging_close(struct staging *st, bool remove);

/*
 * Writes what an earlier run on dir left in its staging file into the
 * segments, in the order it handed them over, and marks the file's
 * buffers free. Returns the records written (0: no file), or -errno.
 */
long staging_restore(const char *stage_dir, const char *dir);

#endif
