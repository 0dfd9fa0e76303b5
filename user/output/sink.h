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

/* What became of one record: the worker that hands it over counts it. */
enum sink_outcome {
	SINK_PRODUCED,   /* taken; its delivery is counted by the sink */
	SINK_QUEUE_FULL, /* dropped: the producer queue is full */
	SINK_ERROR,      /* dropped: the sink refused it */
};

/* Parses --output kafka|null|pcap:FILE. */
int sink_parse_output(const char *arg, struct sink_opts *o);
/* nworkers: capture_rec.worker is below it (rows of the delivery table). */
struct sink *sink_open(const struct sink_opts *o, unsigned int nworkers);
/* Hands over one record. Thread-safe: every worker calls it. */
enum sink_outcome sink_write(struct sink *s, const struct capture_rec *rec);
/* Deliveries of one worker's records so far (null and pcap: at once). */
struct delivery_counts sink_delivery(struct sink *s, unsigned int worker);
/* Serves delivery reports (or sleeps, for other sinks) up to timeout_ms;
 * called from the main thread's loop. */
void sink_poll(struct sink *s, int timeout_ms);
/* The sink cannot take records any more (Kafka: a fatal producer error). */
bool sink_failed(struct sink *s);
/* Flushes (Kafka: up to timeout_ms, then what is left counts as failed). */
void sink_flush(struct sink *s, int timeout_ms);
void sink_close(struct sink *s);
/* Capture-to-delivery latency percentiles in us (0 if none measured). */
void sink_latency(struct sink *s, double *p50_us, double *p99_us);
/* A flow record to the flows topic (Kafka with --flows-topic only). */
void sink_export_flow(struct sink *s, const struct flow_key *key, const char *json, size_t len);
struct delivery_counts sink_flow_counts(struct sink *s);
/* Kafka: a copy (free it) of librdkafka's last statistics JSON; else NULL. */
char *sink_kafka_stats(struct sink *s);

#endif
