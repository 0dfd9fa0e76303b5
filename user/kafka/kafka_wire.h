/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Kafka's wire format, as much as a producer needs: big-endian fields and
 * strings, the zigzag varints of records, a record batch (magic 2) built in
 * one buffer and sealed with its producer id, sequence and CRC-32C, a
 * record read back from a batch, and a bounds-checked reader for
 * responses. Written from Kafka's protocol guide and its record batch
 * format. Used by the packet writer (kafka_writer.c) and the bench's
 * kafka-batch peer.
 */
#ifndef XS_KAFKA_WIRE_H
#define XS_KAFKA_WIRE_H

#include <endian.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#define BATCH_HEADER 61 /* record batch v2, up to its record count */

static inline uint8_t *wire_put16(uint8_t *p, int16_t v) { uint16_t b = htobe16((uint16_t)v); memcpy(p, &b, 2); return p + 2; }
static inline uint8_t *wire_put32(uint8_t *p, int32_t v) { uint32_t b = htobe32((uint32_t)v); memcpy(p, &b, 4); return p + 4; }
static inline uint8_t *wire_put64(uint8_t *p, int64_t v) { uint64_t b = htobe64((uint64_t)v); memcpy(p, &b, 8); return p + 8; }

static inline uint8_t *wire_put_str(uint8_t *p, const char *s)
{
	size_t n = strlen(s);

	p = wire_put16(p, (int16_t)n);
	memcpy(p, s, n);
	return p + n;
}

static inline uint8_t *wire_put_varint(uint8_t *p, int64_t v)
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
 * librdkafka uses where the CPU has it (callers check for it at start). */
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

/* A record header; len -1: a null value. Read back, name is not
 * NUL-terminated: name_len says its length (encoding uses strlen). */
struct wire_header {
	const char *name;
	const void *value;
	int32_t len;
	uint32_t name_len;
};

/* A record's fields, to encode or as read back; key_len -1: a null key. */
struct wire_record {
	const void *key, *value;
	int32_t key_len, value_len;
	const struct wire_header *headers;
	unsigned int nheaders;
};

static inline int64_t wire_record_body(const struct wire_record *r, int64_t ts_delta,
				       int64_t offset_delta)
{
	int64_t body = 1 + (int64_t)varint_len(ts_delta) + (int64_t)varint_len(offset_delta) +
		       (int64_t)varint_len(r->key_len) + (r->key_len > 0 ? r->key_len : 0) +
		       (int64_t)varint_len(r->value_len) + r->value_len +
		       (int64_t)varint_len(r->nheaders);

	for (unsigned int i = 0; i < r->nheaders; i++) {
		int64_t nl = (int64_t)strlen(r->headers[i].name), vl = r->headers[i].len;

		body += (int64_t)varint_len(nl) + nl + (int64_t)varint_len(vl) + (vl > 0 ? vl : 0);
	}
	return body;
}

/* Bytes the record takes in a batch, its length varint included. */
static inline size_t wire_record_size(const struct wire_record *r, int64_t ts_delta,
				      int64_t offset_delta)
{
	int64_t body = wire_record_body(r, ts_delta, offset_delta);

	return varint_len(body) + (size_t)body;
}

/* Writes the record at p (wire_record_size() bytes); returns its end. */
static inline uint8_t *wire_record_put(uint8_t *p, const struct wire_record *r, int64_t ts_delta,
				       int64_t offset_delta)
{
	p = wire_put_varint(p, wire_record_body(r, ts_delta, offset_delta));
	*p++ = 0; /* attributes */
	p = wire_put_varint(p, ts_delta);
	p = wire_put_varint(p, offset_delta);
	p = wire_put_varint(p, r->key_len);
	if (r->key_len > 0) {
		memcpy(p, r->key, (size_t)r->key_len);
		p += r->key_len;
	}
	p = wire_put_varint(p, r->value_len);
	memcpy(p, r->value, (size_t)r->value_len);
	p += r->value_len;
	p = wire_put_varint(p, r->nheaders);
	for (unsigned int i = 0; i < r->nheaders; i++) {
		const struct wire_header *h = &r->headers[i];
		size_t nl = strlen(h->name);

		p = wire_put_varint(p, (int64_t)nl);
		memcpy(p, h->name, nl);
		p += nl;
		p = wire_put_varint(p, h->len);
		if (h->len > 0) {
			memcpy(p, h->value, (size_t)h->len);
			p += h->len;
		}
	}
	return p;
}

/* The producer fields of a sealed batch: none (-1) for a plain producer. */
struct wire_producer {
	int64_t id;
	int16_t epoch;
	int32_t base_seq;
};

/* Fills a batch's header in its first BATCH_HEADER bytes, the records
 * after them (len bytes in all): CRC-32C of attributes to the end. */
static inline void wire_batch_seal(uint8_t *buf, size_t len, uint32_t records, int64_t first_ts,
				   int64_t max_ts, const struct wire_producer *pr)
{
	uint8_t *p = buf;

	p = wire_put64(p, 0);			/* base offset */
	p = wire_put32(p, (int32_t)(len - 12));	/* batch length */
	p = wire_put32(p, -1);			/* partition leader epoch */
	*p++ = 2;				/* magic */
	p += 4;					/* CRC, below */
	p = wire_put16(p, 0);			/* attributes: no compression, no transaction */
	p = wire_put32(p, (int32_t)records - 1);	/* last offset delta */
	p = wire_put64(p, first_ts);
	p = wire_put64(p, max_ts);
	p = wire_put64(p, pr->id);
	p = wire_put16(p, pr->epoch);
	p = wire_put32(p, pr->base_seq);
	wire_put32(p, (int32_t)records);
	wire_put32(buf + 17, (int32_t)crc32c(buf + 21, len - 21));
}

/* A sequence number after n more records: they wrap past INT32_MAX to 0. */
static inline int32_t wire_seq_add(int32_t seq, uint32_t n)
{
	return (int32_t)(((int64_t)seq + n) % ((int64_t)INT32_MAX + 1));
}

static inline int read_varint(const uint8_t **p, const uint8_t *end, int64_t *v)
{
	uint64_t z = 0;

	for (int shift = 0; shift < 64; shift += 7) {
		if (*p >= end)
			return -1;
		uint8_t b = *(*p)++;

		z |= (uint64_t)(b & 0x7f) << shift;
		if (!(b & 0x80)) {
			*v = (int64_t)(z >> 1) ^ -(int64_t)(z & 1);
			return 0;
		}
	}
	return -1;
}

/* Reads the record at *p (written by wire_record_put) and moves *p past
 * it; up to max headers into hdrs (r->headers points there). 0, or -1. */
static inline int wire_record_get(const uint8_t **p, const uint8_t *end, struct wire_record *r,
				  struct wire_header *hdrs, unsigned int max)
{
	int64_t len, v, n;
	const uint8_t *q;

	if (read_varint(p, end, &len) || len < 1 || end - *p < len)
		return -1;
	q = *p + 1; /* after the attributes */
	end = *p + len;
	*p = end;
	if (read_varint(&q, end, &v) || read_varint(&q, end, &v) || /* ts and offset deltas */
	    read_varint(&q, end, &v) || v > end - q)
		return -1;
	r->key = v >= 0 ? q : NULL;
	r->key_len = (int32_t)v;
	q += v > 0 ? v : 0;
	if (read_varint(&q, end, &v) || v < 0 || v > end - q)
		return -1;
	r->value = q;
	r->value_len = (int32_t)v;
	q += v;
	if (read_varint(&q, end, &n) || n < 0)
		return -1;
	r->headers = hdrs;
	r->nheaders = 0;
	for (int64_t i = 0; i < n; i++) {
		struct wire_header h;

		if (read_varint(&q, end, &v) || v < 0 || v > end - q)
			return -1;
		h.name = (const char *)q;
		h.name_len = (uint32_t)v;
		q += v;
		if (read_varint(&q, end, &v) || v > end - q)
			return -1;
		h.value = v >= 0 ? q : NULL;
		h.len = (int32_t)v;
		q += v > 0 ? v : 0;
		if (r->nheaders < max)
			hdrs[r->nheaders++] = h;
	}
	return 0;
}

/* A bounds-checked reader over one response: wire_get() reads a big-endian
 * integer of n bytes (1, 2, 4, 8); past the end it sets bad and reads 0. */
struct wire_reader {
	const uint8_t *p, *end;
	int bad;
};

static inline int64_t wire_get(struct wire_reader *r, size_t n)
{
	uint64_t v = 0;

	if (r->bad || (size_t)(r->end - r->p) < n) {
		r->bad = 1;
		return 0;
	}
	for (size_t i = 0; i < n; i++)
		v = v << 8 | *r->p++;
	return n == 1 ? (int8_t)v : n == 2 ? (int16_t)v : n == 4 ? (int32_t)v : (int64_t)v;
}

/* A string (NULL when null) copied into out[size], cut to fit. */
static inline void wire_get_str(struct wire_reader *r, char *out, size_t size)
{
	int64_t n = wire_get(r, 2);

	if (out && size)
		out[0] = 0;
	if (n <= 0 || r->bad)
		return;
	if (r->end - r->p < n) {
		r->bad = 1;
		return;
	}
	if (out && size) {
		size_t k = (size_t)n < size - 1 ? (size_t)n : size - 1;

		memcpy(out, r->p, k);
		out[k] = 0;
	}
	r->p += n;
}

static inline void wire_skip_str(struct wire_reader *r)
{
	wire_get_str(r, NULL, 0);
}

#endif /* XS_KAFKA_WIRE_H */
