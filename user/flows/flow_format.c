// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <bpf/bpf.h>

#include "clock.h"
#include "community_id.h"
#include "datapath.h"
#include "flow_format.h"
#include "rules.h"

void format_addr(const __u8 addr[16], __u8 family, char out[INET6_ADDRSTRLEN])
{
	if (family == XS_FAMILY_L2) /* a MAC address (struct flow_key) */
		snprintf(out, INET6_ADDRSTRLEN, "%02x:%02x:%02x:%02x:%02x:%02x", addr[0], addr[1],
			 addr[2], addr[3], addr[4], addr[5]);
	else if (family == XS_FAMILY_IPV4)
		inet_ntop(AF_INET, addr + 12, out, INET6_ADDRSTRLEN);
	else
		inet_ntop(AF_INET6, addr, out, INET6_ADDRSTRLEN);
}

bool proto_has_ports(__u8 proto)
{
	return proto == 6 || proto == 17 || proto == 132 || proto == 1 || proto == 58;
}

static int by_bytes_desc(const void *a, const void *b)
{
	const struct flow_stats *x = &((const struct flow_entry *)a)->stats;
	const struct flow_stats *y = &((const struct flow_entry *)b)->stats;
	__u64 bx = x->bytes[0] + x->bytes[1], by = y->bytes[0] + y->bytes[1];

	if (bx != by)
		return bx < by ? 1 : -1;
	/* ties in key order, so the same table always prints the same way */
	return memcmp(&((const struct flow_entry *)a)->key, &((const struct flow_entry *)b)->key,
		      sizeof(struct flow_key));
}

int flow_table_read(int flows_fd, struct flow_entry **out, size_t *count)
{
	struct flow_key key, next;
	struct flow_entry *v = NULL, *grown;
	size_t n = 0, cap = 0;
	void *prev = NULL;

	while (!bpf_map_get_next_key(flows_fd, prev, &next)) {
		if (n == cap) {
			cap = cap ? cap * 2 : 1024;
			grown = realloc(v, cap * sizeof(*v));
			if (!grown) {
				free(v);
				return -ENOMEM;
			}
			v = grown;
		}
		v[n].key = next;
		/* an entry deleted meanwhile (expiry) is skipped, not an error */
		if (!bpf_map_lookup_elem(flows_fd, &next, &v[n].stats))
			n++;
		key = next;
		prev = &key;
	}
	if (n)
		qsort(v, n, sizeof(*v), by_bytes_desc);
	*out = v;
	*count = n;
	return 0;
}

void flow_print_json(FILE *f, const char *dvc, const struct flow_entry *e)
{
	const struct flow_key *k = &e->key;
	const struct flow_stats *s = &e->stats;
	char a[INET6_ADDRSTRLEN], b[INET6_ADDRSTRLEN], cid[COMMUNITY_ID_LEN] = "";
	__u64 to_real = (__u64)realtime_offset_ns(); /* one offset for all three times */

	format_addr(k->addr_a, k->family, a);
	format_addr(k->addr_b, k->family, b);
	community_id(k, s->has_ports, 0, cid, sizeof(cid));
	fprintf(f, "{\"type\":\"flow\",\"dvc\":\"%s\",\"src\":\"%s\",\"srcp\":%u,"
		"\"dst\":\"%s\",\"dstp\":%u,\"proto\":%u,\"flags\":%u,"
		"\"bytes\":%llu,\"pkts\":%llu,\"time\":%llu,"
		"\"bytes_ab\":%llu,\"bytes_ba\":%llu,\"pkts_ab\":%llu,\"pkts_ba\":%llu,"
		"\"first_ns\":%llu,\"last_ns\":%llu,\"community_id\":\"%s\"}\n",
		dvc, a, k->port_a, b, k->port_b, k->proto, s->tcp_flags,
		(unsigned long long)(s->bytes[0] + s->bytes[1]),
		(unsigned long long)(s->packets[0] + s->packets[1]),
		(unsigned long long)((s->last_seen_ns + to_real) / 1000000000ull),
		(unsigned long long)s->bytes[0], (unsigned long long)s->bytes[1],
		(unsigned long long)s->packets[0], (unsigned long long)s->packets[1],
		(unsigned long long)(s->first_seen_ns + to_real),
		(unsigned long long)(s->last_seen_ns + to_real), cid);
}

void flow_print_table(FILE *f, const struct flow_entry *e, size_t n)
{
	char a[INET6_ADDRSTRLEN + 8], b[INET6_ADDRSTRLEN + 8];

	fprintf(f, "%-6s %-45s %-45s %10s %12s %10s %12s %5s\n", "proto", "endpoint A",
		"endpoint B", "pkts A>B", "bytes A>B", "pkts B>A", "bytes B>A", "flags");
	for (size_t i = 0; i < n; i++) {
		const struct flow_key *k = &e[i].key;
		const char *pn = proto_name(k->proto);
		char pbuf[8];
		size_t l;

		format_addr(k->addr_a, k->family, a);
		format_addr(k->addr_b, k->family, b);
		if (k->family == XS_FAMILY_L2) { /* EtherType or LLC SAPs */
			pn = k->port_a >= 0x0600 ? "ether" : "llc";
			l = strlen(a);
			snprintf(a + l, sizeof(a) - l, "/%#06x", k->port_a);
			l = strlen(b);
			snprintf(b + l, sizeof(b) - l, "/%#06x", k->port_b);
		} else if (proto_has_ports(k->proto)) {
			l = strlen(a);
			snprintf(a + l, sizeof(a) - l, k->family == XS_FAMILY_IPV6 ? ".%u" : ":%u",
				 k->port_a);
			l = strlen(b);
			snprintf(b + l, sizeof(b) - l, k->family == XS_FAMILY_IPV6 ? ".%u" : ":%u",
				 k->port_b);
		}
		if (!pn) {
			snprintf(pbuf, sizeof(pbuf), "%u", k->proto);
			pn = pbuf;
		}
		fprintf(f, "%-6s %-45s %-45s %10llu %12llu %10llu %12llu %#5x\n", pn, a, b,
			(unsigned long long)e[i].stats.packets[0],
			(unsigned long long)e[i].stats.bytes[0],
			(unsigned long long)e[i].stats.packets[1],
			(unsigned long long)e[i].stats.bytes[1], e[i].stats.tcp_flags);
	}
}
