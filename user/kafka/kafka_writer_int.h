/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * The packet writer's insides, shared by its two halves: kafka_writer.c
 * (records into batches, reports, purges: the API) and kafka_link.c (the
 * broker connections: requests and responses). Each partition has one
 * open batch, taking records, and a queue of sealed batches in the order
 * they must reach the broker; each connection a FIFO of requests awaiting
 * their response (Kafka answers a connection's requests in order). A batch
 * keeps its producer id and sequence number across retries, so the broker
 * writes it once; only when the sequence cannot go on (a batch failed for
 * good, the broker forgot the producer, a purge) does the writer wait for
 * every request in flight to end and take a new producer id, starting
 * every partition's sequence again.
 */
#ifndef XS_KAFKA_WRITER_INT_H
#define XS_KAFKA_WRITER_INT_H

#include <poll.h>
#include <stdbool.h>
#include <stdint.h>
#include "clock.h"
#include "kafka_wire.h"
#include "kafka_writer.h"

#define MAX_IN_FLIGHT 5                 /* Produce requests per connection */
#define MAX_REQUESTS (MAX_IN_FLIGHT + 2) /* and a Metadata and an InitProducerId */
#define LINGER_NS 5000000ull
#define BATCH_BYTES 1000000
#define BATCH_RECORDS 10000
#define QUEUE_RECORDS 1000000
#define QUEUE_BYTES (1ull << 30)
#define MESSAGE_TIMEOUT_NS 300000000000ull
#define REQUEST_TIMEOUT_NS 30000000000ull
#define CONNECT_TIMEOUT_NS 10000000000ull
#define BACKOFF_MIN_NS 100000000ull
#define BACKOFF_MAX_NS 1000000000ull
#define RETRY_NS 100000000ull           /* a partition's batch after a retriable error */
#define METADATA_RETRY_NS 200000000ull
#define METADATA_REFRESH_NS 300000000000ull
#define FREE_BATCHES 16
#define CLIENT_ID "xdpsensor"
#define WARN_EVERY_NS 10000000000ull

enum { API_PRODUCE = 0, API_METADATA = 3, API_INIT_PRODUCER_ID = 22 };

/* Kafka's error codes the writer acts on (librdkafka's names them). */
enum {
	ERR_NONE = 0,
	ERR_CORRUPT_MESSAGE = 2,
	ERR_UNKNOWN_TOPIC_OR_PART = 3,
	ERR_LEADER_NOT_AVAILABLE = 5,
	ERR_NOT_LEADER = 6,
	ERR_REQUEST_TIMED_OUT = 7,
	ERR_NETWORK_EXCEPTION = 13,
	ERR_COORDINATOR_LOAD = 14,
	ERR_COORDINATOR_NOT_AVAILABLE = 15,
	ERR_NOT_COORDINATOR = 16,
	ERR_NOT_ENOUGH_REPLICAS = 19,
	ERR_NOT_ENOUGH_REPLICAS_AFTER_APPEND = 20,
	ERR_TOPIC_AUTHORIZATION_FAILED = 29,
	ERR_CLUSTER_AUTHORIZATION_FAILED = 31,
	ERR_OUT_OF_ORDER_SEQUENCE = 45,
	ERR_DUPLICATE_SEQUENCE = 46,
	ERR_INVALID_PRODUCER_EPOCH = 47,
	ERR_KAFKA_STORAGE_ERROR = 56,
	ERR_UNKNOWN_PRODUCER_ID = 59,
};

struct batch {
	struct batch *next;
	int32_t part;
	uint8_t *buf; /* BATCH_HEADER bytes, then the records */
	size_t len, cap;
	void **opaque; /* each record's, in order */
	size_t opaque_cap;
	uint32_t records;
	int64_t first_ts, max_ts;
	__u64 opened_ns;
	int64_t pid;   /* sealed for this producer id; -1: not yet */
	int32_t seq;
	bool sent;     /* at least once: the broker may have it */
	bool in_flight;
	/* once done: its reports, given record by record */
	enum kafka_outcome outcome;
	uint32_t reported;
	const uint8_t *cursor;
};

struct partition {
	int32_t leader;     /* node id; -1: none known */
	int32_t next_seq;
	__u64 retry_ns;     /* no send before this (after a retriable error) */
	struct batch *open;
	struct batch *head, *tail; /* sealed, oldest first */
};

struct request {
	int32_t corr;
	int16_t api;
	__u64 sent_ns;
	struct batch **batches; /* a Produce's, one per partition */
	size_t nbatches, cap;
};

enum conn_state { CONN_DOWN, CONN_CONNECTING, CONN_UP };

struct conn {
	int32_t node;       /* -1: a bootstrap address of -b */
	char host[256], port[8];
	int fd;
	enum conn_state state;
	__u64 since_ns, retry_ns, backoff_ns;
	uint8_t *out;       /* requests not yet written */
	size_t out_len, out_off, out_cap;
	uint8_t *in;        /* a response being read */
	size_t in_len, in_cap;
	struct request reqs[MAX_REQUESTS]; /* awaiting responses, FIFO */
	unsigned int head, nreqs, produces;
};

struct kafka_writer {
	struct kafka_opts o;
	const char *topic;
	kafka_report_fn *report;
	void *ctx;
	struct conn **conns; /* each allocated alone: a response may add one */
	size_t nconns, conns_cap;
	struct partition *parts;
	int32_t nparts;
	int64_t pid;        /* -1: none yet */
	int16_t epoch;
	bool pid_asked, pid_reset; /* reset: a new id once nothing is in flight */
	__u64 pid_retry_ns;
	bool md_asked;
	__u64 md_due_ns;    /* 0: not due */
	int32_t corr;
	__u64 queued, queued_bytes; /* records not yet reported */
	struct batch *done, *done_tail; /* reports to give, oldest first */
	struct batch *free_batches;
	unsigned int nfree;
	uint32_t round_robin;
	__u64 warned_ns;
	bool topic_warned;
	struct pollfd *pfds;
	size_t pfds_cap;
};

static inline __u64 kw_now(void)
{
	return clock_ns(CLOCK_MONOTONIC);
}

/* kafka_writer.c */
/* "Kafka: what: why; then" once every 10 s in all (debug otherwise). */
void kw_warn(struct kafka_writer *w, const char *what, const char *why, const char *then);
const char *kw_err_name(int16_t err);
/* The batch's records go to the reports, with their outcome. */
void kw_batch_done(struct kafka_writer *w, struct batch *b, enum kafka_outcome outcome);
void kw_unqueue(struct partition *p, struct batch *b);
void kw_close_open(struct partition *p);

/* kafka_link.c */
struct conn *kw_conn_add(struct kafka_writer *w, int32_t node, const char *host, const char *port);
void kw_conn_drop(struct kafka_writer *w, struct conn *c, const char *why);
/* Connections, metadata, the producer id and due batches: what can go now. */
void kw_advance(struct kafka_writer *w);
/* Waits up to timeout_ms on the sockets, then serves what they have. */
void kw_io(struct kafka_writer *w, int timeout_ms);
void kw_reset_links(struct kafka_writer *w);
void kw_free_links(struct kafka_writer *w);

#endif
