// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#include "flow_format.h"
#include "packet_text.h"

static const char *const tunnel_names[] = {
	[XS_TUNNEL_NONE] = "none", [XS_TUNNEL_VXLAN] = "vxlan", [XS_TUNNEL_GENEVE] = "geneve",
	[XS_TUNNEL_GRE] = "gre", [XS_TUNNEL_ERSPAN] = "erspan", [XS_TUNNEL_IPIP] = "ipip",
};

const char *tunnel_name(__u8 kind)
{
	return kind <= XS_TUNNEL_IPIP ? tunnel_names[kind] : "?";
}

void packet_text(const struct xs_packet *p, struct packet_text *t)
{
	const struct flow_key *k = &p->key;
	int ab = p->dir == XS_DIR_A_TO_B;

	format_addr(ab ? k->addr_a : k->addr_b, k->family, t->src);
	format_addr(ab ? k->addr_b : k->addr_a, k->family, t->dst);
	t->sport = ab ? k->port_a : k->port_b;
	t->dport = ab ? k->port_b : k->port_a;
	t->cid[0] = '\0';
	community_id(k, p->has_ports, 0, t->cid, sizeof(t->cid));
}

void packet_key_json(FILE *f, const struct xs_packet *p, const struct packet_text *t)
{
	fprintf(f, "\"src\":\"%s\",\"dst\":\"%s\"", t->src, t->dst);
	if (p->key.family == XS_FAMILY_L2) {
		if (t->sport >= XS_ETH_P_8023_MIN)
			fprintf(f, ",\"ethertype\":%u", t->sport);
		else
			fprintf(f, ",\"ssap\":%u,\"dsap\":%u", t->sport, t->dport);
	} else if (p->has_ports) {
		fprintf(f, ",\"sport\":%u,\"dport\":%u", t->sport, t->dport);
	}
	fprintf(f, ",\"family\":%u,\"proto\":%u,\"dir\":%u,\"community_id\":\"%s\"",
		p->key.family, p->key.proto, p->dir, t->cid);
}
