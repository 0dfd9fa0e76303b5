// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#include <time.h>

#include "worker_stats.h"

void worker_stats_add(struct xs_worker_stats *t, const struct xs_worker_stats *w)
{
	__u64 oldest = t->spool_oldest_ns, o = w->spool_oldest_ns;
	const __u64 *src = (const __u64 *)w;
	__u64 *dst = (__u64 *)t;

	for (size_t j = 0; j < sizeof(*t) / sizeof(__u64); j++)
		dst[j] += src[j];
	t->spool_oldest_ns = o && (!oldest || o < oldest) ? o : oldest;
}

__u64 worker_stats_in_flight(const struct xs_worker_stats *w)
{
	return w->produced + w->spool_out - w->delivered - w->failed - w->reclaimed;
}

__u64 worker_stats_oldest_age_ms(const struct xs_worker_stats *w)
{
	__u64 now = (__u64)time(NULL) * 1000, t = w->spool_oldest_ns / 1000000;

	return w->spool_oldest_ns && now > t ? now - t : 0;
}
