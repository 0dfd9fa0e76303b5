/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* One captured packet as the workers hand it to a sink. */
#ifndef XS_CAPTURE_H
#define XS_CAPTURE_H

#include "flow_parse.h"

struct capture_rec {
	const __u8 *data;
	__u32 len;      /* bytes in data (after --snaplen) */
	__u32 orig_len; /* length on the wire */
	__u64 ts_ns;    /* capture time, ns since the epoch */
	struct xs_packet pkt; /* normalized key and direction */
	int keyed;      /* 0: the parser could not key it (zero key) */
	__u32 queue;
	const char *ifname;
	struct xs_worker_stats *stats; /* the worker's counters */
	unsigned int worker;           /* index of the worker */
};

#endif
