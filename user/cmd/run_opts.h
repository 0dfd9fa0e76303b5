/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* `xdpsensor run`'s options: the table --help is made from, and the checks
 * across options. */
#ifndef XS_RUN_OPTS_H
#define XS_RUN_OPTS_H

#include <signal.h>
#include <stdbool.h>

#include "flow_format.h"
#include "rules.h"
#include "sensor.h"
#include "sink.h"

struct run_opts {
	const char *ifnames[CAPTURE_MAX_IFACES];
	int nifaces;
	struct sensor_opts sensor;
	struct rules rules;
	struct sink_opts sink;
	unsigned int snaplen;
	unsigned int rx_sleep_us;
	unsigned int umem_mb;        /* per AF_XDP socket */
	bool force_copy;
	bool handover;               /* a stop by signal leaves the program parking */
	unsigned int duration_s;     /* 0: until a signal */
	unsigned int flow_timeout_s; /* idle flows are removed after this */
	unsigned int flow_active_s;  /* active flows are exported this often */
	enum flows_format flows_format;
	char metrics_addr[64];       /* --metrics; "" without */
	unsigned int metrics_port;
};

/* Fills o from the command line; stop ends a --block wait. 0 to run, 1
 * after --help, -EINVAL on a bad command line (said why). */
int run_parse_args(int argc, char **argv, struct run_opts *o, const volatile sig_atomic_t *stop);

#endif
