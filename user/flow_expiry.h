/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* Removing idle flows, so the preallocated flow table keeps room. */
#ifndef XS_FLOW_EXPIRY_H
#define XS_FLOW_EXPIRY_H

#include <linux/types.h>

/* Deletes flows not seen for idle_ns; returns how many. */
__u64 flow_expire(int flows_fd, __u64 idle_ns);

#endif
