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

/* An earlier run's UMEM of one queue, mapped. */
struct kept_umem {
	void *map;
	size_t len;
	__u32 queue;
};

/* All an earlier run left for one interface. */
struct kept_umems {
	struct kept_umem *q;
	size_t n;
	char ifname[16];
};

/* The UMEM file of ifname's queue in dir (keep_dir.h). */
void kept_umem_path(const char *dir, const char *ifname, __u32 queue, char *out, size_t len);

/* Takes every UMEM file an earlier run left for ifname in dir, whatever its
 * queue count was: mapped, the names removed (the new run's go there). */
void kept_umems_take(const char *dir, const char *ifname, struct kept_umems *k);

typedef void (*kept_frame_fn)(void *ctx, __u32 queue, const __u8 *frame, __u32 len,
			      const struct xs_meta *meta);

/* Hands every frame received and not read to take(), each queue's oldest
 * first, and unmaps; returns how many. take NULL: drops them, said in one
 * line (`detach`, a run that failed before its workers started). */
long kept_umems_drain(struct kept_umems *k, kept_frame_fn take, void *ctx);

#endif
