/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* The subcommands, and the command-line pieces they share. */
#ifndef XS_COMMANDS_H
#define XS_COMMANDS_H

#include "options.h"
#include "rules.h"

int cmd_classify(int argc, char **argv);
int cmd_run(int argc, char **argv);
int cmd_detach(int argc, char **argv);
int cmd_stats(int argc, char **argv);
int cmd_flows(int argc, char **argv);

/* The options every command that loads rules takes, filling r. */
struct opt_table rule_options(struct rules *r);

#endif
