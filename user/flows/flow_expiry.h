/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* Removing idle flows, so the preallocated flow table keeps room. */
#ifndef XS_FLOW_EXPIRY_H
#define XS_FLOW_EXPIRY_H

#include "flow_format.h"

typedef void (*flow_fn)(const struct flow_entry *e, void *ctx);

/* Deletes flows not seen for idle_ns, calling fn (if any) on each first;
 * idle_ns 0 removes none but calls fn on all. Returns how many it took. */
__u64 flow_expire(int flows_fd, __u64 idle_ns, flow_fn fn, void *ctx);

#endif
