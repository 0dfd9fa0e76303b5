/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * The Prometheus text format (version 0.0.4) of the sensor's ledger, read
 * from the owners of each counter: the XDP program's per-CPU stats map, the
 * pinned `workers` map (the rows `run` publishes once a second, the same
 * ones `xdpsensor stats` reads), the flow table and its exporter, the
 * workers' state and librdkafka's own statistics (statistics.interval.ms
 * JSON).
 */
#ifndef XS_EXPOSITION_H
#define XS_EXPOSITION_H

#include <stdio.h>
#include "capture.h"
#include "flow_export.h"
#include "sink.h"
#include "worker.h"

struct metrics_iface {
	const char *name;
	int stats_fd;     /* per-CPU array, enum xs_stat */
	int workers_fd;   /* struct xs_worker_stats by queue */
	int flows_fd;
	__u32 flows_max;
	__u64 lost_in_restart; /* said at start: the dead run's, fixed */
	const struct flow_exporter *flows; /* its expired, evicted counts */
	int nqueues;
	unsigned int first_worker; /* its queue q is workers[first_worker + q] */
};

struct metrics_src {
	struct metrics_iface iface[CAPTURE_MAX_IFACES];
	int nifaces;
	const struct worker *workers;
	unsigned int nworkers;
	struct sink *sink;
	double start_time;          /* seconds since the epoch */
};

/* Writes the whole page. */
void metrics_write(FILE *f, const struct metrics_src *src);

#endif
