/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Kafka record keys (--key):
 *   5tuple        40 bytes: addr_a[16] addr_b[16] port_a(be16) port_b(be16)
 *                 family(u8: 4|6, 0 for a frame keyed at L2) proto(u8) 0 0 —
 *                 struct flow_key with big-endian ports; IPv4 addresses
 *                 IPv4-mapped, MAC addresses zero-padded.
 *   community-id  the Community ID v1 string, seed 0 ("1:..."); "l2:..."
 *                 for a frame keyed at L2 (community_id.h).
 *   metron        8-byte big-endian capture time since the epoch in
 *                 --ts-unit (Apache Metron's PCAP FROM_KEY scheme).
 */
#ifndef XS_RECORD_KEY_H
#define XS_RECORD_KEY_H

#include <endian.h>
#include <stddef.h>
#include <string.h>
#include "capture.h"

enum key_scheme { KEY_5TUPLE, KEY_COMMUNITY_ID, KEY_METRON };
enum ts_unit { TS_MS, TS_US, TS_NS };

#define RECORD_KEY_MAX 40

int parse_key_scheme(const char *s, enum key_scheme *out);
int parse_ts_unit(const char *s, enum ts_unit *out);
/* Writes the key of rec into out[RECORD_KEY_MAX]; returns its length. */
size_t record_key(enum key_scheme scheme, enum ts_unit unit, const struct capture_rec *rec,
		  __u8 *out);
/* struct flow_key as the 40 bytes of the 5tuple key (big-endian ports). */
size_t flow_key_bytes(const struct flow_key *k, __u8 *out);
/* inline: a few instructions each, on every record's way to Kafka */
static inline void put_be64(__u8 *p, __u64 v)
{
	v = htobe64(v);
	memcpy(p, &v, sizeof(v));
}

static inline void put_be32(__u8 *p, __u32 v)
{
	v = htobe32(v);
	memcpy(p, &v, sizeof(v));
}

#endif
