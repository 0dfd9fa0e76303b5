// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#include <errno.h>
#include <string.h>
#include <librdkafka/rdkafka.h>

#include "flow_parse.h"
#include "flow_partition.h"
#include "log.h"

static bool is_v4(const struct addr_prefix *p)
{
	static const __u8 mapped[12] = { [10] = 0xff, [11] = 0xff };

	return p->len >= 96 && !memcmp(p->addr, mapped, 12);
}

int flow_partition(const struct pkt_filter *f, enum key_scheme scheme, int partitions,
		   int *out)
{
	struct capture_rec rec = {};
	struct xs_endpoints e = {};
	__u8 key[RECORD_KEY_MAX + 1];
	bool ports;
	size_t len;

	if (scheme == KEY_METRON) {
		pr_warn("--flow: a metron key is the capture time, not the flow: its records are"
			" in every partition\n");
		return -EINVAL;
	}
	if (!f->has_src || !f->has_dst || f->src.len != 128 || f->dst.len != 128 ||
	    f->proto < 0) {
		pr_warn("--flow needs the whole flow: --src-addr and --dst-addr (addresses, not"
			" prefixes) and --proto\n");
		return -EINVAL;
	}
	if (is_v4(&f->src) != is_v4(&f->dst)) {
		pr_warn("--flow: --src-addr and --dst-addr are not of one family\n");
		return -EINVAL;
	}
	if (f->proto == XS_IPPROTO_ICMP || f->proto == XS_IPPROTO_ICMPV6) {
		pr_warn("--flow: ICMP keys hold types and codes, not ports: query ICMP without"
			" --flow\n");
		return -EINVAL;
	}
	ports = f->proto == XS_IPPROTO_TCP || f->proto == XS_IPPROTO_UDP ||
		f->proto == XS_IPPROTO_SCTP;
	if (ports && (f->sport < 0 || f->dport < 0)) {
		pr_warn("--flow: %s needs --src-port and --dst-port\n",
			f->proto == XS_IPPROTO_TCP ? "tcp" : f->proto == XS_IPPROTO_UDP ? "udp" : "sctp");
		return -EINVAL;
	}
	/* the flow as the parser would see its first packet; normalized, both
	 * directions give this key */
	memcpy(e.src, f->src.addr, 16);
	memcpy(e.dst, f->dst.addr, 16);
	e.sport = ports ? (__u16)f->sport : 0;
	e.dport = ports ? (__u16)f->dport : 0;
	rec.pkt.key.family = is_v4(&f->src) ? XS_FAMILY_IPV4 : XS_FAMILY_IPV6;
	rec.pkt.key.proto = (__u8)f->proto;
	rec.pkt.has_ports = ports;
	xs_normalize(&rec.pkt, &e);
	len = record_key(scheme, TS_NS, &rec, key);
	*out = rd_kafka_msg_partitioner_murmur2(NULL, key, len, partitions, NULL, NULL);
	return 0;
}
