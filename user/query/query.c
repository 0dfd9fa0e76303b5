// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * `xdpsensor query`: Apache Metron's pcap_query on a sensor topic. Reads
 * the partitions over a time window, keeps the records whose frame passes
 * the filters, and writes them to a pcap in capture-time order.
 */
#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
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

#define MAX_PROPS 64
#define DEFAULT_TIMEOUT_S 10

static volatile sig_atomic_t stopping;

static void on_signal(int sig)
{
	(void)sig;
	stopping = 1;
}

struct query_opts {
	struct scan_opts scan;
	char *props[MAX_PROPS];
	struct pkt_filter filter;
	const char *out_path;
	const char *start, *end;
	bool flow, count, quiet;
	enum key_scheme key;
	unsigned long long limit; /* 0: no limit */
};

enum {
	OPT_START = 0x100, OPT_END, OPT_SRC_ADDR, OPT_DST_ADDR, OPT_SRC_PORT, OPT_DST_PORT,
	OPT_PROTO, OPT_REVERSE, OPT_FILTER, OPT_PACKET_FILTER, OPT_FLOW, OPT_KEY, OPT_LIMIT,
	OPT_COUNT, OPT_TIMEOUT,
};

static void usage(FILE *f)
{
	fprintf(f,
		"usage: xdpsensor query -b BROKERS -t TOPIC --start TIME [--end TIME] [FILTERS]\n"
		"                       -w FILE|- | --count\n"
		"Writes the packets of a sensor topic that pass every filter to a pcap (ns\n"
		"timestamps), in capture-time order across partitions.\n"
		"  -b, --brokers LIST      Kafka bootstrap servers (host:port,...)\n"
		"  -t, --topic TOPIC       the sensor's topic\n"
		"  -X NAME=VALUE           any librdkafka consumer property (repeatable)\n"
		"  --start TIME            first capture time (required); TIME is RFC 3339\n"
		"                          (2024-05-01T12:00:00.5Z), epoch ms, \"15m ago\" or \"now\"\n"
		"  --end TIME              capture times before TIME (default: up to the end of\n"
		"                          each partition as the query starts)\n"
		"  -w, --write FILE|-      the pcap; '-' for stdout (xdpsensor query ... -w - |\n"
		"                          tshark -r -); a file appears only when complete\n"
		"  --count                 print the number of matching packets instead\n"
		"  --limit N               stop after N packets\n"
		"  --timeout SECS          wait at most SECS for the broker, and for a stalled\n"
		"                          read (default %d)\n"
		"  -q, --quiet             no progress lines on stderr\n"
		"filters (all must match; read from the frame itself):\n"
		"  --src-addr ADDR[/LEN]   source address or prefix (IPv4 or IPv6)\n"
		"  --dst-addr ADDR[/LEN]   destination address or prefix\n"
		"  --src-port N            source port (TCP, UDP, SCTP)\n"
		"  --dst-port N            destination port\n"
		"  --proto NAME|N          tcp, udp, icmp, icmpv6, sctp or a number\n"
		"  --include-reverse       also match with source and destination swapped\n"
		"  --filter EXPR           a tcpdump/pcap-filter expression (libpcap)\n"
		"  --packet-filter REGEX   a PCRE2 regular expression over the frame's bytes:\n"
		"                          \\xNN is a byte, '.' any byte, no UTF ('\\x47\\x45\\x54 /')\n"
		"  --flow                  read only the partition the flow's key maps to (needs\n"
		"                          --src-addr, --dst-addr, --proto and ports)\n"
		"  --key SCHEME            the topic's key for --flow: 5tuple (default) or\n"
		"                          community-id\n",
		DEFAULT_TIMEOUT_S);
}

static int parse_ulong(const char *name, const char *arg, unsigned long long max,
		       unsigned long long *out)
{
	char *end;

	errno = 0;
	*out = isdigit((unsigned char)*arg) ? strtoull(arg, &end, 10) : 0;
	if (!isdigit((unsigned char)*arg) || *end || errno || *out > max) {
		pr_warn("%s '%s': not a number from 0 to %llu\n", name, arg, max);
		return -EINVAL;
	}
	return 0;
}

static int parse_addr(const char *name, const char *arg, struct addr_prefix *p, bool *has)
{
	if (addr_prefix_parse(arg, p)) {
		pr_warn("%s '%s': not an IPv4 or IPv6 address or prefix\n", name, arg);
		return -EINVAL;
	}
	*has = true;
	return 0;
}

static int parse_port(const char *name, const char *arg, int *out)
{
	unsigned long long v;

	if (parse_ulong(name, arg, 65535, &v))
		return -EINVAL;
	*out = (int)v;
	return 0;
}

static int parse_args(int argc, char **argv, struct query_opts *o)
{
	static const struct option longopts[] = {
		{ "brokers", required_argument, NULL, 'b' },
		{ "topic", required_argument, NULL, 't' },
		{ "write", required_argument, NULL, 'w' },
		{ "quiet", no_argument, NULL, 'q' },
		{ "help", no_argument, NULL, 'h' },
		{ "start", required_argument, NULL, OPT_START },
		{ "end", required_argument, NULL, OPT_END },
		{ "src-addr", required_argument, NULL, OPT_SRC_ADDR },
		{ "dst-addr", required_argument, NULL, OPT_DST_ADDR },
		{ "src-port", required_argument, NULL, OPT_SRC_PORT },
		{ "dst-port", required_argument, NULL, OPT_DST_PORT },
		{ "proto", required_argument, NULL, OPT_PROTO },
		{ "include-reverse", no_argument, NULL, OPT_REVERSE },
		{ "filter", required_argument, NULL, OPT_FILTER },
		{ "packet-filter", required_argument, NULL, OPT_PACKET_FILTER },
		{ "flow", no_argument, NULL, OPT_FLOW },
		{ "key", required_argument, NULL, OPT_KEY },
		{ "limit", required_argument, NULL, OPT_LIMIT },
		{ "count", no_argument, NULL, OPT_COUNT },
		{ "timeout", required_argument, NULL, OPT_TIMEOUT },
		{}
	};
	struct pkt_filter *f = &o->filter;
	unsigned long long v;
	int opt, err = 0;

	optind = 1;
	while (!err && (opt = getopt_long(argc, argv, "b:t:X:w:qh", longopts, NULL)) != -1) {
		switch (opt) {
		case 'b': o->scan.brokers = optarg; break;
		case 't': o->scan.topic = optarg; break;
		case 'w': o->out_path = optarg; break;
		case 'q': o->quiet = true; break;
		case 'X':
			if (o->scan.nprops == MAX_PROPS) {
				pr_warn("-X: at most %d properties\n", MAX_PROPS);
				err = -EINVAL;
			} else {
				o->props[o->scan.nprops++] = optarg;
			}
			break;
		case 'h': usage(stdout); return 1;
		case OPT_START: o->start = optarg; break;
		case OPT_END: o->end = optarg; break;
		case OPT_SRC_ADDR: err = parse_addr("--src-addr", optarg, &f->src, &f->has_src); break;
		case OPT_DST_ADDR: err = parse_addr("--dst-addr", optarg, &f->dst, &f->has_dst); break;
		case OPT_SRC_PORT: err = parse_port("--src-port", optarg, &f->sport); break;
		case OPT_DST_PORT: err = parse_port("--dst-port", optarg, &f->dport); break;
		case OPT_PROTO:
			f->proto = proto_from_name(optarg);
			if (f->proto < 0) {
				pr_warn("--proto '%s': use tcp, udp, icmp, icmpv6, sctp or 0-255\n",
					optarg);
				err = -EINVAL;
			}
			break;
		case OPT_REVERSE: f->include_reverse = true; break;
		case OPT_FILTER: err = pkt_filter_set_bpf(f, optarg); break;
		case OPT_PACKET_FILTER: err = pkt_filter_set_regex(f, optarg); break;
		case OPT_FLOW: o->flow = true; break;
		case OPT_KEY:
			if (parse_key_scheme(optarg, &o->key)) {
				pr_warn("--key '%s': use 5tuple or community-id\n", optarg);
				err = -EINVAL;
			}
			break;
		case OPT_LIMIT: err = parse_ulong("--limit", optarg, ~0ull, &o->limit); break;
		case OPT_COUNT: o->count = true; break;
		case OPT_TIMEOUT:
			err = parse_ulong("--timeout", optarg, 3600, &v);
			if (!err && !v) {
				pr_warn("--timeout: at least 1 s\n");
				err = -EINVAL;
			}
			o->scan.timeout_ms = (int)v * 1000;
			break;
		default:
			/* getopt named the option on stderr */
			return -EINVAL;
		}
	}
	if (err)
		return err;
	if (optind < argc) {
		pr_warn("query: unexpected argument '%s'\n", argv[optind]);
		return -EINVAL;
	}
	if (!o->scan.brokers || !o->scan.topic || !o->start) {
		pr_warn("query needs -b BROKERS, -t TOPIC and --start TIME (--help)\n");
		return -EINVAL;
	}
	if (!o->out_path == !o->count) {
		pr_warn("query needs either -w FILE|- or --count\n");
		return -EINVAL;
	}
	return 0;
}

static int parse_times(struct query_opts *o)
{
	__u64 now = clock_ns(CLOCK_REALTIME);
	char a[TIME_TEXT_LEN], b[TIME_TEXT_LEN];

	if (time_spec_parse(o->start, now, &o->scan.start_ns)) {
		pr_warn("--start '%s': not a time (RFC 3339 with a zone, epoch ms, or \"15m ago\")\n",
			o->start);
		return -EINVAL;
	}
	o->scan.end_ns = SCAN_NO_END;
	if (!o->end)
		return 0;
	if (time_spec_parse(o->end, now, &o->scan.end_ns)) {
		pr_warn("--end '%s': not a time (RFC 3339 with a zone, epoch ms, or \"15m ago\")\n",
			o->end);
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
		pr_warn("query: %llu records had no xs.ts_ns header: their times come from the"
			" metron key or the record timestamp (ms)\n",
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
		.scan = { .timeout_ms = DEFAULT_TIMEOUT_S * 1000, .what = "query",
			  .stop = &stopping },
		.key = KEY_5TUPLE,
	};
	struct sigaction sa = { .sa_handler = on_signal };
	int err, n;

	pkt_filter_init(&o.filter);
	o.scan.props = o.props;
	err = parse_args(argc, argv, &o);
	if (!err)
		err = parse_times(&o);
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
