// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <librdkafka/rdkafka.h>

#include "clock.h"
#include "kafka.h"
#include "latency.h"
#include "log.h"
#include "record_ref.h"

/* Throughput defaults; -c and -X override any of them. */
static const char *const defaults[][2] = {
	{ "client.id", "xdpsensor" },
	{ "partitioner", "murmur2_random" }, /* where the Java client puts a key */
	{ "enable.idempotence", "true" },
	{ "linger.ms", "5" },
	{ "batch.num.messages", "10000" },
	{ "queue.buffering.max.messages", "1000000" },
	{ "queue.buffering.max.kbytes", "1048576" },
	{ "compression.codec", "none" },
};

struct kafka_producer {
	rd_kafka_t *rk;
	rd_kafka_topic_t *rkt;
	struct kafka_opts o;
	struct latency_hist lat;
	/* delivery reports, counted here only: one row per worker (the record
	 * reference's index), written by whichever thread serves reports */
	struct delivery_counts *delivery;
	unsigned int nworkers;
	rd_kafka_topic_t *flows_rkt;
	struct delivery_counts flows;
	time_t last_error_log;
	/* said once in plain words: the broker refused the sensor (credentials,
	 * ACL) or its certificate is not trusted; then the retries' transport
	 * errors, which follow from it, are not said again */
	int auth_reported, tls_reported;
	int fatal; /* set by on_error, read by kafka_fatal() */
	/* librdkafka's last statistics JSON (statistics.interval.ms), as it
	 * gave it: /metrics reads it on another thread */
	pthread_mutex_t stats_lock;
	char *stats_json;
};

static void count_delivery(struct delivery_counts *c, bool ok)
{
	__atomic_fetch_add(ok ? &c->delivered : &c->failed, 1, __ATOMIC_RELAXED);
}

static bool is_auth_error(rd_kafka_resp_err_t err)
{
	switch (err) {
	case RD_KAFKA_RESP_ERR__AUTHENTICATION:
	case RD_KAFKA_RESP_ERR_SASL_AUTHENTICATION_FAILED:
	case RD_KAFKA_RESP_ERR_TOPIC_AUTHORIZATION_FAILED:
	case RD_KAFKA_RESP_ERR_CLUSTER_AUTHORIZATION_FAILED:
	case RD_KAFKA_RESP_ERR_TRANSACTIONAL_ID_AUTHORIZATION_FAILED:
		return true;
	default:
		return false;
	}
}

/* An authentication or authorization error, in plain words, once. */
static void report_auth(struct kafka_producer *k, rd_kafka_resp_err_t err, const char *detail)
{
	/* any thread: delivery reports, error callbacks, workers' produce calls */
	if (__atomic_exchange_n(&k->auth_reported, 1, __ATOMIC_RELAXED))
		return;
	if (err == RD_KAFKA_RESP_ERR__AUTHENTICATION ||
	    err == RD_KAFKA_RESP_ERR_SASL_AUTHENTICATION_FAILED)
		pr_warn("Kafka: the broker refused the sensor's credentials (authentication failed:"
			" %s); check the sasl.*/ssl.* properties given with -X or -c\n", detail);
	else
		pr_warn("Kafka: the broker does not allow the sensor's principal to produce"
			" (authorization failed: %s); grant it WRITE on topic %s (and on the"
			" cluster, IDEMPOTENT_WRITE, for enable.idempotence)\n", detail, k->o.topic);
}

/* A TLS handshake that failed, in plain words, once. */
static void report_tls(struct kafka_producer *k, const char *detail)
{
	if (__atomic_exchange_n(&k->tls_reported, 1, __ATOMIC_RELAXED))
		return;
	if (strstr(detail, "certificate verify failed"))
		pr_warn("Kafka: the broker's TLS certificate is not trusted (%s); set ssl.ca.location"
			" to the CA that signed it (-X or -c)\n", detail);
	else
		pr_warn("Kafka: TLS with the broker failed (%s); check the ssl.* properties given"
			" with -X or -c\n", detail);
}

/* The broker refused the sensor: what follows from it is not news. */
static bool refused(struct kafka_producer *k)
{
	return __atomic_load_n(&k->auth_reported, __ATOMIC_RELAXED) ||
	       __atomic_load_n(&k->tls_reported, __ATOMIC_RELAXED);
}

static void on_delivery(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque)
{
	struct kafka_producer *k = opaque;
	unsigned int worker = record_ref_worker(m->_private);

	(void)rk;
	if (m->err && is_auth_error(m->err))
		report_auth(k, m->err, rd_kafka_err2str(m->err));
	if (worker == REF_FLOW_RECORD) {
		count_delivery(&k->flows, !m->err);
		return;
	}
	if (worker >= k->nworkers)
		return; /* cannot happen: every record carries its worker */
	count_delivery(&k->delivery[worker], !m->err);
	if (m->err)
		pr_debug("delivery failed: %s\n", rd_kafka_err2str(m->err));
	else
		latency_add(&k->lat, record_ref_age(m->_private, clock_ns(CLOCK_REALTIME)));
}

/*
 * A fatal error (the idempotent producer's guarantees cannot hold: fenced,
 * not authorized for a producer id, ...) ends the producer: say why once
 * and let the run stop (kafka_fatal()), as librdkafka's
 * idempotent_producer example does.
 */
static void on_fatal(struct kafka_producer *k)
{
	char reason[512];
	rd_kafka_resp_err_t err = rd_kafka_fatal_error(k->rk, reason, sizeof(reason));

	if (is_auth_error(err))
		report_auth(k, err, reason);
	pr_warn("Kafka: fatal producer error, stopping: %s (%s)\n", reason, rd_kafka_err2name(err));
	__atomic_store_n(&k->fatal, 1, __ATOMIC_RELEASE);
}

static void on_error(rd_kafka_t *rk, int err, const char *reason, void *opaque)
{
	struct kafka_producer *k = opaque;
	time_t now = time(NULL);

	(void)rk;
	if (err == RD_KAFKA_RESP_ERR__FATAL) {
		on_fatal(k);
		return;
	}
	if (is_auth_error(err)) {
		report_auth(k, err, reason);
		return;
	}
	if (err == RD_KAFKA_RESP_ERR__SSL) {
		report_tls(k, reason);
		return;
	}
	/* a down broker reports every retry: say it once every 10 s */
	if (now - k->last_error_log < 10 || refused(k)) {
		pr_debug("Kafka: %s (%s)\n", reason, rd_kafka_err2name(err));
		return;
	}
	k->last_error_log = now;
	pr_warn("Kafka: %s (%s); records are buffered up to queue.buffering.max.messages,"
		" then dropped and counted\n", reason, rd_kafka_err2name(err));
}

/* librdkafka's own log: errors as ours, its warnings (mostly transient:
 * retries, coordinator loads) only with -v. */
static void on_log(const rd_kafka_t *rk, int level, const char *fac, const char *buf)
{
	(void)rk;
	/* on_fatal() and on_error() say these, once */
	if (!strcmp(fac, "FATAL") || !strcmp(fac, "FAIL"))
		xs_log(XS_LOG_DEBUG, "Kafka %s: %s\n", fac, buf);
	else if (level <= 3)
		pr_warn("Kafka %s: %s\n", fac, buf);
	else
		xs_log(level <= 6 ? XS_LOG_DEBUG : XS_LOG_TRACE, "Kafka %s: %s\n", fac, buf);
}

/* Keeps the JSON (librdkafka frees it no more: return 1). */
static int on_stats(rd_kafka_t *rk, char *json, size_t len, void *opaque)
{
	struct kafka_producer *k = opaque;
	char *old;

	(void)rk;
	(void)len;
	pthread_mutex_lock(&k->stats_lock);
	old = k->stats_json;
	k->stats_json = json;
	pthread_mutex_unlock(&k->stats_lock);
	rd_kafka_mem_free(NULL, old);
	return 1;
}

char *kafka_stats_json(struct kafka_producer *k)
{
	char *copy = NULL;

	pthread_mutex_lock(&k->stats_lock);
	if (k->stats_json)
		copy = strdup(k->stats_json);
	pthread_mutex_unlock(&k->stats_lock);
	return copy;
}

static int conf_set(rd_kafka_conf_t *conf, const char *name, const char *value,
		    const char *origin)
{
	char errstr[512];

	if (rd_kafka_conf_set(conf, name, value, errstr, sizeof(errstr)) != RD_KAFKA_CONF_OK) {
		pr_warn("%s: %s\n", origin, errstr);
		return -EINVAL;
	}
	return 0;
}

static int conf_set_pair(rd_kafka_conf_t *conf, const char *pair, const char *origin)
{
	char name[256];
	const char *eq = strchr(pair, '=');

	if (!eq || eq == pair || (size_t)(eq - pair) >= sizeof(name)) {
		pr_warn("%s: '%s' is not name=value\n", origin, pair);
		return -EINVAL;
	}
	snprintf(name, sizeof(name), "%.*s", (int)(eq - pair), pair);
	return conf_set(conf, name, eq + 1, origin);
}

static int conf_read_file(rd_kafka_conf_t *conf, const char *path)
{
	char line[1024], origin[PATH_MAX + 16];
	int lineno = 0, err = 0;
	FILE *f = fopen(path, "r");

	if (!f) {
		pr_warn("cannot read Kafka config file %s: %s\n", path, strerror(errno));
		return -errno;
	}
	while (!err && fgets(line, sizeof(line), f)) {
		char *s = line, *end;

		lineno++;
		while (*s == ' ' || *s == '\t')
			s++;
		end = s + strcspn(s, "\r\n");
		*end = '\0';
		if (!*s || *s == '#')
			continue;
		snprintf(origin, sizeof(origin), "%s:%d", path, lineno);
		err = conf_set_pair(conf, s, origin);
	}
	fclose(f);
	return err;
}

static rd_kafka_conf_t *build_conf(const struct kafka_opts *o, struct kafka_producer *k)
{
	rd_kafka_conf_t *conf = rd_kafka_conf_new();
	int err = 0;

	for (size_t i = 0; !err && i < sizeof(defaults) / sizeof(defaults[0]); i++)
		err = conf_set(conf, defaults[i][0], defaults[i][1], "default");
	if (!err && o->brokers)
		err = conf_set(conf, "bootstrap.servers", o->brokers, "-b");
	if (!err && o->stats_interval_ms)
		err = conf_set(conf, "statistics.interval.ms", o->stats_interval_ms, "--metrics");
	if (!err && o->config_file)
		err = conf_read_file(conf, o->config_file);
	for (int i = 0; !err && i < o->nprops; i++)
		err = conf_set_pair(conf, o->props[i], "-X");
	if (err) {
		rd_kafka_conf_destroy(conf);
		return NULL;
	}
	rd_kafka_conf_set_dr_msg_cb(conf, on_delivery);
	rd_kafka_conf_set_error_cb(conf, on_error);
	rd_kafka_conf_set_log_cb(conf, on_log);
	rd_kafka_conf_set_stats_cb(conf, on_stats);
	rd_kafka_conf_set_opaque(conf, k);
	return conf;
}

static void check_reachable(struct kafka_producer *k)
{
	const struct rd_kafka_metadata *md;
	rd_kafka_resp_err_t err;

	err = rd_kafka_metadata(k->rk, 0, k->rkt, &md, 5000);
	rd_kafka_poll(k->rk, 0); /* an authentication or TLS error says more */
	if (err && refused(k))
		return;
	if (err) {
		pr_warn("Kafka broker %s not reachable yet (%s): starting anyway, buffering"
			" records and retrying\n", k->o.brokers, rd_kafka_err2str(err));
		return;
	}
	if (md->topic_cnt && md->topics[0].partition_cnt)
		pr_info("Kafka: connected to %s, topic %s has %d partitions\n", k->o.brokers,
			k->o.topic, md->topics[0].partition_cnt);
	else
		pr_info("Kafka: connected to %s; topic %s does not exist yet (the broker"
			" creates it on the first record if auto.create.topics.enable)\n",
			k->o.brokers, k->o.topic);
	rd_kafka_metadata_destroy(md);
}

int kafka_check_conf(const struct kafka_opts *o)
{
	rd_kafka_conf_t *conf = build_conf(o, NULL);

	if (!conf)
		return -EINVAL;
	rd_kafka_conf_destroy(conf);
	return 0;
}

struct kafka_producer *kafka_open(const struct kafka_opts *o, unsigned int nworkers)
{
	struct kafka_producer *k = calloc(1, sizeof(*k));
	rd_kafka_conf_t *conf;
	char errstr[512];

	if (!k)
		return NULL;
	k->o = *o;
	k->nworkers = nworkers;
	pthread_mutex_init(&k->stats_lock, NULL);
	k->delivery = calloc(nworkers ? nworkers : 1, sizeof(*k->delivery));
	if (!k->delivery)
		goto fail;
	if (!k->o.topic)
		k->o.topic = KAFKA_DEFAULT_TOPIC;
	conf = build_conf(o, k);
	if (!conf)
		goto fail;
	k->rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof(errstr));
	if (!k->rk) {
		pr_warn("cannot create the Kafka producer: %s\n", errstr);
		rd_kafka_conf_destroy(conf);
		goto fail;
	}
	k->rkt = rd_kafka_topic_new(k->rk, k->o.topic, NULL);
	if (!k->rkt) {
		pr_warn("cannot use topic %s: %s\n", k->o.topic,
			rd_kafka_err2str(rd_kafka_last_error()));
		goto fail;
	}
	if (k->o.flows_topic && !(k->flows_rkt = rd_kafka_topic_new(k->rk, k->o.flows_topic, NULL))) {
		pr_warn("cannot use topic %s\n", k->o.flows_topic);
		goto fail;
	}
	check_reachable(k);
	return k;
fail:
	if (k->rkt)
		rd_kafka_topic_destroy(k->rkt);
	if (k->rk)
		rd_kafka_destroy(k->rk);
	free(k->delivery);
	pthread_mutex_destroy(&k->stats_lock);
	free(k);
	return NULL;
}

int kafka_produce(struct kafka_producer *k, const struct capture_rec *rec)
{
	__u8 key[RECORD_KEY_MAX], ts_be[8], queue_be[4], len_be[4], dir = rec->pkt.dir;
	size_t key_len = record_key(k->o.key, k->o.ts_unit, rec, key);
	rd_kafka_resp_err_t err;
	put_be64(ts_be, rec->ts_ns);
	put_be32(queue_be, rec->queue);
	put_be32(len_be, rec->orig_len);
	for (;;) {
		if (k->o.no_headers) /* headers cost ~2 us a record in librdkafka */
			err = rd_kafka_producev(
				k->rk, RD_KAFKA_V_RKT(k->rkt),
				RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
				RD_KAFKA_V_VALUE((void *)rec->data, rec->len),
				RD_KAFKA_V_KEY(key_len ? key : NULL, key_len),
				RD_KAFKA_V_TIMESTAMP((int64_t)(rec->ts_ns / 1000000)),
				RD_KAFKA_V_OPAQUE(record_ref(rec->worker, rec->ts_ns)), RD_KAFKA_V_END);
		else
			err = rd_kafka_producev(
			k->rk, RD_KAFKA_V_RKT(k->rkt),
			RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), /* UMEM frames are reused */
			RD_KAFKA_V_VALUE((void *)rec->data, rec->len),
			RD_KAFKA_V_KEY(key_len ? key : NULL, key_len),
			RD_KAFKA_V_TIMESTAMP((int64_t)(rec->ts_ns / 1000000)),
			RD_KAFKA_V_HEADER("xs.ts_ns", ts_be, 8),
			RD_KAFKA_V_HEADER("xs.iface", rec->ifname, -1),
			RD_KAFKA_V_HEADER("xs.queue", queue_be, 4),
			RD_KAFKA_V_HEADER("xs.dir", &dir, 1),
			RD_KAFKA_V_HEADER("xs.orig_len", len_be, 4),
			RD_KAFKA_V_HEADER("xs.outer_key", rec->outer_key, rec->outer_key ? 40 : 0),
			RD_KAFKA_V_OPAQUE(record_ref(rec->worker, rec->ts_ns)), RD_KAFKA_V_END);
		if (err != RD_KAFKA_RESP_ERR__QUEUE_FULL || !k->o.block ||
		    (k->o.stop && *k->o.stop))
			break;
		/* --block: wait for room; meanwhile the RX ring fills and the
		 * kernel counts what it cannot place (XDP_STATISTICS) */
		rd_kafka_poll(k->rk, 10);
	}
	if (!err)
		return 0;
	if (is_auth_error(err)) /* the topic's metadata said so: refused at once */
		report_auth(k, err, rd_kafka_err2str(err));
	return err == RD_KAFKA_RESP_ERR__QUEUE_FULL ? -ENOBUFS : -EIO;
}

int kafka_produce_flow(struct kafka_producer *k, const struct flow_key *fk, const char *json,
		       size_t len)
{
	struct capture_rec rec = { .pkt.key = *fk };
	__u8 key[RECORD_KEY_MAX];
	size_t key_len = record_key(KEY_5TUPLE, TS_NS, &rec, key);

	if (!k->flows_rkt || kafka_fatal(k))
		return -EINVAL;
	if (rd_kafka_producev(k->rk, RD_KAFKA_V_RKT(k->flows_rkt),
			      RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
			      RD_KAFKA_V_VALUE((void *)json, len), RD_KAFKA_V_KEY(key, key_len),
			      RD_KAFKA_V_OPAQUE(record_ref(REF_FLOW_RECORD, 0)), RD_KAFKA_V_END)) {
		count_delivery(&k->flows, false);
		return -EIO;
	}
	return 0;
}

static struct delivery_counts load_counts(const struct delivery_counts *c)
{
	return (struct delivery_counts){
		.delivered = __atomic_load_n(&c->delivered, __ATOMIC_RELAXED),
		.failed = __atomic_load_n(&c->failed, __ATOMIC_RELAXED),
	};
}

struct delivery_counts kafka_flow_counts(struct kafka_producer *k)
{
	return load_counts(&k->flows);
}

struct delivery_counts kafka_delivery(struct kafka_producer *k, unsigned int worker)
{
	return worker < k->nworkers ? load_counts(&k->delivery[worker])
				    : (struct delivery_counts){ 0 };
}

bool kafka_fatal(struct kafka_producer *k)
{
	return __atomic_load_n(&k->fatal, __ATOMIC_ACQUIRE);
}

void kafka_poll(struct kafka_producer *k, int timeout_ms)
{
	rd_kafka_poll(k->rk, timeout_ms);
}

int kafka_flush(struct kafka_producer *k, int timeout_ms)
{
	int left;

	/* a dead producer delivers nothing more: do not wait for it */
	if (!kafka_fatal(k) && rd_kafka_flush(k->rk, timeout_ms))
		pr_warn("Kafka: flush timed out after %d ms\n", timeout_ms);
	left = rd_kafka_outq_len(k->rk);
	if (left) {
		pr_warn("Kafka: %d records were not delivered (%s); counted as failed\n", left,
			kafka_fatal(k) ? "fatal producer error" :
			refused(k) ? "the broker refused the sensor, said above" :
				     "broker unreachable?");
		/* purged records get a delivery report: failed, so counters add up */
		rd_kafka_purge(k->rk, RD_KAFKA_PURGE_F_QUEUE | RD_KAFKA_PURGE_F_INFLIGHT);
		rd_kafka_poll(k->rk, 100);
	}
	return left;
}

void kafka_close(struct kafka_producer *k)
{
	if (k->flows_rkt)
		rd_kafka_topic_destroy(k->flows_rkt);
	rd_kafka_topic_destroy(k->rkt);
	rd_kafka_destroy(k->rk);
	free(k->delivery);
	rd_kafka_mem_free(NULL, k->stats_json); /* kept by on_stats */
	pthread_mutex_destroy(&k->stats_lock);
	free(k);
}

void kafka_latency(struct kafka_producer *k, double *p50_us, double *p99_us)
{
	*p50_us = latency_percentile(&k->lat, 0.50) / 1000.0;
	*p99_us = latency_percentile(&k->lat, 0.99) / 1000.0;
}
