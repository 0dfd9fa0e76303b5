// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * The packet writer's records (kafka_writer.h, kafka_writer_int.h): each
 * into its partition's open batch, reports given back record by record,
 * purges and timeouts that hand every record back.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <librdkafka/rdkafka.h> /* its murmur2 partitioner and error names */

#include "grow.h"
#include "kafka_writer_int.h"
#include "log.h"
#include "record_key.h"

/* "Kafka: what: why; then" once every 10 s in all: a broker away is
 * retried many times a second. */
void kw_warn(struct kafka_writer *w, const char *what, const char *why, const char *then)
{
	__u64 now = kw_now();

	if (w->warned_ns && now - w->warned_ns < WARN_EVERY_NS) {
		pr_debug("Kafka writer: %s: %s%s\n", what, why, then);
		return;
	}
	w->warned_ns = now;
	pr_warn("Kafka: %s: %s%s\n", what, why, then);
}

const char *kw_err_name(int16_t err)
{
	return rd_kafka_err2str((rd_kafka_resp_err_t)err);
}

/* ---- batches */

static struct batch *batch_new(struct kafka_writer *w, int32_t part)
{
	struct batch *b = w->free_batches;

	if (b) {
		w->free_batches = b->next;
		w->nfree--;
	} else if (!(b = calloc(1, sizeof(*b)))) {
		return NULL;
	}
	b->next = NULL;
	b->part = part;
	b->len = BATCH_HEADER;
	b->records = 0;
	b->opened_ns = kw_now();
	b->pid = -1;
	b->sent = b->in_flight = false;
	b->reported = 0;
	return b;
}

static void batch_free(struct kafka_writer *w, struct batch *b)
{
	if (w->nfree < FREE_BATCHES && b->cap <= 2 * BATCH_BYTES) {
		b->next = w->free_batches;
		w->free_batches = b;
		w->nfree++;
		return;
	}
	free(b->buf);
	free(b->opaque);
	free(b);
}

/* The batch's records go to the reports, with their outcome. */
void kw_batch_done(struct kafka_writer *w, struct batch *b, enum kafka_outcome outcome)
{
	b->outcome = outcome;
	b->reported = 0;
	b->cursor = b->buf + BATCH_HEADER;
	b->next = NULL;
	if (w->done_tail)
		w->done_tail->next = b;
	else
		w->done = b;
	w->done_tail = b;
}

/* Takes b out of its partition's queue (it is there). */
void kw_unqueue(struct partition *p, struct batch *b)
{
	struct batch **pp = &p->head, *prev = NULL;

	while (*pp && *pp != b) {
		prev = *pp;
		pp = &(*pp)->next;
	}
	if (!*pp)
		return;
	*pp = b->next;
	if (p->tail == b)
		p->tail = prev;
	b->next = NULL;
}

/* The open batch joins the queue, sealed when it is first sent. */
void kw_close_open(struct partition *p)
{
	struct batch *b = p->open;

	if (!b)
		return;
	p->open = NULL;
	b->next = NULL;
	if (p->tail)
		p->tail->next = b;
	else
		p->head = b;
	p->tail = b;
}

/* ---- the writer's work, in the caller's thread */

/* Every record the writer holds goes to the reports with outcome (those
 * never sent: purged; sent: purged_inflight; or all failed), the
 * connections are closed, so that no late response speaks of them, and a
 * new producer id is taken: their sequences are gone. */
static void give_back_all(struct kafka_writer *w, bool failed, bool inflight)
{
	for (int32_t i = 0; i < w->nparts; i++) {
		struct partition *p = &w->parts[i];
		struct batch *b, *next, *keep = NULL, **keep_tail = &keep;

		kw_close_open(p);
		for (b = p->head; b; b = next) {
			next = b->next;
			if (b->sent && !inflight && !failed) {
				*keep_tail = b;
				keep_tail = &b->next;
				continue;
			}
			kw_batch_done(w, b, failed ? KAFKA_FAILED :
					 b->sent ? KAFKA_PURGED_INFLIGHT : KAFKA_PURGED);
		}
		*keep_tail = NULL;
		p->head = keep;
		for (p->tail = keep; p->tail && p->tail->next;)
			p->tail = p->tail->next;
	}
	if (!inflight && !failed)
		return; /* what was sent stays, its sequence intact */
	kw_reset_links(w);
}

/* A record waited 300 s: the broker has been away that long. */
static void expire(struct kafka_writer *w, __u64 now)
{
	for (int32_t i = 0; i < w->nparts; i++) {
		struct partition *p = &w->parts[i];
		struct batch *b = p->head ? p->head : p->open;

		if (b && !b->in_flight && now - b->opened_ns > MESSAGE_TIMEOUT_NS) {
			pr_warn("Kafka: records waited %llu s for the broker: %llu counted as failed\n",
				MESSAGE_TIMEOUT_NS / 1000000000ull, (unsigned long long)w->queued);
			give_back_all(w, true, true);
			return;
		}
	}
}

/* The header a record's metadata has in xs.meta or the six xs.* headers. */
static bool read_meta(const struct wire_record *rec, struct kafka_report *r)
{
	bool orig_len = false, dir = false;

	for (unsigned int i = 0; i < rec->nheaders; i++) {
		const struct wire_header *h = &rec->headers[i];
		struct record_meta m;

#define IS(lit) (h->name_len == sizeof(lit) - 1 && !memcmp(h->name, lit, sizeof(lit) - 1))
		if (IS(RECORD_META_HEADER) && h->len > 0 &&
		    !record_meta_decode(h->value, (size_t)h->len, &m)) {
			r->orig_len = m.orig_len;
			r->dir = m.dir;
			orig_len = dir = true;
		} else if (IS("xs.orig_len") && h->len == 4) {
			uint32_t v;

			memcpy(&v, h->value, 4);
			r->orig_len = be32toh(v);
			orig_len = true;
		} else if (IS("xs.dir") && h->len == 1) {
			r->dir = *(const uint8_t *)h->value;
			dir = true;
		} else if (IS(RECORD_OUTER_KEY_HEADER) && h->len == RECORD_OUTER_KEY_LEN) {
			memcpy(r->outer_key, h->value, RECORD_OUTER_KEY_LEN);
			r->has_outer_key = true;
		}
#undef IS
	}
	return orig_len && dir;
}

/* Gives up to max reports (0: all), oldest batch first. */
static unsigned int give_reports(struct kafka_writer *w, unsigned int max)
{
	unsigned int n = 0;
	struct batch *b;

	while ((b = w->done) && (!max || n < max)) {
		const uint8_t *end = b->buf + b->len;

		while (b->reported < b->records && (!max || n < max)) {
			struct kafka_report r = { .outcome = b->outcome, .opaque = b->opaque[b->reported] };

			if (b->outcome == KAFKA_PURGED || b->outcome == KAFKA_PURGED_INFLIGHT) {
				/* handed back: its bytes, for the spool */
				struct wire_header hdrs[8];
				struct wire_record rec;

				if (wire_record_get(&b->cursor, end, &rec, hdrs, 8)) {
					r.outcome = KAFKA_FAILED; /* cannot happen: we wrote it */
				} else {
					r.key = rec.key;
					r.key_len = rec.key_len > 0 ? (__u32)rec.key_len : 0;
					r.value = rec.value;
					r.len = (__u32)rec.value_len;
					r.has_meta = read_meta(&rec, &r);
				}
			}
			b->reported++;
			w->queued--;
			n++;
			w->report(w->ctx, &r);
		}
		if (b->reported < b->records)
			break;
		w->queued_bytes -= b->len - BATCH_HEADER;
		w->done = b->next;
		if (!w->done)
			w->done_tail = NULL;
		batch_free(w, b);
	}
	return n;
}

unsigned int kafka_writer_poll(struct kafka_writer *w, int timeout_ms, unsigned int max)
{
	unsigned int n = give_reports(w, max);

	if (max && n >= max)
		return n;
	kw_advance(w);
	kw_io(w, n || w->done ? 0 : timeout_ms);
	kw_advance(w);
	expire(w, kw_now());
	return n + give_reports(w, max ? max - n : 0);
}

/* The record's headers as kafka.c writes them (README "Kafka records"). */
static unsigned int headers_of(const struct kafka_writer *w, const struct kafka_record *r,
			       struct wire_header *h, __u8 *meta, __u8 *be)
{
	enum headers_mode mode = r->ifname ? w->o.headers : HEADERS_NONE;
	unsigned int n = 0;

	switch (mode) {
	case HEADERS_COMPACT:
		h[n++] = (struct wire_header){
			.name = RECORD_META_HEADER, .value = meta,
			.len = (int32_t)record_meta_encode(meta, r->ts_ns, r->orig_len, r->queue, r->dir,
							   r->ifname) };
		if (r->outer_key)
			h[n++] = (struct wire_header){ .name = RECORD_OUTER_KEY_HEADER,
					       .value = r->outer_key, .len = RECORD_OUTER_KEY_LEN };
		break;
	case HEADERS_ALL:
		put_be64(be, r->ts_ns);
		put_be32(be + 8, r->queue);
		put_be32(be + 12, r->orig_len);
		be[16] = r->dir;
		h[n++] = (struct wire_header){ .name = "xs.ts_ns", .value = be, .len = 8 };
		h[n++] = (struct wire_header){ .name = "xs.iface", .value = r->ifname,
					       .len = (int32_t)strlen(r->ifname) };
		h[n++] = (struct wire_header){ .name = "xs.queue", .value = be + 8, .len = 4 };
		h[n++] = (struct wire_header){ .name = "xs.dir", .value = be + 16, .len = 1 };
		h[n++] = (struct wire_header){ .name = "xs.orig_len", .value = be + 12, .len = 4 };
		h[n++] = (struct wire_header){ .name = RECORD_OUTER_KEY_HEADER, .value = r->outer_key,
					       .len = r->outer_key ? RECORD_OUTER_KEY_LEN : -1 };
		break;
	case HEADERS_NONE:
		break;
	}
	return n;
}

static int add_record(struct kafka_writer *w, const struct kafka_record *r)
{
	struct wire_header hdrs[6];
	__u8 meta[RECORD_META_MAX], be[17];
	struct wire_record rec = {
		.key = r->key, .key_len = r->key_len ? (int32_t)r->key_len : -1,
		.value = r->value, .value_len = (int32_t)r->len, .headers = hdrs,
	};
	int32_t part = r->key_len ? rd_kafka_msg_partitioner_murmur2(NULL, r->key, r->key_len,
								    w->nparts, NULL, NULL)
				  : (int32_t)(w->round_robin++ % (uint32_t)w->nparts);
	struct partition *p = &w->parts[part];
	int64_t ts_ms = (int64_t)((r->ifname ? r->ts_ns : clock_ns(CLOCK_REALTIME)) / 1000000);
	struct batch *b = p->open;
	size_t size;

	rec.nheaders = headers_of(w, r, hdrs, meta, be);
	if (b && (b->records >= BATCH_RECORDS ||
		  b->len + wire_record_size(&rec, ts_ms - b->first_ts, b->records) > BATCH_BYTES)) {
		kw_close_open(p);
		b = NULL;
	}
	if (!b) {
		if (!(b = batch_new(w, part)))
			return -ENOMEM;
		b->first_ts = b->max_ts = ts_ms;
		p->open = b;
	}
	size = wire_record_size(&rec, ts_ms - b->first_ts, b->records);
	if (grow(&b->buf, &b->cap, b->len + size, 64 * 1024) ||
	    grow(&b->opaque, &b->opaque_cap, (size_t)b->records + 1, 1024))
		return -ENOMEM;
	wire_record_put(b->buf + b->len, &rec, ts_ms - b->first_ts, b->records);
	b->len += size;
	b->opaque[b->records++] = r->opaque;
	if (ts_ms > b->max_ts)
		b->max_ts = ts_ms;
	w->queued++;
	w->queued_bytes += size;
	return 0;
}

int kafka_writer_produce(struct kafka_writer *w, const struct kafka_record *r)
{
	for (;;) {
		bool room = w->nparts && w->queued < QUEUE_RECORDS && w->queued_bytes < QUEUE_BYTES;

		if (room)
			return add_record(w, r) ? -EIO : 0;
		if (!w->o.block || (w->o.stop && *w->o.stop))
			return -ENOBUFS;
		/* --block: wait for room, as with librdkafka */
		kafka_writer_poll(w, 10, 0);
	}
}

int kafka_writer_outq(const struct kafka_writer *w)
{
	return (int)w->queued;
}

void kafka_writer_purge(struct kafka_writer *w, bool inflight)
{
	give_back_all(w, false, inflight);
}

/* The -b list: each HOST:PORT a bootstrap connection. */
static int add_bootstrap(struct kafka_writer *w, const char *brokers)
{
	char list[1024], *save = NULL;

	snprintf(list, sizeof(list), "%s", brokers);
	for (char *tok = strtok_r(list, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		char *colon = strrchr(tok, ':');

		while (*tok == ' ')
			tok++;
		if (!strncmp(tok, "PLAINTEXT://", 12))
			tok += 12;
		if (!colon || colon < tok)
			return -EINVAL;
		*colon = 0;
		if (*tok == '[' && colon[-1] == ']') { /* [IPv6]:port */
			colon[-1] = 0;
			tok++;
		}
		if (!kw_conn_add(w, -1, tok, colon + 1))
			return -ENOMEM;
	}
	return w->nconns ? 0 : -EINVAL;
}

struct kafka_writer *kafka_writer_open(const struct kafka_opts *o, const char *topic,
				       kafka_report_fn *report, void *ctx, int wait_ms)
{
	struct kafka_writer *w = calloc(1, sizeof(*w));
	__u64 deadline = kw_now() + (__u64)wait_ms * 1000000ull;

	if (!w)
		return NULL;
	if (!__builtin_cpu_supports("sse4.2")) {
		pr_warn("--producer batch needs a CPU with SSE4.2 (CRC-32C)\n");
		free(w);
		return NULL;
	}
	w->o = *o;
	w->topic = topic;
	w->report = report;
	w->ctx = ctx;
	w->pid = -1;
	w->md_due_ns = kw_now();
	if (add_bootstrap(w, o->brokers ? o->brokers : "localhost:9092")) {
		pr_warn("-b %s: expected HOST:PORT[,HOST:PORT...]\n", o->brokers);
		kafka_writer_close(w);
		return NULL;
	}
	while ((w->pid < 0 || !w->nparts) && kw_now() < deadline)
		kafka_writer_poll(w, 5, 0);
	if (wait_ms && w->pid >= 0 && w->nparts)
		pr_info("Kafka: connected to %s, topic %s has %d partitions (own batch writer)\n",
			o->brokers, topic, w->nparts);
	else if (wait_ms)
		pr_warn("Kafka broker %s not reachable yet (no metadata and producer id within"
			" %d s): starting anyway, keeping records in the spool and retrying\n",
			o->brokers, wait_ms / 1000);
	return w;
}

static void free_batches(struct batch *b)
{
	while (b) {
		struct batch *next = b->next;

		free(b->buf);
		free(b->opaque);
		free(b);
		b = next;
	}
}

void kafka_writer_close(struct kafka_writer *w)
{
	if (!w)
		return;
	give_back_all(w, true, true);
	free_batches(w->done);
	free_batches(w->free_batches);
	kw_free_links(w);
	free(w->parts);
	free(w);
}
