// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "clock.h"
#include "grow.h"
#include "kafka_conf.h"
#include "log.h"
#include "topic_scan.h"

#define BATCH 1024
#define WAIT_MS 100          /* one blocking fetch, when no partition has data */
#define PROGRESS_EVERY_NS (5 * 1000000000ull)

struct part {
	int32_t id;
	int64_t next, stop;  /* offsets: first to read, first not to read */
	bool started, done;
	unsigned int held;   /* kept records in the heap */
};

struct scan {
	struct scan_opts o;
	int timeout_ms;         /* o.timeout_s, as librdkafka takes it */
	rd_kafka_t *rk;
	rd_kafka_topic_t *rkt;
	int total_parts;
	struct part *parts;
	int nparts, ndone, rr;
	bool begun;
	struct topic_rec *heap; /* min-heap by (capture time, partition, offset) */
	size_t heap_len, heap_cap;
	__u64 last_out_ts;
	struct scan_stats st;
	__u64 t_begin, t_progress, t_activity;
	char last_error[256];   /* librdkafka's last error, for our one line */
	rd_kafka_message_t *batch[BATCH];
};

/* ---------------------------------------------------------------- setup */

static void on_error(rd_kafka_t *rk, int err, const char *reason, void *opaque)
{
	struct scan *s = opaque;

	(void)rk;
	(void)err;
	snprintf(s->last_error, sizeof(s->last_error), "%s", reason);
	pr_debug("Kafka: %s\n", reason);
}

/* librdkafka's log: what matters reaches our one error line through
 * on_error; the log itself only with -v */
static void on_log(const rd_kafka_t *rk, int level, const char *fac, const char *buf)
{
	(void)rk;
	xs_log(level <= 6 ? XS_LOG_DEBUG : XS_LOG_TRACE, "Kafka %s: %s\n", fac, buf);
}

/* The consumer's defaults; -c and -X override any of them. */
static const char *const defaults[][2] = {
	{ "client.id", "xdpsensor-query" },
	/* tells a partition read to its end from one waiting for records */
	{ "enable.partition.eof", "true" },
};

static rd_kafka_conf_t *build_conf(const struct scan_opts *o, struct scan *s)
{
	const struct kafka_conf_src src = {
		.defaults = defaults,
		.ndefaults = sizeof(defaults) / sizeof(defaults[0]),
		.brokers = o->brokers,
		.file = o->config_file,
		.props = o->props,
		.nprops = o->nprops,
	};
	rd_kafka_conf_t *conf = kafka_conf_build(&src);

	if (!conf)
		return NULL;
	rd_kafka_conf_set_error_cb(conf, on_error);
	rd_kafka_conf_set_log_cb(conf, on_log);
	rd_kafka_conf_set_opaque(conf, s);
	return conf;
}

int scan_check_conf(const struct scan_opts *o)
{
	rd_kafka_conf_t *conf = build_conf(o, NULL);

	if (!conf)
		return -EINVAL;
	rd_kafka_conf_destroy(conf);
	return 0;
}

/* Why a request to the broker failed, in words a user can act on. */
static const char *why(struct scan *s, rd_kafka_resp_err_t err)
{
	static char buf[400];

	if (s->last_error[0])
		snprintf(buf, sizeof(buf), "%s (%s)", rd_kafka_err2str(err), s->last_error);
	else
		snprintf(buf, sizeof(buf), "%s", rd_kafka_err2str(err));
	return buf;
}

struct scan *scan_open(const struct scan_opts *o)
{
	const struct rd_kafka_metadata *md = NULL;
	struct scan *s = calloc(1, sizeof(*s));
	rd_kafka_resp_err_t err;
	rd_kafka_conf_t *conf;
	char errstr[512];

	if (!s)
		return NULL;
	s->o = *o;
	s->timeout_ms = (int)o->timeout_s * 1000;
	conf = build_conf(o, s);
	if (!conf)
		goto fail;
	s->rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, errstr, sizeof(errstr));
	if (!s->rk) {
		pr_warn("cannot create a Kafka consumer: %s\n", errstr);
		rd_kafka_conf_destroy(conf);
		goto fail;
	}
	s->rkt = rd_kafka_topic_new(s->rk, o->topic, NULL);
	if (!s->rkt) {
		pr_warn("topic '%s': %s\n", o->topic, rd_kafka_err2str(rd_kafka_last_error()));
		goto fail;
	}
	err = rd_kafka_metadata(s->rk, 0, s->rkt, &md, s->timeout_ms);
	rd_kafka_poll(s->rk, 0); /* the error callback has the reason */
	if (err) {
		pr_warn("%s: cannot reach Kafka at %s within %u s: %s\n", o->what, o->brokers,
			o->timeout_s, why(s, err));
		goto fail;
	}
	if (md->topic_cnt != 1 || md->topics[0].err || md->topics[0].partition_cnt <= 0) {
		err = md->topic_cnt == 1 ? md->topics[0].err : RD_KAFKA_RESP_ERR__UNKNOWN_TOPIC;
		if (err == RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART)
			pr_warn("%s: topic '%s' does not exist on %s\n", o->what, o->topic,
				o->brokers);
		else
			pr_warn("%s: topic '%s' on %s: %s\n", o->what, o->topic, o->brokers,
				rd_kafka_err2str(err));
		goto fail;
	}
	s->total_parts = md->topics[0].partition_cnt;
	s->parts = calloc((size_t)s->total_parts, sizeof(*s->parts));
	if (!s->parts)
		goto fail;
	for (int i = 0; i < s->total_parts; i++)
		s->parts[i].id = md->topics[0].partitions[i].id;
	s->nparts = s->total_parts;
	rd_kafka_metadata_destroy(md);
	s->st.partitions = s->total_parts;
	return s;
fail:
	if (md)
		rd_kafka_metadata_destroy(md);
	scan_close(s);
	return NULL;
}

int scan_partition_count(const struct scan *s)
{
	return s->total_parts;
}

void scan_only_partition(struct scan *s, int partition)
{
	for (int i = 0; i < s->nparts; i++) {
		if (s->parts[i].id == partition) {
			s->parts[0] = s->parts[i];
			s->nparts = 1;
			return;
		}
	}
}

/* Offsets of each partition at time_ms (the first record at or after it;
 * -1 when there is none), into out[]. */
static int offsets_at(struct scan *s, __u64 time_ms, int64_t *out)
{
	rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(s->nparts);
	rd_kafka_resp_err_t err;

	for (int i = 0; i < s->nparts; i++)
		rd_kafka_topic_partition_list_add(l, s->o.topic, s->parts[i].id)->offset =
			(int64_t)time_ms;
	err = rd_kafka_offsets_for_times(s->rk, l, s->timeout_ms);
	for (int i = 0; !err && i < s->nparts; i++) {
		rd_kafka_topic_partition_t *e =
			rd_kafka_topic_partition_list_find(l, s->o.topic, s->parts[i].id);

		err = e ? e->err : RD_KAFKA_RESP_ERR__UNKNOWN_PARTITION;
		out[i] = e ? e->offset : -1;
	}
	if (err)
		pr_warn("%s: cannot look up offsets by time in '%s': %s\n", s->o.what, s->o.topic,
			why(s, err));
	rd_kafka_topic_partition_list_destroy(l);
	return err ? -EIO : 0;
}

/* The offsets each partition is read between, then its fetcher started. */
static int scan_begin(struct scan *s)
{
	int64_t *at = calloc((size_t)s->nparts, sizeof(*at));
	int err = 0;

	if (!at)
		return -ENOMEM;
	for (int i = 0; !err && i < s->nparts; i++) {
		struct part *p = &s->parts[i];
		int64_t lo, hi;
		rd_kafka_resp_err_t e;

		e = rd_kafka_query_watermark_offsets(s->rk, s->o.topic, p->id, &lo, &hi,
						     s->timeout_ms);
		if (e) {
			pr_warn("%s: cannot read the offsets of %s/%d: %s\n", s->o.what,
				s->o.topic, p->id, why(s, e));
			err = -EIO;
		}
		p->next = lo;
		p->stop = hi;
	}
	if (!err && s->o.start_ns && !(err = offsets_at(s, s->o.start_ns / 1000000, at))) {
		for (int i = 0; i < s->nparts; i++) /* -1: nothing that late */
			s->parts[i].next = at[i] < 0 ? s->parts[i].stop : at[i];
	}
	if (!err && s->o.end_ns != SCAN_NO_END &&
	    !(err = offsets_at(s, s->o.end_ns / 1000000 + SCAN_END_SLACK_MS, at))) {
		for (int i = 0; i < s->nparts; i++)
			if (at[i] >= 0 && at[i] < s->parts[i].stop)
				s->parts[i].stop = at[i];
	}
	free(at);
	for (int i = 0; !err && i < s->nparts; i++) {
		struct part *p = &s->parts[i];

		if (p->next >= p->stop) {
			p->done = true;
			s->ndone++;
			continue;
		}
		if (rd_kafka_consume_start(s->rkt, p->id, p->next)) {
			pr_warn("%s: cannot read %s/%d: %s\n", s->o.what, s->o.topic, p->id,
				rd_kafka_err2str(rd_kafka_last_error()));
			err = -EIO;
			break;
		}
		p->started = true;
	}
	s->st.partitions_read = s->nparts;
	s->t_begin = s->t_progress = s->t_activity = clock_ns(CLOCK_MONOTONIC);
	s->begun = true;
	return err;
}

/* ---------------------------------------------------------------- heap */

static bool rec_less(const struct topic_rec *a, const struct topic_rec *b)
{
	if (a->ts_ns != b->ts_ns)
		return a->ts_ns < b->ts_ns;
	if (a->msg->partition != b->msg->partition)
		return a->msg->partition < b->msg->partition;
	return a->msg->offset < b->msg->offset;
}

static int heap_push(struct scan *s, const struct topic_rec *r)
{
	size_t i;

	if (grow(&s->heap, &s->heap_cap, s->heap_len + 1, 1024))
		return -ENOMEM;
	for (i = s->heap_len++; i && rec_less(r, &s->heap[(i - 1) / 2]); i = (i - 1) / 2)
		s->heap[i] = s->heap[(i - 1) / 2];
	s->heap[i] = *r;
	return 0;
}

static void heap_pop(struct scan *s, struct topic_rec *out)
{
	struct topic_rec last = s->heap[--s->heap_len];
	size_t i = 0;

	*out = s->heap[0];
	for (;;) {
		size_t c = 2 * i + 1;

		if (c >= s->heap_len)
			break;
		if (c + 1 < s->heap_len && rec_less(&s->heap[c + 1], &s->heap[c]))
			c++;
		if (!rec_less(&s->heap[c], &last))
			break;
		s->heap[i] = s->heap[c];
		i = c;
	}
	if (s->heap_len)
		s->heap[i] = last;
}

/* ---------------------------------------------------------------- reading */

static struct part *part_of(struct scan *s, int32_t id)
{
	for (int i = 0; i < s->nparts; i++)
		if (s->parts[i].id == id)
			return &s->parts[i];
	return NULL;
}

static void part_done(struct scan *s, struct part *p)
{
	if (p->done)
		return;
	p->done = true;
	s->ndone++;
	if (p->started) {
		rd_kafka_consume_stop(s->rkt, p->id);
		p->started = false;
	}
}

/* May the merge take the oldest record held? Only when every partition
 * still being read holds a window of records (or is read to its end). */
static bool merge_ready(const struct scan *s)
{
	if (!s->o.ordered)
		return true;
	for (int i = 0; i < s->nparts; i++)
		if (!s->parts[i].done && s->parts[i].held < SCAN_WINDOW)
			return false;
	return true;
}

static int take(struct scan *s, struct part *p, rd_kafka_message_t *m)
{
	struct topic_rec r;
	int err;

	if (p->done || m->offset >= p->stop) {
		rd_kafka_message_destroy(m);
		part_done(s, p);
		return 0;
	}
	if (m->offset >= p->stop - 1)
		part_done(s, p);
	s->st.scanned++;
	topic_rec_decode(m, &r);
	if (r.ts_source != TS_SRC_HEADER)
		s->st.no_ts_header++;
	if (r.ts_ns < s->o.start_ns || r.ts_ns >= s->o.end_ns) {
		s->st.outside_window++;
		rd_kafka_message_destroy(m);
		return 0;
	}
	if (s->o.keep && !s->o.keep(s->o.keep_ctx, &r)) {
		rd_kafka_message_destroy(m);
		return 0;
	}
	err = heap_push(s, &r);
	if (err) {
		rd_kafka_message_destroy(m);
		pr_warn("%s: out of memory\n", s->o.what);
		return err;
	}
	s->st.kept++;
	p->held++;
	return 0;
}

/* One batch of partition p; the number of messages (records and events). */
static int fetch(struct scan *s, struct part *p, int timeout_ms)
{
	ssize_t n = rd_kafka_consume_batch(s->rkt, p->id, timeout_ms, s->batch, BATCH);
	int err = 0;

	if (n < 0) {
		pr_warn("%s: reading %s/%d: %s\n", s->o.what, s->o.topic, p->id,
			rd_kafka_err2str(rd_kafka_last_error()));
		return -EIO;
	}
	for (ssize_t i = 0; i < n; i++) {
		rd_kafka_message_t *m = s->batch[i];

		if (err) {
			rd_kafka_message_destroy(m);
		} else if (m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
			rd_kafka_message_destroy(m);
			part_done(s, p);
		} else if (m->err) {
			pr_warn("%s: reading %s/%d: %s\n", s->o.what, s->o.topic, p->id,
				rd_kafka_message_errstr(m));
			rd_kafka_message_destroy(m);
			err = -EIO;
		} else {
			err = take(s, p, m);
		}
	}
	return err ? err : (int)n;
}

static void progress(struct scan *s, __u64 now, bool final)
{
	double secs = (double)(now - s->t_begin) / 1e9;

	s->st.seconds = secs;
	/* the final figures are the caller's summary line */
	if (final || !s->o.progress || now - s->t_progress < PROGRESS_EVERY_NS)
		return;
	s->t_progress = now;
	pr_info("%s: %llu records scanned (%.0f/s), %d of %d partitions done, %llu matched ...\n",
		s->o.what, (unsigned long long)s->st.scanned,
		secs > 0 ? (double)s->st.scanned / secs : 0.0, s->ndone, s->nparts,
		(unsigned long long)s->st.kept);
}

/* Reads more from the partitions the merge waits for. */
static int read_more(struct scan *s)
{
	int got = 0, n;
	__u64 now;

	/* what has arrived, without waiting */
	for (int i = 0; i < s->nparts; i++) {
		struct part *p = &s->parts[(s->rr + i) % s->nparts];

		if (p->done || (s->o.ordered && p->held >= SCAN_WINDOW))
			continue;
		n = fetch(s, p, 0);
		if (n < 0)
			return n;
		got += n;
	}
	/* nothing: wait on the next partition in turn */
	for (int i = 0; !got && i < s->nparts; i++) {
		struct part *p = &s->parts[(s->rr + i) % s->nparts];

		if (p->done || (s->o.ordered && p->held >= SCAN_WINDOW))
			continue;
		s->rr = (s->rr + i + 1) % s->nparts;
		n = fetch(s, p, WAIT_MS);
		if (n < 0)
			return n;
		got += n;
		break;
	}
	rd_kafka_poll(s->rk, 0); /* serves the error callback */
	now = clock_ns(CLOCK_MONOTONIC);
	if (got)
		s->t_activity = now;
	else if (now - s->t_activity > (__u64)s->o.timeout_s * 1000000000ull) {
		pr_warn("%s: no record from %s for %u s with %d of %d partitions left to read%s%s\n",
			s->o.what, s->o.brokers, s->o.timeout_s, s->nparts - s->ndone,
			s->nparts, s->last_error[0] ? ": " : "", s->last_error);
		return -ETIMEDOUT;
	}
	progress(s, now, false);
	return 0;
}

int scan_next(struct scan *s, struct topic_rec *r)
{
	int err;

	if (!s->begun && (err = scan_begin(s)))
		return err;
	for (;;) {
		if (s->o.stop && *s->o.stop)
			return -EINTR;
		if (s->heap_len && merge_ready(s)) {
			struct part *p;

			heap_pop(s, r);
			p = part_of(s, r->msg->partition);
			if (p)
				p->held--;
			if (s->o.ordered && r->ts_ns < s->last_out_ts)
				s->st.late++;
			else
				s->last_out_ts = r->ts_ns;
			return 1;
		}
		if (s->ndone == s->nparts && !s->heap_len) {
			progress(s, clock_ns(CLOCK_MONOTONIC), true);
			return 0;
		}
		err = read_more(s);
		if (err)
			return err;
	}
}

void scan_release(struct topic_rec *r)
{
	rd_kafka_message_destroy(r->msg);
	r->msg = NULL;
}

void scan_get_stats(const struct scan *s, struct scan_stats *st)
{
	*st = s->st;
	st->partitions_done = s->ndone;
}

void scan_close(struct scan *s)
{
	if (!s)
		return;
	for (int i = 0; i < s->nparts && s->parts; i++)
		if (s->parts[i].started)
			rd_kafka_consume_stop(s->rkt, s->parts[i].id);
	for (size_t i = 0; i < s->heap_len; i++)
		rd_kafka_message_destroy(s->heap[i].msg);
	free(s->heap);
	free(s->parts);
	if (s->rkt)
		rd_kafka_topic_destroy(s->rkt);
	if (s->rk)
		rd_kafka_destroy(s->rk);
	free(s);
}
