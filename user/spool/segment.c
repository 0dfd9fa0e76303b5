// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#include <endian.h>
#include <errno.h>
#include <string.h>
#include <zlib.h>

#include "segment.h"

static void put_le16(__u8 *p, __u16 v) { v = htole16(v); memcpy(p, &v, 2); }
static void put_le32(__u8 *p, __u32 v) { v = htole32(v); memcpy(p, &v, 4); }
static void put_le64(__u8 *p, __u64 v) { v = htole64(v); memcpy(p, &v, 8); }
static __u16 get_le16(const __u8 *p) { __u16 v; memcpy(&v, p, 2); return le16toh(v); }
static __u32 get_le32(const __u8 *p) { __u32 v; memcpy(&v, p, 4); return le32toh(v); }
static __u64 get_le64(const __u8 *p) { __u64 v; memcpy(&v, p, 8); return le64toh(v); }

static __u32 rec_crc(const __u8 *rec, size_t size)
{
	return (__u32)crc32(crc32(0L, Z_NULL, 0), rec + 4, (uInt)(size - 4));
}

size_t seg_encode(__u8 *out, const struct seg_meta *m, const void *key, __u32 key_len,
		  const void *value, __u32 value_len)
{
	size_t size = seg_rec_size(m, key_len, value_len);

	put_le32(out + 4, (__u32)(size - SEG_REC_HDR));
	put_le64(out + 8, m->ts_ns);
	put_le32(out + 16, m->orig_len);
	put_le16(out + 20, (__u16)key_len);
	out[22] = m->dir;
	out[23] = m->has_outer_key ? SEG_F_OUTER_KEY : 0;
	memcpy(out + SEG_REC_HDR, key, key_len);
	memcpy(out + SEG_REC_HDR + key_len, value, value_len);
	if (m->has_outer_key)
		memcpy(out + SEG_REC_HDR + key_len + value_len, m->outer_key, SEG_OUTER_KEY_LEN);
	put_le32(out, rec_crc(out, size));
	return size;
}

enum seg_decode seg_decode(const __u8 *buf, size_t avail, struct seg_rec *r)
{
	__u32 body, key_len, outer;

	if (avail < SEG_REC_HDR)
		return SEG_SHORT;
	body = get_le32(buf + 4);
	key_len = get_le16(buf + 20);
	outer = buf[23] & SEG_F_OUTER_KEY ? SEG_OUTER_KEY_LEN : 0;
	if ((buf[23] & ~SEG_F_OUTER_KEY) || key_len > SEG_KEY_MAX || key_len + outer > body ||
	    body - key_len - outer > SEG_VALUE_MAX)
		return SEG_BAD;
	if (avail < SEG_REC_HDR + (size_t)body)
		return SEG_SHORT;
	if (get_le32(buf) != rec_crc(buf, SEG_REC_HDR + (size_t)body))
		return SEG_BAD;
	r->meta.ts_ns = get_le64(buf + 8);
	r->meta.orig_len = get_le32(buf + 16);
	r->meta.dir = buf[22];
	r->meta.has_outer_key = outer;
	if (outer)
		memcpy(r->meta.outer_key, buf + SEG_REC_HDR + body - outer, SEG_OUTER_KEY_LEN);
	r->key = buf + SEG_REC_HDR;
	r->key_len = key_len;
	r->value = buf + SEG_REC_HDR + key_len;
	r->value_len = body - key_len - outer;
	r->size = SEG_REC_HDR + body;
	return SEG_OK;
}

void seg_header(__u8 out[SEG_HDR_LEN], __u64 consumed)
{
	memset(out, 0, SEG_HDR_LEN);
	memcpy(out, SEG_MAGIC, 8);
	put_le32(out + 8, SEG_VERSION);
	put_le32(out + 12, SEG_HDR_LEN);
	put_le64(out + SEG_CONSUMED_OFF, consumed);
}

int seg_header_check(const __u8 hdr[SEG_HDR_LEN], __u64 *consumed)
{
	if (memcmp(hdr, SEG_MAGIC, 8) || get_le32(hdr + 8) != SEG_VERSION ||
	    get_le32(hdr + 12) != SEG_HDR_LEN)
		return -EINVAL;
	*consumed = get_le64(hdr + SEG_CONSUMED_OFF);
	return *consumed < SEG_HDR_LEN ? -EINVAL : 0;
}
