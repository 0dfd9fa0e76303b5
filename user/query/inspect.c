// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * `xdpsensor inspect`: Apache Metron's PcapInspector on a sensor topic.
 * Prints the first N records from a time on, one line each (or one JSON
 * object each), in capture-time order across partitions: capture time,
 * partition/offset, the key decoded by its scheme, the frame's own 5-tuple
 * and length, the headers.
 */
#include <ctype.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <arpa/inet.h>

#include "clock.h"
#include "datapath.h"
#include "flow_parse.h"
#include "log.h"
#include "packet_text.h"
#include "query_cmds.h"
#include "record_meta.h"
#include "rules.h"
#include "time_spec.h"
#include "topic_scan.h"

#define DEFAULT_COUNT 10

static volatile sig_atomic_t stopping;

static void on_signal(int sig)
{
	(void)sig;
	stopping = 1;
}

static const char *const ts_source_names[] = {
	[TS_SRC_HEADER] = "header", [TS_SRC_METRON_KEY] = "metron-key",
	[TS_SRC_RECORD] = "record",
};

/* A JSON string, or text as it is (for the one-line format). */
static void put_str(FILE *f, const char *s, size_t len, bool json)
{
	if (!json) {
		for (size_t i = 0; i < len; i++)
			fputc(isgraph((unsigned char)s[i]) ? s[i] : '?', f);
		return;
	}
	fputc('"', f);
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c == '"' || c == '\\')
			fprintf(f, "\\%c", c);
		else if (c < 0x20 || c >= 0x7f)
			fprintf(f, "\\u%04x", c);
		else
			fputc(c, f);
	}
	fputc('"', f);
}

static __u64 be(const __u8 *p, size_t n)
{
	__u64 v = 0;

	for (size_t i = 0; i < n; i++)
		v = v << 8 | p[i];
	return v;
}

/* xs.meta's fields, named as the five headers of --headers all name them. */
static void print_meta(FILE *f, const struct record_meta *m, bool json)
{
	if (json) {
		fprintf(f, "{\"ts_ns\":%llu,\"iface\":", (unsigned long long)m->ts_ns);
		put_str(f, m->ifname, strlen(m->ifname), true);
		fprintf(f, ",\"queue\":%u,\"dir\":%u,\"orig_len\":%u}", m->queue, m->dir,
			m->orig_len);
		return;
	}
	fprintf(f, "ts_ns:%llu,iface:", (unsigned long long)m->ts_ns);
	put_str(f, m->ifname, strlen(m->ifname), false);
	fprintf(f, ",queue:%u,dir:%u,orig_len:%u", m->queue, m->dir, m->orig_len);
}

/* Every header, the sensor's decoded, others in hex. */
static void print_headers(FILE *f, const rd_kafka_message_t *m, bool json)
{
	rd_kafka_headers_t *h = NULL;
	const char *name;
	const void *val;
	size_t size;

	if (json)
		fputs(",\"headers\":{", f);
	if (rd_kafka_message_headers(m, &h))
		h = NULL;
	for (size_t i = 0; h && !rd_kafka_header_get_all(h, i, &name, &val, &size); i++) {
		const __u8 *v = val;
		struct record_meta meta;

		if (json)
			fprintf(f, "%s", i ? "," : "");
		else
			fputc(' ', f);
		put_str(f, name, strlen(name), json);
		fputs(json ? ":" : "=", f);
		if (!v)
			fputs(json ? "null" : "-", f);
		else if (!strcmp(name, "xs.iface"))
			put_str(f, val, size, json);
		else if (!strcmp(name, RECORD_META_HEADER) && !record_meta_decode(v, size, &meta))
			print_meta(f, &meta, json);
		else if (size == 1 || size == 2 || size == 4 || size == 8)
			fprintf(f, "%llu", (unsigned long long)be(v, size));
		else {
			if (json)
				fputc('"', f);
			for (size_t j = 0; j < size; j++)
				fprintf(f, "%02x", v[j]);
			if (json)
				fputc('"', f);
		}
	}
	if (json)
		fputc('}', f);
}

/* An IP key's endpoints in text, as they went ("tcp 192.0.2.1:80 > ..."). */
static void print_ip_text(FILE *f, const struct xs_packet *p, const struct packet_text *t)
{
	const char *proto = proto_name(p->key.proto), *l = "", *r = "";
	char num[8];

	if (!proto) {
		snprintf(num, sizeof(num), "%u", p->key.proto);
		proto = num;
	}
	if (p->key.family == XS_FAMILY_IPV6) {
		l = "[";
		r = "]";
	}
	if (p->has_ports)
		fprintf(f, " %s %s%s%s:%u > %s%s%s:%u", proto, l, t->src, r, t->sport, l, t->dst, r,
			t->dport);
	else
		fprintf(f, " %s %s > %s", proto, t->src, t->dst);
}

/*
 * The frame's key as it went (not normalized): the flow the sensor keys it
 * by (inside tunnels, with the tunnel's), or at L2 the MAC addresses and
 * the EtherType or each end's LLC SAP, with why it is not IP.
 */
static void print_frame(FILE *f, const struct topic_rec *r, bool json)
{
	static const __u8 none[1];
	const rd_kafka_message_t *m = r->msg;
	const __u8 *d = m->payload ? m->payload : none;
	struct xs_packet p, outer;
	struct packet_text t, ot;
	int l2 = xs_parse_frame(d, d + m->len, &p, XS_MAX_DECAP);

	packet_text(&p, &t);
	if (p.decap) {
		xs_parse_frame(d, d + m->len, &outer, 0);
		packet_text(&outer, &ot);
	}
	if (json) {
		fputc(',', f);
		packet_key_json(f, &p, &t);
		if (l2)
			fprintf(f, ",\"l2_reason\":\"%s\"", stat_name(l2));
		if (p.decap) {
			fprintf(f, ",\"tunnel\":\"%s\",\"outer\":{", tunnel_name(p.tunnel));
			packet_key_json(f, &outer, &ot);
			fputc('}', f);
		}
		fprintf(f, ",\"caplen\":%zu,\"orig_len\":%u", m->len, r->orig_len);
		return;
	}
	if (l2 && t.sport >= XS_ETH_P_8023_MIN)
		fprintf(f, " ether %s > %s type %#06x (%s)", t.src, t.dst, t.sport, stat_name(l2));
	else if (l2)
		fprintf(f, " llc %s/0x%02x > %s/0x%02x (%s)", t.src, t.sport, t.dst, t.dport,
			stat_name(l2));
	else
		print_ip_text(f, &p, &t);
	if (p.decap) {
		fprintf(f, " in %s", tunnel_name(p.tunnel));
		print_ip_text(f, &outer, &ot);
	}
	fprintf(f, " len %zu/%u", m->len, r->orig_len);
}

static void print_record(FILE *f, const struct topic_rec *r, bool json)
{
	const rd_kafka_message_t *m = r->msg;
	char t[TIME_TEXT_LEN], key[128];
	const char *scheme;

	time_format_ns(r->ts_ns, t);
	topic_key_describe(m->key, m->key_len, key, sizeof(key), &scheme);
	if (json) {
		fprintf(f, "{\"time\":\"%s\",\"ts_ns\":%llu,\"ts_source\":\"%s\",\"partition\":%d,"
			"\"offset\":%lld,\"key_scheme\":\"%s\",\"key\":", t,
			(unsigned long long)r->ts_ns, ts_source_names[r->ts_source],
			(int)m->partition, (long long)m->offset, scheme);
		if (m->key)
			put_str(f, key, strlen(key), true);
		else
			fputs("null", f);
	} else {
		fprintf(f, "%s %d/%lld %s[%s]", t, (int)m->partition, (long long)m->offset,
			scheme, key);
	}
	print_frame(f, r, json);
	print_headers(f, m, json);
	fputs(json ? "}\n" : "\n", f);
}

struct inspect_opts {
	struct scan_opts scan;
	__u64 count; /* 0: all */
	bool json;
};

static int opt_from(void *base, const char *arg)
{
	struct scan_opts *so = &((struct inspect_opts *)base)->scan;

	return opt_time("--from", arg, clock_ns(CLOCK_REALTIME), &so->start_ns);
}

static const struct opt_def inspect_defs[] = {
	{ "count", 'n', OPT_U64, OFF(struct inspect_opts, count), 0, UINT64_MAX, .arg = "N",
	  .help = "records to print (default 10; 0: all)" },
	{ "from", 0, OPT_CALL, .call = opt_from, .arg = "TIME",
	  .help = "from this capture time on (default: the oldest record);\n"
		  "RFC 3339, epoch ms, \"15m ago\" or \"now\"" },
	{ "json", 0, OPT_FLAG, OFF(struct inspect_opts, json),
	  .help = "one JSON object per record" },
	{}
};

static const char inspect_usage[] =
	"usage: xdpsensor inspect -b BROKERS -t TOPIC [-n N] [--from TIME] [--json]\n"
	"Prints the first N records of a sensor topic in capture-time order, one line\n"
	"each: capture time (UTC), partition/offset, key, the frame's 5-tuple and\n"
	"length, headers.\n";

int cmd_inspect(int argc, char **argv)
{
	struct inspect_opts o = {
		.scan = { .end_ns = SCAN_NO_END, .ordered = true, .what = "inspect",
			  .stop = &stopping },
		.count = DEFAULT_COUNT,
	};
	struct sigaction sa = { .sa_handler = on_signal };
	unsigned long long printed = 0;
	struct opt_table tables[2];
	struct topic_rec r;
	struct scan *s;
	int rc;

	tables[0] = topic_options(&o.scan);
	tables[1] = (struct opt_table){ .defs = inspect_defs, .base = &o };
	rc = opts_parse(argc, argv, inspect_usage, tables, 2);
	if (rc)
		return rc < 0 ? 2 : 0;
	if (optind < argc) {
		pr_warn("inspect: unexpected argument '%s'\n", argv[optind]);
		return 2;
	}
	if (!o.scan.brokers || !o.scan.topic) {
		pr_warn("inspect needs -b BROKERS and -t TOPIC (--help)\n");
		return 2;
	}
	if (scan_check_conf(&o.scan))
		return 2;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	s = scan_open(&o.scan);
	if (!s)
		return 1;
	while ((!o.count || printed < o.count) && (rc = scan_next(s, &r)) > 0) {
		print_record(stdout, &r, o.json);
		scan_release(&r);
		printed++;
	}
	scan_close(s);
	if (fflush(stdout) || ferror(stdout)) {
		pr_warn("inspect: writing stdout: %s\n", strerror(errno));
		return 1;
	}
	if (rc == -EINTR)
		return 130;
	return rc < 0 ? 1 : 0;
}
