/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* One captured packet as the workers hand it to a sink. */
#ifndef XS_CAPTURE_H
#define XS_CAPTURE_H

#include "flow_parse.h"

/* Workers a run may have: 8 interfaces x 64 RX queues (64: the size of the
 * datapath's xsks map, XS_QUEUES_MAX). */
#define CAPTURE_MAX_IFACES 8
#define CAPTURE_MAX_QUEUES 64
#define CAPTURE_MAX_WORKERS (CAPTURE_MAX_IFACES * CAPTURE_MAX_QUEUES)

struct capture_rec {
	const __u8 *data;
	__u32 len;      /* bytes in data (after --snaplen) */
	__u32 orig_len; /* length on the wire */
	__u64 ts_ns;    /* capture time, ns since the epoch */
	struct xs_packet pkt; /* normalized key and direction */
	const __u8 *outer_key; /* keyed inside a tunnel: the 40-byte 5tuple key
				* of the outer header (xs.outer_key), else NULL */
	__u32 queue;
	const char *ifname;
	unsigned int worker; /* index of the worker, < CAPTURE_MAX_WORKERS */
};

#endif
