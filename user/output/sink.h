/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* Where captured packets go: Kafka, a pcap file, or nowhere (benchmarks). */
#ifndef XS_SINK_H
#define XS_SINK_H

#include <stdbool.h>
#include "capture.h"
#include "kafka.h"

enum sink_kind { SINK_KAFKA, SINK_NULL, SINK_PCAP };

struct sink_opts {
	enum sink_kind kind;
	const char *pcap_path;
	struct kafka_opts kafka;
};

struct sink;

/* Parses --output kafka|null|pcap:FILE. */
int sink_parse_output(const char *arg, struct sink_opts *o);
struct sink *sink_open(const struct sink_opts *o, struct xs_worker_stats *workers,
		       unsigned int nworkers);
/*
 * Hands over one record; counts it in rec->stats as produced, queue_full or
 * sink_errors. Thread-safe: every worker calls it.
 */
void sink_write(struct sink *s, const struct capture_rec *rec);
/* Serves delivery reports (or sleeps, for other sinks) up to timeout_ms;
 * called from the main thread's loop. */
void sink_poll(struct sink *s, int timeout_ms);
/* Flushes (Kafka: up to timeout_ms, then what is left counts as failed). */
void sink_flush(struct sink *s, int timeout_ms);
void sink_close(struct sink *s);
/* Capture-to-delivery latency percentiles in us (0 if none measured). */
void sink_latency(struct sink *s, double *p50_us, double *p99_us);
/* A flow record to the flows topic (Kafka with --flows-topic only). */
void sink_export_flow(struct sink *s, const struct flow_key *key, const char *json, size_t len);
void sink_flow_counts(struct sink *s, __u64 *delivered, __u64 *failed);

#endif
