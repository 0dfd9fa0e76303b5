// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "grow.h"
#include "log.h"
#include "spool.h"
#include "spool_check.h"
#include "spool_io.h"
#include "staging.h"

#define SPOOL_RING (1u << 16)   /* records read and not yet acknowledged, at most */
#define RBUF_CAP ((256u << 10) + SEG_REC_MAX)
#define SEG_BYTES_MIN (4ull << 10)
#define SEG_BYTES_MAX (64ull << 20)
#define FIRST_SEQ (1ull << 32)  /* room below it for segments put back in front */
#define NO_DAMAGE UINT64_MAX

struct seg {
	__u64 seq;
	struct seg_file *f; /* the file, as far as the I/O thread has written it */
	__u64 size;     /* bytes handed to the I/O thread (written, to be written, or lost) */
	__u64 end;      /* where damage starts (NO_DAMAGE: none found) */
	__u64 read_off; /* next record to read */
	__u64 consumed; /* records before it are acknowledged (also in the header) */
	bool dirty;     /* consumed not yet written to the header */
};

enum ticket_state { T_FREE, T_READ, T_ACKED };

struct ticket {
	__u64 seq, start, end; /* where the record lies */
	struct seg_meta meta;
	__u8 state;
};

struct spool {
	char dir[PATH_MAX];
	__u64 max_bytes, seg_bytes;
	struct seg *segs; /* by seq, oldest first; the last one is written to */
	size_t nsegs, cap;
	__u64 low_seq, high_seq; /* of any file this spool has had: new ones go below or above */
	struct spool_io *io;
	struct spool_check *check; /* the segments an earlier run left, being checked */
	__u8 *wbuf;       /* appends, handed to the I/O thread once per RX batch at most */
	size_t wlen;
	__u64 wrecords;   /* records in wbuf */
	__u8 *rbuf;       /* a window of one segment */
	__u64 rseq, roff;
	size_t rlen;
	struct seg_rec peeked;
	size_t peek_seg;  /* index of the segment peeked into */
	bool have_peek;
	struct ticket *ring;
	__u64 head, tail; /* tickets [head, tail) are read, not yet committed */
	struct spool_stats st; /* the worker's; spool_get_stats() adds the I/O thread's losses */
};

static struct seg *wseg(struct spool *sp)
{
	return &sp->segs[sp->nsegs - 1];
}

/* Readable up to here: what the I/O thread has written (or the check
 * passed, in an earlier run's segment), short of damage. */
static __u64 seg_end(const struct seg *s)
{
	__u64 written = atomic_load_explicit(&s->f->written, memory_order_acquire);
	__u64 checked = atomic_load_explicit(&s->f->checked_end, memory_order_acquire);
	__u64 end = written < s->end ? written : s->end;

	return checked < end ? checked : end;
}

/* Every byte handed over is written or lost: nothing more will be readable. */
static bool seg_settled(const struct seg *s)
{
	return atomic_load_explicit(&s->f->handled, memory_order_acquire) == s->size;
}

/* Nothing in it is left to read nor to deliver. */
static bool seg_done(const struct seg *s)
{
	return seg_settled(s) && s->consumed >= seg_end(s) && s->read_off >= seg_end(s);
}

static struct seg_file *seg_file_new(const struct spool *sp, __u64 seq)
{
	struct seg_file *f = calloc(1, sizeof(*f));

	if (!f)
		return NULL;
	f->fd = -1;
	f->checked_end = UINT64_MAX;
	snprintf(f->path, sizeof(f->path), "%s/%016llx.seg", sp->dir, (unsigned long long)seq);
	return f;
}

/* Bytes kept: on disk, handed over, or in the write buffer. */
static __u64 bytes_kept(const struct spool *sp)
{
	struct spool_io_lost lost;

	spool_io_lost(sp->io, &lost);
	return sp->st.bytes + sp->wlen - lost.bytes;
}

static struct seg *find_seg(struct spool *sp, __u64 seq)
{
	for (size_t i = 0; i < sp->nsegs; i++)
		if (sp->segs[i].seq == seq)
			return &sp->segs[i];
	return NULL;
}

/* Inserts a segment at index at (0: in front of all, nsegs: last). */
static struct seg *insert_seg(struct spool *sp, size_t at, const struct seg *s)
{
	if (grow(&sp->segs, &sp->cap, sp->nsegs + 1, 16))
		return NULL;
	memmove(&sp->segs[at + 1], &sp->segs[at], (sp->nsegs - at) * sizeof(*s));
	sp->segs[at] = *s;
	sp->nsegs++;
	sp->have_peek = false;
	return &sp->segs[at];
}

/* Only once settled: its written bytes are final (what was lost is
 * subtracted from the bytes by spool_get_stats). */
static void remove_seg(struct spool *sp, size_t i)
{
	struct seg_file *f = sp->segs[i].f;

	sp->st.bytes -= atomic_load_explicit(&f->written, memory_order_acquire);
	spool_io_submit(sp->io, &(struct spool_io_op){ .kind = IO_REMOVE, .f = f });
	if (sp->rseq == sp->segs[i].seq)
		sp->rlen = 0;
	memmove(&sp->segs[i], &sp->segs[i + 1], (sp->nsegs - i - 1) * sizeof(*sp->segs));
	sp->nsegs--;
	sp->have_peek = false;
}

static int mkdir_p(const char *dir)
{
	char p[PATH_MAX];

	snprintf(p, sizeof(p), "%s", dir);
	for (char *s = p + 1; *s; s++) {
		if (*s != '/')
			continue;
		*s = '\0';
		if (mkdir(p, 0750) && errno != EEXIST)
			return -errno;
		*s = '/';
	}
	if (mkdir(p, 0750) && errno != EEXIST)
		return -errno;
	return 0;
}

/* A new segment of sequence seq, holding only its header; its file is
 * created now (sync), or by the I/O thread, in order with the writes. */
static int create_seg(struct spool *sp, __u64 seq, bool sync, struct seg *s)
{
	struct seg_file *f = seg_file_new(sp, seq);
	int err;

	if (!f)
		return -ENOMEM;
	if (sync && (err = seg_file_create(f))) {
		free(f);
		return err;
	}
	*s = (struct seg){ .seq = seq, .f = f, .size = SEG_HDR_LEN, .end = NO_DAMAGE,
			   .read_off = SEG_HDR_LEN, .consumed = SEG_HDR_LEN };
	sp->st.bytes += SEG_HDR_LEN;
	return 0;
}

static int seq_cmp(const void *a, const void *b)
{
	__u64 x = *(const __u64 *)a, y = *(const __u64 *)b;

	return x < y ? -1 : x > y;
}

/* The segments an earlier run left, oldest first: opened here, checked
 * by spool_check's thread (readable once checked). */
static int recover(struct spool *sp, struct spool_found *f)
{
	struct spool_check_seg *check = NULL;
	DIR *d = opendir(sp->dir);
	struct dirent *e;
	__u64 *seqs = NULL;
	size_t n = 0, cap = 0;
	int err = 0;

	if (!d)
		return -errno;
	while ((e = readdir(d))) {
		unsigned long long seq;
		char tail[8];

		if (sscanf(e->d_name, "%16llx%7s", &seq, tail) != 2 || strcmp(tail, ".seg") ||
		    strlen(e->d_name) != 20)
			continue;
		if (grow(&seqs, &cap, n + 1, 64)) {
			closedir(d);
			free(seqs);
			return -ENOMEM;
		}
		seqs[n++] = seq;
	}
	closedir(d);
	qsort(seqs, n, sizeof(*seqs), seq_cmp);
	if (n) { /* corrupt ones left alone and delivered ones being removed too */
		sp->low_seq = seqs[0];
		sp->high_seq = seqs[n - 1];
		check = calloc(n, sizeof(*check));
		if (!check)
			err = -ENOMEM;
	}
	for (size_t i = 0; i < n && !err; i++) {
		struct seg s = { .seq = seqs[i], .f = seg_file_new(sp, seqs[i]), .end = NO_DAMAGE };
		__u8 hdr[SEG_HDR_LEN];
		struct stat stb;
		int fd;

		if (!s.f) {
			err = -ENOMEM;
			break;
		}
		fd = open(s.f->path, O_RDWR | O_CLOEXEC);
		if (fd < 0 || fstat(fd, &stb) || pread(fd, hdr, SEG_HDR_LEN, 0) != SEG_HDR_LEN ||
		    seg_header_check(hdr, &s.consumed) || s.consumed > (__u64)stb.st_size) {
			pr_warn("spool %s/%s: not a readable spool segment (header): left alone"
				" (spool_corrupt)\n", sp->dir, strrchr(s.f->path, '/') + 1);
			sp->st.corrupt++;
			if (fd >= 0)
				close(fd);
			free(s.f);
			continue;
		}
		s.f->fd = fd;
		s.size = (__u64)stb.st_size;
		s.read_off = s.consumed;
		sp->st.bytes += s.size;
		atomic_store_explicit(&s.f->written, s.size, memory_order_relaxed);
		if (s.consumed < s.size) { /* nothing readable nor removable until checked */
			atomic_store_explicit(&s.f->checked_end, s.consumed, memory_order_relaxed);
			check[f->segments++] = (struct spool_check_seg){ .f = s.f, .from = s.consumed,
									 .size = s.size };
			f->bytes += s.size - s.consumed;
		} else {
			atomic_store_explicit(&s.f->handled, s.size, memory_order_relaxed);
		}
		if (!insert_seg(sp, sp->nsegs, &s)) {
			close(fd);
			free(s.f);
			err = -ENOMEM;
			break;
		}
		if (s.consumed >= s.size)
			remove_seg(sp, sp->nsegs - 1); /* delivered; the last run died before removing it */
	}
	if (!err && f->segments && !(sp->check = spool_check_start(sp->dir, check, f->segments)))
		err = -errno;
	free(check);
	free(seqs);
	return err;
}

struct spool *spool_open(const char *dir, __u64 max_bytes, const char *stage_dir,
			 struct spool_found *found)
{
	struct spool *sp = calloc(1, sizeof(*sp));
	struct seg s;
	int err;

	*found = (struct spool_found){ 0 };
	if (!sp)
		return NULL;
	snprintf(sp->dir, sizeof(sp->dir), "%s", dir);
	sp->max_bytes = max_bytes;
	sp->low_seq = FIRST_SEQ;
	sp->high_seq = FIRST_SEQ - 1;
	sp->seg_bytes = max_bytes / 8;
	if (sp->seg_bytes < SEG_BYTES_MIN)
		sp->seg_bytes = SEG_BYTES_MIN;
	if (sp->seg_bytes > SEG_BYTES_MAX)
		sp->seg_bytes = SEG_BYTES_MAX;
	sp->rbuf = malloc(RBUF_CAP);
	sp->ring = calloc(SPOOL_RING, sizeof(*sp->ring));
	err = !sp->rbuf || !sp->ring ? -ENOMEM : mkdir_p(dir);
	/* what a killed run had not written yet goes behind what it had */
	if (!err)
		staging_restore(stage_dir, dir);
	if (!err && !(sp->io = spool_io_start(dir, stage_dir)))
		err = -errno;
	if (!err) {
		sp->wbuf = spool_io_buffer(sp->io);
		err = recover(sp, found);
	}
	/* the first segment at once: a directory we cannot write is said here */
	if (!err)
		err = create_seg(sp, ++sp->high_seq, true, &s);
	if (!err && !insert_seg(sp, sp->nsegs, &s)) {
		close(s.f->fd);
		unlink(s.f->path);
		free(s.f);
		err = -ENOMEM;
	}
	if (err) {
		pr_warn("spool %s: cannot use it: %s; records Kafka cannot take are dropped and"
			" counted (spool_errors)\n", dir, strerror(-err));
		spool_close(sp);
		errno = -err;
		return NULL;
	}
	if (found->segments)
		pr_info("spool %s: %llu segment(s), %llu bytes, left by an earlier run: checked"
			" while capturing, sent before new records\n", dir,
			(unsigned long long)found->segments, (unsigned long long)found->bytes);
	return sp;
}

/* Hands the write buffer to the I/O thread: at once if `now` (full, a new
 * segment, the end), else only while no other write waits there, so a slow
 * disk gets fewer and fuller writes and the handed-over bytes stay bounded. */
static void hand_over(struct spool *sp, bool now)
{
	struct seg *w = wseg(sp);

	if (!sp->wlen || (!now && spool_io_write_waiting(sp->io)))
		return;
	spool_io_submit(sp->io, &(struct spool_io_op){ .kind = IO_WRITE, .f = w->f,
						       .buf = sp->wbuf, .len = sp->wlen,
						       .records = sp->wrecords });
	w->size += sp->wlen;
	sp->st.bytes += sp->wlen;
	sp->wbuf = spool_io_buffer(sp->io);
	sp->wlen = 0;
	sp->wrecords = 0;
}

void spool_flush(struct spool *sp)
{
	hand_over(sp, false);
}

void spool_sync(struct spool *sp)
{
	hand_over(sp, true);
	spool_io_sync(sp->io);
}

/* The write segment is full: the next records go to a new one, which the
 * I/O thread creates after writing the last records of this one. */
static int rotate(struct spool *sp)
{
	struct seg s;
	int err;

	hand_over(sp, true);
	err = create_seg(sp, ++sp->high_seq, false, &s);
	if (err)
		return err;
	if (!insert_seg(sp, sp->nsegs, &s)) {
		sp->st.bytes -= SEG_HDR_LEN;
		free(s.f);
		return -ENOMEM;
	}
	spool_io_submit(sp->io, &(struct spool_io_op){ .kind = IO_CREATE, .f = s.f,
						       .len = SEG_HDR_LEN });
	return 0;
}

int spool_append(struct spool *sp, const struct seg_meta *m, const void *key, __u32 key_len,
		 const void *value, __u32 value_len)
{
	size_t size = seg_rec_size(m, key_len, value_len);
	struct seg *w = wseg(sp);
	int err;

	if (key_len > SEG_KEY_MAX || value_len > SEG_VALUE_MAX)
		return -EINVAL;
	if (bytes_kept(sp) + size > sp->max_bytes)
		return -ENOSPC;
	if (w->size + sp->wlen + size > sp->seg_bytes && w->size + sp->wlen > SEG_HDR_LEN) {
		err = rotate(sp);
		if (err)
			return err;
	}
	if (sp->wlen + size > SPOOL_IO_BUF)
		hand_over(sp, true);
	sp->wlen += seg_encode(sp->wbuf + sp->wlen, m, key, key_len, value, value_len);
	sp->wrecords++;
	spool_io_filled(sp->io, sp->wbuf, wseg(sp)->seq, sp->wlen, sp->wrecords);
	sp->st.unread++;
	return 0;
}

/* Decodes the record at s->read_off from the window, reading it if needed;
 * end: the segment is readable up to there. */
static enum seg_decode read_rec(struct spool *sp, struct seg *s, __u64 end, struct seg_rec *r)
{
	enum seg_decode d = SEG_SHORT;
	ssize_t n;

	if (sp->rlen && sp->rseq == s->seq && s->read_off >= sp->roff &&
	    s->read_off < sp->roff + sp->rlen) {
		d = seg_decode(sp->rbuf + (s->read_off - sp->roff),
			       sp->roff + sp->rlen - s->read_off, r);
		if (d != SEG_SHORT || sp->roff + sp->rlen >= end)
			return d;
	}
	n = pread(s->f->fd, sp->rbuf, end - s->read_off < RBUF_CAP ? end - s->read_off : RBUF_CAP,
		  (off_t)s->read_off);
	if (n <= 0) {
		sp->rlen = 0;
		return SEG_BAD;
	}
	sp->rseq = s->seq;
	sp->roff = s->read_off;
	sp->rlen = (size_t)n;
	return seg_decode(sp->rbuf, sp->rlen, r);
}

const struct seg_rec *spool_peek(struct spool *sp)
{
	if (sp->have_peek)
		return &sp->peeked;
	/* in segment order: the I/O thread writes in the order handed, so
	 * records not yet written are behind every record already written */
	for (size_t i = 0; i < sp->nsegs; i++) {
		struct seg *s = &sp->segs[i];
		__u64 end = seg_end(s);

		while (s->read_off < end) {
			if (read_rec(sp, s, end, &sp->peeked) == SEG_OK) {
				sp->peek_seg = i;
				sp->have_peek = true;
				sp->st.oldest_ns = sp->peeked.meta.ts_ns;
				return &sp->peeked;
			}
			/* our own file, damaged under us (disk, or a hand) */
			pr_warn("spool %s: segment %016llx unreadable at offset %llu: its rest"
				" is skipped\n", sp->dir, (unsigned long long)s->seq,
				(unsigned long long)s->read_off);
			s->end = end = s->read_off;
		}
		/* more may come in it (being written, or checked): nothing of a
		 * later segment is before that */
		if (!seg_settled(s))
			break;
	}
	/* the unread records may still be in the write buffer: readable once written */
	hand_over(sp, false);
	sp->st.oldest_ns = 0;
	return NULL;
}
bool spool_can_take(const struct spool *sp)
{
	return sp->tail - sp->head < SPOOL_RING;
}

__u32 spool_next_ticket(const struct spool *sp)
{
	return (__u32)sp->tail;
}

__u32 spool_take(struct spool *sp)
{
	struct seg *s = &sp->segs[sp->peek_seg];
	struct ticket *t = &sp->ring[sp->tail % SPOOL_RING];

	*t = (struct ticket){ .seq = s->seq, .start = s->read_off,
			      .end = s->read_off + sp->peeked.size, .meta = sp->peeked.meta,
			      .state = T_READ };
	s->read_off = t->end;
	sp->have_peek = false;
	sp->st.unread--;
	return (__u32)sp->tail++;
}

/* The ring slot of a ticket still in [head, tail), or NULL. */
static struct ticket *ticket_of(const struct spool *sp, __u32 ticket)
{
	__u32 age = (__u32)sp->tail - ticket;

	if (age == 0 || age > sp->tail - sp->head)
		return NULL;
	return &sp->ring[ticket % SPOOL_RING];
}

void spool_ack(struct spool *sp, __u32 ticket)
{
	struct ticket *t = ticket_of(sp, ticket);

	if (t && t->state == T_READ)
		t->state = T_ACKED;
}

const struct seg_meta *spool_ticket_meta(const struct spool *sp, __u32 ticket)
{
	struct ticket *t = ticket_of(sp, ticket);

	return t ? &t->meta : NULL;
}

/* Every record read after the first one handed back is handed back too (none
 * was acknowledged since): reading again from there keeps the order. */
static bool can_rewind(struct spool *sp, const struct spool_back *recs, size_t n)
{
	__u64 i = sp->head, back = 0;

	for (size_t k = 0; k < n; k++)
		if (!recs[k].from_spool || !ticket_of(sp, recs[k].ticket))
			return false;
	while (i < sp->tail && sp->ring[i % SPOOL_RING].state == T_ACKED)
		i++;
	for (__u64 j = i; j < sp->tail; j++) {
		if (sp->ring[j % SPOOL_RING].state != T_READ)
			return false;
		back++;
	}
	return back == n;
}

static void rewind_to(struct spool *sp, __u64 from)
{
	for (__u64 j = from; j < sp->tail; j++) {
		struct ticket *t = &sp->ring[j % SPOOL_RING];
		struct seg *s = find_seg(sp, t->seq);

		if (s && t->start < s->read_off)
			s->read_off = t->start;
		t->state = T_FREE;
		sp->st.unread++;
	}
	sp->tail = from;
	sp->have_peek = false;
}

int spool_put_back(struct spool *sp, const struct spool_back *recs, size_t n)
{
	size_t size = SEG_HDR_LEN, off = SEG_HDR_LEN;
	struct seg s;
	__u8 *buf;
	int err;

	if (!n)
		return 0;
	if (can_rewind(sp, recs, n)) {
		__u64 from = sp->head;

		while (sp->ring[from % SPOOL_RING].state == T_ACKED)
			from++;
		rewind_to(sp, from);
		return 0;
	}
	/* a segment in front of all the others, written at once */
	for (size_t k = 0; k < n; k++)
		size += seg_rec_size(&recs[k].meta, recs[k].key_len, recs[k].value_len);
	buf = malloc(size);
	if (!buf)
		return -ENOMEM;
	seg_header(buf, SEG_HDR_LEN);
	for (size_t k = 0; k < n; k++)
		off += seg_encode(buf + off, &recs[k].meta, recs[k].key, recs[k].key_len,
				  recs[k].value, recs[k].value_len);
	/* by the worker itself (rare: the broker stalled); a seq below any
	 * file's, even one the I/O thread has not removed yet */
	err = create_seg(sp, --sp->low_seq, true, &s);
	if (!err) {
		ssize_t w = pwrite(s.f->fd, buf, size, 0);

		s.size = size;
		atomic_store_explicit(&s.f->written, size, memory_order_relaxed);
		atomic_store_explicit(&s.f->handled, size, memory_order_relaxed);
		if (w != (ssize_t)size)
			err = w < 0 ? -errno : -ENOSPC;
		else if (!insert_seg(sp, 0, &s))
			err = -ENOMEM;
		if (err) {
			close(s.f->fd);
			unlink(s.f->path);
			free(s.f);
			sp->st.bytes -= SEG_HDR_LEN;
		} else {
			sp->st.bytes += size - SEG_HDR_LEN;
		}
	}
	free(buf);
	if (err) {
		pr_warn("spool %s: cannot put %zu records back: %s; counted as lost (%s)\n", sp->dir,
			n, strerror(-err), err == -ENOSPC ? "spool_full" : "spool_errors");
		if (err == -ENOSPC)
			sp->st.lost_full += n;
		else
			sp->st.lost_err += n;
	} else {
		sp->st.unread += n;
	}
	/* either way they are no longer the producer's: their old copies may go */
	for (size_t k = 0; k < n; k++)
		if (recs[k].from_spool)
			spool_ack(sp, recs[k].ticket);
	return err;
}

void spool_commit(struct spool *sp)
{
	while (sp->head < sp->tail && sp->ring[sp->head % SPOOL_RING].state == T_ACKED) {
		struct ticket *t = &sp->ring[sp->head % SPOOL_RING];
		struct seg *s = find_seg(sp, t->seq);

		if (s && t->end > s->consumed) {
			s->consumed = t->end;
			s->dirty = true;
		}
		t->state = T_FREE;
		sp->head++;
	}
	/* both by the I/O thread: a header write or an unlink can wait tens
	 * of ms behind the file system's journal */
	for (size_t i = 0; i < sp->nsegs;) {
		struct seg *s = &sp->segs[i];

		if (i + 1 < sp->nsegs && seg_done(s)) {
			remove_seg(sp, i);
			continue;
		}
		if (s->dirty) {
			spool_io_submit(sp->io, &(struct spool_io_op){ .kind = IO_CONSUMED, .f = s->f,
								       .consumed = s->consumed });
			s->dirty = false;
		}
		i++;
	}
}

void spool_get_stats(const struct spool *sp, struct spool_stats *st)
{
	struct spool_check_counts found = { .done = true };
	struct spool_io_lost lost;

	spool_io_lost(sp->io, &lost);
	if (sp->check)
		spool_check_counts(sp->check, &found);
	*st = sp->st;
	st->bytes += sp->wlen - lost.bytes;
	st->unread -= lost.full + lost.err; /* appended, never to be read */
	st->unread += found.records;         /* (those taken were taken off st.unread) */
	st->lost_full += lost.full;
	st->lost_err += lost.err;
	st->recovered = found.records;
	st->torn = found.torn;
	st->corrupt += found.corrupt;
	st->checking = !found.done;
	if (!st->unread)
		st->oldest_ns = 0;
}

void spool_close(struct spool *sp)
{
	if (!sp)
		return;
	/* first: it reads the files closed below; what it did not check
	 * stays unread on disk, for the next run */
	spool_check_stop(sp->check);
	if (sp->io && sp->nsegs) {
		spool_sync(sp);
		spool_commit(sp);
		/* the write segment, if it holds nothing left to send */
		if (seg_done(wseg(sp)))
			remove_seg(sp, sp->nsegs - 1);
	}
	spool_io_stop(sp->io); /* what is left handed over is done first */
	for (size_t i = 0; i < sp->nsegs; i++) {
		if (sp->segs[i].f->fd >= 0)
			close(sp->segs[i].f->fd);
		free(sp->segs[i].f);
	}
	rmdir(sp->dir); /* only if empty */
	free(sp->segs);
	free(sp->rbuf);
	free(sp->ring);
	free(sp);
}
