// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * `xdpsensor run`: the sensor's main job. Sets up every interface, one
 * AF_XDP socket and worker per RX queue, serves Kafka delivery reports and
 * publishes the counters until SIGINT/SIGTERM, then undoes it all.
 */
#include <ctype.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <bpf/bpf.h>

#include "commands.h"
#include "flow_expiry.h"
#include "log.h"
#include "sensor.h"
#include "sink.h"
#include "worker.h"

#define MAX_IFACES 8
#define FLUSH_TIMEOUT_MS 10000

static volatile sig_atomic_t stopping;

struct run_opts {
	const char *ifnames[MAX_IFACES];
	int nifaces;
	struct sensor_opts sensor;
	struct rules rules;
	struct sink_opts sink;
	__u32 snaplen;
	unsigned int rx_sleep_us;
	bool force_copy;
	unsigned int duration_s;     /* 0: until a signal */
	unsigned int flow_timeout_s; /* idle flows are removed after this */
};

enum {
	OPT_OUTPUT = OPT_FIRST_FREE, OPT_KEY, OPT_TS_UNIT, OPT_BLOCK, OPT_SNAPLEN,
	OPT_XDP_MODE, OPT_FORCE, OPT_KEEP_PINS, OPT_FLOWS_MAX, OPT_COPY, OPT_DURATION,
	OPT_FLOW_TIMEOUT, OPT_FLOWS_TOPIC, OPT_HEADERS, OPT_RX_SLEEP,
};

static void usage(FILE *f)
{
	fprintf(f,
		"usage: xdpsensor run -i IFACE [-i IFACE...] -b BROKERS [-t TOPIC] [OPTIONS]\n"
		"Attaches to the interfaces and produces the captured packets to Kafka.\n"
		"  -i, --interface IFACE  interface to capture on (repeatable)\n"
		"  -b, --brokers LIST     Kafka bootstrap servers (host:port,...)\n"
		"  -t, --topic TOPIC      topic (default " KAFKA_DEFAULT_TOPIC ")\n"
		"  -X NAME=VALUE          any librdkafka property (repeatable)\n"
		"  -c, --config FILE      librdkafka properties, one NAME=VALUE a line\n"
		"  --key SCHEME           5tuple (default), community-id or metron\n"
		"  --ts-unit UNIT         metron key unit: ms, us or ns (default ns)\n"
		"  --output SINK          kafka (default), null (read and key only) or pcap:FILE\n"
		"  --block                wait when the producer queue is full instead of dropping\n"
		"  --headers all|none     record headers (xs.ts_ns, xs.iface, ...; default all)\n"
		"  --snaplen N            keep at most N bytes of each frame\n"
		"  --xdp-mode MODE        native, generic or auto (default)\n"
		"  --copy                 AF_XDP copy mode even where zero-copy works\n"
		"  --rx-sleep-us N        while traffic flows, look at an empty RX ring again\n"
		"                         after a nap fitted to the rate, of at most N us,\n"
		"                         instead of being woken (default 1000; 0: always\n"
		"                         wait to be woken, in poll())\n"
		"  --force                replace another XDP program on the interface\n"
		"  --keep-pins            leave the flow table pinned after exit\n"
		"  --flows-max N          flow table size (default 131072)\n"
		"  --flow-timeout SECS    remove flows idle this long (default 300)\n"
		"  --flows-topic TOPIC    also produce a KFlow JSON record of each flow when it\n"
		"                         expires and at exit, keyed like its packets\n"
		"  --duration SECS        stop after SECS seconds\n"
		"  -v, --verbose          more messages (-v -v: libbpf's too)\n"
		"%s", rules_usage);
}

static int parse_uint_opt(const char *name, const char *arg, unsigned long max,
			  unsigned long *out)
{
	char *end;

	errno = 0;
	*out = strtoul(arg, &end, 10);
	if (!isdigit((unsigned char)*arg) || *end || errno || *out > max) {
		pr_warn("%s takes a number up to %lu, not '%s'\n", name, max, arg);
		return -EINVAL;
	}
	return 0;
}

static int parse_args(int argc, char **argv, struct run_opts *o)
{
	static const struct option opts[] = {
		RULE_LONG_OPTIONS,
		{ "interface", required_argument, NULL, 'i' },
		{ "brokers", required_argument, NULL, 'b' },
		{ "topic", required_argument, NULL, 't' },
		{ "config", required_argument, NULL, 'c' },
		{ "output", required_argument, NULL, OPT_OUTPUT },
		{ "key", required_argument, NULL, OPT_KEY },
		{ "ts-unit", required_argument, NULL, OPT_TS_UNIT },
		{ "block", no_argument, NULL, OPT_BLOCK },
		{ "snaplen", required_argument, NULL, OPT_SNAPLEN },
		{ "xdp-mode", required_argument, NULL, OPT_XDP_MODE },
		{ "force", no_argument, NULL, OPT_FORCE },
		{ "keep-pins", no_argument, NULL, OPT_KEEP_PINS },
		{ "flows-max", required_argument, NULL, OPT_FLOWS_MAX },
		{ "copy", no_argument, NULL, OPT_COPY },
		{ "duration", required_argument, NULL, OPT_DURATION },
		{ "flow-timeout", required_argument, NULL, OPT_FLOW_TIMEOUT },
		{ "flows-topic", required_argument, NULL, OPT_FLOWS_TOPIC },
		{ "headers", required_argument, NULL, OPT_HEADERS },
		{ "rx-sleep-us", required_argument, NULL, OPT_RX_SLEEP },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{}
	};
	struct kafka_opts *k = &o->sink.kafka;
	unsigned long v;
	int opt, r;

	rules_init(&o->rules, XS_ACTION_CAPTURE);
	o->sensor.rules = &o->rules;
	o->sink.kind = SINK_KAFKA;
	k->ts_unit = TS_NS;
	k->stop = &stopping;
	o->flow_timeout_s = 300;
	o->rx_sleep_us = 1000;

	while ((opt = getopt_long(argc, argv, "i:b:t:c:X:vh", opts, NULL)) != -1) {
		r = rules_option(&o->rules, opt, optarg);
		if (r < 0)
			return r;
		if (r)
			continue;
		switch (opt) {
		case 'i':
			if (o->nifaces == MAX_IFACES) {
				pr_warn("at most %d interfaces\n", MAX_IFACES);
				return -EINVAL;
			}
			o->ifnames[o->nifaces++] = optarg;
			break;
		case 'b': k->brokers = optarg; break;
		case 't': k->topic = optarg; break;
		case 'c': k->config_file = optarg; break;
		case 'X':
			if (k->nprops == KAFKA_MAX_PROPS) {
				pr_warn("at most %d -X properties\n", KAFKA_MAX_PROPS);
				return -EINVAL;
			}
			k->props[k->nprops++] = optarg;
			break;
		case OPT_OUTPUT:
			if (sink_parse_output(optarg, &o->sink))
				return -EINVAL;
			break;
		case OPT_KEY:
			if (parse_key_scheme(optarg, &k->key)) {
				pr_warn("unknown --key '%s': use 5tuple, community-id or metron\n", optarg);
				return -EINVAL;
			}
			break;
		case OPT_TS_UNIT:
			if (parse_ts_unit(optarg, &k->ts_unit)) {
				pr_warn("unknown --ts-unit '%s': use ms, us or ns\n", optarg);
				return -EINVAL;
			}
			break;
		case OPT_BLOCK: k->block = true; break;
		case OPT_SNAPLEN:
			if (parse_uint_opt("--snaplen", optarg, 65535, &v) || !v)
				return -EINVAL;
			o->snaplen = (__u32)v;
			break;
		case OPT_XDP_MODE:
			if (parse_xdp_mode(optarg, &o->sensor.xdp_mode)) {
				pr_warn("unknown --xdp-mode '%s': use native, generic or auto\n", optarg);
				return -EINVAL;
			}
			break;
		case OPT_FORCE: o->sensor.force = true; break;
		case OPT_KEEP_PINS: o->sensor.keep_pins = true; break;
		case OPT_FLOWS_MAX:
			if (parse_uint_opt("--flows-max", optarg, 1u << 26, &v) || !v)
				return -EINVAL;
			o->sensor.flows_max = (__u32)v;
			break;
		case OPT_COPY: o->force_copy = true; break;
		case OPT_RX_SLEEP:
			if (parse_uint_opt("--rx-sleep-us", optarg, 10000, &v))
				return -EINVAL;
			o->rx_sleep_us = (unsigned int)v;
			break;
		case OPT_DURATION:
			if (parse_uint_opt("--duration", optarg, 1u << 30, &v))
				return -EINVAL;
			o->duration_s = (unsigned int)v;
			break;
		case OPT_FLOW_TIMEOUT:
			if (parse_uint_opt("--flow-timeout", optarg, 1u << 30, &v))
				return -EINVAL;
			o->flow_timeout_s = (unsigned int)v;
			break;
		case OPT_FLOWS_TOPIC: k->flows_topic = optarg; break;
		case OPT_HEADERS:
			if (strcmp(optarg, "all") && strcmp(optarg, "none")) {
				pr_warn("--headers takes all or none, not '%s'\n", optarg);
				return -EINVAL;
			}
			k->no_headers = !strcmp(optarg, "none");
			break;
		case 'v': log_set_level(log_get_level() + 1); break;
		case 'h': usage(stdout); return 1;
		default: usage(stderr); return -EINVAL;
		}
	}
	if (optind < argc) {
		pr_warn("unexpected argument '%s'\n", argv[optind]);
		return -EINVAL;
	}
	if (!o->nifaces) {
		pr_warn("run needs an interface: -i IFACE\n");
		return -EINVAL;
	}
	if (k->flows_topic && o->sink.kind != SINK_KAFKA) {
		pr_warn("--flows-topic needs --output kafka\n");
		return -EINVAL;
	}
	if (o->sink.kind == SINK_KAFKA && !k->brokers) {
		pr_warn("run needs Kafka brokers: -b HOST:PORT (or --output null|pcap:FILE)\n");
		return -EINVAL;
	}
	if (o->sink.kind == SINK_KAFKA && kafka_check_conf(k))
		return -EINVAL;
	return 0;
}

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

struct run_state {
	struct run_opts *o;
	struct sensor_iface iface[MAX_IFACES];
	int nifaces;
	struct worker *workers;
	struct xs_worker_stats *stats;
	unsigned int nworkers, started;
	struct sink *sink;
	__u64 flows_expired;
};

struct flow_export {
	struct sink *sink;
	const char *ifname;
};

static void export_flow(const struct flow_entry *e, void *arg)
{
	struct flow_export *x = arg;

	sink_export_flow(x->sink, e, x->ifname);
}

/* Idle flows leave the table (as KFlow records with --flows-topic); with
 * idle_ns 0, every flow is exported and none removed (at exit). */
static __u64 expire_flows(struct run_state *st, __u64 idle_ns)
{
	bool export = st->o->sink.kafka.flows_topic;
	__u64 n = 0;

	for (int f = 0; f < st->nifaces; f++) {
		struct flow_export x = { .sink = st->sink, .ifname = st->iface[f].name };

		if (!st->iface[f].skel)
			continue;
		if (!idle_ns && !export)
			continue;
		n += flow_expire(bpf_map__fd(st->iface[f].skel->maps.flows), idle_ns,
				 export ? export_flow : NULL, &x);
	}
	return n;
}

/* Copies each worker's counters and its socket's into the pinned map. */
static void publish_stats(struct run_state *st)
{
	for (unsigned int i = 0; i < st->nworkers; i++) {
		struct worker *w = &st->workers[i];
		struct xs_worker_stats *ws = &st->stats[i];
		struct xdp_statistics xs;

		if (!w->xsk.xsk || xsk_queue_statistics(&w->xsk, &xs))
			continue;
		ws->xsk_rx_dropped = xs.rx_dropped;
		ws->xsk_rx_invalid_descs = xs.rx_invalid_descs;
		ws->xsk_rx_ring_full = xs.rx_ring_full;
		ws->xsk_fill_ring_empty = xs.rx_fill_ring_empty_descs;
		for (int f = 0; f < st->nifaces; f++) {
			struct sensor_iface *s = &st->iface[f];

			if (!strcmp(s->name, w->ifname) && s->skel)
				bpf_map__update_elem(s->skel->maps.workers, &w->xsk.queue_id,
						     sizeof(__u32), ws, sizeof(*ws), BPF_ANY);
		}
	}
}

static int open_workers(struct run_state *st)
{
	unsigned int n = 0;

	for (int f = 0; f < st->nifaces; f++)
		n += (unsigned int)st->iface[f].nqueues;
	st->workers = calloc(n, sizeof(*st->workers));
	st->stats = calloc(n, sizeof(*st->stats));
	if (!st->workers || !st->stats)
		return -ENOMEM;
	st->nworkers = n;
	return 0;
}

static int start_workers(struct run_state *st)
{
	unsigned int i = 0;
	int err;

	for (int f = 0; f < st->nifaces; f++) {
		struct sensor_iface *s = &st->iface[f];
		int xsks_fd = bpf_map__fd(s->skel->maps.xsks);

		for (int q = 0; q < s->nqueues; q++, i++) {
			struct worker *w = &st->workers[i];

			*w = (struct worker){ .sink = st->sink, .ifname = s->name, .index = i,
					      .snaplen = st->o->snaplen,
					      .rx_sleep_us = st->o->rx_sleep_us, .stats = &st->stats[i],
					      .decap_max = st->o->rules.config.decap_max,
					      .stop = &stopping };
			err = xsk_queue_open(&w->xsk, s->name, (__u32)q, s->xdp_flags, xsks_fd,
					     bpf_map__fd(s->skel->maps.xsk_max_frame),
					     st->o->force_copy);
			if (!err)
				err = worker_start(w);
			if (err)
				return err;
			st->started++;
		}
		pr_info("%s: %d AF_XDP socket(s), %s mode\n", s->name, s->nqueues,
			st->workers[i - 1].xsk.zerocopy ? "zero-copy" : "copy");
	}
	return 0;
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
	for (unsigned int i = 0; i < st->nworkers; i++) {
		struct worker *w = &st->workers[i];

		if (w->xsk.xsk)
			xsk_queue_close(&w->xsk, -1);
	}
}

static void print_summary(struct run_state *st)
{
	struct xs_worker_stats t = {};
	__u64 xdp[XS_STAT_MAX] = {}, one[XS_STAT_MAX];
	double p50, p99;
	__u64 flows_ok, flows_failed;

	for (unsigned int i = 0; i < st->nworkers; i++) {
		const __u64 *src = (const __u64 *)&st->stats[i];
		__u64 *dst = (__u64 *)&t;

		for (size_t j = 0; j < sizeof(t) / sizeof(__u64); j++)
			dst[j] += src[j];
	}
	for (int f = 0; f < st->nifaces; f++) {
		if (!st->iface[f].skel ||
		    datapath_read_stats(bpf_map__fd(st->iface[f].skel->maps.stats), one))
			continue;
		for (int j = 0; j < XS_STAT_MAX; j++)
			xdp[j] += one[j];
	}
	sink_latency(st->sink, &p50, &p99);
	sink_flow_counts(st->sink, &flows_ok, &flows_failed);
	printf("{\"rx_packets\":%llu,\"captured\":%llu,\"received\":%llu,\"produced\":%llu,"
	       "\"delivered\":%llu,\"failed\":%llu,\"queue_full\":%llu,\"sink_errors\":%llu,"
	       "\"xsk_rx_dropped\":%llu,\"xsk_rx_ring_full\":%llu,\"no_meta\":%llu,"
	       "\"flows_expired\":%llu,\"flows_exported\":%llu,\"flows_export_failed\":%llu,"
	       "\"latency_us\":{\"p50\":%.1f,\"p99\":%.1f}}\n",
	       (unsigned long long)xdp[XS_STAT_RX], (unsigned long long)xdp[XS_STAT_CAPTURED],
	       (unsigned long long)t.read, (unsigned long long)t.produced,
	       (unsigned long long)t.delivered, (unsigned long long)t.failed,
	       (unsigned long long)t.queue_full, (unsigned long long)t.sink_errors,
	       (unsigned long long)t.xsk_rx_dropped, (unsigned long long)t.xsk_rx_ring_full,
	       (unsigned long long)t.no_meta, (unsigned long long)st->flows_expired, (unsigned long long)flows_ok,
	       (unsigned long long)flows_failed, p50, p99);
	fflush(stdout);
}

static void main_loop(struct run_state *st)
{
	time_t start = time(NULL), last_pub = 0, last_expiry = start;

	while (!stopping) {
		time_t now;

		sink_poll(st->sink, 100);
		now = time(NULL);
		if (now != last_pub) {
			publish_stats(st);
			last_pub = now;
		}
		if (st->o->flow_timeout_s && now - last_expiry >= 5) {
			st->flows_expired +=
				expire_flows(st, (__u64)st->o->flow_timeout_s * 1000000000ull);
			last_expiry = now;
		}
		if (st->o->duration_s && now - start >= (time_t)st->o->duration_s)
			break;
	}
}

int cmd_run(int argc, char **argv)
{
	struct run_opts o = {};
	struct run_state st = { .o = &o };
	int err, ret = 1;

	err = parse_args(argc, argv, &o);
	if (err)
		return err < 0 ? 2 : 0;
	if (check_privileges() || datapath_ensure_bpffs())
		return 1;
	for (int i = 0; i < o.nifaces; i++)
		if (sensor_lookup(&st.iface[i], o.ifnames[i]))
			return 1;
	st.nifaces = o.nifaces;
	install_signals();

	/* the sink first: a bad Kafka option fails before the interface is touched */
	if (open_workers(&st))
		goto out;
	st.sink = sink_open(&o.sink, st.stats, st.nworkers);
	if (!st.sink)
		goto out;
	for (int i = 0; i < st.nifaces; i++)
		if (sensor_setup(&st.iface[i], &o.sensor))
			goto out;
	if (start_workers(&st))
		goto out;

	pr_info("capturing; stop with Ctrl-C (`xdpsensor stats` shows the counters)\n");
	main_loop(&st);
	ret = 0;
out:
	stop_workers(&st);
	publish_stats(&st);
	for (int i = 0; i < st.nifaces; i++) /* stop receiving before the flush */
		if (st.iface[i].xdp_flags) {
			xdp_detach(st.iface[i].ifindex, st.iface[i].xdp_flags);
			st.iface[i].xdp_flags = 0;
			pr_info("%s: XDP program detached\n", st.iface[i].name);
		}
	close_sockets(&st);
	if (st.sink && ret == 0)
		expire_flows(&st, 0); /* the last word on every flow still open */
	if (st.sink) {
		sink_flush(st.sink, FLUSH_TIMEOUT_MS);
		if (ret == 0)
			print_summary(&st);
		sink_close(st.sink);
	}
	for (int i = 0; i < st.nifaces; i++)
		sensor_teardown(&st.iface[i], o.sensor.keep_pins);
	free(st.workers);
	free(st.stats);
	return ret;
}
