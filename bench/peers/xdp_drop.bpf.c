// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * The ceiling: every frame is counted and dropped. Nothing a sensor does
 * can be cheaper than this on the same path.
 */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

#include "xdp_drop.h"

/* Per-CPU packet and byte counters, indexed by enum xdp_drop_stat. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, XDP_DROP_STAT_MAX);
	__type(key, __u32);
	__type(value, __u64);
} drop_stats SEC(".maps");

SEC("xdp")
int xdp_drop_count(struct xdp_md *ctx)
{
	__u32 k_pkts = XDP_DROP_STAT_PACKETS, k_bytes = XDP_DROP_STAT_BYTES;
	__u64 *pkts = bpf_map_lookup_elem(&drop_stats, &k_pkts);
	__u64 *bytes = bpf_map_lookup_elem(&drop_stats, &k_bytes);

	if (pkts)
		*pkts += 1;
	if (bytes)
		*bytes += ctx->data_end - ctx->data;
	return XDP_DROP;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
