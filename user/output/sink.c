// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#define PCAP_DONT_INCLUDE_PCAP_BPF_H /* it clashes with linux/bpf.h */
#include <pcap/pcap.h>
#include <pcap/dlt.h>

#include "log.h"
#include "sink.h"

/* one cache line per worker: workers on other CPUs do not share one */
struct written_row {
	__u64 n;
} __attribute__((aligned(64)));

struct sink {
	enum sink_kind kind;
	struct kafka_producer *kafka;
	pcap_t *pcap;
	pcap_dumper_t *dumper;
	pthread_mutex_t dump_lock; /* workers share one file */
	/* null and pcap: delivered when written, one row per worker (each
	 * written by its worker only); Kafka counts its own */
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

struct sink *sink_open(const struct sink_opts *o, unsigned int nworkers)
{
	struct sink *s = calloc(1, sizeof(*s));

	if (!s)
		return NULL;
	s->kind = o->kind;
	s->nworkers = nworkers;
	s->written = aligned_alloc(sizeof(*s->written), (nworkers + 1) * sizeof(*s->written));
	if (s->written)
		memset(s->written, 0, (nworkers + 1) * sizeof(*s->written));
	if (!s->written)
		goto fail;
	switch (o->kind) {
	case SINK_KAFKA:
		s->kafka = kafka_open(&o->kafka, nworkers);
		if (!s->kafka)
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
	free(s->written);
	free(s);
	return NULL;
}

enum sink_outcome sink_write(struct sink *s, const struct capture_rec *rec)
{
	struct pcap_pkthdr h;
	int err;

	switch (s->kind) {
	case SINK_KAFKA:
		err = kafka_produce(s->kafka, rec);
		if (!err)
			return SINK_PRODUCED;
		return err == -ENOBUFS ? SINK_QUEUE_FULL : SINK_ERROR;
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

struct delivery_counts sink_delivery(struct sink *s, unsigned int worker)
{
	if (s->kind == SINK_KAFKA)
		return kafka_delivery(s->kafka, worker);
	if (worker >= s->nworkers)
		return (struct delivery_counts){ 0 };
	return (struct delivery_counts){
		.delivered = __atomic_load_n(&s->written[worker].n, __ATOMIC_RELAXED) };
}

bool sink_failed(struct sink *s)
{
	return s->kind == SINK_KAFKA && kafka_fatal(s->kafka);
}

void sink_poll(struct sink *s, int timeout_ms)
{
	if (s->kind == SINK_KAFKA)
		kafka_poll(s->kafka, timeout_ms);
	else /* nothing to serve: the main loop must not spin */
		usleep((useconds_t)timeout_ms * 1000);
}

void sink_flush(struct sink *s, int timeout_ms)
{
	if (s->kind == SINK_KAFKA)
		kafka_flush(s->kafka, timeout_ms);
	else if (s->kind == SINK_PCAP)
		pcap_dump_flush(s->dumper);
}

void sink_close(struct sink *s)
{
	if (!s)
		return;
	switch (s->kind) {
	case SINK_KAFKA:
		kafka_close(s->kafka);
		break;
	case SINK_PCAP:
		pcap_dump_close(s->dumper);
		pcap_close(s->pcap);
		pthread_mutex_destroy(&s->dump_lock);
		break;
	case SINK_NULL:
		break;
	}
	free(s->written);
	free(s);
}

void sink_export_flow(struct sink *s, const struct flow_key *key, const char *json, size_t len)
{
	if (s->kind == SINK_KAFKA)
		kafka_produce_flow(s->kafka, key, json, len);
}

struct delivery_counts sink_flow_counts(struct sink *s)
{
	if (s->kind == SINK_KAFKA)
		return kafka_flow_counts(s->kafka);
	return (struct delivery_counts){ 0 };
}

void sink_latency(struct sink *s, double *p50_us, double *p99_us)
{
	*p50_us = *p99_us = 0;
	if (s->kind == SINK_KAFKA)
		kafka_latency(s->kafka, p50_us, p99_us);
}

char *sink_kafka_stats(struct sink *s)
{
	return s->kind == SINK_KAFKA ? kafka_stats_json(s->kafka) : NULL;
}
