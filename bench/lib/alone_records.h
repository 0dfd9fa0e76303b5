/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * The records the Kafka-only peers (kafka-alone, kafka-batch) produce: the
 * keys a receiver would give xs-gen's flows, and the sensor's compact
 * header (README "Kafka records"), built per record as the sensor does;
 * and their pacing (--rate), as a receiver is paced by its traffic.
 * Include after bench_util.h.
 */
#ifndef XS_BENCH_ALONE_RECORDS_H
#define XS_BENCH_ALONE_RECORDS_H

#include <endian.h>
#include <stdint.h>
#include <string.h>
#include <time.h>

#include "flow_parse.h"

#define BENCH_META_MAX (16 + 16)
#define BENCH_RATE_TICK_NS 4000000ull /* the sensor naps up to 4 ms */

/* The key xs-gen's flow i gets: 198.18.0.0 + (i mod 65536) port
 * 1024 + (i mod 50000) -> 198.19.0.1:9, through the sensor's parser. */
static inline void bench_flow_key(uint32_t i, struct flow_key *key)
{
	uint8_t f[42] = { [12] = 0x08, [14] = 0x45, [17] = 28, [23] = 17,
			  [26] = 198, [27] = 18, [30] = 198, [31] = 19, [33] = 1,
			  [37] = 9, [39] = 8 };
	uint16_t sport = (uint16_t)(1024 + i % 50000);
	struct xs_packet pkt;

	f[28] = (uint8_t)(i >> 8);
	f[29] = (uint8_t)i;
	f[34] = (uint8_t)(sport >> 8);
	f[35] = (uint8_t)sport;
	xs_parse_frame(f, f + sizeof(f), &pkt, XS_MAX_DECAP);
	*key = pkt.key;
}

/* xs.meta for a frame of len bytes captured at ts_ns (queue 0) on iface;
 * returns its length. */
static inline size_t bench_meta_encode(uint8_t meta[BENCH_META_MAX], const char *iface,
				       uint8_t dir, uint32_t len, uint64_t ts_ns)
{
	size_t name = strnlen(iface, BENCH_META_MAX - 16);
	uint32_t len_be = htobe32(len);
	uint64_t ts_be = htobe64(ts_ns);

	meta[0] = 1;
	meta[1] = dir;
	meta[2] = meta[3] = 0;
	memcpy(meta + 4, &len_be, 4);
	memcpy(meta + 8, &ts_be, 8);
	memcpy(meta + 16, iface, name);
	return 16 + name;
}

/* Sleeps to the next tick; returns how many records are due by then (of
 * count) at rate per second from start. */
static inline uint64_t bench_pace(uint64_t start, uint64_t rate, uint64_t count)
{
	uint64_t tick = start + ((bench_now_ns() - start) / BENCH_RATE_TICK_NS + 1) *
					BENCH_RATE_TICK_NS;
	struct timespec ts = { .tv_sec = (time_t)(tick / 1000000000ull),
			       .tv_nsec = (long)(tick % 1000000000ull) };
	uint64_t due;

	clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL);
	due = rate * (tick - start) / 1000000000ull;
	return due < count ? due : count;
}

#endif /* XS_BENCH_ALONE_RECORDS_H */
