// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * The smallest AF_XDP steering program: every frame goes to the socket
 * bound to its RX queue, or to the kernel stack if that queue has none.
 */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

#define XSK_REDIRECT_MAX_QUEUES 64

/* RX queue index -> AF_XDP socket, filled by afxdp_bare.c. */
struct {
	__uint(type, BPF_MAP_TYPE_XSKMAP);
	__uint(max_entries, XSK_REDIRECT_MAX_QUEUES);
	__type(key, __u32);
	__type(value, __u32);
} xsks_map SEC(".maps");

SEC("xdp")
int xsk_redirect(struct xdp_md *ctx)
{
	return bpf_redirect_map(&xsks_map, ctx->rx_queue_index, XDP_PASS);
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
