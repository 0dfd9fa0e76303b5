/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Frames a killed run's socket had received and its worker had not read.
 *
 * Each queue's UMEM is a file on tmpfs (xsk_queue_prepare's keep_path),
 * which outlives the process; its RX ring does not. So the XDP program
 * writes each captured frame's length and a magic in front of it (struct
 * xs_meta), and the worker clears the magic once it has taken the frame:
 * a frame whose magic is still set was received and not read. The next
 * run takes the file before it makes its own, and hands those frames to
 * the queue's worker, oldest first, before the parked ones (which came
 * after the socket closed).
 */
#ifndef XS_KEPT_H
#define XS_KEPT_H

#include <stddef.h>
#include <linux/types.h>
#include "xdpsensor.h" /* struct xs_meta */

struct kept_umem {
	void *map;
	size_t len;
};

/* The UMEM file of ifname's queue in dir (keep_dir.h). */
void kept_umem_path(const char *dir, const char *ifname, int queue, char *out, size_t len);
/* Drops what the UMEM files of ifname's queues in dir hold (`detach`),
 * said in one line; removes them. */
void kept_umem_drop(const char *dir, const char *ifname);

/* Takes an earlier run's UMEM file at path: mapped, its name removed for
 * the new run's. 1 taken, 0 none, -errno (said in one line). */
int kept_umem_take(const char *path, struct kept_umem *k);

typedef void (*kept_frame_fn)(void *ctx, const __u8 *frame, __u32 len,
			      const struct xs_meta *meta);

/* Hands every frame received and not read to take(), oldest first, and
 * unmaps; returns how many. Nothing taken: 0. take NULL: drops them,
 * said in one line. */
long kept_umem_drain(struct kept_umem *k, kept_frame_fn take, void *ctx);

#endif
