/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * The spool's on-disk format: a segment file is a header, then records
 * appended one after the other. All integers little-endian.
 *
 * Segment header (SEG_HDR_LEN = 32 bytes):
 *   0  8  magic "XSSPOOL1"
 *   8  4  version (1)
 *  12  4  header length (32)
 *  16  8  consumed: offset of the first record not yet delivered; the
 *         spool rewrites it as deliveries are acknowledged
 *  24  8  zero
 *
 * Record (SEG_REC_HDR = 24 bytes, then the key, the value, and the outer
 * key if flagged):
 *   0  4  CRC-32 (zlib's) of bytes 4 .. the end of the record
 *   4  4  body length: key length + value length (+ 40 with an outer key)
 *   8  8  capture time, ns since the epoch
 *  16  4  length on the wire
 *  20  2  key length
 *  22  1  direction (xs.dir)
 *  23  1  flags: SEG_F_OUTER_KEY, the record ends with the 40-byte 5tuple
 *         key of the tunnel it was keyed inside (xs.outer_key); others 0
 * The CRC covers the lengths too, so a torn or overwritten record is
 * found whatever part of it is damaged.
 */
#ifndef XS_SEGMENT_H
#define XS_SEGMENT_H

#include <stdbool.h>
#include <stddef.h>
#include <linux/types.h>

#define SEG_MAGIC "XSSPOOL1"
#define SEG_VERSION 1
#define SEG_HDR_LEN 32
#define SEG_CONSUMED_OFF 16
#define SEG_REC_HDR 24
#define SEG_KEY_MAX 255
#define SEG_VALUE_MAX 65535
#define SEG_OUTER_KEY_LEN 40
#define SEG_F_OUTER_KEY 1
#define SEG_REC_MAX (SEG_REC_HDR + SEG_KEY_MAX + SEG_VALUE_MAX + SEG_OUTER_KEY_LEN)

/* What a record carries besides its key and value. */
struct seg_meta {
	__u64 ts_ns;
	__u32 orig_len;
	__u8 dir;
	bool has_outer_key;
	__u8 outer_key[SEG_OUTER_KEY_LEN];
};

/* A decoded record; key and value point into the buffer decoded. */
struct seg_rec {
	struct seg_meta meta;
	const __u8 *key, *value;
	__u32 key_len, value_len;
	__u32 size; /* bytes on disk, header included */
};

enum seg_decode {
	SEG_OK,
	SEG_SHORT,   /* the buffer ends inside the record (torn, if at EOF) */
	SEG_BAD,     /* CRC mismatch or impossible lengths: damaged */
};

static inline size_t seg_rec_size(const struct seg_meta *m, __u32 key_len, __u32 value_len)
{
	return SEG_REC_HDR + key_len + value_len + (m->has_outer_key ? SEG_OUTER_KEY_LEN : 0);
}

/* Writes the record into out[seg_rec_size()]; returns its size. */
size_t seg_encode(__u8 *out, const struct seg_meta *m, const void *key, __u32 key_len,
		  const void *value, __u32 value_len);
/* Decodes the record at buf[0..avail). */
enum seg_decode seg_decode(const __u8 *buf, size_t avail, struct seg_rec *r);
void seg_header(__u8 out[SEG_HDR_LEN], __u64 consumed);
/* 0 and the consumed offset, or -EINVAL: not a segment of this version. */
int seg_header_check(const __u8 hdr[SEG_HDR_LEN], __u64 *consumed);

#endif
