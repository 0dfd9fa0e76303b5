// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <arpa/inet.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "flow_parse.h"
#include "log.h"
#include "num.h"
#include "rules.h"
#include "xdpsensor.skel.h"

static const char *const action_names[] = {
	[XS_ACTION_NONE] = "none",
	[XS_ACTION_CAPTURE] = "capture",
	[XS_ACTION_COUNT] = "count",
	[XS_ACTION_DROP] = "drop",
};

static const struct { const char *name; __u8 proto; } protos[] = {
	{ "icmp", XS_IPPROTO_ICMP }, { "tcp", XS_IPPROTO_TCP }, { "udp", XS_IPPROTO_UDP },
	{ "icmpv6", XS_IPPROTO_ICMPV6 }, { "sctp", XS_IPPROTO_SCTP },
};

/* EtherTypes by name, for ether:NAME rules. */
static const struct { const char *name; __u16 type; } ethertypes[] = {
	{ "ipv4", 0x0800 }, { "arp", 0x0806 }, { "wol", 0x0842 }, { "rarp", 0x8035 },
	{ "vlan", 0x8100 }, { "ipv6", 0x86dd }, { "slow", 0x8809 }, { "mpls", 0x8847 },
	{ "pppoe-discovery", 0x8863 }, { "pppoe", 0x8864 }, { "eapol", 0x888e },
	{ "profinet", 0x8892 }, { "aoe", 0x88a2 }, { "ethercat", 0x88a4 }, { "qinq", 0x88a8 },
	{ "lldp", 0x88cc }, { "macsec", 0x88e5 }, { "ptp", 0x88f7 }, { "cfm", 0x8902 },
	{ "fcoe", 0x8906 }, { "loopback", 0x9000 },
};

const char *action_name(__u32 action)
{
	return action <= XS_ACTION_DROP ? action_names[action] : "?";
}

const char *proto_name(__u8 proto)
{
	for (size_t i = 0; i < sizeof(protos) / sizeof(protos[0]); i++)
		if (protos[i].proto == proto)
			return protos[i].name;
	return NULL;
}

int proto_from_name(const char *name)
{
	unsigned long n;

	for (size_t i = 0; i < sizeof(protos) / sizeof(protos[0]); i++)
		if (!strcasecmp(name, protos[i].name))
			return protos[i].proto;
	return parse_uint(name, 0, 255, &n) ? -EINVAL : (int)n;
}

void rules_init(struct rules *r, __u32 default_action)
{
	memset(r, 0, sizeof(*r));
	r->config.default_action = default_action;
	r->config.sample_n = 1;
	r->config.decap_max = XS_MAX_DECAP;
}

int parse_key_layer(const char *layer, __u32 *decap_max)
{
	if (!strcmp(layer, "inner"))
		*decap_max = XS_MAX_DECAP;
	else if (!strcmp(layer, "outer"))
		*decap_max = 0;
	else {
		pr_warn("unknown --key-layer '%s': use inner or outer\n", layer);
		return -EINVAL;
	}
	return 0;
}

int rules_set_key_layer(struct rules *r, const char *layer)
{
	return parse_key_layer(layer, &r->config.decap_max);
}

int rules_set_default(struct rules *r, const char *name)
{
	for (__u32 a = XS_ACTION_CAPTURE; a <= XS_ACTION_DROP; a++) {
		if (!strcmp(name, action_names[a])) {
			r->config.default_action = a;
			return 0;
		}
	}
	pr_warn("unknown action '%s': use capture, count or drop\n", name);
	return -EINVAL;
}

static int parse_prefix(struct rule *rule, const char *spec)
{
	char addr[INET6_ADDRSTRLEN + 8], *slash;
	unsigned long len;
	__u8 *a = rule->prefix.addr;
	int v4;

	snprintf(addr, sizeof(addr), "%s", spec);
	slash = strchr(addr, '/');
	if (slash)
		*slash++ = '\0';
	v4 = inet_pton(AF_INET, addr, a + 12) == 1;
	if (v4) {
		memset(a, 0, 10);
		a[10] = a[11] = 0xff; /* IPv4-mapped, as in struct flow_key */
	} else if (inet_pton(AF_INET6, addr, a) != 1) {
		return -EINVAL;
	}
	if (!slash)
		len = v4 ? 32 : 128;
	else if (parse_uint(slash, 0, v4 ? 32 : 128, &len))
		return -EINVAL;
	rule->prefix.prefixlen = (__u32)len + (v4 ? 96 : 0);
	return 0;
}

static int parse_port(struct rules *r, struct rule *rule, const char *spec)
{
	const char *slash = strchr(spec, '/');
	unsigned long port;
	int proto;

	if (parse_uint(slash ? slash + 1 : spec, 0, 65535, &port))
		return -EINVAL;
	rule->port.port = (__u16)port;
	if (slash) {
		char name[16];

		snprintf(name, sizeof(name), "%.*s", (int)(slash - spec), spec);
		proto = proto_from_name(name);
		if (proto < 0)
			return -EINVAL;
		rule->port.proto = (__u8)proto;
		return 0;
	}
	/* no protocol: the port of TCP, UDP and SCTP */
	rule->port.proto = XS_IPPROTO_TCP;
	if (r->count + 2 >= RULES_MAX)
		return -E2BIG;
	r->rule[r->count] = *rule;
	r->rule[r->count++].port.proto = XS_IPPROTO_UDP;
	r->rule[r->count] = *rule;
	r->rule[r->count++].port.proto = XS_IPPROTO_SCTP;
	return 0;
}

/* ether:NAME or ether:NUMBER (0x88f7, 34807); an EtherType is >= 0x0600 */
static int parse_ether(struct rule *rule, const char *spec)
{
	unsigned long v;

	for (size_t i = 0; i < sizeof(ethertypes) / sizeof(ethertypes[0]); i++) {
		if (!strcasecmp(spec, ethertypes[i].name)) {
			rule->l2 = ethertypes[i].type;
			return 0;
		}
	}
	if (parse_uint(spec, XS_ETH_P_8023_MIN, 0xffff, &v))
		return -EINVAL;
	rule->l2 = (__u32)v;
	return 0;
}

int rules_add(struct rules *r, __u32 action, const char *spec)
{
	struct rule rule = { .action = action };
	int err = -EINVAL, proto;

	if (r->count >= RULES_MAX) {
		pr_warn("too many rules (at most %d)\n", RULES_MAX);
		return -E2BIG;
	}
	if (!strncmp(spec, "net:", 4)) {
		rule.kind = RULE_PREFIX;
		err = parse_prefix(&rule, spec + 4);
	} else if (!strncmp(spec, "port:", 5)) {
		rule.kind = RULE_PORT;
		err = parse_port(r, &rule, spec + 5);
	} else if (!strncmp(spec, "proto:", 6)) {
		rule.kind = RULE_PROTO;
		proto = proto_from_name(spec + 6);
		rule.proto = (__u32)proto;
		err = proto < 0 ? -EINVAL : 0;
	} else if (!strncmp(spec, "ether:", 6)) {
		rule.kind = RULE_L2;
		err = parse_ether(&rule, spec + 6);
	} else if (!strcmp(spec, "llc")) {
		rule.kind = RULE_L2;
		rule.l2 = XS_L2_RULE_LLC;
		err = 0;
	}
	if (err == -E2BIG) {
		pr_warn("too many rules (at most %d)\n", RULES_MAX);
		return err;
	}
	if (err) {
		pr_warn("bad rule '%s': use net:ADDR[/LEN], port:[PROTO/]PORT, proto:NAME|NUMBER,"
			" ether:NAME|0xNNNN (>= 0x0600) or llc\n", spec);
		return err;
	}
	r->rule[r->count++] = rule;
	return 0;
}

int rules_apply(const struct rules *r, struct xdpsensor_bpf *skel)
{
	static const __u32 kind_bit[] = { [RULE_PREFIX] = XS_RULES_PREFIX,
					  [RULE_PORT] = XS_RULES_PORT,
					  [RULE_PROTO] = XS_RULES_PROTO,
					  [RULE_L2] = XS_RULES_L2 };
	struct xs_config cfg = r->config;
	__u32 zero = 0;
	int err;

	for (int i = 0; i < r->count; i++)
		cfg.rule_kinds |= kind_bit[r->rule[i].kind];
	err = bpf_map__update_elem(skel->maps.config, &zero, sizeof(zero), &cfg, sizeof(cfg),
				   BPF_ANY);
	for (int i = 0; !err && i < r->count; i++) {
		const struct rule *rule = &r->rule[i];

		switch (rule->kind) {
		case RULE_PREFIX: {
			struct prefix_rule_val v = { .action = rule->action,
						     .prefixlen = rule->prefix.prefixlen };

			err = bpf_map__update_elem(skel->maps.prefix_rules, &rule->prefix,
						   sizeof(rule->prefix), &v, sizeof(v), BPF_ANY);
			break;
		}
		case RULE_PORT:
			err = bpf_map__update_elem(skel->maps.port_rules, &rule->port,
						   sizeof(rule->port), &rule->action,
						   sizeof(rule->action), BPF_ANY);
			break;
		case RULE_PROTO:
			err = bpf_map__update_elem(skel->maps.proto_rules, &rule->proto,
						   sizeof(rule->proto), &rule->action,
						   sizeof(rule->action), BPF_ANY);
			break;
		case RULE_L2:
			err = bpf_map__update_elem(skel->maps.l2_rules, &rule->l2, sizeof(rule->l2),
						   &rule->action, sizeof(rule->action), BPF_ANY);
			break;
		}
	}
	if (err)
		pr_warn("cannot write the classification rules into the datapath: %s\n",
			strerror(-err));
	return err;
}
