// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <bpf/bpf.h>

#include "clock.h"
#include "community_id.h"
#include "flow_format.h"
#include "flow_parse.h"
#include "grow.h"
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
	return proto == XS_IPPROTO_TCP || proto == XS_IPPROTO_UDP || proto == XS_IPPROTO_SCTP ||
	       proto == XS_IPPROTO_ICMP || proto == XS_IPPROTO_ICMPV6;
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

/* The whole table in one pass of batched lookups (a few syscalls for 100k
 * flows instead of two per flow). */
static int read_batched(int flows_fd, struct flow_entry **out, size_t *count)
{
	struct bpf_map_info info = {};
	__u32 info_len = sizeof(info), batch, n = 0, chunk;
	struct flow_key *keys = NULL;
	struct flow_stats *vals = NULL;
	struct flow_entry *v = NULL;
	int err;

	err = bpf_obj_get_info_by_fd(flows_fd, &info, &info_len);
	if (err)
		return err;
	keys = calloc(info.max_entries, sizeof(*keys));
	vals = calloc(info.max_entries, sizeof(*vals));
	if (!keys || !vals) {
		err = -ENOMEM;
		goto out;
	}
	for (void *in = NULL; n < info.max_entries; in = &batch) {
		chunk = info.max_entries - n;
		err = bpf_map_lookup_batch(flows_fd, in, &batch, keys + n, vals + n, &chunk, NULL);
		n += chunk;
		if (err == -ENOENT) { /* the end of the table */
			err = 0;
			break;
		}
		if (err)
			goto out;
	}
	v = malloc((n ? n : 1) * sizeof(*v));
	if (!v) {
		err = -ENOMEM;
		goto out;
	}
	for (__u32 i = 0; i < n; i++) {
		v[i].key = keys[i];
		v[i].stats = vals[i];
	}
	*out = v;
	*count = n;
out:
	free(keys);
	free(vals);
	return err;
}

static int read_by_key(int flows_fd, struct flow_entry **out, size_t *count)
{
	struct flow_key key, next;
	struct flow_entry *v = NULL;
	size_t n = 0, cap = 0;
	void *prev = NULL;

	while (!bpf_map_get_next_key(flows_fd, prev, &next)) {
		if (grow(&v, &cap, n + 1, 1024)) {
			free(v);
			return -ENOMEM;
		}
		v[n].key = next;
		/* an entry deleted meanwhile (expiry) is skipped, not an error */
		if (!bpf_map_lookup_elem(flows_fd, &next, &v[n].stats))
			n++;
		key = next;
		prev = &key;
	}
	*out = v;
	*count = n;
	return 0;
}

int flow_table_read(int flows_fd, struct flow_entry **out, size_t *count)
{
	int err = read_batched(flows_fd, out, count);

	/* no batch ops here (-EINVAL, the kernel's ENOTSUPP 524), or a bucket
	 * grew past the room left (-ENOSPC): walk it key by key */
	if (err == -EINVAL || err == -524 || err == -EOPNOTSUPP || err == -ENOSPC)
		err = read_by_key(flows_fd, out, count);
	if (err)
		return err;
	if (*count)
		qsort(*out, *count, sizeof(**out), by_bytes_desc);
	return 0;
}

int parse_flows_format(const char *s, enum flows_format *out)
{
	if (!strcmp(s, "json"))
		*out = FLOWS_JSON;
	else if (!strcmp(s, "kflow"))
		*out = FLOWS_KFLOW;
	else
		return -EINVAL;
	return 0;
}

static const char *const end_names[] = {
	[FLOW_SNAPSHOT] = "snapshot", [FLOW_ACTIVE] = "active", [FLOW_IDLE] = "idle",
	[FLOW_EVICTED] = "evicted",   [FLOW_EXIT] = "exit",
};

void flow_record_snapshot(struct flow_record *r, const struct flow_entry *e)
{
	*r = (struct flow_record){ .e = *e, .time_ms = clock_ns(CLOCK_REALTIME) / 1000000,
				   .end = FLOW_SNAPSHOT };
	memcpy(r->packets, e->stats.packets, sizeof(r->packets));
	memcpy(r->bytes, e->stats.bytes, sizeof(r->bytes));
}

#define U(x) ((unsigned long long)(x))

int flow_record_format(char *buf, size_t len, enum flows_format fmt, const char *dvc,
		       const struct flow_record *r)
{
	const struct flow_key *k = &r->e.key;
	const struct flow_stats *s = &r->e.stats;
	char a[INET6_ADDRSTRLEN], b[INET6_ADDRSTRLEN], cid[COMMUNITY_ID_LEN] = "";
	__u64 to_real;
	int n;

	format_addr(k->addr_a, k->family, a);
	format_addr(k->addr_b, k->family, b);
	/* KFlow's fields, in KFlow's order: bytes and pkts are deltas */
	n = snprintf(buf, len, "{%s\"dvc\":\"%s\",\"src\":\"%s\",\"srcp\":%u,\"dst\":\"%s\","
		     "\"dstp\":%u,\"proto\":%u,\"flags\":%u,\"bytes\":%llu,\"pkts\":%llu,"
		     "\"time\":%llu",
		     fmt == FLOWS_JSON ? "\"type\":\"flow\"," : "", dvc, a, k->port_a, b,
		     k->port_b, k->proto, s->tcp_flags, U(r->bytes[0] + r->bytes[1]),
		     U(r->packets[0] + r->packets[1]), U(r->time_ms));
	if (n < 0 || (size_t)n >= len)
		return n;
	if (fmt == FLOWS_KFLOW)
		return n + snprintf(buf + n, len - (size_t)n, "}");
	to_real = (__u64)realtime_offset_ns(); /* one offset for both times */
	community_id(k, s->has_ports, 0, cid, sizeof(cid));
	return n + snprintf(buf + n, len - (size_t)n,
			    ",\"bytes_ab\":%llu,\"bytes_ba\":%llu,\"pkts_ab\":%llu,\"pkts_ba\":%llu,"
			    "\"total_bytes\":%llu,\"total_pkts\":%llu,"
			    "\"total_bytes_ab\":%llu,\"total_bytes_ba\":%llu,"
			    "\"total_pkts_ab\":%llu,\"total_pkts_ba\":%llu,"
			    "\"first_ns\":%llu,\"last_ns\":%llu,\"end\":\"%s\","
			    "\"community_id\":\"%s\"}",
			    U(r->bytes[0]), U(r->bytes[1]), U(r->packets[0]), U(r->packets[1]),
			    U(s->bytes[0] + s->bytes[1]), U(s->packets[0] + s->packets[1]),
			    U(s->bytes[0]), U(s->bytes[1]), U(s->packets[0]), U(s->packets[1]),
			    U(s->first_seen_ns + to_real), U(s->last_seen_ns + to_real),
			    end_names[r->end], cid);
}

void flow_print_json(FILE *f, const char *dvc, const struct flow_entry *e)
{
	struct flow_record r;
	char buf[FLOW_RECORD_MAX];

	flow_record_snapshot(&r, e);
	flow_record_format(buf, sizeof(buf), FLOWS_JSON, dvc, &r);
	fprintf(f, "%s\n", buf);
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
