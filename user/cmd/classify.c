// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * `xdpsensor classify`: runs the packets of pcap files through the XDP
 * program with BPF_PROG_TEST_RUN (nothing attached, no traffic) and prints
 * each packet's verdict and flow key, then the flow table the program built.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#define PCAP_DONT_INCLUDE_PCAP_BPF_H /* it clashes with linux/bpf.h */
#include <pcap/pcap.h>
#include <pcap/dlt.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "commands.h"
#include "community_id.h"
#include "datapath.h"
#include "flow_format.h"
#include "flow_parse.h"
#include "log.h"
#include "parked.h"
#include "packet_text.h"
#include "rules.h"

/* The program has frags: BPF_PROG_TEST_RUN puts what does not fit in the
 * first page into fragments, up to MAX_SKB_FRAGS (17) pages. A longer
 * frame (big TCP) is run on its first 64 KiB, which hold every header the
 * program reads. */
#define TEST_RUN_MAX_FRAME 65536

struct classify_ctx {
	struct xdpsensor_bpf *skel;
	int prog_fd, stats_fd;
	bool json;
	__u32 decap_max; /* --key-layer */
	__u64 stats[XS_STAT_MAX];
};

/* The outcome counter that moved tells what the program decided, the L2
 * reason counter why it keyed the packet at L2 (NULL: keyed at IP). */
static const char *verdict_from_delta(const __u64 *before, const __u64 *after,
				      const char **reason)
{
	*reason = NULL;
	for (int s = XS_STAT_L2_TRUNCATED; s <= XS_STAT_L2_IPV6_EXT_DEPTH; s++)
		if (after[s] > before[s])
			*reason = stat_name(s);
	if (after[XS_STAT_CAPTURED] > before[XS_STAT_CAPTURED] ||
	    after[XS_STAT_CAPTURE_NO_SOCKET] > before[XS_STAT_CAPTURE_NO_SOCKET])
		return "capture";
	if (after[XS_STAT_COUNTED] > before[XS_STAT_COUNTED])
		return "count";
	if (after[XS_STAT_DROPPED] > before[XS_STAT_DROPPED])
		return "drop";
	return "?";
}

static void print_packet(struct classify_ctx *c, const char *file, unsigned long n,
			 const char *verdict, const char *reason, const __u8 *data,
			 __u32 len, __u32 wire_len)
{
	struct packet_text t, ot;
	struct xs_packet p, outer;
	int l2 = xs_parse_frame(data, data + len, &p, c->decap_max);

	packet_text(&p, &t);
	if (p.decap) {
		xs_parse_frame(data, data + len, &outer, 0);
		packet_text(&outer, &ot);
	}
	if (!c->json) {
		printf("%s:%lu %-7s", file, n, verdict);
		if (l2)
			printf(" %s %s > %s/%#06x %s\n", reason ? reason : stat_name(l2), t.src,
			       t.dst, t.dport, t.cid);
		else if (p.has_ports)
			printf(" proto %u %s:%u > %s:%u %s", p.key.proto, t.src, t.sport, t.dst,
			       t.dport, t.cid);
		else
			printf(" proto %u %s > %s %s", p.key.proto, t.src, t.dst, t.cid);
		if (!l2 && p.decap)
			printf(" in %s from %s > %s", tunnel_name(p.tunnel), ot.src, ot.dst);
		if (!l2)
			printf("\n");
		return;
	}
	printf("{\"type\":\"packet\",\"file\":\"%s\",\"n\":%lu,\"verdict\":\"%s\",\"len\":%u,",
	       file, n, verdict, wire_len);
	packet_key_json(stdout, &p, &t);
	printf(",\"vlan_tags\":%u", p.vlan_tags);
	if (reason)
		printf(",\"reason\":\"%s\"", reason);
	if (p.decap) {
		printf(",\"tunnel\":\"%s\",\"decap\":%u,\"outer\":{", tunnel_name(p.tunnel),
		       p.decap);
		packet_key_json(stdout, &outer, &ot);
		printf("}");
	}
	if (p.decap_limited)
		printf(",\"decap_limited\":true");
	printf("}\n");
}

static int run_packet(struct classify_ctx *c, const __u8 *data, __u32 len)
{
	LIBBPF_OPTS(bpf_test_run_opts, opts, .data_in = data,
		    .data_size_in = len < TEST_RUN_MAX_FRAME ? len : TEST_RUN_MAX_FRAME,
		    .repeat = 1);
	int err = bpf_prog_test_run_opts(c->prog_fd, &opts);

	if (err)
		pr_warn("BPF_PROG_TEST_RUN failed: %s\n", strerror(errno));
	return err;
}

/* Returns 0, or -errno if the file could not be read (said why). */
static int classify_file(struct classify_ctx *c, const char *path)
{
	char errbuf[PCAP_ERRBUF_SIZE];
	struct pcap_pkthdr *h;
	const u_char *data;
	unsigned long n = 0;
	pcap_t *pc;
	int ret;

	pc = pcap_open_offline(path, errbuf);
	if (!pc) {
		pr_warn("%s: not a readable pcap file: %s\n", path, errbuf);
		return -EIO;
	}
	if (pcap_datalink(pc) != DLT_EN10MB) {
		pr_warn("%s: link type %s, only Ethernet (EN10MB) captures can be classified\n",
			path, pcap_datalink_val_to_name(pcap_datalink(pc)));
		pcap_close(pc);
		return -EINVAL;
	}
	while ((ret = pcap_next_ex(pc, &h, &data)) == 1) {
		__u64 after[XS_STAT_MAX];
		const char *verdict, *reason;

		n++;
		if (h->caplen < XS_ETH_HLEN) { /* test_run refuses less than a MAC header */
			print_packet(c, path, n, "none", stat_name(XS_STAT_L2_TRUNCATED), data,
				     h->caplen, h->len);
			continue;
		}
		if (run_packet(c, data, h->caplen) ||
		    datapath_read_stats(c->stats_fd, after)) {
			pcap_close(pc);
			return -EIO;
		}
		verdict = verdict_from_delta(c->stats, after, &reason);
		memcpy(c->stats, after, sizeof(after));
		print_packet(c, path, n, verdict, reason, data,
			     h->caplen < TEST_RUN_MAX_FRAME ? h->caplen : TEST_RUN_MAX_FRAME,
			     h->len);
	}
	if (ret == PCAP_ERROR) /* a truncated file: keep what was read */
		pr_warn("%s: read error after packet %lu: %s\n", path, n, pcap_geterr(pc));
	pcap_close(pc);
	return ret == PCAP_ERROR ? -EIO : 0;
}

static void print_flows(struct classify_ctx *c)
{
	struct flow_entry *flows;
	size_t n;

	if (flow_table_read(bpf_map__fd(c->skel->maps.flows), &flows, &n)) {
		pr_warn("cannot read the flow table\n");
		return;
	}
	if (c->json) {
		for (size_t i = 0; i < n; i++)
			flow_print_json(stdout, "classify", &flows[i]);
	} else {
		printf("\n%zu flows\n", n);
		flow_print_table(stdout, flows, n);
	}
	free(flows);
}

static const struct opt_def classify_defs[] = {
	{ "json", 'j', OPT_FLAG, OFF(struct classify_ctx, json),
	  .help = "one JSON object per packet, then per flow" },
	{ "verbose", 'v', OPT_CALL, .call = opt_verbose, .help = "more messages" },
	{}
};

static const char classify_usage[] =
	"usage: xdpsensor classify [--json] [RULES] [--key-layer inner|outer] FILE.pcap...\n"
	"Runs every packet of the captures through the XDP program (BPF_PROG_TEST_RUN,\n"
	"nothing attached) and prints its verdict and flow key, then the flow table.\n";

int cmd_classify(int argc, char **argv)
{
	struct classify_ctx c = {};
	struct opt_table tables[2];
	struct rules rules;
	int failed = 0, err;

	rules_init(&rules, XS_ACTION_CAPTURE);
	tables[0] = (struct opt_table){ .defs = classify_defs, .base = &c };
	tables[1] = rule_options(&rules);
	err = opts_parse(argc, argv, classify_usage, tables, 2);
	if (err)
		return err < 0 ? 2 : 0;
	if (optind >= argc) {
		pr_warn("classify needs at least one pcap file (--help says more)\n");
		return 2;
	}
	/* no parking here: the ring's least size */
	c.skel = datapath_load(&(struct datapath_opts){ .park_bytes = parked_ring_bytes(0) });
	if (!c.skel)
		return 1;
	if (rules_apply(&rules, c.skel)) {
		xdpsensor_bpf__destroy(c.skel);
		return 1;
	}
	c.decap_max = rules.config.decap_max;
	c.prog_fd = bpf_program__fd(c.skel->progs.xdpsensor_xdp);
	c.stats_fd = bpf_map__fd(c.skel->maps.stats);
	datapath_read_stats(c.stats_fd, c.stats);

	for (int i = optind; i < argc; i++)
		if (classify_file(&c, argv[i]))
			failed = 1;
	print_flows(&c);
	xdpsensor_bpf__destroy(c.skel);
	return failed ? 1 : 0;
}
