/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * One librdkafka producer on one topic. Each worker has its own (a shared
 * producer's locks become the bottleneck: KFlow's lesson), the flow records
 * another; its delivery reports go to its owner's callback, in the thread
 * that calls kafka_poll(), as many at a time as it asks for.
 */
#ifndef XS_KAFKA_H
#define XS_KAFKA_H

#include <stdbool.h>
#include <signal.h>
#include <linux/types.h>
#include "record_key.h"
#include "record_meta.h"

#define KAFKA_MAX_PROPS 64
#define KAFKA_DEFAULT_TOPIC "xdpsensor"

enum headers_mode { HEADERS_COMPACT, HEADERS_ALL, HEADERS_NONE };
/* What writes the packet records (flow records always go through librdkafka). */
enum producer_kind { PRODUCER_LIBRDKAFKA, PRODUCER_BATCH };

struct kafka_opts {
	const char *brokers;
	const char *topic;
	enum key_scheme key;
	enum ts_unit ts_unit;
	bool block;                /* wait on a full queue instead of spooling or dropping */
	enum headers_mode headers;
	enum producer_kind producer;
	const char *config_file;   /* -c: name=value lines */
	const char *flows_topic;   /* flow records (JSON), or NULL */
	const char *stats_interval_ms; /* statistics.interval.ms before -c/-X, or NULL */
	const char *props[KAFKA_MAX_PROPS]; /* -X name=value, applied last */
	int nprops;
	const volatile sig_atomic_t *stop; /* ends --block waits */
};

/* One record as the producer takes it (copied: the caller's buffers are reused). */
struct kafka_record {
	const void *key, *value;
	__u32 key_len, len;
	/* metadata, sent as headers; ifname NULL: no headers (flow records) */
	__u64 ts_ns;
	__u32 orig_len;
	__u32 queue;
	__u8 dir;
	const char *ifname;
	const __u8 *outer_key; /* keyed inside a tunnel: the tunnel's 5tuple key, else NULL */
	void *opaque; /* record_ref.h */
};

enum kafka_outcome {
	KAFKA_DELIVERED,
	KAFKA_FAILED,          /* for good */
	KAFKA_PURGED,          /* taken back before it was ever sent (kafka_purge) */
	KAFKA_PURGED_INFLIGHT, /* taken back after a send: the broker may have it */
};

/* A delivery report; the pointers are valid during the callback only. */
struct kafka_report {
	enum kafka_outcome outcome;
	void *opaque;
	const void *key, *value;
	__u32 key_len, len;
	bool has_meta; /* orig_len and dir read back from the headers */
	__u32 orig_len;
	__u8 dir;
	bool has_outer_key; /* and the tunnel's key (xs.outer_key) */
	__u8 outer_key[RECORD_OUTER_KEY_LEN];
};

typedef void kafka_report_fn(void *ctx, const struct kafka_report *r);

struct kafka_producer;

/* Checks -b, -c and -X without connecting: a bad property is a usage error. */
int kafka_check_conf(const struct kafka_opts *o);
enum {
	KAFKA_CHECK = 1 << 0,   /* say whether the broker answers (waiting for it) */
	KAFKA_PACKETS = 1 << 1, /* the packet records: --producer applies */
	KAFKA_BACKLOG = 1 << 2, /* records wait in the spool: wait for nothing */
};
/* A producer on topic; flags: KAFKA_*. */
struct kafka_producer *kafka_open(const struct kafka_opts *o, const char *topic,
				  kafka_report_fn *report, void *ctx, unsigned int flags);
/* 0, or -ENOBUFS when the queue is full (not with --block), or -EIO. */
int kafka_produce(struct kafka_producer *k, const struct kafka_record *r);
/* A fatal error ended the producer (said once, with rd_kafka_fatal_error()). */
bool kafka_fatal(struct kafka_producer *k);
/* Serves at most max delivery reports (0: all there are), waiting up to
 * timeout_ms for the first; returns how many. */
unsigned int kafka_poll(struct kafka_producer *k, int timeout_ms, unsigned int max);
/* Records not yet reported. */
int kafka_outq(struct kafka_producer *k);
/* Takes back every record not yet reported (also those sent, with inflight). */
void kafka_purge(struct kafka_producer *k, bool inflight);
void kafka_close(struct kafka_producer *k);
/* A copy (free it) of librdkafka's last statistics JSON, or NULL. */
char *kafka_stats_json(struct kafka_producer *k);
/* The broker refused the sensor (credentials, ACL, TLS): said once already. */
bool kafka_refused(void);

#endif
