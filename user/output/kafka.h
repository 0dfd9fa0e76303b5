/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* The librdkafka producer: one per sensor, shared by all workers. */
#ifndef XS_KAFKA_H
#define XS_KAFKA_H

#include <stdbool.h>
#include <signal.h>
#include "capture.h"
#include "flow_format.h"
#include "record_key.h"

#define KAFKA_MAX_PROPS 64
#define KAFKA_DEFAULT_TOPIC "xdpsensor"

struct kafka_opts {
	const char *brokers;
	const char *topic;
	enum key_scheme key;
	enum ts_unit ts_unit;
	bool block;                /* wait on a full queue instead of dropping */
	bool no_headers;           /* --headers none: value, key and timestamp only */
	const char *config_file;   /* -c: name=value lines */
	const char *flows_topic;   /* flow records (JSON), or NULL */
	const char *stats_interval_ms; /* statistics.interval.ms before -c/-X, or NULL */
	const char *props[KAFKA_MAX_PROPS]; /* -X name=value, applied last */
	int nprops;
	const volatile sig_atomic_t *stop; /* ends --block waits */
};

struct kafka_producer;

/* Delivery reports of one worker's records (or of the flow records). */
struct delivery_counts {
	__u64 delivered;
	__u64 failed;
};

/* Checks -b, -c and -X without connecting: a bad property is a usage error. */
int kafka_check_conf(const struct kafka_opts *o);
/* nworkers: rows of the delivery table (capture_rec.worker indexes it). */
struct kafka_producer *kafka_open(const struct kafka_opts *o, unsigned int nworkers);
/* 0, or -ENOBUFS when the queue is full (not with --block), or -EIO. */
int kafka_produce(struct kafka_producer *k, const struct capture_rec *rec);
/* A flow record (JSON, see flow_format.h) to flows_topic, keyed like its packets. */
int kafka_produce_flow(struct kafka_producer *k, const struct flow_key *key, const char *json,
		       size_t len);
/* Delivery reports so far: of one worker's records, of the flow records. */
struct delivery_counts kafka_delivery(struct kafka_producer *k, unsigned int worker);
struct delivery_counts kafka_flow_counts(struct kafka_producer *k);
/* A fatal error ended the producer (said once, with rd_kafka_fatal_error()). */
bool kafka_fatal(struct kafka_producer *k);
void kafka_poll(struct kafka_producer *k, int timeout_ms);
/* Flushes for up to timeout_ms; what is left is purged and reported as
 * failed. Returns the number of records that were not delivered. */
int kafka_flush(struct kafka_producer *k, int timeout_ms);
void kafka_close(struct kafka_producer *k);
/* A copy (free it) of librdkafka's last statistics JSON, or NULL. */
char *kafka_stats_json(struct kafka_producer *k);
void kafka_latency(struct kafka_producer *k, double *p50_us, double *p99_us);

#endif
