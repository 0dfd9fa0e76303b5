// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#define PCAP_DONT_INCLUDE_PCAP_BPF_H /* it clashes with linux/bpf.h */
#include <pcap/pcap.h>
#include <pcap/dlt.h>

#include "clock.h"
#include "lane.h"
#include "latency.h"
#include "log.h"
#include "sink.h"

/* one cache line per worker: workers on other CPUs do not share one */
struct written_row {
	__u64 n;
} __attribute__((aligned(64)));

struct sink {
	enum sink_kind kind;
	struct lane **lanes;          /* Kafka: one per worker */
	struct kafka_producer *flows; /* Kafka with --flows-topic */
	/* the main thread's: it serves their reports; /metrics reads them */
	__u64 flows_delivered, flows_failed;
	struct latency_hist latency;
	pcap_t *pcap;
	pcap_dumper_t *dumper;
	pthread_mutex_t dump_lock; /* workers share one file */
	/* null and pcap: delivered when written, one row per worker (each
	 * written by its worker only) */
	struct written_row *written;
	unsigned int nworkers;
};

int sink_parse_output(const char *arg, struct sink_opts *o)
{
	if (!strcmp(arg, "kafka")) {
		o->kind = SINK_KAFKA;
	} else if (!strcmp(arg, "null")) {
		o->kind = SINK_NULL;
	} else if (!strncmp(arg, "pcap:", 5) && arg[5]) {
		o->kind = SINK_PCAP;
		o->pcap_path = arg + 5;
	} else {
		pr_warn("unknown --output '%s': use kafka, null or pcap:FILE\n", arg);
		return -EINVAL;
	}
	return 0;
}

static int open_pcap(struct sink *s, const char *path)
{
	/* nanosecond pcap: per-packet timestamps keep their full precision */
	s->pcap = pcap_open_dead_with_tstamp_precision(DLT_EN10MB, 262144,
						       PCAP_TSTAMP_PRECISION_NANO);
	if (!s->pcap)
		return -ENOMEM;
	s->dumper = pcap_dump_open(s->pcap, path);
	if (!s->dumper) {
		pr_warn("cannot write %s: %s\n", path, pcap_geterr(s->pcap));
		pcap_close(s->pcap);
		return -EIO;
	}
	pthread_mutex_init(&s->dump_lock, NULL);
	return 0;
}

static void on_flow_report(void *ctx, const struct kafka_report *r)
{
	struct sink *s = ctx;

	__atomic_fetch_add(r->outcome == KAFKA_DELIVERED ? &s->flows_delivered : &s->flows_failed,
			   1, __ATOMIC_RELAXED);
}

static int open_lanes(struct sink *s, const struct sink_opts *o, const struct sink_worker *workers)
{
	s->lanes = calloc(s->nworkers ? s->nworkers : 1, sizeof(*s->lanes));
	if (!s->lanes)
		return -ENOMEM;
	for (unsigned int i = 0; i < s->nworkers; i++) {
		char dir[PATH_MAX];
		struct lane_opts lo = {
			.kafka = &o->kafka, .latency = &s->latency, .ifname = workers[i].ifname,
			.queue = workers[i].queue, .check_broker = i == 0,
			.spool_max = o->spool_max / s->nworkers,
		};

		/* --block waits for the producer instead of spooling */
		if (o->spool_max && !o->kafka.block) {
			snprintf(dir, sizeof(dir), "%s/%s.q%u", o->spool_dir, workers[i].ifname,
				 workers[i].queue);
			lo.spool_dir = dir;
			lo.stage_dir = o->stage_dir;
		}
		s->lanes[i] = lane_open(&lo);
		if (!s->lanes[i])
			return -EIO;
	}
	if (o->kafka.flows_topic) {
		s->flows = kafka_open(&o->kafka, o->kafka.flows_topic, on_flow_report, s, 0);
		if (!s->flows)
			return -EIO;
	}
	return 0;
}

struct sink *sink_open(const struct sink_opts *o, const struct sink_worker *workers,
		       unsigned int nworkers)
{
	struct sink *s = calloc(1, sizeof(*s));

	if (!s)
		return NULL;
	s->kind = o->kind;
	s->nworkers = nworkers;
	s->written = aligned_alloc(sizeof(*s->written), (nworkers + 1) * sizeof(*s->written));
	if (!s->written)
		goto fail;
	memset(s->written, 0, (nworkers + 1) * sizeof(*s->written));
	switch (o->kind) {
	case SINK_KAFKA:
		if (open_lanes(s, o, workers))
			goto fail;
		break;
	case SINK_PCAP:
		if (open_pcap(s, o->pcap_path))
			goto fail;
		break;
	case SINK_NULL:
		break;
	}
	return s;
fail:
	sink_close(s);
	return NULL;
}

enum sink_outcome sink_write(struct sink *s, const struct capture_rec *rec)
{
	struct pcap_pkthdr h;

	switch (s->kind) {
	case SINK_KAFKA:
		return lane_write(s->lanes[rec->worker], rec);
	case SINK_PCAP:
		h.ts.tv_sec = (time_t)(rec->ts_ns / 1000000000ull);
		h.ts.tv_usec = (suseconds_t)(rec->ts_ns % 1000000000ull); /* ns: see open */
		h.caplen = rec->len;
		h.len = rec->orig_len;
		pthread_mutex_lock(&s->dump_lock);
		pcap_dump((u_char *)s->dumper, &h, rec->data);
		pthread_mutex_unlock(&s->dump_lock);
		break;
	case SINK_NULL:
		break;
	}
	s->written[rec->worker].n++;
	return SINK_PRODUCED;
}

void sink_service(struct sink *s, unsigned int worker, bool drain)
{
	if (s->kind == SINK_KAFKA)
		lane_service(s->lanes[worker], drain);
}

void sink_rx_lost(struct sink *s, unsigned int worker, __u64 lost, __u64 window_ns)
{
	if (s->kind == SINK_KAFKA)
		lane_rx_lost(s->lanes[worker], lost, window_ns);
}

bool sink_busy(struct sink *s, unsigned int worker)
{
	return s->kind == SINK_KAFKA && lane_busy(s->lanes[worker]);
}

void sink_counts(struct sink *s, unsigned int worker, struct sink_counts *out)
{
	const struct lane_counts *c;

	memset(out, 0, sizeof(*out));
	if (worker >= s->nworkers)
		return;
	if (s->kind != SINK_KAFKA) {
		out->delivered = __atomic_load_n(&s->written[worker].n, __ATOMIC_RELAXED);
		return;
	}
	c = lane_counts(s->lanes[worker]);
	*out = (struct sink_counts){
		.spool_out = c->spool_out, .delivered = c->delivered, .failed = c->failed,
		.reclaimed = c->reclaimed, .maybe_dup = c->maybe_dup,
		.spool_recovered = c->spool_recovered, .spool_torn = c->spool_torn,
		.spool_corrupt = c->spool_corrupt, .spool_lost_full = c->spool_lost_full,
		.spool_lost_err = c->spool_lost_err, .spooled = c->spooled,
		.spool_bytes = c->spool_bytes, .spool_oldest_ns = c->spool_oldest_ns,
	};
}

bool sink_failed(struct sink *s)
{
	if (s->kind != SINK_KAFKA)
		return false;
	for (unsigned int i = 0; i < s->nworkers; i++)
		if (lane_fatal(s->lanes[i]))
			return true;
	return s->flows && kafka_fatal(s->flows);
}

void sink_poll(struct sink *s, int timeout_ms)
{
	if (s->flows)
		kafka_poll(s->flows, timeout_ms, 0);
	else /* the workers serve their own lanes: the main loop must not spin */
		usleep((useconds_t)timeout_ms * 1000);
}

void sink_flush(struct sink *s, int timeout_ms)
{
	__u64 deadline = clock_ns(CLOCK_MONOTONIC) + (__u64)timeout_ms * 1000000;
	bool dead = sink_failed(s); /* a dead producer delivers nothing more: no wait */
	int left;

	if (s->kind == SINK_PCAP)
		pcap_dump_flush(s->dumper);
	if (s->kind != SINK_KAFKA)
		return;
	/* every lane at once: the workers are stopped, this thread serves them */
	do {
		left = s->flows ? kafka_outq(s->flows) : 0;
		for (unsigned int i = 0; i < s->nworkers; i++)
			left += lane_outstanding(s->lanes[i]);
		if (s->flows)
			kafka_poll(s->flows, 0, 0);
		if (left && !dead)
			usleep(10000);
	} while (left && !dead && clock_ns(CLOCK_MONOTONIC) < deadline);
	if (left && !dead)
		pr_warn("Kafka: flush timed out after %d ms\n", timeout_ms);
	for (unsigned int i = 0; i < s->nworkers; i++)
		lane_end(s->lanes[i]);
	if (s->flows && kafka_outq(s->flows)) {
		kafka_purge(s->flows, true); /* reported as failed */
		kafka_poll(s->flows, 100, 0);
	}
}

void sink_close(struct sink *s)
{
	if (!s)
		return;
	switch (s->kind) {
	case SINK_KAFKA:
		for (unsigned int i = 0; s->lanes && i < s->nworkers; i++)
			lane_close(s->lanes[i]);
		free(s->lanes);
		kafka_close(s->flows);
		break;
	case SINK_PCAP:
		if (s->dumper) {
			pcap_dump_close(s->dumper);
			pcap_close(s->pcap);
			pthread_mutex_destroy(&s->dump_lock);
		}
		break;
	case SINK_NULL:
		break;
	}
	free(s->written);
	free(s);
}

void sink_export_flow(struct sink *s, const struct flow_key *key, const char *json, size_t len)
{
	__u8 kb[RECORD_KEY_MAX];
	struct kafka_record r = { .key = kb, .value = json, .len = (__u32)len };

	if (!s->flows)
		return;
	r.key_len = (__u32)flow_key_bytes(key, kb);
	/* a dead producer takes nothing: counted, so that every record the
	 * exporter hands over ends delivered or failed */
	if (kafka_fatal(s->flows) || kafka_produce(s->flows, &r))
		__atomic_fetch_add(&s->flows_failed, 1, __ATOMIC_RELAXED);
}

void sink_flow_counts(struct sink *s, __u64 *delivered, __u64 *failed)
{
	*delivered = __atomic_load_n(&s->flows_delivered, __ATOMIC_RELAXED);
	*failed = __atomic_load_n(&s->flows_failed, __ATOMIC_RELAXED);
}

char *sink_kafka_stats(struct sink *s, unsigned int worker)
{
	return s->kind == SINK_KAFKA && worker < s->nworkers ? lane_kafka_stats(s->lanes[worker])
							      : NULL;
}

char *sink_flows_kafka_stats(struct sink *s)
{
	return s->flows ? kafka_stats_json(s->flows) : NULL;
}

void sink_latency(struct sink *s, double *p50_us, double *p99_us)
{
	*p50_us = *p99_us = 0;
	if (s->kind == SINK_KAFKA) {
		*p50_us = latency_percentile(&s->latency, 0.50) / 1000.0;
		*p99_us = latency_percentile(&s->latency, 0.99) / 1000.0;
	}
}
