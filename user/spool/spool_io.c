// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "clock.h"
#include "log.h"
#include "segment.h"
#include "spool_io.h"
#include "staging.h"
#include "thread.h"

/*
 * At most 32 MiB handed over and not yet written: at 300 kpps of 64 B
 * frames (~130 B a record, ~40 MB/s) that is ~0.8 s of writes, some 20
 * times the longest stall measured (a 43 ms pwrite). Past it the worker
 * waits for a buffer, as it waited for every write before this thread.
 * The buffers are one staging file on tmpfs (staging.h), allocated whole
 * so that a full tmpfs is said at the start, not met as SIGBUS; in memory,
 * touched only as far as a stall needs, where there is no tmpfs.
 */
#define IO_BUFS 128
/* the FIFO: the writes above, and a few creations, header rewrites and
 * removals (one per segment, ten times a second at most) */
#define IO_OPS 512

struct spool_io {
	pthread_t thread;
	pthread_mutex_t lock;
	pthread_cond_t work; /* something was handed over, or stop */
	pthread_cond_t done; /* an operation was done: a buffer is free, the FIFO shorter */
	/* under lock */
	struct spool_io_op ops[IO_OPS];
	__u64 head, tail;    /* handed over: [head, tail); ops[head] is being done */
	unsigned int writes_waiting;
	bool stop;
	__u8 *free_bufs[IO_BUFS];
	unsigned int nfree;
	__u64 next_order;     /* of the next write handed over */
	struct staging stage; /* the buffers, and what each holds */
	/* the thread's own */
	char dir[PATH_MAX];
	time_t last_said;
	/* the worker's own: how long it waited for the disk, said every 10 s */
	__u64 waited_ns;
	time_t wait_said;
	/* the thread's, read by the worker */
	_Atomic __u64 lost_full, lost_err, lost_bytes;
};

int seg_file_create(struct seg_file *f)
{
	__u8 hdr[SEG_HDR_LEN];
	int fd, err;

	fd = open(f->path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0640);
	if (fd < 0)
		return -errno;
	seg_header(hdr, SEG_HDR_LEN);
	if (pwrite(fd, hdr, SEG_HDR_LEN, 0) != SEG_HDR_LEN) {
		err = errno ? -errno : -ENOSPC;
		close(fd);
		unlink(f->path);
		return err;
	}
	f->fd = fd;
	atomic_store_explicit(&f->written, SEG_HDR_LEN, memory_order_release);
	atomic_store_explicit(&f->handled, SEG_HDR_LEN, memory_order_release);
	return 0;
}

static bool is_full(int err)
{
	return err == ENOSPC || err == EDQUOT;
}

/* Rate-limited: a full disk is said once every 10 s, not per batch. */
static bool say_now(struct spool_io *io)
{
	time_t now = time(NULL);

	if (now - io->last_said < 10)
		return false;
	io->last_said = now;
	return true;
}

static void count_lost(struct spool_io *io, __u64 records, __u64 bytes, int err)
{
	atomic_fetch_add_explicit(is_full(err) ? &io->lost_full : &io->lost_err, records,
				  memory_order_relaxed);
	atomic_fetch_add_explicit(&io->lost_bytes, bytes, memory_order_relaxed);
}

static void do_create(struct spool_io *io, const struct spool_io_op *op)
{
	struct seg_file *f = op->f;
	int err = seg_file_create(f);

	if (!err)
		return;
	/* the header's bytes; the records handed for this file go with their writes */
	f->create_err = -err;
	count_lost(io, 0, op->len, -err);
	if (say_now(io))
		pr_warn("spool %s: cannot start a segment: %s; records Kafka cannot take are"
			" dropped and counted (%s)\n", io->dir, strerror(-err),
			is_full(-err) ? "spool_full" : "spool_errors");
	atomic_store_explicit(&f->handled, op->len, memory_order_release);
}

static void do_write(struct spool_io *io, const struct spool_io_op *op)
{
	struct seg_file *f = op->f;
	__u64 at = atomic_load_explicit(&f->written, memory_order_relaxed);
	struct stage_slot *slot = staging_slot(&io->stage, op->buf);
	ssize_t n;

	slot->off = at; /* a run killed mid-write: the next one writes it here again */
	atomic_store_explicit(&slot->state, STAGE_WRITING, memory_order_release);
	n = f->fd < 0 ? -1 : pwrite(f->fd, op->buf, op->len, (off_t)at);

	if (n == (ssize_t)op->len) {
		atomic_store_explicit(&f->written, at + op->len, memory_order_release);
	} else {
		/* a short write: the disk filled */
		int err = f->fd < 0 ? f->create_err : n < 0 ? errno : ENOSPC;

		if (f->fd >= 0 && ftruncate(f->fd, (off_t)at)) /* no half record left behind */
			err = errno;
		count_lost(io, op->records, op->len, err);
		if (say_now(io))
			pr_warn("spool %s: cannot write: %s; records Kafka cannot take are dropped"
				" and counted (%s)\n", io->dir, strerror(err),
				is_full(err) ? "spool_full" : "spool_errors");
	}
	atomic_fetch_add_explicit(&f->handled, op->len, memory_order_release);
}

static void do_op(struct spool_io *io, const struct spool_io_op *op)
{
	__u8 hdr[SEG_HDR_LEN];

	switch (op->kind) {
	case IO_CREATE:
		do_create(io, op);
		break;
	case IO_WRITE:
		do_write(io, op);
		break;
	case IO_CONSUMED:
		/* page cache: survives the process; a crash of the machine may
		 * repeat records. A failed rewrite only repeats records too. */
		seg_header(hdr, op->consumed);
		if (op->f->fd >= 0 && pwrite(op->f->fd, hdr + SEG_CONSUMED_OFF, 8,
					     SEG_CONSUMED_OFF) != 8)
			pr_debug("spool %s: cannot write a consumed offset: %s\n", io->dir,
				 strerror(errno));
		break;
	case IO_REMOVE:
		if (op->f->fd >= 0) { /* not created: the name may be another's */
			close(op->f->fd);
			unlink(op->f->path);
		}
		free(op->f);
		break;
	}
}

static void *io_main(void *arg)
{
	struct spool_io *io = arg;

	pthread_mutex_lock(&io->lock);
	for (;;) {
		struct spool_io_op op;

		while (io->head == io->tail && !io->stop)
			pthread_cond_wait(&io->work, &io->lock);
		if (io->head == io->tail)
			break;
		op = io->ops[io->head % IO_OPS];
		if (op.kind == IO_WRITE)
			io->writes_waiting--;
		pthread_mutex_unlock(&io->lock);
		do_op(io, &op);
		pthread_mutex_lock(&io->lock);
		if (op.kind == IO_WRITE) {
			struct stage_slot *slot = staging_slot(&io->stage, op.buf);

			atomic_store_explicit(&slot->state, STAGE_FREE, memory_order_release);
			io->free_bufs[io->nfree++] = op.buf;
		}
		io->head++;
		pthread_cond_broadcast(&io->done);
	}
	pthread_mutex_unlock(&io->lock);
	return NULL;
}

struct spool_io *spool_io_start(const char *dir, const char *stage_dir)
{
	struct spool_io *io = calloc(1, sizeof(*io));
	int err;

	if (!io)
		return NULL;
	err = staging_open(&io->stage, stage_dir, dir, IO_BUFS, SPOOL_IO_BUF);
	if (err) {
		free(io);
		errno = -err;
		return NULL;
	}
	for (unsigned int i = 0; i < IO_BUFS; i++) /* the first ones on top: reused first */
		io->free_bufs[i] = io->stage.bufs + (size_t)(IO_BUFS - 1 - i) * SPOOL_IO_BUF;
	io->nfree = IO_BUFS;
	snprintf(io->dir, sizeof(io->dir), "%s", dir);
	pthread_mutex_init(&io->lock, NULL);
	pthread_cond_init(&io->work, NULL);
	pthread_cond_init(&io->done, NULL);
	err = thread_start(&io->thread, io_main, io, "xs-spool-io");
	if (err) {
		staging_close(&io->stage, true);
		free(io);
		errno = err;
		return NULL;
	}
	return io;
}

/* The worker waited for the disk (the queue full): the frames arriving
 * meanwhile may overflow its RX ring (xsk_rx_ring_full); say why, every 10 s. */
static void waited(struct spool_io *io, __u64 since_ns)
{
	time_t now = time(NULL);

	io->waited_ns += clock_ns(CLOCK_MONOTONIC) - since_ns;
	if (now - io->wait_said < 10)
		return;
	pr_warn("spool %s: the disk is slower than the records to keep: the worker waited"
		" %llu ms for it (frames arriving meanwhile may be lost: xsk_rx_ring_full)\n",
		io->dir, (unsigned long long)(io->waited_ns / 1000000));
	io->wait_said = now;
	io->waited_ns = 0;
}

__u8 *spool_io_buffer(struct spool_io *io)
{
	struct stage_slot *slot;
	__u64 since = 0;
	__u8 *buf;

	pthread_mutex_lock(&io->lock);
	while (!io->nfree) {
		since = since ? since : clock_ns(CLOCK_MONOTONIC);
		pthread_cond_wait(&io->done, &io->lock);
	}
	buf = io->free_bufs[--io->nfree];
	pthread_mutex_unlock(&io->lock);
	if (since)
		waited(io, since);
	slot = staging_slot(&io->stage, buf);
	atomic_store_explicit(&slot->len, 0, memory_order_relaxed);
	atomic_store_explicit(&slot->state, STAGE_FILLING, memory_order_release);
	return buf;
}

void spool_io_filled(struct spool_io *io, const __u8 *buf, __u64 seq, size_t len,
		     __u64 records)
{
	struct stage_slot *slot = staging_slot(&io->stage, buf);

	slot->seq = seq;
	slot->records = records;
	atomic_store_explicit(&slot->len, len, memory_order_release); /* after the records */
}

bool spool_io_write_waiting(struct spool_io *io)
{
	bool waiting;

	pthread_mutex_lock(&io->lock);
	waiting = io->writes_waiting;
	pthread_mutex_unlock(&io->lock);
	return waiting;
}

void spool_io_submit(struct spool_io *io, const struct spool_io_op *op)
{
	__u64 since = 0;

	pthread_mutex_lock(&io->lock);
	while (io->tail - io->head == IO_OPS) {
		since = since ? since : clock_ns(CLOCK_MONOTONIC);
		pthread_cond_wait(&io->done, &io->lock);
	}
	io->ops[io->tail++ % IO_OPS] = *op;
	if (op->kind == IO_WRITE) {
		struct stage_slot *slot = staging_slot(&io->stage, op->buf);

		slot->order = io->next_order++;
		atomic_store_explicit(&slot->state, STAGE_HANDED, memory_order_release);
		io->writes_waiting++;
	}
	pthread_cond_signal(&io->work);
	pthread_mutex_unlock(&io->lock);
	if (since)
		waited(io, since);
}

void spool_io_sync(struct spool_io *io)
{
	pthread_mutex_lock(&io->lock);
	while (io->head != io->tail)
		pthread_cond_wait(&io->done, &io->lock);
	pthread_mutex_unlock(&io->lock);
}

void spool_io_lost(const struct spool_io *io, struct spool_io_lost *lost)
{
	lost->full = atomic_load_explicit(&io->lost_full, memory_order_relaxed);
	lost->err = atomic_load_explicit(&io->lost_err, memory_order_relaxed);
	lost->bytes = atomic_load_explicit(&io->lost_bytes, memory_order_relaxed);
}

void spool_io_stop(struct spool_io *io)
{
	if (!io)
		return;
	pthread_mutex_lock(&io->lock);
	io->stop = true;
	pthread_cond_signal(&io->work);
	pthread_mutex_unlock(&io->lock);
	pthread_join(io->thread, NULL);
	pthread_mutex_destroy(&io->lock);
	pthread_cond_destroy(&io->work);
	pthread_cond_destroy(&io->done);
	staging_close(&io->stage, true); /* all written: nothing left to restore */
	free(io);
}
