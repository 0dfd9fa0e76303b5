// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* The options of the commands that read a topic back, `query` and `inspect`. */
#include <errno.h>

#include "log.h"
#include "query_cmds.h"
#include "time_spec.h"

static int opt_prop(void *base, const char *arg)
{
	struct scan_opts *o = base;

	if (o->nprops == SCAN_MAX_PROPS) {
		pr_warn("-X: at most %d properties\n", SCAN_MAX_PROPS);
		return -EINVAL;
	}
	o->props[o->nprops++] = arg;
	return 0;
}

#define SCAN(field) OFF(struct scan_opts, field)
static const struct opt_def topic_defs[] = {
	{ "brokers", 'b', OPT_STRING, SCAN(brokers), .arg = "LIST",
	  .help = "Kafka bootstrap servers (host:port,...)" },
	{ "topic", 't', OPT_STRING, SCAN(topic), .arg = "TOPIC", .help = "the sensor's topic" },
	{ "property", 'X', OPT_CALL, .call = opt_prop, .arg = "NAME=VALUE",
	  .help = "any librdkafka consumer property (repeatable)" },
	{ "config", 'c', OPT_STRING, SCAN(config_file), .arg = "FILE",
	  .help = "librdkafka properties, one NAME=VALUE a line\n(SASL, TLS: as for run)" },
	{ "timeout", 0, OPT_UINT, SCAN(timeout_s), 1, 3600, .arg = "SECS",
	  .help = "wait at most SECS for the broker, and for a stalled\nread (default 10)" },
	{ "verbose", 'v', OPT_CALL, .call = opt_verbose, .help = "more messages" },
	{}
};
#undef SCAN

struct opt_table topic_options(struct scan_opts *o)
{
	o->timeout_s = 10;
	return (struct opt_table){ .defs = topic_defs, .base = o };
}

int opt_time(const char *name, const char *arg, __u64 now_ns, __u64 *out_ns)
{
	if (!time_spec_parse(arg, now_ns, out_ns))
		return 0;
	pr_warn("%s '%s': not a time (RFC 3339 with a zone, epoch ms, or \"15m ago\")\n", name,
		arg);
	return -EINVAL;
}
