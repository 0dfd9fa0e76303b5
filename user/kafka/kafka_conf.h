/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * A librdkafka configuration from the command line, for the producer (`run`)
 * and the consumer (`query`, `inspect`). Applied in this order, a later
 * setting overriding an earlier one: the command's defaults, -b, --metrics,
 * the lines of -c FILE, the -X pairs. A bad property is said in one line
 * naming where it came from ("-X: ...", "FILE:LINE: ...").
 *
 * -c FILE: one NAME=VALUE a line (as librdkafka's and the Java client's
 * properties files); blank lines and lines starting with # are skipped,
 * blanks around the line and around the first '=' are not part of the
 * name or value.
 */
#ifndef XS_KAFKA_CONF_H
#define XS_KAFKA_CONF_H

#include <stddef.h>
#include <librdkafka/rdkafka.h>

struct kafka_conf_src {
	const char *const (*defaults)[2]; /* { name, value } rows */
	size_t ndefaults;
	const char *brokers;           /* -b: bootstrap.servers, or NULL */
	const char *stats_interval_ms; /* --metrics: statistics.interval.ms, or NULL */
	const char *file;              /* -c FILE, or NULL */
	const char *const *props;      /* -X NAME=VALUE */
	int nprops;
};

/* A new configuration, or NULL after one line on stderr saying why. */
rd_kafka_conf_t *kafka_conf_build(const struct kafka_conf_src *src);

#endif
