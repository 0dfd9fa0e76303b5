/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* Log-linear latency histogram: 8 sub-buckets per power of two of ns. */
#ifndef XS_LATENCY_H
#define XS_LATENCY_H

#include <linux/types.h>

#define LAT_SUB 8
#define LAT_BUCKETS (64 * LAT_SUB)

struct latency_hist {
	__u64 bucket[LAT_BUCKETS];
};

/* Thread-safe (delivery reports may be served by several threads). */
void latency_add(struct latency_hist *h, __u64 ns);
/* Lower bound of the bucket holding quantile q (0..1), in ns; 0 if empty. */
double latency_percentile(const struct latency_hist *h, double q);

#endif
