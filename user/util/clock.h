/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* Clock reads, and turning the XDP program's monotonic times into wall-clock. */
#ifndef XS_CLOCK_H
#define XS_CLOCK_H

#include <stdint.h>
#include <time.h>
#include <linux/types.h>

static inline __u64 clock_ns(clockid_t clk)
{
	struct timespec ts;

	clock_gettime(clk, &ts);
	return (__u64)ts.tv_sec * 1000000000ull + (__u64)ts.tv_nsec;
}

/* CLOCK_REALTIME - CLOCK_MONOTONIC (bpf_ktime_get_ns), the wall-clock read
 * between two monotonic reads. A read interrupted for long (preemption, a
 * VM's vCPU descheduled) would skew every timestamp by the interruption, so
 * the tightest of a few tries is kept. */
static inline __s64 realtime_offset_ns(void)
{
	__u64 best_gap = UINT64_MAX;
	__s64 best = 0;

	for (int i = 0; i < 8 && best_gap > 20000; i++) {
		__u64 m1 = clock_ns(CLOCK_MONOTONIC);
		__u64 r = clock_ns(CLOCK_REALTIME);
		__u64 m2 = clock_ns(CLOCK_MONOTONIC);

		if (m2 - m1 < best_gap) {
			best_gap = m2 - m1;
			best = (__s64)(r - (m1 + best_gap / 2));
		}
	}
	return best;
}

#endif
