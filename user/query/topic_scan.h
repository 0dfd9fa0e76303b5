/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Reads a sensor topic back over a time window, for `query` and `inspect`.
 *
 * Each partition is read from the first offset at or after the start time
 * (rd_kafka_offsets_for_times) to its end as of the start of the scan (the
 * high watermark then), or to the first offset SCAN_END_SLACK_MS past the
 * end time, whichever comes first; records whose capture time is outside
 * [start, end) are counted and skipped. Records the caller keeps come out
 * one by one, merged across partitions by capture time (a k-way merge: at
 * most SCAN_WINDOW kept records per partition are held, so records up to
 * SCAN_WINDOW places out of capture order within their partition, as RX
 * queues produce them, still come out in order; any later one is counted).
 */
#ifndef XS_TOPIC_SCAN_H
#define XS_TOPIC_SCAN_H

#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include "topic_record.h"

/* Records of other RX queues land in a partition a little out of time
 * order: the scan reads this far past --end before it stops. */
#define SCAN_END_SLACK_MS 1000
#define SCAN_WINDOW 512
#define SCAN_NO_END UINT64_MAX
#define SCAN_MAX_PROPS 64

struct scan_opts {
	const char *brokers, *topic;
	const char *config_file;           /* -c: NAME=VALUE lines */
	const char *props[SCAN_MAX_PROPS]; /* -X NAME=VALUE, applied last */
	int nprops;
	__u64 start_ns;         /* 0: from the beginning */
	__u64 end_ns;           /* SCAN_NO_END: to the end */
	unsigned int timeout_s; /* broker requests; and how long a scan may stall */
	bool ordered;           /* merge by capture time (else as they come) */
	bool progress;          /* a line on stderr every few seconds */
	const char *what;       /* name in messages: "query", "inspect" */
	/* decides whether a record in the window is kept */
	bool (*keep)(void *ctx, const struct topic_rec *r);
	void *keep_ctx;
	volatile sig_atomic_t *stop;
};

struct scan_stats {
	__u64 scanned;         /* records read */
	__u64 outside_window;  /* ... whose capture time is outside [start, end) */
	__u64 kept;            /* ... kept by the caller's filter */
	__u64 late;            /* kept records that came out before an earlier one */
	__u64 no_ts_header;    /* records without xs.meta or xs.ts_ns */
	int partitions;        /* of the topic */
	int partitions_read;   /* that this scan reads */
	int partitions_done;
	double seconds;
};

struct scan;

/* Checks -b, -c and -X without connecting: a bad property is a usage error
 * (-EINVAL after one line naming it). */
int scan_check_conf(const struct scan_opts *o);
/* Connects, finds the partitions and their offsets. NULL after one line on
 * stderr saying why (broker unreachable within timeout_s, unknown topic, ...). */
struct scan *scan_open(const struct scan_opts *o);
int scan_partition_count(const struct scan *s);
/* Restricts the scan to one partition; call before the first scan_next. */
void scan_only_partition(struct scan *s, int partition);
/* 1 and the next kept record (give it back with scan_release), 0 at the end,
 * or a negative errno after one line on stderr (-EINTR: *stop was set). */
int scan_next(struct scan *s, struct topic_rec *r);
void scan_release(struct topic_rec *r);
void scan_get_stats(const struct scan *s, struct scan_stats *st);
void scan_close(struct scan *s);

#endif
