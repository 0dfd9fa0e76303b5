// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* `xdpsensor run`'s options (run_opts.h). */
#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "commands.h"
#include "log.h"
#include "metrics.h"
#include "options.h"
#include "parked.h"
#include "run_opts.h"
#include "xsk.h"


static int opt_iface(void *base, const char *arg)
{
	struct run_opts *o = base;

	for (int i = 0; i < o->nifaces; i++)
		if (!strcmp(o->ifnames[i], arg)) {
			pr_warn("interface %s given twice\n", arg);
			return -EINVAL;
		}
	if (o->nifaces == CAPTURE_MAX_IFACES) {
		pr_warn("at most %d interfaces\n", CAPTURE_MAX_IFACES);
		return -EINVAL;
	}
	o->ifnames[o->nifaces++] = arg;
	return 0;
}

static int opt_prop(void *base, const char *arg)
{
	struct kafka_opts *k = &((struct run_opts *)base)->sink.kafka;

	if (k->nprops == KAFKA_MAX_PROPS) {
		pr_warn("at most %d -X properties\n", KAFKA_MAX_PROPS);
		return -EINVAL;
	}
	k->props[k->nprops++] = arg;
	return 0;
}

static int opt_output(void *base, const char *arg)
{
	return sink_parse_output(arg, &((struct run_opts *)base)->sink);
}

static int opt_key(void *base, const char *arg)
{
	if (!parse_key_scheme(arg, &((struct run_opts *)base)->sink.kafka.key))
		return 0;
	pr_warn("unknown --key '%s': use 5tuple, community-id or metron\n", arg);
	return -EINVAL;
}

static int opt_ts_unit(void *base, const char *arg)
{
	if (!parse_ts_unit(arg, &((struct run_opts *)base)->sink.kafka.ts_unit))
		return 0;
	pr_warn("unknown --ts-unit '%s': use ms, us or ns\n", arg);
	return -EINVAL;
}

static int opt_xdp_mode(void *base, const char *arg)
{
	if (!parse_xdp_mode(arg, &((struct run_opts *)base)->sensor.xdp_mode))
		return 0;
	pr_warn("unknown --xdp-mode '%s': use native, generic or auto\n", arg);
	return -EINVAL;
}

static int opt_headers(void *base, const char *arg)
{
	struct run_opts *o = base;

	if (!strcmp(arg, "compact"))
		o->sink.kafka.headers = HEADERS_COMPACT;
	else if (!strcmp(arg, "all"))
		o->sink.kafka.headers = HEADERS_ALL;
	else if (!strcmp(arg, "none"))
		o->sink.kafka.headers = HEADERS_NONE;
	else {
		pr_warn("--headers takes compact, all or none, not '%s'\n", arg);
		return -EINVAL;
	}
	return 0;
}

static int opt_producer(void *base, const char *arg)
{
	struct run_opts *o = base;

	if (!strcmp(arg, "librdkafka"))
		o->sink.kafka.producer = PRODUCER_LIBRDKAFKA;
	else if (!strcmp(arg, "batch"))
		o->sink.kafka.producer = PRODUCER_BATCH;
	else {
		pr_warn("--producer takes librdkafka or batch, not '%s'\n", arg);
		return -EINVAL;
	}
	return 0;
}

static int opt_flows_format(void *base, const char *arg)
{
	if (!parse_flows_format(arg, &((struct run_opts *)base)->flows_format))
		return 0;
	pr_warn("--flows-format takes json or kflow, not '%s'\n", arg);
	return -EINVAL;
}

static int opt_metrics(void *base, const char *arg)
{
	struct run_opts *o = base;

	if (metrics_parse_addr(arg, o->metrics_addr, sizeof(o->metrics_addr), &o->metrics_port))
		return -EINVAL;
	/* librdkafka's statistics for the page; -c/-X may set another interval */
	o->sink.kafka.stats_interval_ms = "5000";
	return 0;
}

#define RUN(field) OFF(struct run_opts, field)
static const struct opt_def run_defs[] = {
	{ "interface", 'i', OPT_CALL, .call = opt_iface, .arg = "IFACE",
	  .help = "interface to capture on (repeatable)" },
	{ "brokers", 'b', OPT_STRING, RUN(sink.kafka.brokers), .arg = "LIST",
	  .help = "Kafka bootstrap servers (host:port,...)" },
	{ "topic", 't', OPT_STRING, RUN(sink.kafka.topic), .arg = "TOPIC",
	  .help = "topic (default " KAFKA_DEFAULT_TOPIC ")" },
	{ "property", 'X', OPT_CALL, .call = opt_prop, .arg = "NAME=VALUE",
	  .help = "any librdkafka property (repeatable)" },
	{ "config", 'c', OPT_STRING, RUN(sink.kafka.config_file), .arg = "FILE",
	  .help = "librdkafka properties, one NAME=VALUE a line" },
	{ "key", 0, OPT_CALL, .call = opt_key, .arg = "SCHEME",
	  .help = "5tuple (default), community-id or metron" },
	{ "ts-unit", 0, OPT_CALL, .call = opt_ts_unit, .arg = "UNIT",
	  .help = "metron key unit: ms, us or ns (default ns)" },
	{ "output", 0, OPT_CALL, .call = opt_output, .arg = "SINK",
	  .help = "kafka (default), null (read and key only) or pcap:FILE" },
	{ "block", 0, OPT_FLAG, RUN(sink.kafka.block),
	  .help = "wait when the producer queue is full instead of\n"
		  "spooling or dropping (no spool)" },
	{ "headers", 0, OPT_CALL, .call = opt_headers, .arg = "MODE",
	  .help = "record metadata: compact (default: one binary header,\n"
		  "xs.meta), all (five: xs.ts_ns, xs.iface, ...) or none" },
	{ "producer", 0, OPT_CALL, .call = opt_producer, .arg = "KIND",
	  .help = "packet records through librdkafka (default) or batch:\n"
		  "the sensor's own record-batch writer (plaintext brokers,\n"
		  "fixed settings; -X/-c then configure the flow records)" },
	{ "spool-dir", 0, OPT_STRING, RUN(sink.spool_dir), .arg = "DIR",
	  .help = "where records Kafka cannot take wait, one directory\n"
		  "per worker (default " SPOOL_DEFAULT_DIR ")" },
	{ "spool-max", 0, OPT_SIZE, RUN(sink.spool_max), 0, 1ull << 50, .arg = "BYTES",
	  .help = "spool size on disk, all workers (default 1G; 0: no\n"
		  "spool, drop what Kafka cannot take)" },
	{ "snaplen", 0, OPT_UINT, RUN(snaplen), 1, 65535, .arg = "N",
	  .help = "keep at most N bytes of each frame" },
	{ "xdp-mode", 0, OPT_CALL, .call = opt_xdp_mode, .arg = "MODE",
	  .help = "native, generic or auto (default)" },
	{ "copy", 0, OPT_FLAG, RUN(force_copy),
	  .help = "AF_XDP copy mode even where zero-copy works" },
	{ "rx-sleep-us", 0, OPT_UINT, RUN(rx_sleep_us), 0, 10000, .arg = "N",
	  .help = "while traffic flows, look at an empty RX ring again\n"
		  "after a nap fitted to the rate, of at most N us,\n"
		  "instead of being woken (default 4000; 0: always\n"
		  "wait to be woken, in poll())" },
	{ "umem-mb", 0, OPT_UINT, RUN(umem_mb), XSK_UMEM_MB_MIN, XSK_UMEM_MB_MAX, .arg = "MIB",
	  .help = "packet buffer of each AF_XDP socket (one per RX queue),\n"
		  "locked memory; its RX ring holds all of it (default 128:\n"
		  "32768 frames, 109 ms of 300 kpps for a busy worker)" },
	{ "park-mb", 0, OPT_UINT, RUN(sensor.park_mb), 0, 1024, .arg = "MIB",
	  .help = "ring, per interface, that keeps the frames to capture\n"
		  "while no socket takes them (the sensor restarted after\n"
		  "a crash, or stopping) for this or the next run; a power\n"
		  "of 2 (default 64: ~2 s of 300 kpps of 64 B frames; 0: none)" },
	{ "handover", 0, OPT_FLAG, RUN(handover),
	  .help = "stopped by a signal, leave the XDP program attached,\n"
		  "parking, for the next run to take over: a restart loses\n"
		  "nothing the ring holds (`xdpsensor detach` removes it)" },
	{ "force", 0, OPT_FLAG, RUN(sensor.force),
	  .help = "replace another XDP program on the interface" },
	{ "keep-pins", 0, OPT_FLAG, RUN(sensor.keep_pins),
	  .help = "leave the flow table pinned after exit" },
	{ "flows-max", 0, OPT_UINT, RUN(sensor.flows_max), 1, 1u << 26, .arg = "N",
	  .help = "flow table size (default 131072)" },
	{ "flow-timeout", 0, OPT_UINT, RUN(flow_timeout_s), 0, 1u << 30, .arg = "SECS",
	  .help = "remove flows idle this long (default 300; 0: never)" },
	{ "flow-active-timeout", 0, OPT_UINT, RUN(flow_active_s), 0, 1u << 30, .arg = "SECS",
	  .help = "export a flow still active every SECS with what it did\n"
		  "since its previous record (default 60; 0: only when it ends)" },
	{ "flows-topic", 0, OPT_STRING, RUN(sink.kafka.flows_topic), .arg = "TOPIC",
	  .help = "also produce flow records (JSON) to TOPIC, keyed like\n"
		  "the flow's packets" },
	{ "flows-format", 0, OPT_CALL, .call = opt_flows_format, .arg = "FMT",
	  .help = "json (default: KFlow's fields and ours) or kflow\n"
		  "(exactly KFlow's fields)" },
	{ "metrics", 0, OPT_CALL, .call = opt_metrics, .arg = "[ADDR:]PORT",
	  .help = "serve Prometheus metrics at http://ADDR:PORT/metrics\n"
		  "(ADDR default " METRICS_DEFAULT_ADDR ": this machine only)" },
	{ "duration", 0, OPT_UINT, RUN(duration_s), 0, 1u << 30, .arg = "SECS",
	  .help = "stop after SECS seconds" },
	{ "verbose", 'v', OPT_CALL, .call = opt_verbose,
	  .help = "more messages (-v -v: libbpf's too)" },
	{}
};
#undef RUN

static const char run_usage[] =
	"usage: xdpsensor run -i IFACE [-i IFACE...] -b BROKERS [-t TOPIC] [OPTIONS]\n"
	"Attaches to the interfaces and produces the captured packets to Kafka.\n";

int run_parse_args(int argc, char **argv, struct run_opts *o, const volatile sig_atomic_t *stop)
{
	struct kafka_opts *k = &o->sink.kafka;
	struct opt_table tables[2];
	int err;

	rules_init(&o->rules, XS_ACTION_CAPTURE);
	o->sensor.rules = &o->rules;
	o->sensor.park_mb = PARK_MB_DEFAULT;
	o->sink.kind = SINK_KAFKA;
	k->ts_unit = TS_NS;
	k->stop = stop;
	o->sink.spool_dir = SPOOL_DEFAULT_DIR;
	o->sink.spool_max = SPOOL_DEFAULT_MAX;
	o->flow_timeout_s = 300;
	o->flow_active_s = 60;
	o->rx_sleep_us = 4000; /* fewer wake-ups, less CPU: bench/RESULTS.md */
	o->umem_mb = XSK_UMEM_MB_DEFAULT;
	tables[0] = (struct opt_table){ .defs = run_defs, .base = o };
	tables[1] = rule_options(&o->rules);

	err = opts_parse(argc, argv, run_usage, tables, 2);
	if (err)
		return err;
	if (optind < argc) {
		pr_warn("unexpected argument '%s'\n", argv[optind]);
		return -EINVAL;
	}
	if (!o->nifaces) {
		pr_warn("run needs an interface: -i IFACE\n");
		return -EINVAL;
	}
	if (o->sensor.park_mb & (o->sensor.park_mb - 1)) {
		pr_warn("--park-mb %u: a power of 2 (1, 2, 4, ... 1024), or 0\n", o->sensor.park_mb);
		return -EINVAL;
	}
	/* a frame with no socket to go to waits for the next run, should
	 * this one die (parked.h) */
	o->rules.config.park = o->sensor.park_mb != 0;
	if (o->handover && !o->sensor.park_mb) {
		pr_warn("--handover needs the parking ring: --park-mb 0 turns it off\n");
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
