// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#include <stdlib.h>
#include <time.h>
#include <bpf/bpf.h>

#include "flow_expiry.h"
#include "flow_format.h"

__u64 flow_expire(int flows_fd, __u64 idle_ns)
{
	struct flow_entry *flows;
	struct timespec ts;
	__u64 now, removed = 0;
	size_t n;

	if (flow_table_read(flows_fd, &flows, &n))
		return 0;
	clock_gettime(CLOCK_MONOTONIC, &ts); /* the clock of bpf_ktime_get_ns */
	now = (__u64)ts.tv_sec * 1000000000ull + (__u64)ts.tv_nsec;
	for (size_t i = 0; i < n; i++) {
		if (now - flows[i].stats.last_seen_ns < idle_ns)
			continue;
		removed += !bpf_map_delete_elem(flows_fd, &flows[i].key);
	}
	free(flows);
	return removed;
}
