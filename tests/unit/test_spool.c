// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * The spool's segment format and its recovery, on real files in a temporary
 * directory: records round-trip, every damaged byte is caught by the CRC,
 * a torn last record is skipped and counted, a corrupt one ends its
 * segment, and a spool reopened after a "crash" (closed without any
 * record acknowledged) gives its records back in order; acknowledged ones
 * are not given back; records put back go in front.
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
#include <sys/stat.h>
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

static void test_spool_restart(void **state)
{
	char d[128];
	struct spool_found f;
	struct spool *sp;

	(void)state;
	snprintf(d, sizeof(d), "%s/restart", dir);
	sp = spool_open(d, 1 << 20, &f);
	EXPECT_TRUE("open", sp);
	if (!sp)
		return end_checks("spool restart");
	EXPECT_EQ("fresh: nothing found", f.records, 0);
	fill(sp, 0, 100, 200);
	spool_close(sp); /* nothing acknowledged: as after kill -9 */

	sp = spool_open(d, 1 << 20, &f);
	EXPECT_EQ("found again", f.records, 100);
	EXPECT_EQ("none torn", f.torn, 0);
	/* acknowledge the first 40 only */
	for (int i = 0; i < 40 && spool_peek(sp); i++)
		spool_ack(sp, spool_take(sp));
	spool_commit(sp);
	spool_close(sp);

	sp = spool_open(d, 1 << 20, &f);
	EXPECT_EQ("the 60 not acknowledged", f.records, 60);
	EXPECT_EQ("in order from record 40", read_all(sp, 40, 200), 60);
	spool_close(sp);
	end_checks("spool restart");
}

static void test_spool_torn(void **state)
{
	char d[128], seg[256];
	struct spool_found f;
	struct spool *sp;
	struct stat st;

	(void)state;
	snprintf(d, sizeof(d), "%s/torn", dir);
	sp = spool_open(d, 1 << 20, &f);
	fill(sp, 0, 10, 300);
	spool_close(sp);
	last_segment("torn", seg, sizeof(seg));
	/* the writer died 5 bytes short of the end of its last record */
	EXPECT_EQ("stat", stat(seg, &st), 0);
	EXPECT_EQ("truncate", truncate(seg, st.st_size - 5), 0);
	sp = spool_open(d, 1 << 20, &f);
	EXPECT_EQ("9 intact", f.records, 9);
	EXPECT_EQ("1 torn", f.torn, 1);
	EXPECT_EQ("none corrupt", f.corrupt, 0);
	EXPECT_EQ("the 9 back, in order", read_all(sp, 0, 300), 9);
	spool_close(sp);
	end_checks("spool torn record");
}

static void test_spool_corrupt(void **state)
{
	char d[128], seg[256];
	struct spool_found f;
	struct spool *sp;
	int fd;
	__u8 b;

	(void)state;
	snprintf(d, sizeof(d), "%s/corrupt", dir);
	sp = spool_open(d, 1 << 20, &f);
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
	sp = spool_open(d, 1 << 20, &f);
	EXPECT_EQ("4 before the damage", f.records, 4);
	EXPECT_EQ("1 corrupt", f.corrupt, 1);
	EXPECT_EQ("the 4 back", read_all(sp, 0, 100), 4);
	spool_close(sp);
	end_checks("spool corrupt segment");
}

static void test_spool_full(void **state)
{
	char d[128];
	struct spool_found f;
	struct spool *sp;
	__u8 value[1000] = { 0 };
	struct seg_meta m = { .ts_ns = 1 };
	int err = 0, n = 0;

	(void)state;
	snprintf(d, sizeof(d), "%s/full", dir);
	sp = spool_open(d, 64 << 10, &f);
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
	struct spool_found f;
	struct spool *sp;
	__u8 v[200];
	struct spool_back back[3];
	const struct seg_rec *r;
	__u32 t[3];

	(void)state;
	snprintf(d, sizeof(d), "%s/back", dir);
	sp = spool_open(d, 1 << 20, &f);
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
	sp = spool_open(d, 1 << 20, &f);
	EXPECT_EQ("five left", f.records, 5);
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
	sp = spool_open(d, 1 << 20, &f);
	EXPECT_EQ("after a restart: six, the front one first", f.records, 6);
	r = spool_peek(sp);
	EXPECT_TRUE("front first after a restart", r && r->meta.ts_ns == 1007);
	spool_close(sp);
	end_checks("spool put back");
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
	};

	return cmocka_run_group_tests_name("spool", tests, make_dir, remove_dir);
}
