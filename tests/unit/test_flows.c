// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * Flow records (user/flows/flow_export.c) from the real XDP program's flow
 * table: packets go through the program with BPF_PROG_TEST_RUN, the
 * exporter scans the table with a clock the test moves forward, and the
 * checks read the records it emits and the table it leaves.
 *
 * Needs root and BPF; without them the table tests are skipped with the reason.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "clock.h"
#include "datapath.h"
#include "flow_export.h"
#include "flow_parse.h"
#include "log.h"
#include "expect.h"
#include "pkt_build.h"

#define SEC_NS 1000000000ull
#define MAX_RECORDS 256

static const char *g_skip_reason;

/* What the exporter emitted. */
struct collector {
	int n;
	char json[MAX_RECORDS][FLOW_RECORD_MAX];
	__u64 at_ms[MAX_RECORDS]; /* wall clock when emitted */
};

static void collect(const struct flow_key *key, const char *json, size_t len, void *ctx)
{
	struct collector *c = ctx;

	(void)key;
	if (c->n == MAX_RECORDS)
		return;
	snprintf(c->json[c->n], FLOW_RECORD_MAX, "%.*s", (int)len, json);
	c->at_ms[c->n++] = clock_ns(CLOCK_REALTIME) / 1000000;
}

/* The number after "field": in a flat JSON object (-1 if absent). */
static long long json_num(const char *j, const char *field)
{
	char pat[64];
	const char *at;

	snprintf(pat, sizeof(pat), "\"%s\":", field);
	at = strstr(j, pat);
	return at ? strtoll(at + strlen(pat), NULL, 10) : -1;
}

static bool json_has(const char *j, const char *field, const char *str_value)
{
	char pat[96];

	snprintf(pat, sizeof(pat), "\"%s\":\"%s\"", field, str_value);
	return strstr(j, pat);
}

static struct xdpsensor_bpf *load(__u32 flows_max)
{
	struct datapath_opts o = { .flows_max = flows_max };
	struct xdpsensor_bpf *skel;

	if (g_skip_reason) {
		fprintf(stderr, "# skipped: %s\n", g_skip_reason);
		skip();
	}
	skel = datapath_load(&o);
	if (!skel)
		fail_msg("datapath_load with flows_max %u failed", flows_max);
	return skel;
}

/* n frames of one UDP flow 192.0.2.1:sport <-> 192.0.2.2:53, from the
 * client (A->B: 192.0.2.1 sorts first) or the server. */
static void send_udp(struct xdpsensor_bpf *skel, __u16 sport, bool from_client, int n,
		     __u16 payload)
{
	struct pkt_spec s = { .src = "192.0.2.1", .dst = "192.0.2.2", .proto = 17,
			      .sport = sport, .dport = 53, .payload = payload };
	__u8 buf[PKT_MAX];
	struct pkt_layout l;

	if (!from_client)
		s = (struct pkt_spec){ .src = "192.0.2.2", .dst = "192.0.2.1", .proto = 17,
				       .sport = 53, .dport = sport, .payload = payload };
	l = pkt_build(&s, buf);
	for (int i = 0; i < n; i++) {
		LIBBPF_OPTS(bpf_test_run_opts, opts, .data_in = buf, .data_size_in = (__u32)l.len,
			    .repeat = 1);

		assert_int_equal(bpf_prog_test_run_opts(
					 bpf_program__fd(skel->progs.xdpsensor_xdp), &opts), 0);
	}
}

static size_t frame_len(__u16 payload)
{
	struct pkt_spec s = { .src = "192.0.2.1", .dst = "192.0.2.2", .proto = 17,
			      .sport = 1, .dport = 53, .payload = payload };
	__u8 buf[PKT_MAX];

	return pkt_build(&s, buf).len;
}

static __u32 table_size(struct xdpsensor_bpf *skel)
{
	struct flow_entry *e;
	size_t n;

	assert_int_equal(flow_table_read(bpf_map__fd(skel->maps.flows), &e, &n), 0);
	free(e);
	return (__u32)n;
}

/*
 * One flow over several active intervals, then idle: each record holds
 * what the flow did since the previous one, per direction; none when it
 * did nothing; the deltas add up to the totals of the last record, which
 * are the packets sent; `time` is the export time in ms.
 */
static void test_active_deltas(void **state)
{
	static struct collector c;
	struct xdpsensor_bpf *skel = load(64);
	struct flow_export_opts o = { .idle_ns = 30 * SEC_NS, .active_ns = 2 * SEC_NS,
				      .format = FLOWS_JSON, .dvc = "test", .emit = collect,
				      .ctx = &c };
	struct flow_exporter *x;
	struct flow_export_counts n;
	__u64 t0, sum[4] = {}, flen = frame_len(10);
	const char *last;

	(void)state;
	c.n = 0;
	x = flow_exporter_new(bpf_map__fd(skel->maps.flows), bpf_map__fd(skel->maps.stats), &o);
	assert_non_null(x);
	begin_checks();
	send_udp(skel, 4000, true, 3, 10);
	send_udp(skel, 4000, false, 2, 10);
	t0 = clock_ns(CLOCK_MONOTONIC);

	flow_exporter_poll(x, t0);
	EXPECT_EQ("records before the active timeout", c.n, 0);
	flow_exporter_poll(x, t0 + 2 * SEC_NS + SEC_NS / 10);
	EXPECT_EQ("records after one active timeout", c.n, 1);
	send_udp(skel, 4000, true, 1, 10);
	send_udp(skel, 4000, false, 3, 10);
	flow_exporter_poll(x, t0 + 3 * SEC_NS + SEC_NS / 5);
	EXPECT_EQ("records 1.1 s after the first export", c.n, 1);
	flow_exporter_poll(x, t0 + 4 * SEC_NS + SEC_NS / 5);
	EXPECT_EQ("records after two active timeouts", c.n, 2);
	flow_exporter_poll(x, t0 + 6 * SEC_NS + SEC_NS / 2);
	EXPECT_EQ("records after an active interval without packets", c.n, 2);
	send_udp(skel, 4000, true, 1, 10);
	flow_exporter_poll(x, t0 + 40 * SEC_NS);
	EXPECT_EQ("records after the idle timeout", c.n, 3);
	EXPECT_EQ("flows left in the table", table_size(skel), 0);
	flow_exporter_counts(x, &n);
	EXPECT_EQ("expired", n.expired, 1);
	EXPECT_EQ("evicted", n.evicted, 0);
	EXPECT_EQ("records counted", n.records, 3);

	for (int i = 0; i < c.n; i++) {
		const char *j = c.json[i];
		long long t = json_num(j, "time");

		fprintf(stderr, "# %s\n", j);
		EXPECT_EQ("bytes = bytes_ab + bytes_ba", json_num(j, "bytes"),
			  json_num(j, "bytes_ab") + json_num(j, "bytes_ba"));
		EXPECT_EQ("pkts = pkts_ab + pkts_ba", json_num(j, "pkts"),
			  json_num(j, "pkts_ab") + json_num(j, "pkts_ba"));
		EXPECT_TRUE("time in ms, within 1 s of the export",
			    t >= (long long)c.at_ms[i] - 1000 && t <= (long long)c.at_ms[i]);
		sum[0] += (__u64)json_num(j, "pkts_ab");
		sum[1] += (__u64)json_num(j, "pkts_ba");
		sum[2] += (__u64)json_num(j, "bytes_ab");
		sum[3] += (__u64)json_num(j, "bytes_ba");
	}
	EXPECT_EQ("first record: pkts", json_num(c.json[0], "pkts"), 5);
	EXPECT_TRUE("first record: end active", json_has(c.json[0], "end", "active"));
	EXPECT_EQ("second record: pkts_ab", json_num(c.json[1], "pkts_ab"), 1);
	EXPECT_EQ("second record: pkts_ba", json_num(c.json[1], "pkts_ba"), 3);
	EXPECT_EQ("second record: total_pkts", json_num(c.json[1], "total_pkts"), 9);
	last = c.json[c.n - 1];
	EXPECT_TRUE("last record: end idle", json_has(last, "end", "idle"));
	EXPECT_EQ("last record: pkts", json_num(last, "pkts"), 1);
	EXPECT_EQ("sum of pkts_ab = total_pkts_ab = sent", sum[0], 5);
	EXPECT_EQ("total_pkts_ab", json_num(last, "total_pkts_ab"), 5);
	EXPECT_EQ("sum of pkts_ba = total_pkts_ba = sent", sum[1], 5);
	EXPECT_EQ("total_pkts_ba", json_num(last, "total_pkts_ba"), 5);
	EXPECT_EQ("sum of bytes_ab = total_bytes_ab", sum[2], json_num(last, "total_bytes_ab"));
	EXPECT_EQ("sum of bytes_ba = total_bytes_ba", sum[3], json_num(last, "total_bytes_ba"));
	EXPECT_EQ("total bytes = frames sent", json_num(last, "total_bytes"), 10 * flen);
	flow_exporter_free(x);
	xdpsensor_bpf__destroy(skel);
	end_checks("active deltas");
}

/* At exit each flow's last delta, since its last active record; none removed. */
static void test_finish(void **state)
{
	static struct collector c;
	struct xdpsensor_bpf *skel = load(64);
	struct flow_export_opts o = { .idle_ns = 30 * SEC_NS, .active_ns = 1 * SEC_NS,
				      .format = FLOWS_JSON, .dvc = "test", .emit = collect,
				      .ctx = &c };
	struct flow_exporter *x;
	__u64 t0;

	(void)state;
	c.n = 0;
	x = flow_exporter_new(bpf_map__fd(skel->maps.flows), -1, &o);
	assert_non_null(x);
	begin_checks();
	send_udp(skel, 5000, true, 2, 0);
	send_udp(skel, 5001, true, 1, 0);
	t0 = clock_ns(CLOCK_MONOTONIC);
	flow_exporter_poll(x, t0 + 2 * SEC_NS);
	EXPECT_EQ("active records", c.n, 2);
	send_udp(skel, 5000, false, 4, 0);
	flow_exporter_finish(x);
	for (int i = 0; i < c.n; i++)
		fprintf(stderr, "# %s\n", c.json[i]);
	EXPECT_EQ("records at exit: only the flow with packets since", c.n, 3);
	EXPECT_TRUE("end exit", json_has(c.json[2], "end", "exit"));
	EXPECT_EQ("exit record: pkts_ba", json_num(c.json[2], "pkts_ba"), 4);
	EXPECT_EQ("exit record: total_pkts", json_num(c.json[2], "total_pkts"), 6);
	EXPECT_EQ("flows left in the table", table_size(skel), 2);
	flow_exporter_free(x);
	xdpsensor_bpf__destroy(skel);
	end_checks("finish");
}

/*
 * A table of 64 (high-water 56, low 48): past the mark, the flows idle
 * longest are exported and removed before the next scheduled scan; a
 * table that filled anyway (inserts refused) is emptied to the low mark at
 * the next poll, and new flows are counted again. Every packet is in a
 * record, in the table, or in flow_table_full.
 */
static void test_eviction(void **state)
{
	static struct collector c;
	struct xdpsensor_bpf *skel = load(64);
	struct flow_export_opts o = { .format = FLOWS_JSON, .dvc = "test", .emit = collect,
				      .ctx = &c };
	__u64 stats[XS_STAT_MAX], t0, in_records = 0, in_table = 0;
	struct flow_exporter *x;
	struct flow_export_counts n;
	struct flow_entry *e;
	__u32 high, low;
	size_t ne;

	(void)state;
	c.n = 0;
	flow_export_marks(64, &high, &low);
	assert_int_equal(high, 56);
	assert_int_equal(low, 48);
	x = flow_exporter_new(bpf_map__fd(skel->maps.flows), bpf_map__fd(skel->maps.stats), &o);
	assert_non_null(x);
	begin_checks();
	for (__u16 p = 0; p < 40; p++)
		send_udp(skel, 10000 + p, true, 1, 0);
	t0 = clock_ns(CLOCK_MONOTONIC);
	flow_exporter_poll(x, t0);
	EXPECT_EQ("records below the high-water mark", c.n, 0);
	usleep(30000); /* the datapath's flow clock is coarse (a jiffy) */
	for (__u16 p = 0; p < 20; p++)
		send_udp(skel, 20000 + p, true, 1, 0);
	flow_exporter_poll(x, t0 + SEC_NS / 10); /* before the next scheduled scan */
	EXPECT_EQ("evicted past the high-water mark (60 -> 48)", c.n, 12);
	EXPECT_EQ("table after eviction", table_size(skel), 48);
	for (int i = 0; i < c.n; i++) {
		long long port = json_num(c.json[i], "srcp");

		EXPECT_TRUE("evicted: one of the 40 older flows", port >= 10000 && port < 10040);
		EXPECT_TRUE("end evicted", json_has(c.json[i], "end", "evicted"));
	}

	/* faster than the polls: 30 new flows, 16 fit, 14 find the table full */
	for (__u16 p = 0; p < 30; p++)
		send_udp(skel, 30000 + p, true, 1, 0);
	datapath_read_stats(bpf_map__fd(skel->maps.stats), stats);
	EXPECT_EQ("flow_table_full", stats[XS_STAT_FLOW_TABLE_FULL], 14);
	flow_exporter_poll(x, t0 + SEC_NS / 5);
	EXPECT_EQ("table after the poll that saw it full", table_size(skel), 48);
	for (__u16 p = 0; p < 10; p++)
		send_udp(skel, 40000 + p, true, 1, 0);
	datapath_read_stats(bpf_map__fd(skel->maps.stats), stats);
	EXPECT_EQ("new flows counted again: flows created", stats[XS_STAT_FLOW_NEW], 60 + 16 + 10);
	EXPECT_EQ("flow_table_full unchanged", stats[XS_STAT_FLOW_TABLE_FULL], 14);

	flow_exporter_counts(x, &n);
	EXPECT_EQ("evicted = records", n.evicted, (__u64)c.n);
	for (int i = 0; i < c.n; i++)
		in_records += (__u64)json_num(c.json[i], "pkts");
	assert_int_equal(flow_table_read(bpf_map__fd(skel->maps.flows), &e, &ne), 0);
	for (size_t i = 0; i < ne; i++)
		in_table += e[i].stats.packets[0] + e[i].stats.packets[1];
	free(e);
	EXPECT_EQ("records + table + flow_table_full = packets sent",
		  in_records + in_table + stats[XS_STAT_FLOW_TABLE_FULL], 100);
	flow_exporter_free(x);
	xdpsensor_bpf__destroy(skel);
	end_checks("eviction");
}

/* kflow: exactly KFlow's ten fields, in its order; an IPv6 flow keeps its
 * addresses as text (a strict IPv4 consumer cannot parse them). */
static void test_kflow_format(void **state)
{
	struct flow_record r = { .time_ms = 1796009308123ull, .end = FLOW_ACTIVE };
	char buf[FLOW_RECORD_MAX];

	(void)state;
	r.e.key = (struct flow_key){ .family = XS_FAMILY_IPV6, .proto = 6, .port_a = 443,
				     .port_b = 51000 };
	inet_pton(AF_INET6, "2001:db8::1", r.e.key.addr_a);
	inet_pton(AF_INET6, "2001:db8::2", r.e.key.addr_b);
	r.e.stats = (struct flow_stats){ .packets = { 10, 20 }, .bytes = { 1000, 2000 },
					 .tcp_flags = 0x12 };
	r.packets[0] = 1;
	r.packets[1] = 2;
	r.bytes[0] = 100;
	r.bytes[1] = 200;
	flow_record_format(buf, sizeof(buf), FLOWS_KFLOW, "eth1", &r);
	assert_string_equal(buf, "{\"dvc\":\"eth1\",\"src\":\"2001:db8::1\",\"srcp\":443,"
				 "\"dst\":\"2001:db8::2\",\"dstp\":51000,\"proto\":6,\"flags\":18,"
				 "\"bytes\":300,\"pkts\":3,\"time\":1796009308123}");
	flow_record_format(buf, sizeof(buf), FLOWS_JSON, "eth1", &r);
	assert_true(strstr(buf, "\"bytes\":300,\"pkts\":3,\"time\":1796009308123,"
				"\"bytes_ab\":100,\"bytes_ba\":200,\"pkts_ab\":1,\"pkts_ba\":2,"
				"\"total_bytes\":3000,\"total_pkts\":30,"
				"\"total_bytes_ab\":1000,\"total_bytes_ba\":2000,"
				"\"total_pkts_ab\":10,\"total_pkts_ba\":20,"));
	assert_true(strstr(buf, "\"end\":\"active\""));
	assert_int_equal(flow_record_format(buf, 10, FLOWS_KFLOW, "eth1", &r) >= 10, 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_kflow_format),
		cmocka_unit_test(test_active_deltas),
		cmocka_unit_test(test_finish),
		cmocka_unit_test(test_eviction),
	};

	setvbuf(stdout, NULL, _IOLBF, 0);
	log_init_libbpf();
	if (geteuid() != 0)
		g_skip_reason = "needs root (BPF_PROG_TEST_RUN and map access)";
	return cmocka_run_group_tests_name("flows", tests, NULL, NULL);
}
