// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "grow.h"
#include "lane.h"
#include "log.h"
#include "record_ref.h"
#include "spool.h"

#define PROBE_RECORDS 64        /* after a stall: this many, until one is delivered */
#define BACKOFF_MIN_NS 1000000000ull
#define BACKOFF_MAX_NS 8000000000ull
/* records read back per drain: about a ms of the worker's time, which its
 * RX ring holds many times over at any rate the spool can keep up with */
#define DRAIN_PER_SERVICE 1024
#define TAKE_BACK_WAIT_NS 2000000000ull
#define COMMIT_EVERY_NS 100000000ull
/* The backlog's pace (records read back per second) after the worker's RX
 * ring overflowed: half of what it was, at least PACE_MIN; a quarter more
 * for every window without loss, unlimited again past PACE_MAX. */
#define PACE_MIN 10000ull
#define PACE_MAX 4000000ull
#define PACE_UNLIMITED 0
/* delivery reports served per loop: a ms or two of the worker's time (a
 * poll may hold a purge's tens of thousands) */
#define REPORTS_PER_SERVICE 2048

_Static_assert(SEG_OUTER_KEY_LEN == RECORD_OUTER_KEY_LEN &&
		       RECORD_OUTER_KEY_LEN == sizeof(struct flow_key),
	       "the outer key is a 5tuple key in the spool and in xs.outer_key");

/* Records handed back by a purge, copied until they are put in the spool. */
struct taken_back {
	struct spool_back *recs; /* in arrival order */
	__u8 *data;      /* keys and values; recs point into it once complete */
	size_t n, recs_cap, len, data_cap;
};

struct lane {
	struct kafka_producer *k;
	struct spool *spool;     /* NULL: none, or it could not be used */
	bool spool_wanted;       /* a spool was asked for: records it cannot keep are spool_errors */
	const struct kafka_opts *ko;
	struct latency_hist *latency;
	const char *ifname;      /* for the headers of records read back */
	__u32 queue;
	bool spooling;           /* new records go behind those in the spool */
	__u64 in_producer;       /* records produced and not yet reported */
	__u64 reports;           /* reports seen (a stall is their absence) */
	__u64 reports_seen;
	__u64 quiet_since_ns;    /* last report, or when records went out after none */
	__u64 resume_ns;         /* after a stall: no reading back before this */
	__u64 backoff_ns;
	bool probing;            /* after a stall: a few records, until one is delivered */
	/* the backlog's pace: read back no faster than the machine has time for */
	__u64 pace;              /* records/s; PACE_UNLIMITED: as fast as it goes */
	__u64 pace_tokens;       /* records that may be read back now */
	__u64 pace_last_ns;
	__u64 pace_out;          /* spool_out when the window began */
	__u64 committed_ns;      /* the spool's delivered offsets last written */
	struct taken_back *back; /* set while a purge's reports are served */
	bool taking_back;        /* a purge's reports are awaited (back NULL: no room) */
	__u64 back_deadline_ns;
	struct lane_counts c;
};

static __u64 now_ns(void)
{
	return clock_ns(CLOCK_MONOTONIC);
}

static int keep_back(struct taken_back *b, const struct kafka_report *r, const struct seg_meta *m,
		     bool from_spool, __u32 ticket)
{
	struct spool_back *sb;
	size_t need = (size_t)r->key_len + r->len;

	if (grow(&b->recs, &b->recs_cap, b->n + 1, 1024) ||
	    grow(&b->data, &b->data_cap, b->len + need, 1 << 20))
		return -ENOMEM;
	sb = &b->recs[b->n];
	*sb = (struct spool_back){ .meta = *m, .key_len = r->key_len, .value_len = r->len,
				   .from_spool = from_spool, .ticket = ticket };
	/* offsets for now: data may move while it grows */
	sb->key = (const void *)(uintptr_t)b->len;
	memcpy(b->data + b->len, r->key, r->key_len);
	sb->value = (const void *)(uintptr_t)(b->len + r->key_len);
	memcpy(b->data + b->len + r->key_len, r->value, r->len);
	b->len += need;
	b->n++;
	return 0;
}

static void on_report(void *ctx, const struct kafka_report *r)
{
	struct lane *l = ctx;
	bool from_spool = record_ref_is_spool(r->opaque);
	__u32 ticket = record_ref_ticket(r->opaque);
	const struct seg_meta *tm = from_spool && l->spool ? spool_ticket_meta(l->spool, ticket) : NULL;
	struct seg_meta m = { .ts_ns = record_ref_ts(r->opaque), .orig_len = r->len };

	l->in_producer--;
	l->reports++;
	if (tm) {
		m = *tm;
	} else if (r->has_meta) {
		m.orig_len = r->orig_len;
		m.dir = r->dir;
		m.has_outer_key = r->has_outer_key;
		memcpy(m.outer_key, r->outer_key, sizeof(m.outer_key));
	}
	switch (r->outcome) {
	case KAFKA_DELIVERED:
		l->c.delivered++;
		l->probing = false;
		l->backoff_ns = 0;
		if (from_spool && l->spool)
			spool_ack(l->spool, ticket);
		if (!from_spool || tm)
			latency_add(l->latency, clock_ns(CLOCK_REALTIME) - m.ts_ns);
		return;
	case KAFKA_FAILED:
		l->c.failed++;
		if (from_spool && l->spool)
			spool_ack(l->spool, ticket); /* for good: it will not be sent again */
		return;
	case KAFKA_PURGED:
	case KAFKA_PURGED_INFLIGHT:
		if (!l->back || keep_back(l->back, r, &m, from_spool, ticket)) {
			l->c.failed++; /* no spool to take it back */
			if (from_spool && l->spool)
				spool_ack(l->spool, ticket);
			return;
		}
		l->c.reclaimed++;
		if (r->outcome == KAFKA_PURGED_INFLIGHT)
			l->c.maybe_dup++;
		return;
	}
}

static int by_capture_time(const void *a, const void *b, void *arg)
{
	const struct taken_back *t = arg;
	size_t i = *(const size_t *)a, j = *(const size_t *)b; /* arrival order */
	__u64 x = t->recs[i].meta.ts_ns, y = t->recs[j].meta.ts_ns;

	if (x != y)
		return x < y ? -1 : 1;
	return i < j ? -1 : i > j;
}

/*
 * Takes back every record the producer holds, also those sent (the broker
 * may have them): a purge, whose reports come in the next polls. The worker
 * goes on receiving meanwhile (its new records go to the spool, behind);
 * take_back_end() puts them in front of the spool once all are reported.
 */
static void take_back_start(struct lane *l)
{
	if (l->spool && !l->back)
		l->back = calloc(1, sizeof(*l->back)); /* NULL: counted as failed */
	l->back_deadline_ns = now_ns() + TAKE_BACK_WAIT_NS;
	l->taking_back = true;
	kafka_purge(l->k, true);
}

static bool take_back_done(struct lane *l)
{
	return !l->in_producer || now_ns() >= l->back_deadline_ns;
}

/* The records taken back, in capture order (a worker's capture order is
 * each key's order), in front of every other record of the spool. */
static void take_back_end(struct lane *l)
{
	struct taken_back *b = l->back;
	struct spool_back *sorted;
	size_t *order; /* indexes into b->recs: ties in capture time keep arrival order */

	l->back = NULL;
	l->taking_back = false;
	if (!b)
		return;
	if (b->n) {
		sorted = malloc(b->n * sizeof(*sorted));
		order = malloc(b->n * sizeof(*order));
		if (sorted && order) {
			for (size_t i = 0; i < b->n; i++)
				order[i] = i;
			qsort_r(order, b->n, sizeof(*order), by_capture_time, b);
			for (size_t i = 0; i < b->n; i++) {
				sorted[i] = b->recs[order[i]];
				sorted[i].key = b->data + (uintptr_t)sorted[i].key;
				sorted[i].value = b->data + (uintptr_t)sorted[i].value;
			}
			spool_put_back(l->spool, sorted, b->n);
		} else {
			pr_warn("spool: out of memory: %zu records taken back are lost\n", b->n);
		}
		free(order);
		free(sorted);
		l->spooling = true;
	}
	free(b->recs);
	free(b->data);
	free(b);
}

/* The same, waiting for the reports: the run ends. */
static void take_back(struct lane *l)
{
	if (!l->taking_back)
		take_back_start(l);
	while (!take_back_done(l))
		kafka_poll(l->k, 10, 0);
	take_back_end(l);
}

struct lane *lane_open(const struct lane_opts *o)
{
	struct lane *l = calloc(1, sizeof(*l));
	struct spool_found found = { 0 };

	if (!l)
		return NULL;
	l->ko = o->kafka;
	l->latency = o->latency;
	l->ifname = o->ifname;
	l->queue = o->queue;
	if (o->spool_dir) {
		l->spool_wanted = true;
		l->spool = spool_open(o->spool_dir, o->spool_max, o->stage_dir, &found);
		if (l->spool)
			l->spooling = found.segments > 0; /* the earlier run's records first */
	}
	/* A run that restarts on a backlog captures at once: asking the broker
	 * first waits up to 5 s for one that is stopped, and the frames of
	 * those seconds would be lost; the backlog soon tells. */
	l->k = kafka_open(o->kafka, o->kafka->topic, on_report, l,
			  KAFKA_PACKETS | (o->check_broker ? KAFKA_CHECK : 0) |
				  (found.segments ? KAFKA_BACKLOG : 0));
	if (!l->k) {
		spool_close(l->spool);
		free(l);
		return NULL;
	}
	return l;
}

static enum sink_outcome to_spool(struct lane *l, const struct seg_meta *m, const __u8 *key,
				  size_t key_len, const struct capture_rec *rec)
{
	int err;

	if (!l->spool)
		return l->spool_wanted ? SINK_SPOOL_ERROR : SINK_QUEUE_FULL;
	l->spooling = true;
	err = spool_append(l->spool, m, key, (__u32)key_len, rec->data, rec->len);
	if (!err)
		return SINK_SPOOLED;
	return err == -ENOSPC ? SINK_SPOOL_FULL : SINK_SPOOL_ERROR;
}

/* One more record in the producer. The first after none starts the stall
 * timer: records may go out before the worker serves its lane (a
 * restart's parked frames), and waiting for their report starts then. */
static void went_out(struct lane *l)
{
	if (!l->in_producer++)
		l->quiet_since_ns = now_ns();
}

enum sink_outcome lane_write(struct lane *l, const struct capture_rec *rec)
{
	__u8 key[RECORD_KEY_MAX];
	size_t key_len = record_key(l->ko->key, l->ko->ts_unit, rec, key);
	struct seg_meta m = { .ts_ns = rec->ts_ns, .orig_len = rec->orig_len, .dir = rec->pkt.dir };
	struct kafka_record kr;
	int err;

	if (rec->outer_key) {
		m.has_outer_key = true;
		memcpy(m.outer_key, rec->outer_key, sizeof(m.outer_key));
	}
	if (l->spool && (l->spooling || l->in_producer >= LANE_HIGH_WATER || l->resume_ns ||
			 l->taking_back))
		return to_spool(l, &m, key, key_len, rec);
	kr = (struct kafka_record){
		.key = key, .key_len = (__u32)key_len, .value = rec->data, .len = rec->len,
		.ts_ns = rec->ts_ns, .orig_len = rec->orig_len, .queue = rec->queue,
		.dir = rec->pkt.dir, .ifname = rec->ifname, .outer_key = rec->outer_key,
		.opaque = record_ref_direct(rec->ts_ns),
	};
	err = kafka_produce(l->k, &kr);
	if (!err) {
		went_out(l);
		return SINK_PRODUCED;
	}
	if (err == -ENOBUFS)
		return to_spool(l, &m, key, key_len, rec);
	return SINK_ERROR;
}

/* Reads the spool back into the producer while it has room. */
static void read_back(struct lane *l, __u64 budget)
{
	__u64 limit = l->probing ? PROBE_RECORDS : LANE_HIGH_WATER;
	const struct seg_rec *r;

	for (__u64 n = 0; n < budget && l->in_producer < limit &&
			spool_can_take(l->spool) && (r = spool_peek(l->spool));
	     n++) {
		struct kafka_record kr = {
			.key = r->key, .key_len = r->key_len, .value = r->value, .len = r->value_len,
			.ts_ns = r->meta.ts_ns, .orig_len = r->meta.orig_len, .dir = r->meta.dir,
			.queue = l->queue, .ifname = l->ifname,
			.outer_key = r->meta.has_outer_key ? r->meta.outer_key : NULL,
		};

		kr.opaque = record_ref_spool(spool_next_ticket(l->spool));
		if (kafka_produce(l->k, &kr))
			break;
		spool_take(l->spool);
		went_out(l);
		l->c.spool_out++;
	}
}

/* Records the pace allows now (at most DRAIN_PER_SERVICE). */
static __u64 pace_budget(struct lane *l, __u64 now)
{
	__u64 cap = DRAIN_PER_SERVICE;

	if (l->pace == PACE_UNLIMITED)
		return cap;
	l->pace_tokens += l->pace * (now - l->pace_last_ns) / 1000000000ull;
	l->pace_last_ns = now;
	if (l->pace_tokens > cap)
		l->pace_tokens = cap;
	return l->pace_tokens;
}

void lane_rx_lost(struct lane *l, __u64 lost, __u64 window_ns)
{
	__u64 out = l->c.spool_out - l->pace_out, rate;

	l->pace_out = l->c.spool_out;
	if (!window_ns)
		return;
	rate = out * 1000000000ull / window_ns;
	if (lost && out) {
		/* frames lost while reading the backlog back: it took the time
		 * the ring needed (the CPU is shared with Kafka's threads) */
		l->pace = rate / 2 > PACE_MIN ? rate / 2 : PACE_MIN;
		l->pace_tokens = 0;
		l->pace_last_ns = now_ns();
	} else if (l->pace != PACE_UNLIMITED && !lost) {
		l->pace += l->pace / 4;
		if (l->pace > PACE_MAX)
			l->pace = PACE_UNLIMITED;
	}
}

static struct spool_stats update_gauges(struct lane *l);

void lane_service(struct lane *l, bool drain)
{
	__u64 now;
	struct spool_stats st;

	kafka_poll(l->k, 0, REPORTS_PER_SERVICE);
	if (!l->spool)
		return;
	now = now_ns();
	if (l->taking_back && take_back_done(l))
		take_back_end(l);
	if (l->reports != l->reports_seen || !l->in_producer) {
		l->reports_seen = l->reports;
		l->quiet_since_ns = now;
	}
	if (l->in_producer && !l->taking_back &&
	    now - l->quiet_since_ns > LANE_STALL_MS * 1000000ull) {
		/* the broker is away: keep on disk what the producer holds */
		take_back_start(l);
		l->backoff_ns = l->backoff_ns ? l->backoff_ns * 2 : BACKOFF_MIN_NS;
		if (l->backoff_ns > BACKOFF_MAX_NS)
			l->backoff_ns = BACKOFF_MAX_NS;
		l->resume_ns = now + l->backoff_ns;
		l->probing = true;
		l->quiet_since_ns = now;
	}
	if (l->resume_ns && now >= l->resume_ns)
		l->resume_ns = 0;
	spool_flush(l->spool);
	if (drain && l->spooling && !l->resume_ns && !l->taking_back) {
		__u64 before = l->c.spool_out;

		read_back(l, pace_budget(l, now));
		if (l->pace != PACE_UNLIMITED)
			l->pace_tokens -= l->c.spool_out - before;
	}
	/* how far each segment is delivered, ten times a second (the header
	 * writes and removals it hands to the spool's I/O thread are file
	 * system work); a crash repeats at most these 100 ms of deliveries
	 * (at-least-once) */
	if (now - l->committed_ns >= COMMIT_EVERY_NS) {
		spool_commit(l->spool);
		l->committed_ns = now;
	}
	st = update_gauges(l);
	if (!st.unread && !st.checking && l->spooling && !l->resume_ns && !l->taking_back)
		l->spooling = false; /* all read back: new records go straight to the producer */
}

static struct spool_stats update_gauges(struct lane *l)
{
	struct spool_stats st;

	spool_get_stats(l->spool, &st);
	l->c.spooled = st.unread;
	l->c.spool_bytes = st.bytes;
	l->c.spool_oldest_ns = st.oldest_ns;
	l->c.spool_lost_full = st.lost_full;
	l->c.spool_lost_err = st.lost_err;
	l->c.spool_recovered = st.recovered;
	l->c.spool_torn = st.torn;
	l->c.spool_corrupt = st.corrupt;
	return st;
}

bool lane_busy(const struct lane *l)
{
	return l->in_producer || l->spooling || l->taking_back;
}

bool lane_fatal(struct lane *l)
{
	return kafka_fatal(l->k);
}

int lane_outstanding(struct lane *l)
{
	kafka_poll(l->k, 0, 0);
	return l->in_producer ? (int)l->in_producer : 0;
}

void lane_end(struct lane *l)
{
	int left = (int)l->in_producer;

	if (left && !l->spool)
		pr_warn("Kafka: %d records were not delivered (%s); counted as failed\n", left,
			kafka_fatal(l->k) ? "fatal producer error" :
			kafka_refused() ? "the broker refused the sensor, said above" :
					  "broker unreachable?");
	if (left || l->taking_back)
		take_back(l);
	if (l->spool) {
		spool_sync(l->spool); /* what its I/O thread cannot write is counted now */
		spool_commit(l->spool);
		update_gauges(l); /* as left for the next run */
		if (l->c.spooled)
			pr_info("spool: %llu records kept for the next run\n",
				(unsigned long long)l->c.spooled);
	}
}

void lane_close(struct lane *l)
{
	if (!l)
		return;
	spool_close(l->spool);
	kafka_close(l->k);
	free(l);
}

const struct lane_counts *lane_counts(const struct lane *l)
{
	return &l->c;
}

char *lane_kafka_stats(struct lane *l)
{
	return kafka_stats_json(l->k);
}
