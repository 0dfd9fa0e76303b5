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
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>

#include "clock.h"
#include "datapath.h"
#include "flow_parse.h"
#include "log.h"
#include "query_cmds.h"
#include "rules.h"
#include "time_spec.h"
#include "topic_scan.h"

#define MAX_PROPS 64
#define DEFAULT_COUNT 10
#define DEFAULT_TIMEOUT_S 10

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

static void usage(FILE *f)
{
	fprintf(f,
		"usage: xdpsensor inspect -b BROKERS -t TOPIC [-n N] [--from TIME] [--json]\n"
		"Prints the first N records of a sensor topic in capture-time order, one line\n"
		"each: capture time (UTC), partition/offset, key, the frame's 5-tuple and\n"
		"length, headers.\n"
		"  -b, --brokers LIST  Kafka bootstrap servers (host:port,...)\n"
		"  -t, --topic TOPIC   the sensor's topic\n"
		"  -X NAME=VALUE       any librdkafka consumer property (repeatable)\n"
		"  -n, --count N       records to print (default %d; 0: all)\n"
		"  --from TIME         from this capture time on (default: the oldest record);\n"
		"                      RFC 3339, epoch ms, \"15m ago\" or \"now\"\n"
		"  --json              one JSON object per record\n"
		"  --timeout SECS      wait at most SECS for the broker (default %d)\n",
		DEFAULT_COUNT, DEFAULT_TIMEOUT_S);
}

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

/* The frame's own 5-tuple, as sent (not normalized). */
static void print_frame(FILE *f, const struct topic_rec *r, bool json)
{
	const rd_kafka_message_t *m = r->msg;
	const __u8 *d = m->payload;
	char src[INET6_ADDRSTRLEN], dst[INET6_ADDRSTRLEN], num[8];
	struct xs_packet p;
	const struct flow_key *k = &p.key;
	const char *proto;
	int err = d ? xs_parse_frame(d, d + m->len, &p) : XS_STAT_ERR_TRUNCATED;
	bool ab = p.dir == XS_DIR_A_TO_B;

	if (err) {
		if (json)
			fprintf(f, ",\"parse_error\":\"%s\"", stat_name(err));
		else
			fprintf(f, " unparsed(%s)", stat_name(err));
		goto len;
	}
	addr_text(ab ? k->addr_a : k->addr_b, src, sizeof(src));
	addr_text(ab ? k->addr_b : k->addr_a, dst, sizeof(dst));
	if (json) {
		fprintf(f, ",\"proto\":%u,\"src\":\"%s\",\"dst\":\"%s\"", k->proto, src, dst);
		if (p.has_ports)
			fprintf(f, ",\"sport\":%u,\"dport\":%u", ab ? k->port_a : k->port_b,
				ab ? k->port_b : k->port_a);
		goto len;
	}
	proto = proto_name(k->proto);
	if (!proto) {
		snprintf(num, sizeof(num), "%u", k->proto);
		proto = num;
	}
	if (p.has_ports)
		fprintf(f, " %s %s%s%s:%u > %s%s%s:%u", proto, k->family == 6 ? "[" : "", src,
			k->family == 6 ? "]" : "", ab ? k->port_a : k->port_b,
			k->family == 6 ? "[" : "", dst, k->family == 6 ? "]" : "",
			ab ? k->port_b : k->port_a);
	else
		fprintf(f, " %s %s > %s", proto, src, dst);
len:
	if (json)
		fprintf(f, ",\"caplen\":%zu,\"orig_len\":%u", m->len, r->orig_len);
	else
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

int cmd_inspect(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "brokers", required_argument, NULL, 'b' },
		{ "topic", required_argument, NULL, 't' },
		{ "count", required_argument, NULL, 'n' },
		{ "from", required_argument, NULL, 'f' },
		{ "json", no_argument, NULL, 'j' },
		{ "timeout", required_argument, NULL, 'T' },
		{ "help", no_argument, NULL, 'h' },
		{}
	};
	struct scan_opts so = { .timeout_ms = DEFAULT_TIMEOUT_S * 1000, .end_ns = SCAN_NO_END,
				.ordered = true, .what = "inspect", .stop = &stopping };
	struct sigaction sa = { .sa_handler = on_signal };
	unsigned long long n = DEFAULT_COUNT, printed = 0, v;
	char *props[MAX_PROPS], *end;
	const char *from = NULL;
	struct topic_rec r;
	struct scan *s;
	bool json = false;
	int opt, rc;

	optind = 1;
	while ((opt = getopt_long(argc, argv, "b:t:X:n:h", longopts, NULL)) != -1) {
		switch (opt) {
		case 'b': so.brokers = optarg; break;
		case 't': so.topic = optarg; break;
		case 'X':
			if (so.nprops == MAX_PROPS) {
				pr_warn("-X: at most %d properties\n", MAX_PROPS);
				return 2;
			}
			props[so.nprops++] = optarg;
			break;
		case 'n':
		case 'T':
			errno = 0;
			v = isdigit((unsigned char)*optarg) ? strtoull(optarg, &end, 10) : 0;
			if (!isdigit((unsigned char)*optarg) || *end || errno ||
			    (opt == 'T' && (!v || v > 3600))) {
				pr_warn("%s '%s': not a number%s\n", opt == 'n' ? "-n" : "--timeout",
					optarg, opt == 'T' ? " from 1 to 3600" : "");
				return 2;
			}
			if (opt == 'n')
				n = v;
			else
				so.timeout_ms = (int)v * 1000;
			break;
		case 'f': from = optarg; break;
		case 'j': json = true; break;
		case 'h': usage(stdout); return 0;
		default: return 2;
		}
	}
	if (optind < argc) {
		pr_warn("inspect: unexpected argument '%s'\n", argv[optind]);
		return 2;
	}
	if (!so.brokers || !so.topic) {
		pr_warn("inspect needs -b BROKERS and -t TOPIC (--help)\n");
		return 2;
	}
	if (from && time_spec_parse(from, clock_ns(CLOCK_REALTIME), &so.start_ns)) {
		pr_warn("--from '%s': not a time (RFC 3339 with a zone, epoch ms, or \"15m ago\")\n",
			from);
		return 2;
	}
	so.props = props;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	s = scan_open(&so);
	if (!s)
		return 1;
	while ((!n || printed < n) && (rc = scan_next(s, &r)) > 0) {
		print_record(stdout, &r, json);
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
