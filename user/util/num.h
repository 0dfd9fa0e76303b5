/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* The one integer parser of the command line, the rule specs, the times and the sizes. */
#ifndef XS_NUM_H
#define XS_NUM_H

#include <linux/types.h>

/*
 * s must be a whole number, decimal or 0x-hex, nothing before or after it
 * (no sign, no space), from min to max. 0, or -EINVAL (not a number) or
 * -ERANGE (out of range). Says nothing.
 */
int parse_u64(const char *s, __u64 min, __u64 max, __u64 *out);
/* The same into an unsigned long. */
int parse_uint(const char *s, unsigned long min, unsigned long max, unsigned long *out);
/* A size in bytes: a number as above, then K, M, G or T (powers of 1024)
 * or nothing, at most max bytes. */
int parse_size(const char *s, __u64 max, __u64 *out);

#endif
