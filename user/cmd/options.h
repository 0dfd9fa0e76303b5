/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Options as data (as xdp-tools' DEFINE_OPTION): each command declares its
 * options in tables, one parser fills the command's struct from them and
 * the --help text comes from the same tables. A new option is one line:
 *
 *	{ "flow-timeout", 0, OPT_UINT, OFF(struct run_opts, flow_timeout_s),
 *	  .max = 1u << 30, .arg = "SECS", .help = "remove flows idle this long" },
 */
#ifndef XS_OPTIONS_H
#define XS_OPTIONS_H

#include <getopt.h> /* optind */
#include <linux/types.h>
#include <stddef.h>
#include <stdio.h>

enum opt_type {
	OPT_FLAG,   /* bool at off, set to true */
	OPT_UINT,   /* unsigned int at off, from min to max (one parser: num.h) */
	OPT_U64,    /* __u64 at off, from min to max */
	OPT_SIZE,   /* __u64 at off: bytes, K/M/G/T after the number, up to max */
	OPT_STRING, /* const char * at off: the argument */
	OPT_CALL,   /* call(base, arg): lists, names, anything else */
};

struct opt_def {
	const char *name; /* long name; NULL ends the table */
	int short_name;   /* 0: long only */
	enum opt_type type;
	size_t off;       /* of the field in the table's base */
	__u64 min, max;
	/* OPT_CALL: 0, or -EINVAL having said why; arg NULL without .arg */
	int (*call)(void *base, const char *arg);
	const char *arg;  /* the argument's name in --help; NULL: takes none */
	const char *help; /* '\n' starts an indented line */
};

struct opt_table {
	const char *title;        /* a heading in --help, or NULL */
	const struct opt_def *defs;
	void *base;               /* the struct the defs' offsets point into */
	const char *notes;        /* printed after the table, or NULL */
};

#define OFF(type, field) offsetof(type, field)

/* -v, --verbose: one more log level (base unused). */
int opt_verbose(void *base, const char *arg);

/*
 * getopt_long over the tables, -h/--help built in. Returns 0, 1 after
 * printing --help (usage first), or -EINVAL after one line saying which
 * option is wrong. optind is left at the first operand.
 */
int opts_parse(int argc, char **argv, const char *usage, const struct opt_table *tables,
	       int ntables);
void opts_help(FILE *f, const char *usage, const struct opt_table *tables, int ntables);

#endif
