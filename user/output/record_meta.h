/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * A packet record's metadata in its Kafka headers (README "Kafka records"):
 * --headers compact writes one binary header, xs.meta, and xs.outer_key
 * only for a frame keyed inside a tunnel; --headers all writes six xs.*
 * headers, xs.outer_key null outside a tunnel. Written by the producer
 * (kafka.c), read back by it (records taken back into the spool) and by
 * query and inspect.
 *
 * xs.meta, integers big-endian:
 *   0 version (1)   1 dir   2 queue (2 bytes)   4 orig_len (4 bytes)
 *   8 ts_ns (8 bytes)   16 the interface name, no NUL, to the end
 * xs.outer_key: the 40-byte 5tuple key (record_key.h) of the outermost IP
 * header, the tunnel's endpoints.
 */
#ifndef XS_RECORD_META_H
#define XS_RECORD_META_H

#include <stddef.h>
#include <net/if.h>
#include <linux/types.h>
#include <librdkafka/rdkafka.h>

#define RECORD_META_HEADER "xs.meta"
#define RECORD_META_VERSION 1
#define RECORD_META_FIXED 16 /* then the interface name */
#define RECORD_META_MAX (RECORD_META_FIXED + IF_NAMESIZE)
#define RECORD_OUTER_KEY_HEADER "xs.outer_key"
#define RECORD_OUTER_KEY_LEN 40

struct record_meta {
	__u64 ts_ns;    /* capture time, ns since the epoch */
	__u32 orig_len; /* length on the wire */
	__u32 queue;    /* RX queue */
	__u8 dir;       /* relative to the key: 0 sent by endpoint A, 1 by B */
	char ifname[IF_NAMESIZE + 1];
	__u8 outer_key[RECORD_OUTER_KEY_LEN]; /* META_OUTER_KEY */
};

/* What record_meta_read() found. */
enum {
	META_TS = 1 << 0,
	META_ORIG_LEN = 1 << 1,
	META_DIR = 1 << 2,
	META_QUEUE = 1 << 3,
	META_IFACE = 1 << 4,
	META_ALL = (1 << 5) - 1, /* every field of xs.meta */
	META_OUTER_KEY = 1 << 5,
};

/* xs.meta's value into out[RECORD_META_MAX]; returns its length. */
size_t record_meta_encode(__u8 *out, __u64 ts_ns, __u32 orig_len, __u32 queue, __u8 dir,
			  const char *ifname);
/* 0, or -EINVAL: not an xs.meta this version writes. */
int record_meta_decode(const void *v, size_t len, struct record_meta *m);
/* xs.meta, else the five headers, and xs.outer_key (h may be NULL): the
 * META_* found in m. */
unsigned int record_meta_read(rd_kafka_headers_t *h, struct record_meta *m);

#endif
