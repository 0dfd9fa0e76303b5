// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#include <errno.h>
#include <string.h>

#include "record_key.h" /* put_be32, put_be64 */
#include "record_meta.h"

static __u64 get_be(const __u8 *p, size_t n)
{
	__u64 v = 0;

	for (size_t i = 0; i < n; i++)
		v = v << 8 | p[i];
	return v;
}

size_t record_meta_encode(__u8 *out, __u64 ts_ns, __u32 orig_len, __u32 queue, __u8 dir,
			  const char *ifname)
{
	size_t n = strnlen(ifname, IF_NAMESIZE);

	out[0] = RECORD_META_VERSION;
	out[1] = dir;
	out[2] = (__u8)(queue >> 8);
	out[3] = (__u8)queue;
	put_be32(out + 4, orig_len);
	put_be64(out + 8, ts_ns);
	memcpy(out + RECORD_META_FIXED, ifname, n);
	return RECORD_META_FIXED + n;
}

int record_meta_decode(const void *v, size_t len, struct record_meta *m)
{
	const __u8 *p = v;
	size_t n;

	if (!p || len < RECORD_META_FIXED || len > RECORD_META_MAX || p[0] != RECORD_META_VERSION)
		return -EINVAL;
	n = len - RECORD_META_FIXED;
	m->dir = p[1];
	m->queue = (__u32)get_be(p + 2, 2);
	m->orig_len = (__u32)get_be(p + 4, 4);
	m->ts_ns = get_be(p + 8, 8);
	memcpy(m->ifname, p + RECORD_META_FIXED, n);
	m->ifname[n] = '\0';
	return 0;
}

/* A header of exactly size bytes (0: any); NULL if absent or null. */
static const __u8 *header(rd_kafka_headers_t *h, const char *name, size_t size, size_t *len)
{
	const void *v;

	if (rd_kafka_header_get_last(h, name, &v, len) || !v || (size && *len != size))
		return NULL;
	return v;
}

unsigned int record_meta_read(rd_kafka_headers_t *h, struct record_meta *m)
{
	const __u8 *v;
	size_t len;
	unsigned int found = 0;

	memset(m, 0, sizeof(*m));
	if (!h)
		return 0;
	if ((v = header(h, RECORD_OUTER_KEY_HEADER, RECORD_OUTER_KEY_LEN, &len))) {
		memcpy(m->outer_key, v, RECORD_OUTER_KEY_LEN);
		found |= META_OUTER_KEY;
	}
	if ((v = header(h, RECORD_META_HEADER, 0, &len)) && !record_meta_decode(v, len, m))
		return found | META_ALL;
	if ((v = header(h, "xs.ts_ns", 8, &len)))
		m->ts_ns = get_be(v, 8), found |= META_TS;
	if ((v = header(h, "xs.orig_len", 4, &len)))
		m->orig_len = (__u32)get_be(v, 4), found |= META_ORIG_LEN;
	if ((v = header(h, "xs.dir", 1, &len)))
		m->dir = *v, found |= META_DIR;
	if ((v = header(h, "xs.queue", 4, &len)))
		m->queue = (__u32)get_be(v, 4), found |= META_QUEUE;
	if ((v = header(h, "xs.iface", 0, &len)) && len <= IF_NAMESIZE) {
		memcpy(m->ifname, v, len);
		m->ifname[len] = '\0';
		found |= META_IFACE;
	}
	return found;
}
