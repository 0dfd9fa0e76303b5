/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * One worker's way to Kafka: its own producer and its own disk spool,
 * both served by the worker's thread (lane_service() once per loop).
 *
 * A record goes to the producer while the producer keeps up; it goes to
 * the spool when the producer cannot take it (its queue full, more than
 * LANE_HIGH_WATER records in flight, or no delivery report for
 * LANE_STALL_MS: the broker is away or stopped), and then every new record
 * goes behind it until the spool is empty again, so per-key order holds.
 * The spool is read back, oldest first, as soon as the producer has room,
 * in the time the worker has once its RX ring is served, and slower for a
 * while after the ring lost frames (lane_rx_lost()). On a stall the
 * producer's records are taken back into the spool (purged, without
 * stopping the worker), so a run killed during an outage loses none of them.
 */
#ifndef XS_LANE_H
#define XS_LANE_H

#include <stdbool.h>
#include "capture.h"
#include "kafka.h"
#include "latency.h"
#include "sink.h"

#define LANE_HIGH_WATER 50000 /* records in the producer, per worker */
#define LANE_STALL_MS 1000

struct lane_opts {
	const struct kafka_opts *kafka;
	const char *spool_dir;  /* this worker's directory; NULL: no spool */
	const char *stage_dir;  /* its write buffers' file (tmpfs); NULL: in memory */
	__u64 spool_max;        /* bytes */
	struct latency_hist *latency;
	const char *ifname;     /* headers of the records read back from the spool */
	__u32 queue;
	bool check_broker;      /* say whether the broker answers (the first lane) */
};

/* Written by the lane's thread, read by the thread that publishes. */
struct lane_counts {
	__u64 spool_out;       /* records read from the spool and produced */
	__u64 delivered;
	__u64 failed;
	__u64 reclaimed;       /* taken back from the producer into the spool */
	__u64 maybe_dup;       /* of those, taken back while sent: the broker may have them */
	__u64 spool_recovered; /* left by an earlier run */
	__u64 spool_torn;
	__u64 spool_corrupt;
	__u64 spool_lost_full; /* kept, then not written: disk full */
	__u64 spool_lost_err;  /* kept, then not written: I/O error */
	__u64 spooled;         /* gauge: records in the spool, not yet read */
	__u64 spool_bytes;     /* gauge */
	__u64 spool_oldest_ns; /* gauge: capture time of the oldest spooled record */
};

struct lane;

/* NULL if the producer cannot be made (said); a spool that cannot be
 * used is said, and the lane goes on without it. */
struct lane *lane_open(const struct lane_opts *o);
enum sink_outcome lane_write(struct lane *l, const struct capture_rec *rec);
/* Delivery reports, stall detection and, with drain, reading the spool
 * back (the worker asks for it only once its RX ring is served: new
 * frames go first, the backlog gets the time left). */
void lane_service(struct lane *l, bool drain);
/* The worker's RX ring lost frames in the last window_ns (0: none): the
 * backlog is read back at half the pace it had, then faster again while
 * nothing is lost. */
void lane_rx_lost(struct lane *l, __u64 lost, __u64 window_ns);
/* Records waiting in the spool or the producer: the worker should not sleep long. */
bool lane_busy(const struct lane *l);
bool lane_fatal(struct lane *l);
/* At the end of a run: delivery reports only, then how many are still out. */
int lane_outstanding(struct lane *l);
/* Ends the lane: what the producer still holds goes back to the spool
 * (without a spool: counted as failed). */
void lane_end(struct lane *l);
void lane_close(struct lane *l);
const struct lane_counts *lane_counts(const struct lane *l);
/* A copy (free it) of the producer's last librdkafka statistics, or NULL. */
char *lane_kafka_stats(struct lane *l);

#endif
