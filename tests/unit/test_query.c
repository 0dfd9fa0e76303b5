// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * Pieces of `xdpsensor query` that need no broker: time arguments, the
 * filters on built frames (fixed fields, libpcap expressions, byte regex),
 * and the partition of a flow (librdkafka's murmur2 against the vectors of
 * Apache Kafka's own UtilsTest.testMurmur2, Java's results).
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <librdkafka/rdkafka.h>

#include "flow_partition.h"
#include "pkt_filter.h"
#include "time_spec.h"
#include "expect.h"
#include "pkt_build.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#define S 1000000000ull
#define NOW (1714564800ull * S + 123456789) /* 2024-05-01T12:00:00.123456789Z */

/* ---------------------------------------------------------------- times */

static const struct time_case {
	const char *text;
	int ret;
	__u64 ns;
} time_cases[] = {
	{ "2024-05-01T12:00:00Z", 0, 1714564800ull * S },
	{ "2024-05-01t12:00:00z", 0, 1714564800ull * S },
	{ "2024-05-01 12:00:00.5Z", 0, 1714564800ull * S + 500000000 },
	{ "2024-05-01T12:00:00.123456789Z", 0, 1714564800ull * S + 123456789 },
	{ "2024-05-01T12:00:00.1234567891Z", 0, 1714564800ull * S + 123456789 },
	{ "2024-05-01T14:00:00+02:00", 0, 1714564800ull * S },
	{ "2024-05-01T11:30:00-00:30", 0, 1714564800ull * S },
	{ "1714564800000", 0, 1714564800ull * S },
	{ "1714564800123", 0, 1714564800ull * S + 123000000 },
	{ "0", 0, 0 },
	{ "now", 0, NOW },
	{ "15m ago", 0, NOW - 900 * S },
	{ "15 m ago", 0, NOW - 900 * S },
	{ "90s ago", 0, NOW - 90 * S },
	{ "2h ago", 0, NOW - 7200 * S },
	{ "1d ago", 0, NOW - 86400 * S },
	{ "250ms ago", 0, NOW - 250000000 },
	{ "2024-05-01T12:00:00", -EINVAL, 0 },  /* no zone */
	{ "2024-05-01", -EINVAL, 0 },
	{ "2024-13-01T12:00:00Z", -EINVAL, 0 },
	{ "2024-05-01T12:00:00.Z", -EINVAL, 0 },
	{ "2024-05-01T12:00:00Zjunk", -EINVAL, 0 },
	{ "2024-05-01T12:00:00+2:00", -EINVAL, 0 },
	{ "15 minutes ago", -EINVAL, 0 },
	{ "15m", -EINVAL, 0 },
	{ "15m ago please", -EINVAL, 0 },
	{ "-5", -EINVAL, 0 },
	{ "", -EINVAL, 0 },
	{ "99999999999999999999", -EINVAL, 0 },
	{ "100000d ago", -EINVAL, 0 },         /* before the epoch */
};

static void test_time_case(void **state)
{
	const struct time_case *c = *state;
	__u64 ns = 0;
	int ret = time_spec_parse(c->text, NOW, &ns);

	EXPECT_EQ("return", ret, c->ret);
	if (!c->ret)
		EXPECT_EQ("ns", ns, c->ns);
	end_checks(c->text);
}

static void test_time_format(void **state)
{
	char t[TIME_TEXT_LEN];
	__u64 back;

	(void)state;
	time_format_ns(NOW, t);
	EXPECT_STR("text", t, "2024-05-01T12:00:00.123456789Z");
	EXPECT_EQ("parses back", time_spec_parse(t, 0, &back), 0);
	EXPECT_EQ("same time", back, NOW);
	end_checks("time format");
}

/* ---------------------------------------------------------------- filters */

struct filter_case {
	const char *name;
	struct pkt_spec pkt;
	const char *src, *dst; /* --src-addr / --dst-addr */
	int sport, dport, proto; /* 0: not set (none of the cases filters on 0) */
	bool reverse;
	const char *bpf, *regex;
	bool match;
};

#define TCP4(s, d, sp, dp) { .src = s, .dst = d, .proto = 6, .sport = sp, .dport = dp, \
			     .payload = 16 }
#define UDP6(s, d, sp, dp) { .src = s, .dst = d, .proto = 17, .sport = sp, .dport = dp, \
			     .payload = 8 }

static const struct filter_case filter_cases[] = {
	{ "no filter", TCP4("10.0.0.1", "10.0.0.2", 1000, 80), .match = true },
	{ "src address", TCP4("10.0.0.1", "10.0.0.2", 1000, 80), .src = "10.0.0.1",
	  .match = true },
	{ "src address, other", TCP4("10.0.0.1", "10.0.0.2", 1000, 80), .src = "10.0.0.2" },
	{ "src prefix /24", TCP4("10.0.0.1", "10.0.0.2", 1000, 80), .src = "10.0.0.0/24",
	  .match = true },
	{ "src prefix /31 excludes .2", TCP4("10.0.0.2", "10.0.0.1", 1000, 80),
	  .src = "10.0.0.0/31" },
	{ "prefix, host bits cleared", TCP4("10.9.0.1", "10.0.0.2", 1000, 80),
	  .src = "10.1.2.3/8", .match = true },
	{ "src prefix /0 matches IPv4", TCP4("10.0.0.1", "10.0.0.2", 1000, 80),
	  .src = "0.0.0.0/0", .match = true },
	{ "IPv4 prefix does not match IPv6", UDP6("2001:db8::1", "2001:db8::2", 1, 2),
	  .src = "0.0.0.0/0" },
	{ "IPv6 prefix", UDP6("2001:db8::1", "2001:db8::2", 1, 2), .src = "2001:db8::/32",
	  .match = true },
	{ "the whole 5-tuple", TCP4("10.0.0.1", "10.0.0.2", 1000, 80), .src = "10.0.0.1",
	  .dst = "10.0.0.2", .sport = 1000, .dport = 80, .proto = 6, .match = true },
	{ "the 5-tuple, reply direction", TCP4("10.0.0.2", "10.0.0.1", 80, 1000),
	  .src = "10.0.0.1", .dst = "10.0.0.2", .sport = 1000, .dport = 80, .proto = 6 },
	{ "the 5-tuple, reply with --include-reverse", TCP4("10.0.0.2", "10.0.0.1", 80, 1000),
	  .src = "10.0.0.1", .dst = "10.0.0.2", .sport = 1000, .dport = 80, .proto = 6,
	  .reverse = true, .match = true },
	{ "--include-reverse keeps pairs together", TCP4("10.0.0.2", "10.0.0.1", 1000, 80),
	  .src = "10.0.0.1", .dst = "10.0.0.2", .sport = 1000, .dport = 80, .reverse = true },
	{ "dst port", TCP4("10.0.0.1", "10.0.0.2", 1000, 80), .dport = 80, .match = true },
	{ "dst port is not the src port", TCP4("10.0.0.1", "10.0.0.2", 80, 1000), .dport = 80 },
	{ "protocol", TCP4("10.0.0.1", "10.0.0.2", 1000, 80), .proto = 17 },
	{ "IPv6 behind extension headers",
	  { .src = "2001:db8::1", .dst = "2001:db8::2", .proto = 17, .sport = 5, .dport = 53,
	    .ext = "HD", .payload = 4 }, .proto = 17, .dport = 53, .match = true },
	{ "behind a QinQ pair of tags",
	  { .vlan = { 0x88a8, 0x8100 }, .src = "10.0.0.1", .dst = "10.0.0.2", .proto = 17,
	    .sport = 5, .dport = 53 }, .src = "10.0.0.1", .dport = 53, .match = true },
	{ "ICMP type/code are not ports",
	  { .src = "10.0.0.1", .dst = "10.0.0.2", .proto = 1, .sport = 8, .dport = 0 },
	  .sport = 8 },
	{ "non-first fragment has no ports",
	  { .src = "10.0.0.1", .dst = "10.0.0.2", .proto = 17, .frag = 10, .payload = 16 },
	  .dport = 0xffff },
	{ "non-first fragment has its protocol",
	  { .src = "10.0.0.1", .dst = "10.0.0.2", .proto = 17, .frag = 10, .payload = 16 },
	  .proto = 17, .match = true },
	{ "ARP has no address to match", { .ethertype = 0x0806 }, .src = "0.0.0.0/0" },
	{ "tcpdump expression", TCP4("10.0.0.1", "10.0.0.2", 1000, 80),
	  .bpf = "tcp dst port 80 and src host 10.0.0.1", .match = true },
	{ "tcpdump expression, no", TCP4("10.0.0.1", "10.0.0.2", 1000, 80),
	  .bpf = "udp" },
	{ "tcpdump expression AND fixed field", TCP4("10.0.0.1", "10.0.0.2", 1000, 80),
	  .bpf = "tcp", .proto = 17 },
	{ "regex over bytes: the ethertype", TCP4("10.0.0.1", "10.0.0.2", 1000, 80),
	  .regex = "^.{12}\\x08\\x00\\x45", .match = true },
	{ "regex over bytes: ports 1000 > 80", TCP4("10.0.0.1", "10.0.0.2", 1000, 80),
	  .regex = "\\x03\\xe8\\x00\\x50", .match = true },
	{ "regex: no match", TCP4("10.0.0.1", "10.0.0.2", 1000, 80), .regex = "\\xde\\xad" },
	{ "regex: '.' matches 0x0a (newline)", UDP6("2001:db8::a0a:a0a", "2001:db8::2", 1, 2),
	  .regex = "\\x0a.\\x0a", .match = true },
};

static void test_filter_case(void **state)
{
	const struct filter_case *c = *state;
	struct pkt_filter f;
	__u8 buf[PKT_MAX];
	struct pkt_layout l = pkt_build(&c->pkt, buf);

	pkt_filter_init(&f);
	if (c->src)
		assert_int_equal(addr_prefix_parse(c->src, &f.src), 0), f.has_src = true;
	if (c->dst)
		assert_int_equal(addr_prefix_parse(c->dst, &f.dst), 0), f.has_dst = true;
	f.sport = c->sport ? c->sport : -1;
	f.dport = c->dport ? c->dport : -1;
	f.proto = c->proto ? c->proto : -1;
	f.include_reverse = c->reverse;
	if (c->bpf)
		assert_int_equal(pkt_filter_set_bpf(&f, c->bpf), 0);
	if (c->regex)
		assert_int_equal(pkt_filter_set_regex(&f, c->regex), 0);
	EXPECT_EQ("match", pkt_filter_match(&f, buf, (__u32)l.len, (__u32)l.len), c->match);
	pkt_filter_free(&f);
	end_checks(c->name);
}

static void test_filter_bad(void **state)
{
	struct addr_prefix p;
	struct pkt_filter f;

	(void)state;
	pkt_filter_init(&f);
	EXPECT_EQ("bpf syntax", pkt_filter_set_bpf(&f, "tcp and and"), -EINVAL);
	EXPECT_EQ("regex syntax", pkt_filter_set_regex(&f, "(ab"), -EINVAL);
	EXPECT_EQ("prefix > 32", addr_prefix_parse("10.0.0.0/33", &p), -EINVAL);
	EXPECT_EQ("prefix > 128", addr_prefix_parse("::/129", &p), -EINVAL);
	EXPECT_EQ("prefix sign", addr_prefix_parse("10.0.0.0/-1", &p), -EINVAL);
	EXPECT_EQ("not an address", addr_prefix_parse("10.0.0", &p), -EINVAL);
	EXPECT_EQ("v4 /24 in mapped bits", (addr_prefix_parse("10.0.0.0/24", &p), p.len), 120);
	pkt_filter_free(&f);
	end_checks("bad filters");
}

/* ---------------------------------------------------------------- partitions */

static void test_murmur2_java(void **state)
{
	/* org.apache.kafka.common.utils.UtilsTest.testMurmur2 */
	static const struct { const char *key; int32_t java; } v[] = {
		{ "21", -973932308 },
		{ "foobar", -790332482 },
		{ "a-little-bit-long-string", -985981536 },
		{ "a-little-bit-longer-string", -1486304829 },
		{ "lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8", -58897971 },
		{ "abc", 479470107 },
	};
	static const int32_t parts[] = { 1, 4, 7, 100 };

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(v); i++) {
		for (size_t j = 0; j < ARRAY_SIZE(parts); j++) {
			/* the Java client: toPositive(murmur2(key)) % partitions */
			int32_t want = (int32_t)(((uint32_t)v[i].java & 0x7fffffff) %
						 (uint32_t)parts[j]);

			EXPECT_EQ(v[i].key, rd_kafka_msg_partitioner_murmur2(
				NULL, v[i].key, strlen(v[i].key), parts[j], NULL, NULL), want);
		}
	}
	end_checks("murmur2");
}

/* Both directions of a flow name the same partition; a bad --flow is refused. */
static void test_flow_partition(void **state)
{
	struct pkt_filter f, r;
	int a, b;

	(void)state;
	pkt_filter_init(&f);
	assert_int_equal(addr_prefix_parse("192.0.2.10", &f.src), 0);
	assert_int_equal(addr_prefix_parse("198.51.100.20", &f.dst), 0);
	f.has_src = f.has_dst = true;
	f.sport = 40000;
	f.dport = 80;
	f.proto = 6;
	r = f;
	r.src = f.dst;
	r.dst = f.src;
	r.sport = f.dport;
	r.dport = f.sport;
	for (int scheme = KEY_5TUPLE; scheme <= KEY_COMMUNITY_ID; scheme++) {
		for (int parts = 1; parts <= 64; parts++) {
			EXPECT_EQ("5-tuple", flow_partition(&f, scheme, parts, &a), 0);
			EXPECT_EQ("reversed", flow_partition(&r, scheme, parts, &b), 0);
			EXPECT_EQ("same partition both ways", a, b);
			EXPECT_TRUE("in range", a >= 0 && a < parts);
		}
	}
	EXPECT_EQ("metron refused", flow_partition(&f, KEY_METRON, 4, &a), -EINVAL);
	f.dport = -1;
	EXPECT_EQ("no dst port refused", flow_partition(&f, KEY_5TUPLE, 4, &a), -EINVAL);
	f.dport = 80;
	f.proto = 1;
	EXPECT_EQ("icmp refused", flow_partition(&f, KEY_5TUPLE, 4, &a), -EINVAL);
	f.proto = 47; /* GRE: no ports in the key */
	f.sport = f.dport = -1;
	EXPECT_EQ("gre without ports", flow_partition(&f, KEY_5TUPLE, 4, &a), 0);
	assert_int_equal(addr_prefix_parse("192.0.2.0/24", &f.src), 0);
	EXPECT_EQ("prefix refused", flow_partition(&f, KEY_5TUPLE, 4, &a), -EINVAL);
	assert_int_equal(addr_prefix_parse("2001:db8::1", &f.src), 0);
	EXPECT_EQ("mixed families refused", flow_partition(&f, KEY_5TUPLE, 4, &a), -EINVAL);
	end_checks("flow partition");
}

int main(void)
{
	struct CMUnitTest tests[ARRAY_SIZE(time_cases) + ARRAY_SIZE(filter_cases) + 4];
	char names[ARRAY_SIZE(time_cases)][96];
	size_t n = 0;

	setvbuf(stdout, NULL, _IOLBF, 0);
	for (size_t i = 0; i < ARRAY_SIZE(time_cases); i++) {
		snprintf(names[i], sizeof(names[i]), "time '%s' -> %s", time_cases[i].text,
			 time_cases[i].ret ? "-EINVAL" : "ok");
		tests[n++] = (struct CMUnitTest){ names[i], test_time_case, NULL, NULL,
						  (void *)&time_cases[i] };
	}
	tests[n++] = (struct CMUnitTest){ "time: ns text, RFC 3339 round trip", test_time_format,
					  NULL, NULL, NULL };
	for (size_t i = 0; i < ARRAY_SIZE(filter_cases); i++)
		tests[n++] = (struct CMUnitTest){ filter_cases[i].name, test_filter_case, NULL,
						  NULL, (void *)&filter_cases[i] };
	tests[n++] = (struct CMUnitTest){ "filter: bad expressions, regexes, prefixes",
					  test_filter_bad, NULL, NULL, NULL };
	tests[n++] = (struct CMUnitTest){ "murmur2: librdkafka's partitioner = Java's",
					  test_murmur2_java, NULL, NULL, NULL };
	tests[n++] = (struct CMUnitTest){ "flow partition: both directions, refusals",
					  test_flow_partition, NULL, NULL, NULL };
	return _cmocka_run_group_tests("query", tests, n, NULL, NULL);
}
