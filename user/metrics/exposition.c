// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <jansson.h>
#include <librdkafka/rdkafka.h>

#include "datapath.h"
#include "exposition.h"
#include "worker_stats.h"

struct iface_ledger {
	__u64 xdp[XS_STAT_MAX];
	bool xdp_ok;
	struct xs_worker_stats q[CAPTURE_MAX_QUEUES];
	bool q_ok[CAPTURE_MAX_QUEUES];
	__u64 flows;
	bool flows_ok;
};

/* A label value: backslash, double quote and newline escaped. */
static void put_label(FILE *f, const char *v)
{
	for (; *v; v++) {
		if (*v == '\\' || *v == '"')
			fputc('\\', f);
		if (*v == '\n') {
			fputs("\\n", f);
			continue;
		}
		fputc(*v, f);
	}
}

static void family(FILE *f, const char *name, const char *type, const char *help)
{
	fprintf(f, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

static void sample_iface(FILE *f, const char *name, const char *iface, __u64 v)
{
	fprintf(f, "%s{iface=\"", name);
	put_label(f, iface);
	fprintf(f, "\"} %llu\n", (unsigned long long)v);
}

static __u64 count_flows(int fd, bool *ok)
{
	struct flow_key k, next;
	__u64 n = 0;
	void *prev = NULL;

	while (!bpf_map_get_next_key(fd, prev, &next)) {
		n++;
		k = next;
		prev = &k;
	}
	*ok = true;
	return n;
}

static void read_ledger(const struct metrics_iface *m, struct iface_ledger *l)
{
	memset(l, 0, sizeof(*l));
	l->xdp_ok = !datapath_read_stats(m->stats_fd, l->xdp);
	for (__u32 q = 0; q < (__u32)m->nqueues && q < CAPTURE_MAX_QUEUES; q++)
		l->q_ok[q] = !bpf_map_lookup_elem(m->workers_fd, &q, &l->q[q]);
	l->flows = count_flows(m->flows_fd, &l->flows_ok);
}

/* ---------------------------------------------------------------- XDP */

/*
 * Every counter of the XDP program, generated from its one list (XS_STATS,
 * xdpsensor.h): a counter added there is on the page with no change here.
 * The outcomes, which add up to rx_packets, are one family by label, and
 * so are the reasons a packet was keyed at L2 (the ranges `stats` uses);
 * every other counter is a family of its own, xdpsensor_NAME_total. Labels
 * and NAME are the names of `stats --json`.
 */
enum xdp_family { XDP_OWN, XDP_OUTCOME, XDP_L2 };

static enum xdp_family xdp_family_of(int e)
{
	if (e >= XS_STAT_CAPTURED && e <= XS_STAT_DROPPED)
		return XDP_OUTCOME;
	if (e >= XS_STAT_L2_TRUNCATED && e <= XS_STAT_L2_IPV6_EXT_DEPTH)
		return XDP_L2;
	return XDP_OWN;
}

/* What a family of its own says; one without a line here says its name. */
static const char *const xdp_help[XS_STAT_MAX] = {
	[XS_STAT_RX] = "Packets the XDP program saw.",
	[XS_STAT_RX_BYTES] = "Bytes of the packets the XDP program saw.",
	[XS_STAT_FLOW_NEW] = "Flow table entries created.",
	[XS_STAT_FLOW_TABLE_FULL] = "Packets not counted in a flow: the flow table was full.",
	[XS_STAT_SAMPLED_OUT] = "Packets of flows that sampling turned from capture into count.",
	[XS_STAT_META_FAILED] = "Captured packets without room for the timestamp metadata.",
	[XS_STAT_DECAP] = "Packets keyed on an IP header inside a tunnel.",
	[XS_STAT_DECAP_DEPTH] = "Packets with tunnels past the limit: keyed on the innermost within it.",
	[XS_STAT_SNAPPED] = "Captured frames cut to what a socket without multi-buffer takes.",
};

static const struct {
	const char *name, *label, *help;
} xdp_families[] = {
	[XDP_OUTCOME] = { "xdpsensor_xdp_packets_total", "outcome",
			  "Packets by the XDP program's outcome (they add up to rx_packets)." },
	[XDP_L2] = { "xdpsensor_l2_keyed_packets_total", "reason",
		     "Packets keyed at L2 (by MAC addresses and EtherType), by why." },
};

static void write_xdp_family(FILE *f, const struct metrics_src *src,
			     const struct iface_ledger *l, enum xdp_family fam)
{
	family(f, xdp_families[fam].name, "counter", xdp_families[fam].help);
	for (int i = 0; i < src->nifaces; i++)
		for (int e = 0; e < XS_STAT_MAX && l[i].xdp_ok; e++) {
			if (xdp_family_of(e) != fam)
				continue;
			fprintf(f, "%s{iface=\"", xdp_families[fam].name);
			put_label(f, src->iface[i].name);
			fprintf(f, "\",%s=\"%s\"} %llu\n", xdp_families[fam].label, stat_name(e),
				(unsigned long long)l[i].xdp[e]);
		}
}

static void write_xdp(FILE *f, const struct metrics_src *src, const struct iface_ledger *l)
{
	char name[96], help[128];

	for (int e = 0; e < XS_STAT_MAX; e++) {
		if (xdp_family_of(e) != XDP_OWN)
			continue;
		snprintf(name, sizeof(name), "xdpsensor_%s_total", stat_name(e));
		snprintf(help, sizeof(help), "The XDP program's counter %s.", stat_name(e));
		family(f, name, "counter", xdp_help[e] ? xdp_help[e] : help);
		for (int i = 0; i < src->nifaces; i++)
			if (l[i].xdp_ok)
				sample_iface(f, name, src->iface[i].name, l[i].xdp[e]);
	}
	write_xdp_family(f, src, l, XDP_OUTCOME);
	write_xdp_family(f, src, l, XDP_L2);
	family(f, "xdpsensor_lost_in_restart_packets_total", "counter",
	       "Frames a dead run's program (left attached) had to capture and could neither"
	       " hand to a socket nor park, until this run replaced it.");
	for (int i = 0; i < src->nifaces; i++)
		sample_iface(f, "xdpsensor_lost_in_restart_packets_total", src->iface[i].name,
			     src->iface[i].lost_in_restart);
	family(f, "xdpsensor_flow_table_entries", "gauge", "Flows in the flow table now.");
	for (int i = 0; i < src->nifaces; i++)
		if (l[i].flows_ok)
			sample_iface(f, "xdpsensor_flow_table_entries", src->iface[i].name,
				     l[i].flows);
	family(f, "xdpsensor_flow_table_capacity", "gauge", "Flows the flow table can hold.");
	for (int i = 0; i < src->nifaces; i++)
		sample_iface(f, "xdpsensor_flow_table_capacity", src->iface[i].name,
			     src->iface[i].flows_max);
	family(f, "xdpsensor_flows_removed_total", "counter",
	       "Flows removed from the flow table with a last record, by reason: idle for"
	       " --flow-timeout (expired) or to make room (evicted).");
	for (int i = 0; i < src->nifaces; i++) {
		struct flow_export_counts c;

		flow_exporter_counts(src->iface[i].flows, &c);
		for (int r = 0; r < 2; r++) {
			fputs("xdpsensor_flows_removed_total{iface=\"", f);
			put_label(f, src->iface[i].name);
			fprintf(f, "\",reason=\"%s\"} %llu\n", r ? "evicted" : "expired",
				(unsigned long long)(r ? c.evicted : c.expired));
		}
	}
}

/* ---------------------------------------------------------------- workers */

/*
 * Every field of a worker's row (struct xs_worker_stats, the pinned
 * `workers` map), per interface and queue; the build fails when a field is
 * added there without a row here. Names as in `stats --json` where they
 * can be: the drops are one family by reason.
 */
#define ROW(field) .off = offsetof(struct xs_worker_stats, field)
static const struct {
	const char *name, *reason, *help; /* help NULL: the family goes on */
	size_t off;
	bool gauge;
	double scale;
} worker_counters[] = {
	{ "xdpsensor_read_packets_total", NULL,
	  "Captured frames a worker took from its AF_XDP RX ring.", ROW(read) },
	{ "xdpsensor_read_bytes_total", NULL, "Bytes of the frames the workers read.",
	  ROW(read_bytes) },
	{ "xdpsensor_unparked_packets_total", NULL,
	  "Captured frames the last run left: parked with no socket (a restart), or unread in a"
	  " killed run's UMEM.",
	  ROW(unparked) },
	{ "xdpsensor_produced_records_total", NULL, "Records handed to the producer.",
	  ROW(produced) },
	{ "xdpsensor_delivered_records_total", NULL,
	  "Records the sink acknowledged (Kafka: delivery reports).", ROW(delivered) },
	{ "xdpsensor_failed_records_total", NULL, "Records whose delivery failed.", ROW(failed) },
	/* one family, by reason: every place a captured packet is lost */
	{ "xdpsensor_dropped_total", "queue_full",
	  "Captured packets lost, by reason.", ROW(queue_full) },
	{ "xdpsensor_dropped_total", "sink_error", NULL, ROW(sink_errors) },
	{ "xdpsensor_dropped_total", "spool_full", NULL, ROW(spool_full) },
	{ "xdpsensor_dropped_total", "spool_error", NULL, ROW(spool_errors) },
	{ "xdpsensor_dropped_total", "xsk_rx_dropped", NULL, ROW(xsk_rx_dropped) },
	{ "xdpsensor_dropped_total", "xsk_rx_ring_full", NULL, ROW(xsk_rx_ring_full) },
	{ "xdpsensor_xsk_fill_ring_empty_total", NULL,
	  "Times the kernel found the AF_XDP fill ring empty.", ROW(xsk_fill_ring_empty) },
	{ "xdpsensor_xsk_rx_invalid_descs_total", NULL,
	  "Invalid AF_XDP RX descriptors.", ROW(xsk_rx_invalid_descs) },
	{ "xdpsensor_timestamp_not_from_xdp_total", NULL,
	  "Packets time-stamped in userspace: no XDP metadata.", ROW(no_meta) },
	/* the spool */
	{ "xdpsensor_spool_in_total", NULL,
	  "Records kept in the spool: Kafka could not take them.", ROW(spool_in) },
	{ "xdpsensor_spool_out_total", NULL,
	  "Records read back from the spool and produced.", ROW(spool_out) },
	{ "xdpsensor_reclaimed_total", NULL,
	  "Records taken back from the producer into the spool (a stall, the end).",
	  ROW(reclaimed) },
	{ "xdpsensor_maybe_dup_total", NULL,
	  "Of those, taken back after a send: the topic may hold them twice.", ROW(maybe_dup) },
	{ "xdpsensor_spool_recovered_total", NULL, "Records left in the spool by an earlier run.",
	  ROW(spool_recovered) },
	{ "xdpsensor_spool_torn_total", NULL, "Torn last records of an earlier run, skipped.",
	  ROW(spool_torn) },
	{ "xdpsensor_spool_corrupt_total", NULL,
	  "Spooled records failing their CRC (the rest of the segment skipped).",
	  ROW(spool_corrupt) },
	{ "xdpsensor_spooled", NULL, "Records in the spool now.", ROW(spooled), .gauge = true },
	{ "xdpsensor_spool_bytes", NULL, "Bytes of the spool on disk now.", ROW(spool_bytes),
	  .gauge = true },
	{ "xdpsensor_spool_oldest_timestamp_seconds", NULL,
	  "Capture time of the oldest spooled record (Unix time; 0: none).",
	  ROW(spool_oldest_ns), .gauge = true, .scale = 1e-9 },
};
#undef ROW
_Static_assert(sizeof(worker_counters) / sizeof(worker_counters[0]) ==
		       sizeof(struct xs_worker_stats) / sizeof(__u64),
	       "a field of struct xs_worker_stats without its row on /metrics");

/* iface="...",queue="Q" */
static void put_queue(FILE *f, const char *iface, int q)
{
	fputs("iface=\"", f);
	put_label(f, iface);
	fprintf(f, "\",queue=\"%d\"", q);
}

static void write_workers(FILE *f, const struct metrics_src *src, const struct iface_ledger *l)
{
	for (size_t c = 0; c < sizeof(worker_counters) / sizeof(worker_counters[0]); c++) {
		if (worker_counters[c].help)
			family(f, worker_counters[c].name,
			       worker_counters[c].gauge ? "gauge" : "counter", worker_counters[c].help);
		for (int i = 0; i < src->nifaces; i++)
			for (int q = 0; q < src->iface[i].nqueues && q < CAPTURE_MAX_QUEUES; q++) {
				const __u64 *v = (const void *)((const char *)&l[i].q[q] +
								worker_counters[c].off);

				if (!l[i].q_ok[q])
					continue;
				fprintf(f, "%s{", worker_counters[c].name);
				put_queue(f, src->iface[i].name, q);
				if (worker_counters[c].reason)
					fprintf(f, ",reason=\"%s\"", worker_counters[c].reason);
				if (worker_counters[c].scale)
					fprintf(f, "} %.9f\n", (double)*v * worker_counters[c].scale);
				else
					fprintf(f, "} %llu\n", (unsigned long long)*v);
			}
	}
	family(f, "xdpsensor_in_flight_records", "gauge",
	       "Records in the producer, not yet acknowledged.");
	for (int i = 0; i < src->nifaces; i++)
		for (int q = 0; q < src->iface[i].nqueues && q < CAPTURE_MAX_QUEUES; q++) {
			if (!l[i].q_ok[q])
				continue;
			fputs("xdpsensor_in_flight_records{", f);
			put_queue(f, src->iface[i].name, q);
			fprintf(f, "} %llu\n", (unsigned long long)worker_stats_in_flight(&l[i].q[q]));
		}
	family(f, "xdpsensor_worker_running", "gauge",
	       "1 while the worker thread of a queue serves its RX ring.");
	for (int i = 0; i < src->nifaces; i++)
		for (int q = 0; q < src->iface[i].nqueues; q++) {
			const struct worker *w = &src->workers[src->iface[i].first_worker + q];

			fputs("xdpsensor_worker_running{", f);
			put_queue(f, src->iface[i].name, q);
			fprintf(f, "} %d\n", worker_running(w));
		}
}

static void write_run(FILE *f, const struct metrics_src *src)
{
	__u64 delivered, failed;

	sink_flow_counts(src->sink, &delivered, &failed);
	family(f, "xdpsensor_flow_records_total", "counter",
	       "Flow records produced to --flows-topic, by delivery result.");
	fprintf(f, "xdpsensor_flow_records_total{result=\"delivered\"} %llu\n",
		(unsigned long long)delivered);
	fprintf(f, "xdpsensor_flow_records_total{result=\"failed\"} %llu\n",
		(unsigned long long)failed);
	family(f, "xdpsensor_start_time_seconds", "gauge", "When the run started (Unix time).");
	fprintf(f, "xdpsensor_start_time_seconds %.3f\n", src->start_time);
	family(f, "xdpsensor_build_info", "gauge", "The sensor's version and its libraries'.");
	fprintf(f, "xdpsensor_build_info{version=\"%s\",librdkafka=\"%s\",libbpf=\"%s\"} 1\n",
		XS_VERSION, rd_kafka_version_str(), libbpf_version_string());
}

/* ---------------------------------------------------------------- librdkafka */

static long long jint(json_t *o, const char *key)
{
	return json_integer_value(json_object_get(o, key));
}

static const struct {
	const char *key, *name, *type, *help;
} kafka_top[] = {
	{ "msg_cnt", "xdpsensor_kafka_queue_messages", "gauge",
	  "Records in the producer's queues (librdkafka msg_cnt)." },
	{ "msg_size", "xdpsensor_kafka_queue_bytes", "gauge",
	  "Bytes of the records in the producer's queues (msg_size)." },
	{ "msg_max", "xdpsensor_kafka_queue_max_messages", "gauge",
	  "Records the queues may hold (queue.buffering.max.messages)." },
	{ "msg_size_max", "xdpsensor_kafka_queue_max_bytes", "gauge",
	  "Bytes the queues may hold (queue.buffering.max.kbytes)." },
	{ "tx", "xdpsensor_kafka_requests_sent_total", "counter", "Requests sent to brokers." },
	{ "tx_bytes", "xdpsensor_kafka_sent_bytes_total", "counter", "Bytes sent to brokers." },
	{ "rx", "xdpsensor_kafka_responses_received_total", "counter",
	  "Responses received from brokers." },
	{ "txmsgs", "xdpsensor_kafka_messages_sent_total", "counter",
	  "Records sent to brokers (retries included)." },
};

/* per broker; rtt in microseconds in the JSON, seconds here */
static const struct {
	const char *key, *sub, *name, *type, *help;
	double scale;
} kafka_broker[] = {
	{ "rtt", "avg", "xdpsensor_kafka_broker_rtt_avg_seconds", "gauge",
	  "Broker round-trip time, average over the last statistics window.", 1e-6 },
	{ "rtt", "p99", "xdpsensor_kafka_broker_rtt_p99_seconds", "gauge",
	  "Broker round-trip time, 99th percentile over the last window.", 1e-6 },
	{ "txerrs", NULL, "xdpsensor_kafka_broker_request_errors_total", "counter",
	  "Requests that failed to be sent.", 1 },
	{ "rxerrs", NULL, "xdpsensor_kafka_broker_response_errors_total", "counter",
	  "Responses that failed to be received or parsed.", 1 },
	{ "req_timeouts", NULL, "xdpsensor_kafka_broker_request_timeouts_total", "counter",
	  "Requests that timed out.", 1 },
	{ "txretries", NULL, "xdpsensor_kafka_broker_request_retries_total", "counter",
	  "Requests sent again.", 1 },
	{ "connects", NULL, "xdpsensor_kafka_broker_connects_total", "counter",
	  "Connections made to the broker.", 1 },
	{ "disconnects", NULL, "xdpsensor_kafka_broker_disconnects_total", "counter",
	  "Connections to the broker that ended.", 1 },
	{ "outbuf_cnt", NULL, "xdpsensor_kafka_broker_outbuf_requests", "gauge",
	  "Requests waiting to be sent to the broker.", 1 },
	{ "waitresp_cnt", NULL, "xdpsensor_kafka_broker_waiting_responses", "gauge",
	  "Requests sent, waiting for the broker's response.", 1 },
};

/* One producer's statistics: each worker has its own producer, the flow
 * records another. */
struct producer_stats {
	const char *iface; /* NULL: the flow records' producer */
	int queue;
	json_t *root;
};

/* The producer's labels: iface and queue as the worker's, or producer="flows". */
static void put_producer(FILE *f, const struct producer_stats *p)
{
	if (p->iface)
		put_queue(f, p->iface, p->queue);
	else
		fputs("producer=\"flows\"", f);
}

static json_t *parse_stats(char *text)
{
	json_t *root = text ? json_loads(text, 0, NULL) : NULL;

	free(text);
	return root;
}

/* The producers with statistics (none before the first interval, or without Kafka). */
static size_t read_producers(const struct metrics_src *src, struct producer_stats *p)
{
	size_t n = 0;

	for (int i = 0; i < src->nifaces; i++)
		for (int q = 0; q < src->iface[i].nqueues; q++) {
			p[n] = (struct producer_stats){
				.iface = src->iface[i].name, .queue = q,
				.root = parse_stats(sink_kafka_stats(src->sink,
								     src->iface[i].first_worker +
									     (unsigned int)q)),
			};
			n += p[n].root != NULL;
		}
	p[n] = (struct producer_stats){ .root = parse_stats(sink_flows_kafka_stats(src->sink)) };
	return n + (p[n].root != NULL);
}

static void broker_sample(FILE *f, const char *metric, const struct producer_stats *p,
			  const char *name, json_t *b)
{
	fprintf(f, "%s{", metric);
	put_producer(f, p);
	fputs(",broker=\"", f);
	put_label(f, name);
	fprintf(f, "\",nodeid=\"%lld\"", jint(b, "nodeid"));
}

static void write_kafka(FILE *f, const struct metrics_src *src)
{
	struct producer_stats *p = calloc(src->nworkers + 1, sizeof(*p));
	json_t *b;
	const char *name;
	size_t n;

	if (!p)
		return;
	n = read_producers(src, p);
	for (size_t c = 0; c < sizeof(kafka_top) / sizeof(kafka_top[0]) && n; c++) {
		family(f, kafka_top[c].name, kafka_top[c].type, kafka_top[c].help);
		for (size_t i = 0; i < n; i++) {
			fprintf(f, "%s{", kafka_top[c].name);
			put_producer(f, &p[i]);
			fprintf(f, "} %lld\n", jint(p[i].root, kafka_top[c].key));
		}
	}
	if (n)
		family(f, "xdpsensor_kafka_broker_up", "gauge",
		       "1 when the connection to the broker is up (librdkafka state UP).");
	for (size_t i = 0; i < n; i++)
		json_object_foreach(json_object_get(p[i].root, "brokers"), name, b) {
			const char *state = json_string_value(json_object_get(b, "state"));

			broker_sample(f, "xdpsensor_kafka_broker_up", &p[i], name, b);
			fputs(",state=\"", f);
			put_label(f, state ? state : "");
			fprintf(f, "\"} %d\n", state && !strcmp(state, "UP"));
		}
	for (size_t c = 0; c < sizeof(kafka_broker) / sizeof(kafka_broker[0]) && n; c++) {
		family(f, kafka_broker[c].name, kafka_broker[c].type, kafka_broker[c].help);
		for (size_t i = 0; i < n; i++)
			json_object_foreach(json_object_get(p[i].root, "brokers"), name, b) {
				json_t *o = kafka_broker[c].sub ? json_object_get(b, kafka_broker[c].key)
								: b;
				const char *k = kafka_broker[c].sub ? kafka_broker[c].sub
								    : kafka_broker[c].key;

				broker_sample(f, kafka_broker[c].name, &p[i], name, b);
				fprintf(f, "} %.9g\n", (double)jint(o, k) * kafka_broker[c].scale);
			}
	}
	for (size_t i = 0; i < n; i++)
		json_decref(p[i].root);
	free(p);
}

void metrics_write(FILE *f, const struct metrics_src *src)
{
	struct iface_ledger l[CAPTURE_MAX_IFACES];

	for (int i = 0; i < src->nifaces; i++)
		read_ledger(&src->iface[i], &l[i]);
	write_xdp(f, src, l);
	write_workers(f, src, l);
	write_run(f, src);
	write_kafka(f, src);
}
