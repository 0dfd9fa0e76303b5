// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * The XDP program under BPF_PROG_TEST_RUN, in the style of the kernel's
 * prog_tests/xdp*.c: every case is a row of a table (description, packet,
 * rules, expected verdict, expected counter deltas, expected flow entry),
 * and the checks read the maps (flows, per-CPU stats), not only the
 * return value. Every keyed case also runs the userspace build of
 * xs_parse_frame() on the same bytes and compares its key with the map's.
 *
 * Needs root and BPF; without them every test is skipped with the reason.
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
#include <time.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "datapath.h"
#include "flow_format.h"
#include "flow_parse.h"
#include "log.h"
#include "parked.h"
#include "rules.h"
#include "expect.h"
#include "pkt_build.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/* ------------------------------------------------------------------ */
/* The datapath under test                                             */

static struct xdpsensor_bpf *g_skel;
static const char *g_skip_reason = "not initialized";

static void require_datapath(void)
{
	if (!g_skel) {
		fprintf(stderr, "# skipped: %s\n", g_skip_reason);
		skip();
	}
}

/* Runs one frame through the program; returns 0 or -errno of the syscall. */
static int run_frame(struct xdpsensor_bpf *skel, const __u8 *data, size_t len, __u32 *retval)
{
	LIBBPF_OPTS(bpf_test_run_opts, opts, .data_in = data, .data_size_in = (__u32)len,
		    .repeat = 1);
	int err = bpf_prog_test_run_opts(bpf_program__fd(skel->progs.xdpsensor_xdp), &opts);

	*retval = opts.retval;
	return err;
}

static void read_stats(struct xdpsensor_bpf *skel, __u64 out[XS_STAT_MAX])
{
	int err = datapath_read_stats(bpf_map__fd(skel->maps.stats), out);

	if (err)
		fail_msg("datapath_read_stats: %s", strerror(-err));
}

/* Empties the flow table and every rule map (the stats are compared as deltas). */
static void dp_reset(struct xdpsensor_bpf *skel)
{
	struct flow_key fk;
	struct prefix_rule_key pk;
	struct port_rule_key tk;
	__u32 l2;
	int fd;

	fd = bpf_map__fd(skel->maps.flows);
	while (!bpf_map_get_next_key(fd, NULL, &fk))
		assert_int_equal(bpf_map_delete_elem(fd, &fk), 0);
	fd = bpf_map__fd(skel->maps.prefix_rules);
	while (!bpf_map_get_next_key(fd, NULL, &pk))
		assert_int_equal(bpf_map_delete_elem(fd, &pk), 0);
	fd = bpf_map__fd(skel->maps.port_rules);
	while (!bpf_map_get_next_key(fd, NULL, &tk))
		assert_int_equal(bpf_map_delete_elem(fd, &tk), 0);
	fd = bpf_map__fd(skel->maps.l2_rules);
	while (!bpf_map_get_next_key(fd, NULL, &l2))
		assert_int_equal(bpf_map_delete_elem(fd, &l2), 0);
	fd = bpf_map__fd(skel->maps.proto_rules);
	for (__u32 i = 0, zero = 0; i < 256; i++)
		assert_int_equal(bpf_map_update_elem(fd, &i, &zero, BPF_ANY), 0);
}

/* A rule as given on the command line: --capture/--count/--drop SPEC. */
struct rule_spec {
	__u32 action; /* enum xs_action */
	const char *spec;
};

/* Applies the rules through the CLI code path (rules_add + rules_apply). */
static void apply_rules_layer(struct xdpsensor_bpf *skel, __u32 default_action,
			      const struct rule_spec *rs, size_t n, __u32 sample_n, __u32 seed,
			      const char *key_layer)
{
	static struct rules r; /* 10 KiB: off the stack */

	rules_init(&r, default_action ? default_action : XS_ACTION_COUNT);
	assert_int_equal(rules_set_key_layer(&r, key_layer), 0);
	for (size_t i = 0; i < n && rs[i].spec; i++)
		if (rules_add(&r, rs[i].action, rs[i].spec))
			fail_msg("rules_add(%s, '%s') failed", action_name(rs[i].action), rs[i].spec);
	if (sample_n)
		r.config.sample_n = sample_n;
	r.config.sample_seed = seed;
	assert_int_equal(rules_apply(&r, skel), 0);
}

static void apply_rules(struct xdpsensor_bpf *skel, __u32 default_action,
			const struct rule_spec *rs, size_t n, __u32 sample_n, __u32 seed)
{
	apply_rules_layer(skel, default_action, rs, n, sample_n, seed, "inner");
}

static const char *fmt_key(const struct flow_key *k, char *buf, size_t n)
{
	char a[INET6_ADDRSTRLEN], b[INET6_ADDRSTRLEN];

	format_addr(k->addr_a, k->family, a);
	format_addr(k->addr_b, k->family, b);
	snprintf(buf, n, "family %u proto %u [%s]:%u <-> [%s]:%u", k->family, k->proto, a,
		 k->port_a, b, k->port_b);
	return buf;
}

static void expect_key(const char *what, const struct flow_key *actual,
		       const struct flow_key *expected)
{
	char x[160], y[160];

	if (memcmp(actual, expected, sizeof(*actual))) {
		fprintf(stderr, "#   %s:\n#     actual   %s\n#     expected %s\n", what,
			fmt_key(actual, x, sizeof(x)), fmt_key(expected, y, sizeof(y)));
		g_fails++;
	}
}

/* Every outcome counter moves by the expected delta, every other by 0. */
static void expect_stats_delta(const __u64 *before, const __u64 *after, const __u64 *want)
{
	char what[64];

	for (int s = 0; s < XS_STAT_MAX; s++) {
		snprintf(what, sizeof(what), "stats delta %s", stat_name(s));
		EXPECT_EQ(what, after[s] - before[s], want[s]);
	}
}

/* RX = CAPTURED + CAPTURE_NO_SOCKET + PARKED + COUNTED + DROPPED: every frame is
 * classified, those keyed at L2 too. */
static void expect_stats_identity(const __u64 *s)
{
	__u64 sum = s[XS_STAT_CAPTURED] + s[XS_STAT_CAPTURE_NO_SOCKET] + s[XS_STAT_PARKED] +
		    s[XS_STAT_COUNTED] +
		    s[XS_STAT_DROPPED];

	EXPECT_EQ("stats identity: rx == sum of the outcomes", s[XS_STAT_RX], sum);
}

static size_t read_flows(struct xdpsensor_bpf *skel, struct flow_entry **out)
{
	size_t n = 0;

	assert_int_equal(flow_table_read(bpf_map__fd(skel->maps.flows), out, &n), 0);
	return n;
}

/* ------------------------------------------------------------------ */
/* The table of single-packet cases                                    */

struct key_spec {
	__u8 family; /* 4, 6, or 0 (XS_FAMILY_L2: a and b are MAC addresses) */
	__u8 proto;
	const char *a, *b;
	__u16 port_a, port_b;
};

struct dp_case {
	const char *desc;
	struct pkt_spec pkt;
	__u32 default_action; /* 0: count */
	struct rule_spec rules[6];
	__u32 retval;                 /* XDP_PASS, XDP_DROP */
	__u64 delta[XS_STAT_MAX];     /* RX and RX_BYTES are added by the runner */
	struct key_spec key;
	__u8 dir;                     /* enum xs_dir of the packet in that key */
	__u8 tcp_flags;               /* expected flow_stats.tcp_flags */
	bool outer;                   /* --key-layer outer */
	__u8 decap;                   /* tunnels the userspace parser opened */
};

/* "aa:bb:cc:dd:ee:ff" into the first 6 bytes of a zeroed 16 */
static void mac_to_key(const char *text, __u8 out[16])
{
	unsigned int b[6];

	memset(out, 0, 16);
	if (sscanf(text, "%x:%x:%x:%x:%x:%x", &b[0], &b[1], &b[2], &b[3], &b[4], &b[5]) != 6)
		fail_msg("bad MAC address '%s' in a test table", text);
	for (int i = 0; i < 6; i++)
		out[i] = (__u8)b[i];
}

static struct flow_key key_from_spec(const struct key_spec *s)
{
	struct flow_key k = {};

	k.family = s->family;
	k.proto = s->proto;
	if (s->family == XS_FAMILY_L2) {
		mac_to_key(s->a, k.addr_a);
		mac_to_key(s->b, k.addr_b);
	} else {
		addr_to_key(s->a, k.addr_a);
		addr_to_key(s->b, k.addr_b);
	}
	k.port_a = s->port_a;
	k.port_b = s->port_b;
	return k;
}

#define A4 "10.0.0.1"
#define B4 "10.0.0.2"
#define A6 "2001:db8::1"
#define B6 "2001:db8::2"

#define TCP IPPROTO_TCP
#define UDP IPPROTO_UDP
#define SCTP IPPROTO_SCTP
#define ICMP IPPROTO_ICMP
#define ICMP6 IPPROTO_ICMPV6

#define KEY4(pr, addr_a, pa, addr_b, pb) \
	{ .family = 4, .proto = (pr), .a = (addr_a), .port_a = (pa), .b = (addr_b), .port_b = (pb) }
#define KEY6(pr, addr_a, pa, addr_b, pb) \
	{ .family = 6, .proto = (pr), .a = (addr_a), .port_a = (pa), .b = (addr_b), .port_b = (pb) }
/* keyed at L2: the builder's two MAC addresses, EtherType or SAPs */
#define KEY_L2(pa, pb) \
	{ .family = XS_FAMILY_L2, .a = MAC_LO, .port_a = (pa), .b = MAC_HI, .port_b = (pb) }

/* Expected counter deltas besides RX/RX_BYTES. */
#define NEW_COUNTED { [XS_STAT_COUNTED] = 1, [XS_STAT_FLOW_NEW] = 1 }
#define NEW_DROPPED { [XS_STAT_DROPPED] = 1, [XS_STAT_FLOW_NEW] = 1 }
#define NEW_NO_SOCKET { [XS_STAT_CAPTURE_NO_SOCKET] = 1, [XS_STAT_FLOW_NEW] = 1 }
#define ONLY(stat) { [stat] = 1 }
/* keyed at L2 for this reason, counted, a new flow */
#define L2_COUNTED(reason) { [XS_STAT_COUNTED] = 1, [XS_STAT_FLOW_NEW] = 1, [reason] = 1 }
#define DECAP_COUNTED { [XS_STAT_COUNTED] = 1, [XS_STAT_FLOW_NEW] = 1, [XS_STAT_DECAP] = 1 }

#define QINQ { 0x88A8, 0x8100 }

static const struct dp_case protocol_cases[] = {
	/* Ethernet II, IPv4 */
	{ "ipv4/tcp SYN from the lower address",
	  .pkt = { .src = A4, .dst = B4, .proto = TCP, .sport = 34567, .dport = 80, .tcp_flags = 0x02 },
	  .retval = XDP_PASS, .delta = NEW_COUNTED,
	  .key = KEY4(TCP, A4, 34567, B4, 80), .dir = XS_DIR_A_TO_B, .tcp_flags = 0x02 },
	{ "ipv4/tcp SYN-ACK from the higher address",
	  .pkt = { .src = B4, .dst = A4, .proto = TCP, .sport = 80, .dport = 34567, .tcp_flags = 0x12 },
	  .retval = XDP_PASS, .delta = NEW_COUNTED,
	  .key = KEY4(TCP, A4, 34567, B4, 80), .dir = XS_DIR_B_TO_A, .tcp_flags = 0x12 },
	{ "ipv4/udp query from the higher address",
	  .pkt = { .src = "192.168.1.52", .dst = "8.8.8.8", .proto = UDP, .sport = 54585, .dport = 53 },
	  .retval = XDP_PASS, .delta = NEW_COUNTED,
	  .key = KEY4(UDP, "8.8.8.8", 53, "192.168.1.52", 54585), .dir = XS_DIR_B_TO_A },
	{ "ipv4/sctp",
	  .pkt = { .src = "192.168.170.8", .dst = "192.168.170.56", .proto = SCTP, .sport = 7, .dport = 80 },
	  .retval = XDP_PASS, .delta = NEW_COUNTED,
	  .key = KEY4(SCTP, "192.168.170.8", 7, "192.168.170.56", 80), .dir = XS_DIR_A_TO_B },
	{ "ipv4/icmp echo request: ports are type 8 and its reply type 0",
	  .pkt = { .src = A4, .dst = B4, .proto = ICMP, .sport = 8, .dport = 0 },
	  .retval = XDP_PASS, .delta = NEW_COUNTED,
	  .key = KEY4(ICMP, A4, 8, B4, 0), .dir = XS_DIR_A_TO_B },
	{ "ipv4/icmp echo reply maps onto the request's key",
	  .pkt = { .src = B4, .dst = A4, .proto = ICMP, .sport = 0, .dport = 0 },
	  .retval = XDP_PASS, .delta = NEW_COUNTED,
	  .key = KEY4(ICMP, A4, 8, B4, 0), .dir = XS_DIR_B_TO_A },
	{ "ipv4/icmp echo request from the higher address is reordered",
	  .pkt = { .src = B4, .dst = A4, .proto = ICMP, .sport = 8, .dport = 0 },
	  .retval = XDP_PASS, .delta = NEW_COUNTED,
	  .key = KEY4(ICMP, A4, 0, B4, 8), .dir = XS_DIR_B_TO_A },
	{ "ipv4/icmp dest unreachable (one-way) from the higher address is not reordered",
	  .pkt = { .src = "10.0.0.9", .dst = A4, .proto = ICMP, .sport = 3, .dport = 1 },
	  .retval = XDP_PASS, .delta = NEW_COUNTED,
	  .key = KEY4(ICMP, "10.0.0.9", 3, A4, 1), .dir = XS_DIR_A_TO_B },
	{ "ipv4/tcp same address both ends: ordered by port",
	  .pkt = { .src = A4, .dst = A4, .proto = TCP, .sport = 5000, .dport = 80, .tcp_flags = 0x10 },
	  .retval = XDP_PASS, .delta = NEW_COUNTED,
	  .key = KEY4(TCP, A4, 80, A4, 5000), .dir = XS_DIR_B_TO_A, .tcp_flags = 0x10 },
	{ "ipv4/gre: no ports, keyed by addresses and protocol",
	  .pkt = { .src = B4, .dst = A4, .proto = 47 },
	  .retval = XDP_PASS, .delta = NEW_COUNTED,
	  .key = KEY4(47, A4, 0, B4, 0), .dir = XS_DIR_B_TO_A },

	/* Ethernet II, IPv6 */
	{ "ipv6/tcp from the higher address",
	  .pkt = { .src = B6, .dst = A6, .proto = TCP, .sport = 443, .dport = 51000, .tcp_flags = 0x18 },
	  .retval = XDP_PASS, .delta = NEW_COUNTED,
	  .key = KEY6(TCP, A6, 51000, B6, 443), .dir = XS_DIR_B_TO_A, .tcp_flags = 0x18 },
	{ "ipv6/udp",
	  .pkt = { .src = A6, .dst = B6, .proto = UDP, .sport = 5353, .dport = 53 },
	  .retval = XDP_PASS, .delta = NEW_COUNTED,
	  .key = KEY6(UDP, A6, 5353, B6, 53), .dir = XS_DIR_A_TO_B },
	{ "ipv6/icmpv6 echo request: ports are 128 and 129",
	  .pkt = { .src = A6, .dst = B6, .proto = ICMP6, .sport = 128, .dport = 0 },
	  .retval = XDP_PASS, .delta = NEW_COUNTED,
	  .key = KEY6(ICMP6, A6, 128, B6, 129), .dir = XS_DIR_A_TO_B },
	{ "ipv6/icmpv6 echo reply maps onto the request's key",
	  .pkt = { .src = B6, .dst = A6, .proto = ICMP6, .sport = 129, .dport = 0 },
	  .retval = XDP_PASS, .delta = NEW_COUNTED,
	  .key = KEY6(ICMP6, A6, 128, B6, 129), .dir = XS_DIR_B_TO_A },
	{ "ipv6/icmpv6 dest unreachable (one-way) is not reordered",
	  .pkt = { .src = B6, .dst = A6, .proto = ICMP6, .sport = 1, .dport = 4 },
	  .retval = XDP_PASS, .delta = NEW_COUNTED,
	  .key = KEY6(ICMP6, B6, 1, A6, 4), .dir = XS_DIR_A_TO_B },
	/* Community ID's ICMPv6 pairs are 128/129, 130/131, 133/134, 135/136,
	 * 139/140 (node information), 144/145; 146/147 are not paired. */
	{ "ipv6/icmpv6 node information query 139 pairs with reply 140 (Community ID)",
	  .pkt = { .src = B6, .dst = A6, .proto = ICMP6, .sport = 139, .dport = 0 },
	  .retval = XDP_PASS, .delta = NEW_COUNTED,
	  .key = KEY6(ICMP6, A6, 140, B6, 139), .dir = XS_DIR_B_TO_A },
	{ "ipv6/icmpv6 mobile prefix solicitation 146 is one-way (Community ID)",
	  .pkt = { .src = B6, .dst = A6, .proto = ICMP6, .sport = 146, .dport = 0 },
	  .retval = XDP_PASS, .delta = NEW_COUNTED,
	  .key = KEY6(ICMP6, B6, 146, A6, 0), .dir = XS_DIR_A_TO_B },

	/* VLAN tags */
	{ "802.1Q/ipv4/tcp: one tag",
	  .pkt = { .vlan = { 0x8100 }, .src = A4, .dst = B4, .proto = TCP, .sport = 34567, .dport = 80, .tcp_flags = 0x02 },
	  .retval = XDP_PASS, .delta = NEW_COUNTED,
	  .key = KEY4(TCP, A4, 34567, B4, 80), .dir = XS_DIR_A_TO_B, .tcp_flags = 0x02 },
	{ "802.1ad+802.1Q/ipv6/udp: QinQ, two tags",
	  .pkt = { .vlan = QINQ, .src = B6, .dst = A6, .proto = UDP, .sport = 53, .dport = 40000 },
	  .retval = XDP_PASS, .delta = NEW_COUNTED,
	  .key = KEY6(UDP, A6, 40000, B6, 53), .dir = XS_DIR_B_TO_A },
	{ "0x9100+802.1Q/ipv4/udp: pre-standard QinQ",
	  .pkt = { .vlan = { 0x9100, 0x8100 }, .src = A4, .dst = B4, .proto = UDP, .sport = 1000, .dport = 2000 },
	  .retval = XDP_PASS, .delta = NEW_COUNTED,
	  .key = KEY4(UDP, A4, 1000, B4, 2000), .dir = XS_DIR_A_TO_B },
	{ "three VLAN tags -> keyed at L2 (l2_vlan_depth), the third TPID as EtherType",
	  .pkt = { .vlan = { 0x88A8, 0x8100, 0x8100 }, .src = A4, .dst = B4, .proto = TCP, .sport = 1, .dport = 2 },
	  .retval = XDP_PASS, .delta = L2_COUNTED(XS_STAT_L2_VLAN_DEPTH),
	  .key = KEY_L2(0x8100, 0x8100), .dir = XS_DIR_A_TO_B },
	{ "802.1Q/arp -> keyed at L2 (l2_not_ip), EtherType after the tag",
	  .pkt = { .vlan = { 0x8100 }, .ethertype = 0x0806 },
	  .retval = XDP_PASS, .delta = L2_COUNTED(XS_STAT_L2_NOT_IP),
	  .key = KEY_L2(0x0806, 0x0806), .dir = XS_DIR_A_TO_B },
	{ "QinQ/lldp -> keyed at L2 (l2_not_ip)",
	  .pkt = { .vlan = QINQ, .ethertype = 0x88CC, .src = A4, .dst = B4, .proto = UDP },
	  .retval = XDP_PASS, .delta = L2_COUNTED(XS_STAT_L2_NOT_IP),
	  .key = KEY_L2(0x88CC, 0x88CC), .dir = XS_DIR_A_TO_B },

	/* IPv4 options and fragments */
	{ "ipv4 with 12 bytes of options (IHL 8)/tcp",
	  .pkt = { .src = A4, .dst = B4, .ip_opts = 12, .proto = TCP, .sport = 34567, .dport = 80, .tcp_flags = 0x02 },
	  .retval = XDP_PASS, .delta = NEW_COUNTED,
	  .key = KEY4(TCP, A4, 34567, B4, 80), .dir = XS_DIR_A_TO_B, .tcp_flags = 0x02 },
	{ "ipv4 with 40 bytes of options (IHL 15)/udp",
	  .pkt = { .src = B4, .dst = A4, .ip_opts = 40, .proto = UDP, .sport = 161, .dport = 40000 },
	  .retval = XDP_PASS, .delta = NEW_COUNTED,
	  .key = KEY4(UDP, A4, 40000, B4, 161), .dir = XS_DIR_B_TO_A },
	{ "ipv4 first fragment (MF, offset 0)/udp keeps its ports",
	  .pkt = { .src = A4, .dst = B4, .proto = UDP, .sport = 4000, .dport = 4001, .mf = true, .payload = 64 },
	  .retval = XDP_PASS, .delta = NEW_COUNTED,
	  .key = KEY4(UDP, A4, 4000, B4, 4001), .dir = XS_DIR_A_TO_B },
	{ "ipv4 middle fragment (MF, offset 185)/udp: ports 0, protocol kept",
	  .pkt = { .src = A4, .dst = B4, .proto = UDP, .sport = 4000, .dport = 4001, .mf = true, .frag = 185, .payload = 64 },
	  .retval = XDP_PASS, .delta = NEW_COUNTED,
	  .key = KEY4(UDP, A4, 0, B4, 0), .dir = XS_DIR_A_TO_B },
	{ "ipv4 last fragment (offset 100, no MF)/tcp: no ports, no flags",
	  .pkt = { .src = B4, .dst = A4, .proto = TCP, .sport = 80, .dport = 34567, .frag = 100, .tcp_flags = 0x02 },
	  .retval = XDP_PASS, .delta = NEW_COUNTED,
	  .key = KEY4(TCP, A4, 0, B4, 0), .dir = XS_DIR_B_TO_A },

	/* IPv6 extension headers and fragments */
	{ "ipv6 hop-by-hop+routing+dstopts/tcp",
	  .pkt = { .src = A6, .dst = B6, .ext = "HRD", .proto = TCP, .sport = 40000, .dport = 443, .tcp_flags = 0x02 },
	  .retval = XDP_PASS, .delta = NEW_COUNTED,
	  .key = KEY6(TCP, A6, 40000, B6, 443), .dir = XS_DIR_A_TO_B, .tcp_flags = 0x02 },
	{ "ipv6 with XS_MAX_IPV6_EXT (6) extension headers/udp",
	  .pkt = { .src = A6, .dst = B6, .ext = "HRDDDD", .proto = UDP, .sport = 1, .dport = 2 },
	  .retval = XDP_PASS, .delta = NEW_COUNTED,
	  .key = KEY6(UDP, A6, 1, B6, 2), .dir = XS_DIR_A_TO_B },
	{ "ipv6 with 7 extension headers -> keyed at L2 (l2_ipv6_ext_depth)",
	  .pkt = { .src = A6, .dst = B6, .ext = "HRDDDDD", .proto = UDP, .sport = 1, .dport = 2 },
	  .retval = XDP_PASS, .delta = L2_COUNTED(XS_STAT_L2_IPV6_EXT_DEPTH),
	  .key = KEY_L2(0x86DD, 0x86DD), .dir = XS_DIR_A_TO_B },
	{ "ipv6 first fragment (M, offset 0)/udp keeps its ports",
	  .pkt = { .src = B6, .dst = A6, .ext = "F", .mf = true, .proto = UDP, .sport = 53, .dport = 40000, .payload = 64 },
	  .retval = XDP_PASS, .delta = NEW_COUNTED,
	  .key = KEY6(UDP, A6, 40000, B6, 53), .dir = XS_DIR_B_TO_A },
	{ "ipv6 non-first fragment (offset 185)/udp: ports 0, protocol kept",
	  .pkt = { .src = B6, .dst = A6, .ext = "F", .frag = 185, .mf = true, .proto = UDP, .sport = 53, .dport = 40000 },
	  .retval = XDP_PASS, .delta = NEW_COUNTED,
	  .key = KEY6(UDP, A6, 0, B6, 0), .dir = XS_DIR_B_TO_A },
	{ "ipv6 hop-by-hop+non-first fragment/tcp: ports 0, no flags",
	  .pkt = { .src = A6, .dst = B6, .ext = "HF", .frag = 10, .proto = TCP, .sport = 1, .dport = 2, .tcp_flags = 0x02 },
	  .retval = XDP_PASS, .delta = NEW_COUNTED,
	  .key = KEY6(TCP, A6, 0, B6, 0), .dir = XS_DIR_A_TO_B },

	/* What cannot be keyed at IP: keyed at L2, classified like the rest */
	{ "arp request -> keyed at L2 (l2_not_ip): the MACs, EtherType 0x0806",
	  .pkt = { .ethertype = 0x0806 },
	  .retval = XDP_PASS, .delta = L2_COUNTED(XS_STAT_L2_NOT_IP),
	  .key = KEY_L2(0x0806, 0x0806), .dir = XS_DIR_A_TO_B },
	{ "arp reply from the higher MAC -> the request's key, other direction",
	  .pkt = { .ethertype = 0x0806, .swap_mac = true },
	  .retval = XDP_PASS, .delta = L2_COUNTED(XS_STAT_L2_NOT_IP),
	  .key = KEY_L2(0x0806, 0x0806), .dir = XS_DIR_B_TO_A },
	{ "lldp -> keyed at L2 (l2_not_ip)",
	  .pkt = { .ethertype = 0x88CC, .src = A4, .dst = B4, .proto = UDP },
	  .retval = XDP_PASS, .delta = L2_COUNTED(XS_STAT_L2_NOT_IP),
	  .key = KEY_L2(0x88CC, 0x88CC), .dir = XS_DIR_A_TO_B },
	{ "ptp (0x88f7) -> keyed at L2 (l2_not_ip)",
	  .pkt = { .ethertype = 0x88F7, .src = A4, .dst = B4, .proto = UDP },
	  .retval = XDP_PASS, .delta = L2_COUNTED(XS_STAT_L2_NOT_IP),
	  .key = KEY_L2(0x88F7, 0x88F7), .dir = XS_DIR_A_TO_B },
	{ "802.3/LLC STP (SAP 0x42) -> keyed at L2, the SAPs as ports",
	  .pkt = { .ethertype = 0x0026, .dsap = 0x42, .ssap = 0x42 },
	  .retval = XDP_PASS, .delta = L2_COUNTED(XS_STAT_L2_NOT_IP),
	  .key = KEY_L2(0x42, 0x42), .dir = XS_DIR_A_TO_B },
	{ "802.3/LLC, SAPs 0xe0 > 0xf0 from the lower MAC: port_a is A's SAP",
	  .pkt = { .ethertype = 0x0026, .dsap = 0xf0, .ssap = 0xe0 },
	  .retval = XDP_PASS, .delta = L2_COUNTED(XS_STAT_L2_NOT_IP),
	  .key = KEY_L2(0xe0, 0xf0), .dir = XS_DIR_A_TO_B },
	{ "802.3/LLC response (C/R bit) back: the same key",
	  .pkt = { .ethertype = 0x0026, .dsap = 0xe0, .ssap = 0xf1, .swap_mac = true },
	  .retval = XDP_PASS, .delta = L2_COUNTED(XS_STAT_L2_NOT_IP),
	  .key = KEY_L2(0xe0, 0xf0), .dir = XS_DIR_B_TO_A },
	{ "802.1Q/802.3/LLC -> keyed at L2",
	  .pkt = { .vlan = { 0x8100 }, .ethertype = 0x0026, .dsap = 0xaa, .ssap = 0xaa },
	  .retval = XDP_PASS, .delta = L2_COUNTED(XS_STAT_L2_NOT_IP),
	  .key = KEY_L2(0xaa, 0xaa), .dir = XS_DIR_A_TO_B },
	{ "ipv4 version 5 -> keyed at L2 (l2_bad_ipv4), EtherType 0x0800",
	  .pkt = { .src = A4, .dst = B4, .proto = TCP, .quirks = Q_V4_VERSION_5 },
	  .retval = XDP_PASS, .delta = L2_COUNTED(XS_STAT_L2_BAD_IPV4),
	  .key = KEY_L2(0x0800, 0x0800), .dir = XS_DIR_A_TO_B },
	{ "ipv4 IHL 4 (< 5) -> keyed at L2 (l2_bad_ipv4)",
	  .pkt = { .src = A4, .dst = B4, .proto = TCP, .quirks = Q_V4_IHL_4, .swap_mac = true },
	  .retval = XDP_PASS, .delta = L2_COUNTED(XS_STAT_L2_BAD_IPV4),
	  .key = KEY_L2(0x0800, 0x0800), .dir = XS_DIR_B_TO_A },
	{ "ipv4 tot_len 16 < IHL*4 -> keyed at L2 (l2_bad_ipv4)",
	  .pkt = { .src = A4, .dst = B4, .proto = TCP, .quirks = Q_V4_TOTLEN_LT_IHL },
	  .retval = XDP_PASS, .delta = L2_COUNTED(XS_STAT_L2_BAD_IPV4),
	  .key = KEY_L2(0x0800, 0x0800), .dir = XS_DIR_A_TO_B },
	{ "ipv4 tot_len 0 (GSO/big TCP) is accepted",
	  .pkt = { .src = A4, .dst = B4, .proto = TCP, .sport = 34567, .dport = 80, .tcp_flags = 0x10,
		   .payload = 100, .quirks = Q_V4_TOTLEN_ZERO },
	  .retval = XDP_PASS, .delta = NEW_COUNTED,
	  .key = KEY4(TCP, A4, 34567, B4, 80), .dir = XS_DIR_A_TO_B, .tcp_flags = 0x10 },
	{ "ipv6 ethertype with version 4 -> keyed at L2 (l2_bad_ipv6)",
	  .pkt = { .src = A6, .dst = B6, .proto = TCP, .quirks = Q_V6_VERSION_4 },
	  .retval = XDP_PASS, .delta = L2_COUNTED(XS_STAT_L2_BAD_IPV6),
	  .key = KEY_L2(0x86DD, 0x86DD), .dir = XS_DIR_A_TO_B },
};

/* Tunnels: the inner packet is a TCP SYN from A4:34567 to B4:80. */
#define O4A "192.0.2.1"
#define O4B "192.0.2.2"
#define O6A "2001:db8:ff::1"
#define O6B "2001:db8:ff::2"
#define INNER_SYN .src = A4, .dst = B4, .proto = TCP, .sport = 34567, .dport = 80, .tcp_flags = 0x02
#define INNER_KEY .key = KEY4(TCP, A4, 34567, B4, 80), .dir = XS_DIR_A_TO_B, .tcp_flags = 0x02
#define T(kind, a, b) { (kind), (a), (b) }
#define DEPTH_COUNTED { [XS_STAT_COUNTED] = 1, [XS_STAT_FLOW_NEW] = 1, [XS_STAT_DECAP] = 1, \
			[XS_STAT_DECAP_DEPTH] = 1 }

static const struct dp_case tunnel_cases[] = {
	{ "vxlan/ipv4/tcp, inner layer: the inner 5-tuple",
	  .pkt = { INNER_SYN, .tun = { T(TUN_VXLAN, O4A, O4B) } },
	  .retval = XDP_PASS, .delta = DECAP_COUNTED, INNER_KEY, .decap = 1 },
	{ "vxlan/ipv4/tcp, outer layer: the tunnel's UDP flow",
	  .pkt = { INNER_SYN, .tun = { T(TUN_VXLAN, O4A, O4B) } }, .outer = true,
	  .retval = XDP_PASS, .delta = NEW_COUNTED,
	  .key = KEY4(UDP, O4A, TUN_SPORT, O4B, 4789), .dir = XS_DIR_A_TO_B },
	{ "vxlan over ipv6/802.1Q/ipv6/udp: inner tags are not the outer's",
	  .pkt = { .vlan = { 0x8100 }, .src = B6, .dst = A6, .proto = UDP, .sport = 53, .dport = 40000,
		   .tun = { T(TUN_VXLAN, O6A, O6B) } },
	  .retval = XDP_PASS, .delta = DECAP_COUNTED,
	  .key = KEY6(UDP, A6, 40000, B6, 53), .dir = XS_DIR_B_TO_A, .decap = 1 },
	{ "geneve (with an option)/ipv4/tcp, inner layer",
	  .pkt = { INNER_SYN, .tun = { T(TUN_GENEVE, O4A, O4B) } },
	  .retval = XDP_PASS, .delta = DECAP_COUNTED, INNER_KEY, .decap = 1 },
	{ "geneve carrying IP directly (protocol type 0x0800), inner layer",
	  .pkt = { INNER_SYN, .tun = { T(TUN_GENEVE_IP, O6A, O6B) } },
	  .retval = XDP_PASS, .delta = DECAP_COUNTED, INNER_KEY, .decap = 1 },
	{ "geneve, outer layer",
	  .pkt = { INNER_SYN, .tun = { T(TUN_GENEVE, O4A, O4B) } }, .outer = true,
	  .retval = XDP_PASS, .delta = NEW_COUNTED,
	  .key = KEY4(UDP, O4A, TUN_SPORT, O4B, 6081), .dir = XS_DIR_A_TO_B },
	{ "gre (with key)/ipv4/tcp, inner layer",
	  .pkt = { INNER_SYN, .tun = { T(TUN_GRE_IP, O4A, O4B) } },
	  .retval = XDP_PASS, .delta = DECAP_COUNTED, INNER_KEY, .decap = 1 },
	{ "gre/ipv6/icmpv6 echo over ipv6, inner layer",
	  .pkt = { .src = A6, .dst = B6, .proto = ICMP6, .sport = 128, .tun = { T(TUN_GRE_IP, O6B, O6A) } },
	  .retval = XDP_PASS, .delta = DECAP_COUNTED,
	  .key = KEY6(ICMP6, A6, 128, B6, 129), .dir = XS_DIR_A_TO_B, .decap = 1 },
	{ "gre, outer layer: addresses and protocol 47",
	  .pkt = { INNER_SYN, .tun = { T(TUN_GRE_IP, O4B, O4A) } }, .outer = true,
	  .retval = XDP_PASS, .delta = NEW_COUNTED,
	  .key = KEY4(47, O4A, 0, O4B, 0), .dir = XS_DIR_B_TO_A },
	{ "gre transparent Ethernet bridging, inner layer",
	  .pkt = { INNER_SYN, .tun = { T(TUN_GRE_TEB, O4A, O4B) } },
	  .retval = XDP_PASS, .delta = DECAP_COUNTED, INNER_KEY, .decap = 1 },
	{ "erspan type I (gre 0x88be, no sequence), inner layer",
	  .pkt = { INNER_SYN, .tun = { T(TUN_ERSPAN1, O4A, O4B) } },
	  .retval = XDP_PASS, .delta = DECAP_COUNTED, INNER_KEY, .decap = 1 },
	{ "erspan type II, inner layer",
	  .pkt = { INNER_SYN, .tun = { T(TUN_ERSPAN2, O4A, O4B) } },
	  .retval = XDP_PASS, .delta = DECAP_COUNTED, INNER_KEY, .decap = 1 },
	{ "erspan type III with platform subheader, inner layer",
	  .pkt = { INNER_SYN, .tun = { T(TUN_ERSPAN3, O6A, O6B) } },
	  .retval = XDP_PASS, .delta = DECAP_COUNTED, INNER_KEY, .decap = 1 },
	{ "erspan type II, outer layer",
	  .pkt = { INNER_SYN, .tun = { T(TUN_ERSPAN2, O4A, O4B) } }, .outer = true,
	  .retval = XDP_PASS, .delta = NEW_COUNTED,
	  .key = KEY4(47, O4A, 0, O4B, 0), .dir = XS_DIR_A_TO_B },
	{ "erspan type II carrying ARP: no IP inside, the outer key",
	  .pkt = { .ethertype = 0x0806, .tun = { T(TUN_ERSPAN2, O4A, O4B) } },
	  .retval = XDP_PASS, .delta = NEW_COUNTED,
	  .key = KEY4(47, O4A, 0, O4B, 0), .dir = XS_DIR_A_TO_B },
	{ "ipv4 in ipv4 (protocol 4), inner layer",
	  .pkt = { INNER_SYN, .tun = { T(TUN_IPIP, O4A, O4B) } },
	  .retval = XDP_PASS, .delta = DECAP_COUNTED, INNER_KEY, .decap = 1 },
	{ "ipv6 in ipv4 (protocol 41), inner layer",
	  .pkt = { .src = A6, .dst = B6, .proto = UDP, .sport = 1, .dport = 2, .tun = { T(TUN_IPIP, O4A, O4B) } },
	  .retval = XDP_PASS, .delta = DECAP_COUNTED,
	  .key = KEY6(UDP, A6, 1, B6, 2), .dir = XS_DIR_A_TO_B, .decap = 1 },
	{ "ipv4 in ipv6, inner layer",
	  .pkt = { INNER_SYN, .tun = { T(TUN_IPIP, O6A, O6B) } },
	  .retval = XDP_PASS, .delta = DECAP_COUNTED, INNER_KEY, .decap = 1 },
	{ "ipv6 in ipv6, outer layer: protocol 41",
	  .pkt = { .src = A6, .dst = B6, .proto = UDP, .sport = 1, .dport = 2, .tun = { T(TUN_IPIP, O6A, O6B) } },
	  .outer = true, .retval = XDP_PASS, .delta = NEW_COUNTED,
	  .key = KEY6(41, O6A, 0, O6B, 0), .dir = XS_DIR_A_TO_B },
	{ "nested: gre in vxlan in ipip (3 = XS_MAX_DECAP tunnels), the innermost flow",
	  .pkt = { INNER_SYN, .tun = { T(TUN_IPIP, O6A, O6B), T(TUN_VXLAN, O4A, O4B),
				       T(TUN_GRE_IP, "198.51.100.1", "198.51.100.2") } },
	  .retval = XDP_PASS, .delta = DECAP_COUNTED, INNER_KEY, .decap = 3 },
	{ "nested: 4 vxlan tunnels, past the limit: the flow inside the 3rd, decap_depth",
	  .pkt = { INNER_SYN, .tun = { T(TUN_VXLAN, O4A, O4B), T(TUN_VXLAN, O4A, O4B),
				       T(TUN_VXLAN, O6A, O6B), T(TUN_VXLAN, "198.51.100.2", "198.51.100.1") } },
	  .retval = XDP_PASS, .delta = DEPTH_COUNTED,
	  .key = KEY4(UDP, "198.51.100.1", 4789, "198.51.100.2", TUN_SPORT), .dir = XS_DIR_B_TO_A,
	  .decap = 3 },
	{ "nested: 4 vxlan tunnels, outer layer: no depth counted",
	  .pkt = { INNER_SYN, .tun = { T(TUN_VXLAN, O4A, O4B), T(TUN_VXLAN, O4A, O4B),
				       T(TUN_VXLAN, O6A, O6B), T(TUN_VXLAN, O6A, O6B) } },
	  .outer = true, .retval = XDP_PASS, .delta = NEW_COUNTED,
	  .key = KEY4(UDP, O4A, TUN_SPORT, O4B, 4789), .dir = XS_DIR_A_TO_B },
	/* the rules see the key's layer */
	{ "vxlan, inner layer: drop port:tcp/80 matches the inner packet",
	  .pkt = { INNER_SYN, .tun = { T(TUN_VXLAN, O4A, O4B) } },
	  .rules = { { XS_ACTION_DROP, "port:tcp/80" } },
	  .retval = XDP_DROP, .delta = { [XS_STAT_DROPPED] = 1, [XS_STAT_FLOW_NEW] = 1, [XS_STAT_DECAP] = 1 },
	  INNER_KEY, .decap = 1 },
	{ "vxlan, inner layer: drop net:192.0.2.0/24 (the tunnel) does not match",
	  .pkt = { INNER_SYN, .tun = { T(TUN_VXLAN, O4A, O4B) } },
	  .rules = { { XS_ACTION_DROP, "net:192.0.2.0/24" } },
	  .retval = XDP_PASS, .delta = DECAP_COUNTED, INNER_KEY, .decap = 1 },
	{ "vxlan, outer layer: drop port:udp/4789 matches the tunnel",
	  .pkt = { INNER_SYN, .tun = { T(TUN_VXLAN, O4A, O4B) } }, .outer = true,
	  .rules = { { XS_ACTION_DROP, "port:udp/4789" } },
	  .retval = XDP_DROP, .delta = NEW_DROPPED,
	  .key = KEY4(UDP, O4A, TUN_SPORT, O4B, 4789), .dir = XS_DIR_A_TO_B },
};

/* A packet from 192.168.1.10:34567 to 10.1.2.3:80: endpoint A is 10.1.2.3. */
#define P_TCP4 \
	{ .src = "192.168.1.10", .dst = "10.1.2.3", .proto = TCP, .sport = 34567, .dport = 80, \
	  .tcp_flags = 0x02 }
#define P_TCP4_REPLY \
	{ .src = "10.1.2.3", .dst = "192.168.1.10", .proto = TCP, .sport = 80, .dport = 34567, \
	  .tcp_flags = 0x12 }
#define K_TCP4 KEY4(TCP, "10.1.2.3", 80, "192.168.1.10", 34567)
#define TCP4_FLOW .key = K_TCP4, .dir = XS_DIR_B_TO_A, .tcp_flags = 0x02
#define TCP4_REPLY_FLOW .key = K_TCP4, .dir = XS_DIR_A_TO_B, .tcp_flags = 0x12
/* From 2001:db8:1::5:40000 to 2001:db8:2::7:443: endpoint A is the source. */
#define P_TCP6 \
	{ .src = "2001:db8:1::5", .dst = "2001:db8:2::7", .proto = TCP, .sport = 40000, .dport = 443, \
	  .tcp_flags = 0x02 }
#define TCP6_FLOW \
	.key = KEY6(TCP, "2001:db8:1::5", 40000, "2001:db8:2::7", 443), .dir = XS_DIR_A_TO_B, \
	.tcp_flags = 0x02

#define CAPTURE XS_ACTION_CAPTURE
#define COUNT XS_ACTION_COUNT
#define DROP XS_ACTION_DROP

static const struct dp_case rule_cases[] = {
	/* default actions */
	{ "rules: default capture, no AF_XDP socket -> pass, capture_no_socket",
	  .pkt = P_TCP4, .default_action = CAPTURE,
	  .retval = XDP_PASS, .delta = NEW_NO_SOCKET, TCP4_FLOW },
	{ "rules: default count -> pass, counted",
	  .pkt = P_TCP4, .default_action = COUNT,
	  .retval = XDP_PASS, .delta = NEW_COUNTED, TCP4_FLOW },
	{ "rules: default drop -> XDP_DROP, dropped, still in the flow table",
	  .pkt = P_TCP4, .default_action = DROP,
	  .retval = XDP_DROP, .delta = NEW_DROPPED, TCP4_FLOW },

	/* address prefixes */
	{ "rules: net v4 matches the destination",
	  .pkt = P_TCP4, .rules = { { DROP, "net:10.1.0.0/16" } },
	  .retval = XDP_DROP, .delta = NEW_DROPPED, TCP4_FLOW },
	{ "rules: net v4 matches the source",
	  .pkt = P_TCP4, .rules = { { DROP, "net:192.168.1.0/24" } },
	  .retval = XDP_DROP, .delta = NEW_DROPPED, TCP4_FLOW },
	{ "rules: net v4 without length is a /32 host",
	  .pkt = P_TCP4, .rules = { { DROP, "net:192.168.1.10" } },
	  .retval = XDP_DROP, .delta = NEW_DROPPED, TCP4_FLOW },
	{ "rules: net v4 matching neither endpoint -> default",
	  .pkt = P_TCP4, .rules = { { DROP, "net:172.16.0.0/12" }, { DROP, "net:192.168.1.11" } },
	  .retval = XDP_PASS, .delta = NEW_COUNTED, TCP4_FLOW },
	{ "rules: net v4 longest prefix wins",
	  .pkt = P_TCP4, .default_action = CAPTURE,
	  .rules = { { DROP, "net:10.0.0.0/8" }, { COUNT, "net:10.1.0.0/16" } },
	  .retval = XDP_PASS, .delta = NEW_COUNTED, TCP4_FLOW },
	{ "rules: net v4 0.0.0.0/0 matches every IPv4 flow",
	  .pkt = P_TCP4, .rules = { { DROP, "net:0.0.0.0/0" } },
	  .retval = XDP_DROP, .delta = NEW_DROPPED, TCP4_FLOW },
	{ "rules: net v4 0.0.0.0/0 matches no IPv6 flow",
	  .pkt = P_TCP6, .rules = { { DROP, "net:0.0.0.0/0" } },
	  .retval = XDP_PASS, .delta = NEW_COUNTED, TCP6_FLOW },
	{ "rules: net v6 matches the source",
	  .pkt = P_TCP6, .rules = { { DROP, "net:2001:db8:1::/48" } },
	  .retval = XDP_DROP, .delta = NEW_DROPPED, TCP6_FLOW },
	{ "rules: net v6 matches the destination",
	  .pkt = P_TCP6, .rules = { { DROP, "net:2001:db8:2::/48" } },
	  .retval = XDP_DROP, .delta = NEW_DROPPED, TCP6_FLOW },
	{ "rules: net v6 matches no IPv4 flow",
	  .pkt = P_TCP4, .rules = { { DROP, "net:2001:db8::/32" } },
	  .retval = XDP_PASS, .delta = NEW_COUNTED, TCP4_FLOW },

	/* ports */
	{ "rules: port tcp/80 matches the destination port",
	  .pkt = P_TCP4, .rules = { { DROP, "port:tcp/80" } },
	  .retval = XDP_DROP, .delta = NEW_DROPPED, TCP4_FLOW },
	{ "rules: port tcp/80 matches the source port",
	  .pkt = P_TCP4_REPLY, .rules = { { DROP, "port:tcp/80" } },
	  .retval = XDP_DROP, .delta = NEW_DROPPED, TCP4_REPLY_FLOW },
	{ "rules: port tcp/34567 matches the client port",
	  .pkt = P_TCP4, .rules = { { DROP, "port:tcp/34567" } },
	  .retval = XDP_DROP, .delta = NEW_DROPPED, TCP4_FLOW },
	{ "rules: port udp/80 does not match tcp",
	  .pkt = P_TCP4, .rules = { { DROP, "port:udp/80" } },
	  .retval = XDP_PASS, .delta = NEW_COUNTED, TCP4_FLOW },
	{ "rules: port:53 matches udp",
	  .pkt = { .src = A4, .dst = B4, .proto = UDP, .sport = 40000, .dport = 53 },
	  .rules = { { DROP, "port:53" } },
	  .retval = XDP_DROP, .delta = NEW_DROPPED,
	  .key = KEY4(UDP, A4, 40000, B4, 53), .dir = XS_DIR_A_TO_B },
	{ "rules: port:53 matches sctp",
	  .pkt = { .src = A4, .dst = B4, .proto = SCTP, .sport = 53, .dport = 40000 },
	  .rules = { { DROP, "port:53" } },
	  .retval = XDP_DROP, .delta = NEW_DROPPED,
	  .key = KEY4(SCTP, A4, 53, B4, 40000), .dir = XS_DIR_A_TO_B },

	/* protocols */
	{ "rules: proto:icmp matches icmp",
	  .pkt = { .src = A4, .dst = B4, .proto = ICMP, .sport = 8 },
	  .rules = { { DROP, "proto:icmp" } },
	  .retval = XDP_DROP, .delta = NEW_DROPPED,
	  .key = KEY4(ICMP, A4, 8, B4, 0), .dir = XS_DIR_A_TO_B },
	{ "rules: proto:icmp does not match tcp",
	  .pkt = P_TCP4, .rules = { { DROP, "proto:icmp" } },
	  .retval = XDP_PASS, .delta = NEW_COUNTED, TCP4_FLOW },
	{ "rules: proto:17 (by number) matches udp",
	  .pkt = { .src = A4, .dst = B4, .proto = UDP, .sport = 1, .dport = 2 },
	  .rules = { { DROP, "proto:17" } },
	  .retval = XDP_DROP, .delta = NEW_DROPPED,
	  .key = KEY4(UDP, A4, 1, B4, 2), .dir = XS_DIR_A_TO_B },

	/* precedence: prefix, then port, then protocol, then the default */
	{ "rules: precedence prefix > port > proto > default",
	  .pkt = P_TCP4, .default_action = DROP,
	  .rules = { { DROP, "proto:tcp" }, { DROP, "port:tcp/80" }, { COUNT, "net:10.1.0.0/16" } },
	  .retval = XDP_PASS, .delta = NEW_COUNTED, TCP4_FLOW },
	{ "rules: precedence prefix drop over port capture",
	  .pkt = P_TCP4, .default_action = COUNT,
	  .rules = { { CAPTURE, "port:tcp/80" }, { DROP, "net:192.168.1.10/32" } },
	  .retval = XDP_DROP, .delta = NEW_DROPPED, TCP4_FLOW },
	{ "rules: precedence port > proto > default",
	  .pkt = P_TCP4, .default_action = DROP,
	  .rules = { { DROP, "proto:tcp" }, { CAPTURE, "port:tcp/80" } },
	  .retval = XDP_PASS, .delta = NEW_NO_SOCKET, TCP4_FLOW },
	{ "rules: precedence proto > default",
	  .pkt = P_TCP4, .default_action = DROP,
	  .rules = { { COUNT, "proto:tcp" } },
	  .retval = XDP_PASS, .delta = NEW_COUNTED, TCP4_FLOW },

	/* frames keyed at L2 */
	{ "rules: default capture takes an ARP frame too (capture_no_socket here)",
	  .pkt = { .ethertype = 0x0806 }, .default_action = CAPTURE,
	  .retval = XDP_PASS, .delta = { [XS_STAT_CAPTURE_NO_SOCKET] = 1, [XS_STAT_FLOW_NEW] = 1,
					[XS_STAT_L2_NOT_IP] = 1 },
	  .key = KEY_L2(0x0806, 0x0806), .dir = XS_DIR_A_TO_B },
	{ "rules: ether:arp drop matches ARP",
	  .pkt = { .ethertype = 0x0806 }, .rules = { { DROP, "ether:arp" } },
	  .retval = XDP_DROP, .delta = { [XS_STAT_DROPPED] = 1, [XS_STAT_FLOW_NEW] = 1,
					[XS_STAT_L2_NOT_IP] = 1 },
	  .key = KEY_L2(0x0806, 0x0806), .dir = XS_DIR_A_TO_B },
	{ "rules: ether:0x88f7 drop matches PTP, not ARP",
	  .pkt = { .ethertype = 0x0806 }, .rules = { { DROP, "ether:0x88f7" } },
	  .retval = XDP_PASS, .delta = L2_COUNTED(XS_STAT_L2_NOT_IP),
	  .key = KEY_L2(0x0806, 0x0806), .dir = XS_DIR_A_TO_B },
	{ "rules: llc drop matches an 802.3/LLC frame",
	  .pkt = { .ethertype = 0x0026, .dsap = 0x42, .ssap = 0x42 }, .rules = { { DROP, "llc" } },
	  .retval = XDP_DROP, .delta = { [XS_STAT_DROPPED] = 1, [XS_STAT_FLOW_NEW] = 1,
					[XS_STAT_L2_NOT_IP] = 1 },
	  .key = KEY_L2(0x42, 0x42), .dir = XS_DIR_A_TO_B },
	{ "rules: net:::/0 and proto:0 do not match a frame keyed at L2",
	  .pkt = { .ethertype = 0x0806 }, .rules = { { DROP, "net:::/0" }, { DROP, "proto:0" } },
	  .retval = XDP_PASS, .delta = L2_COUNTED(XS_STAT_L2_NOT_IP),
	  .key = KEY_L2(0x0806, 0x0806), .dir = XS_DIR_A_TO_B },
	{ "rules: ether:ipv4 drop matches an IPv4 frame keyed at L2 (bad header) only",
	  .pkt = { .src = A4, .dst = B4, .proto = TCP, .quirks = Q_V4_VERSION_5 },
	  .rules = { { DROP, "ether:ipv4" } },
	  .retval = XDP_DROP, .delta = { [XS_STAT_DROPPED] = 1, [XS_STAT_FLOW_NEW] = 1,
					[XS_STAT_L2_BAD_IPV4] = 1 },
	  .key = KEY_L2(0x0800, 0x0800), .dir = XS_DIR_A_TO_B },
	{ "rules: ether:ipv4 drop does not match an IPv4 frame keyed at IP",
	  .pkt = P_TCP4, .rules = { { DROP, "ether:ipv4" } },
	  .retval = XDP_PASS, .delta = NEW_COUNTED, TCP4_FLOW },
};

/* The L2 reason of a case keyed at L2, else 0. */
static enum xs_stat expected_error(const struct dp_case *c)
{
	for (int s = XS_STAT_L2_TRUNCATED; s <= XS_STAT_L2_IPV6_EXT_DEPTH; s++)
		if (c->delta[s])
			return s;
	return 0;
}

static void test_dp_case(void **state)
{
	const struct dp_case *c = *state;
	__u64 before[XS_STAT_MAX], after[XS_STAT_MAX], want[XS_STAT_MAX];
	__u8 buf[PKT_MAX];
	struct pkt_layout l = pkt_build(&c->pkt, buf);
	struct flow_key k = key_from_spec(&c->key);
	struct flow_entry *flows = NULL;
	struct xs_packet p;
	__u32 retval = 0;
	int d = c->dir, err, tags;
	size_t n;

	require_datapath();
	dp_reset(g_skel);
	apply_rules_layer(g_skel, c->default_action, c->rules, ARRAY_SIZE(c->rules), 0, 0,
			  c->outer ? "outer" : "inner");
	begin_checks();

	read_stats(g_skel, before);
	err = run_frame(g_skel, buf, l.len, &retval);
	read_stats(g_skel, after);
	EXPECT_EQ("bpf_prog_test_run_opts", err, 0);
	EXPECT_EQ("XDP retval", retval, c->retval);

	memcpy(want, c->delta, sizeof(want));
	want[XS_STAT_RX] = 1;
	want[XS_STAT_RX_BYTES] = l.len;
	expect_stats_delta(before, after, want);
	expect_stats_identity(after);

	/* every frame makes a flow entry: at IP, or at L2 */
	n = read_flows(g_skel, &flows);
	err = xs_parse_frame(buf, buf + l.len, &p, c->outer ? 0 : XS_MAX_DECAP);
	EXPECT_EQ("flow entries", n, 1);
	EXPECT_EQ("userspace xs_parse_frame (0, or the L2 reason)", err, expected_error(c));
	if (n == 1) {
		const struct flow_stats *s = &flows[0].stats;

		expect_key("flow key in the map", &flows[0].key, &k);
		EXPECT_EQ("packets[dir]", s->packets[d], 1);
		EXPECT_EQ("packets[!dir]", s->packets[!d], 0);
		EXPECT_EQ("bytes[dir]", s->bytes[d], l.len);
		EXPECT_EQ("bytes[!dir]", s->bytes[!d], 0);
		EXPECT_EQ("tcp_flags", s->tcp_flags, c->tcp_flags);
		EXPECT_TRUE("first_seen_ns != 0", s->first_seen_ns != 0);
		EXPECT_TRUE("first_seen_ns <= last_seen_ns", s->first_seen_ns <= s->last_seen_ns);
		expect_key("userspace key vs the map's", &p.key, &flows[0].key);
	}
	EXPECT_EQ("userspace dir", p.dir, d);
	EXPECT_EQ("userspace decap (tunnels opened)", p.decap, c->decap);
	tags = c->pkt.tun[0].kind ? 0 : !!c->pkt.vlan[0] + !!c->pkt.vlan[1];
	EXPECT_EQ("userspace vlan_tags (before the outer IP header)", p.vlan_tags, tags);
	if (!err && !p.decap)
		EXPECT_EQ("userspace l3_off", p.l3_off, l.l3_off);
	free(flows);
	end_checks(c->desc);
}

/* ------------------------------------------------------------------ */
/* Both directions of one flow                                         */

struct conversation {
	const char *desc;
	struct pkt_spec pkt[3];
	struct key_spec key;
	__u64 packets[2]; /* per direction of the key */
	__u32 tcp_flags;
	enum xs_stat reason; /* keyed at L2: why */
};

static const struct conversation conversations[] = {
	{ "both directions, ipv4, client is endpoint A: one entry, flags ORed",
	  .pkt = { { .src = A4, .dst = B4, .proto = TCP, .sport = 40000, .dport = 80, .tcp_flags = 0x02 },
		   { .src = B4, .dst = A4, .proto = TCP, .sport = 80, .dport = 40000, .tcp_flags = 0x12 },
		   { .src = A4, .dst = B4, .proto = TCP, .sport = 40000, .dport = 80, .tcp_flags = 0x10, .payload = 100 } },
	  .key = KEY4(TCP, A4, 40000, B4, 80), .packets = { 2, 1 }, .tcp_flags = 0x12 },
	{ "both directions, ipv6 over QinQ, client is endpoint B: one entry, flags ORed",
	  .pkt = { { .vlan = QINQ, .src = B6, .dst = A6, .proto = TCP, .sport = 40000, .dport = 443, .tcp_flags = 0x02 },
		   { .vlan = QINQ, .src = A6, .dst = B6, .proto = TCP, .sport = 443, .dport = 40000, .tcp_flags = 0x12 },
		   { .vlan = QINQ, .src = B6, .dst = A6, .proto = TCP, .sport = 40000, .dport = 443, .tcp_flags = 0x11 } },
	  .key = KEY6(TCP, A6, 443, B6, 40000), .packets = { 1, 2 }, .tcp_flags = 0x13 },
	{ "both directions, 802.1Q/arp keyed at L2: one entry",
	  .pkt = { { .vlan = { 0x8100 }, .ethertype = 0x0806 },
		   { .vlan = { 0x8100 }, .ethertype = 0x0806, .swap_mac = true },
		   { .ethertype = 0x0806, .swap_mac = true } },
	  .key = KEY_L2(0x0806, 0x0806), .packets = { 1, 2 }, .reason = XS_STAT_L2_NOT_IP },
	{ "both directions, LLC with SAPs e0/f0 and a response (C/R): one entry",
	  .pkt = { { .ethertype = 0x30, .dsap = 0xf0, .ssap = 0xe0 },
		   { .ethertype = 0x30, .dsap = 0xe0, .ssap = 0xf1, .swap_mac = true },
		   { .ethertype = 0x30, .dsap = 0xf0, .ssap = 0xe0 } },
	  .key = KEY_L2(0xe0, 0xf0), .packets = { 2, 1 }, .reason = XS_STAT_L2_NOT_IP },
	{ "both directions inside vxlan, each way its own tunnel source port: one entry",
	  .pkt = { { INNER_SYN, .tun = { T(TUN_VXLAN, O4A, O4B) } },
		   { .src = B4, .dst = A4, .proto = TCP, .sport = 80, .dport = 34567, .tcp_flags = 0x12,
		     .tun = { T(TUN_VXLAN, O4B, O4A) } },
		   { .src = A4, .dst = B4, .proto = TCP, .sport = 34567, .dport = 80, .tcp_flags = 0x10,
		     .tun = { T(TUN_GENEVE, O6A, O6B) } } },
	  .key = KEY4(TCP, A4, 34567, B4, 80), .packets = { 2, 1 }, .tcp_flags = 0x12 },
};

static void test_conversation(void **state)
{
	const struct conversation *cv = *state;
	__u64 before[XS_STAT_MAX], after[XS_STAT_MAX];
	__u64 bytes[2] = {};
	struct flow_key k = key_from_spec(&cv->key);
	struct flow_entry *flows = NULL;
	size_t n;

	require_datapath();
	dp_reset(g_skel);
	apply_rules(g_skel, COUNT, NULL, 0, 0, 0);
	begin_checks();

	read_stats(g_skel, before);
	for (size_t i = 0; i < ARRAY_SIZE(cv->pkt); i++) {
		__u8 buf[PKT_MAX];
		struct pkt_layout l = pkt_build(&cv->pkt[i], buf);
		struct xs_packet p;
		__u32 retval;

		EXPECT_EQ("bpf_prog_test_run_opts", run_frame(g_skel, buf, l.len, &retval), 0);
		EXPECT_EQ("XDP retval", retval, XDP_PASS);
		EXPECT_EQ("userspace xs_parse_frame", xs_parse_frame(buf, buf + l.len, &p, XS_MAX_DECAP),
			  cv->reason);
		expect_key("userspace key", &p.key, &k);
		bytes[p.dir & 1] += l.len;
	}
	read_stats(g_skel, after);
	EXPECT_EQ("stats delta flow_new", after[XS_STAT_FLOW_NEW] - before[XS_STAT_FLOW_NEW], 1);
	EXPECT_EQ("stats delta counted", after[XS_STAT_COUNTED] - before[XS_STAT_COUNTED], 3);
	expect_stats_identity(after);

	n = read_flows(g_skel, &flows);
	EXPECT_EQ("flow entries", n, 1);
	if (n == 1) {
		expect_key("flow key in the map", &flows[0].key, &k);
		EXPECT_EQ("packets[A_TO_B]", flows[0].stats.packets[0], cv->packets[0]);
		EXPECT_EQ("packets[B_TO_A]", flows[0].stats.packets[1], cv->packets[1]);
		EXPECT_EQ("bytes[A_TO_B]", flows[0].stats.bytes[0], bytes[0]);
		EXPECT_EQ("bytes[B_TO_A]", flows[0].stats.bytes[1], bytes[1]);
		EXPECT_EQ("tcp_flags (OR of both directions)", flows[0].stats.tcp_flags, cv->tcp_flags);
	}
	free(flows);
	end_checks(cv->desc);
}

/* ------------------------------------------------------------------ */
/* Truncation at every byte                                            */

struct trunc_case {
	const char *desc;
	struct pkt_spec pkt;
	size_t need; /* transport bytes the parser needs: the whole TCP (20) or
		      * UDP (8) header; ports and tag of SCTP (8); type and
		      * code of ICMP (2); none after a non-first fragment */
	size_t outer_need; /* in a tunnel: those of the outer transport header */
};

static const struct trunc_case trunc_cases[] = {
	{ "truncated at every byte: QinQ/ipv4+options/tcp",
	  { .vlan = QINQ, .src = A4, .dst = B4, .ip_opts = 8, .proto = TCP, .sport = 1, .dport = 2, .tcp_flags = 0x02 }, 20, 0 },
	{ "truncated at every byte: 802.1Q/ipv6 HBH+routing+dstopts+fragment/udp",
	  { .vlan = { 0x8100 }, .src = A6, .dst = B6, .ext = "HRDF", .mf = true, .proto = UDP, .sport = 1, .dport = 2 }, 8, 0 },
	{ "truncated at every byte: ipv6/tcp",
	  { .src = A6, .dst = B6, .proto = TCP, .sport = 1, .dport = 2, .tcp_flags = 0x02 }, 20, 0 },
	{ "truncated at every byte: ipv4/sctp",
	  { .src = A4, .dst = B4, .proto = SCTP, .sport = 1, .dport = 2 }, 8, 0 },
	{ "truncated at every byte: ipv4/icmp echo",
	  { .src = A4, .dst = B4, .proto = ICMP, .sport = 8 }, 2, 0 },
	{ "truncated at every byte: ipv6/icmpv6 echo",
	  { .src = A6, .dst = B6, .proto = ICMP6, .sport = 128 }, 2, 0 },
	{ "truncated at every byte: ipv4 non-first fragment (no transport header needed)",
	  { .src = A4, .dst = B4, .proto = UDP, .frag = 8, .sport = 1, .dport = 2 }, 0, 0 },
	{ "truncated at every byte: ipv6 non-first fragment (no transport header needed)",
	  { .src = A6, .dst = B6, .ext = "F", .frag = 8, .proto = UDP, .sport = 1, .dport = 2 }, 0, 0 },
	{ "truncated at every byte: vxlan/802.1Q/ipv4/tcp",
	  { .vlan = { 0x8100 }, INNER_SYN, .tun = { T(TUN_VXLAN, O4A, O4B) } }, 20, 8 },
	{ "truncated at every byte: gre/erspan II/ipv6/udp over ipv6",
	  { .src = A6, .dst = B6, .proto = UDP, .sport = 1, .dport = 2, .tun = { T(TUN_ERSPAN2, O6A, O6B) } },
	  8, 0 },
	{ "truncated at every byte: gre/erspan III/ipv4/tcp",
	  { INNER_SYN, .tun = { T(TUN_ERSPAN3, O4A, O4B) } }, 20, 0 },
	{ "truncated at every byte: geneve/ipv4/icmp",
	  { .src = A4, .dst = B4, .proto = ICMP, .sport = 8, .tun = { T(TUN_GENEVE, O6A, O6B) } }, 2, 8 },
};

/*
 * Cuts the frame at every length from 0 to its full length. Below ETH_HLEN
 * the kernel refuses the run with -EINVAL: that is BPF_PROG_TEST_RUN's
 * rule, asserted so that a change shows. From ETH_HLEN on, a cut before
 * the transport bytes the parser needs is keyed at L2 (l2_truncated) and
 * still counted in a flow; in a tunnel, a cut after the outer transport
 * header but before the inner's keeps the outer key; from there on the
 * full frame's key. The userspace parser agrees at every cut.
 */
static void test_truncation(void **state)
{
	const struct trunc_case *tc = *state;
	__u8 buf[PKT_MAX];
	struct pkt_layout l = pkt_build(&tc->pkt, buf);
	bool tunnel = tc->pkt.tun[0].kind;
	size_t keyed_at = l.l4_off + tc->need;
	size_t outer_at = tunnel ? l.outer_l4_off + tc->outer_need : keyed_at;
	struct xs_packet full, outer;
	char what[128];

	require_datapath();
	dp_reset(g_skel);
	apply_rules(g_skel, COUNT, NULL, 0, 0, 0);
	begin_checks();
	assert_int_equal(xs_parse_frame(buf, buf + l.len, &full, XS_MAX_DECAP), 0);
	assert_int_equal(xs_parse_frame(buf, buf + l.len, &outer, 0), 0);
	EXPECT_EQ("the full frame: tunnels opened", full.decap, tunnel ? 1 : 0);

	for (size_t cut = 0; cut <= l.len; cut++) {
		__u64 before[XS_STAT_MAX], after[XS_STAT_MAX], want[XS_STAT_MAX] = {};
		struct flow_entry *flows = NULL;
		const struct xs_packet *expect = cut >= keyed_at ? &full : &outer;
		bool l2 = cut < outer_at;
		struct xs_packet p;
		__u32 retval = 0;
		int err, uerr;
		size_t n;

		dp_reset(g_skel);
		uerr = xs_parse_frame(buf, buf + cut, &p, XS_MAX_DECAP);
		read_stats(g_skel, before);
		err = run_frame(g_skel, buf, cut, &retval);
		read_stats(g_skel, after);

		if (cut < XS_ETH_HLEN) {
			snprintf(what, sizeof(what), "cut %zu: test_run of a frame < ETH_HLEN", cut);
			EXPECT_EQ(what, err, -EINVAL);
			snprintf(what, sizeof(what), "cut %zu: userspace error", cut);
			EXPECT_EQ(what, uerr, XS_STAT_L2_TRUNCATED);
			snprintf(what, sizeof(what), "cut %zu: rx unchanged by a refused run", cut);
			EXPECT_EQ(what, after[XS_STAT_RX] - before[XS_STAT_RX], 0);
			continue;
		}
		snprintf(what, sizeof(what), "cut %zu: bpf_prog_test_run_opts", cut);
		EXPECT_EQ(what, err, 0);
		snprintf(what, sizeof(what), "cut %zu: XDP retval", cut);
		EXPECT_EQ(what, retval, XDP_PASS);
		want[XS_STAT_RX] = 1;
		want[XS_STAT_RX_BYTES] = cut;
		want[XS_STAT_COUNTED] = 1;
		want[XS_STAT_FLOW_NEW] = 1;
		if (l2)
			want[XS_STAT_L2_TRUNCATED] = 1;
		else if (expect->decap)
			want[XS_STAT_DECAP] = 1;
		for (int s = 0; s < XS_STAT_MAX; s++) {
			snprintf(what, sizeof(what), "cut %zu (L2 below %zu, outer below %zu): stats delta %s",
				 cut, outer_at, keyed_at, stat_name(s));
			EXPECT_EQ(what, after[s] - before[s], want[s]);
		}
		expect_stats_identity(after);

		snprintf(what, sizeof(what), "cut %zu: userspace xs_parse_frame", cut);
		EXPECT_EQ(what, uerr, l2 ? XS_STAT_L2_TRUNCATED : 0);
		n = read_flows(g_skel, &flows);
		snprintf(what, sizeof(what), "cut %zu: flow entries", cut);
		EXPECT_EQ(what, n, 1);
		if (n == 1) {
			snprintf(what, sizeof(what), "cut %zu: key in the map vs userspace's", cut);
			expect_key(what, &flows[0].key, &p.key);
			if (l2) {
				snprintf(what, sizeof(what), "cut %zu: keyed at L2", cut);
				EXPECT_EQ(what, flows[0].key.family, XS_FAMILY_L2);
			} else {
				snprintf(what, sizeof(what), "cut %zu: key in the map vs the %s frame's",
					 cut, expect == &full ? "full" : "outer layer of the");
				expect_key(what, &flows[0].key, &expect->key);
			}
		}
		free(flows);
		if (g_fails > 20)
			break; /* enough to see the pattern */
	}
	end_checks(tc->desc);
}

/* ------------------------------------------------------------------ */
/* Sampling                                                            */

#define SAMPLE_N 4
#define SAMPLE_FLOWS 400
#define SAMPLE_SEED 0x5eed

/* Runs one packet; returns the outcome counter that moved, or -1. */
static int run_outcome(const struct pkt_spec *s, __u64 *sampled_out)
{
	static const int outcomes[] = { XS_STAT_CAPTURED, XS_STAT_CAPTURE_NO_SOCKET,
					XS_STAT_COUNTED, XS_STAT_DROPPED };
	__u64 before[XS_STAT_MAX], after[XS_STAT_MAX];
	__u8 buf[PKT_MAX];
	struct pkt_layout l = pkt_build(s, buf);
	__u32 retval;
	int moved = -1;

	read_stats(g_skel, before);
	EXPECT_EQ("bpf_prog_test_run_opts", run_frame(g_skel, buf, l.len, &retval), 0);
	read_stats(g_skel, after);
	for (size_t i = 0; i < ARRAY_SIZE(outcomes); i++)
		if (after[outcomes[i]] - before[outcomes[i]] == 1)
			moved = outcomes[i];
	*sampled_out = after[XS_STAT_SAMPLED_OUT] - before[XS_STAT_SAMPLED_OUT];
	return moved;
}

static void test_sampling(void **state)
{
	__u64 before[XS_STAT_MAX], after[XS_STAT_MAX];
	unsigned int captured = 0, sampled = 0;
	static struct rules r;
	char what[128];

	(void)state;
	require_datapath();
	dp_reset(g_skel);
	rules_init(&r, XS_ACTION_CAPTURE);
	r.config.sample_n = SAMPLE_N; /* --sample: the option parser is tested in test_userspace */
	r.config.sample_seed = SAMPLE_SEED;
	assert_int_equal(rules_apply(&r, g_skel), 0);
	begin_checks();

	read_stats(g_skel, before);
	for (int i = 0; i < SAMPLE_FLOWS; i++) {
		char src[32];
		struct pkt_spec fwd = { .src = src, .dst = "10.9.9.9", .proto = UDP,
					.sport = (__u16)(1024 + i), .dport = 443 };
		struct pkt_spec rev = { .src = "10.9.9.9", .dst = src, .proto = UDP,
					.sport = 443, .dport = (__u16)(1024 + i) };
		__u8 buf[PKT_MAX];
		struct xs_packet p;
		__u64 so_fwd, so_rev;
		int out_fwd, out_rev, predicted;

		snprintf(src, sizeof(src), "10.2.%d.%d", i / 250, 1 + i % 250);
		out_fwd = run_outcome(&fwd, &so_fwd);
		out_rev = run_outcome(&rev, &so_rev);

		/* userspace prediction from the same hash */
		struct pkt_layout l = pkt_build(&fwd, buf);
		assert_int_equal(xs_parse_frame(buf, buf + l.len, &p, XS_MAX_DECAP), 0);
		predicted = xs_flow_hash(&p.key, SAMPLE_SEED) % SAMPLE_N ? XS_STAT_COUNTED
									 : XS_STAT_CAPTURE_NO_SOCKET;

		snprintf(what, sizeof(what), "flow %d: both directions get the same decision", i);
		EXPECT_EQ(what, out_rev, out_fwd);
		snprintf(what, sizeof(what), "flow %d: decision vs xs_flow_hash %% N", i);
		EXPECT_EQ(what, out_fwd, predicted);
		snprintf(what, sizeof(what), "flow %d: sampled_out counted with counted", i);
		EXPECT_EQ(what, so_fwd + so_rev, out_fwd == XS_STAT_COUNTED ? 2 : 0);
		if (out_fwd == XS_STAT_CAPTURE_NO_SOCKET)
			captured++;
		else
			sampled++;
		if (g_fails > 20)
			break;
	}
	read_stats(g_skel, after);
	fprintf(stderr, "# sampling 1 in %d: %u of %d flows captured\n", SAMPLE_N, captured,
		SAMPLE_FLOWS);
	EXPECT_TRUE("captured flows within [N/2, 3N/2] of the expected 1/N",
		    captured >= SAMPLE_FLOWS / SAMPLE_N / 2 &&
			    captured <= SAMPLE_FLOWS * 3 / SAMPLE_N / 2);
	EXPECT_EQ("stats delta sampled_out", after[XS_STAT_SAMPLED_OUT] - before[XS_STAT_SAMPLED_OUT],
		  2 * sampled);
	EXPECT_EQ("stats delta counted", after[XS_STAT_COUNTED] - before[XS_STAT_COUNTED],
		  2 * sampled);
	EXPECT_EQ("stats delta capture_no_socket",
		  after[XS_STAT_CAPTURE_NO_SOCKET] - before[XS_STAT_CAPTURE_NO_SOCKET], 2 * captured);
	EXPECT_EQ("stats delta flow_new", after[XS_STAT_FLOW_NEW] - before[XS_STAT_FLOW_NEW],
		  captured + sampled);
	expect_stats_identity(after);
	end_checks("sampling");
}

/* Sampling never turns a count or drop rule into anything else. */
static void test_sampling_only_capture(void **state)
{
	struct pkt_spec s = P_TCP4;
	const struct rule_spec drop = { DROP, "port:tcp/80" };
	__u64 so;

	(void)state;
	require_datapath();
	dp_reset(g_skel);
	apply_rules(g_skel, COUNT, &drop, 1, 1000, 7);
	begin_checks();
	EXPECT_EQ("drop rule under --sample 1000", run_outcome(&s, &so), XS_STAT_DROPPED);
	EXPECT_EQ("sampled_out", so, 0);
	s.dport = 81;
	EXPECT_EQ("default count under --sample 1000", run_outcome(&s, &so), XS_STAT_COUNTED);
	EXPECT_EQ("sampled_out", so, 0);
	end_checks("sampling only capture");
}

/* ------------------------------------------------------------------ */
/* Flow table full                                                     */

static void test_flow_table_full(void **state)
{
	struct datapath_opts opts = { .flows_max = 4 };
	__u64 before[XS_STAT_MAX], after[XS_STAT_MAX];
	struct xdpsensor_bpf *skel;
	struct flow_entry *flows = NULL;
	__u8 buf[PKT_MAX];
	struct pkt_layout l;
	__u32 retval;
	size_t n;

	(void)state;
	require_datapath();
	skel = datapath_load(&opts);
	if (!skel)
		fail_msg("datapath_load with flows_max 4 failed");
	apply_rules(skel, DROP, NULL, 0, 0, 0);
	begin_checks();

	read_stats(skel, before);
	for (int i = 0; i < 6; i++) {
		struct pkt_spec s = { .src = A4, .dst = B4, .proto = UDP,
				      .sport = (__u16)(2000 + i), .dport = 53 };

		l = pkt_build(&s, buf);
		EXPECT_EQ("bpf_prog_test_run_opts", run_frame(skel, buf, l.len, &retval), 0);
		EXPECT_EQ("XDP retval: still classified (default drop)", retval, XDP_DROP);
	}
	read_stats(skel, after);
	EXPECT_EQ("stats delta flow_new", after[XS_STAT_FLOW_NEW] - before[XS_STAT_FLOW_NEW], 4);
	EXPECT_EQ("stats delta flow_table_full",
		  after[XS_STAT_FLOW_TABLE_FULL] - before[XS_STAT_FLOW_TABLE_FULL], 2);
	EXPECT_EQ("stats delta dropped", after[XS_STAT_DROPPED] - before[XS_STAT_DROPPED], 6);
	expect_stats_identity(after);
	n = read_flows(skel, &flows);
	EXPECT_EQ("flow entries", n, 4);
	free(flows);

	/* a known flow is still counted; an unknown one is still refused */
	{
		struct pkt_spec known = { .src = B4, .dst = A4, .proto = UDP, .sport = 53, .dport = 2000 };
		struct xs_packet p;
		struct flow_stats fs;

		l = pkt_build(&known, buf);
		EXPECT_EQ("bpf_prog_test_run_opts", run_frame(skel, buf, l.len, &retval), 0);
		assert_int_equal(xs_parse_frame(buf, buf + l.len, &p, XS_MAX_DECAP), 0);
		EXPECT_EQ("lookup of the known flow",
			  bpf_map_lookup_elem(bpf_map__fd(skel->maps.flows), &p.key, &fs), 0);
		EXPECT_EQ("known flow: packets[A_TO_B]", fs.packets[0], 1);
		EXPECT_EQ("known flow: packets[B_TO_A]", fs.packets[1], 1);
	}
	read_stats(skel, after);
	EXPECT_EQ("flow_table_full unchanged by a known flow",
		  after[XS_STAT_FLOW_TABLE_FULL] - before[XS_STAT_FLOW_TABLE_FULL], 2);
	expect_stats_identity(after);
	xdpsensor_bpf__destroy(skel);
	end_checks("flow table full");
}

/* ------------------------------------------------------------------ */
/* Parking: a frame to capture with no socket, kept for the next run    */

struct parked_seen {
	unsigned int n;
	__u32 len, queue;
	__u64 ts_ns;
	__u8 data[XS_PARK_FRAME_MAX];
};

static void keep_last(void *ctx, const struct xs_parked_frame *f)
{
	struct parked_seen *seen = ctx;

	seen->n++;
	seen->len = f->len;
	seen->queue = f->queue;
	seen->ts_ns = f->rx_ts_ns;
	memcpy(seen->data, f->data, f->len);
}

/* Runs len bytes (a TCP frame, padded) repeat times; returns the drain. */
static long park_run(struct xdpsensor_bpf *skel, __u8 *buf, __u32 len, __u32 repeat,
		     struct parked_seen *seen)
{
	LIBBPF_OPTS(bpf_test_run_opts, opts, .data_in = buf, .data_size_in = len,
		    .repeat = repeat);

	EXPECT_EQ("bpf_prog_test_run_opts",
		  bpf_prog_test_run_opts(bpf_program__fd(skel->progs.xdpsensor_xdp), &opts), 0);
	EXPECT_EQ("XDP retval: passed, as with no socket", opts.retval, XDP_PASS);
	memset(seen, 0, sizeof(*seen));
	return parked_drain(bpf_map__fd(skel->maps.parked), keep_last, seen);
}

static void test_parking(void **state)
{
	static __u8 buf[XS_PARK_FRAME_MAX + 64];
	static struct parked_seen seen;
	static struct rules r;
	__u64 before[XS_STAT_MAX], after[XS_STAT_MAX], t0, t1;
	struct pkt_spec s = P_TCP4;
	struct pkt_layout l;
	struct timespec ts;
	long n;

	(void)state;
	require_datapath();
	dp_reset(g_skel);
	rules_init(&r, CAPTURE);
	r.config.park = 1;
	assert_int_equal(rules_apply(&r, g_skel), 0);
	begin_checks();
	parked_drain(bpf_map__fd(g_skel->maps.parked), NULL, NULL); /* empty to begin with */

	l = pkt_build(&s, buf);
	read_stats(g_skel, before);
	clock_gettime(CLOCK_MONOTONIC, &ts);
	t0 = (__u64)ts.tv_sec * 1000000000ull + (__u64)ts.tv_nsec;
	n = park_run(g_skel, buf, l.len, 1, &seen);
	clock_gettime(CLOCK_MONOTONIC, &ts);
	t1 = (__u64)ts.tv_sec * 1000000000ull + (__u64)ts.tv_nsec;
	read_stats(g_skel, after);
	EXPECT_EQ("frames drained", n, 1);
	EXPECT_EQ("stats delta parked", after[XS_STAT_PARKED] - before[XS_STAT_PARKED], 1);
	EXPECT_EQ("stats delta capture_no_socket",
		  after[XS_STAT_CAPTURE_NO_SOCKET] - before[XS_STAT_CAPTURE_NO_SOCKET], 0);
	EXPECT_EQ("parked length", seen.len, l.len);
	EXPECT_EQ("parked bytes = the frame", memcmp(seen.data, buf, l.len), 0);
	EXPECT_EQ("parked queue", seen.queue, 0);
	EXPECT_EQ("parked time within the run", seen.ts_ns >= t0 && seen.ts_ns <= t1, 1);

	/* a jumbo frame comes in several buffers: parked whole */
	for (__u32 i = l.len; i < 9000; i++)
		buf[i] = (__u8)i;
	n = park_run(g_skel, buf, 9000, 1, &seen);
	EXPECT_EQ("jumbo: frames drained", n, 1);
	EXPECT_EQ("jumbo: parked length", seen.len, 9000);
	EXPECT_EQ("jumbo: parked bytes = the frame", memcmp(seen.data, buf, 9000), 0);

	/* longer than a parked frame holds: lost, counted */
	read_stats(g_skel, before);
	n = park_run(g_skel, buf, XS_PARK_FRAME_MAX + 1, 1, &seen);
	read_stats(g_skel, after);
	EXPECT_EQ("too long: nothing parked", n, 0);
	EXPECT_EQ("too long: capture_no_socket",
		  after[XS_STAT_CAPTURE_NO_SOCKET] - before[XS_STAT_CAPTURE_NO_SOCKET], 1);

	/* a full ring: every frame is parked or counted, none in between */
	read_stats(g_skel, before);
	n = park_run(g_skel, buf, 9000, 8000, &seen);
	read_stats(g_skel, after);
	EXPECT_EQ("full ring: drained = parked", (__u64)n,
		  after[XS_STAT_PARKED] - before[XS_STAT_PARKED]);
	EXPECT_EQ("full ring: some counted as capture_no_socket",
		  after[XS_STAT_CAPTURE_NO_SOCKET] - before[XS_STAT_CAPTURE_NO_SOCKET] > 0, 1);
	EXPECT_EQ("full ring: parked + capture_no_socket = frames",
		  after[XS_STAT_PARKED] - before[XS_STAT_PARKED] +
			  after[XS_STAT_CAPTURE_NO_SOCKET] - before[XS_STAT_CAPTURE_NO_SOCKET],
		  8000);
	EXPECT_EQ("full ring: the last one parked is whole", memcmp(seen.data, buf, 9000), 0);
	expect_stats_identity(after);

	r.config.park = 0; /* as the other tests expect */
	assert_int_equal(rules_apply(&r, g_skel), 0);
	end_checks("parking");
}

/* ------------------------------------------------------------------ */

static void add_tests(struct CMUnitTest *t, size_t *n, const char *(*name)(const void *),
		      CMUnitTestFunction fn, const void *rows, size_t row_size, size_t count)
{
	for (size_t i = 0; i < count; i++) {
		const void *row = (const char *)rows + i * row_size;

		t[*n] = (struct CMUnitTest){ .name = name(row), .test_func = fn,
					     .initial_state = (void *)row };
		(*n)++;
	}
}

/* Every row type starts with its description. */
static const char *row_desc(const void *row)
{
	return *(const char *const *)row;
}

int main(void)
{
	struct CMUnitTest tests[ARRAY_SIZE(protocol_cases) + ARRAY_SIZE(rule_cases) +
				ARRAY_SIZE(tunnel_cases) +
				ARRAY_SIZE(conversations) + ARRAY_SIZE(trunc_cases) + 8];
	size_t n = 0;
	int ret;

	setvbuf(stdout, NULL, _IOLBF, 0);
	log_init_libbpf();
	if (geteuid() != 0) {
		g_skip_reason = "needs root (BPF_PROG_TEST_RUN and map access)";
	} else {
		g_skel = datapath_load(NULL);
		if (!g_skel)
			g_skip_reason = "the XDP program cannot be loaded (no BPF in this kernel?)";
	}

	add_tests(tests, &n, row_desc, test_dp_case, protocol_cases, sizeof(protocol_cases[0]),
		  ARRAY_SIZE(protocol_cases));
	add_tests(tests, &n, row_desc, test_dp_case, tunnel_cases, sizeof(tunnel_cases[0]),
		  ARRAY_SIZE(tunnel_cases));
	add_tests(tests, &n, row_desc, test_dp_case, rule_cases, sizeof(rule_cases[0]),
		  ARRAY_SIZE(rule_cases));
	add_tests(tests, &n, row_desc, test_conversation, conversations, sizeof(conversations[0]),
		  ARRAY_SIZE(conversations));
	add_tests(tests, &n, row_desc, test_truncation, trunc_cases, sizeof(trunc_cases[0]),
		  ARRAY_SIZE(trunc_cases));
	tests[n++] = (struct CMUnitTest){ "sampling: 1 in N flows captured, whole and both ways",
					  test_sampling, NULL, NULL, NULL };
	tests[n++] = (struct CMUnitTest){ "sampling: count and drop decisions are not sampled",
					  test_sampling_only_capture, NULL, NULL, NULL };
	tests[n++] = (struct CMUnitTest){ "flow table full: 4 entries, 2 refused, all classified",
					  test_flow_table_full, NULL, NULL, NULL };
	tests[n++] = (struct CMUnitTest){ "parking: no socket -> the frame whole in the ring,"
					  " a full ring counted", test_parking, NULL, NULL, NULL };

	ret = _cmocka_run_group_tests("datapath", tests, n, NULL, NULL);
	if (g_skel)
		xdpsensor_bpf__destroy(g_skel);
	return ret;
}
