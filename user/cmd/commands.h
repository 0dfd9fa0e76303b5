/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* The subcommands, and the command-line pieces they share. */
#ifndef XS_COMMANDS_H
#define XS_COMMANDS_H

#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include "rules.h"

int cmd_classify(int argc, char **argv);
int cmd_run(int argc, char **argv);
int cmd_detach(int argc, char **argv);
int cmd_stats(int argc, char **argv);
int cmd_flows(int argc, char **argv);

/* Long options every command that loads rules accepts. */
enum {
	OPT_DEFAULT = 0x100,
	OPT_CAPTURE,
	OPT_COUNT,
	OPT_DROP,
	OPT_SAMPLE,
	OPT_SAMPLE_SEED,
	OPT_KEY_LAYER,
	OPT_FIRST_FREE, /* commands number their own options from here */
};
#define RULE_LONG_OPTIONS                                              \
	{ "default", required_argument, NULL, OPT_DEFAULT },           \
	{ "capture", required_argument, NULL, OPT_CAPTURE },           \
	{ "count", required_argument, NULL, OPT_COUNT },               \
	{ "drop", required_argument, NULL, OPT_DROP },                 \
	{ "sample", required_argument, NULL, OPT_SAMPLE },             \
	{ "sample-seed", required_argument, NULL, OPT_SAMPLE_SEED },   \
	{ "key-layer", required_argument, NULL, OPT_KEY_LAYER }

extern const char rules_usage[];

/* Handles one rule option: 1 if it was one, 0 if not, -EINVAL if bad. */
int rules_option(struct rules *r, int opt, const char *arg);

/* getopt loop for commands whose only options are rules, --json, -v, -h.
 * Returns 0 to go on, 1 after --help, -EINVAL on a bad option. */
int parse_rule_args(int argc, char **argv, struct rules *r, bool *json,
		    void (*usage)(FILE *));

#endif
