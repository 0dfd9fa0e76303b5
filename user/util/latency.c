// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#include "latency.h"

static unsigned int bucket_of(__u64 ns)
{
	unsigned int log2, sub;

	if (ns < LAT_SUB)
		return (unsigned int)ns;
	log2 = 63 - (unsigned int)__builtin_clzll(ns);
	sub = (unsigned int)(ns >> (log2 - 3)) & (LAT_SUB - 1); /* 3 = log2(LAT_SUB) */
	return log2 * LAT_SUB + sub;
}

static double bucket_floor(unsigned int b)
{
	unsigned int log2 = b / LAT_SUB, sub = b % LAT_SUB;

	if (log2 < 3)
		return b;
	return (double)((1ull << log2) + ((__u64)sub << (log2 - 3)));
}

void latency_add(struct latency_hist *h, __u64 ns)
{
	__atomic_fetch_add(&h->bucket[bucket_of(ns)], 1, __ATOMIC_RELAXED);
}

double latency_percentile(const struct latency_hist *h, double q)
{
	__u64 total = 0, seen = 0;

	for (unsigned int b = 0; b < LAT_BUCKETS; b++)
		total += h->bucket[b];
	if (!total)
		return 0;
	for (unsigned int b = 0; b < LAT_BUCKETS; b++) {
		seen += h->bucket[b];
		if ((double)seen >= q * (double)total)
			return bucket_floor(b);
	}
	return 0;
}
