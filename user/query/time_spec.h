/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Times on the command line of `query` and `inspect`, as ns since the epoch:
 *   RFC 3339        2024-05-01T12:00:00Z, 2024-05-01 12:00:00.5+02:00
 *                   (fraction up to ns; a zone, Z or +hh:mm, is required)
 *   epoch ms        1714564800000 (all digits: Kafka's record timestamps)
 *   relative        "15m ago", "90s ago", "2h ago", "1d ago", "now"
 */
#ifndef XS_TIME_SPEC_H
#define XS_TIME_SPEC_H

#include <linux/types.h>

/* 0 and *out_ns, or -EINVAL; now_ns is the reference for relative times. */
int time_spec_parse(const char *s, __u64 now_ns, __u64 *out_ns);

/* "2024-05-01T12:00:00.123456789Z" into out[TIME_TEXT_LEN]. */
#define TIME_TEXT_LEN 40
void time_format_ns(__u64 ns, char *out);

#endif
