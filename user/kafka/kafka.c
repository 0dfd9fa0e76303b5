// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <librdkafka/rdkafka.h>

#include "kafka.h"
#include "kafka_conf.h"
#include "kafka_writer.h"
#include "log.h"
#include "record_meta.h"

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
	struct kafka_writer *writer; /* --producer batch: the rest is unused */
	rd_kafka_t *rk;
	rd_kafka_topic_t *rkt;
	struct kafka_opts o;
	const char *topic;
	kafka_report_fn *report;
	void *ctx;
	/* delivery reports come as events on the main queue (not a callback
	 * inside rd_kafka_poll()), so that a worker can serve some and go
	 * back to its RX ring: one poll may hold tens of thousands */
	rd_kafka_queue_t *reports;
	rd_kafka_event_t *dr; /* a batch of reports partly served */
	int fatal; /* set by on_error, read by kafka_fatal() */
	/* librdkafka's last statistics JSON (statistics.interval.ms), as it
	 * gave it: /metrics reads it on another thread */
	pthread_mutex_t stats_lock;
	char *stats_json;
};

/* every producer's "broker down" retries, said once every 10 s in all */
static time_t last_error_log;
/* said once in plain words, whatever the number of producers: the broker
 * refused the sensor (credentials, ACL) or its certificate is not trusted;
 * then the retries' transport errors, which follow from it, are not said */
static int auth_reported, tls_reported;

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
	if (__atomic_exchange_n(&auth_reported, 1, __ATOMIC_RELAXED))
		return;
	if (err == RD_KAFKA_RESP_ERR__AUTHENTICATION ||
	    err == RD_KAFKA_RESP_ERR_SASL_AUTHENTICATION_FAILED)
		pr_warn("Kafka: the broker refused the sensor's credentials (authentication failed:"
			" %s); check the sasl.*/ssl.* properties given with -X or -c\n", detail);
	else
		pr_warn("Kafka: the broker does not allow the sensor's principal to produce"
			" (authorization failed: %s); grant it WRITE on topic %s (and on the"
			" cluster, IDEMPOTENT_WRITE, for enable.idempotence)\n", detail, k->topic);
}

/* A TLS handshake that failed, in plain words, once. */
static void report_tls(const char *detail)
{
	if (__atomic_exchange_n(&tls_reported, 1, __ATOMIC_RELAXED))
		return;
	if (strstr(detail, "certificate verify failed"))
		pr_warn("Kafka: the broker's TLS certificate is not trusted (%s); set ssl.ca.location"
			" to the CA that signed it (-X or -c)\n", detail);
	else
		pr_warn("Kafka: TLS with the broker failed (%s); check the ssl.* properties given"
			" with -X or -c\n", detail);
}

bool kafka_refused(void)
{
	return __atomic_load_n(&auth_reported, __ATOMIC_RELAXED) ||
	       __atomic_load_n(&tls_reported, __ATOMIC_RELAXED);
}

/* orig_len, dir and the outer key back from the record's headers (a record handed back). */
static void read_meta(const rd_kafka_message_t *m, struct kafka_report *r)
{
	rd_kafka_headers_t *h;
	struct record_meta meta;

	unsigned int found;

	if (rd_kafka_message_headers(m, &h))
		return;
	found = record_meta_read(h, &meta);
	if ((found & (META_ORIG_LEN | META_DIR)) != (META_ORIG_LEN | META_DIR))
		return;
	r->orig_len = meta.orig_len;
	r->dir = meta.dir;
	r->has_meta = true;
	if (found & META_OUTER_KEY) {
		memcpy(r->outer_key, meta.outer_key, RECORD_OUTER_KEY_LEN);
		r->has_outer_key = true;
	}
}

static void on_delivery(struct kafka_producer *k, const rd_kafka_message_t *m)
{
	struct kafka_report r = {
		.opaque = m->_private,
		.key = m->key, .key_len = (__u32)m->key_len,
		.value = m->payload, .len = (__u32)m->len,
	};

	switch (m->err) {
	case RD_KAFKA_RESP_ERR_NO_ERROR:
		r.outcome = KAFKA_DELIVERED;
		break;
	case RD_KAFKA_RESP_ERR__PURGE_QUEUE:
		/* queued again after a send that got no answer (the broker died
		 * after writing it, say): the topic may hold it already */
		r.outcome = rd_kafka_message_status(m) == RD_KAFKA_MSG_STATUS_NOT_PERSISTED
				    ? KAFKA_PURGED : KAFKA_PURGED_INFLIGHT;
		read_meta(m, &r);
		break;
	case RD_KAFKA_RESP_ERR__PURGE_INFLIGHT:
		r.outcome = KAFKA_PURGED_INFLIGHT;
		read_meta(m, &r);
		break;
	default:
		r.outcome = KAFKA_FAILED;
		if (is_auth_error(m->err))
			report_auth(k, m->err, rd_kafka_err2str(m->err));
		pr_debug("delivery failed: %s\n", rd_kafka_err2str(m->err));
	}
	k->report(k->ctx, &r);
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
	time_t now = time(NULL), last = __atomic_load_n(&last_error_log, __ATOMIC_RELAXED);

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
		report_tls(reason);
		return;
	}
	/* a down broker reports every retry: say it once every 10 s (and not
	 * at all after the broker refused the sensor: it follows from that) */
	if (now - last < 10 || kafka_refused() ||
	    !__atomic_compare_exchange_n(&last_error_log, &last, now, false, __ATOMIC_RELAXED,
					 __ATOMIC_RELAXED)) {
		pr_debug("Kafka: %s (%s)\n", reason, rd_kafka_err2name(err));
		return;
	}
	pr_warn("Kafka: %s (%s); records wait (in memory, then in the spool) and are sent once"
		" the broker answers\n", reason, rd_kafka_err2name(err));
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

/* Keeps a copy of librdkafka's last statistics for /metrics. */
static void keep_stats(struct kafka_producer *k, const char *json)
{
	char *copy = strdup(json), *old;

	if (!copy)
		return;
	pthread_mutex_lock(&k->stats_lock);
	old = k->stats_json;
	k->stats_json = copy;
	pthread_mutex_unlock(&k->stats_lock);
	free(old);
}

/* Set so that librdkafka emits statistics; they come as events (kafka_poll). */
static int on_stats(rd_kafka_t *rk, char *json, size_t len, void *opaque)
{
	(void)rk;
	(void)len;
	keep_stats(opaque, json);
	return 0;
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

static rd_kafka_conf_t *build_conf(const struct kafka_opts *o, struct kafka_producer *k)
{
	const struct kafka_conf_src src = {
		.defaults = defaults,
		.ndefaults = sizeof(defaults) / sizeof(defaults[0]),
		.brokers = o->brokers,
		.stats_interval_ms = o->stats_interval_ms,
		.file = o->config_file,
		.props = o->props,
		.nprops = o->nprops,
	};
	rd_kafka_conf_t *conf = kafka_conf_build(&src);

	if (!conf)
		return NULL;
	/* reports as events (kafka_poll); errors, logs and statistics come
	 * as events there too, once their callbacks are set */
	rd_kafka_conf_set_events(conf, RD_KAFKA_EVENT_DR);
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
	kafka_poll(k, 0, 0); /* an authentication or TLS error says more */
	if (err && kafka_refused())
		return;
	if (err) {
		pr_warn("Kafka broker %s not reachable yet (%s): starting anyway, buffering"
			" records and retrying\n", k->o.brokers, rd_kafka_err2str(err));
		return;
	}
	if (md->topic_cnt && md->topics[0].partition_cnt)
		pr_info("Kafka: connected to %s, topic %s has %d partitions\n", k->o.brokers,
			k->topic, md->topics[0].partition_cnt);
	else
		pr_info("Kafka: connected to %s; topic %s does not exist yet (the broker"
			" creates it on the first record if auto.create.topics.enable)\n",
			k->o.brokers, k->topic);
	rd_kafka_metadata_destroy(md);
}

int kafka_check_conf(const struct kafka_opts *o)
{
	rd_kafka_conf_t *conf = build_conf(o, NULL);
	char proto[32] = "";
	size_t size = sizeof(proto);

	if (!conf)
		return -EINVAL;
	/* -c and -X applied: the packet writer has no TLS or SASL */
	rd_kafka_conf_get(conf, "security.protocol", proto, &size);
	rd_kafka_conf_destroy(conf);
	if (o->producer == PRODUCER_BATCH && strcasecmp(proto, "plaintext")) {
		pr_warn("--producer batch speaks plaintext Kafka only: security.protocol=%s needs"
			" --producer librdkafka\n", proto);
		return -EINVAL;
	}
	return 0;
}

struct kafka_producer *kafka_open(const struct kafka_opts *o, const char *topic,
				  kafka_report_fn *report, void *ctx, unsigned int flags)
{
	struct kafka_producer *k = calloc(1, sizeof(*k));
	rd_kafka_conf_t *conf;
	char errstr[512];

	if (!k)
		return NULL;
	k->o = *o;
	k->topic = topic;
	k->report = report;
	k->ctx = ctx;
	pthread_mutex_init(&k->stats_lock, NULL);
	if ((flags & KAFKA_PACKETS) && o->producer == PRODUCER_BATCH) {
		/* the first lane waits for the broker as long as librdkafka's
		 * check does, the others a second, a restart on a backlog not */
		int wait_ms = flags & KAFKA_BACKLOG ? 0 : flags & KAFKA_CHECK ? 5000 : 1000;

		k->writer = kafka_writer_open(o, topic, report, ctx, wait_ms);
		if (!k->writer)
			goto fail;
		return k;
	}
	conf = build_conf(o, k);
	if (!conf)
		goto fail;
	k->rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof(errstr));
	if (!k->rk) {
		pr_warn("cannot create the Kafka producer: %s\n", errstr);
		rd_kafka_conf_destroy(conf);
		goto fail;
	}
	k->reports = rd_kafka_queue_get_main(k->rk);
	k->rkt = rd_kafka_topic_new(k->rk, topic, NULL);
	if (!k->rkt) {
		pr_warn("cannot use topic %s: %s\n", topic, rd_kafka_err2str(rd_kafka_last_error()));
		goto fail;
	}
	if ((flags & KAFKA_CHECK) && !(flags & KAFKA_BACKLOG))
		check_reachable(k);
	return k;
fail:
	if (k->reports)
		rd_kafka_queue_destroy(k->reports);
	if (k->rk)
		rd_kafka_destroy(k->rk);
	pthread_mutex_destroy(&k->stats_lock);
	free(k);
	return NULL;
}

static rd_kafka_resp_err_t produce_once(struct kafka_producer *k, const struct kafka_record *r)
{
	__u8 meta[RECORD_META_MAX], ts_be[8], queue_be[4], len_be[4], dir = r->dir;
	enum headers_mode mode = r->ifname ? k->o.headers : HEADERS_NONE;
	ssize_t meta_len;
	int64_t ts_ms = (int64_t)(r->ts_ns / 1000000);

	switch (mode) {
	case HEADERS_COMPACT: /* one header (librdkafka allocates each one), two in a tunnel */
		meta_len = (ssize_t)record_meta_encode(meta, r->ts_ns, r->orig_len, r->queue, r->dir,
						       r->ifname);
		if (r->outer_key)
			return rd_kafka_producev(
				k->rk, RD_KAFKA_V_RKT(k->rkt),
				RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
				RD_KAFKA_V_VALUE((void *)r->value, r->len),
				RD_KAFKA_V_KEY(r->key_len ? r->key : NULL, r->key_len),
				RD_KAFKA_V_TIMESTAMP(ts_ms),
				RD_KAFKA_V_HEADER(RECORD_META_HEADER, meta, meta_len),
				RD_KAFKA_V_HEADER(RECORD_OUTER_KEY_HEADER, r->outer_key,
						  RECORD_OUTER_KEY_LEN),
				RD_KAFKA_V_OPAQUE(r->opaque), RD_KAFKA_V_END);
		return rd_kafka_producev(
			k->rk, RD_KAFKA_V_RKT(k->rkt), RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
			RD_KAFKA_V_VALUE((void *)r->value, r->len),
			RD_KAFKA_V_KEY(r->key_len ? r->key : NULL, r->key_len),
			RD_KAFKA_V_TIMESTAMP(ts_ms), RD_KAFKA_V_HEADER(RECORD_META_HEADER, meta, meta_len),
			RD_KAFKA_V_OPAQUE(r->opaque), RD_KAFKA_V_END);
	case HEADERS_ALL:
		put_be64(ts_be, r->ts_ns);
		put_be32(queue_be, r->queue);
		put_be32(len_be, r->orig_len);
		return rd_kafka_producev(
			k->rk, RD_KAFKA_V_RKT(k->rkt), RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
			RD_KAFKA_V_VALUE((void *)r->value, r->len),
			RD_KAFKA_V_KEY(r->key_len ? r->key : NULL, r->key_len),
			RD_KAFKA_V_TIMESTAMP(ts_ms), RD_KAFKA_V_HEADER("xs.ts_ns", ts_be, 8),
			RD_KAFKA_V_HEADER("xs.iface", r->ifname, -1),
			RD_KAFKA_V_HEADER("xs.queue", queue_be, 4), RD_KAFKA_V_HEADER("xs.dir", &dir, 1),
			RD_KAFKA_V_HEADER("xs.orig_len", len_be, 4),
			/* null outside a tunnel: the six headers are always there */
			RD_KAFKA_V_HEADER(RECORD_OUTER_KEY_HEADER, r->outer_key,
					  r->outer_key ? RECORD_OUTER_KEY_LEN : 0),
			RD_KAFKA_V_OPAQUE(r->opaque), RD_KAFKA_V_END);
	case HEADERS_NONE:
		break;
	}
	return rd_kafka_producev(k->rk, RD_KAFKA_V_RKT(k->rkt),
				 RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), /* UMEM frames are reused */
				 RD_KAFKA_V_VALUE((void *)r->value, r->len),
				 RD_KAFKA_V_KEY(r->key_len ? r->key : NULL, r->key_len),
				 RD_KAFKA_V_TIMESTAMP(r->ifname ? ts_ms : 0),
				 RD_KAFKA_V_OPAQUE(r->opaque), RD_KAFKA_V_END);
}

int kafka_produce(struct kafka_producer *k, const struct kafka_record *r)
{
	rd_kafka_resp_err_t err;

	if (k->writer)
		return kafka_writer_produce(k->writer, r);
	for (;;) {
		err = produce_once(k, r);
		if (err != RD_KAFKA_RESP_ERR__QUEUE_FULL || !k->o.block || (k->o.stop && *k->o.stop))
			break;
		/* --block: wait for room; meanwhile the RX ring fills and the
		 * kernel counts what it cannot place (XDP_STATISTICS) */
		kafka_poll(k, 10, 0);
	}
	if (!err)
		return 0;
	if (is_auth_error(err)) /* the topic's metadata said so: refused at once */
		report_auth(k, err, rd_kafka_err2str(err));
	return err == RD_KAFKA_RESP_ERR__QUEUE_FULL ? -ENOBUFS : -EIO;
}

bool kafka_fatal(struct kafka_producer *k)
{
	return __atomic_load_n(&k->fatal, __ATOMIC_ACQUIRE);
}

/*
 * Polling the main queue for events returns librdkafka's errors, logs and
 * statistics as events too (its callbacks are served only by
 * rd_kafka_poll()): each goes to the handler its callback would reach.
 */
static void serve_other(struct kafka_producer *k, rd_kafka_event_t *ev)
{
	const char *fac, *str;
	int level;

	switch (rd_kafka_event_type(ev)) {
	case RD_KAFKA_EVENT_ERROR:
		/* a fatal error's event holds the underlying code; on_error
		 * asks librdkafka for it again */
		on_error(k->rk, rd_kafka_event_error_is_fatal(ev) ? RD_KAFKA_RESP_ERR__FATAL
								  : rd_kafka_event_error(ev),
			 rd_kafka_event_error_string(ev), k);
		break;
	case RD_KAFKA_EVENT_STATS:
		keep_stats(k, rd_kafka_event_stats(ev));
		break;
	case RD_KAFKA_EVENT_LOG:
		if (!rd_kafka_event_log(ev, &fac, &str, &level))
			on_log(k->rk, level, fac, str);
		break;
	default:
		break;
	}
}

unsigned int kafka_poll(struct kafka_producer *k, int timeout_ms, unsigned int max)
{
	const rd_kafka_message_t *m;
	unsigned int n = 0;

	if (k->writer)
		return kafka_writer_poll(k->writer, timeout_ms, max);
	while (!max || n < max) {
		if (!k->dr) {
			k->dr = rd_kafka_queue_poll(k->reports, n ? 0 : timeout_ms);
			if (!k->dr)
				break;
			if (rd_kafka_event_type(k->dr) != RD_KAFKA_EVENT_DR) {
				serve_other(k, k->dr);
				rd_kafka_event_destroy(k->dr);
				k->dr = NULL;
				timeout_ms = 0;
				continue;
			}
		}
		while ((!max || n < max) && (m = rd_kafka_event_message_next(k->dr))) {
			on_delivery(k, m);
			n++;
		}
		if (max && n == max)
			break; /* the rest of this batch next time */
		rd_kafka_event_destroy(k->dr);
		k->dr = NULL;
	}
	return n;
}

int kafka_outq(struct kafka_producer *k)
{
	if (k->writer)
		return kafka_writer_outq(k->writer);
	return rd_kafka_outq_len(k->rk);
}

void kafka_purge(struct kafka_producer *k, bool inflight)
{
	if (k->writer) {
		kafka_writer_purge(k->writer, inflight);
		return;
	}
	rd_kafka_purge(k->rk, RD_KAFKA_PURGE_F_QUEUE | (inflight ? RD_KAFKA_PURGE_F_INFLIGHT : 0));
}

void kafka_close(struct kafka_producer *k)
{
	if (!k)
		return;
	if (k->writer)
		kafka_writer_close(k->writer);
	if (k->dr)
		rd_kafka_event_destroy(k->dr);
	if (k->reports)
		rd_kafka_queue_destroy(k->reports);
	if (k->rkt)
		rd_kafka_topic_destroy(k->rkt);
	if (k->rk)
		rd_kafka_destroy(k->rk);
	free(k->stats_json);
	pthread_mutex_destroy(&k->stats_lock);
	free(k);
}
