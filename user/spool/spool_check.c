// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "segment.h"
#include "spool_check.h"
#include "thread.h"

#define CHECK_BUF ((256u << 10) + SEG_REC_MAX)

struct spool_check {
	pthread_t thread;
	char dir[PATH_MAX];
	struct spool_check_seg *segs;
	size_t n;
	__u8 *buf;
	atomic_bool stop;
	_Atomic __u64 records, torn, corrupt;
	atomic_bool done;
};

/* The intact records of one segment: where they end; a torn last record or
 * a damaged one ends them there (said and counted). */
static __u64 check_seg(struct spool_check *c, const struct spool_check_seg *s)
{
	const char *name = strrchr(s->f->path, '/') + 1;
	enum seg_decode d = SEG_OK;
	__u64 off = s->from;

	while (off < s->size && d != SEG_BAD && !atomic_load(&c->stop)) {
		size_t want = s->size - off < CHECK_BUF ? s->size - off : CHECK_BUF, p = 0;
		ssize_t n = pread(s->f->fd, c->buf, want, (off_t)off);
		__u64 records = 0;
		struct seg_rec r;

		if (n <= 0) {
			d = SEG_BAD;
			break;
		}
		while (p < (size_t)n && (d = seg_decode(c->buf + p, (size_t)n - p, &r)) == SEG_OK) {
			p += r.size;
			records++;
		}
		atomic_fetch_add(&c->records, records);
		off += p;
		if (d == SEG_SHORT && !p)
			break; /* not even one record fits before the end of the file */
	}
	if (atomic_load(&c->stop)) {
		return off;
	} else if (off < s->size && d == SEG_SHORT) {
		pr_warn("spool %s/%s: the last record is torn at offset %llu (a run died while"
			" writing it): skipped (spool_torn)\n", c->dir, name, (unsigned long long)off);
		atomic_fetch_add(&c->torn, 1);
	} else if (off < s->size) {
		pr_warn("spool %s/%s: the record at offset %llu fails its CRC: the segment's"
			" last %llu bytes are skipped (spool_corrupt)\n", c->dir, name,
			(unsigned long long)off, (unsigned long long)(s->size - off));
		atomic_fetch_add(&c->corrupt, 1);
	}
	return off;
}

static void *check_main(void *arg)
{
	struct spool_check *c = arg;

	for (size_t i = 0; i < c->n && !atomic_load(&c->stop); i++) {
		struct seg_file *f = c->segs[i].f;
		__u64 end = check_seg(c, &c->segs[i]);

		if (atomic_load(&c->stop))
			break; /* half checked: left unread, for the next run */
		atomic_store_explicit(&f->checked_end, end, memory_order_release);
		/* last: from here on the worker may read, deliver and remove it */
		atomic_store_explicit(&f->handled, c->segs[i].size, memory_order_release);
	}
	if (!atomic_load(&c->stop)) {
		pr_info("spool %s: %llu records left by an earlier run: sent before new ones\n",
			c->dir, (unsigned long long)atomic_load(&c->records));
		atomic_store_explicit(&c->done, true, memory_order_release);
	}
	return NULL;
}

struct spool_check *spool_check_start(const char *dir, const struct spool_check_seg *segs,
				      size_t n)
{
	struct spool_check *c = calloc(1, sizeof(*c));
	int err;

	if (!c)
		return NULL;
	c->segs = malloc(n * sizeof(*segs));
	c->buf = malloc(CHECK_BUF);
	if (!c->segs || !c->buf) {
		err = ENOMEM;
		goto fail;
	}
	memcpy(c->segs, segs, n * sizeof(*segs));
	c->n = n;
	snprintf(c->dir, sizeof(c->dir), "%s", dir);
	err = thread_start(&c->thread, check_main, c, "xs-spool-check");
	if (err)
		goto fail;
	return c;
fail:
	free(c->segs);
	free(c->buf);
	free(c);
	errno = err;
	return NULL;
}

void spool_check_counts(const struct spool_check *c, struct spool_check_counts *out)
{
	/* done first: counts read after it are final */
	out->done = atomic_load_explicit(&c->done, memory_order_acquire);
	out->records = atomic_load(&c->records);
	out->torn = atomic_load(&c->torn);
	out->corrupt = atomic_load(&c->corrupt);
}

void spool_check_stop(struct spool_check *c)
{
	if (!c)
		return;
	atomic_store(&c->stop, true);
	pthread_join(c->thread, NULL);
	free(c->segs);
	free(c->buf);
	free(c);
}
