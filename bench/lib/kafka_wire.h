/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Kafka's wire format, as much as kafka-batch needs: big-endian fields and
 * strings, the zigzag varints of records, a record batch (magic 2) built in
 * one buffer and sealed with its CRC-32C, and a bounds-checked reader for
 * responses. Written from Kafka's protocol guide and its record batch
 * format.
 */
#ifndef XS_BENCH_KAFKA_WIRE_H
#define XS_BENCH_KAFKA_WIRE_H

#include <endian.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#define BATCH_MAX (1u << 20)	/* the broker's default max.message.bytes */
#define BATCH_HEADER 61		/* record batch v2, up to its record count */

struct record_batch {
	uint8_t *buf; /* BATCH_HEADER bytes left free, then the records */
	size_t len;
	uint32_t records;
	int64_t first_ts, max_ts;
};

static inline uint8_t *put16(uint8_t *p, int16_t v) { uint16_t b = htobe16((uint16_t)v); memcpy(p, &b, 2); return p + 2; }
static inline uint8_t *put32(uint8_t *p, int32_t v) { uint32_t b = htobe32((uint32_t)v); memcpy(p, &b, 4); return p + 4; }
static inline uint8_t *put64(uint8_t *p, int64_t v) { uint64_t b = htobe64((uint64_t)v); memcpy(p, &b, 8); return p + 8; }

static inline uint8_t *put_str(uint8_t *p, const char *s)
{
	size_t n = strlen(s);

	p = put16(p, (int16_t)n);
	memcpy(p, s, n);
	return p + n;
}

static inline uint8_t *put_varint(uint8_t *p, int64_t v)
{
	uint64_t z = ((uint64_t)v << 1) ^ (uint64_t)(v >> 63);

	while (z >= 0x80) {
		*p++ = (uint8_t)(z | 0x80);
		z >>= 7;
	}
	*p++ = (uint8_t)z;
	return p;
}

static inline size_t varint_len(int64_t v)
{
	uint64_t z = ((uint64_t)v << 1) ^ (uint64_t)(v >> 63);
	size_t n = 1;

	while (z >= 0x80) {
		z >>= 7;
		n++;
	}
	return n;
}

/* CRC-32C (Castagnoli) of a record batch: the SSE4.2 instruction, as
 * librdkafka uses where the CPU has it (checked at start). */
__attribute__((target("sse4.2"))) static inline uint32_t crc32c(const uint8_t *p, size_t n)
{
	uint64_t crc = 0xffffffffu, w;

	for (; n >= 8; p += 8, n -= 8) {
		memcpy(&w, p, 8);
		crc = __builtin_ia32_crc32di(crc, w);
	}
	for (; n; p++, n--)
		crc = __builtin_ia32_crc32qi((uint32_t)crc, *p);
	return ~(uint32_t)crc;
}

/* Appends one record (with one header, xs.meta, when meta is not NULL)
 * to a partition's batch; 0, or -1 when the batch is full. */
static inline int record_batch_add(struct record_batch *b, const void *key, size_t key_len, const void *value,
		     size_t value_len, const void *meta, size_t meta_len, int64_t ts_ms)
{
	static const char meta_name[] = "xs.meta";
	int64_t ts_delta, body;
	uint8_t *p;

	if (!b->records)
		b->first_ts = b->max_ts = ts_ms;
	ts_delta = ts_ms - b->first_ts;
	body = 1 + (int64_t)varint_len(ts_delta) + (int64_t)varint_len(b->records) +
	       (int64_t)varint_len((int64_t)key_len) + (int64_t)key_len +
	       (int64_t)varint_len((int64_t)value_len) + (int64_t)value_len + 1;
	if (meta)
		body += 1 + (int64_t)sizeof(meta_name) - 1 + (int64_t)varint_len((int64_t)meta_len) +
			(int64_t)meta_len;
	if (b->len + (size_t)body + 8 > BATCH_MAX)
		return -1;
	p = b->buf + b->len;
	p = put_varint(p, body);
	*p++ = 0; /* attributes */
	p = put_varint(p, ts_delta);
	p = put_varint(p, b->records); /* offset delta */
	p = put_varint(p, (int64_t)key_len);
	memcpy(p, key, key_len);
	p += key_len;
	p = put_varint(p, (int64_t)value_len);
	memcpy(p, value, value_len);
	p += value_len;
	p = put_varint(p, meta ? 1 : 0);
	if (meta) {
		p = put_varint(p, sizeof(meta_name) - 1);
		memcpy(p, meta_name, sizeof(meta_name) - 1);
		p += sizeof(meta_name) - 1;
		p = put_varint(p, (int64_t)meta_len);
		memcpy(p, meta, meta_len);
		p += meta_len;
	}
	b->len = (size_t)(p - b->buf);
	b->records++;
	if (ts_ms > b->max_ts)
		b->max_ts = ts_ms;
	return 0;
}

/* Fills the batch header in the space left for it (CRC-32C of attributes
 * to the end); returns the batch's size. */
static inline size_t record_batch_seal(struct record_batch *b)
{
	uint8_t *p = b->buf;

	p = put64(p, 0);				/* base offset */
	p = put32(p, (int32_t)(b->len - 12));		/* batch length */
	p = put32(p, -1);				/* partition leader epoch */
	*p++ = 2;					/* magic */
	p += 4;						/* CRC, below */
	p = put16(p, 0);				/* attributes: no compression */
	p = put32(p, (int32_t)b->records - 1);		/* last offset delta */
	p = put64(p, b->first_ts);
	p = put64(p, b->max_ts);
	p = put64(p, -1);				/* producer id: none */
	p = put16(p, -1);				/* producer epoch */
	p = put32(p, -1);				/* base sequence */
	put32(p, (int32_t)b->records);
	put32(b->buf + 17, (int32_t)crc32c(b->buf + 21, b->len - 21));
	return b->len;
}

/* A bounds-checked reader over one response: get() reads a big-endian
 * integer of n bytes (2, 4, 8); past the end it sets bad and reads 0. */
struct reader {
	const uint8_t *p, *end;
	int bad;
};

static inline int64_t get(struct reader *r, size_t n)
{
	uint64_t v = 0;

	if (r->bad || (size_t)(r->end - r->p) < n) {
		r->bad = 1;
		return 0;
	}
	for (size_t i = 0; i < n; i++)
		v = v << 8 | *r->p++;
	return n == 2 ? (int16_t)v : n == 4 ? (int32_t)v : (int64_t)v;
}

static inline void skip_str(struct reader *r)
{
	int64_t n = get(r, 2);

	if (n > 0 && !r->bad) {
		if (r->end - r->p < n)
			r->bad = 1;
		else
			r->p += n;
	}
}

#endif /* XS_BENCH_KAFKA_WIRE_H */
