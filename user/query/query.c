// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * `xdpsensor query`: Apache Metron's pcap_query on a sensor topic. Reads
 * the partitions over a time window, keeps the records whose frame passes
 * the filters, and writes them to a pcap in capture-time order.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "clock.h"
#include "flow_partition.h"
#include "log.h"
#include "pcap_out.h"
#include "query_cmds.h"
#include "rules.h"
#include "time_spec.h"
#include "topic_scan.h"

static volatile sig_atomic_t stopping;

static void on_signal(int sig)
{
	(void)sig;
	stopping = 1;
}

struct query_opts {
	struct scan_opts scan;
	struct pkt_filter filter;
	const char *out_path;
	bool has_start, flow, count, quiet;
	enum key_scheme key;
	__u64 limit;  /* 0: no limit */
	__u64 now_ns; /* what --start and --end are relative to */
};

static int opt_start(void *base, const char *arg)
{
	struct query_opts *o = base;

	o->has_start = true;
	return opt_time("--start", arg, o->now_ns, &o->scan.start_ns);
}

static int opt_end(void *base, const char *arg)
{
	struct query_opts *o = base;

	return opt_time("--end", arg, o->now_ns, &o->scan.end_ns);
}

static int opt_addr(const char *name, const char *arg, struct addr_prefix *p, bool *has)
{
	if (addr_prefix_parse(arg, p)) {
		pr_warn("%s '%s': not an IPv4 or IPv6 address or prefix\n", name, arg);
		return -EINVAL;
	}
	*has = true;
	return 0;
}

static int opt_src_addr(void *base, const char *arg)
{
	struct pkt_filter *f = &((struct query_opts *)base)->filter;

	return opt_addr("--src-addr", arg, &f->src, &f->has_src);
}

static int opt_dst_addr(void *base, const char *arg)
{
	struct pkt_filter *f = &((struct query_opts *)base)->filter;

	return opt_addr("--dst-addr", arg, &f->dst, &f->has_dst);
}

static int opt_proto(void *base, const char *arg)
{
	struct pkt_filter *f = &((struct query_opts *)base)->filter;

	f->proto = proto_from_name(arg);
	if (f->proto >= 0)
		return 0;
	pr_warn("--proto '%s': use tcp, udp, icmp, icmpv6, sctp or 0-255\n", arg);
	return -EINVAL;
}

static int opt_filter(void *base, const char *arg)
{
	return pkt_filter_set_bpf(&((struct query_opts *)base)->filter, arg);
}

static int opt_packet_filter(void *base, const char *arg)
{
	return pkt_filter_set_regex(&((struct query_opts *)base)->filter, arg);
}

static int opt_key_layer(void *base, const char *arg)
{
	return parse_key_layer(arg, &((struct query_opts *)base)->filter.decap_max);
}

static int opt_key(void *base, const char *arg)
{
	if (!parse_key_scheme(arg, &((struct query_opts *)base)->key))
		return 0;
	pr_warn("--key '%s': use 5tuple or community-id\n", arg);
	return -EINVAL;
}

#define Q(field) OFF(struct query_opts, field)
static const struct opt_def query_defs[] = {
	{ "start", 0, OPT_CALL, .call = opt_start, .arg = "TIME",
	  .help = "first capture time (required); TIME is RFC 3339\n"
		  "(2024-05-01T12:00:00.5Z), epoch ms, \"15m ago\" or \"now\"" },
	{ "end", 0, OPT_CALL, .call = opt_end, .arg = "TIME",
	  .help = "capture times before TIME (default: up to the end of\n"
		  "each partition as the query starts)" },
	{ "write", 'w', OPT_STRING, Q(out_path), .arg = "FILE|-",
	  .help = "the pcap; '-' for stdout (xdpsensor query ... -w - |\n"
		  "tshark -r -); a file appears only when complete" },
	{ "count", 0, OPT_FLAG, Q(count), .help = "print the number of matching packets instead" },
	{ "limit", 0, OPT_U64, Q(limit), 0, UINT64_MAX, .arg = "N",
	  .help = "stop after N packets (0: no limit)" },
	{ "quiet", 'q', OPT_FLAG, Q(quiet), .help = "no progress lines on stderr" },
	{}
};

/* the ports are the filter's ints (-1: any), OPT_UINT writes them as unsigned */
static const struct opt_def filter_defs[] = {
	{ "src-addr", 0, OPT_CALL, .call = opt_src_addr, .arg = "ADDR[/LEN]",
	  .help = "source address or prefix (IPv4 or IPv6)" },
	{ "dst-addr", 0, OPT_CALL, .call = opt_dst_addr, .arg = "ADDR[/LEN]",
	  .help = "destination address or prefix" },
	{ "src-port", 0, OPT_UINT, Q(filter.sport), 0, 65535, .arg = "N",
	  .help = "source port (TCP, UDP, SCTP)" },
	{ "dst-port", 0, OPT_UINT, Q(filter.dport), 0, 65535, .arg = "N",
	  .help = "destination port" },
	{ "proto", 0, OPT_CALL, .call = opt_proto, .arg = "NAME|N",
	  .help = "tcp, udp, icmp, icmpv6, sctp or a number" },
	{ "include-reverse", 0, OPT_FLAG, Q(filter.include_reverse),
	  .help = "also match with source and destination swapped" },
	{ "key-layer", 0, OPT_CALL, .call = opt_key_layer, .arg = "inner|outer",
	  .help = "the fields above are the flow's the sensor keys by:\n"
		  "inside tunnels (default) or the tunnel's, as its --key-layer" },
	{ "filter", 0, OPT_CALL, .call = opt_filter, .arg = "EXPR",
	  .help = "a tcpdump/pcap-filter expression (libpcap)" },
	{ "packet-filter", 0, OPT_CALL, .call = opt_packet_filter, .arg = "REGEX",
	  .help = "a PCRE2 regular expression over the frame's bytes:\n"
		  "\\xNN is a byte, '.' any byte, no UTF ('\\x47\\x45\\x54 /')" },
	{ "flow", 0, OPT_FLAG, Q(flow),
	  .help = "read only the partition the flow's key maps to (needs\n"
		  "--src-addr, --dst-addr, --proto and ports)" },
	{ "key", 0, OPT_CALL, .call = opt_key, .arg = "SCHEME",
	  .help = "the topic's key for --flow: 5tuple (default) or\ncommunity-id" },
	{}
};
#undef Q

static const char query_usage[] =
	"usage: xdpsensor query -b BROKERS -t TOPIC --start TIME [--end TIME] [FILTERS]\n"
	"                       -w FILE|- | --count\n"
	"Writes the packets of a sensor topic that pass every filter to a pcap (ns\n"
	"timestamps), in capture-time order across partitions.\n";

/* 0 to run, 1 after --help, -EINVAL on a bad command line (said why) */
static int parse_args(int argc, char **argv, struct query_opts *o)
{
	struct opt_table tables[3];
	char a[TIME_TEXT_LEN], b[TIME_TEXT_LEN];
	int err;

	tables[0] = topic_options(&o->scan);
	tables[1] = (struct opt_table){ .defs = query_defs, .base = o };
	tables[2] = (struct opt_table){
		.title = "filters (all must match; read from the frame itself):",
		.defs = filter_defs,
		.base = o,
	};
	err = opts_parse(argc, argv, query_usage, tables, 3);
	if (err)
		return err;
	if (optind < argc) {
		pr_warn("query: unexpected argument '%s'\n", argv[optind]);
		return -EINVAL;
	}
	if (!o->scan.brokers || !o->scan.topic || !o->has_start) {
		pr_warn("query needs -b BROKERS, -t TOPIC and --start TIME (--help)\n");
		return -EINVAL;
	}
	if (scan_check_conf(&o->scan))
		return -EINVAL;
	if (!o->out_path == !o->count) {
		pr_warn("query needs either -w FILE|- or --count\n");
		return -EINVAL;
	}
	if (o->scan.end_ns <= o->scan.start_ns) {
		time_format_ns(o->scan.start_ns, a);
		time_format_ns(o->scan.end_ns, b);
		pr_warn("--end %s is not after --start %s\n", b, a);
		return -EINVAL;
	}
	return 0;
}

static bool keep(void *ctx, const struct topic_rec *r)
{
	struct pkt_filter *f = ctx;

	return pkt_filter_match(f, r->msg->payload, (__u32)r->msg->len, r->orig_len);
}

/* One summary line on stderr, and warnings for what a user must know. */
static void report(const struct query_opts *o, struct scan *s, unsigned long long written,
		   int flow_part)
{
	struct scan_stats st;
	char part[64] = "";

	scan_get_stats(s, &st);
	if (flow_part >= 0)
		snprintf(part, sizeof(part), " (--flow: partition %d)", flow_part);
	pr_info("query: read %d of %d partitions%s, %llu records scanned in %.1f s"
			" (%.0f/s), %llu outside the time window, %llu %s%s%s\n",
			st.partitions_read, st.partitions, part, (unsigned long long)st.scanned,
			st.seconds, st.seconds > 0 ? (double)st.scanned / st.seconds : 0.0,
			(unsigned long long)st.outside_window, written,
			o->count ? "matched" : "written to ",
			o->count ? "" : (strcmp(o->out_path, "-") ? o->out_path : "stdout"),
			o->limit && written == o->limit ? " (--limit)" : "");
	if (st.late)
		pr_warn("query: %llu packets were written out of capture order (more than %d"
			" records late in their partition)\n", (unsigned long long)st.late,
			SCAN_WINDOW);
	if (st.no_ts_header)
		pr_warn("query: %llu records had no capture time header (xs.meta, xs.ts_ns): their"
			" times come from the metron key or the record timestamp (ms)\n",
			(unsigned long long)st.no_ts_header);
	if (o->filter.re_errors)
		pr_warn("query: the regex engine gave up on %lu frames (not matched)\n",
			o->filter.re_errors);
}

static int run_query(struct query_opts *o)
{
	struct pcap_out *out = NULL;
	unsigned long long written = 0;
	struct topic_rec r;
	struct scan *s;
	int flow_part = -1, err = 0, n;

	/* an output that cannot be written fails before any broker is asked */
	if (o->out_path && !(out = pcap_out_open(o->out_path)))
		return 1;
	s = scan_open(&o->scan);
	if (!s) {
		err = -EIO;
		goto out;
	}
	if (o->flow) {
		err = flow_partition(&o->filter, o->key, scan_partition_count(s), &flow_part);
		if (err)
			goto out;
		scan_only_partition(s, flow_part);
	}
	while ((!o->limit || written < o->limit) && (n = scan_next(s, &r)) > 0) {
		if (out)
			err = pcap_out_write(out, r.ts_ns, r.msg->payload, (__u32)r.msg->len,
					     r.orig_len);
		scan_release(&r);
		if (err)
			goto out;
		written++;
	}
	if (n < 0) {
		err = n;
		if (n == -EINTR)
			pr_warn("query: interrupted; %s\n", out && strcmp(o->out_path, "-") ?
				"no file written" : "the output is incomplete");
		goto out;
	}
	report(o, s, written, flow_part);
	if (o->count)
		printf("%llu\n", written);
out:
	if (out && pcap_out_close(out, !err) && !err)
		err = -EIO;
	scan_close(s);
	if (err == -EINTR)
		return 130;
	return err ? 1 : 0;
}

int cmd_query(int argc, char **argv)
{
	struct query_opts o = {
		.scan = { .end_ns = SCAN_NO_END, .what = "query", .stop = &stopping },
		.key = KEY_5TUPLE,
		.now_ns = clock_ns(CLOCK_REALTIME),
	};
	struct sigaction sa = { .sa_handler = on_signal };
	int err, n;

	pkt_filter_init(&o.filter);
	err = parse_args(argc, argv, &o);
	if (!err && o.flow) /* what --flow misses is a usage error: say it now */
		err = flow_partition(&o.filter, o.key, 1, &n);
	if (err) {
		pkt_filter_free(&o.filter);
		return err > 0 ? 0 : 2;
	}
	o.scan.ordered = !o.count; /* a count needs no order */
	o.scan.progress = !o.quiet;
	o.scan.keep = pkt_filter_any(&o.filter) ? keep : NULL;
	o.scan.keep_ctx = &o.filter;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	signal(SIGPIPE, SIG_IGN); /* a closed pipe is a write error, said once */
	err = run_query(&o);
	pkt_filter_free(&o.filter);
	return err;
}
