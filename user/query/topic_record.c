// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>

#include "flow_format.h"
#include "flow_parse.h"
#include "record_meta.h"
#include "rules.h"
#include "topic_record.h"

static __u64 be(const __u8 *p, size_t n)
{
	__u64 v = 0;

	for (size_t i = 0; i < n; i++)
		v = v << 8 | p[i];
	return v;
}

/* A metron key holds the capture time in ms, us or ns (--ts-unit): the unit
 * is the one that puts it within a day of the record's own ms timestamp. */
static int metron_key_ns(const void *key, size_t len, __u64 record_ms, __u64 *out)
{
	static const __u64 to_ms[] = { 1, 1000, 1000000 }, to_ns[] = { 1000000, 1000, 1 };
	__u64 v;

	if (!key || len != 8)
		return -1;
	v = be(key, 8);
	for (int i = 0; i < 3; i++) {
		__u64 ms = v / to_ms[i];

		if ((ms > record_ms ? ms - record_ms : record_ms - ms) < 86400000ull &&
		    v <= UINT64_MAX / to_ns[i]) {
			*out = v * to_ns[i];
			return 0;
		}
	}
	return -1;
}

void topic_rec_decode(rd_kafka_message_t *m, struct topic_rec *r)
{
	rd_kafka_headers_t *h = NULL;
	struct record_meta meta;
	unsigned int found;
	__u64 v;
	int64_t ms = rd_kafka_message_timestamp(m, NULL);

	r->msg = m;
	if (ms < 0)
		ms = 0;
	if (rd_kafka_message_headers(m, &h))
		h = NULL;
	found = record_meta_read(h, &meta);
	r->orig_len = found & META_ORIG_LEN ? meta.orig_len : (__u32)m->len;
	if (found & META_TS) {
		r->ts_ns = meta.ts_ns;
		r->ts_source = TS_SRC_HEADER;
	} else if (!metron_key_ns(m->key, m->key_len, (__u64)ms, &v)) {
		r->ts_ns = v;
		r->ts_source = TS_SRC_METRON_KEY;
	} else {
		r->ts_ns = (__u64)ms * 1000000ull;
		r->ts_source = TS_SRC_RECORD;
	}
}

void addr_text(const __u8 addr[16], char *out, size_t out_len)
{
	static const __u8 v4_mapped[12] = { [10] = 0xff, [11] = 0xff };

	if (!memcmp(addr, v4_mapped, 12))
		inet_ntop(AF_INET, addr + 12, out, (socklen_t)out_len);
	else
		inet_ntop(AF_INET6, addr, out, (socklen_t)out_len);
}

void topic_key_describe(const void *key, size_t len, char *out, size_t out_len,
			const char **scheme)
{
	const __u8 *k = key;

	if (!key || !len) {
		*scheme = "none";
		snprintf(out, out_len, "-");
	} else if (len == 40 && (k[36] == XS_FAMILY_IPV4 || k[36] == XS_FAMILY_IPV6)) {
		char a[INET6_ADDRSTRLEN], b[INET6_ADDRSTRLEN], num[8];
		const char *proto = proto_name(k[37]);

		addr_text(k, a, sizeof(a));
		addr_text(k + 16, b, sizeof(b));
		if (!proto) {
			snprintf(num, sizeof(num), "%u", k[37]);
			proto = num;
		}
		*scheme = "5tuple";
		snprintf(out, out_len, "%s %s%s%s:%u <> %s%s%s:%u", proto,
			 k[36] == 6 ? "[" : "", a, k[36] == 6 ? "]" : "", (unsigned)be(k + 32, 2),
			 k[36] == 6 ? "[" : "", b, k[36] == 6 ? "]" : "", (unsigned)be(k + 34, 2));
	} else if (len == 40 && k[36] == XS_FAMILY_L2) { /* MACs, EtherType or SAPs */
		char a[INET6_ADDRSTRLEN], b[INET6_ADDRSTRLEN];
		unsigned int pa = (unsigned)be(k + 32, 2), pb = (unsigned)be(k + 34, 2);

		format_addr(k, XS_FAMILY_L2, a);
		format_addr(k + 16, XS_FAMILY_L2, b);
		*scheme = "5tuple";
		snprintf(out, out_len, "%s %s/%#06x <> %s/%#06x",
			 pa >= XS_ETH_P_8023_MIN ? "ether" : "llc", a, pa, b, pb);
	} else if ((len == 30 && !memcmp(k, "1:", 2)) || (len == 31 && !memcmp(k, "l2:", 3))) {
		*scheme = "community-id";
		snprintf(out, out_len, "%.*s", (int)len, (const char *)key);
	} else if (len == 8) {
		*scheme = "metron";
		snprintf(out, out_len, "%llu", (unsigned long long)be(k, 8));
	} else {
		size_t o = 0;

		*scheme = "other";
		out[0] = '\0';
		for (size_t i = 0; i < len && o + 3 <= out_len; i++)
			o += (size_t)snprintf(out + o, out_len - o, "%02x", k[i]);
	}
}
