// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#include <stdlib.h>
#include <time.h>
#include <bpf/bpf.h>

#include "flow_expiry.h"

__u64 flow_expire(int flows_fd, __u64 idle_ns, flow_fn fn, void *ctx)
{
	struct flow_entry *flows;
	struct timespec ts;
	__u64 now, taken = 0;
	size_t n;

	if (flow_table_read(flows_fd, &flows, &n))
		return 0;
	clock_gettime(CLOCK_MONOTONIC, &ts); /* the clock of the flow times */
	now = (__u64)ts.tv_sec * 1000000000ull + (__u64)ts.tv_nsec;
	for (size_t i = 0; i < n; i++) {
		if (idle_ns && now - flows[i].stats.last_seen_ns < idle_ns)
			continue;
		if (fn)
			fn(&flows[i], ctx);
		if (idle_ns)
			bpf_map_delete_elem(flows_fd, &flows[i].key);
		taken++;
	}
	free(flows);
	return taken;
}
