/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * The capabilities the sensor needs, found by dropping them one at a time
 * (tests/e2e/caps.sh, on 6.18 and on the 6.1 VM): root has them all; a
 * dedicated user gets exactly these (the systemd unit's AmbientCapabilities).
 */
#ifndef XS_CAPS_H
#define XS_CAPS_H

#include <linux/types.h>

enum xs_cap {
	XS_CAP_BPF = 1 << 0,       /* load the program, create its maps */
	XS_CAP_PERFMON = 1 << 1,   /* the verifier accepts its pointer arithmetic */
	XS_CAP_NET_ADMIN = 1 << 2, /* attach XDP, XSKMAP, turn offloads off */
	XS_CAP_NET_RAW = 1 << 3,   /* AF_XDP sockets */
	XS_CAP_IPC_LOCK = 1 << 4,  /* UMEM beyond RLIMIT_MEMLOCK */
};

#define XS_CAPS_RUN \
	(XS_CAP_BPF | XS_CAP_PERFMON | XS_CAP_NET_ADMIN | XS_CAP_NET_RAW | XS_CAP_IPC_LOCK)
#define XS_CAPS_DETACH (XS_CAP_BPF | XS_CAP_NET_ADMIN)

/*
 * 0 if the process holds every capability of `needs` in its effective set;
 * else -EPERM after one line naming the missing ones. XS_CAP_IPC_LOCK is
 * not needed when RLIMIT_MEMLOCK allows memlock bytes.
 */
int check_caps(unsigned int needs, __u64 memlock);

#endif
