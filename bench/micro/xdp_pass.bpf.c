// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * The floor of the XDP microbenchmark: a program that does nothing but
 * return XDP_PASS. Run with BPF_PROG_TEST_RUN beside the sensor, its time
 * is the cost of test_run itself (timer, context setup, the indirect call),
 * which the sensor's time includes as well.
 */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

SEC("xdp")
int xdp_pass(struct xdp_md *ctx)
{
	(void)ctx;
	return XDP_PASS;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
