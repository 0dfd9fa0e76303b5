// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#include <errno.h>
#include <getopt.h>
#include <stdbool.h>
#include <string.h>

#include "log.h"
#include "num.h"
#include "options.h"

#define OPTS_MAX 128
#define OPT_ID_BASE 0x1000 /* getopt's val for long options: above any char */
#define HELP_COLUMN 25

int opt_verbose(void *base, const char *arg)
{
	(void)base;
	(void)arg;
	log_set_level(log_get_level() + 1);
	return 0;
}

static int set_number(const struct opt_def *d, void *base, const char *arg)
{
	void *field = (char *)base + d->off;
	__u64 v;

	if (parse_u64(arg, d->min, d->max, &v)) {
		pr_warn("--%s takes a number from %llu to %llu, not '%s'\n", d->name,
			(unsigned long long)d->min, (unsigned long long)d->max, arg);
		return -EINVAL;
	}
	if (d->type == OPT_U64)
		*(__u64 *)field = v;
	else
		*(unsigned int *)field = (unsigned int)v;
	return 0;
}

static int set_size(const struct opt_def *d, void *base, const char *arg)
{
	if (parse_size(arg, d->max, (__u64 *)((char *)base + d->off))) {
		pr_warn("--%s takes a size in bytes up to %llu, K, M, G or T after it (512M),"
			" not '%s'\n", d->name, (unsigned long long)d->max, arg);
		return -EINVAL;
	}
	return 0;
}

static int apply(const struct opt_def *d, void *base, const char *arg)
{
	switch (d->type) {
	case OPT_FLAG:
		*(bool *)((char *)base + d->off) = true;
		return 0;
	case OPT_UINT:
	case OPT_U64:
		return set_number(d, base, arg);
	case OPT_SIZE:
		return set_size(d, base, arg);
	case OPT_STRING:
		*(const char **)((char *)base + d->off) = arg;
		return 0;
	case OPT_CALL:
		return d->call(base, arg);
	}
	return -EINVAL;
}

static void print_def(FILE *f, const struct opt_def *d)
{
	char left[64];
	int n;

	if (d->short_name)
		n = snprintf(left, sizeof(left), "  -%c, --%s%s%s", d->short_name, d->name,
			     d->arg ? " " : "", d->arg ? d->arg : "");
	else
		n = snprintf(left, sizeof(left), "  --%s%s%s", d->name, d->arg ? " " : "",
			     d->arg ? d->arg : "");
	if (n >= HELP_COLUMN - 1)
		fprintf(f, "%s\n%*s", left, HELP_COLUMN, "");
	else
		fprintf(f, "%-*s", HELP_COLUMN, left);
	for (const char *h = d->help; *h; h++) {
		fputc(*h, f);
		if (*h == '\n')
			fprintf(f, "%*s", HELP_COLUMN, "");
	}
	fputc('\n', f);
}

void opts_help(FILE *f, const char *usage, const struct opt_table *tables, int ntables)
{
	fputs(usage, f);
	for (int t = 0; t < ntables; t++) {
		if (tables[t].title)
			fprintf(f, "%s\n", tables[t].title);
		for (const struct opt_def *d = tables[t].defs; d->name; d++)
			print_def(f, d);
		if (tables[t].notes)
			fputs(tables[t].notes, f);
	}
	fprintf(f, "  -h, --help             this text\n");
}

int opts_parse(int argc, char **argv, const char *usage, const struct opt_table *tables,
	       int ntables)
{
	struct option longs[OPTS_MAX + 2] = {};
	const struct opt_def *def[OPTS_MAX];
	void *base[OPTS_MAX];
	char shorts[2 * OPTS_MAX + 3] = "h";
	int n = 0, opt;

	for (int t = 0; t < ntables; t++) {
		for (const struct opt_def *d = tables[t].defs; d->name && n < OPTS_MAX; d++, n++) {
			def[n] = d;
			base[n] = tables[t].base;
			longs[n] = (struct option){ d->name, d->arg ? required_argument : no_argument,
						    NULL, OPT_ID_BASE + n };
			if (d->short_name) {
				char s[3] = { (char)d->short_name, d->arg ? ':' : '\0', '\0' };

				strcat(shorts, s);
			}
		}
	}
	longs[n] = (struct option){ "help", no_argument, NULL, 'h' };

	while ((opt = getopt_long(argc, argv, shorts, longs, NULL)) != -1) {
		int i = opt - OPT_ID_BASE;

		if (opt == 'h') {
			opts_help(stdout, usage, tables, ntables);
			return 1;
		}
		if (opt == '?') /* getopt said which */
			return -EINVAL;
		if (i < 0 || i >= n) /* a short option: find its def */
			for (i = 0; i < n && def[i]->short_name != opt; i++)
				;
		if (i >= n)
			return -EINVAL;
		if (apply(def[i], base[i], optarg))
			return -EINVAL;
	}
	return 0;
}
