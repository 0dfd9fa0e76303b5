// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* The classification options, shared by `run` and `classify`. */
#include <errno.h>

#include "commands.h"
#include "rules.h"

static int opt_default(void *r, const char *arg)
{
	return rules_set_default(r, arg);
}

static int opt_capture(void *r, const char *arg)
{
	return rules_add(r, XS_ACTION_CAPTURE, arg);
}

static int opt_count(void *r, const char *arg)
{
	return rules_add(r, XS_ACTION_COUNT, arg);
}

static int opt_drop(void *r, const char *arg)
{
	return rules_add(r, XS_ACTION_DROP, arg);
}

static int opt_key_layer(void *r, const char *arg)
{
	return rules_set_key_layer(r, arg);
}

static const struct opt_def rule_defs[] = {
	{ "default", 0, OPT_CALL, .call = opt_default, .arg = "ACTION",
	  .help = "capture (default), count or drop" },
	{ "capture", 0, OPT_CALL, .call = opt_capture, .arg = "SPEC",
	  .help = "capture packets matching SPEC to userspace" },
	{ "count", 0, OPT_CALL, .call = opt_count, .arg = "SPEC",
	  .help = "only count them in the flow table (and pass them on)" },
	{ "drop", 0, OPT_CALL, .call = opt_drop, .arg = "SPEC", .help = "count and drop them" },
	{ "key-layer", 0, OPT_CALL, .call = opt_key_layer, .arg = "inner|outer",
	  .help = "key tunnelled packets (VXLAN, GENEVE, GRE, ERSPAN, IP in IP)\n"
		  "by their innermost flow (default) or the tunnel" },
	{ "sample", 0, OPT_UINT, OFF(struct rules, config.sample_n), 1, 1u << 30, .arg = "N",
	  .help = "capture 1 flow in N, whole and in both directions" },
	{ "sample-seed", 0, OPT_UINT, OFF(struct rules, config.sample_seed), 0, 0xffffffffu,
	  .arg = "S", .help = "seed of the sampling hash" },
	{}
};

struct opt_table rule_options(struct rules *r)
{
	return (struct opt_table){
		.title = "Classification (first match wins: address, then port, then protocol,"
			 " then default):",
		.defs = rule_defs,
		.base = r,
		.notes = "      SPEC: net:ADDR[/LEN] (either endpoint), port:[tcp|udp|sctp/]PORT,\n"
			 "            proto:tcp|udp|icmp|icmpv6|sctp|NUMBER; for frames keyed at L2\n"
			 "            (not IP): ether:arp|lldp|ptp|...|0xNNNN (EtherType), llc (802.3)\n",
	};
}
