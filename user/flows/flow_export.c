// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#include <errno.h>
#include <search.h>
#include <stdlib.h>
#include <string.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "clock.h"
#include "flow_export.h"
#include "log.h"

#ifndef ENOTSUPP
#define ENOTSUPP 524 /* the kernel's "operation not supported" (not ENOTSUP) */
#endif

/*
 * What a flow's previous record said, for flows exported while active.
 * Kept here and not in the BPF entry: userspace cannot write a few fields
 * of a hash value, only the whole value, which would lose the packets the
 * datapath counts meanwhile (and a lock would cost every packet).
 */
struct flow_mark {
	struct flow_key key;
	__u64 packets[2], bytes[2];
	__u64 exported_ns; /* CLOCK_MONOTONIC of that record */
};

struct flow_exporter {
	int flows_fd, stats_fd;
	struct flow_export_opts o;
	__u32 high, low;  /* occupancy marks */
	void *marks;      /* tsearch tree of struct flow_mark */
	__u64 next_scan;  /* CLOCK_MONOTONIC */
	/* at the last scan: flows in the table, and the datapath's counters */
	__u64 occupancy, new_at_scan, full_at_scan;
	int ncpu;
	__u64 *percpu;
	struct flow_export_counts n;
};

void flow_export_marks(__u32 max_entries, __u32 *high, __u32 *low)
{
	/* 1/8 of the table is the headroom for the flows that arrive between two
	 * polls (100 ms); each eviction frees another 1/8 */
	*high = max_entries - max_entries / 8;
	*low = max_entries - max_entries / 4;
}

static int cmp_mark(const void *a, const void *b)
{
	return memcmp(a, b, sizeof(struct flow_key)); /* the key comes first */
}

static struct flow_mark *mark_find(struct flow_exporter *x, const struct flow_key *k)
{
	void *found = tfind(k, &x->marks, cmp_mark);

	return found ? *(struct flow_mark **)found : NULL;
}

static void mark_forget(struct flow_exporter *x, struct flow_mark *m)
{
	if (!m)
		return;
	tdelete(m, &x->marks, cmp_mark);
	free(m);
}

/* Remembers what this record said; false when out of memory (then the next
 * record of the flow repeats this one's delta: say so, do not guess). */
static bool mark_set(struct flow_exporter *x, struct flow_mark *m, const struct flow_entry *e,
		     __u64 now)
{
	if (!m) {
		m = calloc(1, sizeof(*m));
		if (m)
			m->key = e->key; /* before tsearch: the tree orders by it */
		if (!m || !tsearch(m, &x->marks, cmp_mark)) {
			free(m);
			pr_warn("flows: out of memory for the export marks\n");
			return false;
		}
	}
	memcpy(m->packets, e->stats.packets, sizeof(m->packets));
	memcpy(m->bytes, e->stats.bytes, sizeof(m->bytes));
	m->exported_ns = now;
	return true;
}

/* One record of e (its counters now) with the delta since mark m (if any);
 * nothing when the flow did nothing since. */
static void emit(struct flow_exporter *x, const struct flow_entry *e, const struct flow_mark *m,
		 enum flow_end end)
{
	struct flow_record r = { .e = *e, .end = end };
	char buf[FLOW_RECORD_MAX];
	int len;

	if (!x->o.emit)
		return;
	for (int d = 0; d < 2; d++) {
		r.packets[d] = e->stats.packets[d] - (m ? m->packets[d] : 0);
		r.bytes[d] = e->stats.bytes[d] - (m ? m->bytes[d] : 0);
	}
	if (!r.packets[0] && !r.packets[1])
		return;
	r.time_ms = clock_ns(CLOCK_REALTIME) / 1000000;
	len = flow_record_format(buf, sizeof(buf), x->o.format, x->o.dvc, &r);
	if (len < 0 || (size_t)len >= sizeof(buf))
		return; /* cannot happen: FLOW_RECORD_MAX holds the longest */
	x->o.emit(&e->key, buf, (size_t)len, x->o.ctx);
	__atomic_fetch_add(&x->n.records, 1, __ATOMIC_RELAXED);
}

/* Removes a flow and writes its last record. The entry is read again as it
 * is deleted (one syscall), so packets counted since the scan are in it. */
static bool take(struct flow_exporter *x, struct flow_entry *e, enum flow_end end)
{
	struct flow_mark *m = mark_find(x, &e->key);
	int err;

	err = bpf_map_lookup_and_delete_elem(x->flows_fd, &e->key, &e->stats);
	if (err == -EINVAL || err == -ENOTSUPP || err == -EOPNOTSUPP) {
		/* not on this kernel: what the scan read, then delete */
		err = bpf_map_delete_elem(x->flows_fd, &e->key);
	}
	if (err) {
		pr_debug("flows: cannot remove a flow: %s\n", strerror(-err));
		return false;
	}
	emit(x, e, m, end);
	mark_forget(x, m);
	__atomic_fetch_add(end == FLOW_IDLE ? &x->n.expired : &x->n.evicted, 1, __ATOMIC_RELAXED);
	return true;
}

static void read_counters(struct flow_exporter *x, __u64 *created, __u64 *full)
{
	__u32 keys[2] = { XS_STAT_FLOW_NEW, XS_STAT_FLOW_TABLE_FULL };
	__u64 *out[2] = { created, full };

	for (int i = 0; i < 2; i++) {
		*out[i] = 0;
		if (x->stats_fd < 0 || bpf_map_lookup_elem(x->stats_fd, &keys[i], x->percpu))
			continue;
		for (int c = 0; c < x->ncpu; c++)
			*out[i] += x->percpu[c];
	}
}

static int by_last_seen(const void *a, const void *b)
{
	__u64 x = ((const struct flow_entry *)a)->stats.last_seen_ns;
	__u64 y = ((const struct flow_entry *)b)->stats.last_seen_ns;

	return x < y ? -1 : x > y;
}

static void scan(struct flow_exporter *x, __u64 now, bool make_room)
{
	struct flow_entry *e;
	size_t n, kept = 0;

	/* counters first: a flow created during the read counts twice in the
	 * occupancy estimate, never zero times */
	read_counters(x, &x->new_at_scan, &x->full_at_scan);
	if (flow_table_read(x->flows_fd, &e, &n)) {
		pr_warn("flows: cannot read the flow table\n");
		return;
	}
	for (size_t i = 0; i < n; i++) {
		const struct flow_stats *s = &e[i].stats;
		struct flow_mark *m;
		__u64 since;

		/* the datapath's coarse clock may lag ours by a tick */
		if (x->o.idle_ns && now > s->last_seen_ns && now - s->last_seen_ns >= x->o.idle_ns) {
			take(x, &e[i], FLOW_IDLE);
			continue;
		}
		if (x->o.emit && x->o.active_ns) {
			m = mark_find(x, &e[i].key);
			since = m ? m->exported_ns : s->first_seen_ns;
			if (now > since && now - since >= x->o.active_ns &&
			    (!m || memcmp(m->packets, s->packets, sizeof(m->packets)))) {
				emit(x, &e[i], m, FLOW_ACTIVE);
				mark_set(x, m, &e[i], now);
			}
		}
		e[kept++] = e[i];
	}
	if (make_room || kept >= x->high) {
		/* the flows idle longest go first: a flood of new flows pushes out
		 * the oldest of its own rather than the conversations still going */
		size_t total = kept;

		qsort(e, total, sizeof(*e), by_last_seen);
		for (size_t i = 0; i < total && kept > x->low; i++)
			kept -= take(x, &e[i], FLOW_EVICTED);
	}
	x->occupancy = kept;
	free(e);
}

struct flow_exporter *flow_exporter_new(int flows_fd, int stats_fd,
					const struct flow_export_opts *o)
{
	struct bpf_map_info info = {};
	__u32 len = sizeof(info);
	struct flow_exporter *x;

	if (bpf_obj_get_info_by_fd(flows_fd, &info, &len)) {
		pr_warn("flows: cannot read the flow table's size\n");
		return NULL;
	}
	x = calloc(1, sizeof(*x));
	if (!x)
		goto nomem;
	x->flows_fd = flows_fd;
	x->stats_fd = stats_fd;
	x->o = *o;
	flow_export_marks(info.max_entries, &x->high, &x->low);
	x->ncpu = libbpf_num_possible_cpus();
	if (x->ncpu > 0)
		x->percpu = calloc((size_t)x->ncpu, sizeof(*x->percpu));
	if (!x->percpu) {
		free(x);
		goto nomem;
	}
	return x;
nomem:
	pr_warn("flows: out of memory\n");
	return NULL;
}

void flow_exporter_poll(struct flow_exporter *x, __u64 now_ns)
{
	__u64 created, full;
	bool filling = false;

	if (now_ns < x->next_scan && x->stats_fd >= 0) {
		read_counters(x, &created, &full);
		filling = full > x->full_at_scan ||
			  x->occupancy + (created - x->new_at_scan) >= x->high;
	}
	if (now_ns < x->next_scan && !filling)
		return;
	scan(x, now_ns, filling);
	x->next_scan = now_ns + FLOW_SCAN_INTERVAL_NS;
}

void flow_exporter_finish(struct flow_exporter *x)
{
	struct flow_entry *e;
	size_t n;

	if (!x->o.emit || flow_table_read(x->flows_fd, &e, &n))
		return;
	for (size_t i = 0; i < n; i++)
		emit(x, &e[i], mark_find(x, &e[i].key), FLOW_EXIT);
	free(e);
}

/* Any thread: `run --metrics` reads them while the main loop counts. */
void flow_exporter_counts(const struct flow_exporter *x, struct flow_export_counts *c)
{
	c->records = __atomic_load_n(&x->n.records, __ATOMIC_RELAXED);
	c->expired = __atomic_load_n(&x->n.expired, __ATOMIC_RELAXED);
	c->evicted = __atomic_load_n(&x->n.evicted, __ATOMIC_RELAXED);
}

void flow_exporter_free(struct flow_exporter *x)
{
	if (!x)
		return;
	tdestroy(x->marks, free);
	free(x->percpu);
	free(x);
}
