// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#include <errno.h>
#include <string.h>

#include "community_id.h"
#include "record_key.h"

int parse_key_scheme(const char *s, enum key_scheme *out)
{
	if (!strcmp(s, "5tuple"))
		*out = KEY_5TUPLE;
	else if (!strcmp(s, "community-id"))
		*out = KEY_COMMUNITY_ID;
	else if (!strcmp(s, "metron"))
		*out = KEY_METRON;
	else
		return -EINVAL;
	return 0;
}

int parse_ts_unit(const char *s, enum ts_unit *out)
{
	if (!strcmp(s, "ms"))
		*out = TS_MS;
	else if (!strcmp(s, "us"))
		*out = TS_US;
	else if (!strcmp(s, "ns"))
		*out = TS_NS;
	else
		return -EINVAL;
	return 0;
}

size_t record_key(enum key_scheme scheme, enum ts_unit unit, const struct capture_rec *rec,
		  __u8 *out)
{
	static const __u64 div[] = { [TS_MS] = 1000000, [TS_US] = 1000, [TS_NS] = 1 };
	const struct flow_key *k = &rec->pkt.key;

	switch (scheme) {
	case KEY_METRON:
		put_be64(out, rec->ts_ns / div[unit]);
		return 8;
	case KEY_COMMUNITY_ID: /* "l2:..." for a frame keyed at L2 */
		community_id(k, rec->pkt.has_ports, 0, (char *)out, RECORD_KEY_MAX);
		return strlen((char *)out);
	case KEY_5TUPLE:
	default:
		return flow_key_bytes(k, out);
	}
}

size_t flow_key_bytes(const struct flow_key *k, __u8 *out)
{
	memcpy(out, k, sizeof(*k));
	out[32] = k->port_a >> 8;
	out[33] = k->port_a & 0xff;
	out[34] = k->port_b >> 8;
	out[35] = k->port_b & 0xff;
	return sizeof(*k);
}
