/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* Attaching the XDP program to an interface, and finding what is there. */
#ifndef XS_ATTACH_H
#define XS_ATTACH_H

#include <stdbool.h>
#include <linux/types.h>

enum xdp_mode_opt { XDP_MODE_AUTO, XDP_MODE_NATIVE, XDP_MODE_GENERIC };

struct attached_prog {
	__u32 id;          /* 0: nothing attached */
	__u32 flags;       /* XDP_FLAGS_* mode it is attached in */
	char name[16];
	bool ours;         /* an xdpsensor program (by name) */
};

int xdp_query(int ifindex, struct attached_prog *out);
/* The program pinned in the interface's pin dir, if it is program id:
 * its fd, else -1. */
int xdp_pinned_prog_fd(const char *ifname, __u32 id);
/*
 * The one policy for what is already on an interface we own (its lock
 * held, owner.h): nothing, 0; an xdpsensor program, a dead run's, so it is
 * detached, or left in *keep (not NULL) for xdp_replace(); another
 * program is refused (-EBUSY, named) unless force.
 * *found: a program was detached or kept.
 */
int xdp_clear(int ifindex, const char *ifname, bool force, bool *found,
	      struct attached_prog *keep);
/* Attaches where the slot is free; *flags_out gets the XDP_FLAGS_* mode
 * that worked (native first with XDP_MODE_AUTO, then generic). */
int xdp_attach(int ifindex, const char *ifname, int prog_fd, enum xdp_mode_opt mode,
	       __u32 *flags_out);
/* Attaches in place of old_fd, attached in old_flags' mode, in one step
 * (XDP_FLAGS_REPLACE): no frame meets no program. Where the mode asked
 * for is another, detaches old_fd first, then xdp_attach(). */
int xdp_replace(int ifindex, const char *ifname, int prog_fd, int old_fd, __u32 old_flags,
		enum xdp_mode_opt mode, __u32 *flags_out);
/* Detaches (an interface that is gone counts as done); says why not. */
int xdp_detach(int ifindex, const char *ifname, __u32 flags);
int parse_xdp_mode(const char *s, enum xdp_mode_opt *out);

#endif
