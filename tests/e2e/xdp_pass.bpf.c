// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* A foreign XDP program for the "interface busy" test: passes everything. */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

SEC("xdp")
int xs_e2e_pass(struct xdp_md *ctx)
{
	(void)ctx;
	return XDP_PASS;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
