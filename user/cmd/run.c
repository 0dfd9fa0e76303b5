// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * `xdpsensor run`: the sensor's main job. Sets up every interface, one
 * AF_XDP socket and worker per RX queue, serves Kafka delivery reports and
 * publishes the counters until SIGINT/SIGTERM (or a fault: the interface
 * vanishes, the producer hits a fatal error), then undoes it all.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/stat.h>
#include <bpf/bpf.h>

#include "caps.h"
#include "commands.h"
#include "clock.h"
#include "flow_export.h"
#include "keep_dir.h"
#include "kept.h"
#include "log.h"
#include "metrics.h"
#include "parked.h"
#include "run_opts.h"
#include "sensor.h"
#include "sink.h"
#include "worker.h"
#include "worker_stats.h"

#define FLUSH_TIMEOUT_MS 10000

static volatile sig_atomic_t stopping;

static void on_signal(int sig)
{
	(void)sig;
	stopping = 1;
}

static void install_signals(void)
{
	struct sigaction sa = { .sa_handler = on_signal };

	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
}

/* Why the main loop ended: a signal or --duration is a clean end (exit
 * 0); the others are faults (exit 1), after the same flush and summary. */
enum run_end { RUN_SIGNAL, RUN_DURATION, RUN_IFACE_GONE, RUN_SINK_FAILED };
static const char *const run_end_names[] = {
	[RUN_SIGNAL] = "signal", [RUN_DURATION] = "duration",
	[RUN_IFACE_GONE] = "iface_gone", [RUN_SINK_FAILED] = "kafka_fatal",
};

struct run_state {
	struct run_opts *o;
	struct sensor_iface iface[CAPTURE_MAX_IFACES];
	int nifaces;
	struct worker *workers;
	struct kept_umems kept[CAPTURE_MAX_IFACES]; /* a killed run's UMEMs, until drained */
	/* what publish_stats() last wrote to the pinned `workers` maps: the
	 * workers' counters, the sink's deliveries, the sockets' statistics */
	struct xs_worker_stats *published;
	struct sink_worker *sink_workers; /* the sink's view of each worker */
	unsigned int nworkers, started;
	struct sink *sink;
	struct flow_exporter *flows[CAPTURE_MAX_IFACES];
	struct metrics_server *metrics;
	struct metrics_src metrics_src;
	unsigned int ifaces_gone;
	enum run_end end;
};

static void emit_flow(const struct flow_key *key, const char *json, size_t len, void *sink)
{
	sink_export_flow(sink, key, json, len);
}

/* Flow records and the flow table's upkeep (user/flows/flow_export.h). */
static int open_flow_exporters(struct run_state *st)
{
	const struct run_opts *o = st->o;

	for (int f = 0; f < st->nifaces; f++) {
		struct xdpsensor_bpf *skel = st->iface[f].skel;
		struct flow_export_opts fo = {
			.idle_ns = (__u64)o->flow_timeout_s * 1000000000ull,
			.active_ns = (__u64)o->flow_active_s * 1000000000ull,
			.format = o->flows_format, .dvc = st->iface[f].name,
			.emit = o->sink.kafka.flows_topic ? emit_flow : NULL, .ctx = st->sink,
		};

		st->flows[f] = flow_exporter_new(bpf_map__fd(skel->maps.flows),
						 bpf_map__fd(skel->maps.stats), &fo);
		if (!st->flows[f])
			return -ENOMEM;
	}
	return 0;
}

/* One worker's row: its own counters, the sink's deliveries of its
 * records, and its socket's statistics while the socket is open. */
static void collect(struct run_state *st, unsigned int i, struct xs_worker_stats *ws)
{
	struct worker *w = &st->workers[i];
	struct sink_counts d;
	struct xdp_statistics xs;

	sink_counts(st->sink, i, &d);
	ws->read = w->count.read;
	ws->read_bytes = w->count.read_bytes;
	ws->unparked = w->count.unparked;
	ws->produced = w->count.produced;
	ws->queue_full = w->count.queue_full;
	ws->sink_errors = w->count.sink_errors;
	ws->no_meta = w->count.no_meta;
	ws->delivered = d.delivered;
	ws->failed = d.failed;
	ws->spool_in = w->count.spool_in;
	ws->spool_out = d.spool_out;
	/* dropped when offered, or kept and then not written (the disk) */
	ws->spool_full = w->count.spool_full + d.spool_lost_full;
	ws->spool_errors = w->count.spool_errors + d.spool_lost_err;
	ws->reclaimed = d.reclaimed;
	ws->maybe_dup = d.maybe_dup;
	ws->spool_recovered = d.spool_recovered;
	ws->spool_torn = d.spool_torn;
	ws->spool_corrupt = d.spool_corrupt;
	ws->spooled = d.spooled;
	ws->spool_bytes = d.spool_bytes;
	ws->spool_oldest_ns = d.spool_oldest_ns;
	if (w->xsk.xsk && !xsk_queue_statistics(&w->xsk, &xs)) {
		ws->xsk_rx_dropped = xs.rx_dropped;
		ws->xsk_rx_invalid_descs = xs.rx_invalid_descs;
		ws->xsk_rx_ring_full = xs.rx_ring_full;
		ws->xsk_fill_ring_empty = xs.rx_fill_ring_empty_descs;
	}
}

/* The one place the workers' counters are published: the pinned maps
 * (index = queue) for `xdpsensor stats`, and st->published for the summary. */
static void publish_stats(struct run_state *st)
{
	unsigned int i = 0;

	if (!st->sink)
		return;
	for (int f = 0; f < st->nifaces; f++) {
		struct sensor_iface *s = &st->iface[f];

		for (__u32 q = 0; q < (__u32)s->nqueues && i < st->nworkers; q++, i++) {
			collect(st, i, &st->published[i]);
			if (s->skel)
				bpf_map__update_elem(s->skel->maps.workers, &q, sizeof(q),
						     &st->published[i], sizeof(st->published[i]),
						     BPF_ANY);
		}
	}
}

static int open_workers(struct run_state *st)
{
	unsigned int n = 0;

	for (int f = 0; f < st->nifaces; f++) {
		if (st->iface[f].nqueues > CAPTURE_MAX_QUEUES) {
			pr_warn("%s has %d RX queues; the sensor serves at most %d (ethtool -L)\n",
				st->iface[f].name, st->iface[f].nqueues, CAPTURE_MAX_QUEUES);
			return -E2BIG;
		}
		n += (unsigned int)st->iface[f].nqueues;
	}
	st->workers = calloc(n, sizeof(*st->workers));
	st->published = calloc(n, sizeof(*st->published));
	st->sink_workers = calloc(n, sizeof(*st->sink_workers));
	if (!st->workers || !st->published || !st->sink_workers)
		return -ENOMEM;
	st->nworkers = n;
	n = 0;
	for (int f = 0; f < st->nifaces; f++)
		for (int q = 0; q < st->iface[f].nqueues; q++, n++)
			st->sink_workers[n] = (struct sink_worker){ .ifname = st->iface[f].name,
								    .queue = (__u32)q };
	return 0;
}

/* The UMEMs, before the program is attached (xsk_queue_prepare), each in
 * a killed run's file if there is one, its unread frames taken out first
 * (kept.h). */
static int prepare_sockets(struct run_state *st)
{
	unsigned int i = 0;
	int err;

	for (int f = 0; f < st->nifaces; f++) {
		if (keep_dir())
			kept_umems_take(keep_dir(), st->iface[f].name,
					(__u32)st->iface[f].nqueues, &st->kept[f]);
		for (int q = 0; q < st->iface[f].nqueues; q++, i++) {
			char path[128];

			if (keep_dir())
				kept_umem_path(keep_dir(), st->iface[f].name, (__u32)q, path,
					       sizeof(path));
			err = xsk_queue_prepare(&st->workers[i].xsk, st->iface[f].name, (__u32)q,
						st->o->umem_mb, keep_dir() ? path : NULL);
			if (err)
				return err;
		}
	}
	return 0;
}

/* The workers of one interface, by queue: where the frames a killed run
 * left (parked, or unread in its UMEM) go. */
struct left_to {
	struct worker *workers;
	int nqueues;
	__s64 mono_to_real;
};

/* a queue beyond ours (the count changed meanwhile): the first one */
static struct worker *worker_of(const struct left_to *to, __u32 queue)
{
	return &to->workers[queue < (__u32)to->nqueues ? queue : 0];
}

static void take_kept(void *ctx, __u32 queue, const __u8 *frame, __u32 len,
		      const struct xs_meta *meta)
{
	struct left_to *to = ctx;

	worker_take_kept(worker_of(to, queue), frame, len, meta, to->mono_to_real);
}

/* What a killed run's sockets had received and not read: before what was
 * parked after they closed. Only while the workers' threads do not run. */
static void drain_kept(struct run_state *st, int f, struct worker *workers)
{
	struct left_to to = { .workers = workers, .nqueues = st->iface[f].nqueues,
			      .mono_to_real = realtime_offset_ns() };
	long n = kept_umems_drain(&st->kept[f], take_kept, &to);

	if (n)
		pr_info("%s: %ld frames the last run's sockets had received and not read, taken"
			" from its UMEM (unparked)\n", st->iface[f].name, n);
}

static void take_parked(void *ctx, const struct xs_parked_frame *f)
{
	struct left_to *to = ctx;

	worker_take_parked(worker_of(to, f->queue), f, to->mono_to_real);
}

/* Hands what the datapath parked while no socket was open (a dead run's
 * program, then ours until its sockets were in) to the queues' workers,
 * before they read anything their sockets got since: per flow, the parked
 * frames came first. Only while the workers' threads do not run. */
static void drain_parked(struct run_state *st, int f, struct worker *workers)
{
	struct sensor_iface *s = &st->iface[f];
	struct left_to to = { .workers = workers, .nqueues = s->nqueues,
			      .mono_to_real = realtime_offset_ns() };
	long n;

	if (!s->skel)
		return;
	n = parked_drain(bpf_map__fd(s->skel->maps.parked), take_parked, &to);
	if (n < 0)
		pr_warn("%s: cannot read the parking ring: %s\n", s->name, strerror((int)-n));
	else if (n)
		pr_info("%s: %ld frames that came while no socket was open, taken from the"
			" parking ring (unparked)\n", s->name, n);
}

static int start_workers(struct run_state *st)
{
	unsigned int i = 0;
	int err;

	for (int f = 0; f < st->nifaces; f++) {
		struct sensor_iface *s = &st->iface[f];
		struct worker *first = &st->workers[i];
		int xsks_fd = bpf_map__fd(s->skel->maps.xsks);

		for (int q = 0; q < s->nqueues; q++) {
			struct worker *w = &first[q];

			*w = (struct worker){ .xsk = w->xsk, .sink = st->sink, .ifname = s->name,
					      .index = i + (unsigned int)q,
					      .snaplen = st->o->snaplen,
					      .rx_sleep_us = st->o->rx_sleep_us,
					      .decap_max = st->o->rules.config.decap_max,
					      .stop = &stopping };
			err = xsk_queue_open(&w->xsk, s->name, s->xdp_flags, xsks_fd,
					     bpf_map__fd(s->skel->maps.xsk_max_frame),
					     st->o->force_copy);
			if (err)
				return err;
		}
		/* every socket is in: nothing is parked any more */
		drain_kept(st, f, first);
		drain_parked(st, f, first);
		for (int q = 0; q < s->nqueues; q++, i++) {
			err = worker_start(&st->workers[i]);
			if (err)
				return err;
			st->started++;
		}
		pr_info("%s: %d AF_XDP socket(s), %s mode\n", s->name, s->nqueues,
			st->workers[i - 1].xsk.zerocopy ? "zero-copy" : "copy");
	}
	return 0;
}

/* Takes the sockets out of the XDP programs' maps: from here on the frames
 * to capture are parked, and each worker reads its ring to the end. */
static void unplug_sockets(struct run_state *st)
{
	for (int f = 0; f < st->nifaces; f++) {
		struct sensor_iface *s = &st->iface[f];

		for (__u32 q = 0; s->skel && q < (__u32)s->nqueues; q++)
			bpf_map__delete_elem(s->skel->maps.xsks, &q, sizeof(q), 0);
	}
}

static void stop_workers(struct run_state *st)
{
	stopping = 1;
	for (unsigned int i = 0; i < st->started; i++)
		worker_join(&st->workers[i]);
	st->started = 0;
}

static void close_sockets(struct run_state *st)
{
	for (unsigned int i = 0; i < st->nworkers; i++)
		xsk_queue_close(&st->workers[i].xsk);
}

static void print_summary(struct run_state *st)
{
	struct xs_worker_stats t = {};
	__u64 xdp[XS_STAT_MAX] = {}, one[XS_STAT_MAX], flows_ok, flows_failed;
	struct flow_export_counts fc, fsum = {};
	__u64 lost_in_restart = 0;
	double p50, p99;

	publish_stats(st); /* the deliveries of the flush */
	for (unsigned int i = 0; i < st->nworkers; i++)
		worker_stats_add(&t, &st->published[i]);
	sink_flow_counts(st->sink, &flows_ok, &flows_failed);
	for (int f = 0; f < st->nifaces; f++) {
		lost_in_restart += st->iface[f].lost_in_restart;
		if (!st->iface[f].skel ||
		    datapath_read_stats(bpf_map__fd(st->iface[f].skel->maps.stats), one))
			continue;
		for (int j = 0; j < XS_STAT_MAX; j++)
			xdp[j] += one[j];
	}
	for (int f = 0; f < st->nifaces; f++) {
		if (!st->flows[f])
			continue;
		flow_exporter_counts(st->flows[f], &fc);
		fsum.expired += fc.expired;
		fsum.evicted += fc.evicted;
	}
	sink_latency(st->sink, &p50, &p99);
#define U(x) (unsigned long long)(x)
	printf("{\"rx_packets\":%llu,\"captured\":%llu,\"capture_no_socket\":%llu,"
	       "\"parked\":%llu,\"received\":%llu,\"unparked\":%llu,\"produced\":%llu,"
	       "\"delivered\":%llu,\"failed\":%llu,\"queue_full\":%llu,\"sink_errors\":%llu,"
	       "\"spool_in\":%llu,\"spool_out\":%llu,\"spool_full\":%llu,\"spool_errors\":%llu,"
	       "\"reclaimed\":%llu,\"maybe_dup\":%llu,\"spool_recovered\":%llu,"
	       "\"spool_torn\":%llu,\"spool_corrupt\":%llu,\"in_flight\":%llu,\"spooled\":%llu,"
	       "\"spool_bytes\":%llu,\"spool_oldest_age_ms\":%llu,"
	       "\"xsk_rx_dropped\":%llu,\"xsk_rx_ring_full\":%llu,\"no_meta\":%llu,"
	       "\"flows_expired\":%llu,\"flows_evicted\":%llu,\"flows_exported\":%llu,"
	       "\"flows_export_failed\":%llu,"
	       "\"lost_in_restart\":%llu,"
	       "\"latency_us\":{\"p50\":%.1f,\"p99\":%.1f},\"ifaces_gone\":%u,\"end\":\"%s\"}\n",
	       U(xdp[XS_STAT_RX]), U(xdp[XS_STAT_CAPTURED]), U(xdp[XS_STAT_CAPTURE_NO_SOCKET]),
	       U(xdp[XS_STAT_PARKED]), U(t.read), U(t.unparked), U(t.produced),
	       U(t.delivered), U(t.failed), U(t.queue_full), U(t.sink_errors), U(t.spool_in),
	       U(t.spool_out), U(t.spool_full), U(t.spool_errors), U(t.reclaimed), U(t.maybe_dup),
	       U(t.spool_recovered), U(t.spool_torn), U(t.spool_corrupt),
	       U(worker_stats_in_flight(&t)), U(t.spooled), U(t.spool_bytes),
	       U(worker_stats_oldest_age_ms(&t)), U(t.xsk_rx_dropped), U(t.xsk_rx_ring_full),
	       U(t.no_meta), U(fsum.expired), U(fsum.evicted), U(flows_ok), U(flows_failed),
	       U(lost_in_restart), p50, p99, st->ifaces_gone, run_end_names[st->end]);
#undef U
	fflush(stdout);
}

/* Interfaces deleted under the sensor: each is said and counted once. */
static bool ifaces_gone(struct run_state *st)
{
	for (int f = 0; f < st->nifaces; f++) {
		struct sensor_iface *s = &st->iface[f];

		if (!s->gone && sensor_iface_gone(s)) {
			s->gone = true;
			st->ifaces_gone++;
			pr_warn("%s: the interface is gone (deleted?): stopping; what was captured"
				" is flushed\n", s->name);
		}
	}
	return st->ifaces_gone;
}

/* /metrics from here on: every interface is set up, every worker started. */
static int start_metrics(struct run_state *st)
{
	struct metrics_src *m = &st->metrics_src;
	unsigned int first = 0;

	if (!st->metrics)
		return 0;
	*m = (struct metrics_src){ .nifaces = st->nifaces, .workers = st->workers,
				   .nworkers = st->nworkers,
				   .sink = st->sink, .start_time = (double)time(NULL) };
	for (int f = 0; f < st->nifaces; f++) {
		struct xdpsensor_bpf *skel = st->iface[f].skel;

		m->iface[f] = (struct metrics_iface){
			.name = st->iface[f].name,
			.stats_fd = bpf_map__fd(skel->maps.stats),
			.workers_fd = bpf_map__fd(skel->maps.workers),
			.flows_fd = bpf_map__fd(skel->maps.flows),
			.flows_max = bpf_map__max_entries(skel->maps.flows),
			.lost_in_restart = st->iface[f].lost_in_restart,
			.flows = st->flows[f],
			.nqueues = st->iface[f].nqueues,
			.first_worker = first,
		};
		first += (unsigned int)st->iface[f].nqueues;
	}
	return metrics_start(st->metrics, m);
}

static enum run_end main_loop(struct run_state *st)
{
	time_t start = time(NULL), last_pub = 0;

	while (!stopping) {
		time_t now;

		sink_poll(st->sink, 100);
		if (sink_failed(st->sink))
			return RUN_SINK_FAILED; /* said why (kafka.c) */
		now = time(NULL);
		if (now != last_pub) {
			if (ifaces_gone(st))
				return RUN_IFACE_GONE;
			publish_stats(st);
			last_pub = now;
		}
		for (int f = 0; f < st->nifaces; f++)
			flow_exporter_poll(st->flows[f], clock_ns(CLOCK_MONOTONIC));
		if (st->o->duration_s && now - start >= (time_t)st->o->duration_s)
			return RUN_DURATION;
	}
	return RUN_SIGNAL;
}

int cmd_run(int argc, char **argv)
{
	struct run_opts o = {};
	struct run_state st = { .o = &o };
	bool ran = false, hand_over;
	__u64 umem = 0;
	int err;

	err = run_parse_args(argc, argv, &o, &stopping);
	if (err)
		return err < 0 ? 2 : 0;
	for (int i = 0; i < o.nifaces; i++) {
		if (sensor_lookup(&st.iface[i], o.ifnames[i]))
			return 1;
		umem += (__u64)st.iface[i].nqueues * xsk_umem_bytes(o.umem_mb);
	}
	st.nifaces = o.nifaces;
	if (check_caps(XS_CAPS_RUN, umem) || datapath_ensure_bpffs())
		return 1;
	/* pins, state files, pcap files, spool: the operator's and no one else's */
	umask(0077);
	install_signals();
	/* a port in use fails here, before anything is touched */
	if (o.metrics_port && !(st.metrics = metrics_bind(o.metrics_addr, o.metrics_port)))
		return 1;

	/* ours first: a second run touches nothing of the first's */
	for (int i = 0; i < st.nifaces; i++)
		if (sensor_lock(&st.iface[i]))
			goto out;
	/* then the sink: a bad Kafka option fails before the interface is touched */
	if (open_workers(&st))
		goto out;
	o.sink.stage_dir = keep_dir();
	st.sink = sink_open(&o.sink, st.sink_workers, st.nworkers);
	if (!st.sink)
		goto out;
	sink_poll(st.sink, 0); /* a producer dead at once (say, not authorized) */
	if (sink_failed(st.sink) || prepare_sockets(&st))
		goto out;
	for (int i = 0; i < st.nifaces; i++)
		if (sensor_setup(&st.iface[i], &o.sensor))
			goto out;
	if (open_flow_exporters(&st) || start_workers(&st) || start_metrics(&st))
		goto out;

	pr_info("capturing; stop with Ctrl-C (`xdpsensor stats` shows the counters)\n");
	st.end = main_loop(&st);
	ran = true;
out:
	/* the next run reads what is parked from here on: no frame goes
	 * uncaptured between the two (a restart, an upgrade) */
	hand_over = ran && o.handover && st.end == RUN_SIGNAL;
	if (ran)
		unplug_sockets(&st);
	stop_workers(&st);
	publish_stats(&st);
	for (int i = 0; i < st.nifaces && !hand_over; i++) /* stop receiving before the flush */
		sensor_detach(&st.iface[i]);
	/* what came since the sockets were unplugged, and from a queue
	 * without socket while we ran (its count changed): parked */
	for (int i = 0, w = 0; i < st.nifaces && ran && !hand_over; w += st.iface[i].nqueues, i++)
		drain_parked(&st, i, &st.workers[w]);
	close_sockets(&st);
	for (int i = 0; i < st.nifaces && ran; i++)
		flow_exporter_finish(st.flows[i]); /* the last word on every flow still open */
	if (st.sink)
		sink_flush(st.sink, FLUSH_TIMEOUT_MS);
	if (st.sink && ran)
		print_summary(&st);
	/* it reads the maps, the sink and the flow exporters: before they go */
	metrics_stop(st.metrics);
	sink_close(st.sink);
	for (int i = 0; i < st.nifaces; i++) {
		flow_exporter_free(st.flows[i]);
		if (hand_over)
			sensor_hand_over(&st.iface[i]);
		else
			sensor_teardown(&st.iface[i], o.sensor.keep_pins);
	}
	for (int i = 0; i < st.nifaces; i++) /* a run that failed before its workers ran */
		kept_umems_drain(&st.kept[i], NULL, NULL);
	free(st.workers);
	free(st.published);
	free(st.sink_workers);
	return ran && (st.end == RUN_SIGNAL || st.end == RUN_DURATION) ? 0 : 1;
}
