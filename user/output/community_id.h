/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* Community ID v1 flow hash (https://github.com/corelight/community-id-spec). */
#ifndef XS_COMMUNITY_ID_H
#define XS_COMMUNITY_ID_H

#include <stdbool.h>
#include <stddef.h>
#include "xdpsensor.h"

/* "1:" + base64(SHA-1) = 30 characters ("l2:": 31) and a NUL. */
#define COMMUNITY_ID_LEN 32

/*
 * The key is already in Community ID order (flow_parse.h orders endpoints
 * the same way), so the hash needs no packet. has_ports is false for
 * protocols without ports and for non-first fragments. 0, -ENOSPC (out
 * shorter than COMMUNITY_ID_LEN) or -EIO (the digest failed).
 *
 * Community ID is defined for IP only. A key of family XS_FAMILY_L2 gets
 * "l2:" + base64(SHA-1(seed, MAC A, MAC B, port_a, port_b)) in the same
 * shape, the same for both directions, never mistaken for a "1:" ID.
 */
int community_id(const struct flow_key *key, bool has_ports, __u16 seed,
		 char *out, size_t out_len);

#endif
