/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* Shared by xdp_drop.bpf.c and its loader xdp_drop.c. */
#ifndef XS_BENCH_XDP_DROP_H
#define XS_BENCH_XDP_DROP_H

enum xdp_drop_stat {
	XDP_DROP_STAT_PACKETS = 0,
	XDP_DROP_STAT_BYTES,
	XDP_DROP_STAT_MAX,
};

#endif /* XS_BENCH_XDP_DROP_H */
