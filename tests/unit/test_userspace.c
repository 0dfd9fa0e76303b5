// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * Userspace-only tests: Community ID against published vectors (computed
 * from packets through the userspace build of xs_parse_frame()), the ICMP
 * port equivalents, the command-line rule parser, and the librdkafka
 * configuration from defaults, -b, -c FILE and -X (kafka_conf.h), and
 * Kafka's wire format as the packet writer encodes it (kafka_wire.h).
 *
 * The Community ID vectors are those of the reference implementation's
 * test suite (corelight/pycommunityid tests/communityid_test.py), each
 * re-checked against Wireshark's implementation (tshark 4.0
 * --enable-protocol communityid, seeds 0 and 1) on packets built the same
 * way; the node-information and mobile-prefix rows were produced the same
 * way with tshark.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <openssl/evp.h>
#include <openssl/sha.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "commands.h"
#include "community_id.h"
#include "flow_format.h"
#include "flow_parse.h"
#include "kafka_conf.h"
#include "kafka_wire.h"
#include "kept.h"
#include "num.h"
#include "reasm.h"
#include "record_key.h"
#include "record_meta.h"
#include "record_ref.h"
#include "grow.h"
#include "rules.h"
#include "rx_nap.h"
#include "xsk.h"
#include "expect.h"
#include "pkt_build.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/* ------------------------------------------------------------------ */
/* Community ID                                                        */

struct cid_case {
	__u8 proto;
	const char *src, *dst;
	__u16 sport, dport; /* ICMP: type, code */
	const char *seed0, *seed1;
};

static const struct cid_case cid_cases[] = {
	/* TCP */
	{ 6, "128.232.110.120", "66.35.250.204", 34855, 80,
	  "1:LQU9qZlK+B5F3KDmev6m5PMibrg=", "1:3V71V58M3Ksw/yuFALMcW0LAHvc=" },
	{ 6, "66.35.250.204", "128.232.110.120", 80, 34855,
	  "1:LQU9qZlK+B5F3KDmev6m5PMibrg=", "1:3V71V58M3Ksw/yuFALMcW0LAHvc=" },
	{ 6, "10.0.0.1", "10.0.0.2", 10, 11569,
	  "1:SXBGMX1lBOwhhoDrZynfROxnhnM=", "1:HmBRGR+fUyXF4t8WEtal7Y0gEAo=" },
	/* UDP */
	{ 17, "192.168.1.52", "8.8.8.8", 54585, 53,
	  "1:d/FP5EW3wiY1vCndhwleRRKHowQ=", "1:Q9We8WO3piVF8yEQBNJF4uiSVrI=" },
	{ 17, "8.8.8.8", "192.168.1.52", 53, 54585,
	  "1:d/FP5EW3wiY1vCndhwleRRKHowQ=", "1:Q9We8WO3piVF8yEQBNJF4uiSVrI=" },
	/* SCTP */
	{ 132, "192.168.170.8", "192.168.170.56", 7, 80,
	  "1:jQgCxbku+pNGw8WPbEc/TS/uTpQ=", "1:Y1/0jQg6e+I3ZwZZ9LP65DNbTXU=" },
	{ 132, "192.168.170.56", "192.168.170.8", 80, 7,
	  "1:jQgCxbku+pNGw8WPbEc/TS/uTpQ=", "1:Y1/0jQg6e+I3ZwZZ9LP65DNbTXU=" },
	/* ICMP: echo request/reply pair up; type 20 is one-way, its code counts;
	 * for a reply type the code is ignored */
	{ 1, "192.168.0.89", "192.168.0.1", 8, 0,
	  "1:X0snYXpgwiv9TZtqg64sgzUn6Dk=", "1:03g6IloqVBdcZlPyX8r0hgoE7kA=" },
	{ 1, "192.168.0.1", "192.168.0.89", 0, 8,
	  "1:X0snYXpgwiv9TZtqg64sgzUn6Dk=", "1:03g6IloqVBdcZlPyX8r0hgoE7kA=" },
	{ 1, "192.168.0.89", "192.168.0.1", 20, 0,
	  "1:3o2RFccXzUgjl7zDpqmY7yJi8rI=", "1:lCXHHxavE1Vq3oX9NH5ladQg02o=" },
	{ 1, "192.168.0.89", "192.168.0.1", 20, 1,
	  "1:tz/fHIDUHs19NkixVVoOZywde+I=", "1:Ie3wmFyxiEyikbsbcO03d2nh+PM=" },
	{ 1, "192.168.0.1", "192.168.0.89", 0, 20,
	  "1:X0snYXpgwiv9TZtqg64sgzUn6Dk=", "1:03g6IloqVBdcZlPyX8r0hgoE7kA=" },
	/* ICMPv6: neighbor solicitation/advertisement pair up; time exceeded
	 * (3) is one-way, so its two directions differ */
	{ 58, "fe80::200:86ff:fe05:80da", "fe80::260:97ff:fe07:69ea", 135, 0,
	  "1:dGHyGvjMfljg6Bppwm3bg0LO8TY=", "1:kHa1FhMYIT6Ym2Vm2AOtoOARDzY=" },
	{ 58, "fe80::260:97ff:fe07:69ea", "fe80::200:86ff:fe05:80da", 136, 0,
	  "1:dGHyGvjMfljg6Bppwm3bg0LO8TY=", "1:kHa1FhMYIT6Ym2Vm2AOtoOARDzY=" },
	{ 58, "3ffe:507:0:1:260:97ff:fe07:69ea", "3ffe:507:0:1:200:86ff:fe05:80da", 3, 0,
	  "1:NdobDX8PQNJbAyfkWxhtL2Pqp5w=", "1:OlOWx9psIbBFi7lOCw/4MhlKR9M=" },
	{ 58, "3ffe:507:0:1:200:86ff:fe05:80da", "3ffe:507:0:1:260:97ff:fe07:69ea", 3, 0,
	  "1:/OGBt9BN1ofenrmSPWYicpij2Vc=", "1:Ij4ZxnC87/MXzhOjvH2vHu7LRmE=" },
	{ 58, "2001:db8::1", "2001:db8::2", 128, 0,
	  "1:u2vMS3HiWth2lIMKHB1fjELshpQ=", "1:/8emheB+mrn2yPC8dLdJ0QdERzQ=" },
	{ 58, "2001:db8::2", "2001:db8::1", 129, 0,
	  "1:u2vMS3HiWth2lIMKHB1fjELshpQ=", "1:/8emheB+mrn2yPC8dLdJ0QdERzQ=" },
	/* node information query/reply (139/140) pair up ... */
	{ 58, "2001:db8::2", "2001:db8::1", 139, 0,
	  "1:EyvsTyxh629HwHG1XyqvKuccnPM=", "1:qtfzcow6uuQmEc2k1vWf2jfBK84=" },
	{ 58, "2001:db8::1", "2001:db8::2", 140, 0,
	  "1:EyvsTyxh629HwHG1XyqvKuccnPM=", "1:qtfzcow6uuQmEc2k1vWf2jfBK84=" },
	/* ... mobile prefix solicitation/advertisement (146/147) do not */
	{ 58, "2001:db8::2", "2001:db8::1", 146, 0,
	  "1:Rs8ROr3Nt+mTBxpvWaFbiLyjEEI=", "1:U+S+iBiDnPlK13SatRAr2kHSo9s=" },
	{ 58, "2001:db8::1", "2001:db8::2", 147, 0,
	  "1:0pmeQX/pDwvq+yDfTZMIuFNzDUM=", "1:Y84LU3HcqT8byHbJcG5d+cw0sw8=" },
	/* TCP over IPv6 */
	{ 6, "2001:db8::2", "2001:db8::1", 443, 51000,
	  "1:TZebe/ybIXr8J9lX26/lqPRYGuk=", "1:lQBZvBahtIZWDlE8fq259XuJY9o=" },
	/* a protocol without ports (46, RSVP) */
	{ 46, "10.1.24.4", "10.1.12.1", 0, 0,
	  "1:/nQI4Rh/TtY3mf0R2gJFBkVlgS4=", "1:BK3BVW3U2eemuwVQVN3zd/GULno=" },
	{ 46, "10.1.12.1", "10.1.24.4", 0, 0,
	  "1:/nQI4Rh/TtY3mf0R2gJFBkVlgS4=", "1:BK3BVW3U2eemuwVQVN3zd/GULno=" },
};

/* One vector: the packet through xs_parse_frame(), then community_id(). */
static void test_community_id_vector(void **state)
{
	const struct cid_case *c = *state;
	struct pkt_spec s = { .src = c->src, .dst = c->dst, .proto = c->proto,
			      .sport = c->sport, .dport = c->dport };
	char out[COMMUNITY_ID_LEN] = "";
	__u8 buf[PKT_MAX];
	struct pkt_layout l = pkt_build(&s, buf);
	struct xs_packet p;

	EXPECT_EQ("xs_parse_frame", xs_parse_frame(buf, buf + l.len, &p, XS_MAX_DECAP), 0);
	EXPECT_EQ("has_ports", p.has_ports, c->proto != 46);
	EXPECT_EQ("community_id seed 0", community_id(&p.key, p.has_ports, 0, out, sizeof(out)), 0);
	EXPECT_STR("seed 0", out, c->seed0);
	EXPECT_EQ("community_id seed 1", community_id(&p.key, p.has_ports, 1, out, sizeof(out)), 0);
	EXPECT_STR("seed 1", out, c->seed1);
	end_checks("community id vector");
}

/* community_id() on a key built by hand, and its output-size check. */
static void test_community_id_direct(void **state)
{
	/* normalized: 66.35.250.204 < 128.232.110.120 */
	struct flow_key k = { .family = XS_FAMILY_IPV4, .proto = 6, .port_a = 80, .port_b = 34855 };
	char out[COMMUNITY_ID_LEN], small[COMMUNITY_ID_LEN - 1];

	(void)state;
	addr_to_key("66.35.250.204", k.addr_a);
	addr_to_key("128.232.110.120", k.addr_b);
	EXPECT_EQ("community_id", community_id(&k, true, 0, out, sizeof(out)), 0);
	EXPECT_STR("tcp vector", out, "1:LQU9qZlK+B5F3KDmev6m5PMibrg=");
	EXPECT_EQ("strlen", strlen(out), 30);
	EXPECT_EQ("out_len too small", community_id(&k, true, 0, small, sizeof(small)), -ENOSPC);

	/* keyed at L2: "l2:" + base64(SHA-1(seed, MAC A, MAC B, ports)) */
	{
		const __u8 in[] = { 0, 0, 2, 0, 0, 0, 0, 1, 2, 0, 0, 0, 0, 2, 0x08, 0x06, 0x08, 0x06 };
		unsigned char md[20], b64[32];
		char want[40];
		struct flow_key l2 = { .family = XS_FAMILY_L2, .port_a = 0x0806, .port_b = 0x0806 };

		l2.addr_a[0] = l2.addr_b[0] = 2;
		l2.addr_a[5] = 1;
		l2.addr_b[5] = 2;
		SHA1(in, sizeof(in), md);
		EVP_EncodeBlock(b64, md, 20);
		snprintf(want, sizeof(want), "l2:%s", b64);
		EXPECT_EQ("community_id of an L2 key", community_id(&l2, false, 0, out, sizeof(out)), 0);
		EXPECT_STR("l2 vector", out, want);
		EXPECT_EQ("strlen of an l2 id", strlen(out), COMMUNITY_ID_LEN - 1);
	}
	end_checks("community id direct");
}

/* The Community ID flow_print_json() writes for one flow entry. */
static void json_community_id(const struct flow_key *k, __u8 has_ports,
			      char out[COMMUNITY_ID_LEN])
{
	/* the datapath records has_ports with the flow, as here */
	struct flow_entry e = { .key = *k, .stats.has_ports = has_ports };
	char *json = NULL, *at;
	size_t len = 0;
	FILE *f = open_memstream(&json, &len);

	assert_non_null(f);
	flow_print_json(f, "test", &e);
	fclose(f);
	at = strstr(json, "\"community_id\":\"");
	out[0] = '\0';
	if (at)
		sscanf(at + strlen("\"community_id\":\""), "%30[^\"]", out);
	free(json);
}

/*
 * One flow, one Community ID: the packet view (`classify` hashes with the
 * parser's has_ports) and the flow view (flow_print_json) must agree, for
 * a whole datagram and for a non-first fragment (keyed with ports 0 and
 * has_ports 0).
 */
static void test_community_id_views_agree(void **state)
{
	static const struct pkt_spec pkts[] = {
		{ .src = "192.0.2.1", .dst = "192.0.2.2", .proto = 17, .sport = 4000, .dport = 53 },
		{ .src = "192.0.2.1", .dst = "192.0.2.2", .proto = 17, .sport = 4000, .dport = 53,
		  .frag = 185 },
		{ .src = "2001:db8::1", .dst = "2001:db8::2", .ext = "F", .frag = 185, .proto = 6 },
	};
	static const char *const what[] = { "whole udp datagram", "ipv4 non-first fragment",
					    "ipv6 non-first fragment" };

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(pkts); i++) {
		char pkt_cid[COMMUNITY_ID_LEN] = "", flow_cid[COMMUNITY_ID_LEN];
		__u8 buf[PKT_MAX];
		struct pkt_layout l = pkt_build(&pkts[i], buf);
		struct xs_packet p;

		EXPECT_EQ("xs_parse_frame", xs_parse_frame(buf, buf + l.len, &p, XS_MAX_DECAP), 0);
		community_id(&p.key, p.has_ports, 0, pkt_cid, sizeof(pkt_cid));
		json_community_id(&p.key, p.has_ports, flow_cid);
		EXPECT_STR(what[i], flow_cid, pkt_cid);
	}
	end_checks("community id views");
}

/*
 * ICMP "port equivalents", as the Community ID spec (and Zeek) define them:
 * a request type maps to its reply type and back; every other type is
 * one-way (-1).
 */
static const struct { __u8 a, b; } icmp4_pairs[] = {
	{ 8, 0 }, { 13, 14 }, { 15, 16 }, { 10, 9 }, { 17, 18 },
};
static const struct { __u8 a, b; } icmp6_pairs[] = {
	{ 128, 129 }, { 130, 131 }, { 133, 134 }, { 135, 136 }, { 139, 140 }, { 144, 145 },
};

static int spec_peer(__u8 proto, int type)
{
	if (proto == XS_IPPROTO_ICMP) {
		for (size_t i = 0; i < ARRAY_SIZE(icmp4_pairs); i++) {
			if (icmp4_pairs[i].a == type)
				return icmp4_pairs[i].b;
			if (icmp4_pairs[i].b == type)
				return icmp4_pairs[i].a;
		}
	} else {
		for (size_t i = 0; i < ARRAY_SIZE(icmp6_pairs); i++) {
			if (icmp6_pairs[i].a == type)
				return icmp6_pairs[i].b;
			if (icmp6_pairs[i].b == type)
				return icmp6_pairs[i].a;
		}
	}
	return -1;
}

static void check_icmp_equivalents(__u8 proto)
{
	char what[64];

	for (int t = 0; t < 256; t++) {
		snprintf(what, sizeof(what), "xs_icmp_peer_type(%u, %d)", proto, t);
		EXPECT_EQ(what, xs_icmp_peer_type(proto, (__u8)t), spec_peer(proto, t));
	}
}

static void test_icmp_equivalents_v4(void **state)
{
	(void)state;
	check_icmp_equivalents(XS_IPPROTO_ICMP);
	end_checks("icmp port equivalents");
}

static void test_icmp_equivalents_v6(void **state)
{
	(void)state;
	check_icmp_equivalents(XS_IPPROTO_ICMPV6);
	end_checks("icmpv6 port equivalents");
}

/* ------------------------------------------------------------------ */
/* Rule parser                                                         */

struct rule_case {
	const char *spec;
	int ret;              /* rules_add's return */
	int added;            /* rules it adds */
	enum rule_kind kind;
	const char *addr;     /* RULE_PREFIX */
	__u32 prefixlen;
	__u16 port;           /* RULE_PORT */
	__u8 protos[3];       /* RULE_PORT: the protocol of each rule added */
	__u32 proto;          /* RULE_PROTO */
	__u32 l2;             /* RULE_L2 */
};

static const struct rule_case rule_cases[] = {
	/* good */
	{ "net:10.0.0.0/8", .added = 1, .kind = RULE_PREFIX, .addr = "10.0.0.0", .prefixlen = 96 + 8 },
	{ "net:192.168.1.10", .added = 1, .kind = RULE_PREFIX, .addr = "192.168.1.10", .prefixlen = 128 },
	{ "net:0.0.0.0/0", .added = 1, .kind = RULE_PREFIX, .addr = "0.0.0.0", .prefixlen = 96 },
	{ "net:2001:db8::/32", .added = 1, .kind = RULE_PREFIX, .addr = "2001:db8::", .prefixlen = 32 },
	{ "net:2001:db8::1", .added = 1, .kind = RULE_PREFIX, .addr = "2001:db8::1", .prefixlen = 128 },
	{ "port:tcp/80", .added = 1, .kind = RULE_PORT, .port = 80, .protos = { 6 } },
	{ "port:udp/53", .added = 1, .kind = RULE_PORT, .port = 53, .protos = { 17 } },
	{ "port:sctp/65535", .added = 1, .kind = RULE_PORT, .port = 65535, .protos = { 132 } },
	{ "port:53", .added = 3, .kind = RULE_PORT, .port = 53, .protos = { 6, 17, 132 } },
	{ "proto:icmp", .added = 1, .kind = RULE_PROTO, .proto = 1 },
	{ "proto:ICMPv6", .added = 1, .kind = RULE_PROTO, .proto = 58 },
	{ "proto:tcp", .added = 1, .kind = RULE_PROTO, .proto = 6 },
	{ "proto:47", .added = 1, .kind = RULE_PROTO, .proto = 47 },
	{ "ether:arp", .added = 1, .kind = RULE_L2, .l2 = 0x0806 },
	{ "ether:LLDP", .added = 1, .kind = RULE_L2, .l2 = 0x88cc },
	{ "ether:0x88f7", .added = 1, .kind = RULE_L2, .l2 = 0x88f7 },
	{ "ether:34958", .added = 1, .kind = RULE_L2, .l2 = 0x888e },
	{ "ether:0x0600", .added = 1, .kind = RULE_L2, .l2 = 0x0600 },
	{ "llc", .added = 1, .kind = RULE_L2, .l2 = XS_L2_RULE_LLC },
	/* bad */
	{ "ether:0x05ff", .ret = -EINVAL }, /* an 802.3 length, not an EtherType */
	{ "ether:0x10000", .ret = -EINVAL },
	{ "ether:", .ret = -EINVAL },
	{ "ether:foo", .ret = -EINVAL },
	{ "ether:0x88f7x", .ret = -EINVAL },
	{ "llc:42", .ret = -EINVAL },
	{ "net:10.0.0.0/33", .ret = -EINVAL },
	{ "net:2001:db8::/129", .ret = -EINVAL },
	{ "net:10.0.0.256/8", .ret = -EINVAL },
	{ "net:10.0.0.0/", .ret = -EINVAL },
	{ "net:10.0.0.0/-1", .ret = -EINVAL },
	{ "net:10.0.0.0/8x", .ret = -EINVAL },
	{ "net:", .ret = -EINVAL },
	{ "net:example.com", .ret = -EINVAL },
	{ "port:70000", .ret = -EINVAL },
	{ "port:65536", .ret = -EINVAL },
	{ "port:-1", .ret = -EINVAL },
	{ "port:", .ret = -EINVAL },
	{ "port:tcp/", .ret = -EINVAL },
	{ "port:foo/80", .ret = -EINVAL },
	{ "port:tcp/80x", .ret = -EINVAL },
	{ "proto:foo", .ret = -EINVAL },
	{ "proto:256", .ret = -EINVAL },
	{ "proto:", .ret = -EINVAL },
	{ "bogus", .ret = -EINVAL },
	{ "", .ret = -EINVAL },
	{ "tcp/80", .ret = -EINVAL },
};

static bool proto_in(const __u8 *set, int n, __u8 proto)
{
	for (int i = 0; i < n; i++)
		if (set[i] == proto)
			return true;
	return false;
}

static void test_rule_case(void **state)
{
	const struct rule_case *c = *state;
	static struct rules r;
	int ret;

	rules_init(&r, XS_ACTION_COUNT);
	ret = rules_add(&r, XS_ACTION_DROP, c->spec);
	EXPECT_EQ("rules_add return", ret, c->ret);
	EXPECT_EQ("rules added", r.count, c->ret ? 0 : c->added);
	for (int i = 0; !ret && i < r.count && i < c->added; i++) {
		const struct rule *rule = &r.rule[i];
		__u8 addr[16];

		EXPECT_EQ("kind", rule->kind, c->kind);
		EXPECT_EQ("action", rule->action, XS_ACTION_DROP);
		switch (c->kind) {
		case RULE_PREFIX:
			addr_to_key(c->addr, addr);
			EXPECT_EQ("prefixlen", rule->prefix.prefixlen, c->prefixlen);
			EXPECT_EQ("prefix address (memcmp)", memcmp(rule->prefix.addr, addr, 16), 0);
			break;
		case RULE_PORT:
			EXPECT_EQ("port", rule->port.port, c->port);
			EXPECT_EQ("pad", rule->port.pad, 0);
			if (!proto_in(c->protos, c->added, rule->port.proto)) {
				fprintf(stderr, "#   unexpected port rule protocol %u\n",
					rule->port.proto);
				g_fails++;
			}
			for (int j = 0; j < i; j++)
				EXPECT_EQ("each protocol once",
					  r.rule[j].port.proto == rule->port.proto, 0);
			break;
		case RULE_PROTO:
			EXPECT_EQ("proto", rule->proto, c->proto);
			break;
		case RULE_L2:
			EXPECT_EQ("l2", rule->l2, c->l2);
			break;
		}
	}
	end_checks(c->spec);
}

/* RULES_MAX rules fit ("too many rules (at most RULES_MAX)"), one more does not. */
static void test_rules_max(void **state)
{
	static struct rules r;
	char spec[32];
	int i, ret = 0;

	(void)state;
	rules_init(&r, XS_ACTION_COUNT);
	for (i = 0; i < RULES_MAX + 1; i++) {
		snprintf(spec, sizeof(spec), "port:tcp/%d", 1000 + i);
		ret = rules_add(&r, XS_ACTION_DROP, spec);
		if (ret)
			break;
	}
	EXPECT_EQ("rules accepted before the first refusal", i, RULES_MAX);
	EXPECT_EQ("refusal", ret, -E2BIG);
	EXPECT_EQ("count", r.count, RULES_MAX);
	end_checks("rules max");
}

/* The rule options through the one option parser, as `run` takes them. */
static int rule_option(struct rules *r, const char *name, const char *arg)
{
	char *argv[] = { "run", (char *)name, (char *)arg, NULL };
	struct opt_table t = rule_options(r);

	optind = 0; /* glibc: start over */
	opterr = 0;
	return opts_parse(3, argv, "", &t, 1);
}

static void test_rules_options(void **state)
{
	static struct rules r;

	(void)state;
	rules_init(&r, XS_ACTION_CAPTURE);
	EXPECT_EQ("rules_init default action", r.config.default_action, XS_ACTION_CAPTURE);
	EXPECT_EQ("rules_init sample_n", r.config.sample_n, 1);
	EXPECT_EQ("--sample 4", rule_option(&r, "--sample", "4"), 0);
	EXPECT_EQ("sample_n", r.config.sample_n, 4);
	EXPECT_EQ("--sample 0", rule_option(&r, "--sample", "0"), -EINVAL);
	EXPECT_EQ("--sample -3", rule_option(&r, "--sample", "-3"), -EINVAL);
	EXPECT_EQ("--sample x", rule_option(&r, "--sample", "x"), -EINVAL);
	EXPECT_EQ("sample_n unchanged by bad values", r.config.sample_n, 4);
	EXPECT_EQ("--sample-seed 0xdeadbeef", rule_option(&r, "--sample-seed", "0xdeadbeef"), 0);
	EXPECT_EQ("sample_seed", r.config.sample_seed, 0xdeadbeef);
	EXPECT_EQ("--sample-seed 2^32", rule_option(&r, "--sample-seed", "4294967296"), -EINVAL);
	EXPECT_EQ("--default drop", rules_set_default(&r, "drop"), 0);
	EXPECT_EQ("default action", r.config.default_action, XS_ACTION_DROP);
	EXPECT_EQ("--default none", rules_set_default(&r, "none"), -EINVAL);
	EXPECT_EQ("--default bogus", rules_set_default(&r, "bogus"), -EINVAL);
	EXPECT_EQ("default action unchanged", r.config.default_action, XS_ACTION_DROP);
	EXPECT_EQ("proto_from_name(udp)", proto_from_name("udp"), 17);
	EXPECT_EQ("proto_from_name(SCTP)", proto_from_name("SCTP"), 132);
	EXPECT_EQ("proto_from_name(255)", proto_from_name("255"), 255);
	EXPECT_EQ("proto_from_name(256)", proto_from_name("256"), -EINVAL);
	EXPECT_EQ("proto_from_name(foo)", proto_from_name("foo"), -EINVAL);
	end_checks("rules options");
}

/* The one integer parser: whole numbers in range, nothing around them. */
static void test_parse_uint(void **state)
{
	static const struct {
		const char *s;
		unsigned long min, max, want;
		int ret;
	} cases[] = {
		{ "0", 0, 10, 0, 0 },           { "10", 0, 10, 10, 0 },
		{ "11", 0, 10, 0, -ERANGE },    { "0", 1, 10, 0, -ERANGE },
		{ "010", 0, 100, 10, 0 },       { "0x1f", 0, 100, 31, 0 },
		{ "0x", 0, 100, 0, -EINVAL },   { "", 0, 100, 0, -EINVAL },
		{ " 5", 0, 100, 0, -EINVAL },   { "+5", 0, 100, 0, -EINVAL },
		{ "-5", 0, 100, 0, -EINVAL },   { "5 ", 0, 100, 0, -EINVAL },
		{ "5k", 0, 100, 0, -EINVAL },   { "4294967295", 0, 0xffffffffu, 0xffffffffu, 0 },
		{ "99999999999999999999999", 0, 100, 0, -ERANGE },
	};
	char what[64];
	__u64 v64 = 0;

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		unsigned long v = 0;
		int ret = parse_uint(cases[i].s, cases[i].min, cases[i].max, &v);

		snprintf(what, sizeof(what), "parse_uint('%s', %lu, %lu)", cases[i].s, cases[i].min,
			 cases[i].max);
		EXPECT_EQ(what, ret, cases[i].ret);
		if (!cases[i].ret)
			EXPECT_EQ(what, v, cases[i].want);
	}
	/* the 64-bit width (query --limit, inspect -n, epoch ms) */
	EXPECT_EQ("parse_u64 max", parse_u64("18446744073709551615", 0, UINT64_MAX, &v64), 0);
	EXPECT_EQ("parse_u64 max value", v64, UINT64_MAX);
	EXPECT_EQ("parse_u64 one past max",
		  parse_u64("18446744073709551616", 0, UINT64_MAX, &v64), -ERANGE);
	EXPECT_EQ("parse_u64 0x, range", parse_u64("0x100000000", 0, 0xffffffffu, &v64),
		  -ERANGE);
	EXPECT_EQ("parse_u64 junk", parse_u64("12 ", 0, UINT64_MAX, &v64), -EINVAL);
	end_checks("parse_uint");
}

/* Sizes (--spool-max): the same numbers, then K, M, G or T (powers of 1024). */
static void test_parse_size(void **state)
{
	static const struct {
		const char *s;
		__u64 max, want;
		int ret;
	} cases[] = {
		{ "0", 1ull << 50, 0, 0 },
		{ "4096", 1ull << 50, 4096, 0 },
		{ "32K", 1ull << 50, 32768, 0 },
		{ "512M", 1ull << 50, 512ull << 20, 0 },
		{ "1G", 1ull << 50, 1ull << 30, 0 },
		{ "2T", 1ull << 50, 2ull << 40, 0 },
		{ "0x10K", 1ull << 50, 16384, 0 },
		{ "1024T", 1ull << 50, 1ull << 50, 0 },
		{ "1025T", 1ull << 50, 0, -ERANGE },
		{ "2K", 2047, 0, -ERANGE },
		{ "K", 1ull << 50, 0, -EINVAL },
		{ "12Q", 1ull << 50, 0, -EINVAL },
		{ "1k", 1ull << 50, 0, -EINVAL },
		{ "1KB", 1ull << 50, 0, -EINVAL },
		{ "-1K", 1ull << 50, 0, -EINVAL },
		{ "", 1ull << 50, 0, -EINVAL },
		{ "99999999999999999999999999999999999K", UINT64_MAX, 0, -EINVAL },
	};
	char what[80];

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		__u64 v = 0;
		int ret = parse_size(cases[i].s, cases[i].max, &v);

		snprintf(what, sizeof(what), "parse_size('%s', %llu)", cases[i].s,
			 (unsigned long long)cases[i].max);
		EXPECT_EQ(what, ret, cases[i].ret);
		if (!cases[i].ret)
			EXPECT_EQ(what, v, cases[i].want);
	}
	end_checks("parse_size");
}

/* xs.meta: the README's layout byte by byte, back whole; the five headers
 * of --headers all read the same; what is not xs.meta is refused. */
static void test_record_meta(void **state)
{
	static const __u8 want[] = { 1, 1, 0x01, 0x02, 0, 0, 0x05, 0xdc, 0x18, 0x49, 0x9c,
				     0x3b, 0x7e, 0x5d, 0x8a, 0x15, 'e', 't', 'h', '1' };
	const __u64 ts = 0x18499c3b7e5d8a15ull;
	__u8 out[RECORD_META_MAX], be8[8], be4[4], one = 1, outer[RECORD_OUTER_KEY_LEN];
	struct record_meta m;
	rd_kafka_headers_t *h;
	size_t n;

	(void)state;
	n = record_meta_encode(out, ts, 1500, 0x102, 1, "eth1");
	EXPECT_EQ("length: 16 + the name", n, sizeof(want));
	EXPECT_EQ("bytes as documented", memcmp(out, want, sizeof(want)), 0);
	EXPECT_EQ("decodes", record_meta_decode(out, n, &m), 0);
	EXPECT_EQ("ts_ns", m.ts_ns, ts);
	EXPECT_EQ("orig_len", m.orig_len, 1500);
	EXPECT_EQ("queue", m.queue, 0x102);
	EXPECT_EQ("dir", m.dir, 1);
	EXPECT_STR("ifname", m.ifname, "eth1");
	n = record_meta_encode(out, ts, 60, 0, 0, "a-long-name-15c");
	EXPECT_EQ("a 15-character name whole", n, RECORD_META_FIXED + 15);
	EXPECT_EQ("decodes", record_meta_decode(out, n, &m), 0);
	EXPECT_STR("ifname", m.ifname, "a-long-name-15c");
	EXPECT_EQ("too short", record_meta_decode(out, RECORD_META_FIXED - 1, &m), -EINVAL);
	out[0] = 2;
	EXPECT_EQ("another version", record_meta_decode(out, n, &m), -EINVAL);

	h = rd_kafka_headers_new(5);
	EXPECT_EQ("no headers: nothing", record_meta_read(h, &m), 0);
	put_be64(be8, ts);
	put_be32(be4, 1500);
	rd_kafka_header_add(h, "xs.ts_ns", -1, be8, 8);
	rd_kafka_header_add(h, "xs.orig_len", -1, be4, 4);
	rd_kafka_header_add(h, "xs.dir", -1, &one, 1);
	EXPECT_EQ("three of the five", record_meta_read(h, &m), META_TS | META_ORIG_LEN | META_DIR);
	EXPECT_EQ("xs.ts_ns", m.ts_ns, ts);
	EXPECT_EQ("xs.orig_len", m.orig_len, 1500);
	EXPECT_EQ("xs.dir", m.dir, 1);
	n = record_meta_encode(out, ts + 1, 60, 3, 0, "veth0");
	rd_kafka_header_add(h, RECORD_META_HEADER, -1, out, (ssize_t)n);
	EXPECT_EQ("xs.meta first", record_meta_read(h, &m), META_ALL);
	EXPECT_EQ("xs.meta's time", m.ts_ns, ts + 1);
	EXPECT_STR("xs.meta's name", m.ifname, "veth0");
	rd_kafka_header_add(h, RECORD_OUTER_KEY_HEADER, -1, NULL, 0);
	EXPECT_EQ("a null xs.outer_key: none", record_meta_read(h, &m), META_ALL);
	memset(outer, 0x5a, sizeof(outer));
	rd_kafka_header_add(h, RECORD_OUTER_KEY_HEADER, -1, outer, sizeof(outer));
	EXPECT_EQ("xs.outer_key", record_meta_read(h, &m), META_ALL | META_OUTER_KEY);
	EXPECT_EQ("xs.outer_key's bytes", memcmp(m.outer_key, outer, sizeof(outer)), 0);
	rd_kafka_headers_destroy(h);
	end_checks("record meta");
}

/* A record's reference tells a spool ticket from a capture time, and
 * gives either back whole. */
static void test_record_ref(void **state)
{
	const __u64 times[] = { 0, 1, 1750000000123456789ull, REF_SPOOL - 1 };
	const __u32 tickets[] = { 0, 1, 65535, UINT32_MAX };

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(times); i++) {
		void *ref = record_ref_direct(times[i]);

		EXPECT_EQ("direct: not a ticket", record_ref_is_spool(ref), 0);
		EXPECT_EQ("direct: time back", record_ref_ts(ref), times[i]);
	}
	for (size_t i = 0; i < ARRAY_SIZE(tickets); i++) {
		void *ref = record_ref_spool(tickets[i]);

		EXPECT_EQ("spool: a ticket", record_ref_is_spool(ref), 1);
		EXPECT_EQ("spool: ticket back", record_ref_ticket(ref), tickets[i]);
	}
	end_checks("record ref");
}

/* ------------------------------------------------------------------ */
/* Flow formatting helpers                                             */

static void mac_to_bytes(const char *text, __u8 out[16])
{
	unsigned int b[6] = {};

	memset(out, 0, 16);
	sscanf(text, "%x:%x:%x:%x:%x:%x", &b[0], &b[1], &b[2], &b[3], &b[4], &b[5]);
	for (int i = 0; i < 6; i++)
		out[i] = (__u8)b[i];
}

static void test_format_addr(void **state)
{
	char out[INET6_ADDRSTRLEN];
	__u8 a[16];

	(void)state;
	addr_to_key("192.0.2.1", a);
	format_addr(a, XS_FAMILY_IPV4, out);
	EXPECT_STR("ipv4", out, "192.0.2.1");
	addr_to_key("2001:db8::1", a);
	format_addr(a, XS_FAMILY_IPV6, out);
	EXPECT_STR("ipv6", out, "2001:db8::1");
	EXPECT_EQ("proto_has_ports(tcp)", proto_has_ports(6), 1);
	EXPECT_EQ("proto_has_ports(icmpv6)", proto_has_ports(58), 1);
	EXPECT_EQ("proto_has_ports(gre)", proto_has_ports(47), 0);
	mac_to_bytes("02:e2:e0:0a:bc:01", a);
	format_addr(a, XS_FAMILY_L2, out);
	EXPECT_STR("mac (keyed at L2)", out, "02:e2:e0:0a:bc:01");
	end_checks("format_addr");
}

/* ------------------------------------------------------------------ */
/* A multi-buffer frame put back together                              */

/* buffers in a fake UMEM: each with room for the metadata in front */
#define BUF 4096
#define HEAD 256

static __u8 *umem_buf(__u8 *umem, int i)
{
	return umem + (size_t)i * BUF + HEAD;
}

static void test_reasm(void **state)
{
	static __u8 umem[4 * BUF], frame[9014];
	struct xs_meta *m;
	struct reasm r;
	__u32 sizes[] = { 3840, 3840, 9014 - 2 * 3840 }, off = 0;

	(void)state;
	assert_int_equal(reasm_init(&r), 0);
	for (size_t i = 0; i < sizeof(frame); i++)
		frame[i] = (__u8)(i * 7 + i / 251);
	for (int i = 0; i < 3; i++) {
		memcpy(umem_buf(umem, i), frame + off, sizes[i]);
		off += sizes[i];
	}
	m = (struct xs_meta *)(umem_buf(umem, 0) - sizeof(*m));
	*m = (struct xs_meta){ .rx_ts_ns = 123456789, .magic = XS_META_MAGIC };

	/* three buffers, the first two flagged "more"; the frame may straddle
	 * two RX batches: nothing but r carries it over */
	EXPECT_EQ("buffer 1: not whole", reasm_add(&r, umem_buf(umem, 0), sizes[0], true), 0);
	EXPECT_EQ("the first buffer's magic is cleared", m->magic, 0);
	EXPECT_EQ("buffer 2: not whole", reasm_add(&r, umem_buf(umem, 1), sizes[1], true), 0);
	EXPECT_EQ("buffer 3: whole", reasm_add(&r, umem_buf(umem, 2), sizes[2], false), 1);
	EXPECT_EQ("len", r.len, sizeof(frame));
	EXPECT_EQ("wire_len", r.wire_len, sizeof(frame));
	EXPECT_EQ("the bytes (memcmp)", memcmp(r.buf, frame, sizeof(frame)), 0);
	EXPECT_EQ("metadata of the first buffer: timestamp", r.meta.rx_ts_ns, 123456789);
	EXPECT_EQ("metadata of the first buffer: magic", r.meta.magic, XS_META_MAGIC);
	EXPECT_EQ("no frame under way", r.busy, 0);

	/* the next frame starts afresh, in one buffer */
	*m = (struct xs_meta){ .rx_ts_ns = 42, .magic = XS_META_MAGIC };
	EXPECT_EQ("a one-buffer frame", reasm_add(&r, umem_buf(umem, 0), 100, false), 1);
	EXPECT_EQ("len", r.len, 100);
	EXPECT_EQ("timestamp", r.meta.rx_ts_ns, 42);

	/* longer than REASM_MAX: kept up to it, the wire length counted whole */
	for (__u32 seen = 0; seen < REASM_MAX + 2 * 3840; seen += 3840)
		reasm_add(&r, umem_buf(umem, 1), 3840, seen + 3840 < REASM_MAX + 2 * 3840);
	EXPECT_EQ("kept at most REASM_MAX", r.len, REASM_MAX);
	EXPECT_TRUE("the wire length beyond it", r.wire_len > REASM_MAX);
	reasm_free(&r);
	end_checks("reasm");
}

/* ------------------------------------------------------------------ */

/* The workers' wait: naps fitted to the rate, bounded, and poll() when idle. */
static void test_rx_nap(void **state)
{
	const __u32 ring = 4096;
	struct rx_nap n;
	unsigned int us = 0;

	(void)state;
	rx_nap_init(&n, 0);
	rx_nap_got(&n, 10);
	assert_int_equal(rx_nap_next(&n, ring), 0); /* --rx-sleep-us 0: always poll() */

	rx_nap_init(&n, 1000);
	assert_int_equal(rx_nap_next(&n, ring), 0); /* no frame yet: poll() */
	rx_nap_got(&n, 1);
	for (int i = 0; i < 10; i++) { /* a trickle: the nap doubles up to the bound */
		rx_nap_got(&n, 1);
		us = rx_nap_next(&n, ring);
		assert_true(us >= RX_NAP_MIN_US && us <= 1000);
	}
	assert_int_equal(us, 1000);
	rx_nap_got(&n, ring / 4); /* a burst: it halves */
	assert_int_equal(rx_nap_next(&n, ring), 500);
	rx_nap_got(&n, ring / 32); /* between the marks: it holds */
	assert_int_equal(rx_nap_next(&n, ring), 500);

	/* no frame for RX_NAP_IDLE_US of naps: back to poll() until the next frame */
	for (us = 0; rx_nap_next(&n, ring); us++)
		assert_true(us < RX_NAP_IDLE_US / RX_NAP_MIN_US);
	assert_int_equal(rx_nap_next(&n, ring), 0);
	rx_nap_got(&n, 1);
	assert_int_not_equal(rx_nap_next(&n, ring), 0);
}

/* ------------------------------------------------------------------ */

/* kafka_conf_build(src) with stderr caught into err[]: the configuration or NULL. */
static rd_kafka_conf_t *conf_build_caught(const struct kafka_conf_src *src, char *err,
					  size_t size)
{
	FILE *tmp = tmpfile();
	int saved = dup(STDERR_FILENO);
	rd_kafka_conf_t *conf;
	size_t n;

	assert_non_null(tmp);
	assert_true(saved >= 0);
	fflush(stderr);
	dup2(fileno(tmp), STDERR_FILENO);
	conf = kafka_conf_build(src);
	fflush(stderr);
	dup2(saved, STDERR_FILENO);
	close(saved);
	rewind(tmp);
	n = fread(err, 1, size - 1, tmp);
	err[n] = '\0';
	fclose(tmp);
	return conf;
}

static void expect_conf(rd_kafka_conf_t *conf, const char *name, const char *want)
{
	char got[4096];
	size_t size = sizeof(got);

	if (rd_kafka_conf_get(conf, name, got, &size) != RD_KAFKA_CONF_OK)
		snprintf(got, sizeof(got), "(unknown)");
	if (strcmp(got, want)) {
		fprintf(stderr, "#   %s: actual \"%.60s\", expected \"%.60s\"\n", name, got, want);
		g_fails++;
	}
}

/* kafka_conf.h: defaults < -b < --metrics < -c FILE < -X; the file's
 * comments, blanks and long lines; each bad property one line naming where
 * it came from. */
static void test_kafka_conf(void **state)
{
	static const char *const defaults[][2] = { { "client.id", "dflt" }, { "linger.ms", "1" } };
	char path[] = "/tmp/xs-kconf.XXXXXX", err[1024], want[256], *longval;
	const char *props[] = { "linger.ms=9", "  socket.timeout.ms = 23456" };
	struct kafka_conf_src src = {
		.defaults = defaults, .ndefaults = ARRAY_SIZE(defaults), .brokers = "h:1",
		.stats_interval_ms = "1000", .file = path, .props = props, .nprops = 2,
	};
	/* where (the line's start), and what it names (librdkafka's words after it) */
	const struct { const char *prop, *file, *where, *names; } bad[] = {
		{ "no.such=1", NULL, "-X: ", "\"no.such\"" },
		{ "noequals", NULL, "-X: ", "'noequals' is not NAME=VALUE" },
		{ " =v", NULL, "-X: ", "' =v' is not NAME=VALUE" },
		{ "socket.timeout.ms=soon", NULL, "-X: ", "\"socket.timeout.ms\"" },
		{ NULL, "# ok\nclient.id=x\n\n  no.such = 1\n", "%s:4: ", "\"no.such\"" },
		{ NULL, "client.id=x\nlinger.ms\n", "%s:2: ", "'linger.ms' is not NAME=VALUE" },
	};
	rd_kafka_conf_t *conf;
	FILE *f;
	int fd, before;

	(void)state;
	fd = mkstemp(path);
	assert_true(fd >= 0);
	f = fdopen(fd, "w");
	assert_non_null(f);
	longval = malloc(3001);
	assert_non_null(longval);
	memset(longval, 'g', 3000);
	longval[3000] = '\0';
	fprintf(f, "# a comment\n\n  client.id = from-file  \r\nlinger.ms=7\n"
		   "\t# indented comment\nsocket.timeout.ms=12345\ngroup.id=%s\n"
		   "fetch.wait.max.ms=77", longval);
	fclose(f);

	conf = conf_build_caught(&src, err, sizeof(err));
	if (!conf) {
		unlink(path);
		fail_msg("refused: %s", err);
	}
	EXPECT_STR("nothing said", err, "");
	expect_conf(conf, "client.id", "from-file");      /* -c over the default */
	expect_conf(conf, "linger.ms", "9");              /* -X over -c */
	expect_conf(conf, "bootstrap.servers", "h:1");
	expect_conf(conf, "statistics.interval.ms", "1000");
	expect_conf(conf, "socket.timeout.ms", "23456");  /* -X, blanks around */
	expect_conf(conf, "group.id", longval);           /* a 3000-byte line is one line */
	expect_conf(conf, "fetch.wait.max.ms", "77");     /* no newline at the end */
	rd_kafka_conf_destroy(conf);
	free(longval);

	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		struct kafka_conf_src b = { .brokers = "h:1", .props = &bad[i].prop };

		b.nprops = bad[i].prop ? 1 : 0;
		if (bad[i].file) {
			f = fopen(path, "w");
			assert_non_null(f);
			fputs(bad[i].file, f);
			fclose(f);
			b.file = path;
		}
		snprintf(want, sizeof(want), "xdpsensor: ");
		snprintf(want + strlen(want), sizeof(want) - strlen(want), bad[i].where, path);
		before = g_fails;
		conf = conf_build_caught(&b, err, sizeof(err));
		EXPECT_TRUE("refused", !conf);
		EXPECT_TRUE(want, !strncmp(err, want, strlen(want)));
		EXPECT_TRUE(bad[i].names, strstr(err, bad[i].names));
		EXPECT_TRUE("one line", strchr(err, '\n') == err + strlen(err) - 1);
		if (g_fails != before)
			fprintf(stderr, "#   said: %s", err);
		if (conf)
			rd_kafka_conf_destroy(conf);
	}
	unlink(path);
	src = (struct kafka_conf_src){ .file = path };
	EXPECT_TRUE("missing file refused", !conf_build_caught(&src, err, sizeof(err)));
	snprintf(want, sizeof(want), "xdpsensor: cannot read Kafka config file %s: No such file or"
		 " directory\n", path);
	EXPECT_STR("missing file said", err, want);
	src.file = "/tmp";
	EXPECT_TRUE("directory refused", !conf_build_caught(&src, err, sizeof(err)));
	EXPECT_STR("directory said", err,
		   "xdpsensor: cannot read Kafka config file /tmp: Is a directory\n");
	end_checks("kafka conf");
}

/* One UMEM frame of a test file: marked (received, not read) or not. */
struct umem_frame {
	__u32 index, len;
	__u64 ts;
	bool marked;
};

static void write_umem(const char *dir, const char *name, const struct umem_frame *f, size_t n)
{
	static __u8 area[4 * XSK_FRAME_SIZE];
	char path[256];
	FILE *out;

	memset(area, 0, sizeof(area));
	for (size_t i = 0; i < n; i++) {
		__u8 *data = area + (size_t)f[i].index * XSK_FRAME_SIZE + 256;
		struct xs_meta *m = (struct xs_meta *)(data - sizeof(*m));

		*m = (struct xs_meta){ .rx_ts_ns = f[i].ts, .len = f[i].len,
				       .magic = f[i].marked ? XS_META_MAGIC : 0 };
		memset(data, (int)f[i].ts, 14); /* the frame tells which it is */
	}
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	out = fopen(path, "w");
	if (out) {
		fwrite(area, 1, sizeof(area), out);
		fclose(out);
	}
}

struct kept_seen {
	__u32 queue[8], len[8], orig_len[8];
	__u64 ts[8];
	__u8 first_byte[8];
	size_t n;
};

static void record_kept(void *ctx, __u32 queue, const __u8 *frame, __u32 len,
			const struct xs_meta *meta)
{
	struct kept_seen *s = ctx;

	if (s->n == 8)
		return;
	s->queue[s->n] = queue;
	s->len[s->n] = len;
	s->orig_len[s->n] = meta->orig_len;
	s->ts[s->n] = meta->rx_ts_ns;
	s->first_byte[s->n++] = frame[0];
}

static bool file_exists(const char *dir, const char *name)
{
	char path[256];

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	return !access(path, F_OK);
}

/* A killed run's UMEM files (kept.h): every file of the interface, whatever
 * its queue, and no other interface's; the frames still marked, each
 * queue's oldest first, with their length; a read frame (magic cleared)
 * not; a multi-buffer frame as its first buffer, cut, its length kept;
 * the files the new run reuses kept, their marks cleared, the others gone. */
static void test_grow(void **state)
{
	__u32 *a = NULL;
	size_t cap = 0;

	(void)state;
	EXPECT_EQ("empty: from the first size", grow(&a, &cap, 1, 16), 0);
	EXPECT_EQ("16 items", cap, 16);
	a[15] = 7;
	EXPECT_EQ("room enough: as it was", grow(&a, &cap, 16, 16) || cap != 16, 0);
	EXPECT_EQ("one more: doubled", grow(&a, &cap, 17, 16) || cap != 32, 0);
	EXPECT_EQ("far more: doubled until it fits", grow(&a, &cap, 100, 16) || cap != 128,
		  0);
	EXPECT_EQ("what it held, kept", a[15], 7);
	EXPECT_EQ("too much: refused, as it was",
		  grow(&a, &cap, SIZE_MAX / 2, 16) == -ENOMEM && cap == 128, 1);
	free(a);
	end_checks("grow");
}

static void test_kept_umems(void **state)
{
	const struct umem_frame q0[] = { { 3, 60, 30, true }, { 1, 64, 10, true },
					 { 2, 70, 20, false } };
	const struct umem_frame q3[] = { { 0, 9000, 5, true } };
	const struct umem_frame other[] = { { 0, 60, 1, true } };
	char dir[] = "/tmp/xs-kept.XXXXXX", cmd[64];
	struct kept_seen seen = { .n = 0 };
	struct kept_umems k;
	long n;

	(void)state;
	if (!mkdtemp(dir))
		return end_checks("kept umems");
	write_umem(dir, "a.q0.umem", q0, 3);
	write_umem(dir, "a.q3.umem", q3, 1);
	write_umem(dir, "a.q1.q0.umem", other, 1); /* interface a.q1's */
	kept_umems_take(dir, "a", 2, &k); /* the new run has queues 0 and 1 */
	EXPECT_EQ("the interface's two files, not another's", k.files, 2);
	EXPECT_TRUE("queue 0's kept for its new socket, queue 3's removed",
		    file_exists(dir, "a.q0.umem") && !file_exists(dir, "a.q3.umem"));
	EXPECT_TRUE("another interface's left", file_exists(dir, "a.q1.q0.umem"));
	n = kept_umems_drain(&k, record_kept, &seen);
	EXPECT_EQ("the marked frames", n, 3);
	EXPECT_EQ("handed", seen.n, 3);
	EXPECT_TRUE("queue 0 oldest first, then queue 3",
		    seen.queue[0] == 0 && seen.ts[0] == 10 && seen.first_byte[0] == 10 &&
			    seen.queue[1] == 0 && seen.ts[1] == 30 && seen.first_byte[1] == 30 &&
			    seen.queue[2] == 3 && seen.ts[2] == 5);
	EXPECT_TRUE("each with its length", seen.len[0] == 64 && seen.len[1] == 60);
	EXPECT_TRUE("a multi-buffer frame cut, its length kept",
		    seen.len[2] == XSK_SINGLE_MAX && seen.orig_len[2] == 9000);
	kept_umems_take(dir, "a", 2, &k);
	EXPECT_EQ("taken once: the marks cleared in the file kept", kept_umems_drain(&k, NULL, NULL),
		  0);
	kept_umems_take(dir, "a.q1", 0, &k);
	EXPECT_EQ("dropped when nobody takes them", kept_umems_drain(&k, NULL, NULL), 1);
	EXPECT_TRUE("and removed", !file_exists(dir, "a.q1.q0.umem"));
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	if (system(cmd))
		fprintf(stderr, "# cannot remove %s\n", dir);
	end_checks("kept umems");
}

/* ------------------------------------------------------------------ */
/* Kafka's wire format (kafka_wire.h)                                  */

static void test_kafka_wire(void **state)
{
	static const uint8_t check[] = "123456789";
	uint8_t buf[512], *end;
	const uint8_t *p;
	int64_t v;
	struct wire_header out[4];
	const struct wire_header hdrs[] = {
		{ .name = "xs.meta", .value = "\x01\x00", .len = 2 },
		{ .name = "xs.outer_key", .value = NULL, .len = -1 },
	};
	const struct wire_record rec = { .key = NULL, .key_len = -1, .value = "frame",
					 .value_len = 5, .headers = hdrs, .nheaders = 2 };
	struct wire_record got;
	const struct wire_producer pr = { .id = 0x1122334455667788ll, .epoch = 3, .base_seq = 7 };

	(void)state;
	begin_checks();
	/* CRC-32C's check value (RFC 3720 B.4: "123456789") */
	EXPECT_EQ("crc32c(123456789)", crc32c(check, 9), 0xe3069283u);
	/* zigzag varints: -1 is 0x01, 300 is 600 = d8 04 */
	end = wire_put_varint(buf, -1);
	EXPECT_TRUE("varint -1", end - buf == 1 && buf[0] == 1);
	end = wire_put_varint(buf, 300);
	EXPECT_TRUE("varint 300", end - buf == 2 && buf[0] == 0xd8 && buf[1] == 0x04);
	p = buf;
	EXPECT_TRUE("varint back", !read_varint(&p, end, &v) && v == 300 && p == end);
	p = buf;
	EXPECT_TRUE("varint cut", read_varint(&p, buf + 1, &v) == -1);
	/* a record with a null key and a null header value, read back */
	size_t size = wire_record_size(&rec, 3, 9);

	end = wire_record_put(buf + BATCH_HEADER, &rec, 3, 9);
	EXPECT_EQ("record size", end - (buf + BATCH_HEADER), size);
	p = buf + BATCH_HEADER;
	EXPECT_EQ("record back", wire_record_get(&p, end, &got, out, 4), 0);
	EXPECT_TRUE("record end", p == end);
	EXPECT_TRUE("null key", got.key == NULL && got.key_len == -1);
	EXPECT_TRUE("value", got.value_len == 5 && !memcmp(got.value, "frame", 5));
	EXPECT_EQ("headers", got.nheaders, 2);
	EXPECT_TRUE("header 0", out[0].name_len == 7 && !memcmp(out[0].name, "xs.meta", 7) &&
					out[0].len == 2 && !memcmp(out[0].value, "\x01\x00", 2));
	EXPECT_TRUE("header 1 null", out[1].name_len == 12 && out[1].len == -1 && !out[1].value);
	p = buf + BATCH_HEADER;
	EXPECT_EQ("torn record", wire_record_get(&p, end - 1, &got, out, 4), -1);
	/* the batch header: Kafka's field offsets, the CRC over attributes.. */
	wire_batch_seal(buf, (size_t)(end - buf), 1, 1000, 1003, &pr);
	EXPECT_EQ("batch length", be32toh(*(uint32_t *)(buf + 8)), (end - buf) - 12);
	EXPECT_EQ("magic", buf[16], 2);
	EXPECT_EQ("crc", be32toh(*(uint32_t *)(buf + 17)), crc32c(buf + 21, (size_t)(end - buf) - 21));
	EXPECT_EQ("producer id", (int64_t)be64toh(*(uint64_t *)(buf + 43)), pr.id);
	EXPECT_EQ("epoch", (int16_t)be16toh(*(uint16_t *)(buf + 51)), 3);
	EXPECT_EQ("base sequence", (int32_t)be32toh(*(uint32_t *)(buf + 53)), 7);
	EXPECT_EQ("records", be32toh(*(uint32_t *)(buf + 57)), 1);
	/* sequences wrap past INT32_MAX to 0, as the Java producer's */
	EXPECT_EQ("seq wraps", wire_seq_add(INT32_MAX - 1, 3), 1);
	EXPECT_EQ("seq", wire_seq_add(5, 10), 15);
	end_checks("kafka wire");
}

int main(void)
{
	struct CMUnitTest tests[ARRAY_SIZE(cid_cases) + ARRAY_SIZE(rule_cases) + 20];
	char cid_names[ARRAY_SIZE(cid_cases)][128];
	char names[ARRAY_SIZE(rule_cases)][64];
	size_t n = 0;

	setvbuf(stdout, NULL, _IOLBF, 0);
	for (size_t i = 0; i < ARRAY_SIZE(cid_cases); i++) {
		const struct cid_case *c = &cid_cases[i];

		snprintf(cid_names[i], sizeof(cid_names[i]), "community id: proto %u %s:%u -> %s:%u",
			 c->proto, c->src, c->sport, c->dst, c->dport);
		tests[n++] = (struct CMUnitTest){ cid_names[i], test_community_id_vector, NULL, NULL,
						  (void *)c };
	}
	tests[n++] = (struct CMUnitTest){ "community id: hand-built key, output too small",
					  test_community_id_direct, NULL, NULL, NULL };
	tests[n++] = (struct CMUnitTest){ "community id: packet view and flow view agree",
					  test_community_id_views_agree, NULL, NULL, NULL };
	tests[n++] = (struct CMUnitTest){ "community id: icmp port equivalents",
					  test_icmp_equivalents_v4, NULL, NULL, NULL };
	tests[n++] = (struct CMUnitTest){ "community id: icmpv6 port equivalents",
					  test_icmp_equivalents_v6, NULL, NULL, NULL };
	for (size_t i = 0; i < ARRAY_SIZE(rule_cases); i++) {
		snprintf(names[i], sizeof(names[i]), "rule '%s' -> %s", rule_cases[i].spec,
			 rule_cases[i].ret ? "-EINVAL" : "ok");
		tests[n++] = (struct CMUnitTest){ names[i], test_rule_case, NULL, NULL,
						  (void *)&rule_cases[i] };
	}
	tests[n++] = (struct CMUnitTest){ "rules: RULES_MAX rules fit, one more is refused",
					  test_rules_max, NULL, NULL, NULL };
	tests[n++] = (struct CMUnitTest){ "rules: --sample, --default, protocol names",
					  test_rules_options, NULL, NULL, NULL };
	tests[n++] = (struct CMUnitTest){ "options: the one integer parser, ranges and junk",
					  test_parse_uint, NULL, NULL, NULL };
	tests[n++] = (struct CMUnitTest){ "options: sizes, K/M/G/T, ranges and junk",
					  test_parse_size, NULL, NULL, NULL };
	tests[n++] = (struct CMUnitTest){ "record ref: a spool ticket or a capture time, back whole",
					  test_record_ref, NULL, NULL, NULL };
	tests[n++] = (struct CMUnitTest){ "kafka wire: CRC-32C, varints, a record back, batch header",
					  test_kafka_wire, NULL, NULL, NULL };
	tests[n++] = (struct CMUnitTest){ "record meta: xs.meta as documented, the five headers",
					  test_record_meta, NULL, NULL, NULL };
	tests[n++] = (struct CMUnitTest){ "flow format: addresses, port-carrying protocols",
					  test_format_addr, NULL, NULL, NULL };
	tests[n++] = (struct CMUnitTest){ "rx nap: fitted to the rate, bounded, poll() when idle",
					  test_rx_nap, NULL, NULL, NULL };
	tests[n++] = (struct CMUnitTest){ "reasm: a 9014-byte frame from 3 buffers, metadata kept",
					  test_reasm, NULL, NULL, NULL };
	tests[n++] = (struct CMUnitTest){ "kafka conf: defaults < -b < -c FILE < -X, bad ones said",
					  test_kafka_conf, NULL, NULL, NULL };
	tests[n++] = (struct CMUnitTest){ "grow: doubled until it fits, refused past SIZE_MAX",
					  test_grow, NULL, NULL, NULL };
	tests[n++] = (struct CMUnitTest){ "kept umems: a killed run's unread frames, by queue, in"
					  " order", test_kept_umems, NULL, NULL, NULL };
	return _cmocka_run_group_tests("userspace", tests, n, NULL, NULL);
}
