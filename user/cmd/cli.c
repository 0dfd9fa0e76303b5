// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#include <errno.h>
#include <stdlib.h>

#include "commands.h"
#include "log.h"

const char rules_usage[] =
	"Classification (first match wins: address, then port, then protocol, then default):\n"
	"  --default ACTION       capture (default), count or drop\n"
	"  --capture SPEC         capture packets matching SPEC to userspace\n"
	"  --count SPEC           only count them in the flow table (and pass them on)\n"
	"  --drop SPEC            count and drop them\n"
	"      SPEC: net:ADDR[/LEN] (either endpoint), port:[tcp|udp|sctp/]PORT,\n"
	"            proto:tcp|udp|icmp|icmpv6|sctp|NUMBER; for frames keyed at L2\n"
	"            (not IP): ether:arp|lldp|ptp|...|0xNNNN (EtherType), llc (802.3)\n"
	"  --key-layer inner|outer  key tunnelled packets (VXLAN, GENEVE, GRE, ERSPAN,\n"
	"                         IP in IP) by their innermost flow (default) or the tunnel\n"
	"  --sample N             capture 1 flow in N, whole and in both directions\n"
	"  --sample-seed S        seed of the sampling hash\n";

int rules_option(struct rules *r, int opt, const char *arg)
{
	unsigned long seed;
	char *end;

	switch (opt) {
	case OPT_DEFAULT:
		return rules_set_default(r, arg) ?: 1;
	case OPT_CAPTURE:
		return rules_add(r, XS_ACTION_CAPTURE, arg) ?: 1;
	case OPT_COUNT:
		return rules_add(r, XS_ACTION_COUNT, arg) ?: 1;
	case OPT_DROP:
		return rules_add(r, XS_ACTION_DROP, arg) ?: 1;
	case OPT_SAMPLE:
		return rules_set_sample(r, arg) ?: 1;
	case OPT_KEY_LAYER:
		return rules_set_key_layer(r, arg) ?: 1;
	case OPT_SAMPLE_SEED:
		seed = strtoul(arg, &end, 0);
		if (!*arg || *end || seed > 0xffffffffu) {
			pr_warn("--sample-seed takes a 32-bit number, not '%s'\n", arg);
			return -EINVAL;
		}
		r->config.sample_seed = (__u32)seed;
		return 1;
	}
	return 0;
}

int parse_rule_args(int argc, char **argv, struct rules *r, bool *json,
		    void (*usage)(FILE *))
{
	static const struct option opts[] = {
		RULE_LONG_OPTIONS,
		{ "json", no_argument, NULL, 'j' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{}
	};
	int opt, handled;

	while ((opt = getopt_long(argc, argv, "jvh", opts, NULL)) != -1) {
		handled = rules_option(r, opt, optarg);
		if (handled < 0)
			return handled;
		if (handled)
			continue;
		switch (opt) {
		case 'j':
			*json = true;
			break;
		case 'v':
			log_set_level(log_get_level() + 1);
			break;
		case 'h':
			usage(stdout);
			return 1;
		default:
			usage(stderr);
			return -EINVAL;
		}
	}
	return 0;
}
