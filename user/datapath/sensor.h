/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * The sensor on one interface: its loaded program and pinned maps, the
 * offloads it turned off, the attachment. Setup recovers from a previous
 * run that crashed; teardown undoes exactly what setup did.
 */
#ifndef XS_SENSOR_H
#define XS_SENSOR_H

#include <stdbool.h>
#include <limits.h>
#include <net/if.h>
#include "attach.h"
#include "datapath.h"
#include "iface.h"
#include "rules.h"

struct sensor_iface {
	char name[IF_NAMESIZE];
	int ifindex;
	int nqueues;
	struct xdpsensor_bpf *skel;
	char pin_dir[PATH_MAX];
	struct iface_settings offloads;
	bool offloads_saved, pinned;
	__u32 xdp_flags; /* 0: not attached */
	int lock_fd;     /* owner.h; -1: not ours */
	bool gone;       /* deleted while we ran */
	/* frames a dead run's program (still attached) had to capture and no
	 * socket to hand them to: lost while no sensor ran */
	__u64 lost_in_restart;
};

struct sensor_opts {
	enum xdp_mode_opt xdp_mode;
	bool force;
	bool keep_pins;
	__u32 flows_max;
	__u32 park_mb;   /* the parking ring (parked.h), a power of 2; 0: none */
	const struct rules *rules;
};

/* Resolves the interface name; a clear error if it does not exist. */
int sensor_lookup(struct sensor_iface *s, const char *ifname);
/* Makes the interface ours for this process's life (owner.h); -EBUSY, with
 * one line naming the pid, when another sensor runs on it. */
int sensor_lock(struct sensor_iface *s);
/* Cleans a dead run's leftovers, loads, pins, turns offloads off, attaches.
 * Needs the lock. */
int sensor_setup(struct sensor_iface *s, const struct sensor_opts *o);
/* Detaches the program (stops receiving); teardown does it too. */
void sensor_detach(struct sensor_iface *s);
/* Detaches, restores the offloads, removes the pins (except flows with
 * keep_pins), then gives up the lock. */
void sensor_teardown(struct sensor_iface *s, bool keep_pins);
/* Gives up the interface but leaves the program attached and parking, its
 * pins and the offloads as they are, for the next run to take over as it
 * takes over a dead run's (run --handover; `xdpsensor detach` undoes it).
 * The workers' sockets must be out of its map already. */
void sensor_hand_over(struct sensor_iface *s);
/* What sensor_clean_stale() leaves for the setup that follows it. */
struct sensor_stale {
	int ring_fd;     /* in: the new program's parking ring (-1: none) */
	int prog_fd;     /* out: the dead run's program, left attached (-1: none) */
	__u32 prog_flags; /* its XDP_FLAGS_* mode */
	__u64 lost;      /* out: frames its program found no socket for and did
			  * not park, and those in a ring not taken over */
};

/* Removes what a dead run left: attachment (a foreign program only with
 * force), offload changes, pins. Call it holding the lock. With st, our
 * dead program stays attached for xdp_replace(), and the frames it lost
 * are counted in st->lost (they are said either way). */
int sensor_clean_stale(const char *ifname, int ifindex, bool force, bool *found,
		       struct sensor_stale *st);
/* The interface was deleted (its index no longer exists). */
bool sensor_iface_gone(const struct sensor_iface *s);

#endif
