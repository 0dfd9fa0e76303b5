/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * The parking ring (bpf/xdpsensor_maps.h: parked): frames to capture that
 * found no socket while no run held one. A run takes over a dead run's
 * ring before it loads its program, so the frames parked before, during
 * and after the restart are in one ring, in order, until it reads them.
 */
#ifndef XS_PARKED_H
#define XS_PARKED_H

#include <stdbool.h>
#include <bpf/libbpf.h>
#include "xdpsensor.h"

#define PARK_MB_DEFAULT 64 /* bpf/xdpsensor_maps.h: XS_PARK_BYTES */

/* The ring's size for --park-mb (a power of 2); 0, no parking: one page,
 * the least a ring buffer can be. */
__u32 parked_ring_bytes(__u32 park_mb);

/* Before the load: the ring pinned in pin_dir by a dead run becomes map
 * (same type and size). True if it did. */
bool parked_reuse(struct bpf_map *map, const char *pin_dir);

typedef void (*parked_fn)(void *ctx, const struct xs_parked_frame *f);
/* Hands every frame in the ring to fn, oldest first (fn NULL: counts
 * them). Returns how many, or -errno. */
long parked_drain(int ring_fd, parked_fn fn, void *ctx);

/* The frames left in the ring pinned in pin_dir, unless that ring is
 * keep_fd's; 0 when there is none. */
__u64 parked_left(const char *pin_dir, int keep_fd);

#endif
