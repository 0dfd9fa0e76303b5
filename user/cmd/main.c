// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* xdpsensor: XDP/AF_XDP packet sensor for Apache Kafka. */
#include <stdio.h>
#include <string.h>

#include "commands.h"
#include "log.h"
#include "query_cmds.h"

static const struct {
	const char *name;
	int (*fn)(int argc, char **argv);
	const char *help;
} commands[] = {
	{ "run", cmd_run, "attach to interfaces and produce captured packets to Kafka" },
	{ "classify", cmd_classify, "run pcap files through the XDP program offline" },
	{ "stats", cmd_stats, "show the counters of every stage of a running sensor" },
	{ "flows", cmd_flows, "show the flow table of a running sensor" },
	{ "detach", cmd_detach, "remove the program, pins and settings left on an interface" },
	{ "query", cmd_query, "write the packets of a topic that match filters to a pcap" },
	{ "inspect", cmd_inspect, "print the records of a topic, one line each" },
};

static void usage(FILE *f)
{
	fprintf(f, "usage: xdpsensor [-v] COMMAND [OPTIONS]\n\ncommands:\n");
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		fprintf(f, "  %-9s %s\n", commands[i].name, commands[i].help);
	fprintf(f, "\n`xdpsensor COMMAND --help` describes each one. --version prints the version.\n");
}

int main(int argc, char **argv)
{
	int i = 1;

	for (; i < argc && argv[i][0] == '-'; i++) {
		if (!strcmp(argv[i], "-v") || !strcmp(argv[i], "--verbose")) {
			log_set_level(log_get_level() + 1);
		} else if (!strcmp(argv[i], "-vv")) {
			log_set_level(XS_LOG_TRACE);
		} else if (!strcmp(argv[i], "--version")) {
			printf("xdpsensor %s\n", XS_VERSION);
			return 0;
		} else if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
			usage(stdout);
			return 0;
		} else {
			pr_warn("unknown option '%s'\n", argv[i]);
			usage(stderr);
			return 2;
		}
	}
	if (i >= argc) {
		usage(stderr);
		return 2;
	}
	log_init_libbpf();
	for (size_t c = 0; c < sizeof(commands) / sizeof(commands[0]); c++)
		if (!strcmp(argv[i], commands[c].name))
			return commands[c].fn(argc - i, argv + i);
	pr_warn("unknown command '%s'\n", argv[i]);
	usage(stderr);
	return 2;
}
