/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Frames a killed run's socket had received and its worker had not read.
 *
 * Each queue's UMEM is a file on tmpfs (xsk_queue_prepare's keep_path),
 * which outlives the process; its RX ring does not. So the XDP program
 * writes each captured frame's length and a magic in front of it (struct
 * xs_meta), and the worker clears the magic once it has taken the frame:
 * a frame whose magic is still set was received and not read. The next
 * run takes those frames out before its sockets reuse the files, and
 * hands them to the queues' workers, oldest first, before the parked ones
 * (which came after the sockets closed).
 */
#ifndef XS_KEPT_H
#define XS_KEPT_H

#include <stddef.h>
#include <linux/types.h>
#include "xdpsensor.h" /* struct xs_meta */

/* A frame taken out of a killed run's UMEM. */
struct kept_frame {
	struct xs_meta meta;
	__u32 queue;
	__u32 len;
	size_t off; /* in kept_umems.data */
};

/* What an earlier run left unread for one interface. */
struct kept_umems {
	struct kept_frame *f; /* by queue, each queue's oldest first */
	size_t n, cap;
	__u8 *data;
	size_t data_len, data_cap;
	size_t files;
	char ifname[16];
};

/* The UMEM file of ifname's queue in dir (keep_dir.h). */
void kept_umem_path(const char *dir, const char *ifname, __u32 queue, char *out, size_t len);

/*
 * Takes the unread frames out of every UMEM file an earlier run left for
 * ifname in dir, whatever its queue count was, and clears their marks. The
 * files of queues below `queues` stay for the new run's sockets to reuse
 * (no new allocation, no freeing at the restart); the others go.
 */
void kept_umems_take(const char *dir, const char *ifname, __u32 queues, struct kept_umems *k);

typedef void (*kept_frame_fn)(void *ctx, __u32 queue, const __u8 *frame, __u32 len,
			      const struct xs_meta *meta);

/* Hands the frames taken to take(), by queue, each queue's oldest first,
 * and frees them; returns how many. take NULL: drops them, said in one
 * line (`detach`, a run that failed before its workers started). */
long kept_umems_drain(struct kept_umems *k, kept_frame_fn take, void *ctx);

#endif
