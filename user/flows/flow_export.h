/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Flow records from the flow table, IPFIX-style: a flow still active is
 * exported every --flow-active-timeout with what it did since its previous
 * export (the delta) and its totals; a flow idle for --flow-timeout is
 * exported one last time and removed; and when the table fills, the flows
 * idle longest are exported and removed to make room for new ones.
 *
 * The datapath only counts (cumulative counters, struct flow_stats);
 * what each flow's last record said is remembered here, in userspace, so
 * that delta = counters now - counters last exported, and the deltas of a
 * flow add up to its totals exactly.
 */
#ifndef XS_FLOW_EXPORT_H
#define XS_FLOW_EXPORT_H

#include "flow_format.h"

/* How often the table is scanned for timeouts (and more often under pressure). */
#define FLOW_SCAN_INTERVAL_NS 1000000000ull

/* Where records go: one JSON object, keyed by its flow's key. */
typedef void (*flow_emit_fn)(const struct flow_key *key, const char *json, size_t len,
			     void *ctx);

struct flow_export_opts {
	__u64 idle_ns;   /* remove flows idle this long (0: never) */
	__u64 active_ns; /* export active flows this often (0: only at their end) */
	enum flows_format format;
	const char *dvc; /* KFlow's device: the interface name */
	flow_emit_fn emit; /* NULL: flows are removed without a record */
	void *ctx;
};

struct flow_export_counts {
	__u64 records; /* handed to emit */
	__u64 expired; /* flows removed after --flow-timeout idle */
	__u64 evicted; /* flows removed to make room */
};

struct flow_exporter;

/*
 * flows_fd: the flow table (a BPF hash of flow_key -> flow_stats);
 * stats_fd: the datapath's per-CPU counters (flows created, table full),
 * read between scans to notice a filling table early; -1: none.
 */
struct flow_exporter *flow_exporter_new(int flows_fd, int stats_fd,
					const struct flow_export_opts *o);
/* Called often (the main loop, ~10 times a second) with CLOCK_MONOTONIC
 * now: scans the table once a second, or at once when it fills. */
void flow_exporter_poll(struct flow_exporter *x, __u64 now_ns);
/* The sensor stops: the last delta of every flow, none removed. */
void flow_exporter_finish(struct flow_exporter *x);
void flow_exporter_counts(const struct flow_exporter *x, struct flow_export_counts *c);
void flow_exporter_free(struct flow_exporter *x);

/* Occupancy marks: past high, the flows idle longest go until low is left. */
void flow_export_marks(__u32 max_entries, __u32 *high, __u32 *low);

#endif
