/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* Where captured packets go: Kafka, a pcap file, or nowhere (benchmarks). */
#ifndef XS_SINK_H
#define XS_SINK_H

#include <stdbool.h>
#include "capture.h"
#include "flow_format.h"
#include "kafka.h"

#define SPOOL_DEFAULT_DIR "/var/lib/xdpsensor/spool"
#define SPOOL_DEFAULT_MAX (1ull << 30)

enum sink_kind { SINK_KAFKA, SINK_NULL, SINK_PCAP };

struct sink_opts {
	enum sink_kind kind;
	const char *pcap_path;
	struct kafka_opts kafka;
	const char *spool_dir; /* one sub-directory per worker: IFACE.qQUEUE */
	const char *stage_dir; /* where the spools' write buffers outlive a kill (tmpfs) */
	__u64 spool_max;       /* bytes, shared by the workers; 0: no spool */
};

/* The worker a sink serves: its records' headers name them. */
struct sink_worker {
	const char *ifname;
	__u32 queue;
};

struct sink;

/* What became of one record: the worker that hands it over counts it. */
enum sink_outcome {
	SINK_PRODUCED,    /* taken by the producer; its delivery is counted by the sink */
	SINK_SPOOLED,     /* kept in the spool, to be produced when Kafka has room */
	SINK_QUEUE_FULL,  /* dropped: the producer queue is full (no spool) */
	SINK_SPOOL_FULL,  /* dropped: the spool is full (--spool-max, or the disk) */
	SINK_SPOOL_ERROR, /* dropped: the spool cannot be written */
	SINK_ERROR,       /* dropped: the sink refused it */
};

/* What the sink did with one worker's records (null and pcap: delivered when written). */
struct sink_counts {
	__u64 spool_out, delivered, failed, reclaimed, maybe_dup;
	__u64 spool_recovered, spool_torn, spool_corrupt, spool_lost_full, spool_lost_err;
	__u64 spooled, spool_bytes, spool_oldest_ns;
};

/* Parses --output kafka|null|pcap:FILE. */
int sink_parse_output(const char *arg, struct sink_opts *o);
/* One lane per worker (capture_rec.worker indexes workers). */
struct sink *sink_open(const struct sink_opts *o, const struct sink_worker *workers,
		       unsigned int nworkers);
/* Hands over one record; called by its worker's thread only. */
enum sink_outcome sink_write(struct sink *s, const struct capture_rec *rec);
/* The worker's share of the sink's work (Kafka: its delivery reports and
 * spool), once per loop of the worker's thread; drain: also read the spool
 * back (once the RX ring is served). */
void sink_service(struct sink *s, unsigned int worker, bool drain);
/* Frames the worker's RX ring lost in the last window_ns: the sink's own
 * background work (reading the spool back) yields to the ring. */
void sink_rx_lost(struct sink *s, unsigned int worker, __u64 lost, __u64 window_ns);
/* Records of this worker wait in the sink: it should look again soon. */
bool sink_busy(struct sink *s, unsigned int worker);
void sink_counts(struct sink *s, unsigned int worker, struct sink_counts *out);
/* Serves what the main thread owns (the flow records' reports) or sleeps. */
void sink_poll(struct sink *s, int timeout_ms);
/* The sink cannot take records any more (Kafka: a fatal producer error). */
bool sink_failed(struct sink *s);
/* After the workers stopped: waits up to timeout_ms for delivery; what is
 * left goes back to the spool (without one: counted as failed). */
void sink_flush(struct sink *s, int timeout_ms);
void sink_close(struct sink *s);
/* Capture-to-delivery latency percentiles in us (0 if none measured). */
void sink_latency(struct sink *s, double *p50_us, double *p99_us);
/* A flow record to the flows topic (Kafka with --flows-topic only). */
void sink_export_flow(struct sink *s, const struct flow_key *key, const char *json, size_t len);
void sink_flow_counts(struct sink *s, __u64 *delivered, __u64 *failed);
/* Kafka: a copy (free it) of librdkafka's last statistics JSON of a
 * worker's producer, or of the flow records' producer; else NULL. */
char *sink_kafka_stats(struct sink *s, unsigned int worker);
char *sink_flows_kafka_stats(struct sink *s);

#endif
