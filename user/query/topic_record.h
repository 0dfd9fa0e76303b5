/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * One record of a sensor topic as `query` and `inspect` read it back: the
 * librdkafka message, and its capture time and original length recovered
 * from whatever the record carries (README "Kafka records").
 */
#ifndef XS_TOPIC_RECORD_H
#define XS_TOPIC_RECORD_H

#include <stddef.h>
#include <librdkafka/rdkafka.h>
#include "xdpsensor.h"

/* Where a record's capture time came from, best first. */
enum ts_source {
	TS_SRC_HEADER,     /* xs.meta or xs.ts_ns: the capture time in ns */
	TS_SRC_METRON_KEY, /* an 8-byte metron key, unit told by its magnitude */
	TS_SRC_RECORD,     /* the record's timestamp, ms */
};

struct topic_rec {
	rd_kafka_message_t *msg;
	__u64 ts_ns;
	__u32 orig_len; /* from xs.meta or xs.orig_len, else the frame's length */
	enum ts_source ts_source;
};

/* Fills r from m (kept, not copied). */
void topic_rec_decode(rd_kafka_message_t *m, struct topic_rec *r);

/* The key as text, by its shape: "5tuple", "community-id", "metron" or
 * "other" in *scheme, and e.g. "tcp 192.0.2.1:80 <> 192.0.2.2:4000" in out
 * ("ether 02:00:00:00:00:01/0x0806 <> ..." for a frame keyed at L2). */
void topic_key_describe(const void *key, size_t len, char *out, size_t out_len,
			const char **scheme);

/* A 16-byte IPv4-mapped or IPv6 address as text. */
void addr_text(const __u8 addr[16], char *out, size_t out_len);

#endif
