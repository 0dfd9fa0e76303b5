/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * The workers' published rows (struct xs_worker_stats, the pinned `workers`
 * map): summed over workers, and the ledger's derived figures (README
 * "Reading the counters"). Used by `run` (its summary) and `stats`.
 */
#ifndef XS_WORKER_STATS_H
#define XS_WORKER_STATS_H

#include "xdpsensor.h"

/* Adds w to t; the oldest spooled record is the oldest of both, not a sum. */
void worker_stats_add(struct xs_worker_stats *t, const struct xs_worker_stats *w);
/* In the producer, not yet acknowledged. */
__u64 worker_stats_in_flight(const struct xs_worker_stats *w);
/* Age of the oldest spooled record now (0: none). */
__u64 worker_stats_oldest_age_ms(const struct xs_worker_stats *w);

#endif
