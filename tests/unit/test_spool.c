// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * The spool's segment format and its recovery, on real files in a temporary
 * directory: records round-trip, every damaged byte is caught by the CRC,
 * a torn last record is skipped and counted, a corrupt one ends its
 * segment, and a spool reopened after a "crash" (closed without any
 * record acknowledged) gives its records back in order; acknowledged ones
 * are not given back; records put back go in front. The spool's I/O
 * thread: records come back whole and in order while written and read at
 * once, none before it is written (a frozen file system), the worker does
 * not wait for a stalled disk until its queue is full (then it says so),
 * write errors are counted, close drains.
 * What an earlier run left is checked in the background, in order.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <dirent.h>
#include <linux/fs.h>
#include <sched.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "segment.h"
#include "spool.h"
#include "expect.h"

static const __u8 key[40] = { 1, 2, 3, 4, 5 };

static void make_value(__u8 *v, __u32 len, __u32 i)
{
	for (__u32 j = 0; j < len; j++)
		v[j] = (__u8)(i * 7 + j);
}

/* One record through the format: back whole; every cut short, every byte flipped caught. */
static void roundtrip(const struct seg_meta *m)
{
	__u8 buf[SEG_REC_MAX], value[1500];
	struct seg_rec r;
	size_t size;

	make_value(value, sizeof(value), 3);
	size = seg_encode(buf, m, key, sizeof(key), value, sizeof(value));
	EXPECT_EQ("size", size,
		  SEG_REC_HDR + sizeof(key) + sizeof(value) + (m->has_outer_key ? 40 : 0));
	EXPECT_EQ("decodes", seg_decode(buf, size, &r), SEG_OK);
	EXPECT_EQ("ts", r.meta.ts_ns, m->ts_ns);
	EXPECT_EQ("orig_len", r.meta.orig_len, m->orig_len);
	EXPECT_EQ("dir", r.meta.dir, m->dir);
	EXPECT_EQ("outer key or none", r.meta.has_outer_key, m->has_outer_key);
	EXPECT_TRUE("outer key", !m->has_outer_key ||
					 !memcmp(r.meta.outer_key, m->outer_key, SEG_OUTER_KEY_LEN));
	EXPECT_EQ("key_len", r.key_len, sizeof(key));
	EXPECT_EQ("value_len", r.value_len, sizeof(value));
	EXPECT_TRUE("key", !memcmp(r.key, key, sizeof(key)));
	EXPECT_TRUE("value", !memcmp(r.value, value, sizeof(value)));
	EXPECT_EQ("record size", r.size, size);
	/* every byte short of the whole record: SHORT, never a wrong record */
	for (size_t n = 0; n < size; n++)
		if (seg_decode(buf, n, &r) != SEG_SHORT) {
			EXPECT_EQ("a cut record is short", n, -1);
			break;
		}
	/* every single byte flipped is caught */
	for (size_t i = 0; i < size; i++) {
		enum seg_decode d;

		buf[i] ^= 0x40;
		d = seg_decode(buf, size, &r);
		buf[i] ^= 0x40;
		if (d == SEG_OK) {
			EXPECT_EQ("a flipped byte is caught at offset", i, -1);
			break;
		}
	}
	/* an empty key and value */
	size = seg_encode(buf, m, NULL, 0, NULL, 0);
	EXPECT_EQ("empty record", seg_decode(buf, size, &r), SEG_OK);
	EXPECT_EQ("empty value", r.value_len, 0);
	EXPECT_EQ("empty record's outer key", r.meta.has_outer_key, m->has_outer_key);
}

static void test_segment_roundtrip(void **state)
{
	struct seg_meta m = { .ts_ns = 1750000000123456789ull, .orig_len = 9000, .dir = 1 };

	(void)state;
	roundtrip(&m);
	/* keyed inside a tunnel: the tunnel's key goes along (xs.outer_key) */
	m.has_outer_key = true;
	for (int i = 0; i < SEG_OUTER_KEY_LEN; i++)
		m.outer_key[i] = (__u8)(0xa0 + i);
	roundtrip(&m);
	end_checks("segment record");
}

static void test_segment_header(void **state)
{
	__u8 hdr[SEG_HDR_LEN];
	__u64 consumed = 0;

	(void)state;
	seg_header(hdr, 4096);
	EXPECT_EQ("header ok", seg_header_check(hdr, &consumed), 0);
	EXPECT_EQ("consumed", consumed, 4096);
	hdr[0] = 'Y';
	EXPECT_EQ("bad magic", seg_header_check(hdr, &consumed) != 0, 1);
	seg_header(hdr, 4);
	EXPECT_EQ("consumed inside the header", seg_header_check(hdr, &consumed) != 0, 1);
	end_checks("segment header");
}

/* ------------------------------------------------------------------ */
/* spool files                                                          */

static char dir[64];

static int make_dir(void **state)
{
	(void)state;
	snprintf(dir, sizeof(dir), "/tmp/xs-spool-test.XXXXXX");
	return mkdtemp(dir) ? 0 : -1;
}

static int remove_dir(void **state)
{
	char cmd[128];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	return system(cmd);
}

static void fill(struct spool *sp, __u32 first, __u32 n, __u32 len)
{
	__u8 value[2048];

	for (__u32 i = first; i < first + n; i++) {
		struct seg_meta m = { .ts_ns = 1000 + i, .orig_len = len, .dir = (__u8)(i & 1) };

		make_value(value, len, i);
		EXPECT_EQ("append", spool_append(sp, &m, key, sizeof(key), value, len), 0);
	}
	spool_sync(sp); /* written by the spool's I/O thread: readable now */
}

/* Reads every unread record without acknowledging any; checks their order. */
static __u32 read_all(struct spool *sp, __u32 first, __u32 len)
{
	__u8 value[2048];
	const struct seg_rec *r;
	__u32 n = 0;

	while ((r = spool_peek(sp))) {
		make_value(value, len, first + n);
		if (r->meta.ts_ns != 1000 + first + n || r->value_len != len ||
		    memcmp(r->value, value, len)) {
			EXPECT_EQ("record in order, intact: ts", r->meta.ts_ns, 1000 + first + n);
			break;
		}
		spool_take(sp);
		n++;
	}
	return n;
}

/* the path of the only (or last) segment file in dir/w */
static void last_segment(const char *sub, char *out, size_t len)
{
	char cmd[256];
	FILE *p;

	snprintf(cmd, sizeof(cmd), "ls '%s/%s'/*.seg | sort | tail -n 1", dir, sub);
	p = popen(cmd, "r");
	out[0] = '\0';
	if (p && fgets(out, (int)len, p))
		out[strcspn(out, "\n")] = '\0';
	if (p)
		pclose(p);
}

/* Opens the spool and waits until what an earlier run left is checked
 * (found: the counts, as spool_get_stats gives them). */
static struct spool *open_staged(const char *d, __u64 max, const char *stage,
				 struct spool_stats *found)
{
	struct spool_found f;
	struct spool *sp = spool_open(d, max, stage, &f);

	memset(found, 0, sizeof(*found));
	for (int i = 0; sp && i < 10000; i++) {
		spool_get_stats(sp, found);
		if (!found->checking)
			break;
		usleep(1000);
	}
	return sp;
}

static struct spool *open_checked(const char *d, __u64 max, struct spool_stats *found)
{
	return open_staged(d, max, NULL, found);
}

static void test_spool_restart(void **state)
{
	char d[128];
	struct spool_stats f;
	struct spool *sp;

	(void)state;
	snprintf(d, sizeof(d), "%s/restart", dir);
	sp = open_checked(d, 1 << 20, &f);
	EXPECT_TRUE("open", sp);
	if (!sp)
		return end_checks("spool restart");
	EXPECT_EQ("fresh: nothing found", f.recovered, 0);
	fill(sp, 0, 100, 200);
	spool_close(sp); /* nothing acknowledged: as after kill -9 */

	sp = open_checked(d, 1 << 20, &f);
	EXPECT_EQ("found again", f.recovered, 100);
	EXPECT_EQ("none torn", f.torn, 0);
	/* acknowledge the first 40 only */
	for (int i = 0; i < 40 && spool_peek(sp); i++)
		spool_ack(sp, spool_take(sp));
	spool_commit(sp);
	spool_close(sp);

	sp = open_checked(d, 1 << 20, &f);
	EXPECT_EQ("the 60 not acknowledged", f.recovered, 60);
	EXPECT_EQ("in order from record 40", read_all(sp, 40, 200), 60);
	spool_close(sp);
	end_checks("spool restart");
}

static void test_spool_torn(void **state)
{
	char d[128], seg[256];
	struct spool_stats f;
	struct spool *sp;
	struct stat st;

	(void)state;
	snprintf(d, sizeof(d), "%s/torn", dir);
	sp = open_checked(d, 1 << 20, &f);
	fill(sp, 0, 10, 300);
	spool_close(sp);
	last_segment("torn", seg, sizeof(seg));
	/* the writer died 5 bytes short of the end of its last record */
	EXPECT_EQ("stat", stat(seg, &st), 0);
	EXPECT_EQ("truncate", truncate(seg, st.st_size - 5), 0);
	sp = open_checked(d, 1 << 20, &f);
	EXPECT_EQ("9 intact", f.recovered, 9);
	EXPECT_EQ("1 torn", f.torn, 1);
	EXPECT_EQ("none corrupt", f.corrupt, 0);
	EXPECT_EQ("the 9 back, in order", read_all(sp, 0, 300), 9);
	spool_close(sp);
	end_checks("spool torn record");
}

static void test_spool_corrupt(void **state)
{
	char d[128], seg[256];
	struct spool_stats f;
	struct spool *sp;
	int fd;
	__u8 b;

	(void)state;
	snprintf(d, sizeof(d), "%s/corrupt", dir);
	sp = open_checked(d, 1 << 20, &f);
	fill(sp, 0, 10, 100);
	spool_close(sp);
	last_segment("corrupt", seg, sizeof(seg));
	/* one byte of record 4's value flipped */
	fd = open(seg, O_RDWR);
	EXPECT_TRUE("open segment", fd >= 0);
	{
		off_t at = SEG_HDR_LEN + 4 * (off_t)seg_rec_size(&(struct seg_meta){ 0 }, sizeof(key), 100) + SEG_REC_HDR + 50;

		EXPECT_EQ("read", pread(fd, &b, 1, at), 1);
		b ^= 1;
		EXPECT_EQ("write", pwrite(fd, &b, 1, at), 1);
	}
	close(fd);
	sp = open_checked(d, 1 << 20, &f);
	EXPECT_EQ("4 before the damage", f.recovered, 4);
	EXPECT_EQ("1 corrupt", f.corrupt, 1);
	EXPECT_EQ("the 4 back", read_all(sp, 0, 100), 4);
	spool_close(sp);
	end_checks("spool corrupt segment");
}

static void test_spool_full(void **state)
{
	char d[128];
	struct spool_stats f;
	struct spool *sp;
	__u8 value[1000] = { 0 };
	struct seg_meta m = { .ts_ns = 1 };
	int err = 0, n = 0;

	(void)state;
	snprintf(d, sizeof(d), "%s/full", dir);
	sp = open_checked(d, 64 << 10, &f);
	while (n < 1000 && !(err = spool_append(sp, &m, key, sizeof(key), value, sizeof(value))))
		n++;
	EXPECT_EQ("full says ENOSPC", err, -ENOSPC);
	/* 64 KiB of ~1 KiB records, segment headers included */
	EXPECT_TRUE("about 60 records fit", n >= 55 && n <= 63);
	spool_close(sp);
	end_checks("spool full");
}

static void test_spool_put_back(void **state)
{
	char d[128];
	struct spool_stats f;
	struct spool *sp;
	__u8 v[200];
	struct spool_back back[3];
	const struct seg_rec *r;
	__u32 t[3];

	(void)state;
	snprintf(d, sizeof(d), "%s/back", dir);
	sp = open_checked(d, 1 << 20, &f);
	fill(sp, 10, 5, 200); /* ts 1010..1014 */
	/* read three, then the producer hands them back: read again from 1010 */
	for (int i = 0; i < 3; i++) {
		r = spool_peek(sp);
		back[i] = (struct spool_back){ .meta = r->meta, .from_spool = true };
		t[i] = spool_take(sp);
		back[i].ticket = t[i];
	}
	EXPECT_EQ("rewound", spool_put_back(sp, back, 3), 0);
	EXPECT_EQ("all five again, in order", read_all(sp, 10, 200), 5);
	/* records produced directly, handed back: in front of the unread ones */
	spool_close(sp);
	sp = open_checked(d, 1 << 20, &f);
	EXPECT_EQ("five left", f.recovered, 5);
	make_value(v, 200, 7);
	back[0] = (struct spool_back){ .meta = { .ts_ns = 1007 }, .key = key,
				       .key_len = sizeof(key), .value = v, .value_len = 200 };
	make_value(v, 200, 7);
	EXPECT_EQ("put in front", spool_put_back(sp, back, 1), 0);
	r = spool_peek(sp);
	EXPECT_TRUE("first is the one put back", r && r->meta.ts_ns == 1007);
	spool_take(sp);
	EXPECT_EQ("then the five", read_all(sp, 10, 200), 5);
	spool_close(sp);
	sp = open_checked(d, 1 << 20, &f);
	EXPECT_EQ("after a restart: six, the front one first", f.recovered, 6);
	r = spool_peek(sp);
	EXPECT_TRUE("front first after a restart", r && r->meta.ts_ns == 1007);
	spool_close(sp);
	end_checks("spool put back");
}

/* ------------------------------------------------------------------ */
/* the spool's I/O thread                                               */

static __u32 test_len(__u32 i)
{
	return 50 + (i * 37) % 1400;
}

static void test_meta(struct seg_meta *m, __u32 i)
{
	*m = (struct seg_meta){ .ts_ns = 1000 + i, .orig_len = test_len(i) + 7, .dir = (__u8)(i & 1) };
	m->has_outer_key = i % 5 == 0;
	memset(m->outer_key, (int)(i & 0xff), sizeof(m->outer_key));
}

/* Appends records first..first+n-1 of varying length, handing them over
 * every `batch` (as a worker does per RX batch), without waiting. */
static int append_batches(struct spool *sp, __u32 first, __u32 n, __u32 batch)
{
	__u8 value[2048];

	for (__u32 i = first; i < first + n; i++) {
		struct seg_meta m;
		int err;

		test_meta(&m, i);
		make_value(value, test_len(i), i);
		err = spool_append(sp, &m, key, (__u32)(i % sizeof(key)), value, test_len(i));
		if (err)
			return err;
		if ((i - first + 1) % batch == 0)
			spool_flush(sp);
	}
	spool_flush(sp);
	return 0;
}

/* The record peeked is record i, byte for byte. */
static bool is_record(const struct seg_rec *r, __u32 i)
{
	__u8 value[2048];
	struct seg_meta m;

	test_meta(&m, i);
	make_value(value, test_len(i), i);
	return r->meta.ts_ns == m.ts_ns && r->meta.orig_len == m.orig_len &&
	       r->meta.dir == m.dir && r->meta.has_outer_key == m.has_outer_key &&
	       (!m.has_outer_key || !memcmp(r->meta.outer_key, m.outer_key, SEG_OUTER_KEY_LEN)) &&
	       r->key_len == i % sizeof(key) && !memcmp(r->key, key, r->key_len) &&
	       r->value_len == test_len(i) && !memcmp(r->value, value, r->value_len);
}

/* Takes (and acknowledges, if ack) records from `first` while they are
 * readable; returns how many came back in order and intact. */
static __u32 take_in_order(struct spool *sp, __u32 first, __u32 max, bool ack)
{
	const struct seg_rec *r;
	__u32 n = 0;

	while (n < max && (r = spool_peek(sp))) {
		if (!is_record(r, first + n)) {
			EXPECT_EQ("record in order, intact: ts", r->meta.ts_ns, 1000 + first + n);
			break;
		}
		if (ack)
			spool_ack(sp, spool_take(sp));
		else
			spool_take(sp);
		n++;
	}
	return n;
}

static __u64 mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (__u64)ts.tv_sec * 1000 + (__u64)ts.tv_nsec / 1000000;
}

/* Written and read back at once, as during a backlog: every record comes
 * back once, intact and in order, across many write buffers handed over
 * and ~15 segments; delivered segments go; an emptied spool leaves nothing. */
static void test_spool_io_order(void **state)
{
	const __u32 total = 20000; /* ~16 MB: ~60 write buffers, 1 MiB segments */
	char d[128];
	struct spool_stats f;
	struct spool_stats st;
	struct spool *sp;
	__u32 in = 0, out = 0, batches = 0, full = 0;
	__u64 deadline = mono_ms() + 30000;

	(void)state;
	snprintf(d, sizeof(d), "%s/order", dir);
	sp = open_checked(d, 8 << 20, &f);
	EXPECT_TRUE("open", sp);
	if (!sp)
		return end_checks("spool I/O order");
	while (out < total && mono_ms() < deadline) {
		__u32 n = total - in < 64 ? total - in : 64, got;
		struct spool_stats before, after;

		spool_get_stats(sp, &before);
		if (n && append_batches(sp, in, n, 64) == -ENOSPC) {
			full++; /* the I/O thread fell far behind (a loaded machine): let it write */
			spool_get_stats(sp, &after);
			n = (__u32)(after.unread - before.unread); /* appended before the refusal */
			spool_sync(sp);
		}
		in += n;
		got = take_in_order(sp, out, 128, true);
		if (got == 0 && in == total)
			usleep(1000); /* the last ones are still being written */
		out += got;
		if (++batches % 8 == 0)
			spool_commit(sp);
		if (g_fails)
			break;
	}
	EXPECT_EQ("all back, in order, intact", out, total);
	spool_commit(sp);
	spool_get_stats(sp, &st);
	EXPECT_EQ("none unread", st.unread, 0);
	EXPECT_EQ("none lost (full)", st.lost_full, 0);
	EXPECT_EQ("none lost (error)", st.lost_err, 0);
	spool_close(sp);
	EXPECT_TRUE("an emptied spool leaves no directory", access(d, F_OK) && errno == ENOENT);
	end_checks("spool I/O order");
}

/* Closing without waiting: what was handed over (and what was still in the
 * write buffer) is on disk for the next run. */
static void test_spool_io_close_drains(void **state)
{
	char d[128];
	struct spool_stats f;
	struct spool *sp;

	(void)state;
	snprintf(d, sizeof(d), "%s/drain", dir);
	sp = open_checked(d, 32 << 20, &f);
	EXPECT_TRUE("open", sp);
	if (!sp)
		return end_checks("spool I/O close drains");
	EXPECT_EQ("appended", append_batches(sp, 0, 10000, 64), 0);
	spool_close(sp);
	sp = open_checked(d, 32 << 20, &f);
	EXPECT_EQ("all found again", f.recovered, 10000);
	EXPECT_EQ("all back, in order", take_in_order(sp, 0, 20000, false), 10000);
	spool_close(sp);
	end_checks("spool I/O close drains");
}

/* The tests below mount file systems: in a mount namespace of their own,
 * gone with the test process. */
static bool private_mounts(void)
{
	static int done;

	if (!done)
		done = !unshare(CLONE_NEWNS) && !mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) ?
			       1 : -1;
	return done > 0;
}

static void skip_because(const char *why)
{
	fprintf(stderr, "# skipped: %s\n", why);
	skip();
}

/*
 * The file system stalls (frozen, as a journal can hold writers for tens
 * of ms): appending and handing over do not wait for it, and no record is
 * read back before it is written; once thawed, all come back in order.
 */
/* stderr into path (what the code under test says); returns the old one */
static int stderr_to(const char *path)
{
	int old = dup(2), fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);

	fflush(stderr);
	if (fd >= 0) {
		dup2(fd, 2);
		close(fd);
	}
	return old;
}

static void stderr_back(int old)
{
	fflush(stderr);
	dup2(old, 2);
	close(old);
}

static bool file_has(const char *path, const char *text)
{
	char line[1024];
	bool found = false;
	FILE *f = fopen(path, "r");

	while (f && !found && fgets(line, sizeof(line), f))
		found = strstr(line, text);
	if (f)
		fclose(f);
	return found;
}

/* A 128 MiB ext4 image on a loop device at mnt (made), to freeze. */
static bool mount_ext4(const char *mnt)
{
	char cmd[1024];

	snprintf(cmd, sizeof(cmd), "mkdir -p '%s' && truncate -s 128M '%s.img' &&"
		 " mkfs.ext4 -q -F '%s.img' >/dev/null 2>&1 && mount -o loop '%s.img' '%s'",
		 mnt, mnt, mnt, mnt, mnt);
	return !system(cmd);
}

static void umount_ext4(const char *mnt)
{
	char img[256];

	umount2(mnt, MNT_DETACH);
	snprintf(img, sizeof(img), "%s.img", mnt);
	unlink(img);
}

static void test_spool_io_stalled(void **state)
{
	const __u32 total = 3000; /* ~2.4 MB: ~10 write buffers, 2 new segments */
	const __u32 extra = 50000; /* ~40 MB: more than the I/O thread's queue */
	char mnt[128], d[160], log[160];
	pid_t thawer;
	int more;
	struct spool_stats st;
	struct spool_stats f;
	struct spool *sp = NULL;
	int fd = -1;
	pid_t guard = -1;
	__u64 t0, took = 0;

	(void)state;
	if (!private_mounts())
		skip_because("no mount namespace (not root?)");
	snprintf(mnt, sizeof(mnt), "%s/frozen", dir);
	snprintf(d, sizeof(d), "%s/spool", mnt);
	snprintf(log, sizeof(log), "%s/frozen.log", dir);
	if (!mount_ext4(mnt))
		skip_because("cannot mount an ext4 image on a loop device (mkfs.ext4, losetup?)");
	sp = open_checked(d, 96 << 20, &f);
	fd = open(mnt, O_RDONLY | O_DIRECTORY);
	EXPECT_TRUE("open", sp && fd >= 0);
	if (!sp || fd < 0 || ioctl(fd, FIFREEZE, 0)) {
		fprintf(stderr, "# cannot freeze %s: %s\n", mnt, strerror(errno));
		goto out;
	}
	/* should this process die frozen, a child thaws it, and the mount goes
	 * with the namespace (and the loop device with the mount) */
	guard = fork();
	if (guard == 0) {
		sleep(10);
		ioctl(fd, FITHAW, 0);
		_exit(0);
	}
	t0 = mono_ms();
	EXPECT_EQ("appended while frozen", append_batches(sp, 0, total, 64), 0);
	spool_commit(sp);
	EXPECT_TRUE("nothing read back before it is written", !spool_peek(sp));
	spool_get_stats(sp, &st);
	took = mono_ms() - t0;
	EXPECT_EQ("all kept, unread", st.unread, total);
	EXPECT_EQ("none lost", st.lost_full + st.lost_err, 0);
	/* the freeze lasts until the guard's 10 s: the worker did not wait */
	EXPECT_TRUE("appends do not wait for a stalled disk (< 5 s)", took < 5000);
	fprintf(stderr, "# %u records appended in %llu ms on a frozen file system\n", total,
		(unsigned long long)took);
	/* past the 32 MiB queue the worker waits for the disk, and says so */
	more = stderr_to(log);
	thawer = fork();
	if (thawer == 0) {
		sleep(1);
		ioctl(fd, FITHAW, 0);
		_exit(0);
	}
	t0 = mono_ms();
	EXPECT_EQ("appended past the queue", append_batches(sp, total, extra, 64), 0);
	took = mono_ms() - t0;
	stderr_back(more);
	waitpid(thawer, NULL, 0);
	EXPECT_TRUE("the worker waited for the thaw (>= 0.5 s)", took >= 500);
	EXPECT_TRUE("and said why", file_has(log, "the worker waited"));
	spool_sync(sp);
	EXPECT_EQ("all back once written, in order",
		  take_in_order(sp, 0, total + extra, false), total + extra);
out:
	spool_close(sp);
	if (guard > 0) {
		kill(guard, SIGKILL);
		waitpid(guard, NULL, 0);
	}
	if (fd >= 0)
		close(fd);
	umount_ext4(mnt);
	end_checks("spool I/O stalled");
}

/* Sum of the sizes of the segment files in d. */
static __u64 files_bytes(const char *d, int *nfiles)
{
	DIR *dd = opendir(d);
	struct dirent *e;
	__u64 sum = 0;

	*nfiles = 0;
	while (dd && (e = readdir(dd))) {
		char p[512];
		struct stat stb;

		snprintf(p, sizeof(p), "%s/%s", d, e->d_name);
		if (strstr(e->d_name, ".seg") && !stat(p, &stb)) {
			sum += (__u64)stb.st_size;
			(*nfiles)++;
		}
	}
	if (dd)
		closedir(dd);
	return sum;
}

/* After write errors: what was lost is counted, the rest comes back whole
 * and in order (records may be missing in between), the files hold whole
 * records only, the gauges add up. */
static void check_after_errors(struct spool *sp, const char *d, __u32 total, const char *what)
{
	const struct seg_rec *r;
	struct spool_stats st;
	__u64 rec_bytes = 0;
	__u32 back = 0, next = 0;
	int nfiles;

	spool_sync(sp);
	spool_get_stats(sp, &st);
	EXPECT_EQ("unread + lost = appended", st.unread + st.lost_full + st.lost_err, total);
	EXPECT_EQ("the bytes gauge is the files' size", st.bytes, files_bytes(d, &nfiles));
	while ((r = spool_peek(sp))) {
		__u32 i = (__u32)(r->meta.ts_ns - 1000);

		if (r->meta.ts_ns < 1000 + next || i >= total || !is_record(r, i)) {
			EXPECT_EQ("record in order, intact: ts", r->meta.ts_ns, 1000 + next);
			break;
		}
		rec_bytes += r->size;
		next = i + 1;
		back++;
		spool_take(sp);
	}
	EXPECT_EQ("the unread ones come back", back, st.unread);
	EXPECT_EQ("no half record left in a file", files_bytes(d, &nfiles),
		  (__u64)nfiles * SEG_HDR_LEN + rec_bytes);
	fprintf(stderr, "# %s: %u of %u written, lost_full %llu, lost_err %llu\n", what, back,
		total, (unsigned long long)st.lost_full, (unsigned long long)st.lost_err);
}

/* A disk that fills (a 64 KiB tmpfs): counted as lost_full. */
static void test_spool_io_disk_full(void **state)
{
	char mnt[128], d[160];
	struct spool_stats st;
	struct spool_stats f;
	struct spool *sp;

	(void)state;
	if (!private_mounts())
		skip_because("no mount namespace (not root?)");
	snprintf(mnt, sizeof(mnt), "%s/tiny", dir);
	snprintf(d, sizeof(d), "%s/spool", mnt);
	if (mkdir(mnt, 0750) || mount("xs-spool-tiny", mnt, "tmpfs", 0, "size=64k"))
		skip_because("cannot mount a tmpfs");
	sp = open_checked(d, 1 << 20, &f);
	EXPECT_TRUE("open", sp);
	if (sp) {
		EXPECT_EQ("appended (~300 KB)", append_batches(sp, 0, 400, 8), 0);
		check_after_errors(sp, d, 400, "64 KiB tmpfs");
		spool_get_stats(sp, &st);
		EXPECT_TRUE("lost as full", st.lost_full > 0);
		EXPECT_EQ("no other error", st.lost_err, 0);
		spool_close(sp);
	}
	umount2(mnt, MNT_DETACH);
	end_checks("spool I/O disk full");
}

/* Another write error: the directory moved away under the running spool,
 * its next segment cannot be made (ENOENT): counted as lost_err. */
static void test_spool_io_write_error(void **state)
{
	struct spool_stats st;
	struct spool_stats f;
	struct spool *sp;
	char d[128], moved[160];

	(void)state;
	snprintf(d, sizeof(d), "%s/gone", dir);
	snprintf(moved, sizeof(moved), "%s/gone.moved", dir);
	sp = open_checked(d, 1 << 20, &f); /* 128 KiB segments */
	EXPECT_TRUE("open", sp);
	if (!sp)
		return end_checks("spool I/O write error");
	EXPECT_EQ("appended (~75 KB)", append_batches(sp, 0, 100, 8), 0);
	spool_sync(sp);
	EXPECT_EQ("move the directory", rename(d, moved), 0);
	EXPECT_EQ("appended (~225 KB more)", append_batches(sp, 100, 300, 8), 0);
	check_after_errors(sp, moved, 400, "directory moved away");
	spool_get_stats(sp, &st);
	EXPECT_TRUE("lost as an error (ENOENT)", st.lost_err > 0);
	EXPECT_EQ("none as full", st.lost_full, 0);
	spool_close(sp);
	end_checks("spool I/O write error");
}

/* What an earlier run left is checked while the run goes on: the open
 * does not wait for the check, records appended meanwhile come after the
 * old ones (none is read before the check has passed every older one), and
 * a close in the middle of the check leaves every old record for the next run. */
static void test_spool_check_background(void **state)
{
	const __u32 old = 200000, fresh = 1000;
	struct spool_found found;
	struct spool_stats st;
	struct spool *sp;
	__u64 deadline;
	char d[128];
	__u32 n = 0;

	(void)state;
	snprintf(d, sizeof(d), "%s/check", dir);
	sp = spool_open(d, 256 << 20, NULL, &found);
	EXPECT_TRUE("open", sp);
	if (!sp)
		return end_checks("spool check in the background");
	EXPECT_EQ("appended", append_batches(sp, 0, old, 64), 0);
	spool_close(sp);

	sp = spool_open(d, 256 << 20, NULL, &found);
	EXPECT_TRUE("segments found", found.segments > 0 && found.bytes > 0);
	spool_close(sp); /* most likely in the middle of the check */

	sp = spool_open(d, 256 << 20, NULL, &found);
	spool_get_stats(sp, &st);
	EXPECT_TRUE("the open does not wait for the check", st.checking);
	EXPECT_EQ("appended meanwhile", append_batches(sp, old, fresh, 64), 0);
	deadline = mono_ms() + 30000;
	while (n < old + fresh && mono_ms() < deadline) {
		/* at most what the spool's tickets hold between commits */
		__u32 want = old + fresh - n < 50000 ? old + fresh - n : 50000;
		__u32 got = take_in_order(sp, n, want, true);

		spool_commit(sp);
		if (!got)
			usleep(1000);
		n += got;
	}
	EXPECT_EQ("the old ones first, then the new, in order", n, old + fresh);
	spool_get_stats(sp, &st);
	EXPECT_EQ("all the old ones recovered", st.recovered, old);
	EXPECT_EQ("none unread", st.unread, 0);
	EXPECT_TRUE("checked", !st.checking);
	spool_commit(sp);
	spool_close(sp);

	sp = open_checked(d, 256 << 20, &st);
	EXPECT_EQ("nothing left after delivery", st.recovered, 0);
	spool_close(sp);
	end_checks("spool check in the background");
}

/* Files in d whose name ends with suffix. */
static int count_files(const char *d, const char *suffix)
{
	DIR *dd = opendir(d);
	struct dirent *e;
	int n = 0;

	while (dd && (e = readdir(dd))) {
		size_t l = strlen(e->d_name), sl = strlen(suffix);

		n += l > sl && !strcmp(e->d_name + l - sl, suffix);
	}
	if (dd)
		closedir(dd);
	return n;
}

/* stage: a tmpfs of its own (mounted once), as /run is. */
static bool stage_tmpfs(const char *stage)
{
	mkdir(stage, 0700);
	return private_mounts() && (!mount("tmpfs", stage, "tmpfs", 0, "size=256m") ||
				    errno == EBUSY);
}

/* A child that opens a spool, appends n records without handing any to
 * the I/O thread (they stay in the write buffer), and is killed. */
static void killed_with_buffered(const char *d, const char *stage, __u32 n)
{
	pid_t child = fork();

	if (child == 0) {
		struct spool_stats f;
		struct spool *sp = open_staged(d, 32 << 20, stage, &f);
		__u8 value[2048];

		for (__u32 i = 0; sp && i < n; i++) {
			struct seg_meta m;

			test_meta(&m, i);
			make_value(value, test_len(i), i);
			spool_append(sp, &m, key, (__u32)(i % sizeof(key)), value, test_len(i));
		}
		raise(SIGKILL);
		_exit(1);
	}
	waitpid(child, NULL, 0);
}

/* kill -9 with records appended and not written: with a staging file the
 * next open writes them into the spool (all, in order, once, the file then
 * gone); without one they are lost, as before it existed. */
static void test_spool_staging_killed(void **state)
{
	char d[128], stage[128], log[160];
	struct spool_stats f;
	struct spool *sp;
	int old;

	(void)state;
	snprintf(stage, sizeof(stage), "%s/stage", dir);
	snprintf(d, sizeof(d), "%s/unstaged", dir);
	if (!stage_tmpfs(stage))
		skip_because("cannot mount a tmpfs (not root?)");
	killed_with_buffered(d, NULL, 100);
	sp = open_checked(d, 32 << 20, &f);
	EXPECT_EQ("without a staging file: the write buffer died with the process",
		  f.recovered, 0);
	spool_close(sp);
	/* a staging directory on a disk: its writeback would stall the worker */
	snprintf(log, sizeof(log), "%s/disk-stage.log", dir);
	old = stderr_to(log);
	sp = open_staged(d, 32 << 20, dir, &f);
	stderr_back(old);
	EXPECT_TRUE("not on a tmpfs: in memory, said", sp && file_has(log, "not a tmpfs"));
	spool_close(sp);

	snprintf(d, sizeof(d), "%s/staged", dir);
	killed_with_buffered(d, stage, 100);
	EXPECT_EQ("the killed run left its staging file", count_files(stage, ".stage"), 1);
	sp = open_staged(d, 32 << 20, stage, &f);
	EXPECT_EQ("all found again", f.recovered, 100);
	EXPECT_EQ("all back, in order, intact", take_in_order(sp, 0, 200, true), 100);
	spool_commit(sp);
	spool_close(sp);
	EXPECT_EQ("a closed spool leaves no staging file", count_files(stage, ".stage"), 0);
	sp = open_staged(d, 32 << 20, stage, &f);
	EXPECT_EQ("and nothing is found twice", f.recovered, 0);
	spool_close(sp);
	umount2(stage, MNT_DETACH);
	end_checks("spool staging, killed");
}

/*
 * kill -9 while the disk stalls (frozen): one write begun and blocked,
 * others handed over behind it, the last buffer being filled. The next
 * open writes them all where they belong: every record back once, in order.
 */
static void test_spool_staging_frozen(void **state)
{
	const __u32 total = 3000; /* ~2.4 MB: ~10 write buffers, 2 new segments */
	char mnt[128], d[160], stage[128], c;
	int up[2], down[2], fd = -1;
	struct spool_stats f;
	struct spool *sp;
	pid_t child;

	(void)state;
	if (!private_mounts())
		skip_because("no mount namespace (not root?)");
	snprintf(mnt, sizeof(mnt), "%s/frozen2", dir);
	snprintf(d, sizeof(d), "%s/spool", mnt);
	snprintf(stage, sizeof(stage), "%s/stage", dir);
	if (!mount_ext4(mnt))
		skip_because("cannot mount an ext4 image on a loop device (mkfs.ext4, losetup?)");
	if (!stage_tmpfs(stage)) {
		umount_ext4(mnt);
		skip_because("cannot mount a tmpfs");
	}
	if (pipe(up) || pipe(down))
		return end_checks("spool staging, frozen");
	child = fork();
	if (child == 0) {
		sp = open_staged(d, 96 << 20, stage, &f);
		if (write(up[1], "o", 1) != 1 || read(down[0], &c, 1) != 1 || !sp)
			_exit(1);
		append_batches(sp, 0, total, 64); /* the I/O thread blocks in its first write */
		if (write(up[1], "a", 1) != 1)
			_exit(1);
		pause();
		_exit(1);
	}
	fd = open(mnt, O_RDONLY | O_DIRECTORY);
	EXPECT_TRUE("the child opened its spool", read(up[0], &c, 1) == 1 && c == 'o');
	EXPECT_TRUE("frozen", fd >= 0 && !ioctl(fd, FIFREEZE, 0));
	EXPECT_TRUE("appended while frozen", write(down[1], "f", 1) == 1 &&
		    read(up[0], &c, 1) == 1 && c == 'a');
	kill(child, SIGKILL);
	if (fd >= 0)
		ioctl(fd, FITHAW, 0); /* the child's blocked write ends, then the child */
	waitpid(child, NULL, 0);
	sp = open_staged(d, 96 << 20, stage, &f);
	EXPECT_EQ("all found again", f.recovered, total);
	EXPECT_EQ("all back once, in order, intact", take_in_order(sp, 0, 2 * total, true),
		  total);
	spool_commit(sp);
	spool_close(sp);
	if (fd >= 0)
		close(fd);
	close(up[0]), close(up[1]), close(down[0]), close(down[1]);
	umount_ext4(mnt);
	umount2(stage, MNT_DETACH);
	end_checks("spool staging, frozen");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_segment_roundtrip),
		cmocka_unit_test(test_segment_header),
		cmocka_unit_test(test_spool_restart),
		cmocka_unit_test(test_spool_torn),
		cmocka_unit_test(test_spool_corrupt),
		cmocka_unit_test(test_spool_full),
		cmocka_unit_test(test_spool_put_back),
		cmocka_unit_test(test_spool_io_order),
		cmocka_unit_test(test_spool_io_close_drains),
		cmocka_unit_test(test_spool_io_write_error),
		cmocka_unit_test(test_spool_io_stalled),
		cmocka_unit_test(test_spool_io_disk_full),
		cmocka_unit_test(test_spool_check_background),
		cmocka_unit_test(test_spool_staging_killed),
		cmocka_unit_test(test_spool_staging_frozen),
	};

	return cmocka_run_group_tests_name("spool", tests, make_dir, remove_dir);
}
