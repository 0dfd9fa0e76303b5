/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * The librdkafka producer settings every benchmark producer uses
 * (pcap-probe, kafka-alone), in one place. They are the sensor's own
 * throughput defaults (the `defaults` table of user/kafka.c), so a
 * difference between the peers and the sensor is never a difference of
 * configuration. Keep the two tables equal.
 *
 *   partitioner=murmur2_random         where the Java client puts a key
 *   enable.idempotence=true            no duplicates or reordering on retry;
 *                                      implies acks=all and at most 5
 *                                      requests in flight per broker
 *   linger.ms=5                        batches fill at high rates, 5 ms
 *                                      latency at low ones
 *   batch.num.messages=10000           with 64 B frames a batch is ~1 MB
 *   queue.buffering.max.messages=1M    ~1 s of buffering at 1 Mpps before
 *   queue.buffering.max.kbytes=1 GiB   produce() says QUEUE_FULL
 *   compression.codec=none             packets compress poorly, CPU is scarce
 */
#ifndef XS_BENCH_PRODUCER_CONF_H
#define XS_BENCH_PRODUCER_CONF_H

#include <stdint.h>
#include <stdio.h>
#include <time.h>
#include <librdkafka/rdkafka.h>
#include "clock.h"
#include "latency.h"

/* What a peer's delivery reports and error callback keep. */
struct bench_delivery {
	uint64_t delivered, failed;
	time_t last_error_log;
	struct latency_hist lat; /* wall-clock ns from the record's opaque to its report */
};

/* The record's opaque is its capture (or produce) time, wall-clock ns, as
 * the sensor measures its own capture-to-delivery latency. */
static void bench_on_delivery(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque)
{
	struct bench_delivery *d = opaque;
	uint64_t t = (uint64_t)(uintptr_t)m->_private, now = clock_ns(CLOCK_REALTIME);

	(void)rk;
	if (m->err) {
		d->failed++;
		return;
	}
	d->delivered++;
	if (t && now > t)
		latency_add(&d->lat, now - t);
}

/* "latency_us":{"p50":..,"p99":..}, the sensor's summary format */
static inline void bench_print_latency(const struct bench_delivery *d)
{
	printf("\"latency_us\":{\"p50\":%.1f,\"p99\":%.1f}",
	       latency_percentile(&d->lat, 0.50) / 1000, latency_percentile(&d->lat, 0.99) / 1000);
}

/* librdkafka's errors, at most one line a second. */
static void bench_on_error(rd_kafka_t *rk, int err, const char *reason, void *opaque)
{
	struct bench_delivery *d = opaque;
	time_t now = time(NULL);

	(void)rk;
	if (now == d->last_error_log)
		return;
	d->last_error_log = now;
	fprintf(stderr, "kafka: %s: %s\n", rd_kafka_err2name(err), reason);
}

/* Counts delivery reports and errors into d. */
static inline void bench_producer_callbacks(rd_kafka_conf_t *conf, struct bench_delivery *d)
{
	rd_kafka_conf_set_dr_msg_cb(conf, bench_on_delivery);
	rd_kafka_conf_set_error_cb(conf, bench_on_error);
	rd_kafka_conf_set_opaque(conf, d);
}

static const char *const bench_producer_conf[][2] = {
	{ "partitioner", "murmur2_random" },
	{ "enable.idempotence", "true" },
	{ "linger.ms", "5" },
	{ "batch.num.messages", "10000" },
	{ "queue.buffering.max.messages", "1000000" },
	{ "queue.buffering.max.kbytes", "1048576" },
	{ "compression.codec", "none" },
};

/* Applies the table, then bootstrap.servers and client.id. Returns 0 or
 * -1 after printing which setting librdkafka refused and why. */
static inline int bench_producer_conf_apply(rd_kafka_conf_t *conf,
					    const char *brokers,
					    const char *client_id)
{
	size_t n = sizeof(bench_producer_conf) / sizeof(bench_producer_conf[0]);
	char errstr[512];

	for (size_t i = 0; i <= n + 1; i++) {
		const char *name, *value;

		if (i < n) {
			name = bench_producer_conf[i][0];
			value = bench_producer_conf[i][1];
		} else if (i == n) {
			name = "bootstrap.servers";
			value = brokers;
		} else {
			name = "client.id";
			value = client_id;
		}
		if (rd_kafka_conf_set(conf, name, value, errstr, sizeof(errstr)) !=
		    RD_KAFKA_CONF_OK) {
			fprintf(stderr, "producer setting %s=%s: %s\n", name, value,
				errstr);
			return -1;
		}
	}
	return 0;
}

/*
 * Produces one unkeyed record and waits for its delivery report, so the
 * connection, the metadata and the idempotent producer id are in place
 * before a measurement starts. The caller's delivery callback sees it:
 * subtract it from its counts. Returns 0 or -1 (nothing delivered).
 */
static inline int bench_producer_warmup(rd_kafka_t *rk, rd_kafka_topic_t *rkt,
					int timeout_ms)
{
	static const char msg[] = "xsbench-warmup";
	rd_kafka_resp_err_t r;

	r = rd_kafka_producev(rk, RD_KAFKA_V_RKT(rkt),
			      RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
			      RD_KAFKA_V_VALUE((void *)msg, sizeof(msg) - 1),
			      RD_KAFKA_V_END);
	if (r) {
		fprintf(stderr, "warm-up record: %s\n", rd_kafka_err2str(r));
		return -1;
	}
	if (rd_kafka_flush(rk, timeout_ms) || rd_kafka_outq_len(rk)) {
		fprintf(stderr, "warm-up record not delivered within %d ms: is the "
			"broker reachable?\n", timeout_ms);
		return -1;
	}
	return 0;
}

/*
 * The record headers xdpsensor adds by default (user/kafka.c, README
 * "Headers"): the same five names and value sizes, so a peer run with
 * headers produces records of the sensor's size. Arguments point to the
 * big-endian values; iface is a C string.
 */
#define BENCH_SENSOR_HEADERS(ts_be8, iface, queue_be4, dir1, orig_len_be4)    \
	RD_KAFKA_V_HEADER("xs.ts_ns", (ts_be8), 8),                         \
	RD_KAFKA_V_HEADER("xs.iface", (iface), -1),                         \
	RD_KAFKA_V_HEADER("xs.queue", (queue_be4), 4),                      \
	RD_KAFKA_V_HEADER("xs.dir", (dir1), 1),                             \
	RD_KAFKA_V_HEADER("xs.orig_len", (orig_len_be4), 4)

/*
 * xdpsensor's default record metadata (--headers compact, README "Kafka
 * records"): one header, xs.meta, 16 bytes then the interface name. meta
 * points to a buffer of its size, filled by the caller.
 */
#define BENCH_SENSOR_META(meta, len) RD_KAFKA_V_HEADER("xs.meta", (meta), (len))

#endif /* XS_BENCH_PRODUCER_CONF_H */
