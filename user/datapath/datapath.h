/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* Loading the XDP program, its pins under bpffs, and reading its counters. */
#ifndef XS_DATAPATH_H
#define XS_DATAPATH_H

#include <limits.h>
#include "xdpsensor.h"
#include "xdpsensor.skel.h"

#define XS_PIN_ROOT "/sys/fs/bpf/xdpsensor"

struct datapath_opts {
	__u32 flows_max; /* 0: the default of bpf/xdpsensor_maps.h */
	const char *pin_dir; /* a dead run's parking ring there is taken over (parked.h) */
	__u32 park_bytes;    /* its size, a power of 2 of pages; 0: the default */
};

/* Opens and loads the BPF object (not attached, not pinned). */
struct xdpsensor_bpf *datapath_load(const struct datapath_opts *opts);

/* Sums the per-CPU stats map into out[XS_STAT_MAX]. */
int datapath_read_stats(int stats_fd, __u64 out[XS_STAT_MAX]);
const char *stat_name(enum xs_stat s);

/* /sys/fs/bpf/xdpsensor/IFNAME */
void datapath_pin_dir(const char *ifname, char out[PATH_MAX]);
/* Mounts bpffs at /sys/fs/bpf if nothing is mounted there. */
int datapath_ensure_bpffs(void);

#endif
