/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Classification rules from the command line, written into the datapath's
 * rule maps. First match wins, in this order: address prefix, port,
 * protocol, then the default action. When both endpoints match, the longer
 * prefix wins, and between equals the stricter action (drop, capture, count).
 * Frames keyed at L2 match only the L2 rules (EtherType, LLC), then the
 * default action.
 */
#ifndef XS_RULES_H
#define XS_RULES_H

#include <stdbool.h>
#include "xdpsensor.h"

#define RULES_MAX 256

enum rule_kind { RULE_PREFIX, RULE_PORT, RULE_PROTO, RULE_L2 };

struct rule {
	enum rule_kind kind;
	__u32 action; /* enum xs_action */
	struct prefix_rule_key prefix;
	struct port_rule_key port;
	__u32 proto;
	__u32 l2; /* EtherType, or XS_L2_RULE_LLC */
};

struct rules {
	struct xs_config config;
	struct rule rule[RULES_MAX];
	int count;
};

/* Defaults: capture everything, no sampling, keys from inside tunnels. */
void rules_init(struct rules *r, __u32 default_action);
/* --capture/--count/--drop SPEC, where SPEC is net:PREFIX, port:[PROTO/]N,
 * proto:NAME|N, ether:NAME|N or llc. Prints what is wrong and returns -EINVAL. */
int rules_add(struct rules *r, __u32 action, const char *spec);
int rules_set_default(struct rules *r, const char *action_name);
/* --key-layer outer|inner: key on the outer IP header, or open tunnels. */
int rules_set_key_layer(struct rules *r, const char *layer);
/* The same as the tunnels to open (xs_parse_frame's max_decap): 0, or
 * -EINVAL having said why. */
int parse_key_layer(const char *layer, __u32 *decap_max);
/* Writes config and rules into the maps of a loaded datapath. */
struct xdpsensor_bpf;
int rules_apply(const struct rules *r, struct xdpsensor_bpf *skel);

const char *action_name(__u32 action);
/* "tcp" -> 6; also accepts a number. Returns -EINVAL if unknown. */
int proto_from_name(const char *name);
const char *proto_name(__u8 proto);

#endif
