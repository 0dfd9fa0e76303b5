/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * A frame that AF_XDP multi-buffer hands over in several descriptors (each
 * but the last flagged XDP_PKT_CONTD), put back together in one buffer so
 * that the record value is the whole frame. A frame may straddle two RX
 * batches: its first buffer's metadata is copied when it starts.
 */
#ifndef XS_REASM_H
#define XS_REASM_H

#include <stdbool.h>
#include "xdpsensor.h"

/* More than the kernel hands over: MAX_SKB_FRAGS + 1 buffers of a UMEM frame. */
#define REASM_MAX (128 * 1024)

struct reasm {
	__u8 *buf;         /* REASM_MAX bytes */
	__u32 len;         /* bytes kept so far */
	__u32 wire_len;    /* bytes seen so far (more than len only past REASM_MAX) */
	struct xs_meta meta; /* of the first buffer */
	bool busy;         /* a frame is under way: the next buffer continues it */
};

int reasm_init(struct reasm *r);
void reasm_free(struct reasm *r);

/* Adds one buffer (data, len; the XDP metadata in front of the first one)
 * of a frame; returns true when the frame is whole in r->buf. The caller
 * takes it before the next call. */
bool reasm_add(struct reasm *r, const __u8 *data, __u32 len, bool more);

#endif
